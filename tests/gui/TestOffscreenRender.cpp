// render_png draws a snapshot without any window: disks of the right
// colours inside the box, written atomically to a PNG.
#include <QColor>
#include <QFileInfo>
#include <QImage>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>

#include "entroscope/core/errors.hpp"
#include "entroscope/core/state.hpp"
#include "render/offscreen_render.hpp"
#include "render/particle_scene.hpp"

using entroscope::State;

namespace {

constexpr double kPi = 3.14159265358979323846;

// A lattice of ABP particles whose angle grows along x.
State lattice(int side, double spacing)
{
    State s;
    s.box = side * spacing;
    for (int j = 0; j < side; ++j) {
        for (int i = 0; i < side; ++i) {
            s.x.push_back((i + 0.5) * spacing);
            s.x.push_back((j + 0.5) * spacing);
            s.act.push_back(-kPi + 2.0 * kPi * (i + 0.5) / side);
            s.types.push_back(0);
        }
    }
    s.image.assign(s.x.size(), 0);
    return s;
}

}  // namespace

class TestOffscreenRender : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void activeAngleFollowsTheModelConvention();
    void writesAPngWithColouredDisks();
    void refusesAnEmptyImageSize();
};

void TestOffscreenRender::activeAngleFollowsTheModelConvention()
{
    State aoup;
    aoup.types = {0};
    aoup.act = {0.0, -2.0};  // g points down
    QVERIFY(std::abs(entroscope::render::active_angle(aoup, 0) + kPi / 2) < 1e-12);
    State abp;
    abp.types = {0};
    abp.act = {3.0 * kPi / 2};  // wraps to -pi/2
    QVERIFY(std::abs(entroscope::render::active_angle(abp, 0) + kPi / 2) < 1e-12);
}

void TestOffscreenRender::writesAPngWithColouredDisks()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("state.png");
    entroscope::render::OffscreenOptions opt;
    opt.width = 640;
    opt.height = 480;
    opt.radius = 0.5;
    opt.caption = "ABP test lattice";
    try {
        entroscope::render::render_png(lattice(24, 1.2), path.toStdString(), opt);
    } catch (const entroscope::Error& e) {
        QFAIL(e.what());
    }
    QVERIFY(QFileInfo::exists(path));
    QVERIFY(!QFileInfo::exists(path + ".tmp.png"));
    const QImage img(path);
    QCOMPARE(img.size(), QSize(640, 480));
    int coloured = 0;
    QSet<int> hues;
    for (int y = 0; y < img.height(); y += 2) {
        for (int x = 0; x < img.width(); x += 2) {
            const QColor c = QColor::fromRgb(img.pixel(x, y));
            if (c.hsvSaturation() > 80 && c.value() > 100) {
                ++coloured;
                hues.insert(c.hsvHue() / 30);
            }
        }
    }
    const double fraction = coloured / (320.0 * 240.0);
    qInfo("coloured fraction %.3f, hue bins %lld", fraction, static_cast<long long>(hues.size()));
    QVERIFY(fraction > 0.15);
    QVERIFY(hues.size() >= 6);
}

void TestOffscreenRender::refusesAnEmptyImageSize()
{
    entroscope::render::OffscreenOptions opt;
    opt.width = 0;
    QVERIFY_THROWS_EXCEPTION(entroscope::IoError,
                             entroscope::render::render_png(lattice(2, 1.0), "/tmp/never.png", opt));
}

QTEST_GUILESS_MAIN(TestOffscreenRender)
#include "TestOffscreenRender.moc"

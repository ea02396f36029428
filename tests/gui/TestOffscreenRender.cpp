// Offscreen rendering against stored baseline images (tests/baselines/*.png,
// F3D's habit): a fixed state of a dozen particles, drawn in each colour
// mode (the cyclic angle map, sequential viridis, diverging Cool to Warm,
// grey for values that are not there) with no caption or a fixed one.
//
// Comparison rule: a pixel differs when any of its R, G, B channels differs
// from the baseline's by more than 16 (of 255); an image fails when more
// than 1 % of its pixels differ (or its size differs). That absorbs
// rasterisation and anti-aliasing differences between Mesa versions, and
// catches a wrong colour map, a lost disk or legend, or a moved box.
//
// ENTROSCOPE_UPDATE_BASELINES=1 writes the baselines instead of comparing
// (look at them before committing). On a failure the actual image and a
// diff image (differing pixels magenta over the dimmed baseline) go into
// the build directory and their paths are printed.
//
// The legend and caption text is drawn with DejaVu Sans, as the baselines
// were; without that font the comparisons are skipped.
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <limits>
#include <memory>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/core/state.hpp"
#include "entroscope/session/frame.hpp"
#include "render/colour_rules.hpp"
#include "render/field_scene.hpp"
#include "render/offscreen_render.hpp"
#include "render/particle_scene.hpp"
#include "test_frames.hpp"

using entroscope::Frame;
using entroscope::State;
using entroscope::test::field_frame;
using entroscope::test::fixed_frame;
using namespace entroscope::render;

#ifndef ENTROSCOPE_BASELINE_DIR
#error "ENTROSCOPE_BASELINE_DIR must name tests/baselines"
#endif
#ifndef ENTROSCOPE_TEST_OUTPUT_DIR
#error "ENTROSCOPE_TEST_OUTPUT_DIR must name a build directory"
#endif

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kWidth = 320;
constexpr int kHeight = 240;
constexpr int kChannelTolerance = 16;
constexpr double kMaxDifferingFraction = 0.01;
const char* const kFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

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

struct Comparison {
    bool sameSize = false;
    long differing = 0;
    double fraction = 1.0;
    QImage diff;
};

Comparison compare(const QImage& actual, const QImage& baseline)
{
    Comparison c;
    c.sameSize = actual.size() == baseline.size();
    if (!c.sameSize) {
        return c;
    }
    const QImage a = actual.convertToFormat(QImage::Format_RGB32);
    const QImage b = baseline.convertToFormat(QImage::Format_RGB32);
    c.diff = QImage(a.size(), QImage::Format_RGB32);
    for (int y = 0; y < a.height(); ++y) {
        const QRgb* pa = reinterpret_cast<const QRgb*>(a.constScanLine(y));
        const QRgb* pb = reinterpret_cast<const QRgb*>(b.constScanLine(y));
        QRgb* pd = reinterpret_cast<QRgb*>(c.diff.scanLine(y));
        for (int x = 0; x < a.width(); ++x) {
            const int d = std::max({std::abs(qRed(pa[x]) - qRed(pb[x])), std::abs(qGreen(pa[x]) - qGreen(pb[x])),
                                    std::abs(qBlue(pa[x]) - qBlue(pb[x]))});
            if (d > kChannelTolerance) {
                ++c.differing;
                pd[x] = qRgb(255, 0, 255);
            } else {
                pd[x] = qRgb(qRed(pb[x]) / 4, qGreen(pb[x]) / 4, qBlue(pb[x]) / 4);
            }
        }
    }
    c.fraction = static_cast<double>(c.differing) / (static_cast<double>(a.width()) * a.height());
    return c;
}

bool updating() { return qEnvironmentVariableIntValue("ENTROSCOPE_UPDATE_BASELINES") == 1; }

QString baselinePath(const QString& name) { return QStringLiteral(ENTROSCOPE_BASELINE_DIR "/") + name + ".png"; }

QString outputPath(const QString& name, const char* kind)
{
    QDir().mkpath(QStringLiteral(ENTROSCOPE_TEST_OUTPUT_DIR));
    return QStringLiteral(ENTROSCOPE_TEST_OUTPUT_DIR "/") + name + "." + kind + ".png";
}

}  // namespace

class TestOffscreenRender : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    bool haveFont_ = false;

    // Render `frame` coloured by `q` (caption off unless `caption` is given)
    // to a PNG in the temporary directory and load it.
    QImage draw(const QString& name, const Frame& frame, Quantity q, const RangeRule& rule,
                const std::string& caption = {})
    {
        OffscreenRenderer r(kWidth, kHeight);
        r.scene().show(frame, q, rule, false);
        r.scene().setCaption(caption);
        const QString path = tmp_.filePath(name + ".png");
        r.writePng(path.toStdString());
        return QImage(path);
    }

    // Compare with the baseline, or write it in update mode.
    void check(const QString& name, const QImage& actual)
    {
        QVERIFY(!actual.isNull());
        QCOMPARE(actual.size(), QSize(kWidth, kHeight));
        const QString base = baselinePath(name);
        if (updating()) {
            QVERIFY2(actual.save(base), qPrintable("cannot write " + base));
            qInfo("wrote baseline %s", qPrintable(base));
            return;
        }
        if (!haveFont_) {
            QSKIP("the baselines' text is drawn with DejaVu Sans, which this machine lacks");
        }
        const QImage expected(base);
        if (expected.isNull()) {
            const QString out = outputPath(name, "actual");
            actual.save(out);
            QFAIL(qPrintable("no baseline " + base + " (ENTROSCOPE_UPDATE_BASELINES=1 writes it); actual image: " + out));
        }
        const Comparison c = compare(actual, expected);
        qInfo("%s: %ld of %d pixels differ (%.3f %%)", qPrintable(name), c.differing, kWidth * kHeight,
              100.0 * c.fraction);
        if (!c.sameSize || c.fraction > kMaxDifferingFraction) {
            const QString out = outputPath(name, "actual");
            const QString diff = outputPath(name, "diff");
            actual.save(out);
            if (!c.diff.isNull()) c.diff.save(diff);
            QFAIL(qPrintable(QString("%1 differs from %2: %3 % of the pixels by more than %4 (allowed %5 %)%6\n"
                                     "  actual: %7\n  diff:   %8")
                                 .arg(name, base)
                                 .arg(100.0 * c.fraction, 0, 'f', 2)
                                 .arg(kChannelTolerance)
                                 .arg(100.0 * kMaxDifferingFraction, 0, 'f', 1)
                                 .arg(c.sameSize ? "" : " (sizes differ)")
                                 .arg(out, c.sameSize ? diff : QString("none"))));
        }
    }

private Q_SLOTS:
    void initTestCase();
    void activeAngleFollowsTheModelConvention();
    void writesAPngAtomically();
    void refusesAnEmptyImageSize();
    void scaleBarIsARoundLengthAndRelabelsWhenZoomed();
    void angleMatchesItsBaseline();
    void sequentialMatchesItsBaseline();
    void divergingMatchesItsBaseline();
    void missingValuesAreGreyWithACaption();
    void theRuleTellsColourMapsApart();
    void fieldPictureMasksSparseCellsAndSaysWhyWhenAbsent();
    void fieldViewDrawsMaskedCellsGreyNotAsZero();
    void arrowsShowTheFlowOfThisStateOnly();
    void currentOverlayAveragesBlocksAndScalesToTheReference();
    void currentOverlayDrawsArrowsOrStreamlinesOverTheField();
};

void TestOffscreenRender::initTestCase()
{
    QVERIFY(tmp_.isValid());
    // The font is chosen once per process: pin it before the first scene.
    haveFont_ = QFileInfo::exists(kFont);
    if (haveFont_) {
        qputenv("ENTROSCOPE_FONT", kFont);
    }
    const std::string why = offscreen_unavailable_reason();
    if (!why.empty()) {
        QSKIP(why.c_str());
    }
}

void TestOffscreenRender::activeAngleFollowsTheModelConvention()
{
    State aoup;
    aoup.types = {0};
    aoup.act = {0.0, -2.0};  // g points down
    QVERIFY(std::abs(active_angle(aoup, 0) + kPi / 2) < 1e-12);
    State abp;
    abp.types = {0};
    abp.act = {3.0 * kPi / 2};  // wraps to -pi/2
    QVERIFY(std::abs(active_angle(abp, 0) + kPi / 2) < 1e-12);
}

void TestOffscreenRender::writesAPngAtomically()
{
    const QString path = tmp_.filePath("state.png");
    OffscreenOptions opt;
    opt.width = 640;
    opt.height = 480;
    opt.radius = 0.5;
    opt.caption = "ABP test lattice";
    try {
        render_png(lattice(24, 1.2), path.toStdString(), opt);
    } catch (const entroscope::Error& e) {
        QFAIL(e.what());
    }
    QVERIFY(QFileInfo::exists(path));
    QVERIFY(!QFileInfo::exists(path + ".tmp.png"));
    QCOMPARE(QImage(path).size(), QSize(640, 480));
}

void TestOffscreenRender::refusesAnEmptyImageSize()
{
    OffscreenOptions opt;
    opt.width = 0;
    QVERIFY_THROWS_EXCEPTION(entroscope::IoError, render_png(lattice(2, 1.0), "/tmp/never.png", opt));
}

// The scale bar: a round number of diameters (1, 2 or 5 times a power of
// ten) near a fifth of the box's visible width, drawn in the lower-left
// corner, relabelled when a zoom changes the visible width.
void TestOffscreenRender::scaleBarIsARoundLengthAndRelabelsWhenZoomed()
{
    if (!haveFont_) {
        QSKIP("the label's sigma needs DejaVu Sans");
    }
    const int w = 640, h = 480;
    OffscreenRenderer r(w, h);
    ParticleScene& scene = r.scene();
    const State s = lattice(24, 1.2);  // ABP, diameter sigma = 1, box 28.8
    scene.update(s, 0.5);
    QCOMPARE(scene.scaleBarLabel(), std::string());  // nothing before a render
    const auto isRound = [](double n) {
        const double m = n / std::pow(10.0, std::floor(std::log10(n) + 1e-9));
        return std::abs(m - 1.0) < 1e-9 || std::abs(m - 2.0) < 1e-9 || std::abs(m - 5.0) < 1e-9;
    };
    // Light pixels of the bar's middle row, left of its right end.
    const auto barRowPixels = [&](const std::vector<unsigned char>& rgb, double pixels) {
        const int row = h - 1 - 11;  // 10 px above the bottom, inside the 3 px bar
        int light = 0;
        for (int x = 14; x < 14 + static_cast<int>(pixels) - 2; ++x) {
            const unsigned char* p = &rgb[3 * (static_cast<std::size_t>(row) * w + x)];
            if (p[0] > 200 && p[1] > 200 && p[2] > 200) ++light;
        }
        return light;
    };

    const std::vector<unsigned char> fitted = r.renderRgb();
    const double n0 = scene.scaleBarDiameters(), px0 = scene.scaleBarPixels();
    qInfo("fitted: %s, %.1f px", scene.scaleBarLabel().c_str(), px0);
    QVERIFY(isRound(n0));
    QCOMPARE(n0, 5.0);  // 0.22 * 28.8 = 6.3 diameters: 5 is the nearest round length
    QCOMPARE(QString::fromStdString(scene.scaleBarLabel()), QStringLiteral("5 σ"));
    const double pixelsPerUnit = px0 / n0;
    QVERIFY(barRowPixels(fitted, px0) >= 0.9 * (px0 - 2.0));

    // Four times closer: about a quarter of the box visible, a shorter round
    // length, a longer bar per diameter.
    scene.zoom(4.0);
    const std::vector<unsigned char> zoomed = r.renderRgb();
    const double n1 = scene.scaleBarDiameters(), px1 = scene.scaleBarPixels();
    qInfo("zoomed: %s, %.1f px", scene.scaleBarLabel().c_str(), px1);
    QVERIFY(isRound(n1));
    QVERIFY(n1 < n0);
    QVERIFY(scene.scaleBarLabel() != std::string("5 σ"));
    QCOMPARE(QString::fromStdString(scene.scaleBarLabel()), QString::number(n1) + QStringLiteral(" σ"));
    QVERIFY(std::abs(px1 / n1 - 4.0 * pixelsPerUnit) < 1e-6 * pixelsPerUnit);
    // A fifth of the visible width (640 px of view, all inside the box), within a round step.
    QVERIFY2(px1 > 0.14 * w && px1 < 0.36 * w, qPrintable(QString::number(px1)));
    QVERIFY(barRowPixels(zoomed, px1) >= 0.9 * (px1 - 2.0));

    // AOUP's diameter is 2 r0.
    scene.show(fixed_frame(false), Quantity::ActiveAngle);
    scene.requestFit();
    r.renderRgb();
    const QString aoup = QString::fromStdString(scene.scaleBarLabel());
    QVERIFY2(aoup.endsWith(QStringLiteral(" × 2r₀")), qPrintable(aoup));
}

void TestOffscreenRender::angleMatchesItsBaseline()
{
    check("angle", draw("angle", fixed_frame(false), Quantity::ActiveAngle, {}));
}

void TestOffscreenRender::sequentialMatchesItsBaseline()
{
    // sigma_sq on a fixed 0 .. 1 range (the last particle, 1.1, clamps to
    // the top; particle 4 is NaN, grey).
    check("sequential", draw("sequential", fixed_frame(true), Quantity::SigmaSq, {RangeMode::Fixed, 0.0, 1.0}));
}

void TestOffscreenRender::divergingMatchesItsBaseline()
{
    // sigma_div, -1 .. 1.2, on the automatic symmetric 5-95 % range.
    check("diverging", draw("diverging", fixed_frame(true), Quantity::SigmaDiv, {}));
}

void TestOffscreenRender::missingValuesAreGreyWithACaption()
{
    // A learned quantity with no learned values: every disk grey, never
    // values of another state; a fixed two-line caption.
    check("unavailable",
          draw("unavailable", fixed_frame(false), Quantity::SigmaSq, {}, "Fixed caption\nno estimate yet"));
}

void TestOffscreenRender::theRuleTellsColourMapsApart()
{
    // The same values under the sequential and the diverging map must fail
    // the comparison: the tolerance is not so loose that it passes anything.
    const Frame f = fixed_frame(true);
    const RangeRule range{RangeMode::Fixed, -1.0, 1.0};
    OffscreenRenderer r(kWidth, kHeight);
    const QuantityValues v = quantity_values(f, Quantity::SigmaDiv);
    QVERIFY(v.available());
    const std::string title = legend_title(Quantity::SigmaDiv, f.config.model, ParticleScene::unicodeText());
    const auto drawWith = [&](ColourMapKind map) {
        r.scene().colourByScalar(v.values, range.lo, range.hi, title, map);
        r.scene().update(*f.state, particle_radius(f.config));
        const std::vector<unsigned char> rgb = r.renderRgb();
        return QImage(rgb.data(), kWidth, kHeight, 3 * kWidth, QImage::Format_RGB888).copy();
    };
    const QImage sequential = drawWith(ColourMapKind::Sequential);
    const QImage diverging = drawWith(ColourMapKind::Diverging);
    const QImage again = drawWith(ColourMapKind::Sequential);
    QCOMPARE(compare(sequential, again).differing, 0L);  // deterministic
    const Comparison c = compare(sequential, diverging);
    qInfo("sequential vs diverging: %.2f %% of the pixels differ", 100.0 * c.fraction);
    QVERIFY(c.fraction > 5.0 * kMaxDifferingFraction);
    // renderRgb's rows come top first, as the PNG's do.
    r.scene().show(f, Quantity::SigmaDiv, range, false);
    r.scene().setCaption("");
    const QString path = tmp_.filePath("rows.png");
    r.writePng(path.toStdString());
    QCOMPARE(compare(drawWith(ColourMapKind::Diverging), QImage(path)).differing, 0L);
}

QTEST_GUILESS_MAIN(TestOffscreenRender)
void TestOffscreenRender::fieldPictureMasksSparseCellsAndSaysWhyWhenAbsent()
{
    const FieldPicture none = field_picture(fixed_frame(false), FieldQuantity::LocalEpr);
    QCOMPARE(none.bins, 0);
    QVERIFY(none.caption.find("Waiting") != std::string::npos);
    const FieldPicture noDensity = field_picture(field_frame(), FieldQuantity::Density);
    QCOMPARE(noDensity.bins, 0);  // this evaluation has no density field
    QVERIFY(!noDensity.caption.empty());

    const FieldPicture p = field_picture(field_frame(), FieldQuantity::LocalEpr);
    QCOMPARE(p.bins, 4);
    QCOMPARE(p.masked, 1);
    QVERIFY(std::isnan(p.values[2 * 4 + 1]));
    QCOMPARE(p.values[2 * 4 + 3], 3.0f);
    QCOMPARE(p.lo, 0.0);
    QVERIFY(std::abs(p.hi - 3.0) < 1e-6);  // the 99th percentile of 0..3
    QVERIFY(p.caption.find("too few particles") != std::string::npos);

    const FieldPicture c = field_picture(field_frame(), FieldQuantity::CurrentMagnitude);
    QCOMPARE(c.masked, 0);
    for (float v : c.values) QCOMPARE(v, 5.0f);  // |(3, 4)|
}

void TestOffscreenRender::fieldViewDrawsMaskedCellsGreyNotAsZero()
{
    OffscreenRenderer r(kWidth, kHeight);
    r.fieldScene().show(field_frame(), FieldQuantity::LocalEpr);
    const std::vector<unsigned char> rgb = r.renderRgb();
    const QImage img = QImage(rgb.data(), kWidth, kHeight, 3 * kWidth, QImage::Format_RGB888).copy();
    // Count the masked grey (0.42, 0.42, 0.44), viridis' darkest (the
    // zero column) and its brightest (the top of the range).
    int grey = 0, dark = 0, bright = 0;
    for (int y = 0; y < img.height(); ++y) {
        for (int x = 0; x < img.width(); ++x) {
            const QColor c = img.pixelColor(x, y);
            if (std::abs(c.red() - 107) <= 3 && std::abs(c.green() - 107) <= 3 && std::abs(c.blue() - 112) <= 3) ++grey;
            if (std::abs(c.red() - 68) <= 6 && std::abs(c.green() - 1) <= 6 && std::abs(c.blue() - 84) <= 8) ++dark;
            if (c.red() > 230 && c.green() > 210 && c.blue() < 60) ++bright;
        }
    }
    qInfo("masked grey %d px, darkest %d px, brightest %d px", grey, dark, bright);
    // One masked cell of 16 and a zero column of 4 (minus the masked one's
    // neighbours, none of them in that column): the dark column is about
    // four times the grey cell; the brightest column and the legend's top.
    QVERIFY(grey > 100);
    QVERIFY(dark > 2 * grey);
    QVERIFY(bright > 2 * grey);
}

void TestOffscreenRender::arrowsShowTheFlowOfThisStateOnly()
{
    const Frame f = fixed_frame(true);
    OffscreenRenderer r(kWidth, kHeight);
    const auto whitePixels = [&] {
        const std::vector<unsigned char> rgb = r.renderRgb();
        int white = 0;
        for (std::size_t k = 0; k + 2 < rgb.size(); k += 3)
            if (rgb[k] >= 245 && rgb[k + 1] >= 245 && rgb[k + 2] >= 245) ++white;
        return white;
    };
    r.scene().show(f, Quantity::ActiveAngle);
    const int without = whitePixels();
    // Every particle moving along +x; the fastest 5 % (here: all) drawn
    // 2.5 radii long.
    std::vector<double> v;
    for (int i = 0; i < 12; ++i) {
        v.push_back(1.0 + 0.1 * i);
        v.push_back(0.0);
    }
    const double radius = particle_radius(f.config);
    const double scale = r.scene().showArrows(*f.state, v, 2.5 * radius);
    QVERIFY(scale > 0.0);
    QVERIFY(r.scene().arrowsShown());
    const int with = whitePixels();
    qInfo("white pixels: %d without arrows, %d with", without, with);
    QVERIFY(with > without + 12 * 20);
    // Velocities that do not fit the state (another N): no arrows.
    QCOMPARE(r.scene().showArrows(*f.state, std::vector<double>(6, 1.0), 2.5 * radius), 0.0);
    QVERIFY(!r.scene().arrowsShown());
    QCOMPARE(whitePixels(), without);
}

void TestOffscreenRender::currentOverlayAveragesBlocksAndScalesToTheReference()
{
    Frame f = field_frame();
    const double cell = f.state->box / 4.0;
    CurrentPicture c = current_arrows(f, 2);  // 2 x 2 blocks of 2 x 2 cells
    QCOMPARE(c.block, 2);
    QCOMPARE(c.from.size(), std::size_t(8));
    QCOMPARE(c.reference, 5.0);
    for (std::size_t k = 0; k < 4; ++k) {
        // Along (3, 4) / 5, one block (less a tenth) long.
        QVERIFY(std::abs(c.along[2 * k] - 0.6 * 0.9 * 2 * cell) < 1e-9);
        QVERIFY(std::abs(c.along[2 * k + 1] - 0.8 * 0.9 * 2 * cell) < 1e-9);
    }
    QVERIFY(std::abs(c.from[0] - cell) < 1e-9 && std::abs(c.from[1] - cell) < 1e-9);  // the first block's centre

    // A block with three of its four cells masked is left out; one with two
    // is kept, at the mean position of its present cells.
    auto e = std::make_shared<entroscope::Evaluation>(*f.learned);
    e->current.mask.assign(16, 0);
    for (int k : {0, 1, 4}) e->current.mask[static_cast<std::size_t>(k)] = 1;       // block (0, 0)
    for (int k : {2, 3}) e->current.mask[static_cast<std::size_t>(k)] = 1;          // block (1, 0): row 0 masked
    e->current.value[2 * 6] = 30.0;  // cell (2, 1) of block (1, 0): its mean becomes (16.5, 4)
    f.learned = e;
    c = current_arrows(f, 2);
    QCOMPARE(c.from.size(), std::size_t(6));
    QVERIFY(std::abs(c.from[0] - 3.0 * cell) < 1e-9 && std::abs(c.from[1] - 1.5 * cell) < 1e-9);
    // The reference is the 95 % quantile of |J| over the three blocks; the
    // strong block is capped at 1.3 blocks.
    const double strong = std::hypot(c.along[0], c.along[1]);
    QVERIFY2(strong <= 1.3 * 0.9 * 2 * cell + 1e-9, qPrintable(QString::number(strong)));
    QVERIFY(c.reference > 5.0);

    // No flow: nothing drawn, and the note says why.
    for (double& v : e->current.value) v = 0.0;
    c = current_arrows(f, 2);
    QVERIFY(c.from.empty());
    QVERIFY(c.note.find("0 everywhere") != std::string::npos);
    // No current field at all.
    e->current = entroscope::Field{};
    QVERIFY(current_arrows(f, 2).from.empty());
    QVERIFY(!current_arrows(fixed_frame(false), 2).note.empty());
}

namespace {
int whiteOf(OffscreenRenderer& r)
{
    const std::vector<unsigned char> rgb = r.renderRgb();
    int white = 0;
    for (std::size_t k = 0; k + 2 < rgb.size(); k += 3)
        if (rgb[k] >= 245 && rgb[k + 1] >= 245 && rgb[k + 2] >= 245) ++white;
    return white;
}
}  // namespace

void TestOffscreenRender::currentOverlayDrawsArrowsOrStreamlinesOverTheField()
{
    OffscreenRenderer r(kWidth, kHeight);
    const auto whitePixels = [&] {
        const std::vector<unsigned char> rgb = r.renderRgb();
        int white = 0;
        for (std::size_t k = 0; k + 2 < rgb.size(); k += 3)
            if (rgb[k] >= 245 && rgb[k + 1] >= 245 && rgb[k + 2] >= 245) ++white;
        return white;
    };
    r.fieldScene().show(field_frame(), FieldQuantity::Density);  // no density field: nothing but the caption
    r.fieldScene().show(field_frame(), FieldQuantity::LocalEpr);
    const int plain = whitePixels();
    QCOMPARE(r.fieldScene().overlayArrows(), 0);
    r.fieldScene().setCurrentOverlay(CurrentOverlay::Arrows);
    r.fieldScene().show(field_frame(), FieldQuantity::LocalEpr);
    QCOMPARE(r.fieldScene().overlayArrows(), 16);  // one per cell: 4 cells per side is below 16 arrows per side
    const int arrows = whitePixels();
    r.fieldScene().setCurrentOverlay(CurrentOverlay::Streamlines);
    r.fieldScene().show(field_frame(), FieldQuantity::LocalEpr);
    QCOMPARE(r.fieldScene().overlayArrows(), 0);
    QVERIFY(r.fieldScene().overlayStreamlinePoints() > 14 * 14);  // every seed traced some way
    const int lines = whitePixels();
    qInfo("white pixels: %d plain, %d with arrows, %d with streamlines", plain, arrows, lines);
    QVERIFY(arrows > plain + 16 * 10);
    QVERIFY(lines > plain + 200);
    r.fieldScene().setCurrentOverlay(CurrentOverlay::Off);
    r.fieldScene().show(field_frame(), FieldQuantity::LocalEpr);
    QCOMPARE(whitePixels(), plain);

    // The same arrows over the particles.
    OffscreenRenderer p(kWidth, kHeight);
    p.scene().show(field_frame(), Quantity::ActiveAngle);
    const int disks = whiteOf(p);
    QCOMPARE(p.scene().overlayArrows(), 0);
    p.scene().setCurrentOverlay(CurrentOverlay::Arrows);
    p.scene().show(field_frame(), Quantity::ActiveAngle);
    QCOMPARE(p.scene().overlayArrows(), 16);
    const int over = whiteOf(p);
    qInfo("white pixels over the particles: %d without, %d with the current", disks, over);
    QVERIFY(over > disks + 16 * 10);
    p.scene().setCurrentOverlay(CurrentOverlay::Off);
    p.scene().show(field_frame(), Quantity::ActiveAngle);
    QCOMPARE(p.scene().overlayArrows(), 0);
    QCOMPARE(whiteOf(p), disks);
}

#include "TestOffscreenRender.moc"

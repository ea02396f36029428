// Vector figures of the particle and field views (render/vector_figure),
// read back by outside readers: the SVG by an XML parser (one circle per
// particle and periodic image, true radius, exact colours of the screen's
// maps, text as <text>), the PDF by poppler (pdfinfo: one page of the asked
// size; pdftotext: the caption as text; pdftoppm: the particles' colours at
// the SVG's circle centres, so the two writers draw the same page).
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QPainter>
#include <QSvgRenderer>
#include <QtTest>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <clocale>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/core/state.hpp"
#include "entroscope/session/frame.hpp"
#include "render/colour_rules.hpp"
#include "render/field_scene.hpp"
#include "render/vector_figure.hpp"
#include "test_frames.hpp"

using entroscope::Frame;
using entroscope::State;
using namespace entroscope::render;

namespace {

constexpr double kPi = 3.14159265358979323846;

// The render tests' frame (test_frames.hpp): twelve AOUP particles (r0 = 1)
// in a box of 10; three overlap an edge: (0.4, 5.0) the left one (one
// image), (9.5, 9.6) the upper right corner (three images), (4.9, 9.7) the
// top (one image): 12 + 5 circles. Learned sigma_sq = 0.1 i with particle 4
// NaN, sigma_div = -1 + 0.2 i; a 4 x 4 sigma field rising along x (0 .. 3),
// cell (1, 2) masked; a uniform current (3, 4).
Frame fixed_frame() { return entroscope::test::field_frame(); }

struct SvgCircle {
    double x, y, r;
    QString fill;
};

struct SvgContent {
    bool ok = false;
    QString error;
    QString width, height;
    QList<SvgCircle> particles;  // circles inside <g id="particles">
    int circlesElsewhere = 0;
    QStringList texts;
    int images = 0;
    QString imageHref;
    int polygonsInCurrent = 0;
    int fullPageRects = 0;
    QRectF box;  // the box outline (a closed polyline outside every group)
};

SvgContent read_svg(const QString& path, double pageW)
{
    SvgContent c;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        c.error = "cannot open " + path;
        return c;
    }
    QXmlStreamReader xml(&f);
    QStringList groups;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement()) {
            const auto a = xml.attributes();
            const QString name = xml.name().toString();
            if (name == "svg") {
                c.width = a.value("width").toString();
                c.height = a.value("height").toString();
            } else if (name == "g") {
                groups.push_back(a.value("id").toString());
            } else if (name == "circle") {
                if (groups.contains("particles"))
                    c.particles.push_back({a.value("cx").toDouble(), a.value("cy").toDouble(), a.value("r").toDouble(),
                                           a.value("fill").toString()});
                else
                    ++c.circlesElsewhere;
            } else if (name == "text") {
                c.texts.push_back(xml.readElementText());
            } else if (name == "image") {
                ++c.images;
                c.imageHref = a.value("xlink:href").toString();
            } else if (name == "polygon" && groups.contains("current")) {
                ++c.polygonsInCurrent;
            } else if (name == "polyline" && groups.isEmpty()) {
                const QStringList pts = a.value("points").toString().split(' ', Qt::SkipEmptyParts);
                if (pts.size() == 5) {
                    const QStringList p0 = pts[0].split(','), p2 = pts[2].split(',');
                    c.box = QRectF(QPointF(p0[0].toDouble(), p0[1].toDouble()), QPointF(p2[0].toDouble(), p2[1].toDouble()));
                }
            } else if (name == "rect" && std::abs(a.value("width").toDouble() - pageW) < 1e-6) {
                ++c.fullPageRects;
            }
        } else if (xml.isEndElement() && xml.name() == QLatin1String("g")) {
            groups.pop_back();
        }
    }
    c.ok = !xml.hasError();
    if (xml.hasError()) c.error = xml.errorString();
    return c;
}

QString run(const QString& program, const QStringList& args, int* code = nullptr)
{
    QProcess p;
    p.start(program, args);
    p.waitForFinished(60000);
    if (code) *code = p.exitCode();
    return QString::fromUtf8(p.readAllStandardOutput());
}

QColor colour_of(const QString& hex) { return QColor(hex); }

}  // namespace

class TestVectorFigure : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void svgHasOneCirclePerParticleAndImageWithTrueRadius();
    void svgColoursAreTheScreenMaps();
    void svgKeepsTextAsText();
    void svgDrawsInQtSvgWithTheSameColours();
    void svgNumbersDoNotFollowTheLocale();
    void pdfIsOnePageOfTheSizeWithTextAndTheSameColours();
    void fieldIsAnEmbeddedImageOfItsCells();
    void currentArrowsAreVector();
    void transparentHasNoBackground();
    void badOutputIsRefusedAndLeavesNothing();
};

void TestVectorFigure::svgHasOneCirclePerParticleAndImageWithTrueRadius()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("p.svg");
    const VectorFigureInfo info = write_particle_figure(fixed_frame(), Quantity::SigmaSq, path.toStdString());
    QCOMPARE(QString::fromStdString(info.format), QString("svg"));
    QCOMPARE(info.particles, 12);
    QCOMPARE(info.circles, 17);
    const SvgContent c = read_svg(path, 720.0);
    QVERIFY2(c.ok, qPrintable(c.error));
    QCOMPARE(c.width, QString("720.00pt"));
    QCOMPARE(c.height, QString("600.00pt"));
    QCOMPARE(c.particles.size(), 17);
    QCOMPARE(c.circlesElsewhere, 0);
    // The first particle is at world (2, 2), the second at (5, 1.8): their
    // distance on the page over the radius is the world's 3.0066 / r0.
    const SvgCircle& a = c.particles[0];
    const SvgCircle& b = c.particles[1];
    const double page = std::hypot(b.x - a.x, b.y - a.y);
    QVERIFY(a.r > 0.0);
    QVERIFY2(std::abs(page / a.r - std::hypot(3.0, 0.2) / 1.0) < 0.01, qPrintable(QString::number(page / a.r)));
    for (const auto& p : c.particles) QCOMPARE(p.r, a.r);
    // y runs down the page: the particle at world y = 1.8 is below (larger
    // page y than) the one at y = 2.0.
    QVERIFY(b.y > a.y);
    // Without periodic images: 12 circles.
    VectorFigureOptions opt;
    opt.periodic_images = false;
    QCOMPARE(write_particle_figure(fixed_frame(), Quantity::SigmaSq, path.toStdString(), opt).circles, 12);
    QCOMPARE(read_svg(path, 720.0).particles.size(), 12);
}

void TestVectorFigure::svgColoursAreTheScreenMaps()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("c.svg");
    VectorFigureOptions opt;
    opt.range.mode = RangeMode::Fixed;
    opt.range.lo = 0.0;
    opt.range.hi = 1.1;
    write_particle_figure(fixed_frame(), Quantity::SigmaSq, path.toStdString(), opt);
    const SvgContent c = read_svg(path, 720.0);
    QVERIFY(c.ok);
    // Particle 0 (sigma 0) is viridis' first colour, particle 11 (1.1) its
    // last, particle 4 (NaN) the map's grey 0.55; circles follow the
    // particles' order (images right after their particle: 0..2 have none).
    QCOMPARE(c.particles[0].fill, QString("#440154"));
    QCOMPARE(c.particles.back().fill, QString("#fde725"));  // particle 11 has no image
    QCOMPARE(c.particles[4 + 1].fill, QString("#8c8c8c"));  // particle 3 has one image before particle 4
    // The diverging map for sigma_div: white-ish in the middle, blue at -1.
    opt.range.lo = -1.2;
    opt.range.hi = 1.2;
    write_particle_figure(fixed_frame(), Quantity::SigmaDiv, path.toStdString(), opt);
    const SvgContent d = read_svg(path, 720.0);
    const QColor lowest = colour_of(d.particles[0].fill);  // -1.0: near the blue end
    QVERIFY2(lowest.blue() > lowest.red() + 60, qPrintable(d.particles[0].fill));
    const QColor top = colour_of(d.particles.back().fill);  // +1.2: the red end (0.706, 0.016, 0.150)
    QVERIFY2(top.red() > 170 && top.green() < 30, qPrintable(d.particles.back().fill));
}

void TestVectorFigure::svgKeepsTextAsText()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("t.svg");
    write_particle_figure(fixed_frame(), Quantity::SigmaSq, path.toStdString());
    const SvgContent c = read_svg(path, 720.0);
    const QString all = c.texts.join("\n");
    QVERIFY2(all.contains("N = 12"), qPrintable(all));
    QVERIFY2(all.contains("t = 50"), qPrintable(all));
    QVERIFY2(all.contains("network step 2000"), qPrintable(all));
    QVERIFY2(all.contains(QString::fromUtf8("× 2r₀")), qPrintable(all));  // the scale bar's label
    // Without caption, legend and scale bar: no text at all.
    VectorFigureOptions bare;
    bare.caption = bare.legend = bare.scale_bar = false;
    write_particle_figure(fixed_frame(), Quantity::SigmaSq, path.toStdString(), bare);
    QCOMPARE(read_svg(path, 720.0).texts.size(), 0);
}

// The window runs under the user's locale (Qt calls setlocale): a German
// one must not turn the SVG's numbers into "12,34". The locale is compiled
// into a temporary folder with localedef (glibc's LOCPATH).
void TestVectorFigure::svgNumbersDoNotFollowTheLocale()
{
    QTemporaryDir dir;
    const QString localedef = QStandardPaths::findExecutable("localedef");
    if (localedef.isEmpty()) QSKIP("localedef not found: cannot build a comma-decimal locale");
    int code = -1;
    run(localedef, {"-i", "de_DE", "-f", "UTF-8", dir.filePath("de_DE.UTF-8")}, &code);
    qputenv("LOCPATH", dir.path().toLocal8Bit());
    const char* set = std::setlocale(LC_NUMERIC, "de_DE.UTF-8");
    if (!set) {
        qunsetenv("LOCPATH");
        QSKIP("no de_DE locale could be built here (glibc's locale sources missing)");
    }
    char probe[16];
    std::snprintf(probe, sizeof probe, "%.1f", 1.5);
    const QString svg = dir.filePath("de.svg");
    VectorFigureOptions opt;
    opt.range.mode = RangeMode::Fixed;
    opt.range.lo = 0.0;
    opt.range.hi = 1.25;
    write_particle_figure(fixed_frame(), Quantity::SigmaSq, svg.toStdString(), opt);
    std::setlocale(LC_NUMERIC, "C");
    qunsetenv("LOCPATH");
    QCOMPARE(QString(probe), QString("1,5"));  // the locale really was in force
    const SvgContent c = read_svg(svg, 720.0);
    QVERIFY2(c.ok, qPrintable(c.error));
    QCOMPARE(c.width, QString("720.00pt"));
    QCOMPARE(c.particles.size(), 17);
    QVERIFY(c.particles[1].x > 0.0 && std::abs(c.particles[1].x - std::floor(c.particles[1].x)) > 0.0);
    QVERIFY2(c.texts.contains("0.312") || c.texts.contains("0.625"), qPrintable(c.texts.join("|")));
}

// Qt SVG (an independent SVG renderer) draws the file: each particle's
// colour is at its circle's centre.
void TestVectorFigure::svgDrawsInQtSvgWithTheSameColours()
{
    QTemporaryDir dir;
    const QString svg = dir.filePath("q.svg");
    VectorFigureOptions opt;
    opt.width = 500;
    opt.height = 400;
    write_particle_figure(fixed_frame(), Quantity::ActiveAngle, svg.toStdString(), opt);
    QSvgRenderer renderer(svg);
    QVERIFY(renderer.isValid());
    QCOMPARE(renderer.viewBoxF(), QRectF(0, 0, 500, 400));
    QImage page(500, 400, QImage::Format_RGB32);
    page.fill(Qt::magenta);
    {
        QPainter painter(&page);
        renderer.render(&painter);
    }
    const SvgContent c = read_svg(svg, 500.0);
    int checked = 0;
    for (const auto& p : c.particles) {
        if (!c.box.adjusted(2, 2, -2, -2).contains(QPointF(p.x, p.y))) continue;
        const QColor want(p.fill), got(page.pixel(static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y))));
        QVERIFY2(std::abs(want.red() - got.red()) <= 3 && std::abs(want.green() - got.green()) <= 3 &&
                     std::abs(want.blue() - got.blue()) <= 3,
                 qPrintable(QString("svg %1, Qt SVG drew %2").arg(p.fill, got.name())));
        ++checked;
    }
    QCOMPARE(checked, 12);
    // The background covers the page (no magenta left at a corner).
    QVERIFY(QColor(page.pixel(1, 1)) != QColor(Qt::magenta));
}

void TestVectorFigure::pdfIsOnePageOfTheSizeWithTextAndTheSameColours()
{
    const QString pdfinfo = QStandardPaths::findExecutable("pdfinfo");
    const QString pdftotext = QStandardPaths::findExecutable("pdftotext");
    const QString pdftoppm = QStandardPaths::findExecutable("pdftoppm");
    QVERIFY2(!pdfinfo.isEmpty() && !pdftotext.isEmpty() && !pdftoppm.isEmpty(),
             "poppler-utils (pdfinfo, pdftotext, pdftoppm) not installed: run packaging/install-deps.sh");
    QTemporaryDir dir;
    const QString pdf = dir.filePath("p.pdf");
    const QString svg = dir.filePath("p.svg");
    VectorFigureOptions opt;
    opt.width = 500;
    opt.height = 400;
    opt.range.mode = RangeMode::Fixed;
    opt.range.lo = 0.0;
    opt.range.hi = 1.1;
    QCOMPARE(QString::fromStdString(write_particle_figure(fixed_frame(), Quantity::SigmaSq, pdf.toStdString(), opt).format),
             QString("pdf"));
    write_particle_figure(fixed_frame(), Quantity::SigmaSq, svg.toStdString(), opt);
    int code = -1;
    const QString info = run(pdfinfo, {pdf}, &code);
    QCOMPARE(code, 0);
    QVERIFY2(info.contains(QRegularExpression("Pages:\\s+1\\n")), qPrintable(info));
    QVERIFY2(info.contains(QRegularExpression("Page size:\\s+500 x 400 pts")), qPrintable(info));
    const QString text = run(pdftotext, {pdf, "-"});
    QVERIFY2(text.contains("N = 12") && text.contains("t = 50"), qPrintable(text));
    // Raster the page at 72 dpi (1 px = 1 pt) and read each particle's colour
    // at the SVG's circle centre.
    run(pdftoppm, {"-r", "72", "-png", "-singlefile", pdf, dir.filePath("page")}, &code);
    QCOMPARE(code, 0);
    const QImage page(dir.filePath("page.png"));
    QCOMPARE(page.size(), QSize(500, 400));
    const SvgContent c = read_svg(svg, 500.0);
    int checked = 0;
    QVERIFY(c.box.width() > 100.0);
    for (const auto& p : c.particles) {
        const int x = static_cast<int>(std::lround(p.x)), y = static_cast<int>(std::lround(p.y));
        // Images whose centre lies outside the box are clipped there.
        if (!c.box.adjusted(2, 2, -2, -2).contains(QPointF(p.x, p.y))) continue;
        const QColor want(p.fill), got(page.pixel(x, y));
        QVERIFY2(std::abs(want.red() - got.red()) <= 3 && std::abs(want.green() - got.green()) <= 3 &&
                     std::abs(want.blue() - got.blue()) <= 3,
                 qPrintable(QString("at %1,%2: svg %3, pdf %4").arg(x).arg(y).arg(p.fill, got.name())));
        ++checked;
    }
    QCOMPARE(checked, 12);
}

void TestVectorFigure::fieldIsAnEmbeddedImageOfItsCells()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("f.svg");
    const VectorFigureInfo info = write_field_figure(fixed_frame(), FieldQuantity::LocalEpr, path.toStdString());
    QCOMPARE(info.circles, 0);
    const SvgContent c = read_svg(path, 720.0);
    QVERIFY2(c.ok, qPrintable(c.error));
    QCOMPARE(c.images, 1);
    QCOMPARE(c.particles.size(), 0);
    QVERIFY(c.imageHref.startsWith("data:image/png;base64,"));
    const QByteArray png = QByteArray::fromBase64(c.imageHref.mid(QString("data:image/png;base64,").size()).toLatin1());
    QImage cells;
    QVERIFY(cells.loadFromData(png, "PNG"));
    QCOMPARE(cells.size(), QSize(4, 4));
    // The field's row cy = 0 is at the bottom: the masked cell (1, 2) is
    // image row 4 - 1 - 2 = 1, flat grey (0.42, 0.42, 0.44).
    QCOMPARE(QColor(cells.pixel(1, 1)), QColor(107, 107, 112));
    // Values rise along x: column 0 is the darkest viridis, column 3 lighter.
    const QColor left(cells.pixel(0, 0)), right(cells.pixel(3, 0));
    QVERIFY(right.lightness() > left.lightness() + 50);
    // The caption and legend are text beside the image.
    QVERIFY2(c.texts.join("\n").contains("N = 12"), qPrintable(c.texts.join("|")));
    // A frame without learned values has no field: refused, saying why.
    Frame bare = fixed_frame();
    bare.learned.reset();
    QVERIFY_THROWS_EXCEPTION(entroscope::ConfigError,
                             write_field_figure(bare, FieldQuantity::LocalEpr, dir.filePath("none.svg").toStdString()));
    QVERIFY(!QFileInfo::exists(dir.filePath("none.svg")));
    // PDF of the field.
    const QString pdf = dir.filePath("f.pdf");
    write_field_figure(fixed_frame(), FieldQuantity::LocalEpr, pdf.toStdString());
    QFile f(pdf);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QVERIFY(f.read(5) == "%PDF-");
}

void TestVectorFigure::currentArrowsAreVector()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("j.svg");
    VectorFigureOptions opt;
    opt.current = CurrentOverlay::Arrows;
    const VectorFigureInfo info = write_particle_figure(fixed_frame(), Quantity::SigmaSq, path.toStdString(), opt);
    QVERIFY(info.arrows > 0);
    const SvgContent c = read_svg(path, 720.0);
    QCOMPARE(c.polygonsInCurrent, info.arrows);  // one head each
    QVERIFY(c.texts.join("\n").contains("probability current"));
    // Streamlines of the uniform current (3, 4): straight polylines along it.
    opt.current = CurrentOverlay::Streamlines;
    const VectorFigureInfo lines = write_particle_figure(fixed_frame(), Quantity::SigmaSq, path.toStdString(), opt);
    QCOMPARE(lines.arrows, 0);
    QVERIFY(lines.streamlines > 0);
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QXmlStreamReader xml(&f);
    bool inCurrent = false;
    int polylines = 0;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement() && xml.name() == QLatin1String("g")) inCurrent = xml.attributes().value("id") == QLatin1String("current");
        if (xml.isStartElement() && xml.name() == QLatin1String("polyline") && inCurrent) {
            ++polylines;
            const QStringList pts = xml.attributes().value("points").toString().split(' ');
            QVERIFY(pts.size() >= 2);
            const QStringList a = pts.front().split(','), b = pts.back().split(',');
            const double dx = b[0].toDouble() - a[0].toDouble(), dy = b[1].toDouble() - a[1].toDouble();
            // Page y runs down: the world's (3, 4) is (3, -4) on the page, up to the line's direction.
            if (std::hypot(dx, dy) > 5.0) QVERIFY2(std::abs(dx * -4.0 - dy * 3.0) < 0.02 * std::hypot(dx, dy) * 5.0, qPrintable(pts.join(' ')));
        }
        if (xml.isEndElement() && xml.name() == QLatin1String("g")) inCurrent = false;
    }
    QCOMPARE(polylines, lines.streamlines);
    QVERIFY(read_svg(path, 720.0).texts.join("\n").contains("streamlines"));
}

void TestVectorFigure::transparentHasNoBackground()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("b.svg");
    write_particle_figure(fixed_frame(), Quantity::ActiveAngle, path.toStdString());
    QCOMPARE(read_svg(path, 720.0).fullPageRects, 1);
    VectorFigureOptions opt;
    opt.transparent = true;
    write_particle_figure(fixed_frame(), Quantity::ActiveAngle, path.toStdString(), opt);
    QCOMPARE(read_svg(path, 720.0).fullPageRects, 0);
}

void TestVectorFigure::badOutputIsRefusedAndLeavesNothing()
{
    QTemporaryDir dir;
    QVERIFY_THROWS_EXCEPTION(entroscope::ConfigError,
                             write_particle_figure(fixed_frame(), Quantity::SigmaSq, dir.filePath("p.png").toStdString()));
    QVERIFY_THROWS_EXCEPTION(entroscope::ConfigError,
                             write_particle_figure(fixed_frame(), Quantity::SigmaSq, dir.filePath("p").toStdString()));
    const QString missing = dir.filePath("no/such/folder/p.svg");
    try {
        write_particle_figure(fixed_frame(), Quantity::SigmaSq, missing.toStdString());
        QFAIL("a missing folder was accepted");
    } catch (const entroscope::IoError& e) {
        QVERIFY2(QString(e.what()).contains("no/such/folder"), e.what());
    }
    // An unwritable folder (skipped as root, who can write anywhere).
    QDir(dir.path()).mkdir("ro");
    QFile::setPermissions(dir.filePath("ro"), QFile::ReadOwner | QFile::ExeOwner);
    QFile probe(dir.filePath("ro/probe"));
    if (!probe.open(QIODevice::WriteOnly)) {
        QVERIFY_THROWS_EXCEPTION(entroscope::IoError,
                                 write_particle_figure(fixed_frame(), Quantity::SigmaSq, dir.filePath("ro/p.pdf").toStdString()));
        QCOMPARE(QDir(dir.filePath("ro")).entryList(QDir::Files).size(), 0);
    }
    QFile::setPermissions(dir.filePath("ro"), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    // A full disk: a file-size limit in a child process (SIGXFSZ ignored,
    // so the write fails with EFBIG); the child reports by its exit code.
    const QString big = dir.filePath("full.pdf");
    const pid_t child = fork();
    if (child == 0) {
        struct rlimit lim {};
        lim.rlim_cur = lim.rlim_max = 2000;
        setrlimit(RLIMIT_FSIZE, &lim);
        signal(SIGXFSZ, SIG_IGN);
        int code = 3;
        try {
            write_particle_figure(fixed_frame(), Quantity::SigmaSq, big.toStdString());
            code = 1;  // written in spite of the limit
        } catch (const entroscope::IoError&) {
            code = QFileInfo::exists(big) ? 2 : 0;
        } catch (...) {
        }
        _exit(code);
    }
    int status = 0;
    QCOMPARE(waitpid(child, &status, 0), child);
    QVERIFY(WIFEXITED(status));
    QCOMPARE(WEXITSTATUS(status), 0);  // 1: no error; 2: a partial file left; 3: another exception
    VectorFigureOptions zero;
    zero.width = 0;
    QVERIFY_THROWS_EXCEPTION(entroscope::ConfigError,
                             write_particle_figure(fixed_frame(), Quantity::SigmaSq, dir.filePath("z.svg").toStdString(), zero));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 0);
}

QTEST_MAIN(TestVectorFigure)
#include "TestVectorFigure.moc"

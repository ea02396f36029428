// The main window under Xvfb: it starts the embedded default (ABP MIPS), the sliders
// reach the running simulation, and the view shows coloured particles.
#include <QAction>
#include <QApplication>
#include <QColor>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QPushButton>
#include <QOffscreenSurface>
#include <QOpenGLContext>
#include <QSet>
#include <QSlider>
#include <QSpinBox>
#include <QSignalSpy>
#include <QSurfaceFormat>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <memory>

#include "app/gui/default_session.hpp"
#include "app/gui/main_window.hpp"
#include "app/gui/session_controller.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/score/score_model.hpp"
#include "render/colour_rules.hpp"
#include "render/particle_scene.hpp"
#include "widgets/entropy_panel.hpp"
#include "widgets/parameter_panel.hpp"
#include "widgets/phase_diagram.hpp"
#include "entroscope/core/atomic_file.hpp"
#include "entroscope/io/sweep_table.hpp"
#include "widgets/plot_panel.hpp"
#include <QLineEdit>
#include "widgets/vtk_view.hpp"
#include "widgets/figure_dialog.hpp"
#include "widgets/movie_dialog.hpp"
#include "widgets/data_dialog.hpp"
#include "app/gui/movie_recorder.hpp"
#include "app/gui/cli_job.hpp"
#include "movie_probe.hpp"
#include <QFile>
#include <QProcess>
#include <QXmlStreamReader>

using entroscope::Config;
using entroscope::ModelKind;
using entroscope::gui::MainWindow;

class TestMainWindow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void startsRunningTheEmbeddedAbpDefault();
    void phiSliderRescalesTheRunningSystem();
    void activitySliderChangesV0();
    void timeStepPresetsApplyToTheRunningSystem();
    void screenshotShowsColouredParticles();
    void wheelZoomsTheViewAndRFitsTheBoxAgain();
    void fieldViewDrawsTheNewestEvaluatedState();
    void figuresOfTheViewsAreRenderedAtTheAskedSize();
    void dataOfTheStateOnScreenAreExported();
    void recordWritesTheLiveRunAsAMovie();
    void aMovieOfAFreshRunIsRenderedInTheBackgroundAndCanBeCancelled();
    void aDataSeriesOfAFreshRunIsExportedInTheBackground();
    void linkedCamerasZoomBothViews();
    void arrowsDrawTheNewestEvaluatedState();
    void aHeldColourRangeStaysAcrossFramesAndAFixedOneIsShown();
    void invalidParameterIsReportedAndTheRunGoesOn();
    void savingTheNetworkWritesACheckpointOrSaysWhyNot();
    void pausingTrainingStopsTheLearnerAndTheSimulationGoesOn();
    void aBlowUpOffersASmallerTimeStepThatResumes();
    void plotsFollowTheRunningSession();
    void aSweepFromThePhaseDiagramFillsInItsPoints();
    void thePhaseDiagramSavesAndOpensTables();
    void aPointOfThePhaseDiagramMovesTheSliders();
    void aSweepPointResumesItsStateWithTheRunningNetwork();
    void choosingAoupRebuildsWithThePaperDefaults();
    void cleanupTestCase();

private:
    std::shared_ptr<const entroscope::Frame> latest() const { return window_->simulation()->latest(); }
    std::unique_ptr<MainWindow> window_;
};

void TestMainWindow::initTestCase()
{
    // No GL at all (no display, no driver): the only reason to skip.
    QOpenGLContext probe;
    probe.setFormat(QSurfaceFormat::defaultFormat());
    if (!probe.create()) {
        QSKIP("no OpenGL context can be created on this display");
    }
    window_ = std::make_unique<MainWindow>(entroscope::gui::embedded_default_config());
    window_->show();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    QTRY_VERIFY_WITH_TIMEOUT(window_->view()->isGLReady(), 10000);
}

void TestMainWindow::startsRunningTheEmbeddedAbpDefault()
{
    QTRY_VERIFY_WITH_TIMEOUT(latest() && latest()->state->step > 0, 20000);
    const auto snap = latest();
    QCOMPARE(snap->config.model, ModelKind::Abp);
    QCOMPARE(snap->config.interaction, entroscope::Interaction::Wca);
    QCOMPARE(snap->config.n, 4096);
    QCOMPARE(snap->state->n(), 4096);
    QVERIFY(std::abs(snap->config.phi - 0.5) < 1e-12);
    QVERIFY(std::abs(snap->config.peclet() - 100.0) < 1e-6);
    QVERIFY(snap->running);
}

void TestMainWindow::phiSliderRescalesTheRunningSystem()
{
    auto* slider = window_->panel()->findChild<QSlider*>("phiSlider");
    QVERIFY(slider);
    const auto before = latest();
    QVERIFY(before);
    slider->setValue(60);  // phi = 0.60
    const double expectedBox = std::sqrt(before->config.n * before->config.particle_area() / 0.60);
    QTRY_VERIFY_WITH_TIMEOUT(std::abs(latest()->config.phi - 0.60) < 1e-9, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(std::abs(latest()->state->box - expectedBox) < 1e-6 * expectedBox, 10000);
    QVERIFY(latest()->state->box < before->state->box);
    // Still the same system, still running.
    QCOMPARE(latest()->system_generation, before->system_generation);
    const auto stepAfter = latest()->state->step;
    QTRY_VERIFY_WITH_TIMEOUT(latest()->state->step > stepAfter, 10000);
}

void TestMainWindow::activitySliderChangesV0()
{
    // The embedded default sets Pe through the noise at fixed speed
    // (Stenhammar et al.): v0 stays 24, D_r = 3 v0 / (sigma Pe).
    auto* slider = window_->panel()->findChild<QSlider*>("peSlider");
    QVERIFY(slider);
    const Config cfg = latest()->config;
    QCOMPARE(cfg.pe_convention, entroscope::PecletConvention::FixedSpeed);
    slider->setValue(50);
    const double expectedDr = 3.0 * cfg.v0 / (cfg.sigma * 50.0);
    QTRY_VERIFY_WITH_TIMEOUT(std::abs(latest()->config.D_r - expectedDr) < 1e-9 * expectedDr, 10000);
    QCOMPARE(latest()->config.v0, cfg.v0);
    QVERIFY(std::abs(latest()->config.D_t - expectedDr * cfg.sigma * cfg.sigma / 3.0) < 1e-12);
    QVERIFY(std::abs(latest()->config.peclet() - 50.0) < 1e-6);
}

void TestMainWindow::timeStepPresetsApplyToTheRunningSystem()
{
    auto* combo = window_->panel()->findChild<QComboBox*>("timeStepCombo");
    QVERIFY(combo);
    const Config now = latest()->config;
    QCOMPARE(now.model, ModelKind::Abp);
    const double bound = now.abp_time_step();
    QCOMPARE(combo->currentData().toDouble(), now.dt);
    QCOMPARE(combo->count(), 3);
    const auto before = latest();
    // The accurate preset, as a user picks it.
    combo->setCurrentIndex(2);
    Q_EMIT combo->activated(2);
    QTRY_VERIFY_WITH_TIMEOUT(std::abs(latest()->config.dt - 0.075 * bound) < 1e-15, 10000);
    QCOMPARE(latest()->system_generation, before->system_generation);  // the same system, at its state
    QVERIFY(latest()->physics_tag > before->physics_tag);
    QVERIFY(std::abs(window_->panel()->timeStep() - 0.075 * bound) < 1e-15);
    // Back to the bound for what follows.
    combo->setCurrentIndex(0);
    Q_EMIT combo->activated(0);
    QTRY_VERIFY_WITH_TIMEOUT(std::abs(latest()->config.dt - bound) < 1e-15, 10000);
}

void TestMainWindow::screenshotShowsColouredParticles()
{
    // Let a few display frames through.
    QTest::qWait(500);
    const QImage shot = window_->grabWindowImage();
    QVERIFY(!shot.isNull());
    const QRect viewRect(window_->view()->mapTo(window_.get(), QPoint(0, 0)), window_->view()->size());
    const QImage view = shot.copy(viewRect);
    QVERIFY(view.width() > 100 && view.height() > 100);

    // The background is a dark, unsaturated gradient; particles are bright
    // and saturated. Count those pixels and the hue bins they fill.
    qint64 coloured = 0;
    QSet<int> hueBins;
    for (int y = 0; y < view.height(); y += 2) {
        for (int x = 0; x < view.width(); x += 2) {
            const QColor c = QColor::fromRgb(view.pixel(x, y));
            if (c.hsvSaturation() > 80 && c.value() > 100) {
                ++coloured;
                hueBins.insert(c.hsvHue() / 30);
            }
        }
    }
    const qint64 sampled = static_cast<qint64>((view.width() + 1) / 2) * ((view.height() + 1) / 2);
    const double fraction = static_cast<double>(coloured) / static_cast<double>(sampled);
    qInfo("coloured fraction %.3f, hue bins %lld", fraction, static_cast<long long>(hueBins.size()));
    QVERIFY2(fraction > 0.10, "the view shows too few particle pixels (blank or black view?)");
    QVERIFY2(hueBins.size() >= 5, "particle colours do not span the cyclic map");
}

namespace {

// The fraction of pixels (every second one in each direction) that differ
// by more than a small amount in any channel.
double differingFraction(const QImage& a, const QImage& b)
{
    if (a.size() != b.size()) {
        return 1.0;
    }
    qint64 differ = 0, sampled = 0;
    for (int y = 0; y < a.height(); y += 2) {
        for (int x = 0; x < a.width(); x += 2) {
            const QRgb p = a.pixel(x, y), q = b.pixel(x, y);
            ++sampled;
            if (std::abs(qRed(p) - qRed(q)) > 8 || std::abs(qGreen(p) - qGreen(q)) > 8 || std::abs(qBlue(p) - qBlue(q)) > 8) {
                ++differ;
            }
        }
    }
    return static_cast<double>(differ) / static_cast<double>(sampled);
}

}  // namespace

void TestMainWindow::wheelZoomsTheViewAndRFitsTheBoxAgain()
{
    // Input reaches VTK through the view's native window: a wheel step
    // zooms in, R fits the box as at the start. Paused, so only the camera
    // changes the picture.
    window_->simulation()->setRunning(false);
    QTRY_VERIFY_WITH_TIMEOUT(!latest()->running, 10000);
    QTest::qWait(300);
    QWindow* surface = window_->view()->surfaceWindow();
    QVERIFY(surface);
    const QImage fitted = window_->view()->grabFramebuffer();
    QVERIFY(!fitted.isNull());

    const QPointF centre(surface->width() / 2.0, surface->height() / 2.0);
    for (int i = 0; i < 3; ++i) {
        QWheelEvent wheel(centre, surface->mapToGlobal(centre), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
        QCoreApplication::sendEvent(surface, &wheel);
    }
    QTest::qWait(100);
    const QImage zoomed = window_->view()->grabFramebuffer();
    QVERIFY2(differingFraction(fitted, zoomed) > 0.2, "the wheel did not change the picture");

    QTest::keyClick(surface, Qt::Key_R);
    QTest::qWait(100);
    const QImage refitted = window_->view()->grabFramebuffer();
    const double left = differingFraction(fitted, refitted);
    QVERIFY2(left < 0.01, qPrintable(QStringLiteral("after R, %1 of the pixels differ from the fitted view").arg(left)));

    window_->simulation()->setRunning(true);
    QTRY_VERIFY_WITH_TIMEOUT(latest()->running, 10000);
}

void TestMainWindow::fieldViewDrawsTheNewestEvaluatedState()
{
    // Beside the particles, the local EPR field of the newest evaluated
    // state (its own positions), and a picture that is not just background.
    QVERIFY(window_->fieldView());
    QVERIFY(window_->fieldView()->isVisible());
    QCOMPARE(window_->fieldShown(), MainWindow::FieldShown::LocalEpr);
    QTRY_VERIFY_WITH_TIMEOUT(window_->shownFieldFrame() != nullptr, 30000);
    const auto f = window_->shownFieldFrame();
    QVERIFY(f->learned);
    QCOMPARE(f->learned->state, f->state);
    QVERIFY(f->learned->sigma.bins > 0);
    const QImage img = window_->fieldView()->grabFramebuffer();
    QVERIFY(!img.isNull());
    QSet<int> hues;
    for (int y = 0; y < img.height(); y += 3)
        for (int x = 0; x < img.width(); x += 3) {
            const QColor c = img.pixelColor(x, y);
            if (c.hsvSaturation() > 80 && c.value() > 60) hues.insert(c.hsvHue() / 20);
        }
    QVERIFY2(hues.size() >= 3, qPrintable(QStringLiteral("%1 hue bins").arg(hues.size())));

    // A coarser grid for the next evaluations; the global estimate keeps
    // its window (evaluations go on counting instead of starting over).
    QTRY_VERIFY_WITH_TIMEOUT(latest()->estimate && latest()->estimate->evaluations >= 3, 60000);
    const auto evaluationsBefore = latest()->estimate->evaluations;
    auto* bins = window_->findChild<QSpinBox*>("fieldBins");
    QVERIFY(bins);
    bins->setValue(32);
    QTRY_VERIFY_WITH_TIMEOUT(window_->shownFieldFrame() && window_->shownFieldFrame()->learned->sigma.bins == 32, 30000);
    QVERIFY(latest()->estimate->evaluations >= evaluationsBefore);

    window_->setFieldShown(MainWindow::FieldShown::Off);
    QVERIFY(!window_->fieldView()->isVisible());
    window_->setFieldShown(MainWindow::FieldShown::Density);
    QVERIFY(window_->fieldView()->isVisible());
    window_->setFieldShown(MainWindow::FieldShown::LocalEpr);
}

void TestMainWindow::figuresOfTheViewsAreRenderedAtTheAskedSize()
{
    using entroscope::widgets::FigureRequest;
    QTemporaryDir dir;
    QTRY_VERIFY_WITH_TIMEOUT(window_->shownFrame() && window_->shownFieldFrame(), 30000);
    // PNG of the particle view at 1000 x 800 pixels and 300 dpi: that size
    // (not the view's), the resolution written, coloured particles on it.
    FigureRequest png;
    png.path = dir.filePath("particles.png");
    png.format = "png";
    png.dpi = 300;
    png.setSize(1000, 800, "px");
    QString error;
    QVERIFY2(window_->exportFigure(png, &error), qPrintable(error));
    QImage img(png.path);
    QCOMPARE(img.size(), QSize(1000, 800));
    QCOMPARE(img.dotsPerMeterX(), static_cast<int>(std::lround(300 / 0.0254)));
    QSet<int> hues;
    for (int y = 0; y < img.height(); y += 4)
        for (int x = 0; x < img.width(); x += 4) {
            const QColor c = img.pixelColor(x, y);
            if (c.hsvSaturation() > 80 && c.value() > 60) hues.insert(c.hsvHue() / 20);
        }
    QVERIFY2(hues.size() >= 4, qPrintable(QStringLiteral("%1 hue bins").arg(hues.size())));
    // A transparent background: the box's surroundings have alpha 0.
    png.path = dir.filePath("clear.png");
    png.transparent = true;
    QVERIFY2(window_->exportFigure(png, &error), qPrintable(error));
    const QImage clear(png.path);
    QVERIFY(clear.hasAlphaChannel());
    QCOMPARE(qAlpha(clear.pixel(clear.width() - 3, clear.height() / 2)), 0);
    png.transparent = false;
    // A physical size: 85 mm x 70 mm at 600 dpi.
    png.path = dir.filePath("column.png");
    png.dpi = 600;
    png.setSize(85, 70, "mm");
    QVERIFY2(window_->exportFigure(png, &error), qPrintable(error));
    QCOMPARE(QImage(png.path).size(), QSize(2008, 1654));
    // SVG of the particle view: one circle per particle at least (plus the
    // periodic images), of the frame on screen.
    FigureRequest svg;
    svg.path = dir.filePath("particles.svg");
    svg.format = "svg";
    svg.setSize(180, 150, "mm");
    QVERIFY2(window_->exportFigure(svg, &error), qPrintable(error));
    QFile f(svg.path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QXmlStreamReader xml(&f);
    int circles = 0;
    while (!xml.atEnd())
        if (xml.readNext() == QXmlStreamReader::StartElement && xml.name() == QLatin1String("circle")) ++circles;
    QVERIFY(!xml.hasError());
    const int n = window_->shownFrame()->state->n();
    QVERIFY2(circles >= n && circles < n + n / 4, qPrintable(QString("%1 circles for %2 particles").arg(circles).arg(n)));
    // A fixed colour range from the dialog: the legend's ticks are its (the
    // local density; angles always span [-pi, pi]).
    window_->setColourBy(MainWindow::ColourBy::LocalDensity);
    svg.fixedRange = true;
    svg.rangeLo = 0.0;
    svg.rangeHi = 5.0;
    svg.path = dir.filePath("fixed.svg");
    QVERIFY2(window_->exportFigure(svg, &error), qPrintable(error));
    QFile fixedFile(svg.path);
    QVERIFY(fixedFile.open(QIODevice::ReadOnly));
    const QString fixedText = QString::fromUtf8(fixedFile.readAll());
    QVERIFY(fixedText.contains(">3.75</text>") && fixedText.contains(">5</text>"));
    svg.fixedRange = false;
    window_->setColourBy(MainWindow::ColourBy::ActiveAngle);
    // PDF of the field view: one page of 180 x 150 mm (510.2 x 425.2 pt).
    FigureRequest pdf = svg;
    pdf.view = FigureRequest::View::Field;
    pdf.path = dir.filePath("field.pdf");
    pdf.format = "pdf";
    QVERIFY2(window_->exportFigure(pdf, &error), qPrintable(error));
    QProcess info;  // poppler-utils, installed by packaging/install-deps.sh
    info.start("pdfinfo", {pdf.path});
    QVERIFY2(info.waitForFinished(30000) && info.exitStatus() == QProcess::NormalExit && info.exitCode() == 0,
             qPrintable("pdfinfo: " + info.errorString()));
    {
        const QString out = QString::fromUtf8(info.readAllStandardOutput());
        const auto m = QRegularExpression("Page size:\\s+([0-9.]+) x ([0-9.]+) pts").match(out);
        QVERIFY2(m.hasMatch(), qPrintable(out));
        QVERIFY2(std::abs(m.captured(1).toDouble() - 510.24) < 0.1 && std::abs(m.captured(2).toDouble() - 425.20) < 0.1, qPrintable(out));
    }
    // The whole layout at 1600 x 1000 pixels: the two views above, the EPR
    // and diagnostics plots (white charts) below.
    FigureRequest layout;
    layout.view = FigureRequest::View::Layout;
    layout.path = dir.filePath("layout.png");
    layout.format = "png";
    layout.setSize(1600, 1000, "px");
    QVERIFY2(window_->exportFigure(layout, &error), qPrintable(error));
    const QImage page(layout.path);
    QCOMPARE(page.size(), QSize(1600, 1000));
    const QColor viewCorner(page.pixel(400, 30)), plotArea(page.pixel(400, 980));
    QVERIFY2(viewCorner.value() < 80, qPrintable(viewCorner.name()));   // the views' dark background
    QVERIFY2(plotArea.value() > 200, qPrintable(plotArea.name()));     // a chart's white
    QVERIFY(QColor(page.pixel(1200, 300)).value() < 200);               // the field view on the right
    layout.path = dir.filePath("layout.pdf");
    layout.format = "pdf";
    layout.setSize(270, 170, "mm");
    QVERIFY2(window_->exportFigure(layout, &error), qPrintable(error));
    QVERIFY(QFileInfo(layout.path).size() > 10000);
    // A folder that does not exist: refused, nothing written, the run goes on.
    FigureRequest bad = svg;
    bad.path = dir.filePath("missing/particles.svg");
    QVERIFY(!window_->exportFigure(bad, &error));
    QVERIFY2(error.contains("missing"), qPrintable(error));
    QVERIFY(!QFileInfo::exists(bad.path));
    QVERIFY(latest()->running);
}

void TestMainWindow::dataOfTheStateOnScreenAreExported()
{
    QTemporaryDir dir;
    QTRY_VERIFY_WITH_TIMEOUT(window_->simulation()->latestLearned() != nullptr, 30000);
    QString error;
    const QString xyz = dir.filePath("state.xyz");
    QVERIFY2(window_->exportData(xyz, &error), qPrintable(error));
    QFile f(xyz);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const int n = f.readLine().trimmed().toInt();
    QCOMPARE(n, window_->simulation()->latest()->config.n);
    const QString header = QString::fromUtf8(f.readLine());
    QVERIFY2(header.contains("sigma_sq:R:1") && header.contains("Lattice="), qPrintable(header));
    // H5MD read by h5py: the learned sigma_i of the state and the estimate with its SE.
    const QString h5 = dir.filePath("state.h5");
    QVERIFY2(window_->exportData(h5, &error), qPrintable(error));
    QProcess py;
    py.start("/usr/bin/python3", {"-c", "import h5py,sys; f=h5py.File(sys.argv[1],'r'); "
                                        "print(f['particles/all/sigma_sq/value'].shape, f['observables/epr_active_estimate/value'].shape)",
                                  h5});
    // h5py is installed by packaging/install-deps.sh: a missing one fails here.
    QVERIFY(py.waitForFinished(60000));
    QVERIFY2(py.exitCode() == 0, py.readAllStandardError().constData());
    QCOMPARE(QString::fromUtf8(py.readAllStandardOutput()).trimmed(), QString("(1, %1, 1) (1, 2)").arg(n));
    for (const char* name : {"state.vtp", "state.csv", "state.pvd"})
        QVERIFY2(window_->exportData(dir.filePath(name), &error), qPrintable(error));
    // An unknown extension: refused, nothing written.
    QVERIFY(!window_->exportData(dir.filePath("state.txt"), &error));
    QVERIFY2(error.contains(".xyz"), qPrintable(error));
    QVERIFY(!QFileInfo::exists(dir.filePath("state.txt")));
}

void TestMainWindow::recordWritesTheLiveRunAsAMovie()
{
    using entroscope::widgets::MovieRequest;
    QTemporaryDir dir;
    MovieRequest r;
    r.path = dir.filePath("live.mp4");
    r.width = 480;
    r.height = 270;
    r.fps = 10;
    QString error;
    QVERIFY2(window_->startMovie(r, &error), qPrintable(error));
    QVERIFY(window_->recording());
    // A second recording is refused while one runs.
    QVERIFY(!window_->startMovie(r, &error));
    // Two seconds of the live run, with a slider move in the middle.
    QTest::qWait(1000);
    window_->simulation()->setPeclet(80.0);
    QTest::qWait(1000);
    QVERIFY2(window_->stopRecording(&error), qPrintable(error));
    QVERIFY(!window_->recording());
    const auto d = entroscope::test::decode(r.path.toStdString());
    QVERIFY2(d.error.empty(), d.error.c_str());
    QCOMPARE(QString::fromStdString(d.codec), QString("h264"));
    QCOMPARE(QString::fromStdString(d.pixfmt), QString("yuv420p"));
    QCOMPARE(d.width, 480);
    QCOMPARE(d.height, 270);
    // 10 frames/s of wall time over about two seconds.
    QVERIFY2(d.frames >= 15 && d.frames <= 30, qPrintable(QString::number(d.frames)));
    QVERIFY(d.firstY != d.lastY);  // the particles moved
    // Nothing but the movie in the folder (no temporary left).
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"live.mp4"});
    window_->simulation()->setPeclet(100.0);
    // A folder that does not exist: refused at once.
    r.path = dir.filePath("missing/live.mp4");
    QVERIFY(!window_->startMovie(r, &error));
    QVERIFY2(error.contains("missing"), qPrintable(error));
}

void TestMainWindow::aMovieOfAFreshRunIsRenderedInTheBackgroundAndCanBeCancelled()
{
    using entroscope::widgets::MovieRequest;
    qputenv("ENTROSCOPE_CLI", ENTROSCOPE_CLI);
    QVERIFY(!entroscope::gui::CliJob::cliPath().isEmpty());
    QTemporaryDir dir;
    MovieRequest r;
    r.source = MovieRequest::Source::FreshRun;
    r.path = dir.filePath("fresh.mp4");
    r.width = 320;
    r.height = 240;
    r.frames = 4;
    r.stride = 20;
    r.burnIn = 200;
    QSignalSpy done(window_->job(), &entroscope::gui::CliJob::finished);
    QString error;
    QVERIFY2(window_->startMovie(r, &error), qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1, 120000);
    QVERIFY2(done.at(0).at(0).toBool(), qPrintable(done.at(0).at(2).toString()));
    const auto d = entroscope::test::decode(r.path.toStdString());
    QVERIFY2(d.error.empty(), d.error.c_str());
    QCOMPARE(d.frames, 4);
    QCOMPARE(d.width, 320);
    // A long one, cancelled after its first frames: nothing at the target.
    r.path = dir.filePath("long.mp4");
    r.frames = 5000;
    QSignalSpy progress(window_->job(), &entroscope::gui::CliJob::progress);
    QVERIFY2(window_->startMovie(r, &error), qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() >= 1, 120000);
    window_->job()->cancel();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 2, 30000);
    QVERIFY(done.at(1).at(1).toBool());  // cancelled
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"fresh.mp4"});
}

void TestMainWindow::aDataSeriesOfAFreshRunIsExportedInTheBackground()
{
    using entroscope::widgets::DataRequest;
    qputenv("ENTROSCOPE_CLI", ENTROSCOPE_CLI);
    QTemporaryDir dir;
    DataRequest r;
    r.format = "xyz";
    r.path = dir.filePath("series.xyz");
    r.frames = 3;
    r.stride = 20;
    r.burnIn = 100;
    QSignalSpy done(window_->job(), &entroscope::gui::CliJob::finished);
    QString error;
    QVERIFY2(window_->startDataExport(r, &error), qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1, 120000);
    QVERIFY2(done.at(0).at(0).toBool(), qPrintable(done.at(0).at(2).toString()));
    // Three frames of the running system, with the running network's sigma_i.
    QFile f(r.path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const int n = window_->simulation()->latest()->config.n;
    int frames = 0;
    while (!f.atEnd()) {
        const QByteArray count = f.readLine().trimmed();
        if (count.isEmpty()) break;
        QCOMPARE(count.toInt(), n);
        QVERIFY(f.readLine().contains("sigma_sq:R:1"));
        for (int i = 0; i < n; ++i) f.readLine();
        ++frames;
    }
    QCOMPARE(frames, 3);
    // A VTK series must be NAME.pvd: refused before anything starts.
    r.format = "vtk";
    QVERIFY(!window_->startDataExport(r, &error));
    QVERIFY2(error.contains(".pvd"), qPrintable(error));
}

void TestMainWindow::linkedCamerasZoomBothViews()
{
    // Paused, so only the cameras change the pictures.
    window_->simulation()->setRunning(false);
    QTRY_VERIFY_WITH_TIMEOUT(!latest()->running, 10000);
    QTest::qWait(300);
    QWindow* surface = window_->view()->surfaceWindow();
    const QPointF centre(surface->width() / 2.0, surface->height() / 2.0);
    const auto wheel = [&] {
        QWheelEvent e(centre, surface->mapToGlobal(centre), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                      Qt::NoScrollPhase, false);
        QCoreApplication::sendEvent(surface, &e);
        QTest::qWait(150);
    };
    // Independent: zooming the particles leaves the field alone.
    const QImage field0 = window_->fieldView()->grabFramebuffer();
    wheel();
    QVERIFY(differingFraction(field0, window_->fieldView()->grabFramebuffer()) < 0.01);
    QTest::keyClick(surface, Qt::Key_R);
    QTest::qWait(100);
    // Linked: the field view follows the particle view's camera.
    window_->setCamerasLinked(true);
    QVERIFY(window_->camerasLinked());
    QTest::qWait(150);
    const QImage field1 = window_->fieldView()->grabFramebuffer();
    wheel();
    wheel();
    const double moved = differingFraction(field1, window_->fieldView()->grabFramebuffer());
    QVERIFY2(moved > 0.2, qPrintable(QStringLiteral("the field view did not follow the zoom (%1 of the pixels changed)").arg(moved)));
    window_->setCamerasLinked(false);
    QVERIFY(!window_->camerasLinked());
    QTest::keyClick(surface, Qt::Key_R);
    window_->simulation()->setRunning(true);
    QTRY_VERIFY_WITH_TIMEOUT(latest()->running, 10000);
}

void TestMainWindow::arrowsDrawTheNewestEvaluatedState()
{
    // With arrows the particle view shows the state the velocities belong
    // to, as when colouring by sigma_i; without them, the newest state again.
    window_->setArrows(MainWindow::Arrows::PositionPart);
    QTRY_VERIFY_WITH_TIMEOUT(window_->shownFrame() && window_->shownFrame()->learned, 30000);
    const auto f = window_->shownFrame();
    QCOMPARE(f->learned->state, f->state);
    QCOMPARE(f->learned->v_x.size(), f->state->x.size());  // 2n: the position part
    window_->setArrows(MainWindow::Arrows::Off);
    QTRY_VERIFY_WITH_TIMEOUT(window_->shownFrame() && !window_->shownFrame()->learned, 10000);
}

// For movies: "Hold range" keeps the range of the frame on screen for
// every later frame, although their own automatic ranges differ; a fixed
// lo .. hi is what the legend shows; another quantity is automatic again.
void TestMainWindow::aHeldColourRangeStaysAcrossFramesAndAFixedOneIsShown()
{
    using entroscope::render::Quantity;
    using entroscope::render::RangeMode;
    auto* panel = window_->entropyPanel();
    auto* hold = panel->findChild<QCheckBox*>("holdRangeCheck");
    auto* mode = panel->findChild<QComboBox*>("rangeModeCombo");
    auto* lo = panel->findChild<QDoubleSpinBox*>("rangeLoSpin");
    auto* hi = panel->findChild<QDoubleSpinBox*>("rangeHiSpin");
    QVERIFY(hold && mode && lo && hi);
    QVERIFY(!hold->isEnabled());  // the angle's range is always -pi .. pi
    window_->setColourBy(MainWindow::ColourBy::LocalEntropyProduction);
    QVERIFY(hold->isEnabled() && !lo->isEnabled());
    QCOMPARE(panel->rangeRule().mode, RangeMode::Quantiles0To99);
    QTRY_VERIFY_WITH_TIMEOUT(window_->shownFrame() && window_->shownFrame()->learned, 30000);
    const auto legend = [this] { return window_->particleScene()->legendRange(); };
    const auto automatic = [](const entroscope::Frame& f) {
        const auto v = entroscope::render::quantity_values(f, Quantity::SigmaSq);
        return entroscope::render::colour_range(Quantity::SigmaSq, v.values, {RangeMode::Quantiles0To99});
    };
    const auto first = window_->shownFrame();
    const auto r0 = automatic(*first);
    QCOMPARE(legend().first, r0.lo);
    QCOMPARE(legend().second, r0.hi);

    hold->setChecked(true);
    QCOMPARE(panel->rangeRule().mode, RangeMode::Fixed);
    QVERIFY(lo->isEnabled());
    const auto held = legend();
    QVERIFY(std::abs(held.first - r0.lo) <= 1e-9 * std::abs(r0.hi - r0.lo));
    QVERIFY(std::abs(held.second - r0.hi) <= 1e-9 * std::abs(r0.hi - r0.lo));
    // A later evaluation, whose own range is another one, on the held range.
    QTRY_VERIFY_WITH_TIMEOUT(window_->shownFrame()->learned && window_->shownFrame()->learned->index > first->learned->index &&
                                 automatic(*window_->shownFrame()).hi != r0.hi,
                             60000);
    QCOMPARE(legend(), held);

    // Unheld: the frame's own automatic range again.
    hold->setChecked(false);
    QCOMPARE(panel->rangeRule().mode, RangeMode::Quantiles0To99);
    const auto now = automatic(*window_->shownFrame());
    QCOMPARE(legend().first, now.lo);
    QCOMPARE(legend().second, now.hi);
    // The paper's 5-95 %.
    mode->setCurrentIndex(mode->findData(static_cast<int>(RangeMode::Quantiles5To95)));
    const auto v = entroscope::render::quantity_values(*window_->shownFrame(), Quantity::SigmaSq);
    const auto q = entroscope::render::colour_range(Quantity::SigmaSq, v.values, {RangeMode::Quantiles5To95});
    QCOMPARE(legend().first, q.lo);
    QCOMPARE(legend().second, q.hi);

    // Fixed by the user: the legend shows lo .. hi as typed.
    mode->setCurrentIndex(mode->findData(static_cast<int>(RangeMode::Fixed)));
    QVERIFY(lo->isEnabled() && hi->isEnabled());
    lo->setValue(125.0);
    hi->setValue(2500.0);
    QCOMPARE(legend(), std::make_pair(125.0, 2500.0));

    // Another quantity: automatic again (and no hold).
    hold->setChecked(true);
    window_->setColourBy(MainWindow::ColourBy::ActiveAngle);
    QVERIFY(!hold->isChecked());
    QCOMPARE(panel->rangeRule().mode, RangeMode::Quantiles5To95);
    window_->setColourBy(MainWindow::ColourBy::LocalEntropyProduction);
    QCOMPARE(panel->rangeRule().mode, RangeMode::Quantiles5To95);
    QVERIFY(!lo->isEnabled());
    window_->setColourBy(MainWindow::ColourBy::ActiveAngle);
}

void TestMainWindow::invalidParameterIsReportedAndTheRunGoesOn()
{
    auto* error = window_->findChild<QLabel*>("errorLabel");
    QVERIFY(error);
    const double phi = latest()->config.phi;
    window_->simulation()->setPackingFraction(0.99);  // engine accepts (0, 0.95]
    QTRY_VERIFY_WITH_TIMEOUT(error->text().contains("packing fraction"), 10000);
    QVERIFY(std::abs(latest()->config.phi - phi) < 1e-12);
    const auto step = latest()->state->step;
    QTRY_VERIFY_WITH_TIMEOUT(latest()->state->step > step, 10000);
}

// File > Save score network goes through the controller to the trainer.
void TestMainWindow::savingTheNetworkWritesACheckpointOrSaysWhyNot()
{
    QTemporaryDir dir;
    QSignalSpy done(window_->simulation(), &entroscope::gui::SessionController::networkFileDone);
    const QString path = dir.filePath(QStringLiteral("net.pt"));
    window_->simulation()->saveNetwork(path);
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 20000);
    QCOMPARE(done.at(0).at(0).toBool(), true);
    QCOMPARE(done.at(0).at(2).toString(), QString());
    QVERIFY(QFile::exists(path) && QFile::exists(path + QStringLiteral(".json")));
    QVERIFY(entroscope::ScoreModel::load(path.toStdString(), &latest()->config).steps() > 0);

    auto* error = window_->findChild<QLabel*>("errorLabel");
    window_->simulation()->saveNetwork(QStringLiteral("/nonexistent/dir/net.pt"));
    QTRY_VERIFY_WITH_TIMEOUT(error->text().contains("Cannot save the network"), 20000);
}

// Session > Train the score network: off, the network stops taking steps
// while the simulation runs on; on again, it trains.
void TestMainWindow::pausingTrainingStopsTheLearnerAndTheSimulationGoesOn()
{
    auto* train = window_->findChild<QAction*>("trainAction");
    QVERIFY(train && train->isCheckable() && train->isChecked());
    QTRY_VERIFY_WITH_TIMEOUT(latest()->training.session_steps >= 1, 60000);
    train->setChecked(false);
    QTest::qWait(3000);  // a step in flight may still finish
    const auto steps = latest()->training.network_steps;
    const auto simStep = latest()->state->step;
    QTest::qWait(4000);
    QCOMPARE(latest()->training.network_steps, steps);
    QVERIFY(latest()->state->step > simStep);
    auto* label = window_->findChild<QLabel*>("trainLabel");
    QVERIFY(label && label->text().contains(QStringLiteral("paused")));
    train->setChecked(true);
    QTRY_VERIFY_WITH_TIMEOUT(latest()->training.network_steps > steps, 60000);
}

// A blow-up pauses the run; the window offers the frame's smaller dt next
// to the message, and one click sets it and resumes from the kept state.
void TestMainWindow::aBlowUpOffersASmallerTimeStepThatResumes()
{
    // Twice the default speed: a physics bound of 5e-5, not the 1e-4 the
    // panel shows for the system it was set up with.
    Config cfg = entroscope::default_config(ModelKind::Abp);
    cfg.n = 256;
    cfg.v0 *= 2.0;
    cfg.dt = cfg.abp_time_step();
    cfg.finalize();
    QCOMPARE(cfg.dt, 5e-5);
    QVERIFY(window_->panel()->timeStep() != cfg.dt);
    const auto before = latest()->system_generation;
    window_->simulation()->reset(cfg);
    QTRY_VERIFY_WITH_TIMEOUT(latest()->system_generation > before && latest()->state->step >= 500, 30000);
    auto* fix = window_->findChild<QPushButton*>("fixTimeStepButton");
    QVERIFY(fix);
    QVERIFY(!fix->isVisible());
    // Far beyond the WCA bound: the next chunk blows up.
    window_->simulation()->setTimeStep(500.0 * cfg.dt);
    QTRY_VERIFY_WITH_TIMEOUT(!latest()->running && latest()->suggested_dt > 0.0, 30000);
    const auto kept = latest();
    QCOMPARE(kept->suggested_dt, cfg.dt);
    auto* error = window_->findChild<QLabel*>("errorLabel");
    QTRY_VERIFY_WITH_TIMEOUT(fix->isVisible(), 5000);
    QVERIFY2(error->text().contains(QStringLiteral("Simulation paused")), qPrintable(error->text()));
    QVERIFY2(fix->text().contains(QStringLiteral("dt = 5e-05")), qPrintable(fix->text()));
    QVERIFY2(fix->text().contains(QStringLiteral("resume")), qPrintable(fix->text()));

    QTest::mouseClick(fix, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(latest()->config.dt == cfg.dt && latest()->running, 10000);
    QCOMPARE(latest()->system_generation, kept->system_generation);
    QTRY_VERIFY_WITH_TIMEOUT(latest()->state->step > kept->state->step + 200, 20000);
    QVERIFY(latest()->notice.empty());
    for (double x : latest()->state->x) {
        QVERIFY(std::isfinite(x));
    }
    QVERIFY(!fix->isVisible());
    QVERIFY(error->text().isEmpty());
    // The panel's dt line shows the step now in use.
    QCOMPARE(window_->panel()->timeStep(), cfg.dt);
    auto* derived = window_->panel()->findChild<QLabel*>("derivedLabel");
    QVERIFY(derived);
    QVERIFY2(derived->text().contains(QStringLiteral("dt = 5e-05")), qPrintable(derived->text()));
}

void TestMainWindow::plotsFollowTheRunningSession()
{
    using Plot = entroscope::widgets::PlotPanel::Plot;
    auto* plots = window_->plots();
    QVERIFY(plots && plots->isVisible());
    const auto generation = latest()->system_generation;
    QTRY_VERIFY_WITH_TIMEOUT(plots->history().systemGeneration() == generation && plots->history().estimates().size() >= 2, 60000);
    QTRY_VERIFY_WITH_TIMEOUT(!plots->history().losses().empty(), 30000);
    plots->redrawNow();
    // ABP with translational noise: the total and its network-free value.
    QVERIFY(plots->eprShowsTotal());
    const QStringList names = plots->seriesNames(Plot::Epr);
    QVERIFY2(names.contains(QStringLiteral("learned total")), qPrintable(names.join('|')));
    const auto& last = plots->history().estimates().back();
    QCOMPARE(plots->seriesPoints(Plot::Epr, QStringLiteral("learned total")).back(), QPointF(last.t, last.total.mean));
    QVERIFY(!plots->seriesPoints(Plot::Training, QStringLiteral("recent loss")).isEmpty());
    QVERIFY(!plots->seriesPoints(Plot::DensityHistogram, QStringLiteral("local area fraction")).isEmpty());
    QVERIFY(!plots->seriesPoints(Plot::SigmaHistogram, QStringLiteral("σᵢ, |v|² estimator")).isEmpty());
}

void TestMainWindow::aSweepFromThePhaseDiagramFillsInItsPoints()
{
    auto* phase = window_->phaseDiagram();
    QVERIFY(phase);
    entroscope::widgets::SweepRequest r;
    r.points = {{0.3, 50.0}, {0.6, 150.0}};
    r.options.burn_in = 300;
    r.options.samples = 2;
    r.options.sample_every = 50;
    r.network = entroscope::widgets::SweepRequest::Network::Transfer;  // the running network
    r.threads = 1;
    QSignalSpy done(window_->sweeps(), &entroscope::gui::SweepController::finished);
    Q_EMIT phase->sweepRequested(r);
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1, 120000);
    QVERIFY2(done.at(0).at(1).toString().isEmpty(), qPrintable(done.at(0).at(1).toString()));
    QVERIFY(!done.at(0).at(0).toBool());
    QTRY_VERIFY_WITH_TIMEOUT(phase->map().points().size() >= 2, 5000);
    int sweepPoints = 0;
    for (const auto& p : phase->map().points()) {
        if (p.source != entroscope::widgets::PhasePoint::Source::Sweep) continue;
        ++sweepPoints;
        QCOMPARE(p.model, ModelKind::Abp);
        QCOMPARE(p.phase.states, 2);
        QCOMPARE(p.evaluations, 2);
        QVERIFY2(std::isfinite(p.epr_active.mean) && p.epr_active.count > 0, p.note.c_str());
        QVERIFY(p.network_step > 0);  // the transferred network, not a fresh one
    }
    QCOMPARE(sweepPoints, 2);
    QVERIFY(phase->shownPoints() >= 2);
    // A second request while none runs is accepted; a bad one says why.
    auto* list = phase->findChild<QLineEdit*>();
    QVERIFY(list);
    list->setText(QStringLiteral("0.3"));
    for (QPushButton* b : phase->findChildren<QPushButton*>()) {
        if (b->text() == QStringLiteral("Start sweep")) b->click();
    }
    QVERIFY(!window_->sweeps()->running());
    list->clear();
}

void TestMainWindow::thePhaseDiagramSavesAndOpensTables()
{
    auto* phase = window_->phaseDiagram();
    const std::size_t before = phase->map().points().size();
    QVERIFY(before >= 2);  // the sweep's
    QTemporaryDir dir;
    const QString table = dir.filePath(QStringLiteral("diagram.csv"));
    QVERIFY(window_->savePhaseTable(table));
    const auto rows = entroscope::read_sweep_table(table.toStdString());
    QCOMPARE(rows.size(), before);
    // Another sweep's table: its points join the diagram.
    auto other = rows;
    for (auto& r : other) r.result.pe += 1.0;
    const QString jsonl = dir.filePath(QStringLiteral("other.jsonl"));
    entroscope::write_file_atomically(jsonl.toStdString(), entroscope::sweep_table_text(jsonl.toStdString(), other));
    QVERIFY(window_->openSweepTable(jsonl));
    QCOMPARE(phase->map().points().size(), 2 * before);
    // Not a table: said, and nothing lost.
    const QString bad = dir.filePath(QStringLiteral("bad.csv"));
    entroscope::write_file_atomically(bad.toStdString(), "not,a,table\n");
    QVERIFY(!window_->openSweepTable(bad));
    auto* error = window_->findChild<QLabel*>("errorLabel");
    QVERIFY2(error->text().contains(QStringLiteral("bad.csv")), qPrintable(error->text()));
    QCOMPARE(phase->map().points().size(), 2 * before);
    QVERIFY(!window_->savePhaseTable(dir.filePath(QStringLiteral("no/such/folder/t.csv"))));
}

void TestMainWindow::aPointOfThePhaseDiagramMovesTheSliders()
{
    window_->goToPoint(0.45, 120.0);
    QTRY_VERIFY_WITH_TIMEOUT(std::abs(latest()->config.phi - 0.45) < 1e-12 && std::abs(latest()->config.peclet() - 120.0) < 1e-9,
                             20000);
    QVERIFY(std::abs(window_->panel()->packingFraction() - 0.45) < 1e-9);
    QVERIFY(std::abs(window_->panel()->peclet() - 120.0) < 0.05);
    QVERIFY(latest()->running);
}

void TestMainWindow::aSweepPointResumesItsStateWithTheRunningNetwork()
{
    auto* phase = window_->phaseDiagram();
    std::size_t index = phase->map().points().size();
    for (std::size_t i = 0; i < phase->map().points().size(); ++i) {
        const auto& p = phase->map().points()[i];
        if (p.source == entroscope::widgets::PhasePoint::Source::Sweep && p.resumable()) index = i;
    }
    QVERIFY2(index < phase->map().points().size(), "no resumable sweep point (the sweep test runs first)");
    const auto point = phase->map().points()[index];
    QVERIFY(phase->tooltip(index).contains(QStringLiteral("resume")));
    const auto before = latest();
    QTRY_VERIFY_WITH_TIMEOUT(latest()->training.network_steps > 0, 20000);
    const std::uint64_t steps = latest()->training.network_steps;
    QSignalSpy spy(phase, &entroscope::widgets::PhaseDiagram::pointResumeRequested);
    Q_EMIT phase->pointResumeRequested(index);  // as a click on the point does
    QTRY_VERIFY_WITH_TIMEOUT(latest()->system_generation > before->system_generation, 20000);
    const auto resumed = latest();
    QCOMPARE(resumed->config.phi, point.phi);
    QVERIFY(std::abs(resumed->config.peclet() - point.pe) < 1e-9);
    QCOMPARE(resumed->state->n(), point.n);
    // It goes on from the sweep's last state, not from a new initial one.
    QVERIFY(resumed->state->step >= point.state->step);
    QVERIFY(resumed->state->time >= point.state->time);
    // The running network came along: loaded after the reset, not the
    // shipped one or a fresh one.
    QTRY_VERIFY_WITH_TIMEOUT(QString::fromStdString(latest()->training.source).contains(QStringLiteral("resume-network.pt")), 20000);
    QVERIFY(latest()->training.network_steps >= steps);
    QTRY_VERIFY_WITH_TIMEOUT(latest()->running, 10000);
}

void TestMainWindow::choosingAoupRebuildsWithThePaperDefaults()
{
    auto* combo = window_->panel()->findChild<QComboBox*>("modelCombo");
    QVERIFY(combo);
    const auto before = latest()->system_generation;
    combo->setCurrentIndex(0);  // AOUP
    QTRY_VERIFY_WITH_TIMEOUT(latest()->system_generation > before, 20000);
    const auto snap = latest();
    const Config aoup = entroscope::default_config(ModelKind::Aoup);
    QCOMPARE(snap->config.model, ModelKind::Aoup);
    QCOMPARE(snap->config.n, aoup.n);
    QCOMPARE(snap->state->active_dim(), 2);
    QVERIFY(std::abs(snap->config.peclet() - 125.0) < 1e-6);
    // The panel shows the new system's parameters.
    QVERIFY(std::abs(window_->panel()->packingFraction() - aoup.phi) < 1e-9);
    QVERIFY(std::abs(window_->panel()->peclet() - aoup.peclet()) < 0.05);
    QTRY_VERIFY_WITH_TIMEOUT(latest()->state->step > 0, 20000);
}

void TestMainWindow::cleanupTestCase() { window_.reset(); }

int main(int argc, char** argv)
{
    // VTK's format must be the default before the application exists.
    QSurfaceFormat::setDefaultFormat(entroscope::widgets::VtkView::defaultFormat());
    QApplication app(argc, argv);
    TestMainWindow test;
    return QTest::qExec(&test, argc, argv);
}

#include "TestMainWindow.moc"

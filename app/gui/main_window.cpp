#include "app/gui/main_window.hpp"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QDockWidget>
#include <QFileDialog>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QPainter>
#include <QScrollArea>
#include <QLocale>
#include <QSignalBlocker>
#include <QStatusBar>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "app/gui/simulation_worker.hpp"
#include "entroscope/core/errors.hpp"
#include "render/particle_scene.hpp"
#include "widgets/entropy_panel.hpp"
#include "widgets/parameter_panel.hpp"
#include "widgets/vtk_view.hpp"

namespace entroscope::gui {

namespace {

QString formatRate(double perSecond)
{
    if (perSecond >= 1e6) {
        return QString::number(perSecond / 1e6, 'f', 2) + QStringLiteral(" M");
    }
    if (perSecond >= 1e3) {
        return QString::number(perSecond / 1e3, 'f', 1) + QStringLiteral(" k");
    }
    return QString::number(perSecond, 'f', 0) + QStringLiteral(" ");
}

// Robust top of a colour range: the 99th percentile, so a few extreme
// particles do not wash out the rest of the map.
double percentile99(std::vector<float> v)
{
    v.erase(std::remove_if(v.begin(), v.end(), [](float x) { return !std::isfinite(x); }), v.end());
    if (v.empty()) {
        return 1.0;
    }
    const auto k = static_cast<std::size_t>(0.99 * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    double hi = v[k];
    if (!(hi > 0.0)) {
        hi = *std::max_element(v.begin(), v.end());
    }
    return hi > 0.0 ? hi : 1.0;
}

widgets::EntropyReadout readout(const LearnedEstimate& e)
{
    widgets::EntropyReadout r;
    r.model = e.model;
    r.n = e.n;
    r.evaluations = e.evaluations;
    r.epr = e.eprActive.mean;
    r.eprSe = e.eprActive.se;
    r.eprDiv = e.eprActiveDiv.mean;
    r.eprDivSe = e.eprActiveDiv.se;
    r.gap = e.gap.mean;
    r.gapSe = e.gap.se;
    r.xPart = e.xPart == XPart::Finite       ? widgets::EntropyReadout::XPart::Finite
              : e.xPart == XPart::Infinite   ? widgets::EntropyReadout::XPart::Infinite
                                             : widgets::EntropyReadout::XPart::Unavailable;
    r.eprX = e.eprX.mean;
    r.eprXSe = e.eprX.se;
    r.eprExact = e.eprActiveExact.mean;
    r.eprExactSe = e.eprActiveExact.se;
    r.evaluatedAtTrainingStep = e.evaluatedAtTrainingStep;
    r.evaluatedAtTime = e.evaluatedAtTime;
    r.evaluationSeconds = e.evaluationSeconds;
    r.trainingSteps = e.trainingSteps;
    r.stepsPerSecond = e.stepsPerSecond;
    r.loss = e.recentLoss;
    r.batch = e.batch;
    r.source = QString::fromStdString(e.source);
    r.message = QString::fromStdString(e.message);
    r.failed = e.failed;
    return r;
}

std::string caption(const Snapshot& s, bool sigmaColours)
{
    const Config& c = s.config;
    const char* model = c.model == ModelKind::Aoup ? "AOUP" : "ABP";
    const char* phi = render::ParticleScene::unicodeText() ? "\xCF\x86" : "phi";
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%s    N = %d    %s = %.3f%s    Pe = %.1f    L = %.1f\nt = %.6g    (%llu steps)", model,
                  c.n, phi, c.phi, c.model == ModelKind::Aoup ? " (nominal)" : "", c.peclet(), s.state->box,
                  s.state->time, static_cast<unsigned long long>(s.state->step));
    std::string text = buf;
    if (sigmaColours) {
        const LearnedEstimate* e = s.learned.get();
        if (e && !e->sigma.empty()) {
            std::snprintf(buf, sizeof buf, "\ncolour: learned sigma_i at t = %.6g (training step %llu)",
                          e->evaluatedAtTime, static_cast<unsigned long long>(e->evaluatedAtTrainingStep));
            text += buf;
            if (render::ParticleScene::unicodeText()) {
                text.replace(text.find("sigma_i"), 7, "\xCF\x83\xE1\xB5\xA2");  // σᵢ
            }
        } else {
            text += "\ncolour: learned sigma_i (waiting for the first estimate)";
        }
    }
    return text;
}

}  // namespace

WorkerOptions MainWindow::defaultWorkerOptions()
{
    WorkerOptions opt;
    opt.training = true;
    opt.trainer.torchThreads = 1;
#ifdef ENTROSCOPE_RESOURCE_DIR
    opt.trainer.pretrainedPath = std::string(ENTROSCOPE_RESOURCE_DIR) + "/models/default_fast.pt";
#endif
    if (const char* env = std::getenv("ENTROSCOPE_PRETRAINED")) {
        opt.trainer.pretrainedPath = env;
    }
    return opt;
}

MainWindow::MainWindow(const Config& cfg, QWidget* parent) : MainWindow(cfg, defaultWorkerOptions(), parent) {}

MainWindow::MainWindow(const Config& cfg, const WorkerOptions& opt, QWidget* parent)
    : QMainWindow(parent), base_(cfg), trainingEnabled_(opt.training)
{
    setWindowTitle(tr("Entroscope — active matter"));
    resize(1440, 900);

    view_ = new widgets::VtkView(this);
    view_->setObjectName("particleView");
    scene_ = std::make_unique<render::ParticleScene>();
    view_->addRenderer(scene_->renderer());
    view_->setInteractorStyle(scene_->interactorStyle());
    setCentralWidget(view_);

    panel_ = new widgets::ParameterPanel(this);
    panel_->setObjectName("parameterPanel");
    panel_->setConfig(cfg);
    entropy_ = new widgets::EntropyPanel(this);
    entropy_->setObjectName("entropyPanel");
    auto* side = new QWidget(this);
    auto* sideLay = new QVBoxLayout(side);
    sideLay->setContentsMargins(0, 0, 0, 0);
    sideLay->addWidget(panel_);
    sideLay->addWidget(entropy_);
    sideLay->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(side);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumWidth(380);
    auto* dock = new QDockWidget(tr("Simulation"), this);
    dock->setObjectName("parameterDock");
    dock->setWidget(scroll);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    addDockWidget(Qt::RightDockWidgetArea, dock);

    timeLabel_ = new QLabel(this);
    stepLabel_ = new QLabel(this);
    rateLabel_ = new QLabel(this);
    fpsLabel_ = new QLabel(this);
    fpsLabel_->setMinimumWidth(90);
    errorLabel_ = new QLabel(this);
    errorLabel_->setObjectName("errorLabel");
    errorLabel_->setStyleSheet(QStringLiteral("color: #d33;"));
    noteLabel_ = new QLabel(this);
    noteLabel_->setObjectName("noteLabel");
    noteLabel_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    trainLabel_ = new QLabel(this);
    trainLabel_->setObjectName("trainLabel");
    for (QLabel* l : {timeLabel_, stepLabel_, rateLabel_}) {
        l->setMinimumWidth(150);
    }
    rateLabel_->setMinimumWidth(320);
    trainLabel_->setMinimumWidth(200);
    statusBar()->addWidget(errorLabel_, 1);
    statusBar()->addWidget(noteLabel_, 2);
    statusBar()->addPermanentWidget(timeLabel_);
    statusBar()->addPermanentWidget(stepLabel_);
    statusBar()->addPermanentWidget(rateLabel_);
    statusBar()->addPermanentWidget(trainLabel_);
    statusBar()->addPermanentWidget(fpsLabel_);

    sim_ = new SimulationController(this, opt);
    connect(sim_, &SimulationController::errorOccurred, this, &MainWindow::showError);
    connect(sim_, &SimulationController::networkFileDone, this, [this](bool saved, const QString& path, const QString& error) {
        if (!error.isEmpty()) {
            showError((saved ? tr("Cannot save the network: %1") : tr("Cannot load the network: %1")).arg(error));
        } else {
            errorLabel_->clear();
            statusBar()->showMessage((saved ? tr("Saved the score network to %1") : tr("Loaded the score network from %1")).arg(path),
                                     8000);
        }
    });
    connect(sim_, &SimulationController::runningChanged, panel_, &widgets::ParameterPanel::setRunning);

    connect(panel_, &widgets::ParameterPanel::packingFractionChanged, sim_,
            &SimulationController::setPackingFraction);
    connect(panel_, &widgets::ParameterPanel::pecletChanged, sim_, &SimulationController::setPeclet);
    connect(panel_, &widgets::ParameterPanel::runToggled, sim_, &SimulationController::setRunning);
    connect(panel_, &widgets::ParameterPanel::stepRequested, sim_, &SimulationController::step);
    connect(panel_, &widgets::ParameterPanel::systemChanged, this, &MainWindow::rebuildFromPanel);
    connect(panel_, &widgets::ParameterPanel::resetRequested, this, &MainWindow::rebuildFromPanel);
    connect(panel_, &widgets::ParameterPanel::modelChanged, this, &MainWindow::switchModel);
    connect(entropy_, &widgets::EntropyPanel::colourByChanged, this, &MainWindow::setColourBy);
    if (!trainingEnabled_) {
        widgets::EntropyReadout off;
        off.trainingEnabled = false;
        off.model = cfg.model;
        entropy_->setReadout(off);
        trainLabel_->setText(tr("training off"));
    }

    buildMenus();

    displayTimer_.setInterval(33);
    connect(&displayTimer_, &QTimer::timeout, this, &MainWindow::refreshDisplay);
    displayTimer_.start();

    // Display rate: frames the view actually presented, per second.
    connect(view_, &QOpenGLWidget::frameSwapped, this, [this] { ++framesSinceTick_; });
    fpsTimer_.setInterval(1000);
    connect(&fpsTimer_, &QTimer::timeout, this, [this] {
        fpsLabel_->setText(tr("%1 fps").arg(framesSinceTick_));
        framesSinceTick_ = 0;
    });
    fpsTimer_.start();

    sim_->reset(cfg);
    sim_->setRunning(true);
}

MainWindow::~MainWindow()
{
    displayTimer_.stop();
    // Stop the worker first, then the view (and its GL resources) while the
    // scene it renders still exists.
    delete sim_;
    sim_ = nullptr;
    delete view_;
    view_ = nullptr;
}

void MainWindow::buildMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* shot = file->addAction(tr("Save &screenshot…"));
    shot->setShortcut(QKeySequence(tr("Ctrl+Shift+S")));
    connect(shot, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save screenshot"), QStringLiteral("entroscope.png"),
                                                          tr("PNG images (*.png)"));
        if (!path.isEmpty() && !saveScreenshot(path)) {
            showError(tr("Cannot write %1").arg(path));
        }
    });
    file->addSeparator();
    // The online network: keep what was learned, or start from another run's
    // (a checkpoint of `entroscope-cli train` that fits the running system).
    QAction* saveNet = file->addAction(tr("Save score &network…"));
    connect(saveNet, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save score network"), QStringLiteral("entroscope_network.pt"),
                                                          tr("Score network checkpoints (*.pt)"));
        if (!path.isEmpty()) {
            sim_->saveNetwork(path);
        }
    });
    QAction* loadNet = file->addAction(tr("&Load score network…"));
    connect(loadNet, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Load score network"), QString(),
                                                          tr("Score network checkpoints (*.pt)"));
        if (!path.isEmpty()) {
            sim_->loadNetwork(path);
        }
    });
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"));
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);

    QMenu* viewMenu = menuBar()->addMenu(tr("&View"));
    QAction* fit = viewMenu->addAction(tr("&Fit box"));
    fit->setShortcut(QKeySequence(tr("R")));
    connect(fit, &QAction::triggered, this, [this] {
        scene_->requestFit();
        view_->update();
    });
    viewMenu->addSeparator();
    colourActions_ = new QActionGroup(this);
    colourActions_->setExclusive(true);
    const std::pair<ColourBy, QString> choices[] = {
        {ColourBy::ActiveAngle, tr("Colour by &active angle")},
        {ColourBy::LocalEntropyProduction, tr("Colour by local &entropy production σᵢ")},
    };
    int key = 1;
    for (const auto& [mode, text] : choices) {
        QAction* a = viewMenu->addAction(text);
        a->setCheckable(true);
        a->setChecked(mode == colourBy_);
        a->setData(static_cast<int>(mode));
        a->setShortcut(QKeySequence(QStringLiteral("Ctrl+%1").arg(key++)));
        colourActions_->addAction(a);
        connect(a, &QAction::triggered, this, [this, m = mode] { setColourBy(m); });
    }
}

void MainWindow::setColourBy(ColourBy c)
{
    colourBy_ = c;
    entropy_->setColourBy(c);
    for (QAction* a : colourActions_->actions()) {
        const QSignalBlocker block(a);
        a->setChecked(a->data().toInt() == static_cast<int>(c));
    }
    colourDirty_ = true;
    if (shown_) {
        applyColouring(*shown_);
        scene_->update(*shown_->state, render::particle_radius(shown_->config));
        scene_->setCaption(caption(*shown_, colourBy_ == ColourBy::LocalEntropyProduction));
        view_->update();
    }
}

void MainWindow::applyColouring(const Snapshot& snap)
{
    if (colourBy_ == ColourBy::ActiveAngle) {
        scene_->colourByActiveAngle();
        colouredFrom_.reset();
        colourDirty_ = false;
        return;
    }
    const auto& learned = snap.learned;
    if (!colourDirty_ && learned == colouredFrom_) {
        return;
    }
    // sigma changes only at an evaluation; republished counters share it.
    if (!colourDirty_ && learned && colouredFrom_ && learned->sigma.size() == colouredFrom_->sigma.size() &&
        learned->evaluatedAtTrainingStep == colouredFrom_->evaluatedAtTrainingStep &&
        learned->modelGeneration == colouredFrom_->modelGeneration &&
        learned->evaluatedAtSimStep == colouredFrom_->evaluatedAtSimStep) {
        colouredFrom_ = learned;
        return;
    }
    const bool greek = render::ParticleScene::unicodeText();
    const std::string title = greek ? "\xCF\x83\xE1\xB5\xA2 (learned)" : "sigma_i (learned)";
    std::vector<float> values;
    if (learned && static_cast<int>(learned->sigma.size()) == snap.state->n()) {
        values.assign(learned->sigma.begin(), learned->sigma.end());
    }
    const double hi = values.empty() ? 1.0 : percentile99(values);
    scene_->colourByScalar(std::move(values), 0.0, hi, title);
    colouredFrom_ = learned;
    colourDirty_ = false;
}

void MainWindow::showLearned(const Snapshot& snap)
{
    if (snap.learned == shownLearned_) {
        return;
    }
    shownLearned_ = snap.learned;
    if (!snap.learned) {
        widgets::EntropyReadout r;
        r.trainingEnabled = trainingEnabled_;
        r.model = snap.config.model;
        entropy_->setReadout(r);
        trainLabel_->setText(trainingEnabled_ ? QString() : tr("training off"));
        return;
    }
    const LearnedEstimate& e = *snap.learned;
    entropy_->setReadout(readout(e));
    if (e.failed) {
        trainLabel_->setText(tr("training stopped"));
    } else {
        trainLabel_->setText(tr("training: %1 steps · %2/s")
                                 .arg(QLocale().toString(static_cast<qulonglong>(e.trainingSteps)))
                                 .arg(e.stepsPerSecond, 0, 'f', 1));
    }
    const QString message = QString::fromStdString(e.message);
    if (message != lastTrainerMessage_) {
        lastTrainerMessage_ = message;
        if (e.failed) {
            showError(message);
        } else {
            // The status bar is narrow: drop the parenthesised reason there
            // (the side panel and the tooltip have it all).
            QString brief = message;
            const int open = brief.indexOf(QStringLiteral(" ("));
            const int close = brief.lastIndexOf(QStringLiteral(")"));
            if (open > 0 && close > open) {
                brief.remove(open, close - open + 1);
            }
            noteLabel_->setText(brief);
            noteLabel_->setToolTip(message);
        }
    }
}

void MainWindow::rebuildFromPanel()
{
    try {
        Config cfg = base_;
        if (cfg.n != panel_->particleCount()) {
            cfg.n = panel_->particleCount();
            // Per-particle data of the old system does not carry over.
            cfg.types.clear();
            cfg.springs.clear();
        }
        cfg.seed = panel_->seed();
        cfg.phi = panel_->packingFraction();
        cfg.box_given = false;
        cfg.v0 = cfg.v0_for_peclet(panel_->peclet());
        cfg.finalize();
        base_ = cfg;
        errorLabel_->clear();
        sim_->reset(cfg);
    } catch (const Error& e) {
        showError(tr("Invalid parameters: %1").arg(QString::fromUtf8(e.what())));
    }
}

void MainWindow::switchModel(ModelKind model)
{
    base_ = default_config(model);
    panel_->setConfig(base_);
    errorLabel_->clear();
    sim_->reset(base_);
}

void MainWindow::showError(const QString& message)
{
    errorLabel_->setText(QStringLiteral("⚠ ") + message);
    std::fprintf(stderr, "entroscope: %s\n", message.toLocal8Bit().constData());
}

void MainWindow::refreshDisplay()
{
    auto snap = sim_ && view_ ? sim_->latest() : nullptr;
    if (!snap || snap == shown_) {
        return;
    }
    if (!shown_ || snap->generation != shown_->generation) {
        scene_->requestFit();
    }
    shown_ = snap;
    applyColouring(*snap);
    scene_->update(*snap->state, render::particle_radius(snap->config));
    scene_->setCaption(caption(*snap, colourBy_ == ColourBy::LocalEntropyProduction));
    showLearned(*snap);
    view_->update();

    const State& s = *snap->state;
    timeLabel_->setText(tr("t = %1").arg(s.time, 0, 'g', 6));
    stepLabel_->setText(tr("step %1").arg(QLocale().toString(static_cast<qulonglong>(s.step))));
    if (snap->running) {
        rateLabel_->setText(tr("%1steps/s · %2particle-steps/s")
                                .arg(formatRate(snap->stepsPerSecond),
                                     formatRate(snap->stepsPerSecond * s.n())));
    } else {
        rateLabel_->setText(tr("paused"));
    }
}

QImage MainWindow::grabWindowImage()
{
    refreshDisplay();
    QPixmap shot = grab();
    // QWidget::grab renders the GL child through its framebuffer as well, but
    // painting the read-back over it guarantees the VTK view is included.
    const QImage gl = view_->grabFramebuffer();
    QImage img = shot.toImage().convertToFormat(QImage::Format_RGB32);
    if (!gl.isNull()) {
        QPainter p(&img);
        const QPoint origin = view_->mapTo(this, QPoint(0, 0));
        p.drawImage(QRect(origin, view_->size()), gl);
    }
    return img;
}

bool MainWindow::saveScreenshot(const QString& path)
{
    return grabWindowImage().save(path, "PNG");
}

}  // namespace entroscope::gui

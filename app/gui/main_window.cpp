#include "app/gui/main_window.hpp"

#include <QAction>
#include <QActionGroup>
#include <QSplitter>
#include <QHBoxLayout>
#include <QDoubleSpinBox>
#include <QSpinBox>
#include <QApplication>
#include <QDockWidget>
#include <QFileDialog>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QPainter>
#include <QPushButton>
#include <QScrollArea>
#include <QLocale>
#include <QSignalBlocker>
#include <QStatusBar>
#include <QThread>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "app/gui/session_controller.hpp"
#include "entroscope/core/errors.hpp"
#include "render/colour_rules.hpp"
#include "render/particle_scene.hpp"
#include "widgets/entropy_panel.hpp"
#include "widgets/parameter_panel.hpp"
#include "widgets/phase_diagram.hpp"
#include "widgets/plot_panel.hpp"
#include "app/gui/sweep_controller.hpp"
#include <QTemporaryDir>
#include <QFileInfo>
#include "entroscope/core/atomic_file.hpp"
#include "entroscope/io/sweep_table.hpp"
#include "widgets/vtk_view.hpp"
#include "render/field_scene.hpp"
#include "app/gui/figure_export.hpp"
#include "app/gui/movie_recorder.hpp"
#include "app/gui/cli_job.hpp"
#include "widgets/figure_dialog.hpp"

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

}  // namespace

void MainWindow::applyPreference(LiveOptions& opt, Preference p)
{
    // On a machine with few cores the display, the simulation and the
    // learner compete; the one preferred keeps normal priority, the others
    // run niced and take what is left.
    switch (p) {
    case Preference::Training:
        opt.sim_nice = 10;
        opt.train_nice = 0;
        break;
    case Preference::Simulation:
        opt.sim_nice = 0;
        opt.train_nice = 10;
        break;
    case Preference::Display:
        opt.sim_nice = 10;
        opt.train_nice = 10;
        break;
    }
}

LiveOptions MainWindow::defaultLiveOptions()
{
    LiveOptions opt;
    opt.session.training = true;
    // Leave a core for the GUI thread and the (software) renderer.
    opt.sim_threads = std::max(1, QThread::idealThreadCount() - 1);
    opt.train_threads = 1;
    // A new state about every 20 ms, so that a display polling at 60 Hz
    // shows motion at more than 30 distinct pictures per second.
    opt.chunk_seconds = 0.02;
    applyPreference(opt, Preference::Training);
#ifdef ENTROSCOPE_RESOURCE_DIR
    opt.session.pretrained_path = std::string(ENTROSCOPE_RESOURCE_DIR) + "/models/default_fast.pt";
#endif
    if (const char* env = std::getenv("ENTROSCOPE_PRETRAINED")) {
        opt.session.pretrained_path = env;
    }
    return opt;
}

MainWindow::MainWindow(const Config& cfg, QWidget* parent) : MainWindow(cfg, defaultLiveOptions(), parent) {}

MainWindow::MainWindow(const Config& cfg, const LiveOptions& opt, QWidget* parent)
    : QMainWindow(parent), base_(cfg), trainingEnabled_(opt.session.training)
{
    setWindowTitle(tr("Entroscope — active matter"));
    resize(1440, 900);

    view_ = new widgets::VtkView(this);
    view_->setObjectName("particleView");
    scene_ = std::make_unique<render::ParticleScene>();
    view_->addRenderer(scene_->renderer());
    view_->setInteractorStyle(scene_->interactorStyle());
    // The field view beside the particle view; each has its own camera.
    fieldView_ = new widgets::VtkView(this);
    fieldView_->setObjectName("fieldView");
    fieldScene_ = std::make_unique<render::FieldScene>();
    fieldView_->addRenderer(fieldScene_->renderer());
    fieldView_->setInteractorStyle(fieldScene_->interactorStyle());
    // Above the field view: its grid and kernel width (SPEC §2: a Gaussian
    // kernel average, sparse cells masked).
    fieldPane_ = new QWidget(this);
    auto* paneLay = new QVBoxLayout(fieldPane_);
    paneLay->setContentsMargins(0, 0, 0, 0);
    paneLay->setSpacing(2);
    auto* controls = new QHBoxLayout;
    controls->setContentsMargins(6, 2, 6, 2);
    fieldBins_ = new QSpinBox(fieldPane_);
    fieldBins_->setObjectName("fieldBins");
    fieldBins_->setRange(8, 256);
    fieldBins_->setValue(64);
    fieldBins_->setSuffix(tr(" cells"));
    fieldBins_->setKeyboardTracking(false);
    fieldWidth_ = new QDoubleSpinBox(fieldPane_);
    fieldWidth_->setObjectName("fieldWidth");
    fieldWidth_->setRange(0.25, 20.0);
    fieldWidth_->setDecimals(2);
    fieldWidth_->setSingleStep(0.25);
    fieldWidth_->setValue(cfg.model == ModelKind::Abp ? cfg.sigma : 2.0 * cfg.r0);
    fieldWidth_->setKeyboardTracking(false);
    controls->addWidget(new QLabel(tr("Field grid"), fieldPane_));
    controls->addWidget(fieldBins_);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("kernel width w"), fieldPane_));
    controls->addWidget(fieldWidth_);
    controls->addStretch(1);
    paneLay->addLayout(controls);
    paneLay->addWidget(fieldView_, 1);
    connect(fieldBins_, qOverload<int>(&QSpinBox::valueChanged), this, &MainWindow::applyFieldSettings);
    connect(fieldWidth_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &MainWindow::applyFieldSettings);
    auto* views = new QSplitter(Qt::Horizontal, this);
    views->addWidget(view_);
    views->addWidget(fieldPane_);
    views->setStretchFactor(0, 3);
    views->setStretchFactor(1, 2);
    views->setSizes({600, 400});
    views->setChildrenCollapsible(false);
    setCentralWidget(views);

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

    // The live plots under the views.
    plots_ = new widgets::PlotPanel(this);
    plots_->setObjectName("plotPanel");
    plotDock_ = new QDockWidget(tr("Plots"), this);
    plotDock_->setObjectName("plotDock");
    plotDock_->setWidget(plots_);
    plotDock_->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                           QDockWidget::DockWidgetClosable);
    addDockWidget(Qt::BottomDockWidgetArea, plotDock_);
    // The phase-diagram explorer: a tab beside the plots.
    phase_ = new widgets::PhaseDiagram(this);
    phase_->setObjectName("phaseDiagram");
    phaseDock_ = new QDockWidget(tr("Phase diagram"), this);
    phaseDock_->setObjectName("phaseDock");
    phaseDock_->setWidget(phase_);
    phaseDock_->setFeatures(plotDock_->features());
    addDockWidget(Qt::BottomDockWidgetArea, phaseDock_);
    tabifyDockWidget(plotDock_, phaseDock_);
    plotDock_->raise();
    resizeDocks({plotDock_}, {270}, Qt::Vertical);
    sweeps_ = new SweepController(this);

    timeLabel_ = new QLabel(this);
    stepLabel_ = new QLabel(this);
    rateLabel_ = new QLabel(this);
    fpsLabel_ = new QLabel(this);
    fpsLabel_->setMinimumWidth(90);
    errorLabel_ = new QLabel(this);
    errorLabel_->setObjectName("errorLabel");
    errorLabel_->setStyleSheet(QStringLiteral("color: #d33;"));
    // After a blow-up the frame says which dt fixes it; one click takes it
    // and resumes from the kept state.
    fixButton_ = new QPushButton(this);
    fixButton_->setObjectName("fixTimeStepButton");
    fixButton_->setToolTip(tr("Set the smaller time step and go on from the last good state (kept)"));
    fixButton_->hide();
    connect(fixButton_, &QPushButton::clicked, this, [this] {
        if (!(fixDt_ > 0.0)) {
            return;
        }
        sim_->setTimeStep(fixDt_);
        sim_->setRunning(true);
        if (statusFrom_) {
            fixTaken_ = true;
            fixGeneration_ = statusFrom_->system_generation;
            fixTag_ = statusFrom_->physics_tag;
        }
        // A reset keeps the step the user took.
        base_.dt = fixDt_;
        base_.dt_auto = false;
        panel_->setTimeStep(fixDt_);
        errorLabel_->clear();
        fixButton_->hide();
        fixDt_ = 0.0;
    });
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
    statusBar()->addWidget(fixButton_);
    statusBar()->addWidget(noteLabel_, 2);
    statusBar()->addPermanentWidget(timeLabel_);
    statusBar()->addPermanentWidget(stepLabel_);
    statusBar()->addPermanentWidget(rateLabel_);
    statusBar()->addPermanentWidget(trainLabel_);
    statusBar()->addPermanentWidget(fpsLabel_);

    LiveOptions live = opt;
    live.running = true;
    sim_ = new SessionController(cfg, live, this);
    connect(sim_, &SessionController::networkFileDone, this, [this](bool saved, const QString& path, const QString& error) {
        if (!error.isEmpty()) {
            showError((saved ? tr("Cannot save the network: %1") : tr("Cannot load the network: %1")).arg(error));
        } else {
            errorLabel_->clear();
            statusBar()->showMessage((saved ? tr("Saved the score network to %1") : tr("Loaded the score network from %1")).arg(path),
                                     8000);
        }
    });
    connect(sim_, &SessionController::runningChanged, panel_, &widgets::ParameterPanel::setRunning);

    connect(panel_, &widgets::ParameterPanel::packingFractionChanged, sim_, &SessionController::setPackingFraction);
    connect(panel_, &widgets::ParameterPanel::pecletChanged, sim_, &SessionController::setPeclet);
    connect(panel_, &widgets::ParameterPanel::runToggled, sim_, &SessionController::setRunning);
    connect(panel_, &widgets::ParameterPanel::timeStepChanged, sim_, &SessionController::setTimeStep);
    connect(panel_, &widgets::ParameterPanel::stepRequested, sim_, &SessionController::step);
    connect(panel_, &widgets::ParameterPanel::systemChanged, this, &MainWindow::rebuildFromPanel);
    connect(panel_, &widgets::ParameterPanel::resetRequested, this, &MainWindow::rebuildFromPanel);
    connect(panel_, &widgets::ParameterPanel::modelChanged, this, &MainWindow::switchModel);
    connect(entropy_, &widgets::EntropyPanel::colourByChanged, this, &MainWindow::setColourBy);
    connect(phase_, &widgets::PhaseDiagram::sweepRequested, this, &MainWindow::startSweep);
    connect(phase_, &widgets::PhaseDiagram::sweepCancelRequested, sweeps_, &SweepController::cancel);
    connect(phase_, &widgets::PhaseDiagram::pointActivated, this, &MainWindow::goToPoint);
    connect(sweeps_, &SweepController::pointFinished, phase_, &widgets::PhaseDiagram::addSweepPoint);
    connect(phase_, &widgets::PhaseDiagram::pointResumeRequested, this, &MainWindow::resumePoint);
    connect(sweeps_, &SweepController::progress, phase_, &widgets::PhaseDiagram::setSweepProgress);
    connect(sweeps_, &SweepController::finished, this, [this](bool cancelled, const QString& error) {
        phase_->setSweepRunning(false);
        if (!error.isEmpty()) {
            phase_->setSweepMessage(tr("The sweep stopped: %1").arg(error));
        } else {
            phase_->setSweepMessage(cancelled ? tr("Sweep cancelled; the finished points are kept.") : tr("Sweep finished."));
        }
    });
    connect(entropy_, &widgets::EntropyPanel::rangeRuleChanged, this, [this] {
        shown_.reset();  // the same frame on the new range
        refreshDisplay();
    });
    if (!trainingEnabled_) {
        trainLabel_->setText(tr("training off"));
    }

    buildMenus();

    displayTimer_.setInterval(16);
    displayTimer_.setTimerType(Qt::PreciseTimer);
    connect(&displayTimer_, &QTimer::timeout, this, &MainWindow::refreshDisplay);
    displayTimer_.start();

    // Display rate: frames the view actually presented, per second.
    connect(view_, &widgets::VtkView::frameSwapped, this, [this] {
        ++framesSinceTick_;
        ++framesPresented_;
    });
    fpsTimer_.setInterval(1000);
    connect(&fpsTimer_, &QTimer::timeout, this, [this] {
        fpsLabel_->setText(tr("%1 fps").arg(framesSinceTick_));
        framesSinceTick_ = 0;
    });
    fpsTimer_.start();
    sinceBuilt_.start();
    panel_->setRunning(true);
}

void MainWindow::startSweep(const widgets::SweepRequest& r)
{
    const auto newest = sim_ ? sim_->latest() : nullptr;
    if (!newest) {
        phase_->setSweepMessage(tr("Cannot start the sweep: no system is running."));
        return;
    }
    if (sweeps_->running()) {
        phase_->setSweepMessage(tr("A sweep is running; cancel it first."));
        return;
    }
    Config base = newest->config;
    if (r.n > 0 && r.n != base.n) {
        if (!base.types.empty()) {
            phase_->setSweepMessage(tr("Cannot start the sweep: this system has particle types for N = %1; sweep it at "
                                       "its own N (0).").arg(base.n));
            return;
        }
        base.n = r.n;
    }
    SweepOptions opt = r.options;
    const std::vector<SweepPoint> points = r.points;
    const int threads = r.threads;
    const auto launch = [this, base, points, threads](SweepOptions o) {
        if (!sweeps_->start(base, points, o, threads)) return;
        phase_->setSweepRunning(true);
        phase_->setSweepMessage(tr("Sweeping %1 point(s) of N = %2 on %3 thread(s); the live run shares the cores.")
                                    .arg(points.size())
                                    .arg(base.n)
                                    .arg(threads));
    };
    if (r.network == widgets::SweepRequest::Network::None) {
        launch(opt);
        return;
    }
    const bool haveNetwork = newest->training.model_generation > 0 && trainingEnabled_;
    if (!haveNetwork) {
        if (r.network == widgets::SweepRequest::Network::Transfer) {
            phase_->setSweepMessage(tr("Cannot transfer a network: none is running. Train one at each point, or sweep "
                                       "the phase only."));
            return;
        }
        launch(opt);  // a fresh network at each point
        return;
    }
    // The running network, as it is now, goes to every point.
    if (!sweepDir_) sweepDir_ = std::make_unique<QTemporaryDir>();
    const QString path = sweepDir_->filePath(QStringLiteral("sweep-network.pt"));
    phase_->setSweepMessage(tr("Saving the running network for the sweep…"));
    sim_->session().save_model(path.toStdString(), [this, path, opt, launch](const std::string& error) mutable {
        QMetaObject::invokeMethod(this, [this, path, opt, launch, error]() mutable {
            if (!error.empty()) {
                phase_->setSweepMessage(tr("Cannot save the network for the sweep: %1").arg(QString::fromStdString(error)));
                return;
            }
            opt.model_path = path.toStdString();
            launch(opt);
        }, Qt::QueuedConnection);
    });
}

bool MainWindow::openSweepTable(const QString& path)
{
    std::vector<SweepRow> rows;
    try {
        rows = read_sweep_table(path.toStdString());
    } catch (const std::exception& e) {
        showError(tr("Cannot open the sweep table: %1").arg(QString::fromUtf8(e.what())));
        return false;
    }
    int here = 0;
    const auto newest = sim_ ? sim_->latest() : nullptr;
    const ModelKind running = newest ? newest->config.model : base_.model;
    for (const SweepRow& r : rows) {
        phase_->addSweepResult(r.result, r.model, r.n);
        if (r.model == running) ++here;
    }
    phaseDock_->show();
    phaseDock_->raise();
    phase_->setSweepMessage(tr("Loaded %1 point(s) from %2; %3 of the running model are shown.")
                                .arg(rows.size())
                                .arg(QFileInfo(path).fileName())
                                .arg(here));
    return true;
}

bool MainWindow::savePhaseTable(const QString& path)
{
    std::vector<SweepRow> rows;
    const auto& pts = phase_->map().points();
    for (std::size_t i = 0; i < pts.size(); ++i) rows.push_back(SweepRow{i, widgets::to_sweep_result(pts[i]), pts[i].model, pts[i].n});
    try {
        write_file_atomically(path.toStdString(), sweep_table_text(path.toStdString(), rows));
    } catch (const std::exception& e) {
        showError(tr("Cannot save the phase-diagram table: %1").arg(QString::fromUtf8(e.what())));
        return false;
    }
    statusBar()->showMessage(tr("Saved %1 point(s) to %2").arg(rows.size()).arg(path), 8000);
    return true;
}

void MainWindow::resumePoint(std::size_t index)
{
    const auto& pts = phase_->map().points();
    if (index >= pts.size() || !pts[index].resumable()) return;
    const widgets::PhasePoint& p = pts[index];
    const auto newest = sim_ ? sim_->latest() : nullptr;
    // A new system from the point's state; the running network goes with
    // it (saved, then loaded after the reset: the commands run in order).
    const bool carryNetwork = newest && trainingEnabled_ && newest->training.model_generation > 0;
    QString path;
    if (carryNetwork) {
        if (!sweepDir_) sweepDir_ = std::make_unique<QTemporaryDir>();
        path = sweepDir_->filePath(QStringLiteral("resume-network.pt"));
        sim_->session().save_model(path.toStdString(), {});
    }
    sim_->session().reset(*p.config, p.state);
    if (carryNetwork) {
        sim_->session().load_model(path.toStdString(), [this](const std::string& error) {
            if (error.empty()) return;
            QMetaObject::invokeMethod(this, [this, e = QString::fromStdString(error)] {
                showError(tr("The resumed state runs with a fresh network: %1").arg(e));
            }, Qt::QueuedConnection);
        });
    }
    panel_->setConfig(*p.config);
    sim_->setRunning(true);
    statusBar()->showMessage(tr("Resumed the %1 state at φ = %2, Pe = %3 (N = %4, t = %5)")
                                 .arg(p.source == widgets::PhasePoint::Source::Live ? tr("live run's") : tr("sweep's"))
                                 .arg(p.phi, 0, 'f', 3)
                                 .arg(p.pe, 0, 'g', 4)
                                 .arg(p.n)
                                 .arg(p.state->time, 0, 'g', 5),
                             8000);
}

void MainWindow::goToPoint(double phi, double pe)
{
    const auto newest = sim_ ? sim_->latest() : nullptr;
    if (!newest) return;
    Config c = newest->config;
    c.phi = phi;
    try {
        c = c.with_peclet(pe);
    } catch (const std::exception& e) {
        showError(tr("Cannot go to Pe = %1: %2").arg(pe).arg(QString::fromUtf8(e.what())));
        return;
    }
    panel_->setConfig(c);
    sim_->setPackingFraction(phi);
    sim_->setPeclet(pe);
    sim_->setRunning(true);
    statusBar()->showMessage(tr("Moved to φ = %1, Pe = %2 (from the phase diagram)").arg(phi, 0, 'f', 3).arg(pe, 0, 'g', 4), 6000);
}

MainWindow::~MainWindow()
{
    displayTimer_.stop();
    // A background job is stopped (SIGINT: it removes what it started)
    // before the window's parts go away, and its finished() must not reach
    // a half-destroyed window. A recording is finished: closing the window
    // keeps the movie recorded so far.
    if (job_) {
        job_->disconnect(this);
        delete job_;
        job_ = nullptr;
    }
    if (recorder_) {
        try {
            recorder_->finish();
            std::fprintf(stderr, "entroscope: the recording was finished at exit: %s\n", recorder_->request().path.toLocal8Bit().constData());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "entroscope: the recording could not be finished at exit: %s\n", e.what());
        }
        recorder_.reset();
    }
    delete sweeps_;  // cancels and joins its worker
    sweeps_ = nullptr;
    // Stop the worker first, then the view (and its GL resources) while the
    // scene it renders still exists.
    delete sim_;
    sim_ = nullptr;
    delete view_;
    view_ = nullptr;
    delete fieldView_;
    fieldView_ = nullptr;
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
    buildExportUi(file);
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
    // Phase diagrams: a table of `entroscope-cli sweep` (batch runs) in, the
    // explorer's points out, in the same format.
    QAction* openTable = file->addAction(tr("&Open sweep table…"));
    connect(openTable, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open sweep table"), QString(),
                                                          tr("Sweep tables (*.csv *.jsonl *.json);;All files (*)"));
        if (!path.isEmpty()) openSweepTable(path);
    });
    QAction* saveTable = file->addAction(tr("Save &phase-diagram table…"));
    connect(saveTable, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save phase-diagram table"), QStringLiteral("phase_diagram.csv"),
                                                          tr("CSV (*.csv);;JSON lines (*.jsonl)"));
        if (!path.isEmpty()) savePhaseTable(path);
    });
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"));
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);

    QMenu* session = menuBar()->addMenu(tr("&Session"));
    // Pausing the learner gives its core to the simulation (and pausing the
    // simulation, the panel's Pause, gives it to the learner).
    trainAction_ = session->addAction(tr("&Train the score network"));
    trainAction_->setObjectName("trainAction");
    trainAction_->setCheckable(true);
    trainAction_->setChecked(trainingEnabled_);
    trainAction_->setEnabled(trainingEnabled_);
    trainAction_->setShortcut(QKeySequence(tr("Ctrl+T")));
    connect(trainAction_, &QAction::toggled, this, [this](bool on) {
        sim_->setTraining(on);
        statusBar()->showMessage(on ? tr("Training resumed") : tr("Training paused (evaluations go on)"), 4000);
    });

    QMenu* viewMenu = menuBar()->addMenu(tr("&View"));
    QAction* fit = viewMenu->addAction(tr("&Fit box"));
    fit->setShortcut(QKeySequence(tr("R")));
    connect(fit, &QAction::triggered, this, [this] {
        scene_->requestFit();
        view_->requestRender();
    });
    viewMenu->addSeparator();
    colourActions_ = new QActionGroup(this);
    colourActions_->setExclusive(true);
    const std::pair<ColourBy, QString> choices[] = {
        {ColourBy::ActiveAngle, tr("Colour by &active angle")},
        {ColourBy::LocalEntropyProduction, tr("Colour by local &entropy production σᵢ")},
        {ColourBy::DivergenceEstimator, tr("Colour by σᵢ, &divergence estimator")},
        {ColourBy::ActiveSpeed, tr("Colour by |v_act|")},
        {ColourBy::PositionSpeed, tr("Colour by |vₓ|")},
        {ColourBy::LocalDensity, tr("Colour by local de&nsity")},
        {ColourBy::ParticleType, tr("Colour by particle &type")},
    };
    QMenu* colourMenu = viewMenu->addMenu(tr("&Colour particles by"));
    int key = 1;
    for (const auto& [mode, text] : choices) {
        QAction* a = colourMenu->addAction(text);
        a->setCheckable(true);
        a->setChecked(mode == colourBy_);
        a->setData(static_cast<int>(mode));
        a->setShortcut(QKeySequence(QStringLiteral("Ctrl+%1").arg(key++)));
        colourActions_->addAction(a);
        connect(a, &QAction::triggered, this, [this, m = mode] { setColourBy(m); });
    }
    viewMenu->addSeparator();
    fieldActions_ = new QActionGroup(this);
    fieldActions_->setExclusive(true);
    const std::pair<FieldShown, QString> fields[] = {
        {FieldShown::LocalEpr, tr("Field: local &EPR density σ(r)")},
        {FieldShown::Density, tr("Field: &density ρ(r)")},
        {FieldShown::Current, tr("Field: &current |J(r)|")},
        {FieldShown::Off, tr("Field view &hidden")},
    };
    for (const auto& [mode, text] : fields) {
        QAction* a = viewMenu->addAction(text);
        a->setCheckable(true);
        a->setChecked(mode == fieldShown_);
        a->setData(static_cast<int>(mode));
        fieldActions_->addAction(a);
        connect(a, &QAction::triggered, this, [this, m = mode] { setFieldShown(m); });
    }
    QActionGroup* overlays = new QActionGroup(this);
    overlays->setExclusive(true);
    overlayActions_ = overlays;
    const std::pair<CurrentOverlay, QString> overlayChoices[] = {
        {CurrentOverlay::Off, tr("No current over the field")},
        {CurrentOverlay::Arrows, tr("Current J(r) over the field: a&rrows")},
        {CurrentOverlay::Streamlines, tr("Current J(r) over the field: &streamlines")},
    };
    for (const auto& [mode, text] : overlayChoices) {
        QAction* a = viewMenu->addAction(text);
        a->setCheckable(true);
        a->setChecked(mode == currentOverlay());
        a->setData(static_cast<int>(mode));
        overlays->addAction(a);
        connect(a, &QAction::triggered, this, [this, m = mode] { setCurrentOverlay(m); });
    }
    QAction* overParticles = viewMenu->addAction(tr("Current J(r) over the &particles too"));
    overParticles->setObjectName("currentOverParticlesAction");
    overParticles->setCheckable(true);
    connect(overParticles, &QAction::toggled, this, &MainWindow::setCurrentOverParticles);
    QAction* link = viewMenu->addAction(tr("&Link the two views' cameras"));
    link->setObjectName("linkCamerasAction");
    link->setCheckable(true);
    link->setToolTip(tr("Pan and zoom the particle and field views together (both show the box in the same "
                        "coordinates)."));
    connect(link, &QAction::toggled, this, &MainWindow::setCamerasLinked);
    viewMenu->addSeparator();
    QAction* plotsShown = plotDock_->toggleViewAction();
    plotsShown->setText(tr("&Plots"));
    plotsShown->setShortcut(QKeySequence(tr("Ctrl+P")));
    viewMenu->addAction(plotsShown);
    QAction* phaseShown = phaseDock_->toggleViewAction();
    phaseShown->setText(tr("P&hase diagram"));
    phaseShown->setShortcut(QKeySequence(tr("Ctrl+D")));
    viewMenu->addAction(phaseShown);
    viewMenu->addSeparator();
    arrowActions_ = new QActionGroup(this);
    arrowActions_->setExclusive(true);
    const std::pair<Arrows, QString> arrows[] = {
        {Arrows::Off, tr("No &arrows")},
        {Arrows::PositionPart, tr("Arrows: probability flow, &position part vₓ")},
        {Arrows::ActivePart, tr("Arrows: probability flow, active part v_&g (AOUP)")},
    };
    for (const auto& [mode, text] : arrows) {
        QAction* a = viewMenu->addAction(text);
        a->setCheckable(true);
        a->setChecked(mode == arrows_);
        a->setData(static_cast<int>(mode));
        arrowActions_->addAction(a);
        connect(a, &QAction::triggered, this, [this, m = mode] { setArrows(m); });
    }
}

void MainWindow::setArrows(Arrows a)
{
    arrows_ = a;
    for (QAction* act : arrowActions_->actions()) {
        const QSignalBlocker block(act);
        act->setChecked(act->data().toInt() == static_cast<int>(a));
    }
    shown_.reset();  // arrows draw the newest evaluated state
    refreshDisplay();
}

void MainWindow::setFieldShown(FieldShown f)
{
    fieldShown_ = f;
    for (QAction* a : fieldActions_->actions()) {
        const QSignalBlocker block(a);
        a->setChecked(a->data().toInt() == static_cast<int>(f));
    }
    fieldPane_->setVisible(f != FieldShown::Off);
    showField(true);
}

void MainWindow::setCurrentOverParticles(bool on)
{
    currentOverParticles_ = on;
    if (auto* a = findChild<QAction*>("currentOverParticlesAction"); a && a->isChecked() != on) {
        const QSignalBlocker block(a);
        a->setChecked(on);
    }
    setCurrentOverlay(currentOverlay());
}

void MainWindow::setCurrentOverlay(CurrentOverlay o)
{
    fieldScene_->setCurrentOverlay(o);
    scene_->setCurrentOverlay(currentOverParticles_ ? o : CurrentOverlay::Off);
    shown_.reset();  // the particle view redraws (the newest evaluated state when the current is on it)
    refreshDisplay();
    for (QAction* a : overlayActions_->actions()) {
        const QSignalBlocker block(a);
        a->setChecked(a->data().toInt() == static_cast<int>(o));
    }
    showField(true);
}

void MainWindow::setCamerasLinked(bool on)
{
    if (on) {
        fieldScene_->linkCamera(scene_->renderer(), [this] {
            view_->requestRender();
            fieldView_->requestRender();
        });
    } else {
        fieldScene_->linkCamera(nullptr);
    }
    if (auto* a = findChild<QAction*>("linkCamerasAction"); a && a->isChecked() != on) {
        const QSignalBlocker block(a);
        a->setChecked(on);
    }
    view_->requestRender();
    fieldView_->requestRender();
}

bool MainWindow::camerasLinked() const { return fieldScene_->cameraLinked(); }

MainWindow::CurrentOverlay MainWindow::currentOverlay() const
{
    return fieldScene_->currentOverlay();
}

void MainWindow::applyFieldSettings()
{
    // The next evaluations grid with these; the estimate window is kept.
    sim_->session().set_estimation(sim_->options().session.window, true, fieldBins_->value(), fieldWidth_->value(),
                                   [this](const std::string& error) {
                                       if (!error.empty()) {
                                           QMetaObject::invokeMethod(this, [this, e = QString::fromStdString(error)] {
                                               showError(tr("Cannot set the field grid: %1").arg(e));
                                           }, Qt::QueuedConnection);
                                       }
                                   });
}

void MainWindow::showField(bool force)
{
    if (fieldShown_ == FieldShown::Off || !sim_) {
        return;
    }
    // The newest evaluated state of the running system; its fields belong
    // to it as its sigma_i do.
    auto learned = sim_->latestLearned();
    const auto newest = sim_->latest();
    if (learned && newest && (learned->system_generation != newest->system_generation || learned->physics_tag != newest->physics_tag)) {
        learned.reset();
    }
    if (!newest || (!force && fieldDrawn_ && learned == fieldFrom_)) {
        return;
    }
    fieldDrawn_ = true;
    fieldFrom_ = learned;
    const render::FieldQuantity q = fieldShown_ == FieldShown::Density ? render::FieldQuantity::Density
                                    : fieldShown_ == FieldShown::Current ? render::FieldQuantity::CurrentMagnitude
                                                                         : render::FieldQuantity::LocalEpr;
    fieldScene_->show(learned ? *learned : *newest, q);
    fieldView_->requestRender();
}

void MainWindow::setColourBy(ColourBy c)
{
    colourBy_ = c;
    entropy_->setColourBy(c);
    for (QAction* a : colourActions_->actions()) {
        const QSignalBlocker block(a);
        a->setChecked(a->data().toInt() == static_cast<int>(c));
    }
    shown_.reset();  // the other mode may show another frame
    refreshDisplay();
}

void MainWindow::showStatus(const Frame& f)
{
    if (f.notice != lastNotice_.toStdString()) {
        lastNotice_ = QString::fromStdString(f.notice);
        if (!f.notice.empty()) {
            showError(lastNotice_);
        }
        if (!f.running) {
            panel_->setRunning(false);
        }
    }
    const bool taken = fixTaken_ && f.system_generation == fixGeneration_ && f.physics_tag == fixTag_;
    const double offer = taken ? 0.0 : f.suggested_dt;
    if (offer != fixDt_) {
        fixDt_ = offer;
        fixButton_->setText(tr("Use dt = %1 and resume").arg(fixDt_, 0, 'g', 3));
        fixButton_->setVisible(fixDt_ > 0.0);
    }
    entropy_->setFrame(f);
    const TrainingStatus& t = f.training;
    if (!t.enabled && !t.failed) {
        trainLabel_->setText(tr("training off"));
    } else if (t.failed) {
        trainLabel_->setText(tr("training stopped"));
    } else if (trainAction_ && !trainAction_->isChecked()) {
        trainLabel_->setText(tr("training paused: %1 steps").arg(QLocale().toString(static_cast<qulonglong>(t.network_steps))));
    } else {
        trainLabel_->setText(tr("training: %1 steps · %2/s")
                                 .arg(QLocale().toString(static_cast<qulonglong>(t.network_steps)))
                                 .arg(t.steps_per_second, 0, 'f', 1));
    }
    const QString message = QString::fromStdString(t.message);
    if (message != lastTrainerMessage_) {
        lastTrainerMessage_ = message;
        if (t.failed) {
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
        cfg = cfg.with_peclet(panel_->peclet());
        cfg.finalize();
        base_ = cfg;
        errorLabel_->clear();
        lastNotice_.clear();
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
    errorLabel_->setToolTip(message);  // the status bar cuts long ones
    std::fprintf(stderr, "entroscope: %s\n", message.toLocal8Bit().constData());
}

void MainWindow::refreshDisplay()
{
    const auto newest = sim_ && view_ ? sim_->latest() : nullptr;
    if (newest) {
        const auto learned = sim_->latestLearned();
        plots_->takeFrames(newest, learned);
        phase_->takeFrames(newest, learned);
    }
    if (!newest) {
        // No system yet; if it could not be built, say why.
        const QString notice = sim_ ? QString::fromStdString(sim_->session().notice()) : QString();
        if (!notice.isEmpty() && notice != lastNotice_) {
            lastNotice_ = notice;
            showError(notice);
        }
        return;
    }
    if (newest != statusFrom_) {
        statusFrom_ = newest;
        showStatus(*newest);
        const State& s = *newest->state;
        timeLabel_->setText(tr("t = %1").arg(s.time, 0, 'g', 6));
        stepLabel_->setText(tr("step %1").arg(QLocale().toString(static_cast<qulonglong>(s.step))));
        if (newest->running) {
            rateLabel_->setText(tr("%1steps/s · %2particle-steps/s")
                                    .arg(formatRate(newest->sim_steps_per_second),
                                         formatRate(newest->sim_steps_per_second * s.n())));
        } else {
            rateLabel_->setText(tr("paused"));
        }
    }
    // Colouring by a learned quantity draws the newest state that has it, so
    // positions and colours always belong together; until the first one
    // exists, the newest state in grey.
    std::shared_ptr<const Frame> f = newest;
    if (widgets::EntropyPanel::learned(colourBy_) || arrows_ != Arrows::Off || scene_->currentOverlay() != CurrentOverlay::Off) {
        const auto learned = sim_->latestLearned();
        if (learned && learned->system_generation == newest->system_generation && learned->physics_tag == newest->physics_tag) {
            f = learned;
        }
    }
    showFrame(f);
    showField(false);
    if (recorder_) recordFrame();
}

void MainWindow::showFrame(const std::shared_ptr<const Frame>& f)
{
    if (f == shown_) {
        return;
    }
    if (shown_ && f->state == shown_->state && f->learned == shown_->learned && f->physics_tag == shown_->physics_tag) {
        shown_ = f;  // the same picture (a paused run's news): nothing to redraw
        return;
    }
    if (!shown_ || f->system_generation != shown_->system_generation) {
        scene_->requestFit();
    }
    shown_ = f;
    // The colour rules (quantity, map, range, legend, caption) are render/'s,
    // the same as offscreen rendering's.
    const render::Quantity q = widgets::EntropyPanel::quantity(colourBy_);
    const render::ColourRange range = scene_->show(*f, q, entropy_->rangeRule());
    entropy_->setShownRange(range.lo, range.hi);
    // Arrows only with the velocities of this very state; AOUP's active part
    // is a 2-D g velocity, ABP's is an angle rate and has no arrow.
    const std::vector<double>* v = nullptr;
    if (arrows_ != Arrows::Off && f->learned && f->learned->state == f->state) {
        v = arrows_ == Arrows::PositionPart ? &f->learned->v_x
                                            : (f->config.model == ModelKind::Aoup ? &f->learned->v_act : nullptr);
    }
    if (v) {
        scene_->showArrows(*f->state, *v, 2.5 * render::particle_radius(f->config));  // clears them when v is unusable
    } else {
        scene_->clearArrows();
    }
    ++picturesDrawn_;
    view_->requestRender();
}

MainWindow::DisplayStats MainWindow::displayStats() const
{
    DisplayStats d;
    d.frames_presented = framesPresented_;
    d.pictures_drawn = picturesDrawn_;
    d.seconds = static_cast<double>(sinceBuilt_.nsecsElapsed()) * 1e-9;
    return d;
}

QImage MainWindow::grabWindowImage()
{
    refreshDisplay();
    QPixmap shot = grab();
    // QWidget::grab renders the GL child through its framebuffer as well, but
    // painting the read-back over it guarantees the VTK view is included.
    QImage img = shot.toImage().convertToFormat(QImage::Format_RGB32);
    // The views are native windows, which QWidget::grab does not see:
    // paint each one's read-back over its place.
    QPainter p(&img);
    for (widgets::VtkView* v : {view_, fieldView_}) {
        if (!v || !v->isVisible()) {
            continue;
        }
        const QImage gl = v->grabFramebuffer();
        if (!gl.isNull()) {
            p.drawImage(QRect(v->mapTo(this, QPoint(0, 0)), v->size()), gl);
        }
    }
    p.end();
    return img;
}

bool MainWindow::saveScreenshot(const QString& path)
{
    return grabWindowImage().save(path, "PNG");
}


}  // namespace entroscope::gui

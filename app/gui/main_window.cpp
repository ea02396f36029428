#include "app/gui/main_window.hpp"

#include <QAction>
#include <QApplication>
#include <QDockWidget>
#include <QFileDialog>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QPainter>
#include <QScrollArea>
#include <QStatusBar>
#include <cmath>
#include <cstdio>

#include "app/gui/simulation_worker.hpp"
#include "engine/errors.hpp"
#include "render/particle_scene.hpp"
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

std::string caption(const Snapshot& s)
{
    const Config& c = s.config;
    const char* model = c.model == ModelKind::Aoup ? "AOUP" : "ABP";
    const char* phi = render::ParticleScene::unicodeText() ? "\xCF\x86" : "phi";
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%s    N = %d    %s = %.3f%s    Pe = %.1f    L = %.1f\nt = %.6g    (%llu steps)", model,
                  c.n, phi, c.phi, c.model == ModelKind::Aoup ? " (nominal)" : "", c.peclet(), s.state->box,
                  s.state->time, static_cast<unsigned long long>(s.state->step));
    return buf;
}

}  // namespace

MainWindow::MainWindow(const Config& cfg, QWidget* parent) : QMainWindow(parent), base_(cfg)
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
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(panel_);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setMinimumWidth(340);
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
    for (QLabel* l : {timeLabel_, stepLabel_, rateLabel_}) {
        l->setMinimumWidth(150);
    }
    rateLabel_->setMinimumWidth(320);
    statusBar()->addWidget(errorLabel_, 1);
    statusBar()->addPermanentWidget(timeLabel_);
    statusBar()->addPermanentWidget(stepLabel_);
    statusBar()->addPermanentWidget(rateLabel_);
    statusBar()->addPermanentWidget(fpsLabel_);

    sim_ = new SimulationController(this);
    connect(sim_, &SimulationController::errorOccurred, this, &MainWindow::showError);
    connect(sim_, &SimulationController::runningChanged, panel_, &widgets::ParameterPanel::setRunning);

    connect(panel_, &widgets::ParameterPanel::packingFractionChanged, sim_,
            &SimulationController::setPackingFraction);
    connect(panel_, &widgets::ParameterPanel::pecletChanged, sim_, &SimulationController::setPeclet);
    connect(panel_, &widgets::ParameterPanel::runToggled, sim_, &SimulationController::setRunning);
    connect(panel_, &widgets::ParameterPanel::stepRequested, sim_, &SimulationController::step);
    connect(panel_, &widgets::ParameterPanel::systemChanged, this, &MainWindow::rebuildFromPanel);
    connect(panel_, &widgets::ParameterPanel::resetRequested, this, &MainWindow::rebuildFromPanel);
    connect(panel_, &widgets::ParameterPanel::modelChanged, this, &MainWindow::switchModel);

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
    scene_->update(*snap->state, render::particle_radius(snap->config));
    scene_->setCaption(caption(*snap));
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

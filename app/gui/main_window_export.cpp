// The main window's export side: figures of the views, Record, and movies
// of trajectories or fresh runs rendered by entroscope-cli in the background.
#include <QAction>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QStatusBar>
#include <QTemporaryDir>
#include <cmath>
#include <functional>
#include <fstream>

#include "app/gui/cli_job.hpp"
#include "app/gui/data_export.hpp"
#include <QFileDialog>
#include <QDockWidget>
#include "app/gui/figure_export.hpp"
#include "app/gui/main_window.hpp"
#include "app/gui/movie_recorder.hpp"
#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "render/colour_rules.hpp"
#include "widgets/entropy_panel.hpp"
#include "widgets/figure_dialog.hpp"
#include "widgets/movie_dialog.hpp"
#include "widgets/data_dialog.hpp"

namespace entroscope::gui {

ViewPicture MainWindow::viewPicture(bool field)
{
    ViewPicture v;
    v.field = field;
    if (field) {
        showField(false);
        v.frame = fieldFrom_ ? fieldFrom_ : (sim_ ? sim_->latest() : nullptr);
        v.fieldQuantity = fieldShown_ == FieldShown::Density ? render::FieldQuantity::Density
                          : fieldShown_ == FieldShown::Current ? render::FieldQuantity::CurrentMagnitude
                                                               : render::FieldQuantity::LocalEpr;
        v.current = currentOverlay();
    } else {
        v.frame = shown_;
        v.quantity = widgets::EntropyPanel::quantity(colourBy_);
        v.range = entropy_->rangeRule();
        v.current = currentOverParticles_ ? currentOverlay() : render::CurrentOverlay::Off;
    }
    return v;
}

void MainWindow::buildExportUi(QMenu* file)
{
    QAction* figure = file->addAction(tr("Export &figure…"));
    figure->setShortcut(QKeySequence(tr("Ctrl+E")));
    connect(figure, &QAction::triggered, this, [this] {
        widgets::FigureDialog dialog(fieldShown_ != FieldShown::Off, QStringLiteral("entroscope_figure.pdf"), this);
        if (dialog.exec() == QDialog::Accepted) exportFigure(dialog.request());
    });
    QAction* data = file->addAction(tr("Export &data of this state…"));
    data->setShortcut(QKeySequence(tr("Ctrl+Shift+E")));
    connect(data, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export data of this state"), QStringLiteral("entroscope_state.xyz"),
                                                          data_export_filters().join(";;"));
        if (!path.isEmpty()) exportData(path);
    });
    QAction* series = file->addAction(tr("Export data &series…"));
    connect(series, &QAction::triggered, this, [this] {
        widgets::DataDialog dialog(QStringLiteral("entroscope_data.h5"), this);
        if (dialog.exec() == QDialog::Accepted) startDataExport(dialog.request());
    });
    movieAction_ = file->addAction(tr("&Movie…"));
    movieAction_->setShortcut(QKeySequence(tr("Ctrl+M")));
    connect(movieAction_, &QAction::triggered, this, [this] {
        widgets::MovieDialog dialog(fieldShown_ != FieldShown::Off, QStringLiteral("entroscope_movie.mp4"), this);
        if (dialog.exec() == QDialog::Accepted) startMovie(dialog.request());
    });
    stopRecordAction_ = file->addAction(tr("S&top recording"));
    stopRecordAction_->setShortcut(QKeySequence(tr("Ctrl+Shift+M")));
    stopRecordAction_->setEnabled(false);
    connect(stopRecordAction_, &QAction::triggered, this, [this] { stopRecording(); });

    recordLabel_ = new QLabel(this);
    recordLabel_->setObjectName("recordLabel");
    recordLabel_->setStyleSheet(QStringLiteral("color: #e04040; font-weight: bold"));
    recordLabel_->hide();
    statusBar()->addPermanentWidget(recordLabel_);

    job_ = new CliJob(this);
    jobBox_ = new QWidget(this);
    jobBox_->setObjectName("jobBox");
    auto* row = new QHBoxLayout(jobBox_);
    row->setContentsMargins(0, 0, 0, 0);
    jobLabel_ = new QLabel(jobBox_);
    jobBar_ = new QProgressBar(jobBox_);
    jobBar_->setObjectName("jobProgress");
    jobBar_->setMaximumWidth(160);
    auto* cancel = new QPushButton(tr("Cancel"), jobBox_);
    cancel->setObjectName("jobCancel");
    row->addWidget(jobLabel_);
    row->addWidget(jobBar_);
    row->addWidget(cancel);
    jobBox_->hide();
    statusBar()->addPermanentWidget(jobBox_);
    connect(cancel, &QPushButton::clicked, job_, &CliJob::cancel);
    connect(job_, &CliJob::progress, this, [this](int done, int total, double left) {
        jobBar_->setRange(0, total);
        jobBar_->setValue(done);
        jobLabel_->setText(left >= 0.0 ? tr("%1: %2 s left").arg(job_->title()).arg(std::lround(left)) : job_->title());
    });
    connect(job_, &CliJob::finished, this, [this](bool ok, bool cancelled, const QString& message, const QString& json) {
        jobBox_->hide();
        jobDir_.reset();
        if (cancelled) {
            statusBar()->showMessage(tr("%1 cancelled; nothing was left at the target.").arg(job_->title()), 8000);
            return;
        }
        if (!ok) {
            showError(tr("%1 failed: %2").arg(job_->title(), message));
            return;
        }
        const QJsonObject o = QJsonDocument::fromJson(json.toUtf8()).object();
        QString note = o.value("note").toString();
        statusBar()->showMessage(tr("%1 done: %2%3").arg(job_->title(), o.value("out").toString(message),
                                                         note.isEmpty() ? QString() : " (" + note + ")"),
                                 10000);
    });
}

bool MainWindow::exportFigure(const widgets::FigureRequest& r, QString* error)
{
    refreshDisplay();
    QString note, why;
    const auto picture = [this, &r](bool field) {
        ViewPicture v = viewPicture(field);
        if (r.fixedRange) v.range = {render::RangeMode::Fixed, r.rangeLo, r.rangeHi};
        return v;
    };
    if (r.view == widgets::FigureRequest::View::Layout) {
        ViewPicture field;
        if (fieldShown_ != FieldShown::Off) field = picture(true);
        why = export_layout_figure(picture(false), field, plotDock_ && plotDock_->isVisible() ? plots_ : nullptr, r);
    } else {
        why = export_view_figure(picture(r.view == widgets::FigureRequest::View::Field), r, &note);
    }
    if (error) *error = why;
    if (!why.isEmpty()) {
        showError(tr("Figure not saved: %1").arg(why));
        return false;
    }
    statusBar()->showMessage(tr("Figure saved: %1%2").arg(r.path, note.isEmpty() ? QString() : " (" + note + ")"), 8000);
    return true;
}

bool MainWindow::exportData(const QString& path, QString* error)
{
    refreshDisplay();
    // The newest evaluated state when it is of the running system, else the
    // newest state (positions only).
    std::shared_ptr<const Frame> f = sim_ ? sim_->latestLearned() : nullptr;
    const auto newest = sim_ ? sim_->latest() : nullptr;
    if (!f || !newest || f->system_generation != newest->system_generation || f->physics_tag != newest->physics_tag) f = newest;
    QString note;
    const QString why = f ? export_state_data(*f, path, &note) : tr("no system is running");
    if (error) *error = why;
    if (!why.isEmpty()) {
        showError(tr("Data not saved: %1").arg(why));
        return false;
    }
    statusBar()->showMessage(tr("Data of the state at t = %1 saved: %2%3")
                                 .arg(f->state->time, 0, 'g', 6)
                                 .arg(path, note.isEmpty() ? QString() : " (" + note + ")"),
                             8000);
    return true;
}

bool MainWindow::startMovie(const widgets::MovieRequest& r, QString* error)
{
    const auto fail = [this, error](const QString& why) {
        if (error) *error = why;
        showError(tr("Movie not started: %1").arg(why));
        return false;
    };
    if (const QString why = r.problem(); !why.isEmpty()) return fail(why);
    if (r.source == widgets::MovieRequest::Source::Live) {
        if (recorder_) return fail(tr("a recording is running; stop it first."));
        try {
            recorder_ = std::make_unique<MovieRecorder>(r);
        } catch (const std::exception& e) {
            return fail(QString::fromUtf8(e.what()));
        }
        stopRecordAction_->setEnabled(true);
        movieAction_->setEnabled(false);
        recordLabel_->setText(tr("● REC"));
        recordLabel_->show();
        refreshDisplay();
        if (error) error->clear();
        return true;
    }
    if (job_->running() || jobPending_) return fail(tr("“%1” is still running; cancel it first.").arg(job_->title()));
    if (r.source == widgets::MovieRequest::Source::Trajectory) {
        startCliMovie(r, QString(), QString());
    } else {
        const QString why = withFreshRun(tr("the movie"), [this, r](const QString& config, const QString& model) {
            startCliMovie(r, model, config);
        });
        if (!why.isEmpty()) return fail(why);
    }
    if (error) error->clear();
    return true;
}

QString MainWindow::withFreshRun(const QString& what, std::function<void(const QString&, const QString&)> launch)
{
    const auto newest = sim_ ? sim_->latest() : nullptr;
    if (!newest) return tr("no system is running.");
    // The running parameters, and the running network as it is now.
    jobDir_ = std::make_unique<QTemporaryDir>();
    const QString config = jobDir_->filePath("config.json");
    try {
        write_file_atomically(config.toStdString(), config_to_json(newest->config));
    } catch (const std::exception& e) {
        jobDir_.reset();
        return QString::fromUtf8(e.what());
    }
    if (!(newest->training.model_generation > 0 && trainingEnabled_)) {
        launch(config, QString());
        return {};
    }
    const QString model = jobDir_->filePath("network.pt");
    jobLabel_->setText(tr("Saving the running network for %1…").arg(what));
    jobBox_->show();
    jobPending_ = true;
    sim_->session().save_model(model.toStdString(), [this, what, config, model, launch](const std::string& err) {
        QMetaObject::invokeMethod(this, [this, what, config, model, launch, err] {
            jobPending_ = false;
            if (!err.empty()) {
                jobBox_->hide();
                jobDir_.reset();
                showError(tr("Cannot start %1: cannot save the running network: %2").arg(what, QString::fromStdString(err)));
                return;
            }
            launch(config, model);
        }, Qt::QueuedConnection);
    });
    return {};
}

bool MainWindow::startDataExport(const widgets::DataRequest& r, QString* error)
{
    const auto fail = [this, error](const QString& why) {
        if (error) *error = why;
        showError(tr("Export not started: %1").arg(why));
        return false;
    };
    if (const QString why = r.problem(); !why.isEmpty()) return fail(why);
    if (job_->running() || jobPending_) return fail(tr("a background job is still running; cancel it first."));
    QStringList args{"export", "--format", r.format, "--out", r.path, "--stride", QString::number(r.stride), "--burn-in",
                     QString::number(r.burnIn)};
    if (r.frames > 0) args << "--frames" << QString::number(r.frames);
    const QString title = tr("Export %1").arg(QFileInfo(r.path).fileName());
    const auto launch = [this, title](QStringList a) {
        QString why;
        if (!job_->start(a, title, &why)) {
            jobBox_->hide();
            jobDir_.reset();
            showError(tr("Export not started: %1").arg(why));
            return;
        }
        jobBar_->setRange(0, 0);
        jobLabel_->setText(title);
        jobBox_->show();
    };
    if (r.source == widgets::DataRequest::Source::Trajectory) {
        launch(args << "--trajectory" << r.trajectory);
        if (error) error->clear();
        return true;
    }
    const QString why = withFreshRun(tr("the export"), [launch, args](const QString& config, const QString& model) {
        QStringList a = QStringList(args) << "--config" << config;
        // Without a running network: the CLI's own choice (the shipped one where it fits).
        if (!model.isEmpty()) a << "--model" << model;
        launch(a);
    });
    if (!why.isEmpty()) return fail(why);
    if (error) error->clear();
    return true;
}

void MainWindow::startCliMovie(const widgets::MovieRequest& r, const QString& model, const QString& config)
{
    QStringList args{"render"};
    if (r.source == widgets::MovieRequest::Source::Trajectory) {
        args << "--trajectory" << r.trajectory << "--stride" << QString::number(r.stride);
        if (r.frames > 0) args << "--frames" << QString::number(r.frames);
    } else {
        args << "--config" << config << "--burn-in" << QString::number(r.burnIn) << "--stride" << QString::number(r.stride)
             << "--frames" << QString::number(r.frames);
    }
    if (!model.isEmpty()) args << "--model" << model;
    const ViewPicture v = viewPicture(r.field);
    if (r.field) {
        args << "--view" << "field" << "--quantity" << QString::fromLatin1(render::to_key(v.fieldQuantity));
        if (v.current != render::CurrentOverlay::Off)
            args << "--current" << (v.current == render::CurrentOverlay::Arrows ? "arrows" : "streamlines");
    } else {
        const std::string key = render::quantity_info(v.quantity, base_.model, false).key;
        args << "--quantity" << QString::fromStdString(key);
        if (v.current != render::CurrentOverlay::Off) {
            args << "--view" << "current" << "--current" << (v.current == render::CurrentOverlay::Arrows ? "arrows" : "streamlines");
        }
    }
    const QString codec = r.effectiveCodec();
    if (codec == "png") {
        args << "--png-sequence" << r.path;
    } else {
        args << "--movie" << r.path << "--codec" << codec << "--quality" << QString::number(r.quality);
    }
    args << "--size" << QString("%1x%2").arg(r.width).arg(r.height) << "--fps" << QString::number(r.fps)
         << "--range" << (r.holdRange ? "first" : "auto");
    QString why;
    const QString title = tr("Movie %1").arg(QFileInfo(r.path).fileName());
    if (!job_->start(args, title, &why)) {
        jobBox_->hide();
        jobDir_.reset();
        showError(tr("Movie not started: %1").arg(why));
        return;
    }
    jobBar_->setRange(0, 0);  // busy until the first frame
    jobLabel_->setText(title);
    jobBox_->show();
}

void MainWindow::recordFrame()
{
    try {
        recorder_->offer(viewPicture(recorder_->request().field));
        recordLabel_->setText(tr("● REC %1 s, %2 frames").arg(recorder_->seconds(), 0, 'f', 0).arg(recorder_->frames()));
    } catch (const std::exception& e) {
        recorder_->cancel();
        recorder_.reset();
        recordLabel_->hide();
        stopRecordAction_->setEnabled(false);
        movieAction_->setEnabled(true);
        showError(tr("Recording stopped, nothing kept: %1").arg(QString::fromUtf8(e.what())));
    }
}

bool MainWindow::stopRecording(QString* error)
{
    if (!recorder_) {
        if (error) *error = tr("nothing is being recorded");
        return false;
    }
    std::unique_ptr<MovieRecorder> rec = std::move(recorder_);
    recordLabel_->hide();
    stopRecordAction_->setEnabled(false);
    movieAction_->setEnabled(true);
    try {
        rec->finish();
    } catch (const std::exception& e) {
        const QString why = QString::fromUtf8(e.what());
        if (error) *error = why;
        showError(tr("Recording not saved: %1").arg(why));
        return false;
    }
    const QString note = rec->note();
    statusBar()->showMessage(tr("Recorded %1 frames (%2) to %3%4")
                                 .arg(rec->frames())
                                 .arg(rec->codec(), rec->request().path, note.isEmpty() ? QString() : " (" + note + ")"),
                             10000);
    if (error) error->clear();
    return true;
}

}  // namespace entroscope::gui

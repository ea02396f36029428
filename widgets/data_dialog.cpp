#include "widgets/data_dialog.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace entroscope::widgets {

QString DataRequest::extension(const QString& format)
{
    if (format == "h5md") return ".h5";
    if (format == "vtk") return ".pvd";
    return "." + format;
}

QString DataRequest::problem() const
{
    if (format != "h5md" && format != "xyz" && format != "vtk" && format != "csv")
        return QObject::tr("Unknown format %1 (h5md, xyz, vtk, csv).").arg(format);
    if (path.isEmpty()) return QObject::tr("No file chosen.");
    if (format == "vtk" && QFileInfo(path).suffix().toLower() != "pvd")
        return QObject::tr("%1: a VTK series is written as NAME.pvd (its .vtp and .vti files beside it).").arg(path);
    if (!QFileInfo(QFileInfo(path).absolutePath()).isDir())
        return QObject::tr("%1: the folder does not exist.").arg(QFileInfo(path).absolutePath());
    if (source == Source::Trajectory && !QFileInfo(trajectory).isFile())
        return QObject::tr("%1: no such trajectory file.").arg(trajectory.isEmpty() ? QObject::tr("(none chosen)") : trajectory);
    if (source == Source::FreshRun && frames < 1) return QObject::tr("A fresh run needs at least one frame.");
    if (frames < 0 || stride < 1 || burnIn < 0) return QObject::tr("The stride must be at least 1, frames and burn-in not negative.");
    return {};
}

DataDialog::DataDialog(const QString& suggestedPath, QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("Export data series"));
    setObjectName("dataDialog");
    auto* form = new QFormLayout;
    source_ = new QComboBox;
    source_->addItem(tr("A fresh run of these parameters"), static_cast<int>(DataRequest::Source::FreshRun));
    source_->addItem(tr("A stored trajectory (H5MD)"), static_cast<int>(DataRequest::Source::Trajectory));
    form->addRow(tr("Source"), source_);
    format_ = new QComboBox;
    format_->addItem(tr("H5MD: positions, σᵢ, vᵢ, the EPR series (h5py, MDAnalysis)"), "h5md");
    format_->addItem(tr("Extended XYZ (OVITO, ASE)"), "xyz");
    format_->addItem(tr("VTK series: particles and fields (ParaView)"), "vtk");
    format_->addItem(tr("CSV, one row per particle and frame"), "csv");
    form->addRow(tr("Format"), format_);
    auto* pathRow = new QHBoxLayout;
    path_ = new QLineEdit(suggestedPath);
    auto* browse = new QPushButton(tr("Browse…"));
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString p = QFileDialog::getSaveFileName(this, tr("Export data series"), path_->text());
        if (!p.isEmpty()) path_->setText(p);
    });
    pathRow->addWidget(path_, 1);
    pathRow->addWidget(browse);
    form->addRow(tr("File"), pathRow);
    auto* trRow = new QHBoxLayout;
    trajectory_ = new QLineEdit;
    auto* browseT = new QPushButton(tr("Browse…"));
    connect(browseT, &QPushButton::clicked, this, [this] {
        const QString p = QFileDialog::getOpenFileName(this, tr("Trajectory"), trajectory_->text(), tr("H5MD (*.h5 *.h5md);;All files (*)"));
        if (!p.isEmpty()) trajectory_->setText(p);
    });
    trRow->addWidget(trajectory_, 1);
    trRow->addWidget(browseT);
    form->addRow(tr("Trajectory"), trRow);
    frames_ = new QSpinBox;
    frames_->setRange(0, 1000000);
    frames_->setSpecialValueText(tr("all that remain"));  // 0: a trajectory's every remaining frame
    frames_->setValue(100);
    form->addRow(tr("Frames"), frames_);
    stride_ = new QSpinBox;
    stride_->setRange(1, 100000000);
    stride_->setValue(100);
    form->addRow(strideLabel_, stride_);
    burnIn_ = new QSpinBox;
    burnIn_->setRange(0, 2000000000);
    burnIn_->setValue(100000);
    burnInLabel_ = new QLabel(tr("Burn-in (steps)"));
    strideLabel_ = new QLabel(tr("Stride (steps)"));
    form->addRow(burnInLabel_, burnIn_);
    summary_ = new QLabel;
    summary_->setWordWrap(true);
    // The extension follows the format.
    connect(format_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int) {
        const QFileInfo f(path_->text());
        const QString base = f.completeBaseName().isEmpty() ? QStringLiteral("entroscope_data") : f.completeBaseName();
        path_->setText(QDir(f.path()).filePath(base + DataRequest::extension(format_->currentData().toString())));
        refresh();
    });
    // A trajectory counts stored frames: skip none, take every one, all of them.
    connect(source_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int) {
        const bool traj = source_->currentData().toInt() == static_cast<int>(DataRequest::Source::Trajectory);
        burnIn_->setValue(traj ? 0 : 100000);
        stride_->setValue(traj ? 1 : 100);
        frames_->setValue(traj ? 0 : 100);
        refresh();
    });
    connect(path_, &QLineEdit::textChanged, this, &DataDialog::refresh);
    connect(trajectory_, &QLineEdit::textChanged, this, &DataDialog::refresh);
    for (QSpinBox* s : {frames_, stride_, burnIn_}) connect(s, qOverload<int>(&QSpinBox::valueChanged), this, &DataDialog::refresh);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &DataDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* top = new QVBoxLayout(this);
    top->addLayout(form);
    top->addWidget(summary_);
    top->addWidget(buttons);
    refresh();
}

DataRequest DataDialog::request() const
{
    DataRequest r;
    r.source = static_cast<DataRequest::Source>(source_->currentData().toInt());
    r.format = format_->currentData().toString();
    r.path = path_->text().trimmed();
    r.trajectory = trajectory_->text().trimmed();
    r.frames = frames_->value();
    r.stride = stride_->value();
    r.burnIn = burnIn_->value();
    return r;
}

void DataDialog::setRequest(const DataRequest& r)
{
    source_->setCurrentIndex(std::max(0, source_->findData(static_cast<int>(r.source))));
    format_->setCurrentIndex(std::max(0, format_->findData(r.format)));
    path_->setText(r.path);
    trajectory_->setText(r.trajectory);
    frames_->setValue(r.frames);
    stride_->setValue(r.stride);
    burnIn_->setValue(static_cast<int>(std::min<long long>(r.burnIn, 2000000000)));
    refresh();
}

void DataDialog::accept()
{
    const QString why = request().problem();
    if (!why.isEmpty()) {
        QMessageBox::warning(this, tr("Export data series"), why);
        return;
    }
    QDialog::accept();
}

void DataDialog::refresh()
{
    const DataRequest r = request();
    const bool traj = r.source == DataRequest::Source::Trajectory;
    trajectory_->setEnabled(traj);
    burnInLabel_->setText(traj ? tr("Skip (stored frames)") : tr("Burn-in (steps)"));
    strideLabel_->setText(traj ? tr("Stride (stored frames)") : tr("Stride (steps)"));
    const QString why = r.problem();
    summary_->setText(!why.isEmpty() ? why
                      : r.source == DataRequest::Source::FreshRun
                          ? tr("%1 frames %2 steps apart after %3 burn-in steps, each evaluated by the running network.")
                                .arg(r.frames).arg(r.stride).arg(r.burnIn)
                          : tr("%1, one in %2 after skipping %3 stored frames, each evaluated by the shipped network where it fits.")
                                .arg(r.frames > 0 ? tr("%1 stored frames").arg(r.frames) : tr("All stored frames"))
                                .arg(r.stride)
                                .arg(r.burnIn));
}

}  // namespace entroscope::widgets

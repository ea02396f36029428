#include "widgets/movie_dialog.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
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

QString MovieRequest::effectiveCodec() const
{
    if (codec == "png") return codec;
    return QFileInfo(path).suffix().toLower() == "mp4" ? codec : QStringLiteral("png");
}

QString MovieRequest::problem() const
{
    if (path.isEmpty()) return QObject::tr("No file chosen.");
    const QString codecNow = effectiveCodec();
    if (codecNow != "png" && QFileInfo(path).suffix().toLower() != "mp4")
        return QObject::tr("%1: a movie is an .mp4 file, or a folder for PNG frames.").arg(path);
    const QFileInfo target(path);
    if (!QFileInfo(target.absolutePath()).isDir())
        return QObject::tr("%1: the folder does not exist.").arg(target.absolutePath());
    if (codecNow == "png" && target.exists() && !target.isDir())
        return QObject::tr("%1: PNG frames go into a folder, and this is a file.").arg(path);
    if (width < 16 || height < 16 || width > 8192 || height > 8192)
        return QObject::tr("The frame size must be 16 to 8192 pixels a side (asked: %1 x %2).").arg(width).arg(height);
    if (!(fps > 0.0) || fps > 240.0) return QObject::tr("The frame rate must be in (0, 240] per second.");
    if (quality < 0 || quality > 51) return QObject::tr("The quality (CRF) must be 0 to 51.");
    if (source == Source::Trajectory && !QFileInfo(trajectory).isFile())
        return QObject::tr("%1: no such trajectory file.").arg(trajectory.isEmpty() ? QObject::tr("(none chosen)") : trajectory);
    if (source == Source::FreshRun && frames < 1) return QObject::tr("A fresh run needs at least one frame.");
    if (source != Source::Live && (frames < 0 || stride < 1)) return QObject::tr("The stride must be at least 1.");
    if (source == Source::FreshRun && burnIn < 0) return QObject::tr("The burn-in must not be negative.");
    return {};
}

MovieDialog::MovieDialog(bool fieldAvailable, const QString& suggestedPath, QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("Movie"));
    setObjectName("movieDialog");
    auto* form = new QFormLayout;
    source_ = new QComboBox;
    source_->setObjectName("movieSource");
    source_->addItem(tr("Record the live run"), static_cast<int>(MovieRequest::Source::Live));
    source_->addItem(tr("A stored trajectory (H5MD)"), static_cast<int>(MovieRequest::Source::Trajectory));
    source_->addItem(tr("A fresh run of these parameters"), static_cast<int>(MovieRequest::Source::FreshRun));
    form->addRow(tr("Source"), source_);
    view_ = new QComboBox;
    view_->setObjectName("movieView");
    view_->addItem(tr("Particles"), false);
    if (fieldAvailable) view_->addItem(tr("Field"), true);
    form->addRow(tr("View"), view_);

    auto* pathRow = new QHBoxLayout;
    path_ = new QLineEdit(suggestedPath);
    path_->setObjectName("moviePath");
    path_->setToolTip(tr("An .mp4 file (H.264), or a folder for a PNG frame sequence"));
    auto* browse = new QPushButton(tr("Browse…"));
    connect(browse, &QPushButton::clicked, this, &MovieDialog::browse);
    pathRow->addWidget(path_, 1);
    pathRow->addWidget(browse);
    form->addRow(tr("File"), pathRow);

    codec_ = new QComboBox;
    codec_->setObjectName("movieCodec");
    codec_->addItem(tr("H.264 (MPEG-4 Part 2 if H.264 is missing)"), "auto");
    codec_->addItem(tr("H.264 only"), "h264");
    codec_->addItem(tr("MPEG-4 Part 2"), "mpeg4");
    codec_->addItem(tr("PNG frames (a folder)"), "png");
    form->addRow(tr("Codec"), codec_);

    auto* sizeRow = new QHBoxLayout;
    width_ = new QSpinBox;
    height_ = new QSpinBox;
    for (QSpinBox* s : {width_, height_}) s->setRange(16, 8192);
    width_->setObjectName("movieWidth");
    height_->setObjectName("movieHeight");
    width_->setValue(1280);
    height_->setValue(720);
    auto* presets = new QComboBox;
    presets->addItem("1280 × 720", QSize(1280, 720));
    presets->addItem("1920 × 1080", QSize(1920, 1080));
    presets->addItem("1080 × 1080", QSize(1080, 1080));
    presets->addItem("3840 × 2160", QSize(3840, 2160));
    connect(presets, qOverload<int>(&QComboBox::activated), this, [this, presets](int i) {
        const QSize s = presets->itemData(i).toSize();
        width_->setValue(s.width());
        height_->setValue(s.height());
    });
    sizeRow->addWidget(width_);
    sizeRow->addWidget(new QLabel(QString::fromUtf8("×")));
    sizeRow->addWidget(height_);
    sizeRow->addWidget(new QLabel(tr("pixels")));
    sizeRow->addWidget(presets);
    form->addRow(tr("Size"), sizeRow);
    fps_ = new QDoubleSpinBox;
    fps_->setObjectName("movieFps");
    fps_->setRange(1.0, 240.0);
    fps_->setDecimals(1);
    fps_->setValue(30.0);
    fps_->setSuffix(tr(" frames/s"));
    form->addRow(tr("Frame rate"), fps_);
    quality_ = new QSpinBox;
    quality_->setObjectName("movieQuality");
    quality_->setRange(0, 51);
    quality_->setValue(23);
    quality_->setToolTip(tr("H.264 CRF: 18 is visually lossless, 23 the default, 28 smaller files"));
    form->addRow(tr("Quality (CRF)"), quality_);
    hold_ = new QCheckBox(tr("Hold the first frame's colour range over the movie"));
    hold_->setObjectName("movieHoldRange");
    hold_->setChecked(true);
    form->addRow(QString(), hold_);

    trajectoryRow_ = new QWidget;
    auto* tr_ = new QHBoxLayout(trajectoryRow_);
    tr_->setContentsMargins(0, 0, 0, 0);
    trajectory_ = new QLineEdit;
    trajectory_->setObjectName("movieTrajectory");
    auto* browseT = new QPushButton(tr("Browse…"));
    connect(browseT, &QPushButton::clicked, this, &MovieDialog::browseTrajectory);
    tr_->addWidget(trajectory_, 1);
    tr_->addWidget(browseT);
    form->addRow(tr("Trajectory"), trajectoryRow_);
    frames_ = new QSpinBox;
    frames_->setObjectName("movieFrames");
    frames_->setRange(0, 1000000);
    frames_->setSpecialValueText(tr("all that fit"));  // 0: a trajectory's every frame at the stride
    frames_->setValue(300);
    form->addRow(tr("Frames"), frames_);
    stride_ = new QSpinBox;
    stride_->setObjectName("movieStride");
    stride_->setRange(1, 100000000);
    stride_->setValue(10);
    stride_->setToolTip(tr("Stored frames (trajectory) or simulation steps (fresh run) between movie frames"));
    form->addRow(tr("Stride"), stride_);
    burnIn_ = new QSpinBox;
    burnIn_->setObjectName("movieBurnIn");
    burnIn_->setRange(0, 2000000000);
    burnIn_->setValue(100000);
    burnIn_->setSuffix(tr(" steps"));
    form->addRow(tr("Burn-in"), burnIn_);

    summary_ = new QLabel;
    summary_->setObjectName("movieSummary");
    summary_->setWordWrap(true);
    // A trajectory counts stored frames: every one of them by default.
    connect(source_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int) {
        const bool traj = source_->currentData().toInt() == static_cast<int>(MovieRequest::Source::Trajectory);
        frames_->setValue(traj ? 0 : 300);
        stride_->setValue(traj ? 1 : 10);
        refresh();
    });
    connect(codec_, qOverload<int>(&QComboBox::currentIndexChanged), this, &MovieDialog::refresh);
    connect(path_, &QLineEdit::textChanged, this, &MovieDialog::refresh);
    for (QSpinBox* s : {width_, height_, frames_, stride_, burnIn_, quality_})
        connect(s, qOverload<int>(&QSpinBox::valueChanged), this, &MovieDialog::refresh);
    connect(fps_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &MovieDialog::refresh);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &MovieDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* top = new QVBoxLayout(this);
    top->addLayout(form);
    top->addWidget(summary_);
    top->addWidget(buttons);
    refresh();
}

MovieRequest MovieDialog::request() const
{
    MovieRequest r;
    r.source = static_cast<MovieRequest::Source>(source_->currentData().toInt());
    r.path = path_->text().trimmed();
    r.codec = codec_->currentData().toString();
    r.field = view_->currentData().toBool();
    r.width = width_->value();
    r.height = height_->value();
    r.fps = fps_->value();
    r.quality = quality_->value();
    r.holdRange = hold_->isChecked();
    r.trajectory = trajectory_->text().trimmed();
    r.frames = frames_->value();
    r.stride = stride_->value();
    r.burnIn = burnIn_->value();
    return r;
}

void MovieDialog::setRequest(const MovieRequest& r)
{
    source_->setCurrentIndex(std::max(0, source_->findData(static_cast<int>(r.source))));
    view_->setCurrentIndex(std::max(0, view_->findData(r.field)));
    path_->setText(r.path);
    codec_->setCurrentIndex(std::max(0, codec_->findData(r.codec)));
    width_->setValue(r.width);
    height_->setValue(r.height);
    fps_->setValue(r.fps);
    quality_->setValue(r.quality);
    hold_->setChecked(r.holdRange);
    trajectory_->setText(r.trajectory);
    frames_->setValue(r.frames);
    stride_->setValue(r.stride);
    burnIn_->setValue(static_cast<int>(std::min<long long>(r.burnIn, 2000000000)));
    refresh();
}

void MovieDialog::accept()
{
    const QString why = request().problem();
    if (!why.isEmpty()) {
        QMessageBox::warning(this, tr("Movie"), why);
        return;
    }
    QDialog::accept();
}

void MovieDialog::browse()
{
    const QString p = QFileDialog::getSaveFileName(this, tr("Movie"), path_->text(), tr("MP4 movies (*.mp4);;All files (*)"));
    if (!p.isEmpty()) path_->setText(p);
}

void MovieDialog::browseTrajectory()
{
    const QString p = QFileDialog::getOpenFileName(this, tr("Trajectory"), trajectory_->text(), tr("H5MD trajectories (*.h5 *.h5md);;All files (*)"));
    if (!p.isEmpty()) trajectory_->setText(p);
}

void MovieDialog::refresh()
{
    const MovieRequest r = request();
    const bool live = r.source == MovieRequest::Source::Live;
    trajectoryRow_->setEnabled(r.source == MovieRequest::Source::Trajectory);
    frames_->setEnabled(!live);
    stride_->setEnabled(!live);
    burnIn_->setEnabled(r.source == MovieRequest::Source::FreshRun);
    quality_->setEnabled(r.effectiveCodec() != "png");
    const QString why = r.problem();
    QString text;
    if (live)
        text = tr("Records what the view shows at %1 frames/s of wall time until you stop it (File > Stop recording).").arg(r.fps);
    else if (r.frames == 0)
        text = (r.stride == 1 ? tr("Every stored frame") : tr("One stored frame in %1").arg(r.stride)) +
               tr(" at %1 frames/s, rendered in the background by entroscope-cli render.").arg(r.fps);
    else
        text = tr("%1 frames, %2 s at %3 frames/s, rendered in the background by entroscope-cli render.")
                   .arg(r.frames)
                   .arg(r.frames / r.fps, 0, 'f', 1)
                   .arg(r.fps);
    summary_->setText(why.isEmpty() ? text : why);
}

}  // namespace entroscope::widgets

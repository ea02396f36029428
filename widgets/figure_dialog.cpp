#include "widgets/figure_dialog.hpp"

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
#include <QVBoxLayout>
#include <cmath>

namespace entroscope::widgets {

namespace {

constexpr double kMmPerInch = 25.4;
constexpr double kPointsPerInch = 72.0;
// Larger PNGs than this are refused: 16k x 16k RGB is already 768 MB.
constexpr int kMaxPixels = 16384;

}  // namespace

QString FigureRequest::formatOf(const QString& path)
{
    const QString e = QFileInfo(path).suffix().toLower();
    return e == "png" || e == "svg" || e == "pdf" ? e : QString();
}

void FigureRequest::setSize(double w, double h, const QString& unit)
{
    double inchesW = 0.0, inchesH = 0.0;
    if (unit == "mm") {
        inchesW = w / kMmPerInch;
        inchesH = h / kMmPerInch;
    } else if (unit == "in") {
        inchesW = w;
        inchesH = h;
    } else {
        inchesW = w / dpi;
        inchesH = h / dpi;
    }
    if (unit == "px") {
        widthPx = static_cast<int>(std::lround(w));
        heightPx = static_cast<int>(std::lround(h));
    } else {
        widthPx = static_cast<int>(std::lround(inchesW * dpi));
        heightPx = static_cast<int>(std::lround(inchesH * dpi));
    }
    widthPt = inchesW * kPointsPerInch;
    heightPt = inchesH * kPointsPerInch;
}

QString FigureRequest::problem() const
{
    if (path.isEmpty()) return QObject::tr("No file chosen.");
    if (format.isEmpty() || format != formatOf(path))
        return QObject::tr("%1: a figure is .png, .svg or .pdf.").arg(path);
    if (!QFileInfo(QFileInfo(path).absolutePath()).isDir())
        return QObject::tr("%1: the folder does not exist.").arg(QFileInfo(path).absolutePath());
    if (!(dpi > 0.0)) return QObject::tr("The resolution must be positive.");
    if (fixedRange && !(rangeHi > rangeLo)) return QObject::tr("A fixed colour range needs lo < hi (asked: %1 .. %2).").arg(rangeLo).arg(rangeHi);
    if (format == "png") {
        if (widthPx < 16 || heightPx < 16) return QObject::tr("A PNG needs at least 16 x 16 pixels (asked: %1 x %2).").arg(widthPx).arg(heightPx);
        if (widthPx > kMaxPixels || heightPx > kMaxPixels)
            return QObject::tr("A PNG is at most %1 pixels on a side (asked: %2 x %3).").arg(kMaxPixels).arg(widthPx).arg(heightPx);
    } else if (!(widthPt >= 36.0) || !(heightPt >= 36.0)) {
        return QObject::tr("A page needs at least half an inch on a side.");
    }
    return {};
}

FigureDialog::FigureDialog(bool fieldAvailable, const QString& suggestedPath, QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("Export figure"));
    setObjectName("figureDialog");
    auto* form = new QFormLayout;
    view_ = new QComboBox;
    view_->setObjectName("figureView");
    view_->addItem(tr("Particles"), static_cast<int>(FigureRequest::View::Particles));
    if (fieldAvailable) view_->addItem(tr("Field"), static_cast<int>(FigureRequest::View::Field));
    view_->addItem(tr("Layout: the views and the EPR and diagnostics plots"), static_cast<int>(FigureRequest::View::Layout));
    form->addRow(tr("View"), view_);

    auto* pathRow = new QHBoxLayout;
    path_ = new QLineEdit(suggestedPath);
    path_->setObjectName("figurePath");
    path_->setToolTip(tr("The format follows the extension: .png (pixels), .svg or .pdf (vector: one circle per particle, "
                         "text as text)"));
    auto* browse = new QPushButton(tr("Browse…"));
    connect(browse, &QPushButton::clicked, this, &FigureDialog::browse);
    pathRow->addWidget(path_, 1);
    pathRow->addWidget(browse);
    form->addRow(tr("File"), pathRow);

    auto* sizeRow = new QHBoxLayout;
    width_ = new QDoubleSpinBox;
    height_ = new QDoubleSpinBox;
    for (QDoubleSpinBox* s : {width_, height_}) {
        s->setRange(1.0, 100000.0);
        s->setDecimals(1);
    }
    width_->setObjectName("figureWidth");
    height_->setObjectName("figureHeight");
    width_->setValue(1600);
    height_->setValue(1200);
    unit_ = new QComboBox;
    unit_->setObjectName("figureUnit");
    unit_->addItem(tr("pixels"), "px");
    unit_->addItem(tr("mm"), "mm");
    unit_->addItem(tr("inches"), "in");
    sizeRow->addWidget(width_);
    sizeRow->addWidget(new QLabel(QString::fromUtf8("×")));
    sizeRow->addWidget(height_);
    sizeRow->addWidget(unit_);
    form->addRow(tr("Size"), sizeRow);
    dpi_ = new QDoubleSpinBox;
    dpi_->setObjectName("figureDpi");
    dpi_->setRange(10.0, 2400.0);
    dpi_->setDecimals(0);
    dpi_->setValue(150.0);
    dpi_->setSuffix(tr(" dpi"));
    form->addRow(tr("Resolution"), dpi_);
    // A unit change keeps the physical size.
    connect(unit_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int) {
        const QString last = lastUnit_;
        const QString now = unit_->currentData().toString();
        const auto toInches = [this](double v, const QString& u) {
            return u == "mm" ? v / kMmPerInch : u == "in" ? v : v / dpi_->value();
        };
        const auto fromInches = [this](double v, const QString& u) {
            return u == "mm" ? v * kMmPerInch : u == "in" ? v : v * dpi_->value();
        };
        width_->setValue(fromInches(toInches(width_->value(), last), now));
        height_->setValue(fromInches(toInches(height_->value(), last), now));
        lastUnit_ = now;
        refreshSummary();
    });

    auto* rangeRow = new QHBoxLayout;
    rangeMode_ = new QComboBox;
    rangeMode_->setObjectName("figureRangeMode");
    rangeMode_->addItem(tr("as on screen"), false);
    rangeMode_->addItem(tr("fixed"), true);
    rangeLo_ = new QDoubleSpinBox;
    rangeHi_ = new QDoubleSpinBox;
    for (QDoubleSpinBox* b : {rangeLo_, rangeHi_}) {
        b->setRange(-1e9, 1e9);
        b->setDecimals(4);
        b->setEnabled(false);
    }
    rangeLo_->setObjectName("figureRangeLo");
    rangeHi_->setObjectName("figureRangeHi");
    rangeHi_->setValue(1.0);
    connect(rangeMode_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int) {
        const bool fixed = rangeMode_->currentData().toBool();
        rangeLo_->setEnabled(fixed);
        rangeHi_->setEnabled(fixed);
        refreshSummary();
    });
    rangeRow->addWidget(rangeMode_);
    rangeRow->addWidget(rangeLo_);
    rangeRow->addWidget(new QLabel(QString::fromUtf8("…")));
    rangeRow->addWidget(rangeHi_);
    form->addRow(tr("Colour range"), rangeRow);

    caption_ = new QCheckBox(tr("Caption"));
    legend_ = new QCheckBox(tr("Legend"));
    scaleBar_ = new QCheckBox(tr("Scale bar"));
    transparent_ = new QCheckBox(tr("Transparent background"));
    caption_->setObjectName("figureCaption");
    legend_->setObjectName("figureLegend");
    scaleBar_->setObjectName("figureScaleBar");
    transparent_->setObjectName("figureTransparent");
    for (QCheckBox* c : {caption_, legend_, scaleBar_}) c->setChecked(true);
    auto* boxes = new QHBoxLayout;
    for (QCheckBox* c : {caption_, legend_, scaleBar_, transparent_}) boxes->addWidget(c);
    form->addRow(tr("Show"), boxes);

    summary_ = new QLabel;
    summary_->setObjectName("figureSummary");
    summary_->setWordWrap(true);
    for (QDoubleSpinBox* s : {width_, height_, dpi_, rangeLo_, rangeHi_})
        connect(s, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &FigureDialog::refreshSummary);
    connect(path_, &QLineEdit::textChanged, this, &FigureDialog::refreshSummary);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &FigureDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* top = new QVBoxLayout(this);
    top->addLayout(form);
    top->addWidget(summary_);
    top->addWidget(buttons);
    refreshSummary();
}

FigureRequest FigureDialog::request() const
{
    FigureRequest r;
    r.view = static_cast<FigureRequest::View>(view_->currentData().toInt());
    r.path = path_->text().trimmed();
    r.format = FigureRequest::formatOf(r.path);
    r.dpi = dpi_->value();
    r.setSize(width_->value(), height_->value(), unit_->currentData().toString());
    r.caption = caption_->isChecked();
    r.legend = legend_->isChecked();
    r.scaleBar = scaleBar_->isChecked();
    r.transparent = transparent_->isChecked();
    r.fixedRange = rangeMode_->currentData().toBool();
    r.rangeLo = rangeLo_->value();
    r.rangeHi = rangeHi_->value();
    return r;
}

void FigureDialog::setRequest(const FigureRequest& r, double w, double h, const QString& unit)
{
    const int v = view_->findData(static_cast<int>(r.view));
    if (v >= 0) view_->setCurrentIndex(v);
    path_->setText(r.path);
    dpi_->setValue(r.dpi);
    {
        const QSignalBlocker block(unit_);
        unit_->setCurrentIndex(std::max(0, unit_->findData(unit)));
        lastUnit_ = unit_->currentData().toString();
    }
    width_->setValue(w);
    height_->setValue(h);
    caption_->setChecked(r.caption);
    legend_->setChecked(r.legend);
    scaleBar_->setChecked(r.scaleBar);
    transparent_->setChecked(r.transparent);
    rangeMode_->setCurrentIndex(r.fixedRange ? 1 : 0);
    rangeLo_->setValue(r.rangeLo);
    rangeHi_->setValue(r.rangeHi);
    refreshSummary();
}

void FigureDialog::accept()
{
    const QString why = request().problem();
    if (!why.isEmpty()) {
        QMessageBox::warning(this, tr("Export figure"), why);
        return;
    }
    QDialog::accept();
}

void FigureDialog::browse()
{
    const QString p = QFileDialog::getSaveFileName(this, tr("Export figure"), path_->text(),
                                                   tr("PNG image (*.png);;SVG (vector) (*.svg);;PDF (vector) (*.pdf)"));
    if (!p.isEmpty()) path_->setText(p);
}

void FigureDialog::refreshSummary()
{
    const FigureRequest r = request();
    const QString why = r.problem();
    QString text;
    if (r.format == "png")
        text = tr("PNG of %1 × %2 pixels at %3 dpi (%4 × %5 mm), rendered at that size.")
                   .arg(r.widthPx)
                   .arg(r.heightPx)
                   .arg(r.dpi, 0, 'f', 0)
                   .arg(r.widthPt / kPointsPerInch * kMmPerInch, 0, 'f', 1)
                   .arg(r.heightPt / kPointsPerInch * kMmPerInch, 0, 'f', 1);
    else if (!r.format.isEmpty())
        text = tr("%1 page of %2 × %3 mm (vector).")
                   .arg(r.format.toUpper())
                   .arg(r.widthPt / kPointsPerInch * kMmPerInch, 0, 'f', 1)
                   .arg(r.heightPt / kPointsPerInch * kMmPerInch, 0, 'f', 1);
    summary_->setText(why.isEmpty() ? text : why);
}

}  // namespace entroscope::widgets

#include "widgets/entropy_panel.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLocale>
#include <QSignalBlocker>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "widgets/note_label.hpp"

namespace entroscope::widgets {

namespace {

// "1.23 ± 0.05", with the value rounded to the standard error's second
// significant digit; very small or large numbers as "(1.23 ± 0.05) × 10^-4".
QString meanSe(double mean, double se)
{
    if (!std::isfinite(mean)) {
        return QStringLiteral("—");
    }
    const double scale = std::max(std::abs(mean), std::isfinite(se) ? se : 0.0);
    int exponent = 0;
    if (scale > 0.0) {
        const int e = static_cast<int>(std::floor(std::log10(scale)));
        if (e < -2 || e > 4) {
            exponent = e;
        }
    }
    const double f = std::pow(10.0, -exponent);
    const double m = mean * f;
    const double s = se * f;
    int decimals = 3;
    if (std::isfinite(s) && s > 0.0) {
        decimals = std::clamp(1 - static_cast<int>(std::floor(std::log10(s))), 0, 6);
    }
    // Without a standard error (one evaluation) four significant digits.
    QString text = std::isfinite(s) ? QString::number(m, 'f', decimals) : QString::number(m, 'g', 4);
    if (std::isfinite(s)) {
        text += QStringLiteral(" ± ") + QString::number(s, 'f', decimals);
    }
    if (exponent != 0) {
        text = QStringLiteral("(") + text + QStringLiteral(") × 10<sup>%1</sup>").arg(exponent);
    }
    return text.replace(QLatin1Char('-'), QChar(0x2212));
}

// A spin box that writes its value with four significant digits ("1.234e-05",
// "9.87e+04"), so ranges of any magnitude (AOUP's sigma_i of 1e-4, ABP's of
// 1e3) fit and stay readable.
class RangeSpinBox : public QDoubleSpinBox {
public:
    explicit RangeSpinBox(QWidget* parent) : QDoubleSpinBox(parent)
    {
        setDecimals(12);  // the value is kept as typed, not rounded to the display
        setRange(-1e12, 1e12);
        setStepType(QAbstractSpinBox::AdaptiveDecimalStepType);
        setKeyboardTracking(false);
    }
    QString textFromValue(double v) const override { return QLocale().toString(v, 'g', 4); }
    double valueFromText(const QString& text) const override { return QLocale().toDouble(text.trimmed()); }
    QValidator::State validate(QString& text, int&) const override
    {
        bool ok = false;
        QLocale().toDouble(text.trimmed(), &ok);
        return ok ? QValidator::Acceptable : QValidator::Intermediate;
    }
};

}  // namespace

EntropyPanel::EntropyPanel(QWidget* parent) : QWidget(parent)
{
    auto* root = new QVBoxLayout(this);
    root->setContentsMargins(0, 0, 0, 0);

    auto* view = new QGroupBox(tr("View"), this);
    auto* vForm = new QFormLayout(view);
    colourBy_ = new QComboBox(view);
    colourBy_->setObjectName("colourByCombo");
    colourBy_->addItem(tr("Active angle"), static_cast<int>(ColourBy::ActiveAngle));
    colourBy_->addItem(tr("Local entropy production σᵢ (|v|²)"), static_cast<int>(ColourBy::LocalEntropyProduction));
    colourBy_->addItem(tr("σᵢ, divergence estimator (signed)"), static_cast<int>(ColourBy::DivergenceEstimator));
    colourBy_->addItem(tr("Probability flow, active part |v_act|"), static_cast<int>(ColourBy::ActiveSpeed));
    colourBy_->addItem(tr("Probability flow, position part |vₓ|"), static_cast<int>(ColourBy::PositionSpeed));
    colourBy_->addItem(tr("Local density φᵢ"), static_cast<int>(ColourBy::LocalDensity));
    colourBy_->addItem(tr("Particle type"), static_cast<int>(ColourBy::ParticleType));
    vForm->addRow(tr("Colour by"), colourBy_);
    colourNote_ = makeNoteLabel(QString(), view);
    vForm->addRow(colourNote_);
    const QString resets = tr("Choosing another quantity under “Colour by” returns to the automatic range.");
    rangeMode_ = new QComboBox(view);
    rangeMode_->setObjectName("rangeModeCombo");
    rangeMode_->addItem(tr("Quantiles 5–95 %"), static_cast<int>(render::RangeMode::Quantiles5To95));
    rangeMode_->addItem(tr("Minimum – 99 % quantile"), static_cast<int>(render::RangeMode::Quantiles0To99));
    rangeMode_->addItem(tr("Fixed lo … hi"), static_cast<int>(render::RangeMode::Fixed));
    rangeMode_->setToolTip(tr("Colour range of the particle view: the 5 % and 95 % quantiles of the frame on screen (as "
                              "in the paper's figures), its minimum and 99 % quantile, or lo … hi as typed. ") + resets);
    vForm->addRow(tr("Range"), rangeMode_);
    auto* bounds = new QWidget(view);
    auto* bLay = new QHBoxLayout(bounds);
    bLay->setContentsMargins(0, 0, 0, 0);
    rangeLo_ = new RangeSpinBox(bounds);
    rangeLo_->setObjectName("rangeLoSpin");
    rangeHi_ = new RangeSpinBox(bounds);
    rangeHi_->setObjectName("rangeHiSpin");
    rangeLo_->setToolTip(tr("Lower end of the colour range (the automatic one while the range is not fixed)"));
    rangeHi_->setToolTip(tr("Upper end of the colour range (the automatic one while the range is not fixed)"));
    bLay->addWidget(rangeLo_, 1);
    bLay->addWidget(new QLabel(QStringLiteral("…"), bounds));
    bLay->addWidget(rangeHi_, 1);
    vForm->addRow(tr("lo … hi"), bounds);
    hold_ = new QCheckBox(tr("Hold range"), view);
    hold_->setObjectName("holdRangeCheck");
    hold_->setToolTip(tr("Freeze the automatic range of the frame on screen, so every later frame is coloured on the same "
                         "scale (for movies); unchecking returns to the automatic range. ") + resets);
    vForm->addRow(QString(), hold_);
    root->addWidget(view);

    auto* box = new QGroupBox(tr("Entropy production (learned)"), this);
    box->setObjectName("entropyBox");
    auto* lay = new QVBoxLayout(box);
    auto* title = new QLabel(tr("Active EPR per particle"), box);
    epr_ = new QLabel(QStringLiteral("—"), box);
    epr_->setObjectName("eprLabel");
    epr_->setTextFormat(Qt::RichText);
    epr_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont big = epr_->font();
    big.setPointSizeF(big.pointSizeF() * 1.5);
    big.setBold(true);
    epr_->setFont(big);
    convention_ = makeNoteLabel(QString(), box);
    details_ = makeNoteLabel(QString(), box);
    details_->setObjectName("eprDetails");
    details_->setForegroundRole(QPalette::WindowText);
    xPart_ = makeNoteLabel(QString(), box);
    xPart_->setObjectName("xPartLabel");
    training_ = makeNoteLabel(QString(), box);
    training_->setObjectName("trainingLabel");
    training_->setForegroundRole(QPalette::WindowText);
    message_ = makeNoteLabel(QString(), box);
    message_->setObjectName("trainerMessage");
    lay->addWidget(title);
    lay->addWidget(epr_);
    lay->addWidget(convention_);
    lay->addSpacing(4);
    lay->addWidget(details_);
    lay->addWidget(xPart_);
    lay->addSpacing(4);
    lay->addWidget(training_);
    lay->addWidget(message_);
    root->addWidget(box);

    connect(colourBy_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int) {
        setColourBy(colourBy());  // the range back to automatic
        Q_EMIT colourByChanged(colourBy());
    });
    connect(rangeMode_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int) {
        const auto m = static_cast<render::RangeMode>(rangeMode_->currentData().toInt());
        if (m != render::RangeMode::Fixed) {
            automatic_ = m;
            const QSignalBlocker block(hold_);
            hold_->setChecked(false);
        }
        updateRangeControls();
        Q_EMIT rangeRuleChanged();
    });
    connect(hold_, &QCheckBox::toggled, this, [this](bool on) {
        if (on) {
            // Freeze what is on screen.
            const QSignalBlocker b1(rangeLo_), b2(rangeHi_);
            rangeLo_->setValue(shownLo_);
            rangeHi_->setValue(shownHi_);
        }
        setRangeMode(on ? render::RangeMode::Fixed : automatic_);
        Q_EMIT rangeRuleChanged();
    });
    for (QDoubleSpinBox* b : {rangeLo_, rangeHi_}) {
        connect(b, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] {
            if (rangeRule().mode == render::RangeMode::Fixed) {
                Q_EMIT rangeRuleChanged();
            }
        });
    }
    setRangeMode(automatic_);
    setColourBy(ColourBy::ActiveAngle);
    epr_->setText(QStringLiteral("—"));
    details_->setText(tr("Waiting for the first evaluation of the learned score…"));
}

render::Quantity EntropyPanel::quantity(ColourBy c)
{
    switch (c) {
    case ColourBy::ActiveAngle: return render::Quantity::ActiveAngle;
    case ColourBy::LocalEntropyProduction: return render::Quantity::SigmaSq;
    case ColourBy::DivergenceEstimator: return render::Quantity::SigmaDiv;
    case ColourBy::ActiveSpeed: return render::Quantity::ActiveSpeed;
    case ColourBy::PositionSpeed: return render::Quantity::PositionSpeed;
    case ColourBy::LocalDensity: return render::Quantity::LocalDensity;
    case ColourBy::ParticleType: return render::Quantity::ParticleType;
    }
    return render::Quantity::ActiveAngle;
}

bool EntropyPanel::learned(ColourBy c)
{
    return render::quantity_info(quantity(c), ModelKind::Abp, false).learned;
}

EntropyPanel::ColourBy EntropyPanel::colourBy() const
{
    return static_cast<ColourBy>(colourBy_->currentData().toInt());
}

render::RangeRule EntropyPanel::rangeRule() const
{
    render::RangeRule r;
    r.mode = static_cast<render::RangeMode>(rangeMode_->currentData().toInt());
    r.lo = rangeLo_->value();
    r.hi = rangeHi_->value();
    return r;
}

bool EntropyPanel::rangeHeld() const { return hold_->isChecked(); }

void EntropyPanel::setShownRange(double lo, double hi)
{
    shownLo_ = lo;
    shownHi_ = hi;
    if (rangeRule().mode != render::RangeMode::Fixed) {
        const QSignalBlocker b1(rangeLo_), b2(rangeHi_);
        rangeLo_->setValue(lo);
        rangeHi_->setValue(hi);
    }
}

void EntropyPanel::setRangeMode(render::RangeMode m)
{
    {
        const QSignalBlocker block(rangeMode_);
        rangeMode_->setCurrentIndex(rangeMode_->findData(static_cast<int>(m)));
    }
    if (m != render::RangeMode::Fixed) {
        const QSignalBlocker block(hold_);
        hold_->setChecked(false);
    }
    updateRangeControls();
}

void EntropyPanel::updateRangeControls()
{
    // The angle always spans -pi .. pi on its cyclic map; types are labels.
    const bool scalar = colourBy() != ColourBy::ActiveAngle && colourBy() != ColourBy::ParticleType;
    const bool fixed = rangeRule().mode == render::RangeMode::Fixed;
    rangeMode_->setEnabled(scalar);
    hold_->setEnabled(scalar);
    rangeLo_->setEnabled(scalar && fixed);
    rangeHi_->setEnabled(scalar && fixed);
}

void EntropyPanel::setColourBy(ColourBy c)
{
    {
        const QSignalBlocker block(colourBy_);
        colourBy_->setCurrentIndex(colourBy_->findData(static_cast<int>(c)));
    }
    // A range held or typed for one quantity means nothing for another.
    if (c != quantity_) {
        quantity_ = c;
        setRangeMode(automatic_);
    }
    updateRangeControls();
    const QString learnedState = tr(" Of the state drawn: the newest evaluated one (the caption gives its time and "
                                    "network step).");
    switch (c) {
    case ColourBy::ActiveAngle:
        colourNote_->setText(tr("Direction of the active variable (AOUP: atan2(g<sub>y</sub>, g<sub>x</sub>); "
                                "ABP: θ), cyclic map."));
        break;
    case ColourBy::LocalEntropyProduction:
        colourNote_->setText(tr("Instantaneous σ<sub>i</sub> = |v<sub>a,i</sub>|²/D<sub>a</sub> ≥ 0; viridis over "
                                "the colour range chosen below.") + learnedState);
        break;
    case ColourBy::DivergenceEstimator:
        colourNote_->setText(tr("The divergence form of σ<sub>i</sub> (ABP: −D<sub>r</sub> ∂<sub>θ</sub>s<sub>θ</sub>; "
                                "AOUP: −γ(2 + ∇<sub>g</sub>·s<sub>g</sub>)): signed, with the same mean as the |v|² "
                                "form; blue–white–red, white at 0. Only some evaluations compute it.") + learnedState);
        break;
    case ColourBy::ActiveSpeed:
        colourNote_->setText(tr("|v<sub>act,i</sub>|, the active part of the probability-flow velocity.") + learnedState);
        break;
    case ColourBy::PositionSpeed:
        colourNote_->setText(tr("|v<sub>x,i</sub>|, the position part of the probability-flow velocity (finite with "
                                "positional noise: ABP, AOUP with ε > 0).") + learnedState);
        break;
    case ColourBy::LocalDensity:
        colourNote_->setText(tr("Local area fraction at each particle (Gaussian kernel of one diameter): the dense "
                                "and the dilute phase apart."));
        break;
    case ColourBy::ParticleType:
        colourNote_->setText(tr("The particle's type (0, 1, …), min to max."));
        break;
    }
}

void EntropyPanel::setFrame(const Frame& f)
{
    const bool aoup = f.config.model == ModelKind::Aoup;
    convention_->setText(
        aoup ? tr("AOUP: σ<sub>i</sub> = γ |g<sub>i</sub> + s<sub>g,i</sub>|², mean over the last evaluations "
                  "± standard error; k<sub>B</sub> per unit time.")
             : tr("ABP: σ<sub>i</sub> = D<sub>r</sub> s<sub>θ,i</sub>², mean over the last evaluations "
                  "± standard error; k<sub>B</sub> per unit time."));
    const TrainingStatus& t = f.training;
    if (!t.enabled && !t.failed) {
        epr_->setText(QStringLiteral("—"));
        details_->setText(t.message.empty() ? tr("Online training is off.") : QString::fromStdString(t.message).toHtmlEscaped());
        xPart_->clear();
        training_->clear();
        message_->clear();
        return;
    }
    static const GlobalEstimate none;
    const GlobalEstimate& g = f.estimate ? *f.estimate : none;
    if (g.evaluations > 0) {
        epr_->setText(meanSe(g.epr_active.mean, g.epr_active.se));
        QString d = tr("Learned estimate after %1 training steps; %2 evaluation(s), newest at t = %3.")
                        .arg(QLocale().toString(static_cast<qulonglong>(g.network_step)))
                        .arg(g.evaluations)
                        .arg(g.time, 0, 'g', 5);
        if (g.divergence_evaluations > 0 && std::isfinite(g.epr_active_div.mean)) {
            d += QStringLiteral("<br>") +
                 tr("Divergence estimator %1: %2<br>gap (|v|² − div): %3")
                     .arg(aoup ? tr("−γ(2 + ∇<sub>g</sub>·s<sub>g</sub>)") : tr("−D<sub>r</sub> ∂<sub>θ</sub>s<sub>θ</sub>"))
                     .arg(meanSe(g.epr_active_div.mean, g.epr_active_div.se), meanSe(g.gap.mean, g.gap.se));
        }
        // The two estimators agree in expectation only for the true score.
        if (std::isfinite(g.gap.mean) && std::isfinite(g.gap.se) &&
            std::abs(g.gap.mean) > std::max(3.0 * g.gap.se, 0.1 * std::abs(g.epr_active.mean))) {
            d += QStringLiteral("<br><span style=\"color:#c77800;\">") +
                 tr("The estimators disagree: the network is still learning; do not trust the numbers yet.") +
                 QStringLiteral("</span>");
        }
        // Without positional noise the active EPR is known without a network.
        const MeanSe& ex = g.epr_active_identity;
        if (std::isfinite(ex.mean)) {
            d += QStringLiteral("<br>") + tr("Exact, no network (−⟨Σ∇<sub>x</sub>·b<sub>x</sub>⟩/N, stationary state): %1")
                                              .arg(meanSe(ex.mean, ex.se));
            const double se = std::hypot(g.epr_active.se, std::isfinite(ex.se) ? ex.se : 0.0);
            if (std::isfinite(g.epr_active.mean) && std::abs(g.epr_active.mean - ex.mean) > std::max(3.0 * se, 0.1 * std::abs(ex.mean))) {
                d += QStringLiteral("<br><span style=\"color:#c77800;\">") +
                     tr("The learned value is far from the exact one: the network has not learned this state.") +
                     QStringLiteral("</span>");
            }
        }
        // A linear system: the exact answer of the simulated chain and of the SDE.
        if (std::isfinite(g.exact_epr_active)) {
            d += QStringLiteral("<br>") + tr("Exact (linear system): %1 (simulated chain), %2 (SDE)")
                                              .arg(g.exact_epr_active_chain, 0, 'g', 5)
                                              .arg(g.exact_epr_active, 0, 'g', 5);
        }
        details_->setText(d);
        switch (g.x_part) {
        case XPart::Infinite:
            xPart_->setText(aoup ? tr("Positional part: infinite — ε = 0, no noise on the positions "
                                      "(hypoelliptic); only the active part is finite.")
                                 : tr("Positional part: infinite — D<sub>t</sub> = 0, no noise on the positions "
                                      "(hypoelliptic); only the active part is finite."));
            break;
        case XPart::Finite: {
            QString x = tr("Positional part per particle: %1").arg(meanSe(g.epr_x.mean, g.epr_x.se));
            // With noise on every variable the total is known without a
            // network; hold the learned total against it.
            const MeanSe& nf = g.epr_total_network_free;
            if (nf.count > 0 && std::isfinite(nf.mean) && std::isfinite(g.epr_total.mean)) {
                const double rel = nf.mean != 0.0 ? (g.epr_total.mean - nf.mean) / std::abs(nf.mean) : 0.0;
                x += QStringLiteral("<br>") + tr("Total per particle: learned %1, exact without a network %2 (learned %3 %)")
                                                  .arg(meanSe(g.epr_total.mean, g.epr_total.se), meanSe(nf.mean, nf.se))
                                                  .arg(QString::number(100.0 * rel, 'f', 1).replace(QLatin1Char('-'), QChar(0x2212)));
                const double se = std::hypot(g.epr_total.se, nf.se);
                if (std::abs(g.epr_total.mean - nf.mean) > std::max(3.0 * se, 0.02 * std::abs(nf.mean))) {
                    x += QStringLiteral("<br><span style=\"color:#c77800;\">") +
                         tr("The learned total is more than 2 % from the exact one.") + QStringLiteral("</span>");
                }
            }
            // The Euler chain is not the SDE: its share of E[div v], next to the total.
            const MeanSe& ts = g.div_v_time_step;
            if (ts.count > 0 && std::isfinite(ts.mean) && nf.count > 0 && std::isfinite(nf.mean) && nf.mean != 0.0) {
                x += QStringLiteral("<br>") + tr("Time step's share of E[∇·v]: %1 per particle (%2 % of the total; smaller dt, smaller share)")
                                                  .arg(meanSe(ts.mean, ts.se))
                                                  .arg(100.0 * std::abs(ts.mean) / std::abs(nf.mean), 0, 'f', 0);
            }
            xPart_->setText(x);
            break;
        }
        case XPart::Unavailable:
            xPart_->setText(tr("Positional part: not available (no position score)."));
            break;
        }
    } else {
        // Nothing is known yet: say so, and nothing else.
        epr_->setText(QStringLiteral("—"));
        details_->setText(tr("Waiting for the first evaluation of the learned score…"));
        xPart_->clear();
    }
    QString tt = tr("Training: %1 · %2 steps").arg(QString::fromStdString(t.source), QLocale().toString(static_cast<qulonglong>(t.network_steps)));
    if (t.steps_per_second > 0.0) {
        tt += tr(" (%1/s)").arg(t.steps_per_second, 0, 'f', t.steps_per_second < 10.0 ? 2 : 1);
    }
    if (std::isfinite(t.recent_loss) && t.session_steps > 0) {
        tt += tr(" · loss %1").arg(QString::number(t.recent_loss, 'g', 4).replace(QLatin1Char('-'), QChar(0x2212)));
    }
    if (t.batch > 0) {
        tt += tr(" · batch %1").arg(t.batch);
    }
    training_->setText(tt);
    message_->setText(QString::fromStdString(t.message).toHtmlEscaped());
    message_->setStyleSheet(t.failed ? QStringLiteral("color: #d33;") : QString());
}

}  // namespace entroscope::widgets

#include "widgets/entropy_panel.hpp"

#include <QComboBox>
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
    colourBy_->addItem(tr("Local entropy production σᵢ"), static_cast<int>(ColourBy::LocalEntropyProduction));
    vForm->addRow(tr("Colour by"), colourBy_);
    colourNote_ = makeNoteLabel(QString(), view);
    vForm->addRow(colourNote_);
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
        Q_EMIT colourByChanged(colourBy());
    });
    setColourBy(ColourBy::ActiveAngle);
    setReadout(EntropyReadout{});
}

EntropyPanel::ColourBy EntropyPanel::colourBy() const
{
    return static_cast<ColourBy>(colourBy_->currentData().toInt());
}

void EntropyPanel::setColourBy(ColourBy c)
{
    {
        const QSignalBlocker block(colourBy_);
        colourBy_->setCurrentIndex(colourBy_->findData(static_cast<int>(c)));
    }
    if (c == ColourBy::ActiveAngle) {
        colourNote_->setText(tr("Direction of the active variable (AOUP: atan2(g<sub>y</sub>, g<sub>x</sub>); "
                                "ABP: θ), cyclic map."));
    } else {
        colourNote_->setText(tr("Instantaneous σ<sub>i</sub> = |v<sub>a,i</sub>|²/D<sub>a</sub> ≥ 0 of the "
                                "newest evaluation (its time is in the caption); viridis, 0 to the 99th "
                                "percentile."));
    }
}

void EntropyPanel::setReadout(const EntropyReadout& r)
{
    const bool aoup = r.model == ModelKind::Aoup;
    convention_->setText(
        aoup ? tr("AOUP: σ<sub>i</sub> = γ |g<sub>i</sub> + s<sub>g,i</sub>|², mean over the last evaluations "
                  "± standard error; k<sub>B</sub> per unit time.")
             : tr("ABP: σ<sub>i</sub> = D<sub>r</sub> s<sub>θ,i</sub>², mean over the last evaluations "
                  "± standard error; k<sub>B</sub> per unit time."));
    if (!r.trainingEnabled) {
        epr_->setText(QStringLiteral("—"));
        details_->setText(tr("Online training is off."));
        xPart_->clear();
        training_->clear();
        message_->clear();
        return;
    }
    if (r.evaluations > 0) {
        epr_->setText(meanSe(r.epr, r.eprSe));
        QString d = tr("Learned estimate after %1 training steps; %2 evaluation(s), newest at t = %3 "
                       "(took %4 s).")
                        .arg(QLocale().toString(static_cast<qulonglong>(r.evaluatedAtTrainingStep)))
                        .arg(r.evaluations)
                        .arg(r.evaluatedAtTime, 0, 'g', 5)
                        .arg(r.evaluationSeconds, 0, 'f', 1);
        if (std::isfinite(r.eprDiv)) {
            d += QStringLiteral("<br>") +
                 tr("Divergence estimator %1: %2<br>gap (|v|² − div): %3")
                     .arg(aoup ? tr("−γ(2 + ∇<sub>g</sub>·s<sub>g</sub>)") : tr("−D<sub>r</sub> ∂<sub>θ</sub>s<sub>θ</sub>"))
                     .arg(meanSe(r.eprDiv, r.eprDivSe), meanSe(r.gap, r.gapSe));
        }
        // The two estimators agree in expectation only for the true score.
        if (std::isfinite(r.gap) && std::isfinite(r.gapSe) &&
            std::abs(r.gap) > std::max(3.0 * r.gapSe, 0.1 * std::abs(r.epr))) {
            d += QStringLiteral("<br><span style=\"color:#c77800;\">") +
                 tr("The estimators disagree: the network is still learning; do not trust the numbers yet.") +
                 QStringLiteral("</span>");
        }
        // Without positional noise the active EPR is known without a network.
        if (std::isfinite(r.eprExact)) {
            d += QStringLiteral("<br>") + tr("Exact, no network (−⟨Σ∇<sub>x</sub>·b<sub>x</sub>⟩/N, stationary state): %1")
                                              .arg(meanSe(r.eprExact, r.eprExactSe));
            const double se = std::hypot(r.eprSe, std::isfinite(r.eprExactSe) ? r.eprExactSe : 0.0);
            if (std::isfinite(r.epr) && std::abs(r.epr - r.eprExact) > std::max(3.0 * se, 0.1 * std::abs(r.eprExact))) {
                d += QStringLiteral("<br><span style=\"color:#c77800;\">") +
                     tr("The learned value is far from the exact one: the network has not learned this state.") +
                     QStringLiteral("</span>");
            }
        }
        details_->setText(d);
    } else {
        epr_->setText(QStringLiteral("—"));
        details_->setText(tr("Waiting for the first evaluation of the learned score…"));
    }
    switch (r.xPart) {
    case EntropyReadout::XPart::Infinite:
        xPart_->setText(aoup ? tr("Positional part: infinite — ε = 0, no noise on the positions "
                                  "(hypoelliptic); only the active part is finite.")
                             : tr("Positional part: infinite — D<sub>t</sub> = 0, no noise on the positions "
                                  "(hypoelliptic); only the active part is finite."));
        break;
    case EntropyReadout::XPart::Finite:
        xPart_->setText(r.evaluations > 0 ? tr("Positional part per particle: %1").arg(meanSe(r.eprX, r.eprXSe))
                                          : QString());
        break;
    case EntropyReadout::XPart::Unavailable:
        xPart_->setText(tr("Positional part: not available (no position score)."));
        break;
    }
    QString t = tr("Training: %1 · %2 steps").arg(r.source, QLocale().toString(static_cast<qulonglong>(r.trainingSteps)));
    if (r.stepsPerSecond > 0.0) {
        t += tr(" (%1/s)").arg(r.stepsPerSecond, 0, 'f', r.stepsPerSecond < 10.0 ? 2 : 1);
    }
    if (std::isfinite(r.loss) && r.trainingSteps > 0) {
        t += tr(" · loss %1").arg(QString::number(r.loss, 'g', 4).replace(QLatin1Char('-'), QChar(0x2212)));
    }
    if (r.batch > 0) {
        t += tr(" · batch %1").arg(r.batch);
    }
    training_->setText(t);
    message_->setText(r.message.toHtmlEscaped());
    message_->setStyleSheet(r.failed ? QStringLiteral("color: #d33;") : QString());
}

}  // namespace entroscope::widgets

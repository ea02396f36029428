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
    epr_->setText(QStringLiteral("—"));
    details_->setText(tr("Waiting for the first evaluation of the learned score…"));
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
                                "state drawn (the newest evaluated one; the caption gives its time and network "
                                "step); viridis, minimum to the 99th percentile."));
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

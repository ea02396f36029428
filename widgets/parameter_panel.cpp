#include "widgets/parameter_panel.hpp"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QStyle>
#include <QVBoxLayout>
#include <cmath>
#include <vector>

#include "widgets/note_label.hpp"

namespace entroscope::widgets {

namespace {

// Sliders are integer-valued: phi in hundredths, Pe in whole units.
constexpr int kPhiScale = 100;

QWidget* sliderRow(QSlider* slider, QDoubleSpinBox* spin, QWidget* parent)
{
    auto* row = new QWidget(parent);
    auto* lay = new QHBoxLayout(row);
    lay->setContentsMargins(0, 0, 0, 0);
    lay->addWidget(slider, 1);
    lay->addWidget(spin);
    return row;
}

}  // namespace

ParameterPanel::ParameterPanel(QWidget* parent) : QWidget(parent)
{
    auto* root = new QVBoxLayout(this);

    // --- System -----------------------------------------------------------
    auto* system = new QGroupBox(tr("System"), this);
    auto* sysForm = new QFormLayout(system);
    model_ = new QComboBox(system);
    model_->setObjectName("modelCombo");
    model_->addItem(tr("AOUP — active Ornstein–Uhlenbeck"), static_cast<int>(ModelKind::Aoup));
    model_->addItem(tr("ABP — active Brownian"), static_cast<int>(ModelKind::Abp));
    sysForm->addRow(tr("Model"), model_);

    n_ = new QSpinBox(system);
    n_->setObjectName("nSpin");
    n_->setRange(16, 65536);
    n_->setSingleStep(1024);
    n_->setKeyboardTracking(false);
    n_->setToolTip(tr("Number of particles (rebuilds the system)"));
    sysForm->addRow(tr("Particles N"), n_);

    seed_ = new QSpinBox(system);
    seed_->setObjectName("seedSpin");
    seed_->setRange(0, 2147483647);
    seed_->setKeyboardTracking(false);
    seed_->setToolTip(tr("Random seed (rebuilds the system)"));
    sysForm->addRow(tr("Seed"), seed_);
    root->addWidget(system);

    // --- Parameters -------------------------------------------------------
    auto* params = new QGroupBox(tr("Parameters (change while running)"), this);
    auto* pLay = new QVBoxLayout(params);

    auto* phiLabel = new QLabel(tr("Packing fraction φ"), params);
    phiSlider_ = new QSlider(Qt::Horizontal, params);
    phiSlider_->setObjectName("phiSlider");
    phiSlider_->setRange(static_cast<int>(std::lround(kPhiMin * kPhiScale)),
                         static_cast<int>(std::lround(kPhiMax * kPhiScale)));
    phiSlider_->setPageStep(5);
    phiSpin_ = new QDoubleSpinBox(params);
    phiSpin_->setObjectName("phiSpin");
    phiSpin_->setRange(kPhiMin, kPhiMax);
    phiSpin_->setDecimals(3);
    phiSpin_->setSingleStep(0.01);
    phiSpin_->setKeyboardTracking(false);
    pLay->addWidget(phiLabel);
    pLay->addWidget(sliderRow(phiSlider_, phiSpin_, params));
    phiNote_ = makeNoteLabel(QString(), params);
    pLay->addWidget(phiNote_);

    auto* peLabel = new QLabel(tr("Activity: Péclet number Pe"), params);
    peSlider_ = new QSlider(Qt::Horizontal, params);
    peSlider_->setObjectName("peSlider");
    peSlider_->setRange(0, static_cast<int>(kPeMax));
    peSlider_->setPageStep(10);
    peSpin_ = new QDoubleSpinBox(params);
    peSpin_->setObjectName("peSpin");
    peSpin_->setRange(0.0, kPeMax);
    peSpin_->setDecimals(1);
    peSpin_->setSingleStep(5.0);
    peSpin_->setKeyboardTracking(false);
    pLay->addSpacing(6);
    pLay->addWidget(peLabel);
    pLay->addWidget(sliderRow(peSlider_, peSpin_, params));
    peConvention_ = makeNoteLabel(QString(), params);
    pLay->addWidget(peConvention_);

    derived_ = makeNoteLabel(QString(), params);
    derived_->setObjectName("derivedLabel");
    pLay->addSpacing(4);
    pLay->addWidget(derived_);
    // The time step: the stability bound is fast; the time-step share of
    // E[div v] falls linearly with dt (docs/notebook/time-step-share.md).
    auto* dtRow = new QHBoxLayout;
    dtRow->addWidget(new QLabel(tr("Time step dt"), params));
    dt_ = new QComboBox(params);
    dt_->setObjectName("timeStepCombo");
    dt_->setToolTip(tr("The simulation's time step, applied to the running system at its state. A smaller dt "
                       "makes the Euler chain's own E[∇·v] (its time-step share, shown with the EPR) smaller, at "
                       "the same cost per step: the simulation runs slower in simulation time by the same factor."));
    dtRow->addWidget(dt_, 1);
    pLay->addLayout(dtRow);
    root->addWidget(params);

    // --- Run control ------------------------------------------------------
    auto* control = new QGroupBox(tr("Run"), this);
    auto* cLay = new QHBoxLayout(control);
    run_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPause), tr("Pause"), control);
    run_->setObjectName("runButton");
    run_->setCheckable(true);
    run_->setChecked(true);
    step_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaSkipForward), tr("Step"), control);
    step_->setObjectName("stepButton");
    step_->setToolTip(tr("Advance one chunk of steps while paused"));
    reset_ = new QPushButton(style()->standardIcon(QStyle::SP_BrowserReload), tr("Reset"), control);
    reset_->setObjectName("resetButton");
    reset_->setToolTip(tr("Rebuild the system from a fresh random state"));
    cLay->addWidget(run_);
    cLay->addWidget(step_);
    cLay->addWidget(reset_);
    root->addWidget(control);

    auto* help = makeNoteLabel(tr("View: drag to pan, wheel to zoom, <b>R</b> to fit the box."), this);
    root->addWidget(help);
    root->addStretch(1);

    connect(phiSlider_, &QSlider::valueChanged, this, &ParameterPanel::onPhiSlider);
    connect(phiSpin_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &ParameterPanel::onPhiSpin);
    connect(peSlider_, &QSlider::valueChanged, this, &ParameterPanel::onPeSlider);
    connect(peSpin_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &ParameterPanel::onPeSpin);
    connect(model_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int) {
        Q_EMIT modelChanged(model());
    });
    connect(n_, qOverload<int>(&QSpinBox::valueChanged), this, [this](int) { Q_EMIT systemChanged(); });
    connect(dt_, qOverload<int>(&QComboBox::activated), this, [this](int i) {
        const double dt = dt_->itemData(i).toDouble();
        if (std::abs(dt - cfg_.dt) <= 1e-12 * cfg_.dt) return;
        setTimeStep(dt);
        Q_EMIT timeStepChanged(dt);
    });
    connect(seed_, qOverload<int>(&QSpinBox::valueChanged), this, [this](int) { Q_EMIT systemChanged(); });
    connect(run_, &QPushButton::toggled, this, [this](bool on) {
        setRunning(on);
        Q_EMIT runToggled(on);
    });
    connect(step_, &QPushButton::clicked, this, &ParameterPanel::stepRequested);
    connect(reset_, &QPushButton::clicked, this, &ParameterPanel::resetRequested);

    setConfig(default_config(ModelKind::Aoup));
}

void ParameterPanel::setConfig(const Config& cfg)
{
    cfg_ = cfg;
    const QSignalBlocker b1(model_), b2(n_), b3(seed_), b4(phiSlider_), b5(phiSpin_), b6(peSlider_),
        b7(peSpin_);
    model_->setCurrentIndex(cfg.model == ModelKind::Aoup ? 0 : 1);
    n_->setValue(cfg.n);
    seed_->setValue(static_cast<int>(cfg.seed & 0x7fffffffu));
    phiSpin_->setValue(cfg.phi);
    phiSlider_->setValue(static_cast<int>(std::lround(cfg.phi * kPhiScale)));
    const double pe = cfg.peclet();
    if (pe > peSpin_->maximum()) {
        peSpin_->setMaximum(pe);
    }
    peSpin_->setValue(pe);
    peSlider_->setValue(static_cast<int>(std::lround(pe)));
    updateConventionText();
}

void ParameterPanel::setTimeStep(double dt)
{
    cfg_.dt = dt;
    cfg_.dt_auto = false;
    updateConventionText();
}

void ParameterPanel::updateTimeSteps()
{
    const QSignalBlocker block(dt_);
    dt_->clear();
    std::vector<std::pair<double, QString>> items;
    if (cfg_.model == ModelKind::Abp) {
        // The share at the embedded default: 57 % of the EPR at the bound
        // (1e-4), 16 % at a quarter of it, 3.8 % at 0.075 of it.
        const double bound = cfg_.abp_time_step();
        items = {{bound, tr("%1 (stability bound; fast)").arg(bound, 0, 'g', 3)},
                 {0.25 * bound, tr("%1 (a quarter: 4× slower)").arg(0.25 * bound, 0, 'g', 3)},
                 {0.075 * bound, tr("%1 (time-step share ≤ 5 %; 13× slower)").arg(0.075 * bound, 0, 'g', 3)}};
    } else {
        for (double f : {1.0, 0.5, 0.25, 0.1}) items.push_back({f * cfg_.dt, QString::number(f * cfg_.dt, 'g', 3)});
    }
    bool found = false;
    for (const auto& [v, text] : items) found = found || std::abs(v - cfg_.dt) <= 1e-9 * v;
    if (!found) items.insert(items.begin(), {cfg_.dt, tr("%1 (now)").arg(cfg_.dt, 0, 'g', 3)});
    for (const auto& [v, text] : items) dt_->addItem(text, v);
    for (int i = 0; i < dt_->count(); ++i) {
        if (std::abs(dt_->itemData(i).toDouble() - cfg_.dt) <= 1e-9 * cfg_.dt) dt_->setCurrentIndex(i);
    }
}

void ParameterPanel::setRunning(bool running)
{
    const QSignalBlocker block(run_);
    run_->setChecked(running);
    run_->setText(running ? tr("Pause") : tr("Run"));
    run_->setIcon(style()->standardIcon(running ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay));
    step_->setEnabled(!running);
}

ModelKind ParameterPanel::model() const
{
    return static_cast<ModelKind>(model_->currentData().toInt());
}
int ParameterPanel::particleCount() const { return n_->value(); }
std::uint64_t ParameterPanel::seed() const { return static_cast<std::uint64_t>(seed_->value()); }
double ParameterPanel::packingFraction() const { return phiSpin_->value(); }
double ParameterPanel::peclet() const { return peSpin_->value(); }

void ParameterPanel::onPhiSlider(int v)
{
    const double phi = static_cast<double>(v) / kPhiScale;
    {
        const QSignalBlocker block(phiSpin_);
        phiSpin_->setValue(phi);
    }
    cfg_.phi = phi;
    updateConventionText();
    Q_EMIT packingFractionChanged(phi);
}

void ParameterPanel::onPhiSpin(double phi)
{
    {
        const QSignalBlocker block(phiSlider_);
        phiSlider_->setValue(static_cast<int>(std::lround(phi * kPhiScale)));
    }
    cfg_.phi = phi;
    updateConventionText();
    Q_EMIT packingFractionChanged(phi);
}

void ParameterPanel::onPeSlider(int v)
{
    const double pe = static_cast<double>(v);
    {
        const QSignalBlocker block(peSpin_);
        peSpin_->setValue(pe);
    }
    cfg_ = cfg_.with_peclet(pe);
    updateConventionText();
    Q_EMIT pecletChanged(pe);
}

void ParameterPanel::onPeSpin(double pe)
{
    {
        const QSignalBlocker block(peSlider_);
        peSlider_->setValue(static_cast<int>(std::lround(pe)));
    }
    cfg_ = cfg_.with_peclet(pe);
    updateConventionText();
    Q_EMIT pecletChanged(pe);
}

void ParameterPanel::updateConventionText()
{
    updateTimeSteps();
    const double L = std::sqrt(cfg_.n * cfg_.particle_area() / cfg_.phi);
    if (cfg_.model == ModelKind::Aoup) {
        peConvention_->setText(
            tr("Pe = v<sub>0</sub> / (2 r<sub>0</sub> γ): persistence length over diameter "
               "(r<sub>0</sub> = %1, γ = %2).")
                .arg(cfg_.r0, 0, 'g', 3)
                .arg(cfg_.gamma, 0, 'g', 3));
        phiNote_->setText(tr("φ = N π r<sub>0</sub><sup>2</sup> / L<sup>2</sup> is <i>nominal</i>; the soft "
                             "repulsion lets particles overlap, so the effective packing is "
                             "10–20% higher."));
        derived_->setText(tr("v<sub>0</sub> = %1, dt = %2, box L = %3").arg(cfg_.v0, 0, 'g', 4).arg(cfg_.dt, 0, 'g', 3).arg(L, 0, 'f', 1));
    } else {
        if (cfg_.pe_convention == PecletConvention::FixedSpeed) {
            peConvention_->setText(
                tr("Pe = 3 v<sub>0</sub> / (σ D<sub>r</sub>) at fixed speed v<sub>0</sub> (Stenhammar et al.): Pe "
                   "sets the noise, D<sub>r</sub> = 3 v<sub>0</sub> / (σ Pe), D<sub>t</sub> = D<sub>r</sub> σ<sup>2</sup> / 3."));
        } else {
            peConvention_->setText(
                tr("Pe = 3 v<sub>0</sub> / (σ D<sub>r</sub>) at fixed D<sub>r</sub> = %1, D<sub>t</sub> = %2 (from "
                   "the config): Pe sets v<sub>0</sub>.")
                    .arg(cfg_.D_r, 0, 'g', 3)
                    .arg(cfg_.D_t, 0, 'g', 3));
        }
        phiNote_->setText(tr("φ = N π σ<sup>2</sup> / (4 L<sup>2</sup>) with the WCA diameter σ."));
        derived_->setText(tr("v<sub>0</sub> = %1, D<sub>r</sub> = %2, D<sub>t</sub> = %3, dt = %4, box L = %5")
                              .arg(cfg_.v0, 0, 'g', 4)
                              .arg(cfg_.D_r, 0, 'g', 3)
                              .arg(cfg_.D_t, 0, 'g', 3)
                              .arg(cfg_.dt, 0, 'g', 3)
                              .arg(L, 0, 'f', 1));
    }
}

}  // namespace entroscope::widgets

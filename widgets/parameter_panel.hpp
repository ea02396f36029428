#pragma once
// Controls for a running simulation: model, N, seed, packing fraction,
// activity as a Péclet number (with its convention), run/pause/step/reset.
// The panel only emits intents; the main window turns them into worker
// commands, and feeds the current configuration back with setConfig().
#include <QWidget>

#include "entroscope/core/config.hpp"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;

namespace entroscope::widgets {

class ParameterPanel : public QWidget {
    Q_OBJECT
public:
    explicit ParameterPanel(QWidget* parent = nullptr);

    // Show a configuration (no signals are emitted).
    void setConfig(const Config& cfg);
    // A new time step of the running system (no signal): the user's, so a
    // change of Pe keeps it.
    void setTimeStep(double dt);
    double timeStep() const { return cfg_.dt; }
    // Reflect the worker's run state on the run/pause button (no signal).
    void setRunning(bool running);

    ModelKind model() const;
    int particleCount() const;
    std::uint64_t seed() const;
    double packingFraction() const;
    double peclet() const;

    static constexpr double kPhiMin = 0.05;
    static constexpr double kPhiMax = 0.90;
    static constexpr double kPeMax = 500.0;

Q_SIGNALS:
    void packingFractionChanged(double phi);
    void pecletChanged(double pe);
    // Model, N or seed changed: the system must be rebuilt.
    void modelChanged(entroscope::ModelKind model);
    void systemChanged();
    // A time step chosen from the panel's presets (applied to the running
    // system at its state).
    void timeStepChanged(double dt);
    void runToggled(bool run);
    void stepRequested();
    void resetRequested();

private:
    void updateConventionText();
    void onPhiSlider(int v);
    void onPhiSpin(double v);
    void onPeSlider(int v);
    void onPeSpin(double v);

    Config cfg_;
    QComboBox* model_ = nullptr;
    QSpinBox* n_ = nullptr;
    QSpinBox* seed_ = nullptr;
    QSlider* phiSlider_ = nullptr;
    QDoubleSpinBox* phiSpin_ = nullptr;
    QSlider* peSlider_ = nullptr;
    QDoubleSpinBox* peSpin_ = nullptr;
    QLabel* peConvention_ = nullptr;
    QLabel* phiNote_ = nullptr;
    QLabel* derived_ = nullptr;
    QComboBox* dt_ = nullptr;
    void updateTimeSteps();
    QPushButton* run_ = nullptr;
    QPushButton* step_ = nullptr;
    QPushButton* reset_ = nullptr;
};

}  // namespace entroscope::widgets

#pragma once
// The learned entropy production (SPEC §2) as the window shows it: the
// active EPR per particle with its standard error and convention, the second
// (divergence) estimator and the gap between them, the positional part (or
// why it is infinite), the state of online training, and the colour-by
// choice of the particle view. The panel formats plain numbers handed to it
// by the main window; it never sees the engine's state.
#include <QString>
#include <QWidget>
#include <cstdint>
#include <limits>

#include "entroscope/core/config.hpp"

class QComboBox;
class QLabel;

namespace entroscope::widgets {

struct EntropyReadout {
    bool trainingEnabled = true;
    ModelKind model = ModelKind::Abp;
    int n = 0;

    // Global estimate, per particle (k_B per unit time); valid when evaluations > 0.
    std::int64_t evaluations = 0;
    double epr = 0.0, eprSe = 0.0;        // |v|^2 estimator
    double eprDiv = 0.0, eprDivSe = 0.0;  // divergence estimator (NaN when unavailable)
    double gap = 0.0, gapSe = 0.0;        // epr - eprDiv
    enum class XPart { Infinite, Finite, Unavailable } xPart = XPart::Infinite;
    double eprX = 0.0, eprXSe = 0.0;
    // Network-free active EPR per particle, -<sum div_x b_x>/N: exact at
    // stationarity when the positions have no noise (NaN otherwise).
    double eprExact = std::numeric_limits<double>::quiet_NaN(), eprExactSe = 0.0;
    std::uint64_t evaluatedAtTrainingStep = 0;
    double evaluatedAtTime = 0.0;
    double evaluationSeconds = 0.0;  // wall time of one evaluation

    // Training.
    std::uint64_t trainingSteps = 0;
    double stepsPerSecond = 0.0;
    double loss = 0.0;  // NaN before the first step
    int batch = 0;
    QString source;     // "fresh network", "pretrained default_fast.pt"
    QString message;    // status or error text
    bool failed = false;
};

class EntropyPanel : public QWidget {
    Q_OBJECT
public:
    enum class ColourBy { ActiveAngle = 0, LocalEntropyProduction = 1 };

    explicit EntropyPanel(QWidget* parent = nullptr);

    void setReadout(const EntropyReadout& r);
    ColourBy colourBy() const;
    // No signal.
    void setColourBy(ColourBy c);

Q_SIGNALS:
    void colourByChanged(entroscope::widgets::EntropyPanel::ColourBy c);

private:
    QComboBox* colourBy_ = nullptr;
    QLabel* colourNote_ = nullptr;
    QLabel* epr_ = nullptr;
    QLabel* convention_ = nullptr;
    QLabel* details_ = nullptr;
    QLabel* xPart_ = nullptr;
    QLabel* training_ = nullptr;
    QLabel* message_ = nullptr;
};

}  // namespace entroscope::widgets

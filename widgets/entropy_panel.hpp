#pragma once
// The learned entropy production (SPEC §2) as the window shows it: the
// active EPR per particle with its standard error and convention, the second
// (divergence) estimator and the gap between them, the positional part (or
// why it is infinite), the state of online training, and the colour-by
// choice of the particle view. The panel formats what a session frame
// carries (its global estimate and training status); it holds no engine
// object and draws nothing of a frame's state.
#include <QString>
#include <QWidget>
#include <cstdint>

#include "entroscope/core/config.hpp"
#include "entroscope/session/frame.hpp"
#include "render/colour_rules.hpp"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;

namespace entroscope::widgets {

class EntropyPanel : public QWidget {
    Q_OBJECT
public:
    // What the particle view colours by: every per-particle quantity of
    // render/colour_rules (LocalEntropyProduction: sigma_i, |v|^2 estimator).
    enum class ColourBy {
        ActiveAngle = 0,
        LocalEntropyProduction = 1,
        DivergenceEstimator = 2,
        ActiveSpeed = 3,
        PositionSpeed = 4,
        LocalDensity = 5,
        ParticleType = 6
    };
    static render::Quantity quantity(ColourBy c);
    // The quantity's values come from the network (an evaluated state).
    static bool learned(ColourBy c);

    explicit EntropyPanel(QWidget* parent = nullptr);

    void setFrame(const Frame& f);
    ColourBy colourBy() const;
    // No signal. A new quantity returns the colour range to automatic.
    void setColourBy(ColourBy c);

    // The colour range of the particle view: quantiles (5-95 %, 0-99 %),
    // or lo..hi fixed by the user, or held: the automatic range of the
    // frame on screen when "Hold range" was checked, kept for every frame
    // after (for movies) until it is unchecked or the quantity changes.
    render::RangeRule rangeRule() const;
    bool rangeHeld() const;
    // The range the view drew last (no signal): what "Hold range" freezes,
    // and what the lo/hi boxes show while the range is automatic.
    void setShownRange(double lo, double hi);

Q_SIGNALS:
    void colourByChanged(entroscope::widgets::EntropyPanel::ColourBy c);
    void rangeRuleChanged();

private:
    void setRangeMode(render::RangeMode m);
    void updateRangeControls();

    QComboBox* colourBy_ = nullptr;
    QComboBox* rangeMode_ = nullptr;
    QDoubleSpinBox* rangeLo_ = nullptr;
    QDoubleSpinBox* rangeHi_ = nullptr;
    QCheckBox* hold_ = nullptr;
    render::RangeMode automatic_ = render::RangeMode::Quantiles0To99;  // the one a held range returns to
    double shownLo_ = 0.0, shownHi_ = 1.0;
    ColourBy quantity_ = ColourBy::ActiveAngle;
    QLabel* colourNote_ = nullptr;
    QLabel* epr_ = nullptr;
    QLabel* convention_ = nullptr;
    QLabel* details_ = nullptr;
    QLabel* xPart_ = nullptr;
    QLabel* training_ = nullptr;
    QLabel* message_ = nullptr;
};

}  // namespace entroscope::widgets

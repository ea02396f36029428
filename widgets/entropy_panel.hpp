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

class QComboBox;
class QLabel;

namespace entroscope::widgets {

class EntropyPanel : public QWidget {
    Q_OBJECT
public:
    enum class ColourBy { ActiveAngle = 0, LocalEntropyProduction = 1 };

    explicit EntropyPanel(QWidget* parent = nullptr);

    void setFrame(const Frame& f);
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

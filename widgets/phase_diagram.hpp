#pragma once
// The phase-diagram explorer: the (phi, Pe) plane of the running model with
// every measured state as a point (live runs and sweeps), coloured by a
// chosen value (the learned EPR per particle by default) and marked by its
// phase (circle: homogeneous, square: separated, triangle: failed), the
// running state as a ring. Hover shows a point's numbers; a click asks to
// move the sliders there. A form sets up a sweep (a grid, a rectangle
// dragged on the plane, or a list of points) that the window runs in the
// background; its points fill in as they finish, with progress and an ETA.
// The widget holds no engine object: sweeps go out as requests.
#include <QElapsedTimer>
#include <QRectF>
#include <QSize>
#include <QString>
#include <QWidget>
#include <memory>
#include <vector>

#include "entroscope/session/frame.hpp"
#include "entroscope/session/sweep.hpp"
#include "widgets/phase_map.hpp"

class QChart;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QScatterSeries;
class QSpinBox;
class QValueAxis;

namespace entroscope::widgets {

class PhaseChartView;
class ColourBar;

struct SweepRequest {
    std::vector<SweepPoint> points;
    SweepOptions options;  // model_path empty: the window supplies the running network (when options.network)
    enum class Network { Transfer, TrainPerPoint, None };
    Network network = Network::Transfer;
    int threads = 1;
    int n = 0;             // particles per point (0: the running system's)
};

class PhaseDiagram : public QWidget {
    Q_OBJECT
public:
    explicit PhaseDiagram(QWidget* parent = nullptr);
    ~PhaseDiagram() override;

    // Live points and the "you are here" ring; cheap, any rate (redraws
    // only on news).
    void takeFrames(const std::shared_ptr<const Frame>& newest, const std::shared_ptr<const Frame>& learned);
    void addSweepResult(const SweepResult& r, ModelKind model, int n);
    // A point of a sweep run from the window, at `pointConfig`: resumable.
    void addSweepPoint(const SweepResult& r, const Config& pointConfig);
    // Progress of the running sweep in [0, 1]; the ETA is extrapolated.
    void setSweepProgress(double fraction);
    void setSweepRunning(bool running);
    void setSweepMessage(const QString& text);

    const PhaseMap& map() const { return map_; }
    PhaseMap& map() { return map_; }
    void setColourBy(PhaseColour c);
    PhaseColour colourBy() const { return colour_; }
    // The form as a request (points from the grid, or from the list when
    // it is not empty). Throws nothing; `error` says what is wrong (and the
    // request has no points then).
    SweepRequest request(QString* error = nullptr) const;
    // Fills the form's phi and Pe ranges from a rectangle of the plane.
    void selectRectangle(const QRectF& phiPe);
    // Points drawn now (of the shown model) and the text a hover on point
    // `i` of map().points() shows.
    int shownPoints() const { return shown_; }
    QString tooltip(std::size_t i) const;
    QChart* chart() const { return chart_; }
    // The plane as a figure (PNG, SVG or PDF by the extension; its legend
    // and a title naming the colour); also in the plane's context menu. The
    // colour scale is the title's range. False with `error` set on failure.
    bool saveFigure(const QString& path, QSize size, QString* error = nullptr);
    // Redraws now (tests).
    void redraw();

Q_SIGNALS:
    void sweepRequested(const entroscope::widgets::SweepRequest& request);
    void sweepCancelRequested();
    // A click on a point without a state (a table's row): go there.
    void pointActivated(double phi, double pe);
    // A click on a point with a state: resume it (index into map().points()).
    void pointResumeRequested(std::size_t index);

private:
    void onHover(const QPointF& at, bool state);
    void onClick(const QPointF& at);
    std::ptrdiff_t nearest(const QPointF& at) const;
    void startClicked();

    PhaseMap map_;
    PhaseColour colour_ = PhaseColour::EprActive;
    ModelKind model_ = ModelKind::Abp;
    bool haveModel_ = false;
    double herePhi_ = -1.0, herePe_ = -1.0;
    std::uint64_t drawnRevision_ = ~std::uint64_t(0);
    int shown_ = 0;
    std::vector<std::size_t> shownIndex_;

    QChart* chart_ = nullptr;
    PhaseChartView* view_ = nullptr;
    QValueAxis* x_ = nullptr;
    QValueAxis* y_ = nullptr;
    QScatterSeries* homogeneous_ = nullptr;
    QScatterSeries* separated_ = nullptr;
    QScatterSeries* failed_ = nullptr;
    QScatterSeries* here_ = nullptr;
    ColourBar* bar_ = nullptr;
    QComboBox* colourCombo_ = nullptr;
    QDoubleSpinBox* phiFrom_ = nullptr;
    QDoubleSpinBox* phiTo_ = nullptr;
    QSpinBox* phiCount_ = nullptr;
    QDoubleSpinBox* peFrom_ = nullptr;
    QDoubleSpinBox* peTo_ = nullptr;
    QSpinBox* peCount_ = nullptr;
    QLineEdit* list_ = nullptr;
    QSpinBox* n_ = nullptr;
    QSpinBox* burnIn_ = nullptr;
    QSpinBox* samples_ = nullptr;
    QSpinBox* sampleEvery_ = nullptr;
    QComboBox* network_ = nullptr;
    QSpinBox* trainSteps_ = nullptr;
    QSpinBox* threads_ = nullptr;
    QPushButton* start_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* eta_ = nullptr;
    QLabel* message_ = nullptr;
    QElapsedTimer sweepClock_;
    bool sweeping_ = false;
};

}  // namespace entroscope::widgets

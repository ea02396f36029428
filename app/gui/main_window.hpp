#pragma once
// The Entroscope main window: the particle view in the centre, the parameter
// panel in a dock, the simulation state in the status bar.
#include <QImage>
#include <QMainWindow>
#include <QTimer>
#include <memory>

#include "engine/config.hpp"

class QLabel;

namespace entroscope::render {
class ParticleScene;
}
namespace entroscope::widgets {
class ParameterPanel;
class VtkView;
}  // namespace entroscope::widgets

namespace entroscope::gui {

class SimulationController;
struct Snapshot;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // Starts running `cfg` at once.
    explicit MainWindow(const Config& cfg, QWidget* parent = nullptr);
    ~MainWindow() override;

    SimulationController* simulation() const { return sim_; }
    widgets::VtkView* view() const { return view_; }
    widgets::ParameterPanel* panel() const { return panel_; }

    // The whole window as an image, with the GL view read back from its
    // framebuffer (so it is never missing or black).
    QImage grabWindowImage();
    // The newest snapshot on screen (null before the first one).
    std::shared_ptr<const Snapshot> shownSnapshot() const { return shown_; }

public Q_SLOTS:
    // Take the newest snapshot, if it is new, and repaint.
    void refreshDisplay();
    bool saveScreenshot(const QString& path);

private:
    void buildMenus();
    void rebuildFromPanel();
    void switchModel(ModelKind model);
    void showError(const QString& message);

    Config base_;
    SimulationController* sim_ = nullptr;
    widgets::VtkView* view_ = nullptr;
    widgets::ParameterPanel* panel_ = nullptr;
    std::unique_ptr<render::ParticleScene> scene_;
    std::shared_ptr<const Snapshot> shown_;
    QTimer displayTimer_;
    QLabel* timeLabel_ = nullptr;
    QLabel* stepLabel_ = nullptr;
    QLabel* rateLabel_ = nullptr;
    QLabel* fpsLabel_ = nullptr;
    int framesSinceTick_ = 0;
    QTimer fpsTimer_;
    QLabel* errorLabel_ = nullptr;
};

}  // namespace entroscope::gui

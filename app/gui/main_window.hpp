#pragma once
// The Entroscope main window: the particle view in the centre, the parameter
// panel in a dock, the simulation state in the status bar.
#include <QImage>
#include <QElapsedTimer>
#include <QMainWindow>
#include <QTimer>
#include <functional>
#include <memory>

#include "app/gui/session_controller.hpp"
#include "app/gui/sweep_controller.hpp"
#include "entroscope/core/config.hpp"
#include "widgets/entropy_panel.hpp"

class QAction;
class QDockWidget;
class QTemporaryDir;
class QActionGroup;
class QLabel;
class QPushButton;
class QSpinBox;
class QDoubleSpinBox;
class QMenu;
class QProgressBar;

namespace entroscope::render {
class ParticleScene;
class FieldScene;
enum class CurrentOverlay;
}
namespace entroscope::widgets {
class EntropyPanel;
class ParameterPanel;
class PlotPanel;
class PhaseDiagram;
struct SweepRequest;
struct FigureRequest;
struct MovieRequest;
struct DataRequest;
class VtkView;
}  // namespace entroscope::widgets

namespace entroscope::gui {

class CliJob;
class MovieRecorder;
struct ViewPicture;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    using ColourBy = widgets::EntropyPanel::ColourBy;

    // Starts running `cfg` at once, with online training (see
    // defaultLiveOptions) unless `opt` says otherwise.
    explicit MainWindow(const Config& cfg, QWidget* parent = nullptr);
    MainWindow(const Config& cfg, const LiveOptions& opt, QWidget* parent = nullptr);
    ~MainWindow() override;

    SessionController* simulation() const { return sim_; }
    widgets::VtkView* view() const { return view_; }
    render::ParticleScene* particleScene() const { return scene_.get(); }
    // The field view beside the particles (the local EPR density, the
    // density or |J| of the newest evaluated state; hidden when off).
    widgets::VtkView* fieldView() const { return fieldView_; }
    enum class FieldShown { Off, LocalEpr, Density, Current };
    // Arrows of the probability-flow velocity over the particles (of the
    // newest evaluated state, whose positions the particle view then shows).
    enum class Arrows { Off, PositionPart, ActivePart };
    void setArrows(Arrows a);
    Arrows arrows() const { return arrows_; }
    void setFieldShown(FieldShown f);
    // The coarse-grained current J(r) over the field view (arrows or
    // streamlines of the newest evaluated state).
    using CurrentOverlay = render::CurrentOverlay;
    void setCurrentOverlay(CurrentOverlay o);
    CurrentOverlay currentOverlay() const;
    // The same current over the particle view as well (its newest evaluated state).
    void setCurrentOverParticles(bool on);
    bool currentOverParticles() const { return currentOverParticles_; }
    render::FieldScene* fieldScene() const { return fieldScene_.get(); }
    // One camera for both views (pan and zoom together), or one each.
    void setCamerasLinked(bool on);
    bool camerasLinked() const;
    FieldShown fieldShown() const { return fieldShown_; }
    // The frame the field view draws (null before the first evaluation).
    std::shared_ptr<const Frame> shownFieldFrame() const { return fieldFrom_; }
    widgets::ParameterPanel* panel() const { return panel_; }
    widgets::EntropyPanel* entropyPanel() const { return entropy_; }
    // The live plots (a dock under the views; View > Plots hides it).
    widgets::PlotPanel* plots() const { return plots_; }
    // The phase-diagram explorer (a dock tabbed with the plots) and the
    // sweeps it starts.
    widgets::PhaseDiagram* phaseDiagram() const { return phase_; }
    SweepController* sweeps() const { return sweeps_; }
    // Move the sliders to (phi, Pe) and run there (a click on a point
    // without a state).
    void goToPoint(double phi, double pe);
    // Continue from point `index` of the phase diagram (its state and
    // physics, the running network carried over).
    void resumePoint(std::size_t index);
    // A sweep table (entroscope-cli sweep --out) into the phase diagram, and
    // the diagram's points out as one (CSV or JSON lines by the extension).
    // False, with the reason shown, when the file cannot be read or written.
    bool openSweepTable(const QString& path);
    bool savePhaseTable(const QString& path);

    // Online training on; the simulation on all cores but one and the
    // learner on one; the shipped pretrained model
    // (resources/models/default_fast.pt; ENTROSCOPE_PRETRAINED overrides the
    // path, an empty value disables it) when it fits the running system.
    static LiveOptions defaultLiveOptions();
    // Which of the display, the simulation and the learner keeps normal
    // priority when the cores are short (the default: training).
    enum class Preference { Training, Simulation, Display };
    static void applyPreference(LiveOptions& opt, Preference p);

    // The whole window as an image, with the GL view read back from its
    // framebuffer (so it is never missing or black).
    QImage grabWindowImage();
    // The frame on screen (null before the first one): the newest one, or,
    // while colouring by a learned quantity, the newest one that has it.
    std::shared_ptr<const Frame> shownFrame() const { return shown_; }

    // What the display has done since the window was built: frames the view
    // presented, and distinct pictures among them (a new state or new
    // colours), so a benchmark can tell smooth motion from repeated frames.
    struct DisplayStats {
        std::uint64_t frames_presented = 0;
        std::uint64_t pictures_drawn = 0;
        double seconds = 0.0;
    };
    DisplayStats displayStats() const;

public Q_SLOTS:
    // Take the newest frame, if it is new, and repaint.
    void refreshDisplay();
    bool saveScreenshot(const QString& path);
    // A figure of the particle or field view as `r` asks (File > Export
    // figure…): the frame on screen with its colours, range and overlays,
    // rendered off screen at the asked size (PNG) or as vectors (SVG, PDF).
    // False, with the reason shown and in *error, when it cannot be written.
    bool exportFigure(const widgets::FigureRequest& r, QString* error = nullptr);
    // Data of the newest evaluated state (its learned values with it; the
    // newest state when none is of the running system) by the extension:
    // .xyz, .vtp, .vti, .pvd, .h5/.h5md or .csv (File > Export data…).
    // False, with the reason shown and in *error, when it cannot be written.
    bool exportData(const QString& path, QString* error = nullptr);
    // Frames of a trajectory or of a fresh run of the running parameters
    // (with the running network) as H5MD, XYZ, a VTK series or CSV, written
    // by entroscope-cli export in the background (File > Export data
    // series…; progress and Cancel as for movies).
    bool startDataExport(const widgets::DataRequest& r, QString* error = nullptr);
    // Movies (File > Movie…, Ctrl+M). Live: Record starts now and takes the
    // view as shown (slider moves included) until stopRecording(). A
    // trajectory or a fresh run of the running parameters (with the running
    // network) is rendered by entroscope-cli in the background, with a
    // progress bar, the time left and Cancel in the status bar. False, with
    // the reason shown and in *error, when it cannot start.
    bool startMovie(const widgets::MovieRequest& r, QString* error = nullptr);
    // Finishes the recording's file. False, with the reason, when it could
    // not be written (nothing is then left at its path).
    bool stopRecording(QString* error = nullptr);
    bool recording() const { return recorder_ != nullptr; }
    MovieRecorder* recorder() const { return recorder_.get(); }
    // The background job (a movie of a trajectory or a fresh run).
    CliJob* job() const { return job_; }
    void setColourBy(ColourBy c);

private:
    void startSweep(const widgets::SweepRequest& r);
    void buildMenus();
    void rebuildFromPanel();
    void switchModel(ModelKind model);
    void showError(const QString& message);
    void showStatus(const Frame& newest);
    void showFrame(const std::shared_ptr<const Frame>& f);
    void showField(bool force);
    void applyFieldSettings();
    // What a view shows now, for figures and movies.
    ViewPicture viewPicture(bool field);
    void buildExportUi(QMenu* file);
    void startCliMovie(const widgets::MovieRequest& r, const QString& model, const QString& config);
    // A job on a fresh run of the running parameters: writes them (and the
    // running network, saved on the learner thread) into the job's folder,
    // then calls launch(config, model) on the GUI thread (model empty
    // without a network). Empty, or why it cannot start.
    QString withFreshRun(const QString& what, std::function<void(const QString& config, const QString& model)> launch);
    void recordFrame();

    Config base_;
    SessionController* sim_ = nullptr;
    widgets::VtkView* view_ = nullptr;
    widgets::VtkView* fieldView_ = nullptr;
    QWidget* fieldPane_ = nullptr;  // the field view with its grid and kernel controls
    QSpinBox* fieldBins_ = nullptr;
    QDoubleSpinBox* fieldWidth_ = nullptr;
    std::unique_ptr<render::FieldScene> fieldScene_;
    FieldShown fieldShown_ = FieldShown::LocalEpr;
    std::shared_ptr<const Frame> fieldFrom_;
    bool fieldDrawn_ = false;
    QActionGroup* fieldActions_ = nullptr;
    QActionGroup* overlayActions_ = nullptr;
    bool currentOverParticles_ = false;
    Arrows arrows_ = Arrows::Off;
    QActionGroup* arrowActions_ = nullptr;
    widgets::ParameterPanel* panel_ = nullptr;
    widgets::EntropyPanel* entropy_ = nullptr;
    widgets::PlotPanel* plots_ = nullptr;
    QDockWidget* plotDock_ = nullptr;
    widgets::PhaseDiagram* phase_ = nullptr;
    QDockWidget* phaseDock_ = nullptr;
    SweepController* sweeps_ = nullptr;
    std::unique_ptr<QTemporaryDir> sweepDir_;  // the running network, saved for a sweep
    QActionGroup* colourActions_ = nullptr;
    QAction* trainAction_ = nullptr;
    ColourBy colourBy_ = ColourBy::ActiveAngle;
    std::shared_ptr<const Frame> statusFrom_;
    QString lastTrainerMessage_, lastNotice_;
    bool trainingEnabled_ = true;
    std::unique_ptr<render::ParticleScene> scene_;
    std::shared_ptr<const Frame> shown_;
    QTimer displayTimer_;
    QLabel* timeLabel_ = nullptr;
    QLabel* stepLabel_ = nullptr;
    QLabel* rateLabel_ = nullptr;
    QLabel* fpsLabel_ = nullptr;
    int framesSinceTick_ = 0;
    std::uint64_t framesPresented_ = 0, picturesDrawn_ = 0;
    QElapsedTimer sinceBuilt_;
    QTimer fpsTimer_;
    QLabel* errorLabel_ = nullptr;
    QPushButton* fixButton_ = nullptr;  // "Use dt = X and resume" after a blow-up
    double fixDt_ = 0.0;
    // The system and physics at which the offer was taken: frames still
    // queued from before the new dt do not bring the button back.
    std::uint64_t fixGeneration_ = 0, fixTag_ = 0;
    bool fixTaken_ = false;
    QLabel* noteLabel_ = nullptr;
    QLabel* trainLabel_ = nullptr;
    // Export: the recording, the background job and their status-bar widgets.
    std::unique_ptr<MovieRecorder> recorder_;
    QAction* movieAction_ = nullptr;
    QAction* stopRecordAction_ = nullptr;
    QLabel* recordLabel_ = nullptr;
    CliJob* job_ = nullptr;
    QWidget* jobBox_ = nullptr;
    QLabel* jobLabel_ = nullptr;
    QProgressBar* jobBar_ = nullptr;
    std::unique_ptr<QTemporaryDir> jobDir_;
    bool jobPending_ = false;  // saving the running network for a job that is about to start
};

}  // namespace entroscope::gui

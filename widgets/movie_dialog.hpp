#pragma once
// The window's movie dialog: Record the live run, or export a movie of a
// stored trajectory or of a fresh run of the running system's parameters
// (those two run `entroscope-cli render --movie` in the background). It
// only gathers the request; the window records or starts the job.
#include <QDialog>
#include <QString>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace entroscope::widgets {

struct MovieRequest {
    enum class Source { Live, Trajectory, FreshRun };
    Source source = Source::Live;
    QString path;            // .mp4, or a folder for a PNG sequence
    QString codec = "auto";  // "auto" (H.264, MPEG-4 fallback), "h264", "mpeg4", "png"
    bool field = false;      // the field view (else the particles)
    int width = 1280, height = 720;
    double fps = 30.0;
    int quality = 23;        // H.264 CRF, 0..51, lower = better
    bool holdRange = true;   // the first frame's colour range over the whole movie
    // Trajectory and fresh run only:
    QString trajectory;      // an H5MD file (entroscope-cli simulate --out)
    int frames = 300;        // a trajectory: 0 for every stored frame at the stride
    int stride = 10;         // trajectory frames, or simulation steps, between movie frames
    long long burnIn = 100000;

    // "png" when the path names a folder (no .mp4 extension), else `codec`.
    QString effectiveCodec() const;
    // Empty when the request can be carried out, else what is wrong.
    QString problem() const;
};

class MovieDialog : public QDialog {
    Q_OBJECT
public:
    MovieDialog(bool fieldAvailable, const QString& suggestedPath, QWidget* parent = nullptr);
    MovieRequest request() const;
    void setRequest(const MovieRequest& r);
    void accept() override;

private:
    void browse();
    void browseTrajectory();
    void refresh();

    QComboBox* source_ = nullptr;
    QComboBox* view_ = nullptr;
    QLineEdit* path_ = nullptr;
    QComboBox* codec_ = nullptr;
    QSpinBox* width_ = nullptr;
    QSpinBox* height_ = nullptr;
    QDoubleSpinBox* fps_ = nullptr;
    QSpinBox* quality_ = nullptr;
    QCheckBox* hold_ = nullptr;
    QLineEdit* trajectory_ = nullptr;
    QWidget* trajectoryRow_ = nullptr;
    QSpinBox* frames_ = nullptr;
    QSpinBox* stride_ = nullptr;
    QSpinBox* burnIn_ = nullptr;
    QLabel* summary_ = nullptr;
};

}  // namespace entroscope::widgets

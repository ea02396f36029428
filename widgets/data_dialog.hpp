#pragma once
// The window's "Export data series" dialog: frames of a stored trajectory
// or of a fresh run of the running parameters, written as H5MD, Extended
// XYZ, a VTK series or CSV by `entroscope-cli export` in the background.
// It only gathers the request.
#include <QDialog>
#include <QString>

class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace entroscope::widgets {

struct DataRequest {
    enum class Source { Trajectory, FreshRun };
    Source source = Source::FreshRun;
    QString format = "h5md";  // "h5md", "xyz", "vtk" (NAME.pvd), "csv"
    QString path;
    QString trajectory;
    int frames = 100;          // a trajectory: 0 for every remaining frame
    int stride = 100;          // simulation steps (fresh run) or stored frames (trajectory)
    long long burnIn = 100000; // steps (fresh run) or stored frames skipped (trajectory)

    // The extension each format is written with (".h5", ".xyz", ".pvd", ".csv").
    static QString extension(const QString& format);
    QString problem() const;
};

class DataDialog : public QDialog {
    Q_OBJECT
public:
    DataDialog(const QString& suggestedPath, QWidget* parent = nullptr);
    DataRequest request() const;
    void setRequest(const DataRequest& r);
    void accept() override;

private:
    void refresh();

    QComboBox* source_ = nullptr;
    QComboBox* format_ = nullptr;
    QLineEdit* path_ = nullptr;
    QLineEdit* trajectory_ = nullptr;
    QSpinBox* frames_ = nullptr;
    QSpinBox* stride_ = nullptr;
    QSpinBox* burnIn_ = nullptr;
    QLabel* summary_ = nullptr;
    QLabel* burnInLabel_ = nullptr;
    QLabel* strideLabel_ = nullptr;
};

}  // namespace entroscope::widgets

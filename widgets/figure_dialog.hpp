#pragma once
// The window's "Export figure" dialog: which view, the format (by the file's
// extension: PNG, SVG or PDF), the size in pixels or as a physical size with
// a resolution, and what goes on it (caption, legend, scale bar, a
// transparent background). It only gathers the request; the window renders.
#include <QDialog>
#include <QString>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;

namespace entroscope::widgets {

struct FigureRequest {
    // Layout: both views above the EPR and diagnostics plots, one figure.
    enum class View { Particles, Field, Layout };
    View view = View::Particles;
    QString path;
    QString format;            // "png", "svg" or "pdf" (the path's extension)
    int widthPx = 1600, heightPx = 1200;  // PNG pixels
    double widthPt = 0.0, heightPt = 0.0; // SVG/PDF page in points (1/72 in)
    double dpi = 150.0;        // written into the PNG; converts a physical size
    bool caption = true, legend = true, scaleBar = true, transparent = false;
    // The colour range: the view's own (as on screen), or fixed lo .. hi.
    bool fixedRange = false;
    double rangeLo = 0.0, rangeHi = 1.0;

    // "png", "svg", "pdf" of a path, or empty for anything else.
    static QString formatOf(const QString& path);
    // Fills the sizes from a width and height in `unit` ("px", "mm" or "in")
    // at `dpi`: pixels for PNG, points for the vector formats (a pixel size
    // is taken at `dpi` too, so the page has the same physical size).
    void setSize(double w, double h, const QString& unit);
    // Empty when the request can be carried out, else what is wrong.
    QString problem() const;
};

class FigureDialog : public QDialog {
    Q_OBJECT
public:
    // `fieldAvailable`: the field view is on (else only the particles).
    FigureDialog(bool fieldAvailable, const QString& suggestedPath, QWidget* parent = nullptr);
    FigureRequest request() const;
    // Set the dialog's fields (tests, remembered settings).
    void setRequest(const FigureRequest& r, double w, double h, const QString& unit);

    void accept() override;

private:
    void browse();
    void refreshSummary();

    QComboBox* view_ = nullptr;
    QLineEdit* path_ = nullptr;
    QComboBox* unit_ = nullptr;
    QDoubleSpinBox* width_ = nullptr;
    QDoubleSpinBox* height_ = nullptr;
    QDoubleSpinBox* dpi_ = nullptr;
    QCheckBox* caption_ = nullptr;
    QCheckBox* legend_ = nullptr;
    QCheckBox* scaleBar_ = nullptr;
    QCheckBox* transparent_ = nullptr;
    QComboBox* rangeMode_ = nullptr;
    QDoubleSpinBox* rangeLo_ = nullptr;
    QDoubleSpinBox* rangeHi_ = nullptr;
    QLabel* summary_ = nullptr;
    QString lastUnit_ = "px";
};

}  // namespace entroscope::widgets

#pragma once
// The live plots beside the views (Qt Charts): the global EPR against time
// with its standard-error bands, next to the network-free and exact values
// where they exist; the zero-mean diagnostics; the training loss; and the
// histograms of sigma_i and of the local density over the particles. Each
// plot can be paused and shows a chosen number of its newest points (or of
// states, for the histograms). The panel is fed frames at display rate and
// redraws at most a few times per second, only what has news, so it never
// holds up the views or the engine.
#include <QElapsedTimer>
#include <QList>
#include <QPointF>
#include <QSize>
#include <QString>
#include <QWidget>
#include <array>
#include <cstdint>
#include <memory>

#include "entroscope/session/frame.hpp"
#include "widgets/plot_history.hpp"

class QChart;
class QChartView;
class QComboBox;
class QToolButton;
class QLabel;

class QPainter;
class QRectF;

namespace entroscope::widgets {

class PlotPanel : public QWidget {
    Q_OBJECT
public:
    enum class Plot { Epr = 0, Diagnostics, Training, SigmaHistogram, DensityHistogram };
    static constexpr int kPlots = 5;
    // Which EPR the first plot shows. Auto: the active part, unless only the
    // total has a network-free or exact value to compare with (ABP).
    enum class EprPart { Auto, Active, Total };

    explicit PlotPanel(QWidget* parent = nullptr);
    ~PlotPanel() override;

    // Takes the newest frame and the newest one with learned values (either
    // may be null). Cheap when nothing is new; redraws at most every
    // redrawIntervalMs.
    void takeFrames(const std::shared_ptr<const Frame>& newest, const std::shared_ptr<const Frame>& learned);
    // Draws everything pending now (tests, export).
    void redrawNow();
    void setRedrawIntervalMs(int ms) { redrawMs_ = ms; }

    const PlotHistory& history() const { return history_; }

    void setPaused(Plot p, bool paused);
    bool isPaused(Plot p) const;
    // Time plots: the newest `points` points (0: all). Histograms: the mean
    // over the newest `points` states (>= 1).
    void setWindowPoints(Plot p, int points);
    int windowPoints(Plot p) const;
    void setEprPart(EprPart part);
    EprPart eprPart() const { return eprPart_; }
    // What the EPR plot shows now (Auto resolved).
    bool eprShowsTotal() const;

    QChart* chart(Plot p) const;
    QChartView* chartView(Plot p) const;
    // The points of a shown curve, by its legend name (empty when it has no
    // data or is hidden).
    QList<QPointF> seriesPoints(Plot p, const QString& name) const;
    QStringList seriesNames(Plot p) const;  // curves with data, legend order
    // A click on a legend entry hides or shows its curve (the axes follow
    // the shown ones).
    void setCurveHidden(Plot p, const QString& name, bool hidden);
    bool isCurveHidden(Plot p, const QString& name) const;
    QString legendText(Plot p) const;  // the legend as plain text
    // The plot as a figure (PNG at `size` pixels, SVG or PDF at `size`
    // points, by the extension; with its legend and a title), and its data
    // as CSV: the whole history, not only the window shown (EPR and
    // diagnostics: every estimate; loss: every step; histograms: the bins
    // shown). Also in each plot's context menu. False with `error` set
    // when the file cannot be written (nothing is left at `path` then).
    bool saveFigure(Plot p, const QString& path, QSize size, QString* error = nullptr);
    // The same figure drawn into `target` of an open painter (a layout figure).
    bool paintFigure(Plot p, QPainter& painter, const QRectF& target);
    bool saveData(Plot p, const QString& path, QString* error = nullptr);
    static QString figureTitle(Plot p, bool total);
    std::uint64_t redraws(Plot p) const;

private:
    template <class F>
    bool withFigureLegend(Plot p, F&& paint);
    struct Curve;
    struct Box;
    Box& box(Plot p) const;
    QWidget* makeBox(Plot p, const QString& title, const QString& xTitle, const QString& yTitle, bool histogram);
    void drawEpr();
    void drawDiagnostics();
    void drawTraining();
    void drawSigmaHistogram();
    void drawDensityHistogram();
    void draw(Plot p);
    void drawLegend(Plot p);
    void takeHistograms(const std::shared_ptr<const Frame>& newest, const std::shared_ptr<const Frame>& learned);
    Curve& curve(Plot p, const QString& name, const QColor& colour, int style);
    void placeMarks(Plot p, double xlo, double xhi, double ylo, double yhi);

    PlotHistory history_;
    std::array<std::unique_ptr<Box>, kPlots> boxes_;
    EprPart eprPart_ = EprPart::Auto;
    bool lastShowsTotal_ = false;
    int redrawMs_ = 250;
    QElapsedTimer sinceDraw_, sinceDensity_;
    std::uint64_t drawnRevision_ = ~std::uint64_t(0);

    // Histogram inputs.
    HistogramAverage sigmaHist_, densityHist_;
    std::uint64_t sigmaIndex_ = 0, densityStep_ = ~std::uint64_t(0), histGeneration_ = ~std::uint64_t(0);
    bool sigmaNews_ = false, densityNews_ = false;
    double sigmaHi_ = 0.0;
    QString sigmaUnits_;
};

}  // namespace entroscope::widgets

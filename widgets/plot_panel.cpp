#include "widgets/plot_panel.hpp"

#include <QAction>
#include <QFileDialog>
#include <QSaveFile>
#include <QTextStream>
#include <QtCharts/QLegendMarker>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QPen>
#include <QSignalBlocker>
#include <QSplitter>
#include <QTextDocument>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtCharts/QAreaSeries>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QLegend>
#include <QtCharts/QLineSeries>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QValueAxis>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "entroscope/analysis/phase.hpp"
#include "render/colour_rules.hpp"
#include "widgets/chart_export.hpp"

namespace entroscope::widgets {

namespace {

enum Style { Solid = 0, Dashed = 1, WithBand = 2, Dots = 4 };
constexpr int kHistogramBins = 48;
// Above close packing (0.907): the kernel average of soft, overlapping disks goes past 1.
constexpr double kDensityTop = 1.2;

QColor colour(const char* hex) { return QColor(QString::fromLatin1(hex)); }

struct Range {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -std::numeric_limits<double>::infinity();
    void add(double v) {
        if (!std::isfinite(v)) return;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    bool valid() const { return lo <= hi; }
    // pad: 5 % of the span on each side, none below a floor at 0 (histograms).
    void apply(QValueAxis* axis, bool pad, bool floorAtZero = false) const {
        double a = valid() ? lo : 0.0, b = valid() ? hi : 1.0;
        if (!(b > a)) {
            const double m = std::max(std::abs(a) * 0.05, 1e-12);
            a -= m;
            b += m;
        } else if (pad) {
            const double m = 0.05 * (b - a);
            if (!(floorAtZero && a >= 0.0)) a -= m;
            b += m;
        }
        if (floorAtZero && valid() && lo >= 0.0) a = std::max(a, 0.0);
        axis->setRange(a, b);
        // Round tick labels on value axes; a time axis keeps the data's span.
        if (pad) axis->applyNiceNumbers();
    }
};

// The newest `points` of a deque (all when points <= 0).
template <class T>
std::size_t firstShown(const std::deque<T>& d, int points) {
    return points > 0 && d.size() > static_cast<std::size_t>(points) ? d.size() - static_cast<std::size_t>(points) : 0;
}

QList<QPointF> steps(const Histogram& h) {
    QList<QPointF> pts;
    if (h.density.empty()) return pts;
    const double w = h.binWidth();
    pts.reserve(static_cast<int>(2 * h.density.size() + 2));
    pts.append(QPointF(h.lo, 0.0));
    for (std::size_t i = 0; i < h.density.size(); ++i) {
        const double x0 = h.lo + w * static_cast<double>(i);
        pts.append(QPointF(x0, h.density[i]));
        pts.append(QPointF(x0 + w, h.density[i]));
    }
    pts.append(QPointF(h.hi, 0.0));
    return pts;
}

}  // namespace

// One curve of a plot: a line (with an optional standard-error band under
// it) or a cloud of dots.
struct PlotPanel::Curve {
    QString name;
    QColor colour;
    QLineSeries* line = nullptr;
    QLineSeries* upper = nullptr;
    QLineSeries* lower = nullptr;
    QAreaSeries* area = nullptr;
    QScatterSeries* dots = nullptr;
    bool hasData = false;
    bool hidden = false;

    QXYSeries* series() const { return dots ? static_cast<QXYSeries*>(dots) : static_cast<QXYSeries*>(line); }
    // Sets the data; a hidden curve keeps its data but draws nothing and
    // leaves the axes alone.
    void set(const QList<QPointF>& l, const QList<QPointF>& u, const QList<QPointF>& w, Range& y) {
        hasData = !l.isEmpty();
        series()->replace(l);
        if (area) {
            upper->replace(u);
            lower->replace(w);
        }
        const bool on = hasData && !hidden;
        series()->setVisible(on);
        if (area) area->setVisible(on);
        if (!on) return;
        for (const QPointF& q : l) y.add(q.y());
    }
    void clear() {
        Range unused;
        set({}, {}, {}, unused);
    }
};

struct PlotPanel::Box {
    QChartView* view = nullptr;
    QChart* chart = nullptr;
    QValueAxis* x = nullptr;
    QValueAxis* y = nullptr;
    QToolButton* pause = nullptr;
    QComboBox* window = nullptr;
    QLabel* legend = nullptr;
    QLabel* note = nullptr;
    bool paused = false;
    bool news = true;
    int points = 0;
    std::uint64_t redraws = 0;
    std::map<QString, Curve> curves;
    std::vector<QString> order;        // legend order
    std::vector<QLineSeries*> marks;   // parameter changes
    bool marksShown = false;
};

PlotPanel::PlotPanel(QWidget* parent) : QWidget(parent) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* split = new QSplitter(Qt::Horizontal, this);
    split->setChildrenCollapsible(false);
    layout->addWidget(split);
    split->addWidget(makeBox(Plot::Epr, tr("EPR"), tr("simulation time t"), tr("EPR per particle (k_B/t)"), false));
    split->addWidget(makeBox(Plot::Diagnostics, tr("Diagnostics"), tr("simulation time t"), tr("per particle"), false));
    split->addWidget(makeBox(Plot::Training, tr("Loss"), tr("network step"), tr("training loss"), false));
    split->addWidget(makeBox(Plot::SigmaHistogram, tr("σᵢ"), tr("σᵢ (1/t)"), tr("probability density"), true));
    split->addWidget(makeBox(Plot::DensityHistogram, tr("Density"), tr("local area fraction φᵢ"), tr("probability density"), true));
    const int stretch[kPlots] = {5, 4, 3, 3, 3};
    for (int i = 0; i < kPlots; ++i) split->setStretchFactor(i, stretch[i]);
    split->setSizes({500, 360, 260, 260, 260});
    box(Plot::Training).x->setLabelFormat(QStringLiteral("%.0f"));
    box(Plot::Training).x->setTickCount(3);
    box(Plot::Training).view->setToolTip(tr("The trainer's loss (the config's DSM or ISM), a running mean over its recent steps."));

    // The EPR plot's own choice of which part it shows.
    auto* part = new QComboBox(this);
    part->setObjectName(QStringLiteral("eprPart"));
    part->addItem(tr("auto"), static_cast<int>(EprPart::Auto));
    part->addItem(tr("active part"), static_cast<int>(EprPart::Active));
    part->addItem(tr("total"), static_cast<int>(EprPart::Total));
    part->setToolTip(tr("Which EPR to plot. Auto: the active part, unless only the total has a network-free or exact "
                        "value to compare with (ABP with translational noise)."));
    static_cast<QHBoxLayout*>(box(Plot::Epr).pause->parentWidget()->layout())->insertWidget(1, part);
    connect(part, QOverload<int>::of(&QComboBox::currentIndexChanged), this,
            [this, part](int) { setEprPart(static_cast<EprPart>(part->currentData().toInt())); });

    sinceDraw_.start();
    sinceDensity_.start();
}

PlotPanel::~PlotPanel() = default;

PlotPanel::Box& PlotPanel::box(Plot p) const { return *boxes_[static_cast<std::size_t>(p)]; }
QChart* PlotPanel::chart(Plot p) const { return box(p).chart; }
QChartView* PlotPanel::chartView(Plot p) const { return box(p).view; }
std::uint64_t PlotPanel::redraws(Plot p) const { return box(p).redraws; }
bool PlotPanel::isPaused(Plot p) const { return box(p).paused; }
int PlotPanel::windowPoints(Plot p) const { return box(p).points; }

QWidget* PlotPanel::makeBox(Plot p, const QString& title, const QString& xTitle, const QString& yTitle, bool histogram) {
    auto b = std::make_unique<Box>();
    auto* w = new QWidget(this);
    auto* v = new QVBoxLayout(w);
    v->setContentsMargins(2, 2, 2, 2);
    v->setSpacing(1);
    auto* head = new QWidget(w);
    auto* h = new QHBoxLayout(head);
    h->setContentsMargins(4, 0, 4, 0);
    h->setSpacing(4);
    auto* label = new QLabel(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()), head);
    h->addWidget(label);
    h->addStretch(1);
    b->window = new QComboBox(head);
    b->window->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    if (histogram) {
        for (int k : {1, 5, 20, 100}) b->window->addItem(k == 1 ? tr("1 state") : tr("%1 states").arg(k), k);
        b->window->setToolTip(tr("Average the histogram over the newest states."));
        b->points = 1;
    } else {
        b->window->addItem(tr("all"), 0);
        for (int k : {50, 200, 1000}) b->window->addItem(tr("last %1").arg(k), k);
        b->window->setToolTip(tr("How many of the newest points to show."));
        b->points = 0;
    }
    h->addWidget(b->window);
    b->pause = new QToolButton(head);
    b->pause->setText(QStringLiteral("❚❚"));
    b->pause->setCheckable(true);
    b->pause->setToolTip(tr("Pause this plot (its data keep being collected)."));
    h->addWidget(b->pause);
    v->addWidget(head);

    b->legend = new QLabel(w);
    b->legend->setWordWrap(true);
    b->legend->setTextFormat(Qt::RichText);
    b->legend->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    b->legend->setToolTip(tr("Click an entry to hide or show its curve."));
    QFont small = b->legend->font();
    small.setPointSizeF(std::max(6.5, small.pointSizeF() - 1.0));
    b->legend->setFont(small);
    v->addWidget(b->legend);

    b->chart = new QChart();
    b->chart->setMargins(QMargins(0, 0, 0, 0));
    b->chart->setBackgroundRoundness(0);
    b->chart->legend()->hide();
    b->x = new QValueAxis(b->chart);
    b->y = new QValueAxis(b->chart);
    for (QValueAxis* a : {b->x, b->y}) {
        a->setLabelsFont(small);
        a->setTitleFont(small);
        a->setLabelFormat(QStringLiteral("%.4g"));
        a->setTickCount(5);
    }
    b->x->setTitleText(xTitle);
    b->y->setTitleText(yTitle);
    b->chart->addAxis(b->x, Qt::AlignBottom);
    b->chart->addAxis(b->y, Qt::AlignLeft);
    b->view = new QChartView(b->chart, w);
    b->view->setRenderHint(QPainter::Antialiasing);
    b->view->setMinimumSize(150, 120);
    b->view->setObjectName(QStringLiteral("plot%1").arg(static_cast<int>(p)));
    v->addWidget(b->view, 1);
    b->note = new QLabel(w);
    b->note->setWordWrap(true);
    b->note->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    b->note->setFont(small);
    b->note->setStyleSheet(QStringLiteral("color: #666;"));
    b->note->hide();
    v->addWidget(b->note);
    w->setMinimumWidth(160);

    b->view->setContextMenuPolicy(Qt::ActionsContextMenu);
    auto* figure = new QAction(tr("Save figure (PNG, SVG, PDF)…"), b->view);
    auto* data = new QAction(tr("Save data (CSV)…"), b->view);
    b->view->addAction(figure);
    b->view->addAction(data);
    connect(figure, &QAction::triggered, this, [this, p] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save figure"), QStringLiteral("plot.pdf"),
                                                          tr("PDF (*.pdf);;SVG (*.svg);;PNG (*.png)"));
        QString error;
        if (!path.isEmpty() && !saveFigure(p, path, QSize(900, 600), &error)) {
            box(p).note->setText(error);
            box(p).note->show();
        }
    });
    connect(data, &QAction::triggered, this, [this, p] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save data"), QStringLiteral("plot.csv"), tr("CSV (*.csv)"));
        QString error;
        if (!path.isEmpty() && !saveData(p, path, &error)) {
            box(p).note->setText(error);
            box(p).note->show();
        }
    });
    connect(b->pause, &QToolButton::toggled, this, [this, p](bool on) { setPaused(p, on); });
    QComboBox* combo = b->window;
    connect(combo, QOverload<int>::of(&QComboBox::currentIndexChanged), this,
            [this, p, combo](int) { setWindowPoints(p, combo->currentData().toInt()); });
    connect(b->legend, &QLabel::linkActivated, this,
            [this, p](const QString& link) { setCurveHidden(p, link, !isCurveHidden(p, link)); });
    boxes_[static_cast<std::size_t>(p)] = std::move(b);
    return w;
}

PlotPanel::Curve& PlotPanel::curve(Plot p, const QString& name, const QColor& c, int style) {
    Box& b = box(p);
    auto it = b.curves.find(name);
    if (it != b.curves.end()) return it->second;
    Curve cv;
    cv.name = name;
    cv.colour = c;
    if (style & Dots) {
        cv.dots = new QScatterSeries(b.chart);
        cv.dots->setMarkerSize(4.0);
        QColor fill = c;
        fill.setAlphaF(0.45);
        cv.dots->setColor(fill);
        cv.dots->setBorderColor(Qt::transparent);
    } else {
        if (style & WithBand) {
            cv.upper = new QLineSeries(b.chart);
            cv.lower = new QLineSeries(b.chart);
            cv.area = new QAreaSeries(cv.upper, cv.lower);
            QColor fill = c;
            fill.setAlphaF(0.16);
            cv.area->setBrush(fill);
            cv.area->setPen(Qt::NoPen);
            b.chart->addSeries(cv.area);
            cv.area->attachAxis(b.x);
            cv.area->attachAxis(b.y);
        }
        cv.line = new QLineSeries(b.chart);
        QPen pen(c);
        pen.setWidthF(1.6);
        if (style & Dashed) pen.setStyle(Qt::DashLine);
        cv.line->setPen(pen);
    }
    cv.series()->setName(name);
    b.chart->addSeries(cv.series());
    cv.series()->attachAxis(b.x);
    cv.series()->attachAxis(b.y);
    b.order.push_back(name);
    return b.curves.emplace(name, cv).first->second;
}

QList<QPointF> PlotPanel::seriesPoints(Plot p, const QString& name) const {
    const Box& b = box(p);
    auto it = b.curves.find(name);
    if (it == b.curves.end() || !it->second.hasData || it->second.hidden) return {};
    return it->second.series()->points();
}

QStringList PlotPanel::seriesNames(Plot p) const {
    const Box& b = box(p);
    QStringList out;
    for (const QString& n : b.order) {
        if (b.curves.at(n).hasData) out << n;
    }
    return out;
}

void PlotPanel::setCurveHidden(Plot p, const QString& name, bool hidden) {
    Box& b = box(p);
    auto it = b.curves.find(name);
    if (it == b.curves.end() || it->second.hidden == hidden) return;
    it->second.hidden = hidden;
    b.news = true;
    draw(p);  // even when paused: the user asked for this picture
}

bool PlotPanel::isCurveHidden(Plot p, const QString& name) const {
    const Box& b = box(p);
    auto it = b.curves.find(name);
    return it != b.curves.end() && it->second.hidden;
}

QString PlotPanel::legendText(Plot p) const {
    QTextDocument doc;
    doc.setHtml(box(p).legend->text());
    return doc.toPlainText();
}

QString PlotPanel::figureTitle(Plot p, bool total) {
    switch (p) {
    case Plot::Epr: return total ? tr("Total entropy production rate per particle") : tr("Active entropy production rate per particle");
    case Plot::Diagnostics: return tr("Zero-mean diagnostics of the learned score");
    case Plot::Training: return tr("Training loss");
    case Plot::SigmaHistogram: return tr("Local entropy production σᵢ over the particles");
    case Plot::DensityHistogram: return tr("Local area fraction over the particles");
    }
    return {};
}

// The figure carries the chart's own legend, one entry per drawn curve,
// while `paint` runs; the on-screen chart keeps its HTML legend.
template <class F>
bool PlotPanel::withFigureLegend(Plot p, F&& paint) {
    Box& b = box(p);
    if (!b.paused) draw(p);
    QLegend* legend = b.chart->legend();
    legend->setAlignment(Qt::AlignTop);
    legend->show();
    bool markShown = false;
    for (QLegendMarker* m : legend->markers()) {
        bool on = false;
        for (const auto& [name, c] : b.curves) {
            if (m->series() == c.series()) on = c.hasData && !c.hidden;
        }
        for (QLineSeries* mark : b.marks) {
            if (m->series() == mark && mark->isVisible() && !markShown) on = markShown = true;
        }
        m->setVisible(on);
    }
    const bool ok = paint(b.chart, figureTitle(p, eprShowsTotal()));
    legend->hide();
    return ok;
}

bool PlotPanel::saveFigure(Plot p, const QString& path, QSize size, QString* error) {
    return withFigureLegend(p, [&](QChart* chart, const QString& title) { return save_chart_figure(chart, path, size, title, error); });
}

bool PlotPanel::paintFigure(Plot p, QPainter& painter, const QRectF& target) {
    return withFigureLegend(p, [&](QChart* chart, const QString& title) { return paint_chart(chart, painter, target, title); });
}

namespace {

QString cell(double v) { return std::isfinite(v) ? QString::number(v, 'g', 10) : QString(); }
QString cells(const MeanSe& m) {
    return m.count > 0 && std::isfinite(m.mean) ? cell(m.mean) + QLatin1Char(',') + cell(m.se) : QStringLiteral(",");
}

}  // namespace

bool PlotPanel::saveData(Plot p, const QString& path, QString* error) {
    QString text;
    QTextStream out(&text);
    switch (p) {
    case Plot::Epr:
    case Plot::Diagnostics:
        out << "t,index,network_step,physics_tag,evaluations,"
               "epr_active_mean,epr_active_se,epr_active_div_mean,epr_active_div_se,epr_total_mean,epr_total_se,"
               "epr_total_network_free_mean,epr_total_network_free_se,epr_active_network_free_mean,epr_active_network_free_se,"
               "div_v_mean,div_v_se,div_v_time_step_mean,div_v_time_step_se,v_dot_s_mean,v_dot_s_se,ibp_mean,ibp_se,gap_mean,gap_se,"
               "exact_active,exact_active_chain,exact_total,exact_total_chain\n";
        for (const EstimatePoint& e : history_.estimates()) {
            out << cell(e.t) << ',' << e.index << ',' << e.network_step << ',' << e.physics_tag << ',' << e.evaluations << ','
                << cells(e.active) << ',' << cells(e.active_div) << ',' << cells(e.total_finite ? e.total : MeanSe{}) << ','
                << cells(e.total_network_free) << ',' << cells(e.active_network_free) << ',' << cells(e.div_v) << ','
                << cells(e.div_v_time_step) << ',' << cells(e.v_dot_s) << ',' << cells(e.ibp) << ',' << cells(e.gap) << ','
                << cell(e.exact_active) << ',' << cell(e.exact_active_chain) << ',' << cell(e.exact_total) << ','
                << cell(e.exact_total_chain) << '\n';
        }
        break;
    case Plot::Training:
        out << "network_step,loss\n";
        for (const LossPoint& l : history_.losses()) out << cell(l.network_step) << ',' << cell(l.loss) << '\n';
        break;
    case Plot::SigmaHistogram:
    case Plot::DensityHistogram: {
        const Histogram h = (p == Plot::SigmaHistogram ? sigmaHist_ : densityHist_).mean();
        out << "bin_lo,bin_hi,probability_density\n";
        for (std::size_t i = 0; i < h.density.size(); ++i) {
            const double lo = h.lo + h.binWidth() * static_cast<double>(i);
            out << cell(lo) << ',' << cell(lo + h.binWidth()) << ',' << cell(h.density[i]) << '\n';
        }
        break;
    }
    }
    out.flush();
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(text.toUtf8()) < 0 || !file.commit()) {
        if (error) *error = QStringLiteral("%1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

void PlotPanel::drawLegend(Plot p) {
    Box& b = box(p);
    QStringList items;
    for (const QString& n : b.order) {
        const Curve& c = b.curves.at(n);
        if (!c.hasData) continue;
        const QString mark = c.dots ? QStringLiteral("●") : (c.line->pen().style() == Qt::DashLine ? QStringLiteral("╌╌") : QStringLiteral("━━"));
        const QString col = c.hidden ? QStringLiteral("#aaa") : c.colour.name();
        items << QStringLiteral("<a href=\"%1\" style=\"text-decoration:none; color:%2\">%3&nbsp;%4</a>")
                     .arg(n.toHtmlEscaped(), col, mark, QString(n.toHtmlEscaped()).replace(QLatin1Char(' '), QStringLiteral("&nbsp;")));
    }
    if (b.marksShown) items << QStringLiteral("<span style=\"color:#777\">┆&nbsp;%1</span>").arg(tr("parameter&nbsp;change"));
    b.legend->setText(items.join(QStringLiteral(" &nbsp; ")));
    b.legend->setVisible(!items.isEmpty());
}

void PlotPanel::setPaused(Plot p, bool paused) {
    Box& b = box(p);
    if (b.paused == paused) return;
    b.paused = paused;
    if (b.pause->isChecked() != paused) b.pause->setChecked(paused);
    if (!paused) draw(p);
}

void PlotPanel::setWindowPoints(Plot p, int points) {
    Box& b = box(p);
    const bool hist = p == Plot::SigmaHistogram || p == Plot::DensityHistogram;
    points = hist ? std::max(1, points) : std::max(0, points);
    b.points = points;
    const int at = b.window->findData(points);
    if (at >= 0 && at != b.window->currentIndex()) {
        const QSignalBlocker block(b.window);
        b.window->setCurrentIndex(at);
    }
    if (p == Plot::SigmaHistogram) sigmaHist_.setDepth(points);
    if (p == Plot::DensityHistogram) densityHist_.setDepth(points);
    b.news = true;
    if (!b.paused) draw(p);
}

void PlotPanel::setEprPart(EprPart part) {
    eprPart_ = part;
    if (auto* combo = findChild<QComboBox*>(QStringLiteral("eprPart"))) {
        const int at = combo->findData(static_cast<int>(part));
        if (at >= 0 && at != combo->currentIndex()) {
            const QSignalBlocker block(combo);
            combo->setCurrentIndex(at);
        }
    }
    box(Plot::Epr).news = true;
    if (!box(Plot::Epr).paused) draw(Plot::Epr);
}

bool PlotPanel::eprShowsTotal() const {
    if (eprPart_ != EprPart::Auto) return eprPart_ == EprPart::Total;
    const auto& e = history_.estimates();
    if (e.empty()) return false;
    const EstimatePoint& p = e.back();
    const bool activeReference = p.active_network_free.count > 0 || std::isfinite(p.exact_active);
    const bool totalReference = p.total_network_free.count > 0 || std::isfinite(p.exact_total);
    return !activeReference && totalReference && p.total_finite;
}

void PlotPanel::takeFrames(const std::shared_ptr<const Frame>& newest, const std::shared_ptr<const Frame>& learned) {
    if (newest && history_.take(*newest, learned.get())) {
        for (Plot p : {Plot::Epr, Plot::Diagnostics, Plot::Training}) box(p).news = true;
    }
    takeHistograms(newest, learned);
    // Hidden (the dock closed or another tab in front): collect, draw later.
    if (!isVisible() || sinceDraw_.elapsed() < redrawMs_) return;
    bool any = false;
    for (int i = 0; i < kPlots; ++i) {
        Box& b = *boxes_[static_cast<std::size_t>(i)];
        if (b.news && !b.paused) {
            draw(static_cast<Plot>(i));
            any = true;
        }
    }
    if (any) sinceDraw_.restart();
}

void PlotPanel::redrawNow() {
    for (int i = 0; i < kPlots; ++i) {
        if (!boxes_[static_cast<std::size_t>(i)]->paused) draw(static_cast<Plot>(i));
    }
    sinceDraw_.restart();
}

void PlotPanel::takeHistograms(const std::shared_ptr<const Frame>& newest, const std::shared_ptr<const Frame>& learned) {
    const std::uint64_t gen = newest ? newest->system_generation : histGeneration_;
    if (gen != histGeneration_) {
        histGeneration_ = gen;
        sigmaHist_.clear();
        densityHist_.clear();
        sigmaHi_ = 0.0;
        sigmaIndex_ = 0;
        densityStep_ = ~std::uint64_t(0);
        box(Plot::SigmaHistogram).news = box(Plot::DensityHistogram).news = true;
    }
    if (learned && learned->learned && learned->system_generation == histGeneration_ &&
        learned->learned->index != sigmaIndex_ && !box(Plot::SigmaHistogram).paused) {
        const Evaluation& e = *learned->learned;
        sigmaIndex_ = e.index;
        const std::vector<float> v(e.sigma_sq.begin(), e.sigma_sq.end());
        // A range that stays put between states (a round number at or above
        // the 99 % quantile), so that histograms of several states average;
        // it moves only when the quantile leaves it by a factor 1.5.
        const double q99 = render::quantile(v, 0.99);
        if (std::isfinite(q99) && (sigmaHi_ <= 0.0 || q99 > sigmaHi_ || q99 < sigmaHi_ / 1.5)) {
            sigmaHi_ = roundUpNice(q99);
            sigmaHist_.clear();
        }
        if (sigmaHi_ > 0.0) sigmaHist_.add(histogram(v, 0.0, sigmaHi_, kHistogramBins));
        sigmaUnits_ = QString::fromStdString(render::quantity_info(render::Quantity::SigmaSq, learned->config.model, true).units);
        box(Plot::SigmaHistogram).news = true;
    }
    // The local density costs a few ms at N = 4096: twice a second is enough.
    if (newest && newest->state && newest->state->step != densityStep_ && !box(Plot::DensityHistogram).paused &&
        (densityStep_ == ~std::uint64_t(0) || sinceDensity_.elapsed() >= 500)) {
        densityStep_ = newest->state->step;
        sinceDensity_.restart();
        const std::vector<float> phi = entroscope::local_area_fraction(*newest->state, newest->config);
        densityHist_.add(histogram(phi, 0.0, kDensityTop, kHistogramBins));
        box(Plot::DensityHistogram).news = true;
    }
}

void PlotPanel::draw(Plot p) {
    Box& b = box(p);
    switch (p) {
    case Plot::Epr: drawEpr(); break;
    case Plot::Diagnostics: drawDiagnostics(); break;
    case Plot::Training: drawTraining(); break;
    case Plot::SigmaHistogram: drawSigmaHistogram(); break;
    case Plot::DensityHistogram: drawDensityHistogram(); break;
    }
    drawLegend(p);
    b.news = false;
    ++b.redraws;
}

namespace {

// A window's line and band (mean +- standard error); undefined points are
// left out.
template <class Get>
void meanSe(const std::deque<EstimatePoint>& d, std::size_t from, Get get, QList<QPointF>& l, QList<QPointF>& u,
            QList<QPointF>& w) {
    for (std::size_t i = from; i < d.size(); ++i) {
        const MeanSe m = get(d[i]);
        if (m.count <= 0 || !std::isfinite(m.mean)) continue;
        const double se = std::isfinite(m.se) ? m.se : 0.0;
        l.append(QPointF(d[i].t, m.mean));
        u.append(QPointF(d[i].t, m.mean + se));
        w.append(QPointF(d[i].t, m.mean - se));
    }
}

}  // namespace

void PlotPanel::placeMarks(Plot p, double xlo, double xhi, double ylo, double yhi) {
    Box& b = box(p);
    std::vector<double> at;
    for (const PhysicsMark& m : history_.marks()) {
        if (m.t >= xlo && m.t <= xhi) at.push_back(m.t);
    }
    while (b.marks.size() < at.size()) {
        auto* s = new QLineSeries(b.chart);
        QPen pen(QColor(120, 120, 120));
        pen.setStyle(Qt::DotLine);
        pen.setWidthF(1.2);
        s->setPen(pen);
        s->setName(tr("parameter change"));
        b.chart->addSeries(s);
        s->attachAxis(b.x);
        s->attachAxis(b.y);
        b.marks.push_back(s);
    }
    for (std::size_t i = 0; i < b.marks.size(); ++i) {
        QLineSeries* s = b.marks[i];
        if (i < at.size()) s->replace(QList<QPointF>{QPointF(at[i], ylo), QPointF(at[i], yhi)});
        s->setVisible(i < at.size());
    }
    b.marksShown = !at.empty();
}

void PlotPanel::drawEpr() {
    Box& b = box(Plot::Epr);
    const auto& d = history_.estimates();
    const std::size_t from = firstShown(d, b.points);
    const bool total = eprShowsTotal();
    if (total != lastShowsTotal_ || b.redraws == 0) {
        lastShowsTotal_ = total;
        b.y->setTitleText(total ? tr("total EPR per particle (k_B/t)") : tr("active EPR per particle (k_B/t)"));
    }
    Range x, y;
    for (std::size_t i = from; i < d.size(); ++i) x.add(d[i].t);

    // Order: the legend's; the learned values first.
    Curve& sq = curve(Plot::Epr, tr("learned, |v|² estimator"), colour("#1f77b4"), WithBand);
    Curve& dv = curve(Plot::Epr, tr("learned, divergence estimator"), colour("#ff7f0e"), WithBand);
    Curve& tot = curve(Plot::Epr, tr("learned total"), colour("#1f77b4"), WithBand);
    Curve& states = curve(Plot::Epr, tr("each evaluated state"), colour("#1f77b4"), Dots);
    Curve& fa = curve(Plot::Epr, tr("network-free −E[∇ₓ·b]"), colour("#7b3fb0"), Dashed | WithBand);
    Curve& ft = curve(Plot::Epr, tr("network-free E[b·D⁻¹b + ∇·b]"), colour("#7b3fb0"), Dashed | WithBand);
    Curve& es = curve(Plot::Epr, tr("exact (SDE)"), colour("#111111"), Dashed);
    Curve& ec = curve(Plot::Epr, tr("exact (Euler chain)"), colour("#8c564b"), Dashed);

    const auto put = [&](Curve& c, auto get) {
        QList<QPointF> l, u, w;
        meanSe(d, from, get, l, u, w);
        c.set(l, u, w, y);
    };
    const auto exact = [&](Curve& c, auto get) {
        QList<QPointF> l;
        for (std::size_t i = from; i < d.size(); ++i) {
            const double v = get(d[i]);
            if (std::isfinite(v)) l.append(QPointF(d[i].t, v));
        }
        c.set(l, {}, {}, y);
    };
    if (total) {
        sq.clear();
        dv.clear();
        fa.clear();
        put(tot, [](const EstimatePoint& p) { return p.total_finite ? p.total : MeanSe{}; });
        put(ft, [](const EstimatePoint& p) { return p.total_network_free; });
    } else {
        tot.clear();
        ft.clear();
        put(sq, [](const EstimatePoint& p) { return p.active; });
        put(dv, [](const EstimatePoint& p) { return p.active_div; });
        put(fa, [](const EstimatePoint& p) { return p.active_network_free; });
    }
    exact(es, [total](const EstimatePoint& p) { return total ? p.exact_total : p.exact_active; });
    exact(ec, [total](const EstimatePoint& p) { return total ? p.exact_total_chain : p.exact_active_chain; });
    QList<QPointF> pts;
    if (x.valid()) {
        for (const StatePoint& s : history_.states()) {
            const double v = total ? s.total : s.active;
            if (s.t >= x.lo && s.t <= x.hi && std::isfinite(v)) pts.append(QPointF(s.t, v));
        }
    }
    states.set(pts, {}, {}, y);

    x.apply(b.x, false);
    y.apply(b.y, true);
    placeMarks(Plot::Epr, x.lo, x.hi, b.y->min(), b.y->max());
    if (d.empty()) {
        b.note->setText(tr("Waiting for the first estimate."));
    } else {
        const EstimatePoint& p = d.back();
        b.note->setText(tr("Lines: means over the estimate window (%1 evaluations), bands: ± one standard error.")
                            .arg(p.evaluations));
    }
    b.note->show();
}

void PlotPanel::drawDiagnostics() {
    Box& b = box(Plot::Diagnostics);
    const auto& d = history_.estimates();
    const std::size_t from = firstShown(d, b.points);
    Range x, y;
    for (std::size_t i = from; i < d.size(); ++i) x.add(d[i].t);
    struct Item {
        QString name;
        const char* hex;
        int style;
        MeanSe EstimatePoint::*member;
    };
    const Item items[] = {
        {tr("E[∇·v]"), "#1f77b4", WithBand, &EstimatePoint::div_v},
        {tr("E[∇·v] of the Euler chain (dt)"), "#1f77b4", Dashed, &EstimatePoint::div_v_time_step},
        {tr("E[v·s]"), "#ff7f0e", WithBand, &EstimatePoint::v_dot_s},
        {tr("E[|s|² + ∇·s]"), "#2ca02c", WithBand, &EstimatePoint::ibp},
        {tr("gap |v|² − divergence"), "#d62728", WithBand, &EstimatePoint::gap},
    };
    for (const Item& it : items) {
        Curve& c = curve(Plot::Diagnostics, it.name, colour(it.hex), it.style);
        QList<QPointF> l, u, w;
        meanSe(d, from, [m = it.member](const EstimatePoint& p) { return p.*m; }, l, u, w);
        c.set(l, u, w, y);
    }
    if (x.valid()) y.add(0.0);
    x.apply(b.x, false);
    y.apply(b.y, true);
    placeMarks(Plot::Diagnostics, x.lo, x.hi, b.y->min(), b.y->max());
    b.note->setText(tr("Each is 0 at stationarity for the exact score, except E[∇·v], whose value for the simulated "
                       "time step is the dashed line."));
    b.note->setVisible(!d.empty());
}

void PlotPanel::drawTraining() {
    Box& b = box(Plot::Training);
    const auto& d = history_.losses();
    const std::size_t from = firstShown(d, b.points);
    Curve& loss = curve(Plot::Training, tr("recent loss"), colour("#1f77b4"), Solid);
    QList<QPointF> l;
    Range x, y;
    for (std::size_t i = from; i < d.size(); ++i) {
        l.append(QPointF(d[i].network_step, d[i].loss));
        x.add(d[i].network_step);
    }
    loss.set(l, {}, {}, y);
    x.apply(b.x, false);
    y.apply(b.y, true);
    b.note->setText(tr("No training yet: the network is fixed, or there is none."));
    b.note->setVisible(l.isEmpty());
}

void PlotPanel::drawSigmaHistogram() {
    Box& b = box(Plot::SigmaHistogram);
    Curve& h = curve(Plot::SigmaHistogram, tr("σᵢ, |v|² estimator"), colour("#1f77b4"), Solid);
    const Histogram m = sigmaHist_.mean();
    Range y;
    h.set(steps(m), {}, {}, y);
    y.add(0.0);
    b.x->setRange(m.density.empty() ? 0.0 : m.lo, m.density.empty() ? 1.0 : m.hi);
    y.apply(b.y, true, true);
    if (!sigmaUnits_.isEmpty()) b.x->setTitleText(tr("σᵢ (%1)").arg(sigmaUnits_));
    b.note->setText(m.density.empty() ? tr("Waiting for the first evaluated state.")
                                      : tr("%1 particles × %2 state(s); the last bin also holds the values above %3.")
                                            .arg(m.values / std::max<std::int64_t>(1, static_cast<std::int64_t>(sigmaHist_.count())))
                                            .arg(sigmaHist_.count())
                                            .arg(m.hi, 0, 'g', 3));
    b.note->show();
}

void PlotPanel::drawDensityHistogram() {
    Box& b = box(Plot::DensityHistogram);
    Curve& h = curve(Plot::DensityHistogram, tr("local area fraction"), colour("#2ca02c"), Solid);
    const Histogram m = densityHist_.mean();
    Range y;
    h.set(steps(m), {}, {}, y);
    y.add(0.0);
    b.x->setRange(0.0, kDensityTop);
    y.apply(b.y, true, true);
    b.note->setText(m.density.empty() ? tr("Waiting for the first state.")
                                      : tr("Gaussian kernel, width one diameter; %1 particles × %2 state(s). "
                                           "Two peaks: two phases.")
                                            .arg(m.values / std::max<std::int64_t>(1, static_cast<std::int64_t>(densityHist_.count())))
                                            .arg(densityHist_.count()));
    b.note->show();
}

}  // namespace entroscope::widgets

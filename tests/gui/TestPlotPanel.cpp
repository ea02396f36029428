// The live plots: what PlotHistory takes from a stream of frames built by
// hand, the histograms, and what PlotPanel's curves then hold. No engine run.
#include <QApplication>
#include <QLabel>
#include <QDir>
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QtCharts/QChart>
#include <QtCharts/QLegend>
#include <QtCharts/QValueAxis>
#include <QtTest>
#include <cmath>
#include <memory>
#include <random>

#include "entroscope/core/config.hpp"
#include "entroscope/session/frame.hpp"
#include "widgets/plot_history.hpp"
#include "widgets/plot_panel.hpp"

using namespace entroscope;
using namespace entroscope::widgets;

namespace {

constexpr double kNaN = GlobalEstimate::kNaN;

std::shared_ptr<State> lattice_state(int n, double box, std::uint64_t step, double t) {
    auto s = std::make_shared<State>();
    s->box = box;
    const int side = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
    for (int i = 0; i < n; ++i) {
        s->x.push_back((i % side + 0.5) * box / side);
        s->x.push_back((i / side + 0.5) * box / side);
    }
    s->image.assign(2 * static_cast<std::size_t>(n), 0);
    s->act.assign(static_cast<std::size_t>(n), 0.0);
    s->types.assign(static_cast<std::size_t>(n), 0);
    s->step = step;
    s->time = t;
    return s;
}

// An ABP-like frame: a finite learned total and a network-free total, no
// network-free active part.
struct Stream {
    Config cfg = default_config(ModelKind::Abp);
    std::uint64_t generation = 1, tag = 1, index = 0, netStep = 100, modelGen = 1;
    int n = 64;

    std::shared_ptr<Frame> frame(double t, double total, double totalSe, double free, double freeSe) {
        auto f = std::make_shared<Frame>();
        f->system_generation = generation;
        f->physics_tag = tag;
        cfg.n = n;
        f->config = cfg;
        f->state = lattice_state(n, 20.0, static_cast<std::uint64_t>(t * 1000), t);
        auto g = std::make_shared<GlobalEstimate>();
        g->physics_tag = tag;
        g->evaluations = static_cast<std::int64_t>(index);
        g->last_index = index;
        g->network_step = netStep;
        g->time = t;
        g->x_part = XPart::Finite;
        g->epr_active = MeanSe{2.0, 0.1, 10};
        g->epr_total = MeanSe{total, totalSe, 10};
        g->epr_total_network_free = MeanSe{free, freeSe, 10};
        g->div_v = MeanSe{-1.0, 0.5, 10};
        g->div_v_time_step = MeanSe{-0.8, 0.0, 10};
        g->v_dot_s = MeanSe{0.2, 0.3, 10};
        g->ibp = MeanSe{0.1, 0.2, 10};
        g->gap = MeanSe{0.05, 0.1, 10};
        f->estimate = g;
        f->training.enabled = true;
        f->training.network_steps = netStep;
        f->training.model_generation = modelGen;
        f->training.recent_loss = -1.5;
        return f;
    }
    // The same frame with learned values of its own state.
    std::shared_ptr<Frame> learned(std::shared_ptr<Frame> f, const std::vector<double>& sigma) {
        auto e = std::make_shared<Evaluation>();
        e->state = f->state;
        e->index = index;
        e->network_step = netStep;
        e->sigma_sq = sigma;
        e->x_part = XPart::Finite;
        double sum = 0.0;
        for (double v : sigma) sum += v;
        e->totals.epr_active = sum;
        e->totals.epr_total = sum + 100.0 * n;
        e->totals.epr_total_network_free = 110.0 * n;
        f->learned = e;
        return f;
    }
};

}  // namespace

class TestPlotPanel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void historyTakesEachNewEstimateOnce();
    void historyMarksParameterChangesAndStartsOverOnANewSystem();
    void historyFollowsTheLossAndRestartsItForANewNetwork();
    void histogramIsADensityAndKeepsTheTailsInTheEndBins();
    void histogramAverageStartsOverOnAnotherRange();
    void roundUpNiceGivesTheNextRoundNumber();
    void eprPlotShowsTheTotalAndItsNetworkFreeValueForAbp();
    void eprPlotShowsTheActivePartWhenItHasAReference();
    void pausedPlotDoesNotRedrawAndCatchesUpOnResume();
    void windowShowsTheNewestPoints();
    void hiddenPanelCollectsAndDrawsWhenShown();
    void hiddenCurveLeavesTheAxes();
    void histogramsCountEveryParticle();
    void figuresAreVectorOrSizedAndReadByOutsideReaders();
    void dataIsTheWholeHistoryAsCsv();
    void anUnwritableTargetSaysWhyAndLeavesNothing();
};

void TestPlotPanel::historyTakesEachNewEstimateOnce() {
    Stream s;
    PlotHistory h;
    s.index = 1;
    QVERIFY(h.take(*s.frame(1.0, 900, 5, 930, 10), nullptr));
    QVERIFY(!h.take(*s.frame(1.0, 900, 5, 930, 10), nullptr));  // nothing new
    s.index = 2;
    QVERIFY(h.take(*s.frame(2.0, 880, 4, 925, 9), nullptr));
    QCOMPARE(h.estimates().size(), std::size_t(2));
    QCOMPARE(h.estimates().back().t, 2.0);
    QCOMPARE(h.estimates().back().total.mean, 880.0);
    QCOMPARE(h.estimates().back().total_network_free.se, 9.0);
    QVERIFY(h.estimates().back().total_finite);
    QVERIFY(std::isnan(h.estimates().back().exact_total));
    // A frame with no evaluation in its window adds no estimate.
    auto f = s.frame(3.0, 0, 0, 0, 0);
    std::const_pointer_cast<GlobalEstimate>(f->estimate)->evaluations = 0;
    std::const_pointer_cast<GlobalEstimate>(f->estimate)->last_index = 3;
    h.take(*f, nullptr);
    QCOMPARE(h.estimates().size(), std::size_t(2));
}

void TestPlotPanel::historyMarksParameterChangesAndStartsOverOnANewSystem() {
    Stream s;
    PlotHistory h;
    s.index = 1;
    h.take(*s.frame(1.0, 900, 5, 930, 10), nullptr);
    s.tag = 2;
    s.cfg.phi = 0.6;
    s.index = 2;
    h.take(*s.frame(2.5, 880, 4, 925, 9), nullptr);
    QCOMPARE(h.marks().size(), std::size_t(1));
    QCOMPARE(h.marks().front().t, 2.5);
    QCOMPARE(QString::fromStdString(h.marks().front().what), QStringLiteral("phi 0.500 -> 0.600"));
    s.tag = 3;
    s.cfg = s.cfg.with_peclet(150.0);
    s.index = 3;
    h.take(*s.frame(3.0, 870, 4, 920, 9), nullptr);
    QCOMPARE(h.marks().size(), std::size_t(2));
    QVERIFY2(h.marks().back().what.find("Pe 100 -> 150") != std::string::npos, h.marks().back().what.c_str());
    s.generation = 2;
    s.index = 1;
    h.take(*s.frame(0.1, 500, 5, 510, 5), nullptr);
    QCOMPARE(h.estimates().size(), std::size_t(1));
    QCOMPARE(h.marks().size(), std::size_t(0));
    QCOMPARE(h.systemGeneration(), std::uint64_t(2));
}

void TestPlotPanel::historyFollowsTheLossAndRestartsItForANewNetwork() {
    Stream s;
    PlotHistory h;
    for (int k = 0; k < 3; ++k) {
        s.netStep = 100 + 10 * k;
        auto f = s.frame(1.0, 900, 5, 930, 10);
        f->training.recent_loss = -1.0 - k;
        h.take(*f, nullptr);
        h.take(*f, nullptr);
    }
    QCOMPARE(h.losses().size(), std::size_t(3));
    QCOMPARE(h.losses().back().network_step, 120.0);
    QCOMPARE(h.losses().back().loss, -3.0);
    s.modelGen = 2;  // a loaded network
    s.netStep = 5000;
    h.take(*s.frame(1.0, 900, 5, 930, 10), nullptr);
    QCOMPARE(h.losses().size(), std::size_t(1));
    QCOMPARE(h.losses().front().network_step, 5000.0);
}

void TestPlotPanel::histogramIsADensityAndKeepsTheTailsInTheEndBins() {
    const std::vector<float> v{-1.0f, 0.05f, 0.15f, 0.15f, 0.95f, 7.0f, std::nanf("")};
    const Histogram h = histogram(v, 0.0, 1.0, 10);
    QCOMPARE(h.values, std::int64_t(6));
    QCOMPARE(h.density.size(), std::size_t(10));
    double mass = 0.0;
    for (double d : h.density) mass += d * h.binWidth();
    QVERIFY(std::abs(mass - 1.0) < 1e-12);
    QCOMPARE(h.density[0] * h.binWidth() * 6, 2.0);  // -1 and 0.05
    QCOMPARE(h.density[1] * h.binWidth() * 6, 2.0);
    QCOMPARE(h.density[9] * h.binWidth() * 6, 2.0);  // 0.95 and 7
    QVERIFY(histogram(v, 1.0, 1.0, 10).density.empty());
    QVERIFY(histogram(v, 0.0, 1.0, 0).density.empty());
}

void TestPlotPanel::histogramAverageStartsOverOnAnotherRange() {
    HistogramAverage a;
    a.setDepth(3);
    for (int k = 0; k < 5; ++k) a.add(histogram({0.1f * k}, 0.0, 1.0, 10));
    QCOMPARE(a.count(), std::size_t(3));
    const Histogram m = a.mean();
    QCOMPARE(m.values, std::int64_t(3));
    // The newest three: 0.2, 0.3, 0.4, each a third of the mass.
    QVERIFY(std::abs(m.density[3] * m.binWidth() - 1.0 / 3.0) < 1e-12);
    QCOMPARE(m.density[0], 0.0);
    a.add(histogram({0.5f}, 0.0, 2.0, 10));
    QCOMPARE(a.count(), std::size_t(1));
}

void TestPlotPanel::roundUpNiceGivesTheNextRoundNumber() {
    QCOMPARE(roundUpNice(11.2), 15.0);
    QCOMPARE(roundUpNice(15.0), 15.0);
    QCOMPARE(roundUpNice(0.031), 0.04);
    QCOMPARE(roundUpNice(870.0), 1000.0);
    QCOMPARE(roundUpNice(0.0), 1.0);
    QCOMPARE(roundUpNice(kNaN), 1.0);
}

void TestPlotPanel::eprPlotShowsTheTotalAndItsNetworkFreeValueForAbp() {
    PlotPanel panel;
    Stream s;
    for (int k = 1; k <= 4; ++k) {
        s.index = static_cast<std::uint64_t>(k);
        panel.takeFrames(s.frame(k, 900 - k, 5, 930, 10), nullptr);
    }
    panel.redrawNow();
    QVERIFY(panel.eprShowsTotal());
    const QList<QPointF> total = panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("learned total"));
    QCOMPARE(total.size(), 4);
    QCOMPARE(total.back(), QPointF(4.0, 896.0));
    const QStringList names = panel.seriesNames(PlotPanel::Plot::Epr);
    QVERIFY2(names.contains(QStringLiteral("network-free E[b·D⁻¹b + ∇·b]")), qPrintable(names.join('|')));
    QVERIFY(!names.contains(QStringLiteral("learned, |v|² estimator")));
    QVERIFY(panel.legendText(PlotPanel::Plot::Epr).contains(QStringLiteral("learned total")));
    // The user's choice wins over Auto.
    panel.setEprPart(PlotPanel::EprPart::Active);
    QVERIFY(!panel.eprShowsTotal());
    const QList<QPointF> active = panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("learned, |v|² estimator"));
    QCOMPARE(active.size(), 4);
    QCOMPARE(active.front().y(), 2.0);
    QVERIFY(panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("learned total")).isEmpty());
}

void TestPlotPanel::eprPlotShowsTheActivePartWhenItHasAReference() {
    PlotPanel panel;
    Stream s;
    s.cfg = default_config(ModelKind::Aoup);
    s.index = 1;
    auto f = s.frame(1.0, 900, 5, kNaN, 0);
    auto g = std::const_pointer_cast<GlobalEstimate>(f->estimate);
    g->x_part = XPart::Infinite;
    g->epr_total = MeanSe{};
    g->epr_total_network_free = MeanSe{};
    g->epr_active_identity = MeanSe{2.1, 0.05, 10};
    g->exact_epr_active = 2.05;
    g->exact_epr_active_chain = 2.04;
    panel.takeFrames(f, nullptr);
    panel.redrawNow();
    QVERIFY(!panel.eprShowsTotal());
    QCOMPARE(panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("network-free −E[∇ₓ·b]")).value(0), QPointF(1.0, 2.1));
    QCOMPARE(panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("exact (SDE)")).value(0), QPointF(1.0, 2.05));
    QCOMPARE(panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("exact (Euler chain)")).value(0), QPointF(1.0, 2.04));
}

void TestPlotPanel::pausedPlotDoesNotRedrawAndCatchesUpOnResume() {
    PlotPanel panel;
    panel.setRedrawIntervalMs(0);
    panel.show();  // a hidden panel collects but does not draw
    Stream s;
    s.index = 1;
    panel.takeFrames(s.frame(1.0, 900, 5, 930, 10), nullptr);
    panel.setPaused(PlotPanel::Plot::Epr, true);
    const std::uint64_t before = panel.redraws(PlotPanel::Plot::Epr);
    const std::uint64_t diagBefore = panel.redraws(PlotPanel::Plot::Diagnostics);
    for (int k = 2; k <= 5; ++k) {
        s.index = static_cast<std::uint64_t>(k);
        panel.takeFrames(s.frame(k, 900, 5, 930, 10), nullptr);
    }
    QCOMPARE(panel.redraws(PlotPanel::Plot::Epr), before);
    QVERIFY(panel.redraws(PlotPanel::Plot::Diagnostics) > diagBefore);  // the others go on
    QCOMPARE(panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("learned total")).size(), 1);
    panel.setPaused(PlotPanel::Plot::Epr, false);
    QCOMPARE(panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("learned total")).size(), 5);
}

void TestPlotPanel::hiddenPanelCollectsAndDrawsWhenShown() {
    PlotPanel panel;
    panel.setRedrawIntervalMs(0);
    Stream s;
    for (int k = 1; k <= 3; ++k) {
        s.index = static_cast<std::uint64_t>(k);
        panel.takeFrames(s.frame(k, 900, 5, 930, 10), nullptr);
    }
    QCOMPARE(panel.redraws(PlotPanel::Plot::Epr), std::uint64_t(0));
    QCOMPARE(panel.history().estimates().size(), std::size_t(3));
    panel.show();
    panel.takeFrames(s.frame(3, 900, 5, 930, 10), nullptr);  // nothing new, but news not yet drawn
    QCOMPARE(panel.redraws(PlotPanel::Plot::Epr), std::uint64_t(1));
    QCOMPARE(panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("learned total")).size(), 3);
}

void TestPlotPanel::windowShowsTheNewestPoints() {
    PlotPanel panel;
    Stream s;
    for (int k = 1; k <= 80; ++k) {
        s.index = static_cast<std::uint64_t>(k);
        s.netStep = 100 + static_cast<std::uint64_t>(k);
        panel.takeFrames(s.frame(k, 900, 5, 930, 10), nullptr);
    }
    panel.setWindowPoints(PlotPanel::Plot::Epr, 50);
    panel.setWindowPoints(PlotPanel::Plot::Training, 50);
    const QList<QPointF> pts = panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("learned total"));
    QCOMPARE(pts.size(), 50);
    QCOMPARE(pts.front().x(), 31.0);
    QCOMPARE(pts.back().x(), 80.0);
    QCOMPARE(panel.seriesPoints(PlotPanel::Plot::Training, QStringLiteral("recent loss")).size(), 50);
    panel.setWindowPoints(PlotPanel::Plot::Epr, 0);
    QCOMPARE(panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("learned total")).size(), 80);
}

void TestPlotPanel::hiddenCurveLeavesTheAxes() {
    PlotPanel panel;
    Stream s;
    s.index = 1;
    panel.takeFrames(s.frame(1.0, 900, 5, 3000, 10), nullptr);
    s.index = 2;
    panel.takeFrames(s.frame(2.0, 910, 5, 3000, 10), nullptr);
    panel.redrawNow();
    const QString free = QStringLiteral("network-free E[b·D⁻¹b + ∇·b]");
    const auto* y = qobject_cast<QValueAxis*>(panel.chart(PlotPanel::Plot::Epr)->axes(Qt::Vertical).value(0));
    QVERIFY(y);
    QVERIFY(y->max() >= 3000.0);
    panel.setCurveHidden(PlotPanel::Plot::Epr, free, true);
    QVERIFY(panel.isCurveHidden(PlotPanel::Plot::Epr, free));
    QVERIFY(panel.seriesPoints(PlotPanel::Plot::Epr, free).isEmpty());
    QVERIFY2(y->max() < 1000.0, qPrintable(QString::number(y->max())));
    // Still in the legend, so that it can be shown again.
    QVERIFY(panel.seriesNames(PlotPanel::Plot::Epr).contains(free));
    panel.setCurveHidden(PlotPanel::Plot::Epr, free, false);
    QVERIFY(y->max() >= 3000.0);
}

void TestPlotPanel::histogramsCountEveryParticle() {
    PlotPanel panel;
    Stream s;
    s.index = 1;
    std::vector<double> sigma(static_cast<std::size_t>(s.n));
    for (int i = 0; i < s.n; ++i) sigma[static_cast<std::size_t>(i)] = 0.1 * i;  // 0 .. 6.3
    auto f = s.learned(s.frame(1.0, 900, 5, 930, 10), sigma);
    panel.takeFrames(f, f);
    panel.redrawNow();
    const QList<QPointF> h = panel.seriesPoints(PlotPanel::Plot::SigmaHistogram, QStringLiteral("σᵢ, |v|² estimator"));
    QVERIFY(h.size() > 10);
    // Steps: the mass under the curve is 1, and the range ends at a round
    // number at or above the 99 % quantile (6.237 -> 8).
    double mass = 0.0;
    for (int i = 1; i + 1 < h.size(); i += 2) mass += h[i].y() * (h[i + 1].x() - h[i].x());
    QVERIFY2(std::abs(mass - 1.0) < 1e-9, qPrintable(QString::number(mass)));
    QCOMPARE(h.back().x(), 8.0);
    // The local density of a square lattice at spacing 2.5 sigma is the
    // same everywhere: one bin holds everything.
    const QList<QPointF> d = panel.seriesPoints(PlotPanel::Plot::DensityHistogram, QStringLiteral("local area fraction"));
    QVERIFY(d.size() > 10);
    int nonzero = 0;
    for (int i = 1; i + 1 < d.size(); i += 2) nonzero += d[i].y() > 0.0 ? 1 : 0;
    QCOMPARE(nonzero, 1);
    // The learned values of each state are dots under the window means.
    QCOMPARE(panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("each evaluated state")).size(), 1);
    const double each = panel.seriesPoints(PlotPanel::Plot::Epr, QStringLiteral("each evaluated state")).front().y();
    QVERIFY2(std::abs(each - 103.15) < 1e-9, qPrintable(QString::number(each)));  // mean sigma + 100 per particle
}

namespace {

PlotPanel* filled(PlotPanel& panel) {
    Stream s;
    for (int k = 1; k <= 30; ++k) {
        s.index = static_cast<std::uint64_t>(k);
        s.netStep = 100 + static_cast<std::uint64_t>(k);
        panel.takeFrames(s.frame(k, 900 - k, 5, 930, 10), nullptr);
    }
    panel.redrawNow();
    return &panel;
}

QString run(const QString& program, const QStringList& args) {
    QProcess p;
    p.start(program, args);
    if (!p.waitForFinished(30000) || p.exitCode() != 0) return QString();
    return QString::fromUtf8(p.readAllStandardOutput());
}

}  // namespace

void TestPlotPanel::figuresAreVectorOrSizedAndReadByOutsideReaders() {
    PlotPanel panel;
    filled(panel);
    QTemporaryDir dir;
    QString error;
    // PNG: drawn at the asked size, not grabbed from the screen.
    const QString png = dir.filePath(QStringLiteral("epr.png"));
    QVERIFY2(panel.saveFigure(PlotPanel::Plot::Epr, png, QSize(1200, 800), &error), qPrintable(error));
    QImage image(png);
    QCOMPARE(image.size(), QSize(1200, 800));
    int dark = 0;
    for (int y = 0; y < image.height(); y += 4)
        for (int x = 0; x < image.width(); x += 4) dark += qGray(image.pixel(x, y)) < 128 ? 1 : 0;
    QVERIFY2(dark > 200, "the PNG is blank");  // axes, labels, lines
    // SVG: text stays text, the legend and the title are in it, curves are paths.
    const QString svg = dir.filePath(QStringLiteral("epr.svg"));
    QVERIFY2(panel.saveFigure(PlotPanel::Plot::Epr, svg, QSize(900, 600), &error), qPrintable(error));
    QFile f(svg);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QXmlStreamReader xml(&f);
    int texts = 0, paths = 0;
    QString allText;
    while (!xml.atEnd()) {
        if (xml.readNext() == QXmlStreamReader::StartElement) {
            if (xml.name() == QLatin1String("text")) {
                ++texts;
                allText += xml.readElementText(QXmlStreamReader::IncludeChildElements) + QLatin1Char('|');
            } else if (xml.name() == QLatin1String("path") || xml.name() == QLatin1String("polyline")) {
                ++paths;
            }
        }
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QVERIFY2(texts > 10, qPrintable(QString::number(texts)));
    QVERIFY2(paths > 5, qPrintable(QString::number(paths)));
    QVERIFY2(allText.contains(QStringLiteral("learned total")), qPrintable(allText));
    QVERIFY2(allText.contains(QStringLiteral("Total entropy production rate per particle")), qPrintable(allText));
    QVERIFY2(!allText.contains(QStringLiteral("learned, |v|² estimator")), "a curve without data in the legend");
    // The legend was only for the figure.
    QVERIFY(!panel.chart(PlotPanel::Plot::Epr)->legend()->isVisible());
    // PDF: poppler reads one page of 900 x 600 points with the title as text.
    const QString pdf = dir.filePath(QStringLiteral("loss.pdf"));
    QVERIFY2(panel.saveFigure(PlotPanel::Plot::Training, pdf, QSize(900, 600), &error), qPrintable(error));
    const QString info = run(QStringLiteral("pdfinfo"), {pdf});
    QVERIFY2(info.contains(QStringLiteral("Pages:")) && info.contains(QStringLiteral("900 x 600 pts")), qPrintable(info));
    const QString words = run(QStringLiteral("pdftotext"), {pdf, QStringLiteral("-")});
    QVERIFY2(words.contains(QStringLiteral("Training loss")), qPrintable(words));
    // An unknown extension is refused by name.
    QVERIFY(!panel.saveFigure(PlotPanel::Plot::Epr, dir.filePath(QStringLiteral("epr.gif")), QSize(900, 600), &error));
    QVERIFY2(error.contains(QStringLiteral(".gif")), qPrintable(error));
    QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("epr.gif"))));
}

void TestPlotPanel::dataIsTheWholeHistoryAsCsv() {
    PlotPanel panel;
    filled(panel);
    panel.setWindowPoints(PlotPanel::Plot::Epr, 50);
    QTemporaryDir dir;
    const QString csv = dir.filePath(QStringLiteral("epr.csv"));
    QString error;
    QVERIFY2(panel.saveData(PlotPanel::Plot::Epr, csv, &error), qPrintable(error));
    QFile f(csv);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(f.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 31);  // header + every estimate
    const QStringList head = lines[0].split(QLatin1Char(','));
    const QStringList last = lines.back().split(QLatin1Char(','));
    QCOMPARE(head.size(), last.size());
    QCOMPARE(last[head.indexOf(QStringLiteral("t"))].toDouble(), 30.0);
    QCOMPARE(last[head.indexOf(QStringLiteral("epr_total_mean"))].toDouble(), 870.0);
    QCOMPARE(last[head.indexOf(QStringLiteral("epr_total_network_free_se"))].toDouble(), 10.0);
    QVERIFY(last[head.indexOf(QStringLiteral("exact_active"))].isEmpty());  // no exact value: empty, not "nan"
    const QString loss = dir.filePath(QStringLiteral("loss.csv"));
    QVERIFY(panel.saveData(PlotPanel::Plot::Training, loss, &error));
    QFile g(loss);
    QVERIFY(g.open(QIODevice::ReadOnly));
    QCOMPARE(QString::fromUtf8(g.readAll()).count(QLatin1Char('\n')), 31);
}

void TestPlotPanel::anUnwritableTargetSaysWhyAndLeavesNothing() {
    PlotPanel panel;
    filled(panel);
    QTemporaryDir dir;
    const QString missing = dir.filePath(QStringLiteral("no/such/folder/epr.pdf"));
    QString error;
    QVERIFY(!panel.saveFigure(PlotPanel::Plot::Epr, missing, QSize(900, 600), &error));
    QVERIFY2(error.contains(QStringLiteral("no/such/folder")), qPrintable(error));
    QVERIFY(!panel.saveData(PlotPanel::Plot::Epr, dir.filePath(QStringLiteral("no/such/epr.csv")), &error));
    QVERIFY(!error.isEmpty());
    QCOMPARE(QDir(dir.path()).entryList(QDir::NoDotAndDotDot | QDir::AllEntries).size(), 0);
}

QTEST_MAIN(TestPlotPanel)
#include "TestPlotPanel.moc"

// The phase-diagram explorer on frames and sweep results built by hand: the
// live points of PhaseMap, the sweep points, what PhaseDiagram draws, its
// sweep form and its signals. No engine run.
#include <QApplication>
#include <QFile>
#include <QImage>
#include <QLineEdit>
#include <QTemporaryDir>
#include <QPushButton>
#include <QSignalSpy>
#include <QtCharts/QChart>
#include <QtCharts/QScatterSeries>
#include <QtTest>
#include <cmath>
#include <memory>

#include "entroscope/core/config.hpp"
#include "entroscope/session/frame.hpp"
#include "widgets/phase_diagram.hpp"
#include "widgets/phase_map.hpp"

using namespace entroscope;
using namespace entroscope::widgets;

namespace {

PhaseIndicators indicators(double cluster, double bimodality) {
    PhaseIndicators p;
    p.n = 100;
    p.states = 1;
    p.largest_cluster_fraction = cluster;
    p.density_bimodality = bimodality;
    p.separated = is_separated(cluster, bimodality);
    p.criterion = phase_criterion();
    return p;
}

struct Live {
    Config cfg = default_config(ModelKind::Abp);
    std::uint64_t generation = 1, tag = 1, index = 0;

    // A frame whose window holds `evaluations` and whose own state was
    // evaluated (index) with the given indicators.
    std::pair<std::shared_ptr<Frame>, std::shared_ptr<Frame>> frames(std::int64_t evaluations, double epr, PhaseIndicators ph) {
        ++index;
        auto f = std::make_shared<Frame>();
        f->system_generation = generation;
        f->physics_tag = tag;
        f->config = cfg;
        auto st = std::make_shared<State>();
        st->time = 0.1 * static_cast<double>(index);
        f->state = st;
        auto g = std::make_shared<GlobalEstimate>();
        g->physics_tag = tag;
        g->evaluations = evaluations;
        g->last_index = index;
        g->epr_active = MeanSe{epr, 0.1, evaluations};
        f->estimate = g;
        auto e = std::make_shared<Evaluation>();
        e->state = st;
        e->index = index;
        e->phase = ph;
        auto l = std::make_shared<Frame>(*f);
        l->learned = e;
        return {f, l};
    }
};

SweepResult result(double phi, double pe, double epr, double cluster, double bimodality) {
    SweepResult r;
    r.phi = phi;
    r.pe = pe;
    r.epr_active = MeanSe{epr, 0.05 * epr, 10};
    r.phase = indicators(cluster, bimodality);
    r.evaluations = 10;
    return r;
}

QScatterSeries* series(PhaseDiagram& d, const QString& name) {
    for (QAbstractSeries* s : d.chart()->series()) {
        if (s->name() == name) return qobject_cast<QScatterSeries*>(s);
    }
    return nullptr;
}

}  // namespace

class TestPhaseDiagram : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void livePointAppearsOnceTheWindowIsFullAndFollowsTheRun();
    void parameterChangeStartsANewLivePoint();
    void sweepPointsReplaceTheirOwnOnly();
    void diagramShowsTheRunningModelColouredAndMarkedByPhase();
    void formGivesGridsListsAndNamesBadInput();
    void rectangleSetsTheRanges();
    void clickOnAPointAsksToGoThere();
    void tooltipShowsBothIndicatorsAndTheRule();
    void figureNamesItsColourAndKeepsTextAsText();
};

void TestPhaseDiagram::livePointAppearsOnceTheWindowIsFullAndFollowsTheRun() {
    PhaseMap map(4);
    Live live;
    for (int k = 1; k <= 3; ++k) {
        auto [f, l] = live.frames(k, 2.0, indicators(0.6, 0.8));
        QVERIFY(!map.take(*f, l.get()));
    }
    QVERIFY(map.points().empty());
    auto [f, l] = live.frames(4, 2.5, indicators(0.6, 0.8));
    QVERIFY(map.take(*f, l.get()));
    QCOMPARE(map.points().size(), std::size_t(1));
    const PhasePoint& p = map.points().front();
    QCOMPARE(p.source, PhasePoint::Source::Live);
    QCOMPARE(p.phi, live.cfg.phi);
    QCOMPARE(p.pe, live.cfg.peclet());
    QCOMPARE(p.epr_active.mean, 2.5);
    QCOMPARE(p.phase.states, 4);
    QVERIFY(p.phase.separated);
    // The run goes on: the same point, updated.
    auto [f2, l2] = live.frames(5, 2.7, indicators(0.05, 0.3));
    QVERIFY(map.take(*f2, l2.get()));
    QCOMPARE(map.points().size(), std::size_t(1));
    QCOMPARE(map.points().front().epr_active.mean, 2.7);
    QCOMPARE(map.points().front().phase.states, 5);
    // The same evaluated state again adds nothing.
    QVERIFY(!map.take(*f2, l2.get()));
    QCOMPARE(map.points().front().phase.states, 5);
}

void TestPhaseDiagram::parameterChangeStartsANewLivePoint() {
    PhaseMap map(2);
    Live live;
    for (int k = 1; k <= 2; ++k) {
        auto [f, l] = live.frames(k, 2.0, indicators(0.6, 0.8));
        map.take(*f, l.get());
    }
    QCOMPARE(map.points().size(), std::size_t(1));
    live.tag = 2;
    live.cfg.phi = 0.3;
    // The window starts over at the new parameters: nothing until it is full again.
    auto [f, l] = live.frames(1, 1.0, indicators(0.02, 0.3));
    QVERIFY(!map.take(*f, l.get()));
    auto [f2, l2] = live.frames(2, 1.1, indicators(0.02, 0.3));
    QVERIFY(map.take(*f2, l2.get()));
    QCOMPARE(map.points().size(), std::size_t(2));
    QCOMPARE(map.points().back().phi, 0.3);
    QVERIFY(!map.points().back().phase.separated);
    QCOMPARE(map.points().back().phase.states, 2);  // only the new parameters' states
}

void TestPhaseDiagram::sweepPointsReplaceTheirOwnOnly() {
    PhaseMap map;
    map.add(result(0.5, 100, 2.0, 0.6, 0.8), ModelKind::Abp, 1024);
    map.add(result(0.5, 100, 2.2, 0.6, 0.8), ModelKind::Abp, 1024);
    QCOMPARE(map.points().size(), std::size_t(1));
    QCOMPARE(map.points().front().epr_active.mean, 2.2);
    map.add(result(0.5, 100, 2.2, 0.6, 0.8), ModelKind::Aoup, 1024);
    map.add(result(0.6, 100, 2.2, 0.6, 0.8), ModelKind::Abp, 1024);
    QCOMPARE(map.points().size(), std::size_t(3));
    QCOMPARE(map.pointsOf(ModelKind::Abp).size(), std::size_t(2));
    QCOMPARE(map.points().front().n, 1024);
}

void TestPhaseDiagram::diagramShowsTheRunningModelColouredAndMarkedByPhase() {
    PhaseDiagram d;
    Live live;
    auto [f, l] = live.frames(1, 2.0, indicators(0.1, 0.3));
    d.takeFrames(f, l);  // the running model: ABP
    d.addSweepResult(result(0.3, 50, 1.0, 0.02, 0.3), ModelKind::Abp, 1024);
    d.addSweepResult(result(0.5, 150, 3.0, 0.7, 0.85), ModelKind::Abp, 1024);
    d.addSweepResult(result(0.7, 50, 2.0, 0.5, 0.4), ModelKind::Abp, 1024);   // dense but unimodal: homogeneous
    d.addSweepResult(result(0.5, 150, 9.0, 0.7, 0.85), ModelKind::Aoup, 1024);  // another model: not drawn
    SweepResult bad = result(0.8, 300, 0.0, 0.0, 0.0);
    bad.failed = true;
    bad.note = "non-finite position";
    d.addSweepResult(bad, ModelKind::Abp, 1024);
    QCOMPARE(d.shownPoints(), 4);
    QScatterSeries* hom = series(d, QStringLiteral("homogeneous"));
    QScatterSeries* sep = series(d, QStringLiteral("phase-separated"));
    QScatterSeries* fail = series(d, QStringLiteral("failed (blew up)"));
    QScatterSeries* here = series(d, QStringLiteral("running now"));
    QVERIFY(hom && sep && fail && here);
    QCOMPARE(hom->count(), 2);
    QCOMPARE(sep->count(), 1);
    QCOMPARE(fail->count(), 1);
    QCOMPARE(here->points().value(0), QPointF(live.cfg.phi, live.cfg.peclet()));
    // Viridis from the lowest EPR (1.0) to the highest (3.0).
    const auto colourOf = [](QScatterSeries* s, int i) {
        return s->pointConfiguration(i).value(QXYSeries::PointConfiguration::Color).value<QColor>();
    };
    QCOMPARE(colourOf(hom, 0).name(), QStringLiteral("#440154"));
    QCOMPARE(colourOf(sep, 0).name(), QStringLiteral("#fde725"));
    // Colour by the cluster fraction instead: 0.02 lowest, 0.7 highest.
    d.setColourBy(PhaseColour::ClusterFraction);
    QCOMPARE(colourOf(hom, 0).name(), QStringLiteral("#440154"));
    QCOMPARE(colourOf(sep, 0).name(), QStringLiteral("#fde725"));
    QVERIFY(colourOf(hom, 1) != colourOf(hom, 0));
}

void TestPhaseDiagram::formGivesGridsListsAndNamesBadInput() {
    PhaseDiagram d;
    QString error;
    SweepRequest r = d.request(&error);
    QVERIFY(error.isEmpty());
    QCOMPARE(r.points.size(), std::size_t(9));  // the default 3 x 3 grid
    QCOMPARE(r.points[0].phi, 0.3);
    QCOMPARE(r.points[0].pe, 50.0);
    QCOMPARE(r.points[1].pe, 125.0);  // Pe inner
    QCOMPARE(r.points[8].phi, 0.7);
    QCOMPARE(r.network, SweepRequest::Network::Transfer);
    QVERIFY(r.options.network);
    QCOMPARE(r.options.train_steps, std::uint64_t(0));
    auto* list = d.findChild<QLineEdit*>();
    QVERIFY(list);
    list->setText(QStringLiteral("0.3, 50; 0.55,120 ;"));
    r = d.request(&error);
    QCOMPARE(r.points.size(), std::size_t(2));
    QCOMPARE(r.points[1].phi, 0.55);
    QCOMPARE(r.points[1].pe, 120.0);
    list->setText(QStringLiteral("0.3,50; 0.4"));
    r = d.request(&error);
    QVERIFY(r.points.empty());
    QVERIFY2(error.contains(QStringLiteral("\"0.4\"")), qPrintable(error));
    list->setText(QStringLiteral("0.95,50"));
    r = d.request(&error);
    QVERIFY(r.points.empty());
    QVERIFY2(error.contains(QStringLiteral("0.95")), qPrintable(error));
    // A bad form emits nothing.
    QSignalSpy spy(&d, &PhaseDiagram::sweepRequested);
    QPushButton* start = nullptr;
    for (QPushButton* b : d.findChildren<QPushButton*>()) {
        if (b->text() == QStringLiteral("Start sweep")) start = b;
    }
    QVERIFY(start);
    start->click();
    QCOMPARE(spy.count(), 0);
    list->clear();
    start->click();
    QCOMPARE(spy.count(), 1);
}

void TestPhaseDiagram::rectangleSetsTheRanges() {
    PhaseDiagram d;
    d.selectRectangle(QRectF(QPointF(0.42, 80.0), QPointF(0.61, 220.0)));
    const SweepRequest r = d.request();
    QCOMPARE(r.points.front().phi, 0.42);
    QCOMPARE(r.points.front().pe, 80.0);
    QCOMPARE(r.points.back().phi, 0.61);
    QCOMPARE(r.points.back().pe, 220.0);
}

void TestPhaseDiagram::clickOnAPointAsksToGoThere() {
    PhaseDiagram d;
    d.addSweepResult(result(0.4, 120, 1.0, 0.02, 0.3), ModelKind::Abp, 1024);
    QSignalSpy spy(&d, &PhaseDiagram::pointActivated);
    Q_EMIT series(d, QStringLiteral("homogeneous"))->clicked(QPointF(0.401, 121.0));
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toDouble(), 0.4);
    QCOMPARE(spy.at(0).at(1).toDouble(), 120.0);
    // Far from every point: nothing.
    Q_EMIT series(d, QStringLiteral("homogeneous"))->clicked(QPointF(0.8, 10.0));
    QCOMPARE(spy.count(), 1);
    // A point run from the window keeps its last state: a click resumes it.
    SweepResult r = result(0.6, 200, 2.0, 0.02, 0.3);
    r.state = std::make_shared<State>();
    Config at = default_config(ModelKind::Abp);
    at.phi = 0.6;
    d.addSweepPoint(r, at);
    QSignalSpy resume(&d, &PhaseDiagram::pointResumeRequested);
    Q_EMIT series(d, QStringLiteral("homogeneous"))->clicked(QPointF(0.6, 200.0));
    QCOMPARE(resume.count(), 1);
    QCOMPARE(spy.count(), 1);
    const std::size_t i = resume.at(0).at(0).value<std::size_t>();
    QVERIFY(d.map().points()[i].resumable());
    QCOMPARE(d.map().points()[i].config->phi, 0.6);
    QVERIFY(d.tooltip(i).contains(QStringLiteral("resume")));
}

void TestPhaseDiagram::tooltipShowsBothIndicatorsAndTheRule() {
    PhaseDiagram d;
    d.addSweepResult(result(0.5, 150, 3.0, 0.7, 0.85), ModelKind::Abp, 1024);
    const QString t = d.tooltip(0);
    QVERIFY2(t.contains(QStringLiteral("separated")), qPrintable(t));
    QVERIFY2(t.contains(QStringLiteral("0.700")) && t.contains(QStringLiteral("0.850")), qPrintable(t));
    QVERIFY2(t.contains(QString::fromStdString(phase_criterion())), qPrintable(t));
    QVERIFY2(t.contains(QStringLiteral("3 ± 0.15")), qPrintable(t));
    QVERIFY(d.tooltip(5).isEmpty());
}

void TestPhaseDiagram::figureNamesItsColourAndKeepsTextAsText() {
    PhaseDiagram d;
    d.addSweepResult(result(0.3, 50, 1.0, 0.02, 0.3), ModelKind::Abp, 1024);
    d.addSweepResult(result(0.5, 150, 3.0, 0.7, 0.85), ModelKind::Abp, 1024);
    QTemporaryDir dir;
    QString error;
    const QString svg = dir.filePath(QStringLiteral("plane.svg"));
    QVERIFY2(d.saveFigure(svg, QSize(900, 600), &error), qPrintable(error));
    QFile f(svg);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(f.readAll());
    QVERIFY(text.contains(QStringLiteral("<text")));
    QVERIFY2(text.contains(QStringLiteral("ABP phase diagram")), "no title");
    QVERIFY2(text.contains(QStringLiteral("from 1 to 3")), "the colour range is not in the title");
    QVERIFY(text.contains(QStringLiteral("phase-separated")));
    const QString png = dir.filePath(QStringLiteral("plane.png"));
    QVERIFY(d.saveFigure(png, QSize(1000, 700), &error));
    QCOMPARE(QImage(png).size(), QSize(1000, 700));
    QVERIFY(!d.saveFigure(dir.filePath(QStringLiteral("plane.bmp")), QSize(1000, 700), &error));
}

QTEST_MAIN(TestPhaseDiagram)
#include "TestPhaseDiagram.moc"

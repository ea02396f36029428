// Sweeps: a point is the session core at the point's physics; the grid
// runner's results do not depend on its threads; cancel and progress work.
#include <QtTest>

#include <atomic>
#include <cmath>
#include <mutex>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/io/sweep_table.hpp"
#include "entroscope/session/sweep.hpp"
#include <QTemporaryDir>
#include <fstream>

using namespace entroscope;

namespace {

Config tiny() { return parse_config(R"({"model":"abp","n":64,"phi":0.3,"pe":100,"interaction":"wca","seed":4})"); }

SweepOptions quick() {
    SweepOptions o;
    o.network = false;
    o.burn_in = 300;
    o.samples = 3;
    o.sample_every = 100;
    return o;
}

}  // namespace

class TestSweep : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void tableRoundTripsAsJsonLinesAndCsv() {
        SweepRow a;
        a.index = 3;
        a.model = ModelKind::Abp;
        a.n = 1024;
        a.result.phi = 0.3;  // not exactly representable: must read back bit for bit
        a.result.pe = 123.456789;
        a.result.epr_active = MeanSe{2.5, 0.125, 10};
        a.result.epr_total = MeanSe{900.0, 12.0, 10};
        a.result.phase.largest_cluster_fraction = 0.625;
        a.result.phase.density_bimodality = 0.75;
        a.result.phase.separated = true;
        a.result.phase.states = 10;
        a.result.evaluations = 10;
        a.result.network_step = 16000;
        a.result.seconds = 6.5;
        a.result.note = "network, \"quoted\", transferred";
        SweepRow b = a;
        b.index = 4;
        b.result.failed = true;
        b.result.phase.separated = false;
        b.result.epr_active = MeanSe{};
        b.result.epr_active.mean = std::nan("");
        QTemporaryDir dir;
        for (const char* name : {"t.jsonl", "t.CSV"}) {
            const std::string path = dir.filePath(QString::fromLatin1(name)).toStdString();
            QCOMPARE(sweep_table_is_csv(path), std::string(name) == "t.CSV");
            std::ofstream(path) << sweep_table_text(path, {a, b});
            const std::vector<SweepRow> rows = read_sweep_table(path);
            QCOMPARE(rows.size(), std::size_t(2));
            const SweepRow& r = rows[0];
            QCOMPARE(r.index, std::size_t(3));
            QCOMPARE(r.model, ModelKind::Abp);
            QCOMPARE(r.n, 1024);
            QCOMPARE(r.result.phi, 0.3);
            QCOMPARE(r.result.pe, 123.456789);
            QCOMPARE(r.result.epr_active.mean, 2.5);
            QCOMPARE(r.result.epr_active.se, 0.125);
            QCOMPARE(r.result.epr_total.mean, 900.0);
            QCOMPARE(r.result.epr_total_network_free.count, std::int64_t(0));
            QVERIFY(r.result.phase.separated && !r.result.failed);
            QCOMPARE(r.result.phase.largest_cluster_fraction, 0.625);
            QCOMPARE(r.result.phase.states, 10);
            QCOMPARE(r.result.network_step, std::uint64_t(16000));
            QCOMPARE(r.result.note, a.result.note);
            QVERIFY(rows[1].result.failed);
            QCOMPARE(rows[1].result.phase_label(), std::string("failed"));
            QCOMPARE(rows[1].result.epr_active.count, std::int64_t(0));
        }
        // Not a table: a clear IoError naming the file.
        const std::string bad = dir.filePath(QStringLiteral("bad.jsonl")).toStdString();
        std::ofstream(bad) << "{\"phi\": 0.3}\nnot json\n";
        QVERIFY_THROWS_EXCEPTION(IoError, read_sweep_table(bad));
        const std::string badCsv = dir.filePath(QStringLiteral("bad.csv")).toStdString();
        std::ofstream(badCsv) << "a,b,c\n1,2,3\n";
        try {
            read_sweep_table(badCsv);
            QFAIL("a CSV with another header was read");
        } catch (const IoError& e) {
            QVERIFY2(std::string(e.what()).find("bad.csv") != std::string::npos, e.what());
        }
        QVERIFY_THROWS_EXCEPTION(IoError, read_sweep_table(dir.filePath(QStringLiteral("missing.csv")).toStdString()));
    }

    void pointConfigSetsPackingFractionAndPecletAtTheSameN() {
        Config base = tiny();
        base.box = 20.0;  // a config that gave the box: phi wins for the point
        base.box_given = true;
        base.finalize();
        const Config c = sweep_point_config(base, {0.4, 50.0});
        QCOMPARE(c.n, 64);
        QCOMPARE(c.phi, 0.4);
        QVERIFY(std::abs(c.box - std::sqrt(64 * c.particle_area() / 0.4)) < 1e-12);
        QVERIFY(std::abs(c.peclet() - 50.0) < 1e-9);
        QCOMPARE(c.v0, base.v0);  // Stenhammar: Pe through the noise
        QVERIFY_THROWS_EXCEPTION(ConfigError, sweep_point_config(base, {0.99, 50.0}));
        QVERIFY_THROWS_EXCEPTION(ConfigError, sweep_point_config(base, {0.4, -1.0}));
    }

    void gridResultsDoNotDependOnTheThreadCount() {
        const std::vector<SweepPoint> pts = sweep_grid({0.2, 0.5}, {10.0, 80.0});
        QCOMPARE(pts.size(), std::size_t(4));
        QCOMPARE(pts[1].phi, 0.2);
        QCOMPARE(pts[1].pe, 80.0);  // phi outer, Pe inner
        std::vector<std::vector<SweepResult>> runs;
        for (int threads : {1, 3}) {
            std::mutex m;
            std::vector<std::size_t> finished;
            SweepCallbacks cb;
            cb.finished = [&](const SweepResult& r) {
                std::lock_guard<std::mutex> lock(m);
                finished.push_back(r.index);
            };
            runs.push_back(run_sweep(tiny(), pts, quick(), threads, cb));
            QCOMPARE(finished.size(), pts.size());
        }
        for (const auto& run : runs) {
            QCOMPARE(run.size(), pts.size());
            for (std::size_t k = 0; k < run.size(); ++k) {
                QCOMPARE(run[k].index, k);
                QCOMPARE(run[k].phi, pts[k].phi);
                QCOMPARE(run[k].pe, pts[k].pe);
                QCOMPARE(run[k].phase.states, 3);
                QVERIFY(!run[k].failed);
                QCOMPARE(run[k].epr_active.count, std::int64_t(0));  // no network
                QVERIFY(std::isnan(run[k].epr_active.mean));
            }
        }
        for (std::size_t k = 0; k < pts.size(); ++k) {
            QCOMPARE(runs[0][k].phase.largest_cluster_fraction, runs[1][k].phase.largest_cluster_fraction);
            QCOMPARE(runs[0][k].phase.mean_phi, runs[1][k].phase.mean_phi);
        }
        // Different points are different systems.
        QVERIFY(runs[0][0].phase.mean_phi != runs[0][2].phase.mean_phi);
    }

    void progressRisesToOneAndCancelStopsAPoint() {
        std::vector<double> seen;
        SweepCallbacks cb;
        cb.progress = [&](double f) { seen.push_back(f); };
        QVERIFY(run_sweep_point(tiny(), {0.3, 50.0}, quick(), cb).has_value());
        QVERIFY(seen.size() >= 4);
        for (std::size_t k = 1; k < seen.size(); ++k) QVERIFY(seen[k] >= seen[k - 1]);
        QCOMPARE(seen.back(), 1.0);

        SweepOptions longer = quick();
        longer.burn_in = 100000000;  // hours: only a cancel ends it
        std::atomic<int> asked{0};
        SweepCallbacks stop;
        stop.cancelled = [&] { return ++asked > 3; };
        QVERIFY(!run_sweep_point(tiny(), {0.3, 50.0}, longer, stop).has_value());
        QCOMPARE(asked.load(), 4);
        // The grid leaves a cancelled point out and reports nothing for it.
        int finished = 0;
        stop.finished = [&](const SweepResult&) { ++finished; };
        asked = 0;
        QVERIFY(run_sweep(tiny(), {{0.3, 50.0}}, longer, 1, stop).empty());
        QCOMPARE(finished, 0);
    }

    void aPointTrainsItsNetworkThenMeasuresWithBothEstimators() {
        SweepOptions o = quick();
        o.network = true;
        o.train_steps = 3;  // a fresh network (no model_path)
        const auto r = run_sweep_point(tiny(), {0.3, 50.0}, o);
        QVERIFY(r.has_value());
        QCOMPARE(r->evaluations, 3);
        QCOMPARE(r->network_step, std::uint64_t(3));  // no training while measuring
        QCOMPARE(r->epr_active.count, std::int64_t(3));
        QVERIFY(std::isfinite(r->epr_active.mean) && std::isfinite(r->epr_active_div.mean));
        QVERIFY(r->epr_total_network_free.count > 0);   // ABP: positional noise
        QCOMPARE(r->epr_active_identity.count, std::int64_t(0));
        QVERIFY(QString::fromStdString(r->note).contains("trained 3 steps"));
    }

    void badOptionsAndPointsAreConfigErrorsBeforeAnythingRuns() {
        SweepOptions o = quick();
        o.network = true;  // transfer without a model: nothing to transfer
        QVERIFY_THROWS_EXCEPTION(ConfigError, run_sweep_point(tiny(), {0.3, 50.0}, o));
        o = quick();
        o.samples = 0;
        QVERIFY_THROWS_EXCEPTION(ConfigError, run_sweep(tiny(), {{0.3, 50.0}}, o, 1));
        int finished = 0;
        SweepCallbacks cb;
        cb.finished = [&](const SweepResult&) { ++finished; };
        try {
            run_sweep(tiny(), {{0.3, 50.0}, {2.0, 50.0}}, quick(), 1, cb);
            QFAIL("no throw");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.key()), QString("points[1].phi"));
        }
        QCOMPARE(finished, 0);
        QVERIFY_THROWS_EXCEPTION(ConfigError, run_sweep(tiny(), {{0.3, 50.0}}, quick(), 0));
    }
};

QTEST_APPLESS_MAIN(TestSweep)
#include "TestSweep.moc"

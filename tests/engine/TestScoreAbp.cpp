// The learned total EPR of an interacting system against what an exact
// score reads: the network-free total E[b.D^-1 b + div b] plus the Euler
// chain's time-step share of E[sum div v] (docs/numerics.md, "The time
// step"), held snapshot by snapshot (a paired difference, so the
// trajectory's own fluctuations cancel). The same check as `entroscope-cli
// bench --what accuracy` on an interacting system, with the training of
// `entroscope-cli train` (the session core, snapshots one decorrelation
// time apart).
#include <QtTest>

#include <QElapsedTimer>

#include <cmath>
#include <vector>

#include "entroscope/analysis/estimators.hpp"
#include "entroscope/analysis/observables.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/core/time_scales.hpp"
#include "entroscope/score/score_model.hpp"
#include "entroscope/session/session_core.hpp"
#include "entroscope/sim/simulator.hpp"

using namespace entroscope;

namespace {

// ABP with WCA disks, N 256, phi 0.1, Pe 100 (v0 24, D_r 0.72, D_t 0.24),
// dt 2.5e-5 so the time step's share is small (0.05 % of the total); the
// fast network at the width of the trap tests, ISM.
constexpr const char* kDiluteAbp = R"({"model":"abp","n":256,"phi":0.1,"pe":100,"interaction":"wca","seed":7,"dt":2.5e-5,
    "network":{"arch":"fast","k_neighbors":16,"width":32,"layers":2,"heads":2},
    "training":{"loss":"ism","lr":1e-3,"batch":256,"ema":0.99,"warmup":100}})";

constexpr std::uint64_t kBurnIn = 400000;  // t = 10: 7 rotational times, 240 collision times
constexpr std::uint64_t kEvalEvery = 20000;
constexpr int kEvalSnapshots = 100;
constexpr int kBatches = 10;

}  // namespace

class TestScoreAbp : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { set_network_threads(2); }

    // Bars: each estimator's paired difference from the reference within
    // 2 % of the reference plus 2 of its batch-means SEs (10 batches of 10
    // snapshots); the SE must be below 0.5 % of the reference, so the bar
    // is the 2 %. Measured when written (2026-12-03, 2 cores): -1.60 +-
    // 0.15 % (|v|^2) and -1.39 +- 0.14 % (divergence), bars 2.30 % and
    // 2.27 %, after 4000 steps (231 s of training). At phi 0.3 the same network reads
    // -2.8 % / -3.0 % after 6000 steps and fails this bar
    // (docs/performance.md, "Accuracy on an interacting system").
    void diluteAbpTotalWithin2PercentOfTheNetworkFreeReference() {
        Config cfg = parse_config(kDiluteAbp);
        cfg.finalize();
        // The evaluation set: an independent trajectory (seed + 1000).
        Config run = cfg;
        run.seed = cfg.seed + 1000;
        Simulator sim(run, 2);
        sim.run(kBurnIn);
        std::vector<State> eval;
        for (int k = 0; k < kEvalSnapshots; ++k) {
            sim.run(kEvalEvery);
            eval.push_back(sim.state());
        }
        SessionOptions so;
        so.training = true;
        so.schedule_steps = 4000;
        so.sample_every = decorrelation_steps(cfg);
        QCOMPARE(so.sample_every, std::uint64_t(1667));  // the time to move one diameter, 1/24
        so.sim_threads = 2;
        so.fields = false;
        SessionCore core(cfg, so);
        core.burn_in(kBurnIn);
        QElapsedTimer clock;
        clock.start();
        QCOMPARE(core.train(so.schedule_steps), so.schedule_steps);
        const double seconds = clock.elapsed() / 1000.0;

        std::vector<double> ref, nf, share, d_sq, d_div;
        for (const State& s : eval) {
            const SnapshotTotals t = snapshot_totals(estimate_particles(cfg, s, core.model()->infer(s, true)));
            QVERIFY(std::isfinite(t.epr_total) && std::isfinite(t.epr_total_div) && std::isfinite(t.epr_total_network_free) &&
                    std::isfinite(t.time_step_bias));
            const double want = t.epr_total_network_free + t.time_step_bias;
            ref.push_back(want);
            nf.push_back(t.epr_total_network_free);
            share.push_back(t.time_step_bias);
            d_sq.push_back(t.epr_total - want);
            d_div.push_back(t.epr_total_div - want);
        }
        const MeanSe r = batch_means(ref, kBatches), n = batch_means(nf, kBatches), sh = batch_means(share, kBatches);
        const MeanSe dq = batch_means(d_sq, kBatches), dd = batch_means(d_div, kBatches);
        QVERIFY(r.mean > 0);
        const double per = 1.0 / cfg.n;
        qInfo("reference (network-free %.6g +- %.2g, time step's share %.4g +- %.2g) %.6g per particle; %.0f s of training",
              n.mean * per, n.se * per, sh.mean * per, sh.se * per, r.mean * per, seconds);
        bool ok = true;
        for (const auto& [what, d] : {std::pair<const char*, MeanSe>{"|v|^2", dq}, {"divergence", dd}}) {
            const double bar = 0.02 * r.mean + 2.0 * d.se;
            const bool pass = std::fabs(d.mean) <= bar && d.se <= 0.005 * r.mean;
            qInfo("learned total (%s) %.6g per particle: %+.2f +- %.2f %% of the reference (bar %.2f %%)%s", what,
                  (r.mean + d.mean) * per, 100.0 * d.mean / r.mean, 100.0 * d.se / r.mean, 100.0 * bar / r.mean,
                  pass ? "" : "  FAILS");
            ok = ok && pass;
        }
        QVERIFY(ok);
    }
};

QTEST_APPLESS_MAIN(TestScoreAbp)
#include "TestScoreAbp.moc"

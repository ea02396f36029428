// Learned entropy production against the exact answers of SPEC §5 (the
// correctness bars of the score-model issue). Each case trains a small
// network online from the simulator, then estimates from fresh snapshots.
// Bars: the learned value within the stated relative error of the exact one;
// the estimate's own standard error is printed and must be well inside the
// bar, so the check is about the network, not about sampling luck.
#include <QtTest>

#include <QElapsedTimer>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "entroscope/core/config.hpp"
#include "entroscope/physics/drift.hpp"
#include "entroscope/analysis/estimators.hpp"
#include "entroscope/physics/linear_oracle.hpp"
#include "entroscope/score/score_model.hpp"
#include "entroscope/sim/simulator.hpp"

using namespace entroscope;

namespace {

Config trap_system(int n, double eps, const std::string& prior = "scaled") {
    // dt = 0.002: the Euler chain's own stationary law then shifts the active
    // EPR by 0.3% from the continuous answer (1.35% at dt = 0.01), leaving the
    // bar to the network. ISM: no sigma bias and less gradient noise than DSM,
    // which at these sizes scattered by several percent between runs.
    Config c = parse_config(R"({"model":"aoup","n":512,"box":400,"interaction":"none","v0":1.0,"gamma":1.0,
        "trap_stiffness":[1.0],"dt":0.002,"seed":11,
        "network":{"arch":"fast","k_neighbors":4,"width":32,"layers":2,"heads":2},
        "training":{"loss":"ism","lr":3e-3,"batch":512,"ema":0.99,"warmup":100}})");
    c.n = n;
    c.eps = eps;
    c.network.prior = parse_network_prior(prior);
    c.finalize();
    return c;
}

// Online training as `entroscope-cli train` does it: a new snapshot every
// 100 simulator steps (0.2 time units), one optimiser step per snapshot and batch.
ScoreModel train(const Config& cfg, int steps, std::uint64_t burn_in = 2500) {
    ScoreModel m(cfg);
    m.set_schedule_length(static_cast<std::uint64_t>(steps));
    Simulator sim(cfg, 1);
    sim.run(burn_in);
    std::mt19937_64 rng(cfg.seed);
    const int batch = std::min(cfg.training.batch, cfg.n);
    std::vector<int> idx(static_cast<std::size_t>(cfg.n));
    std::iota(idx.begin(), idx.end(), 0);
    for (int s = 0; s < steps; ++s) {
        if (s % std::max(1, cfg.n / batch) == 0) sim.run(100);
        std::shuffle(idx.begin(), idx.end(), rng);
        std::vector<int> b(idx.begin(), idx.begin() + batch);
        m.train_step(sim.state(), b);
    }
    return m;
}

EstimatorAccumulator::Summary estimate(const Config& cfg, const ScoreModel& m, int samples, std::uint64_t burn_in = 2500,
                                       std::uint64_t every = 1000, int batches = 0) {
    Config run = cfg;
    run.seed = cfg.seed + 1000;  // fresh trajectory, not the training one
    Simulator sim(run, 1);
    sim.run(burn_in);
    EstimatorAccumulator acc(cfg.n, cfg.types);
    for (int k = 0; k < samples; ++k) {
        sim.run(every);  // default: 2 relaxation times apart
        acc.add(estimate_particles(cfg, sim.state(), m.infer(sim.state(), true)));
    }
    return acc.summary(batches);
}

// Uniform in [0, 1) from a 64-bit generator (the same numbers on every
// platform, unlike std::uniform_real_distribution), and log-uniform in [lo, hi].
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
double log_uniform(std::mt19937_64& rng, double lo, double hi) { return lo * std::pow(hi / lo, uniform01(rng)); }

// One randomised trap system: three particle types of 1000 particles,
// each type's stiffness log-uniform in [0.2, 5], v0 in [0.5, 2], gamma in
// [0.5, 2], and eps = 0 or log-uniform in [0.05, 0.5]. The network and the
// training are the other trap tests' (fast, width 32, ISM).
Config random_trap_types(std::uint64_t seed, bool with_noise) {
    std::mt19937_64 rng(seed);
    Config c = trap_system(3000, 0.0);
    c.box = 100;  // the widest trap's spread is below 6 length units: no wrapping
    c.seed = seed;
    c.trap_stiffness.clear();
    for (int t = 0; t < 3; ++t) c.trap_stiffness.push_back(log_uniform(rng, 0.2, 5.0));
    c.v0 = log_uniform(rng, 0.5, 2.0);
    c.gamma = log_uniform(rng, 0.5, 2.0);
    const double eps = log_uniform(rng, 0.05, 0.5);
    c.eps = with_noise ? eps : 0.0;
    c.types.resize(3000);
    for (int i = 0; i < 3000; ++i) c.types[static_cast<std::size_t>(i)] = i % 3;
    c.finalize();
    return c;
}

// |learned - exact| within 2 % of exact plus 2 standard errors of the
// learned value; the SE must itself be below 0.5 % of exact, so the bar is
// the 2 %, not the sampling noise.
bool within_bar(const char* what, const MeanSe& m, double exact, double exact_sde) {
    const double bar = 0.02 * std::fabs(exact) + 2.0 * m.se;
    const bool ok = std::fabs(m.mean - exact) <= bar && m.se <= 0.005 * std::fabs(exact);
    qInfo("%s: learned %.5g +- %.2g / exact (chain) %.5g / exact (SDE) %.5g: %+.2f %% (bar %.2f %%)%s", what, m.mean, m.se, exact,
          exact_sde, 100.0 * (m.mean / exact - 1.0), 100.0 * bar / std::fabs(exact), ok ? "" : "  FAILS");
    return ok;
}

QString report(const char* what, const MeanSe& m, double exact) {
    return QString("%1: learned %2 +- %3, exact %4 (%5%)")
        .arg(what)
        .arg(m.mean, 0, 'g', 6)
        .arg(m.se, 0, 'g', 3)
        .arg(exact, 0, 'g', 6)
        .arg(100.0 * (m.mean - exact) / exact, 0, 'f', 2);
}

}  // namespace

class TestScoreOracles : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { set_network_threads(2); }

    void equilibriumControlEprConsistentWithZero() {
        // SPEC §5.4: v0 = 0, eps > 0, softplus repulsion: EPR = 0, v = 0.
        // The divergence-type total (v.b/D + div v, linear in the score) has
        // mean 0 at equilibrium for any score, so it must be within 3 SE of 0;
        // the |v|^2 total is >= 0 for every snapshot and measures how well
        // the network learned v = 0: it must be below 1% of E|b_x|^2 / eps,
        // the value it would have with the score set to 0. (With the drift
        // prior the output starts at v = 0 and the linear path at its least-
        // squares optimum, so this checks that training on equilibrium data
        // does not make up a flow; with "prior": "none" the same training
        // gives 1.4% and fails.)
        Config c = parse_config(R"({"model":"aoup","n":256,"phi":0.3,"v0":0.0,"eps":0.1,"gamma":1.0,"dt":0.01,"seed":3,
            "network":{"arch":"fast","width":32,"layers":2,"heads":2},
            "training":{"loss":"ism","lr":1e-3,"batch":256,"ema":0.99,"warmup":100}})");
        const ScoreModel m = train(c, 1000);
        const auto s = estimate(c, m, 100);
        Config run = c;
        run.seed = c.seed + 1000;
        Simulator sim(run, 1);
        sim.run(5000);
        double b2 = 0;
        for (int k = 0; k < 20; ++k) {
            sim.run(500);
            const Drift d = compute_drift(c, sim.state());
            for (double v : d.b_x) b2 += v * v / c.eps;
        }
        b2 /= 20.0;
        qInfo("total (v.b/D + div v): %g +- %g; total |v|^2: %g +- %g; E|b_x|^2/eps: %g", s.epr_total_div.mean,
              s.epr_total_div.se, s.epr_total.mean, s.epr_total.se, b2);
        QVERIFY(s.epr_total_div.se > 0);
        QVERIFY(std::fabs(s.epr_total_div.mean) < 3 * s.epr_total_div.se);
        QVERIFY(s.epr_total.mean < 0.01 * b2);
    }

    // The output forms of the drift prior: "scaled" (the default: head in
    // units of sqrt(D), own drift as an input), "drift", and "multiscale"
    // ("scaled" with compressed drift inputs).
    void singleTrapActivePartAndTotalWithin3Percent_data() {
        QTest::addColumn<QString>("prior");
        QTest::newRow("drift") << "drift";
        QTest::newRow("scaled") << "scaled";
        QTest::newRow("multiscale") << "multiscale";
    }
    void singleTrapActivePartAndTotalWithin3Percent() {
        QFETCH(QString, prior);
        const Config cfg = trap_system(512, 0.1, prior.toStdString());
        const ScoreModel m = train(cfg, 1500);
        const auto ex = solve_linear_system(cfg);
        const auto s = estimate(cfg, m, 40);
        qInfo("%s", qPrintable(report("active (|v|^2)", s.epr_active, ex.epr_active_total)));
        qInfo("%s", qPrintable(report("active (divergence)", s.epr_active_div, ex.epr_active_total)));
        qInfo("%s", qPrintable(report("total", s.epr_total, ex.epr_total)));
        QVERIFY(s.epr_active.se < 0.01 * ex.epr_active_total);
        QVERIFY(std::fabs(s.epr_active.mean / ex.epr_active_total - 1) < 0.03);
        QVERIFY(std::fabs(s.epr_active_div.mean / ex.epr_active_total - 1) < 0.03);
        QVERIFY(std::fabs(s.epr_total.mean / ex.epr_total - 1) < 0.03);
    }

    void hypoellipticTrapActivePartWithin3Percent_data() { singleTrapActivePartAndTotalWithin3Percent_data(); }
    void hypoellipticTrapActivePartWithin3Percent() {
        QFETCH(QString, prior);
        const Config cfg = trap_system(512, 0.0, prior.toStdString());
        const ScoreModel m = train(cfg, 1500);
        const auto ex = solve_linear_system(cfg);  // active part = d A per particle
        const auto s = estimate(cfg, m, 40);
        qInfo("%s", qPrintable(report("active (|v|^2)", s.epr_active, ex.epr_active_total)));
        qInfo("%s", qPrintable(report("active (divergence)", s.epr_active_div, ex.epr_active_total)));
        QCOMPARE(s.x_part, XPart::Infinite);
        QVERIFY(std::fabs(s.epr_active.mean / ex.epr_active_total - 1) < 0.03);
        QVERIFY(std::fabs(s.epr_active_div.mean / ex.epr_active_total - 1) < 0.03);
    }

    // At a coarse time step (A dt = 0.2) the simulator's Euler chain has its
    // own stationary law, and the network learns that law's score: its EPR is
    // about A dt / 2 = 10 % below the SDE's and its E[div v] is about
    // -(dt/2) tr J^2, not 0. The oracle's *_discrete values are that score's
    // exact answers; the bar is 3 %, as for the other traps, and the SDE's
    // value is more than three bars away.
    void coarseTimeStepIsLearnedAsTheSimulatedChain() {
        Config cfg = trap_system(512, 0.0);
        cfg.gamma = 0.01;  // slow active variable (persistence 500 steps)
        cfg.dt = 0.2;
        cfg.finalize();
        const auto ex = solve_linear_system(cfg);
        QVERIFY(ex.epr_active_total / ex.epr_active_discrete_total - 1 > 0.09);
        const ScoreModel m = train(cfg, 1500);
        const auto s = estimate(cfg, m, 40);
        qInfo("%s", qPrintable(report("active (|v|^2) vs chain", s.epr_active, ex.epr_active_discrete_total)));
        qInfo("%s", qPrintable(report("active (divergence) vs chain", s.epr_active_div, ex.epr_active_discrete_total)));
        qInfo("%s", qPrintable(report("E[div v] vs chain", s.div_v, ex.div_v_discrete)));
        qInfo("SDE's active EPR %g; time_step_bias %g +- %g", ex.epr_active_total, s.time_step_bias.mean, s.time_step_bias.se);
        QVERIFY(std::fabs(s.epr_active.mean / ex.epr_active_discrete_total - 1) < 0.03);
        QVERIFY(std::fabs(s.epr_active_div.mean / ex.epr_active_discrete_total - 1) < 0.03);
        QVERIFY(std::fabs(s.div_v.mean / ex.div_v_discrete - 1) < 0.03);
    }

    void threeTypesPerTypeMeanWithin5Percent() {
        Config cfg = trap_system(600, 0.0);
        cfg.types.resize(600);
        for (int i = 0; i < 600; ++i) cfg.types[static_cast<std::size_t>(i)] = i % 3;
        cfg.trap_stiffness = {0.5, 1.0, 2.0};
        cfg.training.batch = 600;
        cfg.finalize();
        const ScoreModel m = train(cfg, 1500);
        const auto s = estimate(cfg, m, 40);
        for (int t = 0; t < 3; ++t) {
            double mean = 0;
            int count = 0;
            for (int i = t; i < cfg.n; i += 3, ++count) mean += s.sigma_sq_mean[static_cast<std::size_t>(i)];
            mean /= count;
            const double exact = 2.0 * cfg.trap_stiffness[static_cast<std::size_t>(t)];
            qInfo("type %d (A = %g): learned per-particle sigma %.4f, exact %.4f (%.2f%%)", t, cfg.trap_stiffness[static_cast<std::size_t>(t)],
                  mean, exact, 100 * (mean / exact - 1));
            QVERIFY(std::fabs(mean / exact - 1) < 0.05);
        }
    }

    // Randomised oracles (the accuracy issue): systems drawn from stated
    // ranges with fixed seeds, not tuned. Every type's mean per particle of
    // the active part (both estimators), of the x part (eps > 0), and the
    // total: each within 2 % + 2 SE of the Euler chain's exact value (SE
    // from 10 batch means over 200 snapshots, one slowest relaxation time
    // apart). The SDE's value is printed next to it.
    void randomisedTrapTypesWithin2Percent_data() {
        QTest::addColumn<quint64>("seed");
        QTest::addColumn<bool>("noise");
        QTest::newRow("seed 101, eps = 0") << quint64{101} << false;
        QTest::newRow("seed 202, eps = 0") << quint64{202} << false;
        QTest::newRow("seed 303, eps > 0") << quint64{303} << true;
        QTest::newRow("seed 404, eps > 0") << quint64{404} << true;
    }
    void randomisedTrapTypesWithin2Percent() {
        QFETCH(quint64, seed);
        QFETCH(bool, noise);
        const Config cfg = random_trap_types(seed, noise);
        const double a_min = *std::min_element(cfg.trap_stiffness.begin(), cfg.trap_stiffness.end());
        const double tau = 1.0 / std::min(a_min, cfg.gamma);  // slowest relaxation time
        const auto steps_of = [&](double t) { return static_cast<std::uint64_t>(std::ceil(t / cfg.dt)); };
        qInfo("A = %.3f, %.3f, %.3f; v0 = %.3f, gamma = %.3f, eps = %.3f; dt = %g", cfg.trap_stiffness[0], cfg.trap_stiffness[1],
              cfg.trap_stiffness[2], cfg.v0, cfg.gamma, cfg.eps, cfg.dt);
        QElapsedTimer clock;
        clock.start();
        const ScoreModel m = train(cfg, 1500, steps_of(20 * tau));
        const double seconds = static_cast<double>(clock.elapsed()) / 1000.0;
        const auto ex = solve_linear_system(cfg);
        const auto s = estimate(cfg, m, 200, steps_of(20 * tau), steps_of(tau), 10);
        qInfo("trained 1500 steps in %.1f s", seconds);
        bool ok = true;
        QCOMPARE(s.per_type.size(), std::size_t{3});
        for (const auto& t : s.per_type) {
            double chain = 0, sde = 0, chain_x = 0, sde_x = 0;
            for (int i = t.type; i < cfg.n; i += 3) {
                const auto k = static_cast<std::size_t>(i);
                chain += ex.epr_active_discrete[k] / t.particles;
                sde += ex.epr_active[k] / t.particles;
                chain_x += ex.epr_x_discrete[k] / t.particles;
                sde_x += ex.epr_x[k] / t.particles;
            }
            const QByteArray name = QByteArray("type ") + QByteArray::number(t.type) + " (A = " +
                                    QByteArray::number(cfg.trap_stiffness[static_cast<std::size_t>(t.type)], 'g', 3) + ")";
            ok &= within_bar(name + " active |v|^2", t.active, chain, sde);
            ok &= within_bar(name + " active div", t.active_div, chain, sde);
            if (noise) ok &= within_bar(name + " x |v|^2", t.x, chain_x, sde_x);
        }
        if (noise) ok &= within_bar("total |v|^2", s.epr_total, ex.epr_active_discrete_total + ex.epr_x_discrete_total, ex.epr_total);
        else ok &= within_bar("total (active) |v|^2", s.epr_active, ex.epr_active_discrete_total, ex.epr_active_total);
        QVERIFY(ok);
    }

    // "multiscale" too: the spring partner is a neighbour, so its compressed
    // relative drift is an input here (the single traps have no neighbours).
    void springPairPerParticleWithin5Percent_data() {
        QTest::addColumn<QString>("prior");
        QTest::newRow("scaled") << "scaled";
        QTest::newRow("multiscale") << "multiscale";
    }
    void springPairPerParticleWithin5Percent() {
        QFETCH(QString, prior);
        Config cfg = trap_system(512, 0.0, prior.toStdString());
        for (int p = 0; p < 256; ++p) cfg.springs.push_back({2 * p, 2 * p + 1, 0.5});
        cfg.finalize();
        const ScoreModel m = train(cfg, 1500);
        const auto s = estimate(cfg, m, 40);
        const double exact = 2.0 * (1.0 + 0.5);  // d (A + kappa)
        double mean = 0;
        for (double v : s.sigma_sq_mean) mean += v / cfg.n;
        qInfo("spring pair: learned per-particle sigma %.4f, exact %.4f (%.2f%%)", mean, exact, 100 * (mean / exact - 1));
        QVERIFY(std::fabs(mean / exact - 1) < 0.05);
    }
};

QTEST_APPLESS_MAIN(TestScoreOracles)
#include "TestScoreOracles.moc"

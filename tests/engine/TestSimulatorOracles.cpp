// Long simulations against exact answers (SPEC §5). Every tolerance is a
// multiple of a measured standard error plus, where the continuous-time
// answer is used, a stated bound on the Euler–Maruyama bias. Each test runs at
// every SIMD level (simd_levels.hpp): the AVX-512 kernels face the same oracles.
#include <QtTest>

#include <cmath>

#include "entroscope/core/config.hpp"
#include "entroscope/physics/linear_oracle.hpp"
#include "entroscope/analysis/observables.hpp"
#include "entroscope/sim/simulator.hpp"

#include "simd_levels.hpp"

using namespace entroscope;

namespace {

constexpr double kZ = 4.0;  // standard errors allowed (a false alarm ~ 6e-5 per check)

Config linear(int n, double A, double v0, double gamma, double eps, double dt) {
    Config c;
    c.n = n;
    c.box = 200.0;
    c.box_given = true;
    c.interaction = Interaction::None;
    c.v0 = v0;
    c.gamma = gamma;
    c.eps = eps;
    c.dt = dt;
    c.trap_stiffness = {A};
    c.seed = 7;
    c.finalize();
    return c;
}

// Time series of a per-snapshot particle average, with batch-means SE.
template <class F>
MeanSe sample(Simulator& sim, int burn, int samples, int every, F f) {
    sim.run(static_cast<std::uint64_t>(burn));
    std::vector<double> series;
    for (int s = 0; s < samples; ++s) {
        sim.run(static_cast<std::uint64_t>(every));
        series.push_back(f(sim.state()));
    }
    return batch_means(series, 20);
}

// Per-particle squared displacements from the initial state: mean and SE over particles.
MeanSe msd_now(const std::vector<double>& u0, const State& s) {
    const auto u = s.unwrapped();
    const std::size_t n = u.size() / 2;
    double m = 0, m2 = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double dx = u[2 * i] - u0[2 * i], dy = u[2 * i + 1] - u0[2 * i + 1];
        const double d2 = dx * dx + dy * dy;
        m += d2;
        m2 += d2 * d2;
    }
    m /= static_cast<double>(n);
    m2 /= static_cast<double>(n);
    MeanSe r;
    r.mean = m;
    r.se = std::sqrt((m2 - m * m) / static_cast<double>(n - 1));
    r.count = static_cast<std::int64_t>(n);
    return r;
}

QString describe(const char* what, double got, double se, double want) {
    return QString("%1: measured %2 +- %3, exact %4 (%5 SE)")
        .arg(what)
        .arg(got, 0, 'g', 7)
        .arg(se, 0, 'g', 3)
        .arg(want, 0, 'g', 7)
        .arg((got - want) / se, 0, 'f', 2);
}

}  // namespace

class TestSimulatorOracles : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase_data() { test::add_simd_levels(); }
    void init() {
        QByteArray why;
        if (!test::use_simd_level_of_row(why)) QSKIP(why.constData());
    }

    void trappedAoupPositionalVarianceMatchesLyapunov_data() {
        QTest::addColumn<double>("eps");
        QTest::newRow("eps>0") << 0.1;
        QTest::newRow("eps=0 (hypoelliptic)") << 0.0;
    }
    void trappedAoupPositionalVarianceMatchesLyapunov() {
        QFETCH(double, eps);
        const double A = 1.0, v0 = 1.0, gamma = 1.0, dt = 0.01;
        const Config cfg = linear(2000, A, v0, gamma, eps, dt);
        const auto exact = solve_linear_system(cfg);
        Simulator sim(cfg, 2);
        // Relaxation time ~ 1/min(A, gamma) = 1: burn 10, batches of 10 time units.
        const MeanSe m = sample(sim, 1000, 2000, 10, [](const State& s) { return mean_sq_position(s); });
        const double want = exact.mean_sq_position_discrete;
        QVERIFY2(std::fabs(m.mean - want) < kZ * m.se, qPrintable(describe("E|x|^2 vs discrete-time exact", m.mean, m.se, want)));
        // The continuous-time answer differs by the Euler bias, bounded by (A + gamma) dt relative.
        const double bias_bound = (A + gamma) * dt * exact.mean_sq_position;
        QVERIFY(std::fabs(want - exact.mean_sq_position) < bias_bound);
        QVERIFY2(std::fabs(m.mean - exact.mean_sq_position) < kZ * m.se + bias_bound,
                 qPrintable(describe("E|x|^2 vs continuous exact", m.mean, m.se, exact.mean_sq_position)));
        QVERIFY(m.se < 0.01 * want);  // the check has power
    }

    void perTypeVarianceFollowsEachStiffness() {
        Config cfg = linear(3000, 1.0, 1.0, 1.0, 0.05, 0.005);
        cfg.types.resize(3000);
        for (int i = 0; i < 3000; ++i) cfg.types[static_cast<std::size_t>(i)] = i % 3;
        cfg.trap_stiffness = {0.5, 1.0, 3.0};
        cfg.finalize();
        const auto exact = solve_linear_system(cfg);
        Simulator sim(cfg, 2);
        for (int t = 0; t < 3; ++t) {
            Simulator local(cfg, 2);
            const MeanSe m = sample(local, 2000, 1000, 20, [t](const State& s) {
                double acc = 0;
                int cnt = 0;
                for (int i = t; i < s.n(); i += 3) {
                    const double dx = s.x[2 * static_cast<std::size_t>(i)] - 0.5 * s.box;
                    const double dy = s.x[2 * static_cast<std::size_t>(i) + 1] - 0.5 * s.box;
                    acc += dx * dx + dy * dy;
                    ++cnt;
                }
                return acc / cnt;
            });
            const double want = 2.0 * exact.var_x_discrete[static_cast<std::size_t>(t)];
            QVERIFY2(std::fabs(m.mean - want) < kZ * m.se, qPrintable(describe("per-type E|x|^2", m.mean, m.se, want)));
        }
    }

    void springPairCovarianceMatchesLyapunov() {
        // 1000 independent pairs joined by springs, all in one trap.
        const int pairs = 1000;
        Config cfg = linear(2 * pairs, 1.0, 0.8, 0.5, 0.05, 0.005);
        for (int p = 0; p < pairs; ++p) cfg.springs.push_back({2 * p, 2 * p + 1, 0.7});
        cfg.finalize();
        const auto exact = solve_linear_system(cfg);
        Simulator sim(cfg, 2);
        std::vector<double> sxx, sxg;
        sim.run(3000);
        for (int s = 0; s < 2000; ++s) {
            sim.run(20);
            const auto& st = sim.state();
            double axx = 0, axg = 0;
            for (int i = 0; i < st.n(); ++i)
                for (int d = 0; d < 2; ++d) {
                    const double x = st.x[2 * static_cast<std::size_t>(i) + static_cast<std::size_t>(d)] - 0.5 * st.box;
                    axx += x * x;
                    axg += x * st.act[2 * static_cast<std::size_t>(i) + static_cast<std::size_t>(d)];
                }
            sxx.push_back(axx / (2.0 * st.n()));
            sxg.push_back(axg / (2.0 * st.n()));
        }
        const MeanSe mxx = batch_means(sxx), mxg = batch_means(sxg);
        QVERIFY2(std::fabs(mxx.mean - exact.var_x_discrete[0]) < kZ * mxx.se,
                 qPrintable(describe("Var(x_i)", mxx.mean, mxx.se, exact.var_x_discrete[0])));
        // Cov(x, g): compare to the continuous answer with an O(dt) bias bound.
        const double bias = (1.0 + 2 * 0.7 + 0.5) * 0.005 * std::fabs(exact.cov_xg[0]);
        QVERIFY2(std::fabs(mxg.mean - exact.cov_xg[0]) < kZ * mxg.se + bias,
                 qPrintable(describe("Cov(x_i, g_i)", mxg.mean, mxg.se, exact.cov_xg[0])));
    }

    void freeAoupMeanSquareDisplacementMatchesFormula() {
        Config cfg;
        cfg.n = 20000;
        cfg.box = 1000.0;
        cfg.box_given = true;
        cfg.interaction = Interaction::None;
        cfg.v0 = 1.0;
        cfg.gamma = 1.0;
        cfg.eps = 0.2;
        cfg.dt = 1e-3;
        cfg.seed = 3;
        cfg.finalize();
        Simulator sim(cfg, 2);
        const auto u0 = sim.state().unwrapped();
        int done = 0;
        for (int steps : {100, 1000, 4000}) {
            sim.run(static_cast<std::uint64_t>(steps - done));
            done = steps;
            const double t = sim.state().time;
            const double g = cfg.gamma;
            const double want = 4 * cfg.eps * t + 4 * cfg.v0 * cfg.v0 * (t / g - (1 - std::exp(-g * t)) / (g * g));
            const MeanSe m = msd_now(u0, sim.state());
            const double bias = g * cfg.dt * want;  // Euler step for x: O(gamma dt)
            QVERIFY2(std::fabs(m.mean - want) < kZ * m.se + bias, qPrintable(describe("AOUP MSD", m.mean, m.se, want)));
        }
    }

    void freeAbpMeanSquareDisplacementMatchesFormula() {
        Config cfg;
        cfg.model = ModelKind::Abp;
        cfg.n = 20000;
        cfg.box = 1000.0;
        cfg.box_given = true;
        cfg.interaction = Interaction::None;
        cfg.v0 = 5.0;
        cfg.D_t = 1.0;
        cfg.D_r = 3.0;
        cfg.dt = 1e-3;
        cfg.seed = 4;
        cfg.finalize();
        Simulator sim(cfg, 2);
        const auto u0 = sim.state().unwrapped();
        int done = 0;
        for (int steps : {100, 500, 3000}) {
            sim.run(static_cast<std::uint64_t>(steps - done));
            done = steps;
            const double t = sim.state().time, Dr = cfg.D_r;
            const double want = 4 * cfg.D_t * t + 2 * cfg.v0 * cfg.v0 / (Dr * Dr) * (Dr * t - 1 + std::exp(-Dr * t));
            const MeanSe m = msd_now(u0, sim.state());
            const double bias = Dr * cfg.dt * want;
            QVERIFY2(std::fabs(m.mean - want) < kZ * m.se + bias, qPrintable(describe("ABP MSD", m.mean, m.se, want)));
        }
    }

    void equilibriumControlHasBoltzmannPositions() {
        // v0 = 0, eps > 0, trap only: Var(x) = eps / A exactly for the continuous law.
        const Config cfg = linear(2000, 2.0, 0.0, 1.0, 0.3, 0.005);
        const auto exact = solve_linear_system(cfg);
        QVERIFY(std::fabs(exact.epr_total) < 1e-10);
        Simulator sim(cfg, 2);
        const MeanSe m = sample(sim, 1000, 1000, 10, [](const State& s) { return mean_sq_position(s); });
        QVERIFY2(std::fabs(m.mean - exact.mean_sq_position_discrete) < kZ * m.se,
                 qPrintable(describe("equilibrium E|x|^2", m.mean, m.se, exact.mean_sq_position_discrete)));
    }
};

QTEST_APPLESS_MAIN(TestSimulatorOracles)
#include "TestSimulatorOracles.moc"

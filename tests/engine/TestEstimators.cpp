// The estimators of SPEC §2 with exact scores, independent of any network.
//
// For a linear AOUP system every estimator is a quadratic form (plus a
// constant) in z = (x, g), so its expectation under a Gaussian N(0, S) is
// computed exactly by averaging it over the 2M sigma points ±sqrt(M) L e_k
// (S = L L^T, M the dimension). With the continuous stationary covariance
// this must reproduce solve_linear_system to rounding; with the stationary
// covariance of the simulator's discrete chain it gives what the sampled
// means converge to, so the O(dt) bias is known exactly and the sampled
// means are compared with it within standard errors.
#include <QtTest>

#include <cmath>
#include <map>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/physics/drift.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/analysis/estimators.hpp"
#include "entroscope/physics/linear_oracle.hpp"
#include "entroscope/sim/simulator.hpp"

using namespace entroscope;

namespace {

// Small dense matrices for the 2c x 2c blocks of one spring component.
struct Mat {
    int m = 0;
    std::vector<double> a;
    explicit Mat(int size = 0) : m(size), a(static_cast<std::size_t>(size * size), 0.0) {}
    double& operator()(int i, int j) { return a[static_cast<std::size_t>(i * m + j)]; }
    double operator()(int i, int j) const { return a[static_cast<std::size_t>(i * m + j)]; }
};
Mat mul(const Mat& A, const Mat& B) {
    Mat C(A.m);
    for (int i = 0; i < A.m; ++i)
        for (int k = 0; k < A.m; ++k)
            for (int j = 0; j < A.m; ++j) C(i, j) += A(i, k) * B(k, j);
    return C;
}
Mat transpose(const Mat& A) {
    Mat T(A.m);
    for (int i = 0; i < A.m; ++i)
        for (int j = 0; j < A.m; ++j) T(i, j) = A(j, i);
    return T;
}
Mat inverse(Mat A) {
    const int m = A.m;
    Mat I(m);
    for (int i = 0; i < m; ++i) I(i, i) = 1;
    for (int c = 0; c < m; ++c) {
        int p = c;
        for (int r = c + 1; r < m; ++r)
            if (std::fabs(A(r, c)) > std::fabs(A(p, c))) p = r;
        for (int j = 0; j < m; ++j) {
            std::swap(A(c, j), A(p, j));
            std::swap(I(c, j), I(p, j));
        }
        const double d = A(c, c);
        for (int j = 0; j < m; ++j) {
            A(c, j) /= d;
            I(c, j) /= d;
        }
        for (int r = 0; r < m; ++r) {
            if (r == c) continue;
            const double f = A(r, c);
            for (int j = 0; j < m; ++j) {
                A(r, j) -= f * A(c, j);
                I(r, j) -= f * I(c, j);
            }
        }
    }
    return I;
}
Mat cholesky(const Mat& S) {
    Mat L(S.m);
    for (int i = 0; i < S.m; ++i)
        for (int j = 0; j <= i; ++j) {
            double v = S(i, j);
            for (int k = 0; k < j; ++k) v -= L(i, k) * L(j, k);
            L(i, j) = i == j ? std::sqrt(v) : v / L(j, j);
        }
    return L;
}

struct System {
    Config cfg;
    std::vector<std::vector<int>> comps;  // spring components, all of one size
    double relax = 0;                     // slowest relaxation time
};

System make_system(const QString& name) {
    System sys;
    Config& c = sys.cfg;
    c.box = 200.0;
    c.box_given = true;
    c.interaction = Interaction::None;
    c.v0 = 1.0;
    c.gamma = 1.0;
    c.dt = 0.01;
    c.seed = 11;
    if (name == "three-traps-eps0") {
        c.n = 3000;
        c.eps = 0.0;
        c.types.resize(3000);
        for (int i = 0; i < c.n; ++i) c.types[static_cast<std::size_t>(i)] = i % 3;
        c.trap_stiffness = {0.5, 1.0, 2.0};
    } else if (name == "trap-eps") {
        c.n = 3000;
        c.eps = 0.5;
        c.trap_stiffness = {1.0};
    } else if (name == "springs-eps0") {
        c.n = 2000;
        c.eps = 0.0;
        c.gamma = 0.8;
        c.trap_stiffness = {1.3};
        for (int i = 0; i < c.n; i += 2) c.springs.push_back({i, i + 1, 0.7});
    } else if (name == "springs-eps") {
        c.n = 2000;
        c.eps = 0.3;
        c.v0 = 1.5;
        c.types.resize(2000);
        for (int i = 0; i < c.n; ++i) c.types[static_cast<std::size_t>(i)] = (i / 2) % 2;
        c.trap_stiffness = {0.8, 1.6};
        for (int i = 0; i < c.n; i += 2) c.springs.push_back({i, i + 1, 0.5});
    } else if (name == "equilibrium") {
        c.n = 2000;
        c.v0 = 0.0;
        c.eps = 0.4;
        c.trap_stiffness = {1.5};
    }
    c.finalize();
    if (c.springs.empty()) {
        for (int i = 0; i < c.n; ++i) sys.comps.push_back({i});
    } else {
        for (const auto& s : c.springs) sys.comps.push_back({s.i, s.j});
    }
    // Slowest rate: gamma or the smallest trap stiffness (springs only stiffen).
    double slow = c.gamma;
    for (double A : c.trap_stiffness) slow = std::min(slow, A);
    sys.relax = 1.0 / slow;
    return sys;
}

// Per-particle averages of every estimator over a set of states.
struct Averages {
    std::vector<double> sigma_sq, sigma_div, sigma_x, ibp, div_v, v_dot_s, network_free;
    // discrete = true: sum over components of tr(D P_d), P_d the precision of
    // the chain's own stationary law (its exact score is -P_d z).
    double chain_tr_dp = 0;
    double total(const std::vector<double>& v) const {
        double s = 0;
        for (double q : v) s += q;
        return s;
    }
};

void add_into(std::vector<double>& acc, const std::vector<double>& v, double w) {
    if (v.empty()) return;
    acc.resize(v.size(), 0.0);
    for (std::size_t i = 0; i < v.size(); ++i) acc[i] += w * v[i];
}

// Exact expectations of the estimators under N(0, S) per component, where S is
// the continuous stationary covariance (discrete = false) or that of the
// simulator's Euler–Maruyama / exact-OU chain (discrete = true).
Averages expectations(const System& sys, const LinearExactScore& exact, bool discrete) {
    const Config& c = sys.cfg;
    const int cs = static_cast<int>(sys.comps.front().size());
    const int m = 2 * cs;  // per Cartesian component: x_1..x_c, g_1..g_c
    const double hL = 0.5 * c.box;
    // P of each component from the exact score, probing all components at
    // once with the same local unit vector (components are independent).
    std::vector<Mat> P(sys.comps.size(), Mat(m));
    State probe;
    probe.box = c.box;
    probe.types.resize(static_cast<std::size_t>(c.n));
    for (int i = 0; i < c.n; ++i) probe.types[static_cast<std::size_t>(i)] = c.type_of(i);
    probe.image.assign(2 * static_cast<std::size_t>(c.n), 0);
    for (int a = 0; a < m; ++a) {
        probe.x.assign(2 * static_cast<std::size_t>(c.n), hL);
        probe.act.assign(2 * static_cast<std::size_t>(c.n), 0.0);
        for (const auto& comp : sys.comps) {
            const auto p = static_cast<std::size_t>(comp[static_cast<std::size_t>(a % cs)]);
            if (a < cs) probe.x[2 * p] = hL + 1.0;
            else probe.act[2 * p] = 1.0;
        }
        const ScoreOutput s = exact(probe, true);
        for (std::size_t q = 0; q < sys.comps.size(); ++q)
            for (int b = 0; b < m; ++b) {
                const auto p = static_cast<std::size_t>(sys.comps[q][static_cast<std::size_t>(b % cs)]);
                P[q](b, a) = -(b < cs ? s.s_x[2 * p] : s.s_act[2 * p]);
            }
    }
    std::vector<Mat> Lc;
    double chain_tr_dp = 0;
    for (std::size_t q = 0; q < sys.comps.size(); ++q) {
        Mat S = inverse(P[q]);
        if (discrete) {
            Mat F(m), Q(m);
            const double a = std::exp(-c.gamma * c.dt);
            for (int i = 0; i < cs; ++i) {
                const int pi = sys.comps[q][static_cast<std::size_t>(i)];
                F(i, i) = 1.0 - c.dt * c.trap_of(pi);
                F(i, cs + i) = c.dt * c.v0;
                F(cs + i, cs + i) = a;
                Q(i, i) = 2.0 * c.eps * c.dt;
                Q(cs + i, cs + i) = 1.0 - a * a;
            }
            for (const auto& sp : c.springs) {
                int li = -1, lj = -1;
                for (int i = 0; i < cs; ++i) {
                    if (sys.comps[q][static_cast<std::size_t>(i)] == sp.i) li = i;
                    if (sys.comps[q][static_cast<std::size_t>(i)] == sp.j) lj = i;
                }
                if (li < 0) continue;
                F(li, li) -= c.dt * sp.kappa;
                F(lj, lj) -= c.dt * sp.kappa;
                F(li, lj) += c.dt * sp.kappa;
                F(lj, li) += c.dt * sp.kappa;
            }
            // Stein equation S = F S F^T + Q by doubling.
            S = Q;
            for (int it = 0; it < 64; ++it) {
                Mat FSF = mul(mul(F, S), transpose(F));
                for (std::size_t k = 0; k < S.a.size(); ++k) S.a[k] += FSF.a[k];
                F = mul(F, F);
            }
            const Mat Pd = inverse(S);
            for (int i = 0; i < cs; ++i) chain_tr_dp += 2.0 * (c.eps * Pd(i, i) + c.gamma * Pd(cs + i, cs + i));  // both Cartesian components
        }
        Lc.push_back(cholesky(S));
    }
    // Sigma points of the 2m-dimensional law (both Cartesian components).
    const int M = 2 * m;
    const double r = std::sqrt(static_cast<double>(M));
    Averages avg;
    avg.chain_tr_dp = chain_tr_dp;
    DriftEvaluator ev(c);
    State st = probe;
    for (int k = 0; k < M; ++k)
        for (double sign : {1.0, -1.0}) {
            const int d = k / m, j = k % m;
            st.x.assign(2 * static_cast<std::size_t>(c.n), hL);
            st.act.assign(2 * static_cast<std::size_t>(c.n), 0.0);
            for (std::size_t q = 0; q < sys.comps.size(); ++q)
                for (int a = 0; a < m; ++a) {
                    const auto p = static_cast<std::size_t>(sys.comps[q][static_cast<std::size_t>(a % cs)]);
                    const double z = sign * r * Lc[q](a, j);
                    if (a < cs) st.x[2 * p + static_cast<std::size_t>(d)] += z;
                    else st.act[2 * p + static_cast<std::size_t>(d)] = z;
                }
            const auto e = estimate_particles(c, st, exact(st, c.eps > 0), ev.evaluate(st));
            const double w = 1.0 / (2 * M);
            add_into(avg.sigma_sq, e.sigma_sq, w);
            add_into(avg.sigma_div, e.sigma_div, w);
            add_into(avg.sigma_x, e.sigma_x, w);
            add_into(avg.ibp, e.ibp, w);
            add_into(avg.div_v, e.div_v, w);
            add_into(avg.v_dot_s, e.v_dot_s, w);
            add_into(avg.network_free, e.network_free_total, w);
        }
    return avg;
}

bool close(double a, double b, double tol) { return std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b)); }

QString fmt(const MeanSe& m) { return QString("%1 ± %2").arg(m.mean, 0, 'g', 6).arg(m.se, 0, 'g', 3); }

ParticleEstimates synthetic(int n, XPart xp = XPart::Infinite) {
    ParticleEstimates e;
    e.n = n;
    e.active_dim = 2;
    e.sigma_sq.assign(static_cast<std::size_t>(n), 0.0);
    e.x_part = xp;
    return e;
}

}  // namespace

class TestEstimators : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void exactExpectationsReproduceTheLinearOracle_data() {
        QTest::addColumn<QString>("name");
        for (const char* n : {"three-traps-eps0", "trap-eps", "springs-eps0", "springs-eps", "equilibrium"}) QTest::newRow(n) << QString(n);
    }
    // Deterministic: E over the exact stationary Gaussian of each estimator,
    // computed by sigma points, equals the Lyapunov answers to rounding.
    void exactExpectationsReproduceTheLinearOracle() {
        QFETCH(QString, name);
        const System sys = make_system(name);
        const Config& c = sys.cfg;
        const LinearExactScore exact(c);
        const LinearOracle o = solve_linear_system(c);
        const Averages E = expectations(sys, exact, false);
        for (int i = 0; i < c.n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            QVERIFY2(close(E.sigma_sq[k], o.epr_active[k], 1e-8), qPrintable(QString("particle %1: E|v_g|^2/gamma = %2, exact %3").arg(i).arg(E.sigma_sq[k]).arg(o.epr_active[k])));
            QVERIFY2(close(E.sigma_div[k], o.epr_active[k], 1e-8), qPrintable(QString("particle %1: E div v_g = %2, exact %3").arg(i).arg(E.sigma_div[k]).arg(o.epr_active[k])));
            QVERIFY(std::fabs(E.ibp[k]) < 1e-8 * (1 + std::fabs(exact.div_act()[k]) + std::fabs(exact.div_x()[k])));
            if (c.eps > 0) QVERIFY2(close(E.sigma_x[k], o.epr_x[k], 1e-8), qPrintable(QString("particle %1: %2 vs %3").arg(i).arg(E.sigma_x[k]).arg(o.epr_x[k])));
            else QVERIFY(E.sigma_x.empty());
        }
        QVERIFY(std::fabs(E.total(E.div_v)) < 1e-8 * c.n);
        if (c.eps > 0) QVERIFY(std::fabs(E.total(E.v_dot_s)) < 1e-8 * c.n);
        else QVERIFY(E.v_dot_s.empty());
        if (c.v0 == 0) QVERIFY(std::fabs(E.total(E.sigma_sq)) < 1e-12 * c.n && std::fabs(o.epr_total) < 1e-12);
        // Network-free total E[sum b.D^-1 b + div b]: the exact total EPR
        // under the stationary Gaussian when every variable has noise, and
        // undefined (not a number) without positional noise.
        if (c.eps > 0) {
            QCOMPARE(E.network_free.size(), static_cast<std::size_t>(c.n));
            qInfo("%s: E[sum b.D^-1 b + div b] %.12g, exact total EPR %.12g", qPrintable(name), E.total(E.network_free), o.epr_total);
            QVERIFY2(close(E.total(E.network_free), o.epr_total, 1e-8),
                     qPrintable(QString("E[sum b.D^-1 b + div b] = %1, exact total EPR %2").arg(E.total(E.network_free), 0, 'g', 12).arg(o.epr_total, 0, 'g', 12)));
        } else {
            QVERIFY(E.network_free.empty());
        }
    }

    // The Euler chain's stationary law is not the SDE's, so the exact score
    // of the simulated chain has E[div v] != 0. time_step_bias, -(dt/2)
    // E[sum tr (J^2)_ii], is its leading term when the active variables relax
    // slowly (gamma << stiffness); for one trapped AOUP with eps = 0 the exact
    // first-order value is -dt (A^2/2 + gamma A) per component, so the
    // neglected part is 2 gamma / A relative, plus O((A dt)^2) (measured for
    // one trap: 1e-4 relative at A dt = 0.2). Here against the chain's own
    // exact score (the discrete Lyapunov solution).
    void timeStepBiasIsTheChainsOwnDivergenceForSlowActivity_data() {
        QTest::addColumn<QString>("name");
        for (const char* n : {"three-traps-eps0", "trap-eps", "springs-eps0", "springs-eps"}) QTest::newRow(n) << QString(n);
    }
    void timeStepBiasIsTheChainsOwnDivergenceForSlowActivity() {
        QFETCH(QString, name);
        System sys = make_system(name);
        Config& c = sys.cfg;
        c.gamma = 0.01;
        c.dt = 0.02;
        c.finalize();
        const LinearExactScore exact(c);
        const Averages Ed = expectations(sys, exact, true);
        State st;
        st.box = c.box;
        st.types.resize(static_cast<std::size_t>(c.n));
        for (int i = 0; i < c.n; ++i) st.types[static_cast<std::size_t>(i)] = c.type_of(i);
        st.image.assign(2 * static_cast<std::size_t>(c.n), 0);
        st.x.assign(2 * static_cast<std::size_t>(c.n), 0.5 * c.box);
        st.act.assign(2 * static_cast<std::size_t>(c.n), 0.0);
        const Drift d = compute_drift(c, st);
        double tr_b = 0;  // tr db/dz: constant for a linear system
        for (int i = 0; i < c.n; ++i) tr_b += d.div_x[static_cast<std::size_t>(i)] + d.div_act[static_cast<std::size_t>(i)];
        const double chain = tr_b + Ed.chain_tr_dp;  // E[div v] of the chain's exact score
        const double bias = snapshot_totals(estimate_particles(c, st, exact(st, c.eps > 0), d)).time_step_bias;
        double A_min = 1e300, lam = 0;
        for (int i = 0; i < c.n; ++i) A_min = std::min(A_min, c.trap_of(i));
        for (int i = 0; i < c.n; ++i) lam = std::max(lam, c.trap_of(i));
        for (const auto& sp : c.springs) lam = std::max(lam, c.trap_of(sp.i) + 2 * sp.kappa);
        const double tol = 2 * c.gamma / A_min + (lam * c.dt) * (lam * c.dt);
        qInfo("%s: time_step_bias %.6g, chain's exact E[div v] %.6g (%.2f%%; allowed %.1f%%)", qPrintable(name), bias, chain,
              100 * (bias / chain - 1), 100 * tol);
        QVERIFY(chain < 0);
        QVERIFY2(std::fabs(bias / chain - 1) < tol, qPrintable(QString("%1 vs %2").arg(bias).arg(chain)));
    }

    void exactDivergenceMatchesTheClosedFormPrecision() {
        // One trapped AOUP (SPEC §5.1): S = [[eps/A + v0^2/(A(A+g)), v0/(A+g)], [v0/(A+g), 1]].
        for (double eps : {0.0, 0.3})
            for (double A : {0.5, 2.0}) {
                Config c = make_system("trap-eps").cfg;
                c.n = 4;
                c.eps = eps;
                c.gamma = 0.7;
                c.v0 = 1.2;
                c.trap_stiffness = {A};
                c.finalize();
                const double g = c.gamma, v0 = c.v0;
                const double sxx = eps / A + v0 * v0 / (A * (A + g)), sxg = v0 / (A + g);
                const double det = sxx - sxg * sxg;
                const LinearExactScore ex(c);
                for (int i = 0; i < c.n; ++i) {
                    QVERIFY(close(ex.div_act()[static_cast<std::size_t>(i)], -2 * sxx / det, 1e-10));
                    QVERIFY(close(ex.div_x()[static_cast<std::size_t>(i)], -2 * 1.0 / det, 1e-10));
                }
            }
    }

    void sampledEstimatorsMatchExactValuesWithinStandardErrors_data() {
        QTest::addColumn<QString>("name");
        for (const char* n : {"three-traps-eps0", "trap-eps", "springs-eps0", "springs-eps", "equilibrium"}) QTest::newRow(n) << QString(n);
    }
    // Statistical: simulate, estimate with the exact score on decorrelated
    // snapshots, compare means with (a) the exact expectation under the
    // simulator's discrete stationary law within 4 SE and (b) the continuous
    // oracle within 4 SE + the O(dt) bias bound.
    void sampledEstimatorsMatchExactValuesWithinStandardErrors() {
        QFETCH(QString, name);
        const System sys = make_system(name);
        const Config& c = sys.cfg;
        const LinearExactScore exact(c);
        const LinearOracle o = solve_linear_system(c);
        const Averages Ec = expectations(sys, exact, false);
        const Averages Ed = expectations(sys, exact, true);

        Simulator sim(c, 1);
        DriftEvaluator ev(c);
        const auto spacing = static_cast<std::uint64_t>(std::ceil(3.0 * sys.relax / c.dt));
        sim.run(2 * spacing);
        EstimatorAccumulator acc(c.n);
        const int snapshots = 40;
        double worst_residual = 0;
        for (int s = 0; s < snapshots; ++s) {
            sim.run(spacing);
            const State& st = sim.state();
            const auto e = estimate_particles(c, st, exact(st, c.eps > 0), ev.evaluate(st));
            if (!e.residual.empty()) worst_residual = std::max(worst_residual, std::fabs(snapshot_totals(e).residual));
            acc.add(e);
        }
        const auto sum = acc.summary();
        QCOMPARE(sum.snapshots, static_cast<std::int64_t>(snapshots));

        // O(dt) bias of the discrete chain, known exactly here. The bound
        // asserted for it: |bias| <= 2 dt lambda_max (|value| + scale), lambda_max
        // the fastest rate of the linear dynamics.
        double lam = c.gamma;
        for (int i = 0; i < c.n; ++i) lam = std::max(lam, c.trap_of(i));
        for (const auto& sp : c.springs) lam = std::max(lam, c.trap_of(sp.i) + 2 * sp.kappa);
        auto check = [&](const char* what, const MeanSe& m, double exact_c, double exact_d, double scale) {
            const double bias = exact_d - exact_c;
            const double bound = 2 * c.dt * lam * (std::fabs(exact_c) + scale);
            const double rounding = 1e-9 * (std::fabs(exact_c) + scale) + 1e-12 * c.n;
            qInfo("%-22s sampled %s | discrete-chain exact %.6g | continuous exact %.6g | bias %.3g (bound %.3g) | z = %.2f",
                  what, qPrintable(fmt(m)), exact_d, exact_c, bias, bound, m.se > 0 ? (m.mean - exact_d) / m.se : 0.0);
            QVERIFY2(std::fabs(bias) <= bound, qPrintable(QString("%1: bias %2 exceeds the O(dt) bound %3").arg(what).arg(bias).arg(bound)));
            QVERIFY2(std::fabs(m.mean - exact_d) <= 4 * m.se + rounding,
                     qPrintable(QString("%1: %2 vs discrete-chain exact %3").arg(what, fmt(m)).arg(exact_d)));
            QVERIFY2(std::fabs(m.mean - exact_c) <= 4 * m.se + bound + rounding,
                     qPrintable(QString("%1: %2 vs exact %3 (bias bound %4)").arg(what, fmt(m)).arg(exact_c).arg(bound)));
        };
        // Scale of the score diagnostics: E|s|^2 = -E div s (the |s|^2 and div s
        // parts of ibp cancel in expectation; the bias is relative to each).
        double scale = 0;
        for (int i = 0; i < c.n; ++i)
            scale -= exact.div_act()[static_cast<std::size_t>(i)] + (c.eps > 0 ? exact.div_x()[static_cast<std::size_t>(i)] : 0.0);
        check("EPR active |v_g|^2", sum.epr_active, o.epr_active_total, Ed.total(Ed.sigma_sq), 0);
        check("EPR active div v_g", sum.epr_active_div, o.epr_active_total, Ed.total(Ed.sigma_div), 0);
        check("estimator gap", sum.gap, 0.0, Ed.total(Ed.sigma_sq) - Ed.total(Ed.sigma_div), o.epr_active_total);
        check("E[|s|^2 + div s]", sum.ibp, 0.0, Ed.total(Ed.ibp), scale);
        check("E[div v]", sum.div_v, 0.0, Ed.total(Ed.div_v), scale);
        if (c.eps > 0) {
            QCOMPARE(sum.x_part, XPart::Finite);
            check("EPR x", sum.epr_x, o.epr_x_total, Ed.total(Ed.sigma_x), 0);
            check("EPR total", sum.epr_total, o.epr_total, Ed.total(Ed.sigma_sq) + Ed.total(Ed.sigma_x), 0);
            check("E[v.s]", sum.v_dot_s, 0.0, Ed.total(Ed.v_dot_s), scale);
            // div(v rho)/rho = 0 pointwise for the exact score.
            QVERIFY2(worst_residual < 1e-8 * c.n, qPrintable(QString::number(worst_residual)));
            QVERIFY(std::fabs(sum.residual.mean) < 1e-8 * c.n);
        } else {
            QCOMPARE(sum.x_part, XPart::Infinite);
            QVERIFY(std::isinf(sum.epr_x.mean) && std::isinf(sum.epr_total.mean));
            QVERIFY(!sum.x_note.empty());
            QVERIFY(std::isnan(sum.v_dot_s.mean) && sum.v_dot_s.count == 0);
            QVERIFY(sum.v_dot_s_note.find("s_x") != std::string::npos);
            // Network-free value: -E[sum div_x b_x] is the exact active EPR
            // without positional noise; the Lyapunov oracle must agree (here
            // div_x b_x is constant, so to rounding).
            QVERIFY2(close(sum.epr_active_exact.mean, o.epr_active_total, 1e-8),
                     qPrintable(QString("-E[sum div_x b_x] = %1, exact active EPR %2").arg(sum.epr_active_exact.mean).arg(o.epr_active_total)));
        }
        if (c.eps > 0) QVERIFY(std::isnan(sum.epr_active_exact.mean) && sum.epr_active_exact.count == 0);
        if (c.eps > 0) {
            // Network-free total: its chain expectation (sigma points of the
            // chain's law) is the oracle's chain EPR less the chain's E[div v]
            // (E[v.D^-1 v] = E[b.D^-1 b] + E[div b] + E[div v] for any
            // Gaussian and its own score); the sample mean must reach it
            // within 4 SE, and the SDE's total within 4 SE + the O(dt) bound.
            const double chain_total = o.epr_active_discrete_total + o.epr_x_discrete_total - o.div_v_discrete;
            QVERIFY2(close(Ed.total(Ed.network_free), chain_total, 1e-8),
                     qPrintable(QString("chain E[sum b.D^-1 b + div b] %1 vs oracle %2").arg(Ed.total(Ed.network_free)).arg(chain_total)));
            double tr_b = 0;  // -E[div b] = tr B: the size of either term (they cancel at equilibrium)
            for (int i = 0; i < c.n; ++i) tr_b += 2 * (c.trap_of(i) + c.gamma);
            for (const auto& sp : c.springs) tr_b += 4 * sp.kappa;
            check("EPR total network-free", sum.epr_total_network_free, o.epr_total, chain_total, tr_b);
            QVERIFY(sum.network_free_note.empty());
        } else {
            QVERIFY(std::isnan(sum.epr_total_network_free.mean) && sum.epr_total_network_free.count == 0);
            QVERIFY2(sum.network_free_note.find("eps = 0") != std::string::npos, sum.network_free_note.c_str());
        }

        // Per particle: time averages against the discrete-chain exact value.
        // With n particles a few 4-SE excursions are expected; count them.
        for (int which = 0; which < 2; ++which) {
            const auto& mean = which == 0 ? sum.sigma_sq_mean : sum.sigma_div_mean;
            const auto& se = which == 0 ? sum.sigma_sq_se : sum.sigma_div_se;
            const auto& ed = which == 0 ? Ed.sigma_sq : Ed.sigma_div;
            int outside = 0;
            double zsum = 0;
            for (int i = 0; i < c.n; ++i) {
                const auto k = static_cast<std::size_t>(i);
                const double tol = 1e-9 * (1 + std::fabs(ed[k]));
                if (std::fabs(mean[k] - ed[k]) > 4 * se[k] + tol) ++outside;
                if (se[k] > 0) zsum += (mean[k] - ed[k]) / se[k];
            }
            qInfo("per-particle sigma (%s): %d of %d outside 4 SE, mean z %.3f", which == 0 ? "|v|^2" : "div v", outside, c.n, zsum / c.n);
            // The |v|^2 estimator is chi-square-like: over 40 snapshots a low
            // mean comes with a low sample SE, so z is skewed negative (about
            // -0.2 on average) and its tail is heavier than a Gaussian's.
            QVERIFY2(outside <= std::max(3, c.n / 100), qPrintable(QString("%1 particles outside 4 SE").arg(outside)));
            QVERIFY(std::fabs(zsum / c.n) < 0.35);
        }

        // Per type (oracle 2; oracle 3 for springs): mean over the type's
        // particles of the time averages; SE from the spread over particles
        // (independent components).
        std::map<int, std::vector<int>> by_type;
        for (int i = 0; i < c.n; ++i) by_type[c.type_of(i)].push_back(i);
        for (const auto& [t, members] : by_type) {
            for (int which = 0; which < 2; ++which) {
                const auto& mean = which == 0 ? sum.sigma_sq_mean : sum.sigma_div_mean;
                double m = 0, m2 = 0, exact_c = 0, exact_d = 0;
                for (int i : members) {
                    const auto k = static_cast<std::size_t>(i);
                    m += mean[k];
                    m2 += mean[k] * mean[k];
                    exact_c += o.epr_active[k];
                    exact_d += (which == 0 ? Ed.sigma_sq : Ed.sigma_div)[k];
                }
                const double cnt = static_cast<double>(members.size());
                m /= cnt;
                exact_c /= cnt;
                exact_d /= cnt;
                const double se = std::sqrt(std::max(0.0, m2 / cnt - m * m) / (cnt - 1));
                const double bound = 2 * c.dt * lam * exact_c;
                qInfo("type %d (A = %g) sigma by %s: %.5f ± %.5f, exact %.5f (discrete chain %.5f)", t, c.trap_stiffness[static_cast<std::size_t>(t)],
                      which == 0 ? "|v|^2" : "div v", m, se, exact_c, exact_d);
                QVERIFY(std::fabs(m - exact_d) <= 4 * se + 1e-9 * exact_c + 1e-12);
                QVERIFY(std::fabs(m - exact_c) <= 4 * se + bound + 1e-9 * exact_c + 1e-12);
                if (c.eps == 0 && c.springs.empty())  // SPEC §5.2: sigma = d A_t
                    QVERIFY(close(exact_c, 2 * c.trap_stiffness[static_cast<std::size_t>(t)], 1e-8));
                if (c.eps == 0 && !c.springs.empty())  // SPEC §5.3: sigma = d (A + kappa)
                    QVERIFY(close(exact_c, 2 * (c.trap_stiffness[static_cast<std::size_t>(t)] + c.springs[0].kappa), 1e-8));
            }
        }
        if (c.v0 == 0) {
            // Equilibrium (SPEC §5.4): v = 0 everywhere, so EPR = 0 with no noise at all.
            QVERIFY(std::fabs(sum.epr_active.mean) < 1e-12 * c.n && std::fabs(sum.epr_x.mean) < 1e-12 * c.n);
        }
    }

    // The diagnostics have power: a score 10% too large (a mis-trained
    // network) shows up in E[|s|^2 + div s], E[div v] and the estimator gap.
    void diagnosticsFlagAWrongScore() {
        const System sys = make_system("trap-eps");
        const Config& c = sys.cfg;
        const LinearExactScore exact(c);
        Simulator sim(c, 1);
        DriftEvaluator ev(c);
        sim.run(600);
        EstimatorAccumulator good(c.n), bad(c.n);
        for (int s = 0; s < 12; ++s) {
            sim.run(300);
            const State& st = sim.state();
            const Drift d = ev.evaluate(st);
            ScoreOutput sc = exact(st, true);
            good.add(estimate_particles(c, st, sc, d));
            for (auto* v : {&sc.s_act, &sc.div_act, &sc.s_x, &sc.div_x})
                for (double& q : *v) q *= 1.1;
            bad.add(estimate_particles(c, st, sc, d));
        }
        const auto g = good.summary(), b = bad.summary();
        qInfo("exact score: ibp %s, gap %s | score x 1.1: ibp %s, gap %s, div v %s", qPrintable(fmt(g.ibp)), qPrintable(fmt(g.gap)),
              qPrintable(fmt(b.ibp)), qPrintable(fmt(b.gap)), qPrintable(fmt(b.div_v)));
        QVERIFY(std::fabs(b.ibp.mean) > 10 * b.ibp.se + std::fabs(g.ibp.mean));
        QVERIFY(std::fabs(b.gap.mean) > 10 * b.gap.se + std::fabs(g.gap.mean));
        QVERIFY(std::fabs(b.div_v.mean) > 1e3 * std::fabs(g.div_v.mean) + 1.0);
    }

    // A nonlinear equilibrium (softplus pairs, v0 = 0, eps > 0): the exact score
    // is s_x = F/eps, s_g = -g, so v = 0 and E[|s|^2 + div s] = 0 checks the
    // drift's divergence on simulator samples.
    void nonlinearEquilibriumHasZeroEprAndMeanZeroDiagnostics() {
        Config c;
        c.n = 1500;
        c.phi = 0.4;
        c.v0 = 0.0;
        c.eps = 0.1;
        c.gamma = 1.0;
        c.dt = 0.01;
        c.seed = 5;
        c.finalize();
        Simulator sim(c, 1);
        DriftEvaluator ev(c);
        sim.run(2000);
        EstimatorAccumulator acc(c.n);
        std::vector<double> s2_series, divs_series;
        for (int s = 0; s < 40; ++s) {
            sim.run(200);
            const State& st = sim.state();
            const Drift d = ev.evaluate(st);
            ScoreOutput sc;
            sc.n = c.n;
            sc.active_dim = 2;
            sc.s_act.resize(st.act.size());
            for (std::size_t k = 0; k < st.act.size(); ++k) sc.s_act[k] = -st.act[k];
            sc.div_act.assign(static_cast<std::size_t>(c.n), -2.0);
            sc.s_x.resize(d.b_x.size());
            for (std::size_t k = 0; k < d.b_x.size(); ++k) sc.s_x[k] = d.b_x[k] / c.eps;
            sc.div_x.resize(d.div_x.size());
            double s2 = 0, ds = 0;
            for (std::size_t i = 0; i < d.div_x.size(); ++i) {
                sc.div_x[i] = d.div_x[i] / c.eps;
                s2 += sc.s_x[2 * i] * sc.s_x[2 * i] + sc.s_x[2 * i + 1] * sc.s_x[2 * i + 1];
                ds += sc.div_x[i];
            }
            s2_series.push_back(s2);
            divs_series.push_back(ds);
            const auto e = estimate_particles(c, st, sc, d);
            QVERIFY(e.ibp_includes_x);
            acc.add(e);
        }
        // Snapshots 2 time units apart are not fully independent in a dense
        // fluid: batch means over 8 batches of 5 absorb the correlation.
        const auto sum = acc.summary(8);
        qInfo("SE of E[ibp]: %.1f independent-snapshot formula, %.1f batch means", acc.summary().ibp.se, sum.ibp.se);
        QVERIFY(std::fabs(sum.epr_active.mean) < 1e-12 && std::fabs(sum.epr_x.mean) < 1e-12 && std::fabs(sum.epr_active_div.mean) < 1e-12);
        QVERIFY(std::fabs(sum.div_v.mean) < 1e-9 && std::fabs(sum.v_dot_s.mean) < 1e-9);
        double s2 = 0;
        for (double v : s2_series) s2 += v / s2_series.size();
        double ds = 0;
        for (double v : divs_series) ds += v / divs_series.size();
        // Euler–Maruyama biases E|s_x|^2 upwards by a relative O(dt * stiffness):
        // for a harmonic well of stiffness K it is K dt / 2 exactly. Softplus
        // pairs have f' <= k, and a particle has at most ~6 contacts.
        const double bound = 0.5 * c.dt * 6.0 * c.k * s2;
        qInfo("E|s_x|^2 = %.1f, E div s_x = %.1f, E[|s|^2 + div s] = %s (O(dt) bias bound %.1f)", s2, ds, qPrintable(fmt(sum.ibp)), bound);
        QVERIFY(s2 > 3.0 * c.n);  // the test has teeth: forces are far from zero
        QVERIFY2(std::fabs(sum.ibp.mean) <= 4 * sum.ibp.se + bound, qPrintable(fmt(sum.ibp)));
    }

    void freeAbpHasOnlyThePositionPart() {
        // No forces: the stationary law is uniform in x and theta, s = 0,
        // so v = (v0 e(theta), 0) and sigma_x = v0^2 / D_t per particle exactly.
        Config c = default_config(ModelKind::Abp);
        c.n = 500;
        c.interaction = Interaction::None;
        c.finalize();
        Simulator sim(c, 1);
        sim.run(50);
        const State& st = sim.state();
        ScoreOutput sc;
        sc.n = c.n;
        sc.active_dim = 1;
        sc.s_act.assign(static_cast<std::size_t>(c.n), 0.0);
        sc.div_act.assign(static_cast<std::size_t>(c.n), 0.0);
        sc.s_x.assign(2 * static_cast<std::size_t>(c.n), 0.0);
        sc.div_x.assign(static_cast<std::size_t>(c.n), 0.0);
        const auto e = estimate_particles(c, st, sc);
        QCOMPARE(e.x_part, XPart::Finite);
        for (int i = 0; i < c.n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            QCOMPARE(e.sigma_sq[k], 0.0);
            QCOMPARE(e.sigma_div[k], 0.0);
            QVERIFY(close(e.sigma_x[k], c.v0 * c.v0 / c.D_t, 1e-12));
            QCOMPARE(e.ibp[k], 0.0);
            QVERIFY(std::fabs(e.div_v[k]) < 1e-15);
            QCOMPARE(e.v_dot_s[k], 0.0);
            QVERIFY(close(e.v_x[2 * k], c.v0 * std::cos(st.act[k]), 1e-14));
        }
        const auto t = snapshot_totals(e);
        QVERIFY(close(t.epr_total, c.n * c.v0 * c.v0 / c.D_t, 1e-12));
        // b = v0 e(theta) with div b = 0: the network-free total is the same, snapshot by snapshot.
        QVERIFY(close(t.epr_total_network_free, c.n * c.v0 * c.v0 / c.D_t, 1e-12));
    }

    // Interacting ABP (WCA), D_t > 0: the network-free total
    // sum |b_x|^2 / D_t + sum div_x b_x and v0 (v0 n + sum_i e_i . F_i) / D_t
    // have the same mean at stationarity of the SDE (the generator on the
    // pair energy U, F = -grad U: 0 = -v0 E[e.F] - E|F|^2 - D_t E[div F]).
    // The Euler chain's |F|^2 carries an O(dt) excess that the second form
    // does not, so the paired difference (batch means over a correlated
    // series) is taken at dt and dt/2 and extrapolated to dt -> 0.
    void abpNetworkFreeTotalMatchesTheSelfPropulsionForm() {
        struct Run {
            MeanSe nf, sp, diff, div;
        };
        auto run = [](double dt) {
            Config c = default_config(ModelKind::Abp);
            c.n = 128;
            c.phi = 0.3;
            const double pe = 20.0;
            c.D_r = 3.0 * c.v0 / (c.sigma * pe);
            c.D_t = c.v0 * c.sigma / pe;
            c.dt = dt;
            c.seed = 3;
            c.finalize();
            Simulator sim(c, 1);
            DriftEvaluator ev(c);
            ScoreOutput sc;  // the network-free total reads no score
            sc.n = c.n;
            sc.active_dim = 1;
            sc.s_act.assign(static_cast<std::size_t>(c.n), 0.0);
            // Snapshots 0.05 apart (about one collision time sigma / v0 = 0.04),
            // after three rotational times.
            const auto every = static_cast<std::uint64_t>(std::llround(0.05 / c.dt));
            sim.run(static_cast<std::uint64_t>(std::llround(3.0 / c.D_r / c.dt)));
            std::vector<double> nf, sp, diff, div;
            for (int k = 0; k < 400; ++k) {
                sim.run(every);
                const State& st = sim.state();
                const Drift d = ev.evaluate(st);
                // The engine reports the self-propulsion form; the general
                // form sum |b_x|^2 / D_t + div_x b_x is computed here.
                const double b = snapshot_totals(estimate_particles(c, st, sc, d)).epr_total_network_free;
                double eF = 0, dv = 0, bb = 0;
                for (int i = 0; i < c.n; ++i) {
                    const auto q = static_cast<std::size_t>(i);
                    const double ex = std::cos(st.act[q]), ey = std::sin(st.act[q]);
                    eF += ex * (d.b_x[2 * q] - c.v0 * ex) + ey * (d.b_x[2 * q + 1] - c.v0 * ey);
                    dv += d.div_x[q];
                    bb += d.b_x[2 * q] * d.b_x[2 * q] + d.b_x[2 * q + 1] * d.b_x[2 * q + 1];
                }
                const double a = bb / c.D_t + dv;
                const double formula = c.v0 * (c.v0 * c.n + eF) / c.D_t;
                if (std::fabs(b - formula) > 1e-9 * std::fabs(formula)) {
                    qWarning("engine %.17g vs v0 (v0 n + sum e.F) / D_t %.17g", b, formula);
                    return Run{};
                }
                nf.push_back(a);
                sp.push_back(b);
                diff.push_back(a - b);
                div.push_back(dv);
            }
            Run r{batch_means(nf, 10), batch_means(sp, 10), batch_means(diff, 10), batch_means(div, 10)};
            qInfo("dt %g: network-free %s | self-propulsion form %s | difference %s | sum div F %s", c.dt, qPrintable(fmt(r.nf)),
                  qPrintable(fmt(r.sp)), qPrintable(fmt(r.diff)), qPrintable(fmt(r.div)));
            return r;
        };
        const Run r1 = run(1e-4), r2 = run(5e-5);
        QVERIFY2(r1.sp.count > 0 && r2.sp.count > 0, "the engine's ABP value is not v0 (v0 n + sum e.F) / D_t");
        // Richardson: the O(dt) excess cancels in 2 D(dt/2) - D(dt); the runs are independent.
        const double d0 = 2 * r2.diff.mean - r1.diff.mean;
        const double se0 = std::sqrt(4 * r2.diff.se * r2.diff.se + r1.diff.se * r1.diff.se);
        qInfo("difference extrapolated to dt -> 0: %.4g ± %.3g", d0, se0);
        QVERIFY2(std::fabs(d0) < 4 * se0, qPrintable(QString("%1 ± %2").arg(d0).arg(se0)));
        // Teeth: dropping the divergence term would move the difference by far more than that.
        QVERIFY(std::fabs(r2.div.mean) > 10 * se0);
    }

    void abpThetaEstimatorsFollowSpecFormulas() {
        Config c = default_config(ModelKind::Abp);
        c.n = 64;
        c.finalize();
        Simulator sim(c, 1);
        const State& st = sim.state();
        ScoreOutput sc;
        sc.n = c.n;
        sc.active_dim = 1;
        for (int i = 0; i < c.n; ++i) {
            const double th = st.act[static_cast<std::size_t>(i)];
            sc.s_act.push_back(0.7 * std::sin(th));  // a von Mises-like score
            sc.div_act.push_back(0.7 * std::cos(th));
        }
        const auto e = estimate_particles(c, st, sc);
        QCOMPARE(e.x_part, XPart::Unavailable);  // D_t > 0 and no position score
        QVERIFY(e.sigma_x.empty() && e.v_x.empty() && e.div_v.empty() && e.v_dot_s.empty());
        QVERIFY(!e.x_note.empty() && !e.div_v_note.empty() && !e.v_dot_s_note.empty());
        QVERIFY(!e.ibp_includes_x);
        for (int i = 0; i < c.n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            QVERIFY(close(e.v_act[k], -c.D_r * sc.s_act[k], 1e-15));
            QVERIFY(close(e.sigma_sq[k], c.D_r * sc.s_act[k] * sc.s_act[k], 1e-14));
            QVERIFY(close(e.sigma_div[k], -c.D_r * sc.div_act[k], 1e-14));
            QVERIFY(close(e.ibp[k], sc.s_act[k] * sc.s_act[k] + sc.div_act[k], 1e-14));
        }
        const auto t = snapshot_totals(e);
        QVERIFY(std::isnan(t.epr_x) && std::isnan(t.epr_total) && std::isnan(t.div_v));
    }

    void aoupFormulasOnAHandMadeSnapshot() {
        Config c;
        c.n = 2;
        c.box = 40;
        c.box_given = true;
        c.eps = 0.2;
        c.gamma = 0.5;
        c.v0 = 0.3;
        c.finalize();
        State st;
        st.box = c.box;
        st.x = {10.0, 10.0, 30.0, 30.0};
        st.image = {0, 0, 0, 0};
        st.act = {0.5, -1.0, 2.0, 0.25};
        st.types = {0, 0};
        ScoreOutput sc;
        sc.n = 2;
        sc.active_dim = 2;
        sc.s_act = {0.1, 0.2, -0.3, 0.4};
        sc.div_act = {-1.5, -2.5};
        sc.s_x = {1.0, -2.0, 0.5, 0.0};
        sc.div_x = {-3.0, 1.0};
        const auto e = estimate_particles(c, st, sc);
        // Particles are far apart: b_x = v0 g only.
        const double vg0x = -c.gamma * (0.5 + 0.1), vg0y = -c.gamma * (-1.0 + 0.2);
        QVERIFY(close(e.v_act[0], vg0x, 1e-15) && close(e.v_act[1], vg0y, 1e-15));
        QVERIFY(close(e.sigma_sq[0], c.gamma * (0.6 * 0.6 + 0.8 * 0.8), 1e-14));
        QVERIFY(close(e.sigma_div[0], -c.gamma * (2 - 1.5), 1e-14));
        const double vx0 = c.v0 * 0.5 - c.eps * 1.0, vy0 = c.v0 * -1.0 - c.eps * -2.0;
        QVERIFY(close(e.v_x[0], vx0, 1e-15) && close(e.v_x[1], vy0, 1e-15));
        QVERIFY(close(e.sigma_x[0], (vx0 * vx0 + vy0 * vy0) / c.eps, 1e-14));
        QVERIFY(close(e.ibp[0], 0.01 + 0.04 - 1.5 + 1.0 + 4.0 - 3.0, 1e-14));
        QVERIFY(close(e.div_v[0], (0.0 - c.eps * -3.0) + (-2 * c.gamma - c.gamma * -1.5), 1e-14));
        QVERIFY(close(e.v_dot_s[0], vx0 * 1.0 + vy0 * -2.0 + vg0x * 0.1 + vg0y * 0.2, 1e-14));
        QVERIFY(close(e.residual[0], e.div_v[0] + e.v_dot_s[0], 1e-15));
        QVERIFY(e.ibp_includes_x);
        const auto t = snapshot_totals(e);
        QVERIFY(close(t.gap, e.sigma_sq[0] + e.sigma_sq[1] - e.sigma_div[0] - e.sigma_div[1], 1e-14));
        QVERIFY(close(t.epr_total, e.sigma_sq[0] + e.sigma_sq[1] + e.sigma_x[0] + e.sigma_x[1], 1e-14));

        // eps = 0: v_x = b_x exactly, x part infinite, E[v.s] unavailable.
        c.eps = 0;
        c.finalize();
        ScoreOutput active_only = sc;
        active_only.s_x.clear();
        active_only.div_x.clear();
        const auto h = estimate_particles(c, st, active_only);
        QCOMPARE(h.x_part, XPart::Infinite);
        QVERIFY(close(h.v_x[0], c.v0 * 0.5, 1e-15));
        QVERIFY(h.sigma_x.empty() && h.v_dot_s.empty() && h.residual.empty());
        QVERIFY(close(h.div_v[0], -2 * c.gamma - c.gamma * -1.5, 1e-14));
        QVERIFY(h.x_note.find("infinite") != std::string::npos);
        const auto th = snapshot_totals(h);
        QVERIFY(std::isinf(th.epr_x) && std::isinf(th.epr_total) && std::isnan(th.v_dot_s));

        // No divergence asked: the div estimator and ibp are unavailable, with a reason.
        ScoreOutput nodiv = active_only;
        nodiv.div_act.clear();
        const auto q = estimate_particles(c, st, nodiv);
        QVERIFY(q.sigma_div.empty() && q.ibp.empty() && q.div_v.empty());
        QVERIFY(!q.sigma_div_note.empty() && !q.div_v_note.empty());
        QVERIFY(std::isnan(snapshot_totals(q).gap));
    }

    void rejectsMismatchedOrNonFiniteInputs() {
        const System sys = make_system("trap-eps");
        const LinearExactScore exact(sys.cfg);
        Simulator sim(sys.cfg, 1);
        const State& st = sim.state();
        ScoreOutput sc = exact(st, true);
        sc.s_act.pop_back();
        QVERIFY_THROWS_EXCEPTION(ConfigError, estimate_particles(sys.cfg, st, sc));
        sc = exact(st, true);
        sc.n = 3;
        QVERIFY_THROWS_EXCEPTION(ConfigError, estimate_particles(sys.cfg, st, sc));
        sc = exact(st, true);
        sc.div_x.resize(5);
        QVERIFY_THROWS_EXCEPTION(ConfigError, estimate_particles(sys.cfg, st, sc));
        sc = exact(st, true);
        sc.s_x[7] = std::nan("");
        QVERIFY_THROWS_EXCEPTION(NumericalError, estimate_particles(sys.cfg, st, sc));
        Config nonlinear = default_config();
        QVERIFY_THROWS_EXCEPTION(ConfigError, LinearExactScore{nonlinear});
        EstimatorAccumulator acc(sys.cfg.n);
        QVERIFY_THROWS_EXCEPTION(ConfigError, acc.add(synthetic(7)));
        QVERIFY_THROWS_EXCEPTION(ConfigError, EstimatorAccumulator{0});
    }

    void accumulatorMeansAndStandardErrors() {
        EstimatorAccumulator acc(2);
        const std::vector<double> a = {1.0, 3.0, 2.0, 6.0};
        for (double v : a) {
            ParticleEstimates e = synthetic(2, XPart::Finite);
            e.sigma_sq = {v, 2 * v};
            e.sigma_div = {v - 1, 2 * v};
            e.sigma_x = {0.5, 0.5};
            acc.add(e);
        }
        QCOMPARE(acc.count(), std::int64_t{4});
        const auto s = acc.summary();
        // Totals 3 v: mean 9, sample sd of {3, 9, 6, 18} = sqrt(42), SE sqrt(42/4).
        QVERIFY(close(s.epr_active.mean, 9.0, 1e-14));
        QVERIFY(close(s.epr_active.se, std::sqrt(42.0 / 4.0), 1e-12));
        QVERIFY(close(s.gap.mean, 1.0, 1e-14) && s.gap.se < 1e-14);
        QVERIFY(close(s.epr_total.mean, 10.0, 1e-14));
        QVERIFY(close(s.sigma_sq_mean[1], 6.0, 1e-14));
        QVERIFY(close(s.sigma_sq_se[0], std::sqrt((14.0 / 3.0) / 4.0), 1e-12));  // var of {1,3,2,6} = 14/3
        QVERIFY(close(s.sigma_div_mean[0], 2.0, 1e-14));
        QVERIFY(close(s.sigma_x_mean[1], 0.5, 1e-14));
        QVERIFY(std::isnan(s.ibp.mean) && s.ibp.count == 0);
        // Batch means with 2 batches: batch means 6 and 12 -> SE 3.
        const auto b = acc.summary(2);
        QVERIFY(close(b.epr_active.mean, 9.0, 1e-14));
        QVERIFY(close(b.epr_active.se, 3.0, 1e-12));
        acc.clear();
        QCOMPARE(acc.count(), std::int64_t{0});
        acc.add(synthetic(2, XPart::Infinite));
        const auto inf = acc.summary();
        QVERIFY(std::isinf(inf.epr_x.mean) && std::isinf(inf.epr_total.mean));
        QCOMPARE(inf.x_part, XPart::Infinite);
    }

    // Per type: the mean per particle of the type in each snapshot, its
    // mean and SE over snapshots (so correlated particles are accounted for).
    void accumulatorPerTypeMeans() {
        EstimatorAccumulator acc(3, {2, 0, 2});
        for (double v : {1.0, 3.0, 2.0, 6.0}) {
            ParticleEstimates e = synthetic(3, XPart::Finite);
            e.sigma_sq = {v, 10.0, 3 * v};  // type 2: mean 2 v per snapshot
            e.sigma_div = {v, 10.0, v};
            e.sigma_x = {0.5, 1.5, 0.5};
            acc.add(e);
        }
        const auto s = acc.summary();
        QCOMPARE(s.per_type.size(), std::size_t{2});
        QCOMPARE(s.per_type[0].type, 0);
        QCOMPARE(s.per_type[0].particles, 1);
        QVERIFY(close(s.per_type[0].active.mean, 10.0, 1e-14) && s.per_type[0].active.se < 1e-14);
        QVERIFY(close(s.per_type[0].x.mean, 1.5, 1e-14));
        QCOMPARE(s.per_type[1].type, 2);
        QCOMPARE(s.per_type[1].particles, 2);
        // 2 v over v = {1, 3, 2, 6}: mean 6, SE 2 sqrt((14/3) / 4).
        QVERIFY(close(s.per_type[1].active.mean, 6.0, 1e-14));
        QVERIFY(close(s.per_type[1].active.se, 2.0 * std::sqrt((14.0 / 3.0) / 4.0), 1e-12));
        QVERIFY(close(s.per_type[1].active_div.mean, 3.0, 1e-14));
        QVERIFY_THROWS_EXCEPTION(ConfigError, (EstimatorAccumulator{3, {0, 1}}));
        // Without types: one type 0 with every particle.
        EstimatorAccumulator one(3);
        one.add(synthetic(3, XPart::Infinite));
        const auto o = one.summary();
        QCOMPARE(o.per_type.size(), std::size_t{1});
        QCOMPARE(o.per_type[0].particles, 3);
        QVERIFY(std::isinf(o.per_type[0].x.mean));
    }
};

QTEST_APPLESS_MAIN(TestEstimators)
#include "TestEstimators.moc"

// The Lyapunov solver against the closed forms of SPEC §5 (oracles 1-3).
#include <QtTest>

#include <cmath>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/physics/linear_oracle.hpp"

using namespace entroscope;

namespace {
Config trap_config(double A, double v0, double gamma, double eps, int n = 1) {
    Config c;
    c.n = n;
    c.box = 100.0;
    c.box_given = true;
    c.interaction = Interaction::None;
    c.v0 = v0;
    c.gamma = gamma;
    c.eps = eps;
    c.dt = 1e-3;
    c.trap_stiffness = {A};
    c.finalize();
    return c;
}
bool close(double a, double b, double rel = 1e-9) { return std::fabs(a - b) <= rel * std::max(1.0, std::fabs(b)); }
}  // namespace

class TestLinearOracle : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void singleTrapMatchesClosedForms_data() {
        QTest::addColumn<double>("A");
        QTest::addColumn<double>("v0");
        QTest::addColumn<double>("gamma");
        QTest::addColumn<double>("eps");
        QTest::newRow("paper-like") << 1.0 << 0.025 << 1e-4 << 0.1;
        QTest::newRow("fast") << 2.0 << 1.0 << 1.0 << 0.1;
        QTest::newRow("stiff") << 10.0 << 3.0 << 0.3 << 0.5;
    }
    void singleTrapMatchesClosedForms() {
        QFETCH(double, A);
        QFETCH(double, v0);
        QFETCH(double, gamma);
        QFETCH(double, eps);
        const auto o = solve_linear_system(trap_config(A, v0, gamma, eps));
        QVERIFY(close(o.var_g[0], 1.0));
        QVERIFY(close(o.cov_xg[0], v0 / (A + gamma)));
        QVERIFY(close(o.var_x[0], eps / A + v0 * v0 / (A * (A + gamma))));
        const double total = 2 * gamma * v0 * v0 / (eps * (A + gamma));
        const double active = 2 * gamma * A * v0 * v0 / (eps * (A + gamma) * (A + gamma) + gamma * v0 * v0);
        QVERIFY(close(o.epr_total, total, 1e-8));
        QVERIFY(close(o.epr_active_total, active, 1e-8));
        QVERIFY(close(o.epr_x_total, total - active, 1e-8));
    }

    void hypoellipticActivePartIsDTimesA() {
        for (double A : {0.5, 1.0, 3.0})
            for (double v0 : {0.025, 1.0})
                for (double gamma : {1e-4, 0.1, 2.0}) {
                    const auto o = solve_linear_system(trap_config(A, v0, gamma, 0.0));
                    QVERIFY2(close(o.epr_active_total, 2 * A, 1e-7), qPrintable(QString::number(o.epr_active_total)));
                    QVERIFY(std::isinf(o.epr_x_total));
                    QVERIFY(std::isinf(o.epr_total));
                    QVERIFY(!o.x_part_finite());
                }
    }

    void perParticleDecompositionRecoversEachTypesStiffness() {
        Config c = trap_config(1.0, 1.0, 0.5, 0.0, 6);
        c.types = {0, 1, 2, 0, 1, 2};
        c.trap_stiffness = {0.5, 1.5, 4.0};
        c.finalize();
        const auto o = solve_linear_system(c);
        for (int i = 0; i < 6; ++i) QVERIFY(close(o.epr_active[static_cast<std::size_t>(i)], 2 * c.trap_of(i), 1e-7));
    }

    void springPairActivePartIsDTimesAPlusKappa() {
        Config c = trap_config(1.3, 0.7, 0.4, 0.0, 2);
        c.springs = {{0, 1, 0.8}};
        c.finalize();
        const auto o = solve_linear_system(c);
        QVERIFY(close(o.epr_active[0], 2 * (1.3 + 0.8), 1e-7));
        QVERIFY(close(o.epr_active[1], 2 * (1.3 + 0.8), 1e-7));
    }

    void springPairSolvesTheLyapunovEquation() {
        // Independent check: integrate dS/dt = -B S - S B^T + 2D to stationarity.
        Config c = trap_config(1.0, 0.9, 0.6, 0.2, 2);
        c.springs = {{0, 1, 0.5}};
        c.finalize();
        const auto o = solve_linear_system(c);
        // Variables per component: x0, x1, g0, g1.
        const double B[4][4] = {{1.5, -0.5, -0.9, 0}, {-0.5, 1.5, 0, -0.9}, {0, 0, 0.6, 0}, {0, 0, 0, 0.6}};
        const double D[4] = {0.2, 0.2, 0.6, 0.6};
        double S[4][4] = {};
        const double h = 1e-3;
        for (int it = 0; it < 60000; ++it) {
            double dS[4][4];
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 4; ++j) {
                    double v = (i == j) ? 2 * D[i] : 0.0;
                    for (int k = 0; k < 4; ++k) v -= B[i][k] * S[k][j] + S[i][k] * B[j][k];
                    dS[i][j] = v;
                }
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 4; ++j) S[i][j] += h * dS[i][j];
        }
        QVERIFY(close(o.var_x[0], S[0][0], 1e-6));
        QVERIFY(close(o.var_x[1], S[1][1], 1e-6));
        QVERIFY(close(o.cov_xg[0], S[0][2], 1e-6));
        QVERIFY(close(o.var_g[1], S[3][3], 1e-6));
    }

    void discreteChainConvergesToContinuousAsDtShrinks() {
        double prev_err = 1e9;
        for (double dt : {0.04, 0.01, 0.0025}) {
            Config c = trap_config(2.0, 1.0, 1.0, 0.1);
            c.dt = dt;
            const auto o = solve_linear_system(c);
            const double err = std::fabs(o.var_x_discrete[0] - o.var_x[0]);
            QVERIFY(err < prev_err / 3.0);  // first order in dt
            prev_err = err;
        }
    }

    // The chain's own score in the SDE's estimators, against the closed form
    // for one trap: per Cartesian component the chain x' = (1 - A dt) x +
    // v0 dt g + sqrt(2 eps dt) xi, g' = a g + sqrt(1 - a^2) xi' has
    // Var g = 1, Cov = v0 dt a / (1 - (1 - A dt) a), Var x from S = F S F^T + Q.
    void discreteChainScoreMatchesClosedForm_data() {
        QTest::addColumn<double>("eps");
        QTest::newRow("eps 0") << 0.0;
        QTest::newRow("eps 0.1") << 0.1;
    }
    void discreteChainScoreMatchesClosedForm() {
        QFETCH(double, eps);
        const double A = 1.0, v0 = 1.0, g = 0.01;
        for (double dt : {0.2, 0.02}) {
            Config c = trap_config(A, v0, g, eps);
            c.dt = dt;
            c.finalize();
            const auto o = solve_linear_system(c);
            const double a = std::exp(-g * dt), m = 1 - A * dt, w = v0 * dt;
            const double sgg = 1.0, sxg = w * a / (1 - m * a);
            const double sxx = (2 * m * w * sxg + w * w + 2 * eps * dt) / (1 - m * m);
            const double det = sxx * sgg - sxg * sxg;
            const double pxx = sgg / det, pxg = -sxg / det, pgg = sxx / det;
            // v = (-B + D P) z with B = [[A, -v0], [0, g]], D = diag(eps, g).
            const double vxx = -A + eps * pxx, vxg = v0 + eps * pxg, vgx = g * pxg, vgg = -g + g * pgg;
            const double Evg2 = vgx * vgx * sxx + 2 * vgx * vgg * sxg + vgg * vgg * sgg;
            const double Evx2 = vxx * vxx * sxx + 2 * vxx * vxg * sxg + vxg * vxg * sgg;
            QVERIFY2(close(o.epr_active_discrete[0], 2 * Evg2 / g, 1e-7),
                     qPrintable(QString("dt %1: %2 vs %3").arg(dt).arg(o.epr_active_discrete[0]).arg(2 * Evg2 / g)));
            QVERIFY(close(o.div_v_discrete, 2 * (vxx + vgg), 1e-7));
            if (eps > 0) QVERIFY(close(o.epr_x_discrete[0], 2 * Evx2 / eps, 1e-7));
            else QVERIFY(std::isinf(o.epr_x_discrete[0]));
            // Below the SDE's value at a coarse step (A dt = 0.2: about -10 %
            // with eps = 0), and E[div v] about -(dt/2) tr J^2 = -A^2 dt.
            qInfo("eps %g dt %g: active EPR %.6g (SDE %.6g), E[div v] %.6g, -(dt/2) tr J^2 = %.6g", eps, dt, o.epr_active_discrete[0],
                  o.epr_active[0], o.div_v_discrete, -A * A * dt);
            QVERIFY(o.epr_active_discrete[0] < o.epr_active[0]);
        }
        // Converges to the SDE's values as dt shrinks.
        Config c = trap_config(A, v0, g, eps);
        c.dt = 1e-5;
        c.finalize();
        const auto o = solve_linear_system(c);
        QVERIFY(close(o.epr_active_discrete[0], o.epr_active[0], 1e-3));
        QVERIFY(std::fabs(o.div_v_discrete) < 1e-3 * o.epr_active[0]);
    }

    void equilibriumHasNoEntropyProduction() {
        const auto o = solve_linear_system(trap_config(1.0, 0.0, 1.0, 0.3));
        QVERIFY(std::fabs(o.epr_total) < 1e-10);
        QVERIFY(close(o.var_x[0], 0.3, 1e-9));
    }

    void nonLinearOrUnconfinedSystemsAreRejected() {
        Config c = parse_config("{}");
        QVERIFY_THROWS_EXCEPTION(ConfigError, solve_linear_system(c));
        Config free_particle = trap_config(0.0, 1.0, 1.0, 0.1);
        QVERIFY_THROWS_EXCEPTION(ConfigError, solve_linear_system(free_particle));
        Config frozen = trap_config(1.0, 0.0, 1.0, 0.0);
        QVERIFY_THROWS_EXCEPTION(ConfigError, solve_linear_system(frozen));
    }
};

QTEST_APPLESS_MAIN(TestLinearOracle)
#include "TestLinearOracle.moc"

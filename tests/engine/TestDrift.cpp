// The drift b(z) of SPEC §1 against the simulator's forces, and its exact
// per-particle divergence against central finite differences. Every test runs
// at every SIMD level (simd_levels.hpp), the force kernels and lists with it.
#include <QtTest>

#include <cmath>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/physics/drift.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/sim/simulator.hpp"

#include "simd_levels.hpp"

using namespace entroscope;

namespace {

double mi(double d, double L) { return d - L * std::nearbyint(d / L); }

// Named physical set-ups, each a small system driven for a while so that
// particles overlap the way they do in a real run.
Config setup(const QString& name) {
    Config c;
    c.n = 300;
    c.phi = 0.5;
    c.seed = 7;
    if (name == "softplus") {
        c.v0 = 0.5;
        c.gamma = 0.1;
        c.dt = 0.02;
    } else if (name == "softplus-eps") {
        c.v0 = 0.3;
        c.gamma = 0.2;
        c.eps = 0.05;
        c.beta = 3.0;
        c.k = 2.0;
        c.dt = 0.02;
    } else if (name == "hard") {
        c.interaction = Interaction::Hard;
        c.v0 = 0.5;
        c.gamma = 0.1;
        c.dt = 0.02;
    } else if (name == "softplus-traps-springs") {
        c.v0 = 0.4;
        c.gamma = 0.3;
        c.eps = 0.01;
        c.dt = 0.02;
        c.phi = 0.3;
        c.types.resize(static_cast<std::size_t>(c.n));
        for (int i = 0; i < c.n; ++i) c.types[static_cast<std::size_t>(i)] = i % 3;
        c.trap_stiffness = {0.0, 0.01, 0.05};
        for (int i = 0; i + 1 < c.n; i += 7) c.springs.push_back({i, i + 1, 0.2 + 0.01 * i});
        c.springs.push_back({0, c.n - 1, 0.5});  // a long spring: minimum image matters
        c.springs.push_back({8, 7, 0.3});        // a second spring on the pair (7, 8)
    } else if (name == "linear") {
        c.interaction = Interaction::None;
        c.v0 = 1.0;
        c.gamma = 0.5;
        c.eps = 0.1;
        c.dt = 0.01;
        c.types.resize(static_cast<std::size_t>(c.n));
        for (int i = 0; i < c.n; ++i) c.types[static_cast<std::size_t>(i)] = i % 2;
        c.trap_stiffness = {0.5, 2.0};
        for (int i = 0; i + 1 < c.n; i += 2) c.springs.push_back({i, i + 1, 0.7});
    } else if (name == "abp-wca") {
        c = default_config(ModelKind::Abp);
        c.n = 303;  // a last group of 7 of the 8 SIMD lanes of the force kernel
        c.seed = 7;
        c.finalize();
    } else if (name == "abp-wca-traps") {
        c = default_config(ModelKind::Abp);
        c.n = 297;  // a last group of 1 lane
        c.phi = 0.3;
        c.seed = 9;
        c.types.assign(static_cast<std::size_t>(c.n), 0);
        c.types[0] = 1;
        c.trap_stiffness = {0.02, 5.0};
        c.springs = {{3, 4, 10.0}, {4, 5, 1.0}};
    }
    c.finalize();
    return c;
}

State driven_state(const Config& c) {
    Simulator sim(c, 1);
    sim.run(c.model == ModelKind::Abp ? 3000 : 400);
    return sim.state();
}

// Distance from particle i to the nearest non-smooth point of the model
// (cut-off, the hard kink, the trap's minimum-image seam).
double distance_to_kink(const Config& c, const State& s, int i) {
    const double L = s.box;
    double worst = 1e300;
    const double xi = s.x[2 * static_cast<std::size_t>(i)], yi = s.x[2 * static_cast<std::size_t>(i) + 1];
    if (c.interaction != Interaction::None) {
        const double rc = c.pair_cutoff();
        for (int j = 0; j < c.n; ++j) {
            if (j == i) continue;
            const double dx = mi(xi - s.x[2 * static_cast<std::size_t>(j)], L);
            const double dy = mi(yi - s.x[2 * static_cast<std::size_t>(j)  + 1], L);
            const double r = std::hypot(dx, dy);
            worst = std::min(worst, std::fabs(r - rc));
            if (c.interaction == Interaction::Hard) worst = std::min(worst, std::fabs(r - 2 * c.r0));
        }
    }
    if (c.has_trap()) {
        worst = std::min(worst, std::fabs(std::fabs(mi(xi - 0.5 * L, L)) - 0.5 * L));
        worst = std::min(worst, std::fabs(std::fabs(mi(yi - 0.5 * L, L)) - 0.5 * L));
    }
    return worst;
}

}  // namespace

class TestDrift : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase_data() { test::add_simd_levels(); }
    void init() {
        QByteArray why;
        if (!test::use_simd_level_of_row(why)) QSKIP(why.constData());
    }

    void positionDriftEqualsSimulatorForcesPlusSelfPropulsion_data() {
        QTest::addColumn<QString>("name");
        for (const char* n : {"softplus", "softplus-eps", "hard", "softplus-traps-springs", "linear", "abp-wca", "abp-wca-traps"})
            QTest::newRow(n) << QString(n);
    }
    void positionDriftEqualsSimulatorForcesPlusSelfPropulsion() {
        QFETCH(QString, name);
        const Config c = setup(name);
        Simulator sim(c, 1);
        sim.run(c.model == ModelKind::Abp ? 3000 : 400);
        const State& s = sim.state();
        const auto F = sim.conservative_forces();
        DriftEvaluator ev(c);
        const Drift d = ev.evaluate(s);
        const auto Fc = ev.conservative_forces(s);
        QCOMPARE(d.b_x.size(), F.size());
        double worst = 0, scale = 0;
        for (int i = 0; i < c.n; ++i) {
            const auto k = 2 * static_cast<std::size_t>(i);
            double px, py;
            if (c.model == ModelKind::Aoup) {
                px = c.v0 * s.act[k];
                py = c.v0 * s.act[k + 1];
            } else {
                px = c.v0 * std::cos(s.act[static_cast<std::size_t>(i)]);
                py = c.v0 * std::sin(s.act[static_cast<std::size_t>(i)]);
            }
            worst = std::max({worst, std::fabs(d.b_x[k] - F[k] - px), std::fabs(d.b_x[k + 1] - F[k + 1] - py),
                              std::fabs(Fc[k] - F[k]), std::fabs(Fc[k + 1] - F[k + 1])});
            scale = std::max({scale, std::fabs(F[k]), std::fabs(F[k + 1])});
        }
        QVERIFY2(scale > 0, "the set-up has no forces at all");
        // The simulator's kernels run with fast-math (libmvec exp/log1p).
        QVERIFY2(worst <= 1e-10 * std::max(1.0, scale), qPrintable(QString("max |b - F - v0 e| = %1 (force scale %2)").arg(worst).arg(scale)));
    }

    void activeDriftAndItsDivergenceFollowTheModel() {
        {
            const Config c = setup("softplus");
            const State s = driven_state(c);
            const Drift d = compute_drift(c, s);
            QCOMPARE(d.active_dim, 2);
            for (std::size_t k = 0; k < s.act.size(); ++k) QCOMPARE(d.b_act[k], -c.gamma * s.act[k]);
            for (double v : d.div_act) QCOMPARE(v, -2 * c.gamma);
        }
        {
            const Config c = setup("abp-wca");
            const State s = driven_state(c);
            const Drift d = compute_drift(c, s);
            QCOMPARE(d.active_dim, 1);
            QCOMPARE(d.b_act.size(), static_cast<std::size_t>(c.n));
            for (double v : d.b_act) QCOMPARE(v, 0.0);
            for (double v : d.div_act) QCOMPARE(v, 0.0);
        }
        const Drift nodiv = compute_drift(setup("hard"), driven_state(setup("hard")), false);
        QVERIFY(nodiv.div_x.empty() && nodiv.div_act.empty());
    }

    void divergenceMatchesCentralFiniteDifferences_data() {
        QTest::addColumn<QString>("name");
        for (const char* n : {"softplus", "softplus-eps", "hard", "softplus-traps-springs", "linear", "abp-wca", "abp-wca-traps"})
            QTest::newRow(n) << QString(n);
    }
    void divergenceMatchesCentralFiniteDifferences() {
        QFETCH(QString, name);
        const Config c = setup(name);
        State s = driven_state(c);
        DriftEvaluator ev(c);
        const Drift d = ev.evaluate(s);
        const double h = 1e-5;
        int checked = 0, interacting = 0;
        double worst = 0;
        for (int i = 0; i < c.n; ++i) {
            if (distance_to_kink(c, s, i) < 1e3 * h) continue;
            double fd = 0;
            for (int comp = 0; comp < 2; ++comp) {
                const auto k = 2 * static_cast<std::size_t>(i) + static_cast<std::size_t>(comp);
                const double x0 = s.x[k];
                s.x[k] = x0 + h;
                const double up = ev.evaluate(s, false).b_x[k];
                s.x[k] = x0 - h;
                const double down = ev.evaluate(s, false).b_x[k];
                s.x[k] = x0;
                fd += (up - down) / (2 * h);
            }
            const double exact = d.div_x[static_cast<std::size_t>(i)];
            const double err = std::fabs(fd - exact) / std::max(1.0, std::fabs(exact));
            worst = std::max(worst, err);
            QVERIFY2(err < 1e-5, qPrintable(QString("particle %1: exact %2, finite difference %3").arg(i).arg(exact).arg(fd)));
            ++checked;
            if (std::fabs(exact) > 1e-3) ++interacting;
        }
        QVERIFY2(checked >= c.n / 2, qPrintable(QString("only %1 particles away from kinks").arg(checked)));
        QVERIFY2(interacting >= c.n / 10, qPrintable(QString("only %1 particles with a non-zero divergence").arg(interacting)));
        qInfo("%s: %d particles checked (%d with non-zero divergence), worst relative error %.2e", qPrintable(name), checked,
              interacting, worst);
    }

    // tr (J^2)_ii (the Euler step's bias of E[div v], estimators.hpp) from
    // the whole Jacobian J = d b_x / d x by central differences.
    void trJ2MatchesFiniteDifferenceJacobian_data() { divergenceMatchesCentralFiniteDifferences_data(); }
    void trJ2MatchesFiniteDifferenceJacobian() {
        QFETCH(QString, name);
        const Config c = setup(name);
        State s = driven_state(c);
        DriftEvaluator ev(c);
        const Drift d = ev.evaluate(s);
        QCOMPARE(d.tr_j2.size(), static_cast<std::size_t>(c.n));
        QVERIFY(ev.evaluate(s, false).tr_j2.empty());
        const auto m = 2 * static_cast<std::size_t>(c.n);
        std::vector<double> J(m * m);  // J[row * m + col] = d b_row / d x_col
        const double h = 1e-5;
        for (std::size_t col = 0; col < m; ++col) {
            const double x0 = s.x[col];
            s.x[col] = x0 + h;
            const auto up = ev.evaluate(s, false).b_x;
            s.x[col] = x0 - h;
            const auto down = ev.evaluate(s, false).b_x;
            s.x[col] = x0;
            for (std::size_t row = 0; row < m; ++row) J[row * m + col] = (up[row] - down[row]) / (2 * h);
        }
        int checked = 0, interacting = 0;
        double worst = 0;
        for (int i = 0; i < c.n; ++i) {
            if (distance_to_kink(c, s, i) < 1e3 * h) continue;
            double fd = 0;
            for (std::size_t a = 2 * static_cast<std::size_t>(i); a < 2 * static_cast<std::size_t>(i) + 2; ++a)
                for (std::size_t k = 0; k < m; ++k) fd += J[a * m + k] * J[k * m + a];
            const double exact = d.tr_j2[static_cast<std::size_t>(i)];
            const double err = std::fabs(fd - exact) / std::max(1.0, std::fabs(exact));
            worst = std::max(worst, err);
            QVERIFY2(err < 1e-5, qPrintable(QString("particle %1: tr_j2 %2, finite differences %3").arg(i).arg(exact).arg(fd)));
            ++checked;
            if (std::fabs(exact) > 1e-3) ++interacting;
        }
        QVERIFY2(checked >= c.n / 2, qPrintable(QString("only %1 particles away from kinks").arg(checked)));
        QVERIFY2(interacting >= c.n / 10, qPrintable(QString("only %1 particles with a non-zero tr (J^2)_ii").arg(interacting)));
        qInfo("%s: %d particles checked (%d non-zero), worst relative error %.2e", qPrintable(name), checked, interacting, worst);
    }

    void divergenceOfOneBodyTermsIsMinusTwoStiffness() {
        Config c = setup("linear");
        const State s = driven_state(c);
        const Drift d = compute_drift(c, s);
        std::vector<double> expect(static_cast<std::size_t>(c.n), 0.0);
        for (int i = 0; i < c.n; ++i) expect[static_cast<std::size_t>(i)] = -2 * c.trap_of(i);
        for (const auto& sp : c.springs) {
            expect[static_cast<std::size_t>(sp.i)] -= 2 * sp.kappa;
            expect[static_cast<std::size_t>(sp.j)] -= 2 * sp.kappa;
        }
        for (int i = 0; i < c.n; ++i) QVERIFY(std::fabs(d.div_x[static_cast<std::size_t>(i)] - expect[static_cast<std::size_t>(i)]) < 1e-12);
    }

    void radialForceDerivativeMatchesFiniteDifference() {
        for (const char* name : {"softplus", "hard", "abp-wca"}) {
            const Config c = setup(name);
            const double rc = c.pair_cutoff();
            for (double r = 0.85 * (c.model == ModelKind::Abp ? c.sigma : 2 * c.r0); r < rc - 1e-3; r += 0.01) {
                if (c.interaction == Interaction::Hard && std::fabs(r - 2 * c.r0) < 1e-3) continue;
                const double h = 1e-6;
                const double fd = (radial_pair_force(c, r + h).f - radial_pair_force(c, r - h).f) / (2 * h);
                const double df = radial_pair_force(c, r).df;
                QVERIFY2(std::fabs(fd - df) < 1e-6 * std::max(1.0, std::fabs(df)), qPrintable(QString("%1 r=%2: %3 vs %4").arg(name).arg(r).arg(fd).arg(df)));
            }
            QCOMPARE(radial_pair_force(c, rc + 1e-9).f, 0.0);
        }
        // Softplus at contact: ln 2 / beta (SPEC 1a), slope -k/2.
        const Config c = setup("softplus");
        QVERIFY(std::fabs(radial_pair_force(c, 2 * c.r0).f - std::log(2.0) / c.beta) < 1e-14);
        QVERIFY(std::fabs(radial_pair_force(c, 2 * c.r0).df + 0.5 * c.k) < 1e-14);
    }

    void cellListAgreesWithAllPairs() {
        Config c = setup("softplus");
        c.n = 3000;
        c.finalize();
        const State s = driven_state(c);
        const Drift d = compute_drift(c, s);
        const double L = s.box;
        const double rc = c.pair_cutoff();
        double worst = 0;
        for (int i = 0; i < c.n; i += 7) {
            double fx = c.v0 * s.act[2 * static_cast<std::size_t>(i)], fy = c.v0 * s.act[2 * static_cast<std::size_t>(i) + 1], dv = 0;
            for (int j = 0; j < c.n; ++j) {
                if (j == i) continue;
                const double dx = mi(s.x[2 * static_cast<std::size_t>(i)] - s.x[2 * static_cast<std::size_t>(j)], L);
                const double dy = mi(s.x[2 * static_cast<std::size_t>(i) + 1] - s.x[2 * static_cast<std::size_t>(j) + 1], L);
                const double r = std::hypot(dx, dy);
                if (r >= rc) continue;
                const auto rf = radial_pair_force(c, r);
                fx += rf.f * dx / r;
                fy += rf.f * dy / r;
                dv += rf.df + rf.f / r;
            }
            worst = std::max({worst, std::fabs(fx - d.b_x[2 * static_cast<std::size_t>(i)]),
                              std::fabs(fy - d.b_x[2 * static_cast<std::size_t>(i) + 1]), std::fabs(dv - d.div_x[static_cast<std::size_t>(i)])});
        }
        QVERIFY2(worst < 1e-12, qPrintable(QString::number(worst)));
    }

    void rejectsAStateOfAnotherSystem() {
        const Config c = setup("softplus");
        State s = driven_state(c);
        s.x.pop_back();
        QVERIFY_THROWS_EXCEPTION(ConfigError, compute_drift(c, s));
        State t = driven_state(c);
        t.box *= 1.1;
        QVERIFY_THROWS_EXCEPTION(ConfigError, compute_drift(c, t));
    }
};

QTEST_APPLESS_MAIN(TestDrift)
#include "TestDrift.moc"

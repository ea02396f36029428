// Gaussian-kernel fields on the periodic grid (SPEC §2 "per region").
#include <QtTest>

#include <cmath>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/analysis/fields.hpp"
#include "entroscope/sim/simulator.hpp"

using namespace entroscope;

namespace {

State make_state(double L, const std::vector<double>& xy) {
    State s;
    s.box = L;
    s.x = xy;
    s.image.assign(xy.size(), 0);
    s.types.assign(xy.size() / 2, 0);
    s.act.assign(xy.size(), 0.0);
    return s;
}

State lattice(int side, double L, double offset = 0.5) {
    std::vector<double> xy;
    const double a = L / side;
    for (int j = 0; j < side; ++j)
        for (int i = 0; i < side; ++i) {
            xy.push_back((i + offset) * a);
            xy.push_back((j + offset) * a);
        }
    return make_state(L, xy);
}

double integral(const Field& f, int comp = 0) {
    const double h = f.cell();
    double s = 0;
    for (int cy = 0; cy < f.bins; ++cy)
        for (int cx = 0; cx < f.bins; ++cx) s += f.at(cx, cy, comp) * h * h;
    return s;
}

FieldOptions opts(int bins, double width, double min_count = 0.5) {
    FieldOptions o;
    o.bins = bins;
    o.width = width;
    o.min_count = min_count;
    return o;
}

}  // namespace

class TestFields : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void uniformLatticeGivesUniformDensity_data() {
        QTest::addColumn<int>("side");
        QTest::addColumn<int>("bins");
        QTest::addColumn<double>("width");
        QTest::addColumn<double>("offset");
        QTest::newRow("kernel = spacing, coarse grid") << 40 << 32 << 2.0 << 0.5;
        QTest::newRow("kernel = spacing, fine grid") << 40 << 100 << 2.0 << 0.5;
        QTest::newRow("wide kernel, lattice off the grid") << 40 << 37 << 3.0 << 0.13;
    }
    void uniformLatticeGivesUniformDensity() {
        QFETCH(int, side);
        QFETCH(int, bins);
        QFETCH(double, width);
        QFETCH(double, offset);
        const double L = 80.0;
        const State s = lattice(side, L, offset);
        const Field rho = kernel_density(s, opts(bins, width));
        const double expect = side * side / (L * L);
        double worst = 0;
        for (double v : rho.value) worst = std::max(worst, std::fabs(v / expect - 1));
        // A Gaussian of width >= the lattice spacing smooths the lattice to
        // within exp(-2 pi^2 w^2 / a^2) ~ 3e-9 of uniform; the rest is the
        // truncation at 3 widths and the grid.
        QVERIFY2(worst < 0.01, qPrintable(QString("max relative deviation from N/L^2: %1").arg(worst)));
        for (auto m : rho.mask) QCOMPARE(int(m), 0);
    }

    void densityIntegratesToN() {
        Config c;
        c.n = 800;
        c.phi = 0.4;
        c.v0 = 0.5;
        c.gamma = 0.1;
        c.finalize();
        Simulator sim(c, 1);
        sim.run(300);
        for (int bins : {1, 7, 32, 90})
            for (double w : {0.05, 0.7, 2.0, 5.0}) {
                if (6 * w > c.box) continue;
                const Field rho = kernel_density(sim.state(), opts(bins, w));
                QVERIFY2(std::fabs(integral(rho) - c.n) < 1e-9 * c.n, qPrintable(QString("bins %1 width %2: %3").arg(bins).arg(w).arg(integral(rho))));
            }
    }

    void singleParticleGivesTheGaussianProfile() {
        const double L = 60.0;
        const int bins = 60;  // h = 1
        const double w = 3.0;
        // Particle on a cell centre.
        const State s = make_state(L, {30.5, 20.5});
        KernelGrid g(s, opts(bins, w));
        const Field rho = g.density();
        const double peak = 1.0 / (2 * M_PI * w * w);
        QVERIFY(std::fabs(rho.at(30, 20) / peak - 1) < 0.02);
        for (int d = 1; d <= 8; ++d) {
            const double ratio = rho.at(30 + d, 20) / rho.at(30, 20);
            if (d <= 9) QVERIFY2(std::fabs(ratio - std::exp(-d * d / (2 * w * w))) < 1e-12, qPrintable(QString::number(ratio)));
            QCOMPARE(rho.at(30 + d, 20), rho.at(30 - d, 20));
            QCOMPARE(rho.at(30, 20 + d), rho.at(30 - d, 20) * 1.0);
        }
        // Truncated beyond 3 widths.
        QCOMPARE(rho.at(30 + 10, 20), 0.0);
        QCOMPARE(rho.at(30, 20 + 10), 0.0);
        // count: a particle on the cell centre contributes about 1.
        QVERIFY(std::fabs(g.count()[20 * bins + 30] - 1.0) < 0.02);
    }

    void particleAtTheEdgeContributesOnBothSides() {
        const double L = 40.0;
        const int bins = 20;  // h = 2
        {
            const State s = make_state(L, {0.0, 21.0});  // on the x = 0 seam, mid-cell in y
            const Field rho = kernel_density(s, opts(bins, 1.5));
            for (int d = 0; d < 4; ++d) QVERIFY(std::fabs(rho.at(d, 10) - rho.at(bins - 1 - d, 10)) < 1e-15);
            QVERIFY(rho.at(0, 10) > 0 && rho.at(bins - 1, 10) > 0);
            QVERIFY(std::fabs(integral(rho) - 1.0) < 1e-12);
        }
        {
            // Just inside the top-right corner: the four corner cells share it.
            const State s = make_state(L, {L - 1e-9, L - 1e-9});
            const Field rho = kernel_density(s, opts(bins, 1.5));
            const double c = rho.at(bins - 1, bins - 1);
            QVERIFY(c > 0);
            QVERIFY(std::fabs(rho.at(0, 0) / c - 1) < 1e-6);
            QVERIFY(std::fabs(rho.at(0, bins - 1) / c - 1) < 1e-6);
            QVERIFY(std::fabs(rho.at(bins - 1, 0) / c - 1) < 1e-6);
            QCOMPARE(rho.at(bins / 2, bins / 2), 0.0);
        }
    }

    void averageOfAConstantIsThatConstantWhereUnmasked() {
        Config c;
        c.n = 600;
        c.phi = 0.3;
        c.v0 = 0.5;
        c.gamma = 0.1;
        c.finalize();
        Simulator sim(c, 1);
        sim.run(200);
        KernelGrid g(sim.state(), opts(40, 2.0));
        const Field a = g.average(std::vector<double>(static_cast<std::size_t>(c.n), 2.75));
        int unmasked = 0;
        for (int cy = 0; cy < a.bins; ++cy)
            for (int cx = 0; cx < a.bins; ++cx) {
                if (a.masked(cx, cy)) {
                    QVERIFY(std::isnan(a.at(cx, cy)));
                    continue;
                }
                ++unmasked;
                QVERIFY(std::fabs(a.at(cx, cy) - 2.75) < 1e-12);
            }
        QVERIFY(unmasked > a.bins * a.bins / 2);
        std::vector<double> v(2 * static_cast<std::size_t>(c.n));
        for (int i = 0; i < c.n; ++i) {
            v[2 * static_cast<std::size_t>(i)] = -0.5;
            v[2 * static_cast<std::size_t>(i) + 1] = 1.25;
        }
        const Field av = g.average_vector(v);
        const Field J = g.current(v);
        const Field rho = g.density();
        QCOMPARE(av.components, 2);
        for (int cy = 0; cy < av.bins; ++cy)
            for (int cx = 0; cx < av.bins; ++cx) {
                // J = v rho for a uniform v, masked or not.
                QVERIFY(std::fabs(J.at(cx, cy, 0) + 0.5 * rho.at(cx, cy)) < 1e-14);
                QVERIFY(std::fabs(J.at(cx, cy, 1) - 1.25 * rho.at(cx, cy)) < 1e-14);
                QCOMPARE(av.masked(cx, cy), a.masked(cx, cy));
                if (av.masked(cx, cy)) continue;
                QVERIFY(std::fabs(av.at(cx, cy, 0) + 0.5) < 1e-12 && std::fabs(av.at(cx, cy, 1) - 1.25) < 1e-12);
            }
        QVERIFY(std::fabs(integral(J, 0) + 0.5 * c.n) < 1e-9 * c.n);
        QVERIFY(std::fabs(integral(J, 1) - 1.25 * c.n) < 1e-9 * c.n);
    }

    void averageIsTheKernelWeightedMean() {
        // Two particles one kernel width apart carrying 1 and 3: the cell
        // nearest the first leans to 1, the midpoint is exactly 2.
        const double L = 40.0;
        const State s = make_state(L, {19.5, 20.5, 21.5, 20.5});  // h = 1: cells 19 and 21, midpoint cell 20
        const Field a = kernel_average(s, {1.0, 3.0}, opts(40, 1.0, 0.1));
        QVERIFY(std::fabs(a.at(20, 20) - 2.0) < 1e-12);
        const double w1 = 1.0, w3 = std::exp(-4.0 / 2.0);
        QVERIFY(std::fabs(a.at(19, 20) - (1.0 * w1 + 3.0 * w3) / (w1 + w3)) < 1e-12);
    }

    void emptyRegionsAreMasked() {
        // Particles only in the left half of the box.
        std::vector<double> xy;
        const double L = 60.0;
        for (int j = 0; j < 30; ++j)
            for (int i = 0; i < 15; ++i) {
                xy.push_back(1.0 + 2.0 * i);
                xy.push_back(1.0 + 2.0 * j);
            }
        const State s = make_state(L, xy);
        KernelGrid g(s, opts(30, 2.0, 0.5));  // h = 2
        const Field a = g.average(std::vector<double>(xy.size() / 2, 1.0));
        const auto count = g.count();
        for (int cy = 0; cy < 30; ++cy) {
            // Deep in the empty half (more than 3 widths from any particle): masked, NaN.
            for (int cx = 19; cx <= 25; ++cx) {
                QVERIFY(a.masked(cx, cy));
                QVERIFY(std::isnan(a.at(cx, cy)));
                QCOMPARE(count[static_cast<std::size_t>(cy * 30 + cx)], 0.0);
            }
            // Inside the populated half: unmasked, count about 2 pi w^2 / a^2 = 6.3.
            for (int cx = 3; cx <= 11; ++cx) {
                QVERIFY(!a.masked(cx, cy));
                QVERIFY(std::fabs(count[static_cast<std::size_t>(cy * 30 + cx)] - 2 * M_PI) < 0.1);
            }
        }
        // Raising the threshold masks more.
        const Field strict = KernelGrid(s, opts(30, 2.0, 7.0)).average(std::vector<double>(xy.size() / 2, 1.0));
        int masked_default = 0, masked_strict = 0;
        for (auto m : a.mask) masked_default += m;
        for (auto m : strict.mask) masked_strict += m;
        QVERIFY(masked_strict > masked_default);
    }

    void fieldOptionsFollowTheParticleDiameter() {
        QCOMPARE(field_options_for(default_config(ModelKind::Aoup), 48).width, 2.0);
        QCOMPARE(field_options_for(default_config(ModelKind::Abp), 48).width, 1.0);
        QCOMPARE(field_options_for(default_config(ModelKind::Abp), 48).bins, 48);
    }

    void rejectsBadOptionsAndSizes() {
        const State s = lattice(10, 20.0);
        QVERIFY_THROWS_EXCEPTION(ConfigError, KernelGrid(s, opts(0, 1.0)));
        QVERIFY_THROWS_EXCEPTION(ConfigError, KernelGrid(s, opts(16, 0.0)));
        QVERIFY_THROWS_EXCEPTION(ConfigError, KernelGrid(s, opts(16, std::nan(""))));
        QVERIFY_THROWS_EXCEPTION(ConfigError, KernelGrid(s, opts(16, 4.0)));  // 6 w > L
        QVERIFY_THROWS_EXCEPTION(ConfigError, KernelGrid(s, opts(16, 1.0, -1.0)));
        KernelGrid g(s, opts(16, 1.0));
        QVERIFY_THROWS_EXCEPTION(ConfigError, g.average(std::vector<double>(3, 1.0)));
        QVERIFY_THROWS_EXCEPTION(ConfigError, g.current(std::vector<double>(100, 1.0)));
    }
};

QTEST_APPLESS_MAIN(TestFields)
#include "TestFields.moc"

// Observables: density grid, MSD bookkeeping across periodic images, batch means.
#include <QtTest>

#include <cmath>
#include <random>

#include "entroscope/core/config.hpp"
#include "entroscope/analysis/observables.hpp"
#include "entroscope/sim/simulator.hpp"

using namespace entroscope;

class TestObservables : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void densityGridIntegratesToTheParticleCount() {
        Simulator sim(parse_config(R"({"model":"abp","n":3000,"phi":0.4})"), 2);
        sim.run(200);
        const int bins = 16;
        const auto g = density_grid(sim.state(), bins);
        QCOMPARE(static_cast<int>(g.size()), bins * bins);
        const double cell = sim.state().box / bins;
        double total = 0;
        for (double v : g) {
            QVERIFY(v >= 0);
            total += v * cell * cell;
        }
        QVERIFY(std::fabs(total - 3000.0) < 1e-6);
    }

    void densityGridSeesAClusterWhereItIs() {
        State s;
        s.box = 10.0;
        s.types.assign(4, 0);
        s.x = {1.0, 1.0, 1.2, 1.1, 1.3, 1.4, 7.5, 7.5};
        s.image.assign(8, 0);
        s.act.assign(4, 0.0);
        const auto g = density_grid(s, 5);  // cells of side 2
        QCOMPARE(g[0], 3.0 / 4.0);
        QCOMPARE(g[3 * 5 + 3], 1.0 / 4.0);
    }

    void msdCountsImageCrossings() {
        State s;
        s.box = 10.0;
        s.types.assign(1, 0);
        s.x = {9.5, 5.0};
        s.image = {0, 0};
        s.act = {0.0, 0.0};
        MsdRecorder msd(s);
        s.x[0] = 0.5;  // crossed the right edge: moved +1
        s.image[0] = 1;
        s.time = 1.0;
        QCOMPARE(msd.record(s), 1.0);
        QCOMPARE(msd.times().back(), 1.0);
    }

    void batchMeansStandardErrorMatchesIidTheory() {
        // For iid N(0, 1) data the SE must be close to 1/sqrt(M).
        std::mt19937_64 rng(5);
        std::normal_distribution<double> nd;
        std::vector<double> v(100000);
        for (auto& x : v) x = nd(rng);
        const MeanSe m = batch_means(v, 20);
        const double se = 1.0 / std::sqrt(100000.0);
        QVERIFY(std::fabs(m.se / se - 1.0) < 0.5);  // 19 degrees of freedom: +-16% (1 sd)
        QVERIFY(std::fabs(m.mean) < 5 * se);
    }

    void batchMeansSeesCorrelation() {
        // An AR(1) series with correlation 0.99 has an SE ~ sqrt(199) times the naive one.
        std::mt19937_64 rng(6);
        std::normal_distribution<double> nd;
        std::vector<double> v(400000);
        double x = 0;
        for (auto& y : v) y = x = 0.99 * x + std::sqrt(1 - 0.99 * 0.99) * nd(rng);
        const MeanSe m = batch_means(v, 20);
        const double naive = 1.0 / std::sqrt(400000.0);
        QVERIFY(m.se > 8 * naive);
    }
};

QTEST_APPLESS_MAIN(TestObservables)
#include "TestObservables.moc"

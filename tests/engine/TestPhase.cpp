// Phase indicators: the local area fraction, the largest dense cluster and
// the bimodality of the density on constructed states whose phase is known.
#include <QtTest>

#include <cmath>
#include <random>
#include <vector>

#include "entroscope/analysis/phase.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"

using namespace entroscope;

namespace {

constexpr double kPi = 3.14159265358979323846;

State state_of(double box, const std::vector<double>& xy) {
    State s;
    s.box = box;
    s.x = xy;
    for (double& v : s.x) v -= box * std::floor(v / box);
    const std::size_t n = xy.size() / 2;
    s.image.assign(2 * n, 0);
    s.act.assign(n, 0.0);
    s.types.assign(n, 0);
    return s;
}

Config abp(int n) {
    Config c = default_config(ModelKind::Abp);
    c.n = n;
    return c;
}

// Random disks of diameter 1 in [x0, x1) x [0, L), no two closer than dmin
// (also to the given ones), by rejection.
void add_gas(std::vector<double>& xy, double L, double x0, double x1, int count, double dmin, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> ux(x0, x1), uy(0.0, L);
    const auto wrap = [L](double d) { return d - L * std::round(d / L); };
    int placed = 0;
    while (placed < count) {
        const double x = ux(rng), y = uy(rng);
        bool ok = true;
        for (std::size_t j = 0; ok && j < xy.size(); j += 2) {
            const double dx = wrap(x - xy[j]), dy = wrap(y - xy[j + 1]);
            ok = dx * dx + dy * dy >= dmin * dmin;
        }
        if (ok) {
            xy.push_back(x);
            xy.push_back(y);
            ++placed;
        }
    }
}

// A hexagonal lattice of spacing about a filling x in [0, width) of a box
// of side L (rows an even number so that y is periodic), with a small
// random jitter.
std::vector<double> hex(double L, double width, double a, double jitter, std::mt19937_64& rng) {
    int rows = static_cast<int>(std::lround(L / (a * std::sqrt(3.0) / 2.0)));
    rows += rows % 2;
    const double dy = L / rows;
    const int cols = static_cast<int>(std::floor(width / a));
    const double dx = width / cols;
    std::normal_distribution<double> noise(0.0, jitter);
    std::vector<double> xy;
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            xy.push_back((c + 0.5 * (r % 2) + 0.25) * dx + (jitter > 0 ? noise(rng) : 0.0));
            xy.push_back((r + 0.5) * dy + (jitter > 0 ? noise(rng) : 0.0));
        }
    return xy;
}

}  // namespace

class TestPhase : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void localAreaFractionIsTheTruncatedGaussianSumOverPeriodicImages() {
        // An isolated AOUP particle (r0 = 1, w = 2 r0): only itself counts.
        Config aoup = default_config(ModelKind::Aoup);
        const auto one = local_area_fraction(state_of(40.0, {20.0, 20.0}), aoup);
        QCOMPARE(one.size(), std::size_t(1));
        QVERIFY(std::abs(one[0] - 0.125 / (1.0 - std::exp(-4.5))) < 1e-6);

        // Random positions in a box wide enough for the cell list: the value
        // at every particle is the direct minimum-image sum of the formula.
        std::mt19937_64 rng(3);
        std::vector<double> xy;
        std::uniform_real_distribution<double> u(0.0, 30.0);
        for (int i = 0; i < 2 * 600; ++i) xy.push_back(u(rng));
        const State s = state_of(30.0, xy);
        const Config cfg = abp(600);
        for (double w : {0.0, 1.7}) {
            const auto phi = local_area_fraction(s, cfg, w);
            const double ww = w > 0 ? w : 1.0;  // ABP: sigma
            const double norm = cfg.particle_area() / (2 * kPi * ww * ww * (1 - std::exp(-4.5)));
            for (int i = 0; i < 600; ++i) {
                double sum = 0;
                for (int j = 0; j < 600; ++j) {
                    double dx = s.x[2 * i] - s.x[2 * j], dy = s.x[2 * i + 1] - s.x[2 * j + 1];
                    dx -= 30.0 * std::round(dx / 30.0);
                    dy -= 30.0 * std::round(dy / 30.0);
                    const double r2 = dx * dx + dy * dy;
                    if (r2 <= 9 * ww * ww) sum += std::exp(-r2 / (2 * ww * ww));
                }
                QVERIFY2(std::abs(phi[i] - norm * sum) < 1e-5 * norm * sum, qPrintable(QString::number(i)));
            }
        }
        // A malformed state gives NaN, not a crash.
        State bad = s;
        bad.box = 0.0;
        QVERIFY(std::isnan(local_area_fraction(bad, cfg)[0]));
    }

    void clusterFractionIsExactAcrossThePeriodicEdge() {
        // Two chains of touching disks (spacing 1 < contact 1.12), one of 7
        // wrapping around x = 0, one of 4, and two loose particles. Every
        // particle counts as dense (dense_phi below any value), so clusters
        // are the contact network alone.
        const double L = 20.0;
        std::vector<double> xy;
        for (int k = 0; k < 7; ++k) xy.insert(xy.end(), {17.0 + k, 5.0});  // 17 .. 23 = 3 (mod 20)
        for (int k = 0; k < 4; ++k) xy.insert(xy.end(), {5.0 + k, 12.0});
        xy.insert(xy.end(), {12.0, 17.0, 15.0, 17.0});
        PhaseOptions opt;
        opt.dense_phi = -1.0;
        const int n = static_cast<int>(xy.size() / 2);
        const PhaseIndicators p = phase_indicators(state_of(L, xy), abp(n), opt);
        QCOMPARE(p.n, 13);
        QCOMPARE(p.largest_cluster_fraction, 7.0 / 13.0);
        // Without the wrap the long chain is 3 + 4 and the 4-chain is largest.
        std::vector<double> cut = xy;
        cut[2 * 3] += 0.3;  // the gap 19 -> 20.3 (0.3) -> ... now 1.3 > contact
        for (int k = 3; k < 7; ++k) cut[2 * k] += 0.3;
        QCOMPARE(phase_indicators(state_of(L, cut), abp(n), opt).largest_cluster_fraction, 4.0 / 13.0);
        // With the default threshold these sparse particles are not dense at all.
        QCOMPARE(phase_indicators(state_of(L, xy), abp(n)).largest_cluster_fraction, 0.0);
    }

    void uniformGasIsHomogeneous() {
        std::mt19937_64 rng(11);
        const int n = 2000;
        const double L = std::sqrt(n * kPi / 4 / 0.3);  // phi = 0.3
        std::vector<double> xy;
        add_gas(xy, L, 0.0, L, n, 0.9, rng);
        const PhaseIndicators p = phase_indicators(state_of(L, xy), abp(n));
        QVERIFY2(!p.separated, qPrintable(QString("cluster %1 bimodality %2").arg(p.largest_cluster_fraction).arg(p.density_bimodality)));
        QVERIFY(p.largest_cluster_fraction < 0.05);
        QVERIFY(p.density_bimodality < 5.0 / 9.0);
        QVERIFY(std::abs(p.mean_phi - 0.3) < 0.15);
        QVERIFY(!p.criterion.empty());
    }

    void denseSlabInADiluteGasIsSeparatedWithBothDensities() {
        std::mt19937_64 rng(12);
        const double L = 60.0;
        std::vector<double> xy = hex(L, 24.0, 1.05, 0.03, rng);  // phi about 0.82
        const int slab = static_cast<int>(xy.size() / 2);
        add_gas(xy, L, 26.0, 58.0, 180, 1.0, rng);             // phi about 0.07
        const int n = static_cast<int>(xy.size() / 2);
        const PhaseIndicators p = phase_indicators(state_of(L, xy), abp(n));
        QVERIFY2(p.separated, qPrintable(QString("cluster %1 bimodality %2").arg(p.largest_cluster_fraction).arg(p.density_bimodality)));
        QVERIFY(p.density_bimodality > 5.0 / 9.0);
        // The slab's two surface rows are less dense than the threshold.
        const double share = static_cast<double>(slab) / n;
        QVERIFY(p.largest_cluster_fraction > 0.85 * share && p.largest_cluster_fraction <= share);
        QVERIFY2(p.dense_phi > 0.7 && p.dense_phi < 0.9, qPrintable(QString::number(p.dense_phi)));
        QVERIFY2(p.dilute_phi < 0.3, qPrintable(QString::number(p.dilute_phi)));
    }

    void denseUniformLatticePercolatesButIsHomogeneous() {
        std::mt19937_64 rng(13);
        const double L = 50.0;
        // phi = 0.9069 / a^2 = 0.85 at a = 1.033: the whole box, jittered and perfect.
        for (double jitter : {0.04, 0.0}) {
            const std::vector<double> xy = hex(L, L, 1.033, jitter, rng);
            const int n = static_cast<int>(xy.size() / 2);
            const PhaseIndicators p = phase_indicators(state_of(L, xy), abp(n));
            QCOMPARE(p.largest_cluster_fraction, 1.0);
            QVERIFY2(!p.separated, qPrintable(QString("jitter %1 bimodality %2").arg(jitter).arg(p.density_bimodality)));
            if (jitter > 0) QVERIFY(p.density_bimodality < 0.5);
            else QVERIFY(std::isnan(p.density_bimodality));  // no spread: no distribution to call bimodal
            QVERIFY(std::abs(p.mean_phi - 0.85) < 0.03);
        }
    }

    void averageClassifiesTheMeans() {
        PhaseIndicators a, b, c;
        a.states = b.states = c.states = 1;
        a.n = b.n = c.n = 10;
        a.largest_cluster_fraction = 0.5;
        a.density_bimodality = 0.7;
        b.largest_cluster_fraction = 0.3;
        b.density_bimodality = 0.5;
        c.largest_cluster_fraction = 0.1;
        c.density_bimodality = std::numeric_limits<double>::quiet_NaN();
        PhaseAverage avg;
        QCOMPARE(avg.mean().states, 0);
        QVERIFY(!avg.mean().separated);
        avg.add(a);
        avg.add(b);
        QCOMPARE(avg.mean().largest_cluster_fraction, 0.4);
        QCOMPARE(avg.mean().density_bimodality, 0.6);
        QVERIFY(avg.mean().separated);
        avg.add(c);  // its NaN bimodality is skipped, its cluster fraction counts
        QCOMPARE(avg.count(), 3);
        QVERIFY(std::abs(avg.mean().largest_cluster_fraction - 0.3) < 1e-15);
        QCOMPARE(avg.mean().density_bimodality, 0.6);
        QVERIFY(is_separated(0.3, 0.6));
        QVERIFY(!is_separated(0.3, 0.5));
        QVERIFY(!is_separated(0.05, 0.9));
        QVERIFY(!is_separated(0.9, std::numeric_limits<double>::quiet_NaN()));
        QCOMPARE(std::string(phase_label(true)), std::string("separated"));
    }

    void badOptionsThrowConfigErrorNamingThem() {
        const State s = state_of(10.0, {1.0, 1.0, 5.0, 5.0});
        PhaseOptions o;
        o.contact = 0.0;
        try {
            phase_indicators(s, abp(2), o);
            QFAIL("no throw");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.key()), QString("contact"));
        }
        o = PhaseOptions{};
        o.dense_phi = std::numeric_limits<double>::quiet_NaN();
        QVERIFY_THROWS_EXCEPTION(ConfigError, phase_indicators(s, abp(2), o));
    }
};

QTEST_APPLESS_MAIN(TestPhase)
#include "TestPhase.moc"

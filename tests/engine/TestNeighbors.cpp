// k-nearest-neighbour graphs under minimum image, checked against brute force.
#include <QtTest>

#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "entroscope/core/errors.hpp"
#include "entroscope/sim/neighbors.hpp"
#include "entroscope/core/state.hpp"

using namespace entroscope;

namespace {

State make_state(double box, const std::vector<double>& x) {
    State s;
    s.box = box;
    s.x = x;
    const int n = static_cast<int>(x.size() / 2);
    s.image.assign(x.size(), 0);
    s.act.assign(static_cast<std::size_t>(n), 0.0);
    s.types.assign(static_cast<std::size_t>(n), 0);
    return s;
}

double wrap(double v, double L) {
    v = std::fmod(v, L);
    if (v < 0) v += L;
    return v >= L ? 0.0 : v;
}

// Diameter-1 discs at packing fraction 0.5.
double box_for(int n) { return std::sqrt(n * M_PI * 0.25 / 0.5); }

State uniform_state(int n, std::uint64_t seed) {
    const double L = box_for(n);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, L);
    std::vector<double> x(2 * static_cast<std::size_t>(n));
    for (auto& v : x) v = u(rng);
    return make_state(L, x);
}

// Motility-induced phase separation as it looks at Pe ~ 100, phi 0.5: most
// particles in one hexagonally packed slab-free disc (local phi ~ 0.85), the
// rest a dilute gas. The disc straddles a box corner to exercise the wrap.
State mips_state(int n, std::uint64_t seed, double dense_fraction = 0.85) {
    const double L = box_for(n);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::normal_distribution<double> jitter(0.0, 0.05);
    const int dense = static_cast<int>(dense_fraction * n);
    const double a = 0.98;  // lattice spacing
    const double R = std::sqrt(dense * a * a * std::sqrt(3.0) / 2.0 / M_PI);
    std::vector<double> x;
    x.reserve(2 * static_cast<std::size_t>(n));
    const double cx = 0.1 * L, cy = 0.05 * L;
    int placed = 0;
    const int span = static_cast<int>(R / a) + 2;
    for (int row = -span; row <= span && placed < dense; ++row)
        for (int col = -span; col <= span && placed < dense; ++col) {
            const double px = (col + 0.5 * (row & 1)) * a, py = row * a * std::sqrt(3.0) / 2.0;
            if (px * px + py * py > R * R) continue;
            x.push_back(wrap(cx + px + jitter(rng), L));
            x.push_back(wrap(cy + py + jitter(rng), L));
            ++placed;
        }
    while (static_cast<int>(x.size()) < 2 * n) {
        const double px = u(rng) * L, py = u(rng) * L;
        double dx = px - cx, dy = py - cy;
        dx -= L * std::round(dx / L);
        dy -= L * std::round(dy / L);
        if (dx * dx + dy * dy < (R + 1.0) * (R + 1.0)) continue;
        x.push_back(px);
        x.push_back(py);
    }
    return make_state(L, x);
}

// Every particle in a blob of width 1e-3 L: the worst case for a grid.
State blob_state(int n, std::uint64_t seed) {
    const double L = box_for(n);
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> g(0.0, 1e-3 * L);
    std::vector<double> x(2 * static_cast<std::size_t>(n));
    for (auto& v : x) v = wrap(0.5 * L + g(rng), L);
    return make_state(L, x);
}

// O(N^2) reference with the same minimum-image arithmetic (for particle
// `only` alone when it is >= 0).
NeighborGraph brute_force(const State& s, int k, int only = -1) {
    const int n = s.n();
    const double L = s.box;
    NeighborGraph g;
    g.n = n;
    g.k = k;
    g.index.assign(static_cast<std::size_t>(n) * k, -1);
    g.rel.assign(static_cast<std::size_t>(n) * k * 2, 0.0f);
    std::vector<std::pair<double, int>> d;
    for (int i = 0; i < n; ++i) {
        if (only >= 0 && i != only) continue;
        d.clear();
        for (int j = 0; j < n; ++j) {
            if (j == i) continue;
            double dx = s.x[2 * i] - s.x[2 * j], dy = s.x[2 * i + 1] - s.x[2 * j + 1];
            if (dx > 0.5 * L) dx -= L; else if (dx < -0.5 * L) dx += L;
            if (dy > 0.5 * L) dy -= L; else if (dy < -0.5 * L) dy += L;
            d.emplace_back(dx * dx + dy * dy, j);
        }
        std::sort(d.begin(), d.end());
        for (int m = 0; m < k && m < static_cast<int>(d.size()); ++m) {
            const int j = d[static_cast<std::size_t>(m)].second;
            double dx = s.x[2 * i] - s.x[2 * j], dy = s.x[2 * i + 1] - s.x[2 * j + 1];
            if (dx > 0.5 * L) dx -= L; else if (dx < -0.5 * L) dx += L;
            if (dy > 0.5 * L) dy -= L; else if (dy < -0.5 * L) dy += L;
            const std::size_t at = static_cast<std::size_t>(i) * k + m;
            g.index[at] = j;
            g.rel[2 * at] = static_cast<float>(dx);
            g.rel[2 * at + 1] = static_cast<float>(dy);
        }
    }
    return g;
}

bool same_graph(const NeighborGraph& a, const NeighborGraph& b) {
    return a.n == b.n && a.k == b.k && a.index == b.index && a.rel == b.rel;
}

}  // namespace

class TestNeighbors : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void matchesBruteForceOnUniformStates() {
        for (int n : {50, 700, 3000})
            for (int k : {1, 6, 16, 64}) {
                const State s = uniform_state(n, 11 + n + k);
                QVERIFY2(same_graph(k_nearest(s, k), brute_force(s, k)),
                         qPrintable(QString("n=%1 k=%2").arg(n).arg(k)));
            }
    }

    void matchesBruteForceOnClusteredStates() {
        for (int k : {1, 16, 64}) {
            const State m = mips_state(4096, 3);
            QVERIFY2(same_graph(k_nearest(m, k, 2), brute_force(m, k)), qPrintable(QString("mips k=%1").arg(k)));
            const State b = blob_state(1500, 4);
            QVERIFY2(same_graph(k_nearest(b, k), brute_force(b, k)), qPrintable(QString("blob k=%1").arg(k)));
        }
    }

    void fillsMissingSlotsWithMinusOneWhenFewerThanKOthersExist() {
        const double L = 5.0;
        const std::vector<std::vector<double>> configs = {
            {1.0, 1.0}, {0.1, 0.2, 4.9, 4.7}, {0.1, 0.2, 4.9, 4.7, 2.5, 2.5}};
        for (const auto& x : configs)
            for (int k : {1, 2, 3, 5}) {
                const State s = make_state(L, x);
                const NeighborGraph g = k_nearest(s, k);
                QVERIFY(same_graph(g, brute_force(s, k)));
                for (int i = 0; i < s.n(); ++i)
                    for (int m = 0; m < k; ++m) {
                        const std::size_t at = static_cast<std::size_t>(i) * k + m;
                        const bool filled = m < s.n() - 1;
                        QCOMPARE(g.index[at] >= 0, filled);
                        if (!filled) {
                            QCOMPARE(g.rel[2 * at], 0.0f);
                            QCOMPARE(g.rel[2 * at + 1], 0.0f);
                        }
                    }
            }
        const NeighborGraph empty = k_nearest(make_state(L, {}), 4);
        QCOMPARE(empty.n, 0);
        QVERIFY(empty.index.empty());
    }

    void findsNeighboursAcrossTheBoxEdges() {
        // Two particles 0.02 apart through the x edge; the third is far inside.
        const double L = 10.0;
        const State s = make_state(L, {0.01, 5.0, 9.99, 5.0, 5.0, 5.0});
        const NeighborGraph g = k_nearest(s, 1);
        QCOMPARE(g.index[0], 1);
        QCOMPARE(g.index[1], 0);
        QVERIFY(std::fabs(g.rel[0] - 0.02f) < 1e-6f);  // x_0 - x_1 through the edge
        QVERIFY(std::fabs(g.rel[2] + 0.02f) < 1e-6f);
        // Many particles hugging all four edges and corners.
        std::mt19937_64 rng(9);
        std::uniform_real_distribution<double> near(0.0, 0.3), u(0.0, L);
        std::vector<double> x;
        for (int i = 0; i < 400; ++i) {
            const double a = near(rng), b = u(rng);
            switch (i % 4) {
                case 0: x.insert(x.end(), {a, b}); break;
                case 1: x.insert(x.end(), {wrap(L - a, L), b}); break;
                case 2: x.insert(x.end(), {b, a}); break;
                default: x.insert(x.end(), {wrap(L - a, L), wrap(L - near(rng), L)}); break;
            }
        }
        const State e = make_state(L, x);
        for (int k : {1, 8, 40}) QVERIFY(same_graph(k_nearest(e, k), brute_force(e, k)));
    }

    void breaksDistanceTiesByIndex() {
        // A square lattice with exactly representable spacing: four equal nearest distances each.
        std::vector<double> x;
        for (int r = 0; r < 20; ++r)
            for (int c = 0; c < 20; ++c) x.insert(x.end(), {c * 0.5, r * 0.5});
        const State s = make_state(10.0, x);
        const NeighborGraph g = k_nearest(s, 12, 2);
        QVERIFY(same_graph(g, brute_force(s, 12)));
        // Duplicated positions: distance 0 to several others.
        const State d = make_state(4.0, {1, 1, 1, 1, 3, 3, 1, 1, 3, 3});
        const NeighborGraph h = k_nearest(d, 4);
        QCOMPARE(h.index[0], 1);
        QCOMPARE(h.index[1], 3);
        QCOMPARE(h.index[2], 2);
        QCOMPARE(h.index[3], 4);
    }

    void givesTheSameGraphForAnyThreadCount() {
        for (const State& s : {uniform_state(5000, 21), mips_state(4096, 22)}) {
            const NeighborGraph one = k_nearest(s, 16, 1);
            QVERIFY(same_graph(one, k_nearest(s, 16, 2)));
            QVERIFY(same_graph(one, k_nearest(s, 16, 3)));
        }
    }

    void listsNeighboursNearestFirstWithRelativePositionsFromTheStates() {
        const State s = mips_state(4096, 31);
        const int k = 24;
        const NeighborGraph g = k_nearest(s, k);
        const double L = s.box;
        for (int i = 0; i < s.n(); ++i) {
            float prev = -1.0f;
            for (int m = 0; m < k; ++m) {
                const std::size_t at = static_cast<std::size_t>(i) * k + m;
                const int j = g.index[at];
                QVERIFY(j >= 0 && j < s.n() && j != i);
                const float rx = g.rel[2 * at], ry = g.rel[2 * at + 1];
                QVERIFY(std::fabs(rx) <= 0.5 * L + 1e-6 && std::fabs(ry) <= 0.5 * L + 1e-6);
                // x_i - rel is an image of x_j.
                const double ex = s.x[2 * i] - rx - s.x[2 * j], ey = s.x[2 * i + 1] - ry - s.x[2 * j + 1];
                QVERIFY(std::fabs(ex - L * std::round(ex / L)) < 1e-4);
                QVERIFY(std::fabs(ey - L * std::round(ey / L)) < 1e-4);
                const float d2 = rx * rx + ry * ry;
                QVERIFY(d2 >= prev * (1.0f - 1e-6f));
                prev = d2;
            }
        }
    }

    void rejectsFewerThanOneSlot() {
        const State s = uniform_state(10, 1);
        for (int k : {0, -3}) {
            bool thrown = false;
            try {
                k_nearest(s, k);
            } catch (const ConfigError& e) {
                thrown = e.key() == "k_neighbors";
            }
            QVERIFY(thrown);
        }
    }

    void matchesBruteForceOnLargeUniformAndClusteredSystems() {
        // Spot-checked against brute force on a subsample of particles (the
        // speed of k_nearest is a benchmark's business, not a test's).
        for (int n : {4096, 32768})
            for (int k : {16, 64}) {
                const State u = uniform_state(n, 41);
                const State m = mips_state(n, 42);
                for (const State* s : {&u, &m}) {
                    const NeighborGraph g = k_nearest(*s, k, 2);
                    for (int i = 0; i < n; i += n / 97) {
                        const NeighborGraph r = brute_force(*s, k, i);
                        for (int q = 0; q < k; ++q) {
                            const std::size_t at = static_cast<std::size_t>(i) * k + q;
                            QCOMPARE(g.index[at], r.index[at]);
                        }
                    }
                }
            }
        const State b = blob_state(4096, 43);
        const NeighborGraph g = k_nearest(b, 16, 1);
        for (int i = 0; i < 4096; i += 41) {
            const NeighborGraph r = brute_force(b, 16, i);
            for (int q = 0; q < 16; ++q) {
                const std::size_t at = static_cast<std::size_t>(i) * 16 + q;
                QCOMPARE(g.index[at], r.index[at]);
            }
        }
    }
};

QTEST_APPLESS_MAIN(TestNeighbors)
#include "TestNeighbors.moc"

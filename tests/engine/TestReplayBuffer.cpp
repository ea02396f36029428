// The online-training replay buffer: capacity, physics-tag phase-out,
// particle batches, determinism and concurrent use.
#include <QtTest>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "entroscope/core/errors.hpp"
#include "entroscope/learn/replay_buffer.hpp"

using namespace entroscope;

namespace {

std::shared_ptr<const State> snapshot(double time, int n = 10) {
    auto s = std::make_shared<State>();
    s->box = 10.0;
    s->x.assign(2 * static_cast<std::size_t>(n), 1.0);
    s->image.assign(2 * static_cast<std::size_t>(n), 0);
    s->act.assign(2 * static_cast<std::size_t>(n), 0.0);
    s->types.assign(static_cast<std::size_t>(n), 0);
    s->time = time;
    return s;
}

// Times of the snapshots a buffer holds, seen through many samples.
std::set<double> times_seen(const ReplayBuffer& b, int draws = 2000) {
    std::mt19937_64 rng(1);
    std::set<double> t;
    for (int d = 0; d < draws; ++d) t.insert(b.sample(rng(), 1)->time);
    return t;
}

// Fraction of draws that return a stale snapshot.
double stale_fraction(const ReplayBuffer& b, int draws, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    int stale = 0;
    for (int d = 0; d < draws; ++d) stale += b.sample(rng(), 1)->fresh ? 0 : 1;
    return static_cast<double>(stale) / draws;
}

template <class F>
bool throws_config_error(F&& f, const std::string& key) {
    try {
        f();
    } catch (const ConfigError& e) {
        return e.key() == key;
    }
    return false;
}

}  // namespace

class TestReplayBuffer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void givesNothingWhenEmpty() {
        ReplayBuffer b(4);
        QVERIFY(!b.sample(123, 8).has_value());
        b.push(snapshot(0), 0);
        QVERIFY(b.sample(123, 8).has_value());
        b.clear();
        QCOMPARE(b.size(), std::size_t{0});
        QVERIFY(!b.sample(123, 8).has_value());
    }

    void evictsTheOldestSnapshotWhenFull() {
        ReplayBuffer b(3);
        for (int t = 0; t < 5; ++t) QVERIFY(b.push(snapshot(t), 0));
        QCOMPARE(b.size(), std::size_t{3});
        QCOMPARE(b.fresh_size(), std::size_t{3});
        QCOMPARE(times_seen(b), (std::set<double>{2, 3, 4}));
    }

    void samplesFreshSnapshotsUniformly() {
        ReplayBuffer b(4);
        for (int t = 0; t < 4; ++t) b.push(snapshot(t), 7);
        std::mt19937_64 rng(2);
        std::map<double, int> count;
        const int draws = 40000;
        for (int d = 0; d < draws; ++d) {
            const auto s = b.sample(rng(), 1);
            QVERIFY(s->fresh);
            QCOMPARE(s->tag, std::uint64_t{7});
            ++count[s->time];
        }
        const double sd = std::sqrt(draws * 0.25 * 0.75);
        for (const auto& [t, c] : count) QVERIFY2(std::fabs(c - draws / 4.0) < 5 * sd, qPrintable(QString::number(c)));
    }

    void phasesOutStaleSnapshotsAsFreshOnesArrive() {
        ReplayBuffer b(64);
        for (int t = 0; t < 8; ++t) b.push(snapshot(t), 1);
        b.set_current_tag(2);
        QCOMPARE(b.current_tag(), std::uint64_t{2});
        QCOMPARE(b.size(), std::size_t{8});
        QCOMPARE(b.fresh_size(), std::size_t{0});
        // Nothing fresh yet: the old physics is all there is, and training goes on.
        QCOMPARE(b.stale_share(), 1.0);
        QVERIFY(!b.sample(5, 1)->fresh);
        // Each fresh snapshot halves the stale weights: 8 * 2^-f against f.
        const int draws = 20000;
        for (int f = 1; f <= 4; ++f) {
            b.push(snapshot(100 + f), 2);
            const double stale = 8 * std::pow(0.5, f);
            const double expect = stale / (stale + f);
            QVERIFY(std::fabs(b.stale_share() - expect) < 1e-12);
            const double se = std::sqrt(expect * (1 - expect) / draws);
            const double seen = stale_fraction(b, draws, 10 + f);
            QVERIFY2(std::fabs(seen - expect) < 5 * se + 1e-9, qPrintable(QString("f=%1 seen %2 expected %3").arg(f).arg(seen).arg(expect)));
        }
        // Weights below 2^-20 are evicted: after 21 fresh snapshots only fresh ones are left.
        for (int f = 5; f <= 20; ++f) b.push(snapshot(100 + f), 2);
        QCOMPARE(b.size(), std::size_t{8 + 20});
        b.push(snapshot(121), 2);
        QCOMPARE(b.size(), std::size_t{21});
        QCOMPARE(b.fresh_size(), std::size_t{21});
        QCOMPARE(b.stale_share(), 0.0);
    }

    void evictsStaleSnapshotsBeforeFreshOnesWhenFull() {
        ReplayBuffer b(4);
        for (int t = 0; t < 4; ++t) b.push(snapshot(t), 1);
        b.push(snapshot(10), 2);  // a newer tag in a push makes it current
        QCOMPARE(b.current_tag(), std::uint64_t{2});
        QCOMPARE(b.fresh_size(), std::size_t{1});
        QCOMPARE(times_seen(b), (std::set<double>{1, 2, 3, 10}));
        for (int t = 11; t <= 13; ++t) b.push(snapshot(t), 2);
        QCOMPARE(b.fresh_size(), std::size_t{4});
        QCOMPARE(times_seen(b), (std::set<double>{10, 11, 12, 13}));
        b.push(snapshot(14), 2);  // nothing stale left: the oldest fresh one goes
        QCOMPARE(times_seen(b), (std::set<double>{11, 12, 13, 14}));
    }

    void dropsSnapshotsThatAreStaleOnArrival() {
        ReplayBuffer b(4);
        b.set_current_tag(5);
        QVERIFY(!b.push(snapshot(0), 4));
        QCOMPARE(b.size(), std::size_t{0});
        QVERIFY(b.push(snapshot(1), 5));
        QCOMPARE(b.fresh_size(), std::size_t{1});
    }

    void drawsDistinctSortedParticlesUniformly() {
        ReplayBuffer b(2);
        const int n = 1000, batch = 100, draws = 2000;
        b.push(snapshot(0, n), 0);
        std::mt19937_64 rng(3);
        std::vector<int> hits(n, 0);
        for (int d = 0; d < draws; ++d) {
            const auto s = b.sample(rng(), batch);
            QCOMPARE(static_cast<int>(s->particles.size()), batch);
            for (std::size_t m = 0; m < s->particles.size(); ++m) {
                const int i = s->particles[m];
                QVERIFY(i >= 0 && i < n);
                if (m > 0) QVERIFY(s->particles[m - 1] < i);  // ascending, hence distinct
                ++hits[static_cast<std::size_t>(i)];
            }
        }
        // Each particle is in a batch with probability batch / n.
        const double p = static_cast<double>(batch) / n, mean = draws * p, sd = std::sqrt(draws * p * (1 - p));
        int far = 0;
        double total = 0;
        for (int h : hits) {
            far += std::fabs(h - mean) > 4.5 * sd ? 1 : 0;
            total += h;
        }
        QCOMPARE(far, 0);
        QCOMPARE(total, static_cast<double>(draws * batch));
    }

    void givesEveryParticleForABatchOfNOrMore() {
        ReplayBuffer b(1);
        b.push(snapshot(0, 5), 0);
        for (int batch : {5, 6, 1000}) {
            const auto s = b.sample(99, batch);
            QCOMPARE(s->particles, (std::vector<int>{0, 1, 2, 3, 4}));
        }
    }

    void givesTheSameSampleForTheSameRandomBits() {
        ReplayBuffer b(8);
        for (int t = 0; t < 8; ++t) b.push(snapshot(t, 500), t < 4 ? 0 : 1);
        for (std::uint64_t bits : {0ull, 1ull, 0xFFFFFFFFFFFFFFFFull, 0x123456789ABCDEFull}) {
            const auto a = b.sample(bits, 37), c = b.sample(bits, 37);
            QCOMPARE(a->state, c->state);
            QCOMPARE(a->particles, c->particles);
            QCOMPARE(a->tag, c->tag);
        }
        // Different bits give different batches.
        QVERIFY(b.sample(1, 37)->particles != b.sample(2, 37)->particles);
    }

    void rejectsInvalidArguments() {
        QVERIFY(throws_config_error([] { ReplayBuffer b(0); }, "replay_capacity"));
        QVERIFY(throws_config_error([] { ReplayBuffer b(4, 1.0); }, "replay_decay"));
        QVERIFY(throws_config_error([] { ReplayBuffer b(4, 0.0); }, "replay_decay"));
        ReplayBuffer b(4);
        QVERIFY(throws_config_error([&] { b.push(nullptr, 0); }, "snapshot"));
        QVERIFY(throws_config_error([&] { b.push(snapshot(0, 0), 0); }, "snapshot"));
        b.push(snapshot(0), 0);
        QVERIFY(throws_config_error([&] { b.sample(1, 0); }, "batch"));
    }

    void servesAProducerAndAConsumerThreadAtOnce() {
        ReplayBuffer b(16);
        std::atomic<bool> stop{false};
        std::atomic<long> pushes{0}, samples{0}, bad{0};
        std::thread producer([&] {
            std::uint64_t tag = 0;
            for (long p = 0; !stop.load(); ++p) {
                if (p % 50 == 49) {
                    b.set_current_tag(++tag);  // a slider moved
                }
                b.push(snapshot(static_cast<double>(p), 32 + static_cast<int>(p % 64)), tag);
                pushes.fetch_add(1);
            }
        });
        std::thread consumer([&] {
            std::mt19937_64 rng(4);
            while (!stop.load()) {
                const auto s = b.sample(rng(), 16);
                if (!s) continue;
                double sum = 0;
                const int n = s->state->n();
                for (int i : s->particles) {
                    if (i < 0 || i >= n) bad.fetch_add(1);
                    else sum += s->state->x[2 * static_cast<std::size_t>(i)];
                }
                if (sum != static_cast<double>(s->particles.size())) bad.fetch_add(1);
                if (b.fresh_size() > b.size()) bad.fetch_add(1);
                samples.fetch_add(1);
            }
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        stop.store(true);
        producer.join();
        consumer.join();
        QCOMPARE(bad.load(), 0L);
        QVERIFY(pushes.load() > 100);
        QVERIFY(samples.load() > 100);
        QVERIFY(b.size() <= 16);
        qInfo("0.5 s: %ld pushes, %ld samples", pushes.load(), samples.load());
    }
};

QTEST_APPLESS_MAIN(TestReplayBuffer)
#include "TestReplayBuffer.moc"

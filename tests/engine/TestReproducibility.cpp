// Bit-identical trajectories for any thread count; NaN blow-ups roll back.
// Every test runs at every SIMD level (simd_levels.hpp).
#include <QtTest>

#include <cmath>
#include <cstring>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/sim/simulator.hpp"

#include "simd_levels.hpp"

using namespace entroscope;

namespace {
bool identical(const State& a, const State& b) {
    return a.x.size() == b.x.size() && std::memcmp(a.x.data(), b.x.data(), a.x.size() * sizeof(double)) == 0 &&
           std::memcmp(a.act.data(), b.act.data(), a.act.size() * sizeof(double)) == 0 && a.image == b.image &&
           a.step == b.step;
}
}  // namespace

class TestReproducibility : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase_data() { test::add_simd_levels(); }
    void init() {
        QByteArray why;
        if (!test::use_simd_level_of_row(why)) QSKIP(why.constData());
    }

    void sameSeedGivesBitIdenticalStateForAnyThreadCount_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<int>("steps");
        QTest::newRow("abp wca") << R"({"model":"abp","n":2000,"phi":0.6})" << 3000;
        QTest::newRow("aoup softplus, fast") << R"({"n":2000,"phi":0.5,"v0":0.5,"gamma":0.01,"eps":0.01})" << 800;
        QTest::newRow("aoup hard") << R"({"n":1500,"phi":0.7,"v0":0.3,"interaction":"hard"})" << 800;
    }
    void sameSeedGivesBitIdenticalStateForAnyThreadCount() {
        QFETCH(QString, json);
        QFETCH(int, steps);
        const Config cfg = parse_config(json.toStdString());
        Simulator one(cfg, 1), two(cfg, 2), three(cfg, 3);
        // Uneven chunks: the split of a run into calls must not matter either.
        one.run(static_cast<std::uint64_t>(steps));
        two.run(static_cast<std::uint64_t>(steps / 3));
        two.run(static_cast<std::uint64_t>(steps - steps / 3));
        three.run(static_cast<std::uint64_t>(steps));
        QVERIFY(one.neighbor_rebuilds() > 3);  // lists were rebuilt along the way
        QVERIFY(identical(one.state(), two.state()));
        QVERIFY(identical(one.state(), three.state()));
    }

    void differentSeedsGiveDifferentTrajectories() {
        Config a = parse_config(R"({"model":"abp","n":500})");
        Config b = a;
        b.seed = 2;
        Simulator sa(a, 1), sb(b, 1);
        sa.run(100);
        sb.run(100);
        QVERIFY(!identical(sa.state(), sb.state()));
    }

    void packingFractionChangeRescalesAffinely() {
        Simulator sim(parse_config(R"({"n":1000,"phi":0.4})"), 2);
        sim.run(50);
        const State before = sim.state();
        const auto u_before = before.unwrapped();
        sim.set_packing_fraction(0.6);
        const double s = std::sqrt(0.4 / 0.6);
        QVERIFY(std::fabs(sim.state().box - before.box * s) < 1e-12 * before.box);
        QVERIFY(std::fabs(sim.config().phi - 0.6) < 1e-12);
        const auto u_after = sim.state().unwrapped();
        for (std::size_t k = 0; k < u_before.size(); ++k) QVERIFY(std::fabs(u_after[k] - s * u_before[k]) < 1e-9);
        sim.run(50);  // keeps running in the new box
        for (double x : sim.state().x) QVERIFY(x >= 0 && x < sim.state().box);
        QVERIFY_THROWS_EXCEPTION(ConfigError, sim.set_packing_fraction(0.99));
    }

    void v0ChangeTakesEffectAtOnce() {
        Simulator sim(parse_config(R"({"model":"abp","n":200,"phi":0.1})"), 1);
        sim.set_v0(0.0);
        QCOMPARE(sim.config().v0, 0.0);
        QVERIFY_THROWS_EXCEPTION(ConfigError, sim.set_v0(-1.0));
    }

    void blowUpThrowsAndRollsBack() {
        Config cfg = parse_config(R"({"model":"abp","n":2,"box":20,"dt":0.01})");
        State st;
        st.box = cfg.box;
        st.x = {10.0, 10.0, 10.0 + 1e-9, 10.0};  // nearly on top of each other: WCA force ~ 1e100
        st.image = {0, 0, 0, 0};
        st.act = {0.0, 1.0};
        st.types = {0, 0};
        Simulator sim(cfg, st, 1);
        QVERIFY_THROWS_EXCEPTION(NumericalError, sim.run(10));
        QVERIFY(identical(sim.state(), st));
    }
};

QTEST_APPLESS_MAIN(TestReproducibility)
#include "TestReproducibility.moc"

// Every point the window's sliders reach must simulate: phi up to 0.9 and
// Pe from 0 up to the slider's maximum (500), for both models and, for ABP,
// both Péclet conventions, at the time step the config chooses (ABP: from
// the physics, Config::abp_time_step). Each corner runs long enough that
// the old fixed dt = 1e-4 failed at such points (issue 16: ABP at fixed D_r,
// N 2048, phi 0.6 stopped with a non-finite position after 12 k steps at
// Pe 300).
#include <QtTest>

#include <cmath>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/sim/simulator.hpp"

using namespace entroscope;

namespace {

constexpr double kPeMax = 500.0;  // widgets/parameter_panel.hpp kPeMax

bool allFinite(const State& s) {
    for (double v : s.x)
        if (!std::isfinite(v)) return false;
    for (double v : s.act)
        if (!std::isfinite(v)) return false;
    return true;
}

}  // namespace

class TestPlaneCorners : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void corners_data();
    void corners();
    void slidersFollowTheConventionWhileRunning();
};

void TestPlaneCorners::corners_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<double>("pe");
    QTest::addColumn<double>("phi");
    QTest::addColumn<int>("steps");
    const QString abp = R"({"model": "abp", "n": 2048, "phi": %1, "pe": %2, "seed": 3})";
    const QString abpFixedDr = R"({"model": "abp", "n": 2048, "phi": %1, "pe": %2, "D_r": 0.72, "seed": 3})";
    const QString aoup = R"({"model": "aoup", "n": 2048, "phi": %1, "pe": %2, "seed": 3})";
    for (const double phi : {0.05, 0.6, 0.9}) {
        for (const double pe : {0.0, 10.0, kPeMax}) {
            const QByteArray tag = QByteArray::number(phi) + "/" + QByteArray::number(pe);
            QTest::newRow(("abp fixed speed " + tag).constData()) << abp.arg(phi).arg(pe) << pe << phi << 20000;
            QTest::newRow(("abp fixed D_r " + tag).constData()) << abpFixedDr.arg(phi).arg(pe) << pe << phi << 20000;
            QTest::newRow(("aoup " + tag).constData()) << aoup.arg(phi).arg(pe) << pe << phi << 3000;
        }
    }
    // The point of the report, at its own N and phi.
    QTest::newRow("abp fixed D_r 0.6/300") << abpFixedDr.arg(0.6).arg(300.0) << 300.0 << 0.6 << 30000;
}

void TestPlaneCorners::corners() {
    QFETCH(QString, json);
    QFETCH(double, pe);
    QFETCH(double, phi);
    QFETCH(int, steps);
    const Config cfg = parse_config(json.toStdString());
    QCOMPARE(cfg.phi, phi);
    QVERIFY(std::abs(cfg.peclet() - pe) <= 1e-9 * std::max(1.0, pe));
    Simulator sim(cfg, 2);
    try {
        sim.run(static_cast<std::uint64_t>(steps));
    } catch (const NumericalError& e) {
        QFAIL(qPrintable(QStringLiteral("dt = %1: %2").arg(cfg.dt).arg(QString::fromStdString(e.what()))));
    }
    QVERIFY(allFinite(sim.state()));
    QCOMPARE(sim.state().step, static_cast<std::uint64_t>(steps));
}

void TestPlaneCorners::slidersFollowTheConventionWhileRunning() {
    // The activity slider of a running ABP system (SessionCore::set_peclet
    // -> Simulator::set_activity): at fixed speed Pe changes the noise and
    // dt follows it; at fixed D_r it changes v0 and dt follows that.
    Config cfg = parse_config(R"({"model": "abp", "n": 1024, "phi": 0.6, "pe": 100, "seed": 5})");
    QCOMPARE(cfg.pe_convention, PecletConvention::FixedSpeed);
    Simulator sim(cfg, 2);
    sim.run(2000);
    for (const double pe : {kPeMax, 10.0, 0.0, 150.0}) {
        sim.set_activity(sim.config().with_peclet(pe));
        QCOMPARE(sim.config().v0, pe == 0.0 ? 0.0 : 24.0);
        QVERIFY(std::abs(sim.config().peclet() - pe) <= 1e-9 * std::max(1.0, pe));
        QCOMPARE(sim.config().dt, sim.config().abp_time_step());
        sim.run(5000);
        QVERIFY(allFinite(sim.state()));
    }

    Config rot = parse_config(R"({"model": "abp", "n": 1024, "phi": 0.6, "pe": 100, "D_r": 0.72, "seed": 5})");
    QCOMPARE(rot.pe_convention, PecletConvention::FixedRotation);
    Simulator sim2(rot, 2);
    sim2.set_activity(sim2.config().with_peclet(kPeMax));
    QCOMPARE(sim2.config().D_r, 0.72);
    QVERIFY(std::abs(sim2.config().v0 - kPeMax * 0.72 / 3.0) < 1e-12);
    QVERIFY(sim2.config().dt < 1e-4);
    sim2.run(10000);
    QVERIFY(allFinite(sim2.state()));

    // A changed model, n or box is not an activity change.
    Config other = sim2.config();
    other.n = 512;
    QVERIFY_THROWS_EXCEPTION(ConfigError, sim2.set_activity(other));
}

QTEST_APPLESS_MAIN(TestPlaneCorners)
#include "TestPlaneCorners.moc"

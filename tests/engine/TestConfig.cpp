// Config parsing and validation: every bad input names its key.
#include <QtTest>

#include <cmath>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/core/time_scales.hpp"

using namespace entroscope;

class TestConfig : public QObject {
    Q_OBJECT

    static QString error_key(const std::string& json) {
        try {
            parse_config(json);
        } catch (const ConfigError& e) {
            return QString::fromStdString(e.key());
        }
        return QStringLiteral("<no error>");
    }

private Q_SLOTS:
    void emptyObjectGivesThePaperDefaults() {
        const Config c = parse_config("{}");
        QCOMPARE(c.model, ModelKind::Aoup);
        QCOMPARE(c.n, 4096);
        QCOMPARE(c.phi, 0.5);
        QCOMPARE(c.v0, 0.025);
        QCOMPARE(c.gamma, 1e-4);
        QCOMPARE(c.eps, 0.0);
        QCOMPARE(c.beta, 7.5);
        QCOMPARE(c.dt, 0.1);
        QCOMPARE(c.interaction, Interaction::Softplus);
        // phi = N pi r0^2 / L^2
        QVERIFY(std::fabs(c.n * M_PI / (c.box * c.box) - 0.5) < 1e-12);
        QVERIFY(std::fabs(c.peclet() - 125.0) < 1e-9);
    }

    void abpDefaultsFollowTheStenhammarConvention() {
        const Config c = parse_config(R"({"model":"abp"})");
        QCOMPARE(c.interaction, Interaction::Wca);
        QVERIFY(std::fabs(c.peclet() - 100.0) < 1e-9);
        QVERIFY(std::fabs(c.D_r - 3.0 * c.D_t / (c.sigma * c.sigma)) < 1e-12);
        QVERIFY(std::fabs(c.n * M_PI * c.sigma * c.sigma / (4 * c.box * c.box) - 0.5) < 1e-12);
    }

    void pecletGoesThroughTheNoiseAtFixedSpeed() {
        // Stenhammar et al.: v0 = 24 stays, D_r = 3 v0 / (sigma Pe), D_t = D_r sigma^2 / 3.
        const Config c = parse_config(R"({"model":"abp","pe":300})");
        QCOMPARE(c.pe_convention, PecletConvention::FixedSpeed);
        QCOMPARE(c.v0, 24.0);
        QVERIFY(std::fabs(c.D_r - 0.24) < 1e-15);
        QVERIFY(std::fabs(c.D_t - 0.08) < 1e-15);
        QVERIFY(std::fabs(c.peclet() - 300.0) < 1e-9);
        QVERIFY(c.dt_auto);
        QCOMPARE(c.dt, 1e-4);  // the embedded default's dt is unchanged
        QCOMPARE(parse_config(R"({"model":"abp","pe":100})").dt, 1e-4);
        // Pe 0 is passive at the same noise; back to Pe > 0 at the same speed.
        const Config passive = c.with_peclet(0.0);
        QCOMPARE(passive.v0, 0.0);
        QCOMPARE(passive.D_r, c.D_r);
        const Config back = passive.with_peclet(50.0);
        QCOMPARE(back.v0, 24.0);
        QVERIFY(std::fabs(back.peclet() - 50.0) < 1e-9);
        // dt follows the noise (0.01 sigma rms per step) when it was chosen.
        QVERIFY(std::fabs(c.with_peclet(10.0).dt - 1e-4 / (2.0 * 2.4)) < 1e-18);
        QVERIFY_THROWS_EXCEPTION(ConfigError, c.with_peclet(-1.0));
        QVERIFY_THROWS_EXCEPTION(ConfigError, c.with_peclet(std::nan("")));
    }

    void aGivenDtOrNoiseKeepsItsMeaning() {
        // D_r or D_t with pe: v0 from Pe at that D_r, as before; dt from the
        // speed (a faster particle takes smaller steps).
        const Config r = parse_config(R"({"model":"abp","pe":300,"D_r":0.72})");
        QCOMPARE(r.pe_convention, PecletConvention::FixedRotation);
        QVERIFY(std::fabs(r.v0 - 72.0) < 1e-12);
        QVERIFY(std::fabs(r.dt - 1e-4 / 3.0) < 1e-18);
        // A given dt is kept, also when Pe changes.
        const Config d = parse_config(R"({"model":"abp","pe":300,"dt":2e-4})");
        QVERIFY(!d.dt_auto);
        QCOMPARE(d.with_peclet(20.0).dt, 2e-4);
        // The convention survives a round trip through JSON (which writes D_r and D_t).
        const Config back = parse_config(config_to_json(parse_config(R"({"model":"abp","pe":150})")));
        QCOMPARE(back.pe_convention, PecletConvention::FixedSpeed);
        QVERIFY(std::fabs(back.with_peclet(300.0).D_r - 0.24) < 1e-15);
        // Explicit and contradictory.
        QCOMPARE(parse_config(R"({"model":"abp","pe":40,"D_r":2.0,"pe_convention":"fixed_rotation"})").v0, 40.0 * 2.0 / 3.0);
        QVERIFY_THROWS_EXCEPTION(ConfigError, parse_config(R"({"model":"abp","pe":40,"D_r":2.0,"pe_convention":"fixed_speed"})"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, parse_config(R"({"model":"abp","pe_convention":"fast"})"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, parse_config(R"({"model":"aoup","pe_convention":"fixed_speed"})"));
    }

    void pecletSetsV0AtFixedRotationalDiffusion() {
        const Config c = parse_config(R"({"model":"abp","pe":40,"D_r":2.0})");
        QVERIFY(std::fabs(c.v0 - 40.0 * 2.0 / 3.0) < 1e-12);
        QVERIFY(std::fabs(c.D_t - 2.0 / 3.0) < 1e-12);
        const Config a = parse_config(R"({"pe":10,"gamma":0.01})");
        QVERIFY(std::fabs(a.v0 - 10.0 * 2.0 * 0.01) < 1e-12);
    }

    void boxFixesThePackingFraction() {
        const Config c = parse_config(R"({"n":100,"box":50})");
        QVERIFY(std::fabs(c.phi - 100 * M_PI / 2500.0) < 1e-12);
    }

    void softplusCutIsWhereTheForceFallsBelow1e4OfContact() {
        const double rc = softplus_cutoff(1.0, 7.5);
        const double u = 7.5 * (2.0 - rc);
        const double f = std::log1p(std::exp(u)) / 7.5;
        QVERIFY(std::fabs(f / (std::log(2.0) / 7.5) - 1e-4) < 2e-6);
        QVERIFY(rc > 3.2 && rc < 3.35);
    }

    // The spacing `train` gives its snapshots by default: the shortest of
    // the persistence, trap, spring and (with a pair force) transport times.
    void decorrelationTimeIsTheShortestTimeScale() {
        // Single trap, gamma = k = 1: 1 time unit, 500 steps of 0.002.
        const Config trap = parse_config(R"({"n":8,"box":40,"interaction":"none","gamma":1,"trap_stiffness":[1],"dt":0.002})");
        QCOMPARE(decorrelation_time(trap).time, 1.0);
        QCOMPARE(decorrelation_steps(trap), std::uint64_t(500));
        // Three types: the stiffest trap (1/5) sets it; then a stiffer spring (1/(2 * 4)).
        const Config types = parse_config(R"({"n":3,"box":40,"interaction":"none","gamma":1,"types":[0,1,2],
            "trap_stiffness":[0.2,1,5],"dt":0.002})");
        QCOMPARE(decorrelation_steps(types), std::uint64_t(100));
        QVERIFY(decorrelation_time(types).set_by.find("trap") != std::string::npos);
        const Config spring = parse_config(R"({"n":3,"box":40,"interaction":"none","gamma":1,"types":[0,1,2],
            "trap_stiffness":[0.2,1,5],"springs":[[0,1,4]],"dt":0.002})");
        QCOMPARE(decorrelation_time(spring).time, 1.0 / 8.0);
        QVERIFY(decorrelation_time(spring).set_by.find("spring") != std::string::npos);
        // ABP with WCA at Pe 100: one diameter at v0 = 24 (D_r = 0.72, 4 D_t = 0.96 are slower).
        const Config abp = parse_config(R"({"model":"abp","n":64,"phi":0.3,"pe":100,"interaction":"wca","dt":2.5e-5})");
        QVERIFY(std::fabs(decorrelation_time(abp).time - 1.0 / 24.0) < 1e-15);
        QCOMPARE(decorrelation_steps(abp), std::uint64_t(1667));
        QCOMPARE(decorrelation_steps(parse_config(R"({"model":"abp","n":64,"phi":0.5})")), std::uint64_t(417));
        // Without a pair force the transport time does not count: 1/D_r.
        const Config free_abp = parse_config(R"({"model":"abp","n":64,"phi":0.3,"pe":100,"interaction":"none","dt":1e-4})");
        QVERIFY(std::fabs(decorrelation_time(free_abp).time - 1.0 / 0.72) < 1e-12);
        // The AOUP paper state: 2 r0 / v0 = 80, 800 steps of 0.1 (persistence 1e4).
        const Config paper = parse_config("{}");
        QVERIFY(std::fabs(decorrelation_time(paper).time - 80.0) < 1e-9);
        QCOMPARE(decorrelation_steps(paper), std::uint64_t(800));
    }

    void roundTripThroughJsonIsExact() {
        const Config c = parse_config(
            R"({"n":3,"box":40,"interaction":"none","types":[0,1,1],"trap_stiffness":[1,2.5],"springs":[[0,2,0.5]],"seed":99,"eps":0.2})");
        const Config d = parse_config(config_to_json(c));
        QCOMPARE(config_to_json(d), config_to_json(c));
        QCOMPARE(d.springs.size(), std::size_t(1));
        QCOMPARE(d.trap_of(2), 2.5);
        QCOMPARE(d.seed, std::uint64_t(99));
    }

    void badInputNamesTheKey_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("key");
        QTest::newRow("unknown key") << R"({"temperature":1})" << "temperature";
        QTest::newRow("unknown nested key") << R"({"network":{"depth":3}})" << "network.depth";
        QTest::newRow("n zero") << R"({"n":0})" << "n";
        QTest::newRow("n negative") << R"({"n":-5})" << "n";
        QTest::newRow("n not integer") << R"({"n":2.5})" << "n";
        QTest::newRow("n wrong type") << R"({"n":"many"})" << "n";
        QTest::newRow("phi zero") << R"({"phi":0})" << "phi";
        QTest::newRow("phi too large") << R"({"phi":0.96})" << "phi";
        QTest::newRow("phi and box") << R"({"phi":0.3,"box":10})" << "box";
        QTest::newRow("box too small") << R"({"n":100,"box":1})" << "box";
        QTest::newRow("dt zero") << R"({"dt":0})" << "dt";
        QTest::newRow("dt negative") << R"({"dt":-0.1})" << "dt";
        QTest::newRow("negative noise") << R"({"eps":-1})" << "eps";
        QTest::newRow("negative D_t") << R"({"model":"abp","D_t":-1})" << "D_t";
        QTest::newRow("gamma zero") << R"({"gamma":0})" << "gamma";
        QTest::newRow("v0 and pe") << R"({"v0":1,"pe":3})" << "pe";
        QTest::newRow("bad model") << R"({"model":"vicsek"})" << "model";
        QTest::newRow("bad interaction") << R"({"interaction":"coulomb"})" << "interaction";
        QTest::newRow("wca for aoup") << R"({"interaction":"wca"})" << "interaction";
        QTest::newRow("abp key on aoup") << R"({"D_r":1})" << "D_r";
        QTest::newRow("aoup key on abp") << R"({"model":"abp","gamma":1})" << "gamma";
        QTest::newRow("types too short") << R"({"n":3,"types":[0,1]})" << "types";
        QTest::newRow("types too long") << R"({"n":2,"types":[0,1,0]})" << "types";
        QTest::newRow("negative type") << R"({"n":2,"types":[0,-1]})" << "types[1]";
        QTest::newRow("missing stiffness") << R"({"n":2,"types":[0,2],"trap_stiffness":[1,1]})" << "trap_stiffness";
        QTest::newRow("negative stiffness") << R"({"trap_stiffness":[-1]})" << "trap_stiffness[0]";
        QTest::newRow("spring to missing particle") << R"({"n":2,"springs":[[0,5,1.0]]})" << "springs[0][1]";
        QTest::newRow("spring to itself") << R"({"n":2,"springs":[[1,1,1.0]]})" << "springs[0]";
        QTest::newRow("spring malformed") << R"({"n":2,"springs":[[0,1]]})" << "springs[0]";
        QTest::newRow("bad version") << R"({"version":2})" << "version";
        QTest::newRow("bad arch") << R"({"network":{"arch":"mlp"}})" << "network.arch";
        QTest::newRow("heads do not divide width") << R"({"network":{"width":10,"heads":3}})" << "network.heads";
        QTest::newRow("bad prior") << R"({"network":{"prior":"linear"}})" << "network.prior";
        QTest::newRow("bad loss") << R"({"training":{"loss":"mse"}})" << "training.loss";
        QTest::newRow("bad balance") << R"({"training":{"balance":"equal"}})" << "training.balance";
        QTest::newRow("negative seed") << R"({"seed":-1})" << "seed";
    }
    void badInputNamesTheKey() {
        QFETCH(QString, json);
        QFETCH(QString, key);
        QCOMPARE(error_key(json.toStdString()), key);
    }

    // The network options are enums in C++ but keep their JSON spellings,
    // which checkpoint sidecars also carry.
    void networkOptionsKeepTheirJsonSpelling() {
        const Config c = parse_config(
            R"({"network":{"arch":"paper","prior":"multiscale"},"training":{"loss":"ism","balance":"none"}})");
        QVERIFY(c.network.arch == NetworkArch::Paper);
        QVERIFY(c.network.prior == NetworkPrior::Multiscale);
        QVERIFY(c.training.loss == TrainingLoss::Ism);
        QVERIFY(c.training.balance == LossBalance::None);
        const std::string text = config_to_json(c);
        for (const char* spelled : {"\"arch\": \"paper\"", "\"prior\": \"multiscale\"", "\"loss\": \"ism\"", "\"balance\": \"none\""})
            QVERIFY2(text.find(spelled) != std::string::npos, spelled);
        for (NetworkArch a : {NetworkArch::Fast, NetworkArch::Paper}) QVERIFY(parse_network_arch(to_string(a)) == a);
        for (NetworkPrior p : {NetworkPrior::Drift, NetworkPrior::Scaled, NetworkPrior::Multiscale, NetworkPrior::None})
            QVERIFY(parse_network_prior(to_string(p)) == p);
        for (TrainingLoss l : {TrainingLoss::Dsm, TrainingLoss::Ism}) QVERIFY(parse_training_loss(to_string(l)) == l);
        for (LossBalance b : {LossBalance::Blocks, LossBalance::None}) QVERIFY(parse_loss_balance(to_string(b)) == b);
        try {
            parse_network_prior("linear");
            QFAIL("an unknown prior was accepted");
        } catch (const ConfigError& e) {
            QCOMPARE(e.key(), std::string("network.prior"));
            QCOMPARE(std::string(e.what()),
                     std::string("network.prior: must be \"drift\", \"scaled\", \"multiscale\" or \"none\", got \"linear\""));
        }
    }

    void malformedJsonIsAConfigError() {
        QVERIFY_THROWS_EXCEPTION(ConfigError, parse_config("{\"n\": 4"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, parse_config("[1,2]"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, parse_config(""));
    }

    void missingFileIsAnIoError() {
        QVERIFY_THROWS_EXCEPTION(IoError, load_config_file("/nonexistent/entroscope.json"));
    }
};

QTEST_APPLESS_MAIN(TestConfig)
#include "TestConfig.moc"

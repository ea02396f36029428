// entroscope-cli contracts: exact JSON names, exit codes, no partial output.
#include <QtTest>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>

#include <cmath>

#include "entroscope/sim/simd.hpp"

class TestCli : public QObject {
    Q_OBJECT

    struct Result {
        int code;
        QByteArray out, err;
    };
    static Result cli(const QStringList& args, const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment()) {
        QProcess p;
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(ENTROSCOPE_CLI), args);
        p.waitForFinished(300000);
        return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(), p.readAllStandardError()};
    }
    QString write(const QString& name, const QByteArray& text) {
        const QString path = dir.filePath(name);
        QFile f(path);
        f.open(QIODevice::WriteOnly);
        f.write(text);
        return path;
    }
    QTemporaryDir dir;

private Q_SLOTS:
    void oracleReportsExactTrapAnswers() {
        const auto cfg = write("trap.json", R"({"n":1,"box":50,"interaction":"none","v0":1,"gamma":1,"eps":0.1,"trap_stiffness":[2]})");
        const auto r = cli({"oracle", "--config", cfg, "--json"});
        QCOMPARE(r.code, 0);
        const auto o = QJsonDocument::fromJson(r.out).object();
        const double A = 2, g = 1, v0 = 1, e = 0.1;
        QVERIFY(std::fabs(o["epr_total"].toDouble() - 2 * g * v0 * v0 / (e * (A + g))) < 1e-9);
        QVERIFY(std::fabs(o["epr_active"].toDouble() - 2 * g * A * v0 * v0 / (e * (A + g) * (A + g) + g * v0 * v0)) < 1e-9);
        QVERIFY(std::fabs(o["covariance_xx"].toDouble() - (e / A + v0 * v0 / (A * (A + g)))) < 1e-9);
        QCOMPARE(o["per_particle"].toObject()["active"].toArray().size(), 1);
        QCOMPARE(o["per_particle"].toObject()["x"].toArray().size(), 1);
    }

    void oracleWithoutPositionalNoiseReportsNullWithANote() {
        const auto cfg = write("trap0.json", R"({"n":1,"box":50,"interaction":"none","v0":1,"gamma":1,"eps":0,"trap_stiffness":[3]})");
        const auto r = cli({"oracle", "--config", cfg, "--json"});
        QCOMPARE(r.code, 0);
        const auto o = QJsonDocument::fromJson(r.out).object();
        QVERIFY(o["epr_total"].isNull());
        QVERIFY(o["epr_x"].isNull());
        QVERIFY(std::fabs(o["epr_active"].toDouble() - 6.0) < 1e-9);
        QVERIFY(o["note"].toString().contains("infinite"));
    }

    // Without positional noise the chain's exact values per particle and
    // per type are there too (the SDE's active part is d A per particle; the
    // Euler chain's is below it, by O(dt): 1.2 % and 3.0 % here).
    void oracleReportsTheChainPerParticleAndPerType() {
        const auto cfg = write("types.json", R"({"n":4,"box":50,"interaction":"none","v0":1,"gamma":1,"eps":0,"dt":0.01,
            "types":[0,1,1,0],"trap_stiffness":[0.5,4]})");
        const auto r = cli({"oracle", "--config", cfg, "--json"});
        QCOMPARE(r.code, 0);
        const auto o = QJsonDocument::fromJson(r.out).object();
        const auto chain = o["per_particle"].toObject()["active_discrete"].toArray();
        QCOMPARE(chain.size(), 4);
        const auto types = o["per_type"].toArray();
        QCOMPARE(types.size(), 2);
        for (int t = 0; t < 2; ++t) {
            const auto e = types[t].toObject();
            const double A = t == 0 ? 0.5 : 4.0;
            QCOMPARE(e["type"].toInt(), t);
            QCOMPARE(e["particles"].toInt(), 2);
            QVERIFY(std::fabs(e["active"].toDouble() - 2 * A) < 1e-9);
            const double d = e["active_discrete"].toDouble();
            QVERIFY2(d < 2 * A && d > 2 * A * 0.95, qPrintable(QString::number(d)));
            QVERIFY(std::fabs(d - chain[t == 0 ? 0 : 1].toDouble()) < 1e-12);
            QVERIFY(e["x"].isNull() && e["x_discrete"].isNull());
        }
    }

    void oracleRefusesANonLinearSystem() {
        const auto cfg = write("mips.json", R"({"n":100})");
        const auto r = cli({"oracle", "--config", cfg, "--json"});
        QCOMPARE(r.code, 2);
        QVERIFY(r.out.isEmpty());
        QVERIFY(r.err.contains("linear"));
    }

    void simulatePrintsTheContractKeys() {
        const auto cfg = write("sim.json", R"({"n":200,"box":100,"interaction":"none","v0":1,"gamma":1,"eps":0.1,"trap_stiffness":[1],"dt":0.01})");
        const auto out = dir.filePath("traj.h5");
        const auto r = cli({"simulate", "--config", cfg, "--steps", "500", "--burn-in", "100", "--msd", "--out", out, "--json"});
        QCOMPARE(r.code, 0);
        const auto o = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(o["steps"].toInt(), 500);
        QVERIFY(o["particle_steps_per_s"].toDouble() > 0);
        QVERIFY(o["mean_sq_position"].toDouble() > 0);
        QVERIFY(o["msd"].toObject()["t"].toArray().size() > 10);
        QCOMPARE(o["msd"].toObject()["t"].toArray().size(), o["msd"].toObject()["value"].toArray().size());
        QVERIFY(QFile::exists(out));
    }

    void benchPrintsRateSizeAndThreads() {
        const auto cfg = write("abp.json", R"({"model":"abp","n":500})");
        const auto r = cli({"bench", "--config", cfg, "--steps", "50", "--threads", "2", "--json"});
        QCOMPARE(r.code, 0);
        const auto o = QJsonDocument::fromJson(r.out).object();
        QVERIFY(o["particle_steps_per_s"].toDouble() > 0);
        QCOMPARE(o["n"].toInt(), 500);
        QCOMPARE(o["threads"].toInt(), 2);
    }

    void benchReportsTheSimdLevelThatEntroscopeSimdChooses() {
        using entroscope::SimdLevel;
        const auto cfg = write("abp-simd.json", R"({"model":"abp","n":300})");
        const QStringList args = {"bench", "--config", cfg, "--steps", "20", "--threads", "1", "--json"};
        const auto with = [](const QString& value) {
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            if (value.isNull()) env.remove("ENTROSCOPE_SIMD");
            else env.insert("ENTROSCOPE_SIMD", value);
            return env;
        };
        const bool avx512 = entroscope::simd_supported(SimdLevel::Avx512);
        // Unset: the best level this machine has.
        auto r = cli(args, with(QString()));
        QCOMPARE(r.code, 0);
        QCOMPARE(QJsonDocument::fromJson(r.out).object()["simd"].toString(), QString(avx512 ? "avx512" : "portable"));
        r = cli(args, with("portable"));
        QCOMPARE(r.code, 0);
        QCOMPARE(QJsonDocument::fromJson(r.out).object()["simd"].toString(), QString("portable"));
        r = cli(args, with("avx512"));
        if (avx512) {
            QCOMPARE(r.code, 0);
            QCOMPARE(QJsonDocument::fromJson(r.out).object()["simd"].toString(), QString("avx512"));
        } else {
            // Refused, not quietly run on the portable kernels.
            QCOMPARE(r.code, 2);
            QVERIFY(r.out.isEmpty());
            QVERIFY2(r.err.contains("ENTROSCOPE_SIMD") && r.err.contains("avx512"), r.err.constData());
        }
        r = cli(args, with("sse9"));
        QCOMPARE(r.code, 2);
        QVERIFY(r.out.isEmpty());
        QVERIFY2(r.err.contains("ENTROSCOPE_SIMD") && r.err.contains("sse9"), r.err.constData());
    }

    void badInputExitsTwoWithOneLineNamingTheKeyAndWritesNothing_data() {
        QTest::addColumn<QByteArray>("config");
        QTest::addColumn<QStringList>("extra");
        QTest::addColumn<QString>("key");
        QTest::newRow("n <= 0") << QByteArray(R"({"n":0})") << QStringList{} << "n";
        QTest::newRow("phi out of range") << QByteArray(R"({"phi":1.5})") << QStringList{} << "phi";
        QTest::newRow("dt <= 0") << QByteArray(R"({"dt":0})") << QStringList{} << "dt";
        QTest::newRow("negative noise") << QByteArray(R"({"eps":-0.1})") << QStringList{} << "eps";
        QTest::newRow("spring to a missing particle") << QByteArray(R"({"n":4,"springs":[[0,9,1]]})") << QStringList{} << "springs[0][1]";
        QTest::newRow("types too short") << QByteArray(R"({"n":4,"types":[0,0]})") << QStringList{} << "types";
        QTest::newRow("unknown key") << QByteArray(R"({"n":4,"colour":"red"})") << QStringList{} << "colour";
        QTest::newRow("wrong type") << QByteArray(R"({"n":"4"})") << QStringList{} << "n";
        QTest::newRow("malformed json") << QByteArray(R"({"n":4,)") << QStringList{} << "--config";
        QTest::newRow("bad flag value") << QByteArray(R"({"n":4})") << QStringList{"--threads", "zero"} << "--threads";
        QTest::newRow("unknown flag") << QByteArray(R"({"n":4})") << QStringList{"--colour", "red"} << "--colour";
    }
    void badInputExitsTwoWithOneLineNamingTheKeyAndWritesNothing() {
        QFETCH(QByteArray, config);
        QFETCH(QStringList, extra);
        QFETCH(QString, key);
        const auto cfg = write("bad.json", config);
        const auto out = dir.filePath("bad.h5");
        QStringList args{"simulate", "--config", cfg, "--steps", "10", "--out", out, "--json"};
        args += extra;
        const auto r = cli(args);
        QCOMPARE(r.code, 2);
        QVERIFY(r.out.isEmpty());
        const QString err = QString::fromUtf8(r.err).trimmed();
        QCOMPARE(err.count('\n'), 0);
        QVERIFY2(err.contains(key), qPrintable(err));
        QVERIFY(!QFile::exists(out));
        const auto leftovers = QDir(dir.path()).entryList({"bad.h5*"}, QDir::Files);
        QVERIFY2(leftovers.isEmpty(), qPrintable(leftovers.join(",")));
    }

    void trainThenEstimateReportsTheContractKeysAndTheExactIdentity() {
        // eps = 0: the network-free identity (active EPR = -E[sum div_x b_x])
        // must equal the Lyapunov answer exactly for a trap (d A per particle).
        const auto cfg = write("trap_id.json", R"({"n":64,"box":200,"interaction":"none","v0":1,"gamma":1,"eps":0,"dt":0.01,
            "trap_stiffness":[1.5],"network":{"width":8,"layers":1,"heads":2,"k_neighbors":2},"training":{"batch":64}})");
        const auto model = dir.filePath("trap_id.pt");
        const auto t = cli({"train", "--config", cfg, "--steps", "5", "--out", model, "--json"});
        QCOMPARE(t.code, 0);
        const auto to = QJsonDocument::fromJson(t.out).object();
        for (const char* key : {"steps", "final_loss", "seconds", "samples_per_s"}) QVERIFY2(to.contains(key), key);
        // Snapshots one decorrelation time apart by default: 1 / 1.5 over dt 0.01.
        QCOMPARE(to["sample_every"].toInt(), 67);
        QVERIFY(QFile::exists(model) && QFile::exists(model + ".json"));
        const auto e = cli({"estimate", "--config", cfg, "--model", model, "--samples", "4", "--burn-in", "100",
                            "--sample-every", "50", "--per-particle", "--json"});
        QCOMPARE(e.code, 0);
        const auto o = QJsonDocument::fromJson(e.out).object();
        for (const char* key : {"epr_active", "estimator_gap", "diagnostics", "per_particle", "exact"}) QVERIFY2(o.contains(key), key);
        for (const char* key : {"epr_active", "estimator_gap"})
            for (const char* part : {"mean", "se"}) QVERIFY2(o[key].toObject()[part].isDouble(), key);
        const auto diag = o["diagnostics"].toObject();
        // v.s is a diagnostic of the position score: none is learned at eps = 0.
        for (const char* key : {"v_dot_s", "div_v", "ibp"}) QVERIFY2(diag.contains(key), key);
        for (const char* key : {"div_v", "ibp"}) QVERIFY2(diag[key].toObject()["se"].isDouble(), key);
        QVERIFY(o["epr_x"].isNull());
        QVERIFY(o["epr_total"].isNull());
        QCOMPARE(o["per_particle"].toObject()["active"].toArray().size(), 64);
        const double exact = o["exact"].toObject()["epr_active"].toDouble();
        QVERIFY(std::fabs(exact - 64 * 2 * 1.5) < 1e-9);
        QVERIFY(std::fabs(o["epr_active_identity"].toObject()["mean"].toDouble() - exact) < 1e-9 * exact);
        // No positional noise: the network-free total is infinite, so no number, and the note says why.
        QVERIFY(o.contains("epr_total_network_free") && o["epr_total_network_free"].isNull());
        QVERIFY2(o["epr_total_network_free_note"].toString().contains("eps = 0"), qPrintable(o["epr_total_network_free_note"].toString()));
        // A checkpoint for another model kind is refused with exit 2.
        const auto abp = write("abp_id.json", R"({"model":"abp","n":64,"phi":0.3})");
        QCOMPARE(cli({"estimate", "--config", abp, "--model", model, "--samples", "1"}).code, 2);
    }

    // eps > 0: the network-free total E[sum b.D^-1 b + div b] is reported
    // with its standard error and reaches the simulated chain's exact value
    // (the oracle's chain EPR less its E[div v]) within 4 SE; no active
    // identity without it.
    void estimateReportsTheNetworkFreeTotalWithPositionalNoise() {
        const auto cfg = write("trap_nf.json", R"({"n":64,"box":200,"interaction":"none","v0":1,"gamma":1,"eps":0.5,"dt":0.01,
            "trap_stiffness":[1.5],"seed":5,"network":{"width":8,"layers":1,"heads":2,"k_neighbors":2},"training":{"batch":64}})");
        const auto model = dir.filePath("trap_nf.pt");
        QCOMPARE(cli({"train", "--config", cfg, "--steps", "5", "--out", model, "--json"}).code, 0);
        // Snapshots 3 relaxation times apart (1/min(A, gamma) = 1): independent.
        const auto e = cli({"estimate", "--config", cfg, "--model", model, "--samples", "96", "--burn-in", "300",
                            "--sample-every", "300", "--batches", "0", "--json"});
        QCOMPARE(e.code, 0);
        const auto o = QJsonDocument::fromJson(e.out).object();
        const auto nf = o["epr_total_network_free"].toObject();
        QVERIFY2(nf["mean"].isDouble() && nf["se"].isDouble(), e.out.constData());
        const double mean = nf["mean"].toDouble(), se = nf["se"].toDouble();
        QVERIFY(std::isfinite(mean) && std::isfinite(se) && se > 0);
        QVERIFY(o["epr_total_network_free_note"].toString().contains("stationary"));
        QVERIFY(!o.contains("epr_active_identity"));
        const auto ex = o["exact"].toObject();
        const double chain = ex["epr_active_discrete"].toDouble() + ex["epr_x_discrete"].toDouble() - ex["div_v_discrete"].toDouble();
        qInfo("epr_total_network_free %.6g ± %.3g | chain exact %.6g | SDE exact %.6g", mean, se, chain, ex["epr_total"].toDouble());
        QVERIFY2(std::fabs(mean - chain) < 4 * se, qPrintable(QString("%1 ± %2 vs %3").arg(mean).arg(se).arg(chain)));
    }

    // --max-seconds stops a long training and still writes the checkpoint;
    // a bad device or time limit is exit 2 naming the flag, nothing written.
    void trainStopsAtItsTimeLimitAndRefusesBadDeviceOrLimit() {
        const auto cfg = write("limit.json", R"({"n":64,"phi":0.3,"network":{"width":8,"layers":1,"heads":2,"k_neighbors":4},"training":{"batch":64}})");
        const auto model = dir.filePath("limit.pt");
        const auto t = cli({"train", "--config", cfg, "--steps", "1000000", "--max-seconds", "1", "--out", model, "--json"});
        QCOMPARE(t.code, 0);
        const auto o = QJsonDocument::fromJson(t.out).object();
        QCOMPARE(o["steps_planned"].toDouble(), 1e6);
        QVERIFY(o["steps"].toDouble() >= 1 && o["steps"].toDouble() < 1e6);
        QCOMPARE(o["total_steps"].toDouble(), o["steps"].toDouble());
        QCOMPARE(o["device"].toString(), QString("cpu"));
        QVERIFY(QFile::exists(model) && QFile::exists(model + ".json"));
        const auto none = dir.filePath("none.pt");
        // --tf32 without --device cuda: TensorFloat-32 is a GPU format.
        for (const QStringList& bad : {QStringList{"--device", "gpu"}, QStringList{"--max-seconds", "0"}, QStringList{"--tf32"}}) {
            const auto r = cli(QStringList{"train", "--config", cfg, "--steps", "5", "--out", none} + bad);
            QCOMPARE(r.code, 2);
            QVERIFY2(QString::fromUtf8(r.err).contains(bad[0].mid(2)), r.err.constData());
            QVERIFY(!QFile::exists(none));
        }
    }

    // A resumed run draws new data (trajectory and batches from a seed of
    // the config's seed and the checkpoint's step), the same for the same inputs.
    void resumedTrainingDrawsNewDataDeterministically() {
        const auto cfg = write("resume.json", R"({"n":64,"phi":0.3,"seed":7,"network":{"width":8,"layers":1,"heads":2,"k_neighbors":4},"training":{"batch":32}})");
        const auto first = dir.filePath("first.pt");
        const auto t = cli({"train", "--config", cfg, "--steps", "4", "--threads", "1", "--out", first, "--json"});
        QCOMPARE(t.code, 0);
        QCOMPARE(QJsonDocument::fromJson(t.out).object()["data_seed"].toDouble(), 7.0);
        QJsonObject r[2];
        for (int k = 0; k < 2; ++k) {
            const auto res = cli({"train", "--config", cfg, "--resume", first, "--steps", "4", "--threads", "1", "--out",
                                  dir.filePath(QString("second%1.pt").arg(k)), "--json"});
            QCOMPARE(res.code, 0);
            r[k] = QJsonDocument::fromJson(res.out).object();
        }
        QVERIFY(r[0]["data_seed"].toDouble() != 7.0);
        QCOMPARE(r[0]["data_seed"].toDouble(), r[1]["data_seed"].toDouble());
        QCOMPARE(r[0]["final_loss"].toDouble(), r[1]["final_loss"].toDouble());
        QCOMPARE(r[0]["total_steps"].toDouble(), 8.0);
    }

    // train --trajectory: the frames of a stored H5MD trajectory instead of
    // the simulator; physics from the file, network and training from --config.
    void trainsOfflineFromAStoredTrajectory() {
        const auto sys = write("traj_sys.json", R"({"n":64,"phi":0.3,"seed":3})");
        const auto traj = dir.filePath("train.h5");
        QCOMPARE(cli({"simulate", "--config", sys, "--steps", "400", "--burn-in", "200", "--frames", "8", "--out", traj}).code, 0);
        const auto net = write("traj_net.json", R"({"network":{"width":8,"layers":1,"heads":2,"k_neighbors":4},"training":{"batch":32}})");
        const auto model = dir.filePath("offline.pt");
        const auto t = cli({"train", "--trajectory", traj, "--config", net, "--steps", "6", "--threads", "1", "--out", model, "--json"});
        QCOMPARE(t.code, 0);
        const auto o = QJsonDocument::fromJson(t.out).object();
        QCOMPARE(o["steps"].toDouble(), 6.0);
        QCOMPARE(o["trajectory"].toObject()["frames"].toDouble(), 9.0);  // the first frame and one per 50 steps
        QVERIFY(std::isfinite(o["final_loss"].toDouble()));
        // The checkpoint carries the trajectory's physics and the file's network.
        const auto side = QJsonDocument::fromJson([&] {
                              QFile f(model + ".json");
                              f.open(QIODevice::ReadOnly);
                              return f.readAll();
                          }())
                              .object()["config"]
                              .toObject();
        QCOMPARE(side["n"].toInt(), 64);
        QCOMPARE(side["seed"].toInt(), 3);
        QCOMPARE(side["network"].toObject()["width"].toInt(), 8);
        // The physics cannot be overridden; a missing or truncated file is exit 2 naming it; nothing written.
        const auto none = dir.filePath("none.pt");
        QFile::copy(traj, dir.filePath("cut.h5"));
        QFile cut(dir.filePath("cut.h5"));
        cut.resize(cut.size() / 2);
        for (const QStringList& bad : {QStringList{"--trajectory", traj, "--phi", "0.4"}, QStringList{"--trajectory", traj, "--burn-in", "10"},
                                       QStringList{"--trajectory", dir.filePath("missing.h5")}, QStringList{"--trajectory", dir.filePath("cut.h5")}}) {
            const auto r = cli(QStringList{"train", "--steps", "2", "--out", none} + bad);
            QCOMPARE(r.code, 2);
            const QString err = QString::fromUtf8(r.err).trimmed();
            QVERIFY2(err.contains(bad.size() > 2 ? bad[2] : bad[1]), qPrintable(err));
            QVERIFY(!QFile::exists(none));
        }
    }

    // Non-finite weights (an absurd learning rate) stop training with exit 1
    // and one line that says so; the weights of the last good step are saved.
    void numericalFailureStopsTrainingAndSavesTheLastGoodWeights() {
        const auto cfg = write("nan.json", R"({"n":64,"phi":0.3,"network":{"width":8,"layers":1,"heads":2,"k_neighbors":4},"training":{"batch":32,"lr":1e39,"warmup":0}})");
        const auto model = dir.filePath("nan.pt");
        const auto t = cli({"train", "--config", cfg, "--steps", "5", "--out", model, "--json"});
        QCOMPARE(t.code, 1);
        QVERIFY(t.out.isEmpty());
        const QString err = QString::fromUtf8(t.err).trimmed().split('\n').last();
        QVERIFY2(err.contains("non-finite weights") && err.contains("saved to") && !err.contains("internal error"), qPrintable(err));
        QVERIFY(QFile::exists(model) && QFile::exists(model + ".json"));
        const auto e = cli({"estimate", "--config", cfg, "--model", model, "--samples", "1", "--json"});
        QCOMPARE(e.code, 0);
        QVERIFY(std::isfinite(QJsonDocument::fromJson(e.out).object()["epr_active"].toObject()["mean"].toDouble()));
    }

    // The network benchmarks print their rate under both names.
    void networkBenchPrintsParticlesPerSecond() {
        const auto cfg = write("nb.json", R"({"n":128,"phi":0.3,"network":{"width":8,"layers":1,"heads":2,"k_neighbors":4},"training":{"batch":64}})");
        for (const char* what : {"infer", "train"}) {
            const auto r = cli({"bench", "--config", cfg, "--what", what, "--steps", "2", "--threads", "1", "--json"});
            QCOMPARE(r.code, 0);
            const auto o = QJsonDocument::fromJson(r.out).object();
            QCOMPARE(o["what"].toString(), QString(what));
            QVERIFY(o["particles_per_s"].toDouble() > 0);
            QCOMPARE(o["samples_per_s"].toDouble(), o["particles_per_s"].toDouble());
            QVERIFY(o["parameter_count"].toDouble() > 0);
        }
    }

    // bench --what accuracy on an interacting system: the learned total held
    // snapshot by snapshot against the network-free total plus the time
    // step's share; it needs its burn-in and evaluation spacing, and noise on
    // every variable.
    void accuracyBenchOnAnInteractingSystem() {
        const auto cfg = write("acc_abp.json", R"({"model":"abp","n":64,"phi":0.3,"pe":100,"interaction":"wca","seed":3,"dt":2.5e-5,
            "network":{"width":8,"layers":1,"heads":2,"k_neighbors":8},"training":{"batch":64}})");
        const QStringList base = {"bench", "--what", "accuracy", "--config", cfg, "--steps", "20", "--check-every", "10",
                                  "--samples", "20", "--threads", "1", "--json"};
        const auto r = cli(base + QStringList{"--burn-in", "2000", "--eval-every", "200"});
        QVERIFY2(r.code == 0, r.err.constData());
        const auto o = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(o["reference"].toString(), QString("network_free_plus_time_step_share"));
        const auto checks = o["checks"].toArray();
        QCOMPARE(checks.size(), 2);
        for (const auto& cv : checks) {
            const auto c = cv.toObject();
            const auto m = [&](const char* k) { return c[k].toObject()["mean"].toDouble(); };
            QVERIFY(m("network_free") > 0);
            QVERIFY(m("time_step_share") < 0);  // -(dt/2) E[tr J^2]
            QVERIFY(std::fabs(m("reference") - (m("network_free") + m("time_step_share"))) <= 1e-9 * m("network_free"));
            QVERIFY(std::fabs(m("difference") - (m("total") - m("reference"))) <= 1e-9 * m("network_free"));
            QVERIFY(std::fabs(c["error_total"].toDouble() - m("difference") / m("reference")) <= 1e-12);
            QVERIFY(c["difference"].toObject()["se"].toDouble() > 0);
        }
        QCOMPARE(checks[1].toObject()["steps"].toInt(), 20);
        const auto no_burn = cli(base + QStringList{"--eval-every", "200"});
        QCOMPARE(no_burn.code, 2);
        QVERIFY(no_burn.err.contains("--burn-in"));
        const auto no_noise = write("acc_eps0.json", R"({"model":"aoup","n":64,"phi":0.3,"interaction":"softplus","eps":0})");
        const auto r0 = cli({"bench", "--what", "accuracy", "--config", no_noise, "--burn-in", "10", "--eval-every", "10", "--samples", "20"});
        QCOMPARE(r0.code, 2);
        QVERIFY(r0.err.contains("noise on every variable"));
        const auto lin = cli({"bench", "--what", "accuracy", "--burn-in", "10", "--steps", "1"});
        QCOMPARE(lin.code, 2);
        QVERIFY(lin.err.contains("interacting systems only"));
    }

    // --- sweep -------------------------------------------------------------
    static QJsonArray sweepPoints(const QByteArray& out) { return QJsonDocument::fromJson(out).object()["points"].toArray(); }
    static QStringList tinySweep(const QString& cfg) {
        return {"sweep", "--config", cfg, "--burn-in", "200", "--samples", "3", "--sample-every", "50", "--json"};
    }

    void sweepWritesOneRowPerGridPointInGridOrderWithTheContractKeys() {
        // The shipped network transferred (the default) to a tiny ABP system.
        const auto cfg = write("sweep.json", R"({"model":"abp","n":64,"phi":0.3,"interaction":"wca","seed":2})");
        const auto table = dir.filePath("grid.csv");
        auto args = tinySweep(cfg);
        args += {"--phi", "0.2,0.4", "--pe", "10:50:2", "--out", table};
        const auto r = cli(args);
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonArray pts = sweepPoints(r.out);
        QCOMPARE(pts.size(), 4);
        const double phis[] = {0.2, 0.2, 0.4, 0.4}, pes[] = {10, 50, 10, 50};
        for (int k = 0; k < 4; ++k) {
            const QJsonObject p = pts[k].toObject();
            QCOMPARE(p["index"].toInt(), k);
            QCOMPARE(p["phi"].toDouble(), phis[k]);
            QCOMPARE(p["pe"].toDouble(), pes[k]);
            for (const char* key : {"epr_active", "epr_active_div", "epr_total_network_free"}) {
                const QJsonObject e = p[key].toObject();
                QVERIFY2(std::isfinite(e["mean"].toDouble()) && e["se"].toDouble() >= 0 && e.contains("mean"), key);
            }
            // ABP has positional noise: no network-free active part, a finite total.
            QVERIFY(p.contains("epr_active_network_free") && p["epr_active_network_free"].isNull());
            QVERIFY(p["epr_total"].isObject());
            const double c = p["largest_cluster_fraction"].toDouble(-1);
            QVERIFY(c >= 0 && c <= 1);
            QVERIFY(p.contains("density_bimodality"));
            QVERIFY(p["phase"].toString() == "homogeneous" || p["phase"].toString() == "separated");
            QCOMPARE(p["states"].toInt(), 3);
            QCOMPARE(p["evaluations"].toInt(), 3);
            QVERIFY(p["network_step"].toInt() > 0);  // the shipped network's own steps
            QVERIFY(p["note"].toString().contains("transferred"));
        }
        // The CSV holds the same rows and numbers.
        QFile f(table);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(f.readAll()).trimmed().split('\n');
        QCOMPARE(lines.size(), 5);
        const QStringList head = lines[0].split(',');
        for (const char* key : {"phi", "pe", "phase", "largest_cluster_fraction", "density_bimodality", "epr_active_mean", "epr_active_se",
                                "epr_active_network_free_mean", "epr_total_network_free_mean"})
            QVERIFY2(head.contains(key), key);
        for (int k = 0; k < 4; ++k) {
            const QStringList cells = lines[k + 1].split(',');
            const QJsonObject p = pts[k].toObject();
            QCOMPARE(cells[head.indexOf("phi")].toDouble(), phis[k]);
            QCOMPARE(cells[head.indexOf("pe")].toDouble(), pes[k]);
            QCOMPARE(cells[head.indexOf("phase")], p["phase"].toString());
            QVERIFY(std::fabs(cells[head.indexOf("epr_active_mean")].toDouble() - p["epr_active"].toObject()["mean"].toDouble()) <=
                    1e-8 * std::fabs(p["epr_active"].toObject()["mean"].toDouble()));
            QVERIFY(cells[head.indexOf("epr_active_network_free_mean")].isEmpty());
        }
    }

    void sweepResumeSkipsTheFinishedPoints() {
        const auto cfg = write("resume.json", R"({"model":"abp","n":64,"phi":0.3,"interaction":"wca"})");
        const auto table = dir.filePath("resume.jsonl");
        auto args = tinySweep(cfg);
        args += {"--model", "none", "--pe", "20", "--out", table};
        auto r = cli(QStringList(args) << "--phi" << "0.2,0.4");
        QVERIFY2(r.code == 0, r.err.constData());
        QCOMPARE(sweepPoints(r.out).size(), 2);
        // Mark the finished rows: a skipped point keeps its row as it was.
        QFile f(table);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QByteArray text = f.readAll();
        f.close();
        QCOMPARE(text.count('\n'), 2);
        text.replace("phase indicators only", "MARK");
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(text);
        f.close();
        r = cli(QStringList(args) << "--phi" << "0.2,0.4,0.6" << "--resume");
        QVERIFY2(r.code == 0, r.err.constData());
        QVERIFY2(r.err.contains("2 already in the table, 1 to run"), r.err.constData());
        const QJsonArray pts = sweepPoints(r.out);
        QCOMPARE(pts.size(), 3);
        QCOMPARE(pts[0].toObject()["note"].toString(), QString("no network: MARK"));
        QCOMPARE(pts[1].toObject()["note"].toString(), QString("no network: MARK"));
        QCOMPARE(pts[2].toObject()["phi"].toDouble(), 0.6);
        QVERIFY(!pts[2].toObject()["note"].toString().contains("MARK"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll().count('\n'), 3);
        f.close();
        // Nothing left to run: the table stays, the rows come back.
        r = cli(QStringList(args) << "--phi" << "0.2,0.4,0.6");
        QCOMPARE(r.code, 0);
        QVERIFY(r.err.contains("3 already in the table, 0 to run"));
        QCOMPARE(sweepPoints(r.out).size(), 3);
        // --resume insists on an existing table.
        r = cli(QStringList(args) << "--phi" << "0.2" << "--resume" << "--out" << dir.filePath("absent.jsonl"));
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("--resume"));
    }

    void sweepOnlyTakesEveryNthPointFromTheIth() {
        const auto cfg = write("only.json", R"({"model":"abp","n":64,"phi":0.3,"interaction":"wca"})");
        const QString list = "0.1,10;0.2,10;0.3,10;0.4,10;0.5,10";
        QList<double> seen;
        for (const QString& slice : {QString("1/2"), QString("0/2")}) {
            auto args = tinySweep(cfg);
            args += {"--model", "none", "--points", list, "--only", slice};
            const auto r = cli(args);
            QVERIFY2(r.code == 0, r.err.constData());
            const QJsonArray pts = sweepPoints(r.out);
            const QList<int> want = slice == "1/2" ? QList<int>{1, 3} : QList<int>{0, 2, 4};
            QCOMPARE(pts.size(), want.size());
            for (int k = 0; k < pts.size(); ++k) {
                QCOMPARE(pts[k].toObject()["index"].toInt(), want[k]);
                QCOMPARE(pts[k].toObject()["phi"].toDouble(), 0.1 * (want[k] + 1));
                seen << pts[k].toObject()["phi"].toDouble();
            }
        }
        QCOMPARE(seen.size(), 5);  // the two slices partition the list
    }

    void sweepRefusesBadInputWithExitTwoNamingTheOption_data() {
        QTest::addColumn<QStringList>("extra");
        QTest::addColumn<QString>("option");
        QTest::newRow("range without count") << QStringList{"--phi", "0.1:0.5", "--pe", "10"} << "--phi";
        QTest::newRow("count zero") << QStringList{"--phi", "0.1:0.5:0", "--pe", "10"} << "--phi";
        QTest::newRow("not a number") << QStringList{"--phi", "0.2,abc", "--pe", "10"} << "--phi";
        QTest::newRow("empty item") << QStringList{"--phi", "0.2,,0.3", "--pe", "10"} << "--phi";
        QTest::newRow("phi out of range") << QStringList{"--phi", "0.2,0.99", "--pe", "10"} << "--phi";
        QTest::newRow("negative pe") << QStringList{"--phi", "0.2", "--pe", "-5"} << "--pe";
        QTest::newRow("missing pe") << QStringList{"--phi", "0.2"} << "--pe";
        QTest::newRow("point without pe") << QStringList{"--points", "0.3"} << "--points";
        QTest::newRow("points and a grid") << QStringList{"--points", "0.3,10", "--phi", "0.2"} << "--points";
        QTest::newRow("slice past the end") << QStringList{"--phi", "0.2", "--pe", "10", "--only", "2/2"} << "--only";
        QTest::newRow("slice malformed") << QStringList{"--phi", "0.2", "--pe", "10", "--only", "1"} << "--only";
        QTest::newRow("no samples") << QStringList{"--phi", "0.2", "--pe", "10", "--samples", "0"} << "--samples";
        QTest::newRow("missing model") << QStringList{"--phi", "0.2", "--pe", "10", "--model", "absent.pt"} << "--model";
        QTest::newRow("unwritable table") << QStringList{"--phi", "0.2", "--pe", "10", "--model", "none", "--out", "/nonexistent-dir/t.csv"}
                                          << "/nonexistent-dir/t.csv";
    }
    void sweepRefusesBadInputWithExitTwoNamingTheOption() {
        QFETCH(QStringList, extra);
        QFETCH(QString, option);
        const auto cfg = write("badsweep.json", R"({"model":"abp","n":64,"phi":0.3,"interaction":"wca"})");
        const auto out = dir.filePath("badsweep.csv");
        QStringList args{"sweep", "--config", cfg, "--burn-in", "10", "--samples", "1", "--sample-every", "10", "--out", out, "--json"};
        args += extra;
        const auto r = cli(args);
        QCOMPARE(r.code, 2);
        QVERIFY(r.out.isEmpty());
        const QString err = QString::fromUtf8(r.err).trimmed();
        QCOMPARE(err.count('\n'), 0);
        QVERIFY2(err.contains(option), qPrintable(err));
        QVERIFY(!QFile::exists(out));
    }

    void sweepRefusesANetworkOfAnotherModelBeforeRunning() {
        // The shipped network is ABP's; an AOUP sweep cannot transfer it.
        const auto cfg = write("aoupsweep.json", R"({"model":"aoup","n":64})");
        const auto out = dir.filePath("aoupsweep.csv");
        const auto r = cli({"sweep", "--config", cfg, "--phi", "0.2", "--pe", "10", "--burn-in", "10", "--samples", "1", "--out", out});
        QCOMPARE(r.code, 2);
        const QString err = QString::fromUtf8(r.err).trimmed();
        QCOMPARE(err.count('\n'), 0);
        QVERIFY2(err.contains("--model") && err.contains("model"), qPrintable(err));
        QVERIFY(!QFile::exists(out));
    }

    void missingConfigFileExitsTwo() {
        const auto r = cli({"simulate", "--config", "/nonexistent/x.json", "--steps", "1"});
        QCOMPARE(r.code, 2);
    }

    void unknownCommandExitsTwo() { QCOMPARE(cli({"frobnicate"}).code, 2); }
};

QTEST_APPLESS_MAIN(TestCli)
#include "TestCli.moc"

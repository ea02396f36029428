// The live session's deterministic core: it is the one implementation of
// online training, so `entroscope-cli train` and the core driven in-process
// give the same weights for the same config and seed; its learned values
// always belong to the state they ship with; it trains on stored frames.
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/physics/linear_oracle.hpp"
#include "entroscope/score/score_model.hpp"
#include "entroscope/session/session_core.hpp"
#include "entroscope/sim/simulator.hpp"

using entroscope::Config;
using entroscope::SessionCore;
using entroscope::SessionOptions;

namespace {

const char* kConfig = R"({"version": 1, "model": "aoup", "n": 256, "phi": 0.4, "seed": 7,
  "network": {"arch": "fast", "k_neighbors": 8, "width": 16, "layers": 1, "heads": 2},
  "training": {"batch": 64, "warmup": 5}})";

// Bitwise comparison of two networks through what they compute.
void compareOutputs(const entroscope::ScoreModel& a, const entroscope::ScoreModel& b, const entroscope::State& s)
{
    const auto oa = a.infer_raw(s, false), ob = b.infer_raw(s, false);
    QCOMPARE(oa.s_act.size(), ob.s_act.size());
    for (std::size_t k = 0; k < oa.s_act.size(); ++k) {
        QCOMPARE(oa.s_act[k], ob.s_act[k]);  // exact: same weights, same arithmetic
    }
    const auto ea = a.infer(s, false), eb = b.infer(s, false);
    for (std::size_t k = 0; k < ea.s_act.size(); ++k) {
        QCOMPARE(ea.s_act[k], eb.s_act[k]);
    }
}

}  // namespace

class TestSessionCore : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void trainCommandAndCoreGiveTheSameWeights();
    void startsFromAGivenState();
    void advanceIsDeterministic();
    void learnedValuesBelongToTheStateTheyShipWith();
    void linearSystemCarriesItsExactValues();
    void trainsOnStoredFramesWithoutASimulation();
    void badOptionsAreRefusedByName();
    void onlyAResumedTrainingRunDrawsNewData();
    void aNewTimeStepIsAParameterChangeAtTheSameState();

private:
    QTemporaryDir dir_;
    Config cfg_;
};

void TestSessionCore::initTestCase()
{
    QVERIFY(dir_.isValid());
    entroscope::set_network_threads(1);
    cfg_ = entroscope::parse_config(kConfig);
}

void TestSessionCore::trainCommandAndCoreGiveTheSameWeights()
{
    const QString cfgPath = dir_.filePath(QStringLiteral("cfg.json"));
    std::ofstream(cfgPath.toStdString()) << kConfig;
    const QString out = dir_.filePath(QStringLiteral("cli.pt"));
    QProcess p;
    p.start(QStringLiteral(ENTROSCOPE_CLI),
            {QStringLiteral("train"), QStringLiteral("--config"), cfgPath, QStringLiteral("--steps"), QStringLiteral("9"),
             QStringLiteral("--burn-in"), QStringLiteral("30"), QStringLiteral("--sample-every"), QStringLiteral("7"),
             QStringLiteral("--threads"), QStringLiteral("1"), QStringLiteral("--out"), out, QStringLiteral("--json")});
    QVERIFY(p.waitForFinished(120000));
    QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    const QJsonObject o = QJsonDocument::fromJson(p.readAllStandardOutput()).object();

    // The same schedule in-process: 4 optimiser steps per snapshot (256 / 64),
    // so 9 steps span three snapshots, the last one partly used.
    SessionOptions so;
    so.schedule_steps = 9;
    so.sample_every = 7;
    so.fields = false;
    SessionCore core(cfg_, so);
    core.burn_in(30);
    QCOMPARE(core.train(9), std::uint64_t(9));
    QCOMPARE(core.state().step, std::uint64_t(49));  // 30 + three snapshots of (5, 7, 7) steps

    // The weights' hash as `train` reports it, and as the checkpoint holds them.
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(core.model()->weights_hash()));
    QCOMPARE(o["weights_hash"].toString(), QString::fromLatin1(hash));
    const auto cli = entroscope::ScoreModel::load(out.toStdString(), &cfg_);
    QCOMPARE(cli.weights_hash(), core.model()->weights_hash());
    QCOMPARE(cli.steps(), core.model()->steps());
    entroscope::Simulator probe(cfg_, 1);
    probe.run(50);
    compareOutputs(cli, *core.model(), probe.state());

    // A different seed gives other weights (the comparison can fail).
    Config other = cfg_;
    other.seed = 8;
    SessionCore core2(other, so);
    core2.burn_in(30);
    core2.train(9);
    QVERIFY(core2.model()->weights_hash() != core.model()->weights_hash());
    const auto a = cli.infer_raw(probe.state(), false), b = core2.model()->infer_raw(probe.state(), false);
    bool differs = false;
    for (std::size_t k = 0; k < a.s_act.size(); ++k) {
        differs = differs || a.s_act[k] != b.s_act[k];
    }
    QVERIFY(differs);
}

void TestSessionCore::startsFromAGivenState()
{
    SessionOptions so;
    so.training = false;
    SessionCore a(cfg_, so);
    a.simulate(50);
    so.initial_state = std::make_shared<const entroscope::State>(a.state());
    SessionCore b(cfg_, so);
    QCOMPARE(b.state().step, a.state().step);
    QCOMPARE(b.state().time, a.state().time);
    QCOMPARE(b.state().x, a.state().x);
    QCOMPARE(b.state().act, a.state().act);
    // A state of another system is refused by name.
    entroscope::State wrong = a.state();
    wrong.types.pop_back();
    so.initial_state = std::make_shared<const entroscope::State>(wrong);
    QVERIFY_THROWS_EXCEPTION(entroscope::ConfigError, SessionCore(cfg_, so));
}

void TestSessionCore::advanceIsDeterministic()
{
    SessionOptions so;
    so.sample_every = 20;
    so.evaluate_every = 2;
    so.fields = false;
    SessionCore a(cfg_, so), b(cfg_, so);
    a.advance(100);
    // Split differently: the schedule is counted in simulation steps.
    b.advance(33);
    b.advance(67);
    QCOMPARE(a.state().step, b.state().step);
    QCOMPARE(a.training_status().session_steps, std::uint64_t(4 * 5));  // 5 snapshots x 256 / 64
    QCOMPARE(b.training_status().session_steps, a.training_status().session_steps);
    compareOutputs(*a.model(), *b.model(), a.state());
    QCOMPARE(a.estimate()->evaluations, std::int64_t(2));
    QCOMPARE(a.estimate()->epr_active.mean, b.estimate()->epr_active.mean);
    // The window's diagnostics are its summary per particle.
    const auto sum = a.window_summary();
    const double n = cfg_.n;
    QCOMPARE(a.estimate()->ibp.mean, sum.ibp.mean / n);
    QCOMPARE(a.estimate()->ibp.se, sum.ibp.se / n);
    QCOMPARE(a.estimate()->div_v.mean, sum.div_v.mean / n);
    QVERIFY(a.estimate()->ibp.count > 0 && std::isfinite(a.estimate()->ibp.mean));
}

void TestSessionCore::learnedValuesBelongToTheStateTheyShipWith()
{
    SessionOptions so;
    so.sample_every = 10;
    so.evaluate_every = 1;
    SessionCore core(cfg_, so);
    core.advance(30);
    auto f = core.frame();
    QVERIFY(f->learned);
    QCOMPARE(f->learned->state, f->state);  // the same object: the evaluated positions
    QCOMPARE(f->learned->network_step, core.model()->steps() - 4);  // evaluated before this snapshot's training
    QCOMPARE(static_cast<int>(f->learned->sigma_sq.size()), cfg_.n);
    QCOMPARE(f->learned->density.bins, so.field_bins);
    QVERIFY(!f->learned->sigma.value.empty() && !f->learned->current.value.empty());
    // One step later the state is another one: no learned values on it.
    core.simulate(1);
    f = core.frame();
    QVERIFY(!f->learned);
    // The evaluated state's own frame still has them.
    const auto lf = core.learned_frame();
    QVERIFY(lf && lf->learned && lf->state == lf->learned->state);
    QCOMPARE(lf->state->step, std::uint64_t(30));
}

void TestSessionCore::linearSystemCarriesItsExactValues()
{
    Config trap = entroscope::parse_config(R"({"version": 1, "model": "aoup", "n": 64, "interaction": "none",
        "box": 40, "trap_stiffness": [1.0], "gamma": 0.5, "eps": 0.1, "v0": 1.0, "dt": 0.01, "seed": 3,
        "network": {"arch": "fast", "k_neighbors": 4, "width": 16, "layers": 1, "heads": 2}})");
    SessionOptions so;
    so.evaluate_every = 1;
    so.fields = false;
    SessionCore core(trap, so);
    core.advance(10);
    const entroscope::LinearOracle o = entroscope::solve_linear_system(trap);
    const auto g = core.estimate();
    QCOMPARE(g->exact_epr_active, o.epr_active_total / trap.n);
    QCOMPARE(g->exact_epr_active_chain, o.epr_active_discrete_total / trap.n);
    QCOMPARE(g->exact_epr_x, o.epr_x_total / trap.n);
    QCOMPARE(g->x_part, entroscope::XPart::Finite);
}

void TestSessionCore::trainsOnStoredFramesWithoutASimulation()
{
    entroscope::Simulator sim(cfg_, 1);
    std::vector<entroscope::State> frames;
    for (int k = 0; k < 3; ++k) {
        sim.run(10);
        frames.push_back(sim.state());
    }
    SessionOptions so;
    so.schedule_steps = 6;
    SessionCore core(cfg_, so, frames);
    QCOMPARE(core.train(6), std::uint64_t(6));
    QCOMPARE(core.model()->steps(), std::uint64_t(6));
    QVERIFY_THROWS_EXCEPTION(entroscope::ConfigError, core.advance(1));
    QVERIFY_THROWS_EXCEPTION(entroscope::ConfigError, SessionCore(cfg_, so, {}));
}

void TestSessionCore::badOptionsAreRefusedByName()
{
    SessionOptions so;
    so.sample_every = 0;
    try {
        SessionCore core(cfg_, so);
        QFAIL("sample_every = 0 was accepted");
    } catch (const entroscope::ConfigError& e) {
        QVERIFY2(std::string(e.what()).find("sample_every") != std::string::npos, e.what());
    }
    so = SessionOptions{};
    so.model_path = dir_.filePath(QStringLiteral("missing.pt")).toStdString();
    QVERIFY_THROWS_EXCEPTION(entroscope::IoError, SessionCore(cfg_, so));
}

// The way out of a blow-up: the same state goes on at another dt, under a
// new physics tag (the Euler chain's law depends on dt); a dt that is not
// a step is refused by name and changes nothing.
void TestSessionCore::aNewTimeStepIsAParameterChangeAtTheSameState()
{
    SessionOptions so;
    so.training = false;
    SessionCore core(cfg_, so);
    core.simulate(20);
    const entroscope::State before = core.state();
    const auto tag = core.physics_tag();
    const double dt = 0.25 * cfg_.dt;
    QCOMPARE(core.set_time_step(dt), tag + 1);
    QCOMPARE(core.physics_tag(), tag + 1);
    QCOMPARE(core.config().dt, dt);
    QCOMPARE(core.config().seed, cfg_.seed);
    QVERIFY(core.state().x == before.x);
    QCOMPARE(core.state().step, before.step);
    QCOMPARE(core.frame()->config.dt, dt);
    core.simulate(8);
    QCOMPARE(core.state().step, before.step + 8);
    QVERIFY(std::abs(core.state().time - (before.time + 8 * dt)) < 1e-12 * (1.0 + before.time));
    for (double bad : {0.0, -1e-3, std::nan(""), std::numeric_limits<double>::infinity()}) {
        try {
            core.set_time_step(bad);
            QFAIL(qPrintable(QStringLiteral("dt = %1 was accepted").arg(bad)));
        } catch (const entroscope::ConfigError& e) {
            QCOMPARE(e.key(), std::string("dt"));
        }
    }
    QCOMPARE(core.config().dt, dt);
    QCOMPARE(core.physics_tag(), tag + 1);
}

// The window's Seed and estimate's trajectory are the config's; only a run
// that trains a given checkpoint further moves to a derived seed.
void TestSessionCore::onlyAResumedTrainingRunDrawsNewData()
{
    const std::string path = dir_.filePath(QStringLiteral("seeded.pt")).toStdString();
    {
        SessionOptions so;
        so.fields = false;
        SessionCore first(cfg_, so);
        first.advance(10);
        QVERIFY(first.model()->steps() > 0);
        QCOMPARE(first.data_seed(), cfg_.seed);
        first.save_model(path);
    }
    SessionOptions resume;
    resume.model_path = path;
    const auto resumed = SessionCore(cfg_, resume).data_seed();
    QVERIFY(resumed != cfg_.seed);
    QCOMPARE(SessionCore(cfg_, resume).data_seed(), resumed);  // the same for the same inputs
    SessionOptions estimate;
    estimate.training = false;
    estimate.model_path = path;
    QCOMPARE(SessionCore(cfg_, estimate).data_seed(), cfg_.seed);
    SessionOptions warm;
    warm.pretrained_path = path;
    SessionCore w(cfg_, warm);
    QCOMPARE(w.data_seed(), cfg_.seed);
    QVERIFY(w.training_status().source.find("pretrained") == 0);
}

QTEST_APPLESS_MAIN(TestSessionCore)

#include "TestSessionCore.moc"

// The live session's threaded driver without a window: it refines a
// pretrained checkpoint that fits and falls back to a fresh network (saying
// why) when it does not, keeps its weights when the physics changes (warm
// start, a new estimate window), starts over on a new system and publishes
// nothing of the old one, saves and loads between two steps, ships learned
// values only with their own state, and pauses (keeping the last good state)
// when the simulation blows up.
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>
#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "entroscope/core/config.hpp"
#include "entroscope/score/score_model.hpp"
#include "entroscope/session/live_session.hpp"
#include "entroscope/sim/simulator.hpp"

using entroscope::Config;
using entroscope::Frame;
using entroscope::LiveOptions;
using entroscope::LiveSession;
using entroscope::ModelKind;

namespace {

Config smallSystem(ModelKind model, int n)
{
    Config cfg = entroscope::default_config(model);
    cfg.n = n;
    cfg.types.clear();
    cfg.finalize();
    return cfg;
}

// Waits until `done(frame)` holds for the newest frame; returns it (null on timeout).
template <class Done>
std::shared_ptr<const Frame> waitFor(const LiveSession& s, Done done, int timeoutMs = 60000)
{
    QElapsedTimer clock;
    clock.start();
    while (clock.elapsed() < timeoutMs) {
        auto f = s.latest();
        if (f && done(*f)) {
            return f;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return nullptr;
}

// Asks for a save or load and waits for the answer ("" on success).
std::string ask(LiveSession& s, bool save, const std::string& path)
{
    auto answer = std::make_shared<std::promise<std::string>>();
    auto got = answer->get_future();
    auto done = [answer](const std::string& error) { answer->set_value(error); };
    if (save) {
        s.save_model(path, done);
    } else {
        s.load_model(path, done);
    }
    if (got.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
        return "no answer within 60 s";
    }
    return got.get();
}

}  // namespace

class TestLiveSession : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void refinesAFittingPretrainedCheckpoint();
    void mismatchedCheckpointFallsBackToAFreshNetworkAndSaysWhy();
    void learnedValuesShipWithTheirOwnState();
    void physicsChangeKeepsTheWeightsAndStartsANewEstimateWindow();
    void newSystemStartsAFreshModelAndShowsNothingOfTheOld();
    void savesAndLoadsTheOnlineNetwork();
    void blowUpPausesAndKeepsTheLastGoodState();
    void aSmallerTimeStepResumesFromTheKeptState();
    void pausedSimulationKeepsTraining();
    void aSystemThatCannotBeBuiltIsReportedAndLosesNothing();

private:
    QTemporaryDir dir_;
    std::string abpPath_, aoupPath_;
    std::uint64_t abpSavedSteps_ = 0;
};

void TestLiveSession::initTestCase()
{
    QVERIFY(dir_.isValid());
    entroscope::set_network_threads(1);
    // A checkpoint of the ABP network, trained a few steps so that a loaded
    // model is told apart from a fresh one by its step count.
    const Config abp = smallSystem(ModelKind::Abp, 256);
    entroscope::Simulator sim(abp, 1);
    sim.run(50);
    entroscope::ScoreModel model(abp);
    std::vector<int> all(256);
    for (int i = 0; i < 256; ++i) {
        all[static_cast<std::size_t>(i)] = i;
    }
    for (int s = 0; s < 3; ++s) {
        model.train_step(sim.state(), all);
    }
    abpSavedSteps_ = model.steps();
    abpPath_ = dir_.filePath(QStringLiteral("abp.pt")).toStdString();
    model.save(abpPath_);
    aoupPath_ = dir_.filePath(QStringLiteral("aoup.pt")).toStdString();
    entroscope::ScoreModel(smallSystem(ModelKind::Aoup, 256)).save(aoupPath_);
}

void TestLiveSession::refinesAFittingPretrainedCheckpoint()
{
    LiveOptions opt;
    opt.session.pretrained_path = abpPath_;
    // The running system differs from the checkpoint's in N and activity: the
    // network is per particle, so it still fits.
    Config cfg = smallSystem(ModelKind::Abp, 300);
    cfg.v0 = cfg.v0_for_peclet(60.0);
    LiveSession s(cfg, opt);
    const auto f = waitFor(s, [](const Frame& f) { return f.training.session_steps >= 2; });
    QVERIFY(f);
    QVERIFY2(f->training.source.find("pretrained abp.pt") == 0, f->training.source.c_str());
    QVERIFY(f->training.network_steps >= abpSavedSteps_ + 2);
    QVERIFY(!f->training.failed);
    QCOMPARE(f->state->n(), 300);
}

void TestLiveSession::mismatchedCheckpointFallsBackToAFreshNetworkAndSaysWhy()
{
    LiveOptions opt;
    opt.session.pretrained_path = aoupPath_;
    LiveSession s(smallSystem(ModelKind::Abp, 256), opt);
    const auto f = waitFor(s, [](const Frame& f) { return f.training.session_steps >= 1; });
    QVERIFY(f);
    QCOMPARE(f->training.source, std::string("fresh network"));
    QVERIFY2(f->training.message.find("does not fit") != std::string::npos, f->training.message.c_str());
    QVERIFY(!f->training.failed);
    QCOMPARE(f->training.network_steps, f->training.session_steps);
}

void TestLiveSession::learnedValuesShipWithTheirOwnState()
{
    LiveSession s(smallSystem(ModelKind::Abp, 256), LiveOptions{});
    QVERIFY(waitFor(s, [&](const Frame&) { return s.latest_learned() != nullptr; }));
    for (int k = 0; k < 20; ++k) {
        const auto l = s.latest_learned();
        QVERIFY(l->learned);
        QCOMPARE(l->learned->state, l->state);
        QCOMPARE(static_cast<int>(l->learned->sigma_sq.size()), l->state->n());
        const auto f = s.latest();
        // A running frame carries learned values only for its own state.
        QVERIFY(!f->learned || f->learned->state == f->state);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

void TestLiveSession::physicsChangeKeepsTheWeightsAndStartsANewEstimateWindow()
{
    LiveOptions opt;
    opt.min_eval_interval = 0.1;
    LiveSession s(smallSystem(ModelKind::Abp, 256), opt);
    const auto before = waitFor(s, [](const Frame& f) { return f.estimate->evaluations >= 3; });
    QVERIFY(before);
    s.set_peclet(40.0);
    const auto after = waitFor(s, [&](const Frame& f) {
        return f.physics_tag > before->physics_tag && f.estimate->physics_tag == f.physics_tag && f.estimate->evaluations >= 1;
    });
    QVERIFY(after);
    QVERIFY(std::abs(after->config.peclet() - 40.0) < 1e-9);
    QCOMPARE(after->training.model_generation, before->training.model_generation);  // same weights, warm start
    QVERIFY(after->training.network_steps >= before->training.network_steps);
    QCOMPARE(after->system_generation, before->system_generation);
    const auto l = s.latest_learned();
    QVERIFY(l && l->physics_tag == after->physics_tag);
}

void TestLiveSession::newSystemStartsAFreshModelAndShowsNothingOfTheOld()
{
    LiveSession s(smallSystem(ModelKind::Abp, 256), LiveOptions{});
    const auto before = waitFor(s, [](const Frame& f) { return f.estimate->evaluations >= 1; });
    QVERIFY(before);
    const Config second = smallSystem(ModelKind::Aoup, 200);
    s.reset(second);
    const auto after = waitFor(s, [&](const Frame& f) { return f.system_generation > before->system_generation; });
    QVERIFY(after);
    bool onlyNewSystem = true;
    const auto evaluated = waitFor(s, [&](const Frame& f) {
        onlyNewSystem = onlyNewSystem && f.state->n() == 200 && f.config.model == ModelKind::Aoup;
        const auto l = s.latest_learned();
        if (l) {
            onlyNewSystem = onlyNewSystem && l->state->n() == 200;
        }
        return f.estimate->evaluations >= 1 && l;
    });
    QVERIFY(evaluated);
    QVERIFY(onlyNewSystem);
    QVERIFY(evaluated->training.model_generation >= 1);
    QCOMPARE(evaluated->estimate->x_part, entroscope::XPart::Infinite);  // eps = 0: hypoelliptic
    for (double v : s.latest_learned()->learned->sigma_sq) {
        QVERIFY(std::isfinite(v) && v >= 0.0);
    }
}

void TestLiveSession::savesAndLoadsTheOnlineNetwork()
{
    const Config cfg = smallSystem(ModelKind::Abp, 256);
    LiveSession s(cfg, LiveOptions{});
    QVERIFY(waitFor(s, [](const Frame& f) { return f.training.session_steps >= 2; }));
    const std::string saved = dir_.filePath(QStringLiteral("online.pt")).toStdString();
    QCOMPARE(ask(s, true, saved), std::string());
    const auto reread = entroscope::ScoreModel::load(saved, &cfg);
    QVERIFY(reread.steps() >= 2);
    QVERIFY(ask(s, true, "/nonexistent/dir/online.pt").find("/nonexistent/dir") != std::string::npos);

    const auto before = s.latest();
    QCOMPARE(ask(s, false, abpPath_), std::string());
    const auto loaded = waitFor(s, [&](const Frame& f) { return f.training.model_generation > before->training.model_generation; });
    QVERIFY(loaded);
    QCOMPARE(loaded->training.source, std::string("loaded abp.pt"));
    QVERIFY(loaded->training.network_steps >= abpSavedSteps_);

    // A checkpoint of another model kind, or no file: an error, and the network stays.
    QVERIFY(ask(s, false, aoupPath_).find("does not fit") != std::string::npos);
    QVERIFY(!ask(s, false, dir_.filePath(QStringLiteral("missing.pt")).toStdString()).empty());
    const auto after = waitFor(s, [](const Frame&) { return true; });
    QCOMPARE(after->training.model_generation, loaded->training.model_generation);
    QCOMPARE(after->training.source, std::string("loaded abp.pt"));
    QVERIFY(!after->training.failed);
}

void TestLiveSession::blowUpPausesAndKeepsTheLastGoodState()
{
    // A time step far beyond the WCA stability bound.
    Config cfg = smallSystem(ModelKind::Abp, 256);
    cfg.phi = 0.8;
    cfg.dt = 0.05;
    cfg.finalize();
    LiveOptions opt;
    opt.session.training = false;
    LiveSession s(cfg, opt);
    const auto f = waitFor(s, [](const Frame& f) { return !f.notice.empty(); });
    QVERIFY(f);
    QVERIFY(!f->running);
    QVERIFY2(f->notice.find("dt") != std::string::npos, f->notice.c_str());
    for (double x : f->state->x) {
        QVERIFY(std::isfinite(x));
    }
    // Nothing moves while paused.
    const auto step = f->state->step;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    QCOMPARE(s.latest()->state->step, step);
}

void TestLiveSession::aSmallerTimeStepResumesFromTheKeptState()
{
    // A run that is fine at its own dt blows up at a far larger one (set
    // through the same command); the frame offers a smaller dt, and taking
    // it goes on from the state that was kept, not from a new one.
    const Config cfg = smallSystem(ModelKind::Abp, 256);
    LiveOptions opt;
    opt.session.training = false;
    LiveSession s(cfg, opt);
    QVERIFY(waitFor(s, [](const Frame& f) { return f.state->step >= 500; }));
    QCOMPARE(s.latest()->suggested_dt, 0.0);
    s.set_time_step(500.0 * cfg.dt);
    const auto f = waitFor(s, [](const Frame& f) { return !f.notice.empty(); });
    QVERIFY(f);
    QVERIFY(!f->running);
    QCOMPARE(f->config.dt, 500.0 * cfg.dt);
    QVERIFY(f->state->step >= 500);
    for (double x : f->state->x) {
        QVERIFY(std::isfinite(x));
    }
    const double dt = f->suggested_dt;
    QVERIFY2(dt > 0.0 && dt <= 0.5 * f->config.dt, std::to_string(dt).c_str());
    QCOMPARE(dt, LiveSession::suggested_time_step(f->config));
    QCOMPARE(dt, cfg.dt);  // ABP: no more than the physics bound the run was fine at
    QVERIFY2(f->notice.find(QString::number(dt, 'g', 3).toStdString()) != std::string::npos, f->notice.c_str());

    s.set_time_step(dt);
    const auto g = waitFor(s, [&](const Frame& g) { return g.config.dt == dt; }, 20000);
    QVERIFY(g);
    QVERIFY(!g->running);  // taking the offer alone does not start the run
    QVERIFY(!g->config.dt_auto);
    QVERIFY(g->notice.empty());
    QCOMPARE(g->suggested_dt, 0.0);
    QVERIFY(g->physics_tag > f->physics_tag);
    QCOMPARE(g->system_generation, f->system_generation);
    QCOMPARE(g->state->step, f->state->step);
    QCOMPARE(g->state->time, f->state->time);
    QVERIFY(g->state->x == f->state->x);
    QVERIFY(g->state->act == f->state->act);

    s.set_running(true);
    const auto h = waitFor(s, [&](const Frame& h) { return h.state->step >= f->state->step + 2000 || !h.notice.empty(); });
    QVERIFY(h);
    QVERIFY2(h->notice.empty(), h->notice.c_str());
    QVERIFY(h->running);
    QCOMPARE(h->system_generation, f->system_generation);
    for (double x : h->state->x) {
        QVERIFY(std::isfinite(x));
    }
    // Time goes on at the new step from where it stopped.
    QVERIFY(std::abs(h->state->time - (f->state->time + (h->state->step - f->state->step) * dt)) < 1e-9 * (1.0 + h->state->time));

    // A step that is not a step is refused and said; nothing else changes.
    s.set_time_step(-1.0);
    const auto r = waitFor(s, [](const Frame& r) { return !r.notice.empty(); }, 20000);
    QVERIFY(r);
    QVERIFY2(r->notice.find("Cannot set the time step") == 0, r->notice.c_str());
    QCOMPARE(r->config.dt, dt);
}

void TestLiveSession::pausedSimulationKeepsTraining()
{
    LiveOptions opt;
    opt.running = false;
    LiveSession s(smallSystem(ModelKind::Abp, 256), opt);
    // Paused from the start: the first state is the snapshot the learner uses.
    const auto f = waitFor(s, [](const Frame& f) { return f.training.session_steps >= 3; });
    QVERIFY(f);
    QCOMPARE(f->state->step, std::uint64_t(0));
    QVERIFY(!f->running);
    // The paused state's frame carries its learned values.
    QVERIFY(waitFor(s, [](const Frame& f) { return f.learned != nullptr; }));
    s.step();
    QVERIFY(waitFor(s, [](const Frame& f) { return f.state->step > 0; }));
}

void TestLiveSession::aSystemThatCannotBeBuiltIsReportedAndLosesNothing()
{
    Config bad = smallSystem(ModelKind::Abp, 256);
    bad.dt = -1.0;  // not through parse_config: the session validates again
    LiveOptions opt;
    opt.session.training = false;
    LiveSession s(bad, opt);
    QElapsedTimer clock;
    clock.start();
    while (s.notice().empty() && clock.elapsed() < 20000) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    QVERIFY2(s.notice().find("Cannot build the system") == 0, s.notice().c_str());
    QVERIFY2(s.notice().find("dt") != std::string::npos, s.notice().c_str());
    QVERIFY(!s.latest());
    // A good system after it runs; a bad one then keeps the good one running.
    s.reset(smallSystem(ModelKind::Abp, 256));
    const auto f = waitFor(s, [](const Frame& f) { return f.state->step > 0; });
    QVERIFY(f);
    QVERIFY(f->notice.empty());
    s.reset(bad);
    const auto g = waitFor(s, [](const Frame& f) { return !f.notice.empty(); });
    QVERIFY(g);
    QCOMPARE(g->system_generation, f->system_generation);
    QVERIFY(waitFor(s, [&](const Frame& h) { return h.state->step > g->state->step; }));
}

QTEST_APPLESS_MAIN(TestLiveSession)

#include "TestLiveSession.moc"

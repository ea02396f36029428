// The window's online trainer without a window: it refines a pretrained
// checkpoint that fits the running system and falls back to a fresh network
// (saying why) when it does not, keeps its weights when the physics changes
// (warm start, new estimate window) and starts over on a new system.
#include <QTemporaryDir>
#include <QtTest>
#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <string>

#include "app/gui/online_trainer.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/score/score_model.hpp"
#include "entroscope/sim/simulator.hpp"

using entroscope::Config;
using entroscope::ModelKind;
using entroscope::Simulator;
using entroscope::gui::LearnedEstimate;
using entroscope::gui::OnlineTrainer;

namespace {

Config smallSystem(ModelKind model, int n)
{
    Config cfg = entroscope::default_config(model);
    cfg.n = n;
    cfg.types.clear();
    cfg.finalize();
    return cfg;
}

// Feed the trainer snapshots of a running simulation until `done` holds.
// Returns the first estimate that satisfied it (null on timeout).
template <class Done>
std::shared_ptr<const LearnedEstimate> feedUntil(OnlineTrainer& trainer, Simulator& sim, std::uint64_t tag, Done done,
                                                 int timeoutMs = 30000)
{
    QElapsedTimer clock;
    clock.start();
    while (clock.elapsed() < timeoutMs) {
        sim.run(20);
        trainer.push(std::make_shared<const entroscope::State>(sim.state()), tag);
        auto e = trainer.latest();
        if (done(*e)) {
            return e;
        }
        QTest::qWait(50);
    }
    return nullptr;
}

}  // namespace

class TestOnlineTrainer : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void refinesAFittingPretrainedCheckpoint();
    void mismatchedCheckpointFallsBackToAFreshNetworkAndSaysWhy();
    void physicsChangeKeepsTheWeightsAndStartsANewEstimateWindow();
    void newSystemStartsAFreshModel();
    void savesAndLoadsTheOnlineNetwork();

private:
    QTemporaryDir dir_;
    QString abpPath_, aoupPath_;
    std::uint64_t abpSavedSteps_ = 0;
};

void TestOnlineTrainer::initTestCase()
{
    QVERIFY(dir_.isValid());
    entroscope::set_network_threads(1);
    // A checkpoint of the ABP network, trained a few steps so that a loaded
    // model is told apart from a fresh one by its step count.
    const Config abp = smallSystem(ModelKind::Abp, 256);
    Simulator sim(abp, 1);
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
    abpPath_ = dir_.filePath(QStringLiteral("abp.pt"));
    model.save(abpPath_.toStdString());

    aoupPath_ = dir_.filePath(QStringLiteral("aoup.pt"));
    entroscope::ScoreModel(smallSystem(ModelKind::Aoup, 256)).save(aoupPath_.toStdString());
}

void TestOnlineTrainer::refinesAFittingPretrainedCheckpoint()
{
    OnlineTrainer::Options opt;
    opt.pretrainedPath = abpPath_.toStdString();
    OnlineTrainer trainer(opt);
    // The running system differs from the checkpoint's in N and activity: the
    // network is per particle, so it still fits.
    Config cfg = smallSystem(ModelKind::Abp, 300);
    cfg.v0 = cfg.v0_for_peclet(60.0);
    trainer.restart(cfg, 1);
    Simulator sim(cfg, 1);
    QVERIFY(feedUntil(trainer, sim, 1, [](const LearnedEstimate& e) { return e.sessionSteps >= 2; }));
    const auto e = trainer.latest();
    QVERIFY2(e->source.find("pretrained abp.pt") == 0, e->source.c_str());
    QVERIFY(e->trainingSteps >= abpSavedSteps_ + 2);
    QVERIFY(!e->failed);
}

void TestOnlineTrainer::mismatchedCheckpointFallsBackToAFreshNetworkAndSaysWhy()
{
    OnlineTrainer::Options opt;
    opt.pretrainedPath = aoupPath_.toStdString();
    OnlineTrainer trainer(opt);
    const Config cfg = smallSystem(ModelKind::Abp, 256);
    trainer.restart(cfg, 1);
    Simulator sim(cfg, 1);
    QVERIFY(feedUntil(trainer, sim, 1, [](const LearnedEstimate& e) { return e.sessionSteps >= 1; }));
    const auto e = trainer.latest();
    QCOMPARE(e->source, std::string("fresh network"));
    QVERIFY2(e->message.find("does not fit") != std::string::npos, e->message.c_str());
    QVERIFY(!e->failed);
    QVERIFY(e->trainingSteps >= 1 && e->trainingSteps == e->sessionSteps);
}

void TestOnlineTrainer::physicsChangeKeepsTheWeightsAndStartsANewEstimateWindow()
{
    OnlineTrainer::Options opt;
    opt.evalIntervalSeconds = 0.2;
    OnlineTrainer trainer(opt);
    const Config cfg = smallSystem(ModelKind::Abp, 256);
    trainer.restart(cfg, 1);
    Simulator sim(cfg, 1);
    const auto before = feedUntil(trainer, sim, 1, [](const LearnedEstimate& e) { return e.evaluations >= 3; });
    QVERIFY(before);

    sim.set_v0(cfg.v0_for_peclet(40.0));
    trainer.setPhysics(sim.config(), 2);
    const auto after =
        feedUntil(trainer, sim, 2, [](const LearnedEstimate& e) { return e.physicsTag == 2 && e.evaluations >= 1; });
    QVERIFY(after);
    QCOMPARE(after->modelGeneration, before->modelGeneration);  // same weights, warm start
    QVERIFY(after->trainingSteps >= before->trainingSteps);
    QVERIFY(after->evaluations < before->evaluations);          // the window started over
    QCOMPARE(static_cast<int>(after->sigma.size()), 256);
}

void TestOnlineTrainer::newSystemStartsAFreshModel()
{
    OnlineTrainer trainer(OnlineTrainer::Options{});
    const Config first = smallSystem(ModelKind::Abp, 256);
    trainer.restart(first, 1);
    Simulator sim(first, 1);
    QVERIFY(feedUntil(trainer, sim, 1, [](const LearnedEstimate& e) { return e.evaluations >= 1; }));
    const auto before = trainer.latest();

    const Config second = smallSystem(ModelKind::Aoup, 200);
    trainer.restart(second, 2);
    // From now on nothing of the old system is published.
    QCOMPARE(trainer.latest()->n, 200);
    QCOMPARE(trainer.latest()->evaluations, std::int64_t(0));
    bool onlyNewSystem = true;
    Simulator sim2(second, 1);
    QVERIFY(feedUntil(trainer, sim2, 2, [&](const LearnedEstimate& e) {
        onlyNewSystem = onlyNewSystem && e.n == 200 && e.model == ModelKind::Aoup;
        return e.modelGeneration > before->modelGeneration && e.evaluations >= 1;
    }));
    QVERIFY(onlyNewSystem);
    const auto after = trainer.latest();
    QCOMPARE(after->model, ModelKind::Aoup);
    QCOMPARE(static_cast<int>(after->sigma.size()), 200);
    QCOMPARE(after->xPart, entroscope::XPart::Infinite);  // eps = 0: hypoelliptic
    for (double s : after->sigma) {
        QVERIFY(std::isfinite(s) && s >= 0.0);
    }
}

// Save/load run on the trainer thread between two steps; `done` reports.
void TestOnlineTrainer::savesAndLoadsTheOnlineNetwork()
{
    OnlineTrainer trainer(OnlineTrainer::Options{});
    const Config cfg = smallSystem(ModelKind::Abp, 256);
    trainer.restart(cfg, 1);
    Simulator sim(cfg, 1);
    QVERIFY(feedUntil(trainer, sim, 1, [](const LearnedEstimate& e) { return e.sessionSteps >= 2; }));
    // Ask, then keep feeding until the answer comes (the trainer thread calls back).
    auto ask = [&](bool save, const QString& path) {
        auto answer = std::make_shared<std::promise<std::string>>();
        auto got = answer->get_future();
        auto done = [answer](const std::string& error) { answer->set_value(error); };
        if (save) {
            trainer.saveModel(path.toStdString(), done);
        } else {
            trainer.loadModel(path.toStdString(), done);
        }
        feedUntil(trainer, sim, 1, [&](const LearnedEstimate&) {
            return got.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
        });
        return got.get();
    };

    const QString saved = dir_.filePath(QStringLiteral("online.pt"));
    QCOMPARE(ask(true, saved), std::string());
    const std::uint64_t trained = trainer.latest()->trainingSteps;
    const auto reread = entroscope::ScoreModel::load(saved.toStdString(), &cfg);
    QVERIFY(reread.steps() >= 2 && reread.steps() <= trained + 1);
    QVERIFY(ask(true, QStringLiteral("/nonexistent/dir/online.pt")).find("/nonexistent/dir") != std::string::npos);

    const auto before = trainer.latest();
    QCOMPARE(ask(false, abpPath_), std::string());
    QVERIFY(feedUntil(trainer, sim, 1, [&](const LearnedEstimate& e) { return e.modelGeneration > before->modelGeneration; }));
    const auto loaded = trainer.latest();
    QCOMPARE(loaded->source, std::string("loaded abp.pt"));
    QVERIFY(loaded->trainingSteps >= abpSavedSteps_);

    // A checkpoint of another model kind, or no file: an error, and the network stays.
    QVERIFY(ask(false, aoupPath_).find("does not fit") != std::string::npos);
    QVERIFY(!ask(false, dir_.filePath(QStringLiteral("missing.pt"))).empty());
    const auto after = trainer.latest();
    QCOMPARE(after->modelGeneration, loaded->modelGeneration);
    QCOMPARE(after->source, std::string("loaded abp.pt"));
    QVERIFY(!after->failed);
}

QTEST_GUILESS_MAIN(TestOnlineTrainer)

#include "TestOnlineTrainer.moc"

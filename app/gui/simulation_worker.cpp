#include "app/gui/simulation_worker.hpp"

#include <QElapsedTimer>
#include <QMetaObject>
#include <QTimer>
#include <algorithm>
#include <cmath>

#include "entroscope/core/errors.hpp"
#include "entroscope/sim/simulator.hpp"

namespace entroscope::gui {

namespace {
// Wall time per chunk: long enough to amortise publishing a snapshot, short
// enough that queued parameter changes take effect without visible delay.
constexpr double kChunkSeconds = 0.03;
constexpr std::uint64_t kMaxChunkSteps = 100000;
// A snapshot goes to the replay buffer once the trainer has taken N / batch
// steps since the last one (each snapshot feeds that many batches, SPEC §4),
// and at least this often, so the estimate is evaluated on a recent state.
constexpr std::int64_t kMaxPushIntervalMs = 700;
}  // namespace

SimulationWorker::SimulationWorker(const WorkerOptions& opt) : threads_(std::max(1, opt.threads))
{
    clock_.start();
    if (opt.training) {
        trainer_ = std::make_unique<OnlineTrainer>(opt.trainer);
        // News from the trainer reaches the GUI through the next snapshot;
        // while paused nobody publishes, so ask for one.
        trainer_->setNotify([this] {
            QMetaObject::invokeMethod(this, &SimulationWorker::republishIfIdle, Qt::QueuedConnection);
        });
    }
}

SimulationWorker::~SimulationWorker()
{
    // Join the trainer before the members it calls back into go away.
    trainer_.reset();
}

std::shared_ptr<const Snapshot> SimulationWorker::latest() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return latest_;
}

void SimulationWorker::fail(const QString& what, const std::exception& e)
{
    Q_EMIT errorOccurred(what + QStringLiteral(": ") + QString::fromUtf8(e.what()));
}

void SimulationWorker::reset(const Config& cfg)
{
    try {
        auto sim = std::make_unique<Simulator>(cfg, threads_);
        sim_ = std::move(sim);
        ++generation_;
        secondsPerStep_ = 0.0;
        stepsPerSecond_ = 0.0;
        if (trainer_) {
            ++physicsTag_;
            trainer_->restart(sim_->config(), physicsTag_);
            trainerStepsAtPush_ = 0;
            lastPushMs_ = -1;
        }
        publish();
    } catch (const std::exception& e) {
        fail(QStringLiteral("Cannot build the system"), e);
    }
}

void SimulationWorker::setPackingFraction(double phi)
{
    if (!sim_) {
        return;
    }
    try {
        sim_->set_packing_fraction(phi);
        if (trainer_) {
            ++physicsTag_;
            trainer_->setPhysics(sim_->config(), physicsTag_);
            lastPushMs_ = -1;  // the new physics needs samples at once
        }
        publish();
    } catch (const std::exception& e) {
        fail(QStringLiteral("Cannot set the packing fraction"), e);
    }
}

void SimulationWorker::setPeclet(double pe)
{
    if (!sim_) {
        return;
    }
    try {
        sim_->set_v0(sim_->config().v0_for_peclet(pe));
        if (trainer_) {
            ++physicsTag_;
            trainer_->setPhysics(sim_->config(), physicsTag_);
            lastPushMs_ = -1;
        }
        publish();
    } catch (const std::exception& e) {
        fail(QStringLiteral("Cannot set the activity"), e);
    }
}

void SimulationWorker::setRunning(bool run)
{
    if (running_ != run) {
        running_ = run;
        Q_EMIT runningChanged(run);
    }
    if (running_ && !tickQueued_) {
        tickQueued_ = true;
        QTimer::singleShot(0, this, &SimulationWorker::tick);
    }
    publish();
}

void SimulationWorker::stepOnce()
{
    if (running_ || !sim_) {
        return;
    }
    runChunk();
    publish();
}

void SimulationWorker::shutdown()
{
    running_ = false;
    trainer_.reset();
    sim_.reset();
}

void SimulationWorker::republishIfIdle()
{
    if (!running_) {
        publish();
    }
}

void SimulationWorker::tick()
{
    tickQueued_ = false;
    if (!running_ || !sim_) {
        return;
    }
    runChunk();
    publish();
    // Re-arm through the event loop so queued commands run between chunks.
    if (running_ && !tickQueued_) {
        tickQueued_ = true;
        QTimer::singleShot(0, this, &SimulationWorker::tick);
    }
}

void SimulationWorker::runChunk()
{
    std::uint64_t steps = 1;
    if (secondsPerStep_ > 0.0) {
        steps = static_cast<std::uint64_t>(std::clamp(kChunkSeconds / secondsPerStep_, 1.0,
                                                      static_cast<double>(kMaxChunkSteps)));
    }
    QElapsedTimer clock;
    clock.start();
    try {
        sim_->run(steps);
    } catch (const std::exception& e) {
        running_ = false;
        Q_EMIT runningChanged(false);
        fail(QStringLiteral("Simulation stopped"), e);
        return;
    }
    const double elapsed = std::max(1e-9, static_cast<double>(clock.nsecsElapsed()) * 1e-9);
    const double perStep = elapsed / static_cast<double>(steps);
    secondsPerStep_ = secondsPerStep_ > 0.0 ? 0.7 * secondsPerStep_ + 0.3 * perStep : perStep;
    stepsPerSecond_ = 1.0 / secondsPerStep_;
}

void SimulationWorker::publish()
{
    if (!sim_) {
        return;
    }
    auto snap = std::make_shared<Snapshot>();
    snap->state = std::make_shared<const State>(sim_->state());
    snap->config = sim_->config();
    snap->stepsPerSecond = running_ ? stepsPerSecond_ : 0.0;
    snap->generation = generation_;
    snap->running = running_;
    if (trainer_) {
        feedTrainer(snap->state);
        snap->learned = trainer_->latest();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    latest_ = std::move(snap);
}

void SimulationWorker::saveNetwork(const QString& path)
{
    if (!trainer_) {
        Q_EMIT networkFileDone(true, path, QStringLiteral("online training is off"));
        return;
    }
    // The trainer is joined before this worker goes away, so `this` outlives the call.
    trainer_->saveModel(path.toStdString(), [this, path](const std::string& error) {
        Q_EMIT networkFileDone(true, path, QString::fromStdString(error));
    });
}

void SimulationWorker::loadNetwork(const QString& path)
{
    if (!trainer_) {
        Q_EMIT networkFileDone(false, path, QStringLiteral("online training is off"));
        return;
    }
    trainer_->loadModel(path.toStdString(), [this, path](const std::string& error) {
        Q_EMIT networkFileDone(false, path, QString::fromStdString(error));
    });
}

void SimulationWorker::feedTrainer(const std::shared_ptr<const State>& state)
{
    const std::int64_t now = clock_.elapsed();
    const std::uint64_t steps = trainer_->sessionSteps();
    if (steps < trainerStepsAtPush_) {
        trainerStepsAtPush_ = 0;  // a fresh model
    }
    const Config& cfg = sim_->config();
    const int batch = std::max(1, std::min(cfg.training.batch, cfg.n));
    const std::uint64_t perSnapshot = static_cast<std::uint64_t>(std::max(1, cfg.n / batch));
    if (lastPushMs_ >= 0 && state->step == lastPushedStep_) {
        return;  // paused: the same state again
    }
    const bool due = lastPushMs_ < 0 || steps - trainerStepsAtPush_ >= perSnapshot ||
                     now - lastPushMs_ >= kMaxPushIntervalMs;
    if (!due) {
        return;
    }
    // The State is shared with the GUI's snapshot: immutable, no copy.
    trainer_->push(state, physicsTag_);
    trainerStepsAtPush_ = steps;
    lastPushMs_ = now;
    lastPushedStep_ = state->step;
}

// ---------------------------------------------------------------------------

SimulationController::SimulationController(QObject* parent, WorkerOptions opt) : QObject(parent)
{
    if (opt.threads <= 0) {
        // Leave a core for the GUI and the (software) renderer.
        opt.threads = std::max(1, QThread::idealThreadCount() - 1);
    }
    worker_ = new SimulationWorker(opt);
    worker_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(worker_, &SimulationWorker::errorOccurred, this, &SimulationController::errorOccurred,
            Qt::QueuedConnection);
    connect(worker_, &SimulationWorker::runningChanged, this, &SimulationController::runningChanged,
            Qt::QueuedConnection);
    connect(worker_, &SimulationWorker::networkFileDone, this, &SimulationController::networkFileDone,
            Qt::QueuedConnection);
    thread_.setObjectName(QStringLiteral("entroscope-simulation"));
    thread_.start();
}

SimulationController::~SimulationController()
{
    QMetaObject::invokeMethod(worker_, [w = worker_] { w->shutdown(); }, Qt::QueuedConnection);
    thread_.quit();
    thread_.wait();
}

std::shared_ptr<const Snapshot> SimulationController::latest() const { return worker_->latest(); }

void SimulationController::reset(const Config& cfg)
{
    QMetaObject::invokeMethod(worker_, [w = worker_, cfg] { w->reset(cfg); }, Qt::QueuedConnection);
}

void SimulationController::setPackingFraction(double phi)
{
    QMetaObject::invokeMethod(worker_, [w = worker_, phi] { w->setPackingFraction(phi); },
                              Qt::QueuedConnection);
}

void SimulationController::setPeclet(double pe)
{
    QMetaObject::invokeMethod(worker_, [w = worker_, pe] { w->setPeclet(pe); }, Qt::QueuedConnection);
}

void SimulationController::setRunning(bool run)
{
    QMetaObject::invokeMethod(worker_, [w = worker_, run] { w->setRunning(run); }, Qt::QueuedConnection);
}

void SimulationController::step()
{
    QMetaObject::invokeMethod(worker_, [w = worker_] { w->stepOnce(); }, Qt::QueuedConnection);
}

void SimulationController::saveNetwork(const QString& path)
{
    QMetaObject::invokeMethod(worker_, [w = worker_, path] { w->saveNetwork(path); }, Qt::QueuedConnection);
}

void SimulationController::loadNetwork(const QString& path)
{
    QMetaObject::invokeMethod(worker_, [w = worker_, path] { w->loadNetwork(path); }, Qt::QueuedConnection);
}

}  // namespace entroscope::gui

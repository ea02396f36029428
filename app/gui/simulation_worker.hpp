#pragma once
// The simulation runs on its own thread. The worker owns the engine's
// Simulator, advances it in chunks of roughly 30 ms and publishes the newest
// immutable snapshot; the GUI thread takes that snapshot at display rate.
// Parameter changes travel the other way as queued calls that the worker
// handles between chunks, so the GUI never waits for the engine.
//
// The worker also feeds the online trainer (online_trainer.hpp): it pushes
// snapshots into the trainer's replay buffer at about the rate the trainer
// consumes them, tags them with a physics generation that bumps whenever
// phi or Pe change (warm start), and restarts the trainer on a new system.
#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QThread>
#include <memory>
#include <mutex>

#include "app/gui/online_trainer.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"

namespace entroscope {
class Simulator;
}

namespace entroscope::gui {

struct Snapshot {
    std::shared_ptr<const State> state;
    Config config;                // the simulator's config when the state was taken
    double stepsPerSecond = 0.0;  // recent average
    std::uint64_t generation = 0; // increments on every rebuild
    bool running = false;
    // The trainer's newest estimate (null when online training is off). Its
    // sigma refers to particle indices of a snapshot up to ~2 s older.
    std::shared_ptr<const LearnedEstimate> learned;
};

struct WorkerOptions {
    int threads = 0;          // simulation threads; 0: all cores but one
    bool training = true;     // run the online trainer
    OnlineTrainer::Options trainer;
};

// Lives on the worker thread; use it through SimulationController.
class SimulationWorker : public QObject {
    Q_OBJECT
public:
    explicit SimulationWorker(const WorkerOptions& opt);
    ~SimulationWorker() override;

    std::shared_ptr<const Snapshot> latest() const;

    // Worker-thread side of the commands (invoked queued by the controller).
    void reset(const Config& cfg);
    void setPackingFraction(double phi);
    void setPeclet(double pe);
    void setRunning(bool run);
    void stepOnce();
    void shutdown();
    // Republish (the trainer has news while the simulation is paused).
    void republishIfIdle();
    // Write the online network as a checkpoint, or replace it by one from a
    // file; the trainer does it between two steps, then networkFileDone.
    void saveNetwork(const QString& path);
    void loadNetwork(const QString& path);

Q_SIGNALS:
    void errorOccurred(const QString& message);
    void runningChanged(bool running);
    // `error` is empty on success. Emitted from the trainer's thread.
    void networkFileDone(bool saved, const QString& path, const QString& error);

private:
    void tick();
    void runChunk();
    void publish();
    void fail(const QString& what, const std::exception& e);
    void feedTrainer(const std::shared_ptr<const State>& state);

    int threads_;
    std::unique_ptr<OnlineTrainer> trainer_;
    std::uint64_t physicsTag_ = 0;
    std::uint64_t trainerStepsAtPush_ = 0;
    std::int64_t lastPushMs_ = -1;
    std::uint64_t lastPushedStep_ = 0;
    QElapsedTimer clock_;
    std::unique_ptr<Simulator> sim_;
    std::uint64_t generation_ = 0;
    bool running_ = false;
    bool tickQueued_ = false;
    double secondsPerStep_ = 0.0;  // running estimate, sizes the chunks
    double stepsPerSecond_ = 0.0;

    mutable std::mutex mutex_;
    std::shared_ptr<const Snapshot> latest_;
};

// GUI-thread facade: owns the thread and the worker, forwards commands.
class SimulationController : public QObject {
    Q_OBJECT
public:
    explicit SimulationController(QObject* parent = nullptr, WorkerOptions opt = {});
    ~SimulationController() override;

    // Newest snapshot, or null before the first one. Cheap; call at any rate.
    std::shared_ptr<const Snapshot> latest() const;

    void reset(const Config& cfg);
    void setPackingFraction(double phi);
    void setPeclet(double pe);
    void setRunning(bool run);
    void step();
    // See SimulationWorker; the answer is networkFileDone.
    void saveNetwork(const QString& path);
    void loadNetwork(const QString& path);

Q_SIGNALS:
    void errorOccurred(const QString& message);
    void runningChanged(bool running);
    void networkFileDone(bool saved, const QString& path, const QString& error);

private:
    QThread thread_;
    SimulationWorker* worker_ = nullptr;
};

}  // namespace entroscope::gui

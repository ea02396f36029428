#pragma once
// Online score learning for the window (SPEC §4 "Online"): a trainer thread
// owns the ScoreModel, samples particle batches from a ReplayBuffer that the
// simulation thread fills, and every ~1.5 s evaluates the EMA network (with
// divergence) on the newest snapshot to publish the learned entropy
// production (SPEC §2) as an immutable LearnedEstimate.
//
// No Qt here: the trainer is a std::thread with a small command mailbox, so
// it could be driven by any front end. Everything it throws is caught on its
// own thread and turned into a visible message; the simulation never waits
// for it. Only the score-model facade is used, never torch itself.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/analysis/estimators.hpp"
#include "entroscope/core/state.hpp"

namespace entroscope {
class ReplayBuffer;
class ScoreModel;
}  // namespace entroscope

namespace entroscope::gui {

// What the trainer knows now. Intensive quantities are per particle.
struct LearnedEstimate {
    std::uint64_t modelGeneration = 0;  // bumps on every fresh (or loaded) model
    std::uint64_t physicsTag = 0;       // the physics the newest evaluation belongs to
    ModelKind model = ModelKind::Aoup;
    int n = 0;

    // Training.
    std::uint64_t trainingSteps = 0;    // the model's total optimiser steps (a loaded model starts > 0)
    std::uint64_t sessionSteps = 0;     // steps taken by this trainer since the model was made
    double stepsPerSecond = 0.0;        // recent
    double recentLoss = 0.0;            // mean over the last steps (NaN before the first)
    int batch = 0;
    std::string source;                 // "fresh network" or "pretrained <file>"
    std::string message;                // status line (why the model is fresh, errors)
    bool failed = false;                // training stopped on an error (simulation goes on)

    // Newest evaluation; evaluations == 0 before the first one.
    std::int64_t evaluations = 0;            // in the current window (since the physics last changed)
    std::uint64_t evaluatedAtTrainingStep = 0;
    std::uint64_t evaluatedAtSimStep = 0;
    double evaluatedAtTime = 0.0;
    double evaluationSeconds = 0.0;          // wall time of one evaluation
    std::vector<double> sigma;               // n: instantaneous sigma_i = |v_a|^2 / D_a (>= 0)
    MeanSe eprActive;                        // per particle, |v|^2 estimator, mean +- SE over the window
    MeanSe eprActiveDiv;                     // per particle, divergence estimator
    MeanSe gap;                              // per particle, sigma_sq - sigma_div
    MeanSe eprX;                             // per particle, x part (finite only when D_x > 0)
    MeanSe eprActiveExact;                   // per particle, network-free -<sum div_x b_x>/n (D_x = 0 only; NaN otherwise)
    XPart xPart = XPart::Infinite;
    std::string xNote;
};

class OnlineTrainer {
public:
    struct Options {
        // Wall time between evaluations; stretched so that evaluating never
        // takes more than about half the trainer's time.
        double evalIntervalSeconds = 1.5;
        // Evaluations in the sliding window of the global estimate.
        int window = 16;
        // Tried first for every fresh model; empty or missing: fresh network.
        std::string pretrainedPath;
        // Upper bound on the replay buffer's memory.
        std::size_t bufferBytes = std::size_t(256) << 20;
        int torchThreads = 1;
    };

    explicit OnlineTrainer(Options opt);
    ~OnlineTrainer();  // stops and joins the thread
    OnlineTrainer(const OnlineTrainer&) = delete;
    OnlineTrainer& operator=(const OnlineTrainer&) = delete;

    // --- any thread -------------------------------------------------------
    // A new system: drop the model and the buffer and start a fresh model
    // (the pretrained one when it fits cfg). `tag` must not decrease.
    void restart(const Config& cfg, std::uint64_t tag);
    // The physics changed under the same system (phi, Pe): keep training the
    // same weights (warm start); the buffer phases the old snapshots out and
    // the estimate window starts over.
    void setPhysics(const Config& cfg, std::uint64_t tag);
    // A decorrelated snapshot of the running simulation.
    void push(std::shared_ptr<const State> state, std::uint64_t tag);
    // Optimiser steps taken since the current model was made (for pacing).
    std::uint64_t sessionSteps() const { return sessionSteps_.load(std::memory_order_relaxed); }
    // Newest estimate (never null after construction).
    std::shared_ptr<const LearnedEstimate> latest() const;
    // Between two training steps, on the trainer thread: write the network
    // as a checkpoint (what `entroscope-cli train` writes, so the CLI can
    // estimate with it or train on), or replace it by one read from a file
    // (it must fit the running system, as a pretrained one). `done` is called
    // on the trainer thread with "" on success or the reason; a failed load
    // keeps the current network.
    using Done = std::function<void(const std::string& error)>;
    void saveModel(const std::string& path, Done done);
    void loadModel(const std::string& path, Done done);
    // Called on the trainer thread after each publish (keep it cheap).
    void setNotify(std::function<void()> notify);

private:
    struct Command {
        Config cfg;
        std::uint64_t tag = 0;
        bool restart = false;
        std::string savePath, loadPath;  // a save or load command (cfg, tag unused)
        Done done;
    };
    static Command physicsCommand(const Config& cfg, std::uint64_t tag, bool restart);
    void queueFile(bool save, const std::string& path, Done done);
    void run();
    void applyCommand(const Command& c);
    void buildModel(const Config& cfg);
    std::unique_ptr<ScoreModel> loadFitting(const std::string& path, const Config& cfg, std::string& error) const;
    void install(std::unique_ptr<ScoreModel> model, const std::string& source, const std::string& note);
    void saveOrLoad(const Command& c);
    bool trainOnce();
    void evaluate();
    void publish();
    void fail(const std::string& what);

    const Options opt_;

    // Shared with the other threads (guarded by mutex_).
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<Command> commands_;
    std::shared_ptr<ReplayBuffer> buffer_;
    std::shared_ptr<const State> newest_;
    std::uint64_t newestTag_ = 0;
    std::shared_ptr<const LearnedEstimate> latest_;
    std::function<void()> notify_;
    bool stop_ = false;
    bool restartPending_ = false;  // the published estimate is a placeholder until the new model exists
    std::atomic<std::uint64_t> sessionSteps_{0};

    // Trainer-thread state.
    std::unique_ptr<ScoreModel> model_;
    Config cfg_;
    std::uint64_t tag_ = 0;
    std::uint64_t generation_ = 0;
    std::shared_ptr<ReplayBuffer> activeBuffer_;
    std::vector<ParticleEstimates> window_;
    LearnedEstimate est_;
    std::vector<double> losses_;
    std::uint64_t rngState_ = 0x2545f4914f6cdd1dull;
    std::thread thread_;  // last: starts after everything above exists
};

}  // namespace entroscope::gui

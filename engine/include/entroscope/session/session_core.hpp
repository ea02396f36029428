#pragma once
// The deterministic core of a live session: the simulator, the replay buffer
// of decorrelated snapshots, the score network and its trainer, the estimate
// window and the spatial fields of one running system (SPEC §2, §4). It is
// driven by simulation steps: every `sample_every` steps a snapshot enters
// the buffer and the trainer takes `train_per_snapshot` optimiser steps on
// batches drawn from it; every `evaluate_every` snapshots the network is
// evaluated on the newest one. Same config, options and seed: same weights,
// bit for bit, whoever drives it (`train`, `estimate`, a test).
//
// The threaded driver (live_session.hpp) runs the two halves of the core on
// two threads with wall-clock pacing; each member function says which half
// it belongs to. Sim half: the simulator and what is pushed into the buffer.
// Learn half: the network, the trainer, the window. The buffer and the
// newest snapshot are shared and locked inside; nothing else is.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "entroscope/analysis/fields.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"
#include "entroscope/session/frame.hpp"

namespace entroscope {

class ReplayBuffer;
class ScoreModel;
class Simulator;
class Trainer;

struct SessionOptions {
    // --- the network ---------------------------------------------------
    bool training = true;          // build a network and train it
    // Must load and fit (ConfigError / IoError otherwise): `train --resume`,
    // `estimate --model`.
    std::string model_path;
    // Tried when model_path is empty; a missing or unfitting file falls back
    // to a fresh network with a note saying why (the window's warm start).
    std::string pretrained_path;
    // Optimiser steps the learning-rate schedule (warm-up + cosine) runs
    // over, counted from the network's current step. 0: open-ended (a fresh
    // network gets kOpenEndedSchedule; a loaded one keeps its own schedule,
    // so a finished one refines at the floor instead of restarting).
    std::uint64_t schedule_steps = 0;
    static constexpr std::uint64_t kOpenEndedSchedule = 200000;
    std::string device;            // "" or "cpu", "cuda", "cuda:N"

    // --- data ------------------------------------------------------------
    // Start from this state instead of the config's initial one (it must fit
    // the config: ConfigError otherwise). The window resumes a sweep point.
    std::shared_ptr<const State> initial_state;
    std::uint64_t sample_every = 10;  // simulation steps between snapshots
    int train_per_snapshot = 0;       // optimiser steps per snapshot; 0: n / batch (SPEC §4)
    std::size_t buffer_bytes = std::size_t(256) << 20;
    int sim_threads = 1;

    // --- estimation --------------------------------------------------------
    int evaluate_every = 0;     // snapshots between evaluations; 0: only when asked
    int divergence_every = 1;   // every k-th evaluation also computes divergences
    int window = 16;            // evaluations in the global estimate; 0: all
    bool fields = true;         // grid the density, sigma and current at each evaluation
    int field_bins = 64;
    double field_width = 0.0;   // kernel width; <= 0: a particle diameter
};

class SessionCore {
public:
    // Builds the system of `cfg` (validated again) with a data seed: cfg.seed,
    // except when training the network of model_path (a resumed run): then a
    // seed derived from cfg.seed and the network's step, so that it continues
    // the random streams instead of replaying them (data_seed()).
    // Throws ConfigError / IoError.
    SessionCore(const Config& cfg, SessionOptions opt);
    // Training on stored frames (`train --trajectory`): the buffer holds the
    // frames and no simulator runs; advance() is not available.
    SessionCore(const Config& cfg, SessionOptions opt, std::vector<State> frames);
    ~SessionCore();
    SessionCore(const SessionCore&) = delete;
    SessionCore& operator=(const SessionCore&) = delete;

    const SessionOptions& options() const { return opt_; }
    std::uint64_t data_seed() const { return data_seed_; }
    // The physics of the running system (sim half).
    const Config& config() const { return cfg_; }
    std::uint64_t physics_tag() const { return tag_; }

    // --- deterministic driving (one thread) --------------------------------
    // Simulation steps with no snapshots, training or evaluation.
    void burn_in(std::uint64_t steps);
    // `steps` simulation steps on the schedule above.
    void advance(std::uint64_t steps);
    // Optimiser steps on the schedule above (the simulation advances by
    // snapshots as the schedule needs). `keep_going` is asked before each
    // step (a wall-clock budget); returns the steps taken. Throws what the
    // trainer throws; the weights are then those of the last good step.
    std::uint64_t train(std::uint64_t steps, const std::function<bool()>& keep_going = {});

    // --- sim half ------------------------------------------------------------
    // Advance the simulator (no snapshot, no training). Throws
    // NumericalError with the state before the call restored.
    void simulate(std::uint64_t steps);
    const State& state() const;
    // The current state into the replay buffer and as the newest snapshot.
    std::shared_ptr<const State> push_snapshot();
    // Parameter changes at the same system (warm start): the buffer phases
    // the old physics out. Return the new tag; the learn half must be told
    // with apply_physics (advance does it itself).
    std::uint64_t set_packing_fraction(double phi);
    std::uint64_t set_peclet(double pe);
    // A new time step for the running system, from its current state (the
    // way out of a blow-up). A parameter change like the two above: the
    // Euler chain's stationary law, and so the estimate, depend on dt.
    // Throws ConfigError unless dt > 0 and finite.
    std::uint64_t set_time_step(double dt);
    void set_sim_threads(int threads);

    // --- learn half ----------------------------------------------------------
    // One optimiser step from the buffer; false when there is nothing to
    // learn from (empty buffer, training off or stopped).
    bool train_once();
    // The physics changed (tag from the sim half): the network moves to it,
    // the estimate window starts over.
    void apply_physics(const Config& cfg, std::uint64_t tag);
    // Evaluate the network (EMA weights) on `state` (the newest snapshot when
    // null): per-particle quantities, fields, a window point. Null when there
    // is no network or no snapshot. A failure marks training failed.
    std::shared_ptr<const Evaluation> evaluate(bool with_divergence, std::shared_ptr<const State> state = nullptr);
    std::shared_ptr<const GlobalEstimate> estimate() const;
    std::shared_ptr<const Evaluation> last_evaluation() const;
    // The window's full summary (sums over particles, per-particle time
    // averages). batches < 0: the session's rule (batch means with ten
    // batches from 20 evaluations on, else independent evaluations).
    EstimatorAccumulator::Summary window_summary(int batches = -1) const;
    TrainingStatus training_status() const;
    // Window length, fields on/off, bins and width (as in SessionOptions);
    // a new window length starts the window over (the grid alone does not).
    // Throws ConfigError.
    void set_estimation(int window, bool fields, int bins, double width);
    // Checkpoints between two steps. save: throws IoError. load: the file
    // must fit the running system; on failure the current network is kept
    // and the error thrown.
    void save_model(const std::string& path) const;
    void load_model(const std::string& path);
    // Null when training is off or the network could not be built.
    const ScoreModel* model() const { return model_.get(); }
    ScoreModel* model() { return model_.get(); }
    std::shared_ptr<const State> newest_snapshot() const;

    // A frame of the current state (sim half); `learned` is set when the
    // newest evaluation is of exactly this state. What it takes from the
    // learn half (status, estimate, evaluation) was published by it, so the
    // two halves may run on two threads.
    std::shared_ptr<Frame> frame() const;
    // A frame of the newest evaluation's own state (null before the first).
    std::shared_ptr<Frame> learned_frame() const;

private:
    void build_model();
    void install(std::unique_ptr<ScoreModel> model, const std::string& source, const std::string& note);
    void reset_window();
    void fail(const std::string& what);
    void solve_exact();
    void publish_status();
    int batch() const;
    bool resuming() const;
    int per_snapshot() const;

    SessionOptions opt_;
    Config cfg_;        // sim half's physics
    Config learn_cfg_;  // the physics the network is at
    std::uint64_t tag_ = 0, learn_tag_ = 0;
    std::uint64_t data_seed_ = 0;
    std::unique_ptr<Simulator> sim_;
    std::shared_ptr<ReplayBuffer> buffer_;
    std::unique_ptr<ScoreModel> model_;
    std::unique_ptr<Trainer> trainer_;
    std::string source_, message_;
    bool failed_ = false;
    std::uint64_t generation_ = 0;
    std::uint64_t session_steps_ = 0;
    std::uint64_t evaluations_ = 0;
    int pending_train_ = 0;    // optimiser steps the current snapshot still owes
    int snapshots_ = 0;        // since the last evaluation (advance's schedule)
    int evals_since_div_ = 0;

    mutable std::mutex newest_mutex_;
    std::shared_ptr<const State> newest_;
    std::uint64_t newest_tag_ = 0;
    mutable std::shared_ptr<const State> frame_state_;  // sim half only
    mutable std::uint64_t frame_state_tag_ = 0;

    // What the learn half publishes for the sim half's frames.
    mutable std::mutex pub_mutex_;
    std::shared_ptr<const Evaluation> last_eval_;
    Config eval_cfg_;
    TrainingStatus status_;

    struct Window;
    std::unique_ptr<Window> window_;
    std::shared_ptr<const GlobalEstimate> estimate_;
    // Exact per-particle values of a linear system (NaN otherwise).
    double exact_active_ = GlobalEstimate::kNaN, exact_active_chain_ = GlobalEstimate::kNaN;
    double exact_x_ = GlobalEstimate::kNaN, exact_x_chain_ = GlobalEstimate::kNaN;
};

}  // namespace entroscope

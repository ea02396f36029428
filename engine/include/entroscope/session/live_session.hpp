#pragma once
// The threaded driver of a live session (no Qt): the session core's sim half
// runs on a simulation thread in chunks of about 30 ms and publishes a frame
// after each; its learn half runs on a learner thread that trains step by
// step and evaluates the network within a share of its time. Commands
// (parameter changes, pause/step/reset, checkpoints, estimator settings)
// queue up and are applied in order between two chunks, so a front end never
// waits for the engine. The window uses it through a thin Qt adapter; the
// headless `bench --what live` runs it as the window does.
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/session/frame.hpp"
#include "entroscope/session/session_core.hpp"

namespace entroscope {

struct LiveOptions {
    SessionOptions session;       // sample_every, evaluate_every: unused (wall-clock pacing)
    // The split of the cores: OpenMP threads of the simulation, LibTorch
    // threads of the learner.
    int sim_threads = 1;
    int train_threads = 1;
    double chunk_seconds = 0.03;  // wall time of one simulation chunk
    // Shares of the learner's wall time that evaluations may take: the cheap
    // estimators (|v|^2, no divergences) and the ones with divergences.
    double eval_share = 0.10;
    double divergence_share = 0.07;
    double min_eval_interval = 0.25;       // seconds
    double min_divergence_interval = 1.0;  // seconds
    // A snapshot enters the buffer once the learner has taken n / batch
    // steps on the last one (each snapshot feeds that many batches), or
    // after this long, so evaluations see a recent state.
    double max_snapshot_interval = 0.7;
    bool running = true;          // start simulating at once
    // Scheduling niceness of the two worker threads (Linux; 0: unchanged).
    // Raising one lets the GUI thread and the renderer, and the other
    // worker, come first when the cores are short.
    int sim_nice = 0;
    int train_nice = 0;
};

class LiveSession {
public:
    // Starts both threads; the system is built on the simulation thread (a
    // failure there shows up as the frame's notice, not as a throw).
    LiveSession(const Config& cfg, LiveOptions opt);
    ~LiveSession();  // stops and joins both threads
    LiveSession(const LiveSession&) = delete;
    LiveSession& operator=(const LiveSession&) = delete;

    // --- commands (any thread) -------------------------------------------
    void reset(const Config& cfg);            // a new system: new network (pretrained when it fits)
    // A new system that continues from `state` (which must fit cfg; a
    // misfit is reported as a notice and the running system goes on).
    void reset(const Config& cfg, std::shared_ptr<const State> state);
    void set_packing_fraction(double phi);    // same system, warm start
    void set_peclet(double pe);
    // A new time step from the current state (after a blow-up: the kept
    // one); it does not start a paused run. A refused dt is said in the
    // frames' notice.
    void set_time_step(double dt);
    void set_running(bool running);
    void step();                              // one chunk while paused
    void set_training(bool on);               // pause or resume the learner's training (evaluation goes on)
    using Done = std::function<void(const std::string& error)>;  // "" on success; called on a driver thread
    void save_model(const std::string& path, Done done);
    void load_model(const std::string& path, Done done);
    void set_estimation(int window, bool fields, int bins, double width, Done done = {});

    // --- publication ---------------------------------------------------------
    // The newest frame (null before the system exists). Cheap; any rate.
    std::shared_ptr<const Frame> latest() const;
    // The newest frame that carries learned values (its own state).
    std::shared_ptr<const Frame> latest_learned() const;
    // A smaller time step for a run that blew up at cfg.dt: half of it, and
    // for ABP at most the physics bound Config::abp_time_step().
    static double suggested_time_step(const Config& cfg);
    // Why the simulation stopped or a system could not be built ("" if
    // fine); also before any frame exists.
    std::string notice() const;
    // Called on a driver thread after each publication; keep it cheap.
    void set_notify(std::function<void()> notify);

    struct Stats {
        std::uint64_t sim_steps = 0;        // since the current system was built
        std::uint64_t particle_steps = 0;
        std::uint64_t train_steps = 0;
        std::uint64_t evaluations = 0;
        std::uint64_t divergence_evaluations = 0;
        double seconds = 0.0;               // since the current system was built
        double sim_seconds = 0.0;           // spent simulating
        double train_seconds = 0.0;         // spent in optimiser steps
        double eval_seconds = 0.0;          // spent evaluating
        double seconds_to_first_estimate = -1.0;  // -1: none yet
    };
    Stats stats() const;

private:
    struct Command {
        enum Kind { Reset, Phi, Pe, TimeStep, Running, Step, Training, Save, Load, Estimation };
        explicit Command(Kind k) : kind(k) {}
        Kind kind;
        Config cfg;
        std::shared_ptr<const State> state;
        double value = 0.0;
        bool flag = false;
        int window = 0, bins = 0;
        double width = 0.0;
        std::string path;
        Done done;
    };
    void queue(Command c);
    void sim_loop();
    void learn_loop();
    void apply(Command& c);
    void build(const Config& cfg, std::shared_ptr<const State> state = nullptr);
    void publish(std::shared_ptr<Frame> f);
    void notify();
    std::unique_lock<std::mutex> lock_learner();

    const LiveOptions opt_;

    mutable std::mutex cmd_mutex_;
    std::condition_variable cmd_wake_;
    std::vector<Command> commands_;
    bool stop_ = false;

    // The core; replaced (reset) only with learn_mutex_ held, so the learner
    // never sees it change under it. The sim half is the sim thread's alone.
    std::mutex learn_mutex_;
    std::condition_variable learn_wake_;
    std::unique_ptr<SessionCore> core_;
    std::atomic<bool> training_on_{true};
    std::atomic<std::uint64_t> learner_epoch_{0};  // bumps when the core is replaced
    std::atomic<int> learner_waiters_{0};          // sim-thread sections waiting for learn_mutex_

    // Sim thread state.
    bool running_ = false;
    std::uint64_t generation_ = 0;
    double sim_rate_ = 0.0;           // steps/s, smoothed
    double seconds_per_step_ = 0.0;
    std::string notice_;
    double suggested_dt_ = 0.0;       // > 0 while paused on a blow-up
    double last_push_ = -1.0;
    std::uint64_t steps_at_push_ = 0;
    bool republish_ = false;                          // the run stopped by itself
    std::array<std::uint64_t, 4> published_news_{};  // what the last frame knew of the learner

    mutable std::mutex pub_mutex_;
    std::shared_ptr<const Frame> latest_, latest_learned_;
    std::string pending_notice_;  // a build failure before any frame
    std::function<void()> notify_;
    Stats stats_;
    double t_built_ = 0.0;
    double train_rate_ = 0.0;

    std::thread sim_thread_, learn_thread_;  // last: start after everything above exists
};

}  // namespace entroscope

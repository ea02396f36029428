#include "entroscope/session/live_session.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "entroscope/core/errors.hpp"
#include "entroscope/score/score_model.hpp"

namespace entroscope {

namespace {

using Clock = std::chrono::steady_clock;

double now_seconds() {
    static const auto t0 = Clock::now();
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr std::uint64_t kMaxChunkSteps = 100000;

// Lowers the calling thread's priority (Linux threads have their own nice
// value); best effort: a refusal leaves it as it was.
void lower_priority(int nice) {
    if (nice <= 0) return;
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    (void)::setpriority(PRIO_PROCESS, tid, nice);
}

}  // namespace

LiveSession::LiveSession(const Config& cfg, LiveOptions opt) : opt_(std::move(opt)) {
    running_ = opt_.running;
    training_on_ = opt_.session.training;
    Command c(Command::Reset);
    c.cfg = cfg;
    commands_.push_back(std::move(c));
    sim_thread_ = std::thread([this] { sim_loop(); });
    learn_thread_ = std::thread([this] { learn_loop(); });
}

LiveSession::~LiveSession() {
    {
        std::lock_guard<std::mutex> lock(cmd_mutex_);
        stop_ = true;
    }
    cmd_wake_.notify_all();
    {
        const auto lock = lock_learner();
    }
    learn_wake_.notify_all();
    sim_thread_.join();
    learn_thread_.join();
}

void LiveSession::queue(Command c) {
    {
        std::lock_guard<std::mutex> lock(cmd_mutex_);
        commands_.push_back(std::move(c));
    }
    cmd_wake_.notify_all();
}

void LiveSession::reset(const Config& cfg) {
    Command c(Command::Reset);
    c.cfg = cfg;
    queue(std::move(c));
}
void LiveSession::reset(const Config& cfg, std::shared_ptr<const State> state) {
    Command c(Command::Reset);
    c.cfg = cfg;
    c.state = std::move(state);
    queue(std::move(c));
}
void LiveSession::set_packing_fraction(double phi) {
    Command c(Command::Phi);
    c.value = phi;
    queue(std::move(c));
}
void LiveSession::set_peclet(double pe) {
    Command c(Command::Pe);
    c.value = pe;
    queue(std::move(c));
}
void LiveSession::set_time_step(double dt) {
    Command c(Command::TimeStep);
    c.value = dt;
    queue(std::move(c));
}
void LiveSession::set_running(bool running) {
    Command c(Command::Running);
    c.flag = running;
    queue(std::move(c));
}
void LiveSession::step() { queue(Command(Command::Step)); }
void LiveSession::set_training(bool on) {
    Command c(Command::Training);
    c.flag = on;
    queue(std::move(c));
}
void LiveSession::save_model(const std::string& path, Done done) {
    Command c(Command::Save);
    c.path = path;
    c.done = std::move(done);
    queue(std::move(c));
}
void LiveSession::load_model(const std::string& path, Done done) {
    Command c(Command::Load);
    c.path = path;
    c.done = std::move(done);
    queue(std::move(c));
}
void LiveSession::set_estimation(int window, bool fields, int bins, double width, Done done) {
    Command c(Command::Estimation);
    c.window = window;
    c.flag = fields;
    c.bins = bins;
    c.width = width;
    c.done = std::move(done);
    queue(std::move(c));
}

double LiveSession::suggested_time_step(const Config& cfg) {
    double dt = 0.5 * cfg.dt;
    // A dt far above the bound would only blow up again a few halvings later.
    if (cfg.model == ModelKind::Abp) dt = std::min(dt, cfg.abp_time_step());
    return dt;
}

std::shared_ptr<const Frame> LiveSession::latest() const {
    std::lock_guard<std::mutex> lock(pub_mutex_);
    return latest_;
}

std::shared_ptr<const Frame> LiveSession::latest_learned() const {
    std::lock_guard<std::mutex> lock(pub_mutex_);
    return latest_learned_;
}

void LiveSession::set_notify(std::function<void()> notify) {
    std::lock_guard<std::mutex> lock(pub_mutex_);
    notify_ = std::move(notify);
}

std::string LiveSession::notice() const {
    std::lock_guard<std::mutex> lock(pub_mutex_);
    return latest_ ? latest_->notice : pending_notice_;
}

LiveSession::Stats LiveSession::stats() const {
    std::lock_guard<std::mutex> lock(pub_mutex_);
    Stats s = stats_;
    s.seconds = now_seconds() - t_built_;
    return s;
}

void LiveSession::notify() {
    std::function<void()> n;
    {
        std::lock_guard<std::mutex> lock(pub_mutex_);
        n = notify_;
    }
    if (n) n();
}

// ---------------------------------------------------------------------------
// Simulation thread

// The learner re-takes its mutex right after each step; a plain lock from
// this side could wait behind it for many steps. Saying that it waits makes
// the learner step aside after its current step.
std::unique_lock<std::mutex> LiveSession::lock_learner() {
    ++learner_waiters_;
    std::unique_lock<std::mutex> lock(learn_mutex_);
    --learner_waiters_;
    return lock;
}

void LiveSession::build(const Config& cfg, std::shared_ptr<const State> state) {
    std::unique_ptr<SessionCore> core;
    std::string error;
    SessionOptions so = opt_.session;
    so.sim_threads = std::max(1, opt_.sim_threads);
    so.initial_state = std::move(state);
    std::string note;
    try {
        core = std::make_unique<SessionCore>(cfg, so);
    } catch (const std::exception& e) {
        error = e.what();
    }
    if (!core && so.training) {
        // The system may be fine and only its network not: simulate without one.
        so.training = false;
        try {
            core = std::make_unique<SessionCore>(cfg, so);
            note = "Training is off: cannot build the score network (" + error + ").";
            error.clear();
        } catch (const std::exception&) {
        }
    }
    if (!core) {
        // Nothing is lost: the running system (if any) goes on.
        notice_ = "Cannot build the system: " + error;
        republish_ = true;
        std::lock_guard<std::mutex> lock(pub_mutex_);
        pending_notice_ = notice_;
        return;
    }
    {
        const auto lock = lock_learner();
        core_ = std::move(core);
        ++learner_epoch_;
    }
    learn_wake_.notify_all();
    notice_ = note;
    suggested_dt_ = 0.0;
    ++generation_;
    sim_rate_ = 0.0;
    seconds_per_step_ = 0.0;
    last_push_ = -1.0;
    steps_at_push_ = 0;
    {
        std::lock_guard<std::mutex> lock(pub_mutex_);
        pending_notice_.clear();
        stats_ = Stats{};
        t_built_ = now_seconds();
        latest_learned_.reset();
    }
}

void LiveSession::apply(Command& c) {
    std::string error;
    switch (c.kind) {
    case Command::Reset:
        build(c.cfg, c.state);
        return;
    case Command::Running:
        running_ = c.flag;
        if (running_) suggested_dt_ = 0.0;  // resumed as it was: the offer is gone
        return;
    case Command::Training:
        training_on_ = c.flag;
        learn_wake_.notify_all();
        return;
    default:
        break;
    }
    if (!core_) {
        if (c.done) c.done("there is no system");
        return;
    }
    try {
        switch (c.kind) {
        case Command::Phi:
        case Command::Pe:
        case Command::TimeStep: {
            const std::uint64_t tag = c.kind == Command::Phi  ? core_->set_packing_fraction(c.value)
                                      : c.kind == Command::Pe ? core_->set_peclet(c.value)
                                                              : core_->set_time_step(c.value);
            const auto lock = lock_learner();
            core_->apply_physics(core_->config(), tag);
            last_push_ = -1.0;  // the new physics needs samples at once
            break;
        }
        case Command::Step:
            if (!running_) {
                core_->simulate(std::max<std::uint64_t>(1, seconds_per_step_ > 0 ? static_cast<std::uint64_t>(opt_.chunk_seconds / seconds_per_step_) : 1));
                core_->push_snapshot();
            }
            break;
        case Command::Save: {
            const auto lock = lock_learner();
            core_->save_model(c.path);
            break;
        }
        case Command::Load: {
            const auto lock = lock_learner();
            core_->load_model(c.path);
            break;
        }
        case Command::Estimation: {
            const auto lock = lock_learner();
            core_->set_estimation(c.window, c.flag, c.bins, c.width);
            break;
        }
        default:
            break;
        }
    } catch (const std::exception& e) {
        error = e.what();
    }
    // A refused parameter is said in the frames; the run goes on.
    if (c.kind == Command::Phi || c.kind == Command::Pe) {
        notice_ = error.empty() ? std::string() : (c.kind == Command::Phi ? "Cannot set the packing fraction: " : "Cannot set the activity: ") + error;
    }
    if (c.kind == Command::TimeStep) {
        // A new dt answers a blow-up: its notice and offer go with it.
        notice_ = error.empty() ? std::string() : "Cannot set the time step: " + error;
        if (error.empty()) suggested_dt_ = 0.0;
    }
    if (c.done) c.done(error);
}

void LiveSession::publish(std::shared_ptr<Frame> f) {
    f->system_generation = generation_;
    f->running = running_;
    f->sim_steps_per_second = running_ ? sim_rate_ : 0.0;
    f->notice = notice_;
    f->suggested_dt = running_ ? 0.0 : suggested_dt_;
    {
        std::lock_guard<std::mutex> lock(pub_mutex_);
        f->training.steps_per_second = train_rate_;
        latest_ = std::move(f);
    }
    notify();
}

void LiveSession::sim_loop() {
    lower_priority(opt_.sim_nice);
    for (;;) {
        std::vector<Command> commands;
        {
            std::unique_lock<std::mutex> lock(cmd_mutex_);
            if (!running_ || !core_) {
                cmd_wake_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stop_ || !commands_.empty(); });
            }
            if (stop_) return;
            commands.swap(commands_);
        }
        for (Command& c : commands) apply(c);
        if (!core_) {
            if (!commands.empty()) {
                std::lock_guard<std::mutex> lock(pub_mutex_);
                latest_.reset();
            }
            continue;
        }
        if (running_) {
            std::uint64_t steps = 1;
            if (seconds_per_step_ > 0.0)
                steps = static_cast<std::uint64_t>(std::clamp(opt_.chunk_seconds / seconds_per_step_, 1.0, static_cast<double>(kMaxChunkSteps)));
            const double t0 = now_seconds();
            try {
                core_->simulate(steps);
            } catch (const std::exception& e) {
                // The state from before the chunk is kept; the session pauses.
                running_ = false;
                republish_ = true;
                const double dt = core_->config().dt;
                suggested_dt_ = suggested_time_step(core_->config());
                char fix[160];
                std::snprintf(fix, sizeof fix, " The last good state is kept; a smaller time step (\"dt\" = %.3g instead of %.3g) avoids this.",
                              suggested_dt_, dt);
                std::string why = e.what();
                if (!why.empty() && why.back() != '.') why += '.';
                notice_ = "Simulation paused: " + why + fix;
            }
            const double elapsed = std::max(1e-9, now_seconds() - t0);
            if (running_) {
                const double per = elapsed / static_cast<double>(steps);
                seconds_per_step_ = seconds_per_step_ > 0.0 ? 0.7 * seconds_per_step_ + 0.3 * per : per;
                sim_rate_ = 1.0 / seconds_per_step_;
                std::lock_guard<std::mutex> lock(pub_mutex_);
                stats_.sim_steps += steps;
                stats_.particle_steps += steps * static_cast<std::uint64_t>(core_->config().n);
                stats_.sim_seconds += elapsed;
            }
        }
        // Feed the learner: a snapshot once the learner has used the last one
        // (n / batch steps), or after max_snapshot_interval.
        const TrainingStatus ts = core_->training_status();
        const int batch = std::max(1, ts.batch);
        const std::uint64_t per_snapshot = static_cast<std::uint64_t>(std::max(1, core_->config().n / batch));
        const double now = now_seconds();
        const auto newest = core_->newest_snapshot();
        const bool same_state = newest && newest->step == core_->state().step;
        if (!same_state && (last_push_ < 0.0 || ts.session_steps < steps_at_push_ ||
                            ts.session_steps - steps_at_push_ >= per_snapshot || now - last_push_ >= opt_.max_snapshot_interval)) {
            core_->push_snapshot();
            last_push_ = now;
            steps_at_push_ = ts.session_steps;
            learn_wake_.notify_all();
        }
        // Paused and nothing new from the learner: no frame (a front end
        // would draw it again for nothing).
        const auto est = core_->estimate();
        const std::array<std::uint64_t, 4> news{ts.session_steps, est ? est->last_index : 0, ts.model_generation,
                                                 static_cast<std::uint64_t>(ts.failed)};
        if (running_ || republish_ || !commands.empty() || news != published_news_ || !latest()) {
            published_news_ = news;
            republish_ = false;
            publish(core_->frame());
        }
    }
}

// ---------------------------------------------------------------------------
// Learner thread

void LiveSession::learn_loop() {
    lower_priority(opt_.train_nice);
    try {
        set_network_threads(std::max(1, opt_.train_threads));
    } catch (const Error&) {
    }
    std::uint64_t epoch = 0;
    double next_eval = 0.0, next_div = 0.0;
    double rate_t0 = now_seconds();
    std::uint64_t rate_steps0 = 0;
    double spent_cheap = 0.0, spent_div = 0.0, spent_train = 0.0;
    bool first = true, first_div = false;
    for (;;) {
        std::unique_lock<std::mutex> lock(learn_mutex_);
        {
            std::lock_guard<std::mutex> c(cmd_mutex_);
            if (stop_) return;
        }
        if (!core_) {
            learn_wake_.wait_for(lock, std::chrono::milliseconds(50));
            continue;
        }
        if (learner_epoch_ != epoch) {
            // A new system: the first value as soon as there is a snapshot
            // (no divergences: it comes faster), the first divergences
            // right after it.
            epoch = learner_epoch_;
            next_eval = 0.0;
            next_div = std::numeric_limits<double>::infinity();
            spent_cheap = spent_div = spent_train = 0.0;
            rate_t0 = now_seconds();
            rate_steps0 = 0;
            first = true;
            std::lock_guard<std::mutex> p(pub_mutex_);
            train_rate_ = 0.0;
        }
        SessionCore& core = *core_;
        bool worked = false;
        const double now = now_seconds();
        const bool have_snapshot = core.newest_snapshot() != nullptr;
        // While training, each kind of evaluation also keeps within its share
        // of the learner's working time since the system was built, so the
        // first evaluations do not push the share over it.
        const double work = spent_cheap + spent_div + spent_train;
        const bool training = training_on_ && !core.training_status().failed;
        const auto within = [&](double spent, double share) { return !training || spent <= share * work; };
        const bool div_due = now >= next_div && (first_div || within(spent_div, opt_.divergence_share));
        const bool cheap_due = now >= next_eval && (first || within(spent_cheap, opt_.eval_share));
        if (core.model() && have_snapshot && (div_due || cheap_due)) {
            const bool div = div_due;
            const auto ev = core.evaluate(div);
            if (ev) {
                worked = true;
                const double c = ev->seconds;
                const double after = now_seconds();
                (div ? spent_div : spent_cheap) += c;
                // Each kind of evaluation waits long enough after itself to stay
                // within its share of the learner's time.
                if (div) {
                    next_div = after + std::max(opt_.min_divergence_interval, c * (1.0 - opt_.divergence_share) / opt_.divergence_share);
                    next_eval = std::max(next_eval, after + opt_.min_eval_interval);
                    first_div = false;
                } else {
                    next_eval = after + std::max(opt_.min_eval_interval, c * (1.0 - opt_.eval_share) / opt_.eval_share);
                }
                if (first) {
                    next_div = after;
                    first_div = true;
                    first = false;
                }
                auto lf = core.learned_frame();
                std::lock_guard<std::mutex> p(pub_mutex_);
                stats_.evaluations += 1;
                stats_.divergence_evaluations += div ? 1 : 0;
                stats_.eval_seconds += c;
                if (stats_.seconds_to_first_estimate < 0.0) stats_.seconds_to_first_estimate = after - t_built_;
                if (lf) {
                    lf->system_generation = generation_;
                    lf->training.steps_per_second = train_rate_;
                    latest_learned_ = std::move(lf);
                }
            }
        }
        if (!worked && training_on_ && core.model()) {
            const double t0 = now_seconds();
            try {
                worked = core.train_once();
            } catch (const std::exception&) {
                worked = false;  // the core recorded why; its status says so
            }
            if (worked) {
                const double t1 = now_seconds();
                const TrainingStatus ts = core.training_status();
                std::lock_guard<std::mutex> p(pub_mutex_);
                stats_.train_steps += 1;
                stats_.train_seconds += t1 - t0;
                spent_train += t1 - t0;
                if (t1 - rate_t0 > 10.0) {
                    // Steps per second over the last ~10 s, evaluations included.
                    train_rate_ = static_cast<double>(ts.session_steps - rate_steps0) / (t1 - rate_t0);
                    rate_t0 = t1;
                    rate_steps0 = ts.session_steps;
                } else if (t1 - rate_t0 > 1.0 && train_rate_ == 0.0) {
                    train_rate_ = static_cast<double>(ts.session_steps - rate_steps0) / (t1 - rate_t0);
                }
            }
        }
        if (worked) {
            lock.unlock();
            cmd_wake_.notify_all();  // the sim thread republishes with the news when paused
            while (learner_waiters_.load() > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
            continue;
        }
        learn_wake_.wait_for(lock, std::chrono::milliseconds(20));
    }
}

}  // namespace entroscope

#include "entroscope/session/session_core.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>

#include "entroscope/analysis/estimators.hpp"
#include "entroscope/analysis/phase.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/core/seeding.hpp"
#include "entroscope/learn/replay_buffer.hpp"
#include "entroscope/learn/trainer.hpp"
#include "entroscope/physics/drift.hpp"
#include "entroscope/physics/linear_oracle.hpp"
#include "entroscope/score/score_model.hpp"
#include "entroscope/sim/simulator.hpp"

namespace entroscope {

namespace {

using Clock = std::chrono::steady_clock;

// Snapshots the buffer may hold: enough for variety, bounded in memory.
std::size_t buffer_capacity(const Config& cfg, std::size_t bytes) {
    const std::size_t per_snapshot =
        static_cast<std::size_t>(cfg.n) * (sizeof(double) * (2 + cfg.active_dim()) + sizeof(std::int32_t) * 2 + sizeof(int));
    return std::clamp<std::size_t>(bytes / std::max<std::size_t>(per_snapshot, 1), 4, 64);
}

MeanSe per_particle(MeanSe m, int n) {
    m.mean /= n;
    m.se /= n;
    return m;
}

// The standard error of a window's means: batch means (ten batches) once
// there are enough evaluations to form them, else the evaluations are taken
// as independent. One rule for the window and `estimate`.
int se_batches(std::int64_t count) { return count >= 20 ? 10 : 0; }

std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// A resumed run's data seed: the config's seed mixed with the network's step.
std::uint64_t data_seed_for(std::uint64_t seed, std::uint64_t network_step) {
    return network_step == 0 ? seed : derive_seed(seed, network_step);
}

}  // namespace

struct SessionCore::Window {
    explicit Window(const Config& cfg) : acc(cfg.n, cfg.types) {}
    std::deque<ParticleEstimates> kept;  // bounded windows only
    EstimatorAccumulator acc;
    std::int64_t divergences = 0;
};

SessionCore::SessionCore(const Config& cfg, SessionOptions opt) : opt_(std::move(opt)), cfg_(cfg) {
    cfg_.finalize();
    learn_cfg_ = cfg_;
    if (opt_.sample_every < 1) throw ConfigError("sample_every", "must be >= 1");
    if (opt_.train_per_snapshot < 0) throw ConfigError("train_per_snapshot", "must be >= 0");
    if (opt_.window < 0) throw ConfigError("window", "must be >= 0");
    if (opt_.divergence_every < 1) throw ConfigError("divergence_every", "must be >= 1");
    build_model();
    // Only a resumed training run (model_path) needs new data; an estimate,
    // or the window's warm start, samples the config's own trajectory.
    data_seed_ = data_seed_for(cfg_.seed, resuming() ? model_->steps() : 0);
    Config data_cfg = cfg_;
    data_cfg.seed = data_seed_;
    sim_ = opt_.initial_state ? std::make_unique<Simulator>(data_cfg, *opt_.initial_state, std::max(1, opt_.sim_threads))
                              : std::make_unique<Simulator>(data_cfg, std::max(1, opt_.sim_threads));
    buffer_ = std::make_shared<ReplayBuffer>(buffer_capacity(cfg_, opt_.buffer_bytes));
    buffer_->set_current_tag(tag_);
    trainer_ = std::make_unique<Trainer>(data_seed_);
    solve_exact();
    reset_window();
    publish_status();
}

SessionCore::SessionCore(const Config& cfg, SessionOptions opt, std::vector<State> frames) : opt_(std::move(opt)), cfg_(cfg) {
    cfg_.finalize();
    learn_cfg_ = cfg_;
    if (frames.empty()) throw ConfigError("trajectory", "holds no frames");
    build_model();
    data_seed_ = data_seed_for(cfg_.seed, resuming() ? model_->steps() : 0);
    buffer_ = std::make_shared<ReplayBuffer>(frames.size());
    buffer_->set_current_tag(tag_);
    for (State& f : frames) {
        if (f.n() != cfg_.n) throw ConfigError("trajectory", "a frame has " + std::to_string(f.n()) + " particles, the config " + std::to_string(cfg_.n));
        auto s = std::make_shared<const State>(std::move(f));
        buffer_->push(s, tag_);
        newest_ = std::move(s);
    }
    trainer_ = std::make_unique<Trainer>(data_seed_);
    solve_exact();
    reset_window();
    publish_status();
}

SessionCore::~SessionCore() = default;

bool SessionCore::resuming() const { return model_ && opt_.training && !opt_.model_path.empty(); }

int SessionCore::batch() const { return std::max(1, std::min(learn_cfg_.training.batch, learn_cfg_.n)); }

int SessionCore::per_snapshot() const {
    return opt_.train_per_snapshot > 0 ? opt_.train_per_snapshot : std::max(1, learn_cfg_.n / batch());
}

// ---------------------------------------------------------------------------
// The network

void SessionCore::build_model() {
    if (!opt_.training && opt_.model_path.empty()) {
        source_ = "";
        message_ = "Training is off.";
        return;
    }
    std::unique_ptr<ScoreModel> model;
    std::string source, note;
    if (!opt_.model_path.empty()) {
        // Must fit: the caller asked for exactly this network.
        ScoreModel loaded = ScoreModel::load(opt_.model_path, &cfg_);
        loaded.set_physics(cfg_);
        model = std::make_unique<ScoreModel>(std::move(loaded));
        source = "loaded " + file_name(opt_.model_path);
        note = "Continuing the network " + file_name(opt_.model_path) + ".";
    } else if (!opt_.pretrained_path.empty()) {
        std::error_code ec;
        const std::string name = file_name(opt_.pretrained_path);
        if (std::filesystem::exists(opt_.pretrained_path, ec)) {
            try {
                ScoreModel loaded = ScoreModel::load(opt_.pretrained_path, &cfg_);
                loaded.set_physics(cfg_);
                model = std::make_unique<ScoreModel>(std::move(loaded));
                source = "pretrained " + name;
                note = "Refining the pretrained model " + name + " online.";
            } catch (const ConfigError& e) {
                note = "Pretrained model: " + name + " does not fit this system (" + e.what() + "); training a fresh network.";
            } catch (const std::exception& e) {
                note = "Pretrained model: cannot load " + name + " (" + e.what() + "); training a fresh network.";
            }
        }
    }
    if (!model) {
        model = std::make_unique<ScoreModel>(cfg_);
        model->set_schedule_length(opt_.schedule_steps > 0 ? opt_.schedule_steps : SessionOptions::kOpenEndedSchedule);
        source = "fresh network";
        if (note.empty()) note = "Training a fresh network.";
    } else if (opt_.schedule_steps > 0) {
        model->set_schedule_length(model->steps() + opt_.schedule_steps);
    }
    if (!opt_.device.empty()) model->set_device(opt_.device);
    install(std::move(model), source, note);
}

void SessionCore::install(std::unique_ptr<ScoreModel> model, const std::string& source, const std::string& note) {
    model_ = std::move(model);
    source_ = source;
    message_ = note;
    failed_ = false;
    ++generation_;
    session_steps_ = 0;
    if (trainer_) trainer_ = std::make_unique<Trainer>(derive_seed(data_seed_, generation_));
    {
        std::lock_guard<std::mutex> lock(pub_mutex_);
        last_eval_.reset();
    }
    reset_window();
    publish_status();
}

void SessionCore::save_model(const std::string& path) const {
    if (!model_) throw ConfigError("model", "there is no network (training is off)");
    model_->save(path);
}

void SessionCore::load_model(const std::string& path) {
    ScoreModel loaded = [&] {
        try {
            return ScoreModel::load(path, &learn_cfg_);
        } catch (const ConfigError& e) {
            throw ConfigError("model", file_name(path) + " does not fit this system (" + e.what() + ")");
        }
    }();
    loaded.set_physics(learn_cfg_);
    if (!opt_.device.empty()) loaded.set_device(opt_.device);
    const std::string name = file_name(path);
    install(std::make_unique<ScoreModel>(std::move(loaded)), "loaded " + name, "Refining the loaded model " + name + " online.");
}

void SessionCore::fail(const std::string& what) {
    failed_ = true;
    message_ = what;
    publish_status();
}

void SessionCore::publish_status() {
    TrainingStatus t;
    t.enabled = model_ != nullptr && opt_.training;
    t.failed = failed_;
    t.source = source_;
    t.message = message_;
    t.model_generation = generation_;
    t.network_steps = model_ ? model_->steps() : 0;
    t.session_steps = session_steps_;
    t.recent_loss = trainer_ ? trainer_->recent_loss() : GlobalEstimate::kNaN;
    if (trainer_ && trainer_->last()) t.lr = trainer_->last()->lr;
    t.batch = model_ ? batch() : 0;
    std::lock_guard<std::mutex> lock(pub_mutex_);
    status_ = std::move(t);
}

TrainingStatus SessionCore::training_status() const {
    std::lock_guard<std::mutex> lock(pub_mutex_);
    return status_;
}

std::shared_ptr<const GlobalEstimate> SessionCore::estimate() const {
    std::lock_guard<std::mutex> lock(pub_mutex_);
    return estimate_;
}

std::shared_ptr<const Evaluation> SessionCore::last_evaluation() const {
    std::lock_guard<std::mutex> lock(pub_mutex_);
    return last_eval_;
}

// ---------------------------------------------------------------------------
// Sim half

const State& SessionCore::state() const {
    if (!sim_) throw ConfigError("session", "trains on stored frames; there is no simulation");
    return sim_->state();
}

void SessionCore::simulate(std::uint64_t steps) {
    if (!sim_) throw ConfigError("session", "trains on stored frames; there is no simulation");
    sim_->run(steps);
}

void SessionCore::set_sim_threads(int threads) {
    if (sim_) sim_->set_threads(std::max(1, threads));
}

std::shared_ptr<const State> SessionCore::push_snapshot() {
    auto s = std::make_shared<const State>(state());
    buffer_->push(s, tag_);
    std::lock_guard<std::mutex> lock(newest_mutex_);
    newest_ = s;
    newest_tag_ = tag_;
    return s;
}

std::shared_ptr<const State> SessionCore::newest_snapshot() const {
    std::lock_guard<std::mutex> lock(newest_mutex_);
    return newest_;
}

std::uint64_t SessionCore::set_packing_fraction(double phi) {
    if (!sim_) throw ConfigError("session", "trains on stored frames; there is no simulation");
    sim_->set_packing_fraction(phi);
    cfg_ = sim_->config();
    cfg_.seed = learn_cfg_.seed;
    buffer_->set_current_tag(++tag_);
    return tag_;
}

std::uint64_t SessionCore::set_peclet(double pe) {
    if (!sim_) throw ConfigError("session", "trains on stored frames; there is no simulation");
    sim_->set_activity(sim_->config().with_peclet(pe));
    cfg_ = sim_->config();
    cfg_.seed = learn_cfg_.seed;
    buffer_->set_current_tag(++tag_);
    return tag_;
}

std::uint64_t SessionCore::set_time_step(double dt) {
    if (!sim_) throw ConfigError("session", "trains on stored frames; there is no simulation");
    sim_->set_time_step(dt);
    cfg_ = sim_->config();
    cfg_.seed = learn_cfg_.seed;
    buffer_->set_current_tag(++tag_);
    return tag_;
}

std::shared_ptr<Frame> SessionCore::frame() const {
    auto f = std::make_shared<Frame>();
    f->physics_tag = tag_;
    f->config = cfg_;
    const State& s = state();
    {
        std::lock_guard<std::mutex> lock(pub_mutex_);
        if (last_eval_ && last_eval_->physics_tag == tag_ && last_eval_->state->step == s.step) {
            f->state = last_eval_->state;  // the very positions the learned values belong to
            f->learned = last_eval_;
        }
        f->estimate = estimate_;
        f->training = status_;
    }
    if (!f->state) {
        // A paused simulation republishes the same state: share one copy.
        if (!frame_state_ || frame_state_tag_ != tag_ || frame_state_->step != s.step || frame_state_->box != s.box)
            frame_state_ = std::make_shared<const State>(s);
        frame_state_tag_ = tag_;
        f->state = frame_state_;
    }
    return f;
}

std::shared_ptr<Frame> SessionCore::learned_frame() const {
    std::lock_guard<std::mutex> lock(pub_mutex_);
    if (!last_eval_) return nullptr;
    auto f = std::make_shared<Frame>();
    f->physics_tag = last_eval_->physics_tag;
    f->config = eval_cfg_;
    f->state = last_eval_->state;
    f->learned = last_eval_;
    f->estimate = estimate_;
    f->training = status_;
    return f;
}

// ---------------------------------------------------------------------------
// Learn half

bool SessionCore::train_once() {
    if (!model_ || !opt_.training || failed_) return false;
    try {
        if (!trainer_->step(*model_, *buffer_, batch())) return false;
    } catch (const NumericalError& e) {
        fail(std::string("Training stopped (numerical): ") + e.what() + "; the last good weights are kept.");
        throw;
    } catch (const std::exception& e) {
        fail(std::string("Training stopped: ") + e.what());
        throw;
    }
    ++session_steps_;
    publish_status();
    return true;
}

void SessionCore::apply_physics(const Config& cfg, std::uint64_t tag) {
    if (tag < learn_tag_) return;
    learn_tag_ = tag;
    learn_cfg_ = cfg;
    if (model_) {
        try {
            model_->set_physics(cfg);
        } catch (const Error& e) {
            fail(std::string("Training stopped: ") + e.what());
        }
    }
    solve_exact();
    reset_window();
}

void SessionCore::solve_exact() {
    exact_active_ = exact_active_chain_ = exact_x_ = exact_x_chain_ = GlobalEstimate::kNaN;
    if (!learn_cfg_.is_linear()) return;
    try {
        const LinearOracle o = solve_linear_system(learn_cfg_);
        const double n = learn_cfg_.n;
        exact_active_ = o.epr_active_total / n;
        exact_active_chain_ = o.epr_active_discrete_total / n;
        if (o.x_part_finite()) {
            exact_x_ = o.epr_x_total / n;
            exact_x_chain_ = o.epr_x_discrete_total / n;
        }
    } catch (const Error&) {
        // No stationary law (for example an untrapped linear system): no exact values.
    }
}

void SessionCore::reset_window() {
    window_ = std::make_unique<Window>(learn_cfg_);
    auto g = std::make_shared<GlobalEstimate>();
    g->physics_tag = learn_tag_;
    g->exact_epr_active = exact_active_;
    g->exact_epr_active_chain = exact_active_chain_;
    g->exact_epr_x = exact_x_;
    g->exact_epr_x_chain = exact_x_chain_;
    g->x_part = learn_cfg_.position_diffusion() > 0.0 ? XPart::Finite : XPart::Infinite;
    std::lock_guard<std::mutex> lock(pub_mutex_);
    estimate_ = std::move(g);
}

EstimatorAccumulator::Summary SessionCore::window_summary(int batches) const {
    return window_->acc.summary(batches < 0 ? se_batches(window_->acc.count()) : batches);
}

void SessionCore::set_estimation(int window, bool fields, int bins, double width) {
    if (window < 0) throw ConfigError("window", "must be >= 0");
    if (bins < 1 || bins > 4096) throw ConfigError("bins", "must be in [1, 4096], got " + std::to_string(bins));
    // The grid and the kernel change only the fields; the global estimate
    // does not depend on them and keeps its window.
    const bool same_window = window == opt_.window;
    opt_.window = window;
    opt_.fields = fields;
    opt_.field_bins = bins;
    opt_.field_width = width;
    if (!same_window) reset_window();
}

std::shared_ptr<const Evaluation> SessionCore::evaluate(bool with_divergence, std::shared_ptr<const State> state) {
    if (!model_ || failed_) return nullptr;
    if (!state) {
        // The newest snapshot, if it was drawn under the physics the network
        // is at now (a parameter change moves the two halves one after the other).
        std::lock_guard<std::mutex> lock(newest_mutex_);
        if (newest_tag_ != learn_tag_) return nullptr;
        state = newest_;
    }
    if (!state || state->n() != learn_cfg_.n) return nullptr;
    const auto t0 = Clock::now();
    auto ev = std::make_shared<Evaluation>();
    ParticleEstimates e;
    try {
        const ScoreOutput score = model_->infer(*state, with_divergence);
        DriftEvaluator drift(learn_cfg_);
        e = estimate_particles(learn_cfg_, *state, score, drift.evaluate(*state, true));
        if (opt_.fields) {
            FieldOptions fo = field_options_for(learn_cfg_, opt_.field_bins);
            if (opt_.field_width > 0.0) fo.width = opt_.field_width;
            const KernelGrid grid(*state, fo);
            ev->density = grid.density();
            ev->sigma = grid.average(e.sigma_sq);
            ev->current = grid.current(e.v_x);
        }
        ev->phase = phase_indicators(*state, learn_cfg_);
    } catch (const NumericalError& err) {
        fail(std::string("Training stopped (numerical, while estimating): ") + err.what());
        return nullptr;
    } catch (const std::exception& err) {
        fail(std::string("Training stopped (while estimating): ") + err.what());
        return nullptr;
    }
    ev->state = state;
    ev->physics_tag = learn_tag_;
    ev->network_step = model_->steps();
    ev->model_generation = generation_;
    ev->index = ++evaluations_;
    ev->with_divergence = with_divergence;
    ev->totals = snapshot_totals(e);
    ev->x_part = e.x_part;
    ev->x_note = e.x_note;
    ev->sigma_sq = e.sigma_sq;
    ev->sigma_div = e.sigma_div;
    ev->sigma_x = e.sigma_x;
    ev->v_x = e.v_x;
    ev->v_act = e.v_act;

    // The window: an unbounded one accumulates; a bounded one is re-summed
    // from the estimates it keeps (the velocities dropped: they are the bulk).
    Window& w = *window_;
    if (with_divergence) ++w.divergences;
    if (opt_.window == 0) {
        w.acc.add(e);
    } else {
        std::vector<double>().swap(e.v_x);
        std::vector<double>().swap(e.v_act);
        w.kept.push_back(std::move(e));
        while (static_cast<int>(w.kept.size()) > opt_.window) {
            if (!w.kept.front().sigma_div.empty()) --w.divergences;
            w.kept.pop_front();
        }
        w.acc.clear();
        for (const ParticleEstimates& k : w.kept) w.acc.add(k);
    }
    const auto sum = w.acc.summary(se_batches(w.acc.count()));
    const int n = learn_cfg_.n;
    auto g = std::make_shared<GlobalEstimate>(*estimate());
    g->physics_tag = learn_tag_;
    g->evaluations = sum.snapshots;
    g->divergence_evaluations = w.divergences;
    g->last_index = ev->index;
    g->network_step = ev->network_step;
    g->time = state->time;
    g->epr_active = per_particle(sum.epr_active, n);
    g->epr_active_div = per_particle(sum.epr_active_div, n);
    g->gap = per_particle(sum.gap, n);
    g->epr_x = per_particle(sum.epr_x, n);
    g->epr_total = per_particle(sum.epr_total, n);
    g->epr_active_identity = per_particle(sum.epr_active_exact, n);
    g->epr_total_network_free = per_particle(sum.epr_total_network_free, n);
    g->div_v = per_particle(sum.div_v, n);
    g->div_v_time_step = per_particle(sum.time_step_bias, n);
    g->v_dot_s = per_particle(sum.v_dot_s, n);
    g->ibp = per_particle(sum.ibp, n);
    g->x_part = sum.x_part;
    g->x_note = sum.x_note;
    ev->seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    {
        std::lock_guard<std::mutex> lock(pub_mutex_);
        estimate_ = std::move(g);
        last_eval_ = ev;
        eval_cfg_ = learn_cfg_;
    }
    return ev;
}

// ---------------------------------------------------------------------------
// Deterministic driving

void SessionCore::burn_in(std::uint64_t steps) { simulate(steps); }

void SessionCore::advance(std::uint64_t steps) {
    if (!sim_) throw ConfigError("session", "trains on stored frames; advance() needs a simulation");
    // What an earlier train() left of its snapshot's steps comes first.
    while (pending_train_ > 0 && train_once()) --pending_train_;
    pending_train_ = 0;
    std::uint64_t done = 0;
    while (done < steps) {
        const std::uint64_t into = sim_->state().step % opt_.sample_every;
        const std::uint64_t chunk = std::min(steps - done, opt_.sample_every - into);
        simulate(chunk);
        done += chunk;
        if (sim_->state().step % opt_.sample_every != 0) continue;
        // A snapshot: into the buffer, evaluated when due (by the network as
        // it was before learning from it), then its optimiser steps.
        push_snapshot();
        if (learn_tag_ != tag_) apply_physics(cfg_, tag_);
        if (opt_.evaluate_every > 0 && ++snapshots_ >= opt_.evaluate_every) {
            snapshots_ = 0;
            const bool div = ++evals_since_div_ >= opt_.divergence_every;
            if (div) evals_since_div_ = 0;
            evaluate(div);
        }
        if (model_ && opt_.training) {
            for (int k = per_snapshot(); k > 0 && train_once(); --k) {
            }
        }
    }
}

std::uint64_t SessionCore::train(std::uint64_t steps, const std::function<bool()>& keep_going) {
    if (!model_) throw ConfigError("training", "there is no network to train");
    std::uint64_t done = 0;
    while (done < steps) {
        if (keep_going && !keep_going()) break;
        if (pending_train_ == 0) {
            if (sim_) {
                // The rest of the current snapshot interval, then a snapshot.
                const std::uint64_t into = sim_->state().step % opt_.sample_every;
                simulate(opt_.sample_every - into);
                push_snapshot();
                if (learn_tag_ != tag_) apply_physics(cfg_, tag_);
            }
            pending_train_ = per_snapshot();
        }
        --pending_train_;
        if (!train_once()) break;
        ++done;
    }
    return done;
}

}  // namespace entroscope

#include "entroscope/session/sweep.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <limits>
#include <mutex>
#include <thread>

#include "entroscope/core/errors.hpp"
#include "entroscope/session/session_core.hpp"

namespace entroscope {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Work units for the progress fraction, in particle-steps of the simulator
// (about 3e-8 s each on one core). An optimiser step (batch 1024) takes
// about 0.6 s, an evaluation with divergences about 1.7e-4 s per particle
// (0.7 s at N = 4096), both on one core of the 2-core reference machine;
// rough, for an ETA only.
constexpr double kTrainStepUnits = 2e7;
constexpr double kEvaluationUnitsPerParticle = 5e3;

MeanSe unavailable() {
    MeanSe m;
    m.mean = kNaN;
    m.se = kNaN;
    m.count = 0;
    return m;
}

MeanSe if_counted(const MeanSe& m) { return m.count > 0 ? m : unavailable(); }

std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// Fraction of one point's work, reported to a callback that may scale it.
class Work {
public:
    Work(const Config& cfg, const SweepOptions& opt, const SweepCallbacks& cb) : cb_(cb), n_(cfg.n) {
        const double steps = static_cast<double>(opt.burn_in) + static_cast<double>(opt.samples) * static_cast<double>(opt.sample_every);
        total_ = steps * n_;
        if (opt.network) {
            total_ += static_cast<double>(opt.train_steps) * kTrainStepUnits;
            total_ += static_cast<double>(opt.samples) * kEvaluationUnitsPerParticle * n_;
        }
        // Training also simulates (a snapshot per N / batch optimiser steps);
        // that is inside the optimiser step's weight.
        total_ = std::max(total_, 1.0);
    }
    void steps(std::uint64_t k) { add(static_cast<double>(k) * n_); }
    void train_steps(std::uint64_t k) { add(static_cast<double>(k) * kTrainStepUnits); }
    void evaluation() { add(kEvaluationUnitsPerParticle * n_); }
    bool cancelled() const { return cb_.cancelled && cb_.cancelled(); }
private:
    void add(double units) {
        done_ += units;
        if (cb_.progress) cb_.progress(std::min(1.0, done_ / total_));
    }
    const SweepCallbacks& cb_;
    double n_ = 1.0, total_ = 1.0, done_ = 0.0;
};

// Simulation steps in chunks of about 2e6 particle-steps, cancellable.
bool simulate_cancellable(SessionCore& core, std::uint64_t steps, Work& work, int n) {
    const std::uint64_t chunk = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(2e6 / std::max(1, n)));
    for (std::uint64_t done = 0; done < steps;) {
        if (work.cancelled()) return false;
        const std::uint64_t k = std::min(chunk, steps - done);
        core.simulate(k);
        done += k;
        work.steps(k);
    }
    return true;
}

}  // namespace

Config sweep_point_config(const Config& base, SweepPoint p) {
    Config c = base;
    if (!std::isfinite(p.phi)) throw ConfigError("phi", "must be finite");
    c.phi = p.phi;
    c.box_given = false;
    c.finalize();
    c = c.with_peclet(p.pe);
    c.finalize();
    return c;
}

void validate_sweep_options(const SweepOptions& opt) {
    if (opt.samples < 1) throw ConfigError("samples", "must be >= 1");
    if (opt.sample_every < 1) throw ConfigError("sample_every", "must be >= 1");
    if (opt.sim_threads < 1) throw ConfigError("sim_threads", "must be >= 1");
    if (opt.network && opt.train_steps == 0 && opt.model_path.empty())
        throw ConfigError("model", "a transferred network needs a model file (or train_steps > 0, or no network)");
    if (!opt.network && opt.train_steps > 0) throw ConfigError("train_steps", "needs the network");
}

std::optional<SweepResult> run_sweep_point(const Config& base, SweepPoint p, const SweepOptions& opt, const SweepCallbacks& cb) {
    validate_sweep_options(opt);
    const auto t0 = Clock::now();
    const Config cfg = sweep_point_config(base, p);
    SessionOptions so;
    so.training = opt.network && opt.train_steps > 0;
    so.model_path = opt.network ? opt.model_path : std::string();
    so.schedule_steps = opt.train_steps;
    so.sample_every = opt.sample_every;
    so.sim_threads = opt.sim_threads;
    // The measurement evaluates by hand (evaluate()), not on advance()'s
    // schedule, so that the network does not train while it measures.
    so.evaluate_every = 0;
    so.divergence_every = 1;
    so.window = 0;  // every measured state in the estimate
    so.fields = false;
    SessionCore core(cfg, so);
    Work work(cfg, opt, cb);

    if (!simulate_cancellable(core, opt.burn_in, work, cfg.n)) return std::nullopt;
    std::string note;
    if (so.training) {
        // In chunks, so that the progress moves and a cancel is seen between steps.
        std::uint64_t taken = 0;
        while (taken < opt.train_steps) {
            const std::uint64_t k = core.train(std::min<std::uint64_t>(10, opt.train_steps - taken), [&] { return !work.cancelled(); });
            taken += k;
            work.train_steps(k);
            if (work.cancelled()) return std::nullopt;
            if (k == 0) break;  // nothing to learn from (cannot happen with a simulation)
        }
        note = "trained " + std::to_string(taken) + " steps at the point from " +
               (opt.model_path.empty() ? std::string("a fresh network") : file_name(opt.model_path));
    } else if (opt.network) {
        note = "network " + file_name(opt.model_path) + " transferred without retraining";
    } else {
        note = "no network: phase indicators only";
    }

    PhaseAverage phase(opt.phase);
    SweepResult r;
    r.phi = cfg.phi;
    r.pe = p.pe;
    for (int k = 0; k < opt.samples; ++k) {
        if (!simulate_cancellable(core, opt.sample_every, work, cfg.n)) return std::nullopt;
        const auto snapshot = core.push_snapshot();
        if (opt.network) {
            if (work.cancelled()) return std::nullopt;
            const auto ev = core.evaluate(true, snapshot);
            work.evaluation();
            if (ev) {
                ++r.evaluations;
                r.network_step = ev->network_step;
            }
        }
        phase.add(phase_indicators(*snapshot, cfg, opt.phase));
        r.state = snapshot;
    }
    r.phase = phase.mean();
    r.epr_active = r.epr_active_div = r.epr_total = r.epr_total_network_free = r.epr_active_identity = unavailable();
    if (opt.network) {
        const auto g = core.estimate();
        if (r.evaluations > 0 && g) {
            r.epr_active = if_counted(g->epr_active);
            r.epr_active_div = if_counted(g->epr_active_div);
            if (g->x_part == XPart::Finite) r.epr_total = if_counted(g->epr_total);
            if (cfg.position_diffusion() > 0.0) r.epr_total_network_free = if_counted(g->epr_total_network_free);
            else r.epr_active_identity = if_counted(g->epr_active_identity);
        }
        const TrainingStatus st = core.training_status();
        if (r.evaluations < opt.samples)
            note += "; " + std::to_string(opt.samples - r.evaluations) + " of " + std::to_string(opt.samples) +
                    " evaluations failed" + (st.message.empty() ? std::string() : " (" + st.message + ")");
    }
    r.note = note;
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
}

std::vector<SweepResult> run_sweep(const Config& base, const std::vector<SweepPoint>& points, const SweepOptions& opt,
                                   int threads, const SweepCallbacks& cb) {
    validate_sweep_options(opt);
    if (threads < 1) throw ConfigError("threads", "must be >= 1");
    for (std::size_t i = 0; i < points.size(); ++i) {
        try {
            sweep_point_config(base, points[i]);
        } catch (const ConfigError& e) {
            // what() is "key: reason"; the reason again under the point's key.
            std::string reason = e.what();
            if (reason.rfind(e.key() + ": ", 0) == 0) reason.erase(0, e.key().size() + 2);
            throw ConfigError("points[" + std::to_string(i) + "]." + e.key(), reason);
        }
    }
    std::vector<std::optional<SweepResult>> slots(points.size());
    std::vector<double> fractions(points.size(), 0.0);
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
    std::mutex mutex;  // fractions, the callbacks, the first error
    std::exception_ptr error;

    const auto worker = [&] {
        for (;;) {
            const std::size_t i = next.fetch_add(1);
            if (i >= points.size() || stop.load()) return;
            SweepCallbacks one;
            one.cancelled = [&] { return stop.load() || (cb.cancelled && cb.cancelled()); };
            one.progress = [&, i](double f) {
                std::lock_guard<std::mutex> lock(mutex);
                fractions[i] = f;
                if (cb.progress) {
                    double sum = 0.0;
                    for (double x : fractions) sum += x;
                    cb.progress(sum / static_cast<double>(points.size()));
                }
            };
            const auto t0 = Clock::now();
            std::optional<SweepResult> r;
            try {
                r = run_sweep_point(base, points[i], opt, one);
            } catch (const NumericalError& e) {
                SweepResult f;
                f.phi = points[i].phi;
                f.pe = points[i].pe;
                f.failed = true;
                f.note = std::string("the simulation blew up: ") + e.what();
                f.epr_active = f.epr_active_div = f.epr_total = f.epr_total_network_free = f.epr_active_identity = unavailable();
                f.phase.largest_cluster_fraction = f.phase.density_bimodality = kNaN;
                f.phase.criterion = phase_criterion(opt.phase);
                f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
                r = std::move(f);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex);
                if (!error) error = std::current_exception();
                stop.store(true);
                return;
            }
            if (!r) continue;  // cancelled
            r->index = i;
            std::lock_guard<std::mutex> lock(mutex);
            fractions[i] = 1.0;
            slots[i] = *r;
            // A callback that throws (a table that cannot be written) stops
            // the grid like a failing point; it must not end a worker thread.
            try {
                if (cb.finished) cb.finished(*r);
            } catch (...) {
                if (!error) error = std::current_exception();
                stop.store(true);
                return;
            }
        }
    };
    const int workers = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads), points.size()));
    std::vector<std::thread> pool;
    for (int t = 0; t + 1 < workers; ++t) pool.emplace_back(worker);
    if (workers > 0) worker();
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
    std::vector<SweepResult> out;
    for (auto& s : slots)
        if (s) out.push_back(std::move(*s));
    return out;
}

std::vector<SweepPoint> sweep_grid(const std::vector<double>& phis, const std::vector<double>& pes) {
    std::vector<SweepPoint> out;
    out.reserve(phis.size() * pes.size());
    for (double phi : phis)
        for (double pe : pes) out.push_back({phi, pe});
    return out;
}

}  // namespace entroscope

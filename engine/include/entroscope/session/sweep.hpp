#pragma once
// Sweeps over the (phi, Pe) plane: each point is an independent run of the
// live session's deterministic core (SessionCore) at the base config with
// phi and Pe set, so a sweep point and the window at the same parameters
// run the same code. A point burns in, optionally trains its network, then
// measures: `samples` states `sample_every` steps apart, each evaluated by
// the network (with divergences, so both estimators) and classified by the
// phase indicators (analysis/phase.hpp). The network is not trained during
// the measurement.
//
// Threads: run_sweep_point runs on the calling thread; run_sweep blocks,
// running points on the calling thread and up to threads - 1 more of its
// own (a GUI calls it from a background thread). Neither touches
// LibTorch's global thread pool: a caller running several points at once
// should first call set_network_threads(1) (score/score_model.hpp), as
// `entroscope-cli sweep` does, or the points' inference pools oversubscribe
// the cores.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "entroscope/analysis/observables.hpp"
#include "entroscope/analysis/phase.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"

namespace entroscope {

struct SweepPoint {
    double phi = 0.5;
    double pe = 100.0;
};

struct SweepOptions {
    std::uint64_t burn_in = 100000;     // simulation steps before anything else
    int samples = 10;                   // measured states (>= 1)
    std::uint64_t sample_every = 2000;  // simulation steps between them (>= 1)
    // 0: the network of model_path is transferred to the point as it is (the
    // paper's protocol); > 0: that many optimiser steps at the point after
    // the burn-in (from model_path's weights, or a fresh network when
    // model_path is empty; the live session's schedule: N / batch steps per
    // snapshot of sample_every steps), then the measurement.
    std::uint64_t train_steps = 0;
    std::string model_path;
    // false: no network at all; the point measures the phase indicators
    // only (the EPR fields stay unavailable). Much cheaper: a quick map.
    bool network = true;
    int sim_threads = 1;
    PhaseOptions phase;
};

// One finished point. EPR values are per particle (SessionCore's global
// estimate over the measured states: batch means, see session_core.hpp);
// one that does not apply or was not computed has count 0 and NaN mean.
struct SweepResult {
    std::size_t index = 0;    // position in the point list given to run_sweep (0 for run_sweep_point)
    double phi = 0.0, pe = 0.0;
    MeanSe epr_active;        // learned active part, |v_a|^2 / D_a estimator
    MeanSe epr_active_div;    // learned active part, divergence estimator
    MeanSe epr_total;         // learned total (positional noise only; else infinite: unavailable)
    MeanSe epr_total_network_free;  // E[b.D^-1 b + div b] (positional noise only)
    MeanSe epr_active_identity;     // -E[div_x b_x] (no positional noise only)
    PhaseIndicators phase;    // averaged over the measured states (PhaseAverage)
    std::uint64_t network_step = 0;  // of the network that measured (0 without one)
    int evaluations = 0;      // measured states the network evaluated
    double seconds = 0.0;     // wall time of the point
    bool failed = false;      // the run blew up (NumericalError): values unavailable, `note` says why
    // The last measured state (null when failed or cancelled, and for rows
    // read from a table): the window resumes a point from it.
    std::shared_ptr<const State> state;
    std::string note;         // how it was measured (network, protocol) or why it failed
    // "separated", "homogeneous", or "failed".
    std::string phase_label() const { return failed ? "failed" : entroscope::phase_label(phase.separated); }
};

// The config of one point: `base` with the packing fraction set (the box
// follows, N kept) and then Config::with_peclet(pe). Throws ConfigError
// ("phi" or "pe") for values the config refuses.
Config sweep_point_config(const Config& base, SweepPoint p);

// Throws ConfigError for options out of range (samples < 1, sample_every <
// 1, network without model_path and without train_steps, sim_threads < 1).
void validate_sweep_options(const SweepOptions& opt);

struct SweepCallbacks {
    // Asked between chunks of about 2e6 particle-steps (a tenth of a second
    // on one core), between optimiser steps and between evaluations: true
    // stops the run.
    std::function<bool()> cancelled;
    // Fraction of the work done, in [0, 1], non-decreasing (run_sweep: of the
    // whole grid). The work is counted in simulation steps, an optimiser step
    // and an evaluation being weighed as a fixed number of them (rough: an
    // ETA, not a measurement).
    std::function<void(double)> progress;
    // run_sweep only: each finished point, as it finishes (from a worker
    // thread; calls are serialised). Not called for cancelled points.
    std::function<void(const SweepResult&)> finished;
};

// One point on the calling thread. nullopt when cancelled. Throws
// ConfigError / IoError for a bad config, options or model file (one that
// does not fit the point: ScoreModel::load), NumericalError when the
// simulation blows up.
std::optional<SweepResult> run_sweep_point(const Config& base, SweepPoint p, const SweepOptions& opt,
                                           const SweepCallbacks& cb = {});

// The points on `threads` worker threads (at most one per point), each an
// independent run_sweep_point; the results that finished, in point order
// (cancelled ones left out). A point that blows up gives a result with
// failed = true and the grid goes on. Throws ConfigError for bad options,
// threads < 1 or a point the config refuses (before anything runs; the key
// names the point, "points[3].phi"), and the first ConfigError / IoError a
// point threw (a model that does not fit), or the first exception of the
// `finished` callback, after stopping the others.
std::vector<SweepResult> run_sweep(const Config& base, const std::vector<SweepPoint>& points, const SweepOptions& opt,
                                   int threads, const SweepCallbacks& cb = {});

// The points of a grid in grid order: phi outer, Pe inner.
std::vector<SweepPoint> sweep_grid(const std::vector<double>& phis, const std::vector<double>& pes);

}  // namespace entroscope

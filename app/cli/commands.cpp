#include "commands.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "bench_accuracy.hpp"
#include "cli_args.hpp"
#include "config_args.hpp"
#include "export_command.hpp"
#include "sweep_command.hpp"
#ifdef ENTROSCOPE_HAVE_RENDER
#include "bench_render.hpp"
#include "render_command.hpp"
#endif
#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/io/h5md.hpp"
#include "entroscope/physics/linear_oracle.hpp"
#include "entroscope/analysis/observables.hpp"
#include "entroscope/score/score_model.hpp"
#include "entroscope/analysis/estimators.hpp"
#include "entroscope/physics/drift.hpp"
#include "entroscope/sim/simd.hpp"
#include "entroscope/sim/simulator.hpp"
#include "entroscope/core/seeding.hpp"
#include "entroscope/core/time_scales.hpp"
#include "entroscope/learn/replay_buffer.hpp"
#include "entroscope/learn/trainer.hpp"
#include "entroscope/session/live_session.hpp"
#include "entroscope/session/session_core.hpp"

namespace entroscope::cli {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// 16 hex digits (a 64-bit hash as JSON can hold it exactly).
std::string hex64(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// JSON number, or null for +-inf/NaN (JSON has no infinities).
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json nums(const std::vector<double>& v) {
    json a = json::array();
    for (double x : v) a.push_back(num(x));
    return a;
}

// The oracle's per-particle values averaged over each particle type
// present: [{type, particles, active, active_discrete, x, x_discrete}]
// (SDE and Euler chain, per particle of the type).
json oracle_per_type(const Config& cfg, const LinearOracle& o) {
    std::map<int, std::vector<int>> members;
    for (int i = 0; i < cfg.n; ++i) members[cfg.type_of(i)].push_back(i);
    json out = json::array();
    for (const auto& [t, m] : members) {
        auto mean = [&m](const std::vector<double>& v) {
            double s = 0;
            for (int i : m) s += v[static_cast<std::size_t>(i)];
            return s / static_cast<double>(m.size());
        };
        out.push_back({{"type", t},
                       {"particles", m.size()},
                       {"active", num(mean(o.epr_active))},
                       {"active_discrete", num(mean(o.epr_active_discrete))},
                       {"x", num(mean(o.epr_x))},
                       {"x_discrete", num(mean(o.epr_x_discrete))}});
    }
    return out;
}

int threads_of(const Args& a) {
    const auto t = a.integer("--threads", 1);
    if (t < 1 || t > 1024) throw ConfigError("--threads", "must be in [1, 1024]");
    return static_cast<int>(t);
}

std::uint64_t positive_steps(const Args& a, const char* flag, bool required) {
    if (!a.has(flag)) {
        if (required) throw ConfigError(flag, "is required");
        return 0;
    }
    const auto s = a.integer(flag, 0);
    if (s < (required ? 1 : 0)) throw ConfigError(flag, required ? "must be >= 1" : "must be >= 0");
    return static_cast<std::uint64_t>(s);
}

// LibTorch's intra-op pool; OpenMP loops of the simulator take `threads` too.
void torch_threads(int threads) { set_network_threads(threads); }

// --device cpu (default) | cuda | cuda:N: where the network runs; --tf32:
// TensorFloat-32 matrix products there.
void place(const Args& a, ScoreModel& model) {
    if (const auto d = a.value("--device")) model.set_device(*d);
    if (a.has("--tf32")) {
        if (model.device().rfind("cuda", 0) != 0) throw ConfigError("--tf32", "applies only with --device cuda (TensorFloat-32 is a GPU format)");
        set_network_tf32(true);
    }
}

void emit(const Args& a, const json& out) {
    if (a.has("--json")) std::cout << out.dump() << std::endl;
}

// ---------------------------------------------------------------------------

int cmd_oracle(const std::vector<std::string>& argv) {
    const Args a(argv, with_config_flags({}), {"--json"});
    const Config cfg = load_config(a);
    if (!cfg.is_linear())
        throw ConfigError("interaction", "oracle needs a linear system: model \"aoup\" with \"interaction\": \"none\" "
                                         "(harmonic traps and springs only); this config is not linear");
    const LinearOracle o = solve_linear_system(cfg);
    json out;
    out["n"] = cfg.n;
    out["epr_active"] = o.epr_active_total;
    out["epr_x"] = num(o.epr_x_total);
    out["epr_total"] = num(o.epr_total);
    double mean_var = 0.0;
    for (double v : o.var_x) mean_var += v / cfg.n;
    // Per Cartesian component, averaged over particles (the scalar Sigma_xx for n = 1).
    out["covariance_xx"] = mean_var;
    out["mean_sq_position"] = o.mean_sq_position;
    out["mean_sq_position_discrete"] = num(o.mean_sq_position_discrete);
    // What the score of the simulated (Euler) chain gives in the same estimators.
    out["epr_active_discrete"] = num(o.epr_active_discrete_total);
    out["epr_x_discrete"] = num(o.epr_x_discrete_total);
    out["div_v_discrete"] = num(o.div_v_discrete);
    out["per_particle"] = {{"active", nums(o.epr_active)},
                           {"x", nums(o.epr_x)},
                           {"active_discrete", nums(o.epr_active_discrete)},
                           {"x_discrete", nums(o.epr_x_discrete)},
                           {"covariance_xx", nums(o.var_x)},
                           {"covariance_xg", nums(o.cov_xg)},
                           {"covariance_gg", nums(o.var_g)}};
    out["per_type"] = oracle_per_type(cfg, o);
    out["units"] = "EPR summed over both Cartesian components; totals summed over particles; "
                   "covariances per Cartesian component";
    if (!o.x_part_finite())
        out["note"] = "eps = 0: the positional noise vanishes (hypoelliptic dynamics), so the x part and the total "
                      "entropy production are infinite (null); only the active part is finite";
    std::cerr << "oracle: n = " << cfg.n << ", active EPR = " << o.epr_active_total
              << (o.x_part_finite() ? ", x EPR = " + std::to_string(o.epr_x_total) : std::string(", x EPR infinite (eps = 0)"))
              << "\n";
    emit(a, out);
    return 0;
}

// Log-spaced step counts in [1, steps] (about `points` of them), always ending at steps.
std::vector<std::uint64_t> log_steps(std::uint64_t steps, int points) {
    std::vector<std::uint64_t> out;
    for (int k = 0; k < points; ++k) {
        const double f = std::pow(static_cast<double>(steps), static_cast<double>(k) / (points - 1));
        const auto s = static_cast<std::uint64_t>(std::llround(f));
        if (s >= 1 && (out.empty() || s > out.back())) out.push_back(std::min(s, steps));
    }
    if (out.empty() || out.back() != steps) out.push_back(steps);
    return out;
}

int cmd_simulate(const std::vector<std::string>& argv) {
    const Args a(argv, with_config_flags({"--steps", "--burn-in", "--out", "--threads", "--frames", "--sample-every"}),
                 {"--json", "--msd"});
    const Config cfg = load_config(a);
    const auto steps = positive_steps(a, "--steps", true);
    const auto burn = positive_steps(a, "--burn-in", false);
    const int threads = threads_of(a);
    const auto frames = a.integer("--frames", 100);
    if (frames < 1) throw ConfigError("--frames", "must be >= 1");
    const auto sample_every = a.integer("--sample-every", 10);
    if (sample_every < 1) throw ConfigError("--sample-every", "must be >= 1");

    Simulator sim(cfg, threads);
    std::unique_ptr<H5mdWriter> writer;
    if (const auto out = a.value("--out")) {
        if (out->empty()) throw ConfigError("--out", "is empty");
        writer = std::make_unique<H5mdWriter>(*out, cfg, sim.state());
    }
    std::cerr << "simulate: " << to_string(cfg.model) << ", n = " << cfg.n << ", phi = " << cfg.phi
              << ", L = " << cfg.box << ", Pe = " << cfg.peclet() << ", " << steps << " steps after " << burn
              << " burn-in, " << threads << " thread(s)\n";
    const auto t_start = Clock::now();
    if (burn > 0) sim.run(burn);

    const std::uint64_t frame_every = std::max<std::uint64_t>(1, steps / static_cast<std::uint64_t>(frames));
    const auto msd_at = a.has("--msd") ? log_steps(steps, 60) : std::vector<std::uint64_t>{};
    std::size_t msd_next = 0;
    MsdRecorder msd(sim.state());
    std::vector<double> msq;
    if (writer) writer->append(sim.state());
    std::uint64_t done = 0;
    auto last_report = Clock::now();
    while (done < steps) {
        std::uint64_t next = std::min(steps, (done / static_cast<std::uint64_t>(sample_every) + 1) * static_cast<std::uint64_t>(sample_every));
        if (writer) next = std::min(next, (done / frame_every + 1) * frame_every);
        if (msd_next < msd_at.size()) next = std::min(next, msd_at[msd_next]);
        sim.run(next - done);
        done = next;
        if (done % static_cast<std::uint64_t>(sample_every) == 0) msq.push_back(sim.mean_sq_position());
        if (writer && done % frame_every == 0) writer->append(sim.state());
        if (msd_next < msd_at.size() && msd_at[msd_next] == done) {
            msd.record(sim.state());
            ++msd_next;
        }
        if (Clock::now() - last_report > std::chrono::seconds(5)) {
            std::cerr << "  step " << done << " / " << steps << "\n";
            last_report = Clock::now();
        }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
    if (writer) writer->close();
    const MeanSe m = batch_means(msq);
    json out;
    out["steps"] = steps;
    out["burn_in"] = burn;
    out["n"] = cfg.n;
    out["box"] = cfg.box;
    out["time"] = sim.state().time;
    out["seconds"] = seconds;
    out["particle_steps_per_s"] = static_cast<double>(cfg.n) * static_cast<double>(steps + burn) / seconds;
    out["mean_sq_position"] = m.mean;
    out["mean_sq_position_se"] = num(m.se);
    if (a.has("--msd")) out["msd"] = {{"t", msd.times()}, {"value", msd.values()}};
    if (writer) out["out"] = *a.value("--out");
    std::cerr << "simulate: done in " << seconds << " s, " << out["particle_steps_per_s"].get<double>() / 1e6
              << " M particle-steps/s\n";
    emit(a, out);
    return 0;
}

// Training from a stored trajectory: the physics are the trajectory's; the
// --config file contributes its "network" and "training" objects only.
Config trajectory_training_config(const Args& a, const Trajectory& traj) {
    for (const char* flag : {"--n", "--phi", "--v0", "--pe", "--kind"})
        if (a.has(flag)) throw ConfigError(flag, "does not apply with --trajectory (the trajectory fixes the physics)");
    for (const char* flag : {"--burn-in", "--sample-every"})
        if (a.has(flag)) throw ConfigError(flag, "applies to training from the simulator, not from --trajectory");
    json j = json::parse(traj.config_json);
    const json file = config_file_json(a);
    for (const char* key : {"network", "training"})
        if (file.contains(key)) j[key] = file[key];
    if (a.has("--seed")) {
        const auto s = a.integer("--seed", 0);
        if (s < 0) throw ConfigError("--seed", "must be >= 0");
        j["seed"] = s;
    }
    return parse_config(j.dump());
}

// Online training from the simulator: it runs `sample_every` steps between
// snapshots; each snapshot of N particles feeds N / batch optimiser steps.
int cmd_train(const std::vector<std::string>& argv) {
    const Args a(argv,
                 with_config_flags({"--steps", "--out", "--threads", "--burn-in", "--sample-every", "--resume", "--device", "--max-seconds",
                                    "--trajectory"}),
                 {"--json", "--tf32"});
    // Offline: frames of an H5MD trajectory (simulate --out) instead of the simulator.
    std::unique_ptr<Trajectory> traj;
    if (const auto t = a.value("--trajectory")) {
        if (t->empty()) throw ConfigError("--trajectory", "is empty");
        traj = std::make_unique<Trajectory>(read_h5md(*t));
        if (traj->frames.empty()) throw IoError("trajectory '" + *t + "' holds no frames");
    }
    const std::size_t traj_frames = traj ? traj->frames.size() : 0;
    const Config cfg = traj ? trajectory_training_config(a, *traj) : load_config(a);
    const auto steps = positive_steps(a, "--steps", true);
    const int threads = threads_of(a);
    const auto out = a.value("--out");
    if (!out || out->empty()) throw ConfigError("--out", "is required (the checkpoint path)");
    const auto burn = a.has("--burn-in") ? positive_steps(a, "--burn-in", false) : 0;
    // Snapshots one decorrelation time apart unless told otherwise: closer
    // ones repeat what the network has seen (docs/cli.md, "Space the snapshots").
    const auto every = a.has("--sample-every") ? positive_steps(a, "--sample-every", true) : decorrelation_steps(cfg);
    // Wall-clock budget (batch queues): stop early, keep the schedule of --steps.
    const double max_seconds = a.has("--max-seconds") ? a.number("--max-seconds", 0) : 0.0;
    if (a.has("--max-seconds") && !(max_seconds > 0.0)) throw ConfigError("--max-seconds", "must be > 0");
    torch_threads(threads);
    // The live session's deterministic core: snapshots every --sample-every
    // steps into the replay buffer, N / batch optimiser steps per snapshot,
    // the same batch sampler, seeds, schedule and loss smoothing as the window.
    SessionOptions so;
    so.training = true;
    if (const auto r = a.value("--resume")) so.model_path = *r;
    so.schedule_steps = steps;
    so.sample_every = every;
    so.sim_threads = threads;
    so.fields = false;
    if (const auto d = a.value("--device")) so.device = *d;
    std::unique_ptr<SessionCore> core;
    if (traj) core = std::make_unique<SessionCore>(cfg, so, std::move(traj->frames));
    else core = std::make_unique<SessionCore>(cfg, so);
    ScoreModel& model = *core->model();
    place(a, model);
    std::cerr << "train: " << to_string(cfg.network.arch) << " network, " << model.parameter_count() << " parameters, "
              << to_string(cfg.training.loss) << " loss, batch " << cfg.training.batch << ", " << steps << " steps on " << model.device()
              << (traj ? ", from " + std::to_string(traj_frames) + " stored frames" : std::string()) << "\n";
    if (!traj) {
        std::cerr << "  a snapshot every " << every << " simulator steps";
        if (!a.has("--sample-every")) {
            const DecorrelationTime t = decorrelation_time(cfg);
            if (t.time > 0.0) std::cerr << " (one decorrelation time, " << t.time << ": " << t.set_by << ")";
        }
        std::cerr << "\n";
    }
    if (!traj && burn > 0) core->burn_in(burn);
    const int batch = std::min(cfg.training.batch, cfg.n);
    const auto t0 = Clock::now();
    auto last_report = Clock::now();
    std::uint64_t seen = 0;
    auto report = [&] {
        const TrainingStatus t = core->training_status();
        std::cerr << "  step " << t.network_steps << ": loss " << t.recent_loss << " (mean of last " << std::min<std::uint64_t>(seen, Trainer::kLossWindow)
                  << "), lr " << t.lr << "\n";
        last_report = Clock::now();
    };
    auto keep_going = [&] {
        if (seen > 0 && Clock::now() - last_report > std::chrono::seconds(5)) report();
        if (max_seconds > 0.0 && std::chrono::duration<double>(Clock::now() - t0).count() >= max_seconds) {
            std::cerr << "  stopped after " << seen << " of " << steps << " steps: --max-seconds " << max_seconds << " reached\n";
            return false;
        }
        ++seen;
        return true;
    };
    std::uint64_t done = 0;
    try {
        done = core->train(steps, keep_going);
    } catch (const NumericalError& e) {
        // The step changed nothing: keep what was learned so far.
        std::string kept = "the last good weights (step " + std::to_string(model.steps()) + ") were saved to '" + *out + "'";
        try {
            core->save_model(*out);
        } catch (const IoError& io) {
            kept = "the last good weights could not be saved: " + std::string(io.what());
        }
        throw NumericalError(std::string(e.what()) + "; training stopped, and " + kept);
    }
    if (done == steps) report();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    core->save_model(*out);
    const TrainingStatus ts = core->training_status();
    json o;
    o["steps"] = done;
    if (done < steps) o["steps_planned"] = steps;
    o["total_steps"] = model.steps();
    o["final_loss"] = done > 0 ? json(ts.recent_loss) : json(nullptr);
    o["seconds"] = seconds;
    o["samples_per_s"] = done > 0 ? json(static_cast<double>(done) * batch / seconds) : json(nullptr);
    o["device"] = model.device();
    o["parameter_count"] = model.parameter_count();
    if (!traj) o["sample_every"] = every;
    o["data_seed"] = core->data_seed();
    o["weights_hash"] = hex64(model.weights_hash());
    if (traj) o["trajectory"] = {{"path", *a.value("--trajectory")}, {"frames", traj_frames}};
    o["out"] = *out;
    emit(a, o);
    return 0;
}

json mean_se(const MeanSe& m) {
    if (m.count == 0 || std::isnan(m.mean)) return nullptr;
    return {{"mean", num(m.mean)}, {"se", num(m.se)}};
}

// Samples the model's system with the simulator and reports the learned
// entropy production with standard errors (and the exact values for linear systems).
int cmd_estimate(const std::vector<std::string>& argv) {
    const Args a(argv, with_config_flags({"--model", "--samples", "--burn-in", "--sample-every", "--threads", "--batches", "--device"}),
                 {"--json", "--per-particle", "--tf32"});
    const Config cfg = load_config(a);
    const auto path = a.value("--model");
    if (!path) throw ConfigError("--model", "is required (a checkpoint written by train)");
    const auto samples = positive_steps(a, "--samples", true);
    const auto burn = a.has("--burn-in") ? positive_steps(a, "--burn-in", false) : 1000;
    const auto every = a.has("--sample-every") ? positive_steps(a, "--sample-every", true) : 100;
    const int threads = threads_of(a);
    // Snapshots `every` steps apart may be correlated: batch means by default.
    // Without --batches, the session's rule (ten batches from 20 snapshots on).
    const auto batches = a.has("--batches") ? a.integer("--batches", 0) : -1;
    torch_threads(threads);
    // The live session's core without training: an evaluation (with
    // divergences and the drift's diagnostics) at every snapshot, one window
    // over all of them.
    SessionOptions so;
    so.training = false;
    so.model_path = *path;
    so.sample_every = every;
    so.sim_threads = threads;
    so.evaluate_every = 1;
    so.divergence_every = 1;
    so.window = 0;
    so.fields = false;
    if (const auto d = a.value("--device")) so.device = *d;
    SessionCore core(cfg, so);
    place(a, *core.model());
    std::cerr << "estimate: " << samples << " snapshots, " << every << " steps apart, after " << burn << " burn-in steps\n";
    if (burn > 0) core.burn_in(burn);
    // Without positional noise, stationarity (E[div v] = 0 with v_x = b_x)
    // gives the total active EPR exactly as -E[sum_i div_{x_i} b_{x_i}]: a
    // network-free value to hold the learned one against.
    const bool identity = cfg.position_diffusion() == 0.0;
    const auto t0 = Clock::now();
    core.advance(samples * every);
    const auto sum = core.window_summary(static_cast<int>(batches));
    json o;
    o["samples"] = samples;
    o["n"] = cfg.n;
    o["seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
    o["epr_active"] = mean_se(sum.epr_active);
    o["epr_active_div"] = mean_se(sum.epr_active_div);
    o["estimator_gap"] = mean_se(sum.gap);
    if (identity) {
        o["epr_active_identity"] = mean_se(sum.epr_active_exact);
        o["epr_active_identity_note"] = "no positional noise: at stationarity the total active EPR equals -E[sum_i div_x b_x] "
                                        "(exact, no network); it assumes the sampled states are stationary";
    }
    // With noise on every variable, E[v.s] = 0 at stationarity and
    // E[b.s] = -E[div b] by parts give the total EPR as E[b.D^-1 b + div b]:
    // network-free, next to the learned epr_total. Without positional noise
    // the total is infinite and only the active identity above exists.
    o["epr_total_network_free"] = identity ? json(nullptr) : mean_se(sum.epr_total_network_free);
    if (!identity && sum.epr_total_network_free.count > 0)
        o["epr_total_network_free_note"] =
            std::string("noise on every variable: at stationarity the total EPR equals E[sum_i b.D^-1 b + div b] over each "
                        "particle's dofs (b the drift; exact, no network), summed over particles like epr_total; ") +
            (cfg.model == ModelKind::Abp ? "for ABP reported in the equal form v0 (v0 + e_i.F_i) / D_t per particle, which the "
                                           "time step biases far less; "
                                         : "") +
            "it assumes the sampled states are stationary";
    else
        o["epr_total_network_free_note"] = sum.network_free_note.empty() ? std::string("unavailable") : sum.network_free_note;
    o["epr_x"] = sum.x_part == XPart::Finite ? mean_se(sum.epr_x) : json(nullptr);
    o["epr_total"] = sum.x_part == XPart::Finite ? mean_se(sum.epr_total) : json(nullptr);
    // Divergence-type (linear in the score) estimators: same expectation, no
    // positive bias from score errors at equilibrium.
    o["epr_active_lin"] = mean_se(sum.epr_active_lin);
    o["epr_x_div"] = sum.x_part == XPart::Finite ? mean_se(sum.epr_x_div) : json(nullptr);
    o["epr_total_div"] = sum.x_part == XPart::Finite ? mean_se(sum.epr_total_div) : json(nullptr);
    if (sum.x_part != XPart::Finite) o["note"] = sum.x_note;
    json diag;
    diag["v_dot_s"] = mean_se(sum.v_dot_s);
    diag["div_v"] = mean_se(sum.div_v);
    diag["ibp"] = mean_se(sum.ibp);
    diag["residual"] = mean_se(sum.residual);
    diag["div_v_time_step"] = mean_se(sum.time_step_bias);
    json notes = json::object();
    if (sum.time_step_bias.count > 0)
        notes["div_v_time_step"] = "network-free: -(dt/2) E[sum_i tr (J^2)_ii], J = d b_x / d x. The simulated (Euler) chain's "
                                   "stationary law is not the SDE's; for a linear system with slow active variables the exact "
                                   "score of the chain has this E[div v] instead of 0 (first order in dt). Read div_v against it" +
                                   std::string(identity ? "; with no positional noise the exact score of the chain has an active EPR of epr_active_identity plus it" : "");
    if (!sum.v_dot_s_note.empty()) notes["v_dot_s"] = sum.v_dot_s_note;
    if (!sum.div_v_note.empty()) notes["div_v"] = sum.div_v_note;
    if (!sum.ibp_note.empty()) notes["ibp"] = sum.ibp_note;
    if (!notes.empty()) diag["notes"] = notes;
    o["diagnostics"] = diag;
    o["units"] = "EPR summed over particles; epr_active/epr_x/epr_total by |v|^2/D, epr_active_div by div_a v_a (SPEC), "
                 "epr_active_lin / epr_x_div / epr_total_div by v.b/D + div v (linear in the score: mean 0 at equilibrium)";
    if (a.has("--per-particle")) {
        json pp;
        pp["active"] = nums(sum.sigma_sq_mean);
        pp["active_se"] = nums(sum.sigma_sq_se);
        pp["active_div"] = nums(sum.sigma_div_mean);
        pp["x"] = sum.x_part == XPart::Finite ? nums(sum.sigma_x_mean) : json(nullptr);
        o["per_particle"] = pp;
    }
    json types = json::array();
    for (const auto& t : sum.per_type)
        types.push_back({{"type", t.type},
                         {"particles", t.particles},
                         {"active", mean_se(t.active)},
                         {"active_div", mean_se(t.active_div)},
                         {"x", sum.x_part == XPart::Finite ? mean_se(t.x) : json(nullptr)}});
    o["per_type"] = types;
    if (cfg.is_linear()) {
        const LinearOracle ex = solve_linear_system(cfg);
        json e;
        e["epr_active"] = ex.epr_active_total;
        e["epr_x"] = num(ex.epr_x_total);
        e["epr_total"] = num(ex.epr_total);
        e["epr_active_discrete"] = num(ex.epr_active_discrete_total);
        e["epr_x_discrete"] = num(ex.epr_x_discrete_total);
        e["div_v_discrete"] = num(ex.div_v_discrete);
        e["note"] = "epr_*: the SDE's exact values; *_discrete: the exact score of the Euler chain the simulator runs, "
                    "which is what a network trained on its samples approaches (they differ at O(dt))";
        if (a.has("--per-particle"))
            e["per_particle"] = {{"active", nums(ex.epr_active)},
                                 {"x", nums(ex.epr_x)},
                                 {"active_discrete", nums(ex.epr_active_discrete)},
                                 {"x_discrete", nums(ex.epr_x_discrete)}};
        e["per_type"] = oracle_per_type(cfg, ex);
        o["exact"] = e;
    }
    std::cerr << "estimate: active EPR " << sum.epr_active.mean << " +- " << sum.epr_active.se << " (|v|^2), "
              << sum.epr_active_div.mean << " +- " << sum.epr_active_div.se << " (divergence)\n";
    emit(a, o);
    return 0;
}

// Network throughput on a stationary-ish snapshot: particles per second.
int bench_network(const Args& a, const Config& cfg, const std::string& what) {
    const auto steps = positive_steps(a, "--steps", true);
    const int threads = threads_of(a);
    torch_threads(threads);
    Simulator sim(cfg, threads);
    sim.run(a.has("--warmup") ? positive_steps(a, "--warmup", false) : 100);
    ScoreModel model(cfg);
    place(a, model);
    std::uint64_t stream = 1;
    const int batch = std::min(cfg.training.batch, cfg.n);
    // One untimed call: allocations, lazy initialisation.
    if (what == "train") model.train_step(sim.state(), draw_particles(splitmix64_next(stream), cfg.n, batch));
    else model.infer(sim.state(), false);
    const auto t0 = Clock::now();
    for (std::uint64_t s = 0; s < steps; ++s) {
        if (what == "train") model.train_step(sim.state(), draw_particles(splitmix64_next(stream), cfg.n, batch));
        else model.infer(sim.state(), a.has("--divergence"));
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const double particles = static_cast<double>(steps) * (what == "train" ? batch : cfg.n);
    json out;
    out["what"] = what;
    out["arch"] = to_string(cfg.network.arch);
    out["parameter_count"] = model.parameter_count();
    out["n"] = cfg.n;
    out["k_neighbors"] = cfg.network.k_neighbors;
    out["width"] = cfg.network.width;
    out["layers"] = cfg.network.layers;
    out["threads"] = threads;
    out["device"] = model.device();
    out["tf32"] = a.has("--tf32");
    out["steps"] = steps;
    out["seconds"] = seconds;
    out["samples_per_s"] = particles / seconds;
    out["particles_per_s"] = particles / seconds;
    std::cerr << "bench " << what << ": " << to_string(cfg.network.arch) << " (" << model.parameter_count() << " parameters), n = " << cfg.n
              << ", " << threads << " thread(s), " << model.device() << ": " << particles / seconds << " particles/s\n";
    emit(a, out);
    return 0;
}

// The live session as the window runs it (simulation and learner threads,
// wall-clock pacing), headless, for --seconds.
int bench_live(const Args& a, const Config& cfg) {
    const double seconds = a.has("--seconds") ? a.number("--seconds", 0) : 20.0;
    if (!(seconds > 0.0) || seconds > 86400.0) throw ConfigError("--seconds", "must be in (0, 86400]");
    LiveOptions lo;
    lo.sim_threads = a.has("--sim-threads") ? static_cast<int>(a.integer("--sim-threads", 1)) : 1;
    lo.train_threads = a.has("--train-threads") ? static_cast<int>(a.integer("--train-threads", 1)) : 1;
    if (lo.sim_threads < 1 || lo.sim_threads > 1024) throw ConfigError("--sim-threads", "must be in [1, 1024]");
    if (lo.train_threads < 1 || lo.train_threads > 1024) throw ConfigError("--train-threads", "must be in [1, 1024]");
    if (const auto m = a.value("--model")) lo.session.pretrained_path = *m;
    lo.session.training = !a.has("--no-training");
    LiveSession live(cfg, lo);
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const LiveSession::Stats st = live.stats();
    const auto f = live.latest();
    json out;
    out["what"] = "live";
    out["n"] = cfg.n;
    out["model"] = to_string(cfg.model);
    out["seconds"] = st.seconds;
    out["sim_threads"] = lo.sim_threads;
    out["train_threads"] = lo.train_threads;
    out["sim_particle_steps_per_s"] = static_cast<double>(st.particle_steps) / st.seconds;
    out["train_steps_per_s"] = static_cast<double>(st.train_steps) / st.seconds;
    out["evaluations_per_s"] = static_cast<double>(st.evaluations) / st.seconds;
    out["divergence_evaluations_per_s"] = static_cast<double>(st.divergence_evaluations) / st.seconds;
    out["evaluation_share"] = st.train_seconds + st.eval_seconds > 0 ? json(st.eval_seconds / (st.train_seconds + st.eval_seconds)) : json(nullptr);
    out["train_seconds"] = st.train_seconds;
    out["evaluation_seconds"] = st.eval_seconds;
    out["evaluations"] = st.evaluations;
    out["train_steps"] = st.train_steps;
    out["seconds_to_first_estimate"] = st.seconds_to_first_estimate >= 0.0 ? json(st.seconds_to_first_estimate) : json(nullptr);
    out["network_source"] = f ? json(f->training.source) : json(nullptr);
    if (f && !f->notice.empty()) out["notice"] = f->notice;
    std::cerr << "bench live: " << st.seconds << " s: " << out["sim_particle_steps_per_s"].get<double>() / 1e6
              << " M particle-steps/s, " << out["train_steps_per_s"].get<double>() << " training steps/s, "
              << out["evaluations_per_s"].get<double>() << " evaluations/s, first estimate after "
              << st.seconds_to_first_estimate << " s\n";
    emit(a, out);
    return 0;
}

int cmd_bench(const std::vector<std::string>& argv) {
#ifdef ENTROSCOPE_HAVE_RENDER  // before Args: the render benchmark has flags of its own (--size, --renders)
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) if (argv[i] == "--what" && argv[i + 1] == "render") return bench_render(argv);
#endif
    const Args a(argv, with_config_flags({"--steps", "--threads", "--warmup", "--what", "--device", "--seconds", "--sim-threads",
                                          "--train-threads", "--model", "--check-every", "--samples", "--sample-every", "--burn-in",
                                          "--eval-every"}),
                 {"--json", "--divergence", "--tf32", "--no-training"});
    const auto what = a.value("--what").value_or("simulate");
    if (what != "simulate" && what != "train" && what != "infer" && what != "live" && what != "accuracy")
        throw ConfigError("--what", "unknown benchmark '" + what + "' (simulate, train, infer, live, accuracy, or render in a build with VTK)");
    if (what != "accuracy")
        for (const char* flag : {"--check-every", "--samples", "--sample-every", "--burn-in", "--eval-every"})
            if (a.has(flag)) throw ConfigError(flag, "applies to --what accuracy only");
    if (what == "accuracy") return bench_accuracy(a, accuracy_config(a));
    const Config cfg = load_config(a);
    if (what == "live") return bench_live(a, cfg);
    if (what != "simulate") return bench_network(a, cfg, what);
    if (a.has("--device")) throw ConfigError("--device", "applies to the network benchmarks (--what train|infer); the simulator runs on the CPU");
    if (a.has("--tf32")) throw ConfigError("--tf32", "applies to the network benchmarks (--what train|infer) on a GPU");
    const auto steps = positive_steps(a, "--steps", true);
    const int threads = threads_of(a);
    const auto warm = a.has("--warmup") ? positive_steps(a, "--warmup", false) : std::max<std::uint64_t>(steps / 10, 10);
    Simulator sim(cfg, threads);
    sim.run(warm);  // lists built, caches warm, initial lattice melted a little
    const auto rebuilds0 = sim.neighbor_rebuilds();
    const auto t0 = Clock::now();
    sim.run(steps);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const double rate = static_cast<double>(cfg.n) * static_cast<double>(steps) / seconds;
    json out;
    out["what"] = what;
    out["model"] = to_string(cfg.model);
    out["interaction"] = to_string(cfg.interaction);
    out["n"] = cfg.n;
    out["phi"] = cfg.phi;
    out["threads"] = threads;
    out["simd"] = to_string(simd_level());
    out["steps"] = steps;
    out["seconds"] = seconds;
    out["particle_steps_per_s"] = rate;
    out["neighbor_rebuilds"] = sim.neighbor_rebuilds() - rebuilds0;
    std::cerr << "bench: " << to_string(cfg.model) << " n = " << cfg.n << ", " << threads << " thread(s): "
              << rate / 1e6 << " M particle-steps/s (" << steps << " steps in " << seconds << " s)\n";
    emit(a, out);
    return 0;
}

}  // namespace

int run_command(const std::string& command, const std::vector<std::string>& args) {
    if (command == "oracle") return cmd_oracle(args);
    if (command == "simulate") return cmd_simulate(args);
    if (command == "bench") return cmd_bench(args);
    if (command == "train") return cmd_train(args);
    if (command == "estimate") return cmd_estimate(args);
    if (command == "sweep") return cmd_sweep(args);
    if (command == "export") return cmd_export(args);
#ifdef ENTROSCOPE_HAVE_RENDER
    if (command == "render") return cmd_render(args);
#else
    if (command == "render") throw ConfigError("", "this entroscope-cli was built without VTK (render/ is off): no offscreen rendering; build with VTK 9.1");
#endif
    throw ConfigError("", "unknown command '" + command + "' (try: simulate, train, estimate, sweep, export, render, oracle, bench)");
}

}  // namespace entroscope::cli

#include "bench_accuracy.hpp"

#include <chrono>
#include <cmath>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "entroscope/analysis/estimators.hpp"
#include "entroscope/analysis/observables.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/core/time_scales.hpp"
#include "entroscope/physics/linear_oracle.hpp"
#include "entroscope/score/score_model.hpp"
#include "entroscope/session/session_core.hpp"
#include "entroscope/sim/simulator.hpp"

namespace entroscope::cli {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr double kBar = 0.02;

// TestScoreOracles' single trap: the system the time to 2 % is quoted for.
constexpr const char* kSingleTrap = R"({"model":"aoup","n":512,"box":400,"interaction":"none","v0":1.0,"gamma":1.0,"eps":0.1,
    "trap_stiffness":[1.0],"dt":0.002,"seed":11,
    "network":{"arch":"fast","k_neighbors":4,"width":32,"layers":2,"heads":2},
    "training":{"loss":"ism","lr":3e-3,"batch":512,"ema":0.99,"warmup":100}})";

json mean_se(const MeanSe& m) { return {{"mean", m.mean}, {"se", m.se}}; }

// The flags both kinds of system share, checked; sets the network threads.
struct Plan {
    long long max_steps, every, samples, sample_every, threads;
};
// Training snapshots one decorrelation time apart unless --sample-every says
// otherwise, as `train` does.
Plan read_plan(const Args& a, const Config& cfg, long long default_steps, long long default_every, long long min_samples,
               const char* why) {
    Plan p{a.integer("--steps", default_steps), a.integer("--check-every", default_every), a.integer("--samples", 100),
           a.integer("--sample-every", static_cast<long long>(decorrelation_steps(cfg))), a.integer("--threads", 1)};
    if (p.sample_every < 1) throw ConfigError("--sample-every", "must be >= 1");
    if (p.max_steps < 1) throw ConfigError("--steps", "must be >= 1");
    if (p.every < 1) throw ConfigError("--check-every", "must be >= 1");
    if (p.samples < min_samples) throw ConfigError("--samples", "must be >= " + std::to_string(min_samples) + why);
    if (p.threads < 1 || p.threads > 1024) throw ConfigError("--threads", "must be in [1, 1024]");
    set_network_threads(static_cast<int>(p.threads));
    return p;
}

// When the checks first come within the bar, and the check from which they
// stay within it to the end of the run (null when the last one is outside).
struct Reach {
    json first = nullptr, settled = nullptr;
    bool stays = true;
    void check(bool within, long long steps, double seconds) {
        if (!within) {
            if (!first.is_null()) stays = false;
            settled = nullptr;
            return;
        }
        if (first.is_null()) first = {{"steps", steps}, {"seconds", seconds}};
        if (settled.is_null()) settled = {{"steps", steps}, {"seconds", seconds}};
    }
    void report(json& o) const {
        o["time_to_2_percent"] = first;
        o["stays_within"] = !first.is_null() && stays;
        o["time_to_stay_within_2_percent"] = settled;
    }
};

// The evaluation set: `samples` snapshots `spacing` steps apart of an
// independent trajectory (seed + 1000) after `burn` steps, drawn once.
std::vector<State> evaluation_set(const Config& cfg, const Plan& p, std::uint64_t burn, std::uint64_t spacing) {
    Config run = cfg;
    run.seed = cfg.seed + 1000;
    Simulator sim(run, static_cast<int>(p.threads));
    sim.run(burn);
    std::vector<State> eval;
    for (long long k = 0; k < p.samples; ++k) {
        sim.run(spacing);
        eval.push_back(sim.state());
    }
    return eval;
}

// Training as `train --burn-in B --sample-every K` does it.
std::unique_ptr<SessionCore> training_core(const Config& cfg, const Plan& p, std::uint64_t burn) {
    SessionOptions so;
    so.training = true;
    so.schedule_steps = static_cast<std::uint64_t>(p.max_steps);
    so.sample_every = static_cast<std::uint64_t>(p.sample_every);
    so.sim_threads = static_cast<int>(p.threads);
    so.fields = false;
    auto core = std::make_unique<SessionCore>(cfg, so);
    core->burn_in(burn);
    return core;
}

// Trains in chunks of --check-every up to --steps; after each, `check(steps,
// training seconds so far)` evaluates and returns that check's JSON (with
// "within"). Writes "checks" and the time keys into `o`.
void train_and_check(SessionCore& core, const Plan& p, json& o, const std::function<json(long long, double)>& check) {
    json checks = json::array();
    double seconds = 0;
    Reach reach;
    for (long long done = 0; done < p.max_steps;) {
        const auto step = std::min(p.every, p.max_steps - done);
        const auto t0 = Clock::now();
        core.train(static_cast<std::uint64_t>(step));
        seconds += std::chrono::duration<double>(Clock::now() - t0).count();
        done += step;
        json c = check(done, seconds);
        reach.check(c["within"].get<bool>(), done, seconds);
        checks.push_back(std::move(c));
    }
    o["checks"] = checks;
    reach.report(o);
}

}  // namespace

Config accuracy_config(const Args& a) {
    if (a.has("--config")) return load_config(a);
    Config c = parse_config(kSingleTrap);
    c.finalize();
    return c;
}

namespace {

// An interacting system (no oracle): the learned total against the
// network-free total plus the Euler chain's E[div v] (docs/numerics.md, "The
// time step"), what a perfectly learned score reads, snapshot by snapshot.
int bench_accuracy_network_free(const Args& a, const Config& cfg) {
    if (!a.has("--burn-in") || !a.has("--eval-every"))
        throw ConfigError(a.has("--burn-in") ? "--eval-every" : "--burn-in",
                          "is required for an interacting system (no relaxation time is known): --burn-in B (simulator steps "
                          "before training and before the evaluation snapshots) and --eval-every E (steps between those snapshots)");
    if (!(cfg.position_diffusion() > 0.0))
        throw ConfigError("--config", "an interacting system needs noise on every variable for the network-free total (ABP with "
                                      "D_t > 0, AOUP with eps > 0)");
    const Plan p = read_plan(a, cfg, 6000, 1000, 20, " for an interacting system (10 batch means)");
    const long long burn = a.integer("--burn-in", 0);
    const long long eval_every = a.integer("--eval-every", 0);
    if (burn < 0) throw ConfigError("--burn-in", "must be >= 0");
    if (eval_every < 1) throw ConfigError("--eval-every", "must be >= 1");
    const std::vector<State> eval = evaluation_set(cfg, p, static_cast<std::uint64_t>(burn), static_cast<std::uint64_t>(eval_every));
    const auto core = training_core(cfg, p, static_cast<std::uint64_t>(burn));
    std::cerr << "bench accuracy: n = " << cfg.n << ", no oracle: against the network-free total plus the time step's share; "
              << p.samples << " evaluation snapshots\n";
    json o;
    train_and_check(*core, p, o, [&](long long done, double seconds) {
        std::vector<double> d_sq, d_div, ref, nf, share, learned, learned_div;
        for (const State& s : eval) {
            const SnapshotTotals t = snapshot_totals(estimate_particles(cfg, s, core->model()->infer(s, true)));
            if (!std::isfinite(t.epr_total_network_free) || !std::isfinite(t.time_step_bias) || !std::isfinite(t.epr_total))
                throw NumericalError("the learned or the network-free total is not finite at step " + std::to_string(done) +
                                     " (a blow-up of the network or of the state)");
            const double want = t.epr_total_network_free + t.time_step_bias;
            d_sq.push_back(t.epr_total - want);
            d_div.push_back(t.epr_total_div - want);
            ref.push_back(want);
            nf.push_back(t.epr_total_network_free);
            share.push_back(t.time_step_bias);
            learned.push_back(t.epr_total);
            learned_div.push_back(t.epr_total_div);
        }
        const MeanSe r = batch_means(ref, 10), dq = batch_means(d_sq, 10), dd = batch_means(d_div, 10);
        // Within: the paired difference inside 2 % of the reference plus 2 of its SEs.
        const auto inside = [&](const MeanSe& d) { return std::fabs(d.mean) <= kBar * std::fabs(r.mean) + 2.0 * d.se; };
        const bool within = inside(dq) && inside(dd);
        json c = {{"steps", done},
                  {"seconds", seconds},
                  {"total", mean_se(batch_means(learned, 10))},
                  {"total_div", mean_se(batch_means(learned_div, 10))},
                  {"network_free", mean_se(batch_means(nf, 10))},
                  {"time_step_share", mean_se(batch_means(share, 10))},
                  {"reference", mean_se(r)},
                  {"difference", mean_se(dq)},
                  {"difference_div", mean_se(dd)},
                  {"error_total", dq.mean / r.mean},
                  {"error_total_div", dd.mean / r.mean},
                  {"within", within}};
        std::cerr << "  " << done << " steps, " << seconds << " s: total " << 100 * dq.mean / r.mean << " +- " << 100 * dq.se / std::fabs(r.mean)
                  << " % (|v|^2), " << 100 * dd.mean / r.mean << " +- " << 100 * dd.se / std::fabs(r.mean) << " % (div)"
                  << (within ? "  within 2 % + 2 SE" : "") << "\n";
        return c;
    });
    o["what"] = "accuracy";
    o["reference"] = "network_free_plus_time_step_share";
    o["n"] = cfg.n;
    o["threads"] = p.threads;
    o["sample_every"] = p.sample_every;
    o["note"] = "seconds: training only (simulation and optimiser steps), not the evaluations; per snapshot the learned total (|v|^2/D "
                "and linear estimators) minus the network-free total E[b.D^-1 b + div b] plus the time step's share of E[div v] "
                "(linearised), summed over particles; mean and batch-means SE (10 batches) over the fixed snapshots; within: "
                "|difference| <= 2 % of the reference + 2 SE for both estimators";
    if (a.has("--json")) std::cout << o.dump() << std::endl;
    return 0;
}

}  // namespace

int bench_accuracy(const Args& a, const Config& cfg) {
    if (!cfg.is_linear()) return bench_accuracy_network_free(a, cfg);
    for (const char* flag : {"--burn-in", "--eval-every"})
        if (a.has(flag)) throw ConfigError(flag, "applies to interacting systems only (a linear system's relaxation time sets them)");
    const Plan p = read_plan(a, cfg, 600, 25, 2, "");
    const LinearOracle ex = solve_linear_system(cfg);
    const bool noise = ex.x_part_finite();
    const double chain_active = ex.epr_active_discrete_total;
    const double chain_total = noise ? ex.epr_active_discrete_total + ex.epr_x_discrete_total : chain_active;
    // Snapshots two relaxation times of the slowest mode apart after ten;
    // training after the same burn-in.
    double slowest = cfg.gamma;
    for (double k : cfg.trap_stiffness) slowest = std::min(slowest, k);
    const auto relax_steps = static_cast<std::uint64_t>(std::ceil(1.0 / slowest / cfg.dt));
    const std::vector<State> eval = evaluation_set(cfg, p, 10 * relax_steps, 2 * relax_steps);
    const auto core = training_core(cfg, p, 10 * relax_steps);
    std::cerr << "bench accuracy: n = " << cfg.n << ", exact (chain) active " << chain_active << (noise ? ", total " : "")
              << (noise ? std::to_string(chain_total) : std::string()) << "; " << p.samples << " evaluation snapshots\n";
    json o;
    train_and_check(*core, p, o, [&](long long done, double seconds) {
        EstimatorAccumulator acc(cfg.n, cfg.types);
        for (const State& s : eval) acc.add(estimate_particles(cfg, s, core->model()->infer(s, true)));
        const auto sum = acc.summary();
        const double e_v = sum.epr_active.mean / chain_active - 1, e_div = sum.epr_active_div.mean / chain_active - 1;
        const double e_tot = (noise ? sum.epr_total.mean : sum.epr_active.mean) / chain_total - 1;
        const bool within = std::fabs(e_v) < kBar && std::fabs(e_div) < kBar && std::fabs(e_tot) < kBar;
        json c = {{"steps", done},
                  {"seconds", seconds},
                  {"active", mean_se(sum.epr_active)},
                  {"active_div", mean_se(sum.epr_active_div)},
                  {"error_active", e_v},
                  {"error_active_div", e_div},
                  {"error_total", e_tot},
                  {"within", within}};
        if (noise) c["total"] = mean_se(sum.epr_total);
        std::cerr << "  " << done << " steps, " << seconds << " s: active " << 100 * e_v << " % (|v|^2), " << 100 * e_div
                  << " % (div), total " << 100 * e_tot << " %" << (within ? "  within 2 %" : "") << "\n";
        return c;
    });
    o["what"] = "accuracy";
    o["n"] = cfg.n;
    o["threads"] = p.threads;
    o["sample_every"] = p.sample_every;
    o["exact"] = {{"active", ex.epr_active_total},
                  {"active_discrete", chain_active},
                  {"total", noise ? json(ex.epr_total) : json(nullptr)},
                  {"total_discrete", noise ? json(chain_total) : json(nullptr)}};
    o["note"] = "seconds: training only (simulation and optimiser steps), not the evaluations; errors against the Euler chain's "
                "exact values (exact.*_discrete), by |v|^2/D and the divergence estimator on a fixed set of snapshots";
    if (a.has("--json")) std::cout << o.dump() << std::endl;
    return 0;
}

}  // namespace entroscope::cli

#include "bench_accuracy.hpp"

#include <chrono>
#include <cmath>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "entroscope/analysis/estimators.hpp"
#include "entroscope/core/errors.hpp"
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

}  // namespace

Config accuracy_config(const Args& a) {
    if (a.has("--config")) return load_config(a);
    Config c = parse_config(kSingleTrap);
    c.finalize();
    return c;
}

int bench_accuracy(const Args& a, const Config& cfg) {
    if (!cfg.is_linear())
        throw ConfigError("--config", "the accuracy benchmark needs a linear system with exact answers (model \"aoup\", "
                                      "\"interaction\": \"none\", traps and springs); without --config it runs the single trap");
    const long long max_steps = a.integer("--steps", 600);
    const long long every = a.integer("--check-every", 25);
    const long long samples = a.integer("--samples", 100);
    const long long sample_every = a.integer("--sample-every", 100);
    if (sample_every < 1) throw ConfigError("--sample-every", "must be >= 1");
    if (max_steps < 1) throw ConfigError("--steps", "must be >= 1");
    if (every < 1) throw ConfigError("--check-every", "must be >= 1");
    if (samples < 2) throw ConfigError("--samples", "must be >= 2");
    const auto threads = a.integer("--threads", 1);
    if (threads < 1 || threads > 1024) throw ConfigError("--threads", "must be in [1, 1024]");
    set_network_threads(static_cast<int>(threads));
    const LinearOracle ex = solve_linear_system(cfg);
    const bool noise = ex.x_part_finite();
    const double chain_active = ex.epr_active_discrete_total;
    const double chain_total = noise ? ex.epr_active_discrete_total + ex.epr_x_discrete_total : chain_active;
    // The evaluation set: snapshots of an independent trajectory, two
    // relaxation times of the slowest mode apart, drawn once.
    double slowest = cfg.gamma;
    for (double k : cfg.trap_stiffness) slowest = std::min(slowest, k);
    const auto relax_steps = static_cast<std::uint64_t>(std::ceil(1.0 / slowest / cfg.dt));
    Config run = cfg;
    run.seed = cfg.seed + 1000;
    Simulator sim(run, static_cast<int>(threads));
    sim.run(10 * relax_steps);
    std::vector<State> eval;
    for (long long k = 0; k < samples; ++k) {
        sim.run(2 * relax_steps);
        eval.push_back(sim.state());
    }
    // Training as `train --burn-in 10/slowest --sample-every K` does it.
    SessionOptions so;
    so.training = true;
    so.schedule_steps = static_cast<std::uint64_t>(max_steps);
    so.sample_every = static_cast<std::uint64_t>(sample_every);
    so.sim_threads = static_cast<int>(threads);
    so.fields = false;
    SessionCore core(cfg, so);
    core.burn_in(10 * relax_steps);
    std::cerr << "bench accuracy: n = " << cfg.n << ", exact (chain) active " << chain_active << (noise ? ", total " : "")
              << (noise ? std::to_string(chain_total) : std::string()) << "; " << samples << " evaluation snapshots\n";
    json checks = json::array();
    double seconds = 0;
    json reached = nullptr;
    bool stays = true;
    for (long long done = 0; done < max_steps;) {
        const auto step = std::min(every, max_steps - done);
        const auto t0 = Clock::now();
        core.train(static_cast<std::uint64_t>(step));
        seconds += std::chrono::duration<double>(Clock::now() - t0).count();
        done += step;
        EstimatorAccumulator acc(cfg.n, cfg.types);
        for (const State& s : eval) acc.add(estimate_particles(cfg, s, core.model()->infer(s, true)));
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
        checks.push_back(c);
        std::cerr << "  " << done << " steps, " << seconds << " s: active " << 100 * e_v << " % (|v|^2), " << 100 * e_div
                  << " % (div), total " << 100 * e_tot << " %" << (within ? "  within 2 %" : "") << "\n";
        if (within && reached.is_null()) reached = {{"steps", done}, {"seconds", seconds}};
        if (!within && !reached.is_null()) stays = false;
    }
    json o;
    o["what"] = "accuracy";
    o["n"] = cfg.n;
    o["threads"] = threads;
    o["sample_every"] = sample_every;
    o["exact"] = {{"active", ex.epr_active_total},
                  {"active_discrete", chain_active},
                  {"total", noise ? json(ex.epr_total) : json(nullptr)},
                  {"total_discrete", noise ? json(chain_total) : json(nullptr)}};
    o["checks"] = checks;
    o["time_to_2_percent"] = reached;
    o["stays_within"] = !reached.is_null() && stays;
    o["note"] = "seconds: training only (simulation and optimiser steps), not the evaluations; errors against the Euler chain's "
                "exact values (exact.*_discrete), by |v|^2/D and the divergence estimator on a fixed set of snapshots";
    if (a.has("--json")) std::cout << o.dump() << std::endl;
    return 0;
}

}  // namespace entroscope::cli

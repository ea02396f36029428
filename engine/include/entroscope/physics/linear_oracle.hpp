#pragma once
// Exact answers for linear AOUP systems (SPEC §1c, §5): harmonic traps and
// zero-rest-length springs, no pair force. dz = -B z dt + sqrt(2D) dW has a
// Gaussian stationary law whose covariance solves B S + S B^T = 2 D.
// x and y decouple and are identical, so everything is solved per Cartesian
// component and per connected component of the spring graph.
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"

namespace entroscope {

struct LinearOracle {
    int n = 0;
    double eps = 0.0;
    // Per particle, per Cartesian component: Var(x_i), Var(g_i), Cov(x_i, g_i).
    std::vector<double> var_x, var_g, cov_xg;
    // Same for the Euler–Maruyama chain the simulator runs (exact OU step for g):
    // its stationary covariance solves S = F S F^T + Q, so tests can separate
    // sampling noise from O(dt) discretisation bias.
    std::vector<double> var_x_discrete;
    // The chain's own exact score, s = -S_d^{-1} z, put into the SDE's
    // estimators (what a network trained on the simulator's samples learns):
    // per-particle EPR parts and the total E[div v], which is not 0 for the
    // chain (estimators.hpp, time_step_bias). NaN where the chain is unstable.
    std::vector<double> epr_active_discrete, epr_x_discrete;
    double epr_active_discrete_total = 0.0, epr_x_discrete_total = 0.0, div_v_discrete = 0.0;
    // Entropy production per particle (both Cartesian components summed).
    // epr_x is +inf when eps = 0 (hypoelliptic: only the active part is finite).
    std::vector<double> epr_active, epr_x;
    double epr_active_total = 0.0, epr_x_total = 0.0, epr_total = 0.0;
    // Mean over particles of E|x_i - c|^2 = 2 Var(x_i) (continuous / discrete).
    double mean_sq_position = 0.0, mean_sq_position_discrete = 0.0;
    bool x_part_finite() const { return eps > 0.0; }
};

// Throws ConfigError when the config is not linear (model aoup, interaction none)
// or has no unique non-degenerate stationary law (an unconfined particle,
// or eps = 0 together with v0 = 0).
LinearOracle solve_linear_system(const Config& cfg);

// Exact score s = -S^{-1} z of the stationary law at a state, for a linear
// config: (s_x, s_g) per particle as two 2N vectors. Positions are taken
// relative to the trap centre (box centre) with minimum image.
struct ExactScore {
    std::vector<double> s_x, s_g;
};
ExactScore exact_score(const Config& cfg, const State& state);

}  // namespace entroscope

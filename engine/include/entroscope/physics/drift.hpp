#pragma once
// The deterministic drift b(z) of SPEC §1 and its exact per-particle
// divergence, for the estimators of SPEC §2 (v = b - D s).
//
// Positions:  b_{x_i} = v0 g_i (AOUP) or v0 e(theta_i) (ABP)
//                     + sum_j f(r_ij) r_hat_ij      (k * softplus/hard for AOUP, WCA for ABP)
//                     - A_i mi(x_i - c)              (harmonic trap about the box centre c)
//                     - sum_springs kappa mi(x_i - x_j)
// Active:     b_{g_i} = -gamma g_i (AOUP), b_{theta_i} = 0 (ABP).
// The conventions (unit mobility, minimum image "mi", pair cut-off
// Config::pair_cutoff(), pairs counted for r^2 < r_cut^2, no k factor on WCA)
// are the simulator's, so b_x - self-propulsion equals
// Simulator::conservative_forces() to rounding.
//
// Divergences are of each particle's own block (what the estimators need):
//   div_{x_i} b_{x_i} = sum_j [f'(r_ij) + f(r_ij)/r_ij] - 2 A_i - 2 sum_springs kappa
// (a central force f(r) r_hat has 2-D divergence f' + f/r; self-propulsion
// does not depend on x), and div_{g_i} b_{g_i} = -2 gamma (AOUP), 0 (ABP).
// They are exact away from the non-smooth points of the model: the hard
// form's kink at r = 2 r0, the cut-off radius, and the trap's minimum-image
// seam half a box from the centre.
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"
#include "entroscope/physics/pair_law.hpp"  // the pair force itself (radial_pair_force)

namespace entroscope {

struct Drift {
    int n = 0;
    int active_dim = 0;
    std::vector<double> b_x;        // 2n: full position drift (self-propulsion included)
    std::vector<double> b_act;      // n * active_dim: AOUP -gamma g; ABP 0
    std::vector<double> div_x;      // n: div_{x_i} b_{x_i}; empty unless asked
    std::vector<double> div_act;    // n: -2 gamma (AOUP) / 0 (ABP); empty unless asked
    // n: tr (J^2)_{ii}, J = d b_x / d x (positions only): the sum over k of
    // tr(J_ik J_ki) = tr(J_ii^2) + sum_{j != i} tr(J_ij J_ji): a pair force
    // with Jacobian M_ij adds M_ij to J_ii and -M_ij to J_ij, a spring -kappa I
    // and kappa I, the trap -A I to J_ii. With the divergence. Its sum sets the Euler time step's bias of E[div v]
    // (estimators.hpp, time_step_bias).
    std::vector<double> tr_j2;
};

// Evaluates the drift of one config on many states. Keeps its cell-list
// buffers between calls (not thread-safe: one evaluator per thread).
// Cost O(N) with a cell list (all pairs when the box holds fewer than 3
// cells per side).
class DriftEvaluator {
public:
    // Throws ConfigError when cfg is invalid (it is re-validated).
    explicit DriftEvaluator(Config cfg);

    // Throws ConfigError when the state does not match the config
    // (particle count, model, box).
    Drift evaluate(const State& s, bool with_divergence = true);
    // Pair + trap + spring forces only (the simulator's conservative_forces()).
    std::vector<double> conservative_forces(const State& s);

    const Config& config() const { return cfg_; }

private:
    void check(const State& s) const;
    void build_cells(const State& s);
    // Adds forces and, when div != nullptr, divergences and (jac: 4 per
    // particle) the own block J_ii (xx, xy, yy) and sum_j tr(J_ij J_ji).
    void add_pairs(const State& s, double* f, double* div, double* jac);
    void add_one_body(const State& s, double* f, double* div, double* jac) const;

    Config cfg_;
    bool pair_ = false;
    double rcut_ = 0.0;
    int ncell_ = 0;
    std::vector<int> cell_start_, cell_items_, cell_of_;
    std::vector<int> spring_start_, spring_other_;
    std::vector<double> spring_kappa_;
};

// One-shot convenience wrapper around DriftEvaluator.
Drift compute_drift(const Config& cfg, const State& s, bool with_divergence = true);

}  // namespace entroscope

#pragma once
// Entropy production and probability-flow estimators of SPEC §2, from a
// snapshot, its drift (drift.hpp) and a score (network output or exact).
//
// With D = diag(eps I, gamma I) (AOUP) or diag(D_t I, D_r) (ABP) the flow
// velocity is v = b - D s. Per particle i (a = g_i or theta_i):
//   v_a        = -gamma g - gamma s_g          (AOUP)   |  -D_r s_theta      (ABP)
//   v_x        = b_x - D_x s_x; exactly b_x when D_x = 0 (no s_x needed)
//   sigma_sq   = |v_a|^2 / D_a   = gamma |g + s_g|^2     |  D_r s_theta^2
//   sigma_div  = div_a v_a       = -gamma (2 + div s_g)  |  -D_r d_theta s_theta
//                (the two active-part estimators; equal in expectation)
//   sigma_x    = |v_x|^2 / D_x  (D_x > 0 and s_x given); infinite when D_x = 0
//   sigma_x_div = v_x . b_x / D_x + div_x v_x: the same expectation by parts
//                (E[v.D^-1 v] = E[v.D^-1 b] + E[div v]); linear in the score,
//                so at equilibrium (b = D s_true) its mean is 0 for any
//                learned score, where |v|^2 keeps a positive bias
//   sigma_lin  = v_a . b_a / D_a + div_a v_a: the same for the active part
//                (sigma_div drops v_a . b_a / D_a, whose mean is 0 only for
//                the exact score: it uses E|g|^2 = d and E[g.s_g] = -d)
//   ibp        = |s_a|^2 + div_a s_a  (+ |s_x|^2 + div_x s_x when both given)
//   div_v      = div_x v_x + div_a v_a, div_x v_x = div_x b_x - D_x div_x s_x
//   v_dot_s    = v . s over all of the particle's dofs (needs s_x)
//   residual   = div_v + v_dot_s
//   network_free_total = b.D^-1 b + div b (D_x > 0; no score: its sum's mean
//                is the total EPR at stationarity); ABP: v0 e.b_x / D_t, the
//                same mean
// E[ibp], E[sum_i div_v_i], E[sum_i v_dot_s_i] are 0 at stationarity, and
// sum_i residual_i = div(v rho)/rho is 0 pointwise for the exact score.
// Per-particle div_v and v_dot_s need not have mean 0 one by one; only the
// sums over all particles do (ibp is mean 0 per particle).
#include <cstdint>
#include <string>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/physics/drift.hpp"
#include "entroscope/analysis/observables.hpp"
#include "entroscope/score/score_output.hpp"
#include "entroscope/core/state.hpp"

namespace entroscope {

// The position (x) part of the EPR.
enum class XPart {
    Finite,      // D_x > 0 and a position score is given
    Infinite,    // D_x = 0: hypoelliptic (SPEC §2), only the active part is finite
    Unavailable  // D_x > 0 but no position score was given
};
const char* to_string(XPart);

// Per-particle estimates for one snapshot. A vector is empty when its
// quantity is unavailable; the matching *_note says why.
struct ParticleEstimates {
    int n = 0;
    int active_dim = 0;
    double D_x = 0.0, D_act = 0.0;  // (eps, gamma) or (D_t, D_r)

    std::vector<double> v_x;        // 2n
    std::vector<double> v_act;      // n * active_dim
    std::vector<double> sigma_sq;   // n
    std::vector<double> sigma_div;  // n (needs score.div_act)
    std::vector<double> sigma_lin;  // n (needs score.div_act)
    std::vector<double> sigma_x;    // n (XPart::Finite only)
    std::vector<double> sigma_x_div;  // n (XPart::Finite with div_x of the score and of the drift)
    std::vector<double> ibp;        // n (needs score.div_act)
    std::vector<double> div_v;      // n
    std::vector<double> v_dot_s;    // n (needs score.s_x)
    std::vector<double> residual;   // n (div_v and v_dot_s both available)
    // n: -div_x b_x (D_x = 0 and the drift's divergence given). Without
    // positional noise, stationarity (E[div v] = 0 with v_x = b_x) makes the
    // mean of its sum the exact total active EPR: a value that needs no
    // network (SPEC §2 lists it as the network-free check; docs/numerics.md).
    std::vector<double> contraction;
    // n: -(dt/2) tr (J^2)_ii (needs the drift's tr_j2). The Euler-Maruyama
    // chain's stationary law is not the SDE's: for a linear system whose
    // active variables relax slowly next to the positions (gamma or D_r
    // small against the stiffness), the exact score of the simulated chain
    // has E[div v] = -(dt/2) E[tr J^2] + O(dt^2), not 0 (J = d b_x / d x).
    // Its sum is what the diagnostic E[sum div v] should be read against;
    // with D_x = 0 it is also how far below the identity (contraction) an
    // exact learner of the chain's score lands. Linearised: a guide to the
    // time step's share of the diagnostic, not an exact value (README).
    std::vector<double> time_step_bias;
    // n: b.D^-1 b + div b over the particle's own dofs, |b_x|^2 / D_x +
    // div_x b_x + |b_a|^2 / D_a + div_a b_a (D_x > 0 and the drift's
    // divergence given; empty otherwise, see network_free_note). With noise
    // on every variable, E[v.s] = 0 at stationarity and E[b.s] = -E[div b]
    // by parts turn E[v.D^-1 v] into E[b.D^-1 b] + E[div b]: the mean of its
    // sum is the exact total EPR with no network. Only the sum: a particle's
    // own E[v_i.s_i] need not be 0, so its value is not its share sigma_i.
    // On the simulated Euler chain E|b|^2 carries an O(dt) excess (large for
    // stiff pair forces), which the identity does not remove; for ABP the
    // value is therefore v0 (v0 + e.F) / D_t = v0 e.b_x / D_t, which has the
    // same mean at stationarity (E|F|^2 + D_t E[div F] = -v0 E[e.F]) and
    // barely depends on dt.
    std::vector<double> network_free_total;

    XPart x_part = XPart::Infinite;
    bool ibp_includes_x = false;
    std::string x_note, sigma_div_note, ibp_note, div_v_note, v_dot_s_note, network_free_note;
};

// Throws ConfigError when the state, drift or score do not match the config
// (sizes, model kind) and NumericalError when a needed input is not finite.
ParticleEstimates estimate_particles(const Config& cfg, const State& s, const ScoreOutput& score, const Drift& drift);
// Same, evaluating the drift (with its divergence) itself.
ParticleEstimates estimate_particles(const Config& cfg, const State& s, const ScoreOutput& score);

// Sums over particles of one snapshot (the global, extensive quantities).
struct SnapshotTotals {
    double epr_active = 0.0;      // sum sigma_sq
    double epr_active_div = 0.0;  // sum sigma_div (NaN when unavailable)
    double gap = 0.0;             // sum (sigma_sq - sigma_div) (NaN when unavailable)
    double epr_x = 0.0;           // sum sigma_x (+inf when infinite, NaN when unavailable)
    double epr_total = 0.0;       // epr_active + epr_x (the |v|^2 estimator for the active part)
    double epr_x_div = 0.0;       // sum sigma_x_div (+inf when infinite, NaN when unavailable)
    double epr_active_lin = 0.0;  // sum sigma_lin (NaN when unavailable)
    double epr_total_div = 0.0;   // epr_active_lin + epr_x_div: linear in the score, mean 0 at equilibrium
    double ibp = 0.0, div_v = 0.0, v_dot_s = 0.0, residual = 0.0;  // NaN when unavailable
    double epr_active_exact = 0.0;  // sum contraction: network-free active EPR when D_x = 0 (NaN otherwise)
    double time_step_bias = 0.0;    // sum time_step_bias (NaN when unavailable)
    double epr_total_network_free = 0.0;  // sum network_free_total: network-free total EPR when D_x > 0 (NaN otherwise)
};
SnapshotTotals snapshot_totals(const ParticleEstimates& e);

// Accumulates estimates over snapshots of one system (fixed n). Standard
// errors come from the spread over snapshots: the caller must hand it
// snapshots that are (nearly) independent, i.e. spaced by a few relaxation
// times, or ask for batch means (engine/observables.hpp) over the snapshot
// series, which tolerates correlation shorter than a batch. Per-particle
// time averages always use the independent-snapshot formula.
class EstimatorAccumulator {
public:
    // types: the type of every particle (Config::types; empty = all type 0),
    // for the per-type means. Throws ConfigError for n < 1 or a types list
    // of another length.
    explicit EstimatorAccumulator(int n, std::vector<int> types = {});

    // Throws ConfigError when e.n differs from the accumulator's n.
    void add(const ParticleEstimates& e);
    std::int64_t count() const { return count_; }
    int n() const { return n_; }
    void clear();

    struct Summary {
        std::int64_t snapshots = 0;
        // Global sums over particles: mean over snapshots and standard error.
        // A quantity that was unavailable in some snapshots is averaged over
        // the others (see count); mean NaN and count 0 when never available.
        MeanSe epr_active, epr_active_div, gap, epr_x, epr_total, epr_x_div, epr_active_lin, epr_total_div;
        MeanSe ibp, div_v, v_dot_s, residual;
        MeanSe epr_active_exact;  // network-free, D_x = 0 only (assumes stationary snapshots)
        MeanSe time_step_bias;    // network-free: the Euler step's share of E[sum div v] (linearised)
        MeanSe epr_total_network_free;  // network-free total EPR, D_x > 0 only (assumes stationary snapshots)
        // Per-particle time averages of sigma_i by both estimators (and the x
        // part) with standard errors (need >= 2 snapshots; else NaN).
        std::vector<double> sigma_sq_mean, sigma_sq_se;
        std::vector<double> sigma_div_mean, sigma_div_se;
        std::vector<double> sigma_x_mean, sigma_x_se;
        // Per particle type present: the mean per particle of that type of
        // sigma_i by both estimators and of the x part, with standard errors
        // from the spread over snapshots like the global sums (so they hold
        // for interacting particles too).
        struct TypeMeans {
            int type = 0;
            int particles = 0;
            MeanSe active, active_div, x;
        };
        std::vector<TypeMeans> per_type;
        // From the latest snapshot: why a quantity is infinite/unavailable.
        XPart x_part = XPart::Infinite;
        std::string x_note, sigma_div_note, ibp_note, div_v_note, v_dot_s_note, network_free_note;
    };
    // batches <= 0: snapshots independent (SE = sd / sqrt(count));
    // batches >= 2: batch means with that many batches for the global series.
    Summary summary(int batches = 0) const;

private:
    struct Series {
        std::vector<double> values;
        int infinite = 0;  // +inf entries (x part when D_x = 0), kept out of values
    };
    struct PerParticle {
        std::vector<double> sum, sum2;
        std::int64_t count = 0;
    };
    static MeanSe stats(const Series& s, int batches);
    static void push(Series& s, double v);
    static void push(PerParticle& p, const std::vector<double>& v);
    static void per_particle(const PerParticle& p, int n, std::vector<double>& mean, std::vector<double>& se);

    int n_ = 0;
    std::int64_t count_ = 0;
    Series epr_active_, epr_active_div_, gap_, epr_x_, epr_total_, epr_x_div_, epr_active_lin_, epr_total_div_, ibp_, div_v_, v_dot_s_, residual_,
        epr_active_exact_, time_step_bias_, epr_total_network_free_;
    PerParticle sq_, div_, x_;
    struct TypeSeries {
        int type = 0;
        std::vector<int> members;
        Series active, active_div, x;
    };
    std::vector<TypeSeries> types_;
    ParticleEstimates last_notes_;
};

// Exact score of a linear AOUP system (Config::is_linear) as a ScoreOutput,
// with the exact divergences: for s = -P z (P the stationary precision),
// div_{g_i} s_{g_i} = -(P_{g_ix g_ix} + P_{g_iy g_iy}), same for x_i. The
// divergences do not depend on the state; they are found once, at
// construction, by probing entroscope::exact_score (it is linear in z) with
// unit vectors on a colouring of the spring graph's components.
class LinearExactScore {
public:
    // Throws ConfigError when cfg is not linear or has no stationary law.
    explicit LinearExactScore(const Config& cfg);
    // with_position_score: fill s_x/div_x (a network learns them only when
    // eps > 0; pass false to mimic that for eps = 0).
    ScoreOutput operator()(const State& s, bool with_position_score) const;
    const std::vector<double>& div_act() const { return div_act_; }
    const std::vector<double>& div_x() const { return div_x_; }

private:
    Config cfg_;
    std::vector<double> div_act_, div_x_;
};

}  // namespace entroscope

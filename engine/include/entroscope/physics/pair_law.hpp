#pragma once
// The pair force of SPEC §1 in one scalar form: the radial force f(r)
// (positive = repulsive; the force on i from j is f(r_ij) r_hat_ij) and its
// derivative f'(r), for each Interaction. Header-only so the drift's pair
// loop inlines it.
//
//   softplus (AOUP):  f = k softplus_beta(2 r0 - r),  f' = -k logistic(beta (2 r0 - r))
//   hard (AOUP):      f = k (2 r0 - r),               f' = -k
//   WCA (ABP):        LJ (eps_LJ = 1) cut and shifted at 2^(1/6) sigma, no k
//                     factor (unit mobility): f = (48 s^12 - 24 s^6) / r, s = sigma / r
//
// Cut at Config::pair_cutoff() (pairs count for r^2 < r_cut^2), and absent
// unless has_pair_force(). The simulator's SIMD kernels (engine/sim/) and
// the score network's differentiable tensor form (engine/score/slot_forces.cpp,
// checked against this one in TestScoreFeatures) follow the same law.
#include <algorithm>
#include <cmath>

#include "entroscope/core/config.hpp"

namespace entroscope {

struct RadialForce {
    double f = 0.0;
    double df = 0.0;
};

// The simulator's rule: WCA always (ABP), softplus/hard only with k > 0.
inline bool has_pair_force(const Config& cfg) {
    return cfg.interaction != Interaction::None && (cfg.model == ModelKind::Abp || cfg.k > 0);
}

namespace pair_law {

// 1 / (1 + e^-t) without overflow for either sign of t.
inline double logistic(double t) {
    if (t >= 0) return 1.0 / (1.0 + std::exp(-t));
    const double e = std::exp(t);
    return e / (1.0 + e);
}

// f and f' for 0 < r < cut-off (no range check: pair loops test r^2 < r_cut^2 themselves).
inline RadialForce radial_inside(const Config& cfg, double r) {
    RadialForce out;
    switch (cfg.interaction) {
        case Interaction::Softplus: {
            // softplus_beta(u) = max(u, 0) + log1p(e^(-beta |u|)) / beta: no overflow for large beta u.
            const double u = 2.0 * cfg.r0 - r;
            out.f = cfg.k * (std::max(u, 0.0) + std::log1p(std::exp(-cfg.beta * std::fabs(u))) / cfg.beta);
            out.df = -cfg.k * logistic(cfg.beta * u);
            break;
        }
        case Interaction::Hard:
            out.f = cfg.k * (2.0 * cfg.r0 - r);
            out.df = -cfg.k;
            break;
        case Interaction::Wca: {
            const double s2 = cfg.sigma * cfg.sigma / (r * r);
            const double s6 = s2 * s2 * s2;
            const double s12 = s6 * s6;
            out.f = (48.0 * s12 - 24.0 * s6) / r;
            out.df = (-624.0 * s12 + 168.0 * s6) / (r * r);
            break;
        }
        case Interaction::None: break;
    }
    return out;
}

}  // namespace pair_law

// f(r) and f'(r) of the config's interaction; zero outside the cut-off, at
// r <= 0, or without a pair force.
inline RadialForce radial_pair_force(const Config& cfg, double r) {
    if (!has_pair_force(cfg) || !(r > 0) || r * r >= cfg.pair_cutoff() * cfg.pair_cutoff()) return {};
    return pair_law::radial_inside(cfg, r);
}

}  // namespace entroscope

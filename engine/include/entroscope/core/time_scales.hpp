#pragma once
// The time in which a particle's own state decorrelates, from the
// parameters: what sets how far apart the training snapshots should be.
#include <cstdint>
#include <string>

namespace entroscope {

struct Config;

struct DecorrelationTime {
    double time = 0.0;      // the shortest of the scales below (0: none is finite)
    std::string set_by;     // which scale it is, in words ("rotational diffusion 1/D_r", ...)
};

// The shortest of: the active variable's relaxation (AOUP 1/gamma, ABP
// 1/D_r); a trap's relaxation 1/k (unit mobility; the stiffest type); a
// spring's 1/(2 kappa) (the relative coordinate); and, with a pair force,
// the time to move one particle diameter d, self-propelled (d / v0) or by
// diffusion (d^2 / (4 D)). A contact's own relaxation (the pair force's
// stiffness) is not among them: a particle in contact sits at force
// balance, and its configuration changes as fast as it moves.
DecorrelationTime decorrelation_time(const Config& cfg);

// decorrelation_time in simulator steps, rounded up, at least 1; `fallback`
// when no scale is finite.
std::uint64_t decorrelation_steps(const Config& cfg, std::uint64_t fallback = 10);

}  // namespace entroscope

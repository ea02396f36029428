#pragma once
// The integrator's per-block update (internal header): Euler–Maruyama for
// positions, exact OU (AOUP) or Brownian (ABP) step for the active variable,
// folding into the box, image counts, and the largest displacement since the
// last neighbour-list build. IEEE arithmetic (no fast-math): the finiteness
// test must stay. Avx512 runs it on 8 particles per iteration with the
// portable path's operations in its order, so both give the same bits except
// after a jump of more than a box length (folded differently, same images).
#include <cstdint>

#include "simd_level.hpp"

namespace entroscope::detail {

struct UpdateParams {
    double dt, v0, x_noise, act_decay, act_noise, L, half_L;
    bool aoup;         // else ABP: act is the angle, ex/ey its cos/sin
    bool x_has_noise;  // zx/zy are read only then
    bool track;        // update max_d2 from x_ref
};

// Particles first .. first + cnt - 1 (cnt <= 16). ex/ey: self-propulsion
// direction before this step (AOUP: g). za/zb: normals for the active
// variable (zb AOUP only), zx/zy for the position. F: 2N conservative forces.
// Returns false when a new coordinate is not finite or beyond 1e15 in
// magnitude (the caller rolls the whole state back). Jumps of more than a
// box length or angles more than a turn out of range are folded in general.
// `level` must be supported (simd_supported): nothing here checks the CPU.
bool update_block(SimdLevel level, const UpdateParams& u, int first, int cnt, const double* ex, const double* ey,
                  const double* za, const double* zb, const double* zx, const double* zy, const double* F, double* x,
                  std::int32_t* image, double* act, const double* x_ref, double& max_d2);

}  // namespace entroscope::detail

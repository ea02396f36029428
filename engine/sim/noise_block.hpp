#pragma once
// Vectorised noise for the simulator's hot loop (internal header).
//
// The scalar path (Random123 Philox + Box–Muller through libm) spent about
// half of an ABP step in sincos/log. These kernels draw a whole block of
// kBlock particles at once so the compiler can vectorise Philox and call
// glibc's vector math (libmvec). Each block always covers the same particle
// indices (multiples of kBlock) and runs the same code whatever the thread
// split, so trajectories stay bit-identical for any thread count. `level`
// must be supported (simd_supported): nothing here checks the CPU.
#include <cstdint>

#include "simd_level.hpp"

namespace entroscope::detail {

constexpr int kBlock = 16;

// Philox4x32-10 (Salmon et al. 2011, as in Random123) for counters
// (step_lo, step_hi, first + k, stream), k = 0..kBlock-1: out[w][k] is word w.
// Both levels give the same bits (Avx512 runs the rounds on the 16 lanes of
// one register, which is what normal4_block uses; this function is what the
// tests compare with Random123).
void philox_block(SimdLevel level, std::uint32_t key0, std::uint32_t key1, std::uint64_t step, std::uint32_t stream,
                  std::uint32_t first, std::uint32_t out[4][kBlock]);

// Standard normals per particle of the block, z[m][k] for particle first + k,
// m < 2 * pairs (pairs = 1 or 2), from one Philox draw: Box–Muller on pairs of
// 32-bit uniforms u in (0, 1] (u = (w + 1/2) 2^-32). The smallest u bounds |z|
// by sqrt(2 ln 2^33) = 6.76: the law is the normal one truncated where its
// tail mass is 1.4e-11, far below anything a trajectory can resolve.
// At Avx512 Box–Muller runs in single precision over 16 lanes (libmvec logf;
// cos/sin of 2 pi u by one shared range reduction and Taylor polynomials;
// relative error ~1e-7, immaterial for noise); Portable uses double. Either
// way one level gives the same bits for any thread split.
void normal4_block(SimdLevel level, std::uint32_t key0, std::uint32_t key1, std::uint64_t step, std::uint32_t stream,
                   std::uint32_t first, int pairs, double z[4][kBlock]);

// c[k] = cos(theta[k]), s[k] = sin(theta[k]) for a block.
void sincos_block(SimdLevel level, const double theta[kBlock], double c[kBlock], double s[kBlock]);

}  // namespace entroscope::detail

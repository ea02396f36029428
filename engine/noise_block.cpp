// Compiled with -O3 -ffast-math (see CMakeLists.txt) so that loops over a
// block vectorise and call libmvec. Nothing else lives in this file: fast-math
// must not leak into code that checks for NaN/Inf.
#include "noise_block.hpp"

#include <cmath>

namespace entroscope::detail {

namespace {
constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
constexpr double kTwoPi = 6.283185307179586476925286766559;
}  // namespace

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define ENTROSCOPE_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define ENTROSCOPE_CLONES
#endif

ENTROSCOPE_CLONES
void philox_block(std::uint32_t key0, std::uint32_t key1, std::uint64_t step, std::uint32_t stream,
                  std::uint32_t first, std::uint32_t out[4][kBlock]) {
    alignas(64) std::uint32_t c0[kBlock], c1[kBlock], c2[kBlock], c3[kBlock];
    for (int k = 0; k < kBlock; ++k) {
        c0[k] = static_cast<std::uint32_t>(step);
        c1[k] = static_cast<std::uint32_t>(step >> 32);
        c2[k] = first + static_cast<std::uint32_t>(k);
        c3[k] = stream;
    }
    std::uint32_t k0 = key0, k1 = key1;
    for (int r = 0; r < 10; ++r) {
#pragma omp simd
        for (int k = 0; k < kBlock; ++k) {
            const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * c0[k];
            const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * c2[k];
            const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1[k] ^ k0;
            const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3[k] ^ k1;
            c1[k] = static_cast<std::uint32_t>(p1);
            c3[k] = static_cast<std::uint32_t>(p0);
            c0[k] = n0;
            c2[k] = n2;
        }
        k0 += kW0;
        k1 += kW1;
    }
    for (int k = 0; k < kBlock; ++k) {
        out[0][k] = c0[k];
        out[1][k] = c1[k];
        out[2][k] = c2[k];
        out[3][k] = c3[k];
    }
}

ENTROSCOPE_CLONES
void normal4_block(std::uint32_t key0, std::uint32_t key1, std::uint64_t step, std::uint32_t stream,
                   std::uint32_t first, double z[4][kBlock]) {
    alignas(64) std::uint32_t w[4][kBlock];
    philox_block(key0, key1, step, stream, first, w);
    for (int pair = 0; pair < 2; ++pair) {
        alignas(64) double r[kBlock], a[kBlock], c[kBlock], s[kBlock];
#pragma omp simd
        for (int k = 0; k < kBlock; ++k) {
            // uint32 -> double through int32 (vectorises everywhere): w ^ 2^31 as int32, + 2^31.
            const double u1 = (static_cast<double>(static_cast<std::int32_t>(w[2 * pair][k] ^ 0x80000000u)) + 2147483648.5) * 0x1.0p-32;
            const double u2 = (static_cast<double>(static_cast<std::int32_t>(w[2 * pair + 1][k] ^ 0x80000000u)) + 2147483648.0) * 0x1.0p-32;
            r[k] = std::sqrt(-2.0 * std::log(u1));
            a[k] = kTwoPi * u2;
        }
        // Separate loops: fused into one, gcc turns cos+sin into scalar sincos calls.
#pragma omp simd
        for (int k = 0; k < kBlock; ++k) c[k] = std::cos(a[k]);
#pragma omp simd
        for (int k = 0; k < kBlock; ++k) s[k] = std::sin(a[k]);
        for (int k = 0; k < kBlock; ++k) {
            z[2 * pair][k] = r[k] * c[k];
            z[2 * pair + 1][k] = r[k] * s[k];
        }
    }
}

ENTROSCOPE_CLONES
void sincos_block(const double theta[kBlock], double c[kBlock], double s[kBlock]) {
    // Local copies: the compiler may not prove that the arguments do not alias.
    alignas(64) double t[kBlock], cc[kBlock], ss[kBlock];
    for (int k = 0; k < kBlock; ++k) t[k] = theta[k];
#pragma omp simd
    for (int k = 0; k < kBlock; ++k) cc[k] = std::cos(t[k]);
#pragma omp simd
    for (int k = 0; k < kBlock; ++k) ss[k] = std::sin(t[k]);
    for (int k = 0; k < kBlock; ++k) {
        c[k] = cc[k];
        s[k] = ss[k];
    }
}

}  // namespace entroscope::detail

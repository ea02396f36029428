// Compiled with -O3 -ffast-math (see CMakeLists.txt) so that loops over a
// block vectorise and call libmvec. Nothing else lives in this file: fast-math
// must not leak into code that checks for NaN/Inf.
#include "noise_block.hpp"

#include <cmath>

#include "simd_level.hpp"

#if ENTROSCOPE_HAVE_AVX512
extern "C" __m512 _ZGVeN16v_logf(__m512);
#endif

namespace entroscope::detail {

namespace {
constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
constexpr double kTwoPi = 6.283185307179586476925286766559;

// The portable loops are written once (always inlined) and compiled into
// ENTROSCOPE_PORTABLE_CLONES functions for Portable; sincos has no intrinsics
// version, so its loop is compiled a third time for AVX-512.
ENTROSCOPE_INLINE void philox_loop(std::uint32_t key0, std::uint32_t key1, std::uint64_t step, std::uint32_t stream,
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

ENTROSCOPE_INLINE void normal_loop(std::uint32_t key0, std::uint32_t key1, std::uint64_t step, std::uint32_t stream,
                                   std::uint32_t first, int pairs, double z[4][kBlock]) {
    alignas(64) std::uint32_t w[4][kBlock];
    philox_loop(key0, key1, step, stream, first, w);
    for (int pair = 0; pair < pairs; ++pair) {
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

ENTROSCOPE_INLINE void sincos_loop(const double theta[kBlock], double c[kBlock], double s[kBlock]) {
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

}  // namespace

#if ENTROSCOPE_HAVE_AVX512
namespace {

static_assert(kBlock == 16, "the AVX-512 noise path holds one block in one register");

// Philox4x32-10 on 16 counters at once: 32x32 -> 64-bit products of the even
// and the odd 32-bit lanes, high and low halves blended back into place.
ENTROSCOPE_TARGET_AVX512 inline void mulhilo(__m512i a, __m512i m, __m512i& hi, __m512i& lo) {
    const __m512i pe = _mm512_mul_epu32(a, m);
    const __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
    hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
    lo = _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));
}

ENTROSCOPE_TARGET_AVX512 void philox_avx512(std::uint32_t key0, std::uint32_t key1, std::uint64_t step,
                                            std::uint32_t stream, std::uint32_t first, __m512i c[4]) {
    c[0] = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(step)));
    c[1] = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(step >> 32)));
    c[2] = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(first)),
                            _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
    c[3] = _mm512_set1_epi32(static_cast<int>(stream));
    const __m512i m0 = _mm512_set1_epi64(kM0), m1 = _mm512_set1_epi64(kM1);
    std::uint32_t k0 = key0, k1 = key1;
    for (int r = 0; r < 10; ++r) {
        __m512i hi0, lo0, hi1, lo1;
        mulhilo(c[0], m0, hi0, lo0);
        mulhilo(c[2], m1, hi1, lo1);
        const __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c[1]), _mm512_set1_epi32(static_cast<int>(k0)));
        const __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c[3]), _mm512_set1_epi32(static_cast<int>(k1)));
        c[1] = lo1;
        c[3] = lo0;
        c[0] = n0;
        c[2] = n2;
        k0 += kW0;
        k1 += kW1;
    }
}

// cos(2 pi u), sin(2 pi u) for u in [0, 1] in single precision, sharing one
// range reduction: 2 pi u = q pi/2 + t with |t| <= pi/4, Taylor polynomials
// to t^9 (sin) and t^10 (cos), truncation error below 2e-9, then the
// quadrant's swap and signs. libmvec's sinf + cosf cost 6x more here (17% of
// an ABP step) for arguments it must reduce in general.
ENTROSCOPE_TARGET_AVX512 inline void sincos_two_pi(__m512 u, __m512& c, __m512& s) {
    const __m512 q = _mm512_roundscale_ps(_mm512_mul_ps(u, _mm512_set1_ps(4.0f)), _MM_FROUND_TO_NEAREST_INT);
    const __m512 t = _mm512_mul_ps(_mm512_fnmadd_ps(q, _mm512_set1_ps(0.25f), u), _mm512_set1_ps(static_cast<float>(kTwoPi)));
    const __m512 t2 = _mm512_mul_ps(t, t);
    // sin t = t (1 - t^2/6 (1 - t^2/20 (1 - t^2/42 (1 - t^2/72))))
    __m512 ps = _mm512_fnmadd_ps(t2, _mm512_set1_ps(1.0f / 72.0f), _mm512_set1_ps(1.0f));
    ps = _mm512_fnmadd_ps(_mm512_mul_ps(t2, _mm512_set1_ps(1.0f / 42.0f)), ps, _mm512_set1_ps(1.0f));
    ps = _mm512_fnmadd_ps(_mm512_mul_ps(t2, _mm512_set1_ps(1.0f / 20.0f)), ps, _mm512_set1_ps(1.0f));
    ps = _mm512_fnmadd_ps(_mm512_mul_ps(t2, _mm512_set1_ps(1.0f / 6.0f)), ps, _mm512_set1_ps(1.0f));
    const __m512 sn = _mm512_mul_ps(t, ps);
    // cos t = 1 - t^2/2 (1 - t^2/12 (1 - t^2/30 (1 - t^2/56 (1 - t^2/90))))
    __m512 pc = _mm512_fnmadd_ps(t2, _mm512_set1_ps(1.0f / 90.0f), _mm512_set1_ps(1.0f));
    pc = _mm512_fnmadd_ps(_mm512_mul_ps(t2, _mm512_set1_ps(1.0f / 56.0f)), pc, _mm512_set1_ps(1.0f));
    pc = _mm512_fnmadd_ps(_mm512_mul_ps(t2, _mm512_set1_ps(1.0f / 30.0f)), pc, _mm512_set1_ps(1.0f));
    pc = _mm512_fnmadd_ps(_mm512_mul_ps(t2, _mm512_set1_ps(1.0f / 12.0f)), pc, _mm512_set1_ps(1.0f));
    const __m512 cs = _mm512_fnmadd_ps(_mm512_mul_ps(t2, _mm512_set1_ps(0.5f)), pc, _mm512_set1_ps(1.0f));
    // Quadrant k = q mod 4: (cos, sin) = (c, s), (-s, c), (-c, -s), (s, -c).
    const __m512i k = _mm512_and_si512(_mm512_cvtps_epi32(q), _mm512_set1_epi32(3));
    const __mmask16 odd = _mm512_test_epi32_mask(k, _mm512_set1_epi32(1));
    const __mmask16 neg_c = _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(1)) | _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(2));
    const __mmask16 neg_s = _mm512_cmpge_epi32_mask(k, _mm512_set1_epi32(2));
    const __m512 cc = _mm512_mask_blend_ps(odd, cs, sn), ss = _mm512_mask_blend_ps(odd, sn, cs);
    const __m512 zero = _mm512_setzero_ps();
    c = _mm512_mask_sub_ps(cc, neg_c, zero, cc);
    s = _mm512_mask_sub_ps(ss, neg_s, zero, ss);
}

ENTROSCOPE_TARGET_AVX512 void normal_avx512(std::uint32_t key0, std::uint32_t key1, std::uint64_t step,
                                            std::uint32_t stream, std::uint32_t first, int pairs,
                                            double z[4][kBlock]) {
    __m512i w[4];
    philox_avx512(key0, key1, step, stream, first, w);
    const __m512 scale = _mm512_set1_ps(0x1.0p-32f), half = _mm512_set1_ps(0x1.0p-33f);
    for (int pair = 0; pair < pairs; ++pair) {
        // u in (0, 1]: (w + 1/2) 2^-32 rounded to float (w near 2^32 rounds to 1, giving z = 0).
        const __m512 u1 = _mm512_fmadd_ps(_mm512_cvtepu32_ps(w[2 * pair]), scale, half);
        const __m512 u2 = _mm512_fmadd_ps(_mm512_cvtepu32_ps(w[2 * pair + 1]), scale, half);
        const __m512 r = _mm512_sqrt_ps(_mm512_mul_ps(_mm512_set1_ps(-2.0f), _ZGVeN16v_logf(u1)));
        __m512 c, s;
        sincos_two_pi(u2, c, s);
        const __m512 zc = _mm512_mul_ps(r, c);
        const __m512 zs = _mm512_mul_ps(r, s);
        _mm512_storeu_pd(z[2 * pair], _mm512_cvtps_pd(_mm512_castps512_ps256(zc)));
        _mm512_storeu_pd(z[2 * pair] + 8, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(zc), 1))));
        _mm512_storeu_pd(z[2 * pair + 1], _mm512_cvtps_pd(_mm512_castps512_ps256(zs)));
        _mm512_storeu_pd(z[2 * pair + 1] + 8, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(zs), 1))));
    }
}

ENTROSCOPE_TARGET_AVX512 void philox_store_avx512(std::uint32_t key0, std::uint32_t key1, std::uint64_t step,
                                                  std::uint32_t stream, std::uint32_t first, std::uint32_t out[4][kBlock]) {
    __m512i w[4];
    philox_avx512(key0, key1, step, stream, first, w);
    for (int m = 0; m < 4; ++m) _mm512_storeu_si512(out[m], w[m]);
}

}  // namespace
#endif

ENTROSCOPE_PORTABLE_CLONES
static void philox_portable(std::uint32_t key0, std::uint32_t key1, std::uint64_t step, std::uint32_t stream,
                            std::uint32_t first, std::uint32_t out[4][kBlock]) {
    philox_loop(key0, key1, step, stream, first, out);
}

ENTROSCOPE_PORTABLE_CLONES
static void normal_portable(std::uint32_t key0, std::uint32_t key1, std::uint64_t step, std::uint32_t stream,
                            std::uint32_t first, int pairs, double z[4][kBlock]) {
    normal_loop(key0, key1, step, stream, first, pairs, z);
}

ENTROSCOPE_PORTABLE_CLONES
static void sincos_portable(const double theta[kBlock], double c[kBlock], double s[kBlock]) { sincos_loop(theta, c, s); }

#if ENTROSCOPE_HAVE_AVX512
ENTROSCOPE_TARGET_AVX512 static void sincos_avx512(const double theta[kBlock], double c[kBlock], double s[kBlock]) {
    sincos_loop(theta, c, s);
}
#endif

void philox_block(SimdLevel level, std::uint32_t key0, std::uint32_t key1, std::uint64_t step, std::uint32_t stream,
                  std::uint32_t first, std::uint32_t out[4][kBlock]) {
#if ENTROSCOPE_HAVE_AVX512
    if (level == SimdLevel::Avx512) return philox_store_avx512(key0, key1, step, stream, first, out);
#endif
    philox_portable(key0, key1, step, stream, first, out);
}

void normal4_block(SimdLevel level, std::uint32_t key0, std::uint32_t key1, std::uint64_t step, std::uint32_t stream,
                   std::uint32_t first, int pairs, double z[4][kBlock]) {
#if ENTROSCOPE_HAVE_AVX512
    if (level == SimdLevel::Avx512) return normal_avx512(key0, key1, step, stream, first, pairs, z);
#endif
    normal_portable(key0, key1, step, stream, first, pairs, z);
}

void sincos_block(SimdLevel level, const double theta[kBlock], double c[kBlock], double s[kBlock]) {
#if ENTROSCOPE_HAVE_AVX512
    if (level == SimdLevel::Avx512) return sincos_avx512(theta, c, s);
#endif
    sincos_portable(theta, c, s);
}

}  // namespace entroscope::detail

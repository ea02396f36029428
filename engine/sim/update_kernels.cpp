// IEEE arithmetic (no fast-math): the finiteness test below must stay.
#include "update_kernels.hpp"

#include "periodic.hpp"

#include <algorithm>
#include <cmath>

#include "simd_level.hpp"

namespace entroscope::detail {

namespace {

bool update_portable(const UpdateParams& u, int first, int cnt, const double* ex, const double* ey, const double* za,
                     const double* zb, const double* zx, const double* zy, const double* F, double* x,
                     std::int32_t* img, double* act, const double* x_ref, double& max_d2) {
    bool ok = true;
    for (int q = 0; q < cnt; ++q) {
        const int i = first + q;
        const std::size_t k = 2 * static_cast<std::size_t>(i);
        double nx = x[k] + u.dt * (u.v0 * ex[q] + F[k]);
        double ny = x[k + 1] + u.dt * (u.v0 * ey[q] + F[k + 1]);
        if (u.x_has_noise) {
            nx += u.x_noise * zx[q];
            ny += u.x_noise * zy[q];
        }
        if (u.aoup) {
            act[k] = u.act_decay * act[k] + u.act_noise * za[q];
            act[k + 1] = u.act_decay * act[k + 1] + u.act_noise * zb[q];
        } else {
            double th = act[i] + u.act_noise * za[q];
            if (th >= kPi) th -= kTwoPi;
            else if (th < -kPi) th += kTwoPi;
            act[i] = th < -kPi || th >= kPi ? wrap_angle(th) : th;
        }
        if (!(std::fabs(nx) <= 1e15 && std::fabs(ny) <= 1e15)) {
            ok = false;
            continue;
        }
        fold(nx, img[k], u.L);
        fold(ny, img[k + 1], u.L);
        x[k] = nx;
        x[k + 1] = ny;
        if (u.track) {
            const double dx = min_image(nx - x_ref[k], u.L, u.half_L);
            const double dy = min_image(ny - x_ref[k + 1], u.L, u.half_L);
            max_d2 = std::max(max_d2, dx * dx + dy * dy);
        }
    }
    return ok;
}

#if ENTROSCOPE_HAVE_AVX512
// Eight particles per iteration on interleaved (x, y) vectors; the same
// operations in the same order as the portable path (this file is compiled
// with -ffp-contract=off, so neither path fuses multiply-adds).
ENTROSCOPE_TARGET_AVX512 bool update_avx512(const UpdateParams& u, int first, int cnt, const double* ex,
                                            const double* ey, const double* za, const double* zb, const double* zx,
                                            const double* zy, const double* F, double* x, std::int32_t* img,
                                            double* act, const double* x_ref, double& max_d2) {
    const __m512i lo = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0), hi = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    const __m512d dt = _mm512_set1_pd(u.dt), v0 = _mm512_set1_pd(u.v0), xn = _mm512_set1_pd(u.x_noise);
    const __m512d decay = _mm512_set1_pd(u.act_decay), an = _mm512_set1_pd(u.act_noise);
    const __m512d L = _mm512_set1_pd(u.L), hL = _mm512_set1_pd(u.half_L), mhL = _mm512_set1_pd(-u.half_L);
    const __m512d zero = _mm512_setzero_pd(), big = _mm512_set1_pd(1e15);
    const __m512d pi = _mm512_set1_pd(kPi), mpi = _mm512_set1_pd(-kPi), two_pi = _mm512_set1_pd(kTwoPi);
    const __m512i one32 = _mm512_set1_epi32(1);
    __m512d m = _mm512_set1_pd(max_d2);
    bool ok = true, slow = false;
    for (int q0 = 0; q0 < cnt; q0 += 8) {
        const int lanes = std::min(8, cnt - q0);
        const __mmask8 live = static_cast<__mmask8>((1u << lanes) - 1u);
        // Coordinates 2 q0 .. 2 q0 + 15 of the block: two vectors (x y x y ...).
        const __mmask8 m1 = static_cast<__mmask8>(lanes >= 4 ? 0xFF : (1u << (2 * lanes)) - 1u);
        const __mmask8 m2 = static_cast<__mmask8>(lanes > 4 ? (1u << (2 * (lanes - 4))) - 1u : 0u);
        const __mmask16 m12 = static_cast<__mmask16>(m1 | (m2 << 8));
        const long k0 = 2L * (first + q0);
        const __m512d ex8 = _mm512_loadu_pd(ex + q0), ey8 = _mm512_loadu_pd(ey + q0);
        const __m512d e1 = _mm512_permutex2var_pd(ex8, lo, ey8), e2 = _mm512_permutex2var_pd(ex8, hi, ey8);
        __m512d n1 = _mm512_add_pd(_mm512_maskz_loadu_pd(m1, x + k0),
                                   _mm512_mul_pd(dt, _mm512_add_pd(_mm512_mul_pd(v0, e1), _mm512_maskz_loadu_pd(m1, F + k0))));
        __m512d n2 = _mm512_add_pd(_mm512_maskz_loadu_pd(m2, x + k0 + 8),
                                   _mm512_mul_pd(dt, _mm512_add_pd(_mm512_mul_pd(v0, e2), _mm512_maskz_loadu_pd(m2, F + k0 + 8))));
        if (u.x_has_noise) {
            const __m512d zx8 = _mm512_loadu_pd(zx + q0), zy8 = _mm512_loadu_pd(zy + q0);
            n1 = _mm512_add_pd(n1, _mm512_mul_pd(xn, _mm512_permutex2var_pd(zx8, lo, zy8)));
            n2 = _mm512_add_pd(n2, _mm512_mul_pd(xn, _mm512_permutex2var_pd(zx8, hi, zy8)));
        }
        if (u.aoup) {
            const __m512d za8 = _mm512_loadu_pd(za + q0), zb8 = _mm512_loadu_pd(zb + q0);
            const __m512d a1 = _mm512_maskz_loadu_pd(m1, act + k0), a2 = _mm512_maskz_loadu_pd(m2, act + k0 + 8);
            _mm512_mask_storeu_pd(act + k0, m1, _mm512_add_pd(_mm512_mul_pd(decay, a1), _mm512_mul_pd(an, _mm512_permutex2var_pd(za8, lo, zb8))));
            _mm512_mask_storeu_pd(act + k0 + 8, m2, _mm512_add_pd(_mm512_mul_pd(decay, a2), _mm512_mul_pd(an, _mm512_permutex2var_pd(za8, hi, zb8))));
        } else {
            __m512d th = _mm512_add_pd(_mm512_maskz_loadu_pd(live, act + first + q0), _mm512_mul_pd(an, _mm512_loadu_pd(za + q0)));
            const __mmask8 up = _mm512_cmp_pd_mask(th, pi, _CMP_GE_OQ), down = _mm512_cmp_pd_mask(th, mpi, _CMP_LT_OQ);
            th = _mm512_mask_sub_pd(th, up, th, two_pi);
            th = _mm512_mask_add_pd(th, down, th, two_pi);
            const __mmask8 out = _mm512_cmp_pd_mask(th, pi, _CMP_GE_OQ) | _mm512_cmp_pd_mask(th, mpi, _CMP_LT_OQ);
            slow = slow || (out & live);
            _mm512_mask_storeu_pd(act + first + q0, live, th);
        }
        // NaN fails the ordered comparison.
        const __mmask8 f1 = _mm512_cmp_pd_mask(_mm512_abs_pd(n1), big, _CMP_LE_OQ);
        const __mmask8 f2 = _mm512_cmp_pd_mask(_mm512_abs_pd(n2), big, _CMP_LE_OQ);
        ok = ok && ((f1 & m1) == m1) && ((f2 & m2) == m2);
        // One box length either way, images counted.
        const __mmask8 h1 = _mm512_cmp_pd_mask(n1, L, _CMP_GE_OQ), l1 = _mm512_cmp_pd_mask(n1, zero, _CMP_LT_OQ);
        const __mmask8 h2 = _mm512_cmp_pd_mask(n2, L, _CMP_GE_OQ), l2 = _mm512_cmp_pd_mask(n2, zero, _CMP_LT_OQ);
        n1 = _mm512_mask_add_pd(_mm512_mask_sub_pd(n1, h1, n1, L), l1, n1, L);
        n2 = _mm512_mask_add_pd(_mm512_mask_sub_pd(n2, h2, n2, L), l2, n2, L);
        const __mmask16 hm = static_cast<__mmask16>((h1 | (h2 << 8)) & m12), lm = static_cast<__mmask16>((l1 | (l2 << 8)) & m12);
        if (hm | lm) {
            const long ki = 2L * (first + q0);
            __m512i im = _mm512_maskz_loadu_epi32(m12, img + ki);
            im = _mm512_mask_add_epi32(im, hm, im, one32);
            im = _mm512_mask_sub_epi32(im, lm, im, one32);
            _mm512_mask_storeu_epi32(img + ki, m12, im);
        }
        const __mmask8 o1 = _mm512_cmp_pd_mask(n1, zero, _CMP_LT_OQ) | _mm512_cmp_pd_mask(n1, L, _CMP_GE_OQ);
        const __mmask8 o2 = _mm512_cmp_pd_mask(n2, zero, _CMP_LT_OQ) | _mm512_cmp_pd_mask(n2, L, _CMP_GE_OQ);
        slow = slow || (o1 & m1) || (o2 & m2);
        _mm512_mask_storeu_pd(x + k0, m1, n1);
        _mm512_mask_storeu_pd(x + k0 + 8, m2, n2);
        if (u.track) {
            __m512d d1 = _mm512_sub_pd(n1, _mm512_maskz_loadu_pd(m1, x_ref + k0));
            __m512d d2 = _mm512_sub_pd(n2, _mm512_maskz_loadu_pd(m2, x_ref + k0 + 8));
            d1 = _mm512_mask_sub_pd(d1, _mm512_cmp_pd_mask(d1, hL, _CMP_GE_OQ), d1, L);
            d1 = _mm512_mask_add_pd(d1, _mm512_cmp_pd_mask(d1, mhL, _CMP_LT_OQ), d1, L);
            d2 = _mm512_mask_sub_pd(d2, _mm512_cmp_pd_mask(d2, hL, _CMP_GE_OQ), d2, L);
            d2 = _mm512_mask_add_pd(d2, _mm512_cmp_pd_mask(d2, mhL, _CMP_LT_OQ), d2, L);
            d1 = _mm512_maskz_mul_pd(m1, d1, d1);
            d2 = _mm512_maskz_mul_pd(m2, d2, d2);
            // dx^2 + dy^2 in every lane of a pair (x, y).
            d1 = _mm512_add_pd(d1, _mm512_permute_pd(d1, 0x55));
            d2 = _mm512_add_pd(d2, _mm512_permute_pd(d2, 0x55));
            m = _mm512_max_pd(m, _mm512_max_pd(d1, d2));
        }
    }
    if (u.track) max_d2 = _mm512_reduce_max_pd(m);
    if (slow) {
        // Rare: a jump of more than a box length or an angle more than a turn
        // out of range. Fold in general and force a list rebuild.
        if (u.track) max_d2 = HUGE_VAL;
        for (int q = 0; q < cnt; ++q) {
            const std::size_t k = 2 * static_cast<std::size_t>(first + q);
            fold(x[k], img[k], u.L);
            fold(x[k + 1], img[k + 1], u.L);
            if (!u.aoup) act[first + q] = wrap_angle(act[first + q]);
        }
    }
    return ok;
}
#endif

}  // namespace

bool update_block(SimdLevel level, const UpdateParams& u, int first, int cnt, const double* ex, const double* ey,
                  const double* za, const double* zb, const double* zx, const double* zy, const double* F, double* x,
                  std::int32_t* image, double* act, const double* x_ref, double& max_d2) {
#if ENTROSCOPE_HAVE_AVX512
    if (level == SimdLevel::Avx512)
        return update_avx512(u, first, cnt, ex, ey, za, zb, zx, zy, F, x, image, act, x_ref, max_d2);
#endif
    return update_portable(u, first, cnt, ex, ey, za, zb, zx, zy, F, x, image, act, x_ref, max_d2);
}

}  // namespace entroscope::detail

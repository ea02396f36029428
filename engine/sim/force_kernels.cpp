// Compiled with -O3 -ffast-math (CMakeLists.txt): nothing here tests for
// NaN/Inf; the simulator checks positions after each step in normal IEEE code.
#include "force_kernels.hpp"

#include <cmath>

#include "simd_level.hpp"

#if ENTROSCOPE_HAVE_AVX512
// glibc's vector math (libmvec, GLIBC 2.35+ for log1p).
extern "C" __m512d _ZGVeN8v_exp(__m512d);
extern "C" __m512d _ZGVeN8v_log1p(__m512d);
#endif

namespace entroscope::detail {

namespace {

// Minimum image without branches (exact for |d| < 3L/2).
ENTROSCOPE_INLINE double min_image(double d, double L, double inv_L) { return d - L * std::nearbyint(d * inv_L); }

// Portable path: one particle per iteration of the lane loop.
template <class F>
ENTROSCOPE_INLINE void pair_loop(const PairLists& p, F f, int begin, int end, double* force) {
    const double* x = p.x;
    const double L = p.L, inv_L = p.inv_L, rcut2 = p.rcut2;
    for (int g0 = begin; g0 < end; g0 += kGroup) {
        alignas(64) double xi[kGroup], yi[kGroup], fx[kGroup], fy[kGroup];
        alignas(64) int cnt[kGroup];
        const int lanes = end - g0 < kGroup ? end - g0 : kGroup;
        int rows = 0;
        for (int l = 0; l < kGroup; ++l) {
            const int i = l < lanes ? g0 + l : g0;
            xi[l] = x[2 * i];
            yi[l] = x[2 * i + 1];
            cnt[l] = l < lanes ? p.count[i] : 0;
            rows = cnt[l] > rows ? cnt[l] : rows;
            fx[l] = 0.0;
            fy[l] = 0.0;
        }
        const int* base = p.nbr + static_cast<long>(g0 / kGroup) * p.stride * kGroup;
        for (int m = 0; m < rows; ++m) {
            const int* row = base + m * kGroup;
            for (int l = 0; l < kGroup; ++l) {
                const int j = row[l];
                const double dx = min_image(xi[l] - x[2 * j], L, inv_L);
                const double dy = min_image(yi[l] - x[2 * j + 1], L, inv_L);
                const double r2 = dx * dx + dy * dy;
                if (m < cnt[l] && r2 < rcut2) {
                    const double fr = f(r2);
                    fx[l] += fr * dx;
                    fy[l] += fr * dy;
                }
            }
        }
        for (int l = 0; l < lanes; ++l) {
            force[2 * (g0 + l)] = fx[l];
            force[2 * (g0 + l) + 1] = fy[l];
        }
    }
}

#if ENTROSCOPE_HAVE_AVX512
// AVX-512 path: the 8 particles of a group are the 8 lanes; row m of the
// transposed list gives the 8 neighbours' (x, y). Masked lanes (entries past a
// particle's count, pairs beyond the cut) evaluate f at r2 = 1 and add
// nothing. gcc does not vectorise the portable loop (indexed loads + masks);
// measured on the dev machine (AMD EPYC, Zen 4; ABP WCA, N = 4096) this path
// takes the pair forces from 22 to about 5 ns per particle-step.
template <class VF>
ENTROSCOPE_TARGET_AVX512 inline void pair_loop_avx512(const PairLists& p, const VF& f, int begin, int end,
                                                      double* force) {
    const double* x = p.x;
    const __m512d L = _mm512_set1_pd(p.L), inv_L = _mm512_set1_pd(p.inv_L), rcut2 = _mm512_set1_pd(p.rcut2);
    const __m512d one = _mm512_set1_pd(1.0);
    // Deinterleave (x0 y0 x1 y1 ...) into x and y vectors and back.
    const __m512i even = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0), odd = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
    const __m512i lo = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0), hi = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    for (int g0 = begin; g0 < end; g0 += kGroup) {
        const int lanes = end - g0 < kGroup ? end - g0 : kGroup;
        const __m512d a = _mm512_maskz_loadu_pd(static_cast<__mmask8>(lanes >= 4 ? 0xFF : (1u << (2 * lanes)) - 1u), x + 2 * g0);
        const __m512d b = lanes > 4 ? _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << (2 * (lanes - 4))) - 1u), x + 2 * g0 + 8)
                                    : _mm512_setzero_pd();
        const __m512d vxi = _mm512_permutex2var_pd(a, even, b), vyi = _mm512_permutex2var_pd(a, odd, b);
        // Masked vector load (a stack copy stalled on store forwarding).
        const __m512i c16 = _mm512_maskz_loadu_epi32(static_cast<__mmask16>((1u << lanes) - 1u), p.count + g0);
        const __m512i vcnt = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(c16));
        const int rows = static_cast<int>(_mm512_reduce_max_epi64(vcnt));
        __m512d fx = _mm512_setzero_pd(), fy = _mm512_setzero_pd();
        const int* base = p.nbr + static_cast<long>(g0 / kGroup) * p.stride * kGroup;
        for (int m = 0; m < rows; ++m) {
            // Eight (x, y) pairs by 128-bit loads and inserts, then split into
            // x and y: faster than two 8-way gathers on AMD Zen 4.
            const int* row = base + m * kGroup;
            __m512d pa = _mm512_castpd128_pd512(_mm_loadu_pd(x + 2 * row[0]));
            __m512d pb = _mm512_castpd128_pd512(_mm_loadu_pd(x + 2 * row[4]));
            // (The lane index of an insert must be a literal, so no loop.)
#define ENTROSCOPE_INSERT(v, q, j) \
    v = _mm512_castps_pd(_mm512_insertf32x4(_mm512_castpd_ps(v), _mm_castpd_ps(_mm_loadu_pd(x + 2 * (j))), q))
            ENTROSCOPE_INSERT(pa, 1, row[1]);
            ENTROSCOPE_INSERT(pb, 1, row[5]);
            ENTROSCOPE_INSERT(pa, 2, row[2]);
            ENTROSCOPE_INSERT(pb, 2, row[6]);
            ENTROSCOPE_INSERT(pa, 3, row[3]);
            ENTROSCOPE_INSERT(pb, 3, row[7]);
#undef ENTROSCOPE_INSERT
            const __m512d xj = _mm512_permutex2var_pd(pa, even, pb);
            const __m512d yj = _mm512_permutex2var_pd(pa, odd, pb);
            __m512d dx = _mm512_sub_pd(vxi, xj), dy = _mm512_sub_pd(vyi, yj);
            dx = _mm512_fnmadd_pd(L, _mm512_roundscale_pd(_mm512_mul_pd(dx, inv_L), _MM_FROUND_TO_NEAREST_INT), dx);
            dy = _mm512_fnmadd_pd(L, _mm512_roundscale_pd(_mm512_mul_pd(dy, inv_L), _MM_FROUND_TO_NEAREST_INT), dy);
            const __m512d r2 = _mm512_fmadd_pd(dx, dx, _mm512_mul_pd(dy, dy));
            const __mmask8 in = _mm512_cmpgt_epi64_mask(vcnt, _mm512_set1_epi64(m)) & _mm512_cmp_pd_mask(r2, rcut2, _CMP_LT_OQ);
            const __m512d fr = f(_mm512_mask_blend_pd(in, one, r2));
            fx = _mm512_mask_add_pd(fx, in, fx, _mm512_mul_pd(fr, dx));
            fy = _mm512_mask_add_pd(fy, in, fy, _mm512_mul_pd(fr, dy));
        }
        const __m512d o1 = _mm512_permutex2var_pd(fx, lo, fy), o2 = _mm512_permutex2var_pd(fx, hi, fy);
        if (lanes == kGroup) {
            _mm512_storeu_pd(force + 2 * g0, o1);
            _mm512_storeu_pd(force + 2 * g0 + 8, o2);
        } else {
            _mm512_mask_storeu_pd(force + 2 * g0, static_cast<__mmask8>(lanes >= 4 ? 0xFF : (1u << (2 * lanes)) - 1u), o1);
            if (lanes > 4) _mm512_mask_storeu_pd(force + 2 * g0 + 8, static_cast<__mmask8>((1u << (2 * (lanes - 4))) - 1u), o2);
        }
    }
}

struct WcaV {
    __m512d sigma2;
    ENTROSCOPE_TARGET_AVX512 __m512d operator()(__m512d r2) const {
        const __m512d inv = _mm512_div_pd(_mm512_set1_pd(1.0), r2);
        const __m512d s2 = _mm512_mul_pd(sigma2, inv);
        const __m512d s6 = _mm512_mul_pd(_mm512_mul_pd(s2, s2), s2);
        const __m512d t = _mm512_fmsub_pd(_mm512_set1_pd(2.0), s6, _mm512_set1_pd(1.0));
        return _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(24.0), s6), _mm512_mul_pd(t, inv));
    }
};
struct SoftplusV {
    __m512d two_r0, beta, inv_beta, k;
    ENTROSCOPE_TARGET_AVX512 __m512d operator()(__m512d r2) const {
        const __m512d r = _mm512_sqrt_pd(r2);
        const __m512d u = _mm512_sub_pd(two_r0, r);
        const __m512d au = _mm512_abs_pd(u);
        const __m512d tail = _ZGVeN8v_log1p(_ZGVeN8v_exp(_mm512_mul_pd(_mm512_sub_pd(_mm512_setzero_pd(), beta), au)));
        const __m512d sp = _mm512_fmadd_pd(tail, inv_beta, _mm512_max_pd(u, _mm512_setzero_pd()));
        return _mm512_div_pd(_mm512_mul_pd(k, sp), r);
    }
};
struct HardV {
    __m512d two_r0, k;
    ENTROSCOPE_TARGET_AVX512 __m512d operator()(__m512d r2) const {
        const __m512d r = _mm512_sqrt_pd(r2);
        return _mm512_div_pd(_mm512_mul_pd(k, _mm512_sub_pd(two_r0, r)), r);
    }
};

ENTROSCOPE_TARGET_AVX512 void wca_avx512(const PairLists& p, double sigma2, int begin, int end, double* force) {
    pair_loop_avx512(p, WcaV{_mm512_set1_pd(sigma2)}, begin, end, force);
}
ENTROSCOPE_TARGET_AVX512 void softplus_avx512(const PairLists& p, double two_r0, double beta, double k, int begin,
                                              int end, double* force) {
    const SoftplusV f{_mm512_set1_pd(two_r0), _mm512_set1_pd(beta), _mm512_set1_pd(1.0 / beta), _mm512_set1_pd(k)};
    pair_loop_avx512(p, f, begin, end, force);
}
ENTROSCOPE_TARGET_AVX512 void hard_avx512(const PairLists& p, double two_r0, double k, int begin, int end, double* force) {
    pair_loop_avx512(p, HardV{_mm512_set1_pd(two_r0), _mm512_set1_pd(k)}, begin, end, force);
}

// Eight candidates per iteration from contiguous cell-ordered arrays; the
// accepted ids are compress-stored in order.
ENTROSCOPE_TARGET_AVX512 int collect_avx512(int i, double xi, double yi, const double* cell_x, const double* cell_y,
                                            const int* cell_id, const int* ranges, int nranges, double Lv,
                                            double rlist2v, int* tmp) {
    const __m512d vxi = _mm512_set1_pd(xi), vyi = _mm512_set1_pd(yi);
    const __m512d L = _mm512_set1_pd(Lv), inv_L = _mm512_set1_pd(1.0 / Lv), rlist2 = _mm512_set1_pd(rlist2v);
    const __m512i self = _mm512_set1_epi32(i);
    int cnt = 0;
    for (int r = 0; r < nranges; ++r) {
        for (int k = ranges[2 * r]; k < ranges[2 * r + 1]; k += 8) {
            const int left = ranges[2 * r + 1] - k;
            const __mmask8 live = static_cast<__mmask8>(left >= 8 ? 0xFF : (1u << left) - 1u);
            __m512d dx = _mm512_sub_pd(vxi, _mm512_maskz_loadu_pd(live, cell_x + k));
            __m512d dy = _mm512_sub_pd(vyi, _mm512_maskz_loadu_pd(live, cell_y + k));
            dx = _mm512_fnmadd_pd(L, _mm512_roundscale_pd(_mm512_mul_pd(dx, inv_L), _MM_FROUND_TO_NEAREST_INT), dx);
            dy = _mm512_fnmadd_pd(L, _mm512_roundscale_pd(_mm512_mul_pd(dy, inv_L), _MM_FROUND_TO_NEAREST_INT), dy);
            const __m512d r2 = _mm512_fmadd_pd(dx, dx, _mm512_mul_pd(dy, dy));
            const __m512i id = _mm512_maskz_loadu_epi32(static_cast<__mmask16>(live), cell_id + k);
            const __mmask16 keep = static_cast<__mmask16>(_mm512_cmp_pd_mask(r2, rlist2, _CMP_LT_OQ) & live) &
                                   _mm512_cmpneq_epi32_mask(id, self);
            // Compress in a register, then a plain store (tmp has 16 entries of
            // slack): compress-to-memory is microcoded and slow on AMD Zen 4.
            _mm512_storeu_si512(tmp + cnt, _mm512_maskz_compress_epi32(keep, id));
            cnt += __builtin_popcount(keep);
        }
    }
    return cnt;
}
#endif

}  // namespace

int collect_neighbors(SimdLevel level, int i, double xi, double yi, const double* cell_x, const double* cell_y,
                      const int* cell_id, const int* ranges, int nranges, double L, double rlist2, int* out, int stride) {
    constexpr int kTmp = 1024;
    int tmp[kTmp + 16];
    int cnt = 0;
#if ENTROSCOPE_HAVE_AVX512
    int total = 0;
    for (int r = 0; r < nranges; ++r) total += ranges[2 * r + 1] - ranges[2 * r];
    // Past kTmp candidates (a collapsed cluster) the portable loop takes
    // over; it scans in the same order.
    if (level == SimdLevel::Avx512 && total <= kTmp) {
        cnt = collect_avx512(i, xi, yi, cell_x, cell_y, cell_id, ranges, nranges, L, rlist2, tmp);
        const int m_end = cnt < stride ? cnt : stride;
        for (int m = 0; m < m_end; ++m) out[m * kGroup] = tmp[m];
        for (int m = m_end; m < stride; ++m) out[m * kGroup] = i;
        return cnt;
    }
#endif
    const double inv_L = 1.0 / L;
    for (int r = 0; r < nranges; ++r) {
        for (int k = ranges[2 * r]; k < ranges[2 * r + 1]; ++k) {
            const int j = cell_id[k];
            if (j == i) continue;
            const double dx = min_image(xi - cell_x[k], L, inv_L);
            const double dy = min_image(yi - cell_y[k], L, inv_L);
            if (dx * dx + dy * dy < rlist2) {
                if (cnt < stride) out[cnt * kGroup] = j;
                ++cnt;
            }
        }
    }
    for (int m = cnt; m < stride; ++m) out[m * kGroup] = i;
    return cnt;
}

void wca_forces(SimdLevel level, const PairLists& p, double sigma2, int begin, int end, double* force) {
#if ENTROSCOPE_HAVE_AVX512
    if (level == SimdLevel::Avx512) return wca_avx512(p, sigma2, begin, end, force);
#endif
    // LJ with eps = 1, cut and shifted at 2^(1/6) sigma: f(r)/r = 24 s^6 (2 s^6 - 1) / r^2, s = sigma/r.
    pair_loop(
        p,
        [sigma2](double r2) {
            const double inv = 1.0 / r2;
            const double s2 = sigma2 * inv;
            const double s6 = s2 * s2 * s2;
            return 24.0 * s6 * (2.0 * s6 - 1.0) * inv;
        },
        begin, end, force);
}

void softplus_forces(SimdLevel level, const PairLists& p, double two_r0, double beta, double k, int begin, int end,
                     double* force) {
    // f(r) = k softplus_beta(2 r0 - r), softplus_beta(u) = log(1 + e^{beta u}) / beta,
    // evaluated stably as max(u, 0) + log1p(e^{-beta |u|}) / beta.
    const double inv_beta = 1.0 / beta;
#if ENTROSCOPE_HAVE_AVX512
    if (level == SimdLevel::Avx512) return softplus_avx512(p, two_r0, beta, k, begin, end, force);
#endif
    pair_loop(
        p,
        [=](double r2) {
            const double r = std::sqrt(r2);
            const double u = two_r0 - r;
            const double sp = std::fmax(u, 0.0) + std::log1p(std::exp(-beta * std::fabs(u))) * inv_beta;
            return k * sp / r;
        },
        begin, end, force);
}

void hard_forces(SimdLevel level, const PairLists& p, double two_r0, double k, int begin, int end, double* force) {
#if ENTROSCOPE_HAVE_AVX512
    if (level == SimdLevel::Avx512) return hard_avx512(p, two_r0, k, begin, end, force);
#endif
    pair_loop(
        p,
        [=](double r2) {
            const double r = std::sqrt(r2);
            return k * (two_r0 - r) / r;
        },
        begin, end, force);
}

}  // namespace entroscope::detail

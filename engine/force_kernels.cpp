// Compiled with -O3 -ffast-math (CMakeLists.txt): nothing here tests for
// NaN/Inf; the simulator checks positions after each step in normal IEEE code.
#include "force_kernels.hpp"

#include <cmath>

namespace entroscope::detail {

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define ENTROSCOPE_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define ENTROSCOPE_CLONES
#endif

namespace {

// Minimum image without branches (exact for |d| < 3L/2).
inline double min_image(double d, double L, double inv_L) { return d - L * std::nearbyint(d * inv_L); }

template <class F>
inline void pair_loop(const PairLists& p, F f, int begin, int end, double* force) {
    // Measured on the 2-core AVX-512 dev machine: this plain loop (vectorised
    // for long lists, scalar remainder for the typical 4-12 neighbours) beat
    // both the branchy scalar loop and lists padded to whole vectors, which
    // evaluate exp/log1p for the padding too.
    const double* x = p.x;
    for (int i = begin; i < end; ++i) {
        const double xi = x[2 * i], yi = x[2 * i + 1];
        const int* list = p.nbr + static_cast<long>(i) * p.stride;
        const int c = p.count[i];
        double fx = 0.0, fy = 0.0;
#pragma omp simd reduction(+ : fx, fy)
        for (int m = 0; m < c; ++m) {
            const int j = list[m];
            const double dx = min_image(xi - x[2 * j], p.L, p.inv_L);
            const double dy = min_image(yi - x[2 * j + 1], p.L, p.inv_L);
            const double r2 = dx * dx + dy * dy;
            const double fr = r2 < p.rcut2 ? f(r2) : 0.0;
            fx += fr * dx;
            fy += fr * dy;
        }
        force[2 * i] = fx;
        force[2 * i + 1] = fy;
    }
}

}  // namespace

ENTROSCOPE_CLONES
void wca_forces(const PairLists& p, double sigma2, int begin, int end, double* force) {
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

ENTROSCOPE_CLONES
void softplus_forces(const PairLists& p, double two_r0, double beta, double k, int begin, int end, double* force) {
    // f(r) = k softplus_beta(2 r0 - r), softplus_beta(u) = log(1 + e^{beta u}) / beta,
    // evaluated stably as max(u, 0) + log1p(e^{-beta |u|}) / beta.
    const double inv_beta = 1.0 / beta;
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

ENTROSCOPE_CLONES
void hard_forces(const PairLists& p, double two_r0, double k, int begin, int end, double* force) {
    pair_loop(
        p,
        [=](double r2) {
            const double r = std::sqrt(r2);
            return k * (two_r0 - r) / r;
        },
        begin, end, force);
}

}  // namespace entroscope::detail

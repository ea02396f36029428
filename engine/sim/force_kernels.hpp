#pragma once
// Pair-force kernels over Verlet lists (internal header). Compiled with
// fast-math so that the AVX-512 path can call libmvec exp/log1p; gcc does not
// vectorise the portable loop. Each particle's sum runs the same code whatever
// the thread split, so results stay bit-identical for any thread count (at a
// given SimdLevel: the two paths round differently).
#include <cstdint>

#include "simd_level.hpp"

namespace entroscope::detail {

// Verlet lists are stored per group of kGroup consecutive particles and
// transposed: entry m of particle i is nbr[((i / kGroup) * stride + m) * kGroup + i % kGroup],
// so one SIMD lane works on one particle and entry m of the whole group is
// one contiguous row. Entries past a particle's count hold a valid index
// (the particle itself) and are masked out.
constexpr int kGroup = 8;

struct PairLists {
    const double* x;        // 2N folded positions
    const int* nbr;         // transposed group layout (above)
    const int* count;       // list length per particle
    int stride;             // rows per group
    double L, inv_L;
    double rcut2;
};

// Adds nothing for pairs at r^2 >= rcut2; writes force[2i], force[2i+1]
// (pair part only) for i in [begin, end). begin must be a multiple of kGroup.
// Each particle sums its entries in list order whatever the thread split.
// `level` must be supported (simd_supported): nothing here checks the CPU.
void wca_forces(SimdLevel level, const PairLists& p, double sigma2, int begin, int end, double* force);
void softplus_forces(SimdLevel level, const PairLists& p, double two_r0, double beta, double k, int begin, int end,
                     double* force);
void hard_forces(SimdLevel level, const PairLists& p, double two_r0, double k, int begin, int end, double* force);

// Neighbour-list search over a cell list. cell_x/cell_y/cell_id hold the
// particles in cell order (structure of arrays); ranges[2r], ranges[2r+1] are
// the index ranges of the cells to scan, in scan order. Writes the particles
// j != i with minimum-image distance^2 < rlist2, in scan order, to
// out[m * kGroup] for m < stride, fills the remaining entries with i, and
// returns the count (which may exceed stride: the caller grows the stride).
int collect_neighbors(SimdLevel level, int i, double xi, double yi, const double* cell_x, const double* cell_y,
                      const int* cell_id, const int* ranges, int nranges, double L, double rlist2, int* out, int stride);

}  // namespace entroscope::detail

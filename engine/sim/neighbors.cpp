#include "entroscope/sim/neighbors.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

#include <omp.h>

#include "entroscope/core/errors.hpp"

namespace entroscope {
namespace {

using std::size_t;

// Cells per side so that the cell of a typical particle holds about two
// particles. Uniform systems get floor(sqrt(N / 2)); for clustered systems
// (MIPS) the particle-weighted occupancy sum n_c^2 / N is what the search
// pays for, so the grid is refined once when that is much larger than the
// uniform value. Refinement is capped (cells <= 4 N) because particles of the
// dilute phase then walk more empty cells.
struct Grid {
    int nc = 1;
    double h = 0.0;
    double inv_h = 0.0;
    std::vector<int> cell_of;     // per particle
    std::vector<int> cell_start;  // nc*nc + 1
    std::vector<int> items;       // particle indices in cell order
    std::vector<double> px, py;   // positions in cell order (cache locality)
};

inline double fold(double v, double L, double inv_L) {
    double f = v - L * std::floor(v * inv_L);
    return f >= L ? 0.0 : f;  // v slightly below 0 can round up to L
}

void bin(Grid& g, const std::vector<double>& fx, const std::vector<double>& fy, int nc, double L) {
    const int n = static_cast<int>(fx.size());
    g.nc = nc;
    g.h = L / nc;
    g.inv_h = nc / L;
    const size_t nc2 = static_cast<size_t>(nc) * static_cast<size_t>(nc);
    g.cell_of.resize(static_cast<size_t>(n));
    g.cell_start.assign(nc2 + 1, 0);
    for (int i = 0; i < n; ++i) {
        const size_t ui = static_cast<size_t>(i);
        const int cx = std::min(static_cast<int>(fx[ui] * g.inv_h), nc - 1);
        const int cy = std::min(static_cast<int>(fy[ui] * g.inv_h), nc - 1);
        const int c = cy * nc + cx;
        g.cell_of[ui] = c;
        ++g.cell_start[static_cast<size_t>(c) + 1];
    }
    for (size_t c = 0; c < nc2; ++c) g.cell_start[c + 1] += g.cell_start[c];
    std::vector<int> fill(g.cell_start.begin(), g.cell_start.end() - 1);
    g.items.resize(static_cast<size_t>(n));
    g.px.resize(static_cast<size_t>(n));
    g.py.resize(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        const size_t slot = static_cast<size_t>(fill[static_cast<size_t>(g.cell_of[static_cast<size_t>(i)])]++);
        g.items[slot] = i;
        g.px[slot] = fx[static_cast<size_t>(i)];
        g.py[slot] = fy[static_cast<size_t>(i)];
    }
}

double weighted_occupancy(const Grid& g, int n) {
    double s = 0;
    for (size_t c = 0; c + 1 < g.cell_start.size(); ++c) {
        const double m = g.cell_start[c + 1] - g.cell_start[c];
        s += m * m;
    }
    return s / n;
}

// Cell offsets covering every cell of the periodic grid exactly once
// (per axis d in [-(nc-1)/2, nc/2]), sorted by a lower bound on the distance
// from any point of the home cell to any point of the offset cell, in units
// of h: sqrt(max(|d|-1, 0)^2 + ...). Visiting cells in this order makes the
// search region grow like a disc, and lets it stop as soon as the next bound
// exceeds the current k-th distance.
struct Offset {
    int dx, dy;
    double lb2;  // squared lower bound in units of h^2
};

std::vector<Offset> sorted_offsets(int nc) {
    const int lo = -(nc - 1) / 2, hi = nc / 2;
    std::vector<Offset> off;
    off.reserve(static_cast<size_t>(nc) * static_cast<size_t>(nc));
    for (int dy = lo; dy <= hi; ++dy)
        for (int dx = lo; dx <= hi; ++dx) {
            const double ax = std::max(std::abs(dx) - 1, 0), ay = std::max(std::abs(dy) - 1, 0);
            off.push_back({dx, dy, ax * ax + ay * ay});
        }
    std::sort(off.begin(), off.end(), [](const Offset& a, const Offset& b) {
        if (a.lb2 != b.lb2) return a.lb2 < b.lb2;
        if (a.dy != b.dy) return a.dy < b.dy;
        return a.dx < b.dx;
    });
    return off;
}

// Lower bound on the minimum-image distance along one axis from a point at
// `gap_lo` above its cell's lower edge (cell side h) to any point of the cell
// at offset d. The offset cell is also reachable the other way round the box
// (offset d - nc or d + nc); the smaller of the two counts.
inline double axis_bound(int d, int nc, double h, double gap_lo, double tol) {
    if (d == 0) return 0.0;
    const double gap_hi = h - gap_lo;
    const int a = d > 0 ? d : -d;
    const double direct = (a - 1) * h + (d > 0 ? gap_hi : gap_lo);
    const double around = (nc - a - 1) * h + (d > 0 ? gap_lo : gap_hi);
    return std::max(0.0, std::min(direct, around) - tol);
}

// The k best candidates so far, sorted by (d2, j): ties go to the lower
// index. Most candidates fail the first comparison; the few accepted ones
// are inserted by a linear shift (measured faster than binary search plus
// memmove for k <= 64).
struct Cand {
    double d2;
    int j;     // particle index
    int slot;  // its position in cell order (cached coordinates)
};

inline bool before(const Cand& a, double d2, int j) { return a.d2 < d2 || (a.d2 == d2 && a.j < j); }

struct TopK {
    int k = 0, count = 0;
    std::vector<Cand> c;
    void reset(int kk) {
        k = kk;
        count = 0;
        c.resize(static_cast<size_t>(kk));
    }
    double worst() const {
        return count < k ? std::numeric_limits<double>::infinity() : c[static_cast<size_t>(k - 1)].d2;
    }
    void offer(double d2, int j, int slot) {
        if (count == k && before(c[static_cast<size_t>(k - 1)], d2, j)) return;
        int p = count < k ? count++ : k - 1;
        while (p > 0 && !before(c[static_cast<size_t>(p - 1)], d2, j)) {
            c[static_cast<size_t>(p)] = c[static_cast<size_t>(p - 1)];
            --p;
        }
        c[static_cast<size_t>(p)] = {d2, j, slot};
    }
};

}  // namespace

NeighborGraph k_nearest(const State& s, int k, int threads) {
    if (k < 1) throw ConfigError("k_neighbors", "must be at least 1 (got " + std::to_string(k) + ")");
    const int n = s.n();
    if (s.x.size() != 2 * static_cast<size_t>(n))
        throw ConfigError("state", "positions hold " + std::to_string(s.x.size()) + " numbers for " +
                                       std::to_string(n) + " particles");
    NeighborGraph g;
    g.n = n;
    g.k = k;
    g.index.assign(static_cast<size_t>(n) * static_cast<size_t>(k), -1);
    g.rel.assign(static_cast<size_t>(n) * static_cast<size_t>(k) * 2, 0.0f);
    if (n <= 1) return g;
    const double L = s.box;
    if (!(L > 0.0) || !std::isfinite(L)) throw ConfigError("box", "must be positive and finite");
    const double inv_L = 1.0 / L;

    // Positions folded into [0, L) (robust to unfolded input); distances are
    // taken from these with minimum image, which is the same thing.
    std::vector<double> fx(static_cast<size_t>(n)), fy(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        fx[static_cast<size_t>(i)] = fold(s.x[2 * static_cast<size_t>(i)], L, inv_L);
        fy[static_cast<size_t>(i)] = fold(s.x[2 * static_cast<size_t>(i) + 1], L, inv_L);
    }

    Grid grid;
    int nc = std::max(1, static_cast<int>(std::floor(std::sqrt(n / 2.0))));
    bin(grid, fx, fy, nc, L);
    const double occ = weighted_occupancy(grid, n);
    const double uniform_occ = 1.0 + static_cast<double>(n) / (static_cast<double>(nc) * nc);  // Poisson
    if (occ > 4.0 * uniform_occ) {
        const int cap = std::max(1, static_cast<int>(std::floor(std::sqrt(4.0 * n))));
        const int refined = std::min(cap, static_cast<int>(nc * std::sqrt(occ / uniform_occ)));
        if (refined > nc) {
            nc = refined;
            bin(grid, fx, fy, nc, L);
        }
    }
    const std::vector<Offset> offsets = sorted_offsets(nc);
    const double h = grid.h;
    // Bounds are shrunk by an absolute tolerance far above the rounding of
    // the cell assignment (~1e-16 L), so pruning never drops a true neighbour.
    const double tol = 1e-9 * h;
    std::vector<double> lb_sq(offsets.size());
    for (size_t m = 0; m < offsets.size(); ++m) {
        const double b = std::max(0.0, std::sqrt(offsets[m].lb2) * h - tol);
        lb_sq[m] = b * b;
    }
    const int want = std::min(k, n - 1);
    const double half_L = 0.5 * L;

    const int T = std::max(1, threads);
#pragma omp parallel num_threads(T)
    {
        TopK top;
#pragma omp for schedule(dynamic, 64)
        for (int slot = 0; slot < n; ++slot) {
            // Walk particles in cell order: neighbouring particles share cells in cache.
            const int i = grid.items[static_cast<size_t>(slot)];
            const double xi = grid.px[static_cast<size_t>(slot)], yi = grid.py[static_cast<size_t>(slot)];
            const int ci = grid.cell_of[static_cast<size_t>(i)];
            const int cx = ci % nc, cy = ci / nc;
            const double gx = xi - cx * h, gy = yi - cy * h;
            top.reset(want);
            for (size_t m = 0; m < offsets.size(); ++m) {
                const Offset& o = offsets[m];
                const double worst = top.worst();
                if (lb_sq[m] > worst) break;  // all later cells are at least as far
                const double bx = axis_bound(o.dx, nc, h, gx, tol), by = axis_bound(o.dy, nc, h, gy, tol);
                if (bx * bx + by * by > worst) continue;
                int xx = cx + o.dx, yy = cy + o.dy;
                if (xx < 0) xx += nc; else if (xx >= nc) xx -= nc;
                if (yy < 0) yy += nc; else if (yy >= nc) yy -= nc;
                const size_t c = static_cast<size_t>(yy * nc + xx);
                const int b = grid.cell_start[c], e = grid.cell_start[c + 1];
                for (int q = b; q < e; ++q) {
                    const size_t uq = static_cast<size_t>(q);
                    const int j = grid.items[uq];
                    if (j == i) continue;
                    double dx = xi - grid.px[uq], dy = yi - grid.py[uq];
                    if (dx > half_L) dx -= L; else if (dx < -half_L) dx += L;
                    if (dy > half_L) dy -= L; else if (dy < -half_L) dy += L;
                    top.offer(dx * dx + dy * dy, j, q);
                }
            }
            const size_t base = static_cast<size_t>(i) * static_cast<size_t>(k);
            for (int m = 0; m < top.count; ++m) {
                const Cand& e = top.c[static_cast<size_t>(m)];
                const int j = e.j;
                double dx = xi - grid.px[static_cast<size_t>(e.slot)];
                double dy = yi - grid.py[static_cast<size_t>(e.slot)];
                if (dx > half_L) dx -= L; else if (dx < -half_L) dx += L;
                if (dy > half_L) dy -= L; else if (dy < -half_L) dy += L;
                const size_t at = base + static_cast<size_t>(m);
                g.index[at] = j;
                g.rel[2 * at] = static_cast<float>(dx);
                g.rel[2 * at + 1] = static_cast<float>(dy);
            }
        }
    }
    return g;
}

}  // namespace entroscope

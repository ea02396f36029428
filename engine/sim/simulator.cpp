#include "entroscope/sim/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <omp.h>

#include "entroscope/core/errors.hpp"
#include "entroscope/sim/simd.hpp"
#include "noise.hpp"
#include "noise_block.hpp"
#include "force_kernels.hpp"
#include "update_kernels.hpp"
#include "periodic.hpp"

namespace entroscope {

namespace {

using detail::fold;
using detail::kPi;
using detail::kTwoPi;
using detail::min_image;
using detail::wrap_angle;

}  // namespace

struct Simulator::Impl {
    // Geometry.
    double L = 0, half_L = 0;
    double rcut = 0, rcut2 = 0, skin = 0, rlist2 = 0;
    bool pair_force = false;
    int ncell = 0;  // cells per side; 0 = all-pairs neighbour search
    double inv_cell = 0;

    // Cell list (counting sort) and Verlet lists (fixed stride per particle).
    std::vector<int> cell_start, cell_items;
    std::vector<double> cell_x, cell_y;  // positions in cell order at the last binning
    std::vector<int> nbr, nbr_count;
    int stride = 16;
    std::vector<double> x_ref;  // folded positions at the last build
    std::uint64_t rebuilds = 0;
    bool pending_build = true;  // carried across run() calls

    // Springs as per-particle adjacency; per-particle trap stiffness (empty = none).
    std::vector<int> spring_start, spring_other;
    std::vector<double> spring_kappa;
    std::vector<double> trap;

    std::vector<double> force;  // 2N conservative force
    // Per-thread results, padded against false sharing.
    static constexpr int kPad = 8;
    std::vector<double> thread_max;
    std::vector<int> thread_flag;

    detail::Noise noise{1};
    // The kernels' level for the run in progress: read once per run() so
    // that a set_simd_level() elsewhere never mixes two paths in one run.
    SimdLevel simd = SimdLevel::Portable;

    void setup(const Config& cfg, State& st);
    void bin_cells(const double* x, int n);
    int build_list(const double* x, int n, int i);  // returns the count (may exceed stride)
    // Entries of the Verlet lists in the transposed group layout (force_kernels.hpp).
    std::size_t list_size(int n) const {
        const auto groups = static_cast<std::size_t>((n + detail::kGroup - 1) / detail::kGroup);
        return groups * static_cast<std::size_t>(stride) * detail::kGroup;
    }
    void forces_range_any(const Config& cfg, const double* x, int begin, int end);
};

void Simulator::Impl::setup(const Config& cfg, State& st) {
    const auto n = static_cast<std::size_t>(cfg.n);
    if (st.x.size() != 2 * n || st.image.size() != 2 * n || st.types.size() != n ||
        st.act.size() != n * static_cast<std::size_t>(cfg.active_dim()))
        throw ConfigError("n", "the state has a different particle count or model than the config");
    noise = detail::Noise(cfg.seed);
    L = cfg.box;
    half_L = 0.5 * L;
    st.box = L;
    pair_force = cfg.interaction != Interaction::None && (cfg.model == ModelKind::Abp || cfg.k > 0);
    rcut = pair_force ? cfg.pair_cutoff() : 0.0;
    rcut2 = rcut * rcut;
    // The skin trades list length against rebuild frequency (measured, ABP
    // WCA 4096 at phi 0.5: skins 0.2 to 0.6 all within 5% of each other).
    skin = pair_force ? std::max(0.3, 0.25 * rcut) : 0.0;
    const double rlist = rcut + skin;
    rlist2 = rlist * rlist;
    if (pair_force && L <= 2.0 * rcut)
        throw ConfigError(cfg.box_given ? "box" : "phi", "the box side " + std::to_string(L) +
                                                             " is not longer than twice the pair cut-off " +
                                                             std::to_string(rcut) + " (minimum image needs that)");
    ncell = 0;
    if (pair_force) {
        const int nc = static_cast<int>(std::floor(L / rlist));
        ncell = nc >= 3 ? nc : 0;
        inv_cell = ncell ? ncell / L : 0.0;
    }
    spring_start.assign(n + 1, 0);
    for (const auto& s : cfg.springs) {
        ++spring_start[static_cast<std::size_t>(s.i) + 1];
        ++spring_start[static_cast<std::size_t>(s.j) + 1];
    }
    for (std::size_t i = 0; i < n; ++i) spring_start[i + 1] += spring_start[i];
    spring_other.assign(static_cast<std::size_t>(spring_start[n]), 0);
    spring_kappa.assign(spring_other.size(), 0.0);
    std::vector<int> fill(spring_start.begin(), spring_start.end() - 1);
    for (const auto& s : cfg.springs) {
        spring_other[static_cast<std::size_t>(fill[static_cast<std::size_t>(s.i)])] = s.j;
        spring_kappa[static_cast<std::size_t>(fill[static_cast<std::size_t>(s.i)]++)] = s.kappa;
        spring_other[static_cast<std::size_t>(fill[static_cast<std::size_t>(s.j)])] = s.i;
        spring_kappa[static_cast<std::size_t>(fill[static_cast<std::size_t>(s.j)]++)] = s.kappa;
    }
    trap.clear();
    if (cfg.has_trap()) {
        trap.resize(n);
        for (std::size_t i = 0; i < n; ++i) trap[i] = cfg.trap_of(static_cast<int>(i));
    }
    force.assign(2 * n, 0.0);
    nbr_count.assign(n, 0);
    pending_build = true;  // lists are built on the next step
}

void Simulator::Impl::bin_cells(const double* x, int n) {
    const int nc2 = ncell * ncell;
    cell_start.assign(static_cast<std::size_t>(nc2) + 1, 0);
    cell_items.resize(static_cast<std::size_t>(n));
    std::vector<int> cell_of(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        int cx = static_cast<int>(x[2 * i] * inv_cell), cy = static_cast<int>(x[2 * i + 1] * inv_cell);
        cx = std::min(std::max(cx, 0), ncell - 1);
        cy = std::min(std::max(cy, 0), ncell - 1);
        cell_of[static_cast<std::size_t>(i)] = cy * ncell + cx;
        ++cell_start[static_cast<std::size_t>(cy * ncell + cx) + 1];
    }
    for (int c = 0; c < nc2; ++c) cell_start[static_cast<std::size_t>(c) + 1] += cell_start[static_cast<std::size_t>(c)];
    std::vector<int> fill(cell_start.begin(), cell_start.end() - 1);
    for (int i = 0; i < n; ++i) cell_items[static_cast<std::size_t>(fill[static_cast<std::size_t>(cell_of[static_cast<std::size_t>(i)])]++)] = i;
    cell_x.resize(static_cast<std::size_t>(n));
    cell_y.resize(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) {
        const auto j = static_cast<std::size_t>(cell_items[static_cast<std::size_t>(k)]);
        cell_x[static_cast<std::size_t>(k)] = x[2 * j];
        cell_y[static_cast<std::size_t>(k)] = x[2 * j + 1];
    }
}

int Simulator::Impl::build_list(const double* x, int n, int i) {
    const double xi = x[2 * i], yi = x[2 * i + 1];
    // Transposed group layout (force_kernels.hpp); unused entries hold i itself.
    constexpr int G = detail::kGroup;
    int* out = nbr.data() + static_cast<std::size_t>(i / G) * static_cast<std::size_t>(stride) * G + i % G;
    if (ncell == 0) {
        // Small boxes: all pairs.
        int cnt = 0;
        for (int j = 0; j < n; ++j) {
            if (j == i) continue;
            const double dx = min_image(xi - x[2 * j], L, half_L);
            const double dy = min_image(yi - x[2 * j + 1], L, half_L);
            if (dx * dx + dy * dy < rlist2) {
                if (cnt < stride) out[cnt * G] = j;
                ++cnt;
            }
        }
        for (int m = cnt; m < stride; ++m) out[m * G] = i;
        return cnt;
    }
    // The 3 x 3 cells around i as index ranges of the cell order, in the order
    // (row -1, 0, +1; column -1, 0, +1); neighbouring columns of a row are one
    // range unless the row wraps around the box.
    const int cx = std::min(std::max(static_cast<int>(xi * inv_cell), 0), ncell - 1);
    const int cy = std::min(std::max(static_cast<int>(yi * inv_cell), 0), ncell - 1);
    int ranges[18];
    int nr = 0;
    for (int oy = -1; oy <= 1; ++oy) {
        const int row = ((cy + oy + ncell) % ncell) * ncell;
        if (cx >= 1 && cx + 1 < ncell) {
            ranges[2 * nr] = cell_start[static_cast<std::size_t>(row + cx - 1)];
            ranges[2 * nr + 1] = cell_start[static_cast<std::size_t>(row + cx + 2)];
            ++nr;
        } else {
            for (int ox = -1; ox <= 1; ++ox) {
                const int c = row + (cx + ox + ncell) % ncell;
                ranges[2 * nr] = cell_start[static_cast<std::size_t>(c)];
                ranges[2 * nr + 1] = cell_start[static_cast<std::size_t>(c) + 1];
                ++nr;
            }
        }
    }
    return detail::collect_neighbors(simd, i, xi, yi, cell_x.data(), cell_y.data(), cell_items.data(), ranges, nr, L,
                                     rlist2, out, stride);
}

void Simulator::Impl::forces_range_any(const Config& cfg, const double* x, int begin, int end) {
    double* f = force.data();
    if (pair_force) {
        const detail::PairLists p{x, nbr.data(), nbr_count.data(), stride, L, 1.0 / L, rcut2};
        switch (cfg.interaction) {
            case Interaction::Softplus: detail::softplus_forces(simd, p, 2 * cfg.r0, cfg.beta, cfg.k, begin, end, f); break;
            case Interaction::Hard: detail::hard_forces(simd, p, 2 * cfg.r0, cfg.k, begin, end, f); break;
            case Interaction::Wca: detail::wca_forces(simd, p, cfg.sigma * cfg.sigma, begin, end, f); break;
            case Interaction::None: break;
        }
    } else {
        std::fill(f + 2 * begin, f + 2 * end, 0.0);
    }
    // One-body trap and springs.
    if (trap.empty() && spring_other.empty()) return;
    for (int i = begin; i < end; ++i) {
        const double xi = x[2 * i], yi = x[2 * i + 1];
        double fx = 0, fy = 0;
        if (!trap.empty()) {
            const double A = trap[static_cast<std::size_t>(i)];
            fx -= A * min_image(xi - half_L, L, half_L);
            fy -= A * min_image(yi - half_L, L, half_L);
        }
        for (int s = spring_start[static_cast<std::size_t>(i)]; s < spring_start[static_cast<std::size_t>(i) + 1]; ++s) {
            const int j = spring_other[static_cast<std::size_t>(s)];
            const double kap = spring_kappa[static_cast<std::size_t>(s)];
            fx -= kap * min_image(xi - x[2 * j], L, half_L);
            fy -= kap * min_image(yi - x[2 * j + 1], L, half_L);
        }
        f[2 * i] += fx;
        f[2 * i + 1] += fy;
    }
}

// ---------------------------------------------------------------------------

Simulator::Simulator(Config cfg, int threads) : cfg_(std::move(cfg)), impl_(std::make_unique<Impl>()) {
    cfg_.finalize();
    set_threads(threads);
    init_state();
    impl_->setup(cfg_, state_);
}

Simulator::Simulator(Config cfg, State state, int threads)
    : cfg_(std::move(cfg)), state_(std::move(state)), impl_(std::make_unique<Impl>()) {
    cfg_.finalize();
    set_threads(threads);
    impl_->setup(cfg_, state_);
}

Simulator::~Simulator() = default;
Simulator::Simulator(Simulator&&) noexcept = default;
Simulator& Simulator::operator=(Simulator&&) noexcept = default;

void Simulator::set_threads(int threads) {
    if (threads < 1 || threads > 1024) throw ConfigError("threads", "must be in [1, 1024], got " + std::to_string(threads));
    threads_ = threads;
}

void Simulator::init_state() {
    const int n = cfg_.n;
    const double L = cfg_.box;
    const detail::Noise noise(cfg_.seed);
    state_ = State{};
    state_.box = L;
    state_.x.assign(2 * static_cast<std::size_t>(n), 0.0);
    state_.image.assign(2 * static_cast<std::size_t>(n), 0);
    state_.types.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) state_.types[static_cast<std::size_t>(i)] = cfg_.type_of(i);
    const auto u = static_cast<std::uint32_t>(detail::kStreamInit);
    if (cfg_.interaction == Interaction::None && cfg_.has_trap()) {
        // Linear trapped systems start at the trap centre (the exact mean).
        for (auto& v : state_.x) v = 0.5 * L;
    } else {
        // A jittered square lattice where its sites stay at least 0.9 of a
        // contact diameter apart after the jitter (a WCA force of at most
        // about 140 eps/sigma: harmless); above that density (phi > 0.62 for
        // ABP) a triangular lattice, whose sites stay about a diameter apart
        // up to phi 0.9, jittered only by the room left.
        const double contact = cfg_.model == ModelKind::Abp ? cfg_.sigma : 2.0 * cfg_.r0;
        const int side = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
        const double a = L / side;
        const bool square = cfg_.pair_cutoff() == 0.0 || 0.8 * a >= 0.9 * contact;
        int rows = side, cols = side;
        double ax = a, ay = a, jitter = 0.2;
        if (!square) {
            double best = -1.0;
            for (int r = 2; r <= 2 * side + 2; r += 2) {
                const int c = (n + r - 1) / r;
                const double bx = L / c, by = L / r;
                const double dmin = std::min(bx, std::sqrt(0.25 * bx * bx + by * by));
                if (dmin > best) {
                    best = dmin;
                    rows = r;
                    cols = c;
                }
            }
            ax = L / cols;
            ay = L / rows;
            jitter = 0.2 * std::max(0.0, best - contact) / ax;
        }
        for (int i = 0; i < n; ++i) {
            const double jx = noise.uniform(0, static_cast<std::uint32_t>(i), u) - 0.5;
            const double jy = noise.uniform(1, static_cast<std::uint32_t>(i), u) - 0.5;
            const int col = i % cols, row = i / cols;
            const double shift = square ? 0.0 : 0.5 * (row % 2);
            double px = (col + 0.5 + shift + jitter * jx) * ax;
            double py = (row + 0.5 + jitter * jy * ax / ay) * ay;
            px -= L * std::floor(px / L);
            py -= L * std::floor(py / L);
            state_.x[2 * static_cast<std::size_t>(i)] = px;
            state_.x[2 * static_cast<std::size_t>(i) + 1] = py;
        }
    }
    if (cfg_.model == ModelKind::Aoup) {
        state_.act.resize(2 * static_cast<std::size_t>(n));  // g ~ N(0, I), its stationary law
        for (int i = 0; i < n; ++i) {
            double a, b;
            noise.normal2(2, static_cast<std::uint32_t>(i), u, a, b);
            state_.act[2 * static_cast<std::size_t>(i)] = a;
            state_.act[2 * static_cast<std::size_t>(i) + 1] = b;
        }
    } else {
        state_.act.resize(static_cast<std::size_t>(n));  // theta uniform
        for (int i = 0; i < n; ++i)
            state_.act[static_cast<std::size_t>(i)] = wrap_angle(kTwoPi * noise.uniform(3, static_cast<std::uint32_t>(i), u));
    }
}

void Simulator::set_packing_fraction(double phi) {
    if (!(phi > 0.0 && phi <= 0.95)) throw ConfigError("phi", "must be in (0, 0.95], got " + std::to_string(phi));
    Config next = cfg_;
    next.box_given = false;
    next.phi = phi;
    next.finalize();
    if (impl_->pair_force && next.box <= 2.0 * impl_->rcut)
        throw ConfigError("phi", "the box would be shorter than twice the pair cut-off");
    const double s = next.box / cfg_.box;
    // Affine rescale of folded positions keeps images: unwrapped positions scale by s.
    for (auto& v : state_.x) {
        v *= s;
        if (v >= next.box) v = std::nextafter(next.box, 0.0);
    }
    cfg_ = next;
    const auto rebuilds = impl_->rebuilds;
    impl_->setup(cfg_, state_);
    impl_->rebuilds = rebuilds;
}

void Simulator::set_v0(double v0) {
    if (!(v0 >= 0.0) || !std::isfinite(v0)) throw ConfigError("v0", "must be >= 0 and finite");
    cfg_.v0 = v0;
}

void Simulator::set_activity(const Config& next) {
    if (next.model != cfg_.model || next.n != cfg_.n || next.box != cfg_.box)
        throw ConfigError("pe", "an activity change cannot change the model, n or the box");
    Config checked = next;
    checked.finalize();
    cfg_.v0 = checked.v0;
    cfg_.D_t = checked.D_t;
    cfg_.D_r = checked.D_r;
    cfg_.dt = checked.dt;
    cfg_.pe_convention = checked.pe_convention;
    cfg_.dt_auto = checked.dt_auto;
}

void Simulator::set_time_step(double dt) {
    if (!(dt > 0.0) || !std::isfinite(dt)) throw ConfigError("dt", "must be > 0 and finite, got " + std::to_string(dt));
    cfg_.dt = dt;
    cfg_.dt_auto = false;
}

std::uint64_t Simulator::neighbor_rebuilds() const { return impl_->rebuilds; }

double Simulator::mean_sq_position() const {
    const int n = cfg_.n;
    const double L = cfg_.box, hL = 0.5 * L;
    double s = 0;
    for (int i = 0; i < n; ++i) {
        const double dx = min_image(state_.x[2 * static_cast<std::size_t>(i)] - hL, L, hL);
        const double dy = min_image(state_.x[2 * static_cast<std::size_t>(i) + 1] - hL, L, hL);
        s += dx * dx + dy * dy;
    }
    return s / n;
}

std::vector<double> Simulator::conservative_forces() const {
    // Work on a copy so that observing never changes when lists are rebuilt
    // (the summation order, and so the bits, of the trajectory).
    Impl I = *impl_;
    I.simd = simd_level();
    const int n = cfg_.n;
    if (I.pair_force) {
        if (I.ncell) I.bin_cells(state_.x.data(), n);
        for (;;) {
            I.nbr.assign(I.list_size(n), 0);
            int worst = 0;
            for (int i = 0; i < n; ++i) {
                const int c = I.build_list(state_.x.data(), n, i);
                I.nbr_count[static_cast<std::size_t>(i)] = c;
                worst = std::max(worst, c);
            }
            if (worst <= I.stride) break;
            I.stride = worst + 8;
        }
    }
    I.forces_range_any(cfg_, state_.x.data(), 0, n);
    return I.force;
}

void Simulator::run(std::uint64_t steps) {
    if (steps == 0) return;
    auto& I = *impl_;
    I.simd = simd_level();  // throws here, not in the parallel region, on a bad ENTROSCOPE_SIMD
    const SimdLevel simd = I.simd;
    const int n = cfg_.n;
    const int T = threads_;
    const State backup = state_;
    I.thread_max.assign(static_cast<std::size_t>(T) * Impl::kPad, 0.0);
    I.thread_flag.assign(static_cast<std::size_t>(T) * Impl::kPad, 0);
    const std::uint64_t step0 = state_.step;
    const double t0 = state_.time;
    const bool aoup = cfg_.model == ModelKind::Aoup;
    const double dt = cfg_.dt, v0 = cfg_.v0;
    const double Dx = cfg_.position_diffusion();
    const double x_noise = std::sqrt(2.0 * Dx * dt);
    const double g_decay = aoup ? std::exp(-cfg_.gamma * dt) : 1.0;
    const double g_noise = aoup ? std::sqrt(-std::expm1(-2.0 * cfg_.gamma * dt)) : std::sqrt(2.0 * cfg_.D_r * dt);
    const double half_skin2 = 0.25 * I.skin * I.skin;
    const double L = I.L, hL = I.half_L;
    double* x = state_.x.data();
    std::int32_t* img = state_.image.data();
    double* act = state_.act.data();
    const double* F = I.force.data();
    bool need_build = I.pair_force && I.pending_build;
    const int nblocks = (n + detail::kBlock - 1) / detail::kBlock;
    constexpr int kForceChunk = 128;
    const int nchunks = (n + kForceChunk - 1) / kForceChunk;
    const std::uint32_t key0 = I.noise.key0(), key1 = I.noise.key1();
    bool bad = false;
    // Normals needed per particle: the active variable (AOUP: 2, ABP: 1) and
    // the position (2) when it has noise.
    const int pairs = x_noise > 0 ? 2 : 1;
    const detail::UpdateParams upd{dt, v0, x_noise, g_decay, g_noise, L, hL, aoup, x_noise > 0, I.pair_force};

#pragma omp parallel num_threads(T)
    {
        const int tid = omp_get_thread_num();
        // Each thread holds the rebuild decision (all take the same one from
        // the same data), so a step needs two barriers: after the forces and
        // after the update.
        bool build_now = need_build;
        for (std::uint64_t s = 0; s < steps; ++s) {
            if (build_now) {
                // Build Verlet lists; grow the stride if some list overflowed.
#pragma omp single
                {
                    if (I.ncell) I.bin_cells(x, n);
                    I.nbr.resize(I.list_size(n));
                    I.x_ref.assign(x, x + 2 * n);
                    ++I.rebuilds;
                }
                for (;;) {
                    int local = 0;
#pragma omp for schedule(dynamic, kForceChunk)
                    for (int i = 0; i < n; ++i) {
                        const int c = I.build_list(x, n, i);
                        I.nbr_count[static_cast<std::size_t>(i)] = c;
                        local = std::max(local, c);
                    }
                    I.thread_flag[static_cast<std::size_t>(tid) * Impl::kPad] = local;
#pragma omp barrier
                    int worst = 0;
                    for (int t = 0; t < T; ++t) worst = std::max(worst, I.thread_flag[static_cast<std::size_t>(t) * Impl::kPad]);
                    if (worst <= I.stride) break;
#pragma omp barrier
#pragma omp single
                    {
                        I.stride = worst + 8;
                        I.nbr.resize(I.list_size(n));
                    }
                }
            }
            // Forces at the current positions.
            // Dynamic chunks balance dense clusters against the gas; each
            // particle's sum is the same whichever thread computes it.
#pragma omp for schedule(dynamic, 1)
            for (int chunk = 0; chunk < nchunks; ++chunk) {
                const int b = chunk * kForceChunk;
                const int e = std::min(n, b + kForceChunk);
                I.forces_range_any(cfg_, x, b, e);
            }
            // Euler–Maruyama for x, exact OU (AOUP) / Brownian (ABP) update for the
            // active variable. Noise comes in fixed blocks of kBlock particles.
            const std::uint64_t step = step0 + s;
            double maxd2 = 0.0;
            bool local_bad = false;
#pragma omp for schedule(static) nowait
            for (int blk = 0; blk < nblocks; ++blk) {
                const int first = blk * detail::kBlock;
                const int cnt = std::min(detail::kBlock, n - first);
                // One draw gives 4 normals: active variable (z[0], z[1]), position (z[2], z[3]).
                alignas(64) double z[4][detail::kBlock];
                alignas(64) double ex[detail::kBlock], ey[detail::kBlock];
                detail::normal4_block(simd, key0, key1, step, detail::kStreamDynamics, static_cast<std::uint32_t>(first), pairs, z);
                const double* za = z[0];
                const double* zb = z[1];
                const double* zx = z[2];
                const double* zy = z[3];
                if (aoup) {
                    for (int q = 0; q < cnt; ++q) {
                        ex[q] = act[2 * static_cast<std::size_t>(first + q)];
                        ey[q] = act[2 * static_cast<std::size_t>(first + q) + 1];
                    }
                } else {
                    alignas(64) double th[detail::kBlock] = {};
                    for (int q = 0; q < cnt; ++q) th[q] = act[first + q];
                    detail::sincos_block(simd, th, ex, ey);
                }
                if (!detail::update_block(simd, upd, first, cnt, ex, ey, za, zb, zx, zy, F, x, img, act, I.x_ref.data(), maxd2))
                    local_bad = true;
            }
            I.thread_max[static_cast<std::size_t>(tid) * Impl::kPad] = maxd2;
            if (local_bad) I.thread_flag[static_cast<std::size_t>(tid) * Impl::kPad] = -1;
#pragma omp barrier
            // Every thread takes the same decisions from the same data.
            double m = 0.0;
            bool any_bad = false;
            for (int t = 0; t < T; ++t) {
                m = std::max(m, I.thread_max[static_cast<std::size_t>(t) * Impl::kPad]);
                any_bad = any_bad || I.thread_flag[static_cast<std::size_t>(t) * Impl::kPad] < 0;
            }
            if (any_bad) {
#pragma omp single nowait
                bad = true;
                break;
            }
            // thread_max/thread_flag are written again only after the next
            // barrier, which every thread reaches after this read.
            build_now = I.pair_force && m > half_skin2;
        }
#pragma omp master
        need_build = build_now;
    }
    I.pending_build = need_build;
    if (bad) {
        const std::uint64_t at = state_.step;
        state_ = backup;
        I.pending_build = true;
        throw NumericalError("the simulation produced a non-finite position during steps " + std::to_string(at) + ".." +
                             std::to_string(at + steps) + " (time step too large for the forces?); the state was rolled back");
    }
    state_.step = step0 + steps;
    state_.time = t0 + static_cast<double>(steps) * dt;
}

}  // namespace entroscope

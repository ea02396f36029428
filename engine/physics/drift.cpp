#include "entroscope/physics/drift.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "entroscope/core/errors.hpp"

namespace entroscope {

namespace {

inline double min_image(double d, double L, double half_L) {
    if (d >= half_L) d -= L;
    else if (d < -half_L) d += L;
    return d;
}

}  // namespace

DriftEvaluator::DriftEvaluator(Config cfg) : cfg_(std::move(cfg)) {
    cfg_.finalize();
    pair_ = has_pair_force(cfg_);
    rcut_ = pair_ ? cfg_.pair_cutoff() : 0.0;
    if (pair_ && cfg_.box <= 2.0 * rcut_)
        throw ConfigError(cfg_.box_given ? "box" : "phi", "the box side is not longer than twice the pair cut-off (minimum image needs that)");
    const int nc = pair_ ? static_cast<int>(std::floor(cfg_.box / rcut_)) : 0;
    ncell_ = nc >= 3 ? nc : 0;
    const auto n = static_cast<std::size_t>(cfg_.n);
    spring_start_.assign(n + 1, 0);
    for (const auto& s : cfg_.springs) {
        ++spring_start_[static_cast<std::size_t>(s.i) + 1];
        ++spring_start_[static_cast<std::size_t>(s.j) + 1];
    }
    for (std::size_t i = 0; i < n; ++i) spring_start_[i + 1] += spring_start_[i];
    spring_other_.assign(static_cast<std::size_t>(spring_start_[n]), 0);
    spring_kappa_.assign(spring_other_.size(), 0.0);
    std::vector<int> fill(spring_start_.begin(), spring_start_.end() - 1);
    for (const auto& s : cfg_.springs) {
        auto& a = fill[static_cast<std::size_t>(s.i)];
        spring_other_[static_cast<std::size_t>(a)] = s.j;
        spring_kappa_[static_cast<std::size_t>(a++)] = s.kappa;
        auto& b = fill[static_cast<std::size_t>(s.j)];
        spring_other_[static_cast<std::size_t>(b)] = s.i;
        spring_kappa_[static_cast<std::size_t>(b++)] = s.kappa;
    }
}

void DriftEvaluator::check(const State& s) const {
    const auto n = static_cast<std::size_t>(cfg_.n);
    if (s.x.size() != 2 * n || s.types.size() != n || s.act.size() != n * static_cast<std::size_t>(cfg_.active_dim()))
        throw ConfigError("n", "the state has a different particle count or model than the config");
    if (std::fabs(s.box - cfg_.box) > 1e-9 * cfg_.box)
        throw ConfigError("box", "the state's box " + std::to_string(s.box) + " differs from the config's " + std::to_string(cfg_.box));
}

void DriftEvaluator::build_cells(const State& s) {
    const int n = cfg_.n;
    const int nc = ncell_;
    const double inv_cell = nc / cfg_.box;
    cell_start_.assign(static_cast<std::size_t>(nc) * static_cast<std::size_t>(nc) + 1, 0);
    cell_items_.resize(static_cast<std::size_t>(n));
    cell_of_.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        int cx = static_cast<int>(s.x[2 * static_cast<std::size_t>(i)] * inv_cell);
        int cy = static_cast<int>(s.x[2 * static_cast<std::size_t>(i) + 1] * inv_cell);
        cx = std::min(std::max(cx, 0), nc - 1);
        cy = std::min(std::max(cy, 0), nc - 1);
        cell_of_[static_cast<std::size_t>(i)] = cy * nc + cx;
        ++cell_start_[static_cast<std::size_t>(cy * nc + cx) + 1];
    }
    for (std::size_t c = 0; c + 1 < cell_start_.size(); ++c) cell_start_[c + 1] += cell_start_[c];
    std::vector<int> fill(cell_start_.begin(), cell_start_.end() - 1);
    for (int i = 0; i < n; ++i) cell_items_[static_cast<std::size_t>(fill[static_cast<std::size_t>(cell_of_[static_cast<std::size_t>(i)])]++)] = i;
}

void DriftEvaluator::add_pairs(const State& s, double* f, double* div, double* jac) {
    if (!pair_) return;
    const int n = cfg_.n;
    const double L = cfg_.box, hL = 0.5 * L, rc2 = rcut_ * rcut_;
    const double* x = s.x.data();
    // m: J_ii (xx, xy, yy) and sum_j tr(M_ij^2) of particle i so far. The
    // Jacobian of f(r) r_hat is M = f' r_hat r_hat^T + (f / r)(I - r_hat r_hat^T).
    auto pair = [&](int i, int j, double& fx, double& fy, double& dv, double* m) {
        if (j == i) return;
        const double dx = min_image(x[2 * i] - x[2 * j], L, hL);
        const double dy = min_image(x[2 * i + 1] - x[2 * j + 1], L, hL);
        const double r2 = dx * dx + dy * dy;
        if (r2 >= rc2) return;
        const double r = std::sqrt(r2);
        const RadialForce rf = pair_law::radial_inside(cfg_, r);
        fx += rf.f * dx / r;
        fy += rf.f * dy / r;
        const double fr = rf.f / r;
        dv += rf.df + fr;
        if (m) {
            const double ux = dx / r, uy = dy / r;
            m[0] += rf.df * ux * ux + fr * uy * uy;
            m[1] += (rf.df - fr) * ux * uy;
            m[2] += rf.df * uy * uy + fr * ux * ux;
            m[3] += rf.df * rf.df + fr * fr;
        }
    };
    auto store = [&](int i, double fx, double fy, double dv, const double* m) {
        f[2 * i] += fx;
        f[2 * i + 1] += fy;
        if (div) div[i] += dv;
        if (jac)
            for (int c = 0; c < 4; ++c) jac[4 * i + c] += m[c];
    };
    if (ncell_ == 0) {
        for (int i = 0; i < n; ++i) {
            double fx = 0, fy = 0, dv = 0, m[4] = {0, 0, 0, 0};
            for (int j = 0; j < n; ++j) pair(i, j, fx, fy, dv, jac ? m : nullptr);
            store(i, fx, fy, dv, m);
        }
        return;
    }
    build_cells(s);
    const int nc = ncell_;
    for (int i = 0; i < n; ++i) {
        const int c = cell_of_[static_cast<std::size_t>(i)];
        const int cx = c % nc, cy = c / nc;
        double fx = 0, fy = 0, dv = 0, m[4] = {0, 0, 0, 0};
        for (int oy = -1; oy <= 1; ++oy) {
            const int yy = (cy + oy + nc) % nc;
            for (int ox = -1; ox <= 1; ++ox) {
                const int cc = yy * nc + (cx + ox + nc) % nc;
                for (int k = cell_start_[static_cast<std::size_t>(cc)]; k < cell_start_[static_cast<std::size_t>(cc) + 1]; ++k)
                    pair(i, cell_items_[static_cast<std::size_t>(k)], fx, fy, dv, jac ? m : nullptr);
            }
        }
        store(i, fx, fy, dv, m);
    }
}

void DriftEvaluator::add_one_body(const State& s, double* f, double* div, double* jac) const {
    const int n = cfg_.n;
    const double L = cfg_.box, hL = 0.5 * L;
    const bool trap = cfg_.has_trap();
    const double* x = s.x.data();
    for (int i = 0; i < n; ++i) {
        double fx = 0, fy = 0, dv = 0, diag = 0, off2 = 0;  // J_ii gets diag * I; off2: sum_j tr(J_ij J_ji)
        if (trap) {
            const double A = cfg_.trap_of(i);
            fx -= A * min_image(x[2 * i] - hL, L, hL);
            fy -= A * min_image(x[2 * i + 1] - hL, L, hL);
            dv -= 2.0 * A;
            diag -= A;
        }
        for (int q = spring_start_[static_cast<std::size_t>(i)]; q < spring_start_[static_cast<std::size_t>(i) + 1]; ++q) {
            const int j = spring_other_[static_cast<std::size_t>(q)];
            const double kap = spring_kappa_[static_cast<std::size_t>(q)];
            fx -= kap * min_image(x[2 * i] - x[2 * j], L, hL);
            fy -= kap * min_image(x[2 * i + 1] - x[2 * j + 1], L, hL);
            dv -= 2.0 * kap;
            if (jac) {
                // J_ij = kappa I, plus another spring to the same j and the
                // pair force's -M_ij where j is also in range: the cross terms
                // of tr(J_ij J_ji).
                diag -= kap;
                off2 += 2.0 * kap * kap;
                for (int q2 = spring_start_[static_cast<std::size_t>(i)]; q2 < q; ++q2)
                    if (spring_other_[static_cast<std::size_t>(q2)] == j) off2 += 4.0 * kap * spring_kappa_[static_cast<std::size_t>(q2)];
                if (pair_) {
                    const double dx = min_image(x[2 * i] - x[2 * j], L, hL), dy = min_image(x[2 * i + 1] - x[2 * j + 1], L, hL);
                    const double r2 = dx * dx + dy * dy;
                    if (r2 < rcut_ * rcut_ && r2 > 0.0) {
                        const double r = std::sqrt(r2);
                        const RadialForce rf = pair_law::radial_inside(cfg_, r);
                        off2 -= 2.0 * kap * (rf.df + rf.f / r);
                    }
                }
            }
        }
        f[2 * i] += fx;
        f[2 * i + 1] += fy;
        if (div) div[i] += dv;
        if (jac) {
            jac[4 * i] += diag;
            jac[4 * i + 2] += diag;
            jac[4 * i + 3] += off2;
        }
    }
}

std::vector<double> DriftEvaluator::conservative_forces(const State& s) {
    check(s);
    std::vector<double> f(2 * static_cast<std::size_t>(cfg_.n), 0.0);
    add_pairs(s, f.data(), nullptr, nullptr);
    add_one_body(s, f.data(), nullptr, nullptr);
    return f;
}

Drift DriftEvaluator::evaluate(const State& s, bool with_divergence) {
    check(s);
    const int n = cfg_.n;
    const auto nn = static_cast<std::size_t>(n);
    const bool aoup = cfg_.model == ModelKind::Aoup;
    Drift d;
    d.n = n;
    d.active_dim = cfg_.active_dim();
    d.b_x.assign(2 * nn, 0.0);
    double* div = nullptr;
    std::vector<double> jac;
    if (with_divergence) {
        d.div_x.assign(nn, 0.0);
        div = d.div_x.data();
        jac.assign(4 * nn, 0.0);
    }
    add_pairs(s, d.b_x.data(), div, with_divergence ? jac.data() : nullptr);
    add_one_body(s, d.b_x.data(), div, with_divergence ? jac.data() : nullptr);
    if (with_divergence) {
        d.tr_j2.resize(nn);
        for (std::size_t i = 0; i < nn; ++i) {
            const double* m = &jac[4 * i];
            d.tr_j2[i] = m[0] * m[0] + 2.0 * m[1] * m[1] + m[2] * m[2] + m[3];
        }
    }
    const double v0 = cfg_.v0;
    if (aoup) {
        d.b_act.resize(2 * nn);
        for (std::size_t k = 0; k < 2 * nn; ++k) {
            d.b_x[k] += v0 * s.act[k];
            d.b_act[k] = -cfg_.gamma * s.act[k];
        }
    } else {
        d.b_act.assign(nn, 0.0);
        for (std::size_t i = 0; i < nn; ++i) {
            d.b_x[2 * i] += v0 * std::cos(s.act[i]);
            d.b_x[2 * i + 1] += v0 * std::sin(s.act[i]);
        }
    }
    if (with_divergence) d.div_act.assign(nn, aoup ? -2.0 * cfg_.gamma : 0.0);
    return d;
}

Drift compute_drift(const Config& cfg, const State& s, bool with_divergence) {
    DriftEvaluator ev(cfg);
    return ev.evaluate(s, with_divergence);
}

}  // namespace entroscope

#include "entroscope/physics/linear_oracle.hpp"

#include <cmath>
#include <complex>
#include <limits>
#include <numeric>
#include <string>

#include <Eigen/Dense>

#include "entroscope/core/errors.hpp"

namespace entroscope {

namespace {

using Mat = Eigen::MatrixXd;

// Connected components of the spring graph (union-find), each sorted.
std::vector<std::vector<int>> components(const Config& cfg) {
    std::vector<int> parent(static_cast<std::size_t>(cfg.n));
    std::iota(parent.begin(), parent.end(), 0);
    auto find = [&](int a) {
        while (parent[static_cast<std::size_t>(a)] != a) {
            parent[static_cast<std::size_t>(a)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(a)])];
            a = parent[static_cast<std::size_t>(a)];
        }
        return a;
    };
    for (const auto& s : cfg.springs) parent[static_cast<std::size_t>(find(s.i))] = find(s.j);
    std::vector<std::vector<int>> by_root(static_cast<std::size_t>(cfg.n));
    for (int i = 0; i < cfg.n; ++i) by_root[static_cast<std::size_t>(find(i))].push_back(i);
    std::vector<std::vector<int>> out;
    for (auto& c : by_root)
        if (!c.empty()) out.push_back(std::move(c));
    return out;
}

// Solve B S + S B^T = C by Bartels–Stewart on the complex Schur form of B.
// Eigen has no Lyapunov solver; this is the textbook O(m^3) algorithm.
Mat lyapunov(const Mat& B, const Mat& C) {
    const Eigen::Index m = B.rows();
    Eigen::ComplexSchur<Mat> schur(B);
    const Eigen::MatrixXcd& T = schur.matrixT();
    const Eigen::MatrixXcd& U = schur.matrixU();
    Eigen::MatrixXcd F = U.adjoint() * C.cast<std::complex<double>>() * U;
    Eigen::MatrixXcd Y = Eigen::MatrixXcd::Zero(m, m);
    for (Eigen::Index i = m - 1; i >= 0; --i) {
        for (Eigen::Index j = m - 1; j >= 0; --j) {
            std::complex<double> rhs = F(i, j);
            for (Eigen::Index k = i + 1; k < m; ++k) rhs -= T(i, k) * Y(k, j);
            for (Eigen::Index k = j + 1; k < m; ++k) rhs -= Y(i, k) * std::conj(T(j, k));
            const std::complex<double> den = T(i, i) + std::conj(T(j, j));
            if (std::abs(den) < 1e-300) throw ConfigError("", "the linear system has no stationary state (singular Lyapunov operator)");
            Y(i, j) = rhs / den;
        }
    }
    Mat S = (U * Y * U.adjoint()).real();
    return 0.5 * (S + S.transpose());
}

// Solve S = F S F^T + Q by doubling (Smith's method): converges in about
// log2(relaxation steps) iterations, each O(m^3).
Mat stein(Mat F, const Mat& Q) {
    Mat S = Q;
    for (int it = 0; it < 200; ++it) {
        const Mat next = S + F * S * F.transpose();
        F = F * F;
        const double change = (next - S).norm();
        S = next;
        if (change <= 1e-15 * S.norm() || F.norm() < 1e-300) break;
    }
    return 0.5 * (S + S.transpose());
}

struct Block {
    Mat B, D, K;  // per Cartesian component, variables (x_1..x_c, g_1..g_c)
};

Block make_block(const Config& cfg, const std::vector<int>& comp) {
    const int c = static_cast<int>(comp.size());
    std::vector<int> local(static_cast<std::size_t>(cfg.n), -1);
    for (int a = 0; a < c; ++a) local[static_cast<std::size_t>(comp[static_cast<std::size_t>(a)])] = a;
    Block b;
    b.K = Mat::Zero(c, c);
    for (int a = 0; a < c; ++a) b.K(a, a) = cfg.trap_of(comp[static_cast<std::size_t>(a)]);
    for (const auto& s : cfg.springs) {
        const int a = local[static_cast<std::size_t>(s.i)], q = local[static_cast<std::size_t>(s.j)];
        if (a < 0) continue;
        b.K(a, a) += s.kappa;
        b.K(q, q) += s.kappa;
        b.K(a, q) -= s.kappa;
        b.K(q, a) -= s.kappa;
    }
    b.B = Mat::Zero(2 * c, 2 * c);
    b.B.topLeftCorner(c, c) = b.K;
    b.B.topRightCorner(c, c) = -cfg.v0 * Mat::Identity(c, c);
    b.B.bottomRightCorner(c, c) = cfg.gamma * Mat::Identity(c, c);
    b.D = Mat::Zero(2 * c, 2 * c);
    b.D.topLeftCorner(c, c) = cfg.eps * Mat::Identity(c, c);
    b.D.bottomRightCorner(c, c) = cfg.gamma * Mat::Identity(c, c);
    return b;
}

void check_linear(const Config& cfg) {
    if (cfg.model != ModelKind::Aoup) throw ConfigError("model", "exact answers exist only for linear AOUP systems (model \"aoup\")");
    if (cfg.interaction != Interaction::None)
        throw ConfigError("interaction", "exact answers need a linear system: \"interaction\" must be \"none\" (traps and springs only)");
    if (cfg.eps == 0.0 && cfg.v0 == 0.0) throw ConfigError("eps", "eps = 0 with v0 = 0 has a degenerate (point-mass) stationary law");
}

void check_confined(const Block& b, const std::vector<int>& comp) {
    Eigen::SelfAdjointEigenSolver<Mat> es(b.K);
    if (es.eigenvalues().minCoeff() <= 1e-12 * std::max(1.0, es.eigenvalues().maxCoeff()))
        throw ConfigError("trap_stiffness", "particle " + std::to_string(comp.front()) +
                                                " is not confined (zero trap stiffness): the linear system has no stationary state");
}

}  // namespace

LinearOracle solve_linear_system(const Config& cfg) {
    check_linear(cfg);
    const int n = cfg.n;
    const double inf = std::numeric_limits<double>::infinity();
    LinearOracle o;
    o.n = n;
    o.eps = cfg.eps;
    o.var_x.assign(static_cast<std::size_t>(n), 0.0);
    o.var_g = o.cov_xg = o.var_x_discrete = o.epr_active = o.epr_x = o.epr_active_discrete = o.epr_x_discrete = o.var_x;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double a = std::exp(-cfg.gamma * cfg.dt);
    for (const auto& comp : components(cfg)) {
        const int c = static_cast<int>(comp.size());
        const Block b = make_block(cfg, comp);
        check_confined(b, comp);
        const Mat S = lyapunov(b.B, 2.0 * b.D);
        // Probability-flow velocity v = (-B + D S^{-1}) z; its covariance M S M^T.
        const Mat M = -b.B + b.D * S.inverse();
        const Mat V = M * S * M.transpose();
        // Euler–Maruyama for x with the exact OU step for g.
        Mat Fd = Mat::Zero(2 * c, 2 * c);
        Fd.topLeftCorner(c, c) = Mat::Identity(c, c) - cfg.dt * b.K;
        Fd.topRightCorner(c, c) = cfg.dt * cfg.v0 * Mat::Identity(c, c);
        Fd.bottomRightCorner(c, c) = a * Mat::Identity(c, c);
        Mat Q = Mat::Zero(2 * c, 2 * c);
        Q.topLeftCorner(c, c) = 2.0 * cfg.eps * cfg.dt * Mat::Identity(c, c);
        Q.bottomRightCorner(c, c) = (1.0 - a * a) * Mat::Identity(c, c);
        Eigen::ComplexEigenSolver<Mat> ev(Fd, false);
        const bool discrete_stable = ev.eigenvalues().cwiseAbs().maxCoeff() < 1.0;
        const Mat Sd = discrete_stable ? stein(Fd, Q) : Mat::Constant(2 * c, 2 * c, inf);
        // The chain's own score in v = b - D s: v = (-B + D S_d^{-1}) z.
        Mat Vd = Mat::Constant(2 * c, 2 * c, nan);
        if (discrete_stable) {
            const Mat Md = -b.B + b.D * Sd.inverse();
            Vd = Md * Sd * Md.transpose();
            o.div_v_discrete += 2.0 * Md.trace();  // both Cartesian components
        } else {
            o.div_v_discrete = nan;
        }
        for (int q = 0; q < c; ++q) {
            const auto i = static_cast<std::size_t>(comp[static_cast<std::size_t>(q)]);
            o.var_x[i] = S(q, q);
            o.var_g[i] = S(c + q, c + q);
            o.cov_xg[i] = S(q, c + q);
            o.var_x_discrete[i] = Sd(q, q);
            o.epr_active[i] = 2.0 * V(c + q, c + q) / cfg.gamma;
            o.epr_x[i] = cfg.eps > 0 ? 2.0 * V(q, q) / cfg.eps : inf;
            o.epr_active_discrete[i] = 2.0 * Vd(c + q, c + q) / cfg.gamma;
            o.epr_x_discrete[i] = cfg.eps > 0 ? 2.0 * Vd(q, q) / cfg.eps : inf;
        }
    }
    for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        o.epr_active_total += o.epr_active[k];
        o.epr_x_total += o.epr_x[k];
        o.mean_sq_position += 2.0 * o.var_x[k] / n;
        o.mean_sq_position_discrete += 2.0 * o.var_x_discrete[k] / n;
        o.epr_active_discrete_total += o.epr_active_discrete[k];
        o.epr_x_discrete_total += o.epr_x_discrete[k];
    }
    o.epr_total = o.epr_active_total + o.epr_x_total;
    return o;
}

ExactScore exact_score(const Config& cfg, const State& st) {
    check_linear(cfg);
    const double L = st.box, hL = 0.5 * L;
    ExactScore out;
    out.s_g.assign(2 * static_cast<std::size_t>(cfg.n), 0.0);
    out.s_x.assign(2 * static_cast<std::size_t>(cfg.n), 0.0);
    for (const auto& comp : components(cfg)) {
        const int c = static_cast<int>(comp.size());
        const Block b = make_block(cfg, comp);
        check_confined(b, comp);
        const Mat P = lyapunov(b.B, 2.0 * b.D).inverse();
        for (int d = 0; d < 2; ++d) {
            Eigen::VectorXd z(2 * c);
            for (int q = 0; q < c; ++q) {
                const auto i = static_cast<std::size_t>(comp[static_cast<std::size_t>(q)]);
                double dx = st.x[2 * i + static_cast<std::size_t>(d)] - hL;
                if (dx >= hL) dx -= L;
                else if (dx < -hL) dx += L;
                z(q) = dx;
                z(c + q) = st.act[2 * i + static_cast<std::size_t>(d)];
            }
            const Eigen::VectorXd s = -P * z;
            for (int q = 0; q < c; ++q) {
                const auto i = static_cast<std::size_t>(comp[static_cast<std::size_t>(q)]);
                out.s_x[2 * i + static_cast<std::size_t>(d)] = s(q);
                out.s_g[2 * i + static_cast<std::size_t>(d)] = s(c + q);
            }
        }
    }
    return out;
}

}  // namespace entroscope

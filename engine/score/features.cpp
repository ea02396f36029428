#include "features.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include "entroscope/core/errors.hpp"
#include "entroscope/sim/neighbors.hpp"
#include "slot_forces.hpp"

namespace entroscope::score {

namespace {

constexpr double kPi = 3.14159265358979323846;

}  // namespace

// Neighbourhood radius of the network (network.cutoff, or automatic:
// max(pair cut-off, 1.5 diameters), which holds fewer than 16 particles even
// in a dense cluster). Inside it the k nearest count, weighted by a smooth
// envelope, so the score is continuous in the positions as long as fewer than
// k particles fit inside. Linear systems (no pair force): neighbours are the
// spring partners only, since nothing else couples particles; this keeps the
// learned score of independent particles exactly separable. (With plain k-NN
// the network jumps whenever the neighbour set changes, and score matching
// exploits the jumps: on dense trapped clouds it reached |s|^2 + 2 div s two
// orders of magnitude below the true minimum.)
double network_cutoff(const Config& cfg) {
    if (cfg.is_linear() || cfg.interaction == Interaction::None) return 0.0;
    if (cfg.network.cutoff > 0.0) return cfg.network.cutoff;
    const double diameter = cfg.model == ModelKind::Aoup ? 2.0 * cfg.r0 : cfg.sigma;
    return std::max(cfg.pair_cutoff(), 1.5 * diameter);
}

// Active-variable input features: AOUP g as is, ABP e(theta) = (cos, sin).
torch::Tensor active_features(const Config& cfg, const torch::Tensor& a) {  // [.., da] float64 -> [.., 2] float32
    if (cfg.model == ModelKind::Abp) return torch::cat({torch::cos(a), torch::sin(a)}, -1).to(torch::kFloat32);
    return a.to(torch::kFloat32);
}

// Position drift b_x = v0 e + F_ext + F_int of every particle (SPEC §1, unit mobility).
torch::Tensor position_drift(const Config& cfg, const torch::Tensor& act, const torch::Tensor& trap, const torch::Tensor& x_off,
                             const torch::Tensor& f_int) {
    return static_cast<float>(cfg.v0) * active_features(cfg, act) - trap.unsqueeze(1) * x_off + f_int;
}

Features make_features(const Config& cfg, const State& s, int k) {
    Features f;
    const int n = s.n();
    f.n = n;
    f.k = std::max(1, std::min(k, std::max(1, n - 1)));
    f.step = s.step;
    f.time = s.time;
    f.box = s.box;
    f.source = &s;
    const int da = cfg.active_dim();
    if (static_cast<int>(s.act.size()) != n * da) throw ConfigError("model", "the snapshot's active variable does not match the model kind");
    f.act = torch::from_blob(const_cast<double*>(s.act.data()), {n, da}, torch::kFloat64).clone();
    const double L = s.box, hL = 0.5 * L;
    auto xo = torch::empty({n, 2}, torch::kFloat32);
    auto tr = torch::zeros({n}, torch::kFloat32);
    auto ty = torch::empty({n}, torch::kInt64);
    auto xa = xo.accessor<float, 2>();
    auto ta = tr.accessor<float, 1>();
    auto ya = ty.accessor<std::int64_t, 1>();
    for (int i = 0; i < n; ++i) {
        for (int d = 0; d < 2; ++d) {
            double v = s.x[2 * static_cast<std::size_t>(i) + static_cast<std::size_t>(d)] - hL;
            if (v >= hL) v -= L;
            else if (v < -hL) v += L;
            xa[i][d] = static_cast<float>(v);
        }
        ta[i] = static_cast<float>(cfg.trap_of(i));
        ya[i] = s.types[static_cast<std::size_t>(i)];
        if (ya[i] >= kMaxTypes) throw ConfigError("types", "the score network supports at most 16 particle types");
    }
    f.x_off = xo;
    f.trap = tr;
    f.type = ty;
    f.cutoff = network_cutoff(cfg);
    if (f.cutoff > 0.0) {
        const NeighborGraph g = k_nearest(s, static_cast<int>(f.k), 1);
        auto idx = torch::from_blob(const_cast<int*>(g.index.data()), {n, f.k}, torch::kInt32).to(torch::kInt64);
        f.rel = torch::from_blob(const_cast<float*>(g.rel.data()), {n, f.k, 2}, torch::kFloat32).clone();
        // Neighbours beyond the cut-off are dropped (their envelope is 0 anyway).
        auto far = (f.rel * f.rel).sum(-1).ge(static_cast<float>(f.cutoff * f.cutoff));
        f.mask = idx.lt(0).logical_or(far);
        f.nbr = idx.clamp_min(0);
    } else {
        // Spring partners, in the order the config lists the springs.
        std::vector<std::vector<int>> partners(static_cast<std::size_t>(n));
        for (const auto& sp : cfg.springs) {
            partners[static_cast<std::size_t>(sp.i)].push_back(sp.j);
            partners[static_cast<std::size_t>(sp.j)].push_back(sp.i);
        }
        std::size_t most = 1;
        for (const auto& p : partners) most = std::max(most, p.size());
        f.k = static_cast<std::int64_t>(most);
        auto idx = torch::zeros({n, f.k}, torch::kInt64);
        auto msk = torch::ones({n, f.k}, torch::kBool);
        auto rel = torch::zeros({n, f.k, 2}, torch::kFloat32);
        auto kap = torch::zeros({n, f.k}, torch::kFloat32);
        auto ka = kap.accessor<float, 2>();
        std::vector<std::vector<double>> partner_kappa(static_cast<std::size_t>(n));
        for (const auto& sp : cfg.springs) {
            partner_kappa[static_cast<std::size_t>(sp.i)].push_back(sp.kappa);
            partner_kappa[static_cast<std::size_t>(sp.j)].push_back(sp.kappa);
        }
        auto ia = idx.accessor<std::int64_t, 2>();
        auto ma = msk.accessor<bool, 2>();
        auto ra = rel.accessor<float, 3>();
        for (int i = 0; i < n; ++i)
            for (std::size_t m = 0; m < partners[static_cast<std::size_t>(i)].size(); ++m) {
                const int j = partners[static_cast<std::size_t>(i)][m];
                ia[i][static_cast<std::int64_t>(m)] = j;
                ma[i][static_cast<std::int64_t>(m)] = false;
                ka[i][static_cast<std::int64_t>(m)] = static_cast<float>(partner_kappa[static_cast<std::size_t>(i)][m]);
                for (int d = 0; d < 2; ++d) {
                    double v = s.x[2 * static_cast<std::size_t>(i) + static_cast<std::size_t>(d)] -
                               s.x[2 * static_cast<std::size_t>(j) + static_cast<std::size_t>(d)];
                    if (v >= hL) v -= L;
                    else if (v < -hL) v += L;
                    ra[i][static_cast<std::int64_t>(m)][d] = static_cast<float>(v);
                }
            }
        f.nbr = idx;
        f.mask = msk;
        f.rel = rel;
        f.kappa = kap;
    }
    f.f_int = slot_forces(cfg, f, f.rel.masked_fill(f.mask.unsqueeze(-1), 0.0), f.mask, f.kappa).sum(1);
    f.b_x = position_drift(cfg, f.act, f.trap, f.x_off, f.f_int);
    if (second_order_inputs(cfg)) {
        auto fr = flow_rates(cfg, f, f.b_x, f.rel.masked_fill(f.mask.unsqueeze(-1), 0.0));
        f.M_x = fr.M;
        f.c_x = fr.c;
        f.b2_x = fr.b2;
        std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> holders(static_cast<std::size_t>(n));
        auto na = f.nbr.accessor<std::int64_t, 2>();
        auto ma = f.mask.accessor<bool, 2>();
        for (std::int64_t l = 0; l < n; ++l)
            for (std::int64_t sl = 0; sl < f.k; ++sl)
                if (!ma[l][sl]) holders[static_cast<std::size_t>(na[l][sl])].emplace_back(l, sl);
        std::size_t R = 1;
        for (const auto& h : holders) R = std::max(R, h.size());
        f.rev_l = torch::zeros({n, static_cast<std::int64_t>(R)}, torch::kInt64);
        f.rev_s = torch::zeros({n, static_cast<std::int64_t>(R)}, torch::kInt64);
        f.rev_mask = torch::ones({n, static_cast<std::int64_t>(R)}, torch::kBool);
        auto la = f.rev_l.accessor<std::int64_t, 2>(), sa = f.rev_s.accessor<std::int64_t, 2>();
        auto ra = f.rev_mask.accessor<bool, 2>();
        for (int i = 0; i < n; ++i)
            for (std::size_t r = 0; r < holders[static_cast<std::size_t>(i)].size(); ++r) {
                la[i][static_cast<std::int64_t>(r)] = holders[static_cast<std::size_t>(i)][r].first;
                sa[i][static_cast<std::int64_t>(r)] = holders[static_cast<std::size_t>(i)][r].second;
                ra[i][static_cast<std::int64_t>(r)] = false;
            }
    }
    return f;
}

// The features on the network's device (built on the CPU: the neighbour
// search and the force law are the engine's).
Features on_device(Features f, const torch::Device& dev) {
    if (dev.is_cpu()) return f;
    for (torch::Tensor* t : {&f.act, &f.x_off, &f.trap, &f.type, &f.nbr, &f.mask, &f.rel, &f.kappa, &f.f_int, &f.b_x, &f.M_x, &f.c_x, &f.b2_x,
                              &f.rev_l, &f.rev_s, &f.rev_mask})
        if (t->defined()) *t = t->to(dev);
    return f;
}

// Scale of the interaction-force input: the force at contact of pair_law.hpp
// (softplus: k ln2/beta; WCA: 24/sigma; hard, 0 at contact: 0.1 k r0, its
// force a tenth of a radius inside; springs: 1), so the feature is
// O(1) whatever the units. Fixed by the interaction (not v0), so a slider
// does not rescale a warm-started network's inputs.
double force_scale(const Config& cfg) {
    if (cfg.is_linear() || cfg.interaction == Interaction::None) return 1.0;
    switch (cfg.interaction) {
        case Interaction::Softplus: return std::max(cfg.k * std::log(2.0) / cfg.beta, 1e-12);
        case Interaction::Hard: return std::max(0.1 * cfg.k * cfg.r0, 1e-12);
        case Interaction::Wca: return 24.0 / cfg.sigma;
        case Interaction::None: break;
    }
    return 1.0;
}

// Unit of the own-drift inputs: v0, or the force scale when v0 = 0.
double drift_unit(const Config& cfg) { return cfg.v0 > 0.0 ? cfg.v0 : force_scale(cfg); }

// "multiscale": drift inputs in units of u sqrt(D_act) (u = v0, or the force
// scale when v0 = 0; D_act = gamma or D_r), compressed to z asinh(|z|)/|z|:
// O(1) where a particle is near force balance and only logarithmically
// large where it moves freely. In the AOUP MIPS state (gamma = 1e-4) the
// drift of a particle pressed into a cluster is O(v0 sqrt(gamma)), a
// hundredth of the v0 units of the "scaled" input, so that input alone
// hands the network the signal at 1 % of its other inputs' size.
torch::Tensor drift_features(const Config& cfg, const torch::Tensor& b) {
    const double u = drift_unit(cfg);
    const double D = cfg.model == ModelKind::Abp ? cfg.D_r : cfg.gamma;
    auto z = b * static_cast<float>(1.0 / (u * std::sqrt(D > 0.0 ? D : 1.0)));
    auto r = torch::sqrt((z * z).sum(-1, true) + 1e-8f);  // smooth at 0 (ISM differentiates twice)
    return z * (torch::asinh(r) / r);
}

NetInputs make_inputs(const Config& cfg, const Features& f, const BatchVars& v) {
    NetInputs in;
    const bool abp = cfg.model == ModelKind::Abp;
    auto act_all = f.act;  // float64 [N, da]
    if (v.act_noise.defined()) act_all = act_all + v.act_noise.to(torch::kFloat64);
    auto to_features = [&](const torch::Tensor& a) { return active_features(cfg, a); };
    auto own = act_all.index_select(0, v.idx) + v.d_act.to(torch::kFloat64);
    in.a_self = to_features(own);
    auto nbr = f.nbr.index_select(0, v.idx);  // B k
    in.a_nbr = to_features(act_all.index({nbr}));
    in.mask = f.mask.index_select(0, v.idx);
    in.type = f.type.index_select(0, v.idx);
    in.type_nbr = f.type.index({nbr});
    auto rel = f.rel.index_select(0, v.idx);
    auto xo = f.x_off.index_select(0, v.idx);
    if (v.x_noise.defined()) {
        // (x_i + n_i) - (x_j + n_j): own offset minus each neighbour's.
        rel = rel + (v.x_noise.index_select(0, v.idx).unsqueeze(1) - v.x_noise.index({nbr}));
        xo = xo + v.x_noise.index_select(0, v.idx);
    }
    if (v.d_x.defined()) {
        rel = rel + v.d_x.unsqueeze(1);
        xo = xo + v.d_x;
    }
    in.rel = rel.masked_fill(in.mask.unsqueeze(-1), 0.0);
    if (f.cutoff > 0.0) {
        // Envelope 0.5 (1 + cos(pi r / r_c)) inside r_c: C1, and 0 at the cut.
        auto r = torch::sqrt((in.rel * in.rel).sum(-1) + 1e-12);
        auto env = 0.5 * (1.0 + torch::cos(r * (kPi / f.cutoff)));
        env = torch::where(r.lt(f.cutoff), env, torch::zeros_like(env));
        in.log_env = torch::log(env + 1e-30).masked_fill(in.mask, 0.0);
    } else {
        in.log_env = torch::zeros_like(in.rel.select(-1, 0));
    }
    in.f_ext = -f.trap.index_select(0, v.idx).unsqueeze(1) * xo;
    auto kap = f.kappa.defined() ? f.kappa.index_select(0, v.idx) : torch::Tensor();
    const torch::Tensor p = slot_forces(cfg, f, in.rel, in.mask, kap);  // B k 2: force on i from each slot
    const torch::Tensor f_int = p.sum(1);
    const float fs = static_cast<float>(1.0 / force_scale(cfg));
    in.f_int = f_int * fs;
    const torch::Tensor b_own = static_cast<float>(cfg.v0) * in.a_self + in.f_ext + f_int;  // B 2: the particle's position drift
    const bool multi = cfg.network.prior == NetworkPrior::Multiscale;
    if (cfg.network.prior == NetworkPrior::Scaled || multi) {
        // The own drift b_x / u, u = v0 (the force scale when v0 = 0).
        const auto b_unit = b_own * static_cast<float>(1.0 / drift_unit(cfg));
        in.own = multi ? torch::cat({in.a_self, in.f_ext, in.f_int, b_unit, drift_features(cfg, b_own)}, -1)
                       : torch::cat({in.a_self, in.f_ext, in.f_int, b_unit}, -1);
    } else {
        in.own = torch::cat({in.a_self, in.f_ext, in.f_int}, -1);
    }
    {
        // Each neighbour's drift b_{x_j} = v0 e_j + F_ext,j + F_int,j relative
        // to the particle's own: how the neighbourhood moves (in the AOUP MIPS
        // state the flow of g lives in relative velocities). F_int,j is the
        // snapshot's (recomputed when DSM perturbs every position); its term
        // from particle i (-p_ij) is swapped for the differentiable one, so
        // the derivative in x_i stays exact. Nothing else in it depends on
        // particle i's variables.
        torch::Tensor b_all = f.b_x;
        torch::Tensor rel_all = f.rel.masked_fill(f.mask.unsqueeze(-1), 0.0);
        if (v.x_noise.defined() || v.act_noise.defined()) {
            torch::Tensor f_all = f.f_int, xo_all = f.x_off;
            if (v.x_noise.defined()) {
                rel_all = (f.rel + (v.x_noise.unsqueeze(1) - v.x_noise.index({f.nbr}))).masked_fill(f.mask.unsqueeze(-1), 0.0);
                f_all = slot_forces(cfg, f, rel_all, f.mask, f.kappa).sum(1);
                xo_all = xo_all + v.x_noise;
            }
            b_all = position_drift(cfg, act_all, f.trap, xo_all, f_all);
        }
        auto b_nbr = b_all.index({nbr});  // B k 2
        if (p.requires_grad()) {
            // Only where derivatives in x_i are taken (the swap is 0 in value).
            auto member = f.nbr.index({nbr}).eq(v.idx.view({-1, 1, 1})).logical_and(f.mask.index({nbr}).logical_not()).any(-1);
            member = member.logical_and(in.mask.logical_not()).unsqueeze(-1);  // B k 1: is i among j's slots?
            b_nbr = b_nbr + torch::where(member, p.detach() - p, torch::zeros_like(p));
        }
        in.drift_rel = ((b_nbr - b_own.unsqueeze(1)) * fs).masked_fill(in.mask.unsqueeze(-1), 0.0);
        if (multi)
            in.drift_rel = torch::cat(
                {in.drift_rel, drift_features(cfg, b_nbr - b_own.unsqueeze(1)).masked_fill(in.mask.unsqueeze(-1), 0.0)}, -1);
        if (multi) {
            // How the own drift changes along the deterministic motion at fixed
            // active variables (x' = b): its rate c_i = (J b)_i (J = db/dx)
            // and, without positional noise, its second and third derivatives
            // b''_i, b3_i. All go to the head in the drift_features units, with the sign
            // of -J b / v0: the quasi-static flow of g (exact for a trapped
            // particle at small gamma) in units of sqrt(gamma).
            //   c_i   = -A_i b_i + sum_j M_ij (b_i - b_j),  M_ij = dp_ij / d rel_ij
            //   b''_i = -A_i c_i + sum_j [ M_ij (c_i - c_j) + H_ij[b_i - b_j, b_i - b_j] ]
            // (p_ij the force on i from slot j, H its second derivative). In
            // the AOUP MIPS state the head cannot build these products of its
            // inputs to the accuracy needed (each contact's stiffness times
            // the relative drift, O(v0 sqrt(gamma))); given c the loss reaches
            // its old plateau 3-4 times sooner, and given b'' it passes it:
            // 61 % of the exact EPR after 1765 steps against 21 % (README);
            // with b3 65 % after 984 steps (68 % after 3984).
            // M by central differences in rel (exact for springs); H and T by
            // differences in float64 (float32 left roundoff noise that the
            // divergence check saw).
            const auto slot_mask = in.mask.unsqueeze(-1);
            auto delta = (b_own.unsqueeze(1) - b_nbr).masked_fill(slot_mask, 0.0);  // B k 2
            auto M = slot_jacobian(cfg, f, in.rel, in.mask, kap);                   // B k 2 2
            auto trap_own = f.trap.index_select(0, v.idx).unsqueeze(1);
            auto c_own = mat_vec(M, delta).sum(1) - trap_own * b_own;  // B 2
            in.own = torch::cat({in.own, drift_features(cfg, -c_own)}, -1);
            if (second_order_inputs(cfg)) {
                // Every particle's c and b'' (no derivative leaves in them):
                // the snapshot's, or recomputed where DSM moved every g.
                FlowRates all;
                if (v.act_noise.defined() || !f.c_x.defined()) {
                    all = flow_rates(cfg, f, b_all, rel_all);
                } else {
                    all.M = f.M_x;
                    all.c = f.c_x;
                    all.b2 = f.b2_x;
                }
                // The neighbours' c_j, with the term of particle i in each
                // neighbour's sum, -M_ji b_i (M_ji = M_ij: central forces,
                // springs), made differentiable in b_i. (Its x_i-derivative
                // would also need b_l of the second shell, hence no b'' where a
                // position score is learned.)
                auto member = f.nbr.index({nbr}).eq(v.idx.view({-1, 1, 1})).logical_and(f.mask.index({nbr}).logical_not()).any(-1);
                member = member.logical_and(in.mask.logical_not()).unsqueeze(-1);  // B k 1: is i among j's slots?
                auto dbi = (b_own - b_own.detach()).unsqueeze(1).expand_as(delta);  // 0 in value: the b_i path
                auto dci = (c_own - c_own.detach()).unsqueeze(1).expand_as(delta);  // the c_i path
                auto c_nbr = all.c.index({nbr}) - torch::where(member, mat_vec(M, dbi), torch::zeros_like(dbi));  // B k 2
                auto d64 = delta.to(torch::kFloat64);
                auto r64 = in.rel.to(torch::kFloat64);
                auto k64 = kap.defined() ? kap.to(torch::kFloat64) : kap;
                auto h = slot_hessian_along(cfg, f, r64, in.mask, k64, d64).sum(1).to(torch::kFloat32);
                auto dc = (c_own.unsqueeze(1) - c_nbr).masked_fill(slot_mask, 0.0);
                auto b2 = h + mat_vec(M, dc).sum(1) - trap_own * c_own;  // B 2
                in.own = torch::cat({in.own, drift_features(cfg, -b2)}, -1);
                // The third derivative (the jerk of the own drift):
                //   b3_i = -A_i b''_i + sum_j [ M_ij (b''_i - b''_j) + 3 H_ij[db_ij, dc_ij] + T_ij[db_ij, db_ij, db_ij] ]
                // (db_ij = b_i - b_j, dc_ij = c_i - c_j, T the third derivative of
                // p_ij). b''_j depends on b_i through four paths, each made
                // differentiable in b_i (0 in value; the divergence needs the
                // first order only):
                //   l = i in its sum: H_ji[b_j - b_i, b_j - b_i] and M_ji (c_j - c_i);
                //   c_j itself: (sum_l M_jl - A_j) dc_j with dc_j = -M_ji db_i;
                //   c_l of its other neighbours l that have i as a neighbour:
                //   -M_jl dc_l with dc_l = -M_li db_i (the second shell).
                // H_ji at rel_ji = -rel_ij is -H_ij (the pair force is odd in rel).
                auto b2_nbr = all.b2.index({nbr});
                if (b_own.requires_grad()) {  // (the paths are 0 in value: only where the divergence is taken)
                    auto Hd = slot_hessian_matrix(cfg, f, r64.detach(), in.mask, k64, d64.detach()).to(torch::kFloat32);  // B k 2 2: H_ij[db_ij, .]
                    auto corr = -2.0 * mat_vec(Hd, dbi) - mat_vec(M, dci);
                    auto trap_nbr = f.trap.index({nbr}).unsqueeze(-1);  // B k 1
                    auto S = all.M.sum(1).index({nbr});                  // B k 2 2: sum_l M_jl
                    auto Mdb = mat_vec(M, dbi);
                    corr = corr - (mat_vec(S, Mdb) - trap_nbr * Mdb);
                    b2_nbr = b2_nbr + torch::where(member, corr, torch::zeros_like(corr));
                    // The second shell: for each neighbour j of i and each of its
                    // slots l, the term M_jl M_li db_i if l holds i in a slot
                    // (the snapshot's reverse lists give l and that slot).
                    const auto B = nbr.size(0), K = nbr.size(1);
                    auto rl = f.rev_l.index_select(0, v.idx), rs = f.rev_s.index_select(0, v.idx);  // B R
                    const auto R = rl.size(1);
                    auto M_li = all.M.index({rl, rs}) * f.rev_mask.index_select(0, v.idx).logical_not().to(M.scalar_type()).view({B, R, 1, 1});
                    auto w = mat_vec(M_li, dbi.select(1, 0).unsqueeze(1).expand({B, R, 2}));  // B R 2
                    // Is the r-th such l in slot s of j? [B, K (j), K (s), R]
                    auto l_idx = f.nbr.index({nbr});  // B K K
                    auto same = l_idx.unsqueeze(-1).eq(rl.view({B, 1, 1, R}))
                                    .logical_and(f.mask.index({nbr}).logical_not().unsqueeze(-1))
                                    .to(M.scalar_type());
                    auto u = torch::bmm(same.view({B, K * K, R}), w).view({B, K, K, 2});  // M_li db_i at each (j, s)
                    auto shell = mat_vec(all.M.index({nbr}), u).sum(2);                   // B K 2
                    b2_nbr = b2_nbr + shell.masked_fill(slot_mask, 0.0);
                }
                auto db2 = (b2.unsqueeze(1) - b2_nbr).masked_fill(slot_mask, 0.0);
                auto t3 = (3.0 * slot_hessian_pair(cfg, f, r64, in.mask, k64, d64, dc.to(torch::kFloat64)) +
                           slot_third_along(cfg, f, r64, in.mask, k64, d64))
                              .sum(1)
                              .to(torch::kFloat32);
                auto b3 = t3 + mat_vec(M, db2).sum(1) - trap_own * b2;  // B 2
                in.own = torch::cat({in.own, drift_features(cfg, -b3)}, -1);
            }
        }
    }
    if (cfg.network.prior != NetworkPrior::None) {
        // s = D^-1 (b - y): the network outputs the probability-flow velocity
        // v = b - D s = y directly. AOUP: D_g^-1 b_g = -g; ABP: b_theta = 0;
        // b_x = v0 e + F_ext + F_int with e = g or e(theta). The output then
        // has the size of a velocity, whatever D is (in the AOUP MIPS state
        // s_g is O(100) while v_g is O(0.01)).
        const int da = cfg.active_dim();
        const double D_act = abp ? cfg.D_r : cfg.gamma;
        std::vector<torch::Tensor> parts{abp ? torch::zeros({in.a_self.size(0), 1}, in.a_self.options()) : -in.a_self};
        std::vector<double> sc(static_cast<std::size_t>(da), D_act > 0.0 ? -1.0 / D_act : 1.0);
        const double Dx = cfg.position_diffusion();
        if (Dx > 0.0) {
            parts.push_back(b_own * static_cast<float>(1.0 / Dx));
            sc.push_back(-1.0 / Dx);
            sc.push_back(-1.0 / Dx);
        }
        in.prior = torch::cat(parts, 1);
        in.scale = torch::tensor(std::vector<float>(sc.begin(), sc.end())).to(in.a_self.device());
        if (cfg.network.prior == NetworkPrior::Scaled || multi) {
            // The head's output in units of sqrt(D) per component: |v_d|^2 / D
            // is the entropy production of that degree of freedom, O(1) per
            // particle, so the head's weights are O(1) at the answer whatever
            // D is. With D = gamma = 1e-4 (AOUP MIPS) the unscaled head has to
            // resolve velocities of 1e-4 (|s_g| to 1) with weights that each
            // Adam step moves by the learning rate: that noise floor only
            // falls as the rate decays. The linear path (skip) keeps velocity
            // units: least squares sets it.
            std::vector<float> hs;
            for (double c : sc) hs.push_back(static_cast<float>(c < 0.0 ? std::sqrt(-1.0 / c) : 1.0));
            in.head_scale = torch::tensor(hs).to(in.a_self.device());
        }
    }
    return in;
}

}  // namespace entroscope::score

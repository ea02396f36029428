#include "slot_forces.hpp"

#include <vector>

#include "entroscope/physics/pair_law.hpp"

namespace entroscope::score {

namespace {

// Derivatives of each slot's force p(rel) in rel by central differences of
// kFlowEta (float32 for M, which is exact for springs; float64 for the higher
// ones, where float32 leaves roundoff noise). Each slot's force depends on
// its own rel only, so these are per slot: [.., k, 2 out, 2 in (, 2 in, 2 in)].
constexpr double kFlowEta = 3e-3;

}  // namespace

// The force on each particle of the batch from each of its neighbour slots,
// [B, k, 2] (differentiable in the relative positions, so divergences stay
// exact): springs -kappa (x_i - x_j) for linear systems, else the pair law
// of pair_law.hpp cut where the simulator cuts it. Pairs outside the
// network's neighbour set (more than k inside the cut) are missed.
//
// The law is written again here in torch operations because autograd must
// run through it (the exact divergences), and the trained networks'
// inputs depend on these very operations (torch's softplus with its
// threshold), so they stay as they are; TestScoreFeatures holds them to
// pair_law.hpp, the derivatives of slot_jacobian included.
torch::Tensor slot_forces(const Config& cfg, const Features& f, const torch::Tensor& rel, const torch::Tensor& mask,
                          const torch::Tensor& kappa) {
    if (kappa.defined()) return -kappa.unsqueeze(-1) * rel;
    if (!has_pair_force(cfg) || f.cutoff <= 0.0) return torch::zeros_like(rel);
    const double rc = cfg.pair_cutoff();
    // Masked slots get r far beyond the cut (no 1/r blow-up).
    auto r = torch::sqrt((rel * rel).sum(-1)).masked_fill(mask, static_cast<float>(10.0 * rc + 10.0));
    torch::Tensor fr;  // |F| / r
    switch (cfg.interaction) {
        case Interaction::Softplus:
            fr = cfg.k *
                 torch::nn::functional::softplus(2.0 * cfg.r0 - r,
                                                 torch::nn::functional::SoftplusFuncOptions().beta(cfg.beta).threshold(20.0)) /
                 r;
            break;
        case Interaction::Hard: fr = cfg.k * torch::relu(2.0 * cfg.r0 - r) / r; break;
        case Interaction::Wca: {
            auto s2 = (cfg.sigma * cfg.sigma) / (r * r);
            auto s6 = s2 * s2 * s2;
            fr = 24.0 * s6 * (2.0 * s6 - 1.0) / (r * r);
            break;
        }
        case Interaction::None: fr = torch::zeros_like(r); break;
    }
    fr = torch::where(r.lt(rc), fr, torch::zeros_like(fr));
    return fr.unsqueeze(-1) * rel;
}

torch::Tensor slot_jacobian(const Config& cfg, const Features& f, const torch::Tensor& rel, const torch::Tensor& mask,
                            const torch::Tensor& kappa) {
    const auto o = rel.options();
    std::vector<torch::Tensor> cols;
    for (int d = 0; d < 2; ++d) {
        auto e = torch::zeros({2}, o);
        e[d] = kFlowEta;
        cols.push_back((slot_forces(cfg, f, rel + e, mask, kappa) - slot_forces(cfg, f, rel - e, mask, kappa)) / (2.0 * kFlowEta));
    }
    return torch::stack(cols, -1);
}
// H[u, u] per slot along u ([.., k, 2] float64 -> [.., k, 2] float64): one
// second difference along u's direction, cheaper than the full tensor.
torch::Tensor slot_hessian_along(const Config& cfg, const Features& f, const torch::Tensor& rel64, const torch::Tensor& mask,
                                 const torch::Tensor& kappa64, const torch::Tensor& u64) {
    auto un = torch::sqrt((u64 * u64).sum(-1, true) + 1e-30);
    auto dir = u64 / un;
    return (slot_forces(cfg, f, rel64 + kFlowEta * dir, mask, kappa64) - 2.0 * slot_forces(cfg, f, rel64, mask, kappa64) +
            slot_forces(cfg, f, rel64 - kFlowEta * dir, mask, kappa64)) *
           (un * un / (kFlowEta * kFlowEta));
}
// T[u, u, u] per slot (third derivative along u), as slot_hessian_along.
torch::Tensor slot_third_along(const Config& cfg, const Features& f, const torch::Tensor& rel64, const torch::Tensor& mask,
                               const torch::Tensor& kappa64, const torch::Tensor& u64) {
    auto un = torch::sqrt((u64 * u64).sum(-1, true) + 1e-30);
    auto dir = u64 / un;
    auto at = [&](double t) { return slot_forces(cfg, f, rel64 + (t * kFlowEta) * dir, mask, kappa64); };
    return (at(2.0) - 2.0 * at(1.0) + 2.0 * at(-1.0) - at(-2.0)) * (un * un * un / (2.0 * kFlowEta * kFlowEta * kFlowEta));
}
// H[u, w] per slot by polarisation of slot_hessian_along on the unit vectors.
torch::Tensor slot_hessian_pair(const Config& cfg, const Features& f, const torch::Tensor& rel64, const torch::Tensor& mask,
                                const torch::Tensor& kappa64, const torch::Tensor& u64, const torch::Tensor& w64) {
    auto un = torch::sqrt((u64 * u64).sum(-1, true) + 1e-30), wn = torch::sqrt((w64 * w64).sum(-1, true) + 1e-30);
    auto a = u64 / un, b = w64 / wn;
    return (slot_hessian_along(cfg, f, rel64, mask, kappa64, a + b) - slot_hessian_along(cfg, f, rel64, mask, kappa64, a - b)) *
           (0.25 * un * wn);
}
// The matrix H[u, .] per slot ([.., k, 2 out, 2 in]): M differentiated along u.
torch::Tensor slot_hessian_matrix(const Config& cfg, const Features& f, const torch::Tensor& rel64, const torch::Tensor& mask,
                                  const torch::Tensor& kappa64, const torch::Tensor& u64) {
    auto un = torch::sqrt((u64 * u64).sum(-1, true) + 1e-30);
    auto step = u64 * (kFlowEta / un);
    return (slot_jacobian(cfg, f, rel64 + step, mask, kappa64) - slot_jacobian(cfg, f, rel64 - step, mask, kappa64)) *
           (un / (2.0 * kFlowEta)).unsqueeze(-1);
}

// Every particle's drift rate c = J b and second derivative b'' along the
// deterministic flow at fixed active variables (formulas in make_inputs),
// from the drifts b_all [N, 2] and slot positions rel_all [N, k, 2]. No
// derivative leaves in them.
FlowRates flow_rates(const Config& cfg, const Features& f, const torch::Tensor& b_all, const torch::Tensor& rel_all) {
    torch::NoGradGuard ng;
    FlowRates r;
    const auto slot_mask = f.mask.unsqueeze(-1);
    r.M = slot_jacobian(cfg, f, rel_all, f.mask, f.kappa);
    auto d = (b_all.unsqueeze(1) - b_all.index({f.nbr})).masked_fill(slot_mask, 0.0);  // N k 2
    r.c = mat_vec(r.M, d).sum(1) - f.trap.unsqueeze(1) * b_all;
    auto dc = (r.c.unsqueeze(1) - r.c.index({f.nbr})).masked_fill(slot_mask, 0.0);
    auto h = slot_hessian_along(cfg, f, rel_all.to(torch::kFloat64), f.mask, f.kappa.defined() ? f.kappa.to(torch::kFloat64) : f.kappa,
                                d.to(torch::kFloat64))
                 .sum(1)
                 .to(torch::kFloat32);
    r.b2 = h + mat_vec(r.M, dc).sum(1) - f.trap.unsqueeze(1) * r.c;
    return r;
}

}  // namespace entroscope::score

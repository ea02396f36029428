#pragma once
// The pair law of SPEC §1 on the network's neighbour slots, as torch tensors
// (differentiable, so divergences through it stay exact), its derivatives by
// finite differences, and the drift's rates of change along the
// deterministic flow built from them ("multiscale"). Private to engine/score/.
#include <torch/torch.h>

#include "entroscope/core/config.hpp"
#include "features.hpp"

namespace entroscope::score {

// The force on each particle of the batch from each of its neighbour slots, [B, k, 2].
torch::Tensor slot_forces(const Config& cfg, const Features& f, const torch::Tensor& rel, const torch::Tensor& mask,
                          const torch::Tensor& kappa);

// Per-slot derivatives of slot_forces in rel by central differences:
// Jacobian M [.., k, 2 out, 2 in] (float32);
torch::Tensor slot_jacobian(const Config& cfg, const Features& f, const torch::Tensor& rel, const torch::Tensor& mask,
                            const torch::Tensor& kappa);
// H[u, u] along u (float64);
torch::Tensor slot_hessian_along(const Config& cfg, const Features& f, const torch::Tensor& rel64, const torch::Tensor& mask,
                                 const torch::Tensor& kappa64, const torch::Tensor& u64);
// T[u, u, u] along u (float64);
torch::Tensor slot_third_along(const Config& cfg, const Features& f, const torch::Tensor& rel64, const torch::Tensor& mask,
                               const torch::Tensor& kappa64, const torch::Tensor& u64);
// H[u, w] (float64);
torch::Tensor slot_hessian_pair(const Config& cfg, const Features& f, const torch::Tensor& rel64, const torch::Tensor& mask,
                                const torch::Tensor& kappa64, const torch::Tensor& u64, const torch::Tensor& w64);
// the matrix H[u, .] [.., k, 2 out, 2 in].
torch::Tensor slot_hessian_matrix(const Config& cfg, const Features& f, const torch::Tensor& rel64, const torch::Tensor& mask,
                                  const torch::Tensor& kappa64, const torch::Tensor& u64);

// M w over the last two axes.
inline torch::Tensor mat_vec(const torch::Tensor& M, const torch::Tensor& w) { return (M * w.unsqueeze(-2)).sum(-1); }

struct FlowRates {
    torch::Tensor M, c, b2;  // [N, k, 2, 2], [N, 2], [N, 2]
};
// Every particle's drift rate c = J b and second derivative b'' along the
// deterministic flow at fixed active variables, from the drifts b_all [N, 2]
// and slot positions rel_all [N, k, 2].
FlowRates flow_rates(const Config& cfg, const Features& f, const torch::Tensor& b_all, const torch::Tensor& rel_all);

}  // namespace entroscope::score

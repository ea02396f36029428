#pragma once
// What the network sees of a snapshot (SPEC §3): per-snapshot features
// (neighbour slots, relative positions, forces, drifts; computed once and
// reused for every batch of that snapshot) and per-batch network inputs
// (make_inputs), with the perturbations and derivative leaves of a batch.
// Private to engine/score/.
#include <cstdint>

#include <torch/torch.h>

#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"
#include "network.hpp"

namespace entroscope::score {

struct Features {
    std::int64_t n = 0, k = 0;
    torch::Tensor act;      // [N] (ABP theta) or [N, 2] (AOUP g), float64 for accuracy of theta
    torch::Tensor x_off;    // [N, 2] float: minimum-image position relative to the box centre
    torch::Tensor trap;     // [N] trap stiffness
    torch::Tensor type;     // [N] int64
    torch::Tensor nbr;      // [N, k] int64, empty slots point at 0 (masked)
    torch::Tensor mask;     // [N, k] bool
    torch::Tensor rel;      // [N, k, 2] float
    torch::Tensor kappa;    // [N, k] spring constant of each neighbour slot (linear systems), else undefined
    torch::Tensor f_int;    // [N, 2] float: interaction force on every particle from its slots (unperturbed snapshot)
    torch::Tensor b_x;      // [N, 2] float: position drift v0 e + F_ext + F_int of every particle (unperturbed snapshot)
    // "multiscale" without positional noise: every particle's slot Jacobians
    // M [N, k, 2, 2], drift rate c [N, 2] and second derivative b'' [N, 2]
    // along the deterministic flow (flow_rates), for the unperturbed snapshot.
    torch::Tensor M_x, c_x, b2_x;
    // ... and the reverse neighbour lists [N, R]: the particles l whose slot
    // rev_s holds particle i (rev_mask true = padding).
    torch::Tensor rev_l, rev_s, rev_mask;
    double cutoff = 0;      // envelope radius (0: topological neighbours, no envelope)
    std::uint64_t step = 0;
    double time = 0, box = 0;
    const void* source = nullptr;
};

// Perturbations (for DSM) and derivative leaves of a batch.
struct BatchVars {
    torch::Tensor idx;        // [B] int64 particle indices
    torch::Tensor d_act;      // leaf [B, da]: own active variable offset (zeros unless DSM)
    torch::Tensor d_x;        // leaf [B, 2] or undefined: own position offset
    torch::Tensor act_noise;  // [N, da] offsets of every particle's active variable (neighbours see these)
    torch::Tensor x_noise;    // [N, 2] or undefined
};

// Neighbourhood radius of the network (0: spring partners, no envelope).
double network_cutoff(const Config& cfg);
// Scale of the interaction-force input (the force at contact).
double force_scale(const Config& cfg);
// Unit of the own-drift inputs: v0, or the force scale when v0 = 0.
double drift_unit(const Config& cfg);

// Active-variable input features: AOUP g as is, ABP e(theta) = (cos, sin).
torch::Tensor active_features(const Config& cfg, const torch::Tensor& a);  // [.., da] float64 -> [.., 2] float32
// Position drift b_x = v0 e + F_ext + F_int of every particle (SPEC §1, unit mobility).
torch::Tensor position_drift(const Config& cfg, const torch::Tensor& act, const torch::Tensor& trap, const torch::Tensor& x_off,
                             const torch::Tensor& f_int);
// "multiscale": drift inputs in compressed units of v0 sqrt(D_act).
torch::Tensor drift_features(const Config& cfg, const torch::Tensor& b);

// The features of snapshot s with k neighbour slots per particle, on the CPU.
// Throws ConfigError when s does not match the model kind or has too many types.
Features make_features(const Config& cfg, const State& s, int k);
// The features on the network's device.
Features on_device(Features f, const torch::Device& dev);

// The network's inputs for the batch v.idx of features f, differentiable in
// the leaves of v.
NetInputs make_inputs(const Config& cfg, const Features& f, const BatchVars& v);

}  // namespace entroscope::score

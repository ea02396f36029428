#pragma once
// The score network's torch modules (SPEC §3): the "fast" and "paper"
// architectures and their building blocks. Private to engine/score/.
//
// Both architectures are one-hop: particle i's output depends on its own
// inputs and on the raw inputs of its k nearest neighbours, never on the
// neighbours' outputs. So d s_i / d z_i is exactly the derivative through
// particle i's own input leaf, and the per-particle divergence costs one
// backward pass per component for all particles at once.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "entroscope/core/config.hpp"

namespace entroscope::score {

constexpr int kMaxTypes = 16;   // type-embedding table size
constexpr int kTypeEmb = 8;     // type-embedding width
// Own inputs per particle: active input (g or e(theta)), external force,
// interaction force, 2 numbers each; with network.prior = "scaled" also the
// particle's own position drift in units of v0 (2 more).
// "multiscale" adds the own drift in units of v0 sqrt(D_act), compressed
// (2 more; see drift_features), and the own drift's rate of change at fixed
// active variables, -(J b)_i, in the same units (2 more; see make_inputs)...
constexpr int kOwnIn = 6;
constexpr int kOwnInScaled = 8;
constexpr int kOwnInMulti = 12;
// ... and, without positional noise, its second and third derivatives (4 more).
constexpr int kOwnInMulti2 = 16;

struct NetOptions {
    NetworkArch arch = NetworkArch::Fast;
    int width = 64;
    int layers = 3;
    int heads = 4;
    int active_in = 2;   // input features of the active variable (g or e(theta))
    int active_out = 2;  // score components of the active variable (2 or 1)
    bool position_score = false;
    bool zero_output = false;  // initialise the output layers to 0 (drift prior)
    int own_in = kOwnIn;       // own inputs per particle (kOwnIn, kOwnInScaled, kOwnInMulti or kOwnInMulti2)
    int drift_in = 2;          // relative-drift inputs per neighbour (4 with "multiscale")
    // A linear path per particle type on top of the shared one (checkpoint
    // format 5; older checkpoints load without it).
    bool type_linear = true;
};

// Own inputs on the linear path: the "multiscale" compressed drift is not
// linear in the particle's variables, and a least-squares fit to one
// snapshot over it picks up that snapshot's noise (on the eps = 0 trap it
// put the |v|^2 estimator 3.8 % high); the head still sees it.
inline int linear_in(const NetOptions& o) { return std::min(o.own_in, kOwnInScaled); }

// "multiscale" gives the head the second and third time derivatives of the
// own drift only where no position score is learned (make_inputs says why).
inline bool second_order_inputs(const Config& cfg) {
    return cfg.network.prior == NetworkPrior::Multiscale && !(cfg.position_diffusion() > 0.0);
}

// The network of cfg.network for the physics of cfg. Throws ConfigError.
NetOptions net_options(const Config& cfg);

// Two-layer GELU perceptron.
struct MlpImpl : torch::nn::Module {
    MlpImpl(int in, int hidden, int out);
    torch::Tensor forward(const torch::Tensor& x) { return l2(torch::gelu(l1(x))); }
    torch::nn::Linear l1{nullptr}, l2{nullptr};
};
TORCH_MODULE(Mlp);

// Multi-head attention of queries [B, Q, w] over tokens [B, T, w] with a key
// mask [B, T] (true = ignore) and an additive logit bias [B, T]. Keys and
// values come from one fused projection; forward_kv takes them precomputed.
struct AttentionImpl : torch::nn::Module {
    AttentionImpl(int width, int heads);
    torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& tokens, const torch::Tensor& mask,
                          const torch::Tensor& bias) {
        return forward_kv(query, kv(tokens), mask, bias);
    }
    // kvt: [B, T, 2w] = (keys, values).
    torch::Tensor forward_kv(const torch::Tensor& query, const torch::Tensor& kvt, const torch::Tensor& mask,
                             const torch::Tensor& bias);
    int w, h;
    torch::nn::Linear q{nullptr}, kv{nullptr}, o{nullptr};
};
TORCH_MODULE(Attention);

// Post-LayerNorm block: x = LN(x + Attn(x -> tokens)); x = LN(x + MLP(x)).
struct BlockImpl : torch::nn::Module {
    BlockImpl(int width, int heads);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& tokens, const torch::Tensor& mask, const torch::Tensor& bias) {
        return finish(ln1(x + attn(x, tokens, mask, bias)));
    }
    torch::Tensor forward_kv(const torch::Tensor& x, const torch::Tensor& kvt, const torch::Tensor& mask, const torch::Tensor& bias) {
        return finish(ln1(x + attn->forward_kv(x, kvt, mask, bias)));
    }
    torch::Tensor finish(const torch::Tensor& y) { return ln2(y + mlp(y)); }
    Attention attn{nullptr};
    torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
    Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

// Per-batch inputs of the network (all float32 except types/mask).
struct NetInputs {
    torch::Tensor a_self;   // [B, active_in]
    torch::Tensor f_ext;    // [B, 2] one-body external force
    torch::Tensor f_int;    // [B, 2] interaction (pair or spring) force over the neighbours, scaled to O(1)
    torch::Tensor own;      // [B, own_in] the particle's own inputs (below)
    torch::Tensor prior;    // [B, out] D^-1 b (network.prior = "drift" or "scaled"); undefined for "none"
    torch::Tensor head_scale;  // [out] the head's output unit ("scaled": sqrt(D) per component); undefined = 1
    torch::Tensor scale;    // [out] -1/D per output component (with prior): s = prior + scale * y
    torch::Tensor type;     // [B] int64
    torch::Tensor a_nbr;    // [B, k, active_in]
    torch::Tensor rel;      // [B, k, 2] x_i - x_j (minimum image)
    torch::Tensor drift_rel;  // [B, k, drift_in] (b_{x_j} - b_{x_i}) / force scale: each neighbour's drift relative to the
                              // particle's ("multiscale": then the same in compressed units, see drift_features)
    torch::Tensor type_nbr; // [B, k] int64 (0 for empty slots)
    torch::Tensor mask;     // [B, k] bool, true = empty slot
    torch::Tensor log_env;  // [B, k] log of the smooth cut-off envelope of each neighbour
};

struct ScoreNetImpl : torch::nn::Module {
    explicit ScoreNetImpl(const NetOptions& o);

    // Returns [B, out]: active score components, then the position score.
    torch::Tensor forward(const NetInputs& in) {
        auto y = raw(in);
        return in.prior.defined() ? in.prior + in.scale * y : y;
    }

    torch::Tensor raw(const NetInputs& in);

    // h: [B, w] the particle's final features.
    torch::Tensor readout(const torch::Tensor& h, const NetInputs& in);
    // The linear path's part of raw(in): [B, out].
    torch::Tensor linear(const NetInputs& in);
    // The parameters of the linear path (skip, type_lin).
    std::vector<torch::Tensor> linear_parameters();

    NetOptions opt;
    torch::nn::Embedding type_emb{nullptr};
    Mlp self_in{nullptr}, nbr_in{nullptr}, tok_a{nullptr}, tok_r{nullptr}, head{nullptr};
    torch::nn::Linear skip{nullptr};
    // [kMaxTypes, out, linear_in + 1]: each type's own coefficients and
    // offset on the linear path, added to skip's (type_linear; else undefined).
    torch::Tensor type_lin;
    std::vector<Block> blocks;
};
TORCH_MODULE(ScoreNet);

// Number of trainable numbers in net.
std::int64_t parameter_count(const ScoreNet& net);

}  // namespace entroscope::score

// The score network (SPEC §3) and its training (SPEC §4) in LibTorch.
// This is the only translation unit that includes torch headers.
//
// Both architectures are one-hop: particle i's output depends on its own
// inputs and on the raw inputs of its k nearest neighbours, never on the
// neighbours' outputs. So d s_i / d z_i is exactly the derivative through
// particle i's own input leaf, and the per-particle divergence costs one
// backward pass per component for all particles at once.
#include "entroscope/score/score_model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <type_traits>
#include <utility>

#include <malloc.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "entroscope/core/errors.hpp"
#include "entroscope/sim/neighbors.hpp"

namespace entroscope {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kMaxTypes = 16;   // type-embedding table size
constexpr int kTypeEmb = 8;     // type-embedding width
// 2: the interaction-force input and the drift prior (network.prior: the
// network outputs the flow velocity). 3: the neighbours' relative drift input.
// 4: the optimiser's state in this file's own layout (by parameter index),
// readable by any LibTorch version. LibTorch's own optimiser archive keys the
// state by tensor addresses written as strings, and 2.x does not map a 1.13
// file's keys back to the right parameters: a 1.13 checkpoint resumed under
// 2.11 had Adam state of another parameter's shape (the first step failed).
constexpr int kFormatVersion = 4;
constexpr int kOldestReadableFormat = 3;
// Token rows per inference chunk: keeps activations cache-sized (the paper
// architecture has k + 1 = 65 tokens of width 256 per particle).
constexpr std::int64_t kInferRows = 1 << 16;
// On a GPU, larger chunks fill the device (2^20 rows of width 256: 1 GB per activation).
constexpr std::int64_t kInferRowsGpu = 1 << 20;
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

// ---------------------------------------------------------------------------
// Network

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
};

// Own inputs on the linear path: the "multiscale" compressed drift is not
// linear in the particle's variables, and a least-squares fit to one
// snapshot over it picks up that snapshot's noise (on the eps = 0 trap it
// put the |v|^2 estimator 3.8 % high); the head still sees it.
int linear_in(const NetOptions& o) { return std::min(o.own_in, kOwnInScaled); }

// "multiscale" gives the head the second and third time derivatives of the
// own drift only where no position score is learned (make_inputs says why).
bool second_order_inputs(const Config& cfg) {
    return cfg.network.prior == NetworkPrior::Multiscale && !(cfg.position_diffusion() > 0.0);
}

// Two-layer GELU perceptron.
struct MlpImpl : torch::nn::Module {
    MlpImpl(int in, int hidden, int out) {
        l1 = register_module("l1", torch::nn::Linear(in, hidden));
        l2 = register_module("l2", torch::nn::Linear(hidden, out));
    }
    torch::Tensor forward(const torch::Tensor& x) { return l2(torch::gelu(l1(x))); }
    torch::nn::Linear l1{nullptr}, l2{nullptr};
};
TORCH_MODULE(Mlp);

// Multi-head attention of queries [B, Q, w] over tokens [B, T, w] with a key
// mask [B, T] (true = ignore) and an additive logit bias [B, T]. Keys and
// values come from one fused projection; forward_kv takes them precomputed.
struct AttentionImpl : torch::nn::Module {
    AttentionImpl(int width, int heads) : w(width), h(heads) {
        q = register_module("q", torch::nn::Linear(width, width));
        kv = register_module("kv", torch::nn::Linear(width, 2 * width));
        o = register_module("o", torch::nn::Linear(width, width));
    }
    torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& tokens, const torch::Tensor& mask,
                          const torch::Tensor& bias) {
        return forward_kv(query, kv(tokens), mask, bias);
    }
    // kvt: [B, T, 2w] = (keys, values).
    torch::Tensor forward_kv(const torch::Tensor& query, const torch::Tensor& kvt, const torch::Tensor& mask,
                             const torch::Tensor& bias) {
        const auto B = query.size(0), Q = query.size(1), T = kvt.size(1);
        const int dh = w / h;
        auto qh = q(query).view({B, Q, h, dh}).transpose(1, 2);                       // B h Q dh
        auto kh = kvt.narrow(-1, 0, w).reshape({B, T, h, dh}).transpose(1, 2);        // B h T dh
        auto vh = kvt.narrow(-1, w, w).reshape({B, T, h, dh}).transpose(1, 2);
        auto att = torch::matmul(qh, kh.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(dh)));  // B h Q T
        att = att + bias.view({B, 1, 1, T});
        att = att.masked_fill(mask.view({B, 1, 1, T}), -1e9);
        att = torch::softmax(att, -1);
        auto out = torch::matmul(att, vh).transpose(1, 2).reshape({B, Q, w});
        return o(out);
    }
    int w, h;
    torch::nn::Linear q{nullptr}, kv{nullptr}, o{nullptr};
};
TORCH_MODULE(Attention);

// Post-LayerNorm block: x = LN(x + Attn(x -> tokens)); x = LN(x + MLP(x)).
struct BlockImpl : torch::nn::Module {
    BlockImpl(int width, int heads) {
        attn = register_module("attn", Attention(width, heads));
        ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
        mlp = register_module("mlp", Mlp(width, 2 * width, width));
        ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
    }
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
    explicit ScoreNetImpl(const NetOptions& o) : opt(o) {
        const int w = o.width;
        type_emb = register_module("type_emb", torch::nn::Embedding(kMaxTypes, kTypeEmb));
        const int out = o.active_out + (o.position_score ? 2 : 0);
        if (o.arch == NetworkArch::Fast) {
            self_in = register_module("self_in", Mlp(o.own_in + kTypeEmb, w, w));
            nbr_in = register_module("nbr_in", Mlp(o.active_in + 3 + o.drift_in + kTypeEmb, w, w));
        } else {
            // Paper: token = concat(MLP(active variable), MLP(x_i - x_j)); the
            // self token's geometric half also sees the external and the
            // interaction force.
            tok_a = register_module("tok_a", Mlp(o.active_in + kTypeEmb, w, w / 2));
            tok_r = register_module("tok_r", Mlp(2 + 1 + o.drift_in + (o.own_in - 2) + 1, w, w - w / 2));
        }
        for (int l = 0; l < o.layers; ++l) blocks.push_back(register_module("block" + std::to_string(l), Block(w, o.heads)));
        head = register_module("head", Mlp(w, w, out));
        // A linear path from the particle's own inputs to the output, so a
        // Gaussian (linear) score is representable exactly and the network
        // learns only the correction to it.
        skip = register_module("skip", torch::nn::Linear(linear_in(o), out));
        if (o.zero_output) {
            // With the drift prior the output is the flow velocity: start at
            // v = 0 (equilibrium) rather than at a random O(1) velocity (the
            // AOUP MIPS velocities are O(0.01)).
            torch::NoGradGuard ng;
            head->l2->weight.zero_();
            head->l2->bias.zero_();
            skip->weight.zero_();
            skip->bias.zero_();
        }
    }

    // Returns [B, out]: active score components, then the position score.
    torch::Tensor forward(const NetInputs& in) {
        auto y = raw(in);
        return in.prior.defined() ? in.prior + in.scale * y : y;
    }

    torch::Tensor raw(const NetInputs& in) {
        const auto B = in.a_self.size(0);
        const auto K = in.a_nbr.size(1);
        auto te_self = type_emb(in.type);                                   // B e
        auto te_nbr = type_emb(in.type_nbr);                                // B K e
        auto dist = torch::sqrt((in.rel * in.rel).sum(-1, true) + 1e-12);  // B K 1
        auto self_mask = torch::zeros({B, 1}, in.mask.options());
        auto mask = torch::cat({self_mask, in.mask}, 1);                    // B K+1
        // Attention logits get log(envelope): a neighbour's weight goes to 0
        // continuously as it crosses the cut-off, so the score is continuous.
        auto bias = torch::cat({torch::zeros({B, 1}, in.log_env.options()), in.log_env}, 1);      // B K+1
        if (opt.arch == NetworkArch::Fast) {
            auto h = self_in(torch::cat({in.own, te_self}, -1));                            // B w
            auto e = nbr_in(torch::cat({in.a_nbr, in.rel, dist, in.drift_rel, te_nbr}, -1));  // B K w
            auto tokens = torch::cat({h.unsqueeze(1), e}, 1);                                // B K+1 w
            // The tokens do not change between layers (one-hop): project them
            // for every layer in one large matrix product.
            std::vector<torch::Tensor> w_all, b_all;
            for (auto& b : blocks) {
                w_all.push_back(b->attn->kv->weight);
                b_all.push_back(b->attn->kv->bias);
            }
            auto kv_all = torch::nn::functional::linear(tokens, torch::cat(w_all, 0), torch::cat(b_all, 0));  // B K+1 2wL
            auto x = h.unsqueeze(1);                                                         // B 1 w
            const std::int64_t w2 = 2 * opt.width;
            for (std::size_t l = 0; l < blocks.size(); ++l)
                x = blocks[l]->forward_kv(x, kv_all.narrow(-1, static_cast<std::int64_t>(l) * w2, w2), mask, bias);
            return readout(x.squeeze(1), in);
        }
        // paper: full self-attention among {self, k neighbours}; read out the self token.
        auto a_all = torch::cat({torch::cat({in.a_self, te_self}, -1).unsqueeze(1), torch::cat({in.a_nbr, te_nbr}, -1)}, 1);
        const auto fo = in.rel.options();
        auto zeros2 = torch::zeros({B, 1, 2}, fo);
        auto rel_all = torch::cat({zeros2, in.rel}, 1);
        auto dist_all = torch::cat({torch::zeros({B, 1, 1}, fo), dist}, 1);
        auto drift_all = torch::cat({torch::zeros({B, 1, in.drift_rel.size(2)}, fo), in.drift_rel}, 1);
        const auto no = in.own.size(1) - 2;
        auto own_all = torch::cat({in.own.narrow(1, 2, no).unsqueeze(1), torch::zeros({B, K, no}, fo)}, 1);
        auto flag = torch::cat({torch::ones({B, 1, 1}, fo), torch::zeros({B, K, 1}, fo)}, 1);
        auto x = torch::cat({tok_a(a_all), tok_r(torch::cat({rel_all, dist_all, drift_all, own_all, flag}, -1))}, -1);  // B K+1 w
        for (auto& b : blocks) x = b->forward(x, x, mask, bias);
        return readout(x.select(1, 0), in);
    }

    // h: [B, w] the particle's final features.
    torch::Tensor readout(const torch::Tensor& h, const NetInputs& in) {
        auto y = head(h);
        if (in.head_scale.defined()) y = y * in.head_scale;
        return y + skip(in.own.narrow(1, 0, linear_in(opt)));
    }

    NetOptions opt;
    torch::nn::Embedding type_emb{nullptr};
    Mlp self_in{nullptr}, nbr_in{nullptr}, tok_a{nullptr}, tok_r{nullptr}, head{nullptr};
    torch::nn::Linear skip{nullptr};
    std::vector<Block> blocks;
};
TORCH_MODULE(ScoreNet);

NetOptions net_options(const Config& cfg) {
    NetOptions o;
    o.arch = cfg.network.arch;
    o.width = cfg.network.width;
    o.layers = cfg.network.layers;
    o.heads = cfg.network.heads;
    o.active_in = 2;  // AOUP: g; ABP: e(theta)
    o.active_out = cfg.active_dim();
    o.position_score = cfg.position_diffusion() > 0.0;
    o.zero_output = cfg.network.prior != NetworkPrior::None;
    const bool multi = cfg.network.prior == NetworkPrior::Multiscale;
    o.own_in = multi ? (second_order_inputs(cfg) ? kOwnInMulti2 : kOwnInMulti) : cfg.network.prior == NetworkPrior::Scaled ? kOwnInScaled : kOwnIn;
    o.drift_in = multi ? 4 : 2;
    if (o.width < 2) throw ConfigError("network.width", "must be >= 2");
    if (o.width % o.heads != 0) throw ConfigError("network.heads", "must divide network.width");
    return o;
}

int max_type(const Config& cfg) {
    int m = 0;
    for (int t : cfg.types) m = std::max(m, t);
    return m;
}

// ---------------------------------------------------------------------------
// Features of a snapshot (computed once, gathered per batch).

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

torch::Tensor slot_forces(const Config& cfg, const Features& f, const torch::Tensor& rel, const torch::Tensor& mask,
                          const torch::Tensor& kappa);

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

struct FlowRates {
    torch::Tensor M, c, b2;  // [N, k, 2, 2], [N, 2], [N, 2]
};
FlowRates flow_rates(const Config& cfg, const Features& f, const torch::Tensor& b_all, const torch::Tensor& rel_all);

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

// Scale of the interaction-force input: the force at contact (softplus: k
// ln2/beta; WCA: 24/sigma; hard: 0.1 k r0; springs: 1), so the feature is
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

// The force on each particle of the batch from each of its neighbour slots,
// [B, k, 2] (differentiable in the relative positions, so divergences stay
// exact): springs -kappa (x_i - x_j) for linear systems, else the pair law
// of SPEC §1 cut where the simulator cuts it. Pairs outside the network's
// neighbour set (more than k inside the cut) are missed.
torch::Tensor slot_forces(const Config& cfg, const Features& f, const torch::Tensor& rel, const torch::Tensor& mask,
                          const torch::Tensor& kappa) {
    if (kappa.defined()) return -kappa.unsqueeze(-1) * rel;
    const bool pair = cfg.interaction != Interaction::None && (cfg.model == ModelKind::Abp || cfg.k > 0);
    if (!pair || f.cutoff <= 0.0) return torch::zeros_like(rel);
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

// Unit of the own-drift inputs: v0, or the force scale when v0 = 0.
double drift_unit(const Config& cfg) { return cfg.v0 > 0.0 ? cfg.v0 : force_scale(cfg); }

// Derivatives of each slot's force p(rel) in rel by central differences of
// kFlowEta (float32 for M, which is exact for springs; float64 for the higher
// ones, where float32 leaves roundoff noise). Each slot's force depends on
// its own rel only, so these are per slot: [.., k, 2 out, 2 in (, 2 in, 2 in)].
constexpr double kFlowEta = 3e-3;
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
torch::Tensor mat_vec(const torch::Tensor& M, const torch::Tensor& w) { return (M * w.unsqueeze(-2)).sum(-1); }

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

// Perturbations (for DSM) and derivative leaves of a batch.
struct BatchVars {
    torch::Tensor idx;        // [B] int64 particle indices
    torch::Tensor d_act;      // leaf [B, da]: own active variable offset (zeros unless DSM)
    torch::Tensor d_x;        // leaf [B, 2] or undefined: own position offset
    torch::Tensor act_noise;  // [N, da] offsets of every particle's active variable (neighbours see these)
    torch::Tensor x_noise;    // [N, 2] or undefined
};

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

std::string shape_string(c10::IntArrayRef sizes) {
    std::string s = "[";
    for (std::size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
    return s + "]";
}

std::uint64_t fnv1a64(const std::string& bytes) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("cannot open '" + path + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_atomically(const std::string& path, const std::string& bytes) {
    const std::string tmp = path + ".tmp-" + std::to_string(std::random_device{}());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw IoError("cannot create '" + tmp + "'");
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out) {
            out.close();
            std::error_code ec;
            std::filesystem::remove(tmp, ec);
            throw IoError("cannot write '" + path + "' (disk full?)");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw IoError("cannot rename the checkpoint into '" + path + "'");
    }
}

torch::Tensor string_tensor(const std::string& s) {
    auto t = torch::empty({static_cast<std::int64_t>(s.size())}, torch::kUInt8);
    std::memcpy(t.data_ptr(), s.data(), s.size());
    return t;
}

// Adam's state map is keyed by the parameter's TensorImpl: as a string of
// its address in LibTorch 1.13, as the pointer itself in 2.x.
template <class Key> Key adam_key(const torch::Tensor& p);
template <> [[maybe_unused]] std::string adam_key<std::string>(const torch::Tensor& p) {
    std::ostringstream os;
    os << static_cast<const void*>(p.unsafeGetTensorImpl());
    return os.str();
}
template <> [[maybe_unused]] void* adam_key<void*>(const torch::Tensor& p) { return p.unsafeGetTensorImpl(); }

using AdamStateMap = std::decay_t<decltype(std::declval<torch::optim::Adam&>().state())>;

torch::optim::AdamParamState* adam_state(torch::optim::Adam& adam, const torch::Tensor& p) {
    auto& map = adam.state();
    const auto it = map.find(adam_key<AdamStateMap::key_type>(p));
    return it == map.end() ? nullptr : dynamic_cast<torch::optim::AdamParamState*>(it->second.get());
}

// The optimiser state by parameter index: p<i>_step, p<i>_exp_avg, ...
void save_adam(torch::optim::Adam& adam, torch::serialize::OutputArchive& ar) {
    const auto& params = adam.param_groups().at(0).params();
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto* st = adam_state(adam, params[i]);
        if (!st) continue;
        const std::string k = "p" + std::to_string(i) + "_";
        ar.write(k + "step", torch::tensor(static_cast<std::int64_t>(st->step())));
        ar.write(k + "exp_avg", st->exp_avg());
        ar.write(k + "exp_avg_sq", st->exp_avg_sq());
        if (st->max_exp_avg_sq().defined()) ar.write(k + "max_exp_avg_sq", st->max_exp_avg_sq());
    }
}

void load_adam(torch::optim::Adam& adam, torch::serialize::InputArchive& ar) {
    const auto& params = adam.param_groups().at(0).params();
    for (std::size_t i = 0; i < params.size(); ++i) {
        const std::string k = "p" + std::to_string(i) + "_";
        torch::Tensor step, m, v, vmax;
        if (!ar.try_read(k + "step", step)) continue;  // no step taken yet
        ar.read(k + "exp_avg", m);
        ar.read(k + "exp_avg_sq", v);
        if (!m.sizes().equals(params[i].sizes()) || !v.sizes().equals(params[i].sizes()))
            throw IoError("optimiser state " + std::to_string(i) + " has shape " + shape_string(m.sizes()) + ", its parameter " +
                          shape_string(params[i].sizes()));
        auto st = std::make_unique<torch::optim::AdamParamState>();
        st->step(step.item<std::int64_t>());
        st->exp_avg(m.to(params[i].device()));
        st->exp_avg_sq(v.to(params[i].device()));
        if (ar.try_read(k + "max_exp_avg_sq", vmax)) st->max_exp_avg_sq(vmax.to(params[i].device()));
        adam.state()[adam_key<AdamStateMap::key_type>(params[i])] = std::move(st);
    }
}

std::string tensor_string(const torch::Tensor& t) {
    auto c = t.contiguous();
    return std::string(static_cast<const char*>(c.data_ptr()), static_cast<std::size_t>(c.numel()));
}

}  // namespace

// ---------------------------------------------------------------------------

struct ScoreModel::Impl {
    Config cfg;
    NetOptions opt;
    ScoreNet net{nullptr}, ema{nullptr};
    std::unique_ptr<torch::optim::Adam> adam;
    at::Generator gen;  // CPU generator (DSM noise is drawn on the CPU, so runs agree across devices)
    torch::Device dev{torch::kCPU};
    std::uint64_t step = 0;
    std::uint64_t schedule = 100000;
    // Cache of the last snapshot's features (training takes many batches from one snapshot).
    mutable std::unique_ptr<Features> cache;

    explicit Impl(const Config& c) : cfg(c), opt(net_options(c)), gen(at::detail::createCPUGenerator(c.seed)) {
        // Activations are tens of MB; glibc would mmap and unmap them on every
        // call, and the page faults cost as much as the arithmetic. Keep them on
        // the heap for reuse.
        static const bool tuned = [] {
            mallopt(M_MMAP_THRESHOLD, 1 << 30);
            mallopt(M_TRIM_THRESHOLD, 1 << 30);
            return true;
        }();
        (void)tuned;
        if (max_type(c) >= kMaxTypes) throw ConfigError("types", "the score network supports at most 16 particle types");
        torch::manual_seed(c.seed);
        net = ScoreNet(opt);
        ema = ScoreNet(opt);
        copy_to_ema(1.0);
        for (auto& p : ema->parameters()) p.set_requires_grad(false);
        adam = std::make_unique<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(c.training.lr));
    }

    void copy_to_ema(double weight_new) {
        torch::NoGradGuard ng;
        auto src = net->parameters();
        auto dst = ema->parameters();
        for (std::size_t i = 0; i < src.size(); ++i) dst[i].mul_(1.0 - weight_new).add_(src[i], weight_new);
    }

    const Features& features(const State& s) const {
        if (!cache || cache->source != &s || cache->step != s.step || cache->time != s.time || cache->box != s.box ||
            cache->n != s.n())
            cache = std::make_unique<Features>(on_device(make_features(cfg, s, cfg.network.k_neighbors), dev));
        return *cache;
    }

    double learning_rate() const {
        const double lr0 = cfg.training.lr;
        const double t = static_cast<double>(step);
        const double warm = cfg.training.warmup > 0 ? std::min(1.0, (t + 1.0) / cfg.training.warmup) : 1.0;
        const double frac = std::min(1.0, t / static_cast<double>(std::max<std::uint64_t>(schedule, 1)));
        // Cosine decay to 5% of the peak: online training never stops learning.
        return lr0 * warm * (0.05 + 0.95 * 0.5 * (1.0 + std::cos(kPi * frac)));
    }

    ScoreOutput run_infer(ScoreNet& model, const State& s, bool with_div) const {
        const Features& f = features(s);
        const int da = cfg.active_dim();
        const bool posn = opt.position_score;
        ScoreOutput out;
        out.n = static_cast<int>(f.n);
        out.active_dim = da;
        out.s_act.resize(static_cast<std::size_t>(f.n * da));
        if (posn) out.s_x.resize(static_cast<std::size_t>(2 * f.n));
        if (with_div) {
            out.div_act.resize(static_cast<std::size_t>(f.n));
            if (posn) out.div_x.resize(static_cast<std::size_t>(f.n));
        }
        const std::int64_t chunk = std::max<std::int64_t>(64, (dev.is_cpu() ? kInferRows : kInferRowsGpu) / (f.k + 1));
        const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(dev);
        for (std::int64_t b0 = 0; b0 < f.n; b0 += chunk) {
            const std::int64_t B = std::min(chunk, f.n - b0);
            BatchVars v;
            v.idx = torch::arange(b0, b0 + B, torch::TensorOptions().dtype(torch::kInt64).device(dev));
            v.d_act = torch::zeros({B, da}, f32);
            if (posn) v.d_x = torch::zeros({B, 2}, f32);
            std::unique_ptr<torch::NoGradGuard> ng;
            if (with_div) {
                v.d_act.set_requires_grad(true);
                if (posn) v.d_x.set_requires_grad(true);
            } else {
                ng = std::make_unique<torch::NoGradGuard>();
            }
            auto y = model->forward(make_inputs(cfg, f, v));  // B out
            auto sa = y.narrow(1, 0, da);
            if (with_div) {
                auto div_a = torch::zeros({B}, f32);
                for (int d = 0; d < da; ++d) {
                    auto g = torch::autograd::grad({sa.select(1, d).sum()}, {v.d_act}, {}, true, false)[0];
                    div_a += g.select(1, d);
                }
                div_a = div_a.cpu();
                auto acc = div_a.accessor<float, 1>();
                for (std::int64_t i = 0; i < B; ++i) out.div_act[static_cast<std::size_t>(b0 + i)] = acc[i];
                if (posn) {
                    auto sx = y.narrow(1, da, 2);
                    auto div_x = torch::zeros({B}, f32);
                    for (int d = 0; d < 2; ++d) {
                        auto g = torch::autograd::grad({sx.select(1, d).sum()}, {v.d_x}, {}, true, false)[0];
                        div_x += g.select(1, d);
                    }
                    div_x = div_x.cpu();
                    auto ax = div_x.accessor<float, 1>();
                    for (std::int64_t i = 0; i < B; ++i) out.div_x[static_cast<std::size_t>(b0 + i)] = ax[i];
                }
            }
            auto yc = y.detach().cpu().contiguous();
            auto ya = yc.accessor<float, 2>();
            for (std::int64_t i = 0; i < B; ++i) {
                for (int d = 0; d < da; ++d) out.s_act[static_cast<std::size_t>((b0 + i) * da + d)] = ya[i][d];
                if (posn)
                    for (int d = 0; d < 2; ++d) out.s_x[static_cast<std::size_t>(2 * (b0 + i) + d)] = ya[i][da + d];
            }
        }
        return out;
    }

    // Before the first optimiser step (drift prior): set the linear path
    // y = W phi + c, phi = the own inputs (own_in),
    // to the exact optimum of implicit score matching for a linear model on
    // this snapshot, W = -M^-1 (E[p phi~] + E[d phi~ / d z_d]) / S_d per
    // output d (phi~ = (phi, 1), M = E[phi~ phi~^T], s_d = p_d + S_d y_d); the
    // rest of the network starts at 0 and learns what is not linear. For a
    // trapped particle the flow is linear in these inputs (v_g = A (g + F/v0)
    // at eps = 0), so linear systems start close to their answer.
    static constexpr std::int64_t kMinFitPerCoefficient = 8;
    void fit_linear(const Features& f) {
        const int da = cfg.active_dim();
        const bool posn = opt.position_score;
        const std::int64_t n = f.n;
        const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(dev);
        BatchVars v;
        v.idx = torch::arange(n, torch::TensorOptions().dtype(torch::kInt64).device(dev));
        v.d_act = torch::zeros({n, da}, f32).set_requires_grad(true);
        if (posn) v.d_x = torch::zeros({n, 2}, f32).set_requires_grad(true);
        const NetInputs in = make_inputs(cfg, f, v);
        if (!in.prior.defined()) return;
        auto phi = in.own.narrow(1, 0, linear_in(opt));  // n P
        const std::int64_t P = phi.size(1);
        // Too few particles for P + 1 coefficients: the fit would follow one
        // snapshot's noise (with n = 2 the first loss was -4e8, and 1e17
        // after 300 steps). Leave the zero start then.
        if (n < kMinFitPerCoefficient * (P + 1)) return;
        // d phi_m / d (own dof), one backward pass per feature: [dofs][n, P].
        const int dofs = da + (posn ? 2 : 0);
        std::vector<torch::Tensor> jac;  // (one tensor each: a vector fill would share one)
        for (int d = 0; d < dofs; ++d) jac.push_back(torch::zeros({n, P + 1}, torch::kFloat64));  // on the CPU
        std::vector<torch::Tensor> leaves{v.d_act};
        if (posn) leaves.push_back(v.d_x);
        for (std::int64_t m = 0; m < P; ++m) {
            if (!phi.select(1, m).requires_grad()) continue;  // a constant feature
            auto g = torch::autograd::grad({phi.select(1, m).sum()}, leaves, {}, true, false, true);
            for (int d = 0; d < dofs; ++d) {
                const auto& gd = d < da ? g[0] : g[1];
                if (!gd.defined()) continue;
                jac[static_cast<std::size_t>(d)].select(1, m).copy_(gd.select(1, d < da ? d : d - da).to(torch::kFloat64));
            }
        }
        torch::NoGradGuard ng;
        // The small solve in float64 on the CPU, whatever the network's device.
        auto pt = torch::cat({phi.detach().cpu().to(torch::kFloat64), torch::ones({n, 1}, torch::kFloat64)}, 1);  // n P+1
        auto M = torch::matmul(pt.t(), pt) / static_cast<double>(n);
        const double ridge = 1e-8 * (M.trace().item<double>() / static_cast<double>(P + 1)) + 1e-12;
        M = M + ridge * torch::eye(P + 1, torch::kFloat64);
        auto prior = in.prior.detach().cpu().to(torch::kFloat64);
        auto scale = in.scale.cpu().to(torch::kFloat64);
        auto W = torch::zeros({dofs, P}, torch::kFloat64);
        auto c = torch::zeros({dofs}, torch::kFloat64);
        for (int d = 0; d < dofs; ++d) {
            auto rhs = torch::matmul(pt.t(), prior.select(1, d)) / static_cast<double>(n) + jac[static_cast<std::size_t>(d)].mean(0);
            auto w = -at::linalg_solve(M, rhs.unsqueeze(1)).squeeze(1) / scale[d].item<double>();
            if (!torch::isfinite(w).all().item<bool>()) return;  // leave the zero initialisation
            W[d] = w.narrow(0, 0, P);
            c[d] = w[P];
        }
        net->skip->weight.copy_(W.to(torch::kFloat32));
        net->skip->bias.copy_(c.to(torch::kFloat32));
    }

    // The training loss on a batch (SPEC §4).
    torch::Tensor loss(const Features& f, const torch::Tensor& idx) {
        const int da = cfg.active_dim();
        const bool posn = opt.position_score;
        const auto B = idx.size(0);
        if (cfg.training.loss == TrainingLoss::Ism) {
            // Implicit score matching: |s|^2 + 2 div s with the exact divergence.
            const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(dev);
            BatchVars v;
            v.idx = idx;
            v.d_act = torch::zeros({B, da}, f32).set_requires_grad(true);
            if (posn) v.d_x = torch::zeros({B, 2}, f32).set_requires_grad(true);
            auto y = net->forward(make_inputs(cfg, f, v));
            auto l = y * y;  // B out: per component, |s_d|^2 + 2 d s_d / d z_d
            std::vector<torch::Tensor> div;
            for (int d = 0; d < da; ++d)
                div.push_back(torch::autograd::grad({y.select(1, d).sum()}, {v.d_act}, {}, true, true)[0].select(1, d));
            if (posn)
                for (int d = 0; d < 2; ++d)
                    div.push_back(torch::autograd::grad({y.select(1, da + d).sum()}, {v.d_x}, {}, true, true)[0].select(1, d));
            return combine_blocks(y, l + 2.0 * torch::stack(div, 1));
        }
        // Denoising score matching with antithetic noise: z± = z ± sigma zeta
        // for every particle; loss sum_± |s_i(z±)|^2 ± 2 s_i(z±)·zeta_i / sigma.
        const double sig = cfg.training.sigma;
        auto za = torch::randn({f.n, da}, gen, torch::kFloat32).to(dev);
        torch::Tensor zx;
        if (posn) zx = torch::randn({f.n, 2}, gen, torch::kFloat32).to(dev);
        auto zeta_i = za.index_select(0, idx);
        if (posn) zeta_i = torch::cat({zeta_i, zx.index_select(0, idx)}, 1);
        torch::Tensor total;
        for (double sign : {1.0, -1.0}) {
            BatchVars v;
            v.idx = idx;
            v.d_act = torch::zeros({B, da}, torch::TensorOptions().dtype(torch::kFloat32).device(dev));
            v.act_noise = sign * sig * za;
            if (posn) v.x_noise = sign * sig * zx;
            auto y = net->forward(make_inputs(cfg, f, v));
            auto l = combine_blocks(y, y * y + (2.0 * sign / sig) * (y * zeta_i));
            total = total.defined() ? total + l : l;
        }
        return total * 0.5;
    }

    // Mean over the batch of the per-component losses l [B, out], summed over
    // components; with training.balance = "blocks" each block (active
    // variables, positions) is divided by the batch's mean |s_block|^2 (at
    // least its number of dofs), a constant: each block's minimiser is
    // unchanged, but the block with the small score is no longer invisible
    // to the shared layers (and to Adam's epsilon after clipping).
    torch::Tensor combine_blocks(const torch::Tensor& y, const torch::Tensor& l) const {
        const int da = cfg.active_dim();
        const auto out = y.size(1);
        if (cfg.training.balance != LossBalance::Blocks || out == da) return l.sum(1).mean();
        torch::Tensor total;
        for (auto [b0, nb] : {std::pair<std::int64_t, std::int64_t>{0, da}, {da, out - da}}) {
            auto yb = y.narrow(1, b0, nb).detach();
            const double scale = std::max((yb * yb).sum(1).mean().item<double>(), static_cast<double>(nb));
            auto lb = l.narrow(1, b0, nb).sum(1).mean() / scale;
            total = total.defined() ? total + lb : lb;
        }
        return total;
    }
};

void set_network_threads(int threads) {
    if (threads < 1) throw ConfigError("threads", "must be >= 1");
    torch::set_num_threads(threads);
}

void set_network_tf32(bool on) {
    at::globalContext().setFloat32MatmulPrecision(on ? "high" : "highest");
}

int network_cuda_devices() {
    return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

ScoreModel::ScoreModel(const Config& cfg) : impl_(std::make_unique<Impl>(cfg)) {}
ScoreModel::ScoreModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ScoreModel::~ScoreModel() = default;
ScoreModel::ScoreModel(ScoreModel&&) noexcept = default;
ScoreModel& ScoreModel::operator=(ScoreModel&&) noexcept = default;

std::int64_t ScoreModel::parameter_count() const {
    std::int64_t c = 0;
    for (const auto& p : impl_->net->parameters()) c += p.numel();
    return c;
}
bool ScoreModel::has_position_score() const { return impl_->opt.position_score; }
const Config& ScoreModel::config() const { return impl_->cfg; }
std::uint64_t ScoreModel::steps() const { return impl_->step; }
void ScoreModel::set_schedule_length(std::uint64_t total) { impl_->schedule = std::max<std::uint64_t>(total, 1); }

void ScoreModel::set_device(const std::string& name) {
    auto& I = *impl_;
    torch::Device d(torch::kCPU);
    if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
        const int count = network_cuda_devices();
        if (count == 0)
            throw ConfigError("device", "'" + name + "' asked for, but no CUDA GPU is usable: this LibTorch " +
                                            (at::hasCUDA() ? std::string("has CUDA but sees no GPU")
                                                           : std::string("was built without CUDA (build against a CUDA LibTorch, see README)")));
        try {
            d = torch::Device(name);
        } catch (const c10::Error&) {
            throw ConfigError("device", "'" + name + "' is not a device name (cpu, cuda or cuda:N)");
        }
        if (d.has_index() && d.index() >= count)
            throw ConfigError("device", "'" + name + "': only " + std::to_string(count) + " CUDA GPU(s) visible");
    } else if (name != "cpu") {
        throw ConfigError("device", "unknown device '" + name + "' (cpu, cuda or cuda:N)");
    }
    // Module::to keeps each parameter's identity, so the optimiser's state
    // (keyed by parameter) stays attached; its tensors move here.
    I.net->to(d);
    I.ema->to(d);
    for (auto& entry : I.adam->state()) {
        auto* st = dynamic_cast<torch::optim::AdamParamState*>(entry.second.get());
        if (!st) continue;
        if (st->exp_avg().defined()) st->exp_avg(st->exp_avg().to(d));
        if (st->exp_avg_sq().defined()) st->exp_avg_sq(st->exp_avg_sq().to(d));
        if (st->max_exp_avg_sq().defined()) st->max_exp_avg_sq(st->max_exp_avg_sq().to(d));
    }
    I.dev = d;
    I.cache.reset();
}

std::string ScoreModel::device() const { return impl_->dev.str(); }

void ScoreModel::set_physics(const Config& cfg) {
    const NetOptions o = net_options(cfg);
    const NetOptions& c = impl_->opt;
    if (o.arch != c.arch || o.width != c.width || o.layers != c.layers || o.heads != c.heads || o.active_out != c.active_out ||
        o.position_score != c.position_score)
        throw ConfigError("network", "the new physics needs a different network (model kind or position score changed); start a new model");
    Config next = cfg;
    next.network = impl_->cfg.network;
    next.training = impl_->cfg.training;
    impl_->cfg = next;
    impl_->cache.reset();
}

ScoreOutput ScoreModel::infer(const State& s, bool with_divergence) const {
    return impl_->run_infer(impl_->ema, s, with_divergence);
}
ScoreOutput ScoreModel::infer_raw(const State& s, bool with_divergence) const {
    return impl_->run_infer(impl_->net, s, with_divergence);
}

TrainStats ScoreModel::train_step(const State& s, const std::vector<int>& particles) {
    auto& I = *impl_;
    if (particles.empty()) throw ConfigError("training.batch", "empty particle batch");
    const Features& f = I.features(s);
    for (int p : particles)
        if (p < 0 || p >= f.n) throw ConfigError("training.batch", "particle index " + std::to_string(p) + " out of range");
    auto idx = torch::from_blob(const_cast<int*>(particles.data()), {static_cast<std::int64_t>(particles.size())}, torch::kInt32)
                   .to(torch::kInt64)
                   .to(I.dev);
    I.net->train();
    if (I.step == 0 && I.opt.zero_output) {
        I.fit_linear(f);
        I.copy_to_ema(1.0);
    }
    I.adam->zero_grad();
    auto loss = I.loss(f, idx);
    const double lv = loss.item<double>();
    if (!std::isfinite(lv)) {
        I.adam->zero_grad();
        throw NumericalError("training produced a non-finite loss at step " + std::to_string(I.step) +
                             "; the weights were left unchanged (lower training.lr or check the samples)");
    }
    loss.backward();
    const double gn = torch::nn::utils::clip_grad_norm_(I.net->parameters(), 1.0);
    if (!std::isfinite(gn)) {
        I.adam->zero_grad();
        throw NumericalError("training produced a non-finite gradient at step " + std::to_string(I.step) +
                             "; the weights were left unchanged");
    }
    const double lr = I.learning_rate();
    for (auto& g : I.adam->param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
    // Adam moves each weight by about lr, so a finite clipped gradient can
    // still overflow the weights when the learning rate is absurd (LibTorch
    // refuses a step size beyond float's range part-way through the update;
    // a step below it can still overflow a weight): check them (one
    // reduction) and put the old ones back. Adam's moments keep this step's
    // finite gradient.
    std::vector<torch::Tensor> before;
    {
        torch::NoGradGuard ng;
        for (const auto& p : I.net->parameters()) before.push_back(p.detach().clone());
    }
    std::string why;
    try {
        I.adam->step();
        torch::NoGradGuard ng;
        std::vector<torch::Tensor> ok;
        for (const auto& p : I.net->parameters()) ok.push_back(torch::isfinite(p).all());
        if (!torch::stack(ok).all().item<bool>()) why = "non-finite weights";
    } catch (const c10::Error& e) {
        const std::string w = e.what_without_backtrace();
        why = "non-finite weights (" + w.substr(0, w.find('\n')) + ")";
    } catch (const std::exception& e) {  // c10's overflow check throws a plain std::exception type
        why = "non-finite weights (" + std::string(e.what()) + ")";
    }
    if (!why.empty()) {
        torch::NoGradGuard ng;
        std::size_t i = 0;
        for (auto& p : I.net->parameters()) p.copy_(before[i++]);
        I.adam->zero_grad();
        throw NumericalError("training produced " + why + " at step " + std::to_string(I.step) +
                             "; the weights were left unchanged (lower training.lr)");
    }
    ++I.step;
    // EMA with a short warm-up so early estimates are not dominated by the initial weights.
    const double beta = std::min(I.cfg.training.ema, (1.0 + I.step) / (10.0 + I.step));
    I.copy_to_ema(1.0 - beta);
    TrainStats st;
    st.loss = lv;
    st.grad_norm = gn;
    st.lr = lr;
    st.step = I.step;
    return st;
}

void ScoreModel::save(const std::string& path) const {
    const auto& I = *impl_;
    torch::serialize::OutputArchive ar;
    torch::serialize::OutputArchive net_ar, ema_ar, opt_ar;
    I.net->save(net_ar);
    I.ema->save(ema_ar);
    save_adam(*I.adam, opt_ar);
    ar.write("net", net_ar);
    ar.write("ema", ema_ar);
    ar.write("adam", opt_ar);
    ar.write("config_json", string_tensor(config_to_json(I.cfg)));
    ar.write("step", torch::tensor(static_cast<std::int64_t>(I.step)));
    ar.write("schedule", torch::tensor(static_cast<std::int64_t>(I.schedule)));
    ar.write("rng_state", I.gen.get_state());
    ar.write("format_version", torch::tensor(static_cast<std::int64_t>(kFormatVersion)));
    std::ostringstream bytes;
    try {
        ar.save_to(bytes);
    } catch (const c10::Error& e) {
        throw IoError("cannot serialise the checkpoint: " + std::string(e.what_without_backtrace()));
    }
    const std::string data = bytes.str();
    nlohmann::json side;
    side["format"] = "entroscope-score-checkpoint";
    side["format_version"] = kFormatVersion;
    side["entroscope_version"] = "0.1.0";
    side["libtorch_version"] = TORCH_VERSION;
    side["config"] = nlohmann::json::parse(config_to_json(I.cfg));
    side["step"] = I.step;
    side["parameter_count"] = parameter_count();
    side["archive_bytes"] = data.size();
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(data)));
    side["archive_fnv1a64"] = hex;
    write_atomically(path, data);
    write_atomically(path + ".json", side.dump(2) + "\n");
}

ScoreModel ScoreModel::load(const std::string& path, const Config* expect) {
    const std::string data = read_file(path);
    // The sidecar, when present, must describe this archive.
    if (std::filesystem::exists(path + ".json")) {
        nlohmann::json side;
        try {
            side = nlohmann::json::parse(read_file(path + ".json"));
        } catch (const nlohmann::json::exception& e) {
            throw IoError("checkpoint sidecar '" + path + ".json' is not valid JSON");
        }
        if (!side.is_object()) throw IoError("checkpoint sidecar '" + path + ".json' is not a JSON object");
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(data)));
        if (side.value("archive_fnv1a64", std::string()) != hex)
            throw IoError("checkpoint '" + path + "' does not match its sidecar hash (truncated or corrupt file)");
    }
    torch::serialize::InputArchive ar;
    Config cfg;
    std::unique_ptr<Impl> impl;
    try {
        std::istringstream in(data);
        // A checkpoint written on a GPU loads on the CPU; set_device moves it.
        ar.load_from(in, torch::Device(torch::kCPU));
        // A fresh tensor per read: read() copies into its argument's storage.
        auto read = [&](const char* key) {
            torch::Tensor t;
            ar.read(key, t);
            return t;
        };
        const auto version = read("format_version").item<std::int64_t>();
        if (version < kOldestReadableFormat || version > kFormatVersion)
            throw IoError("checkpoint '" + path + "' has format version " + std::to_string(version) + "; this build reads versions " +
                          std::to_string(kOldestReadableFormat) + " to " + std::to_string(kFormatVersion));
        cfg = parse_config(tensor_string(read("config_json")));
        impl = std::make_unique<Impl>(cfg);
        torch::serialize::InputArchive net_ar, ema_ar, opt_ar;
        ar.read("net", net_ar);
        ar.read("ema", ema_ar);
        ar.read(version >= 4 ? "adam" : "optimizer", opt_ar);
        // Module::load replaces each parameter with the stored tensor whatever
        // its shape; a shape that differs from this build's network (a file
        // from another build of the same format version) must be an error
        // here, not a failed matrix product later.
        std::vector<std::vector<std::int64_t>> shapes;
        for (const auto& p : impl->net->named_parameters()) shapes.push_back(p.value().sizes().vec());
        impl->net->load(net_ar);
        impl->ema->load(ema_ar);
        for (ScoreNet* m : {&impl->net, &impl->ema}) {
            std::size_t i = 0;
            for (const auto& p : (*m)->named_parameters()) {
                if (i >= shapes.size() || p.value().sizes().vec() != shapes[i])
                    throw IoError("checkpoint '" + path + "' does not fit this build's network: parameter '" + p.key() +
                                  "' has shape " + shape_string(p.value().sizes()) + ", expected " +
                                  (i < shapes.size() ? shape_string(shapes[i]) : std::string("none")));
                ++i;
            }
            if (i != shapes.size()) throw IoError("checkpoint '" + path + "' does not fit this build's network (parameter count)");
            for (const auto& p : (*m)->named_parameters())
                if (!torch::isfinite(p.value()).all().item<bool>())
                    throw IoError("checkpoint '" + path + "' holds non-finite " + (m == &impl->ema ? "EMA " : "") + "weights in '" +
                                  p.key() + "'");
        }
        // Format 3: LibTorch's own optimiser archive (its state keys only
        // survive within one LibTorch version).
        if (version >= 4) load_adam(*impl->adam, opt_ar);
        else impl->adam->load(opt_ar);
        impl->step = static_cast<std::uint64_t>(read("step").item<std::int64_t>());
        impl->schedule = static_cast<std::uint64_t>(read("schedule").item<std::int64_t>());
        impl->gen.set_state(read("rng_state"));
    } catch (const c10::Error& e) {
        throw IoError("cannot read checkpoint '" + path + "': " + std::string(e.what_without_backtrace()).substr(0, 300));
    } catch (const ConfigError& e) {
        throw IoError("checkpoint '" + path + "' holds an invalid config: " + e.what());
    }
    for (auto& p : impl->ema->parameters()) p.set_requires_grad(false);
    if (expect) {
        const Config& e = *expect;
        auto mismatch = [&](const std::string& key, const std::string& have, const std::string& want) {
            throw ConfigError(key, "the checkpoint was trained with " + have + " but this run needs " + want);
        };
        if (e.model != cfg.model) mismatch("model", to_string(cfg.model), to_string(e.model));
        if (e.network.arch != cfg.network.arch) mismatch("network.arch", to_string(cfg.network.arch), to_string(e.network.arch));
        if (e.network.width != cfg.network.width || e.network.layers != cfg.network.layers || e.network.heads != cfg.network.heads)
            mismatch("network", "width " + std::to_string(cfg.network.width) + ", " + std::to_string(cfg.network.layers) + " layers, " +
                                    std::to_string(cfg.network.heads) + " heads",
                     "width " + std::to_string(e.network.width) + ", " + std::to_string(e.network.layers) + " layers, " +
                         std::to_string(e.network.heads) + " heads");
        if (e.network.prior != cfg.network.prior)
            mismatch("network.prior", "prior \"" + std::string(to_string(cfg.network.prior)) + "\"",
                     "prior \"" + std::string(to_string(e.network.prior)) + "\"");
        if ((e.position_diffusion() > 0) != (cfg.position_diffusion() > 0))
            mismatch(cfg.model == ModelKind::Aoup ? "eps" : "D_t", cfg.position_diffusion() > 0 ? "a position score" : "no position score",
                     e.position_diffusion() > 0 ? "a position score" : "none");
        // Physics may differ (evaluate at other phi, N, v0): take the run's.
        impl->cfg = e;
        impl->cfg.network = cfg.network;
        impl->cfg.training = cfg.training;
    }
    return ScoreModel(std::move(impl));
}

}  // namespace entroscope

#include "network.hpp"

#include <cmath>
#include <cstdint>
#include <string>

#include "entroscope/core/errors.hpp"

namespace entroscope::score {

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

MlpImpl::MlpImpl(int in, int hidden, int out) {
    l1 = register_module("l1", torch::nn::Linear(in, hidden));
    l2 = register_module("l2", torch::nn::Linear(hidden, out));
}

AttentionImpl::AttentionImpl(int width, int heads) : w(width), h(heads) {
    q = register_module("q", torch::nn::Linear(width, width));
    kv = register_module("kv", torch::nn::Linear(width, 2 * width));
    o = register_module("o", torch::nn::Linear(width, width));
}

torch::Tensor AttentionImpl::forward_kv(const torch::Tensor& query, const torch::Tensor& kvt, const torch::Tensor& mask,
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

BlockImpl::BlockImpl(int width, int heads) {
    attn = register_module("attn", Attention(width, heads));
    ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
    mlp = register_module("mlp", Mlp(width, 2 * width, width));
    ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
}

ScoreNetImpl::ScoreNetImpl(const NetOptions& o) : opt(o) {
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
    // The exact flow of a trapped particle is linear in its own inputs with
    // a coefficient that depends on its type (v_g = A (g + F/v0) for
    // eps = 0): give each type its own linear path, so the head does not
    // have to learn the difference between types (with one shared path the
    // softest of three trap types came out 11 % high and the stiffest 4 %
    // low after 2000 steps; docs/score-network.md, "The linear path").
    if (o.type_linear)
        type_lin = register_parameter("type_lin", torch::zeros({kMaxTypes, out, linear_in(o) + 1}));
    if (o.zero_output) {
        // With the drift prior the output is the flow velocity: start at
        // v = 0 (equilibrium) rather than at a random O(1) velocity (the
        // AOUP MIPS velocities are O(0.01)).
        torch::NoGradGuard ng;
        head->l2->weight.zero_();
        head->l2->bias.zero_();
        skip->weight.zero_();
        skip->bias.zero_();
        // The linear path is solved (training.cpp, refit_linear), not
        // learned: no gradient steps on it.
        for (auto& p : linear_parameters()) p.set_requires_grad(false);
    }
}

torch::Tensor ScoreNetImpl::raw(const NetInputs& in) {
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

torch::Tensor ScoreNetImpl::readout(const torch::Tensor& h, const NetInputs& in) {
    auto y = head(h);
    if (in.head_scale.defined()) y = y * in.head_scale;
    return y + linear(in);
}

torch::Tensor ScoreNetImpl::linear(const NetInputs& in) {
    auto phi = in.own.narrow(1, 0, linear_in(opt));
    auto y = skip(phi);
    if (!type_lin.defined()) return y;
    auto phi1 = torch::cat({phi, torch::ones({phi.size(0), 1}, phi.options())}, 1);  // B P+1
    return y + torch::bmm(type_lin.index_select(0, in.type), phi1.unsqueeze(2)).squeeze(2);
}

std::vector<torch::Tensor> ScoreNetImpl::linear_parameters() {
    std::vector<torch::Tensor> p{skip->weight, skip->bias};
    if (type_lin.defined()) p.push_back(type_lin);
    return p;
}

std::int64_t parameter_count(const ScoreNet& net) {
    std::int64_t c = 0;
    for (const auto& p : net->parameters()) c += p.numel();
    return c;
}

}  // namespace entroscope::score

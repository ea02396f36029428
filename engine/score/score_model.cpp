// The score network (SPEC §3) and its training (SPEC §4) behind the
// torch-free facade of score_model.hpp. The pieces, all private to this
// folder: network (the torch modules), features and slot_forces (what the
// network sees of a snapshot), training (losses, schedule, EMA, the
// optimiser step), checkpoint (save/load). This file holds the model's
// state, inference with exact divergences, and the device.
#include "entroscope/score/score_model.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <malloc.h>

#include <torch/torch.h>

#include "checkpoint.hpp"
#include "entroscope/core/errors.hpp"
#include "features.hpp"
#include "model_impl.hpp"
#include "network.hpp"
#include "training.hpp"

namespace entroscope {

namespace {

// Token rows per inference chunk: keeps activations cache-sized (the paper
// architecture has k + 1 = 65 tokens of width 256 per particle).
constexpr std::int64_t kInferRows = 1 << 16;
// On a GPU, larger chunks fill the device (2^20 rows of width 256: 1 GB per activation).
constexpr std::int64_t kInferRowsGpu = 1 << 20;

int max_type(const Config& cfg) {
    int m = 0;
    for (int t : cfg.types) m = std::max(m, t);
    return m;
}

ScoreOutput run_infer(const ScoreModel::Impl& I, score::ScoreNet& model, const State& s, bool with_div) {
    const score::Features& f = I.features(s);
    const Config& cfg = I.cfg;
    const torch::Device& dev = I.dev;
    const int da = cfg.active_dim();
    const bool posn = I.opt.position_score;
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
        score::BatchVars v;
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
        auto y = model->forward(score::make_inputs(cfg, f, v));  // B out
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

}  // namespace

ScoreModel::Impl::Impl(const Config& c, bool type_linear)
    : cfg(c), opt(score::net_options(c)), gen(at::detail::createCPUGenerator(c.seed)) {
    opt.type_linear = type_linear;
    // Activations are tens of MB; glibc would mmap and unmap them on every
    // call, and the page faults cost as much as the arithmetic. Keep them on
    // the heap for reuse.
    static const bool tuned = [] {
        mallopt(M_MMAP_THRESHOLD, 1 << 30);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        return true;
    }();
    (void)tuned;
    if (max_type(c) >= score::kMaxTypes) throw ConfigError("types", "the score network supports at most 16 particle types");
    torch::manual_seed(c.seed);
    net = score::ScoreNet(opt);
    ema = score::ScoreNet(opt);
    score::copy_to_ema(net, ema, 1.0);
    for (auto& p : ema->parameters()) p.set_requires_grad(false);
    adam = std::make_unique<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(c.training.lr));
}

const score::Features& ScoreModel::Impl::features(const State& s) const {
    if (!cache || cache->source != &s || cache->step != s.step || cache->time != s.time || cache->box != s.box ||
        cache->n != s.n())
        cache = std::make_unique<score::Features>(score::on_device(score::make_features(cfg, s, cfg.network.k_neighbors), dev));
    return *cache;
}

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

std::int64_t ScoreModel::parameter_count() const { return score::parameter_count(impl_->net); }
bool ScoreModel::has_position_score() const { return impl_->opt.position_score; }
const Config& ScoreModel::config() const { return impl_->cfg; }
std::uint64_t ScoreModel::steps() const { return impl_->step; }
std::uint64_t ScoreModel::weights_hash() const { return score::weights_hash(*impl_); }
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
    const score::NetOptions o = score::net_options(cfg);
    const score::NetOptions& c = impl_->opt;
    if (o.arch != c.arch || o.width != c.width || o.layers != c.layers || o.heads != c.heads || o.active_out != c.active_out ||
        o.position_score != c.position_score)
        throw ConfigError("network", "the new physics needs a different network (model kind or position score changed); start a new model");
    Config next = cfg;
    next.network = impl_->cfg.network;
    next.training = impl_->cfg.training;
    impl_->cfg = next;
    impl_->cache.reset();
    // The linear path's moments belong to the old physics.
    impl_->moments = score::LinearMoments{};
}

ScoreOutput ScoreModel::infer(const State& s, bool with_divergence) const {
    return run_infer(*impl_, impl_->ema, s, with_divergence);
}
ScoreOutput ScoreModel::infer_raw(const State& s, bool with_divergence) const {
    return run_infer(*impl_, impl_->net, s, with_divergence);
}

TrainStats ScoreModel::train_step(const State& s, const std::vector<int>& particles) {
    auto& I = *impl_;
    if (particles.empty()) throw ConfigError("training.batch", "empty particle batch");
    const score::Features& f = I.features(s);
    for (int p : particles)
        if (p < 0 || p >= f.n) throw ConfigError("training.batch", "particle index " + std::to_string(p) + " out of range");
    auto idx = torch::from_blob(const_cast<int*>(particles.data()), {static_cast<std::int64_t>(particles.size())}, torch::kInt32)
                   .to(torch::kInt64)
                   .to(I.dev);
    return score::optimiser_step(I, f, idx);
}

void ScoreModel::save(const std::string& path) const { score::save_checkpoint(*impl_, path); }

ScoreModel ScoreModel::load(const std::string& path, const Config* expect) {
    return ScoreModel(score::load_checkpoint(path, expect));
}

}  // namespace entroscope

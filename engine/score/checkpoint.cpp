#include "checkpoint.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/errors.hpp"
#include "model_impl.hpp"
#include "network.hpp"

namespace entroscope::score {

namespace {

// 2: the interaction-force input and the drift prior (network.prior: the
// network outputs the flow velocity). 3: the neighbours' relative drift input.
// 4: the optimiser's state in this file's own layout (by parameter index),
// readable by any LibTorch version. LibTorch's own optimiser archive keys the
// state by tensor addresses written as strings, and 2.x does not map a 1.13
// file's keys back to the right parameters: a 1.13 checkpoint resumed under
// 2.11 had Adam state of another parameter's shape (the first step failed).
// 5: the per-type linear path (network.hpp, NetOptions::type_linear), with
// a flag saying whether the network has it: a format-4 model loads without
// it, and keeps it off when saved again; and the linear path's moments
// (training.cpp, refit_linear), so a resumed run continues exactly.
constexpr int kFormatVersion = 5;
constexpr int kOldestReadableFormat = 3;

std::string shape_string(c10::IntArrayRef sizes) {
    std::string s = "[";
    for (std::size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
    return s + "]";
}

constexpr std::uint64_t kFnvOffset = 1469598103934665603ull;

// FNV-1a 64, continued from h.
std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t h = kFnvOffset) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

std::uint64_t fnv1a64(const std::string& bytes) { return fnv1a64(bytes.data(), bytes.size()); }

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("cannot open '" + path + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
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

void save_checkpoint(const ScoreModel::Impl& I, const std::string& path) {
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
    ar.write("type_linear", torch::tensor(static_cast<std::int64_t>(I.opt.type_linear ? 1 : 0)));
    if (I.moments.seen) {
        ar.write("lin_M", I.moments.M);
        ar.write("lin_r", I.moments.r);
        ar.write("lin_w", I.moments.w);
        ar.write("lin_count", I.moments.count);
        ar.write("lin_snapshots", torch::tensor(static_cast<std::int64_t>(I.moments.snapshots)));
        ar.write("lin_step", torch::tensor(static_cast<std::int64_t>(I.moments.step)));
        ar.write("lin_time", torch::tensor(I.moments.time, torch::kFloat64));
    }
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
    side["parameter_count"] = parameter_count(I.net);
    side["type_linear"] = I.opt.type_linear;
    side["archive_bytes"] = data.size();
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(data)));
    side["archive_fnv1a64"] = hex;
    // Both files are complete before either replaces its old version, so a
    // full disk leaves the old checkpoint usable (only a failing rename
    // between the two can part an archive from its sidecar).
    AtomicFile archive(path), sidecar(path + ".json");
    archive.write(data);
    sidecar.write(side.dump(2) + "\n");
    archive.commit();
    sidecar.commit();
}

std::uint64_t weights_hash(const ScoreModel::Impl& model) {
    std::uint64_t h = kFnvOffset;
    auto add = [&h](const torch::Tensor& t) {
        const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
        h = fnv1a64(c.data_ptr(), c.numel() * c.element_size(), h);
    };
    for (const ScoreNet* m : {&model.net, &model.ema}) {
        for (const auto& p : (*m)->parameters()) add(p);
        for (const auto& b : (*m)->buffers()) add(b);
    }
    return h;
}

std::unique_ptr<ScoreModel::Impl> load_checkpoint(const std::string& path, const Config* expect) {
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
    std::unique_ptr<ScoreModel::Impl> impl;
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
        impl = std::make_unique<ScoreModel::Impl>(cfg, version >= 5 && read("type_linear").item<std::int64_t>() != 0);
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
        if (version >= 5) {
            LinearMoments& mo = impl->moments;
            if (ar.try_read("lin_M", mo.M)) {
                mo.r = read("lin_r");
                mo.w = read("lin_w");
                mo.count = read("lin_count");
                mo.snapshots = static_cast<std::uint64_t>(read("lin_snapshots").item<std::int64_t>());
                mo.step = static_cast<std::uint64_t>(read("lin_step").item<std::int64_t>());
                mo.time = read("lin_time").item<double>();
                mo.seen = true;
                const auto out = impl->net->skip->weight.size(0), p1 = impl->net->skip->weight.size(1) + 1;
                if (mo.M.dim() != 3 || mo.M.size(0) != kMaxTypes + 1 || mo.M.size(1) != p1 || mo.M.size(2) != p1 ||
                    !mo.r.sizes().equals({kMaxTypes + 1, out, p1}) || !mo.w.sizes().equals({kMaxTypes + 1}) || !mo.count.sizes().equals({kMaxTypes + 1}) ||
                    mo.M.scalar_type() != torch::kFloat64 || mo.r.scalar_type() != torch::kFloat64 || mo.w.scalar_type() != torch::kFloat64 || mo.count.scalar_type() != torch::kFloat64)
                    throw IoError("checkpoint '" + path + "' has linear-path moments that do not fit its network");
                if (!torch::isfinite(mo.M).all().item<bool>() || !torch::isfinite(mo.r).all().item<bool>() ||
                    !torch::isfinite(mo.w).all().item<bool>() || !torch::isfinite(mo.count).all().item<bool>())
                    throw IoError("checkpoint '" + path + "' holds non-finite linear-path moments");
            }
        }
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
    return impl;
}

}  // namespace entroscope::score

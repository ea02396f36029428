#pragma once
// ScoreModel's state, shared by the facade (score_model.cpp), training and
// checkpoints. Private to engine/score/.
#include <cstdint>
#include <memory>

#include <torch/torch.h>

#include "entroscope/score/score_model.hpp"
#include "features.hpp"
#include "network.hpp"

namespace entroscope {

namespace score {

// Running moments of the linear path's least-squares problem (training.cpp,
// refit_linear): per type (slots 0..15) and over all particles (slot 16).
struct LinearMoments {
    torch::Tensor M;  // [17, P+1, P+1] weighted sum of phi~ phi~^T (float64, CPU; undefined before the first snapshot)
    torch::Tensor r;  // [17, out, P+1] weighted sum of phi~ (p + S h) + d phi~ / d z
    torch::Tensor w;      // [17] weight of the sums (each snapshot's rows weigh 1 - keep in all)
    torch::Tensor count;  // [17] samples added
    std::uint64_t snapshots = 0;
    std::uint64_t step = 0;  // the snapshot added last
    double time = 0;
    bool seen = false;
};

}  // namespace score

struct ScoreModel::Impl {
    Config cfg;
    score::NetOptions opt;
    score::ScoreNet net{nullptr}, ema{nullptr};
    std::unique_ptr<torch::optim::Adam> adam;
    at::Generator gen;  // CPU generator (DSM noise is drawn on the CPU, so runs agree across devices)
    torch::Device dev{torch::kCPU};
    std::uint64_t step = 0;
    std::uint64_t schedule = 100000;
    score::LinearMoments moments;
    // Cache of the last snapshot's features (training takes many batches from one snapshot).
    mutable std::unique_ptr<score::Features> cache;

    // Fresh weights from c.seed; type_linear = false builds the network of
    // checkpoints before format 5 (no per-type linear path). Throws ConfigError.
    explicit Impl(const Config& c, bool type_linear = true);
    // The features of s, from the cache when s is the snapshot seen last.
    const score::Features& features(const State& s) const;
};

}  // namespace entroscope

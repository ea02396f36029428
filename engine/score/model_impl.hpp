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

struct ScoreModel::Impl {
    Config cfg;
    score::NetOptions opt;
    score::ScoreNet net{nullptr}, ema{nullptr};
    std::unique_ptr<torch::optim::Adam> adam;
    at::Generator gen;  // CPU generator (DSM noise is drawn on the CPU, so runs agree across devices)
    torch::Device dev{torch::kCPU};
    std::uint64_t step = 0;
    std::uint64_t schedule = 100000;
    // Cache of the last snapshot's features (training takes many batches from one snapshot).
    mutable std::unique_ptr<score::Features> cache;

    // Fresh weights from c.seed; type_linear = false builds the network of
    // checkpoints before format 5 (no per-type linear path). Throws ConfigError.
    explicit Impl(const Config& c, bool type_linear = true);
    // The features of s, from the cache when s is the snapshot seen last.
    const score::Features& features(const State& s) const;
};

}  // namespace entroscope

#pragma once
// Training of the score network (SPEC §4): the DSM and ISM losses, the
// learning-rate schedule, the EMA of the weights, the linear start of the
// drift priors, and one checked optimiser step. Private to engine/score/.
#include <cstdint>

#include <torch/torch.h>

#include "entroscope/core/config.hpp"
#include "entroscope/score/score_model.hpp"
#include "features.hpp"
#include "network.hpp"

namespace entroscope::score {

// Warm-up, then cosine decay over `schedule` steps.
double learning_rate(const TrainingConfig& t, std::uint64_t step, std::uint64_t schedule);

// ema = (1 - weight_new) ema + weight_new net, parameter by parameter.
void copy_to_ema(ScoreNet& net, ScoreNet& ema, double weight_new);

// The training loss of cfg.training on the batch idx of f.
torch::Tensor training_loss(const Config& cfg, const NetOptions& opt, ScoreNet& net, const Features& f, const torch::Tensor& idx,
                            at::Generator& gen, const torch::Device& dev);

// Sets net's linear path to the implicit-score-matching optimum of a linear
// model on the snapshot f (drift priors, before the first step).
void fit_linear(const Config& cfg, const NetOptions& opt, ScoreNet& net, const Features& f, const torch::Device& dev);

// One optimiser step of model on the batch idx of f (ScoreModel::train_step
// after its argument checks). Throws NumericalError, leaving the weights as
// they were.
TrainStats optimiser_step(ScoreModel::Impl& model, const Features& f, const torch::Tensor& idx);

}  // namespace entroscope::score

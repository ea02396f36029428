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

// Adds the snapshot f to the model's moments of the linear path and sets the
// path (net and EMA) to the implicit-score-matching optimum given the rest
// of the network (drift priors; before a step on a snapshot not seen last).
void refit_linear(ScoreModel::Impl& model, const Features& f);

// One optimiser step of model on the batch idx of f (ScoreModel::train_step
// after its argument checks). Throws NumericalError, leaving the weights as
// they were.
TrainStats optimiser_step(ScoreModel::Impl& model, const Features& f, const torch::Tensor& idx);

}  // namespace entroscope::score

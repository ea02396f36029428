#pragma once
// Checkpoints of the score network: a torch archive plus a JSON sidecar
// (ScoreModel::save/load). Private to engine/score/.
#include <cstdint>
#include <memory>
#include <string>

#include "entroscope/core/config.hpp"
#include "entroscope/score/score_model.hpp"

namespace entroscope::score {

// Writes model's archive at path and its sidecar at path.json. Throws IoError.
void save_checkpoint(const ScoreModel::Impl& model, const std::string& path);
// Reads a checkpoint (ScoreModel::load says what is checked). Throws IoError
// and, for a given `expect`, ConfigError.
std::unique_ptr<ScoreModel::Impl> load_checkpoint(const std::string& path, const Config* expect);

// ScoreModel::weights_hash.
std::uint64_t weights_hash(const ScoreModel::Impl& model);

}  // namespace entroscope::score

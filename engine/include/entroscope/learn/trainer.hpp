#pragma once
// One optimiser step at a time on batches drawn from a replay buffer: the
// batch sampler, its random stream, the loss smoothing and the reaction to a
// numerical failure that the window, `train` and the tests share.
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>

#include "entroscope/learn/replay_buffer.hpp"
#include "entroscope/score/score_model.hpp"

namespace entroscope {

class Trainer {
public:
    // Losses averaged for recent_loss().
    static constexpr std::size_t kLossWindow = 100;

    // `seed`: the data seed; the batch stream is derive_seed(seed, Batches).
    explicit Trainer(std::uint64_t seed);

    // One optimiser step of `model` on `batch` particles (at most n) of a
    // snapshot drawn from `buffer`. nullopt when the buffer is empty or the
    // trainer has failed. Any exception of the step (a NumericalError for a
    // non-finite loss, gradient or weights, which leaves the weights as they
    // were) marks the trainer failed with the reason and is rethrown.
    std::optional<TrainStats> step(ScoreModel& model, const ReplayBuffer& buffer, int batch);

    bool failed() const { return failed_; }
    const std::string& failure() const { return failure_; }
    // Mean loss of the last kLossWindow steps (NaN before the first).
    double recent_loss() const;
    std::size_t recent_count() const { return losses_.size(); }
    const std::optional<TrainStats>& last() const { return last_; }
    std::uint64_t steps() const { return steps_; }  // taken by this trainer

private:
    std::uint64_t stream_;
    std::deque<double> losses_;
    std::optional<TrainStats> last_;
    std::uint64_t steps_ = 0;
    bool failed_ = false;
    std::string failure_;
};

}  // namespace entroscope

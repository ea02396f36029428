#include "entroscope/learn/trainer.hpp"

#include <algorithm>

#include "entroscope/core/errors.hpp"
#include "entroscope/core/seeding.hpp"

namespace entroscope {

Trainer::Trainer(std::uint64_t seed) : stream_(derive_seed(seed, static_cast<std::uint64_t>(SeedStream::Batches))) {}

std::optional<TrainStats> Trainer::step(ScoreModel& model, const ReplayBuffer& buffer, int batch) {
    if (failed_) return std::nullopt;
    const std::uint64_t bits = splitmix64_next(stream_);
    const auto sample = buffer.sample(bits, std::max(1, batch));
    if (!sample) return std::nullopt;
    TrainStats st;
    try {
        st = model.train_step(*sample->state, sample->particles);
    } catch (const std::exception& e) {
        failed_ = true;
        failure_ = e.what();
        throw;
    }
    losses_.push_back(st.loss);
    if (losses_.size() > kLossWindow) {
        losses_.pop_front();
    }
    ++steps_;
    last_ = st;
    return st;
}

double Trainer::recent_loss() const {
    if (losses_.empty()) return std::numeric_limits<double>::quiet_NaN();
    double s = 0.0;
    for (double l : losses_) s += l;
    return s / static_cast<double>(losses_.size());
}

}  // namespace entroscope

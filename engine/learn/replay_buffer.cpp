#include "entroscope/learn/replay_buffer.hpp"
#include "entroscope/core/seeding.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "entroscope/core/errors.hpp"

namespace entroscope {
namespace {

std::uint64_t fade_steps(double decay) {
    // Smallest f with decay^f < 2^-20.
    return static_cast<std::uint64_t>(std::floor(20.0 * std::log(2.0) / -std::log(decay))) + 1;
}

double checked_decay(double decay) {
    if (!(decay > 0.0 && decay < 1.0)) throw ConfigError("replay_decay", "must lie in (0, 1)");
    return decay;
}

std::size_t checked_capacity(std::size_t capacity) {
    if (capacity == 0) throw ConfigError("replay_capacity", "must be at least 1");
    return capacity;
}

}  // namespace

ReplayBuffer::ReplayBuffer(std::size_t capacity, double stale_decay)
    : capacity_(checked_capacity(capacity)),
      decay_(checked_decay(stale_decay)),
      fade_after_(fade_steps(stale_decay)) {}

double ReplayBuffer::weight(const Entry& e) const {
    if (e.tag == current_) return 1.0;
    return std::pow(decay_, static_cast<double>(fresh_pushes_ - e.stale_since));
}

void ReplayBuffer::mark_stale(std::uint64_t new_tag) {
    for (Entry& e : entries_)
        if (e.tag == current_) e.stale_since = fresh_pushes_;
    current_ = new_tag;
}

void ReplayBuffer::drop_faded() {
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->tag != current_ && fresh_pushes_ - it->stale_since >= fade_after_)
            it = entries_.erase(it);
        else
            ++it;
    }
}

bool ReplayBuffer::push(std::shared_ptr<const State> s, std::uint64_t tag) {
    if (!s) throw ConfigError("snapshot", "is null");
    if (s->n() < 1) throw ConfigError("snapshot", "has no particles");
    std::lock_guard<std::mutex> lock(mutex_);
    if (tag < current_) return false;
    if (tag > current_) mark_stale(tag);
    if (entries_.size() >= capacity_) {
        auto victim = entries_.begin();
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
            if (it->tag != current_) {
                victim = it;
                break;
            }
        entries_.erase(victim);
    }
    entries_.push_back({std::move(s), tag, 0});
    ++fresh_pushes_;
    drop_faded();
    return true;
}

void ReplayBuffer::set_current_tag(std::uint64_t tag) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (tag != current_) mark_stale(tag);
}

std::uint64_t ReplayBuffer::current_tag() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
}

std::size_t ReplayBuffer::size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
}

std::size_t ReplayBuffer::fresh_size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t f = 0;
    for (const Entry& e : entries_) f += e.tag == current_ ? 1 : 0;
    return f;
}

double ReplayBuffer::stale_share() const {
    std::lock_guard<std::mutex> lock(mutex_);
    double stale = 0, total = 0;
    for (const Entry& e : entries_) {
        const double w = weight(e);
        total += w;
        if (e.tag != current_) stale += w;
    }
    return total > 0 ? stale / total : 0.0;
}

std::optional<ReplayBuffer::Sample> ReplayBuffer::sample(std::uint64_t random_bits, int batch) const {
    if (batch < 1) throw ConfigError("batch", "must be at least 1 (got " + std::to_string(batch) + ")");
    Sample out;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (entries_.empty()) return std::nullopt;
        std::vector<double> w(entries_.size());
        double total = 0;
        for (std::size_t m = 0; m < entries_.size(); ++m) total += w[m] = weight(entries_[m]);
        // The top 53 bits as a uniform number in [0, 1).
        const double u = static_cast<double>(random_bits >> 11) * 0x1.0p-53 * total;
        std::size_t pick = entries_.size() - 1;  // guards against rounding at the top
        double acc = 0;
        for (std::size_t m = 0; m < entries_.size(); ++m) {
            acc += w[m];
            if (u < acc) {
                pick = m;
                break;
            }
        }
        const Entry& e = entries_[pick];
        out.state = e.state;
        out.tag = e.tag;
        out.fresh = e.tag == current_;
    }
    out.time = out.state->time;
    out.particles = draw_particles(random_bits, out.state->n(), batch);
    return out;
}

std::vector<int> draw_particles(std::uint64_t random_bits, int n, int batch) {
    if (batch < 1) throw ConfigError("batch", "must be at least 1 (got " + std::to_string(batch) + ")");
    std::vector<int> out;
    out.reserve(static_cast<std::size_t>(std::min(batch, std::max(n, 0))));
    if (batch >= n) {
        for (int i = 0; i < n; ++i) out.push_back(i);
        return out;
    }
    // Floyd's algorithm: `batch` distinct indices in O(batch), marked in a
    // bit set that is then read out in ascending order.
    std::uint64_t stream = random_bits ^ 0xD1B54A32D192ED03ull;
    std::vector<std::uint64_t> bits((static_cast<std::size_t>(n) + 63) / 64, 0);
    auto test_and_set = [&bits](int i) {
        std::uint64_t& word = bits[static_cast<std::size_t>(i) >> 6];
        const std::uint64_t mask = std::uint64_t{1} << (i & 63);
        const bool was = (word & mask) != 0;
        word |= mask;
        return was;
    };
    for (int j = n - batch; j < n; ++j) {
        // Uniform in [0, j]; the modulo bias is below 2^-32 for j < 2^31.
        const int t = static_cast<int>(splitmix64_next(stream) % (static_cast<std::uint64_t>(j) + 1));
        if (test_and_set(t)) test_and_set(j);
    }
    for (std::size_t wd = 0; wd < bits.size(); ++wd)
        for (std::uint64_t word = bits[wd]; word != 0; word &= word - 1)
            out.push_back(static_cast<int>(wd * 64 + static_cast<std::size_t>(__builtin_ctzll(word))));
    return out;
}

void ReplayBuffer::clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.clear();
}

}  // namespace entroscope

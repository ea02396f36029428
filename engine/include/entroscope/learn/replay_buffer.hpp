#pragma once
// The replay buffer of online training (SPEC §4 "Online"): the simulator
// thread pushes decorrelated snapshots, the trainer thread samples a snapshot
// and a batch of its particles. Spacing snapshots far enough apart to be
// decorrelated is the producer's job; the buffer only stores them.
//
// Physics tags. Every snapshot carries a tag: a generation number that the
// producer bumps whenever the physics changes (a slider moved). Tags only
// grow. Snapshots whose tag differs from the current tag are "stale": they
// were drawn from the old stationary state. They are phased out rather than
// dropped, so the trainer does not starve right after a change and moves
// smoothly (warm start) to the new physics:
//
//  * Sampling picks a snapshot with probability proportional to its weight.
//    A fresh snapshot weighs 1. A stale one weighs decay^f, where f counts the
//    fresh snapshots pushed since it became stale (decay = 1/2 by default).
//    Right after a change every snapshot still weighs 1; each new fresh
//    snapshot halves the pull of the old physics.
//  * A stale snapshot is evicted once its weight drops below 2^-20, and,
//    when the buffer is full, stale snapshots are evicted before fresh ones
//    (oldest first in both groups).
//
// Thread safety: every member function takes one internal mutex for O(size)
// work at most (sampling particle indices is O(batch + n / 64) and happens
// outside any shared mutable state), so neither side ever waits long.
// Sampled snapshots are shared_ptr<const State>: they stay valid after
// eviction, and nobody mutates them.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "entroscope/core/state.hpp"

namespace entroscope {

// `batch` distinct particle indices of [0, n), ascending, drawn uniformly
// without replacement from one 64-bit draw (Floyd's algorithm on a
// splitmix64 stream); a batch of n or more gives every particle. The one
// batch sampler of training and the benchmarks. Throws ConfigError("batch")
// when batch < 1.
std::vector<int> draw_particles(std::uint64_t random_bits, int n, int batch);

class ReplayBuffer {
public:
    // Throws ConfigError("replay_capacity") when capacity is 0, and
    // ConfigError("replay_decay") unless 0 < stale_decay < 1.
    explicit ReplayBuffer(std::size_t capacity, double stale_decay = 0.5);

    // Store a snapshot taken under physics `tag` (the simulation time is
    // s->time). A tag newer than the current one makes it current (as
    // set_current_tag would); a tag older than the current one is stale on
    // arrival and is dropped (returns false). When the buffer is full the
    // oldest stale snapshot goes first, else the oldest fresh one.
    // Throws ConfigError("snapshot") for a null or particle-less snapshot.
    bool push(std::shared_ptr<const State> s, std::uint64_t tag);

    // The physics changed: snapshots with any other tag become stale and are
    // phased out as described above. Setting the current tag again is a no-op.
    void set_current_tag(std::uint64_t tag);
    std::uint64_t current_tag() const;

    std::size_t capacity() const { return capacity_; }
    std::size_t size() const;        // all snapshots
    std::size_t fresh_size() const;  // snapshots with the current tag
    // The probability that sample() returns a stale snapshot now: how much
    // the old physics still pulls (0 when nothing is stale or it is empty).
    double stale_share() const;

    struct Sample {
        std::shared_ptr<const State> state;
        std::vector<int> particles;  // distinct, ascending, in [0, n)
        std::uint64_t tag = 0;
        double time = 0.0;           // simulation time of the snapshot
        bool fresh = false;          // tag == current tag when sampled
    };
    // One snapshot drawn by weight, and `batch` distinct particle indices of
    // it drawn uniformly without replacement; a batch of n or more gives every
    // particle. Deterministic given the buffer contents and random_bits (one
    // 64-bit draw from the caller's generator). nullopt when the buffer is
    // empty. Throws ConfigError("batch") when batch < 1.
    std::optional<Sample> sample(std::uint64_t random_bits, int batch) const;

    void clear();

private:
    struct Entry {
        std::shared_ptr<const State> state;
        std::uint64_t tag;
        std::uint64_t stale_since;  // fresh_pushes_ when it became stale
    };
    double weight(const Entry& e) const;
    void mark_stale(std::uint64_t new_tag);
    void drop_faded();

    const std::size_t capacity_;
    const double decay_;
    const std::uint64_t fade_after_;  // fresh pushes after which a stale entry weighs < 2^-20
    mutable std::mutex mutex_;
    std::deque<Entry> entries_;  // arrival order, oldest first
    std::uint64_t current_ = 0;
    std::uint64_t fresh_pushes_ = 0;
};

}  // namespace entroscope

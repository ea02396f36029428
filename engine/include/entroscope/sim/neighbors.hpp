#pragma once
// k-nearest-neighbour graphs under periodic minimum image: the locality
// structure of the score network (SPEC §3).
#include <vector>

#include "entroscope/core/state.hpp"

namespace entroscope {

struct NeighborGraph {
    int n = 0;  // particles
    int k = 0;  // slots per particle
    // n*k neighbour indices, nearest first (ties broken by index); -1 marks an
    // empty slot (when the system has fewer than k + 1 particles).
    std::vector<int> index;
    // n*k*2 minimum-image relative positions x_i - x_j (0 for empty slots).
    std::vector<float> rel;
};

// Deterministic for any thread count. Throws ConfigError when k < 1.
NeighborGraph k_nearest(const State& s, int k, int threads = 1);

}  // namespace entroscope

#pragma once
#include <cstdint>
#include <vector>

namespace entroscope {

// The dynamical state of a system: plain data, copyable, no behaviour.
// Positions are folded into [0, L) with integer image counts, so the
// unwrapped position is x + image * L.
struct State {
    double box = 0.0;                  // side length L
    std::vector<double> x;             // 2N: x0, y0, x1, y1, ... folded into [0, L)
    std::vector<std::int32_t> image;   // 2N periodic image counts
    std::vector<double> act;           // AOUP: 2N (g); ABP: N (theta in [-pi, pi))
    std::vector<int> types;            // N
    std::uint64_t step = 0;
    double time = 0.0;

    int n() const { return static_cast<int>(types.size()); }
    int active_dim() const { return types.empty() ? 0 : static_cast<int>(act.size() / types.size()); }
    // Unwrapped positions (2N).
    std::vector<double> unwrapped() const;
};

}  // namespace entroscope

#pragma once
// The score network's answer for one snapshot: plain vectors, no torch, so
// estimators and front ends can use it without the score library.
#include <vector>

namespace entroscope {

// Network output for one snapshot (double for the estimators' accumulators).
struct ScoreOutput {
    int n = 0;
    int active_dim = 0;            // 2 (AOUP g) or 1 (ABP theta)
    std::vector<double> s_act;     // n * active_dim: score w.r.t. the particle's own active variable
    std::vector<double> div_act;   // n: d s_{a_i} / d a_i summed over components (exact, autograd); empty unless asked
    std::vector<double> s_x;       // 2n: position score; empty when the model has none (eps = 0 / D_t = 0)
    std::vector<double> div_x;     // n: div_{x_i} s_{x_i} (exact); empty unless asked and s_x exists
};

}  // namespace entroscope

#pragma once
// Observables of a trajectory: mean-square displacement (unwrapped),
// positional variance about the trap centre, local density on a grid, and
// time-series statistics with standard errors from batch means.
#include <cstdint>
#include <vector>

#include "entroscope/core/state.hpp"

namespace entroscope {

// MSD from a single time origin, averaged over particles.
class MsdRecorder {
public:
    explicit MsdRecorder(const State& origin);
    // Records (t - t0, <|u_i(t) - u_i(t0)|^2>_i) and returns the value.
    double record(const State& s);
    const std::vector<double>& times() const { return t_; }
    const std::vector<double>& values() const { return v_; }
private:
    std::vector<double> u0_;
    double t0_ = 0.0;
    std::vector<double> t_, v_;
};

// Mean over particles of |x_i - c|^2 (c = box centre, minimum image).
double mean_sq_position(const State& s);

// Number density on a bins x bins grid (row-major, y outer): particles per
// unit area, from nearest-cell binning of folded positions.
std::vector<double> density_grid(const State& s, int bins);

// Mean and standard error of a correlated time series by batch means:
// the series is cut into `batches` contiguous batches whose means are
// treated as independent (valid when a batch spans many correlation times).
struct MeanSe {
    double mean = 0.0;
    double se = 0.0;
    std::int64_t count = 0;
};
MeanSe batch_means(const std::vector<double>& series, int batches = 20);

}  // namespace entroscope

#pragma once
// What the live plots show, collected from the session's frames (no Qt):
// the global estimate each time the estimate window takes a new evaluation,
// the per-state values of each evaluated state, the training loss at each
// new network step, and where the physics changed. The window polls frames
// at display rate and may skip some; a skipped frame loses nothing but the
// intermediate window means, since every point carries its own window.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "entroscope/analysis/observables.hpp"
#include "entroscope/session/frame.hpp"

namespace entroscope::widgets {

// One global estimate (per particle; NaN / count 0 where undefined).
struct EstimatePoint {
    double t = 0.0;                  // simulation time of the newest evaluated state
    std::uint64_t index = 0;         // its Evaluation::index
    std::uint64_t network_step = 0;
    std::uint64_t physics_tag = 0;
    std::int64_t evaluations = 0;    // in the window
    MeanSe active, active_div, total, total_network_free, active_network_free;
    MeanSe div_v, div_v_time_step, v_dot_s, ibp, gap;
    bool total_finite = false;       // the positional part is finite (a learned total exists)
    double exact_active = GlobalEstimate::kNaN, exact_active_chain = GlobalEstimate::kNaN;
    double exact_total = GlobalEstimate::kNaN, exact_total_chain = GlobalEstimate::kNaN;
};

// The values of one evaluated state (not a window mean): per particle.
struct StatePoint {
    double t = 0.0;
    double active = GlobalEstimate::kNaN;      // |v|^2 estimator
    double active_div = GlobalEstimate::kNaN;  // divergence estimator (NaN without divergences)
    double total = GlobalEstimate::kNaN;       // learned total (NaN when the positional part is infinite)
    double total_network_free = GlobalEstimate::kNaN;
};

struct LossPoint {
    double network_step = 0.0;
    double loss = 0.0;
};

// A parameter change of the running system, at the simulation time the
// first frame under the new physics showed.
struct PhysicsMark {
    double t = 0.0;
    std::uint64_t physics_tag = 0;
    std::string what;  // "phi 0.500 -> 0.600", "Pe 100 -> 150", or "parameters changed"
};

class PlotHistory {
public:
    // At most `capacity` points of each kind are kept (the oldest go first).
    explicit PlotHistory(std::size_t capacity = 20000);

    // Takes what is new in `newest` (estimate, training, physics) and in
    // `learned` (the newest frame with learned values; may be null). A new
    // system (another system_generation) starts the history over. Returns
    // true when anything was added or cleared.
    bool take(const Frame& newest, const Frame* learned);
    void clear();

    const std::deque<EstimatePoint>& estimates() const { return estimates_; }
    const std::deque<StatePoint>& states() const { return states_; }
    const std::deque<LossPoint>& losses() const { return losses_; }
    const std::deque<PhysicsMark>& marks() const { return marks_; }
    // Bumps on every change; a view redraws only when it moved.
    std::uint64_t revision() const { return revision_; }
    std::uint64_t systemGeneration() const { return generation_; }

private:
    template <class T>
    void push(std::deque<T>& d, T v);

    std::size_t capacity_;
    bool started_ = false;
    std::uint64_t generation_ = 0;
    std::uint64_t tag_ = 0;
    Config physics_;
    std::uint64_t lastEstimate_ = 0, lastState_ = 0, lastLossStep_ = 0;
    bool haveEstimate_ = false, haveState_ = false, haveLoss_ = false;
    std::uint64_t lastModel_ = 0;
    std::uint64_t revision_ = 0;
    std::deque<EstimatePoint> estimates_;
    std::deque<StatePoint> states_;
    std::deque<LossPoint> losses_;
    std::deque<PhysicsMark> marks_;
};

// A histogram normalised as a probability density over [lo, hi]: counts /
// (finite values * bin width). Values outside go into the end bins (so a
// long tail shows as a raised last bin, not as lost mass); NaN and inf are
// left out. lo < hi and bins >= 1, else empty.
struct Histogram {
    double lo = 0.0, hi = 1.0;
    std::vector<double> density;  // per bin
    std::int64_t values = 0;      // finite values counted
    double binWidth() const { return density.empty() ? 0.0 : (hi - lo) / static_cast<double>(density.size()); }
};
Histogram histogram(const std::vector<float>& values, double lo, double hi, int bins);

// The mean of the histograms taken last (all on one range and bin count: a
// histogram on another range starts it over), over at most `depth` of them.
class HistogramAverage {
public:
    void setDepth(int depth);  // >= 1
    int depth() const { return depth_; }
    void add(Histogram h);
    void clear() { kept_.clear(); }
    bool empty() const { return kept_.empty(); }
    std::size_t count() const { return kept_.size(); }
    Histogram mean() const;

private:
    int depth_ = 1;
    std::deque<Histogram> kept_;
};

// A round upper end for a histogram range: the least of 1, 1.5, 2, 3, 4, 5,
// 6, 8 times a power of ten at or above x (so at most 1.5 x); 1 for x <= 0
// or not finite.
double roundUpNice(double x);

}  // namespace entroscope::widgets

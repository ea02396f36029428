#pragma once
// The points of the phase-diagram explorer (no Qt): every state the user
// ran long enough in the window, and every finished sweep point, each with
// its measured EPR per particle and its phase indicators. A live point is
// the running system at fixed parameters once its estimate window is full;
// it is updated while the parameters stay, and a new one starts when they
// change. Points are kept per model; the same (phi, Pe) from the same
// source replaces the older point.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "entroscope/analysis/observables.hpp"
#include "entroscope/analysis/phase.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/session/frame.hpp"
#include "entroscope/session/sweep.hpp"

namespace entroscope::widgets {

struct PhasePoint {
    enum class Source { Live, Sweep };
    Source source = Source::Live;
    ModelKind model = ModelKind::Abp;
    int n = 0;
    double phi = 0.0, pe = 0.0;
    MeanSe epr_active, epr_active_div, epr_total, epr_total_network_free, epr_active_identity;
    PhaseIndicators phase;        // averaged over the measured states
    int evaluations = 0;          // states the EPR was measured on
    std::uint64_t network_step = 0;
    double seconds = 0.0;         // sweep: wall time of the point; live: simulation time measured
    bool failed = false;
    std::string note;
    // The state to resume the point from, and its physics (null for rows
    // read from a table): a live point's newest evaluated state, a sweep
    // point's last measured one.
    std::shared_ptr<const State> state;
    std::shared_ptr<const Config> config;
    bool resumable() const { return state && config; }
    std::string label() const { return failed ? "failed" : phase_label(phase.separated); }
};

// What the explorer colours points by.
enum class PhaseColour { EprActive, EprTotal, EprTotalNetworkFree, ClusterFraction, Bimodality };
// The value of a point (NaN where undefined) and its axis title.
double phase_value(const PhasePoint& p, PhaseColour c);
std::string phase_colour_title(PhaseColour c, bool unicode);

class PhaseMap {
public:
    // A live point needs this many evaluations in the estimate window at
    // unchanged parameters (and as many evaluated states' indicators).
    explicit PhaseMap(int minEvaluations = 8) : minEvaluations_(minEvaluations) {}
    void setMinEvaluations(int k) { minEvaluations_ = k < 1 ? 1 : k; }
    int minEvaluations() const { return minEvaluations_; }

    // The live run: takes the newest frame (estimate) and the newest one
    // with learned values (its phase indicators). Returns true when the
    // map changed.
    bool take(const Frame& newest, const Frame* learned);
    // A finished sweep point of `model` (a table's row).
    void add(const SweepResult& r, ModelKind model, int n);
    // A finished sweep point run at `pointConfig` (resumable when r.state is set).
    void add(const SweepResult& r, const Config& pointConfig);
    void clear();

    const std::vector<PhasePoint>& points() const { return points_; }
    // Indices of the points of one model.
    std::vector<std::size_t> pointsOf(ModelKind model) const;
    std::uint64_t revision() const { return revision_; }

private:
    void put(const PhasePoint& p);

    int minEvaluations_;
    std::vector<PhasePoint> points_;
    std::uint64_t revision_ = 0;
    // The live point being measured.
    bool tracking_ = false;
    std::uint64_t generation_ = 0, tag_ = 0, lastLearned_ = 0;
    PhaseAverage liveAverage_;
    double liveStart_ = 0.0;
};

// A point as a sweep result (for a table; index 0).
SweepResult to_sweep_result(const PhasePoint& p);

// One line per point for a tooltip (UTF-8): phase, both indicators with the
// criterion, the EPR values with standard errors, how it was measured.
std::string phase_point_summary(const PhasePoint& p);

}  // namespace entroscope::widgets

#include "widgets/plot_history.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace entroscope::widgets {

namespace {

std::string describe_change(const Config& from, const Config& to) {
    char buf[96];
    std::string what;
    if (std::abs(from.phi - to.phi) > 1e-12) {
        std::snprintf(buf, sizeof buf, "phi %.3f -> %.3f", from.phi, to.phi);
        what = buf;
    }
    const double pa = from.peclet(), pb = to.peclet();
    if (std::isfinite(pa) && std::isfinite(pb) && std::abs(pa - pb) > 1e-9 * std::max(1.0, std::abs(pa))) {
        std::snprintf(buf, sizeof buf, "Pe %.4g -> %.4g", pa, pb);
        what += (what.empty() ? "" : ", ") + std::string(buf);
    }
    if (std::abs(from.dt - to.dt) > 1e-15) {
        std::snprintf(buf, sizeof buf, "dt %.3g -> %.3g", from.dt, to.dt);
        what += (what.empty() ? "" : ", ") + std::string(buf);
    }
    return what.empty() ? std::string("parameters changed") : what;
}

double sum(double a, double b) { return std::isfinite(a) && std::isfinite(b) ? a + b : GlobalEstimate::kNaN; }

}  // namespace

PlotHistory::PlotHistory(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 2)) {}

template <class T>
void PlotHistory::push(std::deque<T>& d, T v) {
    d.push_back(std::move(v));
    while (d.size() > capacity_) d.pop_front();
}

void PlotHistory::clear() {
    estimates_.clear();
    states_.clear();
    losses_.clear();
    marks_.clear();
    haveEstimate_ = haveState_ = haveLoss_ = false;
    ++revision_;
}

bool PlotHistory::take(const Frame& newest, const Frame* learned) {
    bool changed = false;
    if (!started_ || newest.system_generation != generation_) {
        if (started_) clear();
        started_ = true;
        changed = true;
        generation_ = newest.system_generation;
        tag_ = newest.physics_tag;
        physics_ = newest.config;
        lastModel_ = newest.training.model_generation;
    }
    if (newest.physics_tag != tag_) {
        PhysicsMark m;
        m.t = newest.state ? newest.state->time : (estimates_.empty() ? 0.0 : estimates_.back().t);
        m.physics_tag = newest.physics_tag;
        m.what = describe_change(physics_, newest.config);
        push(marks_, std::move(m));
        tag_ = newest.physics_tag;
        physics_ = newest.config;
        changed = true;
    }

    // A loaded or new network restarts the step count: its losses are a new curve.
    if (newest.training.model_generation != lastModel_) {
        lastModel_ = newest.training.model_generation;
        losses_.clear();
        haveLoss_ = false;
        changed = true;
    }
    const TrainingStatus& ts = newest.training;
    if (ts.enabled && std::isfinite(ts.recent_loss) && ts.network_steps > 0 &&
        (!haveLoss_ || ts.network_steps != lastLossStep_)) {
        push(losses_, LossPoint{static_cast<double>(ts.network_steps), ts.recent_loss});
        lastLossStep_ = ts.network_steps;
        haveLoss_ = true;
        changed = true;
    }

    if (newest.estimate && newest.estimate->evaluations > 0 &&
        (!haveEstimate_ || newest.estimate->last_index != lastEstimate_)) {
        const GlobalEstimate& g = *newest.estimate;
        EstimatePoint p;
        p.t = g.time;
        p.index = g.last_index;
        p.network_step = g.network_step;
        p.physics_tag = g.physics_tag;
        p.evaluations = g.evaluations;
        p.active = g.epr_active;
        p.active_div = g.epr_active_div;
        p.total = g.epr_total;
        p.total_network_free = g.epr_total_network_free;
        p.active_network_free = g.epr_active_identity;
        p.div_v = g.div_v;
        p.div_v_time_step = g.div_v_time_step;
        p.v_dot_s = g.v_dot_s;
        p.ibp = g.ibp;
        p.gap = g.gap;
        p.total_finite = g.x_part == XPart::Finite && std::isfinite(g.epr_total.mean);
        p.exact_active = g.exact_epr_active;
        p.exact_active_chain = g.exact_epr_active_chain;
        p.exact_total = sum(g.exact_epr_active, g.exact_epr_x);
        p.exact_total_chain = sum(g.exact_epr_active_chain, g.exact_epr_x_chain);
        push(estimates_, p);
        lastEstimate_ = g.last_index;
        haveEstimate_ = true;
        changed = true;
    }

    if (learned && learned->learned && learned->system_generation == generation_ &&
        (!haveState_ || learned->learned->index != lastState_)) {
        const Evaluation& e = *learned->learned;
        const int n = e.state ? e.state->n() : 0;
        if (n > 0) {
            StatePoint p;
            p.t = e.state->time;
            p.active = e.totals.epr_active / n;
            if (e.with_divergence) p.active_div = e.totals.epr_active_div / n;
            if (e.x_part == XPart::Finite && std::isfinite(e.totals.epr_total)) p.total = e.totals.epr_total / n;
            if (std::isfinite(e.totals.epr_total_network_free)) p.total_network_free = e.totals.epr_total_network_free / n;
            push(states_, p);
        }
        lastState_ = e.index;
        haveState_ = true;
        changed = true;
    }
    if (changed) ++revision_;
    return changed;
}

Histogram histogram(const std::vector<float>& values, double lo, double hi, int bins) {
    Histogram h;
    if (!(hi > lo) || bins < 1 || !std::isfinite(lo) || !std::isfinite(hi)) return h;
    h.lo = lo;
    h.hi = hi;
    h.density.assign(static_cast<std::size_t>(bins), 0.0);
    const double scale = bins / (hi - lo);
    for (float v : values) {
        if (!std::isfinite(v)) continue;
        const double b = std::floor((v - lo) * scale);
        const int k = static_cast<int>(std::clamp(b, 0.0, static_cast<double>(bins - 1)));
        h.density[static_cast<std::size_t>(k)] += 1.0;
        ++h.values;
    }
    if (h.values > 0) {
        const double norm = 1.0 / (static_cast<double>(h.values) * h.binWidth());
        for (double& d : h.density) d *= norm;
    }
    return h;
}

void HistogramAverage::setDepth(int depth) {
    depth_ = std::max(1, depth);
    while (static_cast<int>(kept_.size()) > depth_) kept_.pop_front();
}

void HistogramAverage::add(Histogram h) {
    if (h.density.empty()) return;
    if (!kept_.empty()) {
        const Histogram& b = kept_.back();
        if (b.density.size() != h.density.size() || b.lo != h.lo || b.hi != h.hi) kept_.clear();
    }
    kept_.push_back(std::move(h));
    while (static_cast<int>(kept_.size()) > depth_) kept_.pop_front();
}

Histogram HistogramAverage::mean() const {
    Histogram m;
    if (kept_.empty()) return m;
    m.lo = kept_.back().lo;
    m.hi = kept_.back().hi;
    m.density.assign(kept_.back().density.size(), 0.0);
    for (const Histogram& h : kept_) {
        for (std::size_t i = 0; i < m.density.size(); ++i) m.density[i] += h.density[i];
        m.values += h.values;
    }
    for (double& d : m.density) d /= static_cast<double>(kept_.size());
    return m;
}

double roundUpNice(double x) {
    if (!(x > 0.0) || !std::isfinite(x)) return 1.0;
    const double p = std::pow(10.0, std::floor(std::log10(x)));
    for (double m : {1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0}) {
        if (m * p >= x * (1.0 - 1e-12)) return m * p;
    }
    return 10.0 * p;
}

}  // namespace entroscope::widgets

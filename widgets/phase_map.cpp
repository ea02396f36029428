#include "widgets/phase_map.hpp"

#include <cmath>
#include <cstdio>

namespace entroscope::widgets {

namespace {

bool samePlace(const PhasePoint& a, const PhasePoint& b) {
    return a.source == b.source && a.model == b.model && std::abs(a.phi - b.phi) < 5e-5 &&
           std::abs(a.pe - b.pe) <= 1e-6 * std::max(1.0, std::abs(a.pe));
}

std::string meanSe(const MeanSe& m) {
    if (m.count <= 0 || !std::isfinite(m.mean)) return "n/a";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g ± %.2g", m.mean, m.se);
    return buf;
}

}  // namespace

double phase_value(const PhasePoint& p, PhaseColour c) {
    const auto of = [](const MeanSe& m) { return m.count > 0 ? m.mean : std::nan(""); };
    if (p.failed) return std::nan("");  // its values were never measured
    switch (c) {
    case PhaseColour::EprActive: return of(p.epr_active);
    case PhaseColour::EprTotal: return of(p.epr_total);
    case PhaseColour::EprTotalNetworkFree: return of(p.epr_total_network_free);
    case PhaseColour::ClusterFraction: return p.phase.states > 0 ? p.phase.largest_cluster_fraction : std::nan("");
    case PhaseColour::Bimodality: return p.phase.states > 0 ? p.phase.density_bimodality : std::nan("");
    }
    return std::nan("");
}

std::string phase_colour_title(PhaseColour c, bool unicode) {
    switch (c) {
    case PhaseColour::EprActive: return "learned active EPR per particle (k_B/t)";
    case PhaseColour::EprTotal: return "learned total EPR per particle (k_B/t)";
    case PhaseColour::EprTotalNetworkFree: return unicode ? "network-free total EPR E[b·D⁻¹b + ∇·b] per particle"
                                                          : "network-free total EPR E[b.D^-1 b + div b] per particle";
    case PhaseColour::ClusterFraction: return "largest dense cluster (fraction of particles)";
    case PhaseColour::Bimodality: return "bimodality of the local density";
    }
    return {};
}

void PhaseMap::clear() {
    points_.clear();
    tracking_ = false;
    ++revision_;
}

void PhaseMap::put(const PhasePoint& p) {
    for (PhasePoint& q : points_) {
        if (samePlace(q, p)) {
            q = p;
            ++revision_;
            return;
        }
    }
    points_.push_back(p);
    ++revision_;
}

std::vector<std::size_t> PhaseMap::pointsOf(ModelKind model) const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < points_.size(); ++i) {
        if (points_[i].model == model) out.push_back(i);
    }
    return out;
}

bool PhaseMap::take(const Frame& newest, const Frame* learned) {
    if (!tracking_ || newest.system_generation != generation_ || newest.physics_tag != tag_) {
        tracking_ = true;
        generation_ = newest.system_generation;
        tag_ = newest.physics_tag;
        liveAverage_ = PhaseAverage();
        lastLearned_ = 0;
        liveStart_ = newest.state ? newest.state->time : 0.0;
    }
    bool news = false;
    if (learned && learned->learned && learned->system_generation == generation_ && learned->physics_tag == tag_ &&
        learned->learned->index != lastLearned_) {
        lastLearned_ = learned->learned->index;
        if (learned->learned->phase.states > 0) {
            liveAverage_.add(learned->learned->phase);
            news = true;
        }
    }
    if (!news || !newest.estimate) return false;
    const GlobalEstimate& g = *newest.estimate;
    if (g.physics_tag != tag_ || g.evaluations < minEvaluations_ || liveAverage_.count() < minEvaluations_) return false;
    PhasePoint p;
    p.source = PhasePoint::Source::Live;
    p.model = newest.config.model;
    p.n = newest.config.n;
    p.phi = newest.config.phi;
    p.pe = newest.config.peclet();
    p.epr_active = g.epr_active;
    p.epr_active_div = g.epr_active_div;
    if (g.x_part == XPart::Finite) p.epr_total = g.epr_total;
    p.epr_total_network_free = g.epr_total_network_free;
    p.epr_active_identity = g.epr_active_identity;
    p.phase = liveAverage_.mean();
    p.evaluations = static_cast<int>(g.evaluations);
    p.network_step = g.network_step;
    p.seconds = (newest.state ? newest.state->time : liveStart_) - liveStart_;
    p.note = "live run: the window's estimate over its last " + std::to_string(g.evaluations) + " evaluations";
    p.state = learned->learned->state;
    p.config = std::make_shared<const Config>(learned->config);
    put(p);
    return true;
}

void PhaseMap::add(const SweepResult& r, ModelKind model, int n) {
    PhasePoint p;
    p.source = PhasePoint::Source::Sweep;
    p.model = model;
    p.n = n;
    p.phi = r.phi;
    p.pe = r.pe;
    p.epr_active = r.epr_active;
    p.epr_active_div = r.epr_active_div;
    p.epr_total = r.epr_total;
    p.epr_total_network_free = r.epr_total_network_free;
    p.epr_active_identity = r.epr_active_identity;
    p.phase = r.phase;
    p.evaluations = r.evaluations;
    p.network_step = r.network_step;
    p.seconds = r.seconds;
    p.failed = r.failed;
    p.note = r.note;
    put(p);
}

SweepResult to_sweep_result(const PhasePoint& p) {
    SweepResult r;
    r.phi = p.phi;
    r.pe = p.pe;
    r.epr_active = p.epr_active;
    r.epr_active_div = p.epr_active_div;
    r.epr_total = p.epr_total;
    r.epr_total_network_free = p.epr_total_network_free;
    r.epr_active_identity = p.epr_active_identity;
    r.phase = p.phase;
    r.evaluations = p.evaluations;
    r.network_step = p.network_step;
    r.seconds = p.seconds;
    r.failed = p.failed;
    r.note = p.note;
    return r;
}

void PhaseMap::add(const SweepResult& r, const Config& pointConfig) {
    add(r, pointConfig.model, pointConfig.n);
    for (PhasePoint& q : points_) {
        if (q.source == PhasePoint::Source::Sweep && q.model == pointConfig.model && q.phi == r.phi && q.pe == r.pe) {
            q.state = r.state;
            q.config = std::make_shared<const Config>(pointConfig);
        }
    }
}

std::string phase_point_summary(const PhasePoint& p) {
    char head[160];
    std::snprintf(head, sizeof head, "%s  N = %d  φ = %.3f  Pe = %.4g: %s (%s)", p.model == ModelKind::Abp ? "ABP" : "AOUP", p.n,
                  p.phi, p.pe, p.label().c_str(), p.source == PhasePoint::Source::Live ? "live run" : "sweep");
    std::string s = head;
    if (p.failed) return s + "\n" + p.note;
    char ind[200];
    std::snprintf(ind, sizeof ind, "\nlargest dense cluster %.3f of the particles, bimodality %.3f; dense / dilute φ %.2f / %.2f",
                  p.phase.largest_cluster_fraction, p.phase.density_bimodality, p.phase.dense_phi, p.phase.dilute_phi);
    s += ind;
    if (!p.phase.criterion.empty()) s += "\nrule: " + p.phase.criterion;
    s += "\nactive EPR per particle: " + meanSe(p.epr_active) + " (|v|²), " + meanSe(p.epr_active_div) + " (divergence)";
    if (p.epr_total.count > 0) s += "\ntotal: " + meanSe(p.epr_total);
    if (p.epr_total_network_free.count > 0) s += ", network-free " + meanSe(p.epr_total_network_free);
    if (p.epr_active_identity.count > 0) s += "\nnetwork-free active part: " + meanSe(p.epr_active_identity);
    char tail[160];
    std::snprintf(tail, sizeof tail, "\n%d evaluated states, network step %llu, %s %.3g", p.evaluations,
                  static_cast<unsigned long long>(p.network_step),
                  p.source == PhasePoint::Source::Live ? "simulation time" : "seconds", p.seconds);
    s += tail;
    if (!p.note.empty()) s += "\n" + p.note;
    s += p.resumable() ? "\nclick: resume this state" : "\nclick: move the sliders here";
    return s;
}

}  // namespace entroscope::widgets

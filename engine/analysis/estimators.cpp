#include "entroscope/analysis/estimators.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include "entroscope/core/errors.hpp"
#include "entroscope/physics/linear_oracle.hpp"

namespace entroscope {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void require_size(std::size_t got, std::size_t want, const char* what) {
    if (got != want)
        throw ConfigError(what, "has " + std::to_string(got) + " entries, expected " + std::to_string(want) +
                                    " for this config (a score or drift of another system?)");
}

void require_finite(const std::vector<double>& v, const char* what) {
    for (std::size_t k = 0; k < v.size(); ++k)
        if (!std::isfinite(v[k]))
            throw NumericalError(std::string(what) + "[" + std::to_string(k) + "] is not finite (" + std::to_string(v[k]) + ")");
}

double sum(const std::vector<double>& v) {
    if (v.empty()) return kNaN;
    return std::accumulate(v.begin(), v.end(), 0.0);
}

}  // namespace

const char* to_string(XPart p) {
    switch (p) {
        case XPart::Finite: return "finite";
        case XPart::Infinite: return "infinite";
        case XPart::Unavailable: return "unavailable";
    }
    return "?";
}

ParticleEstimates estimate_particles(const Config& cfg, const State& s, const ScoreOutput& score) {
    DriftEvaluator ev(cfg);
    return estimate_particles(cfg, s, score, ev.evaluate(s, true));
}

ParticleEstimates estimate_particles(const Config& cfg, const State& s, const ScoreOutput& score, const Drift& drift) {
    const int n = cfg.n;
    const auto nn = static_cast<std::size_t>(n);
    const int ad = cfg.active_dim();
    const auto na = nn * static_cast<std::size_t>(ad);
    const bool aoup = cfg.model == ModelKind::Aoup;

    require_size(s.x.size(), 2 * nn, "state.x");
    require_size(s.act.size(), na, "state.act");
    if (score.n != n || score.active_dim != ad)
        throw ConfigError("score", "was computed for n = " + std::to_string(score.n) + ", active_dim = " + std::to_string(score.active_dim) +
                                       "; the config has n = " + std::to_string(n) + ", active_dim = " + std::to_string(ad));
    require_size(score.s_act.size(), na, "score.s_act");
    if (!score.div_act.empty()) require_size(score.div_act.size(), nn, "score.div_act");
    if (!score.s_x.empty()) require_size(score.s_x.size(), 2 * nn, "score.s_x");
    if (!score.div_x.empty()) {
        require_size(score.div_x.size(), nn, "score.div_x");
        if (score.s_x.empty()) throw ConfigError("score.div_x", "is given without score.s_x");
    }
    require_size(drift.b_x.size(), 2 * nn, "drift.b_x");
    require_size(drift.b_act.size(), na, "drift.b_act");
    if (!drift.div_x.empty()) require_size(drift.div_x.size(), nn, "drift.div_x");
    if (!drift.div_act.empty()) require_size(drift.div_act.size(), nn, "drift.div_act");
    if (!drift.tr_j2.empty()) require_size(drift.tr_j2.size(), nn, "drift.tr_j2");
    require_finite(score.s_act, "score.s_act");
    require_finite(score.div_act, "score.div_act");
    require_finite(score.s_x, "score.s_x");
    require_finite(score.div_x, "score.div_x");
    require_finite(drift.b_x, "drift.b_x");

    ParticleEstimates e;
    e.n = n;
    e.active_dim = ad;
    e.D_x = cfg.position_diffusion();
    e.D_act = aoup ? cfg.gamma : cfg.D_r;
    const double Dx = e.D_x, Da = e.D_act;
    const bool has_sx = !score.s_x.empty();
    const bool has_div_a = !score.div_act.empty();
    const bool has_div_x = !score.div_x.empty();
    const bool has_drift_div = !drift.div_x.empty() && !drift.div_act.empty();

    // Active part: v_a = b_a - D_a s_a (AOUP b_g = -gamma g; ABP b_theta = 0).
    e.v_act.resize(na);
    for (std::size_t k = 0; k < na; ++k) e.v_act[k] = drift.b_act[k] - Da * score.s_act[k];
    e.sigma_sq.assign(nn, 0.0);
    for (std::size_t i = 0; i < nn; ++i) {
        double q = 0;
        for (int c = 0; c < ad; ++c) q += e.v_act[i * ad + c] * e.v_act[i * ad + c];
        // D_a = 0 (ABP with D_r = 0): theta is frozen, v_a = 0 and nothing is produced.
        e.sigma_sq[i] = Da > 0 ? q / Da : 0.0;
    }
    if (has_div_a) {
        e.sigma_div.resize(nn);
        e.sigma_lin.resize(nn);
        e.ibp.resize(nn);
        for (std::size_t i = 0; i < nn; ++i) {
            // div_a v_a = div_a b_a - D_a div_a s_a; div_a b_a = -d gamma (AOUP), 0 (ABP).
            const double div_b = aoup ? -ad * cfg.gamma : 0.0;
            e.sigma_div[i] = div_b - Da * score.div_act[i];
            double vb = 0;
            for (int c = 0; c < ad; ++c) vb += e.v_act[i * ad + c] * drift.b_act[i * ad + c];
            e.sigma_lin[i] = e.sigma_div[i] + (Da > 0 ? vb / Da : 0.0);
            double s2 = 0;
            for (int c = 0; c < ad; ++c) s2 += score.s_act[i * ad + c] * score.s_act[i * ad + c];
            e.ibp[i] = s2 + score.div_act[i];
        }
    } else {
        e.sigma_div_note = "the divergence of the active score was not computed (ask the score model for it)";
        e.ibp_note = e.sigma_div_note;
    }

    // Position part.
    if (Dx == 0.0) {
        e.v_x = drift.b_x;  // exact: no diffusion in x
        e.x_part = XPart::Infinite;
        e.x_note = std::string("infinite: ") + (aoup ? "eps" : "D_t") +
                   " = 0 makes the dynamics hypoelliptic (SPEC §2); only the active part is finite";
        if (has_drift_div) {
            e.contraction.resize(nn);
            for (std::size_t i = 0; i < nn; ++i) e.contraction[i] = -drift.div_x[i];
        }
    } else if (has_sx) {
        e.v_x.resize(2 * nn);
        for (std::size_t k = 0; k < 2 * nn; ++k) e.v_x[k] = drift.b_x[k] - Dx * score.s_x[k];
        e.sigma_x.resize(nn);
        for (std::size_t i = 0; i < nn; ++i)
            e.sigma_x[i] = (e.v_x[2 * i] * e.v_x[2 * i] + e.v_x[2 * i + 1] * e.v_x[2 * i + 1]) / Dx;
        e.x_part = XPart::Finite;
    } else {
        e.x_part = XPart::Unavailable;
        e.x_note = "unavailable: the position diffusion is > 0 but no position score was given";
    }

    if (has_div_a && has_sx && has_div_x) {
        e.ibp_includes_x = true;
        for (std::size_t i = 0; i < nn; ++i)
            e.ibp[i] += score.s_x[2 * i] * score.s_x[2 * i] + score.s_x[2 * i + 1] * score.s_x[2 * i + 1] + score.div_x[i];
    } else if (has_div_a) {
        e.ibp_note = "active variables only (no position score divergence)";
    }

    if (!drift.tr_j2.empty()) {
        e.time_step_bias.resize(nn);
        for (std::size_t i = 0; i < nn; ++i) e.time_step_bias[i] = -0.5 * cfg.dt * drift.tr_j2[i];
    }

    // Network-free total: b.D^-1 b + div b per particle. It needs positional
    // noise (D_x = 0 makes the x part infinite) and the drift's divergence,
    // not the score. b_a = 0 wherever D_a = 0 (ABP's b_theta is 0; AOUP's
    // -gamma g with gamma > 0), so a frozen active variable adds nothing.
    if (Dx == 0.0) {
        e.network_free_note = std::string("undefined: ") + (aoup ? "eps" : "D_t") +
                              " = 0 leaves the positions without noise, so the total EPR is infinite (SPEC §2); "
                              "see the active identity instead";
    } else if (!has_drift_div) {
        e.network_free_note = "unavailable: the drift was evaluated without its divergence";
    } else {
        require_finite(drift.b_act, "drift.b_act");
        e.network_free_total.resize(nn);
        if (aoup) {
            for (std::size_t i = 0; i < nn; ++i) {
                double ba = 0;
                for (int c = 0; c < ad; ++c) ba += drift.b_act[i * ad + c] * drift.b_act[i * ad + c];
                const double bx = drift.b_x[2 * i] * drift.b_x[2 * i] + drift.b_x[2 * i + 1] * drift.b_x[2 * i + 1];
                e.network_free_total[i] = bx / Dx + drift.div_x[i] + (Da > 0 ? ba / Da : 0.0) + drift.div_act[i];
            }
        } else {
            // ABP: with b_x = v0 e + F and F = -grad U, stationarity of E[U]
            // gives E|F|^2 + D_t E[div F] = -v0 E[e.F], so the same total is
            // v0 (v0 + e.F) / D_t = v0 e.b_x / D_t per particle. On the Euler
            // chain the |b|^2 form carries an O(dt) excess from the stiff
            // forces (about 10 % at dt = 1e-4, TestEstimators); this one
            // barely moves with dt, and it has less variance.
            for (std::size_t i = 0; i < nn; ++i) {
                const double th = s.act[i];
                e.network_free_total[i] = cfg.v0 * (std::cos(th) * drift.b_x[2 * i] + std::sin(th) * drift.b_x[2 * i + 1]) / Dx;
            }
        }
    }

    // div v = div_x v_x + div_a v_a.
    if (!has_drift_div) {
        e.div_v_note = "unavailable: the drift was evaluated without its divergence";
    } else if (!has_div_a) {
        e.div_v_note = "unavailable: the divergence of the active score was not computed";
    } else if (Dx > 0 && !has_div_x) {
        e.div_v_note = "unavailable: the position diffusion is > 0 and the divergence of the position score was not computed";
    } else {
        e.div_v.resize(nn);
        for (std::size_t i = 0; i < nn; ++i) {
            const double dvx = drift.div_x[i] - (Dx > 0 ? Dx * score.div_x[i] : 0.0);
            const double dva = drift.div_act[i] - Da * score.div_act[i];
            e.div_v[i] = dvx + dva;
        }
    }

    // v . s over all dofs: needs the position score even when D_x = 0,
    // because s_x is not zero there; a partial sum would not have mean 0.
    if (!has_sx) {
        e.v_dot_s_note = "unavailable: E[v.s] needs the position score s_x, which the model does not learn when " +
                         std::string(aoup ? "eps" : "D_t") + " = 0 (or was not given)";
    } else if (e.v_x.empty()) {
        e.v_dot_s_note = "unavailable: v_x is unknown";
    } else {
        e.v_dot_s.resize(nn);
        for (std::size_t i = 0; i < nn; ++i) {
            double q = e.v_x[2 * i] * score.s_x[2 * i] + e.v_x[2 * i + 1] * score.s_x[2 * i + 1];
            for (int c = 0; c < ad; ++c) q += e.v_act[i * ad + c] * score.s_act[i * ad + c];
            e.v_dot_s[i] = q;
        }
    }
    if (e.x_part == XPart::Finite && has_div_x && !drift.div_x.empty()) {
        e.sigma_x_div.resize(nn);
        for (std::size_t i = 0; i < nn; ++i)
            e.sigma_x_div[i] = (e.v_x[2 * i] * drift.b_x[2 * i] + e.v_x[2 * i + 1] * drift.b_x[2 * i + 1]) / Dx + drift.div_x[i] -
                               Dx * score.div_x[i];
    }
    if (!e.div_v.empty() && !e.v_dot_s.empty()) {
        e.residual.resize(nn);
        for (std::size_t i = 0; i < nn; ++i) e.residual[i] = e.div_v[i] + e.v_dot_s[i];
    }
    return e;
}

SnapshotTotals snapshot_totals(const ParticleEstimates& e) {
    SnapshotTotals t;
    t.epr_active = sum(e.sigma_sq);
    if (e.sigma_sq.empty()) t.epr_active = 0.0;
    t.epr_active_div = sum(e.sigma_div);
    t.gap = e.sigma_div.empty() ? kNaN : t.epr_active - t.epr_active_div;
    switch (e.x_part) {
        case XPart::Finite: t.epr_x = sum(e.sigma_x); break;
        case XPart::Infinite: t.epr_x = kInf; break;
        case XPart::Unavailable: t.epr_x = kNaN; break;
    }
    t.epr_total = t.epr_active + t.epr_x;
    switch (e.x_part) {
        case XPart::Finite: t.epr_x_div = sum(e.sigma_x_div); break;  // NaN when empty
        case XPart::Infinite: t.epr_x_div = kInf; break;
        case XPart::Unavailable: t.epr_x_div = kNaN; break;
    }
    t.epr_active_lin = sum(e.sigma_lin);
    t.epr_total_div = t.epr_active_lin + t.epr_x_div;
    t.ibp = sum(e.ibp);
    t.div_v = sum(e.div_v);
    t.v_dot_s = sum(e.v_dot_s);
    t.residual = sum(e.residual);
    t.epr_active_exact = sum(e.contraction);
    t.time_step_bias = sum(e.time_step_bias);
    t.epr_total_network_free = sum(e.network_free_total);
    return t;
}

// ---------------------------------------------------------------------------

EstimatorAccumulator::EstimatorAccumulator(int n, std::vector<int> types) : n_(n) {
    if (n < 1) throw ConfigError("n", "the accumulator needs n >= 1, got " + std::to_string(n));
    if (!types.empty() && static_cast<int>(types.size()) != n)
        throw ConfigError("types", "a type for each of the " + std::to_string(n) + " particles needed, got " + std::to_string(types.size()));
    if (types.empty()) types.assign(static_cast<std::size_t>(n), 0);
    std::map<int, std::vector<int>> members;
    for (int i = 0; i < n; ++i) members[types[static_cast<std::size_t>(i)]].push_back(i);
    for (auto& [t, m] : members) {
        TypeSeries ts;
        ts.type = t;
        ts.members = std::move(m);
        types_.push_back(std::move(ts));
    }
    clear();
}

void EstimatorAccumulator::clear() {
    count_ = 0;
    for (Series* s : {&epr_active_, &epr_active_div_, &gap_, &epr_x_, &epr_total_, &epr_x_div_, &epr_active_lin_, &epr_total_div_, &ibp_, &div_v_,
                      &v_dot_s_, &residual_, &epr_active_exact_, &time_step_bias_, &epr_total_network_free_})
        *s = Series{};
    for (PerParticle* p : {&sq_, &div_, &x_}) {
        p->sum.assign(static_cast<std::size_t>(n_), 0.0);
        p->sum2.assign(static_cast<std::size_t>(n_), 0.0);
        p->count = 0;
    }
    for (TypeSeries& t : types_) t.active = t.active_div = t.x = Series{};
    last_notes_ = ParticleEstimates{};
}

void EstimatorAccumulator::push(Series& s, double v) {
    if (std::isnan(v)) return;
    if (std::isinf(v)) {
        ++s.infinite;
        return;
    }
    s.values.push_back(v);
}

void EstimatorAccumulator::push(PerParticle& p, const std::vector<double>& v) {
    if (v.empty()) return;
    for (std::size_t i = 0; i < v.size(); ++i) {
        p.sum[i] += v[i];
        p.sum2[i] += v[i] * v[i];
    }
    ++p.count;
}

void EstimatorAccumulator::add(const ParticleEstimates& e) {
    if (e.n != n_) throw ConfigError("n", "estimates for " + std::to_string(e.n) + " particles added to an accumulator for " + std::to_string(n_));
    const SnapshotTotals t = snapshot_totals(e);
    push(epr_active_, t.epr_active);
    push(epr_active_div_, t.epr_active_div);
    push(gap_, t.gap);
    push(epr_x_, t.epr_x);
    push(epr_total_, t.epr_total);
    push(epr_x_div_, t.epr_x_div);
    push(epr_active_lin_, t.epr_active_lin);
    push(epr_total_div_, t.epr_total_div);
    push(ibp_, t.ibp);
    push(div_v_, t.div_v);
    push(v_dot_s_, t.v_dot_s);
    push(residual_, t.residual);
    push(epr_active_exact_, t.epr_active_exact);
    push(time_step_bias_, t.time_step_bias);
    push(epr_total_network_free_, t.epr_total_network_free);
    push(sq_, e.sigma_sq);
    push(div_, e.sigma_div);
    push(x_, e.sigma_x);
    // Per type: the mean per particle of the type in this snapshot (NaN
    // where the estimator is unavailable, +inf for an infinite x part).
    auto type_mean = [](const std::vector<double>& v, const std::vector<int>& members) {
        if (v.empty()) return kNaN;
        double sum = 0;
        for (int i : members) sum += v[static_cast<std::size_t>(i)];
        return sum / static_cast<double>(members.size());
    };
    for (TypeSeries& t : types_) {
        push(t.active, type_mean(e.sigma_sq, t.members));
        push(t.active_div, type_mean(e.sigma_div, t.members));
        push(t.x, e.x_part == XPart::Infinite ? kInf : type_mean(e.sigma_x, t.members));
    }
    last_notes_.x_part = e.x_part;
    last_notes_.x_note = e.x_note;
    last_notes_.sigma_div_note = e.sigma_div_note;
    last_notes_.ibp_note = e.ibp_note;
    last_notes_.div_v_note = e.div_v_note;
    last_notes_.v_dot_s_note = e.v_dot_s_note;
    last_notes_.network_free_note = e.network_free_note;
    ++count_;
}

MeanSe EstimatorAccumulator::stats(const Series& s, int batches) {
    MeanSe r;
    if (s.infinite > 0) {
        // Never mixed with finite values: a config has D_x = 0 or not.
        r.mean = kInf;
        r.se = kNaN;
        r.count = s.infinite;
        return r;
    }
    const auto m = static_cast<std::int64_t>(s.values.size());
    if (m == 0) {
        r.mean = kNaN;
        r.se = kNaN;
        return r;
    }
    if (batches >= 2) return batch_means(s.values, batches);
    double mean = 0;
    for (double v : s.values) mean += v;
    mean /= static_cast<double>(m);
    double var = 0;
    for (double v : s.values) var += (v - mean) * (v - mean);
    r.mean = mean;
    r.count = m;
    r.se = m >= 2 ? std::sqrt(var / static_cast<double>(m - 1) / static_cast<double>(m)) : kNaN;
    return r;
}

void EstimatorAccumulator::per_particle(const PerParticle& p, int n, std::vector<double>& mean, std::vector<double>& se) {
    if (p.count == 0) {
        mean.clear();
        se.clear();
        return;
    }
    const auto un = static_cast<std::size_t>(n);
    mean.resize(un);
    se.resize(un);
    const double c = static_cast<double>(p.count);
    for (std::size_t i = 0; i < un; ++i) {
        const double m = p.sum[i] / c;
        mean[i] = m;
        // Var from sums of squares: fine for O(1) quantities over < 1e7 snapshots.
        const double var = p.count >= 2 ? std::max(0.0, (p.sum2[i] - c * m * m) / (c - 1)) : kNaN;
        se[i] = std::sqrt(var / c);
    }
}

EstimatorAccumulator::Summary EstimatorAccumulator::summary(int batches) const {
    Summary out;
    out.snapshots = count_;
    out.epr_active = stats(epr_active_, batches);
    out.epr_active_div = stats(epr_active_div_, batches);
    out.gap = stats(gap_, batches);
    out.epr_x = stats(epr_x_, batches);
    out.epr_total = stats(epr_total_, batches);
    out.epr_x_div = stats(epr_x_div_, batches);
    out.epr_active_lin = stats(epr_active_lin_, batches);
    out.epr_total_div = stats(epr_total_div_, batches);
    out.ibp = stats(ibp_, batches);
    out.div_v = stats(div_v_, batches);
    out.v_dot_s = stats(v_dot_s_, batches);
    out.residual = stats(residual_, batches);
    out.epr_active_exact = stats(epr_active_exact_, batches);
    out.time_step_bias = stats(time_step_bias_, batches);
    out.epr_total_network_free = stats(epr_total_network_free_, batches);
    per_particle(sq_, n_, out.sigma_sq_mean, out.sigma_sq_se);
    per_particle(div_, n_, out.sigma_div_mean, out.sigma_div_se);
    per_particle(x_, n_, out.sigma_x_mean, out.sigma_x_se);
    for (const TypeSeries& t : types_) {
        Summary::TypeMeans m;
        m.type = t.type;
        m.particles = static_cast<int>(t.members.size());
        m.active = stats(t.active, batches);
        m.active_div = stats(t.active_div, batches);
        m.x = stats(t.x, batches);
        out.per_type.push_back(m);
    }
    out.x_part = last_notes_.x_part;
    out.x_note = last_notes_.x_note;
    out.sigma_div_note = last_notes_.sigma_div_note;
    out.ibp_note = last_notes_.ibp_note;
    out.div_v_note = last_notes_.div_v_note;
    out.v_dot_s_note = last_notes_.v_dot_s_note;
    out.network_free_note = last_notes_.network_free_note;
    return out;
}

// ---------------------------------------------------------------------------

LinearExactScore::LinearExactScore(const Config& cfg) : cfg_(cfg) {
    cfg_.finalize();
    if (!cfg_.is_linear())
        throw ConfigError("interaction", "exact scores exist only for linear AOUP systems (model \"aoup\", interaction \"none\")");
    const int n = cfg_.n;
    const auto nn = static_cast<std::size_t>(n);
    // Rank of each particle inside its spring-graph component: probing all
    // particles of one rank at once hits each component in at most one
    // particle, so the response of a probed particle is its own diagonal.
    std::vector<int> parent(nn);
    std::iota(parent.begin(), parent.end(), 0);
    auto find = [&](int a) {
        while (parent[static_cast<std::size_t>(a)] != a) a = parent[static_cast<std::size_t>(a)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(a)])];
        return a;
    };
    for (const auto& sp : cfg_.springs) parent[static_cast<std::size_t>(find(sp.i))] = find(sp.j);
    std::vector<int> rank(nn), seen(nn, 0);
    int colours = 0;
    for (int i = 0; i < n; ++i) {
        rank[static_cast<std::size_t>(i)] = seen[static_cast<std::size_t>(find(i))]++;
        colours = std::max(colours, rank[static_cast<std::size_t>(i)] + 1);
    }
    State probe;
    probe.box = cfg_.box;
    probe.types.resize(nn);
    for (int i = 0; i < n; ++i) probe.types[static_cast<std::size_t>(i)] = cfg_.type_of(i);
    probe.image.assign(2 * nn, 0);
    const double hL = 0.5 * cfg_.box;
    const double h = std::min(1.0, 0.25 * cfg_.box);
    div_act_.assign(nn, 0.0);
    div_x_.assign(nn, 0.0);
    for (int c = 0; c < colours; ++c) {
        // g probe: z = unit g on rank-c particles (both Cartesian components).
        probe.x.assign(2 * nn, hL);
        probe.act.assign(2 * nn, 0.0);
        for (std::size_t i = 0; i < nn; ++i)
            if (rank[i] == c) probe.act[2 * i] = probe.act[2 * i + 1] = 1.0;
        const ExactScore sg = exact_score(cfg_, probe);
        for (std::size_t i = 0; i < nn; ++i)
            if (rank[i] == c) div_act_[i] = sg.s_g[2 * i] + sg.s_g[2 * i + 1];
        // x probe: displace rank-c particles by h from the trap centre.
        probe.act.assign(2 * nn, 0.0);
        for (std::size_t i = 0; i < nn; ++i)
            if (rank[i] == c) probe.x[2 * i] = probe.x[2 * i + 1] = hL + h;
        const ExactScore sx = exact_score(cfg_, probe);
        for (std::size_t i = 0; i < nn; ++i)
            if (rank[i] == c) div_x_[i] = (sx.s_x[2 * i] + sx.s_x[2 * i + 1]) / h;
    }
}

ScoreOutput LinearExactScore::operator()(const State& s, bool with_position_score) const {
    const ExactScore e = exact_score(cfg_, s);
    ScoreOutput out;
    out.n = cfg_.n;
    out.active_dim = 2;
    out.s_act = e.s_g;
    out.div_act = div_act_;
    if (with_position_score) {
        out.s_x = e.s_x;
        out.div_x = div_x_;
    }
    return out;
}

}  // namespace entroscope

#include "render/colour_rules.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "entroscope/session/frame.hpp"
#include "render/particle_scene.hpp"

namespace entroscope::render {

namespace {

constexpr double kPi = 3.14159265358979323846;

// UTF-8 pieces (written out so the source stays ASCII).
const char* const kSigmaI = "\xCF\x83\xE1\xB5\xA2";  // σᵢ
const char* const kPhi = "\xCF\x86";                 // φ
const char* const kSquared = "\xC2\xB2";             // ²

// The learned values of frame.state, or null with the reason.
const Evaluation* learned_of_state(const Frame& frame, std::string& reason)
{
    const Evaluation* e = frame.learned.get();
    if (!e) {
        reason = frame.training.enabled || frame.training.failed
                     ? "no estimate of this state yet"
                     : "no network (training is off)";
        return nullptr;
    }
    if (!frame.state || !e->state) {
        reason = "the learned values name no state";
        return nullptr;
    }
    const State& a = *frame.state;
    const State& b = *e->state;
    const bool same = e->state == frame.state ||
                      (a.step == b.step && a.time == b.time && a.n() == b.n() && e->physics_tag == frame.physics_tag);
    if (!same) {
        reason = "the learned values are of another state";
        return nullptr;
    }
    return e;
}

std::vector<float> to_float(const std::vector<double>& v)
{
    return std::vector<float>(v.begin(), v.end());
}

ColourRange widen(double lo, double hi, bool symmetric)
{
    ColourRange r;
    if (symmetric) {
        const double m = std::max(std::abs(lo), std::abs(hi));
        r.lo = m > 0.0 && std::isfinite(m) ? -m : -1.0;
        r.hi = -r.lo;
        return r;
    }
    if (hi < lo) {
        std::swap(lo, hi);
    }
    if (!(hi > lo)) {
        const double d = lo != 0.0 ? 0.5 * std::abs(lo) : 0.5;
        lo -= d;
        hi += d;
    }
    r.lo = lo;
    r.hi = hi;
    return r;
}

std::string fmt(const char* format, double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

}  // namespace

// ---------------------------------------------------------------------------
// Quantities

const std::vector<Quantity>& all_quantities()
{
    static const std::vector<Quantity> all = {Quantity::ActiveAngle,   Quantity::SigmaSq,      Quantity::SigmaDiv,
                                              Quantity::ActiveSpeed,   Quantity::PositionSpeed, Quantity::LocalDensity,
                                              Quantity::ParticleType};
    return all;
}

QuantityInfo quantity_info(Quantity q, ModelKind model, bool unicode)
{
    QuantityInfo info;
    info.quantity = q;
    const std::string sigma = unicode ? kSigmaI : "sigma_i";
    switch (q) {
    case Quantity::ActiveAngle:
        info.key = "angle";
        info.name = "active angle";
        info.units = "rad";
        info.cyclic = true;
        info.map = ColourMapKind::Cyclic;
        break;
    case Quantity::SigmaSq:
        info.key = "sigma_sq";
        info.name = sigma + (unicode ? std::string(" (|v|") + kSquared + " estimator)" : " (|v|^2 estimator)");
        info.units = "1/t";
        info.learned = true;
        info.map = ColourMapKind::Sequential;
        break;
    case Quantity::SigmaDiv:
        info.key = "sigma_div";
        info.name = sigma + " (div v estimator)";
        info.units = "1/t";
        info.learned = true;
        info.is_signed = true;
        info.map = ColourMapKind::Diverging;
        break;
    case Quantity::ActiveSpeed:
        info.key = "speed";
        info.name = "|v_act|";
        info.units = model == ModelKind::Aoup ? (unicode ? "L/t\xC2\xB2" : "L/t^2") : "rad/t";
        info.learned = true;
        info.map = ColourMapKind::Sequential;
        break;
    case Quantity::PositionSpeed:
        info.key = "speed_x";
        info.name = "|v_x|";
        info.units = "L/t";
        info.learned = true;
        info.map = ColourMapKind::Sequential;
        break;
    case Quantity::LocalDensity:
        info.key = "density";
        info.name = std::string("local ") + (unicode ? kPhi : "phi");
        info.map = ColourMapKind::Sequential;
        break;
    case Quantity::ParticleType:
        info.key = "type";
        info.name = "particle type";
        info.discrete = true;
        info.map = ColourMapKind::Sequential;
        break;
    }
    return info;
}

std::optional<Quantity> quantity_from_key(const std::string& key)
{
    for (Quantity q : all_quantities()) {
        if (quantity_info(q, ModelKind::Aoup, false).key == key) {
            return q;
        }
    }
    return std::nullopt;
}

std::string legend_title(Quantity q, ModelKind model, bool unicode)
{
    const QuantityInfo info = quantity_info(q, model, unicode);
    // The legend is narrow: "sigma_i (1/t)" above "|v|^2 estimator".
    std::string name = info.name;
    std::string detail;
    if (const auto open = name.find(" ("); open != std::string::npos && name.back() == ')') {
        detail = name.substr(open + 2, name.size() - open - 3);
        name.erase(open);
    }
    std::string title = info.units.empty() ? name : name + " (" + info.units + ")";
    return detail.empty() ? title : title + "\n" + detail;
}

QuantityValues quantity_values(const Frame& frame, Quantity q)
{
    QuantityValues out;
    if (!frame.state) {
        out.reason = "the frame has no state";
        return out;
    }
    const State& s = *frame.state;
    const int n = s.n();
    const auto un = static_cast<std::size_t>(n);
    if (n == 0) {
        out.reason = "no particles";
        return out;
    }
    const QuantityInfo info = quantity_info(q, frame.config.model, false);
    if (!info.learned) {
        switch (q) {
        case Quantity::ActiveAngle:
            if (s.act.empty() || s.act.size() % un != 0) {
                out.reason = "the state has no active variables";
                return out;
            }
            out.values.resize(un);
            for (int i = 0; i < n; ++i) {
                out.values[static_cast<std::size_t>(i)] = static_cast<float>(active_angle(s, i));
            }
            break;
        case Quantity::LocalDensity:
            out.values = local_area_fraction(s, frame.config);
            break;
        case Quantity::ParticleType:
            out.values.assign(s.types.begin(), s.types.end());
            break;
        default:
            break;
        }
        return out;
    }

    const Evaluation* e = learned_of_state(frame, out.reason);
    if (!e) {
        return out;
    }
    const auto sized = [&](const std::vector<double>& v, std::size_t per, const char* what) {
        if (v.empty()) {
            out.reason = std::string(what) + " not computed for this state";
            return false;
        }
        if (v.size() != per * un) {
            out.reason = std::string(what) + " has the wrong size for this state";
            return false;
        }
        return true;
    };
    switch (q) {
    case Quantity::SigmaSq:
        if (sized(e->sigma_sq, 1, "sigma_i (|v|^2)")) out.values = to_float(e->sigma_sq);
        break;
    case Quantity::SigmaDiv:
        if (e->sigma_div.empty() && !e->with_divergence) {
            out.reason = "this estimate has no divergences";
        } else if (sized(e->sigma_div, 1, "sigma_i (div v)")) {
            out.values = to_float(e->sigma_div);
        }
        break;
    case Quantity::ActiveSpeed: {
        const std::size_t dim = s.act.size() / un;
        if (dim == 0) {
            out.reason = "the state has no active variables";
        } else if (sized(e->v_act, dim, "v_act")) {
            out.values.resize(un);
            for (std::size_t i = 0; i < un; ++i) {
                double sq = 0.0;
                for (std::size_t c = 0; c < dim; ++c) {
                    sq += e->v_act[i * dim + c] * e->v_act[i * dim + c];
                }
                out.values[i] = static_cast<float>(std::sqrt(sq));
            }
        }
        break;
    }
    case Quantity::PositionSpeed:
        if (e->v_x.empty() && e->x_part == XPart::Infinite) {
            out.reason = "v_x is not learned without positional noise";
        } else if (sized(e->v_x, 2, "v_x")) {
            out.values.resize(un);
            for (std::size_t i = 0; i < un; ++i) out.values[i] = static_cast<float>(std::hypot(e->v_x[2 * i], e->v_x[2 * i + 1]));
        }
        break;
    default:
        break;
    }
    if (!out.values.empty()) {
        out.from_learned = true;
        out.network_step = e->network_step;
    }
    return out;
}

// ---------------------------------------------------------------------------
// Colour ranges

double quantile(std::vector<float> v, double p)
{
    v.erase(std::remove_if(v.begin(), v.end(), [](float x) { return !std::isfinite(x); }), v.end());
    if (v.empty() || !(p >= 0.0 && p <= 1.0)) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    const double pos = p * static_cast<double>(v.size() - 1);
    const auto k = static_cast<std::size_t>(std::floor(pos));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    const double a = v[k];
    if (k + 1 >= v.size()) {
        return a;
    }
    // The next order statistic is the smallest of those above k.
    const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(k) + 1, v.end());
    return a + (pos - static_cast<double>(k)) * (b - a);
}

ColourRange colour_range(const std::vector<float>& values, const RangeRule& rule, bool symmetric)
{
    std::string note;
    if (rule.mode == RangeMode::Fixed) {
        if (std::isfinite(rule.lo) && std::isfinite(rule.hi)) {
            return widen(rule.lo, rule.hi, false);
        }
        note = "the fixed range is not finite; using the 5-95 % quantiles";
    }
    std::vector<float> finite;
    finite.reserve(values.size());
    for (float x : values) {
        if (std::isfinite(x)) finite.push_back(x);
    }
    ColourRange r;
    if (finite.empty()) {
        r = symmetric ? widen(1.0, 1.0, true) : widen(0.0, 1.0, false);
        r.note = note.empty() ? "no finite values" : note + "; no finite values";
        return r;
    }
    const bool p99 = rule.mode == RangeMode::Quantiles0To99;
    const double lo = p99 ? *std::min_element(finite.begin(), finite.end()) : quantile(finite, 0.05);
    const double hi = quantile(finite, p99 ? 0.99 : 0.95);
    r = widen(lo, hi, symmetric);
    r.finite = static_cast<int>(finite.size());
    r.note = note;
    return r;
}

ColourRange colour_range(Quantity q, const std::vector<float>& values, const RangeRule& rule)
{
    const QuantityInfo info = quantity_info(q, ModelKind::Aoup, false);
    if (info.cyclic) {
        ColourRange r;
        r.lo = -kPi;
        r.hi = kPi;
        r.finite = static_cast<int>(std::count_if(values.begin(), values.end(), [](float x) { return std::isfinite(x); }));
        return r;
    }
    if (info.discrete && rule.mode != RangeMode::Fixed) {
        float lo = std::numeric_limits<float>::infinity(), hi = -lo;
        int finite = 0;
        for (float x : values) {
            if (std::isfinite(x)) {
                lo = std::min(lo, x);
                hi = std::max(hi, x);
                ++finite;
            }
        }
        ColourRange r = finite > 0 ? widen(lo, hi, false) : widen(0.0, 1.0, false);
        r.finite = finite;
        if (finite == 0) r.note = "no finite values";
        return r;
    }
    return colour_range(values, rule, info.is_signed && rule.mode != RangeMode::Fixed);
}

// ---------------------------------------------------------------------------
// Captions

std::string caption(const Frame& frame, Quantity q, bool unicode)
{
    const Config& c = frame.config;
    const bool aoup = c.model == ModelKind::Aoup;
    std::string text = aoup ? "AOUP" : "ABP";
    text += "    N = " + std::to_string(frame.state ? frame.state->n() : c.n);
    text += std::string("    ") + (unicode ? kPhi : "phi") + " = " + fmt("%.3f", c.phi) + (aoup ? " (nominal)" : "");
    text += "    Pe = " + fmt("%.1f", c.peclet());
    if (aoup) {
        text += unicode ? " [v\xE2\x82\x80/(2r\xE2\x82\x80\xCE\xB3)]" : " [v0/(2 r0 gamma)]";  // v₀/(2r₀γ)
    } else {
        text += unicode ? " [3v\xE2\x82\x80/(\xCF\x83" "D\xE1\xB5\xA3)]" : " [3 v0/(sigma D_r)]";  // 3v₀/(σDᵣ)
    }
    if (frame.state) {
        text += "    L = " + fmt("%.1f", frame.state->box);
        text += "\nt = " + fmt("%.6g", frame.state->time) + "    step " +
                std::to_string(static_cast<unsigned long long>(frame.state->step));
    }
    if (q == Quantity::ActiveAngle) {
        return text;
    }
    const QuantityInfo info = quantity_info(q, c.model, unicode);
    text += "\ncolour: " + info.name;
    if (!info.learned) {
        return text;
    }
    std::string reason;
    if (!learned_of_state(frame, reason)) {
        if (!frame.training.enabled && !frame.training.failed) {
            text += ", no network (training is off)";
        } else if (frame.training.failed) {
            text += ", no estimate of this state (training stopped)";
        } else {
            text += ", waiting for the first estimate of this state";
        }
        return text;
    }
    const QuantityValues v = quantity_values(frame, q);
    if (!v.available()) {
        return text + ": " + v.reason;
    }
    return text + " of this state, network step " + std::to_string(static_cast<unsigned long long>(v.network_step));
}

std::string caption(const Frame& frame, Quantity q)
{
    return caption(frame, q, ParticleScene::unicodeText());
}

}  // namespace entroscope::render

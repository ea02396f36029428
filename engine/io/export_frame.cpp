#include "entroscope/io/export_frame.hpp"

#include <charconv>
#include <cmath>

#include "entroscope/core/errors.hpp"

namespace entroscope {

const char* active_name(const Config& cfg) { return cfg.model == ModelKind::Abp ? "theta" : "g"; }

void check_export_frame(const std::string& path, const Config& cfg, const ExportFrame& f) {
    if (f.state == nullptr) throw IoError(path + ": export frame without a state");
    const State& s = *f.state;
    const std::size_t n = static_cast<std::size_t>(cfg.n);
    if (s.types.size() != n || s.x.size() != 2 * n || s.image.size() != 2 * n ||
        s.act.size() != n * static_cast<std::size_t>(cfg.active_dim()))
        throw IoError(path + ": frame at step " + std::to_string(s.step) + " does not fit the config (n = " +
                      std::to_string(cfg.n) + ", " + std::to_string(cfg.active_dim()) + " active component(s))");
}

std::vector<ParticleColumn> particle_columns(const Config& cfg, const ExportFrame& f) {
    const std::size_t n = f.state->types.size();
    std::vector<ParticleColumn> cols;
    cols.push_back({active_name(cfg), cfg.active_dim(), &f.state->act});
    if (f.learned == nullptr) return cols;
    const Evaluation& e = *f.learned;
    auto add = [&](const char* name, int comps, const std::vector<double>& v) {
        if (v.empty()) return;
        if (v.size() != n * static_cast<std::size_t>(comps))
            throw IoError(std::string("learned column ") + name + " has " + std::to_string(v.size()) + " numbers for " +
                          std::to_string(n) + " particles (an evaluation of another state?)");
        cols.push_back({name, comps, &v});
    };
    add("sigma_sq", 1, e.sigma_sq);
    add("sigma_div", 1, e.sigma_div);
    if (e.x_part == XPart::Finite) add("sigma_x", 1, e.sigma_x);
    add("v_x", 2, e.v_x);
    add("v_act", cfg.active_dim(), e.v_act);
    return cols;
}

void append_number(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "nan";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "inf" : "-inf";
        return;
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_number(std::string& out, std::int64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

}  // namespace entroscope

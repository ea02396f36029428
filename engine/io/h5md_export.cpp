#include "entroscope/io/h5md_export.hpp"

#include <cstring>

namespace entroscope {

void append_h5md_frame(H5mdWriter& w, const Config& cfg, const ExportFrame& f, const GlobalEstimate* est)
{
    check_export_frame(w.path(), cfg, f);
    const State& s = *f.state;
    w.append(s);
    for (const auto& c : particle_columns(cfg, f))
        if (std::strcmp(c.name.c_str(), active_name(cfg)) != 0) w.append_per_particle(c.name, *c.values, c.components);
    if (!f.learned) return;
    const double n = static_cast<double>(cfg.n);
    w.append_observable("epr_active", s.step, s.time, {f.learned->totals.epr_active / n});
    w.append_observable("epr_active_div", s.step, s.time, {f.learned->totals.epr_active_div / n});
    if (!est || est->evaluations == 0) return;
    const std::vector<std::string> ms{"mean", "se"};
    w.append_observable("epr_active_estimate", s.step, s.time, {est->epr_active.mean, est->epr_active.se}, ms);
    w.append_observable("epr_active_div_estimate", s.step, s.time, {est->epr_active_div.mean, est->epr_active_div.se}, ms);
    if (est->x_part == XPart::Finite) {
        w.append_observable("epr_x_estimate", s.step, s.time, {est->epr_x.mean, est->epr_x.se}, ms);
        w.append_observable("epr_total_estimate", s.step, s.time, {est->epr_total.mean, est->epr_total.se}, ms);
    }
}

}  // namespace entroscope

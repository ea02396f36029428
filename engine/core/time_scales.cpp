#include "entroscope/core/time_scales.hpp"

#include <cmath>

#include "entroscope/core/config.hpp"

namespace entroscope {

DecorrelationTime decorrelation_time(const Config& cfg) {
    DecorrelationTime out;
    double fastest = 0.0;  // the largest rate
    auto offer = [&](double rate, const char* what) {
        if (std::isfinite(rate) && rate > fastest) {
            fastest = rate;
            out.set_by = what;
        }
    };
    if (cfg.model == ModelKind::Aoup) offer(cfg.gamma, "the active force's persistence 1/gamma");
    else offer(cfg.D_r, "rotational diffusion 1/D_r");
    for (const double k : cfg.trap_stiffness) offer(k, "the stiffest trap's relaxation 1/k");
    for (const Spring& s : cfg.springs) offer(2.0 * s.kappa, "the stiffest spring's relaxation 1/(2 kappa)");
    if (cfg.pair_cutoff() > 0.0) {
        const double d = cfg.model == ModelKind::Aoup ? 2.0 * cfg.r0 : cfg.sigma;
        offer(cfg.v0 / d, "the time to move one diameter at v0");
        offer(4.0 * cfg.position_diffusion() / (d * d), "the time to diffuse one diameter");
    }
    out.time = fastest > 0.0 ? 1.0 / fastest : 0.0;
    if (fastest <= 0.0) out.set_by.clear();
    return out;
}

std::uint64_t decorrelation_steps(const Config& cfg, std::uint64_t fallback) {
    const double t = decorrelation_time(cfg).time;
    if (!(t > 0.0) || !(cfg.dt > 0.0)) return fallback;
    const double steps = std::ceil(t / cfg.dt * (1.0 - 1e-12));
    if (!(steps < 1e15)) return fallback;
    return steps < 1.0 ? 1 : static_cast<std::uint64_t>(steps);
}

}  // namespace entroscope

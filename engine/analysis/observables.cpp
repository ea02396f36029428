#include "entroscope/analysis/observables.hpp"

#include <cmath>
#include <string>

#include "entroscope/core/errors.hpp"

namespace entroscope {

MsdRecorder::MsdRecorder(const State& origin) : u0_(origin.unwrapped()), t0_(origin.time) {}

double MsdRecorder::record(const State& s) {
    if (s.x.size() != u0_.size()) throw ConfigError("n", "MSD: the particle count changed");
    const std::size_t n = u0_.size() / 2;
    double acc = 0.0;
    for (std::size_t k = 0; k < u0_.size(); ++k) {
        const double d = s.x[k] + static_cast<double>(s.image[k]) * s.box - u0_[k];
        acc += d * d;
    }
    const double v = acc / static_cast<double>(n);
    t_.push_back(s.time - t0_);
    v_.push_back(v);
    return v;
}

double mean_sq_position(const State& s) {
    const double L = s.box, hL = 0.5 * L;
    double acc = 0.0;
    for (double x : s.x) {
        double d = x - hL;
        if (d >= hL) d -= L;
        else if (d < -hL) d += L;
        acc += d * d;
    }
    return acc / static_cast<double>(s.n());
}

std::vector<double> density_grid(const State& s, int bins) {
    if (bins < 1) throw ConfigError("bins", "must be >= 1, got " + std::to_string(bins));
    std::vector<double> g(static_cast<std::size_t>(bins) * static_cast<std::size_t>(bins), 0.0);
    const double h = s.box / bins;
    const double inv_area = 1.0 / (h * h);
    for (int i = 0; i < s.n(); ++i) {
        int cx = static_cast<int>(s.x[2 * static_cast<std::size_t>(i)] / h);
        int cy = static_cast<int>(s.x[2 * static_cast<std::size_t>(i) + 1] / h);
        cx = std::min(std::max(cx, 0), bins - 1);
        cy = std::min(std::max(cy, 0), bins - 1);
        g[static_cast<std::size_t>(cy) * static_cast<std::size_t>(bins) + static_cast<std::size_t>(cx)] += inv_area;
    }
    return g;
}

MeanSe batch_means(const std::vector<double>& series, int batches) {
    MeanSe r;
    r.count = static_cast<std::int64_t>(series.size());
    if (series.empty()) return r;
    double sum = 0.0;
    for (double v : series) sum += v;
    r.mean = sum / static_cast<double>(series.size());
    const std::size_t per = series.size() / static_cast<std::size_t>(std::max(batches, 2));
    if (per == 0) {
        r.se = std::nan("");
        return r;
    }
    const int nb = static_cast<int>(series.size() / per);
    std::vector<double> means;
    for (int b = 0; b < nb; ++b) {
        double m = 0.0;
        for (std::size_t k = 0; k < per; ++k) m += series[static_cast<std::size_t>(b) * per + k];
        means.push_back(m / static_cast<double>(per));
    }
    double mm = 0.0;
    for (double m : means) mm += m;
    mm /= static_cast<double>(means.size());
    double var = 0.0;
    for (double m : means) var += (m - mm) * (m - mm);
    var /= static_cast<double>(means.size() - 1);
    r.se = std::sqrt(var / static_cast<double>(means.size()));
    return r;
}

}  // namespace entroscope

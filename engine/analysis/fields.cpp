#include "entroscope/analysis/fields.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "entroscope/core/errors.hpp"

namespace entroscope {

namespace {
constexpr double kTwoPi = 6.283185307179586476925;
}

FieldOptions field_options_for(const Config& cfg, int bins) {
    FieldOptions o;
    o.bins = bins;
    o.width = cfg.model == ModelKind::Aoup ? 2.0 * cfg.r0 : cfg.sigma;
    return o;
}

KernelGrid::KernelGrid(const State& s, const FieldOptions& opt) {
    if (opt.bins < 1 || opt.bins > 4096) throw ConfigError("bins", "must be in [1, 4096], got " + std::to_string(opt.bins));
    if (!(s.box > 0) || !std::isfinite(s.box)) throw ConfigError("box", "the state has no positive box");
    if (!(opt.width > 0) || !std::isfinite(opt.width)) throw ConfigError("width", "the kernel width must be > 0 and finite");
    if (6.0 * opt.width > s.box)
        throw ConfigError("width", "the kernel (truncated at 3 widths) must be narrower than the box: width " + std::to_string(opt.width) +
                                       " > box / 6 = " + std::to_string(s.box / 6.0));
    if (!(opt.min_count >= 0)) throw ConfigError("min_count", "must be >= 0");
    if (s.x.size() != 2 * static_cast<std::size_t>(s.n())) throw ConfigError("n", "the state's positions do not match its particle count");
    n_ = s.n();
    bins_ = opt.bins;
    box_ = s.box;
    w_ = opt.width;
    min_count_ = opt.min_count;
    const double h = box_ / bins_;
    const int R = std::max(1, static_cast<int>(std::ceil(3.0 * w_ / h)));
    span_ = 2 * R + 1;
    const auto total = static_cast<std::size_t>(n_) * static_cast<std::size_t>(span_);
    ix_.resize(total);
    iy_.resize(total);
    wx_.resize(total);
    wy_.resize(total);
    const double inv2w2 = 1.0 / (2.0 * w_ * w_);
    const double cut = 3.0 * w_;
    auto axis = [&](double x, int* idx, double* wt) {
        const int kn = static_cast<int>(std::floor(x / h));
        // Weights relative to the nearest cell centre (weight 1), so the sum
        // is >= 1 and nothing underflows when w << h.
        const double dn = (kn + 0.5) * h - x;
        double sum = 0.0;
        for (int j = 0; j < span_; ++j) {
            const int k = kn - R + j;
            const double d = (k + 0.5) * h - x;
            const double v = k == kn ? 1.0 : std::fabs(d) <= cut ? std::exp(-(d - dn) * (d + dn) * inv2w2) : 0.0;
            int m = k % bins_;
            if (m < 0) m += bins_;
            idx[j] = m;
            wt[j] = v;
            sum += v;
        }
        const double norm = 1.0 / (sum * h);
        for (int j = 0; j < span_; ++j) wt[j] *= norm;
    };
    for (int i = 0; i < n_; ++i) {
        const auto o = static_cast<std::size_t>(i) * static_cast<std::size_t>(span_);
        axis(s.x[2 * static_cast<std::size_t>(i)], &ix_[o], &wx_[o]);
        axis(s.x[2 * static_cast<std::size_t>(i) + 1], &iy_[o], &wy_[o]);
    }
    rho_.assign(static_cast<std::size_t>(bins_) * static_cast<std::size_t>(bins_), 0.0);
    const std::vector<double> ones(static_cast<std::size_t>(n_), 1.0);
    accumulate(ones.data(), 1, rho_);
}

void KernelGrid::accumulate(const double* q, int comps, std::vector<double>& out) const {
    const auto M = static_cast<std::size_t>(bins_);
    const auto C = static_cast<std::size_t>(comps);
    for (int i = 0; i < n_; ++i) {
        const auto o = static_cast<std::size_t>(i) * static_cast<std::size_t>(span_);
        const double* qi = q + static_cast<std::size_t>(i) * C;
        for (int b = 0; b < span_; ++b) {
            const double wyb = wy_[o + static_cast<std::size_t>(b)];
            if (wyb == 0.0) continue;
            const std::size_t row = static_cast<std::size_t>(iy_[o + static_cast<std::size_t>(b)]) * M;
            for (int a = 0; a < span_; ++a) {
                const double k = wyb * wx_[o + static_cast<std::size_t>(a)];
                if (k == 0.0) continue;
                double* cell = &out[(row + static_cast<std::size_t>(ix_[o + static_cast<std::size_t>(a)])) * C];
                for (std::size_t c = 0; c < C; ++c) cell[c] += k * qi[c];
            }
        }
    }
}

Field KernelGrid::density() const {
    Field f;
    f.bins = bins_;
    f.box = box_;
    f.components = 1;
    f.value = rho_;
    f.mask.assign(rho_.size(), 0);
    return f;
}

std::vector<double> KernelGrid::count() const {
    std::vector<double> c(rho_);
    const double a = kTwoPi * w_ * w_;
    for (double& v : c) v *= a;
    return c;
}

Field KernelGrid::masked_ratio(const std::vector<double>& num, int comps) const {
    Field f;
    f.bins = bins_;
    f.box = box_;
    f.components = comps;
    f.value.assign(num.size(), std::numeric_limits<double>::quiet_NaN());
    f.mask.assign(rho_.size(), 1);
    const double a = kTwoPi * w_ * w_;
    for (std::size_t k = 0; k < rho_.size(); ++k) {
        // rho > 0 guards min_count = 0 against 0/0.
        if (rho_[k] * a < min_count_ || !(rho_[k] > 0)) continue;
        f.mask[k] = 0;
        for (int c = 0; c < comps; ++c)
            f.value[k * static_cast<std::size_t>(comps) + static_cast<std::size_t>(c)] = num[k * static_cast<std::size_t>(comps) + static_cast<std::size_t>(c)] / rho_[k];
    }
    return f;
}

Field KernelGrid::average(const std::vector<double>& q) const {
    if (q.size() != static_cast<std::size_t>(n_))
        throw ConfigError("q", "has " + std::to_string(q.size()) + " values for " + std::to_string(n_) + " particles");
    std::vector<double> num(rho_.size(), 0.0);
    accumulate(q.data(), 1, num);
    return masked_ratio(num, 1);
}

Field KernelGrid::average_vector(const std::vector<double>& v) const {
    if (v.size() != 2 * static_cast<std::size_t>(n_))
        throw ConfigError("v", "has " + std::to_string(v.size()) + " values for " + std::to_string(n_) + " particles (2 per particle)");
    std::vector<double> num(2 * rho_.size(), 0.0);
    accumulate(v.data(), 2, num);
    return masked_ratio(num, 2);
}

Field KernelGrid::current(const std::vector<double>& v) const {
    if (v.size() != 2 * static_cast<std::size_t>(n_))
        throw ConfigError("v", "has " + std::to_string(v.size()) + " values for " + std::to_string(n_) + " particles (2 per particle)");
    Field f;
    f.bins = bins_;
    f.box = box_;
    f.components = 2;
    f.value.assign(2 * rho_.size(), 0.0);
    accumulate(v.data(), 2, f.value);
    f.mask.assign(rho_.size(), 0);
    return f;
}

Field kernel_density(const State& s, const FieldOptions& opt) { return KernelGrid(s, opt).density(); }
Field kernel_average(const State& s, const std::vector<double>& q, const FieldOptions& opt) { return KernelGrid(s, opt).average(q); }
Field kernel_average_vector(const State& s, const std::vector<double>& v, const FieldOptions& opt) {
    return KernelGrid(s, opt).average_vector(v);
}
Field kernel_current(const State& s, const std::vector<double>& v, const FieldOptions& opt) { return KernelGrid(s, opt).current(v); }

}  // namespace entroscope

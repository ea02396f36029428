#include "entroscope/analysis/phase.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "entroscope/core/errors.hpp"

namespace entroscope {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool well_formed(const State& s) {
    const int n = s.n();
    return n > 0 && s.box > 0.0 && std::isfinite(s.box) && s.x.size() == 2 * static_cast<std::size_t>(n);
}

// Calls f(i, j, r2) for every ordered pair (i, j) with |x_i - x_j| <= rc
// (minimum image), i == j included. A cell list of cells at least rc wide
// searched over 3 x 3 blocks; a direct double loop when fewer than three
// cells fit (the block would then visit a cell twice).
template <class F>
void for_each_pair_within(const State& s, double rc, F&& f) {
    const int n = s.n();
    const double L = s.box;
    const double rc2 = rc * rc;
    const auto wrap = [L](double d) { return d - L * std::round(d / L); };
    // More cells than about 4 N only walks empty ones (and a huge sparse box
    // would allocate without bound); wider cells stay correct.
    const double fit = std::floor(L / rc);
    const int cap = std::max(3, 2 * static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n)))));
    const int cells = fit >= 3.0 ? static_cast<int>(std::min<double>(fit, cap)) : 0;
    if (cells < 3) {
        for (int i = 0; i < n; ++i) {
            for (int j = 0; j < n; ++j) {
                const double dx = wrap(s.x[2 * i] - s.x[2 * j]);
                const double dy = wrap(s.x[2 * i + 1] - s.x[2 * j + 1]);
                const double r2 = dx * dx + dy * dy;
                if (r2 <= rc2) f(i, j, r2);
            }
        }
        return;
    }
    const double h = L / cells;
    const auto cell_of = [&](double v) {
        const int c = static_cast<int>(std::floor(v / h));
        return ((c % cells) + cells) % cells;
    };
    std::vector<int> head(static_cast<std::size_t>(cells) * cells, -1), next(static_cast<std::size_t>(n), -1);
    std::vector<int> home(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        const int c = cell_of(s.x[2 * i + 1]) * cells + cell_of(s.x[2 * i]);
        home[i] = c;
        next[i] = head[c];
        head[c] = i;
    }
    for (int i = 0; i < n; ++i) {
        const int cx = home[i] % cells;
        const int cy = home[i] / cells;
        for (int oy = -1; oy <= 1; ++oy) {
            for (int ox = -1; ox <= 1; ++ox) {
                const int c = ((cy + oy + cells) % cells) * cells + (cx + ox + cells) % cells;
                for (int j = head[c]; j >= 0; j = next[j]) {
                    const double dx = wrap(s.x[2 * i] - s.x[2 * j]);
                    const double dy = wrap(s.x[2 * i + 1] - s.x[2 * j + 1]);
                    const double r2 = dx * dx + dy * dy;
                    if (r2 <= rc2) f(i, j, r2);
                }
            }
        }
    }
}

// Union-find with path halving and union by size.
struct Clusters {
    explicit Clusters(int n) : parent(static_cast<std::size_t>(n)), size(static_cast<std::size_t>(n), 1) {
        std::iota(parent.begin(), parent.end(), 0);
    }
    int find(int i) {
        while (parent[i] != i) {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        return i;
    }
    void join(int a, int b) {
        a = find(a);
        b = find(b);
        if (a == b) return;
        if (size[a] < size[b]) std::swap(a, b);
        parent[b] = a;
        size[a] += size[b];
    }
    std::vector<int> parent, size;
};

// Sarle's coefficient from population moments; NaN without spread.
double bimodality(const std::vector<float>& v) {
    const std::size_t n = v.size();
    if (n < 4) return kNaN;
    double mean = 0.0;
    for (float x : v) mean += x;
    mean /= static_cast<double>(n);
    double m2 = 0.0, m3 = 0.0, m4 = 0.0;
    for (float x : v) {
        const double d = x - mean;
        const double d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    m2 /= static_cast<double>(n);
    m3 /= static_cast<double>(n);
    m4 /= static_cast<double>(n);
    // A lattice's values differ only by rounding: no distribution to speak of.
    if (!(m2 > 1e-12 * std::max(1.0, mean * mean))) return kNaN;
    const double g2 = m3 * m3 / (m2 * m2 * m2);
    return (g2 + 1.0) / (m4 / (m2 * m2));
}

// Otsu's split on a 256-bin histogram between the extremes (O(N)); the
// class statistics are then taken from the values themselves.
void two_class_split(const std::vector<float>& v, PhaseIndicators& out) {
    const float lo = *std::min_element(v.begin(), v.end());
    const float hi = *std::max_element(v.begin(), v.end());
    double total = 0.0;
    for (float x : v) total += x;
    out.mean_phi = total / static_cast<double>(v.size());
    if (!(hi > lo)) {
        out.dense_phi = out.dilute_phi = out.mean_phi;
        out.dense_share = 0.0;
        return;
    }
    constexpr int kBins = 256;
    std::vector<double> count(kBins, 0.0), sum(kBins, 0.0);
    const double scale = kBins / (static_cast<double>(hi) - lo);
    for (float x : v) {
        const int b = std::min(kBins - 1, static_cast<int>((x - lo) * scale));
        count[b] += 1.0;
        sum[b] += x;
    }
    const double n = static_cast<double>(v.size());
    double c0 = 0.0, s0 = 0.0, best = -1.0;
    int cut = 0;  // values in bins < cut are dilute
    for (int b = 0; b + 1 < kBins; ++b) {
        c0 += count[b];
        s0 += sum[b];
        const double c1 = n - c0;
        if (c0 == 0.0 || c1 == 0.0) continue;
        const double d = s0 / c0 - (total - s0) / c1;
        const double between = c0 * c1 * d * d;
        if (between > best) {
            best = between;
            cut = b + 1;
        }
    }
    double cd = 0.0, sd = 0.0;
    for (int b = cut; b < kBins; ++b) {
        cd += count[b];
        sd += sum[b];
    }
    out.dense_share = cd / n;
    out.dense_phi = cd > 0.0 ? sd / cd : kNaN;
    out.dilute_phi = n - cd > 0.0 ? (total - sd) / (n - cd) : kNaN;
}

}  // namespace

double particle_diameter(const Config& cfg) { return cfg.model == ModelKind::Aoup ? 2.0 * cfg.r0 : cfg.sigma; }

std::vector<float> local_area_fraction(const State& s, const Config& cfg, double w) {
    const int n = s.n();
    std::vector<float> out(static_cast<std::size_t>(n), std::numeric_limits<float>::quiet_NaN());
    if (!well_formed(s)) return out;
    if (!(w > 0.0)) w = particle_diameter(cfg);
    const double inv2w2 = 1.0 / (2.0 * w * w);
    // Renormalised for the cut at 3 w (which keeps 1 - e^{-9/2} of the kernel).
    const double norm = cfg.particle_area() / (2.0 * kPi * w * w * (1.0 - std::exp(-4.5)));
    std::vector<double> sum(static_cast<std::size_t>(n), 0.0);
    for_each_pair_within(s, 3.0 * w, [&](int i, int, double r2) { sum[i] += std::exp(-r2 * inv2w2); });
    for (int i = 0; i < n; ++i) out[i] = static_cast<float>(norm * sum[i]);
    return out;
}

bool is_separated(double largest_cluster_fraction, double density_bimodality, const PhaseOptions& opt) {
    // NaN compares false: no spread is not bimodal.
    return density_bimodality > opt.min_bimodality && largest_cluster_fraction > opt.min_cluster;
}

std::string phase_criterion(const PhaseOptions& opt) {
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "separated when the bimodality coefficient of the local area fraction (kernel width %s) exceeds %.3g "
                  "and the largest cluster (particles with local area fraction > %.3g within %.3g diameters) holds "
                  "more than %.3g of the particles",
                  opt.width > 0.0 ? (std::to_string(opt.width) + " length units").c_str() : "one diameter",
                  opt.min_bimodality, opt.dense_phi, opt.contact, opt.min_cluster);
    return buf;
}

const char* phase_label(bool separated) { return separated ? "separated" : "homogeneous"; }

PhaseIndicators phase_indicators(const State& s, const Config& cfg, const PhaseOptions& opt) {
    if (!std::isfinite(opt.dense_phi)) throw ConfigError("dense_phi", "must be finite");
    if (!(opt.contact > 0.0) || !std::isfinite(opt.contact)) throw ConfigError("contact", "must be > 0 and finite");
    if (!std::isfinite(opt.width)) throw ConfigError("width", "must be finite");
    PhaseIndicators out;
    out.criterion = phase_criterion(opt);
    out.n = s.n();
    if (!well_formed(s)) {
        out.density_bimodality = out.dense_phi = out.dilute_phi = out.mean_phi = kNaN;
        return out;
    }
    out.states = 1;
    const int n = s.n();
    const std::vector<float> phi = local_area_fraction(s, cfg, opt.width);
    out.density_bimodality = bimodality(phi);
    two_class_split(phi, out);

    Clusters c(n);
    for_each_pair_within(s, opt.contact * particle_diameter(cfg), [&](int i, int j, double) {
        if (i < j && phi[i] > opt.dense_phi && phi[j] > opt.dense_phi) c.join(i, j);
    });
    int largest = 0;
    for (int i = 0; i < n; ++i)
        if (phi[i] > opt.dense_phi && c.parent[i] == i) largest = std::max(largest, c.size[i]);
    out.largest_cluster_fraction = static_cast<double>(largest) / n;
    out.separated = is_separated(out.largest_cluster_fraction, out.density_bimodality, opt);
    return out;
}

void PhaseAverage::add(const PhaseIndicators& p) {
    if (p.states == 0) return;
    ++count_;
    n_ = p.n;
    cluster_ += p.largest_cluster_fraction;
    if (std::isfinite(p.density_bimodality)) {
        ++bimodal_count_;
        bimodality_ += p.density_bimodality;
    }
    dense_ += p.dense_phi;
    dilute_ += p.dilute_phi;
    share_ += p.dense_share;
    mean_ += p.mean_phi;
}

PhaseIndicators PhaseAverage::mean() const {
    PhaseIndicators out;
    out.criterion = phase_criterion(opt_);
    out.n = n_;
    out.states = count_;
    if (count_ == 0) {
        out.density_bimodality = out.dense_phi = out.dilute_phi = out.mean_phi = kNaN;
        return out;
    }
    const double k = count_;
    out.largest_cluster_fraction = cluster_ / k;
    out.density_bimodality = bimodal_count_ > 0 ? bimodality_ / bimodal_count_ : kNaN;
    out.dense_phi = dense_ / k;
    out.dilute_phi = dilute_ / k;
    out.dense_share = share_ / k;
    out.mean_phi = mean_ / k;
    out.separated = is_separated(out.largest_cluster_fraction, out.density_bimodality, opt_);
    return out;
}

}  // namespace entroscope

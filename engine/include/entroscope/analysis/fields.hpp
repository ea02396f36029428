#pragma once
// Spatial fields on a bins x bins grid over the periodic box (SPEC §2 "per
// region" and "probability current"): Gaussian-kernel density, kernel-weighted
// averages of per-particle quantities (sigma_i, v_i) with sparsely populated
// cells masked, and the coarse-grained current J(r) = sum_i v_i K(r - x_i).
//
// Grid: cell (cx, cy) has centre ((cx + 1/2) h, (cy + 1/2) h), h = L / bins;
// arrays are row-major with y outer (index cy * bins + cx), as in
// observables.hpp's density_grid; vector fields interleave (x, y) per cell.
//
// Kernel: K(r) = exp(-|r|^2 / (2 w^2)) / (2 pi w^2), periodic (minimum image),
// separable and truncated per axis at 3 w (a square window). Each particle's
// truncated kernel is renormalised so that its sum over cells times h^2 is 1:
// the density integrates to N exactly, whatever w / h. Cell centres within
// h / 2 of a particle always receive weight, so w << h degrades gracefully to
// nearest-cell binning. Cost O(N (6 w / h + 1)^2).
//
// Masking: the kernel-weighted count at a cell is
//     count(r) = 2 pi w^2 rho(r) = sum_i exp(-|r - x_i|^2 / (2 w^2))
// (up to the renormalisation), i.e. roughly the number of particles within a
// kernel width; a particle sitting on the cell centre contributes 1. Averages
// are masked (NaN, mask = 1) where count < min_count (default 0.5).
#include <cstdint>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"

namespace entroscope {

struct FieldOptions {
    int bins = 64;
    double width = 2.0;      // kernel standard deviation w (default: an AOUP diameter 2 r0 at r0 = 1)
    double min_count = 0.5;  // mask averages where the kernel-weighted count is below this
};

// bins as given, width = particle diameter (2 r0 for AOUP, sigma for ABP).
FieldOptions field_options_for(const Config& cfg, int bins = 64);

struct Field {
    int bins = 0;
    double box = 0.0;
    int components = 1;               // 1: scalar, 2: vector (x, y interleaved)
    std::vector<double> value;        // bins * bins * components; NaN where masked
    std::vector<std::uint8_t> mask;   // bins * bins; 1 = masked (too few particles)
    double cell() const { return bins > 0 ? box / bins : 0.0; }
    double at(int cx, int cy, int comp = 0) const {
        return value[(static_cast<std::size_t>(cy) * static_cast<std::size_t>(bins) + static_cast<std::size_t>(cx)) *
                         static_cast<std::size_t>(components) + static_cast<std::size_t>(comp)];
    }
    bool masked(int cx, int cy) const {
        return mask[static_cast<std::size_t>(cy) * static_cast<std::size_t>(bins) + static_cast<std::size_t>(cx)] != 0;
    }
};

// Kernel weights of one snapshot, computed once and reused for several
// per-particle quantities.
class KernelGrid {
public:
    // Throws ConfigError for bins outside [1, 4096], a width that is not
    // positive and finite or wider than a sixth of the box, a negative
    // min_count, or a state without a positive box.
    KernelGrid(const State& s, const FieldOptions& opt);

    int bins() const { return bins_; }
    double box() const { return box_; }
    double width() const { return w_; }
    // Number density rho (particles per unit area); never masked.
    Field density() const;
    // Kernel-weighted count 2 pi w^2 rho (the masking criterion).
    std::vector<double> count() const;
    // sum_i q_i K / sum_i K for a per-particle scalar (n values); masked.
    // Throws ConfigError when q has the wrong size.
    Field average(const std::vector<double>& q) const;
    // Same for a per-particle 2-vector (2n values, x/y interleaved); masked.
    Field average_vector(const std::vector<double>& v) const;
    // J(r) = sum_i v_i K(r - x_i) (2n values); not masked (0 where empty).
    Field current(const std::vector<double>& v) const;

private:
    // Adds sum_i q_i[c] K(r - x_i) for each component c into out (bins^2 * comps).
    void accumulate(const double* q, int comps, std::vector<double>& out) const;
    Field masked_ratio(const std::vector<double>& num, int comps) const;

    int n_ = 0, bins_ = 0, span_ = 0;  // span_: window cells per axis
    double box_ = 0.0, w_ = 0.0, min_count_ = 0.0;
    std::vector<int> ix_, iy_;        // n * span_ cell indices (wrapped)
    std::vector<double> wx_, wy_;     // n * span_ weights (each row sums to 1/h)
    std::vector<double> rho_;
};

// One-shot wrappers.
Field kernel_density(const State& s, const FieldOptions& opt);
Field kernel_average(const State& s, const std::vector<double>& q, const FieldOptions& opt);
Field kernel_average_vector(const State& s, const std::vector<double>& v, const FieldOptions& opt);
Field kernel_current(const State& s, const std::vector<double>& v, const FieldOptions& opt);

}  // namespace entroscope

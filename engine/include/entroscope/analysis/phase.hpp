#pragma once
// Phase indicators of one state: is the system homogeneous, or has it
// separated into a dense and a dilute phase (motility-induced phase
// separation)? Two numbers decide, and both are shown to the user:
//
//   * the fraction of particles in the largest dense cluster (a contact
//     network restricted to locally dense particles; periodic box);
//   * the bimodality of the distribution of the per-particle local area
//     fraction (Sarle's bimodality coefficient).
//
// Neither alone is enough: a dense homogeneous fluid (phi = 0.85 at low Pe)
// has one percolating cluster but a unimodal density; a dilute active gas
// has a right-skewed density (transient small clusters) whose bimodality
// coefficient can come near the uniform distribution's 5/9, but no large
// cluster. The validation on simulated states is in
// docs/notebook/phase-indicators.md. Everything here is O(N) (cell lists)
// and has no side effects.
#include <string>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"

namespace entroscope {

// Particle diameter of a config: 2 r0 for AOUP, sigma for ABP.
double particle_diameter(const Config& cfg);

// Local area fraction at each particle:
//   phi_i = a sum_j exp(-r_ij^2 / (2 w^2)) / (2 pi w^2)
// over the periodic box (minimum image, truncated at 3 w and renormalised
// for it, the particle itself included), a = cfg.particle_area(). w <= 0: a
// particle diameter (particle_diameter(cfg)). NaN for every particle when
// the state is malformed (box <= 0, positions not 2N). O(N) by a cell list
// (a direct sum when the box is narrower than 9 w). Throws nothing.
std::vector<float> local_area_fraction(const State& s, const Config& cfg, double w = 0.0);

// Thresholds of the indicators and of the classification. The defaults are
// the ones validated in docs/notebook/phase-indicators.md; `criterion` of a
// result spells out the ones used.
struct PhaseOptions {
    // Kernel width of local_area_fraction (<= 0: a particle diameter).
    double width = 0.0;
    // A particle is dense when its local area fraction exceeds this. It
    // lies between the two sides of a separated state at w = one diameter
    // (the gas and its interface 0.2-0.45, the particle's own 0.126
    // included; the dense phase 0.8-0.9).
    double dense_phi = 0.6;
    // Two dense particles are in contact within this many diameters: the
    // WCA range 2^(1/6) sigma.
    double contact = 1.122462048309373;
    // separated = bimodality > min_bimodality && cluster fraction > min_cluster.
    // 5/9 is the bimodality coefficient of a uniform distribution: above it
    // the distribution has two modes (Sarle's rule).
    double min_bimodality = 5.0 / 9.0;
    double min_cluster = 0.1;
};

struct PhaseIndicators {
    int n = 0;                               // particles
    int states = 0;                          // states averaged (1 for one state, 0 when empty)
    // Fraction of the particles in the largest cluster: dense particles
    // (local area fraction > dense_phi) joined when within `contact`
    // diameters of each other (minimum image).
    double largest_cluster_fraction = 0.0;
    // Sarle's bimodality coefficient of the per-particle local area
    // fraction, (g^2 + 1) / kappa with g the skewness and kappa the
    // kurtosis (large-N form, population moments): 1/3 for a Gaussian,
    // 5/9 for a uniform distribution, towards 1 for two separated peaks.
    // NaN when the distribution has no spread (fewer than 4 particles, or a
    // perfect lattice).
    double density_bimodality = 0.0;
    // The two sides of the best two-class split of the local area fraction
    // (Otsu's threshold: largest between-class variance): their means and
    // the share of particles on the dense side. Informative for a separated
    // state (the coexisting densities, kernel-smoothed); for a homogeneous
    // one they are two halves of one peak.
    double dense_phi = 0.0, dilute_phi = 0.0, dense_share = 0.0;
    double mean_phi = 0.0;                   // mean local area fraction
    bool separated = false;
    // One line: the rule and its thresholds (ASCII), for a tooltip.
    std::string criterion;
};

// The indicators of one state. Throws ConfigError when the options are out
// of range (dense_phi, contact and width not finite, contact <= 0).
PhaseIndicators phase_indicators(const State& s, const Config& cfg, const PhaseOptions& opt = {});

// The rule of PhaseOptions applied to given numbers (a NaN bimodality is
// not bimodal), and its one-line description.
bool is_separated(double largest_cluster_fraction, double density_bimodality, const PhaseOptions& opt = {});
std::string phase_criterion(const PhaseOptions& opt = {});
// "separated" or "homogeneous".
const char* phase_label(bool separated);

// Time average of the indicators of several states: the mean of each
// number (NaN bimodalities skipped), classified by the rule applied to the
// means. An empty accumulator gives states = 0 and separated = false.
class PhaseAverage {
public:
    explicit PhaseAverage(PhaseOptions opt = {}) : opt_(opt) {}
    void add(const PhaseIndicators& p);
    PhaseIndicators mean() const;
    int count() const { return count_; }
private:
    PhaseOptions opt_;
    int count_ = 0, bimodal_count_ = 0, n_ = 0;
    double cluster_ = 0.0, bimodality_ = 0.0, dense_ = 0.0, dilute_ = 0.0, share_ = 0.0, mean_ = 0.0;
};

}  // namespace entroscope

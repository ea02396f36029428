#pragma once
// The simulation engine of SPEC §1: AOUP and ABP in a periodic square box,
// Euler–Maruyama for positions, exact OU update for g, O(N) cell/Verlet lists,
// OpenMP loops. Noise is counter-based (Philox keyed on seed, step, particle),
// so a given seed gives bit-identical trajectories for any thread count at one
// SIMD level (entroscope/sim/simd.hpp: each run() reads simd_level() once).
#include <cstdint>
#include <memory>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"

namespace entroscope {

class Simulator {
public:
    // Throws ConfigError when cfg is invalid (it is re-validated).
    explicit Simulator(Config cfg, int threads = 1);
    // Continue from a given state (for example one read from a trajectory).
    // Throws ConfigError when the state does not match cfg.
    Simulator(Config cfg, State state, int threads = 1);
    ~Simulator();
    Simulator(Simulator&&) noexcept;
    Simulator& operator=(Simulator&&) noexcept;
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    // Advance `steps` time steps. Throws NumericalError if a coordinate
    // becomes NaN/Inf; the state from before this call is then restored.
    // Throws ConfigError, before any step, when ENTROSCOPE_SIMD is invalid.
    void run(std::uint64_t steps);

    const Config& config() const { return cfg_; }
    const State& state() const { return state_; }
    int threads() const { return threads_; }
    void set_threads(int threads);

    // Rescale the box and all positions affinely to reach packing fraction phi.
    // Throws ConfigError when phi is outside (0, 0.95].
    void set_packing_fraction(double phi);
    // Change the self-propulsion speed at once (AOUP and ABP).
    void set_v0(double v0);
    // Change the activity at once: v0, the ABP diffusion constants and dt
    // from `next` (Config::with_peclet); everything else must be as now.
    void set_activity(const Config& next);
    // Change the time step at once (the state is kept). The step becomes the
    // user's: dt_auto is cleared, so a later change of Pe keeps it. Throws
    // ConfigError unless dt > 0 and finite.
    void set_time_step(double dt);

    // Deterministic drift (pair + trap + spring forces,
    // without self-propulsion) on each particle for the current state (2N).
    std::vector<double> conservative_forces() const;
    // Mean of |x - trap centre|^2 over particles, with minimum image (one snapshot).
    double mean_sq_position() const;
    // Number of neighbour-list rebuilds so far (diagnostics, benchmarks).
    std::uint64_t neighbor_rebuilds() const;

private:
    struct Impl;
    void init_state();
    Config cfg_;
    State state_;
    int threads_ = 1;
    std::unique_ptr<Impl> impl_;
};

}  // namespace entroscope

#pragma once
// What a live session publishes: immutable frames. A frame holds one state
// of the running system and, only when they were computed for exactly that
// state, the learned per-particle quantities and fields (an Evaluation). The
// global estimate (a sliding window over evaluations) and the training
// metrics ride along with every frame; they are averages, not values of its
// state. Front ends draw a frame as it is and never mix two of them.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "entroscope/analysis/estimators.hpp"
#include "entroscope/analysis/fields.hpp"
#include "entroscope/analysis/observables.hpp"
#include "entroscope/analysis/phase.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"

namespace entroscope {

// The learned quantities of one state by one network (per particle: n
// values; v_x: 2n; v_act: n * active_dim). An empty vector or field is one
// that was not computed (for example sigma_div without divergences).
struct Evaluation {
    std::shared_ptr<const State> state;   // the positions these values belong to
    std::uint64_t physics_tag = 0;        // the physics the state was drawn under
    std::uint64_t network_step = 0;       // the network's optimiser steps when evaluated
    std::uint64_t model_generation = 0;   // which network (bumps on a new or loaded one)
    std::uint64_t index = 0;              // evaluations of this session so far, this one included
    bool with_divergence = false;
    double seconds = 0.0;                 // wall time it took

    std::vector<double> sigma_sq;   // |v_a|^2 / D_a (>= 0)
    std::vector<double> sigma_div;  // div_a v_a (signed; with divergences only)
    std::vector<double> sigma_x;    // |v_x|^2 / D_x (finite x part only)
    std::vector<double> v_x;        // position part of the probability-flow velocity
    std::vector<double> v_act;      // active part
    XPart x_part = XPart::Infinite;
    std::string x_note;
    SnapshotTotals totals;          // sums over the particles of this state

    // Gridded (empty when fields are off): kernel density, kernel average of
    // sigma_sq (masked where sparse) and the coarse-grained current of v_x.
    Field density, sigma, current;

    // Homogeneous or phase-separated (analysis/phase.hpp, default options):
    // of the positions alone, computed with every evaluation (about 4 ms at
    // N = 4096 on one core, against about 0.7 s for the network's part), so
    // that every state with learned values has them too.
    PhaseIndicators phase;
};

// The global estimate over the session's estimate window: per particle,
// mean and standard error (batch means over the window's evaluations).
struct GlobalEstimate {
    static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    std::uint64_t physics_tag = 0;
    std::int64_t evaluations = 0;           // in the window (0: nothing learned yet)
    std::int64_t divergence_evaluations = 0;
    std::uint64_t last_index = 0;           // Evaluation::index of the newest one (a plot's x)
    std::uint64_t network_step = 0;         // of the newest one
    double time = 0.0;                      // simulation time of the newest one
    MeanSe epr_active, epr_active_div, gap, epr_x, epr_total;
    MeanSe epr_active_identity;  // network-free -<sum div_x b_x>/n (no positional noise only)
    MeanSe epr_total_network_free;  // network-free <sum b.D^-1 b + div b>/n (positional noise only)
    MeanSe div_v, div_v_time_step, v_dot_s;
    MeanSe ibp;  // E[|s|^2 + div s] (active variables; the position part too where it is learned)
    XPart x_part = XPart::Infinite;
    std::string x_note;
    // Exact values of a linear system (per particle; NaN otherwise): the
    // SDE's and the simulated Euler chain's.
    double exact_epr_active = kNaN, exact_epr_active_chain = kNaN;
    double exact_epr_x = kNaN, exact_epr_x_chain = kNaN;
};

struct TrainingStatus {
    bool enabled = false;        // a network exists and training is on
    bool failed = false;         // stopped on an error (the simulation goes on)
    std::string source;          // "fresh network", "pretrained X.pt", "loaded X.pt"
    std::string message;         // what the trainer is doing, or why it stopped
    std::uint64_t model_generation = 0;
    std::uint64_t network_steps = 0;  // the network's total (a loaded one starts above 0)
    std::uint64_t session_steps = 0;  // taken in this session since the network was made
    double steps_per_second = 0.0;
    double recent_loss = std::numeric_limits<double>::quiet_NaN();
    double lr = 0.0;
    int batch = 0;
};

struct Frame {
    std::uint64_t system_generation = 0;  // bumps on every reset (a new system)
    std::uint64_t physics_tag = 0;        // bumps on every parameter change
    Config config;                        // the physics of `state`
    std::shared_ptr<const State> state;
    bool running = false;
    double sim_steps_per_second = 0.0;
    std::string notice;                   // why the simulation stopped or could not start ("" if fine)
    // The fix a front end can offer when the run paused on a blow-up: a
    // smaller time step (LiveSession::set_time_step), 0 otherwise.
    double suggested_dt = 0.0;
    std::shared_ptr<const Evaluation> learned;        // of `state` exactly, or null
    std::shared_ptr<const GlobalEstimate> estimate;   // never null
    TrainingStatus training;
};

}  // namespace entroscope

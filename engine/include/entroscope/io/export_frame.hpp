#pragma once
// What every data-export writer takes (Extended XYZ, VTK XML, CSV, H5MD): one
// state of the system and, when a network evaluated exactly that state, its
// learned per-particle quantities and fields (session/frame.hpp Evaluation).
// The writers take the same record and name the same columns, so a quantity
// is called the same in every file:
//
//   species     int, the particle type (config "types"; 0 when omitted)
//   pos         folded positions in [0, L) (x, y; files with 3-D points add z = 0)
//   image       int, periodic image counts: unwrapped = pos + image * L
//   theta | g   the active variable: ABP theta (1 number), AOUP g (2 numbers)
//   sigma_sq    |v_a|^2 / D_a, the active part of sigma_i (>= 0)
//   sigma_div   div_a v_a, the second estimator of the same (signed; with divergences)
//   sigma_x     |v_x|^2 / D_x, the position part (only where it is finite: D_x > 0)
//   v_x         position part of the probability-flow velocity v_i (2 numbers)
//   v_act       active part of v_i (as many numbers as the active variable)
//
// A learned column that was not computed (no network, no divergences, an
// infinite x part) is left out of the file, not written as zeros.
#include <cstdint>
#include <string>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"
#include "entroscope/session/frame.hpp"

namespace entroscope {

struct ExportFrame {
    const State* state = nullptr;        // required
    const Evaluation* learned = nullptr; // null: positions and active variables only
};

// A per-particle floating-point column of a frame: values has n * components
// numbers, particle-major.
struct ParticleColumn {
    std::string name;
    int components = 1;
    const std::vector<double>* values = nullptr;
};

// The name of the active variable's column: "theta" (ABP) or "g" (AOUP).
const char* active_name(const Config& cfg);

// The floating-point columns of a frame after pos and image, in file order:
// the active variable, then the learned columns that were computed. Throws
// IoError naming the column when a vector has the wrong length for the
// state's n (an Evaluation of another state).
std::vector<ParticleColumn> particle_columns(const Config& cfg, const ExportFrame& f);

// Checks that the frame has a state that fits cfg (n, active width, types).
// Throws IoError naming `path` and what differs.
void check_export_frame(const std::string& path, const Config& cfg, const ExportFrame& f);

// The shortest decimal text that reads back to exactly `v` ("nan", "inf",
// "-inf" for the non-finite values), appended to `out`.
void append_number(std::string& out, double v);
void append_number(std::string& out, std::int64_t v);

}  // namespace entroscope

#pragma once
// The colour rules of a particle view, shared by the window and offscreen
// rendering: which quantities a view can show (name, units, signed or
// cyclic, which colour map), their per-particle values taken from one
// entroscope::Frame, the colour range (quantiles or fixed by the user) and
// the caption. Plain C++: no VTK, no Qt.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "entroscope/analysis/phase.hpp"
#include "entroscope/core/config.hpp"

namespace entroscope {
struct Frame;
struct State;
}  // namespace entroscope

namespace entroscope::render {

// Kinds of colour map a ParticleScene draws with.
enum class ColourMapKind {
    Cyclic,      // angles: -pi meets +pi
    Sequential,  // viridis, darkest at lo
    Diverging,   // blue-white-red ("Cool to Warm"), white at the middle (0 for a symmetric range)
};

// ---------------------------------------------------------------------------
// Quantities

enum class Quantity {
    ActiveAngle,   // angle of the active variable (cyclic)
    SigmaSq,       // learned sigma_i, |v|^2 estimator: |v_a|^2 / D_a (>= 0, sequential)
    SigmaDiv,      // learned sigma_i, divergence estimator: div_a v_a (signed, diverging)
    ActiveSpeed,   // learned |v_act|, the active part of the probability-flow velocity
    PositionSpeed, // learned |v_x|, its position part (finite with positional noise only)
    LocalDensity,  // local area fraction from the positions (Gaussian kernel, width one diameter)
    ParticleType,  // State::types
};

struct QuantityInfo {
    Quantity quantity = Quantity::ActiveAngle;
    std::string key;    // stable ASCII identifier: "angle", "sigma_sq", "sigma_div", "speed", "speed_x", "density", "type"
    std::string name;   // display name (UTF-8 when unicode)
    std::string units;  // display units; empty when dimensionless
    bool learned = false;   // values come from the network (Frame::learned)
    bool is_signed = false; // range symmetric about 0
    bool cyclic = false;    // range fixed to [-pi, pi]
    bool discrete = false;  // integer labels: the range is always min..max
    ColourMapKind map = ColourMapKind::Sequential;
};

// Every quantity, in menu order.
const std::vector<Quantity>& all_quantities();
// Units can depend on the model (|v_act|: length/time^2 for AOUP's g,
// rad/time for ABP's theta). Entropy production is in k_B per unit time.
QuantityInfo quantity_info(Quantity q, ModelKind model, bool unicode);
std::optional<Quantity> quantity_from_key(const std::string& key);
// "name (units)", the name alone when dimensionless; an estimator in the
// name goes on a second line ("sigma_i (1/t)\n|v|^2 estimator").
std::string legend_title(Quantity q, ModelKind model, bool unicode);

// Per-particle values of a quantity in one frame.
struct QuantityValues {
    std::vector<float> values;       // one per particle of frame.state; empty when unavailable
    std::string reason;              // why `values` is empty (ASCII); empty otherwise
    bool from_learned = false;       // taken from frame.learned
    std::uint64_t network_step = 0;  // frame.learned->network_step when from_learned
    bool available() const { return !values.empty(); }
};

// Learned quantities are taken from frame.learned only, and only when it is
// of frame.state (same state object, or same step, time, N and physics tag):
// without it the values are empty and `reason` says why; they never come from
// another state. Non-finite values are kept (the scene draws NaN grey).
QuantityValues quantity_values(const Frame& frame, Quantity q);

// Local area fraction at each particle: the engine's (analysis/phase.hpp),
// named here too because it is one of the view's quantities.
using entroscope::local_area_fraction;

// ---------------------------------------------------------------------------
// Colour ranges

enum class RangeMode {
    Quantiles5To95,  // the 5 % and 95 % quantiles (the paper's figures)
    Quantiles0To99,  // minimum and 99 % quantile
    Fixed,           // RangeRule::lo .. hi as given by the user
};

struct RangeRule {
    RangeMode mode = RangeMode::Quantiles5To95;
    double lo = 0.0, hi = 1.0;  // Fixed only
};

struct ColourRange {
    double lo = 0.0, hi = 1.0;  // always finite with hi > lo
    int finite = 0;             // finite values the automatic rule saw
    std::string note;           // ASCII, set when a fallback was taken (no finite values, bad fixed bounds)
};

// Quantile p in [0, 1] of the finite values (linear between order
// statistics, as numpy's default); NaN when there is none.
double quantile(std::vector<float> values, double p);

// Automatic rules use the finite values only (NaN and +-inf are ignored).
// symmetric: [-m, m] with m the larger magnitude of the two quantiles.
// A degenerate range (all values equal) is widened around the value; with
// no finite value it is [0, 1] ([-1, 1] when symmetric). Fixed bounds are
// used as given (swapped when reversed, widened when equal); non-finite
// fixed bounds fall back to Quantiles5To95 with a note.
ColourRange colour_range(const std::vector<float>& values, const RangeRule& rule, bool symmetric);
// The rule for a quantity: cyclic -> [-pi, pi] always; discrete -> min..max
// of the values (unless fixed); signed -> symmetric; others as above.
ColourRange colour_range(Quantity q, const std::vector<float>& values, const RangeRule& rule);

// ---------------------------------------------------------------------------
// Captions

// Two lines (three for any quantity but the angle), UTF-8 when unicode:
//   AOUP    N = 4096    phi = 0.500 (nominal)    Pe = 125.0 [v0/(2 r0 gamma)]    L = 90.5
//   t = 12.5    step 125
//   colour: sigma_i (|v|^2 estimator) of this state, network step 5000
// For a learned quantity on a frame without learned values the third line
// says it is waiting for the first estimate of this state (or that there is
// no network when training is off).
std::string caption(const Frame& frame, Quantity q, bool unicode);
// unicode = ParticleScene::unicodeText().
std::string caption(const Frame& frame, Quantity q);

}  // namespace entroscope::render

#pragma once
// Periodic-box helpers shared by the simulator and its update kernel
// (internal header; IEEE arithmetic — do not include from fast-math files).
#include <cmath>
#include <cstdint>

namespace entroscope::detail {

constexpr double kPi = 3.14159265358979323846;
constexpr double kTwoPi = 2.0 * kPi;

// Into [-pi, pi).
inline double wrap_angle(double t) { return t - kTwoPi * std::floor((t + kPi) / kTwoPi); }

// Fold a coordinate into [0, L) and count the image crossed; a step of less
// than a box length (the normal case) needs no division.
inline void fold(double& v, std::int32_t& image, double L) {
    if (v >= L) {
        v -= L;
        ++image;
    } else if (v < 0.0) {
        v += L;
        --image;
    }
    if (v < 0.0 || v >= L) {
        const double f = std::floor(v / L);
        v -= f * L;
        image += static_cast<std::int32_t>(f);
        if (v >= L) v = 0.0;
    }
}

// Minimum image of a difference of folded coordinates.
inline double min_image(double d, double L, double half_L) {
    if (d >= half_L) d -= L;
    else if (d < -half_L) d += L;
    return d;
}

}  // namespace entroscope::detail

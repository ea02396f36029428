#pragma once
// Counter-based Gaussian noise (internal header; includes Random123).
// Every draw is a pure function of (seed, step, particle, stream), which is
// what makes trajectories bit-identical for any thread count.
#include <cstdint>

#include <Random123/boxmuller.hpp>
#include <Random123/philox.h>

namespace entroscope::detail {

class Noise {
public:
    explicit Noise(std::uint64_t seed) {
        key_ = {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
    }
    // Two independent standard normals for (step, particle, stream).
    inline void normal2(std::uint64_t step, std::uint32_t particle, std::uint32_t stream, double& a, double& b) const {
        r123::Philox4x32_R<10> rng;
        const r123::Philox4x32::ctr_type c = {{static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32),
                                               particle, stream}};
        const auto r = rng(c, key_);
        const std::uint64_t u0 = (static_cast<std::uint64_t>(r.v[1]) << 32) | r.v[0];
        const std::uint64_t u1 = (static_cast<std::uint64_t>(r.v[3]) << 32) | r.v[2];
        const r123::double2 g = r123::boxmuller(u0, u1);
        a = g.x;
        b = g.y;
    }
    // A uniform double in [0, 1) for (step, particle, stream) (initial conditions).
    inline double uniform(std::uint64_t step, std::uint32_t particle, std::uint32_t stream) const {
        r123::Philox4x32_R<10> rng;
        const r123::Philox4x32::ctr_type c = {{static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32),
                                               particle, stream}};
        const auto r = rng(c, key_);
        const std::uint64_t u = (static_cast<std::uint64_t>(r.v[1]) << 32) | r.v[0];
        return static_cast<double>(u >> 11) * 0x1.0p-53;
    }

    std::uint32_t key0() const { return key_.v[0]; }
    std::uint32_t key1() const { return key_.v[1]; }

private:
    r123::Philox4x32::key_type key_;
};

// Streams: distinct counter words so no two uses of the noise overlap.
enum Stream : std::uint32_t {
    kStreamDynamics = 0,      // per step: active-variable and position noise (4 normals)
    kStreamInit = 0x80000000u // initial conditions (step word is the draw index)
};

}  // namespace entroscope::detail

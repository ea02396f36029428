#pragma once
// Seeded random streams shared by every part that draws random numbers
// outside the simulator's counter-based noise: one mixing function, so that
// the window, `train` and `estimate` derive the same streams from a config.
#include <cstdint>

namespace entroscope {

// splitmix64: advances `state` and returns 64 well-mixed bits.
inline std::uint64_t splitmix64_next(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// An independent seed for stream `stream` of `seed` (the finaliser of
// splitmix64 applied to seed + golden-ratio * (stream + 1)).
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (stream + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Named streams of derive_seed.
enum class SeedStream : std::uint64_t {
    Batches = 0x62617463ull,  // which snapshot and which particles a training step uses
};

}  // namespace entroscope

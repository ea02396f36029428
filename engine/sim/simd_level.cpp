#include "simd_level.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "entroscope/core/errors.hpp"

namespace entroscope {

namespace {

constexpr int kUnset = -1;
// Relaxed is enough: the level is one word, read by run() before it starts
// its threads (the OpenMP fork orders it for them).
std::atomic<int> g_level{kUnset};

bool cpu_has_avx512() {
#if ENTROSCOPE_HAVE_AVX512
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") != 0;
    }();
    return yes;
#else
    return false;
#endif
}

std::string why_unsupported(SimdLevel level) {
    const std::string name = to_string(level);
    if (level != SimdLevel::Avx512) return name + " is not a SIMD level";
#if ENTROSCOPE_HAVE_AVX512
    return name + " is not supported: this CPU lacks AVX-512F";
#else
    return name + " is not supported: this build has no AVX-512 kernels (not x86-64 GCC/Clang, or AddressSanitizer)";
#endif
}

SimdLevel from_environment() {
    const char* v = std::getenv("ENTROSCOPE_SIMD");
    if (v == nullptr || *v == '\0') return simd_supported(SimdLevel::Avx512) ? SimdLevel::Avx512 : SimdLevel::Portable;
    for (const SimdLevel level : {SimdLevel::Portable, SimdLevel::Avx512}) {
        if (std::strcmp(v, to_string(level)) != 0) continue;
        // Falling back would hide that the requested kernels never ran.
        if (!simd_supported(level)) throw ConfigError("ENTROSCOPE_SIMD", why_unsupported(level));
        return level;
    }
    throw ConfigError("ENTROSCOPE_SIMD", "unknown SIMD level '" + std::string(v) + "' (portable or avx512)");
}

}  // namespace

const char* to_string(SimdLevel level) {
    switch (level) {
        case SimdLevel::Portable: return "portable";
        case SimdLevel::Avx512: return "avx512";
    }
    return "unknown";
}

bool simd_supported(SimdLevel level) {
    switch (level) {
        case SimdLevel::Portable: return true;
        case SimdLevel::Avx512: return cpu_has_avx512();
    }
    return false;
}

SimdLevel simd_level() {
    const int now = g_level.load(std::memory_order_relaxed);
    if (now != kUnset) return static_cast<SimdLevel>(now);
    // A throwing initialiser leaves the static uninitialised, so a bad
    // ENTROSCOPE_SIMD is reported again on the next call.
    static const SimdLevel initial = from_environment();
    // An explicit set_simd_level() racing with the first read wins.
    int expected = kUnset;
    g_level.compare_exchange_strong(expected, static_cast<int>(initial), std::memory_order_relaxed);
    return static_cast<SimdLevel>(g_level.load(std::memory_order_relaxed));
}

void set_simd_level(SimdLevel level) {
    if (!simd_supported(level)) throw ConfigError("simd", why_unsupported(level));
    g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

}  // namespace entroscope

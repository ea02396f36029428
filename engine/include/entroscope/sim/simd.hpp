#pragma once
// Which SIMD kernels the simulator runs: the portable C++ loops, or the
// hand-written AVX-512 ones. Both integrate the same dynamics; they differ in
// floating-point order and fast-math rounding, and the AVX-512 Box–Muller is
// single precision. A trajectory is therefore bit-identical for any thread
// count at one level, not across levels. The switch exists so that every
// kernel test runs on both paths on a machine that has both.
//
// Portable means the compiler's code for the portable loops, never the
// AVX-512 intrinsics nor an AVX-512 clone. Those loops still take the
// compiler's AVX2 clones where the CPU has AVX2 (without them an ABP step is
// ~10% slower on an AVX2 machine), and an ENTROSCOPE_NATIVE build compiles
// them for the build machine.

namespace entroscope {

enum class SimdLevel { Portable, Avx512 };

// "portable" or "avx512": the values ENTROSCOPE_SIMD takes.
const char* to_string(SimdLevel level);

// Whether this build and this CPU can run the level. Portable always can;
// Avx512 needs AVX-512F and an x86-64 GCC/Clang build without AddressSanitizer.
bool simd_supported(SimdLevel level);

// The level Simulator::run() and conservative_forces() start with. At the
// first call it is the best supported level, or the one ENTROSCOPE_SIMD names
// (read once; empty counts as unset). An unknown or unsupported
// ENTROSCOPE_SIMD throws ConfigError (key "ENTROSCOPE_SIMD"), on every call,
// until set_simd_level() chooses a level.
SimdLevel simd_level();

// Process-wide, from the next run() on (a run already going keeps its level).
// Throws ConfigError (key "simd") when !simd_supported(level); the level
// then stays as it was.
void set_simd_level(SimdLevel level);

}  // namespace entroscope

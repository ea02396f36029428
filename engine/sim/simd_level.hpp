#pragma once
// The compile-time half of the SIMD dispatch, shared by the kernel files
// (internal header); the run-time half is entroscope/sim/simd.hpp. Kernels
// take the level as an argument rather than reading simd_level() themselves:
// the simulator reads it once per run(), outside its parallel region, so a
// bad ENTROSCOPE_SIMD throws there and a switch never splits a run.
#include "entroscope/sim/simd.hpp"

// AVX-512 kernels are compiled wherever GCC/Clang target x86-64, and run only
// when the CPU has them; AddressSanitizer builds keep to the portable code.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define ENTROSCOPE_HAVE_AVX512 1
#include <immintrin.h>
#define ENTROSCOPE_TARGET_AVX512 __attribute__((target("avx512f")))
// The portable loops' own multiversioning stops at AVX2, so Portable never
// executes an AVX-512 instruction (an "avx512f" clone would be picked by the
// loader whatever the level).
#define ENTROSCOPE_PORTABLE_CLONES __attribute__((target_clones("default", "avx2")))
#else
#define ENTROSCOPE_HAVE_AVX512 0
#define ENTROSCOPE_PORTABLE_CLONES
#endif

// One loop body compiled into each ISA's function.
#if defined(__GNUC__)
#define ENTROSCOPE_INLINE __attribute__((always_inline)) inline
#else
#define ENTROSCOPE_INLINE inline
#endif

#pragma once
// Every test function of a suite runs once per SIMD level, as OpenMM runs one
// test body on every platform: the suite's initTestCase_data() calls
// add_simd_levels() and its init() calls use_simd_level_of_row(). A level
// this machine cannot run is skipped, by name, rather than silently passing
// on the other path.
#include <QtTest>

#include "entroscope/sim/simd.hpp"

Q_DECLARE_METATYPE(entroscope::SimdLevel)

namespace entroscope::test {

inline void add_simd_levels() {
    QTest::addColumn<SimdLevel>("simd");
    for (const SimdLevel level : {SimdLevel::Portable, SimdLevel::Avx512}) QTest::newRow(to_string(level)) << level;
}

// Selects the current global row's level; false (with the reason) when this
// build or CPU lacks it. QSKIP must be called from the slot itself.
inline bool use_simd_level_of_row(QByteArray& why) {
    QFETCH_GLOBAL(SimdLevel, simd);
    if (!simd_supported(simd)) {
        why = QByteArray("SIMD level ") + to_string(simd) +
              " is not supported here (needs AVX-512F and a build with the AVX-512 kernels); its rows are skipped";
        return false;
    }
    set_simd_level(simd);
    return true;
}

}  // namespace entroscope::test

// The vectorised noise kernels: Philox bits equal Random123's reference, and
// the Gaussians have the moments of N(0, 1) within standard errors. Every
// test runs at every SIMD level (simd_levels.hpp).
#include <QtTest>

#include <algorithm>
#include <cmath>

#include <Random123/philox.h>

#include "noise_block.hpp"
#include "simd_levels.hpp"

using namespace entroscope;
using namespace entroscope::detail;

class TestNoise : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase_data() { test::add_simd_levels(); }
    void init() {
        QByteArray why;
        if (!test::use_simd_level_of_row(why)) QSKIP(why.constData());
    }

    void philoxBlockMatchesRandom123() {
        const std::uint32_t key0 = 0x12345678u, key1 = 0x9abcdef0u;
        for (std::uint64_t step : {std::uint64_t(0), std::uint64_t(1), std::uint64_t(0x1234567890ull)}) {
            std::uint32_t out[4][kBlock];
            philox_block(simd_level(), key0, key1, step, 7u, 4096u, out);
            r123::Philox4x32_R<10> ref;
            for (int k = 0; k < kBlock; ++k) {
                const r123::Philox4x32::ctr_type c = {{static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32),
                                                       4096u + static_cast<std::uint32_t>(k), 7u}};
                const r123::Philox4x32::key_type key = {{key0, key1}};
                const auto r = ref(c, key);
                for (int w = 0; w < 4; ++w) QCOMPARE(out[w][k], r.v[w]);
            }
        }
    }

    void normalsHaveStandardMoments() {
        // 4 x 16 x 40000 = 2.56e6 draws. SE of the mean 1/sqrt(M), of the
        // variance sqrt(2/M), of the 4th moment sqrt(96/M); 5 SE allowed.
        double m1 = 0, m2 = 0, m4 = 0, cross = 0;
        long count = 0;
        for (std::uint32_t b = 0; b < 40000; ++b) {
            double z[4][kBlock];
            normal4_block(simd_level(), 1u, 2u, b, 0u, 0u, 2, z);
            for (int k = 0; k < kBlock; ++k) {
                for (int m = 0; m < 4; ++m) {
                    const double v = z[m][k];
                    QVERIFY(std::isfinite(v));
                    m1 += v;
                    m2 += v * v;
                    m4 += v * v * v * v;
                    ++count;
                }
                cross += z[0][k] * z[1][k];
            }
        }
        const double M = static_cast<double>(count);
        m1 /= M;
        m2 /= M;
        m4 /= M;
        cross /= (M / 4);
        QVERIFY2(std::fabs(m1) < 5 / std::sqrt(M), qPrintable(QString::number(m1)));
        QVERIFY2(std::fabs(m2 - 1) < 5 * std::sqrt(2 / M), qPrintable(QString::number(m2)));
        QVERIFY2(std::fabs(m4 - 3) < 5 * std::sqrt(96 / M), qPrintable(QString::number(m4)));
        QVERIFY2(std::fabs(cross) < 5 / std::sqrt(M / 4), qPrintable(QString::number(cross)));
    }

    void normalsAreBoxMullerOfThePhiloxWords() {
        // The vectorised path (single precision at Avx512) against double
        // Box-Muller of the same Philox words. Rounding u1 near 1 to float
        // moves r = sqrt(-2 ln u1) by up to ~3.5e-4; anything structural (a
        // wrong quadrant, sign or polynomial) is O(0.01) or more.
        double worst = 0;
        for (std::uint64_t step = 0; step < 2000; ++step) {
            std::uint32_t w[4][kBlock];
            double z[4][kBlock];
            philox_block(simd_level(), 11u, 12u, step, 3u, 160u, w);
            normal4_block(simd_level(), 11u, 12u, step, 3u, 160u, 2, z);
            for (int pair = 0; pair < 2; ++pair)
                for (int k = 0; k < kBlock; ++k) {
                    const double u1 = (w[2 * pair][k] + 0.5) * 0x1.0p-32, u2 = (w[2 * pair + 1][k] + 0.5) * 0x1.0p-32;
                    const double r = std::sqrt(-2 * std::log(u1));
                    worst = std::max({worst, std::fabs(z[2 * pair][k] - r * std::cos(2 * M_PI * u2)),
                                      std::fabs(z[2 * pair + 1][k] - r * std::sin(2 * M_PI * u2))});
                }
        }
        QVERIFY2(worst < 5e-4, qPrintable(QString("max |z - z_ref| = %1").arg(worst)));
    }

    void onePairIsTheFirstTwoRowsOfTwoPairs() {
        double a[4][kBlock], b[4][kBlock];
        for (std::uint64_t step : {std::uint64_t(3), std::uint64_t(1) << 40}) {
            normal4_block(simd_level(), 5u, 6u, step, 1u, 32u, 2, a);
            normal4_block(simd_level(), 5u, 6u, step, 1u, 32u, 1, b);
            for (int m = 0; m < 2; ++m)
                for (int k = 0; k < kBlock; ++k) QCOMPARE(b[m][k], a[m][k]);
        }
    }

    void sincosBlockIsAccurate() {
        double th[kBlock], c[kBlock], s[kBlock];
        for (int k = 0; k < kBlock; ++k) th[k] = -M_PI + 2 * M_PI * k / kBlock + 0.1;
        sincos_block(simd_level(), th, c, s);
        for (int k = 0; k < kBlock; ++k) {
            QVERIFY(std::fabs(c[k] - std::cos(th[k])) < 1e-14);
            QVERIFY(std::fabs(s[k] - std::sin(th[k])) < 1e-14);
        }
    }
};

QTEST_APPLESS_MAIN(TestNoise)
#include "TestNoise.moc"

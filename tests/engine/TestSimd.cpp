// The SIMD switch (entroscope/sim/simd.hpp): the level reported is the level
// run, an unsupported level is refused, selecting Portable really runs the
// portable kernels, and the portable and AVX-512 kernels agree to stated
// tolerances (they differ only in floating-point order, fast-math rounding and
// the single-precision AVX-512 Box–Muller). The other kernel suites run their
// bodies at every level (simd_levels.hpp); this one compares the levels.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include <Random123/philox.h>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/sim/simd.hpp"
#include "entroscope/sim/simulator.hpp"
#include "noise.hpp"
#include "noise_block.hpp"
#include "simd_levels.hpp"
#include "update_kernels.hpp"

using namespace entroscope;

namespace {

constexpr SimdLevel kLevels[] = {SimdLevel::Portable, SimdLevel::Avx512};
constexpr double kTwoPi = 6.283185307179586476925286766559;

// Puts the level back, so that the order of the tests does not matter.
struct KeepLevel {
    SimdLevel saved = simd_level();
    ~KeepLevel() { set_simd_level(saved); }
};

// How far the AVX-512 normals may be from the portable (double-precision)
// ones: rounding u1 near 1 to float moves r = sqrt(-2 ln u1) by up to
// ~3.5e-4 (TestNoise::normalsAreBoxMullerOfThePhiloxWords).
constexpr double kNormalGap = 5e-4;
// Relative to the largest force of the system: the force kernels differ in
// FMA contraction and libmvec vs libm exp/log1p (a few ulp per pair term),
// summed in the same order.
constexpr double kForceGap = 1e-9;

Config named(const QString& name) {
    if (name == "abp wca") return parse_config(R"({"model":"abp","n":2000,"phi":0.6})");
    if (name == "aoup softplus") return parse_config(R"({"n":2000,"phi":0.5,"v0":0.5,"gamma":0.01,"eps":0.01})");
    return parse_config(R"({"n":1500,"phi":0.7,"v0":0.3,"interaction":"hard"})");
}

// A state a few hundred steps in, where particles overlap as in a real run.
State driven(const Config& cfg) {
    KeepLevel keep;
    set_simd_level(SimdLevel::Portable);
    Simulator sim(cfg, 2);
    sim.run(300);
    return sim.state();
}

}  // namespace

#define SKIP_UNLESS_BOTH_LEVELS()                  \
    if (!simd_supported(SimdLevel::Avx512))        \
    QSKIP("needs both SIMD levels: avx512 is not supported here (no AVX-512F, or a build without the AVX-512 kernels)")

class TestSimd : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // First: nothing has chosen a level yet.
    void startsAtTheBestLevelOrTheOneTheEnvironmentNames() {
        const SimdLevel best = simd_supported(SimdLevel::Avx512) ? SimdLevel::Avx512 : SimdLevel::Portable;
        const char* env = std::getenv("ENTROSCOPE_SIMD");
        if (env == nullptr || *env == '\0') {
            QCOMPARE(simd_level(), best);
            return;
        }
        // A run configured from outside: its value is honoured or refused.
        bool valid = false;
        for (const SimdLevel level : kLevels)
            if (std::strcmp(env, to_string(level)) == 0 && simd_supported(level)) {
                valid = true;
                QCOMPARE(simd_level(), level);
            }
        if (!valid) {
            QVERIFY_THROWS_EXCEPTION(ConfigError, simd_level());
            QVERIFY_THROWS_EXCEPTION(ConfigError, simd_level());  // every time, not once
            set_simd_level(best);                                // the other tests need a level
        }
    }

    void namesAreTheEnvironmentValues() {
        QCOMPARE(QByteArray(to_string(SimdLevel::Portable)), QByteArray("portable"));
        QCOMPARE(QByteArray(to_string(SimdLevel::Avx512)), QByteArray("avx512"));
    }

    void switchesBetweenTheSupportedLevels() {
        KeepLevel keep;
        QVERIFY(simd_supported(SimdLevel::Portable));
        for (const SimdLevel level : kLevels) {
            if (!simd_supported(level)) continue;
            set_simd_level(level);
            QCOMPARE(simd_level(), level);
        }
    }

    void refusesAnUnsupportedLevelAndKeepsTheCurrentOne() {
        KeepLevel keep;
        set_simd_level(SimdLevel::Portable);
        std::vector<SimdLevel> refused = {static_cast<SimdLevel>(7)};  // not a level: refused everywhere
        for (const SimdLevel level : kLevels)
            if (!simd_supported(level)) refused.push_back(level);
        for (const SimdLevel level : refused) {
            bool thrown = false;
            try {
                set_simd_level(level);
            } catch (const ConfigError& e) {
                thrown = e.key() == "simd" && std::strstr(e.what(), to_string(level)) != nullptr;
                if (!thrown) qWarning("%s", e.what());
            }
            QVERIFY2(thrown, to_string(level));
            QCOMPARE(simd_level(), SimdLevel::Portable);
        }
        if (refused.size() == 1) qInfo("every SIMD level is supported here: only an invalid value was refused");
    }

    // The simulator takes the selected path: one ABP step turns each angle by
    // sqrt(2 D_r dt) z, and only the portable noise is double-precision
    // Box–Muller of the step's Philox words (to rounding); the AVX-512 one is
    // single precision, off by ~1e-8 here but within kNormalGap.
    void simulatorRunsThePathOfTheSelectedLevel_data() {
        QTest::addColumn<SimdLevel>("level");
        for (const SimdLevel level : kLevels) QTest::newRow(to_string(level)) << level;
    }
    void simulatorRunsThePathOfTheSelectedLevel() {
        QFETCH(SimdLevel, level);
        if (!simd_supported(level))
            QSKIP(qPrintable(QString("SIMD level %1 is not supported here").arg(to_string(level))));
        KeepLevel keep;
        set_simd_level(level);
        Simulator sim(parse_config(R"({"model":"abp","n":1000,"box":200,"interaction":"none","v0":1,"dt":0.01,"seed":5})"), 2);
        const Config& c = sim.config();
        const State s0 = sim.state();
        sim.run(1);
        const State& s1 = sim.state();
        const detail::Noise noise(c.seed);
        const r123::Philox4x32::key_type key = {{noise.key0(), noise.key1()}};
        r123::Philox4x32_R<10> philox;
        const double a = std::sqrt(2.0 * c.D_r * c.dt);
        double worst = 0;
        for (int i = 0; i < c.n; ++i) {
            // Step 0, particle i, the dynamics stream; the angle's normal is
            // r(w0) cos(2 pi u2(w1)) with u1 = (w0 + 1/2) 2^-32, u2 = w1 2^-32.
            const r123::Philox4x32::ctr_type ctr = {{0u, 0u, static_cast<std::uint32_t>(i), detail::kStreamDynamics}};
            const auto w = philox(ctr, key);
            const double u1 = (w.v[0] + 0.5) * 0x1.0p-32, u2 = w.v[1] * 0x1.0p-32;
            const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
            double d = s1.act[static_cast<std::size_t>(i)] - s0.act[static_cast<std::size_t>(i)] - a * z;
            d -= kTwoPi * std::nearbyint(d / kTwoPi);
            worst = std::max(worst, std::fabs(d));
        }
        const QString what = QString("%1: max |angle - double Box-Muller| = %2").arg(to_string(level)).arg(worst);
        qInfo("%s", qPrintable(what));
        if (level == SimdLevel::Portable)
            QVERIFY2(worst < 1e-12, qPrintable(what));
        else
            QVERIFY2(worst > 1e-10 && worst < a * kNormalGap, qPrintable(what));
    }

    void noiseKernelsAgreeAcrossLevels() {
        SKIP_UNLESS_BOTH_LEVELS();
        using detail::kBlock;
        double worst_z = 0, worst_sc = 0;
        for (std::uint64_t step = 0; step < 2000; ++step) {
            const auto first = static_cast<std::uint32_t>(16 * (step % 300));
            std::uint32_t wp[4][kBlock], wa[4][kBlock];
            detail::philox_block(SimdLevel::Portable, 21u, 22u, step << 20, 3u, first, wp);
            detail::philox_block(SimdLevel::Avx512, 21u, 22u, step << 20, 3u, first, wa);
            QVERIFY(std::memcmp(wp, wa, sizeof wp) == 0);  // integer arithmetic: the same bits
            for (int pairs : {1, 2}) {
                double zp[4][kBlock], za[4][kBlock];
                detail::normal4_block(SimdLevel::Portable, 21u, 22u, step, 3u, first, pairs, zp);
                detail::normal4_block(SimdLevel::Avx512, 21u, 22u, step, 3u, first, pairs, za);
                for (int m = 0; m < 2 * pairs; ++m)
                    for (int k = 0; k < kBlock; ++k) worst_z = std::max(worst_z, std::fabs(zp[m][k] - za[m][k]));
            }
            double th[kBlock], cp[kBlock], sp[kBlock], ca[kBlock], sa[kBlock];
            for (int k = 0; k < kBlock; ++k) th[k] = -M_PI + kTwoPi * ((step * kBlock + k) % 4093) / 4093.0;
            detail::sincos_block(SimdLevel::Portable, th, cp, sp);
            detail::sincos_block(SimdLevel::Avx512, th, ca, sa);
            for (int k = 0; k < kBlock; ++k)
                worst_sc = std::max({worst_sc, std::fabs(cp[k] - ca[k]), std::fabs(sp[k] - sa[k])});
        }
        QVERIFY2(worst_z < kNormalGap, qPrintable(QString("max |z_portable - z_avx512| = %1").arg(worst_z)));
        QVERIFY2(worst_sc < 1e-14, qPrintable(QString("max sincos gap = %1").arg(worst_sc)));
    }

    // Same operations in the same order, IEEE arithmetic: the same bits, for
    // boundary crossings and angle wraps too. (Jumps of more than a box length
    // and angles more than a turn out of range take a slow path that differs;
    // none is drawn here.)
    void updateKernelGivesTheSameBitsAtBothLevels() {
        SKIP_UNLESS_BOTH_LEVELS();
        using detail::kBlock;
        // Partial blocks: 5 lanes (half of the first 8-lane vector), 13 (of the second), 3.
        const int cnts[] = {kBlock, 5, kBlock, 13, 3};
        const int n = 2 * kBlock + 5 + 13 + 3;
        const double L = 12.0;
        std::mt19937_64 rng(17);
        std::uniform_real_distribution<double> pos(0.0, L), ang(-M_PI, M_PI), step(-0.6, 0.6);
        std::normal_distribution<double> g;
        for (const bool aoup : {true, false})
            for (const bool x_noise : {true, false})
                for (const bool track : {true, false}) {
                    // dt, v0, x_noise, act_decay, act_noise, L, half_L, aoup, x_has_noise, track
                    const detail::UpdateParams u{0.01, 1.5, x_noise ? 0.3 : 0.0, aoup ? 0.99 : 1.0, aoup ? 0.14 : 0.9,
                                                 L, 0.5 * L, aoup, x_noise, track};
                    const std::size_t na = aoup ? 2 * n : n;
                    std::vector<double> x(2 * n), act(na), F(2 * n), x_ref(2 * n);
                    std::vector<std::int32_t> img(2 * n);
                    // Every other coordinate within 0.3 of an edge: many crossings.
                    for (std::size_t k = 0; k < x.size(); ++k) x[k] = k % 2 ? pos(rng) : std::fmod(step(rng) / 2 + L, L);
                    for (auto& v : act) v = aoup ? g(rng) : ang(rng);
                    for (auto& v : F) v = 40 * step(rng);  // dt F up to 0.24: crossings
                    for (std::size_t k = 0; k < x.size(); ++k) x_ref[k] = std::fmod(x[k] + step(rng) + L, L);
                    for (auto& v : img) v = static_cast<std::int32_t>(rng() % 7) - 3;
                    std::vector<double> xs[2] = {x, x}, acts[2] = {act, act};
                    std::vector<std::int32_t> imgs[2] = {img, img};
                    double maxd2[2] = {0.0, 0.0};
                    bool ok[2] = {true, true};
                    int first = 0;
                    for (const int cnt : cnts) {
                        alignas(64) double ex[kBlock], ey[kBlock], za[kBlock], zb[kBlock], zx[kBlock], zy[kBlock];
                        for (int q = 0; q < kBlock; ++q) {
                            ex[q] = g(rng);
                            ey[q] = g(rng);
                            za[q] = std::clamp(3 * g(rng), -6.0, 6.0);  // ABP: past +-pi, less than a turn
                            zb[q] = g(rng);
                            zx[q] = g(rng);
                            zy[q] = g(rng);
                        }
                        for (int l = 0; l < 2; ++l)
                            ok[l] = detail::update_block(kLevels[l], u, first, cnt, ex, ey, za, zb, zx, zy, F.data(),
                                                         xs[l].data(), imgs[l].data(), acts[l].data(), x_ref.data(),
                                                         maxd2[l]) &&
                                    ok[l];
                        first += cnt;
                    }
                    const QByteArray tag = QString("aoup=%1 x_noise=%2 track=%3").arg(aoup).arg(x_noise).arg(track).toUtf8();
                    QVERIFY2(ok[0] && ok[1], tag.constData());
                    QVERIFY2(std::memcmp(xs[0].data(), xs[1].data(), x.size() * sizeof(double)) == 0, tag.constData());
                    QVERIFY2(std::memcmp(acts[0].data(), acts[1].data(), act.size() * sizeof(double)) == 0, tag.constData());
                    QVERIFY2(imgs[0] == imgs[1], tag.constData());
                    QVERIFY2(std::memcmp(&maxd2[0], &maxd2[1], sizeof(double)) == 0, tag.constData());
                    QVERIFY2(imgs[0] != img, tag.constData());  // some particles did cross
                }
        // A non-finite force is caught at both levels.
        std::vector<double> x(2 * kBlock, 1.0), act(kBlock, 0.0), F(2 * kBlock, 0.0), x_ref(2 * kBlock, 1.0);
        F[7] = std::nan("");
        std::vector<std::int32_t> img(2 * kBlock, 0);
        const detail::UpdateParams u{0.01, 1.0, 0.0, 1.0, 0.1, L, 0.5 * L, false, false, true};
        alignas(64) double z[kBlock] = {};
        for (const SimdLevel level : kLevels) {
            std::vector<double> xl = x, al = act;
            std::vector<std::int32_t> il = img;
            double m = 0;
            QVERIFY(!detail::update_block(level, u, 0, kBlock, z, z, z, z, z, z, F.data(), xl.data(), il.data(), al.data(),
                                          x_ref.data(), m));
        }
    }

    void forcesAgreeAcrossLevels_data() {
        QTest::addColumn<QString>("name");
        for (const char* name : {"abp wca", "aoup softplus", "aoup hard"}) QTest::newRow(name) << QString(name);
    }
    void forcesAgreeAcrossLevels() {
        SKIP_UNLESS_BOTH_LEVELS();
        QFETCH(QString, name);
        KeepLevel keep;
        const Config cfg = named(name);
        const Simulator sim(cfg, driven(cfg), 1);
        set_simd_level(SimdLevel::Portable);
        const auto fp = sim.conservative_forces();
        set_simd_level(SimdLevel::Avx512);
        const auto fa = sim.conservative_forces();
        double scale = 0, worst = 0;
        for (double v : fp) scale = std::max(scale, std::fabs(v));
        for (std::size_t k = 0; k < fp.size(); ++k) worst = std::max(worst, std::fabs(fp[k] - fa[k]));
        QVERIFY(scale > 0);
        QVERIFY2(worst <= kForceGap * scale, qPrintable(QString("max |F_portable - F_avx512| = %1, max |F| = %2").arg(worst).arg(scale)));
    }

    // One step from the same state: positions apart by at most the position
    // noise times the normals' gap plus dt times the forces' gap (and the
    // rounding of folding); the active variable by its noise times the gap.
    void oneStepAgreesAcrossLevels_data() { forcesAgreeAcrossLevels_data(); }
    void oneStepAgreesAcrossLevels() {
        SKIP_UNLESS_BOTH_LEVELS();
        QFETCH(QString, name);
        KeepLevel keep;
        const Config cfg = named(name);
        const State start = driven(cfg);
        std::vector<State> after;
        double scale = 0;
        for (const SimdLevel level : kLevels) {
            set_simd_level(level);
            Simulator sim(cfg, start, 2);
            if (level == SimdLevel::Portable)
                for (double v : sim.conservative_forces()) scale = std::max(scale, std::fabs(v));
            sim.run(1);
            after.push_back(sim.state());
        }
        const bool aoup = cfg.model == ModelKind::Aoup;
        const double x_noise = std::sqrt(2.0 * cfg.position_diffusion() * cfg.dt);
        const double act_noise = aoup ? std::sqrt(-std::expm1(-2.0 * cfg.gamma * cfg.dt)) : std::sqrt(2.0 * cfg.D_r * cfg.dt);
        const double x_tol = x_noise * kNormalGap + cfg.dt * kForceGap * scale + 1e-12 * cfg.box;
        const auto up = after[0].unwrapped(), ua = after[1].unwrapped();
        double worst_x = 0, worst_a = 0;
        for (std::size_t k = 0; k < up.size(); ++k) worst_x = std::max(worst_x, std::fabs(up[k] - ua[k]));
        for (std::size_t k = 0; k < after[0].act.size(); ++k) {
            double d = after[0].act[k] - after[1].act[k];
            if (!aoup) d -= kTwoPi * std::nearbyint(d / kTwoPi);
            worst_a = std::max(worst_a, std::fabs(d));
        }
        QVERIFY2(worst_x <= x_tol, qPrintable(QString("positions: %1 > %2").arg(worst_x).arg(x_tol)));
        QVERIFY2(worst_a <= act_noise * kNormalGap, qPrintable(QString("active: %1 > %2").arg(worst_a).arg(act_noise * kNormalGap)));
    }
};

QTEST_APPLESS_MAIN(TestSimd)
#include "TestSimd.moc"

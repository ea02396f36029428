// H5MD trajectories: bit-exact round trips, atomic writes, robust reading.
#include <QtTest/QtTest>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/io/h5md.hpp"
#include "entroscope/core/state.hpp"

using namespace entroscope;
namespace fs = std::filesystem;

namespace {

Config small_config(ModelKind model) {
    Config cfg = default_config(model);
    cfg.n = 5;
    cfg.types = {0, 1, 0, 2, 1};
    cfg.trap_stiffness = {0.5, 1.0, 2.0};
    cfg.seed = 0xDEADBEEFCAFEull;  // above 2^32: the seed must survive as uint64
    cfg.finalize();
    return cfg;
}

// Frame f of a deterministic trajectory with awkward doubles (subnormals,
// negative zero, values with all mantissa bits set) that only a bit-exact
// path preserves.
State make_frame(const Config& cfg, int f) {
    State s;
    const int n = cfg.n;
    s.box = cfg.box * (1.0 + 0.01 * f);  // the box may be rescaled between frames
    for (int i = 0; i < n; ++i) s.types.push_back(cfg.type_of(i));
    s.step = 1000ull * static_cast<unsigned>(f) + 7;
    s.time = 0.1 * static_cast<double>(s.step);
    for (int i = 0; i < n; ++i) {
        s.x.push_back(std::fmod(0.1 + 1.37 * i + 0.731 * f, s.box));
        s.x.push_back(std::nextafter(s.box, 0.0) * (i + 1) / (n + 1.0));
        s.image.push_back(-3 * i + f);
        s.image.push_back(i * f - 2);
    }
    const int d = cfg.active_dim();
    for (int i = 0; i < n * d; ++i)
        s.act.push_back(std::sin(0.3 * i + f) * (d == 1 ? M_PI : 1.7));
    s.act[0] = -0.0;
    s.act[1] = 4.9e-324;  // smallest subnormal
    return s;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::vector<std::string> entries(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    return out;
}

}  // namespace

class TestH5md : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    std::string file(const char* name) const { return (fs::path(dir_.path().toStdString()) / name).string(); }

    static void writeThreeFrames(const std::string& path, const Config& cfg) {
        H5mdWriter w(path, cfg, make_frame(cfg, 0));
        for (int f = 0; f < 3; ++f) w.append(make_frame(cfg, f));
        w.close();
    }

    // Replaces the one occurrence of `from` in the file by `to` (same length).
    static void patchFile(const std::string& path, const std::string& from, const std::string& to) {
        QCOMPARE(from.size(), to.size());
        std::string bytes;
        {
            std::ifstream in(path, std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        const auto at = bytes.find(from);
        QVERIFY(at != std::string::npos);
        QVERIFY(bytes.find(from, at + 1) == std::string::npos);
        bytes.replace(at, from.size(), to);
        std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    }

    static void expectIoError(const std::string& path, const std::string& fragment) {
        try {
            read_h5md(path);
            QFAIL("no IoError");
        } catch (const IoError& e) {
            const std::string msg = e.what();
            qInfo("%s", msg.c_str());
            if (msg.find(fragment) == std::string::npos || msg.find(path) == std::string::npos)
                QFAIL(("message lacks '" + fragment + "' or the path: " + msg).c_str());
        }
    }

    // Writes three frames of `model` and reads them back bit for bit.
    void checkRoundTrip(ModelKind model) {
        const Config cfg = small_config(model);
        const std::string path = file(model == ModelKind::Aoup ? "aoup.h5" : "abp.h5");
        std::vector<State> written;
        {
            H5mdWriter w(path, cfg, make_frame(cfg, 0), "9.8.7");
            for (int f = 0; f < 3; ++f) {
                written.push_back(make_frame(cfg, f));
                w.append(written.back());
            }
            QCOMPARE(w.frames(), std::size_t(3));
            QVERIFY(!fs::exists(path));  // nothing at PATH until close()
            w.close();
        }
        QVERIFY(fs::exists(path));

        const Trajectory t = read_h5md(path);
        QCOMPARE(t.config_json, config_to_json(cfg));
        QCOMPARE(config_to_json(t.config), config_to_json(cfg));
        QCOMPARE(t.config.seed, cfg.seed);
        QCOMPARE(t.frames.size(), written.size());
        for (std::size_t f = 0; f < written.size(); ++f) {
            const State& a = written[f];
            const State& b = t.frames[f];
            QVERIFY(same_bits(a.box, b.box));
            QVERIFY(same_bits(a.x, b.x));
            QVERIFY(a.image == b.image);
            QVERIFY(same_bits(a.act, b.act));
            QVERIFY(a.types == b.types);
            QCOMPARE(b.step, a.step);
            QVERIFY(same_bits(a.time, b.time));
            QCOMPARE(b.active_dim(), cfg.active_dim());
        }
        QVERIFY(t.per_particle.empty());
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    void aoupTrajectoryRoundTripsBitExactly() { checkRoundTrip(ModelKind::Aoup); }
    void abpTrajectoryRoundTripsBitExactly() { checkRoundTrip(ModelKind::Abp); }

    void perParticleSeriesRoundTripWithTheirFrames() {
        const Config cfg = small_config(ModelKind::Aoup);
        const std::string path = file("custom.h5");
        H5mdWriter w(path, cfg, make_frame(cfg, 0));
        std::vector<std::vector<double>> sigma, v;
        for (int f = 0; f < 3; ++f) {
            w.append(make_frame(cfg, f));
            sigma.push_back({0.1 * f, 1.0, 2.0, 3.0, -4.0});
            w.append_per_particle("sigma_i", sigma.back(), 1);
            if (f != 1) {  // a series may skip frames
                v.push_back({1, 2, 3, 4, 5, 6, 7, 8, 9, 10.0 + f});
                w.append_per_particle("velocity", v.back(), 2);
            }
        }
        // One value per frame and element; sizes and reserved names are checked.
        QVERIFY_EXCEPTION_THROWN(w.append_per_particle("sigma_i", sigma.back(), 1), IoError);
        QVERIFY_EXCEPTION_THROWN(w.append_per_particle("other", {1.0, 2.0}, 1), IoError);
        QVERIFY_EXCEPTION_THROWN(w.append_per_particle("position", sigma.back(), 1), IoError);
        QVERIFY_EXCEPTION_THROWN(w.append_per_particle("a/b", sigma.back(), 1), IoError);
        w.close();

        const Trajectory t = read_h5md(path);
        QCOMPARE(t.frames.size(), std::size_t(3));
        QCOMPARE(t.per_particle.size(), std::size_t(2));
        const PerParticleSeries& s = t.per_particle[0];
        QCOMPARE(s.name, std::string("sigma_i"));
        QCOMPARE(s.components, 1);
        QVERIFY(s.values == sigma);
        QCOMPARE(s.steps, (std::vector<std::uint64_t>{7, 1007, 2007}));
        const PerParticleSeries& vel = t.per_particle[1];
        QCOMPARE(vel.name, std::string("velocity"));
        QCOMPARE(vel.components, 2);
        QVERIFY(vel.values == v);
        QCOMPARE(vel.steps, (std::vector<std::uint64_t>{7, 2007}));
        QVERIFY(same_bits(vel.times[1], t.frames[2].time));
    }

    void observablesRoundTripAsScalarAndVectorSeries() {
        const Config cfg = small_config(ModelKind::Abp);
        const std::string path = file("observables.h5");
        H5mdWriter w(path, cfg, make_frame(cfg, 0));
        w.append(make_frame(cfg, 0));
        const double third = 1.0 / 3.0;
        w.append_observable("epr_active", 7, 0.7, {third});
        w.append_observable("epr_active_estimate", 7, 0.7, {third, std::nan("")}, {"mean", "se"});
        w.append_observable("epr_active", 1007, 100.7, {M_PI});
        w.append_observable("epr_active_estimate", 1007, 100.7, {2.5, 4.9e-324}, {"mean", "se"});
        // Width fixed by the first call, steps increase, names are checked.
        QVERIFY_EXCEPTION_THROWN(w.append_observable("epr_active", 2007, 1.0, {1.0, 2.0}), IoError);
        QVERIFY_EXCEPTION_THROWN(w.append_observable("epr_active", 1007, 1.0, {1.0}), IoError);
        QVERIFY_EXCEPTION_THROWN(w.append_observable("a/b", 3000, 1.0, {1.0}), IoError);
        QVERIFY_EXCEPTION_THROWN(w.append_observable("x", 3000, 1.0, {1.0, 2.0}, {"one"}), IoError);
        QVERIFY_EXCEPTION_THROWN(w.append_observable("empty", 3000, 1.0, {}), IoError);
        w.close();

        const Trajectory t = read_h5md(path);
        QCOMPARE(t.observables.size(), std::size_t(2));
        const ObservableSeries& a = t.observables[0];
        QCOMPARE(a.name, std::string("epr_active"));
        QCOMPARE(a.components, 1);
        QVERIFY(a.component_names.empty());
        QCOMPARE(a.steps, (std::vector<std::uint64_t>{7, 1007}));
        QCOMPARE(a.times, (std::vector<double>{0.7, 100.7}));
        QVERIFY(same_bits(a.values[0][0], third));
        QVERIFY(same_bits(a.values[1][0], M_PI));
        const ObservableSeries& e = t.observables[1];
        QCOMPARE(e.name, std::string("epr_active_estimate"));
        QCOMPARE(e.components, 2);
        QCOMPARE(e.component_names, (std::vector<std::string>{"mean", "se"}));
        QVERIFY(std::isnan(e.values[0][1]));
        QVERIFY(same_bits(e.values[1][1], 4.9e-324));
        // A file without observables reads as before.
        writeThreeFrames(file("plain.h5"), cfg);
        QVERIFY(read_h5md(file("plain.h5")).observables.empty());
    }

    void parametersHoldTheNetworkAndItsHash() {
        const Config cfg = small_config(ModelKind::Aoup);
        const std::string path = file("params.h5");
        H5mdWriter w(path, cfg, make_frame(cfg, 0));
        w.set_parameter("network_checkpoint", "models/m.pt");
        w.set_parameter("network_weights_fnv1a64", "0123456789abcdef");
        QVERIFY_EXCEPTION_THROWN(w.set_parameter("network_checkpoint", "again"), IoError);
        QVERIFY_EXCEPTION_THROWN(w.set_parameter("seed", "1"), IoError);
        QVERIFY_EXCEPTION_THROWN(w.set_parameter("model", "abp"), IoError);
        QVERIFY_EXCEPTION_THROWN(w.set_parameter("a/b", "x"), IoError);
        w.append(make_frame(cfg, 0));
        w.close();
        const Trajectory t = read_h5md(path);
        QCOMPARE(t.parameters.size(), std::size_t(3));
        QCOMPARE(t.parameters.at("model"), std::string("aoup"));
        QCOMPARE(t.parameters.at("network_checkpoint"), std::string("models/m.pt"));
        QCOMPARE(t.parameters.at("network_weights_fnv1a64"), std::string("0123456789abcdef"));
        QCOMPARE(t.config.seed, cfg.seed);
    }

    void perParticleSeriesNeedAFrameFirst() {
        const Config cfg = small_config(ModelKind::Aoup);
        H5mdWriter w(file("early.h5"), cfg, make_frame(cfg, 0));
        QVERIFY_EXCEPTION_THROWN(w.append_per_particle("sigma_i", std::vector<double>(5, 0.0), 1), IoError);
    }

    void writerWithoutCloseLeavesNoFiles() {
        const std::string sub = file("abandoned");
        fs::create_directory(sub);
        const std::string path = (fs::path(sub) / "traj.h5").string();
        const Config cfg = small_config(ModelKind::Aoup);
        {
            H5mdWriter w(path, cfg, make_frame(cfg, 0));
            w.append(make_frame(cfg, 0));
            QCOMPARE(entries(sub).size(), std::size_t(1));  // the temporary file, in the same directory
            QVERIFY(entries(sub)[0].rfind("traj.h5.tmp-", 0) == 0);
        }
        QVERIFY(!fs::exists(path));
        QVERIFY(entries(sub).empty());
    }

    void closeReplacesAnExistingFileAtomically() {
        const std::string path = file("replace.h5");
        { std::ofstream(path) << "old content"; }
        const Config cfg = small_config(ModelKind::Abp);
        H5mdWriter w(path, cfg, make_frame(cfg, 0));
        w.append(make_frame(cfg, 1));
        { std::ifstream in(path); std::string s; std::getline(in, s); QCOMPARE(s, std::string("old content")); }
        w.close();
        w.close();  // a second close is a no-op
        QCOMPARE(read_h5md(path).frames.size(), std::size_t(1));
        QVERIFY_EXCEPTION_THROWN(w.append(make_frame(cfg, 2)), IoError);
    }

    void failedCloseThrowsIoErrorAndLeavesNoFiles() {
        const std::string sub = file("blocked");
        fs::create_directory(sub);
        const std::string path = (fs::path(sub) / "traj.h5").string();
        const Config cfg = small_config(ModelKind::Aoup);
        H5mdWriter w(path, cfg, make_frame(cfg, 0));
        w.append(make_frame(cfg, 0));
        // A non-empty directory appears at PATH: the final rename must fail.
        fs::create_directories(fs::path(path) / "inside");
        QVERIFY_EXCEPTION_THROWN(w.close(), IoError);
        fs::remove_all(path);
        QVERIFY(entries(sub).empty());
    }

    void fileWithoutFramesIsValid() {
        const std::string path = file("empty.h5");
        const Config cfg = small_config(ModelKind::Aoup);
        H5mdWriter(path, cfg, make_frame(cfg, 0)).close();
        const Trajectory t = read_h5md(path);
        QVERIFY(t.frames.empty());
        QCOMPARE(t.config_json, config_to_json(cfg));
    }

    void mismatchedFramesAreRefusedAndTheWriterStaysUsable() {
        const std::string path = file("mismatch.h5");
        const Config cfg = small_config(ModelKind::Aoup);
        H5mdWriter w(path, cfg, make_frame(cfg, 0));
        State bad = make_frame(cfg, 0);
        bad.act.pop_back();
        QVERIFY_EXCEPTION_THROWN(w.append(bad), IoError);
        bad = make_frame(cfg, 0);
        bad.types[0] = 2;
        QVERIFY_EXCEPTION_THROWN(w.append(bad), IoError);
        w.append(make_frame(cfg, 0));
        w.close();
        QCOMPARE(read_h5md(path).frames.size(), std::size_t(1));
    }

    void layoutThatDisagreesWithTheConfigIsRefused() {
        const Config aoup = small_config(ModelKind::Aoup);
        const Config abp = small_config(ModelKind::Abp);
        QVERIFY_EXCEPTION_THROWN(H5mdWriter(file("x.h5"), abp, make_frame(aoup, 0)), IoError);
        Config bigger = aoup;
        bigger.n = 6;
        bigger.types.push_back(0);
        QVERIFY_EXCEPTION_THROWN(H5mdWriter(file("x.h5"), bigger, make_frame(aoup, 0)), IoError);
        QVERIFY(!fs::exists(file("x.h5")));
    }

    void unwritableDirectoryThrowsIoError() {
        const Config cfg = small_config(ModelKind::Aoup);
        QVERIFY_EXCEPTION_THROWN(H5mdWriter(file("no/such/dir/t.h5"), cfg, make_frame(cfg, 0)), IoError);
    }

    void missingFileThrowsIoError() {
        expectIoError(file("does-not-exist.h5"), "no such file");
    }

    void textFileThrowsIoError() {
        const std::string path = file("text.h5");
        { std::ofstream(path) << "this is not HDF5\n"; }
        expectIoError(path, "not an HDF5 file");
    }

    void truncatedFileThrowsIoError() {
        const Config cfg = small_config(ModelKind::Aoup);
        for (double fraction : {0.5, 0.9, 0.1}) {
            const std::string path = file("truncated.h5");
            writeThreeFrames(path, cfg);
            const auto size = fs::file_size(path);
            fs::resize_file(path, static_cast<std::uintmax_t>(static_cast<double>(size) * fraction));
            expectIoError(path, "");
        }
    }

    void missingGroupThrowsIoErrorNamingIt() {
        const std::string path = file("renamed.h5");
        writeThreeFrames(path, small_config(ModelKind::Aoup));
        // Rename the link in place; "positiom" keeps the group's name order.
        patchFile(path, std::string("position\0", 9), std::string("positiom\0", 9));
        if (QTest::currentTestFailed()) return;
        expectIoError(path, "/particles/all/position");
    }

    void inconsistentShapesThrowIoError() {
        Config cfg = small_config(ModelKind::Aoup);
        cfg.types.clear();
        cfg.trap_stiffness.clear();
        cfg.finalize();
        const std::string path = file("shapes.h5");
        writeThreeFrames(path, cfg);
        // The stored config now claims 6 particles; the datasets hold 5.
        patchFile(path, "\"n\": 5", "\"n\": 6");
        if (QTest::currentTestFailed()) return;
        expectIoError(path, "shape");
    }

    void invalidStoredConfigThrowsIoError() {
        const std::string path = file("badconfig.h5");
        writeThreeFrames(path, small_config(ModelKind::Aoup));
        patchFile(path, "\"n\": 5", "\"n\": 0");
        if (QTest::currentTestFailed()) return;
        expectIoError(path, "config_json");
    }
};

QTEST_APPLESS_MAIN(TestH5md)
#include "TestH5md.moc"

// render::MovieWriter on synthetic frames (a square moving over a gradient):
// what it writes is decoded again here with libavformat/libavcodec (and, when
// installed, checked by ffprobe), and every way of failing is checked to
// leave nothing at the target name. No display is needed: nothing is drawn.
#include <QtTest>
#include <sys/stat.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "entroscope/core/errors.hpp"
#include "movie_probe.hpp"
#include "render/movie_writer.hpp"

using entroscope::ConfigError;
using entroscope::IoError;
using entroscope::render::MovieOptions;
using entroscope::render::MovieWriter;
using namespace entroscope::test;
namespace fs = std::filesystem;

namespace {

// Frame k of w x h: a horizontal gradient with a white 40x40 square moving right.
std::vector<unsigned char> synthetic(int w, int h, int k)
{
    std::vector<unsigned char> rgb(static_cast<std::size_t>(w) * h * 3);
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            unsigned char* p = &rgb[(static_cast<std::size_t>(y) * w + x) * 3];
            const bool square = x >= 10 + 8 * k && x < 50 + 8 * k && y >= h / 2 - 20 && y < h / 2 + 20;
            p[0] = square ? 255 : static_cast<unsigned char>(40 + 100 * x / w);
            p[1] = square ? 255 : 30;
            p[2] = square ? 255 : static_cast<unsigned char>(120 - 80 * y / h);
        }
    }
    return rgb;
}

double mean_abs_diff(const std::vector<unsigned char>& a, const std::vector<unsigned char>& b)
{
    if (a.size() != b.size() || a.empty()) return -1;
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += std::abs(int(a[i]) - int(b[i]));
    return s / static_cast<double>(a.size());
}

double spread(const std::vector<unsigned char>& y)
{
    if (y.empty()) return 0;
    const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
    return *hi - *lo;
}

std::string run_capture(const std::string& cmd)
{
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
    return out;
}

void encode(const std::string& path, MovieOptions opt, int frames, int srcW, int srcH)
{
    MovieWriter mw(path, opt);
    for (int k = 0; k < frames; ++k) mw.push_rgb(synthetic(srcW, srcH, k));
    mw.close();
    QCOMPARE(mw.frames(), frames);
}

}  // namespace

class TestMovieWriter : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    std::string at(const char* name) const { return (fs::path(tmp_.path().toStdString()) / name).string(); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void h264_mp4_decodes_with_every_frame_in_yuv420p()
    {
        if (!MovieWriter::h264Available()) QSKIP("this FFmpeg has no libx264");
        const std::string path = at("square.mp4");
        MovieOptions opt;
        opt.width = 320;
        opt.height = 240;
        opt.fps = 24;
        {
            MovieWriter mw(path, opt);
            QCOMPARE(QString::fromStdString(mw.codec()), QStringLiteral("h264"));
            QCOMPARE(QString::fromStdString(mw.encoder()), QStringLiteral("libx264"));
            QVERIFY(mw.note().empty());
            for (int k = 0; k < 30; ++k) mw.push_rgb(synthetic(320, 240, k));
            QVERIFY(!fs::exists(path));  // not before close()
            mw.close();
            QCOMPARE(mw.frames(), 30);
            QVERIFY(mw.encodeSeconds() > 0.0);
        }
        QCOMPARE(count_with_prefix(tmp_.path().toStdString(), "square.mp4.tmp-"), 0);
        const Decoded d = decode(path);
        QVERIFY2(d.error.empty(), d.error.c_str());
        QCOMPARE(QString::fromStdString(d.codec), QStringLiteral("h264"));
        QCOMPARE(QString::fromStdString(d.pixfmt), QStringLiteral("yuv420p"));
        QCOMPARE(d.width, 320);
        QCOMPARE(d.height, 240);
        QCOMPARE(d.frames, 30);
        QVERIFY2(spread(d.firstY) > 100, "first frame is blank");
        QVERIFY2(spread(d.lastY) > 100, "last frame is blank");
        QVERIFY2(mean_abs_diff(d.firstY, d.lastY) > 2.0, "first and last frames are the same");
    }

    void mp4_is_faststart_moov_before_mdat()
    {
        const std::string path = at("fast.mp4");
        MovieOptions opt;
        opt.width = 160;
        opt.height = 120;
        encode(path, opt, 10, 160, 120);
        const auto boxes = top_boxes(path);
        const auto moov = std::find(boxes.begin(), boxes.end(), "moov");
        const auto mdat = std::find(boxes.begin(), boxes.end(), "mdat");
        QVERIFY(moov != boxes.end());
        QVERIFY(mdat != boxes.end());
        QVERIFY2(moov < mdat, "moov after mdat: the movie cannot play while downloading");
        // The permissions of any new file (0666 less the umask), not the
        // temporary file's private 0600.
        const mode_t mask = ::umask(0);
        ::umask(mask);
        const auto perms = fs::status(path).permissions();
        QCOMPARE(static_cast<unsigned>(perms) & 0777u, 0666u & ~static_cast<unsigned>(mask));
    }

    void ffprobe_agrees()
    {
        // ffprobe comes with packaging/install-deps.sh (ffmpeg): missing is a failure.
        QVERIFY2(fs::exists("/usr/bin/ffprobe"), "no /usr/bin/ffprobe: run packaging/install-deps.sh");
        const std::string path = at("probe.mp4");
        MovieOptions opt;
        opt.width = 320;
        opt.height = 240;
        encode(path, opt, 12, 320, 240);
        const std::string json = run_capture("/usr/bin/ffprobe -v error -count_frames -select_streams v:0 -show_entries "
                                             "stream=codec_name,pix_fmt,width,height,nb_read_frames -of json '" + path + "'");
        QVERIFY2(json.find("\"nb_read_frames\": \"12\"") != std::string::npos, json.c_str());
        QVERIFY2(json.find("\"pix_fmt\": \"yuv420p\"") != std::string::npos, json.c_str());
        QVERIFY2(json.find("\"width\": 320") != std::string::npos, json.c_str());
        if (MovieWriter::h264Available()) QVERIFY2(json.find("\"codec_name\": \"h264\"") != std::string::npos, json.c_str());
    }

    void forced_mpeg4_decodes()
    {
        const std::string path = at("part2.mp4");
        MovieOptions opt;
        opt.width = 320;
        opt.height = 240;
        opt.codec = "mpeg4";
        {
            MovieWriter mw(path, opt);
            QCOMPARE(QString::fromStdString(mw.codec()), QStringLiteral("mpeg4"));
            for (int k = 0; k < 20; ++k) mw.push_rgb(synthetic(320, 240, k));
            mw.close();
        }
        const Decoded d = decode(path);
        QVERIFY2(d.error.empty(), d.error.c_str());
        QCOMPARE(QString::fromStdString(d.codec), QStringLiteral("mpeg4"));
        QCOMPARE(QString::fromStdString(d.pixfmt), QStringLiteral("yuv420p"));
        QCOMPARE(d.frames, 20);
        QVERIFY(mean_abs_diff(d.firstY, d.lastY) > 2.0);
        QVERIFY(top_boxes(path).size() >= 3);
    }

    void auto_falls_back_to_mpeg4_and_says_so_without_h264()
    {
        ::setenv("ENTROSCOPE_MOVIE_NO_H264", "1", 1);
        const std::string path = at("fallback.mp4");
        MovieOptions opt;
        opt.width = 160;
        opt.height = 120;
        std::string codec, note;
        bool forcedH264Refused = false;
        try {
            MovieWriter mw(path, opt);
            codec = mw.codec();
            note = mw.note();
            for (int k = 0; k < 5; ++k) mw.push_rgb(synthetic(160, 120, k));
            mw.close();
            opt.codec = "h264";
            try {
                MovieWriter refused(at("refused.mp4"), opt);
            } catch (const IoError&) {
                forcedH264Refused = true;
            }
        } catch (...) {
            ::unsetenv("ENTROSCOPE_MOVIE_NO_H264");
            throw;
        }
        ::unsetenv("ENTROSCOPE_MOVIE_NO_H264");
        QCOMPARE(QString::fromStdString(codec), QStringLiteral("mpeg4"));
        QVERIFY2(note.find("MPEG-4 Part 2") != std::string::npos, note.c_str());
        QCOMPARE(decode(path).frames, 5);
        QVERIFY(forcedH264Refused);
        QVERIFY(!fs::exists(at("refused.mp4")));
        QCOMPARE(count_with_prefix(tmp_.path().toStdString(), "refused.mp4"), 0);
    }

    void odd_size_is_rounded_down_to_even_and_said()
    {
        const std::string path = at("odd.mp4");
        MovieOptions opt;
        opt.width = 321;
        opt.height = 241;
        MovieWriter mw(path, opt);
        QCOMPARE(mw.width(), 320);
        QCOMPARE(mw.height(), 240);
        QVERIFY2(mw.note().find("rounded down to 320x240") != std::string::npos, mw.note().c_str());
        for (int k = 0; k < 6; ++k) mw.push_rgb(synthetic(321, 241, k));  // pushes keep the asked size
        QVERIFY_THROWS_EXCEPTION(ConfigError, mw.push_rgb(synthetic(320, 240, 0)));
        mw.close();
        const Decoded d = decode(path);
        QCOMPARE(d.width, 320);
        QCOMPARE(d.height, 240);
        QCOMPARE(d.frames, 6);
    }

    void bad_options_are_config_errors()
    {
        MovieOptions opt;
        opt.codec = "vp9";
        QVERIFY_THROWS_EXCEPTION(ConfigError, MovieWriter(at("bad.mp4"), opt));
        opt = {};
        opt.fps = 0;
        QVERIFY_THROWS_EXCEPTION(ConfigError, MovieWriter(at("bad.mp4"), opt));
        opt = {};
        opt.quality = 60;
        QVERIFY_THROWS_EXCEPTION(ConfigError, MovieWriter(at("bad.mp4"), opt));
        QVERIFY(!fs::exists(at("bad.mp4")));
        QCOMPARE(count_with_prefix(tmp_.path().toStdString(), "bad.mp4"), 0);
    }

    void cancel_and_destruction_leave_nothing()
    {
        const std::string path = at("cancelled.mp4");
        MovieOptions opt;
        opt.width = 160;
        opt.height = 120;
        {
            MovieWriter mw(path, opt);
            for (int k = 0; k < 10; ++k) mw.push_rgb(synthetic(160, 120, k));
            QCOMPARE(count_with_prefix(tmp_.path().toStdString(), "cancelled.mp4.tmp-"), 1);
            mw.cancel();
            QVERIFY_THROWS_EXCEPTION(IoError, mw.push_rgb(synthetic(160, 120, 0)));
            mw.close();  // after cancel: nothing to do
        }
        {
            MovieWriter mw(path, opt);
            for (int k = 0; k < 3; ++k) mw.push_rgb(synthetic(160, 120, k));
        }  // destroyed without close()
        QVERIFY(!fs::exists(path));
        QCOMPARE(count_with_prefix(tmp_.path().toStdString(), "cancelled.mp4"), 0);
    }

    void close_without_frames_fails_and_leaves_nothing()
    {
        const std::string path = at("empty.mp4");
        MovieWriter mw(path, {});
        QVERIFY_THROWS_EXCEPTION(IoError, mw.close());
        QVERIFY(!fs::exists(path));
        QCOMPARE(count_with_prefix(tmp_.path().toStdString(), "empty.mp4"), 0);
    }

    void unwritable_or_missing_folder_is_an_io_error()
    {
        // /proc refuses new files even to root (tests may run as root, where
        // a chmod 0555 folder would still be writable).
        QVERIFY_THROWS_EXCEPTION(IoError, MovieWriter("/proc/entroscope-test.mp4", {}));
        QVERIFY(!fs::exists("/proc/entroscope-test.mp4"));
        const std::string missing = at("no-such-folder/out.mp4");
        try {
            MovieWriter mw(missing, {});
            QFAIL("no error for a missing folder");
        } catch (const IoError& e) {
            QVERIFY2(std::string(e.what()).find(missing) != std::string::npos, e.what());
        }
        QVERIFY(!fs::exists(at("no-such-folder")));
        MovieOptions png;
        png.codec = "png";
        QVERIFY_THROWS_EXCEPTION(IoError, MovieWriter("/proc/entroscope-test-frames", png));
    }

    void full_disk_is_an_io_error_and_leaves_nothing()
    {
        // A file-size limit in a forked child stands in for a full disk:
        // with SIGXFSZ ignored, writes past it fail with EFBIG.
        const std::string path = at("full.mp4");
        const pid_t pid = ::fork();
        QVERIFY(pid >= 0);
        if (pid == 0) {
            std::signal(SIGXFSZ, SIG_IGN);
            rlimit lim{};
            lim.rlim_cur = lim.rlim_max = 64 * 1024;
            ::setrlimit(RLIMIT_FSIZE, &lim);
            int code = 10;
            try {
                MovieOptions opt;
                opt.width = 320;
                opt.height = 240;
                opt.quality = 0;  // noise at CRF 0: far more than 64 KiB
                MovieWriter mw(path, opt);
                std::mt19937 rng(1);
                for (int k = 0; k < 60; ++k) {
                    std::vector<unsigned char> rgb(320 * 240 * 3);
                    for (auto& b : rgb) b = static_cast<unsigned char>(rng());
                    mw.push_rgb(std::move(rgb));
                }
                mw.close();
                code = 11;  // no error
            } catch (const IoError& e) {
                const std::string what = e.what();
                code = what.find("File too large") != std::string::npos ? 0 : 12;
                if (code) std::fprintf(stderr, "unexpected message: %s\n", what.c_str());
            } catch (...) {
                code = 13;
            }
            ::_exit(code);
        }
        int status = 0;
        QCOMPARE(::waitpid(pid, &status, 0), pid);
        QVERIFY(WIFEXITED(status));
        QCOMPARE(WEXITSTATUS(status), 0);
        QVERIFY(!fs::exists(path));
        QCOMPARE(count_with_prefix(tmp_.path().toStdString(), "full.mp4"), 0);
    }

    void png_sequence_writes_numbered_frames()
    {
        const std::string dir = at("frames");
        MovieOptions opt;
        opt.codec = "png";
        opt.width = 161;  // PNG keeps odd sizes
        opt.height = 121;
        {
            MovieWriter mw(dir, opt);
            QCOMPARE(QString::fromStdString(mw.codec()), QStringLiteral("png"));
            for (int k = 0; k < 7; ++k) mw.push_rgb(synthetic(161, 121, k));
            mw.close();
        }
        int pngs = 0;
        for (const auto& e : fs::directory_iterator(dir)) {
            QVERIFY(e.path().extension() == ".png");
            ++pngs;
        }
        QCOMPARE(pngs, 7);
        QVERIFY(fs::exists(fs::path(dir) / "frame_00000.png"));
        QVERIFY(fs::exists(fs::path(dir) / "frame_00006.png"));
        const Decoded d = decode((fs::path(dir) / "frame_00006.png").string());
        QCOMPARE(QString::fromStdString(d.codec), QStringLiteral("png"));
        QCOMPARE(d.width, 161);
        QCOMPARE(d.height, 121);
        QCOMPARE(d.frames, 1);

        // Cancelled: the frames go, and the folder it made.
        const std::string gone = at("frames-cancelled");
        {
            MovieWriter mw(gone, opt);
            for (int k = 0; k < 3; ++k) mw.push_rgb(synthetic(161, 121, k));
            mw.cancel();
        }
        QVERIFY(!fs::exists(gone));

        // A folder that already holds frames of a sequence is refused, and
        // its frames stay as they were.
        const auto before = fs::file_size(fs::path(dir) / "frame_00006.png");
        try {
            MovieWriter again(dir, opt);
            QFAIL("a folder with frames of another sequence was accepted");
        } catch (const entroscope::IoError& e) {
            QVERIFY2(QString(e.what()).contains("frame_"), e.what());
        }
        QCOMPARE(fs::file_size(fs::path(dir) / "frame_00006.png"), before);
    }

    void a_slow_encoder_only_blocks_when_the_queue_is_full()
    {
        // 1920x1080 frames; pushing two into a queue of 8 returns at once
        // even though encoding them takes far longer.
        MovieOptions opt;
        opt.width = 1920;
        opt.height = 1080;
        opt.queue_frames = 8;
        MovieWriter mw(at("queue.mp4"), opt);
        std::vector<std::vector<unsigned char>> frames;
        for (int k = 0; k < 2; ++k) frames.push_back(synthetic(1920, 1080, k));
        QElapsedTimer t;
        t.start();
        for (auto& f : frames) mw.push_rgb(std::move(f));
        const qint64 pushMs = t.elapsed();
        mw.close();
        QVERIFY2(pushMs < 200, qPrintable(QString("pushes took %1 ms").arg(pushMs)));
        QCOMPARE(mw.frames(), 2);
    }
};

QTEST_APPLESS_MAIN(TestMovieWriter)
#include "TestMovieWriter.moc"

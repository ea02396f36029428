// `entroscope-cli render` end to end: figures and movies of small systems
// (N = 64 to 256), read back (QImage for PNG, libavcodec for MP4), and the
// bad conditions (no network for a learned quantity, a short trajectory, an
// unwritable folder, a full disk, SIGINT mid-movie): exit 2 with a message
// and nothing at the target name. Needs an X display (xvfb-run): VTK draws
// through GLX.
#include <QImage>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QRegularExpression>
#include <QtTest>

#include <sys/resource.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "movie_probe.hpp"

#ifndef ENTROSCOPE_CLI
#error "ENTROSCOPE_CLI must name the entroscope-cli executable"
#endif

using namespace entroscope::test;
namespace fs = std::filesystem;

namespace {

struct Run {
    int code = -1;
    QString out, err;
    QJsonObject json() const { return QJsonDocument::fromJson(out.toUtf8()).object(); }
};

Run cli(const QStringList& args, const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment(),
        std::function<void()> modifier = {})
{
    QProcess p;
    p.setProcessEnvironment(env);
    if (modifier) p.setChildProcessModifier(modifier);
    p.start(QStringLiteral(ENTROSCOPE_CLI), args);
    Run r;
    if (!p.waitForFinished(180000)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out";
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

Run render(const QStringList& args, const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment(),
           std::function<void()> modifier = {})
{
    return cli(QStringList{"render"} + args, env, std::move(modifier));
}

// Bytes in the first file of `dir` named prefix*, -1 when there is none.
long long size_with_prefix(const std::string& dir, const std::string& prefix)
{
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().filename().string().rfind(prefix, 0) == 0) return static_cast<long long>(fs::file_size(e.path(), ec));
    return -1;
}

const QStringList kSmall = {"--kind", "abp", "--n", "256", "--seed", "3"};

}  // namespace

class TestRenderCli : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    QString at(const QString& name) const { return tmp_.filePath(name); }
    std::string dir() const { return tmp_.path().toStdString(); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        if (qEnvironmentVariableIsEmpty("DISPLAY")) QSKIP("no X display (run under xvfb-run): VTK renders through GLX");
    }

    void figure_png_from_a_config_has_the_asked_size()
    {
        const Run r = render(kSmall + QStringList{"--burn-in", "50", "--out", at("fig.png"), "--size", "240x180", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QImage im(at("fig.png"));
        QCOMPARE(im.size(), QSize(240, 180));
        QCOMPARE(r.json().value("width").toInt(), 240);
        QCOMPARE(r.json().value("source").toString(), QStringLiteral("live"));
        // Not a blank image: the disks and the caption differ from the background.
        QVERIFY(im.pixel(5, 5) != im.pixel(120, 90) || im.pixel(120, 90) != im.pixel(60, 60));
    }

    void physical_size_gives_pixels_and_dpi_and_transparency_works()
    {
        const Run r = render(kSmall + QStringList{"--burn-in", "20", "--out", at("print.png"), "--size-mm", "50.8x25.4", "--dpi", "150",
                                               "--transparent", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QImage im(at("print.png"));
        QCOMPARE(im.size(), QSize(300, 150));  // 2 x 1 inches at 150 dpi
        QCOMPARE(im.dotsPerMeterX(), 5906);   // 150 / 0.0254, rounded
        QVERIFY(im.hasAlphaChannel());
        QCOMPARE(qAlpha(im.pixel(im.width() - 2, im.height() / 2)), 0);  // background at the right edge
        QVERIFY(r.json().value("transparent").toBool());
    }

    void learned_quantity_without_a_network_is_exit_2()
    {
        Run r = render(kSmall + QStringList{"--quantity", "sigma", "--model", "none", "--out", at("none.png")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("learned"), qPrintable(r.err));
        QVERIFY(!QFile::exists(at("none.png")));
        // The shipped default is an ABP network: an AOUP config has none that fits.
        r = render({"--kind", "aoup", "--n", "64", "--quantity", "sigma", "--out", at("aoup.png")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("no network fits"), qPrintable(r.err));
        QVERIFY(!QFile::exists(at("aoup.png")));
    }

    void vector_figures_have_one_circle_per_visible_particle()
    {
        const Run r = render(kSmall + QStringList{"--burn-in", "100", "--quantity", "sigma", "--out", at("fig.svg"), "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(r.json().value("format").toString(), QStringLiteral("svg"));
        // Parse the SVG: the box outline (the closed polyline outside every
        // group) and the circles of <g id="particles">.
        QFile f(at("fig.svg"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QXmlStreamReader xml(&f);
        QRectF box;
        struct C { double x, y, r; };
        QList<C> circles;
        QStringList groups;
        while (!xml.atEnd()) {
            xml.readNext();
            if (xml.isStartElement()) {
                const auto a = xml.attributes();
                if (xml.name() == QLatin1String("g")) groups << a.value("id").toString();
                if (xml.name() == QLatin1String("circle") && groups.contains("particles"))
                    circles.push_back({a.value("cx").toDouble(), a.value("cy").toDouble(), a.value("r").toDouble()});
                if (xml.name() == QLatin1String("polyline") && groups.isEmpty()) {
                    const QStringList pts = a.value("points").toString().split(' ');
                    if (pts.size() == 5)
                        box = QRectF(QPointF(pts[0].split(',')[0].toDouble(), pts[0].split(',')[1].toDouble()),
                                     QPointF(pts[2].split(',')[0].toDouble(), pts[2].split(',')[1].toDouble()));
                }
            } else if (xml.isEndElement() && xml.name() == QLatin1String("g")) {
                groups.pop_back();
            }
        }
        QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
        QVERIFY(box.width() > 100);
        // Every particle once inside the box; every other circle a periodic
        // image that overlaps the box (visible there), none that does not.
        int inside = 0;
        for (const C& c : circles) {
            if (box.contains(c.x, c.y)) {
                ++inside;
                continue;
            }
            const double dx = std::max({box.left() - c.x, 0.0, c.x - box.right()});
            const double dy = std::max({box.top() - c.y, 0.0, c.y - box.bottom()});
            QVERIFY2(std::hypot(dx, dy) < c.r, "a periodic image that does not reach into the box");
        }
        QCOMPARE(inside, 256);
        QCOMPARE(circles.size(), r.json().value("circles").toInt());
        QVERIFY(circles.size() > 256);  // some cross an edge at phi = 0.5

        // PDF at a physical size: one page of 100 x 80 mm, the caption as text.
        const Run p = render(kSmall + QStringList{"--burn-in", "100", "--view", "current", "--out", at("fig.pdf"), "--size-mm", "100x80", "--json"});
        QVERIFY2(p.code == 0, qPrintable(p.err));
        QVERIFY(p.json().value("arrows").toInt() > 0);
        QProcess info;  // poppler-utils, installed by packaging/install-deps.sh
        info.start("pdfinfo", {at("fig.pdf")});
        QVERIFY2(info.waitForFinished(30000) && info.exitStatus() == QProcess::NormalExit && info.exitCode() == 0,
                 qPrintable("pdfinfo: " + info.errorString()));
        {
            const QString out = QString::fromUtf8(info.readAllStandardOutput());
            const auto m = QRegularExpression("Page size:\\s+([0-9.]+) x ([0-9.]+) pts").match(out);
            QVERIFY2(m.hasMatch(), qPrintable(out));
            QVERIFY(std::abs(m.captured(1).toDouble() - 283.46) < 0.1 && std::abs(m.captured(2).toDouble() - 226.77) < 0.1);
            QProcess text;
            text.start("pdftotext", {at("fig.pdf"), "-"});
            QVERIFY(text.waitForFinished(30000));
            QVERIFY(QString::fromUtf8(text.readAllStandardOutput()).contains("N = 256"));
        }
        // An unknown extension is exit 2 and writes nothing.
        const Run bad = render(kSmall + QStringList{"--out", at("fig.eps")});
        QCOMPARE(bad.code, 2);
        QVERIFY2(bad.err.contains(".svg or .pdf"), qPrintable(bad.err));
        QVERIFY(!QFile::exists(at("fig.eps")));
    }

    void movie_from_a_live_run_has_every_frame()
    {
        const QString path = at("live.mp4");
        const Run r = render(kSmall + QStringList{"--burn-in", "100", "--quantity", "sigma", "--movie", path, "--frames", "6", "--stride", "10",
                                               "--fps", "12", "--size", "320x240", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const Decoded d = decode(path.toStdString());
        QVERIFY2(d.error.empty(), d.error.c_str());
        QCOMPARE(d.frames, 6);
        QCOMPARE(d.width, 320);
        QCOMPARE(d.height, 240);
        QCOMPARE(QString::fromStdString(d.pixfmt), QStringLiteral("yuv420p"));
        const QJsonObject j = r.json();
        QCOMPARE(j.value("frames").toInt(), 6);
        QCOMPARE(j.value("fps").toDouble(), 12.0);
        QCOMPARE(j.value("codec").toString(), QString::fromStdString(d.codec));
        QVERIFY(j.value("frames_per_s").toDouble() > 0.0);
        QCOMPARE(j.value("range_rule").toString(), QStringLiteral("first"));
        QVERIFY(mean_differs(d));
    }

    void movie_from_a_simulated_trajectory_and_one_that_ends_early()
    {
        const QString traj = at("traj.h5");
        Run r = cli(QStringList{"simulate"} + kSmall + QStringList{"--steps", "100", "--frames", "10", "--out", traj});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QString path = at("stored.mp4");
        r = render({"--trajectory", traj, "--movie", path, "--frames", "5", "--stride", "2", "--size", "160x120", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(decode(path.toStdString()).frames, 5);
        QCOMPARE(r.json().value("source").toString(), QStringLiteral("trajectory"));

        const QString shortPath = at("short.mp4");
        r = render({"--trajectory", traj, "--movie", shortPath, "--frames", "50", "--size", "160x120"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("ends early") && r.err.contains("50 frames"), qPrintable(r.err));
        QVERIFY(!QFile::exists(shortPath));
        QCOMPARE(count_with_prefix(dir(), "short.mp4"), 0);
    }

    void png_sequence_into_a_folder()
    {
        const QString folder = at("seq") + "/";
        const Run r = render(kSmall + QStringList{"--burn-in", "10", "--movie", folder, "--frames", "4", "--stride", "5", "--size", "161x121", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(r.json().value("codec").toString(), QStringLiteral("png"));
        QCOMPARE(QDir(folder).entryList({"frame_*.png"}, QDir::Files).size(), 4);
        QCOMPARE(QImage(folder + "frame_00003.png").size(), QSize(161, 121));
    }

    void without_h264_the_movie_is_mpeg4_and_says_so()
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("ENTROSCOPE_MOVIE_NO_H264", "1");
        const QString path = at("fallback.mp4");
        const Run r = render(kSmall + QStringList{"--burn-in", "10", "--movie", path, "--frames", "3", "--size", "160x120", "--json"}, env);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QJsonObject j = r.json();
        QCOMPARE(j.value("codec").toString(), QStringLiteral("mpeg4"));
        QVERIFY(j.value("fallback").toBool());
        QVERIFY2(j.value("note").toString().contains("MPEG-4 Part 2"), qPrintable(r.out));
        QVERIFY2(r.err.contains("MPEG-4 Part 2"), qPrintable(r.err));
        const Decoded d = decode(path.toStdString());
        QCOMPARE(QString::fromStdString(d.codec), QStringLiteral("mpeg4"));
        QCOMPARE(d.frames, 3);
    }

    void unwritable_folder_and_full_disk_leave_nothing()
    {
        Run r = render(kSmall + QStringList{"--movie", "/proc/entroscope-render-test.mp4", "--frames", "2"});
        QCOMPARE(r.code, 2);
        QVERIFY(!QFile::exists("/proc/entroscope-render-test.mp4"));
        r = render(kSmall + QStringList{"--out", at("missing-folder/fig.png")});
        QCOMPARE(r.code, 2);

        // A 64 KiB file-size limit in the child stands in for a full disk,
        // as `prlimit --fsize=65536 entroscope-cli ...` does: SIGXFSZ is left
        // at its default here (it would kill the process), so this also
        // checks that render ignores it and fails with EFBIG instead.
        const QString path = at("full.mp4");
        r = render(kSmall + QStringList{"--burn-in", "10", "--movie", path, "--frames", "40", "--stride", "20", "--quality", "0", "--size", "640x480"},
                QProcessEnvironment::systemEnvironment(), [] {
                    std::signal(SIGXFSZ, SIG_DFL);
                    rlimit lim{};
                    lim.rlim_cur = lim.rlim_max = 64 * 1024;
                    ::setrlimit(RLIMIT_FSIZE, &lim);
                });
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("File too large"), qPrintable(r.err));
        QVERIFY(!QFile::exists(path));
        QCOMPARE(count_with_prefix(dir(), "full.mp4"), 0);
    }

    void sigint_mid_movie_cancels_and_leaves_nothing()
    {
        const QString path = at("interrupted.mp4");
        QProcess p;
        p.start(QStringLiteral(ENTROSCOPE_CLI), QStringList{"render"} + kSmall +
                                                    QStringList{"--burn-in", "10", "--movie", path, "--frames", "100000", "--stride", "1", "--size",
                                                                "320x240"});
        QVERIFY(p.waitForStarted());
        // Wait until frames are being encoded (the temporary file exists).
        QTRY_VERIFY_WITH_TIMEOUT(size_with_prefix(dir(), "interrupted.mp4.tmp-") > 0, 60000);
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains("interrupted"), qPrintable(err));
        QVERIFY(!QFile::exists(path));
        QCOMPARE(count_with_prefix(dir(), "interrupted.mp4"), 0);
    }

    // SIGTERM during a long burn-in (before any frame): the temporary movie
    // opened at the start goes too.
    void sigterm_during_the_burn_in_leaves_nothing()
    {
        const QString path = at("burning.mp4");
        QProcess p;
        p.start(QStringLiteral(ENTROSCOPE_CLI), QStringList{"render"} + kSmall +
                                                    QStringList{"--burn-in", "100000000", "--movie", path, "--frames", "10", "--size", "320x240"});
        QVERIFY(p.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(size_with_prefix(dir(), "burning.mp4.tmp-") >= 0, 60000);  // the writer is open
        QTest::qWait(500);
        p.terminate();
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains("interrupted during the burn-in"), qPrintable(err));
        QCOMPARE(count_with_prefix(dir(), "burning.mp4"), 0);
    }

private:
    static bool mean_differs(const Decoded& d)
    {
        if (d.firstY.size() != d.lastY.size() || d.firstY.empty()) return false;
        double s = 0;
        for (std::size_t i = 0; i < d.firstY.size(); ++i) s += std::abs(int(d.firstY[i]) - int(d.lastY[i]));
        return s / static_cast<double>(d.firstY.size()) > 0.5;
    }
};

QTEST_GUILESS_MAIN(TestRenderCli)
#include "TestRenderCli.moc"

// entroscope: the desktop window.
//   entroscope [--config F.json] [--no-training] [--colour-by angle|sigma]
//              [--sim-threads N] [--train-threads N] [--prefer training|simulation|display]
//              [--arrows off|position|active] [--screenshot OUT.png] [--report] [--after-seconds T]
#include <QApplication>
#include <QCommandLineParser>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSurfaceFormat>
#include <QTimer>
#include <cstdio>
#include <cstdlib>

#include "app/gui/default_session.hpp"
#include "app/gui/main_window.hpp"
#include "widgets/movie_dialog.hpp"
#include "app/gui/movie_recorder.hpp"
#include "render/field_scene.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "widgets/vtk_view.hpp"

namespace {

// The window's own benchmark: frames presented and distinct pictures drawn
// per second, and the session's rates over the same run.
QByteArray reportJson(entroscope::gui::MainWindow& window)
{
    const auto d = window.displayStats();
    const auto s = window.simulation()->session().stats();
    const double t = d.seconds > 0.0 ? d.seconds : 1.0;
    const double ts = s.seconds > 0.0 ? s.seconds : 1.0;
    QJsonObject o;
    o[QStringLiteral("seconds")] = d.seconds;
    o[QStringLiteral("frames_presented_per_s")] = static_cast<double>(d.frames_presented) / t;
    o[QStringLiteral("pictures_drawn_per_s")] = static_cast<double>(d.pictures_drawn) / t;
    o[QStringLiteral("sim_steps_per_s")] = static_cast<double>(s.sim_steps) / ts;
    o[QStringLiteral("sim_particle_steps_per_s")] = static_cast<double>(s.particle_steps) / ts;
    o[QStringLiteral("train_steps")] = static_cast<double>(s.train_steps);
    o[QStringLiteral("train_steps_per_s")] = static_cast<double>(s.train_steps) / ts;
    o[QStringLiteral("train_seconds")] = s.train_seconds;
    o[QStringLiteral("evaluations")] = static_cast<double>(s.evaluations);
    o[QStringLiteral("evaluation_seconds")] = s.eval_seconds;
    o[QStringLiteral("seconds_to_first_estimate")] = s.seconds_to_first_estimate;
    if (const auto* rec = window.recorder()) {
        o[QStringLiteral("record_frames")] = rec->frames();
        o[QStringLiteral("record_seconds")] = rec->seconds();
        o[QStringLiteral("record_render_seconds")] = rec->renderSeconds();
    }
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

}  // namespace

int main(int argc, char** argv)
{
    // The simulation shares the CPU with the GUI thread and the software GL
    // rasteriser; spinning OpenMP barriers collapse under that load (measured:
    // 28 -> 9 M particle-steps/s with one busy core; passive waiting keeps 15 M).
    // Must be set before the OpenMP runtime starts; a user's setting wins.
    setenv("OMP_WAIT_POLICY", "passive", 0);
    // Must precede QApplication: VTK needs a 3.2 core context without MSAA.
    QSurfaceFormat::setDefaultFormat(entroscope::widgets::VtkView::defaultFormat());
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Entroscope"));
    QApplication::setApplicationVersion(QStringLiteral("0.1.0"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Watch active matter leave equilibrium."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption configOpt(QStringLiteral("config"),
                                       QStringLiteral("Start from a config JSON file."), QStringLiteral("F.json"));
    const QCommandLineOption shotOpt(QStringLiteral("screenshot"),
                                     QStringLiteral("Save the window to a PNG and exit."), QStringLiteral("OUT.png"));
    const QCommandLineOption afterOpt(QStringLiteral("after-seconds"),
                                      QStringLiteral("Seconds to run before the screenshot (default 5)."),
                                      QStringLiteral("T"), QStringLiteral("5"));
    const QCommandLineOption noTrainOpt(QStringLiteral("no-training"),
                                        QStringLiteral("Do not learn the score (no entropy production readout)."));
    const QCommandLineOption colourOpt(QStringLiteral("colour-by"),
                                       QStringLiteral("Particle colours: angle (default), sigma (learned local "
                                                      "entropy production, |v|^2), sigma_div, speed (|v_act|), "
                                                      "speed_x (|v_x|), density or type."),
                                       QStringLiteral("angle|sigma|sigma_div|speed|speed_x|density|type"), QStringLiteral("angle"));
    const QCommandLineOption simThreadsOpt(QStringLiteral("sim-threads"),
                                           QStringLiteral("Threads of the simulation (default: all cores but one)."),
                                           QStringLiteral("N"));
    const QCommandLineOption trainThreadsOpt(QStringLiteral("train-threads"),
                                             QStringLiteral("Threads of the score network's training (default 1)."),
                                             QStringLiteral("N"));
    const QCommandLineOption preferOpt(QStringLiteral("prefer"),
                                       QStringLiteral("What keeps normal priority when the cores are short: training "
                                                      "(default), simulation or display."),
                                       QStringLiteral("training|simulation|display"), QStringLiteral("training"));
    const QCommandLineOption reportOpt(QStringLiteral("report"),
                                       QStringLiteral("Run for --after-seconds, then print what the display, the "
                                                      "simulation and the learner did (one JSON line) and exit."));
    const QCommandLineOption arrowsOpt(QStringLiteral("arrows"),
                                       QStringLiteral("Arrows of the probability flow over the particles: off "
                                                      "(default), position (v_x) or active (v_g, AOUP)."),
                                       QStringLiteral("off|position|active"), QStringLiteral("off"));
    parser.addOption(arrowsOpt);
    const QCommandLineOption currentOpt(QStringLiteral("current"),
                                        QStringLiteral("The coarse-grained current J(r) over the field view: off "
                                                       "(default), arrows or streamlines."),
                                        QStringLiteral("off|arrows|streamlines"), QStringLiteral("off"));
    parser.addOption(currentOpt);
    const QCommandLineOption sweepTableOpt(QStringLiteral("open-sweep"),
                                           QStringLiteral("Load a sweep table (entroscope-cli sweep --out) into the phase "
                                                          "diagram and show it."),
                                           QStringLiteral("TABLE"));
    parser.addOption(sweepTableOpt);
    const QCommandLineOption recordOpt(QStringLiteral("record"),
                                       QStringLiteral("Record the run from the start into OUT.mp4 (a folder: PNG frames); with "
                                                      "--after-seconds the movie is finished before the window closes."),
                                       QStringLiteral("OUT"));
    parser.addOption(recordOpt);
    const QCommandLineOption recordSizeOpt(QStringLiteral("record-size"), QStringLiteral("Frame size of --record (default 1280x720)."),
                                           QStringLiteral("WxH"), QStringLiteral("1280x720"));
    parser.addOption(recordSizeOpt);
    parser.addOption(preferOpt);
    parser.addOption(reportOpt);
    parser.addOption(simThreadsOpt);
    parser.addOption(trainThreadsOpt);
    parser.addOption(configOpt);
    parser.addOption(noTrainOpt);
    parser.addOption(colourOpt);
    parser.addOption(shotOpt);
    parser.addOption(afterOpt);
    if (!parser.parse(QApplication::arguments())) {
        std::fprintf(stderr, "entroscope: %s\n", parser.errorText().toLocal8Bit().constData());
        return 2;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        parser.showHelp(0);
    }
    if (parser.isSet(QStringLiteral("version"))) {
        parser.showVersion();
    }

    bool ok = true;
    const double after = parser.value(afterOpt).toDouble(&ok);
    if (!ok || !(after >= 0.0)) {
        std::fprintf(stderr, "entroscope: --after-seconds: expected a non-negative number\n");
        return 2;
    }

    const QString colourBy = parser.value(colourOpt);
    using ColourBy = entroscope::gui::MainWindow::ColourBy;
    const std::pair<const char*, ColourBy> colourKeys[] = {
        {"angle", ColourBy::ActiveAngle},     {"sigma", ColourBy::LocalEntropyProduction},
        {"sigma_div", ColourBy::DivergenceEstimator}, {"speed", ColourBy::ActiveSpeed},
        {"speed_x", ColourBy::PositionSpeed}, {"density", ColourBy::LocalDensity},
        {"type", ColourBy::ParticleType}};
    ColourBy colour = ColourBy::ActiveAngle;
    bool colourKnown = false;
    for (const auto& [key, c] : colourKeys) {
        if (colourBy == QLatin1String(key)) {
            colour = c;
            colourKnown = true;
        }
    }
    if (!colourKnown) {
        std::fprintf(stderr, "entroscope: --colour-by: expected angle, sigma, sigma_div, speed, speed_x, density or type\n");
        return 2;
    }

    const QString arrows = parser.value(arrowsOpt);
    if (arrows != QLatin1String("off") && arrows != QLatin1String("position") && arrows != QLatin1String("active")) {
        std::fprintf(stderr, "entroscope: --arrows: expected off, position or active\n");
        return 2;
    }
    const QString current = parser.value(currentOpt);
    if (current != QLatin1String("off") && current != QLatin1String("arrows") && current != QLatin1String("streamlines")) {
        std::fprintf(stderr, "entroscope: --current: expected off, arrows or streamlines\n");
        return 2;
    }

    entroscope::LiveOptions opt = entroscope::gui::MainWindow::defaultLiveOptions();
    for (const auto& [option, target] : {std::pair{&simThreadsOpt, &opt.sim_threads}, std::pair{&trainThreadsOpt, &opt.train_threads}}) {
        if (parser.isSet(*option)) {
            const int v = parser.value(*option).toInt(&ok);
            if (!ok || v < 1 || v > 1024) {
                std::fprintf(stderr, "entroscope: --%s: expected a whole number in [1, 1024]\n",
                             option->names().front().toLocal8Bit().constData());
                return 2;
            }
            *target = v;
        }
    }

    const QString prefer = parser.value(preferOpt);
    if (prefer == QLatin1String("training")) {
        entroscope::gui::MainWindow::applyPreference(opt, entroscope::gui::MainWindow::Preference::Training);
    } else if (prefer == QLatin1String("simulation")) {
        entroscope::gui::MainWindow::applyPreference(opt, entroscope::gui::MainWindow::Preference::Simulation);
    } else if (prefer == QLatin1String("display")) {
        entroscope::gui::MainWindow::applyPreference(opt, entroscope::gui::MainWindow::Preference::Display);
    } else {
        std::fprintf(stderr, "entroscope: --prefer: expected training, simulation or display\n");
        return 2;
    }

    entroscope::Config cfg;
    try {
        cfg = parser.isSet(configOpt) ? entroscope::load_config_file(parser.value(configOpt).toStdString())
                                      : entroscope::gui::embedded_default_config();
    } catch (const entroscope::Error& e) {
        std::fprintf(stderr, "entroscope: %s\n", e.what());
        return 2;
    }

    try {
        opt.session.training = !parser.isSet(noTrainOpt);
        entroscope::gui::MainWindow window(cfg, opt);
        if (colour != ColourBy::ActiveAngle) window.setColourBy(colour);
        if (arrows == QLatin1String("position")) {
            window.setArrows(entroscope::gui::MainWindow::Arrows::PositionPart);
        } else if (arrows == QLatin1String("active")) {
            window.setArrows(entroscope::gui::MainWindow::Arrows::ActivePart);
        }
        if (current != QLatin1String("off")) {
            window.setCurrentOverlay(current == QLatin1String("arrows") ? entroscope::render::CurrentOverlay::Arrows
                                                                         : entroscope::render::CurrentOverlay::Streamlines);
        }
        window.show();
        if (parser.isSet(sweepTableOpt) && !window.openSweepTable(parser.value(sweepTableOpt))) {
            std::fprintf(stderr, "entroscope: --open-sweep: cannot read %s\n", parser.value(sweepTableOpt).toLocal8Bit().constData());
            return 2;
        }
        if (parser.isSet(recordOpt)) {
            entroscope::widgets::MovieRequest r;
            r.path = parser.value(recordOpt);
            const QStringList wh = parser.value(recordSizeOpt).split('x');
            bool okW = false, okH = false;
            if (wh.size() == 2) {
                r.width = wh[0].toInt(&okW);
                r.height = wh[1].toInt(&okH);
            }
            if (!okW || !okH) {
                std::fprintf(stderr, "entroscope: --record-size: expected WIDTHxHEIGHT, e.g. 1280x720\n");
                return 2;
            }
            QString why;
            if (!window.startMovie(r, &why)) {
                std::fprintf(stderr, "entroscope: --record: %s\n", why.toLocal8Bit().constData());
                return 2;
            }
        }
        const bool report = parser.isSet(reportOpt);
        if (parser.isSet(shotOpt) || report || (parser.isSet(recordOpt) && parser.isSet(afterOpt))) {
            const QString out = parser.value(shotOpt);
            QTimer::singleShot(static_cast<int>(after * 1000.0), &window, [&window, out, report] {
                if (report) {
                    std::printf("%s\n", reportJson(window).constData());
                    std::fflush(stdout);
                }
                bool saved = true;
                if (window.recording()) {
                    QString why;
                    saved = window.stopRecording(&why);
                    if (!saved) std::fprintf(stderr, "entroscope: --record: %s\n", why.toLocal8Bit().constData());
                }
                if (!out.isEmpty()) {
                    saved = window.saveScreenshot(out);
                    if (!saved) {
                        std::fprintf(stderr, "entroscope: cannot write %s\n", out.toLocal8Bit().constData());
                    }
                }
                QApplication::exit(saved ? 0 : 1);
            });
        }
        return QApplication::exec();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "entroscope: internal error: %s\n", e.what());
        return 1;
    }
}

// entroscope-cli render: figures (PNG) and movies (MP4, PNG sequences) of a
// live run or a stored trajectory, drawn offscreen by render/ (docs/cli.md).
//
// Frames come from the engine: a SessionCore without training (the pattern
// of `estimate`) runs the config after a burn-in, or a trajectory's stored
// states are taken one by one; learned quantities are evaluated by the
// network at each frame, so every frame shows values of its own state.
// Movies are encoded by render::MovieWriter on its own thread: the loop
// here renders the next frame while the previous one is being encoded.
#include "render_command.hpp"
#include "interrupt.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "cli_args.hpp"
#include "config_args.hpp"
#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/io/h5md.hpp"
#include "entroscope/score/score_model.hpp"
#include "entroscope/session/frame.hpp"
#include "entroscope/session/session_core.hpp"
#include "render/colour_rules.hpp"
#include "render/field_scene.hpp"
#include "render/movie_writer.hpp"
#include "render/offscreen_render.hpp"
#include "render/particle_scene.hpp"
#include "render/vector_figure.hpp"

namespace entroscope::cli {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string lower(std::string s)
{
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool ends_with(const std::string& s, const std::string& tail)
{
    return s.size() >= tail.size() && lower(s.substr(s.size() - tail.size())) == tail;
}

// "WxH" as two positive numbers.
std::pair<double, double> parse_pair(const std::string& flag, const std::string& text)
{
    const auto x = text.find('x');
    try {
        if (x == std::string::npos) throw std::invalid_argument("no x");
        std::size_t uw = 0, uh = 0;
        const double w = std::stod(text.substr(0, x), &uw);
        const double h = std::stod(text.substr(x + 1), &uh);
        if (uw != x || uh != text.size() - x - 1 || !(w > 0) || !(h > 0) || !std::isfinite(w) || !std::isfinite(h))
            throw std::invalid_argument("bad");
        return {w, h};
    } catch (const std::exception&) {
        throw ConfigError(flag, "expected WIDTHxHEIGHT with positive numbers, e.g. 1280x720, got '" + text + "'");
    }
}

constexpr int kMaxPixels = 16384;

// A pixel count from a double, checked before the cast (a huge value would
// not fit an int): outside 1 .. 10 * kMaxPixels it becomes 0 or that bound,
// which the size check then refuses with the numbers asked.
int pixels(double v)
{
    if (!(v >= 0.0)) return 0;
    return v > 10.0 * kMaxPixels ? 10 * kMaxPixels : static_cast<int>(std::lround(v));
}

// "a:b" fixed, "auto" per frame, "first" the first frame's range held.
struct RangeChoice {
    enum Kind { First, Auto, Fixed } kind = First;
    double lo = 0, hi = 1;
};

RangeChoice parse_range(const std::optional<std::string>& text, bool movie)
{
    RangeChoice r;
    r.kind = movie ? RangeChoice::First : RangeChoice::Auto;
    if (!text) return r;
    if (*text == "auto") {
        r.kind = RangeChoice::Auto;
        return r;
    }
    if (*text == "first") {
        r.kind = RangeChoice::First;
        return r;
    }
    const auto colon = text->find(':');
    try {
        if (colon == std::string::npos) throw std::invalid_argument("no colon");
        std::size_t ua = 0, ub = 0;
        r.lo = std::stod(text->substr(0, colon), &ua);
        r.hi = std::stod(text->substr(colon + 1), &ub);
        if (ua != colon || ub != text->size() - colon - 1 || !std::isfinite(r.lo) || !std::isfinite(r.hi) || !(r.hi > r.lo))
            throw std::invalid_argument("bad");
    } catch (const std::exception&) {
        throw ConfigError("--range", "expected lo:hi with lo < hi, 'first' (the first frame's range, held) or 'auto' (per frame), got '" +
                                         *text + "'");
    }
    r.kind = RangeChoice::Fixed;
    return r;
}

enum class View { Particles, Field, Current };

struct What {
    View view = View::Particles;
    render::Quantity quantity = render::Quantity::ActiveAngle;     // particles, current
    render::FieldQuantity field = render::FieldQuantity::LocalEpr;  // field
    render::CurrentOverlay overlay = render::CurrentOverlay::Off;
    std::string key;
    bool learned = false;     // needs the network
    bool divergence = false;  // sigma_div
    bool fields = false;      // needs the gridded fields
};

What parse_what(const Args& a, ModelKind model)
{
    What w;
    const std::string view = a.value("--view").value_or("particles");
    if (view == "particles") w.view = View::Particles;
    else if (view == "field") w.view = View::Field;
    else if (view == "current") w.view = View::Current;
    else throw ConfigError("--view", "unknown view '" + view + "' (particles, field or current)");

    if (const auto c = a.value("--current")) {
        if (*c == "arrows") w.overlay = render::CurrentOverlay::Arrows;
        else if (*c == "streamlines") w.overlay = render::CurrentOverlay::Streamlines;
        else if (*c == "off") w.overlay = render::CurrentOverlay::Off;
        else throw ConfigError("--current", "expected arrows, streamlines or off, got '" + *c + "'");
    } else if (w.view == View::Current) {
        w.overlay = render::CurrentOverlay::Arrows;
    }
    if (w.view == View::Particles && w.overlay != render::CurrentOverlay::Off)
        throw ConfigError("--current", "the current is drawn by --view current (over the particles) or --view field");

    if (w.view == View::Field) {
        w.key = a.value("--quantity").value_or("sigma");
        if (w.key == "sigma" || w.key == "sigma_sq") w.field = render::FieldQuantity::LocalEpr;
        else if (w.key == "density") w.field = render::FieldQuantity::Density;
        else if (w.key == "current" || w.key == "speed") w.field = render::FieldQuantity::CurrentMagnitude;
        else throw ConfigError("--quantity", "the field view shows sigma, density or current, not '" + w.key + "'");
        // Every field is gridded at a network evaluation.
        w.learned = w.fields = true;
        return w;
    }
    w.key = a.value("--quantity").value_or(w.view == View::Current ? "sigma" : "angle");
    const std::string key = w.key == "sigma" ? "sigma_sq" : w.key;
    const auto q = render::quantity_from_key(key);
    if (!q)
        throw ConfigError("--quantity", "unknown quantity '" + w.key +
                                            "' (sigma, sigma_div, speed, speed_x, angle, density or type)");
    w.quantity = *q;
    w.learned = render::quantity_info(*q, model, false).learned;
    w.divergence = *q == render::Quantity::SigmaDiv;
    if (w.view == View::Current) w.learned = w.fields = true;
    return w;
}

std::string describe(const What& w)
{
    if (w.view == View::Field) return std::string("the field view (") + render::to_key(w.field) + ")";
    if (w.view == View::Current) return "the current view";
    return "quantity '" + w.key + "'";
}

// The network for a learned view: --model PATH, or the shipped default
// (resources/models/default_fast.pt, as `sweep` finds it) when it fits the
// config. Empty when none is needed or --model none.
struct ModelChoice {
    std::string path, source;
};

ModelChoice choose_model(const Args& a, const Config& cfg, const What& w)
{
    if (const auto m = a.value("--model")) {
        if (*m == "none") {
            if (w.learned)
                throw ConfigError("--model", describe(w) + " is learned (a network evaluates it) and --model none gives no network; "
                                                           "give --model M.pt or a quantity of the positions (angle, density, type)");
            return {};
        }
        std::error_code ec;
        if (!fs::exists(*m, ec)) throw ConfigError("--model", "'" + *m + "' does not exist");
        if (!w.learned) return {};  // nothing to evaluate: no need to load it
        return {*m, "given"};
    }
    if (!w.learned) return {};
    std::string why = "no shipped default model in this build";
#ifdef ENTROSCOPE_RESOURCE_DIR
    const std::string shipped = std::string(ENTROSCOPE_RESOURCE_DIR) + "/models/default_fast.pt";
    std::error_code ec;
    if (fs::exists(shipped, ec)) {
        try {
            (void)ScoreModel::load(shipped, &cfg);
            return {shipped, "shipped default"};
        } catch (const ConfigError& e) {
            why = "the shipped default " + shipped + " does not fit: " + e.what();
        } catch (const IoError& e) {
            why = "the shipped default " + shipped + " cannot be read: " + e.what();
        }
    } else {
        why = "the shipped default " + shipped + " is missing";
    }
#endif
    throw ConfigError("--model", describe(w) + " is learned and no network fits this config (" + why +
                                     "); give --model M.pt (a checkpoint written by train for this model)");
}

// A figure's format by its extension: PNG (VTK offscreen), SVG or PDF
// (vectors: render/vector_figure).
std::string figure_format(const std::string& out)
{
    if (out.empty()) throw ConfigError("--out", "is empty");
    for (const char* f : {"png", "svg", "pdf"})
        if (ends_with(out, std::string(".") + f)) return f;
    throw ConfigError("--out", "a figure is written as .png, .svg or .pdf (got '" + out + "')");
}

// Frames one after another: from a live run of the config or from a
// stored trajectory (then `index` picks the stored frame).
class FrameSource {
public:
    FrameSource(const Config& cfg, const What& w, const ModelChoice& model, int threads, const std::string& device,
                std::optional<Trajectory> traj)
        : cfg_(cfg), what_(w), traj_(std::move(traj))
    {
        SessionOptions so;
        so.training = false;
        so.model_path = model.path;
        so.sim_threads = threads;
        so.evaluate_every = 0;  // evaluated here, at each frame
        so.fields = w.fields;
        so.window = 0;
        if (!device.empty()) so.device = device;
        if (!traj_ || !model.path.empty()) core_ = std::make_unique<SessionCore>(cfg, so);
    }

    bool stored() const { return traj_.has_value(); }
    double evaluateSeconds() const { return eval_s_; }
    double simulateSeconds() const { return sim_s_; }

    void burnIn(std::uint64_t steps)
    {
        const auto t0 = Clock::now();
        run_interruptibly(steps, [this](std::uint64_t k) { core_->burn_in(k); }, "during the burn-in");
        sim_s_ += seconds_since(t0);
    }
    void simulate(std::uint64_t steps)
    {
        const auto t0 = Clock::now();
        run_interruptibly(steps, [this](std::uint64_t k) { core_->simulate(k); }, "between frames");
        sim_s_ += seconds_since(t0);
    }

    // The frame of the current live state, or of stored frame `index`.
    std::shared_ptr<const Frame> frame(std::size_t index)
    {
        std::shared_ptr<const State> st;
        if (traj_) st = std::make_shared<const State>(traj_->frames.at(index));
        if (!what_.learned) {
            if (!traj_) return core_->frame();
            auto f = std::make_shared<Frame>();
            f->config = cfg_;
            f->state = st;
            f->estimate = std::make_shared<const GlobalEstimate>();
            return f;
        }
        const auto t0 = Clock::now();
        if (!st) st = core_->push_snapshot();
        const auto ev = core_->evaluate(what_.divergence, st);
        eval_s_ += seconds_since(t0);
        auto f = core_->learned_frame();
        if (!ev || !f) throw NumericalError("the network could not evaluate the state at step " + std::to_string(st->step));
        return f;
    }

private:
    Config cfg_;
    What what_;
    std::optional<Trajectory> traj_;
    std::unique_ptr<SessionCore> core_;
    double eval_s_ = 0, sim_s_ = 0;
};

// Draws frames into one offscreen renderer by the view's rules.
class Painter {
public:
    Painter(int width, int height, const What& w, bool caption)
        : renderer_(width, height), what_(w), caption_(caption)
    {
        if (w.view == View::Field) {
            renderer_.fieldScene().setCurrentOverlay(w.overlay);
            renderer_.fieldScene().setCaptionShown(caption);
        } else {
            renderer_.scene().setCurrentOverlay(w.overlay);
        }
    }
    render::OffscreenRenderer& renderer() { return renderer_; }

    render::ColourRange draw(const Frame& f, const render::RangeRule& rule)
    {
        if (what_.view == View::Field) {
            auto r = renderer_.fieldScene().show(f, what_.field, rule);
            return r;
        }
        auto r = renderer_.scene().show(f, what_.quantity, rule, caption_);
        if (!caption_) renderer_.scene().setCaption("");
        return r;
    }

private:
    render::OffscreenRenderer renderer_;
    What what_;
    bool caption_ = true;
};

json range_json(const render::ColourRange& r) { return json::array({r.lo, r.hi}); }

}  // namespace

int cmd_render(const std::vector<std::string>& argv)
{
    // Ctrl+C / SIGTERM from here on: the writers below remove what they started.
    const InterruptGuard interrupt;
    const Args a(argv,
                 with_config_flags({"--model", "--trajectory", "--frame", "--view", "--quantity", "--out", "--size", "--burn-in",
                                    "--range", "--dpi", "--size-in", "--size-mm", "--movie", "--png-sequence", "--frames", "--stride",
                                    "--fps", "--quality", "--codec", "--current", "--threads", "--device", "--queue"}),
                 {"--json", "--transparent", "--no-caption"});
    const auto t_start = Clock::now();
    // Past a file-size limit (`prlimit --fsize`, a quota) the kernel's
    // SIGXFSZ would kill us with PATH.tmp-XXXXXX left behind; ignored, the
    // write fails with EFBIG and the writer cleans up and says so.
    std::signal(SIGXFSZ, SIG_IGN);
    const bool movie = a.has("--movie") || a.has("--png-sequence");
    if (a.has("--movie") && a.has("--png-sequence")) throw ConfigError("--png-sequence", "give either --movie or --png-sequence");
    if (movie && a.has("--out")) throw ConfigError("--out", "is for a figure; a movie goes to --movie OUT.mp4 (or --png-sequence DIR)");
    if (!movie && !a.has("--out")) throw ConfigError("--out", "is required (FIG.png), or give --movie OUT.mp4 / --png-sequence DIR");
    if (!movie) {
        for (const char* f : {"--frames", "--stride", "--fps", "--quality", "--codec", "--queue"})
            if (a.has(f)) throw ConfigError(f, "applies to movies (--movie or --png-sequence)");
    } else {
        for (const char* f : {"--transparent", "--dpi", "--size-in", "--size-mm"})
            if (a.has(f)) throw ConfigError(f, "applies to PNG figures (--out FIG.png), not to movies");
    }

    // The physics: a stored trajectory's own, or the config's.
    std::optional<Trajectory> traj;
    Config cfg;
    if (const auto t = a.value("--trajectory")) {
        traj = read_h5md(*t);
        cfg = traj->config;
        if (traj->frames.empty()) throw ConfigError("--trajectory", "'" + *t + "' holds no frame");
        if (a.has("--config")) std::cerr << "render: physics from the trajectory; --config's physics not used\n";
        if (a.has("--burn-in")) throw ConfigError("--burn-in", "applies to a live run; a trajectory's frames are stored");
    } else {
        if (a.has("--frame")) throw ConfigError("--frame", "picks a stored frame: give --trajectory T.h5");
        cfg = load_config(a);
    }
    const What what = parse_what(a, cfg.model);
    const RangeChoice rangeChoice = parse_range(a.value("--range"), movie);

    // Size: --size WxH pixels, or a physical size at --dpi.
    int width = movie ? 1280 : 1200, height = movie ? 720 : 1000;
    double dpi = 0.0;
    if (a.has("--dpi")) {
        dpi = a.number("--dpi", 0.0);
        if (!(dpi >= 10.0 && dpi <= 10000.0)) throw ConfigError("--dpi", "must be in [10, 10000]");
    }
    const std::string format = movie ? std::string("mp4") : figure_format(a.value("--out").value_or(""));
    const bool vector = format == "svg" || format == "pdf";
    const int sizes = int(a.has("--size")) + int(a.has("--size-in")) + int(a.has("--size-mm"));
    if (sizes > 1) throw ConfigError("--size", "give one of --size (pixels), --size-in or --size-mm (with --dpi)");
    // Vector pages: --size in points, default 720 x 600 pt (10 x 8.3 in).
    double pageW = 720.0, pageH = 600.0;
    if (const auto s = a.value("--size"); s && vector) {
        std::tie(pageW, pageH) = parse_pair("--size", *s);
    } else if (s) {
        const auto [w, h] = parse_pair("--size", *s);
        if (w != std::floor(w) || h != std::floor(h)) throw ConfigError("--size", "is in whole pixels (--size-in/--size-mm take inches/mm)");
        width = pixels(w);
        height = pixels(h);
    } else if (vector && (a.has("--size-in") || a.has("--size-mm"))) {
        // A vector page needs no resolution: its size in points (1/72 in).
        const char* flag = a.has("--size-in") ? "--size-in" : "--size-mm";
        const auto [w, h] = parse_pair(flag, *a.value(flag));
        const double per = a.has("--size-in") ? 72.0 : 72.0 / 25.4;
        pageW = w * per;
        pageH = h * per;
    } else if (a.has("--size-in") || a.has("--size-mm")) {
        const char* flag = a.has("--size-in") ? "--size-in" : "--size-mm";
        if (dpi <= 0) throw ConfigError(flag, "needs --dpi D (pixels per inch)");
        const auto [w, h] = parse_pair(flag, *a.value(flag));
        const double per = a.has("--size-in") ? 1.0 : 1.0 / 25.4;
        width = pixels(w * per * dpi);
        height = pixels(h * per * dpi);
    }
    if (vector && (pageW < 36.0 || pageH < 36.0 || pageW > 14400.0 || pageH > 14400.0))
        throw ConfigError("--size", "a vector page must be 36 to 14400 points (1/72 in) a side, got " + std::to_string(pageW) + "x" +
                                        std::to_string(pageH));
    if (!vector && (width < 16 || height < 16 || width > kMaxPixels || height > kMaxPixels))
        throw ConfigError(a.has("--size") ? "--size" : "--dpi", "the image must be 16 to " + std::to_string(kMaxPixels) + " pixels a side, got " +
                                                                    std::to_string(width) + "x" + std::to_string(height));

    const int threads = static_cast<int>(a.integer("--threads", 1));
    if (threads < 1 || threads > 1024) throw ConfigError("--threads", "must be in [1, 1024]");
    set_network_threads(threads);
    const ModelChoice model = choose_model(a, cfg, what);
    if (!model.path.empty()) std::cerr << "render: network " << model.path << " (" << model.source << ")\n";

    // Which frames.
    const long long frames = movie ? a.integer("--frames", traj ? -1 : 100) : 1;
    const long long stride = a.integer("--stride", traj ? 1 : 10);
    if (stride < 1 || stride > 1000000000) throw ConfigError("--stride", "must be in [1, 1000000000]");
    const long long first = a.integer("--frame", 0);
    long long count = frames;
    if (traj) {
        const auto held = static_cast<long long>(traj->frames.size());
        if (first < 0 || first >= held)
            throw ConfigError("--frame", "the trajectory holds " + std::to_string(held) + " frames (0 to " + std::to_string(held - 1) + "); asked for frame " +
                                             std::to_string(first));
        if (count < 0) count = (held - 1 - first) / stride + 1;  // all that fit
        if (count < 1) throw ConfigError("--frames", "must be >= 1");
        const long long last = first + (count - 1) * stride;
        if (last >= held)
            throw ConfigError("--frames", "the trajectory ends early: it holds " + std::to_string(held) + " frames; " + std::to_string(count) +
                                              " frames with stride " + std::to_string(stride) + " from frame " + std::to_string(first) +
                                              " need frame " + std::to_string(last) + " (at most " +
                                              std::to_string((held - 1 - first) / stride + 1) + " fit)");
    } else if (count < 1 || count > 1000000) {
        throw ConfigError("--frames", "must be in [1, 1000000]");
    }
    const auto burn = static_cast<std::uint64_t>(a.integer("--burn-in", 1000));
    if (a.integer("--burn-in", 1000) < 0) throw ConfigError("--burn-in", "must be >= 0");

    // The target first, so that a bad folder fails before any simulating.
    std::unique_ptr<render::MovieWriter> writer;
    std::string target;
    std::unique_ptr<AtomicFile> probe;
    if (movie) {
        render::MovieOptions mo;
        mo.width = width;
        mo.height = height;
        mo.fps = a.number("--fps", 30.0);
        mo.quality = static_cast<int>(a.integer("--quality", 23));
        mo.queue_frames = static_cast<int>(a.integer("--queue", 8));
        if (a.has("--png-sequence")) {
            target = *a.value("--png-sequence");
            mo.codec = "png";
        } else {
            target = *a.value("--movie");
            const bool folder = !target.empty() && (target.back() == '/' || fs::is_directory(target));
            mo.codec = folder ? "png" : a.value("--codec").value_or("auto");
            if (folder && a.has("--codec") && *a.value("--codec") != "png")
                throw ConfigError("--codec", "--movie " + target + " names a folder: that is a PNG sequence");
            if (!folder && !ends_with(target, ".mp4") && !ends_with(target, ".m4v"))
                throw ConfigError("--movie", "an MP4 file (OUT.mp4) or a folder (DIR/) for a PNG sequence, got '" + target + "'");
        }
        if (target.empty()) throw ConfigError("--movie", "is empty");
        try {
            writer = std::make_unique<render::MovieWriter>(target, mo);
        } catch (const ConfigError& e) {
            const std::string k = e.key() == "fps" ? "--fps" : e.key() == "quality" ? "--quality" : e.key() == "size" ? "--size"
                                  : e.key() == "queue_frames" ? "--queue" : "--codec";
            throw ConfigError(k, e.what());
        }
    } else {
        target = *a.value("--out");
        probe = std::make_unique<AtomicFile>(target);  // throws now for a missing or unwritable folder
        probe->discard();
    }

    // Fail on a missing display before simulating anything.
    std::unique_ptr<Painter> painter_holder;
    if (!vector) painter_holder = std::make_unique<Painter>(width, height, what, !a.has("--no-caption"));
    FrameSource source(cfg, what, model, threads, a.value("--device").value_or(""), std::move(traj));
    if (!source.stored()) {
        std::cerr << "render: " << to_string(cfg.model) << " n = " << cfg.n << ", " << burn << " burn-in steps\n";
        source.burnIn(burn);
    }

    render::RangeRule rule;
    if (rangeChoice.kind == RangeChoice::Fixed) {
        rule.mode = render::RangeMode::Fixed;
        rule.lo = rangeChoice.lo;
        rule.hi = rangeChoice.hi;
    }
    json out;
    out["view"] = what.view == View::Particles ? "particles" : what.view == View::Field ? "field" : "current";
    out["quantity"] = what.key;
    out["width"] = width;
    out["height"] = height;
    out["source"] = source.stored() ? "trajectory" : "live";
    out["model"] = model.path.empty() ? json(nullptr) : json(model.path);
    if (!model.path.empty()) out["model_source"] = model.source;
    out["n"] = cfg.n;

    if (vector) {
        const auto t0 = Clock::now();
        const auto f = source.frame(static_cast<std::size_t>(first));
        const double prepare = seconds_since(t0);
        const auto t1 = Clock::now();
        render::VectorFigureOptions vo;
        vo.width = pageW;
        vo.height = pageH;
        vo.caption = !a.has("--no-caption");
        vo.transparent = a.has("--transparent");
        vo.range = rule;
        vo.current = what.overlay;
        const render::VectorFigureInfo info = what.view == View::Field
                                                  ? render::write_field_figure(*f, what.field, target, vo)
                                                  : render::write_particle_figure(*f, what.quantity, target, vo);
        const double draw = seconds_since(t1);
        std::error_code ec;
        const auto bytes = fs::file_size(target, ec);
        out["out"] = target;
        out["format"] = format;
        out["page_points"] = json::array({pageW, pageH});
        out.erase("width");
        out.erase("height");
        out["range"] = json::array({info.range.lo, info.range.hi});
        out["particles"] = info.particles;
        out["circles"] = info.circles;
        out["arrows"] = info.arrows;
        out["streamlines"] = info.streamlines;
        if (!info.note.empty()) out["note"] = info.note;
        out["transparent"] = vo.transparent;
        out["bytes"] = ec ? json(nullptr) : json(bytes);
        out["prepare_seconds"] = prepare;
        out["render_seconds"] = draw;
        out["seconds"] = seconds_since(t_start);
        std::cerr << "render: wrote " << target << " (" << format << ", " << pageW << "x" << pageH << " pt, " << info.circles
                  << " circles, " << (ec ? 0 : bytes) << " bytes) in " << draw << " s\n";
        if (a.has("--json")) std::cout << out.dump() << std::endl;
        return 0;
    }

    if (!movie) {
        const auto t0 = Clock::now();
        const auto f = source.frame(static_cast<std::size_t>(first));
        const double prepare = seconds_since(t0);
        const auto t1 = Clock::now();
        const render::ColourRange r = painter_holder->draw(*f, rule);
        render::PngOptions png;
        png.transparent = a.has("--transparent");
        png.dpi = dpi;
        painter_holder->renderer().writePng(target, png);
        const double draw = seconds_since(t1);
        std::error_code ec;
        const auto bytes = fs::file_size(target, ec);
        out["out"] = target;
        out["format"] = "png";
        out["range"] = range_json(r);
        if (!r.note.empty()) out["range_note"] = r.note;
        out["transparent"] = png.transparent;
        out["dpi"] = dpi > 0 ? json(dpi) : json(nullptr);
        out["bytes"] = ec ? json(nullptr) : json(bytes);
        out["prepare_seconds"] = prepare;
        out["render_seconds"] = draw;
        out["seconds"] = seconds_since(t_start);
        std::cerr << "render: wrote " << target << " (" << width << "x" << height << ", " << (ec ? 0 : bytes) << " bytes) in " << draw << " s\n";
        if (a.has("--json")) std::cout << out.dump() << std::endl;
        return 0;
    }

    // A movie: render frame k while the writer encodes frame k-1.
    double render_s = 0, wait_s = 0;
    render::ColourRange firstRange;
    const auto t_movie = Clock::now();
    try {
        for (long long k = 0; k < count; ++k) {
            throw_if_interrupted("at frame " + std::to_string(k) + " of " + std::to_string(count));
            if (!source.stored() && k > 0) source.simulate(static_cast<std::uint64_t>(stride));
            const auto f = source.frame(static_cast<std::size_t>(first + k * stride));
            const auto t0 = Clock::now();
            const render::ColourRange r = painter_holder->draw(*f, rule);
            if (k == 0) {
                firstRange = r;
                if (rangeChoice.kind == RangeChoice::First) {
                    rule.mode = render::RangeMode::Fixed;  // held for the movie
                    rule.lo = r.lo;
                    rule.hi = r.hi;
                }
            }
            auto rgb = painter_holder->renderer().renderRgb();
            const auto t1 = Clock::now();
            render_s += std::chrono::duration<double>(t1 - t0).count();
            writer->push_rgb(std::move(rgb));
            wait_s += seconds_since(t1);
            if (count >= 10 && (k + 1) % ((count + 9) / 10) == 0)
                std::cerr << "render: frame " << (k + 1) << " / " << count << "\n";
        }
        writer->close();
    } catch (const IoError& e) {
        writer->cancel();
        const std::string what = e.what();
        throw IoError(what.find("nothing was written") != std::string::npos ? what : what + "; nothing written at " + target);
    } catch (...) {
        writer->cancel();
        throw;
    }
    const double seconds = seconds_since(t_movie);
    const double fps = a.number("--fps", 30.0);
    out["out"] = target;
    out["codec"] = writer->codec();
    out["encoder"] = writer->encoder();
    out["note"] = writer->note();
    out["fallback"] = !writer->note().empty() && writer->codec() == "mpeg4" && a.value("--codec").value_or("auto") == "auto";
    out["frames"] = writer->frames();
    out["width"] = writer->width();
    out["height"] = writer->height();
    out["fps"] = fps;
    out["stride"] = stride;
    out["video_seconds"] = writer->frames() / fps;
    out["range_rule"] = rangeChoice.kind == RangeChoice::Fixed ? "fixed" : rangeChoice.kind == RangeChoice::Auto ? "auto" : "first";
    out["range"] = rangeChoice.kind == RangeChoice::Auto ? json(nullptr) : json::array({rule.lo, rule.hi});
    out["seconds"] = seconds;
    out["frames_per_s"] = writer->frames() / seconds;
    out["render_seconds"] = render_s;                       // show + draw + read-back, this thread
    out["evaluate_seconds"] = source.evaluateSeconds();     // the network, this thread
    out["simulate_seconds"] = source.simulateSeconds();     // between frames (and burn-in)
    out["encode_seconds"] = writer->encodeSeconds();        // the encoder thread's busy time
    out["push_wait_seconds"] = wait_s;                      // this thread blocked on a full queue
    std::error_code ec;
    if (writer->codec() != "png") {
        const auto bytes = fs::file_size(target, ec);
        out["bytes"] = ec ? json(nullptr) : json(bytes);
    }
    std::cerr << "render: wrote " << target << ": " << writer->frames() << " frames " << writer->width() << "x" << writer->height() << ", "
              << writer->codec() << ", " << fps << " fps, in " << seconds << " s (" << writer->frames() / seconds << " frames/s; render "
              << render_s << " s, encode " << writer->encodeSeconds() << " s on its own thread, waited " << wait_s << " s)\n";
    if (!writer->note().empty()) std::cerr << "render: note: " << writer->note() << "\n";
    if (a.has("--json")) std::cout << out.dump() << std::endl;
    return 0;
}

}  // namespace entroscope::cli

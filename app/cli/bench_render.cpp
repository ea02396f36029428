// entroscope-cli bench --what render [--size WxH] [--renders R] [--steps S]
//                      [--quantity angle|density|type] [config flags]
// Simulates the config a little, then times offscreen renders of it at
// WxH: each render is ParticleScene::show (values, colour range, caption,
// positions), a draw and the read-back of the pixels, cycling through a few
// states so every render uploads new positions. Prints one JSON object.
// Needs an X display (xvfb-run on a headless machine): VTK draws via GLX.
#include "bench_render.hpp"

#include <chrono>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_args.hpp"
#include "config_args.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/session/frame.hpp"
#include "entroscope/sim/simulator.hpp"
#include "render/colour_rules.hpp"
#include "render/offscreen_render.hpp"
#include "render/particle_scene.hpp"

namespace entroscope::cli {

namespace {

// "WxH" with both in [16, 8192].
void parse_size(const std::string& text, int& w, int& h) {
    const auto x = text.find('x');
    try {
        std::size_t used_w = 0, used_h = 0;
        if (x == std::string::npos) throw std::invalid_argument("no x");
        w = std::stoi(text.substr(0, x), &used_w);
        h = std::stoi(text.substr(x + 1), &used_h);
        if (used_w != x || used_h != text.size() - x - 1) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
        throw ConfigError("--size", "expected WIDTHxHEIGHT, e.g. 1200x1000, got '" + text + "'");
    }
    if (w < 16 || h < 16 || w > 8192 || h > 8192) throw ConfigError("--size", "width and height must be in [16, 8192]");
}

}  // namespace

int bench_render(const std::vector<std::string>& argv) {
    const Args a(argv, with_config_flags({"--what", "--size", "--renders", "--steps", "--quantity"}), {"--json"});
    int width = 1200, height = 1000;
    if (const auto s = a.value("--size")) parse_size(*s, width, height);
    const auto renders = a.integer("--renders", 60);
    if (renders < 1 || renders > 1000000) throw ConfigError("--renders", "must be in [1, 1000000]");
    const auto steps = a.integer("--steps", 100);
    if (steps < 0) throw ConfigError("--steps", "must be >= 0");
    const std::string key = a.value("--quantity").value_or("angle");
    const auto quantity = render::quantity_from_key(key);
    if (!quantity) throw ConfigError("--quantity", "unknown quantity '" + key + "' (angle, density or type)");
    const Config cfg = load_config(a);
    if (render::quantity_info(*quantity, cfg.model, false).learned)
        throw ConfigError("--quantity", "'" + key + "' is learned; this benchmark has no network (angle, density or type)");
    // Fail on a missing display before simulating anything.
    render::OffscreenRenderer renderer(width, height);

    // A few states some steps apart, as a live view sees them.
    constexpr int kStates = 4;
    Simulator sim(cfg, 1);
    sim.run(static_cast<std::uint64_t>(steps));
    std::vector<Frame> frames(kStates);
    for (int k = 0; k < kStates; ++k) {
        if (k > 0) sim.run(10);
        frames[k].config = cfg;
        frames[k].state = std::make_shared<const State>(sim.state());
        frames[k].estimate = std::make_shared<const GlobalEstimate>();
    }

    const auto render_once = [&](long long i) {
        renderer.scene().show(frames[static_cast<std::size_t>(i % kStates)], *quantity);
        return renderer.renderRgb().size();
    };
    for (int i = 0; i < 3; ++i) render_once(i);  // shaders compiled, buffers allocated
    using Clock = std::chrono::steady_clock;
    std::size_t bytes = 0;
    const auto t0 = Clock::now();
    for (long long i = 0; i < renders; ++i) bytes += render_once(i);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const double rate = static_cast<double>(renders) / seconds;

    nlohmann::json out;
    out["what"] = "render";
    out["renders_per_s"] = rate;
    out["width"] = width;
    out["height"] = height;
    out["n"] = cfg.n;
    out["model"] = to_string(cfg.model);
    out["quantity"] = key;
    out["renders"] = renders;
    out["seconds"] = seconds;
    std::cerr << "bench render: " << to_string(cfg.model) << " n = " << cfg.n << ", " << width << "x" << height << ", "
              << key << ": " << rate << " renders/s (" << renders << " in " << seconds << " s, "
              << bytes / static_cast<std::size_t>(renders) << " bytes each)\n";
    std::cout << out.dump() << std::endl;
    return 0;
}

}  // namespace entroscope::cli

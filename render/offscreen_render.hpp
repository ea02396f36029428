#pragma once
// Render a snapshot to a PNG without a GUI (CLI `render`, tests, figures).
#include <string>

namespace entroscope {
struct State;
}

namespace entroscope::render {

struct OffscreenOptions {
    int width = 1200;
    int height = 1000;
    double radius = 1.0;       // particle radius (see particle_radius())
    std::string caption;       // upper-left text; empty for none
};

// Writes `path` atomically (temporary file, then rename). Throws
// entroscope::IoError when the image cannot be rendered or written.
void render_png(const State& state, const std::string& path, const OffscreenOptions& opt = {});

}  // namespace entroscope::render

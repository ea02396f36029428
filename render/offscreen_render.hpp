#pragma once
// Render a snapshot to a PNG without a GUI (CLI `render`, tests, figures).
//
// VTK on Linux (Debian's build) draws through GLX only: an X display is
// needed even offscreen (Xvfb on a headless machine: xvfb-run). Without one
// these functions throw IoError instead of letting VTK abort.
#include <memory>
#include <string>
#include <vector>

#include "render/colour_rules.hpp"

namespace entroscope {
struct Frame;
struct State;
}  // namespace entroscope

namespace entroscope::render {

class ParticleScene;
class FieldScene;

struct OffscreenOptions {
    int width = 1200;
    int height = 1000;
    double radius = 1.0;       // particle radius (see particle_radius())
    std::string caption;       // upper-left text; empty for none
};

struct PngOptions {
    bool transparent = false;
    double dpi = 0.0;  // <= 0: no physical size in the file
};

// A PNG file's bytes with a pHYs chunk (dpi converted to pixels per metre)
// inserted after IHDR, replacing any pHYs already there. Throws IoError
// when `png` is not a PNG.
std::string png_with_dpi(const std::string& png, double dpi);

// Writes `path` atomically (temporary file, then rename). Throws
// entroscope::IoError when the image cannot be rendered or written.
void render_png(const State& state, const std::string& path, const OffscreenOptions& opt = {});

// Empty when offscreen rendering can work here, else why not (no X display).
std::string offscreen_unavailable_reason();

// An offscreen window with one scene, kept for repeated renders (a
// benchmark, a sequence of figures). Throws IoError when there is no display.
class OffscreenRenderer {
public:
    OffscreenRenderer(int width, int height);
    ~OffscreenRenderer();
    OffscreenRenderer(const OffscreenRenderer&) = delete;
    OffscreenRenderer& operator=(const OffscreenRenderer&) = delete;

    int width() const;
    int height() const;
    ParticleScene& scene();
    // The field scene; the first call puts it in place of the particle
    // scene in this renderer's window.
    FieldScene& fieldScene();

    // Render the scene and read the image back: width * height * 3 bytes,
    // RGB, top row first.
    std::vector<unsigned char> renderRgb();
    // Render and write a PNG atomically. Throws IoError.
    void writePng(const std::string& path);
    // The same with options: `transparent` makes the background (the
    // scene's background colour, also drawn by the mask around the box)
    // fully transparent in an RGBA PNG; anti-aliased text keeps a thin
    // dark fringe. dpi > 0 adds a pHYs chunk (pixels per metre), which VTK's
    // PNG writer cannot write itself: it is inserted after IHDR.
    void writePng(const std::string& path, const PngOptions& png);

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

// A frame coloured by one quantity (ParticleScene::show) to a PNG; the
// caption is caption(frame, q) unless withCaption is false. Returns the
// colour range used. Throws IoError.
ColourRange render_frame_png(const Frame& frame, Quantity q, const std::string& path, int width, int height,
                             const RangeRule& rule = {}, bool withCaption = true);

}  // namespace entroscope::render

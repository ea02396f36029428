#pragma once
// The field view: one gridded field of an evaluated frame (the local EPR
// density, the density or the current's magnitude) as an image with a
// sequential map, masked (sparse) cells drawn in a flat grey that no value
// takes, a legend and a caption. No Qt; VTK stays in the .cpp.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "render/colour_rules.hpp"

class vtkRenderer;
class vtkInteractorObserver;

namespace entroscope {
struct Frame;
}

namespace entroscope::render {

enum class FieldQuantity { LocalEpr, Density, CurrentMagnitude };

// The coarse-grained probability current J(r) over any field: arrows on a
// coarser grid (blocks of cells averaged) or streamlines traced through it.
enum class CurrentOverlay { Off, Arrows, Streamlines };

// What an overlay draws, in world coordinates (also for tests and vector
// export): arrows from `from` with vector `along` (already scaled to their
// drawn length), or polylines. Empty when the frame has no current field.
struct CurrentPicture {
    std::vector<double> from, along;      // 2 per arrow
    double reference = 0.0;               // |J| drawn one block long (the 95 % quantile of the block means)
    int block = 1;                        // cells per arrow block side
    std::string note;                     // why it is empty
};
CurrentPicture current_arrows(const Frame& frame, int arrowsPerSide = 16);

// The streamlines the overlay draws (vtkStreamTracer through the current's
// grid from 14 x 14 seeds, both directions), as polylines in world
// coordinates: x0 y0 x1 y1 ... each. Empty, with `note`, when the frame has
// no current.
struct CurrentLines {
    std::vector<std::vector<double>> lines;
    std::string note;
};
CurrentLines current_streamlines(const Frame& frame);

// A field ready to draw: bins x bins cell values (row y = 0 first), NaN
// where masked; the colour range (0 to the 99th percentile of the unmasked
// cells); legend title and caption. Empty (bins 0) when the frame carries
// no such field, with `caption` saying why.
struct FieldPicture {
    int bins = 0;
    double box = 0.0;
    std::vector<float> values;
    int masked = 0;
    double lo = 0.0, hi = 1.0;
    std::string title, caption;
};

FieldPicture field_picture(const Frame& frame, FieldQuantity q);
// "sigma", "density", "current"
const char* to_key(FieldQuantity q);

class FieldScene {
public:
    FieldScene();
    ~FieldScene();
    FieldScene(const FieldScene&) = delete;
    FieldScene& operator=(const FieldScene&) = delete;

    vtkRenderer* renderer() const;
    vtkInteractorObserver* interactorStyle() const;
    // Draw frame's field q (a frame without fields: only the caption says
    // why). Fits the camera to the box on the first picture or a new box.
    void show(const Frame& frame, FieldQuantity q);
    // The same over the range of `rule` when it is Fixed (a movie holds one
    // range over its frames); other modes: the picture's own range. Returns
    // the range drawn.
    ColourRange show(const Frame& frame, FieldQuantity q, const RangeRule& rule);
    void requestFit();
    // Figures without the legend or the caption (both shown by default),
    // from the next show() on.
    void setLegendShown(bool on);
    void setCaptionShown(bool on);
    // The current over the field, from the next show() on.
    void setCurrentOverlay(CurrentOverlay o);
    CurrentOverlay currentOverlay() const;
    // What the last show() drew of it: arrows, and points on streamlines.
    int overlayArrows() const;
    int overlayStreamlinePoints() const;
    // Share the camera of another view's renderer (the particle view's: both
    // draw the box in the same world coordinates), so the two views pan and
    // zoom together; this scene then leaves fitting to the other. `moved`
    // is called whenever the shared camera's view changes (re-render both).
    // Null: this scene's own camera again, fitted to the box.
    void linkCamera(vtkRenderer* leader, std::function<void()> moved = {});
    bool cameraLinked() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace entroscope::render

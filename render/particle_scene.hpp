#pragma once
// A 2-D particle snapshot as a VTK scene: disks at their true radius,
// coloured by the angle of the active variable with a cyclic colour map (or
// by any per-particle scalar with a sequential, diverging or cyclic map), a
// colour legend, the periodic box outline, a scale bar and a caption. No Qt.
//
// The scene owns a vtkRenderer; whoever owns a render window (the Qt host in
// widgets/ or the offscreen renderer) adds it. VTK types are only
// forward-declared here so that including this header stays cheap.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "render/colour_rules.hpp"

class vtkRenderer;
class vtkInteractorObserver;

namespace entroscope {
struct Config;
struct Frame;
struct State;
}  // namespace entroscope

namespace entroscope::render {

// Radius at which a model's particles are drawn: AOUP r0 (the repulsion
// reaches 2 r0), ABP sigma/2 (WCA diameter sigma).
double particle_radius(const Config& cfg);

// Angle of particle i's active variable in [-pi, pi]: atan2(g_y, g_x) for
// AOUP, theta (wrapped) for ABP.
double active_angle(const State& s, int i);

enum class CurrentOverlay;  // render/field_scene.hpp

class ParticleScene {
public:
    ParticleScene();
    ~ParticleScene();
    ParticleScene(const ParticleScene&) = delete;
    ParticleScene& operator=(const ParticleScene&) = delete;

    vtkRenderer* renderer() const;
    // A 2-D interaction style for this scene: left drag or middle drag pans,
    // wheel or right drag zooms, 'r' refits the box. Owned by the scene.
    vtkInteractorObserver* interactorStyle() const;

    // Copy positions and angles into the scene's arrays (reused between
    // frames; only a change of N reallocates). Refits the camera when the box
    // length changed. Does not render.
    void update(const State& state, double radius);
    // Colour by the active angle with the cyclic map (the default).
    void colourByActiveAngle();
    // Colour particle i by values[i] with a perceptually uniform sequential
    // map (viridis), linear from lo (darkest) to hi (brightest); values
    // outside are clamped, NaN is grey. Applies from the next update(); when
    // values.size() differs from that state's N every particle is grey.
    // legendTitle (UTF-8) replaces the legend's title.
    void colourByScalar(std::vector<float> values, double lo, double hi, const std::string& legendTitle);
    // The same with a choice of map: Sequential (viridis, as above),
    // Diverging (blue - light grey - red, "Cool to Warm"; the grey is at the
    // middle of [lo, hi], so give a symmetric range to centre it at 0) or
    // Cyclic (the angle map stretched over [lo, hi]).
    void colourByScalar(std::vector<float> values, double lo, double hi, const std::string& legendTitle,
                        ColourMapKind map);
    bool colouredByScalar() const;
    // The map in use (Cyclic for the active angle).
    ColourMapKind colourMap() const;
    // The range the legend (and the disks) are coloured over.
    std::pair<double, double> legendRange() const;

    // One frame coloured by one quantity, by the rules of colour_rules.hpp:
    // the quantity's values and map, the range `rule` gives, the legend title
    // with units and, when withCaption, caption(frame, q). Then update() with
    // the frame's state and particle_radius(frame.config). Returns the range
    // used; when the quantity is unavailable every particle is grey and the
    // range's note says why. Does not render.
    ColourRange show(const Frame& frame, Quantity q, const RangeRule& rule = {}, bool withCaption = true);

    // Text in the upper-left corner (model, parameters, time), UTF-8.
    void setCaption(const std::string& text);
    // Whether text can contain non-ASCII glyphs such as Greek letters (a
    // Unicode TrueType font was found); otherwise write "phi", "pi".
    static bool unicodeText();
    // Fit the camera to the box at the next render (also done automatically
    // when the viewport size or the box changes).
    void requestFit();
    // Figures without the legend or the scale bar (both shown by default).
    void setDecorations(bool legend, bool scaleBar);
    // Zoom the camera about the view's centre (factor > 1: closer), as the
    // mouse wheel does; kept until the next fit.
    void zoom(double factor);

    // Arrows of a per-particle 2-D velocity v (2n numbers, the probability
    // flow's position part v_x or, for AOUP, its active part v_g) from each
    // particle of `state`, the 95th percentile of |v| drawn `length` long
    // (world units). Returns the scale (length per unit speed); 0 and no
    // arrows when v does not fit the state or is all zero.
    double showArrows(const State& state, const std::vector<double>& v, double length);
    // The coarse-grained current J(r) of frame.learned over the disks, as
    // the field view draws it (render/field_scene.hpp), from the next
    // show() on; its scale goes into the caption.
    void setCurrentOverlay(CurrentOverlay o);
    CurrentOverlay currentOverlay() const;
    int overlayArrows() const;
    void clearArrows();
    bool arrowsShown() const;

    // The scale bar in the lower-left corner (screen space, set at each
    // render from the camera): a round number of particle diameters (1, 2,
    // 5, 10, 20, ... ; ABP: sigma, AOUP: 2 r0) about a fifth of the box's
    // visible width, so zooming relabels it. 0 and "" before the first
    // render.
    double scaleBarDiameters() const;
    double scaleBarPixels() const;
    std::string scaleBarLabel() const;  // "10 σ", "5 × 2r₀" (ASCII without a Unicode font)

    int particleCount() const;
    double boxLength() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace entroscope::render

#pragma once
// What the scenes of render/ share: the background, colour maps, the text
// style and the box outline (private to render/: it speaks VTK).
#include <vtkActor.h>
#include <vtkLookupTable.h>
#include <vtkNew.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkSmartPointer.h>

#include <vector>

#include <vtkImageData.h>
#include <vtkStreamTracer.h>

#include <string>

class vtkRenderer;
class vtkTextActor;
class vtkTextProperty;

namespace entroscope {
struct Field;
struct Frame;
}
namespace entroscope::render {
enum class CurrentOverlay;
enum class ColourMapKind;
}

namespace entroscope::render::detail {

// Matplotlib's viridis over [0, 1] (256 entries); NaN is mid grey.
vtkSmartPointer<vtkLookupTable> make_viridis_lut();
// The table a particle view colours with for a kind of map (the cyclic one
// without its pi annotations), table range [0, 1] (cyclic: [-pi, pi]).
vtkSmartPointer<vtkLookupTable> make_map_lut(ColourMapKind kind);
// 1, 2 or 5 times a power of ten near `target` (the scale bar's length).
double round_scale_length(double target);
// The scenes' text style: light grey, a Unicode font when one is found.
void style_text(vtkTextProperty* tp, int size);
// The upper-left caption: that style, top-aligned lines.
void style_caption(vtkTextActor* caption, int size);

extern const double kBackground[3];

// The periodic box as a light outline above the scene's content.
struct BoxOutline {
    vtkNew<vtkPoints> points;
    vtkNew<vtkPolyData> poly;
    vtkNew<vtkPolyDataMapper> mapper;
    vtkNew<vtkActor> actor;
    BoxOutline();
    void setBox(double length);
};

// The coarse-grained current J(r) over a scene: white arrows (block means)
// or streamlines through the grid, a little above the scene's content.
struct CurrentLayer {
    vtkNew<vtkPolyData> arrows;
    vtkNew<vtkPolyDataMapper> arrowMapper;
    vtkNew<vtkActor> arrowActor;
    vtkNew<vtkImageData> flow;
    vtkNew<vtkPolyData> seeds;
    vtkNew<vtkStreamTracer> tracer;
    vtkNew<vtkPolyDataMapper> lineMapper;
    vtkNew<vtkActor> lineActor;
    int arrowCount = 0, linePoints = 0;

    CurrentLayer();
    void addTo(vtkRenderer* renderer);
    void hide();
    // Draws the frame's current in `mode` over a box of side `box`; returns
    // the caption line that says what is drawn (or why nothing is).
    std::string draw(CurrentOverlay mode, const Frame& frame, double box);

private:
    void drawArrows(const std::vector<double>& from, const std::vector<double>& along, double z);
    void drawStreamlines(const Field& f, double reference, double box);
};

}  // namespace entroscope::render::detail

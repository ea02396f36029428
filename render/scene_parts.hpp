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

class vtkTextActor;
class vtkTextProperty;

namespace entroscope::render::detail {

// Matplotlib's viridis over [0, 1] (256 entries); NaN is mid grey.
vtkSmartPointer<vtkLookupTable> make_viridis_lut();
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

}  // namespace entroscope::render::detail

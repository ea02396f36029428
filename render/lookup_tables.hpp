#pragma once
// Colour maps shared by the scenes of render/ (private to render/: it
// speaks VTK).
#include <vtkLookupTable.h>
#include <vtkSmartPointer.h>

class vtkTextProperty;

namespace entroscope::render::detail {

// Matplotlib's viridis over [0, 1] (256 entries); NaN is mid grey.
vtkSmartPointer<vtkLookupTable> make_viridis_lut();
// The scenes' text style: light grey, a Unicode font when one is found.
void style_text(vtkTextProperty* tp, int size);

}  // namespace entroscope::render::detail

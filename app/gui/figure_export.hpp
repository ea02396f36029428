#pragma once
// Figures of the window's views at a chosen size, off screen: PNG rendered
// by VTK at that resolution (not a screen grab) and written with its DPI,
// SVG and PDF as vectors (render/vector_figure). The same frame, colour
// rules and overlays as on screen.
#include <QImage>
#include <QString>
#include <memory>

#include "render/colour_rules.hpp"
#include "render/field_scene.hpp"

namespace entroscope {
struct Frame;
}
namespace entroscope::widgets {
struct FigureRequest;
class PlotPanel;
}

namespace entroscope::gui {

// What a view shows: its frame and how it is coloured.
struct ViewPicture {
    std::shared_ptr<const Frame> frame;
    bool field = false;  // the field view (else the particles)
    render::Quantity quantity = render::Quantity::ActiveAngle;
    render::FieldQuantity fieldQuantity = render::FieldQuantity::LocalEpr;
    render::RangeRule range;
    render::CurrentOverlay current = render::CurrentOverlay::Off;
};

// Writes the figure; empty on success, else what went wrong (the file is
// then absent: every format is written to a temporary name and renamed).
// `note` (optional) gets what was drawn differently from the screen (for
// example streamlines drawn as arrows in a vector figure).
QString export_view_figure(const ViewPicture& v, const widgets::FigureRequest& r, QString* note = nullptr);

// The window's layout as one figure: the particle view (and the field view
// when `field` has a frame) above the EPR and diagnostics plots. PNG at the
// asked pixels; SVG and PDF with the plots as vectors and the views as
// images at the request's resolution. Empty on success, else why not.
QString export_layout_figure(const ViewPicture& particles, const ViewPicture& field, widgets::PlotPanel* plots,
                             const widgets::FigureRequest& r);

// The view rendered off screen at w x h pixels as on screen (caption,
// legend, scale bar). Throws entroscope::IoError (no display, read-back).
QImage render_view_image(const ViewPicture& v, int w, int h, bool caption = true, bool legend = true, bool scaleBar = true);

}  // namespace entroscope::gui

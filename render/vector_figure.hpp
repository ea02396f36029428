#pragma once
// Vector figures of the views (SVG and PDF) for papers: the particle view as
// one circle per visible particle (periodic images where they show, the true
// radius, the exact colours of the screen's maps), the field view as the
// field embedded as an image with everything else vector; legend, caption,
// scale bar and the current's arrows or streamlines are vector in both, and text stays
// text. SVG is written directly (a renderer that turns text into glyph
// outlines, as cairo's SVG surface does, would lose the text); PDF is drawn
// with cairo, which embeds a subset of the font and keeps the text
// selectable. No Qt; VTK only for the colour maps.
#include <string>

#include "render/colour_rules.hpp"
#include "render/field_scene.hpp"

namespace entroscope {
struct Frame;
}

namespace entroscope::render {

struct VectorFigureOptions {
    // The page in points (1/72 inch); SVG uses the same numbers as its
    // user units, with width and height given in pt.
    double width = 720.0;
    double height = 600.0;
    bool caption = true;       // the caption as on screen (caption(frame, q))
    bool legend = true;        // colour bar with its title and ticks
    bool scale_bar = true;     // a bar of a round number of diameters
    bool transparent = false;  // no background behind the box
    bool periodic_images = true;  // images of particles that cross an edge
    RangeRule range;           // colour range rule (the window's default: 5-95 % quantiles)
    CurrentOverlay current = CurrentOverlay::Off;  // block-mean arrows or streamlines, white
};

struct VectorFigureInfo {
    std::string format;     // "svg" or "pdf"
    int particles = 0;      // particles of the state
    int circles = 0;        // circles drawn: particles plus periodic images
    int arrows = 0;         // current arrows drawn
    int streamlines = 0;    // current streamlines drawn (polylines)
    ColourRange range;      // the colour range used
    std::string note;       // why something asked for is missing (no learned values ...)
};

// The particle view of `frame` coloured by `q`, written atomically to
// `path`: the format is the extension (.svg or .pdf, any case). Throws
// IoError naming the file when it cannot be written (unwritable folder, full
// disk; nothing is then left at `path`), ConfigError for an unknown
// extension, a frame without a state or a page of non-positive size.
VectorFigureInfo write_particle_figure(const Frame& frame, Quantity q, const std::string& path,
                                       const VectorFigureOptions& opt = {});

// The field view of `frame` (as FieldScene::show draws it: field_picture),
// the field as an embedded image of its cells, masked cells flat grey.
// Throws as write_particle_figure, and ConfigError when the frame carries no
// such field (the message says why).
VectorFigureInfo write_field_figure(const Frame& frame, FieldQuantity q, const std::string& path,
                                    const VectorFigureOptions& opt = {});

}  // namespace entroscope::render

#include "render/vector_figure.hpp"

#include <cairo-pdf.h>
#include <cairo.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/session/frame.hpp"
#include "render/particle_scene.hpp"
#include "render/scene_parts.hpp"

namespace entroscope::render {

namespace {

constexpr double kPi = 3.14159265358979323846;

// A page as a list of drawing items in paint order, in points with y down
// (SVG's and cairo's convention); the two writers below draw the same list.
struct Rgb {
    double r = 0, g = 0, b = 0;
};
struct Circle {
    double x, y, r;
    Rgb c;
};
struct Rect {
    double x, y, w, h;
    Rgb c;
    double opacity = 1.0;
};
struct Poly {
    std::vector<double> p;  // x0 y0 x1 y1 ...
    double width = 1.0;     // stroke width; <= 0: filled polygon
    Rgb c;
};
struct Text {
    double x, y, size;
    std::string s;
    int anchor = 0;  // 0 start, 1 middle, 2 end; y is the baseline
    Rgb c;
};
struct Image {
    double x, y, w, h;
    int pw = 0, ph = 0;
    std::vector<std::uint32_t> argb;  // pw * ph, top row first, cairo's ARGB32 (opaque)
};
struct ClipBegin {
    double x, y, w, h;
};
struct ClipEnd {};
struct GroupBegin {
    std::string id;
};
struct GroupEnd {};
using Item = std::variant<Circle, Rect, Poly, Text, Image, ClipBegin, ClipEnd, GroupBegin, GroupEnd>;

struct Page {
    double w = 0, h = 0;
    std::vector<Item> items;
};

std::string lower_extension(const std::string& path)
{
    const auto dot = path.find_last_of('.');
    const auto slash = path.find_last_of('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return {};
    std::string e = path.substr(dot + 1);
    for (auto& ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return e;
}

std::string format_of(const std::string& path)
{
    const std::string e = lower_extension(path);
    if (e == "svg" || e == "pdf") return e;
    throw ConfigError("--out", "'" + path + "': a vector figure is .svg or .pdf" +
                                   (e.empty() ? std::string(" (no extension)") : " (not ." + e + ")"));
}

// ---------------------------------------------------------------------------
// SVG

std::string escape_xml(const std::string& s)
{
    std::string o;
    o.reserve(s.size());
    for (char ch : s) {
        switch (ch) {
        case '&': o += "&amp;"; break;
        case '<': o += "&lt;"; break;
        case '>': o += "&gt;"; break;
        case '"': o += "&quot;"; break;
        default: o += ch;
        }
    }
    return o;
}

std::string hex(const Rgb& c)
{
    const auto b = [](double v) { return static_cast<int>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0)); };
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", b(c.r), b(c.g), b(c.b));
    return buf;
}

void num(std::string& o, double v)
{
    // Locale-independent (the window's locale may write decimal commas).
    char buf[48];
    const auto r = std::to_chars(buf, buf + sizeof buf, std::isfinite(v) ? v : 0.0, std::chars_format::fixed, 2);
    o.append(buf, r.ptr);
}

std::string base64(const std::string& in)
{
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string o;
    o.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        o += t[(v >> 18) & 63];
        o += t[(v >> 12) & 63];
        o += t[(v >> 6) & 63];
        o += t[v & 63];
    }
    if (i < in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        o += t[(v >> 18) & 63];
        o += t[(v >> 12) & 63];
        o += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
        o += '=';
    }
    return o;
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length)
{
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
}

cairo_surface_t* image_surface(const Image& im)
{
    cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, im.pw, im.ph);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        const std::string why = cairo_status_to_string(cairo_surface_status(s));
        cairo_surface_destroy(s);
        throw IoError("cannot make the field image: " + why);
    }
    cairo_surface_flush(s);
    unsigned char* data = cairo_image_surface_get_data(s);
    const int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < im.ph; ++y) {
        auto* row = reinterpret_cast<std::uint32_t*>(data + static_cast<std::ptrdiff_t>(y) * stride);
        for (int x = 0; x < im.pw; ++x) row[x] = im.argb[static_cast<std::size_t>(y) * im.pw + x];
    }
    cairo_surface_mark_dirty(s);
    return s;
}

std::string png_bytes(const Image& im)
{
    cairo_surface_t* s = image_surface(im);
    std::string out;
    const cairo_status_t st = cairo_surface_write_to_png_stream(s, append_to_string, &out);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS)
        throw IoError(std::string("cannot encode the field image: ") + cairo_status_to_string(st));
    return out;
}

// ` name="v"` with v in points (two decimals).
void attr(std::string& o, const char* name, double v)
{
    o += ' ';
    o += name;
    o += "=\"";
    num(o, v);
    o += '"';
}

void box_attrs(std::string& o, double x, double y, double w, double h)
{
    attr(o, "x", x);
    attr(o, "y", y);
    attr(o, "width", w);
    attr(o, "height", h);
}

std::string to_svg(const Page& page)
{
    std::string o;
    o.reserve(64 * page.items.size() + 1024);
    o += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
         "xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\" width=\"";
    num(o, page.w);
    o += "pt\" height=\"";
    num(o, page.h);
    o += "pt\" viewBox=\"0 0 ";
    num(o, page.w);
    o += ' ';
    num(o, page.h);
    o += "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n";
    int clips = 0;
    for (const Item& item : page.items) {
        if (const auto* c = std::get_if<Circle>(&item)) {
            o += "<circle";
            attr(o, "cx", c->x);
            attr(o, "cy", c->y);
            attr(o, "r", c->r);
            o += " fill=\"" + hex(c->c) + "\"/>\n";
        } else if (const auto* r = std::get_if<Rect>(&item)) {
            o += "<rect";
            box_attrs(o, r->x, r->y, r->w, r->h);
            o += " fill=\"" + hex(r->c) + "\"";
            if (r->opacity < 1.0) attr(o, "fill-opacity", r->opacity);
            o += "/>\n";
        } else if (const auto* p = std::get_if<Poly>(&item)) {
            o += p->width > 0 ? "<polyline points=\"" : "<polygon points=\"";
            for (std::size_t k = 0; k + 1 < p->p.size(); k += 2) {
                if (k) o += ' ';
                num(o, p->p[k]);
                o += ',';
                num(o, p->p[k + 1]);
            }
            if (p->width > 0) {
                o += "\" fill=\"none\" stroke=\"" + hex(p->c) + "\"";
                attr(o, "stroke-width", p->width);
                o += " stroke-linecap=\"round\" stroke-linejoin=\"round\"/>\n";
            } else {
                o += "\" fill=\"" + hex(p->c) + "\"/>\n";
            }
        } else if (const auto* t = std::get_if<Text>(&item)) {
            o += "<text";
            attr(o, "x", t->x);
            attr(o, "y", t->y);
            attr(o, "font-size", t->size);
            o += " fill=\"" + hex(t->c) + "\"";
            if (t->anchor == 1) o += " text-anchor=\"middle\"";
            if (t->anchor == 2) o += " text-anchor=\"end\"";
            o += " xml:space=\"preserve\">" + escape_xml(t->s) + "</text>\n";
        } else if (const auto* im = std::get_if<Image>(&item)) {
            o += "<image";
            box_attrs(o, im->x, im->y, im->w, im->h);
            o += " preserveAspectRatio=\"none\" style=\"image-rendering:pixelated;image-rendering:optimizeSpeed\" "
                 "xlink:href=\"data:image/png;base64,";
            o += base64(png_bytes(*im));
            o += "\"/>\n";
        } else if (const auto* cb = std::get_if<ClipBegin>(&item)) {
            const std::string id = "clip" + std::to_string(clips++);
            o += "<clipPath id=\"" + id + "\"><rect";
            box_attrs(o, cb->x, cb->y, cb->w, cb->h);
            o += "/></clipPath>\n<g clip-path=\"url(#" + id + ")\">\n";
        } else if (std::holds_alternative<ClipEnd>(item) || std::holds_alternative<GroupEnd>(item)) {
            o += "</g>\n";
        } else if (const auto* g = std::get_if<GroupBegin>(&item)) {
            o += "<g id=\"" + escape_xml(g->id) + "\">\n";
        }
    }
    o += "</svg>\n";
    return o;
}

// ---------------------------------------------------------------------------
// PDF (cairo)

void set_colour(cairo_t* cr, const Rgb& c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

std::string to_pdf(const Page& page)
{
    std::string out;
    cairo_surface_t* surface = cairo_pdf_surface_create_for_stream(append_to_string, &out, page.w, page.h);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Entroscope");
    cairo_t* cr = cairo_create(surface);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    try {
    for (const Item& item : page.items) {
        if (const auto* c = std::get_if<Circle>(&item)) {
            cairo_new_path(cr);
            cairo_arc(cr, c->x, c->y, c->r, 0.0, 2.0 * kPi);
            set_colour(cr, c->c);
            cairo_fill(cr);
        } else if (const auto* r = std::get_if<Rect>(&item)) {
            cairo_rectangle(cr, r->x, r->y, r->w, r->h);
            cairo_set_source_rgba(cr, r->c.r, r->c.g, r->c.b, r->opacity);
            cairo_fill(cr);
        } else if (const auto* p = std::get_if<Poly>(&item)) {
            cairo_new_path(cr);
            for (std::size_t k = 0; k + 1 < p->p.size(); k += 2) {
                if (k == 0) cairo_move_to(cr, p->p[k], p->p[k + 1]);
                else cairo_line_to(cr, p->p[k], p->p[k + 1]);
            }
            set_colour(cr, p->c);
            if (p->width > 0) {
                cairo_set_line_width(cr, p->width);
                cairo_stroke(cr);
            } else {
                cairo_close_path(cr);
                cairo_fill(cr);
            }
        } else if (const auto* t = std::get_if<Text>(&item)) {
            cairo_set_font_size(cr, t->size);
            double x = t->x;
            if (t->anchor != 0) {
                cairo_text_extents_t ext;
                cairo_text_extents(cr, t->s.c_str(), &ext);
                x -= (t->anchor == 1 ? 0.5 : 1.0) * ext.x_advance;
            }
            cairo_move_to(cr, x, t->y);
            set_colour(cr, t->c);
            cairo_show_text(cr, t->s.c_str());
        } else if (const auto* im = std::get_if<Image>(&item)) {
            cairo_surface_t* s = image_surface(*im);
            cairo_save(cr);
            cairo_translate(cr, im->x, im->y);
            cairo_scale(cr, im->w / im->pw, im->h / im->ph);
            cairo_set_source_surface(cr, s, 0.0, 0.0);
            cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
            cairo_rectangle(cr, 0.0, 0.0, im->pw, im->ph);
            cairo_fill(cr);
            cairo_restore(cr);
            cairo_surface_destroy(s);
        } else if (const auto* cb = std::get_if<ClipBegin>(&item)) {
            cairo_save(cr);
            cairo_rectangle(cr, cb->x, cb->y, cb->w, cb->h);
            cairo_clip(cr);
        } else if (std::holds_alternative<ClipEnd>(item)) {
            cairo_restore(cr);
        }
    }
    } catch (...) {
        cairo_destroy(cr);
        cairo_surface_destroy(surface);
        throw;
    }
    cairo_show_page(cr);
    const cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    const cairo_status_t sst = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (st != CAIRO_STATUS_SUCCESS || sst != CAIRO_STATUS_SUCCESS)
        throw IoError(std::string("cairo could not draw the PDF: ") +
                              cairo_status_to_string(st != CAIRO_STATUS_SUCCESS ? st : sst));
    return out;
}

void write_page(const Page& page, const std::string& format, const std::string& path)
{
    std::string bytes;
    try {
        bytes = format == "svg" ? to_svg(page) : to_pdf(page);
    } catch (const IoError& e) {
        throw IoError("'" + path + "': " + e.what());
    }
    write_file_atomically(path, bytes);
}

// ---------------------------------------------------------------------------
// Layout shared by both views

struct Layout {
    double margin = 0, font = 0;
    double bx = 0, by = 0, side = 0;      // the box's square on the page
    double legendX = 0, legendW = 0;      // the legend strip
    double captionY = 0;                  // baseline of the first caption line
    Rgb text, outline;
};

std::vector<std::string> lines_of(const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string line;
    while (std::getline(ss, line)) out.push_back(line);
    return out;
}

Layout layout(const VectorFigureOptions& opt, int captionLines, bool legend)
{
    Layout l;
    const double small = std::min(opt.width, opt.height);
    l.margin = std::max(6.0, 0.025 * small);
    l.font = std::clamp(0.022 * opt.height, 7.0, 14.0);
    const double captionH = captionLines > 0 ? captionLines * 1.3 * l.font + 0.5 * l.margin : 0.0;
    l.legendW = legend ? std::clamp(0.17 * opt.width, 8.0 * l.font, 12.0 * l.font) : 0.0;
    const double availW = opt.width - l.legendW - 2.0 * l.margin;
    const double availH = opt.height - captionH - 2.0 * l.margin;
    l.side = std::max(1.0, std::min(availW, availH));
    l.bx = l.margin + 0.5 * (availW - l.side);
    l.by = l.margin + captionH + 0.5 * (availH - l.side);
    l.legendX = opt.width - l.margin - l.legendW;
    l.captionY = l.margin + l.font;
    // Light text on the screen's dark background; dark text on paper.
    l.text = opt.transparent ? Rgb{0.10, 0.10, 0.12} : Rgb{0.90, 0.91, 0.93};
    l.outline = opt.transparent ? Rgb{0.25, 0.26, 0.30} : Rgb{0.78, 0.80, 0.84};
    return l;
}

void add_caption(Page& page, const Layout& l, const std::vector<std::string>& lines)
{
    double y = l.captionY;
    for (const auto& line : lines) {
        page.items.push_back(Text{l.margin, y, l.font, line, 0, l.text});
        y += 1.3 * l.font;
    }
}

Rgb lut_colour(vtkLookupTable* lut, double v)
{
    double rgb[3];
    lut->GetColor(v, rgb);
    return {rgb[0], rgb[1], rgb[2]};
}

std::string tick_label(double v)
{
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf - 1, std::abs(v) < 1e-12 ? 0.0 : v, std::chars_format::general, 3);
    *r.ptr = '\0';
    return buf;
}

// A vertical colour bar right of the box: its title above, ticks right.
void add_legend(Page& page, const Layout& l, vtkLookupTable* lut, double lo, double hi, const std::string& title,
                bool cyclic, bool discrete)
{
    const double barW = std::max(6.0, 0.9 * l.font);
    const double barH = 0.55 * l.side;
    const double x = l.legendX + 0.5 * l.font;
    const double top = l.by + 0.5 * (l.side - barH);
    const auto titleLines = lines_of(title);
    double ty = top - 0.6 * l.font - 1.25 * l.font * static_cast<double>(titleLines.size() - 1);
    page.items.push_back(GroupBegin{"legend"});
    for (const auto& line : titleLines) {
        page.items.push_back(Text{x, ty, l.font, line, 0, l.text});
        ty += 1.25 * l.font;
    }
    const int steps = 128;
    for (int k = 0; k < steps; ++k) {
        const double v = lo + (hi - lo) * (k + 0.5) / steps;
        const double y1 = top + barH * (1.0 - static_cast<double>(k) / steps);
        const double y0 = top + barH * (1.0 - static_cast<double>(k + 1) / steps);
        // A hair of overlap so that no viewer shows seams between the steps.
        page.items.push_back(Rect{x, y0 - 0.05, barW, y1 - y0 + 0.1, lut_colour(lut, v)});
    }
    std::vector<std::pair<double, std::string>> ticks;
    if (cyclic) {
        const char* names[5] = {"\xE2\x88\x92\xCF\x80", "\xE2\x88\x92\xCF\x80/2", "0", "\xCF\x80/2", "\xCF\x80"};
        for (int k = 0; k < 5; ++k) ticks.emplace_back(-kPi + k * kPi / 2.0, names[k]);
    } else if (discrete && hi - lo <= 10.0) {
        for (double v = std::ceil(lo); v <= hi + 1e-9; v += 1.0) ticks.emplace_back(v, tick_label(v));
    } else {
        for (int k = 0; k < 5; ++k) {
            const double v = lo + (hi - lo) * k / 4.0;
            ticks.emplace_back(v, tick_label(v));
        }
    }
    for (const auto& [v, label] : ticks) {
        const double y = top + barH * (1.0 - (v - lo) / (hi - lo));
        page.items.push_back(Poly{{x + barW, y, x + barW + 0.35 * l.font, y}, 0.6, l.text});
        page.items.push_back(Text{x + barW + 0.55 * l.font, y + 0.35 * l.font, 0.85 * l.font, label, 0, l.text});
    }
    page.items.push_back(GroupEnd{});
}

// A bar of a round number of diameters at the box's lower left.
void add_scale_bar(Page& page, const Layout& l, double box, double diameter, bool aoup)
{
    if (!(diameter > 0.0) || !(box > 0.0)) return;
    const double n = detail::round_scale_length(0.22 * box / diameter);
    const double len = n * diameter * l.side / box;
    const double x0 = l.bx + 0.03 * l.side;
    const double y = l.by + l.side - 0.04 * l.side;
    page.items.push_back(GroupBegin{"scale-bar"});
    // A translucent backdrop (the screen's label has one) keeps it legible over particles.
    const Rgb back = l.text.r > 0.5 ? Rgb{detail::kBackground[0], detail::kBackground[1], detail::kBackground[2]} : Rgb{1, 1, 1};
    page.items.push_back(Rect{x0 - 0.4 * l.font, y - 1.2 * l.font, len + 5.5 * l.font, 1.9 * l.font, back, 0.7});
    page.items.push_back(Rect{x0, y - 1.5, len, 3.0, l.text});
    page.items.push_back(Rect{x0, y - 4.5, 1.0, 6.0, l.text});
    page.items.push_back(Rect{x0 + len - 1.0, y - 4.5, 1.0, 6.0, l.text});
    char number[32];
    const auto nr = std::to_chars(number, number + sizeof number - 1, n);
    *nr.ptr = '\0';
    page.items.push_back(Text{x0 + len + 0.5 * l.font, y + 0.35 * l.font, l.font,
                              std::string(number) + (aoup ? " \xC3\x97 2r\xE2\x82\x80" : " \xCF\x83"), 0, l.text});
    page.items.push_back(GroupEnd{});
}

struct ToPage {
    const Layout& l;
    double box;
    double x(double wx) const { return l.bx + wx * l.side / box; }
    double y(double wy) const { return l.by + l.side - wy * l.side / box; }
};

void add_outline(Page& page, const Layout& l)
{
    page.items.push_back(Poly{{l.bx, l.by, l.bx + l.side, l.by, l.bx + l.side, l.by + l.side, l.bx, l.by + l.side, l.bx, l.by},
                              1.0, l.outline});
}

// The current as block-mean arrows (current_arrows), white with heads.
int add_arrows(Page& page, const Layout& l, const Frame& frame, double box, std::string& note)
{
    const CurrentPicture pic = current_arrows(frame);
    if (pic.from.empty()) {
        note = pic.note;
        return 0;
    }
    const ToPage to{l, box};
    const Rgb white{0.97, 0.97, 0.97};
    page.items.push_back(GroupBegin{"current"});
    int count = 0;
    for (std::size_t k = 0; k + 1 < pic.from.size(); k += 2) {
        const double x0 = to.x(pic.from[k]), y0 = to.y(pic.from[k + 1]);
        const double x1 = to.x(pic.from[k] + pic.along[k]), y1 = to.y(pic.from[k + 1] + pic.along[k + 1]);
        const double dx = x1 - x0, dy = y1 - y0, len = std::hypot(dx, dy);
        if (!(len > 1e-6)) continue;
        const double ux = dx / len, uy = dy / len, head = std::min(0.35 * len, 0.012 * l.side);
        page.items.push_back(Poly{{x0, y0, x1 - 0.6 * head * ux, y1 - 0.6 * head * uy}, std::max(0.5, 0.0015 * l.side), white});
        page.items.push_back(Poly{{x1, y1, x1 - head * ux - 0.45 * head * uy, y1 - head * uy + 0.45 * head * ux,
                                   x1 - head * ux + 0.45 * head * uy, y1 - head * uy - 0.45 * head * ux},
                                  0.0, white});
        ++count;
    }
    page.items.push_back(GroupEnd{});
    return count;
}

// The current's streamlines (current_streamlines) as white polylines.
int add_streamlines(Page& page, const Layout& l, const Frame& frame, double box, std::string& note)
{
    const CurrentLines c = current_streamlines(frame);
    if (c.lines.empty()) {
        note = c.note.empty() ? "no streamlines: the current is zero everywhere" : c.note;
        return 0;
    }
    const ToPage to{l, box};
    page.items.push_back(GroupBegin{"current"});
    for (const auto& line : c.lines) {
        Poly p;
        p.width = std::max(0.4, 0.001 * l.side);
        p.c = {0.97, 0.97, 0.97};
        p.p.reserve(line.size());
        for (std::size_t k = 0; k + 1 < line.size(); k += 2) {
            p.p.push_back(to.x(line[k]));
            p.p.push_back(to.y(line[k + 1]));
        }
        page.items.push_back(std::move(p));
    }
    page.items.push_back(GroupEnd{});
    return static_cast<int>(c.lines.size());
}

void check_options(const VectorFigureOptions& opt, const std::string& path)
{
    if (!(opt.width > 0.0) || !(opt.height > 0.0) || !std::isfinite(opt.width) || !std::isfinite(opt.height))
        throw ConfigError("--size", "'" + path + "': the page must have a positive finite size");
}

void add_background(Page& page, const VectorFigureOptions& opt)
{
    if (!opt.transparent) page.items.push_back(Rect{0.0, 0.0, opt.width, opt.height, {detail::kBackground[0], detail::kBackground[1], detail::kBackground[2]}});
}

std::string current_caption(CurrentOverlay mode, int drawn, const std::string& note)
{
    if (drawn == 0) return "no current: " + note;
    return mode == CurrentOverlay::Arrows ? "arrows: probability current J(r), block means" : "lines: streamlines of the probability current J(r)";
}

// Arrows or streamlines; returns what was drawn (arrows, or lines).
int add_current(Page& page, const Layout& l, const Frame& frame, double box, CurrentOverlay mode, std::string& note)
{
    return mode == CurrentOverlay::Arrows ? add_arrows(page, l, frame, box, note) : add_streamlines(page, l, frame, box, note);
}

}  // namespace

VectorFigureInfo write_particle_figure(const Frame& frame, Quantity q, const std::string& path, const VectorFigureOptions& opt)
{
    VectorFigureInfo info;
    info.format = format_of(path);
    check_options(opt, path);
    if (!frame.state) throw ConfigError("", "'" + path + "': the frame has no state to draw");
    const State& s = *frame.state;
    const double L = s.box;
    const int n = s.n();
    const QuantityInfo qi = quantity_info(q, frame.config.model, true);

    std::vector<float> values;
    if (q == Quantity::ActiveAngle) {
        values.resize(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) values[static_cast<std::size_t>(i)] = static_cast<float>(active_angle(s, i));
        info.range = colour_range(q, {}, opt.range);
    } else {
        QuantityValues v = quantity_values(frame, q);
        info.range = colour_range(q, v.values, opt.range);
        if (!v.available()) {
            info.note = v.reason;
            values.assign(static_cast<std::size_t>(n), std::numeric_limits<float>::quiet_NaN());
        } else {
            values = std::move(v.values);
        }
    }
    vtkSmartPointer<vtkLookupTable> lut = detail::make_map_lut(qi.map);
    lut->SetTableRange(info.range.lo, info.range.hi);

    std::string captionText = opt.caption ? caption(frame, q, true) : std::string();
    Page page;
    page.w = opt.width;
    page.h = opt.height;
    std::string arrowNote;
    // The caption's line count must be known for the layout; the current's
    // line is added before the arrows are drawn and corrected below.
    const bool arrowsAsked = opt.current != CurrentOverlay::Off;
    auto lines = lines_of(captionText);
    if (opt.caption && arrowsAsked) lines.emplace_back();
    const Layout l = layout(opt, static_cast<int>(lines.size()), opt.legend);
    add_background(page, opt);

    const double radius = particle_radius(frame.config);
    const ToPage to{l, L};
    const double r = radius * l.side / L;
    page.items.push_back(ClipBegin{l.bx, l.by, l.side, l.side});
    page.items.push_back(GroupBegin{"particles"});
    for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        const Rgb c = lut_colour(lut, values[k]);
        const double x = s.x[2 * k], y = s.x[2 * k + 1];
        page.items.push_back(Circle{to.x(x), to.y(y), r, c});
        ++info.circles;
        if (!opt.periodic_images) continue;
        const int sx = x < radius ? 1 : (x > L - radius ? -1 : 0);
        const int sy = y < radius ? 1 : (y > L - radius ? -1 : 0);
        const auto image = [&](int ix, int iy) {
            page.items.push_back(Circle{to.x(x + ix * L), to.y(y + iy * L), r, c});
            ++info.circles;
        };
        if (sx != 0) image(sx, 0);
        if (sy != 0) image(0, sy);
        if (sx != 0 && sy != 0) image(sx, sy);
    }
    page.items.push_back(GroupEnd{});
    if (arrowsAsked) {
        const int n = add_current(page, l, frame, L, opt.current, arrowNote);
        (opt.current == CurrentOverlay::Arrows ? info.arrows : info.streamlines) = n;
    }
    page.items.push_back(ClipEnd{});
    add_outline(page, l);
    if (opt.caption) {
        if (arrowsAsked) lines.back() = current_caption(opt.current, info.arrows + info.streamlines, arrowNote);
        add_caption(page, l, lines);
    }
    if (opt.legend)
        add_legend(page, l, lut, info.range.lo, info.range.hi, legend_title(q, frame.config.model, true), qi.cyclic, qi.discrete);
    if (opt.scale_bar) add_scale_bar(page, l, L, 2.0 * radius, frame.config.model == ModelKind::Aoup);
    if (!arrowNote.empty() && info.note.empty()) info.note = arrowNote;
    info.particles = n;
    write_page(page, info.format, path);
    return info;
}

VectorFigureInfo write_field_figure(const Frame& frame, FieldQuantity q, const std::string& path, const VectorFigureOptions& opt)
{
    VectorFigureInfo info;
    info.format = format_of(path);
    check_options(opt, path);
    if (!frame.state) throw ConfigError("", "'" + path + "': the frame has no state to draw");
    const FieldPicture pic = field_picture(frame, q);
    if (pic.bins == 0) throw ConfigError("", "'" + path + "': no field to draw: " + pic.caption);
    const double L = pic.box > 0.0 ? pic.box : frame.state->box;

    Page page;
    page.w = opt.width;
    page.h = opt.height;
    const bool arrowsAsked = opt.current != CurrentOverlay::Off;
    auto lines = opt.caption ? lines_of(pic.caption) : std::vector<std::string>{};
    if (opt.caption && arrowsAsked) lines.emplace_back();
    const Layout l = layout(opt, static_cast<int>(lines.size()), opt.legend);
    add_background(page, opt);

    vtkSmartPointer<vtkLookupTable> lut = detail::make_map_lut(ColourMapKind::Sequential);
    // The picture's own range (0 to the 99th percentile), or the caller's
    // fixed one.
    double lo = pic.lo, hi = pic.hi > pic.lo ? pic.hi : pic.lo + 1.0;
    if (opt.range.mode == RangeMode::Fixed) {
        const ColourRange fixed = colour_range(std::vector<float>{}, opt.range, false);
        lo = fixed.lo;
        hi = fixed.hi;
    }
    lut->SetTableRange(lo, hi);
    Image im{l.bx, l.by, l.side, l.side, pic.bins, pic.bins, {}};
    im.argb.resize(static_cast<std::size_t>(pic.bins) * pic.bins);
    const auto pack = [](const Rgb& c) {
        const auto b = [](double v) { return static_cast<std::uint32_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0)); };
        return 0xff000000u | (b(c.r) << 16) | (b(c.g) << 8) | b(c.b);
    };
    const Rgb masked{0.42, 0.42, 0.44};  // FieldScene's flat grey for sparse cells
    for (int cy = 0; cy < pic.bins; ++cy) {
        for (int cx = 0; cx < pic.bins; ++cx) {
            const float v = pic.values[static_cast<std::size_t>(cy) * pic.bins + cx];
            // Image rows run top down; the field's row 0 is y = 0 (the bottom).
            im.argb[static_cast<std::size_t>(pic.bins - 1 - cy) * pic.bins + cx] = pack(std::isfinite(v) ? lut_colour(lut, v) : masked);
        }
    }
    page.items.push_back(GroupBegin{"field"});
    page.items.push_back(std::move(im));
    page.items.push_back(GroupEnd{});
    std::string arrowNote;
    if (arrowsAsked) {
        page.items.push_back(ClipBegin{l.bx, l.by, l.side, l.side});
        const int n = add_current(page, l, frame, L, opt.current, arrowNote);
        (opt.current == CurrentOverlay::Arrows ? info.arrows : info.streamlines) = n;
        page.items.push_back(ClipEnd{});
    }
    add_outline(page, l);
    if (opt.caption) {
        if (arrowsAsked) lines.back() = current_caption(opt.current, info.arrows + info.streamlines, arrowNote);
        add_caption(page, l, lines);
    }
    if (opt.legend) add_legend(page, l, lut, lo, hi, pic.title, false, false);
    if (opt.scale_bar) add_scale_bar(page, l, L, 2.0 * particle_radius(frame.config), frame.config.model == ModelKind::Aoup);
    info.range.lo = lo;
    info.range.hi = hi;
    info.particles = frame.state->n();
    info.note = arrowNote;
    write_page(page, info.format, path);
    return info;
}

}  // namespace entroscope::render

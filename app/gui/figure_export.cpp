#include "app/gui/figure_export.hpp"

#include <QFileInfo>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <cmath>

#include "entroscope/core/errors.hpp"
#include "entroscope/session/frame.hpp"
#include "render/offscreen_render.hpp"
#include "render/particle_scene.hpp"
#include "render/vector_figure.hpp"
#include "widgets/figure_dialog.hpp"
#include "widgets/plot_panel.hpp"

namespace entroscope::gui {

namespace {

// The view's scene in `r`, drawn as on screen (the range rule applies to
// the field view too when it is Fixed).
void draw_view(render::OffscreenRenderer& r, const ViewPicture& v, bool caption, bool legend, bool scaleBar)
{
    if (v.field) {
        render::FieldScene& scene = r.fieldScene();
        scene.setCurrentOverlay(v.current);
        scene.setLegendShown(legend);
        scene.setCaptionShown(caption);
        scene.show(*v.frame, v.fieldQuantity, v.range);
    } else {
        render::ParticleScene& scene = r.scene();
        scene.setCurrentOverlay(v.current);
        scene.setDecorations(legend, scaleBar);
        scene.show(*v.frame, v.quantity, v.range, caption);
    }
}

}  // namespace

QImage render_view_image(const ViewPicture& v, int w, int h, bool caption, bool legend, bool scaleBar)
{
    if (!v.frame) throw IoError("nothing to draw yet: the view has no frame");
    render::OffscreenRenderer r(w, h);
    draw_view(r, v, caption, legend, scaleBar);
    const std::vector<unsigned char> rgb = r.renderRgb();
    return QImage(rgb.data(), w, h, 3 * w, QImage::Format_RGB888).copy();
}

QString export_layout_figure(const ViewPicture& particles, const ViewPicture& field, widgets::PlotPanel* plots,
                             const widgets::FigureRequest& req)
{
    if (const QString why = req.problem(); !why.isEmpty()) return why;
    if (!particles.frame || !particles.frame->state) return QObject::tr("Nothing to draw yet: the view has no frame.");
    const bool png = req.format == "png";
    // The page in its own units (pixels for PNG, points otherwise) and the
    // pixels per unit of the views' images.
    const double W = png ? req.widthPx : req.widthPt, H = png ? req.heightPx : req.heightPt;
    const double scale = png ? 1.0 : req.dpi / 72.0;
    const double gap = 0.01 * std::min(W, H);
    const bool twoViews = field.frame != nullptr;
    const double viewsH = plots ? 0.62 * H : H;
    const double viewW = twoViews ? 0.5 * (W - gap) : W;
    const QRectF left(0, 0, viewW, viewsH), right(viewW + gap, 0, viewW, viewsH);
    const QRectF epr(0, viewsH + gap, 0.5 * (W - gap), H - viewsH - gap), diag(0.5 * (W + gap), viewsH + gap, 0.5 * (W - gap), H - viewsH - gap);
    const auto image = [&](const ViewPicture& v, const QRectF& r) {
        return render_view_image(v, std::max(16, static_cast<int>(std::lround(r.width() * scale))),
                                 std::max(16, static_cast<int>(std::lround(r.height() * scale))), req.caption, req.legend, req.scaleBar);
    };
    QImage a, b;
    try {
        a = image(particles, left);
        if (twoViews) b = image(field, right);
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    const auto paint = [&](QPainter& p) {
        p.setRenderHint(QPainter::Antialiasing);
        p.setRenderHint(QPainter::SmoothPixmapTransform);
        if (!req.transparent) p.fillRect(QRectF(0, 0, W, H), Qt::white);
        p.drawImage(left, a);
        if (twoViews) p.drawImage(right, b);
        if (plots) {
            plots->paintFigure(widgets::PlotPanel::Plot::Epr, p, epr);
            plots->paintFigure(widgets::PlotPanel::Plot::Diagnostics, p, diag);
        }
    };
    QSaveFile file(req.path);
    if (!file.open(QIODevice::WriteOnly)) return QObject::tr("%1: %2").arg(req.path, file.errorString());
    bool ok = true;
    if (png) {
        QImage page(req.widthPx, req.heightPx, QImage::Format_ARGB32);
        page.fill(Qt::transparent);
        {
            QPainter p(&page);
            paint(p);
        }
        const int perMetre = static_cast<int>(std::lround(req.dpi / 0.0254));
        page.setDotsPerMeterX(perMetre);
        page.setDotsPerMeterY(perMetre);
        ok = page.save(&file, "PNG");
    } else if (req.format == "svg") {
        QSvgGenerator svg;
        svg.setOutputDevice(&file);
        svg.setSize(QSize(static_cast<int>(std::lround(W)), static_cast<int>(std::lround(H))));
        svg.setViewBox(QRectF(0, 0, W, H));
        svg.setTitle(QStringLiteral("Entroscope"));
        QPainter p;
        ok = p.begin(&svg);
        if (ok) {
            paint(p);
            p.end();
        }
    } else {
        QPdfWriter pdf(&file);
        pdf.setCreator(QStringLiteral("Entroscope"));
        pdf.setResolution(72);
        pdf.setPageSize(QPageSize(QSizeF(W, H), QPageSize::Point));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        QPainter p;
        ok = p.begin(&pdf);
        if (ok) {
            paint(p);
            p.end();
        }
    }
    if (!ok) {
        file.cancelWriting();
        return QObject::tr("%1: cannot draw the figure (disk full?)").arg(req.path);
    }
    if (!file.commit()) return QObject::tr("%1: %2").arg(req.path, file.errorString());
    return {};
}

QString export_view_figure(const ViewPicture& v, const widgets::FigureRequest& req, QString* note)
{
    if (const QString why = req.problem(); !why.isEmpty()) return why;
    if (!v.frame || !v.frame->state) return QObject::tr("Nothing to draw yet: the view has no frame.");
    try {
        if (req.format == "png") {
            // VTK's own PNG, with the background keyed out when asked and
            // the resolution as a pHYs chunk; written atomically.
            render::OffscreenRenderer r(req.widthPx, req.heightPx);
            draw_view(r, v, req.caption, req.legend, req.scaleBar);
            render::PngOptions png;
            png.transparent = req.transparent;
            png.dpi = req.dpi;
            r.writePng(req.path.toStdString(), png);
            return {};
        }
        render::VectorFigureOptions opt;
        opt.width = req.widthPt;
        opt.height = req.heightPt;
        opt.caption = req.caption;
        opt.legend = req.legend;
        opt.scale_bar = req.scaleBar;
        opt.transparent = req.transparent;
        opt.range = v.range;
        opt.current = v.current;
        const render::VectorFigureInfo info =
            v.field ? render::write_field_figure(*v.frame, v.fieldQuantity, req.path.toStdString(), opt)
                    : render::write_particle_figure(*v.frame, v.quantity, req.path.toStdString(), opt);
        if (!info.note.empty() && note && note->isEmpty()) *note = QString::fromStdString(info.note);
        return {};
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

}  // namespace entroscope::gui

#include "app/gui/figure_export.hpp"

#include <QFileInfo>
#include <QSaveFile>

#include "entroscope/core/errors.hpp"
#include "entroscope/session/frame.hpp"
#include "render/offscreen_render.hpp"
#include "render/particle_scene.hpp"
#include "render/vector_figure.hpp"
#include "widgets/figure_dialog.hpp"

namespace entroscope::gui {

QImage render_view_image(const ViewPicture& v, int w, int h, bool caption, bool legend, bool scaleBar)
{
    if (!v.frame) throw IoError("nothing to draw yet: the view has no frame");
    render::OffscreenRenderer r(w, h);
    if (v.field) {
        render::FieldScene& scene = r.fieldScene();
        scene.setCurrentOverlay(v.current);
        scene.setLegendShown(legend);
        scene.show(*v.frame, v.fieldQuantity);
    } else {
        render::ParticleScene& scene = r.scene();
        scene.setCurrentOverlay(v.current);
        scene.setDecorations(legend, scaleBar);
        scene.show(*v.frame, v.quantity, v.range, caption);
    }
    const std::vector<unsigned char> rgb = r.renderRgb();
    return QImage(rgb.data(), w, h, 3 * w, QImage::Format_RGB888).copy();
}

QString export_view_figure(const ViewPicture& v, const widgets::FigureRequest& req, QString* note)
{
    if (const QString why = req.problem(); !why.isEmpty()) return why;
    if (!v.frame || !v.frame->state) return QObject::tr("Nothing to draw yet: the view has no frame.");
    try {
        if (req.format == "png") {
            if (req.transparent && note) *note = QObject::tr("PNG figures have the view's background (transparency: SVG or PDF).");
            QImage img = render_view_image(v, req.widthPx, req.heightPx, req.caption, req.legend, req.scaleBar);
            const int perMetre = static_cast<int>(std::lround(req.dpi / 0.0254));
            img.setDotsPerMeterX(perMetre);
            img.setDotsPerMeterY(perMetre);
            QSaveFile out(req.path);
            if (!out.open(QIODevice::WriteOnly)) return QObject::tr("%1: %2").arg(req.path, out.errorString());
            if (!img.save(&out, "PNG")) {
                out.cancelWriting();
                return QObject::tr("%1: cannot write the PNG (disk full?)").arg(req.path);
            }
            if (!out.commit()) return QObject::tr("%1: %2").arg(req.path, out.errorString());
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
        if (opt.current == render::CurrentOverlay::Streamlines) {
            opt.current = render::CurrentOverlay::Arrows;
            if (note) *note = QObject::tr("The current is drawn as arrows: vector figures have no streamlines yet.");
        }
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

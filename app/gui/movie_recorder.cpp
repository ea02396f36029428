#include "app/gui/movie_recorder.hpp"

#include <cmath>

#include "entroscope/core/errors.hpp"
#include "entroscope/session/frame.hpp"
#include "render/field_scene.hpp"
#include "render/movie_writer.hpp"
#include "render/offscreen_render.hpp"
#include "render/particle_scene.hpp"

namespace entroscope::gui {

MovieRecorder::MovieRecorder(const widgets::MovieRequest& r) : req_(r)
{
    if (!(r.fps > 0.0) || !std::isfinite(r.fps) || r.fps > 240.0)
        throw ConfigError("fps", "must be in (0, 240] (asked: " + std::to_string(r.fps) + ")");
    render::MovieOptions opt;
    opt.codec = r.effectiveCodec().toStdString();
    // yuv420p needs even sides: render at the size the encoder takes.
    const bool png = opt.codec == "png";
    opt.width = png ? r.width : r.width / 2 * 2;
    opt.height = png ? r.height : r.height / 2 * 2;
    opt.fps = r.fps;
    opt.quality = r.quality;
    writer_ = std::make_unique<render::MovieWriter>(r.path.toStdString(), opt);
    // The encoder may round an odd size down to even: render at its size.
    req_.width = writer_->width();
    req_.height = writer_->height();
    renderer_ = std::make_unique<render::OffscreenRenderer>(req_.width, req_.height);
    clock_.start();
}

MovieRecorder::~MovieRecorder()
{
    if (writer_) writer_->cancel();
}

int MovieRecorder::offer(const ViewPicture& v)
{
    if (!writer_ || !v.frame || !v.frame->state) return 0;
    // Frames due by now: the first at once, then one per 1/fps.
    const double t = static_cast<double>(clock_.nsecsElapsed()) * 1e-9;
    const int due = static_cast<int>(std::floor(t * req_.fps)) + 1 - ticks_;
    if (due <= 0) return 0;
    if (v.frame != lastFrame_ || last_.empty()) {
        QElapsedTimer r;
        r.start();
        if (v.field) {
            render::FieldScene& scene = renderer_->fieldScene();
            scene.setCurrentOverlay(v.current);
            const render::ColourRange range = scene.show(*v.frame, v.fieldQuantity, haveHeld_ ? held_ : render::RangeRule{});
            if (req_.holdRange && !haveHeld_ && v.frame->learned) {
                held_ = {render::RangeMode::Fixed, range.lo, range.hi};
                haveHeld_ = true;
            }
        } else {
            render::ParticleScene& scene = renderer_->scene();
            scene.setCurrentOverlay(v.current);
            const render::ColourRange range = scene.show(*v.frame, v.quantity, haveHeld_ ? held_ : v.range);
            // Hold the first range that came from values (a learned quantity
            // before its first evaluation has none yet).
            const bool fromValues = range.finite > 0 || v.quantity == render::Quantity::ActiveAngle;
            if (req_.holdRange && !haveHeld_ && fromValues) {
                held_ = {render::RangeMode::Fixed, range.lo, range.hi};
                haveHeld_ = true;
            }
        }
        last_ = renderer_->renderRgb();
        lastFrame_ = v.frame;
        renderSeconds_ += static_cast<double>(r.nsecsElapsed()) * 1e-9;
    }
    // A late call (a slow frame) repeats the picture for the frames missed,
    // but at most as many as the encoder's queue holds, so that the GUI
    // thread never waits behind a long backlog; a longer stall shortens the
    // movie by the frames beyond that.
    const int n = std::min(due, render::MovieOptions{}.queue_frames);
    for (int k = 0; k < n; ++k) writer_->push_rgb(last_);
    pushed_ += n;
    ticks_ += due;  // frames skipped beyond a second are not owed later
    return n;
}

void MovieRecorder::finish()
{
    if (!writer_) return;
    writer_->close();
    pushed_ = writer_->frames();
}

void MovieRecorder::cancel()
{
    if (writer_) writer_->cancel();
}

double MovieRecorder::seconds() const { return static_cast<double>(clock_.nsecsElapsed()) * 1e-9; }
QString MovieRecorder::codec() const { return writer_ ? QString::fromStdString(writer_->codec()) : QString(); }
QString MovieRecorder::note() const { return writer_ ? QString::fromStdString(writer_->note()) : QString(); }

}  // namespace entroscope::gui

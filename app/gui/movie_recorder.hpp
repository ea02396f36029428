#pragma once
// Record: the live run as a movie while it runs, slider moves included.
// The view on screen is rendered again off screen at the movie's size (the
// same frame, colours and overlays) at the movie's frame rate in wall-clock
// time, so the movie plays at the speed the run was watched; the encoder
// runs on its own thread (render::MovieWriter).
#include <QElapsedTimer>
#include <QString>
#include <memory>
#include <vector>

#include "app/gui/figure_export.hpp"
#include "render/colour_rules.hpp"
#include "widgets/movie_dialog.hpp"

namespace entroscope::render {
class MovieWriter;
class OffscreenRenderer;
}  // namespace entroscope::render

namespace entroscope::gui {


class MovieRecorder {
public:
    // Opens the movie. Throws ConfigError / IoError (bad size or fps, no
    // display, a file that cannot be created), naming the problem.
    explicit MovieRecorder(const widgets::MovieRequest& r);
    ~MovieRecorder();  // without finish(): cancel
    MovieRecorder(const MovieRecorder&) = delete;
    MovieRecorder& operator=(const MovieRecorder&) = delete;

    // The picture on screen now. When a movie frame is due (1/fps of wall
    // time after the previous one), it is rendered, or the previous render
    // repeated when the picture has not changed, and queued for the
    // encoder; a late call fills up to 8 missed frames with the last picture.
    // Returns the frames queued. Throws IoError when the encoder failed.
    int offer(const ViewPicture& v);
    // Finish the file (renamed into place). Throws IoError (full disk ...);
    // nothing is then left at the path.
    void finish();
    void cancel();

    const widgets::MovieRequest& request() const { return req_; }
    int frames() const { return pushed_; }
    double seconds() const;          // wall time since the start
    double renderSeconds() const { return renderSeconds_; }
    QString codec() const;
    QString note() const;

private:
    widgets::MovieRequest req_;
    std::unique_ptr<render::OffscreenRenderer> renderer_;
    std::unique_ptr<render::MovieWriter> writer_;
    QElapsedTimer clock_;
    std::vector<unsigned char> last_;
    std::shared_ptr<const Frame> lastFrame_;
    render::RangeRule held_;
    bool haveHeld_ = false;
    int ticks_ = 0;   // movie frame times accounted for
    int pushed_ = 0;  // frames given to the encoder
    double renderSeconds_ = 0.0;
};

}  // namespace entroscope::gui

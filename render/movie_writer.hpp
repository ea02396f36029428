#pragma once
// Movies of rendered frames: MP4 (H.264, yuv420p, faststart) encoded in this
// process with FFmpeg's libraries, MPEG-4 Part 2 when no H.264 encoder is
// built in, or a folder of PNG frames. The caller renders and pushes RGB
// frames; an encoder thread behind a bounded queue converts and encodes
// them, so the renderer only waits when the encoder falls `queue_frames`
// behind. No FFmpeg or VTK types here.
//
// Files appear whole or not at all: an MP4 is written to PATH.tmp-XXXXXX in
// the destination's folder and renamed onto PATH by close(); a failure,
// cancel() or destruction without close() removes it. A PNG sequence writes
// each frame atomically and, on failure or cancel, removes the frames it
// wrote (and the folder when it created it).
#include <memory>
#include <string>
#include <vector>

namespace entroscope::render {

struct MovieOptions {
    // Pushed frames are width x height. yuv420p needs even dimensions: an
    // odd width or height is rounded down for the MP4 codecs (the last
    // column or row is dropped) and note() says so; PNG keeps the size.
    int width = 1280, height = 720;
    double fps = 30.0;                // > 0 (non-integer rates are kept as a rational)
    // x264 CRF (0..51, lower = better). MPEG-4 Part 2 has no CRF: a fixed
    // qscale 1..31 is used instead, qscale = clamp(2 + (quality - 18) / 2).
    // Ignored for PNG.
    int quality = 23;
    // "auto" (H.264, MPEG-4 fallback), "h264", "mpeg4", "png" (PNG sequence
    // into the folder `path`: frame_00000.png, frame_00001.png, ...).
    std::string codec = "auto";
    int queue_frames = 8;             // bounded queue to the encoder thread (>= 1)
};

class MovieWriter {
public:
    // Opens the encoder and the temporary file (PNG: makes the folder when
    // absent). Throws ConfigError for bad options (size, fps, quality,
    // codec name) and IoError when the file cannot be created or the asked
    // encoder is not built in ("h264" without libx264; "auto" falls back to
    // MPEG-4 and says so in note()).
    MovieWriter(const std::string& path, const MovieOptions& opt);
    // Without close(): cancel().
    ~MovieWriter();
    MovieWriter(const MovieWriter&) = delete;
    MovieWriter& operator=(const MovieWriter&) = delete;

    // One frame: width * height * 3 bytes, RGB, top row first (what
    // OffscreenRenderer::renderRgb gives). Blocks only while the queue is
    // full. Throws IoError when the encoder thread failed (with its
    // message; the temporary file is then already gone), ConfigError for a
    // buffer of the wrong size, IoError after close() or cancel().
    void push_rgb(std::vector<unsigned char> rgb);
    // Drains the queue, flushes the encoder, writes the trailer (moov moved
    // before mdat: faststart) and renames the file into place. Throws
    // IoError (a full disk, a failed encode, no frame at all) and leaves
    // nothing at path. A second call does nothing.
    void close();
    // Stops the encoder, drops queued frames and removes the temporary file
    // (PNG: the frames written); nothing at path. Safe to call any time.
    void cancel();

    const std::string& path() const;
    int width() const;                // of the encoded frames (rounded down to even for MP4)
    int height() const;
    std::string codec() const;        // "h264" / "mpeg4" / "png"
    std::string encoder() const;      // FFmpeg's encoder name ("libx264", "mpeg4", "png")
    std::string note() const;         // the fallback or rounding note; empty if none
    int frames() const;               // frames encoded so far
    // Seconds the encoder thread spent converting, encoding and writing
    // (not waiting): compare with the renderer's time.
    double encodeSeconds() const;

    // Whether this FFmpeg has an H.264 encoder (libx264).
    static bool h264Available();

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace entroscope::render

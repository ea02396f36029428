#include "render/movie_writer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <random>
#include <fcntl.h>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <unistd.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/errors.hpp"

namespace entroscope::render {

namespace {

std::string av_error(int code)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(code, buf, sizeof buf);
    std::string s = buf;
    if (code == AVERROR(EFBIG) || code == AVERROR(ENOSPC)) s += " (disk full or file-size limit)";
    return s;
}

// ENTROSCOPE_MOVIE_NO_H264=1 makes this process behave as if FFmpeg had no
// H.264 encoder, so the MPEG-4 fallback can be exercised where libx264 exists.
bool h264_disabled_for_tests()
{
    const char* v = std::getenv("ENTROSCOPE_MOVIE_NO_H264");
    return v && *v && std::strcmp(v, "0") != 0;
}

const AVCodec* find_h264()
{
    if (h264_disabled_for_tests()) return nullptr;
    return avcodec_find_encoder_by_name("libx264");
}

}  // namespace

// FFmpeg's info lines (x264's statistics) would drown the CLI's stderr.
void quiet_ffmpeg_logs()
{
    if (av_log_get_level() == AV_LOG_INFO) av_log_set_level(AV_LOG_ERROR);
}

bool MovieWriter::h264Available() { return find_h264() != nullptr; }

struct MovieWriter::Impl {
    std::string path;
    MovieOptions opt;
    bool png = false;
    int srcW = 0, srcH = 0, w = 0, h = 0;
    std::string codec, encoderName, note;

    // MP4
    std::string tmp;
    AVFormatContext* oc = nullptr;
    AVStream* st = nullptr;
    bool header = false;
    // both
    AVCodecContext* enc = nullptr;
    SwsContext* sws = nullptr;
    AVFrame* frame = nullptr;
    AVPacket* pkt = nullptr;
    std::int64_t pts = 0;
    // PNG
    std::filesystem::path folder;
    bool madeFolder = false;
    std::vector<std::string> written;

    std::thread worker;
    std::mutex m;
    std::condition_variable canPush, canPop;
    std::deque<std::vector<unsigned char>> queue;
    bool closing = false, stop = false, failed = false, done = false;
    std::string error;
    std::atomic<int> encoded{0};
    std::atomic<long long> busyNs{0};

    ~Impl() { release(); }

    void release()
    {
        if (oc) {
            if (oc->pb) avio_closep(&oc->pb);
            avformat_free_context(oc);
            oc = nullptr;
            st = nullptr;
        }
        if (enc) avcodec_free_context(&enc);
        if (sws) {
            sws_freeContext(sws);
            sws = nullptr;
        }
        if (frame) av_frame_free(&frame);
        if (pkt) av_packet_free(&pkt);
    }

    // Everything this writer put on disk goes away.
    void discard()
    {
        release();
        if (!tmp.empty()) {
            std::remove(tmp.c_str());
            tmp.clear();
        }
        for (const auto& f : written) std::remove(f.c_str());
        written.clear();
        if (madeFolder) {
            std::error_code ec;
            std::filesystem::remove(folder, ec);  // only when empty
            madeFolder = false;
        }
    }

    [[noreturn]] void fail(const std::string& what) { throw IoError("movie '" + path + "': " + what); }

    void openEncoder(const AVCodec* c)
    {
        enc = avcodec_alloc_context3(c);
        if (!enc) fail("cannot allocate the encoder");
        enc->width = w;
        enc->height = h;
        // MPEG-4 Part 2 takes time bases up to 65535 only (16-bit fields).
        const AVRational fr = av_d2q(opt.fps, c->id == AV_CODEC_ID_MPEG4 ? 65535 : 100000);
        enc->framerate = fr;
        enc->time_base = av_inv_q(fr);
        if (png) {
            enc->pix_fmt = AV_PIX_FMT_RGB24;
        } else {
            enc->pix_fmt = AV_PIX_FMT_YUV420P;
            // swscale's default RGB -> YUV: BT.601 matrix, limited range; sRGB primaries.
            enc->color_range = AVCOL_RANGE_MPEG;
            enc->colorspace = AVCOL_SPC_SMPTE170M;
            enc->color_primaries = AVCOL_PRI_BT709;
            enc->color_trc = AVCOL_TRC_IEC61966_2_1;
            enc->codec_tag = 0;
            if (c->id == AV_CODEC_ID_H264) {
                av_opt_set(enc->priv_data, "preset", "veryfast", 0);
                av_opt_set(enc->priv_data, "crf", std::to_string(opt.quality).c_str(), 0);
            } else {
                const int q = std::clamp(static_cast<int>(std::lround(2.0 + (opt.quality - 18) / 2.0)), 1, 31);
                enc->flags |= AV_CODEC_FLAG_QSCALE;
                enc->global_quality = FF_QP2LAMBDA * q;
                enc->gop_size = std::max(1, static_cast<int>(std::lround(opt.fps)));
                enc->max_b_frames = 0;
            }
            if (oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        }
        const int r = avcodec_open2(enc, c, nullptr);
        if (r < 0) {
            avcodec_free_context(&enc);
            fail(std::string("cannot open the ") + c->name + " encoder: " + av_error(r));
        }
        encoderName = c->name;
    }

    void openMp4()
    {
        // The temporary file next to the target, under a name nobody else holds.
        // O_EXCL reserves the name; mode 0666 lets the kernel apply the
        // umask (a movie gets the permissions of any new file).
        std::random_device rd;
        std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        std::uniform_int_distribution<int> pick(0, static_cast<int>(sizeof(alphabet)) - 2);
        std::string templ;
        int fd = -1;
        for (int attempt = 0; attempt < 32 && fd < 0; ++attempt) {
            templ = path + ".tmp-";
            for (int k = 0; k < 6; ++k) templ += alphabet[pick(gen)];
            fd = ::open(templ.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd < 0 && errno != EEXIST) break;
        }
        if (fd < 0) {
            const std::string why = std::strerror(errno);
            fail("cannot create a file in its folder: " + why);
        }
        ::close(fd);
        tmp = templ;

        if (avformat_alloc_output_context2(&oc, nullptr, "mp4", tmp.c_str()) < 0 || !oc) fail("cannot set up the MP4 muxer");

        const AVCodec* c = nullptr;
        if (opt.codec == "h264" || opt.codec == "auto") c = find_h264();
        if (!c && opt.codec == "h264") fail("no H.264 encoder (libx264) in this FFmpeg build; use codec mpeg4 or auto");
        if (c) {
            try {
                openEncoder(c);
            } catch (const IoError& e) {
                if (opt.codec == "h264") throw;
                note = std::string("H.264 encoder failed to open (") + e.what() + "); ";
                c = nullptr;
            }
        } else if (opt.codec == "auto") {
            note = "no H.264 encoder (libx264) in this FFmpeg build; ";
        }
        if (!c) {
            c = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
            if (!c) fail("neither an H.264 nor an MPEG-4 Part 2 encoder in this FFmpeg build");
            openEncoder(c);
            if (opt.codec == "auto") note += "wrote MPEG-4 Part 2 instead (plays in most players, not in every browser)";
        }
        codec = enc->codec_id == AV_CODEC_ID_H264 ? "h264" : "mpeg4";

        st = avformat_new_stream(oc, nullptr);
        if (!st) fail("cannot add the video stream");
        st->time_base = enc->time_base;
        st->avg_frame_rate = enc->framerate;
        if (avcodec_parameters_from_context(st->codecpar, enc) < 0) fail("cannot copy the encoder's parameters");

        int r = avio_open(&oc->pb, tmp.c_str(), AVIO_FLAG_WRITE);
        if (r < 0) fail("cannot open '" + tmp + "': " + av_error(r));
        AVDictionary* mux = nullptr;
        av_dict_set(&mux, "movflags", "+faststart", 0);  // moov before mdat: plays while downloading
        r = avformat_write_header(oc, &mux);
        av_dict_free(&mux);
        if (r < 0) fail("cannot write the MP4 header: " + av_error(r));
        header = true;

        sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
        if (!sws) fail("cannot set up the RGB to YUV conversion");
    }

    void openPng()
    {
        folder = std::filesystem::path(path);
        std::error_code ec;
        if (std::filesystem::exists(folder, ec)) {
            if (!std::filesystem::is_directory(folder, ec)) fail("exists and is not a folder (a PNG sequence goes into a folder)");
            // Frames of an earlier sequence would be overwritten, removed on a
            // failure, or mixed with this one's: refuse such a folder.
            for (const auto& e : std::filesystem::directory_iterator(folder, ec)) {
                const std::string name = e.path().filename().string();
                if (name.rfind("frame_", 0) == 0 && e.path().extension() == ".png")
                    fail("already holds frames of another sequence (" + name + "); choose an empty or new folder");
            }
        } else {
            if (!std::filesystem::create_directory(folder, ec)) fail("cannot create the folder: " + ec.message());
            madeFolder = true;
        }
        // Fail now, not at the first frame, when the folder is not writable.
        std::string probe = (folder / ".probe-XXXXXX").string();
        const int fd = ::mkstemp(probe.data());
        if (fd < 0) {
            const std::string why = std::strerror(errno);
            discard();
            fail("cannot write into the folder: " + why);
        }
        ::close(fd);
        std::remove(probe.c_str());
        const AVCodec* c = avcodec_find_encoder(AV_CODEC_ID_PNG);
        if (!c) fail("no PNG encoder in this FFmpeg build");
        openEncoder(c);
        codec = "png";
    }

    void drain(bool flushing)
    {
        for (;;) {
            const int r = avcodec_receive_packet(enc, pkt);
            if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
            if (r < 0) throw IoError("encoding failed: " + av_error(r));
            if (png) {
                char name[32];
                std::snprintf(name, sizeof name, "frame_%05d.png", static_cast<int>(written.size()));
                const std::string file = (folder / name).string();
                const std::string bytes(reinterpret_cast<const char*>(pkt->data), static_cast<std::size_t>(pkt->size));
                av_packet_unref(pkt);
                write_file_atomically(file, bytes);
                written.push_back(file);
            } else {
                av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
                pkt->stream_index = st->index;
                const int wr = av_interleaved_write_frame(oc, pkt);  // takes the packet's reference
                if (wr < 0) throw IoError("cannot write '" + tmp + "': " + av_error(wr));
                if (oc->pb && oc->pb->error < 0) throw IoError("cannot write '" + tmp + "': " + av_error(oc->pb->error));
            }
            (void)flushing;
        }
    }

    void encodeOne(const std::vector<unsigned char>& rgb)
    {
        const auto t0 = std::chrono::steady_clock::now();
        int r = av_frame_make_writable(frame);
        if (r < 0) throw IoError("cannot prepare a frame: " + av_error(r));
        const int srcStride = srcW * 3;
        if (png) {
            for (int y = 0; y < h; ++y)
                std::memcpy(frame->data[0] + static_cast<std::ptrdiff_t>(y) * frame->linesize[0],
                            rgb.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(srcStride), static_cast<std::size_t>(w) * 3);
        } else {
            // Rows beyond h and columns beyond w (odd sizes) are left out.
            const std::uint8_t* src[4] = {rgb.data(), nullptr, nullptr, nullptr};
            const int stride[4] = {srcStride, 0, 0, 0};
            sws_scale(sws, src, stride, 0, h, frame->data, frame->linesize);
        }
        frame->pts = pts++;
        r = avcodec_send_frame(enc, frame);
        if (r < 0) throw IoError("encoding failed: " + av_error(r));
        drain(false);
        encoded.fetch_add(1);
        busyNs.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    }

    void run()
    {
        for (;;) {
            std::vector<unsigned char> item;
            {
                std::unique_lock<std::mutex> lk(m);
                canPop.wait(lk, [&] { return stop || closing || !queue.empty(); });
                if (stop) return;
                if (queue.empty()) return;  // closing and drained
                item = std::move(queue.front());
                queue.pop_front();
            }
            canPush.notify_all();
            try {
                encodeOne(item);
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lk(m);
                failed = true;
                error = e.what();
                queue.clear();
                canPush.notify_all();
                return;
            }
        }
    }

    void join()
    {
        if (worker.joinable()) worker.join();
    }

    // After the worker has drained the queue: flush, trailer, rename.
    void finish()
    {
        const auto t0 = std::chrono::steady_clock::now();
        int r = avcodec_send_frame(enc, nullptr);
        if (r < 0 && r != AVERROR_EOF) throw IoError("flushing the encoder failed: " + av_error(r));
        drain(true);
        if (png) return;
        r = av_write_trailer(oc);  // with faststart: moves moov before mdat (a second pass over the file)
        if (r < 0) throw IoError("cannot finish '" + tmp + "': " + av_error(r));
        if (oc->pb->error < 0) throw IoError("cannot write '" + tmp + "': " + av_error(oc->pb->error));
        r = avio_closep(&oc->pb);
        if (r < 0) throw IoError("cannot close '" + tmp + "': " + av_error(r));
        if (std::rename(tmp.c_str(), path.c_str()) != 0) {
            const std::string why = std::strerror(errno);
            throw IoError("cannot move the movie into place: " + why);
        }
        tmp.clear();
        busyNs.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    }
};

MovieWriter::MovieWriter(const std::string& path, const MovieOptions& opt) : d_(std::make_unique<Impl>())
{
    quiet_ffmpeg_logs();
    Impl& d = *d_;
    d.path = path;
    d.opt = opt;
    if (path.empty()) throw ConfigError("path", "is empty");
    if (opt.codec != "auto" && opt.codec != "h264" && opt.codec != "mpeg4" && opt.codec != "png")
        throw ConfigError("codec", "unknown codec '" + opt.codec + "' (auto, h264, mpeg4 or png)");
    d.png = opt.codec == "png";
    if (opt.width < 16 || opt.height < 16 || opt.width > 16384 || opt.height > 16384)
        throw ConfigError("size", "width and height must be in [16, 16384], got " + std::to_string(opt.width) + "x" +
                                      std::to_string(opt.height));
    if (!(opt.fps > 0.0) || !(opt.fps <= 1000.0)) throw ConfigError("fps", "must be in (0, 1000]");
    if (!d.png && (opt.quality < 0 || opt.quality > 51)) throw ConfigError("quality", "must be in [0, 51] (x264 CRF, lower is better)");
    if (opt.queue_frames < 1 || opt.queue_frames > 1024) throw ConfigError("queue_frames", "must be in [1, 1024]");
    d.srcW = opt.width;
    d.srcH = opt.height;
    d.w = d.png ? opt.width : opt.width & ~1;
    d.h = d.png ? opt.height : opt.height & ~1;

    try {
        if (d.png) {
            d.openPng();
        } else {
            d.openMp4();
            if (d.w != d.srcW || d.h != d.srcH) {
                if (!d.note.empty()) d.note += "; ";
                d.note += "yuv420p needs even dimensions: " + std::to_string(d.srcW) + "x" + std::to_string(d.srcH) +
                          " rounded down to " + std::to_string(d.w) + "x" + std::to_string(d.h) + " (last column/row dropped)";
            }
        }
        d.frame = av_frame_alloc();
        d.pkt = av_packet_alloc();
        if (!d.frame || !d.pkt) d.fail("out of memory");
        d.frame->format = d.enc->pix_fmt;
        d.frame->width = d.w;
        d.frame->height = d.h;
        if (av_frame_get_buffer(d.frame, 0) < 0) d.fail("cannot allocate a frame");
        d.worker = std::thread([this] { d_->run(); });
    } catch (...) {
        d.discard();
        throw;
    }
}

MovieWriter::~MovieWriter()
{
    if (d_ && !d_->done) cancel();
}

void MovieWriter::push_rgb(std::vector<unsigned char> rgb)
{
    Impl& d = *d_;
    if (d.done) throw IoError("movie '" + d.path + "': already closed or cancelled");
    const std::size_t want = static_cast<std::size_t>(d.srcW) * static_cast<std::size_t>(d.srcH) * 3;
    if (rgb.size() != want)
        throw ConfigError("frame", "expected " + std::to_string(d.srcW) + "x" + std::to_string(d.srcH) + " RGB (" + std::to_string(want) +
                                       " bytes), got " + std::to_string(rgb.size()) + " bytes");
    std::unique_lock<std::mutex> lk(d.m);
    d.canPush.wait(lk, [&] { return d.failed || d.stop || d.queue.size() < static_cast<std::size_t>(d.opt.queue_frames); });
    if (d.failed) {
        const std::string why = d.error;
        lk.unlock();
        d.join();
        d.discard();
        d.done = true;
        throw IoError("movie '" + d.path + "': " + why + "; nothing was written");
    }
    if (d.stop) throw IoError("movie '" + d.path + "': cancelled");
    d.queue.push_back(std::move(rgb));
    lk.unlock();
    d.canPop.notify_one();
}

void MovieWriter::close()
{
    Impl& d = *d_;
    if (d.done) return;
    {
        std::lock_guard<std::mutex> lk(d.m);
        d.closing = true;
    }
    d.canPop.notify_all();
    d.join();
    d.done = true;
    try {
        if (d.failed) throw IoError(d.error);
        if (d.encoded.load() == 0) throw IoError("no frame was given");
        d.finish();
    } catch (const std::exception& e) {
        d.discard();
        throw IoError("movie '" + d.path + "': " + e.what() + "; nothing was written");
    }
    d.release();
    d.written.clear();  // the PNG frames stay
    d.madeFolder = false;
}

void MovieWriter::cancel()
{
    Impl& d = *d_;
    if (d.done) return;
    {
        std::lock_guard<std::mutex> lk(d.m);
        d.stop = true;
        d.queue.clear();
    }
    d.canPop.notify_all();
    d.canPush.notify_all();
    d.join();
    d.discard();
    d.done = true;
}

const std::string& MovieWriter::path() const { return d_->path; }
int MovieWriter::width() const { return d_->w; }
int MovieWriter::height() const { return d_->h; }
std::string MovieWriter::codec() const { return d_->codec; }
std::string MovieWriter::encoder() const { return d_->encoderName; }
std::string MovieWriter::note() const { return d_->note; }
int MovieWriter::frames() const { return d_->encoded.load(); }
double MovieWriter::encodeSeconds() const { return static_cast<double>(d_->busyNs.load()) * 1e-9; }

}  // namespace entroscope::render

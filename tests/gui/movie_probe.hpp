#pragma once
// Reading movies back in tests: decode every frame with libavformat and
// libavcodec, list an MP4's top-level boxes, find leftover temporaries.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
}

namespace entroscope::test {

struct Decoded {
    std::string codec, pixfmt, error;
    int width = 0, height = 0, frames = 0;
    std::vector<unsigned char> firstY, lastY;  // luma planes, tightly packed
};

inline Decoded decode(const std::string& path)
{
    Decoded out;
    AVFormatContext* fc = nullptr;
    if (avformat_open_input(&fc, path.c_str(), nullptr, nullptr) < 0) {
        out.error = "cannot open";
        return out;
    }
    avformat_find_stream_info(fc, nullptr);
    const int si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (si < 0) {
        out.error = "no video stream";
        avformat_close_input(&fc);
        return out;
    }
    const AVCodecParameters* par = fc->streams[si]->codecpar;
    const AVCodec* dec = avcodec_find_decoder(par->codec_id);
    AVCodecContext* cc = avcodec_alloc_context3(dec);
    avcodec_parameters_to_context(cc, par);
    avcodec_open2(cc, dec, nullptr);
    out.codec = avcodec_get_name(par->codec_id);
    out.pixfmt = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format)) ? av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format)) : "";
    out.width = par->width;
    out.height = par->height;
    AVPacket* pkt = av_packet_alloc();
    AVFrame* f = av_frame_alloc();
    const auto take = [&] {
        while (avcodec_receive_frame(cc, f) == 0) {
            std::vector<unsigned char> y(static_cast<std::size_t>(f->width) * f->height);
            for (int r = 0; r < f->height; ++r)
                std::copy(f->data[0] + r * f->linesize[0], f->data[0] + r * f->linesize[0] + f->width, y.begin() + r * f->width);
            if (out.frames == 0) out.firstY = y;
            out.lastY = std::move(y);
            ++out.frames;
            av_frame_unref(f);
        }
    };
    while (av_read_frame(fc, pkt) >= 0) {
        if (pkt->stream_index == si) {
            if (avcodec_send_packet(cc, pkt) < 0) out.error = "decode error";
            take();
        }
        av_packet_unref(pkt);
    }
    avcodec_send_packet(cc, nullptr);
    take();
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&cc);
    avformat_close_input(&fc);
    return out;
}

// The top-level ISO BMFF boxes in file order ("ftyp", "moov", "mdat", ...).
inline std::vector<std::string> top_boxes(const std::string& path)
{
    std::vector<std::string> boxes;
    std::ifstream in(path, std::ios::binary);
    in.seekg(0, std::ios::end);
    const std::uint64_t size = static_cast<std::uint64_t>(in.tellg());
    std::uint64_t pos = 0;
    while (pos + 8 <= size) {
        in.seekg(static_cast<std::streamoff>(pos));
        unsigned char h[16];
        in.read(reinterpret_cast<char*>(h), 8);
        std::uint64_t len = (std::uint64_t(h[0]) << 24) | (std::uint64_t(h[1]) << 16) | (std::uint64_t(h[2]) << 8) | h[3];
        boxes.emplace_back(reinterpret_cast<char*>(h + 4), 4);
        if (len == 1) {
            in.read(reinterpret_cast<char*>(h + 8), 8);
            len = 0;
            for (int i = 8; i < 16; ++i) len = (len << 8) | h[i];
        } else if (len == 0) {
            len = size - pos;
        }
        if (len < 8) break;
        pos += len;
    }
    return boxes;
}

// Files in `dir` whose name starts with `prefix` (leftover temporaries).
inline int count_with_prefix(const std::filesystem::path& dir, const std::string& prefix)
{
    int n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().filename().string().rfind(prefix, 0) == 0) ++n;
    return n;
}


}  // namespace entroscope::test

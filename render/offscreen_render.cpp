#include "render/offscreen_render.hpp"
#include "render/field_scene.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPNGWriter.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkRenderingOpenGLConfigure.h>
#include <vtkUnsignedCharArray.h>
#include <vtkWindowToImageFilter.h>

#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/core/state.hpp"
#include "entroscope/session/frame.hpp"
#include "render/particle_scene.hpp"
#include "render/scene_parts.hpp"

namespace entroscope::render {

std::string offscreen_unavailable_reason()
{
#if defined(VTK_USE_X) && !defined(VTK_OPENGL_HAS_EGL) && !defined(VTK_OPENGL_HAS_OSMESA)
    const char* display = std::getenv("DISPLAY");
    if (!display || !*display) {
        return "offscreen rendering needs an X display (this VTK draws through GLX only); "
               "set DISPLAY or run under xvfb-run";
    }
#endif
    return {};
}

struct OffscreenRenderer::Impl {
    ParticleScene scene;
    std::unique_ptr<FieldScene> field;
    vtkNew<vtkRenderWindow> window;
    vtkNew<vtkUnsignedCharArray> pixels;
    int width = 0, height = 0;

    ~Impl()
    {
        window->RemoveRenderer(scene.renderer());
        if (field) window->RemoveRenderer(field->renderer());
    }
};

OffscreenRenderer::OffscreenRenderer(int width, int height)
{
    if (width <= 0 || height <= 0) {
        throw IoError("offscreen render: image size must be positive");
    }
    if (const std::string why = offscreen_unavailable_reason(); !why.empty()) {
        throw IoError(why);
    }
    d_ = std::make_unique<Impl>();
    d_->width = width;
    d_->height = height;
    d_->window->SetOffScreenRendering(1);
    d_->window->SetMultiSamples(0);
    d_->window->SetSize(width, height);
    d_->window->AddRenderer(d_->scene.renderer());
}

OffscreenRenderer::~OffscreenRenderer() = default;

int OffscreenRenderer::width() const { return d_->width; }
int OffscreenRenderer::height() const { return d_->height; }
ParticleScene& OffscreenRenderer::scene() { return d_->scene; }

FieldScene& OffscreenRenderer::fieldScene()
{
    if (!d_->field) {
        d_->field = std::make_unique<FieldScene>();
        d_->window->RemoveRenderer(d_->scene.renderer());
        d_->window->AddRenderer(d_->field->renderer());
    }
    return *d_->field;
}

std::vector<unsigned char> OffscreenRenderer::renderRgb()
{
    d_->window->Render();
    const int w = d_->width, h = d_->height;
    // Back buffer, bottom row first.
    if (d_->window->GetPixelData(0, 0, w - 1, h - 1, 0, d_->pixels) != 1 ||
        d_->pixels->GetNumberOfValues() != static_cast<vtkIdType>(w) * h * 3) {
        throw IoError("offscreen render: cannot read the image back");
    }
    std::vector<unsigned char> rgb(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3);
    const unsigned char* src = d_->pixels->GetPointer(0);
    const std::size_t row = static_cast<std::size_t>(w) * 3;
    for (int y = 0; y < h; ++y) {
        std::copy(src + static_cast<std::size_t>(h - 1 - y) * row, src + static_cast<std::size_t>(h - y) * row,
                  rgb.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(y) * row));
    }
    return rgb;
}

void OffscreenRenderer::writePng(const std::string& path)
{
    d_->window->Render();
    vtkNew<vtkWindowToImageFilter> grab;
    grab->SetInput(d_->window);
    grab->SetInputBufferTypeToRGB();
    grab->ReadFrontBufferOff();
    grab->Update();

    // Encoded in memory, then written through a temporary file of a name no
    // other writer holds (two renders to one path cannot clobber each other).
    vtkNew<vtkPNGWriter> writer;
    writer->WriteToMemoryOn();
    writer->SetInputConnection(grab->GetOutputPort());
    writer->Write();
    vtkUnsignedCharArray* bytes = writer->GetResult();
    if (writer->GetErrorCode() != 0 || !bytes || bytes->GetNumberOfValues() == 0) throw IoError("cannot encode PNG '" + path + "'");
    write_file_atomically(path, std::string(reinterpret_cast<const char*>(bytes->GetPointer(0)),
                                            static_cast<std::size_t>(bytes->GetNumberOfValues())));
}

namespace {

std::uint32_t crc32(const unsigned char* p, std::size_t n, std::uint32_t crc = 0xFFFFFFFFu)
{
    for (std::size_t i = 0; i < n; ++i) {
        crc ^= p[i];
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

void put32(std::string& s, std::uint32_t v)
{
    for (int k = 3; k >= 0; --k) s.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
}

std::uint32_t get32(const std::string& s, std::size_t at)
{
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(k)]);
    return v;
}

}  // namespace

std::string png_with_dpi(const std::string& png, double dpi)
{
    static const char kSig[8] = {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n'};
    if (png.size() < 33 || png.compare(0, 8, std::string(kSig, 8)) != 0 || png.compare(12, 4, "IHDR") != 0)
        throw IoError("not a PNG");
    if (!(dpi > 0.0) || !std::isfinite(dpi)) throw IoError("dpi must be positive");
    const auto ppm = static_cast<std::uint32_t>(std::lround(dpi / 0.0254));
    std::string chunk;
    put32(chunk, 9);
    chunk += "pHYs";
    put32(chunk, ppm);
    put32(chunk, ppm);
    chunk.push_back('\x01');  // unit: metre
    const std::uint32_t crc = crc32(reinterpret_cast<const unsigned char*>(chunk.data()) + 4, chunk.size() - 4) ^ 0xFFFFFFFFu;
    put32(chunk, crc);
    // Copy chunk by chunk, dropping an old pHYs, the new one after IHDR.
    std::string out = png.substr(0, 8);
    std::size_t at = 8;
    while (at + 12 <= png.size()) {
        const std::uint32_t len = get32(png, at);
        if (at + 12 + len > png.size()) throw IoError("truncated PNG");
        const std::string type = png.substr(at + 4, 4);
        if (type != "pHYs") out.append(png, at, 12 + len);
        if (type == "IHDR") out += chunk;
        at += 12 + len;
    }
    return out;
}

void OffscreenRenderer::writePng(const std::string& path, const PngOptions& png)
{
    if (!png.transparent && !(png.dpi > 0.0)) {
        writePng(path);
        return;
    }
    const std::vector<unsigned char> rgb = renderRgb();  // top row first
    const int w = d_->width, h = d_->height;
    const int channels = png.transparent ? 4 : 3;
    vtkNew<vtkImageData> image;
    image->SetDimensions(w, h, 1);
    image->AllocateScalars(VTK_UNSIGNED_CHAR, channels);
    auto* dst = static_cast<unsigned char*>(image->GetScalarPointer());
    int bg[3];
    for (int c = 0; c < 3; ++c) bg[c] = static_cast<int>(std::lround(detail::kBackground[c] * 255.0));
    for (int y = 0; y < h; ++y) {
        const unsigned char* src = rgb.data() + static_cast<std::size_t>(h - 1 - y) * static_cast<std::size_t>(w) * 3;
        unsigned char* row = dst + static_cast<std::size_t>(y) * static_cast<std::size_t>(w) * static_cast<std::size_t>(channels);
        for (int x = 0; x < w; ++x) {
            const unsigned char* p = src + 3 * x;
            unsigned char* q = row + channels * x;
            q[0] = p[0];
            q[1] = p[1];
            q[2] = p[2];
            if (channels == 4) {
                const bool background = std::abs(p[0] - bg[0]) <= 1 && std::abs(p[1] - bg[1]) <= 1 && std::abs(p[2] - bg[2]) <= 1;
                q[3] = background ? 0 : 255;
            }
        }
    }
    vtkNew<vtkPNGWriter> writer;
    writer->WriteToMemoryOn();
    writer->SetInputData(image);
    writer->Write();
    vtkUnsignedCharArray* bytes = writer->GetResult();
    if (writer->GetErrorCode() != 0 || !bytes || bytes->GetNumberOfValues() == 0) throw IoError("cannot encode PNG '" + path + "'");
    std::string file(reinterpret_cast<const char*>(bytes->GetPointer(0)), static_cast<std::size_t>(bytes->GetNumberOfValues()));
    if (png.dpi > 0.0) file = png_with_dpi(file, png.dpi);
    write_file_atomically(path, file);
}

void render_png(const State& state, const std::string& path, const OffscreenOptions& opt)
{
    if (opt.width <= 0 || opt.height <= 0) {
        throw IoError("render_png: image size must be positive");
    }
    OffscreenRenderer r(opt.width, opt.height);
    r.scene().update(state, opt.radius);
    r.scene().setCaption(opt.caption);
    r.writePng(path);
}

ColourRange render_frame_png(const Frame& frame, Quantity q, const std::string& path, int width, int height,
                             const RangeRule& rule, bool withCaption)
{
    OffscreenRenderer r(width, height);
    const ColourRange range = r.scene().show(frame, q, rule, withCaption);
    r.writePng(path);
    return range;
}

}  // namespace entroscope::render

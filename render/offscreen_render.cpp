#include "render/offscreen_render.hpp"
#include "render/field_scene.hpp"

#include <cstdio>
#include <cstdlib>

#include <vtkNew.h>
#include <vtkPNGWriter.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkRenderingOpenGLConfigure.h>
#include <vtkUnsignedCharArray.h>
#include <vtkWindowToImageFilter.h>

#include "entroscope/core/errors.hpp"
#include "entroscope/core/state.hpp"
#include "entroscope/session/frame.hpp"
#include "render/particle_scene.hpp"

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

    const std::string tmp = path + ".tmp.png";
    vtkNew<vtkPNGWriter> writer;
    writer->SetFileName(tmp.c_str());
    writer->SetInputConnection(grab->GetOutputPort());
    writer->Write();
    if (writer->GetErrorCode() != 0) {
        std::remove(tmp.c_str());
        throw IoError("cannot write PNG '" + path + "'");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw IoError("cannot move PNG into place at '" + path + "'");
    }
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

#include "render/offscreen_render.hpp"

#include <cstdio>

#include <vtkNew.h>
#include <vtkPNGWriter.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkWindowToImageFilter.h>

#include "entroscope/core/errors.hpp"
#include "entroscope/core/state.hpp"
#include "render/particle_scene.hpp"

namespace entroscope::render {

void render_png(const State& state, const std::string& path, const OffscreenOptions& opt)
{
    if (opt.width <= 0 || opt.height <= 0) {
        throw IoError("render_png: image size must be positive");
    }
    ParticleScene scene;
    scene.update(state, opt.radius);
    scene.setCaption(opt.caption);

    vtkNew<vtkRenderWindow> window;
    window->SetOffScreenRendering(1);
    window->SetMultiSamples(0);
    window->SetSize(opt.width, opt.height);
    window->AddRenderer(scene.renderer());
    window->Render();

    vtkNew<vtkWindowToImageFilter> grab;
    grab->SetInput(window);
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
    window->RemoveRenderer(scene.renderer());
}

}  // namespace entroscope::render

#include "render/field_scene.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include <vtkActor.h>
#include <vtkCallbackCommand.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkCommand.h>
#include <vtkDataSetMapper.h>
#include <vtkFloatArray.h>
#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>

#include "entroscope/session/frame.hpp"
#include "render/colour_rules.hpp"
#include "render/interactor_style_2d.hpp"
#include "render/scene_parts.hpp"

namespace entroscope::render {

namespace {

using detail::kBackground;
// Masked cells: a flat grey lighter than viridis' darkest and unlike any
// of its hues, so "too few particles" never reads as "zero".
const double kMasked[3] = {0.42, 0.42, 0.44};

std::string fmt(const char* f, double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

}  // namespace

const char* to_key(FieldQuantity q)
{
    switch (q) {
    case FieldQuantity::LocalEpr: return "sigma";
    case FieldQuantity::Density: return "density";
    case FieldQuantity::CurrentMagnitude: return "current";
    }
    return "sigma";
}

FieldPicture field_picture(const Frame& frame, FieldQuantity q)
{
    FieldPicture p;
    const bool abp = frame.config.model == ModelKind::Abp;
    switch (q) {
    case FieldQuantity::LocalEpr: p.title = "σ(r)"; break;
    case FieldQuantity::Density: p.title = "ρ(r)"; break;
    case FieldQuantity::CurrentMagnitude: p.title = "|J(r)|"; break;
    }
    if (!frame.learned) {
        p.caption = "Waiting for the first evaluation: the fields come with the learned values.";
        return p;
    }
    const Evaluation& ev = *frame.learned;
    const Field& f = q == FieldQuantity::LocalEpr ? ev.sigma : q == FieldQuantity::Density ? ev.density : ev.current;
    if (f.bins <= 0 || f.value.empty()) {
        p.caption = q == FieldQuantity::CurrentMagnitude && ev.v_x.empty()
                        ? "No current field: without positional noise v_x is the drift and is not coarse-grained here."
                        : "This evaluation has no such field (fields off).";
        return p;
    }
    p.bins = f.bins;
    p.box = f.box;
    const std::size_t cells = static_cast<std::size_t>(f.bins) * static_cast<std::size_t>(f.bins);
    p.values.assign(cells, std::numeric_limits<float>::quiet_NaN());
    std::vector<float> finite;
    finite.reserve(cells);
    for (int cy = 0; cy < f.bins; ++cy) {
        for (int cx = 0; cx < f.bins; ++cx) {
            const std::size_t k = static_cast<std::size_t>(cy) * static_cast<std::size_t>(f.bins) + static_cast<std::size_t>(cx);
            if (!f.mask.empty() && f.masked(cx, cy)) {
                ++p.masked;
                continue;
            }
            double v = f.at(cx, cy, 0);
            if (f.components == 2) v = std::hypot(v, f.at(cx, cy, 1));
            if (!std::isfinite(v)) {
                ++p.masked;
                continue;
            }
            p.values[k] = static_cast<float>(v);
            finite.push_back(static_cast<float>(v));
        }
    }
    // Sequential map from 0: every field here is >= 0 (a kernel average of
    // sigma_sq, a density, a magnitude).
    const double hi = finite.empty() ? 1.0 : quantile(finite, 0.99);
    p.lo = 0.0;
    p.hi = std::isfinite(hi) && hi > 0.0 ? hi : 1.0;
    p.caption = std::string(q == FieldQuantity::LocalEpr ? (abp ? "σ(r): kernel average of D_r s_θ²" : "σ(r): kernel average of γ|g + s_g|²")
                            : q == FieldQuantity::Density ? "ρ(r): kernel density"
                                                          : "|J(r)|: Σ_i v_x,i K(r − x_i)") +
                "\n" + std::string(abp ? "ABP" : "AOUP") + "  N = " + std::to_string(frame.config.n) + "  φ = " +
                fmt("%.3f", frame.config.phi) + "  Pe = " + fmt("%.1f", frame.config.peclet()) + "\n" +
                std::to_string(f.bins) + "×" + std::to_string(f.bins) + " cells, t = " + fmt("%.6g", ev.state->time) +
                ", network step " + std::to_string(ev.network_step) +
                (p.masked > 0 ? "\ngrey: too few particles to average" : std::string());
    return p;
}

struct FieldScene::Impl {
    vtkNew<vtkRenderer> renderer;
    vtkNew<vtkImageData> image;
    vtkNew<vtkFloatArray> scalars;
    vtkNew<vtkDataSetMapper> mapper;
    vtkNew<vtkActor> actor;
    vtkSmartPointer<vtkLookupTable> lut;
    vtkNew<vtkScalarBarActor> legend;
    vtkNew<vtkTextActor> caption;
    detail::BoxOutline outline;
    vtkNew<vtkEntroscopeInteractorStyle2D> style;
    vtkNew<vtkCallbackCommand> startObserver;
    double box = 0.0;
    bool fitRequested = true;

    Impl()
    {
        lut = detail::make_viridis_lut();
        lut->SetNanColor(kMasked[0], kMasked[1], kMasked[2], 1.0);
        scalars->SetName("field");
        mapper->SetInputData(image);
        mapper->SetLookupTable(lut);
        mapper->SetScalarModeToUseCellData();
        mapper->SetColorModeToMapScalars();
        mapper->ScalarVisibilityOn();
        actor->SetMapper(mapper);
        actor->GetProperty()->LightingOff();
        actor->VisibilityOff();

        outline.actor->VisibilityOff();

        legend->SetLookupTable(lut);
        legend->SetOrientationToVertical();
        legend->SetMaximumWidthInPixels(120);
        legend->SetBarRatio(0.22);
        legend->SetUnconstrainedFontSize(true);
        legend->SetVerticalTitleSeparation(8);
        legend->SetNumberOfLabels(5);
        detail::style_text(legend->GetTitleTextProperty(), 14);
        detail::style_text(legend->GetLabelTextProperty(), 13);
        legend->VisibilityOff();

        detail::style_caption(caption, 14);

        renderer->SetBackground(kBackground[0], kBackground[1], kBackground[2]);
        renderer->AddActor(actor);
        renderer->AddActor(outline.actor);
        renderer->AddActor2D(legend);
        renderer->AddActor2D(caption);
        renderer->GetActiveCamera()->ParallelProjectionOn();

        style->SetResetCallback([this] { fitRequested = true; });
        style->SetDefaultRenderer(renderer);
        startObserver->SetClientData(this);
        startObserver->SetCallback([](vtkObject*, unsigned long, void* client, void*) { static_cast<Impl*>(client)->fitIfNeeded(); });
        renderer->AddObserver(vtkCommand::StartEvent, startObserver);
    }

    void fitIfNeeded()
    {
        if (!fitRequested || box <= 0.0) {
            return;
        }
        const int* size = renderer->GetSize();
        const double w = std::max(16, size[0]), h = std::max(16, size[1]);
        fitRequested = false;
        // The box left of a legend strip, below the caption lines.
        const double strip = std::max(0.18 * w, 110.0), pad = 14.0, captionH = 90.0;
        const double availW = std::max(16.0, w - strip - 2.0 * pad), availH = std::max(16.0, h - captionH - 2.0 * pad);
        const double worldPerPixel = box / std::min(availW, availH);
        const double centreX = pad + 0.5 * availW, centreY = pad + 0.5 * availH;
        const double cx = 0.5 * box + (0.5 * w - centreX) * worldPerPixel;
        const double cy = 0.5 * box + (0.5 * h - centreY) * worldPerPixel;
        vtkCamera* cam = renderer->GetActiveCamera();
        cam->SetFocalPoint(cx, cy, 0.0);
        cam->SetPosition(cx, cy, 10.0 * box);
        cam->SetViewUp(0.0, 1.0, 0.0);
        cam->SetParallelScale(0.5 * h * worldPerPixel);
        renderer->ResetCameraClippingRange(-box, 2.0 * box, -box, 2.0 * box, -1.0, 1.0);
        const double legendW = std::min(110.0, 0.12 * w);
        legend->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
        legend->SetPosition((w - legendW - std::max(6.0, 0.04 * w)) / w, 0.15);
        legend->SetWidth(legendW / w);
        legend->SetHeight(0.65);
    }
};

FieldScene::FieldScene() : d_(std::make_unique<Impl>()) {}
FieldScene::~FieldScene() = default;

vtkRenderer* FieldScene::renderer() const { return d_->renderer; }
vtkInteractorObserver* FieldScene::interactorStyle() const { return d_->style; }
void FieldScene::requestFit() { d_->fitRequested = true; }

void FieldScene::show(const Frame& frame, FieldQuantity q)
{
    const FieldPicture p = field_picture(frame, q);
    d_->caption->SetInput(p.caption.c_str());
    if (p.bins <= 0) {
        d_->actor->VisibilityOff();
        d_->legend->VisibilityOff();
        d_->outline.actor->VisibilityOff();
        return;
    }
    if (p.box != d_->box) {
        d_->box = p.box;
        d_->fitRequested = true;
    }
    const double cell = p.box / p.bins;
    d_->image->SetDimensions(p.bins + 1, p.bins + 1, 1);
    d_->image->SetSpacing(cell, cell, 1.0);
    d_->image->SetOrigin(0.0, 0.0, 0.0);
    d_->scalars->SetNumberOfTuples(static_cast<vtkIdType>(p.values.size()));
    for (std::size_t k = 0; k < p.values.size(); ++k) d_->scalars->SetValue(static_cast<vtkIdType>(k), p.values[k]);
    d_->image->GetCellData()->SetScalars(d_->scalars);
    d_->scalars->Modified();
    d_->image->Modified();
    d_->lut->SetTableRange(p.lo, p.hi);
    d_->mapper->SetScalarRange(p.lo, p.hi);
    d_->legend->SetTitle(p.title.c_str());
    d_->outline.setBox(p.box);
    d_->actor->VisibilityOn();
    d_->legend->VisibilityOn();
    d_->outline.actor->VisibilityOn();
}

}  // namespace entroscope::render

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
#include <vtkIdList.h>
#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPointData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkStreamTracer.h>
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

CurrentPicture current_arrows(const Frame& frame, int arrowsPerSide)
{
    CurrentPicture c;
    if (!frame.learned) {
        c.note = "no evaluation yet";
        return c;
    }
    const Field& f = frame.learned->current;
    if (f.bins <= 0 || f.components != 2 || f.value.empty()) {
        c.note = frame.learned->v_x.empty() ? "no current field: v_x is not coarse-grained without positional noise"
                                            : "no current field (fields off)";
        return c;
    }
    const int bins = f.bins;
    const int block = std::max(1, bins / std::max(1, arrowsPerSide));
    const int blocks = (bins + block - 1) / block;
    const double cell = f.cell();
    std::vector<double> centre, mean;
    std::vector<float> magnitude;
    for (int by = 0; by < blocks; ++by) {
        for (int bx = 0; bx < blocks; ++bx) {
            double jx = 0.0, jy = 0.0, px = 0.0, py = 0.0;
            int count = 0;
            for (int cy = by * block; cy < std::min(bins, (by + 1) * block); ++cy) {
                for (int cx = bx * block; cx < std::min(bins, (bx + 1) * block); ++cx) {
                    if (!f.mask.empty() && f.masked(cx, cy)) continue;
                    const double ax = f.at(cx, cy, 0), ay = f.at(cx, cy, 1);
                    if (!std::isfinite(ax) || !std::isfinite(ay)) continue;
                    jx += ax;
                    jy += ay;
                    px += (cx + 0.5) * cell;
                    py += (cy + 0.5) * cell;
                    ++count;
                }
            }
            // Blocks mostly masked say little about the flow: at least half present.
            if (2 * count < block * block) continue;
            jx /= count;
            jy /= count;
            centre.push_back(px / count);
            centre.push_back(py / count);
            mean.push_back(jx);
            mean.push_back(jy);
            magnitude.push_back(static_cast<float>(std::hypot(jx, jy)));
        }
    }
    c.block = block;
    if (magnitude.empty()) {
        c.note = "every block is masked";
        return c;
    }
    const double ref = quantile(magnitude, 0.95);
    if (!(ref > 0.0) || !std::isfinite(ref)) {
        c.note = "J(r) is 0 everywhere";
        return c;
    }
    c.reference = ref;
    // A block-long arrow at the reference; longer ones are capped so that
    // arrows do not cross whole neighbourhoods.
    const double unit = 0.9 * block * cell;
    for (std::size_t k = 0; k < magnitude.size(); ++k) {
        const double m = magnitude[k];
        if (!(m > 0.0)) continue;
        const double len = unit * std::min(1.3, m / ref);
        c.from.push_back(centre[2 * k]);
        c.from.push_back(centre[2 * k + 1]);
        c.along.push_back(mean[2 * k] / m * len);
        c.along.push_back(mean[2 * k + 1] / m * len);
    }
    return c;
}

namespace detail {

CurrentLayer::CurrentLayer()
{
        arrowMapper->SetInputData(arrows);
        arrowActor->SetMapper(arrowMapper);
        arrowActor->GetProperty()->SetColor(1.0, 1.0, 1.0);
        arrowActor->GetProperty()->SetLineWidth(1.6);
        arrowActor->GetProperty()->LightingOff();
        arrowActor->VisibilityOff();
        lineMapper->SetInputConnection(tracer->GetOutputPort());
        lineMapper->ScalarVisibilityOff();
        lineActor->SetMapper(lineMapper);
        lineActor->GetProperty()->SetColor(1.0, 1.0, 1.0);
        lineActor->GetProperty()->SetOpacity(0.8);
        lineActor->GetProperty()->SetLineWidth(1.2);
        lineActor->GetProperty()->LightingOff();
        lineActor->VisibilityOff();

}

void CurrentLayer::addTo(vtkRenderer* renderer)
{
    renderer->AddActor(arrowActor);
    renderer->AddActor(lineActor);
}

void CurrentLayer::hide()
{
    arrowActor->VisibilityOff();
    lineActor->VisibilityOff();
    arrowCount = linePoints = 0;
}

void CurrentLayer::drawArrows(const std::vector<double>& from, const std::vector<double>& along, double z)
{
    vtkNew<vtkPoints> pts;
    vtkNew<vtkCellArray> lines;
    const double cosA = std::cos(0.45), sinA = std::sin(0.45);
    const std::size_t n = from.size() / 2;
    for (std::size_t k = 0; k < n; ++k) {
        const double x0 = from[2 * k], y0 = from[2 * k + 1];
        const double ax = along[2 * k], ay = along[2 * k + 1];
        const double tx = x0 + ax, ty = y0 + ay;
        // Head: two strokes back from the tip, a third of the arrow long.
        const double hx = -0.33 * ax, hy = -0.33 * ay;
        const vtkIdType a = pts->InsertNextPoint(x0, y0, z);
        const vtkIdType b = pts->InsertNextPoint(tx, ty, z);
        const vtkIdType l = pts->InsertNextPoint(tx + cosA * hx - sinA * hy, ty + sinA * hx + cosA * hy, z);
        const vtkIdType r = pts->InsertNextPoint(tx + cosA * hx + sinA * hy, ty - sinA * hx + cosA * hy, z);
        const vtkIdType shaft[2] = {a, b}, left[2] = {b, l}, right[2] = {b, r};
        lines->InsertNextCell(2, shaft);
        lines->InsertNextCell(2, left);
        lines->InsertNextCell(2, right);
    }
    arrows->SetPoints(pts);
    arrows->SetLines(lines);
    arrows->Modified();
    arrowCount = static_cast<int>(n);
    arrowActor->SetVisibility(n > 0);
}

std::string CurrentLayer::draw(CurrentOverlay mode, const Frame& frame, double box)
{
    hide();
    if (mode == CurrentOverlay::Off) return {};
    const CurrentPicture c = current_arrows(frame);
    if (!(c.reference > 0.0)) return "no current overlay: " + c.note;
    if (mode == CurrentOverlay::Arrows) {
        drawArrows(c.from, c.along, 2e-3 * box);
        return "arrows: J(r), means of " + std::to_string(c.block) + "×" + std::to_string(c.block) + " cells\none block long: |J| = " +
               fmt("%.3g", c.reference);
    }
    drawStreamlines(frame.learned->current, c.reference, box);
    return "lines: streamlines of J(r)";
}

void CurrentLayer::drawStreamlines(const Field& f, double reference, double box)
{
    const int bins = f.bins;
    const double cell = f.cell();
    flow->SetDimensions(bins, bins, 1);
    flow->SetSpacing(cell, cell, 1.0);
    flow->SetOrigin(0.5 * cell, 0.5 * cell, 0.0);
    vtkNew<vtkFloatArray> v;
    v->SetName("J");
    v->SetNumberOfComponents(3);
    v->SetNumberOfTuples(static_cast<vtkIdType>(bins) * bins);
    for (int cy = 0; cy < bins; ++cy) {
        for (int cx = 0; cx < bins; ++cx) {
            double jx = f.at(cx, cy, 0), jy = f.at(cx, cy, 1);
            // Masked cells stop a line: no flow is known there.
            if ((!f.mask.empty() && f.masked(cx, cy)) || !std::isfinite(jx) || !std::isfinite(jy)) jx = jy = 0.0;
            v->SetTuple3(static_cast<vtkIdType>(cy) * bins + cx, jx, jy, 0.0);
        }
    }
    flow->GetPointData()->SetVectors(v);
    flow->Modified();
    vtkNew<vtkPoints> sp;
    const int seedsPerSide = 14;
    for (int j = 0; j < seedsPerSide; ++j) {
        for (int i = 0; i < seedsPerSide; ++i) {
            sp->InsertNextPoint((i + 0.5) * box / seedsPerSide, (j + 0.5) * box / seedsPerSide, 0.0);
        }
    }
    seeds->SetPoints(sp);
    seeds->Modified();
    tracer->SetInputData(flow);
    tracer->SetSourceData(seeds);
    tracer->SetIntegratorTypeToRungeKutta4();
    tracer->SetIntegrationDirectionToBoth();
    tracer->SetIntegrationStepUnit(vtkStreamTracer::CELL_LENGTH_UNIT);
    tracer->SetInitialIntegrationStep(0.3);
    tracer->SetMaximumPropagation(0.25 * box);
    tracer->SetMaximumNumberOfSteps(4000);
    tracer->SetTerminalSpeed(1e-3 * reference);
    tracer->Update();
    vtkPolyData* out = tracer->GetOutput();
    linePoints = out ? static_cast<int>(out->GetNumberOfPoints()) : 0;
    lineActor->SetVisibility(linePoints > 0);
    lineActor->SetPosition(0.0, 0.0, 2e-3 * box);
}


}  // namespace detail

CurrentLines current_streamlines(const Frame& frame)
{
    CurrentLines out;
    const CurrentPicture c = current_arrows(frame);
    if (!(c.reference > 0.0) || !frame.state) {
        out.note = c.note;
        return out;
    }
    detail::CurrentLayer layer;
    layer.draw(CurrentOverlay::Streamlines, frame, frame.state->box);
    vtkPolyData* poly = layer.tracer->GetOutput();
    if (!poly || !poly->GetLines()) return out;
    vtkCellArray* cells = poly->GetLines();
    vtkNew<vtkIdList> ids;
    cells->InitTraversal();
    while (cells->GetNextCell(ids)) {
        std::vector<double> line;
        line.reserve(2 * static_cast<std::size_t>(ids->GetNumberOfIds()));
        for (vtkIdType k = 0; k < ids->GetNumberOfIds(); ++k) {
            double p[3];
            poly->GetPoint(ids->GetId(k), p);
            line.push_back(p[0]);
            line.push_back(p[1]);
        }
        if (line.size() >= 4) out.lines.push_back(std::move(line));
    }
    return out;
}

struct FieldScene::Impl {
    vtkNew<vtkRenderer> renderer;
    vtkNew<vtkImageData> image;
    vtkNew<vtkFloatArray> scalars;
    vtkNew<vtkDataSetMapper> mapper;
    vtkNew<vtkActor> actor;
    vtkSmartPointer<vtkLookupTable> lut;
    vtkNew<vtkScalarBarActor> legend;
    bool legendShown = true;
    bool captionShown = true;
    vtkNew<vtkTextActor> caption;
    detail::BoxOutline outline;
    vtkNew<vtkEntroscopeInteractorStyle2D> style;
    vtkNew<vtkCallbackCommand> startObserver;
    double box = 0.0;
    bool fitRequested = true;

    // The current overlay.
    CurrentOverlay overlay = CurrentOverlay::Off;
    detail::CurrentLayer current;

    // A camera shared with another renderer, and the watch on it.
    vtkSmartPointer<vtkCamera> ownCamera;
    vtkSmartPointer<vtkCamera> linked;
    unsigned long linkObserver = 0;
    std::function<void()> moved;
    double lastView[7] = {0, 0, 0, 0, 0, 0, 0};

    void cameraModified()
    {
        // Only a change of what is seen (not e.g. a clipping range reset
        // during a render) is news; otherwise two views would keep each other
        // rendering.
        double now[7];
        linked->GetPosition(now);
        linked->GetFocalPoint(now + 3);
        now[6] = linked->GetParallelScale();
        bool same = true;
        for (int k = 0; k < 7; ++k) same = same && now[k] == lastView[k];
        if (same) return;
        std::copy(now, now + 7, lastView);
        if (moved) moved();
    }

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
        current.addTo(renderer);
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
        if (!fitRequested || box <= 0.0 || linked) {
            return;
        }
        const int* size = renderer->GetSize();
        const double w = std::max(16, size[0]), h = std::max(16, size[1]);
        fitRequested = false;
        // The box left of a legend strip, below the caption lines.
        const double strip = std::max(0.18 * w, 110.0), pad = 14.0, captionH = 125.0;
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
FieldScene::~FieldScene()
{
    // The shared camera may outlive this scene: take the watch off it.
    if (d_->linked) d_->linked->RemoveObserver(d_->linkObserver);
}

vtkRenderer* FieldScene::renderer() const { return d_->renderer; }
vtkInteractorObserver* FieldScene::interactorStyle() const { return d_->style; }
void FieldScene::setLegendShown(bool on) { d_->legendShown = on; }
void FieldScene::setCaptionShown(bool on) { d_->captionShown = on; }

void FieldScene::requestFit() { d_->fitRequested = true; }
void FieldScene::setCurrentOverlay(CurrentOverlay o) { d_->overlay = o; }

void FieldScene::linkCamera(vtkRenderer* leader, std::function<void()> moved)
{
    Impl& d = *d_;
    if (d.linked) {
        d.linked->RemoveObserver(d.linkObserver);
        d.linked = nullptr;
    }
    d.moved = std::move(moved);
    if (!leader) {
        if (d.ownCamera) d.renderer->SetActiveCamera(d.ownCamera);
        d.fitRequested = true;
        return;
    }
    if (!d.ownCamera) d.ownCamera = d.renderer->GetActiveCamera();
    d.linked = leader->GetActiveCamera();
    d.renderer->SetActiveCamera(d.linked);
    std::fill(d.lastView, d.lastView + 7, 0.0);
    vtkNew<vtkCallbackCommand> watch;
    watch->SetClientData(&d);
    watch->SetCallback([](vtkObject*, unsigned long, void* client, void*) { static_cast<Impl*>(client)->cameraModified(); });
    d.linkObserver = d.linked->AddObserver(vtkCommand::ModifiedEvent, watch);
}

bool FieldScene::cameraLinked() const { return d_->linked != nullptr; }
CurrentOverlay FieldScene::currentOverlay() const { return d_->overlay; }
int FieldScene::overlayArrows() const { return d_->current.arrowCount; }
int FieldScene::overlayStreamlinePoints() const { return d_->current.linePoints; }

void FieldScene::show(const Frame& frame, FieldQuantity q) { show(frame, q, RangeRule{}); }

ColourRange FieldScene::show(const Frame& frame, FieldQuantity q, const RangeRule& rule)
{
    FieldPicture p = field_picture(frame, q);
    ColourRange range;
    if (rule.mode == RangeMode::Fixed) {
        range = colour_range(std::vector<float>{}, rule, false);
        p.lo = range.lo;
        p.hi = range.hi;
    } else {
        range.lo = p.lo;
        range.hi = p.hi;
    }
    d_->caption->SetInput(p.caption.c_str());
    d_->caption->SetVisibility(d_->captionShown);
    d_->current.hide();
    if (p.bins <= 0) {
        d_->actor->VisibilityOff();
        d_->legend->VisibilityOff();
        d_->outline.actor->VisibilityOff();
        range.note = p.caption;
        return range;
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
    d_->legend->SetVisibility(d_->legendShown);
    d_->outline.actor->VisibilityOn();

    const std::string line = d_->current.draw(d_->overlay, frame, p.box);
    if (!line.empty()) d_->caption->SetInput((p.caption + "\n" + line).c_str());
    d_->caption->SetVisibility(d_->captionShown);
    return range;
}

}  // namespace entroscope::render

#include "render/particle_scene.hpp"
#include "render/scene_parts.hpp"
#include "render/field_scene.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <vector>

#include <vtkActor.h>
#include <vtkActor2D.h>
#include <vtkPolyDataMapper2D.h>
#include <vtkProperty2D.h>
#include <vtkCallbackCommand.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkColorTransferFunction.h>
#include <vtkFloatArray.h>
#include <vtkGlyph3DMapper.h>
#include <vtkGlyphSource2D.h>
#include <vtkLookupTable.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkPointGaussianMapper.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkScalarsToColors.h>
#include <vtkSmartPointer.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>

#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"
#include "entroscope/session/frame.hpp"
#include "render/interactor_style_2d.hpp"

namespace entroscope::render {

namespace {

constexpr double kPi = 3.14159265358979323846;


// Fraction of the viewport width kept free for the colour legend, or more
// in small viewports where its text would not fit (see fitIfNeeded).
constexpr double kLegendFraction = 0.15;
// Pixels kept free above the box for the two-line caption, and around it.
constexpr double kCaptionPixels = 52.0;
constexpr double kPadPixels = 14.0;
// Pixels kept free below the box for the scale bar (bottom-left: clear of
// the caption above and of the legend, which spans 20-80 % of the height).
constexpr double kScaleBarPixels = 22.0;
constexpr double kBarBottom = 10.0;  // the bar's lower edge above the viewport's
constexpr double kBarThickness = 3.0;
constexpr double kTickPixels = 9.0;

// The round length of the scale bar, in particle diameters: 1, 2 or 5 times
// a power of ten, the one nearest (logarithmically) to `target` (> 0).
double round_length(double target)
{
    const double decade = std::pow(10.0, std::floor(std::log10(target)));
    double best = decade, bestDist = std::numeric_limits<double>::infinity();
    for (double m : {1.0, 2.0, 5.0, 10.0}) {
        const double d = std::abs(std::log(m * decade / target));
        if (d < bestDist) {
            bestDist = d;
            best = m * decade;
        }
    }
    return best;
}

// VTK's embedded fonts have no Greek letters. Use a system TrueType font
// with full Unicode coverage when one exists (ENTROSCOPE_FONT overrides),
// and plain ASCII labels otherwise.
std::string find_unicode_font()
{
    if (const char* env = std::getenv("ENTROSCOPE_FONT")) {
        if (std::ifstream(env).good()) {
            return env;
        }
    }
    static const char* const candidates[] = {
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
        "/Library/Fonts/Arial Unicode.ttf",
        "C:/Windows/Fonts/arial.ttf",
    };
    for (const char* path : candidates) {
        if (std::ifstream(path).good()) {
            return path;
        }
    }
    return {};
}

const std::string& unicode_font()
{
    static const std::string font = find_unicode_font();
    return font;
}

void style_text(vtkTextProperty* tp, int size)
{
    tp->SetColor(0.92, 0.93, 0.95);
    if (!unicode_font().empty()) {
        tp->SetFontFamily(VTK_FONT_FILE);
        tp->SetFontFile(unicode_font().c_str());
    } else {
        tp->SetFontFamilyToArial();
    }
    tp->SetFontSize(size);
    tp->BoldOff();
    tp->ItalicOff();
    tp->ShadowOff();
}

// A cyclic colour map for angles: six hues of similar lightness and chroma
// (red, orange, yellow, green, cyan, violet) joined in CIELAB so that equal
// angle steps look like roughly equal colour steps and -pi meets +pi
// seamlessly. Plain HSV has strong lightness bands at yellow and cyan that
// read as false structure.
vtkSmartPointer<vtkLookupTable> make_cyclic_lut(bool annotate = true)
{
    vtkNew<vtkColorTransferFunction> ctf;
    ctf->SetColorSpaceToLab();
    struct Stop { double a, r, g, b; };
    const Stop stops[] = {
        {-kPi,           0.89, 0.29, 0.36},
        {-2.0 * kPi / 3, 0.93, 0.57, 0.20},
        {-kPi / 3,       0.82, 0.79, 0.24},
        {0.0,            0.33, 0.76, 0.39},
        {kPi / 3,        0.22, 0.67, 0.86},
        {2.0 * kPi / 3,  0.53, 0.45, 0.93},
        {kPi,            0.89, 0.29, 0.36},
    };
    for (const auto& s : stops) {
        ctf->AddRGBPoint(s.a, s.r, s.g, s.b);
    }
    auto lut = vtkSmartPointer<vtkLookupTable>::New();
    const int n = 256;
    lut->SetNumberOfTableValues(n);
    lut->SetTableRange(-kPi, kPi);
    for (int i = 0; i < n; ++i) {
        const double a = -kPi + 2.0 * kPi * (i + 0.5) / n;
        double rgb[3];
        ctf->GetColor(a, rgb);
        lut->SetTableValue(i, rgb[0], rgb[1], rgb[2], 1.0);
    }
    lut->SetNanColor(0.55, 0.55, 0.55, 1.0);
    if (!annotate) {
        lut->Build();
        return lut;
    }
    const bool greek = !unicode_font().empty();
    const std::string pi = greek ? "\xCF\x80" : "pi";      // π
    const std::string minus = greek ? "\xE2\x88\x92" : "-";  // U+2212 minus sign
    lut->SetAnnotation(-kPi, minus + pi);
    lut->SetAnnotation(-kPi / 2, minus + pi + "/2");
    lut->SetAnnotation(0.0, "0");
    lut->SetAnnotation(kPi / 2, pi + "/2");
    lut->SetAnnotation(kPi, pi);
    lut->Build();
    return lut;
}


// Moreland's diverging "Cool to Warm" map (VTK's and ParaView's default):
// blue (0.230, 0.299, 0.754) through a light grey to red (0.706, 0.016,
// 0.150), interpolated in his Msh space so that lightness falls evenly on
// both sides of the middle. NaN is a darker grey than the middle.
vtkSmartPointer<vtkLookupTable> make_diverging_lut()
{
    vtkNew<vtkColorTransferFunction> ctf;
    ctf->SetColorSpaceToDiverging();
    ctf->AddRGBPoint(0.0, 0.230, 0.299, 0.754);
    ctf->AddRGBPoint(1.0, 0.706, 0.016, 0.150);
    auto lut = vtkSmartPointer<vtkLookupTable>::New();
    const int n = 256;
    lut->SetNumberOfTableValues(n);
    for (int i = 0; i < n; ++i) {
        double rgb[3];
        ctf->GetColor((i + 0.5) / n, rgb);
        lut->SetTableValue(i, rgb[0], rgb[1], rgb[2], 1.0);
    }
    lut->SetNanColor(0.40, 0.40, 0.40, 1.0);
    lut->SetTableRange(0.0, 1.0);
    lut->Build();
    return lut;
}

}  // namespace

namespace detail {

// Matplotlib's viridis (van der Walt & Smith), every 16th of its 256
// entries plus the last; linear interpolation between them stays within
// about 1% of the full table.
vtkSmartPointer<vtkLookupTable> make_viridis_lut()
{
    static const double stops[17][3] = {
        {0.267004, 0.004874, 0.329415}, {0.282327, 0.094955, 0.417331}, {0.277018, 0.185228, 0.489898},
        {0.253935, 0.265254, 0.529983}, {0.221989, 0.339161, 0.548752}, {0.190631, 0.407061, 0.556089},
        {0.163625, 0.471133, 0.558148}, {0.139147, 0.533812, 0.555298}, {0.120565, 0.596422, 0.543611},
        {0.134692, 0.658636, 0.517649}, {0.208030, 0.718701, 0.472873}, {0.327796, 0.773980, 0.406640},
        {0.477504, 0.821444, 0.318195}, {0.647257, 0.858400, 0.209861}, {0.824940, 0.884720, 0.106217},
        {0.974417, 0.903590, 0.130215}, {0.993248, 0.906157, 0.143936},
    };
    static const double at[17] = {0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 255};
    auto lut = vtkSmartPointer<vtkLookupTable>::New();
    const int n = 256;
    lut->SetNumberOfTableValues(n);
    for (int i = 0; i < n; ++i) {
        int k = 0;
        while (k < 15 && at[k + 1] < i) {
            ++k;
        }
        const double t = std::clamp((i - at[k]) / (at[k + 1] - at[k]), 0.0, 1.0);
        lut->SetTableValue(i, stops[k][0] + t * (stops[k + 1][0] - stops[k][0]),
                           stops[k][1] + t * (stops[k + 1][1] - stops[k][1]),
                           stops[k][2] + t * (stops[k + 1][2] - stops[k][2]), 1.0);
    }
    lut->SetNanColor(0.55, 0.55, 0.55, 1.0);
    lut->SetTableRange(0.0, 1.0);
    lut->Build();
    return lut;
}

vtkSmartPointer<vtkLookupTable> make_map_lut(ColourMapKind kind)
{
    switch (kind) {
    case ColourMapKind::Cyclic: return make_cyclic_lut(false);
    case ColourMapKind::Diverging: return make_diverging_lut();
    case ColourMapKind::Sequential: break;
    }
    return make_viridis_lut();
}

double round_scale_length(double target) { return round_length(target); }

const double kBackground[3] = {0.105, 0.115, 0.135};

void style_text(vtkTextProperty* tp, int size) { ::entroscope::render::style_text(tp, size); }

void style_caption(vtkTextActor* caption, int size)
{
    style_text(caption->GetTextProperty(), size);
    caption->GetTextProperty()->SetVerticalJustificationToTop();
    caption->GetTextProperty()->SetLineSpacing(1.15);
    caption->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
    caption->SetPosition(0.012, 0.985);
}

BoxOutline::BoxOutline()
{
    points->SetNumberOfPoints(4);
    vtkNew<vtkCellArray> lines;
    const vtkIdType ids[5] = {0, 1, 2, 3, 0};
    lines->InsertNextCell(5, ids);
    poly->SetPoints(points);
    poly->SetLines(lines);
    mapper->SetInputData(poly);
    actor->SetMapper(mapper);
    actor->GetProperty()->SetColor(0.78, 0.80, 0.84);
    actor->GetProperty()->SetLineWidth(1.5);
    actor->GetProperty()->LightingOff();
    actor->SetPosition(0.0, 0.0, 0.5);  // above the disks or the field
}

void BoxOutline::setBox(double length)
{
    points->SetPoint(0, 0.0, 0.0, 0.0);
    points->SetPoint(1, length, 0.0, 0.0);
    points->SetPoint(2, length, length, 0.0);
    points->SetPoint(3, 0.0, length, 0.0);
    points->Modified();
    poly->Modified();
}

}  // namespace detail

using detail::kBackground;
using detail::make_viridis_lut;

double particle_radius(const Config& cfg)
{
    return cfg.model == ModelKind::Aoup ? cfg.r0 : 0.5 * cfg.sigma;
}

double active_angle(const State& s, int i)
{
    const auto k = static_cast<std::size_t>(i);
    if (s.active_dim() == 2) {
        return std::atan2(s.act[2 * k + 1], s.act[2 * k]);
    }
    // theta may leave [-pi, pi) between re-wrappings; fold it for colouring.
    return std::remainder(s.act[k], 2.0 * kPi);
}

struct ParticleScene::Impl {
    vtkNew<vtkRenderer> renderer;
    CurrentOverlay overlay = CurrentOverlay::Off;
    detail::CurrentLayer current;
    // Arrows of a per-particle velocity (the probability flow), drawn over
    // the disks.
    vtkNew<vtkPoints> arrowPoints;
    vtkNew<vtkFloatArray> arrowVectors;
    vtkNew<vtkPolyData> arrows;
    vtkNew<vtkGlyphSource2D> arrowGlyph;
    vtkNew<vtkGlyph3DMapper> arrowMapper;
    vtkNew<vtkActor> arrowActor;
    vtkNew<vtkPoints> points;
    vtkNew<vtkFloatArray> angles;  // the colour scalar: angle, or a per-particle value
    vtkNew<vtkPolyData> particles;
    vtkNew<vtkPointGaussianMapper> diskMapper;
    vtkNew<vtkActor> particleActor;

    detail::BoxOutline outline;

    vtkSmartPointer<vtkLookupTable> lut;
    vtkSmartPointer<vtkLookupTable> viridis;
    vtkSmartPointer<vtkLookupTable> diverging;
    vtkSmartPointer<vtkLookupTable> cyclicPlain;  // the angle map without its pi annotations
    vtkNew<vtkScalarBarActor> legend;
    bool scalarMode = false;
    ColourMapKind map = ColourMapKind::Cyclic;
    std::vector<float> scalars;
    vtkNew<vtkTextActor> caption;
    // The scale bar: a bar and end ticks in viewport pixels, a round number
    // of particle diameters long, with its label to the right.
    vtkNew<vtkPoints> barPoints;
    vtkNew<vtkPolyData> bar;
    vtkNew<vtkPolyDataMapper2D> barMapper;
    vtkNew<vtkActor2D> barActor;
    vtkNew<vtkTextActor> barLabel;
    bool aoupUnit = false;     // the diameter is AOUP's 2 r0 (else ABP's sigma)
    double barDiameters = 0.0;
    double barPixels = 0.0;
    std::string barText;
    vtkNew<vtkEntroscopeInteractorStyle2D> style;
    vtkNew<vtkCallbackCommand> startObserver;

    // Four quads in the background colour cover everything outside the box,
    // so periodic images of edge particles are cut at the box edge.
    vtkNew<vtkPoints> maskPoints;
    vtkNew<vtkPolyData> mask;
    vtkNew<vtkPolyDataMapper> maskMapper;
    vtkNew<vtkActor> maskActor;

    // Periodic images of particles that overlap an edge (x, y, colour value).
    std::vector<float> ghosts;
    int count = 0;
    double box = 0.0;
    double radius = 1.0;
    double fittedBox = -1.0;
    int fittedSize[2] = {0, 0};
    bool fitRequested = true;
    bool legendShown = true, barShown = true;

    Impl()
    {
        points->SetDataTypeToFloat();
        angles->SetName("active angle");
        angles->SetNumberOfComponents(1);
        particles->SetPoints(points);
        particles->GetPointData()->SetScalars(angles);

        lut = make_cyclic_lut();
        viridis = make_viridis_lut();
        diverging = make_diverging_lut();
        cyclicPlain = make_cyclic_lut(false);
        // One screen-aligned splat per particle, cut to a disk of the true
        // radius by the fragment shader: ~N primitives instead of N
        // tessellated polygons, which keeps software GL (llvmpipe) at
        // interactive rates for tens of thousands of particles. A darker rim
        // separates touching particles inside clusters.
        diskMapper->SetInputData(particles);
        diskMapper->SetScaleFactor(1.0);
        diskMapper->SetTriangleScale(1.0f);
        diskMapper->EmissiveOff();
        diskMapper->SetSplatShaderCode(
            "//VTK::Color::Impl\n"
            "float dist2 = dot(offsetVCVSOutput.xy, offsetVCVSOutput.xy);\n"
            "if (dist2 > 1.0) { discard; }\n"
            "if (dist2 > 0.80) { ambientColor *= 0.62; diffuseColor *= 0.62; }\n"
            "opacity = 1.0;\n");
        diskMapper->SetLookupTable(lut);
        diskMapper->SetScalarRange(-kPi, kPi);
        diskMapper->SetScalarModeToUsePointData();
        diskMapper->SetColorModeToMapScalars();
        diskMapper->ScalarVisibilityOn();
        particleActor->SetMapper(diskMapper);
        particleActor->GetProperty()->SetAmbient(1.0);
        particleActor->GetProperty()->SetDiffuse(0.0);
        particleActor->GetProperty()->LightingOff();


        maskPoints->SetNumberOfPoints(8);
        vtkNew<vtkCellArray> quads;
        // Outer square 0-3, inner (box) square 4-7; one quad per side.
        const vtkIdType q[4][4] = {{0, 1, 5, 4}, {1, 2, 6, 5}, {2, 3, 7, 6}, {3, 0, 4, 7}};
        for (const auto& quad : q) {
            quads->InsertNextCell(4, quad);
        }
        mask->SetPoints(maskPoints);
        mask->SetPolys(quads);
        maskMapper->SetInputData(mask);
        maskMapper->ScalarVisibilityOff();
        maskActor->SetMapper(maskMapper);
        maskActor->GetProperty()->SetColor(kBackground[0], kBackground[1], kBackground[2]);
        maskActor->GetProperty()->LightingOff();
        maskActor->SetPosition(0.0, 0.0, 0.25);  // between the disks and the outline

        useAngleLegend();
        legend->SetOrientationToVertical();
        legend->SetMaximumWidthInPixels(120);
        legend->SetBarRatio(0.22);
        legend->SetUnconstrainedFontSize(true);
        legend->SetAnnotationLeaderPadding(6);
        legend->SetVerticalTitleSeparation(8);
        style_text(legend->GetTitleTextProperty(), 15);
        style_text(legend->GetAnnotationTextProperty(), 14);
        style_text(legend->GetLabelTextProperty(), 13);

        detail::style_caption(caption, 15);

        barPoints->SetNumberOfPoints(12);
        vtkNew<vtkCellArray> barCells;
        for (vtkIdType q = 0; q < 3; ++q) {
            const vtkIdType ids[4] = {4 * q, 4 * q + 1, 4 * q + 2, 4 * q + 3};
            barCells->InsertNextCell(4, ids);
        }
        bar->SetPoints(barPoints);
        bar->SetPolys(barCells);
        barMapper->SetInputData(bar);
        barActor->SetMapper(barMapper);
        barActor->GetProperty()->SetColor(0.92, 0.93, 0.95);
        style_text(barLabel->GetTextProperty(), 13);
        barLabel->GetTextProperty()->SetVerticalJustificationToCentered();
        // Legible over the particles too, once zoomed in.
        barLabel->GetTextProperty()->SetBackgroundColor(kBackground[0], kBackground[1], kBackground[2]);
        barLabel->GetTextProperty()->SetBackgroundOpacity(0.7);
        barActor->VisibilityOff();
        barLabel->VisibilityOff();

        renderer->SetBackground(kBackground[0], kBackground[1], kBackground[2]);
        renderer->AddActor(particleActor);
        renderer->AddActor(maskActor);
        renderer->AddActor(outline.actor);
        arrowVectors->SetNumberOfComponents(3);
        arrowVectors->SetName("v");
        arrows->SetPoints(arrowPoints);
        arrows->GetPointData()->AddArray(arrowVectors);
        arrowGlyph->SetGlyphTypeToArrow();
        arrowGlyph->FilledOn();
        arrowGlyph->SetScale(1.0);
        arrowGlyph->SetCenter(0.5, 0.0, 0.0);  // the arrow starts at the particle
        arrowMapper->SetInputData(arrows);
        arrowMapper->SetSourceConnection(arrowGlyph->GetOutputPort());
        arrowMapper->SetOrientationArray("v");
        arrowMapper->SetOrientationModeToDirection();
        arrowMapper->SetScaleArray("v");
        arrowMapper->SetScaleModeToScaleByMagnitude();
        arrowMapper->ScalarVisibilityOff();
        arrowActor->SetMapper(arrowMapper);
        arrowActor->GetProperty()->SetColor(0.97, 0.97, 0.97);
        arrowActor->GetProperty()->LightingOff();
        arrowActor->SetPosition(0.0, 0.0, 0.6);  // above the disks and the outline
        arrowActor->VisibilityOff();
        renderer->AddActor(arrowActor);
        current.addTo(renderer);
        renderer->AddActor2D(legend);
        renderer->AddActor2D(caption);
        renderer->AddActor2D(barActor);
        renderer->AddActor2D(barLabel);
        renderer->GetActiveCamera()->ParallelProjectionOn();

        style->SetResetCallback([this] { fitRequested = true; });
        style->SetDefaultRenderer(renderer);

        // Fit lazily, right before a render, when the viewport size is known.
        startObserver->SetClientData(this);
        startObserver->SetCallback([](vtkObject*, unsigned long, void* client, void*) {
            auto* self = static_cast<Impl*>(client);
            self->fitIfNeeded();
            self->updateScaleBar();
        });
        renderer->AddObserver(vtkCommand::StartEvent, startObserver);
    }

    ~Impl() { renderer->RemoveObserver(startObserver); }

    void useAngleLegend()
    {
        map = ColourMapKind::Cyclic;
        diskMapper->SetLookupTable(lut);
        diskMapper->SetScalarRange(-kPi, kPi);
        legend->SetLookupTable(lut);
        legend->SetTitle("active angle (rad)");
        legend->DrawAnnotationsOn();
        legend->SetDrawTickLabels(false);
        legend->SetNumberOfLabels(0);
    }

    void useScalarLegend(double lo, double hi, const std::string& title, ColourMapKind kind)
    {
        if (!(hi > lo)) {
            hi = lo + 1.0;
        }
        vtkLookupTable* table = kind == ColourMapKind::Diverging ? diverging.Get()
                                : kind == ColourMapKind::Cyclic  ? cyclicPlain.Get()
                                                                 : viridis.Get();
        map = kind;
        table->SetTableRange(lo, hi);
        diskMapper->SetLookupTable(table);
        diskMapper->SetScalarRange(lo, hi);
        legend->SetLookupTable(table);
        legend->SetTitle(title.c_str());
        legend->DrawAnnotationsOff();
        legend->SetDrawTickLabels(true);
        legend->SetNumberOfLabels(5);
        legend->SetLabelFormat("%-#7.3g");
    }

    float colourValue(const State& state, int i) const
    {
        if (!scalarMode) {
            return static_cast<float>(active_angle(state, i));
        }
        if (scalars.size() != static_cast<std::size_t>(state.n())) {
            return std::numeric_limits<float>::quiet_NaN();
        }
        return scalars[static_cast<std::size_t>(i)];
    }

    // From the camera as it is now (a zoom changes the visible width): a
    // round number of diameters, about a fifth of the box's visible width.
    void updateScaleBar()
    {
        const int* size = renderer->GetSize();
        vtkCamera* cam = renderer->GetActiveCamera();
        const double diameter = 2.0 * radius;
        if (!barShown || size[0] <= 0 || size[1] <= 0 || box <= 0.0 || count == 0 || !(diameter > 0.0)) {
            barActor->VisibilityOff();
            barLabel->VisibilityOff();
            return;
        }
        const double worldPerPixel = 2.0 * cam->GetParallelScale() / size[1];
        const double half = 0.5 * size[0] * worldPerPixel;
        const double fx = cam->GetFocalPoint()[0];
        double visible = std::min(fx + half, box) - std::max(fx - half, 0.0);
        if (!(visible > 0.0)) {
            visible = 2.0 * half;  // panned off the box: the view's width
        }
        const double n = round_length(0.22 * visible / diameter);
        const double pixels = n * diameter / worldPerPixel;
        if (n != barDiameters || pixels != barPixels) {
            barDiameters = n;
            barPixels = pixels;
            const double x0 = kPadPixels, x1 = kPadPixels + pixels, y0 = kBarBottom;
            const double quads[3][4] = {
                {x0, x1, y0, y0 + kBarThickness},             // the bar
                {x0, x0 + 2.0, y0, y0 + kTickPixels},         // its end ticks
                {x1 - 2.0, x1, y0, y0 + kTickPixels},
            };
            for (int q = 0; q < 3; ++q) {
                barPoints->SetPoint(4 * q, quads[q][0], quads[q][2], 0.0);
                barPoints->SetPoint(4 * q + 1, quads[q][1], quads[q][2], 0.0);
                barPoints->SetPoint(4 * q + 2, quads[q][1], quads[q][3], 0.0);
                barPoints->SetPoint(4 * q + 3, quads[q][0], quads[q][3], 0.0);
            }
            barPoints->Modified();
            bar->Modified();
            char number[32];
            std::snprintf(number, sizeof number, "%g", n);
            const bool greek = !unicode_font().empty();
            barText = std::string(number) + (aoupUnit ? (greek ? " \xC3\x97 2r\xE2\x82\x80" : " x 2r0")  // × 2r₀
                                                     : (greek ? " \xCF\x83" : " sigma"));                // σ
            barLabel->SetInput(barText.c_str());
            barLabel->SetPosition(x1 + 8.0, y0 + 0.5 * kTickPixels);
        }
        barActor->VisibilityOn();
        barLabel->VisibilityOn();
    }

    void fitIfNeeded()
    {
        const int* size = renderer->GetSize();
        if (size[0] <= 0 || size[1] <= 0 || box <= 0.0) {
            return;
        }
        if (!fitRequested && fittedBox == box && size[0] == fittedSize[0] && size[1] == fittedSize[1]) {
            return;
        }
        // Work in pixels: the box goes into the largest square that fits
        // left of the legend strip and below the caption, centred there.
        const double w = size[0];
        const double h = size[1];
        // Legend text 15 px from about 700 px high, down to 11 px in small
        // viewports. The legend (bar, tick labels, title above) is at most
        // 120 px wide and at least ten title glyphs, 3 % of the width from
        // the right edge (at 1200 px as before: 1044 .. 1164); the angle
        // map's annotations hang about three glyphs left of it.
        const int font = std::clamp(static_cast<int>(std::lround(8.0 + h / 100.0)), 11, 15);
        const double legendW = std::min(120.0, std::max(0.12 * w, 10.0 * font));
        const double margin = std::max(6.0, 0.03 * w);  // a title wider than the legend overhangs it
        const double legendX = w - legendW - margin;
        const double strip = std::max(kLegendFraction * w, legendW + margin + 3.0 * font + 6.0);
        const double availW = std::max(16.0, w - strip - 2.0 * kPadPixels);
        const double availH = std::max(16.0, h - kCaptionPixels - kScaleBarPixels - 2.0 * kPadPixels);
        const double worldPerPixel = box / std::min(availW, availH);
        const double centreX = kPadPixels + 0.5 * availW;               // pixels from the left
        const double centreY = kScaleBarPixels + kPadPixels + 0.5 * availH;  // pixels from the bottom
        const double scale = 0.5 * h * worldPerPixel;                   // half the visible height
        const double cx = 0.5 * box + (0.5 * w - centreX) * worldPerPixel;
        const double cy = 0.5 * box + (0.5 * h - centreY) * worldPerPixel;
        vtkCamera* cam = renderer->GetActiveCamera();
        cam->SetFocalPoint(cx, cy, 0.0);
        cam->SetPosition(cx, cy, 10.0 * box);
        cam->SetViewUp(0.0, 1.0, 0.0);
        cam->SetParallelScale(scale);
        renderer->ResetCameraClippingRange(-box, 2.0 * box, -box, 2.0 * box, -1.0, 1.0);

        // Legend in the reserved strip, vertically centred.
        legend->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
        legend->SetPosition(legendX / w, 0.2);
        legend->SetWidth(legendW / w);
        legend->SetHeight(0.6);
        legend->GetTitleTextProperty()->SetFontSize(font);
        legend->GetAnnotationTextProperty()->SetFontSize(font - 1);
        legend->GetLabelTextProperty()->SetFontSize(font - 2);

        barLabel->GetTextProperty()->SetFontSize(font - 1);

        fittedBox = box;
        fittedSize[0] = size[0];
        fittedSize[1] = size[1];
        fitRequested = false;
    }
};

ParticleScene::ParticleScene() : d_(std::make_unique<Impl>()) {}
ParticleScene::~ParticleScene() = default;

vtkRenderer* ParticleScene::renderer() const { return d_->renderer; }
vtkInteractorObserver* ParticleScene::interactorStyle() const { return d_->style; }

void ParticleScene::update(const State& state, double radius)
{
    const int n = state.n();
    const double L = state.box;
    auto& ghosts = d_->ghosts;
    ghosts.clear();
    for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        const double x = state.x[2 * k];
        const double y = state.x[2 * k + 1];
        const int sx = x < radius ? 1 : (x > L - radius ? -1 : 0);
        const int sy = y < radius ? 1 : (y > L - radius ? -1 : 0);
        if (sx == 0 && sy == 0) {
            continue;
        }
        const float a = d_->colourValue(state, i);
        const auto push = [&](int ix, int iy) {
            ghosts.push_back(static_cast<float>(x + ix * L));
            ghosts.push_back(static_cast<float>(y + iy * L));
            ghosts.push_back(a);
        };
        if (sx != 0) push(sx, 0);
        if (sy != 0) push(0, sy);
        if (sx != 0 && sy != 0) push(sx, sy);
    }
    const vtkIdType total = n + static_cast<vtkIdType>(ghosts.size() / 3);
    if (d_->points->GetNumberOfPoints() != total) {
        d_->points->SetNumberOfPoints(total);
        d_->angles->SetNumberOfTuples(total);
    }
    d_->count = n;
    auto* xyz = static_cast<vtkFloatArray*>(d_->points->GetData())->GetPointer(0);
    float* ang = d_->angles->GetPointer(0);
    for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        xyz[3 * k] = static_cast<float>(state.x[2 * k]);
        xyz[3 * k + 1] = static_cast<float>(state.x[2 * k + 1]);
        xyz[3 * k + 2] = 0.0f;
        ang[k] = d_->colourValue(state, i);
    }
    for (std::size_t g = 0; g < ghosts.size() / 3; ++g) {
        const std::size_t k = static_cast<std::size_t>(n) + g;
        xyz[3 * k] = ghosts[3 * g];
        xyz[3 * k + 1] = ghosts[3 * g + 1];
        xyz[3 * k + 2] = 0.0f;
        ang[k] = ghosts[3 * g + 2];
    }
    d_->points->Modified();
    d_->angles->Modified();
    d_->particles->Modified();

    if ((state.active_dim() == 2) != d_->aoupUnit) {
        d_->aoupUnit = state.active_dim() == 2;
        d_->barDiameters = 0.0;  // relabel
    }
    if (radius != d_->radius) {
        d_->radius = radius;
        d_->diskMapper->SetScaleFactor(radius);
    }
    if (state.box != d_->box) {
        d_->box = state.box;
        d_->outline.setBox(L);
        // The mask reaches far beyond the box so panning never uncovers
        // stray images.
        const double far = 50.0 * L;
        const double outer[4][2] = {{-far, -far}, {L + far, -far}, {L + far, L + far}, {-far, L + far}};
        const double inner[4][2] = {{0.0, 0.0}, {L, 0.0}, {L, L}, {0.0, L}};
        for (int c = 0; c < 4; ++c) {
            d_->maskPoints->SetPoint(c, outer[c][0], outer[c][1], 0.0);
            d_->maskPoints->SetPoint(4 + c, inner[c][0], inner[c][1], 0.0);
        }
        d_->maskPoints->Modified();
        d_->mask->Modified();
    }
}

void ParticleScene::colourByActiveAngle()
{
    if (d_->scalarMode) {
        d_->scalarMode = false;
        d_->scalars.clear();
        d_->useAngleLegend();
    }
}

void ParticleScene::colourByScalar(std::vector<float> values, double lo, double hi, const std::string& legendTitle)
{
    colourByScalar(std::move(values), lo, hi, legendTitle, ColourMapKind::Sequential);
}

void ParticleScene::colourByScalar(std::vector<float> values, double lo, double hi, const std::string& legendTitle,
                                   ColourMapKind map)
{
    d_->scalarMode = true;
    d_->scalars = std::move(values);
    d_->useScalarLegend(lo, hi, legendTitle, map);
}

bool ParticleScene::colouredByScalar() const { return d_->scalarMode; }

ColourMapKind ParticleScene::colourMap() const { return d_->map; }

std::pair<double, double> ParticleScene::legendRange() const
{
    const double* r = d_->legend->GetLookupTable()->GetRange();
    return {r[0], r[1]};
}

ColourRange ParticleScene::show(const Frame& frame, Quantity q, const RangeRule& rule, bool withCaption)
{
    const bool unicode = unicodeText();
    const QuantityInfo info = quantity_info(q, frame.config.model, unicode);
    ColourRange range;
    if (q == Quantity::ActiveAngle) {
        colourByActiveAngle();
        range = colour_range(q, {}, rule);
    } else {
        QuantityValues v = quantity_values(frame, q);
        range = colour_range(q, v.values, rule);
        if (!v.available()) {
            range.note = v.reason;
        }
        colourByScalar(std::move(v.values), range.lo, range.hi, legend_title(q, frame.config.model, unicode), info.map);
    }
    const std::string overlay = frame.state ? d_->current.draw(d_->overlay, frame, frame.state->box) : std::string();
    if (withCaption) {
        setCaption(caption(frame, q, unicode) + (overlay.empty() ? std::string() : "\n" + overlay));
    }
    if (frame.state) {
        update(*frame.state, particle_radius(frame.config));
    }
    return range;
}

void ParticleScene::setCurrentOverlay(CurrentOverlay o)
{
    d_->overlay = o;
    if (o == CurrentOverlay::Off) d_->current.hide();
}

CurrentOverlay ParticleScene::currentOverlay() const { return d_->overlay; }
int ParticleScene::overlayArrows() const { return d_->current.arrowCount; }

void ParticleScene::setCaption(const std::string& text) { d_->caption->SetInput(text.c_str()); }

bool ParticleScene::unicodeText() { return !unicode_font().empty(); }

void ParticleScene::requestFit() { d_->fitRequested = true; }

void ParticleScene::setDecorations(bool legend, bool scaleBar)
{
    d_->legendShown = legend;
    d_->barShown = scaleBar;
    d_->legend->SetVisibility(legend);
    d_->updateScaleBar();
}

void ParticleScene::zoom(double factor)
{
    if (factor > 0.0 && std::isfinite(factor)) {
        d_->renderer->GetActiveCamera()->Zoom(factor);
    }
}

double ParticleScene::showArrows(const State& state, const std::vector<double>& v, double length)
{
    const int n = state.n();
    if (static_cast<int>(v.size()) != 2 * n || n == 0 || !(length > 0.0)) {
        clearArrows();
        return 0.0;
    }
    std::vector<float> speeds;
    speeds.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        const double s = std::hypot(v[2 * static_cast<std::size_t>(i)], v[2 * static_cast<std::size_t>(i) + 1]);
        if (std::isfinite(s)) speeds.push_back(static_cast<float>(s));
    }
    // The 95th percentile of the speeds becomes `length`: a few fast
    // particles do not shrink every other arrow to a dot.
    const double q = speeds.empty() ? 0.0 : quantile(speeds, 0.95);
    if (!(q > 0.0) || !std::isfinite(q)) {
        clearArrows();
        return 0.0;
    }
    d_->arrowPoints->SetNumberOfPoints(n);
    d_->arrowVectors->SetNumberOfTuples(n);
    for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        d_->arrowPoints->SetPoint(i, state.x[2 * k], state.x[2 * k + 1], 0.0);
        const double vx = std::isfinite(v[2 * k]) ? v[2 * k] : 0.0, vy = std::isfinite(v[2 * k + 1]) ? v[2 * k + 1] : 0.0;
        d_->arrowVectors->SetTuple3(i, vx, vy, 0.0);
    }
    d_->arrowPoints->Modified();
    d_->arrowVectors->Modified();
    d_->arrows->Modified();
    d_->arrowMapper->SetScaleFactor(length / q);
    d_->arrowActor->VisibilityOn();
    return length / q;
}

void ParticleScene::clearArrows() { d_->arrowActor->VisibilityOff(); }

bool ParticleScene::arrowsShown() const { return d_->arrowActor->GetVisibility() != 0; }

int ParticleScene::particleCount() const { return d_->count; }

double ParticleScene::scaleBarDiameters() const { return d_->barDiameters; }

double ParticleScene::scaleBarPixels() const { return d_->barPixels; }

std::string ParticleScene::scaleBarLabel() const { return d_->barText; }

double ParticleScene::boxLength() const { return d_->box; }

}  // namespace entroscope::render

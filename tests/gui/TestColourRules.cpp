// The colour rules of render/colour_rules.hpp on frames built by hand: no
// engine run, no display (nothing here draws).
#include <QtTest>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/session/frame.hpp"
#include "render/colour_rules.hpp"

using namespace entroscope;
using namespace entroscope::render;

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool ascii(const std::string& text)
{
    for (unsigned char c : text) {
        if (c >= 0x80) return false;
    }
    return true;
}

// Three AOUP particles (g along +x, +y, -x), step 40 at t = 4.
Frame aoup_frame()
{
    Frame f;
    f.config = default_config(ModelKind::Aoup);
    f.config.n = 3;
    f.config.phi = 0.5;
    f.physics_tag = 7;
    auto s = std::make_shared<State>();
    s->box = 10.0;
    s->x = {1.0, 1.0, 5.0, 5.0, 9.0, 2.0};
    s->image.assign(6, 0);
    s->act = {1.0, 0.0, 0.0, 2.0, -3.0, 0.0};
    s->types = {0, 1, 1};
    s->step = 40;
    s->time = 4.0;
    f.state = s;
    f.estimate = std::make_shared<GlobalEstimate>();
    f.training.enabled = true;
    return f;
}

// The learned values of exactly f.state, at network step 1234.
std::shared_ptr<Evaluation> learned_for(const Frame& f, bool divergence)
{
    auto e = std::make_shared<Evaluation>();
    e->state = f.state;
    e->physics_tag = f.physics_tag;
    e->network_step = 1234;
    e->with_divergence = divergence;
    e->sigma_sq = {0.5, 1.5, 2.5};
    if (divergence) e->sigma_div = {-1.0, 0.25, 2.0};
    e->v_act = {3.0, 4.0, 0.0, 1.0, 0.0, 0.0};
    e->v_x = {0.0, 2.0, 6.0, 8.0, 0.0, 0.0};
    return e;
}

}  // namespace

class TestColourRules : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void quantilesInterpolateAndIgnoreNonFinite();
    void automaticRangesByQuantile();
    void rangesSurviveEmptyDegenerateAndNonFiniteInput();
    void signedQuantitiesGetASymmetricRange();
    void fixedRangesAreTheUsers();
    void cyclicAndDiscreteRanges();
    void quantitiesHaveNamesUnitsAndMaps();
    void unlearnedQuantitiesComeFromTheState();
    void localAreaFractionOfIsolatedAndPackedParticles();
    void learnedQuantitiesComeFromThisStateOnly();
    void learnedValuesOfAnotherStateAreRefused();
    void captionCarriesParametersAndConventions();
    void captionOfLearnedQuantities();
    void captionIsAsciiWithoutUnicode();
};

void TestColourRules::quantilesInterpolateAndIgnoreNonFinite()
{
    // 0..100: the p-quantile is 100 p (numpy's linear rule).
    std::vector<float> v;
    for (int i = 100; i >= 0; --i) v.push_back(static_cast<float>(i));
    QCOMPARE(quantile(v, 0.0), 0.0);
    QCOMPARE(quantile(v, 1.0), 100.0);
    QVERIFY(std::abs(quantile(v, 0.05) - 5.0) < 1e-9);
    QVERIFY(std::abs(quantile(v, 0.95) - 95.0) < 1e-9);
    // Between order statistics: {1, 2}: 0.25 -> 1.25.
    QVERIFY(std::abs(quantile({2.0f, 1.0f}, 0.25) - 1.25) < 1e-9);
    v.push_back(kNaN);
    v.push_back(kInf);
    v.push_back(-kInf);
    QCOMPARE(quantile(v, 1.0), 100.0);
    QCOMPARE(quantile(v, 0.0), 0.0);
    QVERIFY(std::isnan(quantile({}, 0.5)));
    QVERIFY(std::isnan(quantile({kNaN, kInf}, 0.5)));
}

void TestColourRules::automaticRangesByQuantile()
{
    std::vector<float> v;
    for (int i = 0; i <= 1000; ++i) v.push_back(static_cast<float>(i) / 10.0f);  // 0 .. 100
    v.push_back(1e6f);  // one outlier must not stretch the range
    const ColourRange p5 = colour_range(v, {RangeMode::Quantiles5To95}, false);
    QVERIFY(std::abs(p5.lo - 5.0) < 0.2);
    QVERIFY(std::abs(p5.hi - 95.0) < 0.2);
    QCOMPARE(p5.finite, 1002);
    QVERIFY(p5.note.empty());
    const ColourRange p99 = colour_range(v, {RangeMode::Quantiles0To99}, false);
    QCOMPARE(p99.lo, 0.0);
    QVERIFY(std::abs(p99.hi - 99.0) < 0.2);
    // The default rule is the paper's 5-95 %.
    QCOMPARE(RangeRule{}.mode, RangeMode::Quantiles5To95);
}

void TestColourRules::rangesSurviveEmptyDegenerateAndNonFiniteInput()
{
    for (const auto mode : {RangeMode::Quantiles5To95, RangeMode::Quantiles0To99}) {
        const ColourRange empty = colour_range({}, {mode}, false);
        QCOMPARE(empty.lo, 0.0);
        QCOMPARE(empty.hi, 1.0);
        QCOMPARE(empty.finite, 0);
        QVERIFY(!empty.note.empty());
        const ColourRange junk = colour_range({kNaN, kInf, -kInf}, {mode}, false);
        QCOMPARE(junk.lo, 0.0);
        QCOMPARE(junk.hi, 1.0);
        const ColourRange junkSigned = colour_range({kNaN}, {mode}, true);
        QCOMPARE(junkSigned.lo, -1.0);
        QCOMPARE(junkSigned.hi, 1.0);
        // All equal: widened around the value, finite, hi > lo.
        const ColourRange flat = colour_range({2.0f, 2.0f, kNaN}, {mode}, false);
        QVERIFY(flat.lo < 2.0 && flat.hi > 2.0);
        const ColourRange zero = colour_range({0.0f, 0.0f}, {mode}, false);
        QVERIFY(zero.lo < 0.0 && zero.hi > 0.0);
        const ColourRange zeroSigned = colour_range({0.0f}, {mode}, true);
        QCOMPARE(zeroSigned.lo, -1.0);
        QCOMPARE(zeroSigned.hi, 1.0);
        // NaN among good values changes nothing.
        const ColourRange a = colour_range({1.0f, 2.0f, 3.0f}, {mode}, false);
        const ColourRange b = colour_range({kNaN, 1.0f, kInf, 2.0f, 3.0f, -kInf}, {mode}, false);
        QCOMPARE(a.lo, b.lo);
        QCOMPARE(a.hi, b.hi);
        QCOMPARE(b.finite, 3);
    }
}

void TestColourRules::signedQuantitiesGetASymmetricRange()
{
    std::vector<float> v;
    for (int i = 0; i <= 100; ++i) v.push_back(static_cast<float>(i) - 20.0f);  // -20 .. 80
    const ColourRange r = colour_range(v, {RangeMode::Quantiles5To95}, true);
    QCOMPARE(r.lo, -r.hi);
    QVERIFY(std::abs(r.hi - 75.0) < 1e-4);  // the larger of |q5| = 15 and |q95| = 75
    const ColourRange neg = colour_range({-5.0f, -4.0f, -3.0f}, {RangeMode::Quantiles0To99}, true);
    QCOMPARE(neg.lo, -5.0);
    QCOMPARE(neg.hi, 5.0);
    // Through the quantity: the divergence estimator is signed.
    const ColourRange q = colour_range(Quantity::SigmaDiv, v, {});
    QCOMPARE(q.lo, -q.hi);
}

void TestColourRules::fixedRangesAreTheUsers()
{
    const std::vector<float> v = {1.0f, 2.0f, 3.0f};
    RangeRule rule{RangeMode::Fixed, -2.0, 7.0};
    ColourRange r = colour_range(v, rule, false);
    QCOMPARE(r.lo, -2.0);
    QCOMPARE(r.hi, 7.0);
    // Fixed is fixed even for a signed quantity and with no data.
    r = colour_range(Quantity::SigmaDiv, {}, rule);
    QCOMPARE(r.lo, -2.0);
    QCOMPARE(r.hi, 7.0);
    // Reversed bounds are swapped, equal ones widened.
    r = colour_range(v, {RangeMode::Fixed, 7.0, -2.0}, false);
    QCOMPARE(r.lo, -2.0);
    QCOMPARE(r.hi, 7.0);
    r = colour_range(v, {RangeMode::Fixed, 3.0, 3.0}, false);
    QVERIFY(r.lo < 3.0 && r.hi > 3.0);
    // Non-finite bounds fall back to the automatic rule, with a note.
    r = colour_range(v, {RangeMode::Fixed, 0.0, std::numeric_limits<double>::infinity()}, false);
    QVERIFY(std::isfinite(r.lo) && std::isfinite(r.hi) && r.hi > r.lo);
    QVERIFY(r.lo >= 1.0 && r.hi <= 3.0);
    QVERIFY(!r.note.empty());
}

void TestColourRules::cyclicAndDiscreteRanges()
{
    const ColourRange angle = colour_range(Quantity::ActiveAngle, {0.1f, 0.2f}, {RangeMode::Fixed, 0.0, 1.0});
    QCOMPARE(angle.lo, -kPi);
    QCOMPARE(angle.hi, kPi);
    const ColourRange type = colour_range(Quantity::ParticleType, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3}, {});
    QCOMPARE(type.lo, 0.0);  // min..max, not the 5-95 % quantiles (which would be 0..0)
    QCOMPARE(type.hi, 3.0);
    const ColourRange one = colour_range(Quantity::ParticleType, {1, 1}, {});
    QVERIFY(one.lo < 1.0 && one.hi > 1.0);
}

void TestColourRules::quantitiesHaveNamesUnitsAndMaps()
{
    QCOMPARE(all_quantities().size(), std::size_t(7));
    for (Quantity q : all_quantities()) {
        const QuantityInfo info = quantity_info(q, ModelKind::Aoup, false);
        QCOMPARE(info.quantity, q);
        QVERIFY(!info.name.empty());
        QVERIFY(ascii(info.name) && ascii(info.units));
        QCOMPARE(quantity_from_key(info.key), std::optional<Quantity>(q));
        // Cyclic map for cyclic quantities, diverging for signed ones.
        QCOMPARE(info.cyclic, info.map == ColourMapKind::Cyclic);
        QCOMPARE(info.is_signed, info.map == ColourMapKind::Diverging);
    }
    QVERIFY(!quantity_from_key("nonsense"));
    const QuantityInfo sq = quantity_info(Quantity::SigmaSq, ModelKind::Abp, true);
    QVERIFY(sq.learned && !sq.is_signed && !sq.cyclic);
    QCOMPARE(sq.map, ColourMapKind::Sequential);
    QVERIFY(contains(sq.name, "\xCF\x83\xE1\xB5\xA2"));  // σᵢ
    const QuantityInfo div = quantity_info(Quantity::SigmaDiv, ModelKind::Abp, false);
    QVERIFY(div.learned && div.is_signed);
    QCOMPARE(div.map, ColourMapKind::Diverging);
    QVERIFY(quantity_info(Quantity::ActiveAngle, ModelKind::Abp, false).cyclic);
    QCOMPARE(quantity_info(Quantity::ActiveAngle, ModelKind::Abp, false).units, std::string("rad"));
    QVERIFY(quantity_info(Quantity::ActiveSpeed, ModelKind::Aoup, false).learned);
    QVERIFY(!quantity_info(Quantity::LocalDensity, ModelKind::Aoup, false).learned);
    QVERIFY(quantity_info(Quantity::ParticleType, ModelKind::Aoup, false).discrete);
    // |v_act|'s units follow the active variable.
    QCOMPARE(quantity_info(Quantity::ActiveSpeed, ModelKind::Abp, false).units, std::string("rad/t"));
    QCOMPARE(quantity_info(Quantity::ActiveSpeed, ModelKind::Aoup, false).units, std::string("L/t^2"));
    // Legend titles carry the units; the estimator goes on a line of its own.
    QCOMPARE(legend_title(Quantity::SigmaSq, ModelKind::Aoup, false), std::string("sigma_i (1/t)\n|v|^2 estimator"));
    QCOMPARE(legend_title(Quantity::ActiveAngle, ModelKind::Aoup, false), std::string("active angle (rad)"));
    QCOMPARE(legend_title(Quantity::ParticleType, ModelKind::Aoup, false), std::string("particle type"));
}

void TestColourRules::unlearnedQuantitiesComeFromTheState()
{
    const Frame f = aoup_frame();
    const QuantityValues angle = quantity_values(f, Quantity::ActiveAngle);
    QVERIFY(angle.available() && angle.reason.empty() && !angle.from_learned);
    QCOMPARE(angle.values.size(), std::size_t(3));
    QVERIFY(std::abs(angle.values[0] - 0.0f) < 1e-6f);
    QVERIFY(std::abs(angle.values[1] - static_cast<float>(kPi / 2)) < 1e-6f);
    QVERIFY(std::abs(std::abs(angle.values[2]) - static_cast<float>(kPi)) < 1e-6f);
    const QuantityValues type = quantity_values(f, Quantity::ParticleType);
    QCOMPARE(type.values, (std::vector<float>{0.0f, 1.0f, 1.0f}));
    const QuantityValues density = quantity_values(f, Quantity::LocalDensity);
    QCOMPARE(density.values.size(), std::size_t(3));
    // They need no learned values and ignore any.
    Frame g = f;
    g.learned = learned_for(f, false);
    QCOMPARE(quantity_values(g, Quantity::ParticleType).values, type.values);

    Frame empty = f;
    empty.state = nullptr;
    QVERIFY(!quantity_values(empty, Quantity::ActiveAngle).available());
    QVERIFY(!quantity_values(empty, Quantity::ActiveAngle).reason.empty());
}

void TestColourRules::localAreaFractionOfIsolatedAndPackedParticles()
{
    // One isolated AOUP particle (r0 = 1, w = 2): only itself counts,
    // phi = pi r0^2 / (2 pi w^2) = 1/8 (over the kernel's mass inside 3 w).
    Config cfg = default_config(ModelKind::Aoup);
    State one;
    one.box = 40.0;
    one.x = {20.0, 20.0};
    one.act = {1.0, 0.0};
    one.types = {0};
    one.image = {0, 0};
    const auto phi1 = local_area_fraction(one, cfg);
    QCOMPARE(phi1.size(), std::size_t(1));
    QVERIFY(std::abs(phi1[0] - 0.125 / (1.0 - std::exp(-4.5))) < 1e-6);
    // A square lattice of spacing a fills phi = pi r0^2 / a^2 in the bulk;
    // with a kernel two spacings wide the estimate is within a percent,
    // across the periodic edges too, and the cell list (large box) agrees
    // with the direct sum (small box) on the same local neighbourhood.
    const auto lattice = [](int side, double a) {
        State s;
        s.box = side * a;
        for (int j = 0; j < side; ++j) {
            for (int i = 0; i < side; ++i) {
                s.x.push_back((i + 0.5) * a);
                s.x.push_back((j + 0.5) * a);
                s.act.push_back(1.0);
                s.act.push_back(0.0);
                s.types.push_back(0);
            }
        }
        s.image.assign(s.x.size(), 0);
        return s;
    };
    const double a = 1.0;
    const double expected = kPi / (a * a);
    for (int side : {12, 40}) {  // box 12 < 9 w: direct sum; box 40: cell list
        const auto phi = local_area_fraction(lattice(side, a), cfg);
        for (float p : phi) {
            QVERIFY2(std::abs(p - expected) / expected < 0.01, qPrintable(QString::number(p)));
        }
    }
}

void TestColourRules::learnedQuantitiesComeFromThisStateOnly()
{
    Frame f = aoup_frame();
    for (Quantity q : {Quantity::SigmaSq, Quantity::SigmaDiv, Quantity::ActiveSpeed, Quantity::PositionSpeed}) {
        const QuantityValues none = quantity_values(f, q);
        QVERIFY(!none.available());
        QVERIFY(!none.reason.empty());
    }
    f.learned = learned_for(f, false);
    const QuantityValues sq = quantity_values(f, Quantity::SigmaSq);
    QCOMPARE(sq.values, (std::vector<float>{0.5f, 1.5f, 2.5f}));
    QVERIFY(sq.from_learned);
    QCOMPARE(sq.network_step, std::uint64_t(1234));
    const QuantityValues speed = quantity_values(f, Quantity::ActiveSpeed);
    QCOMPARE(speed.values, (std::vector<float>{5.0f, 1.0f, 0.0f}));
    QCOMPARE(quantity_values(f, Quantity::PositionSpeed).values, (std::vector<float>{2.0f, 10.0f, 0.0f}));
    QVERIFY(quantity_info(Quantity::PositionSpeed, ModelKind::Abp, false).learned);
    QCOMPARE(quantity_from_key("speed_x"), std::optional<Quantity>(Quantity::PositionSpeed));
    // Without divergences the divergence estimator is unavailable, saying so.
    const QuantityValues div = quantity_values(f, Quantity::SigmaDiv);
    QVERIFY(!div.available());
    QVERIFY(contains(div.reason, "divergence"));
    f.learned = learned_for(f, true);
    QCOMPARE(quantity_values(f, Quantity::SigmaDiv).values, (std::vector<float>{-1.0f, 0.25f, 2.0f}));
    // A wrong size is refused, not truncated.
    auto bad = learned_for(f, false);
    bad->sigma_sq.pop_back();
    f.learned = bad;
    QVERIFY(!quantity_values(f, Quantity::SigmaSq).available());
    // Non-finite learned values are passed on (drawn grey), not dropped.
    auto nan = learned_for(f, false);
    nan->sigma_sq[1] = std::numeric_limits<double>::quiet_NaN();
    f.learned = nan;
    const QuantityValues withNan = quantity_values(f, Quantity::SigmaSq);
    QCOMPARE(withNan.values.size(), std::size_t(3));
    QVERIFY(std::isnan(withNan.values[1]));
}

void TestColourRules::learnedValuesOfAnotherStateAreRefused()
{
    Frame f = aoup_frame();
    // Learned values of an earlier state (step 30), as a frame might be
    // assembled wrongly: never shown for this one.
    Frame earlier = aoup_frame();
    auto old = std::make_shared<State>(*earlier.state);
    old->step = 30;
    old->time = 3.0;
    earlier.state = old;
    f.learned = learned_for(earlier, true);
    for (Quantity q : {Quantity::SigmaSq, Quantity::SigmaDiv, Quantity::ActiveSpeed}) {
        const QuantityValues v = quantity_values(f, q);
        QVERIFY(!v.available());
        QVERIFY(contains(v.reason, "another state"));
    }
    // Under other physics (a changed parameter, same step): refused too.
    Frame g = aoup_frame();
    auto copy = std::make_shared<State>(*g.state);  // equal, but a different object
    Frame other = g;
    other.state = copy;
    auto e = learned_for(other, false);
    e->physics_tag = g.physics_tag + 1;
    g.learned = e;
    QVERIFY(!quantity_values(g, Quantity::SigmaSq).available());
    // An equal copy of the state under the same physics is the same state.
    e->physics_tag = g.physics_tag;
    QVERIFY(quantity_values(g, Quantity::SigmaSq).available());
    // And the caption never claims "of this state" for the refused ones.
    f.training.enabled = true;
    QVERIFY(!contains(caption(f, Quantity::SigmaSq, false), "of this state,"));
}

void TestColourRules::captionCarriesParametersAndConventions()
{
    const Frame f = aoup_frame();
    const std::string c = caption(f, Quantity::ActiveAngle, false);
    QVERIFY2(contains(c, "AOUP"), c.c_str());
    QVERIFY(contains(c, "N = 3"));
    QVERIFY(contains(c, "phi = 0.500 (nominal)"));
    char pe[64];
    std::snprintf(pe, sizeof pe, "Pe = %.1f [v0/(2 r0 gamma)]", f.config.peclet());
    QVERIFY2(contains(c, pe), c.c_str());
    QVERIFY(contains(c, "t = 4"));
    QVERIFY(contains(c, "step 40"));
    QVERIFY(contains(c, "L = 10.0"));
    QVERIFY(!contains(c, "colour:"));  // the angle needs no colour line (the legend says it)

    Frame abp = aoup_frame();
    abp.config = default_config(ModelKind::Abp);
    abp.config.D_r = 0.72;
    abp.config.sigma = 1.0;
    abp.config.v0 = 24.0;  // Pe = 3 * 24 / (1 * 0.72) = 100
    const std::string b = caption(abp, Quantity::ActiveAngle, false);
    QVERIFY2(contains(b, "ABP"), b.c_str());
    QVERIFY2(contains(b, "Pe = 100.0 [3 v0/(sigma D_r)]"), b.c_str());
    QVERIFY(!contains(b, "nominal"));
    const std::string u = caption(abp, Quantity::ActiveAngle, true);
    QVERIFY2(contains(u, "\xCF\x86 = "), u.c_str());                                       // φ
    QVERIFY2(contains(u, "[3v\xE2\x82\x80/(\xCF\x83" "D\xE1\xB5\xA3)]"), u.c_str());       // 3v₀/(σDᵣ)
    QVERIFY(contains(caption(f, Quantity::ActiveAngle, true), "[v\xE2\x82\x80/(2r\xE2\x82\x80\xCE\xB3)]"));  // v₀/(2r₀γ)
}

void TestColourRules::captionOfLearnedQuantities()
{
    Frame f = aoup_frame();
    // No learned values yet while training: waiting for the first estimate.
    std::string c = caption(f, Quantity::SigmaSq, false);
    QVERIFY2(contains(c, "colour: sigma_i (|v|^2 estimator)"), c.c_str());
    QVERIFY2(contains(c, "waiting for the first estimate"), c.c_str());
    QVERIFY(!contains(c, "network step"));
    // With them: the network step and "of this state".
    f.learned = learned_for(f, false);
    c = caption(f, Quantity::SigmaSq, false);
    QVERIFY2(contains(c, "of this state, network step 1234"), c.c_str());
    QVERIFY(!contains(c, "waiting"));
    // The divergence estimator of an evaluation without divergences.
    c = caption(f, Quantity::SigmaDiv, false);
    QVERIFY2(contains(c, "sigma_i (div v estimator): this estimate has no divergences"), c.c_str());
    // Without a network nothing will come: the caption says so.
    Frame off = aoup_frame();
    off.training.enabled = false;
    c = caption(off, Quantity::ActiveSpeed, false);
    QVERIFY2(contains(c, "no network"), c.c_str());
    // Unicode: σᵢ and |v|².
    f.learned = learned_for(f, true);
    c = caption(f, Quantity::SigmaSq, true);
    QVERIFY2(contains(c, "colour: \xCF\x83\xE1\xB5\xA2 (|v|\xC2\xB2 estimator) of this state"), c.c_str());
    // A state quantity names itself.
    QVERIFY(contains(caption(f, Quantity::LocalDensity, false), "colour: local phi"));
}

void TestColourRules::captionIsAsciiWithoutUnicode()
{
    Frame f = aoup_frame();
    f.learned = learned_for(f, true);
    for (Quantity q : all_quantities()) {
        for (ModelKind m : {ModelKind::Aoup, ModelKind::Abp}) {
            f.config.model = m;
            const std::string c = caption(f, q, false);
            QVERIFY2(ascii(c), c.c_str());
            QVERIFY(ascii(legend_title(q, m, false)));
            const std::string u = caption(f, q, true);
            QVERIFY(!ascii(u));  // phi at least
        }
    }
}

QTEST_APPLESS_MAIN(TestColourRules)
#include "TestColourRules.moc"

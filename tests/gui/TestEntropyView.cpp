// The window learns the score while it runs and shows entropy production:
// the trainer advances, the snapshot carries one finite non-negative sigma_i
// per particle, the readout shows a number, and colouring by sigma_i changes
// the rendered image without blanking it. A small ABP system (N = 1024)
// keeps the learned estimate within seconds on two cores.
#include <QApplication>
#include <QColor>
#include <QComboBox>
#include <QLabel>
#include <QOpenGLContext>
#include <QSurfaceFormat>
#include <QtTest>
#include <array>
#include <cmath>
#include <limits>
#include <memory>

#include "app/gui/default_session.hpp"
#include "app/gui/main_window.hpp"
#include "app/gui/session_controller.hpp"
#include "entroscope/core/config.hpp"
#include "widgets/entropy_panel.hpp"
#include "widgets/vtk_view.hpp"

using entroscope::Config;
using entroscope::gui::MainWindow;

namespace {

constexpr int kN = 1024;

struct PixelStats {
    double nonBackground = 0.0;    // fraction of pixels away from the dark background
    std::array<double, 12> hue{};  // normalised hue histogram of those pixels
};

PixelStats pixelStats(const QImage& img)
{
    PixelStats st;
    qint64 sampled = 0, lit = 0;
    for (int y = 0; y < img.height(); y += 2) {
        for (int x = 0; x < img.width(); x += 2) {
            ++sampled;
            const QColor c = QColor::fromRgb(img.pixel(x, y));
            // The background is about (27, 29, 34); viridis' darkest end is (68, 1, 84).
            if (std::abs(c.red() - 27) + std::abs(c.green() - 29) + std::abs(c.blue() - 34) < 60 ||
                c.hsvSaturation() < 60) {
                continue;
            }
            ++lit;
            st.hue[static_cast<std::size_t>(std::max(0, c.hsvHue()) / 30)] += 1.0;
        }
    }
    st.nonBackground = static_cast<double>(lit) / static_cast<double>(std::max<qint64>(sampled, 1));
    for (double& h : st.hue) {
        h /= static_cast<double>(std::max<qint64>(lit, 1));
    }
    return st;
}

}  // namespace

class TestEntropyView : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void trainerAdvancesWhileTheWindowRuns();
    void sigmaAppearsWithOneFiniteNonNegativeValuePerParticle();
    void readoutShowsTheActiveEprWithItsConvention();
    void colouringBySigmaChangesTheImageAndIsNotBlank();
    void panelHoldsTheLearnedValueAgainstTheNetworkFreeOne();
    void cleanupTestCase();

private:
    std::shared_ptr<const entroscope::Frame> latest() const { return window_->simulation()->latest(); }
    // The newest frame that carries learned values (its own state).
    std::shared_ptr<const entroscope::Frame> learned() const { return window_->simulation()->latestLearned(); }
    QImage viewImage()
    {
        const QImage shot = window_->grabWindowImage();
        const QRect viewRect(window_->view()->mapTo(window_.get(), QPoint(0, 0)), window_->view()->size());
        return shot.copy(viewRect);
    }
    std::unique_ptr<MainWindow> window_;
};

void TestEntropyView::initTestCase()
{
    QOpenGLContext probe;
    probe.setFormat(QSurfaceFormat::defaultFormat());
    if (!probe.create()) {
        QSKIP("no OpenGL context can be created on this display");
    }
    Config cfg = entroscope::gui::embedded_default_config();
    cfg.n = kN;
    cfg.types.clear();
    cfg.finalize();
    entroscope::LiveOptions opt = MainWindow::defaultLiveOptions();
    opt.session.pretrained_path.clear();  // a fresh network whatever ships
    window_ = std::make_unique<MainWindow>(cfg, opt);
    window_->show();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    QTRY_VERIFY_WITH_TIMEOUT(window_->view()->isGLReady(), 10000);
}

void TestEntropyView::trainerAdvancesWhileTheWindowRuns()
{
    QTRY_VERIFY_WITH_TIMEOUT(latest() && latest()->training.session_steps >= 2, 30000);
    QCOMPARE(latest()->training.source, std::string("fresh network"));
    QVERIFY(!latest()->training.failed);
    const auto steps = latest()->training.network_steps;
    QTRY_VERIFY_WITH_TIMEOUT(latest()->training.network_steps >= steps + 2, 30000);
    QVERIFY(std::isfinite(latest()->training.recent_loss));
    // The simulation keeps running alongside.
    const auto simStep = latest()->state->step;
    QTRY_VERIFY_WITH_TIMEOUT(latest()->state->step > simStep, 10000);
}

void TestEntropyView::sigmaAppearsWithOneFiniteNonNegativeValuePerParticle()
{
    QTRY_VERIFY_WITH_TIMEOUT(learned(), 30000);
    const auto f = learned();
    // Learned values ship with the positions they belong to.
    QVERIFY(f->learned && f->learned->state == f->state);
    const auto& e = f->estimate;
    QCOMPARE(static_cast<int>(f->learned->sigma_sq.size()), kN);
    QCOMPARE(f->state->n(), kN);
    double sum = 0.0;
    for (double s : f->learned->sigma_sq) {
        QVERIFY(std::isfinite(s));
        QVERIFY(s >= 0.0);
        sum += s;
    }
    QVERIFY(sum > 0.0);
    QVERIFY(e->evaluations >= 1);
    QVERIFY(std::isfinite(e->epr_active.mean) && e->epr_active.mean >= 0.0);
    QCOMPARE(e->last_index, f->learned->index);
    // The newest evaluation's mean is part of the windowed mean; with one
    // evaluation they coincide.
    if (e->evaluations == 1) {
        QVERIFY(std::abs(e->epr_active.mean - sum / kN) <= 1e-9 * (1.0 + sum / kN));
    }
    // ABP with D_t > 0: the positional part is finite and learned.
    QCOMPARE(e->x_part, entroscope::XPart::Finite);
}

void TestEntropyView::readoutShowsTheActiveEprWithItsConvention()
{
    QTRY_VERIFY_WITH_TIMEOUT(learned() && learned()->estimate->evaluations > 0, 30000);
    auto* epr = window_->entropyPanel()->findChild<QLabel*>("eprLabel");
    auto* training = window_->entropyPanel()->findChild<QLabel*>("trainingLabel");
    QVERIFY(epr && training);
    QTRY_VERIFY_WITH_TIMEOUT(epr->text() != QStringLiteral("—") && !epr->text().isEmpty(), 5000);
    QVERIFY(training->text().contains(QStringLiteral("steps")));
    bool found = false;
    for (QLabel* l : window_->entropyPanel()->findChildren<QLabel*>()) {
        if (l->text().contains(QStringLiteral("D<sub>r</sub> s<sub>θ,i</sub>²"))) {
            found = true;
        }
    }
    QVERIFY2(found, "the ABP convention sigma_i = D_r s_theta^2 is not shown");
}

void TestEntropyView::colouringBySigmaChangesTheImageAndIsNotBlank()
{
    QTRY_VERIFY_WITH_TIMEOUT(learned() && learned()->estimate->evaluations > 0, 30000);
    QTest::qWait(300);
    const PixelStats angle = pixelStats(viewImage());

    auto* combo = window_->entropyPanel()->findChild<QComboBox*>("colourByCombo");
    QVERIFY(combo);
    combo->setCurrentIndex(combo->findData(static_cast<int>(MainWindow::ColourBy::LocalEntropyProduction)));
    QTest::qWait(500);
    const QImage sigmaImage = viewImage();
    const PixelStats sigma = pixelStats(sigmaImage);

    double l1 = 0.0;
    for (std::size_t b = 0; b < angle.hue.size(); ++b) {
        l1 += std::abs(angle.hue[b] - sigma.hue[b]);
    }
    qInfo("lit fraction: angle %.3f, sigma %.3f; hue histogram L1 distance %.3f", angle.nonBackground,
          sigma.nonBackground, l1);
    QVERIFY2(sigma.nonBackground > 0.05, "the sigma-coloured view is blank");
    QVERIFY2(l1 > 0.3, "colouring by sigma did not change the colours");
    // Viridis has no red/orange (hue 0-59 degrees apart from its yellow end
    // near 50-60): the cyclic map has plenty.
    QVERIFY(sigma.hue[0] < 0.5 * angle.hue[0]);

    // And back.
    combo->setCurrentIndex(combo->findData(static_cast<int>(MainWindow::ColourBy::ActiveAngle)));
    QTest::qWait(500);
    const PixelStats again = pixelStats(viewImage());
    QVERIFY(again.hue[0] > 2.0 * sigma.hue[0]);
}

// Without positional noise the panel shows the exact (network-free) active
// EPR and warns when the learned value is far from it; with noise it shows
// neither.
void TestEntropyView::panelHoldsTheLearnedValueAgainstTheNetworkFreeOne()
{
    entroscope::widgets::EntropyPanel panel;
    entroscope::Frame f;
    f.config = entroscope::default_config(entroscope::ModelKind::Aoup);
    f.training.enabled = true;
    f.training.source = "fresh network";
    auto g = std::make_shared<entroscope::GlobalEstimate>();
    auto* details = panel.findChild<QLabel*>("eprDetails");
    auto* xPart = panel.findChild<QLabel*>("xPartLabel");
    QVERIFY(details && xPart);
    // Before the first evaluation: waiting, and no physics stated.
    f.estimate = g;
    panel.setFrame(f);
    QVERIFY2(details->text().contains(QStringLiteral("Waiting")), qPrintable(details->text()));
    QVERIFY2(xPart->text().isEmpty(), qPrintable(xPart->text()));

    g->evaluations = 5;
    g->divergence_evaluations = 2;
    g->epr_active = {0.0011, 0.0001, 5};
    g->epr_active_div = {0.0012, 0.0001, 2};
    g->gap = {-0.0001, 0.0001, 2};
    g->x_part = entroscope::XPart::Infinite;
    g->epr_active_identity = {0.56, 0.01, 5};
    panel.setFrame(f);
    QVERIFY2(details->text().contains(QStringLiteral("Exact, no network")), qPrintable(details->text()));
    QVERIFY(details->text().contains(QStringLiteral("has not learned this state")));
    QVERIFY(xPart->text().contains(QStringLiteral("infinite")));
    // A learned value within the errors: the exact line stays, the warning goes.
    g->epr_active.mean = 0.565;
    panel.setFrame(f);
    QVERIFY(details->text().contains(QStringLiteral("Exact, no network")));
    QVERIFY(!details->text().contains(QStringLiteral("has not learned this state")));
    // Positional noise: no network-free value.
    g->epr_active_identity = {std::numeric_limits<double>::quiet_NaN(), 0.0, 0};
    g->x_part = entroscope::XPart::Finite;
    panel.setFrame(f);
    QVERIFY(!details->text().contains(QStringLiteral("Exact, no network")));
}

void TestEntropyView::cleanupTestCase() { window_.reset(); }

int main(int argc, char** argv)
{
    QSurfaceFormat::setDefaultFormat(entroscope::widgets::VtkView::defaultFormat());
    QApplication app(argc, argv);
    TestEntropyView test;
    return QTest::qExec(&test, argc, argv);
}

#include "TestEntropyView.moc"

// White-box: the score network's differentiable pair forces
// (engine/score/slot_forces.cpp) against the one scalar pair law
// (entroscope/physics/pair_law.hpp) that the drift uses.
#include <QtTest/QtTest>

#include <cmath>
#include <vector>

#include <torch/torch.h>

#include "entroscope/core/config.hpp"
#include "entroscope/physics/pair_law.hpp"
#include "features.hpp"
#include "slot_forces.hpp"

using namespace entroscope;

namespace {

Config interaction_config(const QString& name) {
    if (name == "wca") return default_config(ModelKind::Abp);
    Config c = default_config(ModelKind::Aoup);
    if (name == "hard") c.interaction = Interaction::Hard;
    if (name == "softplus, k = 0") c.k = 0.0;
    if (name == "softplus, beta 30") c.beta = 30.0;
    c.finalize();
    return c;
}

double contact(const Config& c) { return c.model == ModelKind::Abp ? c.sigma : 2.0 * c.r0; }

}  // namespace

class TestScoreFeatures : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void slotForcesFollowThePairLaw_data() {
        QTest::addColumn<QString>("interaction");
        for (const char* name : {"softplus", "softplus, beta 30", "softplus, k = 0", "hard", "wca"}) QTest::newRow(name) << name;
    }
    void slotForcesFollowThePairLaw() {
        QFETCH(QString, interaction);
        const Config c = interaction_config(interaction);
        score::Features f;
        f.cutoff = score::network_cutoff(c);
        const double rc = c.pair_cutoff();
        const double scale = score::force_scale(c);
        // Slots from deep overlap to beyond the cut-off, in many directions.
        const int K = 500;
        const double lo = 0.85 * contact(c), hi = 1.2 * std::max(rc, contact(c));
        std::vector<float> xy;
        for (int i = 0; i < K; ++i) {
            const double r = lo + (hi - lo) * (i + 0.5) / K, th = 2.39996 * i;
            xy.push_back(static_cast<float>(r * std::cos(th)));
            xy.push_back(static_cast<float>(r * std::sin(th)));
        }
        const auto rel = torch::from_blob(xy.data(), {1, K, 2}, torch::kFloat32).clone();
        const auto mask = torch::zeros({1, K}, torch::kBool);
        const auto F = score::slot_forces(c, f, rel, mask, torch::Tensor()).contiguous();
        const auto M = score::slot_jacobian(c, f, rel, mask, torch::Tensor()).contiguous();
        const auto Fa = F.accessor<float, 3>();
        const auto Ma = M.accessor<float, 4>();
        int inside = 0;
        for (int i = 0; i < K; ++i) {
            const double x = xy[2 * static_cast<std::size_t>(i)], y = xy[2 * static_cast<std::size_t>(i) + 1];
            const double r = std::hypot(x, y), ux = x / r, uy = y / r;
            const RadialForce law = radial_pair_force(c, r);
            if (law.f != 0.0) ++inside;
            const double want[2] = {law.f * ux, law.f * uy};
            for (int d = 0; d < 2; ++d)
                QVERIFY2(std::fabs(Fa[0][i][d] - want[d]) <= 1e-5 * std::fabs(law.f) + 1e-6 * scale,
                         qPrintable(QString("r = %1: force %2, pair law %3").arg(r).arg(Fa[0][i][d]).arg(want[d])));
            // Finite differences cannot follow the law across its kinks.
            const double eta = 3e-3;
            if (std::fabs(r - rc) < 3 * eta || (c.interaction == Interaction::Hard && std::fabs(r - 2 * c.r0) < 3 * eta)) continue;
            // Jacobian of f(r) r_hat: f' r_hat r_hat^T + (f / r) (I - r_hat r_hat^T),
            // to the central differences' eta^2 f''' / 6 (for softplus about
            // (eta beta)^2 / 6 relative: 1.4e-3 at beta = 30).
            const double fr = law.f / r;
            const double u[2] = {ux, uy};
            for (int a = 0; a < 2; ++a)
                for (int b = 0; b < 2; ++b) {
                    const double jac = law.df * u[a] * u[b] + fr * ((a == b ? 1.0 : 0.0) - u[a] * u[b]);
                    QVERIFY2(std::fabs(Ma[0][i][a][b] - jac) <= 3e-3 * (std::fabs(law.df) + std::fabs(fr)) + 1e-4 * scale,
                             qPrintable(QString("r = %1: M[%2][%3] %4, pair law %5").arg(r).arg(a).arg(b).arg(Ma[0][i][a][b]).arg(jac)));
                }
        }
        if (has_pair_force(c)) QVERIFY(inside > K / 4);
        else QCOMPARE(inside, 0);
    }

    // The interaction-force input is in units of the force at contact.
    void forceScaleIsTheContactForce() {
        for (const char* name : {"softplus", "softplus, beta 30", "wca"}) {
            const Config c = interaction_config(name);
            const double at_contact = radial_pair_force(c, contact(c)).f;
            QVERIFY2(std::fabs(score::force_scale(c) / at_contact - 1.0) < 1e-12, name);
        }
    }
};

QTEST_APPLESS_MAIN(TestScoreFeatures)
#include "TestScoreFeatures.moc"

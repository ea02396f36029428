#include "training.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "entroscope/core/errors.hpp"
#include "model_impl.hpp"

namespace entroscope::score {

namespace {

constexpr double kPi = 3.14159265358979323846;
// refit_linear needs this many samples per coefficient of the linear path,
constexpr std::int64_t kMinFitPerCoefficient = 8;
// takes at most this many particles of a snapshot, and averages the
// moments over the snapshots seen, the latest kMomentSnapshots of them
// (an exponential window) once there are more.
constexpr std::int64_t kMomentRows = 32768;
constexpr double kMomentSnapshots = 1000;

// Mean over the batch of the per-component losses l [B, out], summed over
// components; with training.balance = "blocks" each block (active
// variables, positions) is divided by the batch's mean |s_block|^2 (at
// least its number of dofs), a constant: each block's minimiser is
// unchanged, but the block with the small score is no longer invisible
// to the shared layers (and to Adam's epsilon after clipping).
torch::Tensor combine_blocks(const Config& cfg, const torch::Tensor& y, const torch::Tensor& l) {
    const int da = cfg.active_dim();
    const auto out = y.size(1);
    if (cfg.training.balance != LossBalance::Blocks || out == da) return l.sum(1).mean();
    torch::Tensor total;
    for (auto [b0, nb] : {std::pair<std::int64_t, std::int64_t>{0, da}, {da, out - da}}) {
        auto yb = y.narrow(1, b0, nb).detach();
        const double scale = std::max((yb * yb).sum(1).mean().item<double>(), static_cast<double>(nb));
        auto lb = l.narrow(1, b0, nb).sum(1).mean() / scale;
        total = total.defined() ? total + lb : lb;
    }
    return total;
}

}  // namespace

double learning_rate(const TrainingConfig& t, std::uint64_t step, std::uint64_t schedule) {
    const double lr0 = t.lr;
    const double s = static_cast<double>(step);
    const double warm = t.warmup > 0 ? std::min(1.0, (s + 1.0) / t.warmup) : 1.0;
    const double frac = std::min(1.0, s / static_cast<double>(std::max<std::uint64_t>(schedule, 1)));
    // Cosine decay to 5% of the peak: online training never stops learning.
    return lr0 * warm * (0.05 + 0.95 * 0.5 * (1.0 + std::cos(kPi * frac)));
}

void copy_to_ema(ScoreNet& net, ScoreNet& ema, double weight_new) {
    torch::NoGradGuard ng;
    auto src = net->parameters();
    auto dst = ema->parameters();
    for (std::size_t i = 0; i < src.size(); ++i) dst[i].mul_(1.0 - weight_new).add_(src[i], weight_new);
}

// The linear path of the drift priors, y_lin = W phi + c on the own inputs
// phi (shared, plus each type's own), is not learned by gradient steps: at
// every new snapshot it is set to the exact optimum of implicit score
// matching given the rest of the network (block coordinate descent),
//   W = -M^-1 (E[phi~ (p + S h)] + E[d phi~ / d z_d]) / S_d per output d
// (phi~ = (phi, 1), M = E[phi~ phi~^T], s_d = p_d + S_d (h_d + W phi~), h
// the head's output), with the moments averaged over the snapshots seen so
// far (an exponential window of kMomentSnapshots once there are more). For a
// trapped particle the flow is linear in these inputs (v_g = A (g + F/v0) at
// eps = 0), so linear systems are solved, not learned, and the estimate of
// their coefficients improves like 1/sqrt(samples) instead of following the
// noise of one snapshot and Adam's steps (with the first snapshot's fit left
// to Adam, a three-type trap ended 5 % off for one type after 1500 steps).
void refit_linear(ScoreModel::Impl& I, const Features& f) {
    const Config& cfg = I.cfg;
    const NetOptions& opt = I.opt;
    const int da = cfg.active_dim();
    const bool posn = opt.position_score;
    // A deterministic subset of at most kMomentRows particles per snapshot.
    const std::int64_t stride = (f.n + kMomentRows - 1) / kMomentRows;
    const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(I.dev);
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(I.dev);
    BatchVars v;
    v.idx = torch::arange(0, f.n, stride, i64);
    const std::int64_t n = v.idx.size(0);
    v.d_act = torch::zeros({n, da}, f32).set_requires_grad(true);
    if (posn) v.d_x = torch::zeros({n, 2}, f32).set_requires_grad(true);
    const NetInputs in = make_inputs(cfg, f, v);
    if (!in.prior.defined()) return;
    auto phi = in.own.narrow(1, 0, linear_in(opt));  // n P
    const std::int64_t P = phi.size(1);
    // d phi_m / d (own dof), one backward pass per feature: [dofs][n, P+1].
    const int dofs = da + (posn ? 2 : 0);
    std::vector<torch::Tensor> jac;  // (one tensor each: a vector fill would share one)
    for (int d = 0; d < dofs; ++d) jac.push_back(torch::zeros({n, P + 1}, torch::kFloat64));  // on the CPU
    std::vector<torch::Tensor> leaves{v.d_act};
    if (posn) leaves.push_back(v.d_x);
    for (std::int64_t m = 0; m < P; ++m) {
        if (!phi.select(1, m).requires_grad()) continue;  // a constant feature
        auto g = torch::autograd::grad({phi.select(1, m).sum()}, leaves, {}, true, false, true);
        for (int d = 0; d < dofs; ++d) {
            const auto& gd = d < da ? g[0] : g[1];
            if (!gd.defined()) continue;
            jac[static_cast<std::size_t>(d)].select(1, m).copy_(gd.select(1, d < da ? d : d - da).to(torch::kFloat64));
        }
    }
    torch::NoGradGuard ng;
    ScoreNet& net = I.net;
    // The head's part of the output: everything but the linear path.
    auto head = (net->raw(in) - net->linear(in)).detach().cpu().to(torch::kFloat64);  // n dofs
    // The moments and solves in float64 on the CPU, whatever the network's device.
    auto pt = torch::cat({phi.detach().cpu().to(torch::kFloat64), torch::ones({n, 1}, torch::kFloat64)}, 1);  // n P+1
    auto scale = in.scale.cpu().to(torch::kFloat64);                                                     // dofs
    auto target = in.prior.detach().cpu().to(torch::kFloat64) + scale.unsqueeze(0) * head;             // p + S h: n dofs
    auto jac_all = torch::stack(jac, 0);                                                                // dofs n P+1
    // A snapshot with non-finite inputs would poison every later solve:
    // leave the moments and the path as they are (the loss then reports it).
    if (!torch::isfinite(pt).all().item<bool>() || !torch::isfinite(target).all().item<bool>() ||
        !torch::isfinite(jac_all).all().item<bool>())
        return;
    auto types = f.type.index_select(0, v.idx).cpu();
    LinearMoments& mo = I.moments;
    if (!mo.M.defined()) {
        mo.M = torch::zeros({kMaxTypes + 1, P + 1, P + 1}, torch::kFloat64);
        mo.r = torch::zeros({kMaxTypes + 1, dofs, P + 1}, torch::kFloat64);
        mo.w = torch::zeros({kMaxTypes + 1}, torch::kFloat64);
        mo.count = torch::zeros({kMaxTypes + 1}, torch::kFloat64);
    }
    ++mo.snapshots;
    const double keep = 1.0 - std::max(1.0 / static_cast<double>(mo.snapshots), 1.0 / kMomentSnapshots);
    mo.M.mul_(keep);
    mo.r.mul_(keep);
    mo.w.mul_(keep);
    auto add = [&](std::int64_t slot, const torch::Tensor& rows) {
        auto p_r = pt.index_select(0, rows);
        // Each snapshot weighs 1 - keep of the total: its sums are divided by n.
        const double unit = (1.0 - keep) / static_cast<double>(n);
        mo.M[slot] += unit * torch::matmul(p_r.t(), p_r);
        // r_d = sum phi~ (p_d + S_d h_d) + d phi~ / d z_d
        mo.r[slot] += unit * (torch::matmul(target.index_select(0, rows).t(), p_r) + jac_all.index_select(1, rows).sum(1));
        mo.w[slot] += unit * static_cast<double>(rows.size(0));
        mo.count[slot] += static_cast<double>(rows.size(0));
    };
    add(kMaxTypes, torch::arange(n, torch::kInt64));
    std::vector<std::int64_t> present;
    for (std::int64_t t = 0; t < kMaxTypes; ++t) {
        const auto rows = torch::nonzero(types == t).squeeze(1);
        if (rows.size(0) == 0) continue;
        present.push_back(t);
        if (rows.size(0) < n) add(t, rows);
    }
    mo.step = f.step;
    mo.time = f.time;
    mo.seen = true;
    // The optimum from the moments of `slot`, or undefined when there are
    // too few samples for P + 1 coefficients (with n = 2 the fit followed
    // one snapshot's noise: the first loss was -4e8, and 1e17 after 300
    // steps) or the solve is not finite.
    auto solve = [&](std::int64_t slot) -> torch::Tensor {
        if (mo.count[slot].item<double>() < static_cast<double>(kMinFitPerCoefficient * (P + 1))) return {};
        const double m = mo.w[slot].item<double>();
        // A pseudo-inverse of the standardised moment matrix: the own inputs
        // are collinear by construction (the own drift b / v0 is a sum of
        // the others; a column is 0 without a pair force), and a plain solve
        // puts large, cancelling coefficients along those directions.
        auto M = mo.M[slot] / m;
        auto dg = M.diagonal().clone();
        auto unit = torch::where(dg > 1e-300, dg.rsqrt(), torch::zeros_like(dg));
        auto Ms = unit.unsqueeze(1) * M * unit.unsqueeze(0);
        auto [lam, U] = torch::linalg_eigh(Ms);
        const double cut = 1e-9 * lam.max().item<double>();
        auto inv_lam = torch::where(lam > cut, 1.0 / lam, torch::zeros_like(lam));
        auto Minv = unit.unsqueeze(1) * torch::matmul(U * inv_lam.unsqueeze(0), U.t()) * unit.unsqueeze(0);
        auto w = -torch::matmul(mo.r[slot] / m, Minv) / scale.unsqueeze(1);  // dofs P+1
        return torch::isfinite(w).all().item<bool>() ? w : torch::Tensor();
    };
    const auto w_all = solve(kMaxTypes);
    if (!w_all.defined()) return;  // keep the current linear path
    auto set = [&](ScoreNet& m) {
        m->skip->weight.copy_(w_all.narrow(1, 0, P).to(torch::kFloat32));
        m->skip->bias.copy_(w_all.select(1, P).to(torch::kFloat32));
        if (!m->type_lin.defined()) return;
        // Each type with enough samples of its own gets its own optimum, as
        // the difference from the shared one; the others keep the shared one.
        m->type_lin.zero_();
        if (present.size() < 2) return;  // one type: the shared path is its own
        for (std::int64_t t : present) {
            const auto w_t = solve(t);
            if (w_t.defined()) m->type_lin[t].copy_((w_t - w_all).to(torch::kFloat32));
        }
    };
    set(I.net);
    // The EMA averages the solved path with the other weights: the optimum
    // is affine in the head's output, so the average of the solved paths
    // is the path that fits the averaged head (setting the EMA's path to
    // the latest solve instead put it out of step with the EMA's head: a
    // soft trap type 4 % high after 2000 steps at EMA 0.999). Before the
    // first step the EMA starts from the solve.
    if (I.step == 0) set(I.ema);
}

// The training loss on a batch (SPEC §4).
torch::Tensor training_loss(const Config& cfg, const NetOptions& opt, ScoreNet& net, const Features& f, const torch::Tensor& idx,
                            at::Generator& gen, const torch::Device& dev) {
    const int da = cfg.active_dim();
    const bool posn = opt.position_score;
    const auto B = idx.size(0);
    if (cfg.training.loss == TrainingLoss::Ism) {
        // Implicit score matching: |s|^2 + 2 div s with the exact divergence.
        const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(dev);
        BatchVars v;
        v.idx = idx;
        v.d_act = torch::zeros({B, da}, f32).set_requires_grad(true);
        if (posn) v.d_x = torch::zeros({B, 2}, f32).set_requires_grad(true);
        auto y = net->forward(make_inputs(cfg, f, v));
        auto l = y * y;  // B out: per component, |s_d|^2 + 2 d s_d / d z_d
        std::vector<torch::Tensor> div;
        for (int d = 0; d < da; ++d)
            div.push_back(torch::autograd::grad({y.select(1, d).sum()}, {v.d_act}, {}, true, true)[0].select(1, d));
        if (posn)
            for (int d = 0; d < 2; ++d)
                div.push_back(torch::autograd::grad({y.select(1, da + d).sum()}, {v.d_x}, {}, true, true)[0].select(1, d));
        return combine_blocks(cfg, y, l + 2.0 * torch::stack(div, 1));
    }
    // Denoising score matching with antithetic noise: z± = z ± sigma zeta
    // for every particle; loss sum_± |s_i(z±)|^2 ± 2 s_i(z±)·zeta_i / sigma.
    const double sig = cfg.training.sigma;
    auto za = torch::randn({f.n, da}, gen, torch::kFloat32).to(dev);
    torch::Tensor zx;
    if (posn) zx = torch::randn({f.n, 2}, gen, torch::kFloat32).to(dev);
    auto zeta_i = za.index_select(0, idx);
    if (posn) zeta_i = torch::cat({zeta_i, zx.index_select(0, idx)}, 1);
    torch::Tensor total;
    for (double sign : {1.0, -1.0}) {
        BatchVars v;
        v.idx = idx;
        v.d_act = torch::zeros({B, da}, torch::TensorOptions().dtype(torch::kFloat32).device(dev));
        v.act_noise = sign * sig * za;
        if (posn) v.x_noise = sign * sig * zx;
        auto y = net->forward(make_inputs(cfg, f, v));
        auto l = combine_blocks(cfg, y, y * y + (2.0 * sign / sig) * (y * zeta_i));
        total = total.defined() ? total + l : l;
    }
    return total * 0.5;
}

namespace {

// One optimiser step with its checks (below).
TrainStats checked_step(ScoreModel::Impl& I, const Features& f, const torch::Tensor& idx);

// The linear path and its moments as they were before a step, so that a
// step that fails leaves the model as it was.
struct LinearState {
    LinearMoments moments;
    std::vector<torch::Tensor> net, ema;
};

LinearState save_linear(ScoreModel::Impl& I) {
    torch::NoGradGuard ng;
    LinearState s;
    s.moments = I.moments;
    for (auto* t : {&s.moments.M, &s.moments.r, &s.moments.w, &s.moments.count})
        if (t->defined()) *t = t->clone();
    for (const auto& p : I.net->linear_parameters()) s.net.push_back(p.detach().clone());
    for (const auto& p : I.ema->linear_parameters()) s.ema.push_back(p.detach().clone());
    return s;
}

void restore_linear(ScoreModel::Impl& I, LinearState& s) {
    torch::NoGradGuard ng;
    I.moments = s.moments;
    auto pn = I.net->linear_parameters(), pe = I.ema->linear_parameters();
    for (std::size_t i = 0; i < pn.size(); ++i) pn[i].copy_(s.net[i]);
    for (std::size_t i = 0; i < pe.size(); ++i) pe[i].copy_(s.ema[i]);
}

}  // namespace

TrainStats optimiser_step(ScoreModel::Impl& I, const Features& f, const torch::Tensor& idx) {
    I.net->train();
    // A batch from another snapshot than the last: solve the linear path again.
    std::unique_ptr<LinearState> undo;
    if (I.opt.zero_output && (!I.moments.seen || f.step != I.moments.step || f.time != I.moments.time)) {
        undo = std::make_unique<LinearState>(save_linear(I));
        refit_linear(I, f);
    }
    try {
        return checked_step(I, f, idx);
    } catch (const NumericalError&) {
        if (undo) restore_linear(I, *undo);
        throw;
    }
}

namespace {

TrainStats checked_step(ScoreModel::Impl& I, const Features& f, const torch::Tensor& idx) {
    I.adam->zero_grad();
    auto loss = training_loss(I.cfg, I.opt, I.net, f, idx, I.gen, I.dev);
    const double lv = loss.item<double>();
    if (!std::isfinite(lv)) {
        I.adam->zero_grad();
        throw NumericalError("training produced a non-finite loss at step " + std::to_string(I.step) +
                             "; the weights were left unchanged (lower training.lr or check the samples)");
    }
    loss.backward();
    const double gn = torch::nn::utils::clip_grad_norm_(I.net->parameters(), 1.0);
    if (!std::isfinite(gn)) {
        I.adam->zero_grad();
        throw NumericalError("training produced a non-finite gradient at step " + std::to_string(I.step) +
                             "; the weights were left unchanged");
    }
    const double lr = learning_rate(I.cfg.training, I.step, I.schedule);
    for (auto& g : I.adam->param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
    // Adam moves each weight by about lr, so a finite clipped gradient can
    // still overflow the weights when the learning rate is absurd (LibTorch
    // refuses a step size beyond float's range part-way through the update;
    // a step below it can still overflow a weight): check them (one
    // reduction) and put the old ones back. Adam's moments keep this step's
    // finite gradient.
    // (The trained parameters only, as one flat vector: the linear path is
    // solved, not stepped.)
    std::vector<torch::Tensor> trained;
    for (const auto& p : I.net->parameters())
        if (p.requires_grad()) trained.push_back(p);
    torch::Tensor before;
    {
        torch::NoGradGuard ng;
        before = torch::nn::utils::parameters_to_vector(trained);
    }
    std::string why;
    try {
        I.adam->step();
        torch::NoGradGuard ng;
        if (!torch::isfinite(torch::nn::utils::parameters_to_vector(trained)).all().item<bool>()) why = "non-finite weights";
    } catch (const c10::Error& e) {
        const std::string w = e.what_without_backtrace();
        why = "non-finite weights (" + w.substr(0, w.find('\n')) + ")";
    } catch (const std::exception& e) {  // c10's overflow check throws a plain std::exception type
        why = "non-finite weights (" + std::string(e.what()) + ")";
    }
    if (!why.empty()) {
        torch::NoGradGuard ng;
        std::int64_t at = 0;
        for (auto& p : trained) {
            p.copy_(before.narrow(0, at, p.numel()).view_as(p));
            at += p.numel();
        }
        I.adam->zero_grad();
        throw NumericalError("training produced " + why + " at step " + std::to_string(I.step) +
                             "; the weights were left unchanged (lower training.lr)");
    }
    ++I.step;
    // EMA with a short warm-up so early estimates are not dominated by the initial weights.
    const double beta = std::min(I.cfg.training.ema, (1.0 + I.step) / (10.0 + I.step));
    copy_to_ema(I.net, I.ema, 1.0 - beta);
    TrainStats st;
    st.loss = lv;
    st.grad_norm = gn;
    st.lr = lr;
    st.step = I.step;
    return st;
}

}  // namespace

}  // namespace entroscope::score

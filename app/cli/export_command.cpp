#include "export_command.hpp"
#include "interrupt.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_args.hpp"
#include "config_args.hpp"
#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/io/export_frame.hpp"
#include "entroscope/io/h5md_export.hpp"
#include "entroscope/io/particle_csv.hpp"
#include "entroscope/io/vtk_xml.hpp"
#include "entroscope/io/xyz.hpp"
#include "entroscope/score/score_model.hpp"
#include "entroscope/session/session_core.hpp"

namespace entroscope::cli {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string hex64(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// The checkpoint's archive hash as its sidecar states it (FNV-1a 64 of the
// .pt file, checked by ScoreModel::load); empty without a readable sidecar.
std::string archive_hash(const std::string& model) {
    std::ifstream in(model + ".json");
    if (!in) return {};
    try {
        const json side = json::parse(in);
        return side.value("archive_fnv1a64", std::string());
    } catch (const json::exception&) {
        return {};
    }
}

// Counts are bounded so that burn-in + frames * stride cannot overflow.
long long count_flag(const Args& a, const char* flag, long long fallback, long long min) {
    const long long v = a.has(flag) ? a.integer(flag, fallback) : fallback;
    constexpr long long kMax = 1000000000;
    if (v < min || v > kMax) throw ConfigError(flag, "must be in [" + std::to_string(min) + ", " + std::to_string(kMax) + "]");
    return v;
}

// One row of the EPR time series (per particle): this frame's own value and
// the running estimate over the frames so far with its standard error.
struct EprRow {
    std::uint64_t step = 0;
    double time = 0.0;
    double snap_sq = 0.0, snap_div = 0.0;
    MeanSe est_sq, est_div, est_x, est_total;
};

std::uintmax_t size_of(const std::string& p) {
    std::error_code ec;
    const auto s = fs::file_size(p, ec);
    return ec ? 0 : s;
}

}  // namespace

int cmd_export(const std::vector<std::string>& argv) {
    const Args a(argv,
                 with_config_flags({"--trajectory", "--model", "--format", "--out", "--frames", "--stride", "--burn-in",
                                    "--threads", "--bins"}),
                 {"--json"});
    // A file size limit (ulimit -f) must fail a write, not kill the process
    // with SIGXFSZ and leave a temporary file behind.
    std::signal(SIGXFSZ, SIG_IGN);
    // Ctrl+C / SIGTERM stop between frames and leave nothing behind.
    const InterruptGuard interrupt_guard;

    const std::string format = a.value("--format").value_or("");
    if (format != "h5md" && format != "xyz" && format != "vtk" && format != "csv")
        throw ConfigError("--format", format.empty() ? "is required (h5md, xyz, vtk or csv)"
                                                     : "unknown format '" + format + "' (h5md, xyz, vtk or csv)");
    const auto out_opt = a.value("--out");
    if (!out_opt || out_opt->empty()) throw ConfigError("--out", "is required (the file to write)");
    const std::string out = *out_opt;
    if (format == "vtk" && fs::path(out).extension() != ".pvd")
        throw ConfigError("--out", "a VTK series is written as NAME.pvd (with NAME_particles_K.vtp and NAME_fields_K.vti beside it)");
    const long long threads = count_flag(a, "--threads", 1, 1);
    if (threads > 1024) throw ConfigError("--threads", "must be in [1, 1024]");
    const long long bins = count_flag(a, "--bins", 64, 1);
    if (bins > 4096) throw ConfigError("--bins", "must be in [1, 4096]");
    set_network_threads(static_cast<int>(threads));

    // --- the source: a simulated system or a stored trajectory ------------
    std::unique_ptr<Trajectory> traj;
    const auto traj_path = a.value("--trajectory");
    Config cfg;
    long long frames = 0, stride = 0, burn = 0;
    if (traj_path) {
        if (traj_path->empty()) throw ConfigError("--trajectory", "is empty");
        for (const char* flag : {"--config", "--n", "--phi", "--v0", "--pe", "--seed", "--kind"})
            if (a.has(flag)) throw ConfigError(flag, "does not apply with --trajectory (the trajectory fixes the physics)");
        traj = std::make_unique<Trajectory>(read_h5md(*traj_path));
        cfg = traj->config;
        const long long stored = static_cast<long long>(traj->frames.size());
        burn = count_flag(a, "--burn-in", 0, 0);
        stride = count_flag(a, "--stride", 1, 1);
        const long long left = stored - burn;
        frames = a.has("--frames") ? count_flag(a, "--frames", 1, 1) : (left > 0 ? (left + stride - 1) / stride : 0);
        const long long last = burn + (std::max(frames, 1LL) - 1) * stride;
        if (left <= 0 || last >= stored)
            throw IoError("trajectory '" + *traj_path + "' ends early: it holds " + std::to_string(stored) +
                          " frame(s), and --burn-in " + std::to_string(burn) + " --frames " + std::to_string(std::max(frames, 1LL)) +
                          " --stride " + std::to_string(stride) + " needs frame index " + std::to_string(last) +
                          " (counting from 0)");
    } else {
        cfg = load_config(a);
        frames = count_flag(a, "--frames", 10, 1);
        stride = count_flag(a, "--stride", 100, 1);
        burn = count_flag(a, "--burn-in", 1000, 0);
    }

    // --- the network ------------------------------------------------------
    std::string model = a.value("--model").value_or("");
    std::string note;
    if (model == "none") {
        model.clear();
        note = "--model none: positions and active variables only (no sigma_i, v_i, fields or EPR)";
    } else if (model.empty()) {
#ifdef ENTROSCOPE_RESOURCE_DIR
        const std::string shipped = std::string(ENTROSCOPE_RESOURCE_DIR) + "/models/default_fast.pt";
        std::error_code ec;
        if (fs::exists(shipped, ec)) {
            try {
                ScoreModel::load(shipped, &cfg);
                model = shipped;
            } catch (const ConfigError& e) {
                note = "the shipped network " + shipped + " does not fit this system (" + e.what() +
                       "): positions and active variables only; give --model M.pt for the learned columns";
            } catch (const IoError& e) {
                note = "the shipped network " + shipped + " cannot be read (" + e.what() +
                       "): positions and active variables only; give --model M.pt for the learned columns";
            }
        } else {
            note = "no shipped network found: positions and active variables only";
        }
#else
        note = "no --model given: positions and active variables only";
#endif
    } else {
        std::error_code ec;
        if (!fs::exists(model, ec)) throw ConfigError("--model", "'" + model + "' does not exist");
        try {
            ScoreModel::load(model, &cfg);
        } catch (const ConfigError& e) {
            throw ConfigError("--model", "'" + model + "' does not fit this system (" + e.what() + ")");
        }
    }
    if (!note.empty()) std::cerr << "export: " << note << "\n";

    SessionOptions so;
    so.training = false;
    so.model_path = model;
    so.sim_threads = static_cast<int>(threads);
    so.evaluate_every = 0;
    so.window = 0;
    so.fields = format == "vtk";
    so.field_bins = static_cast<int>(bins);
    if (traj) so.initial_state = std::make_shared<const State>(traj->frames.at(static_cast<std::size_t>(burn)));
    SessionCore core(cfg, so);
    const ScoreModel* net = core.model();
    const std::string weights = net ? hex64(net->weights_hash()) : std::string();
    const std::string archive = net ? archive_hash(model) : std::string();

    // --- the writer: created before any simulation, so that an unwritable
    // target fails at once ------------------------------------------------
    std::unique_ptr<H5mdWriter> h5;
    std::unique_ptr<XyzWriter> xyz;
    std::unique_ptr<VtkSeriesWriter> vtk;
    std::unique_ptr<ParticleCsvWriter> csv;
    std::unique_ptr<AtomicFile> epr_csv;
    const std::string epr_path = (fs::path(out).parent_path() / (fs::path(out).stem().string() + "_epr.csv")).string();
    if (format == "h5md") {
        h5 = std::make_unique<H5mdWriter>(out, cfg, core.state());
        if (net) {
            h5->set_parameter("network_checkpoint", model);
            h5->set_parameter("network_weights_fnv1a64", weights);
            if (!archive.empty()) h5->set_parameter("network_archive_fnv1a64", archive);
            h5->set_parameter("network_step", std::to_string(net->steps()));
        }
        h5->set_parameter("export_source", traj ? "trajectory " + *traj_path : std::string("simulation"));
    } else if (format == "xyz") {
        xyz = std::make_unique<XyzWriter>(out, cfg);
    } else if (format == "vtk") {
        vtk = std::make_unique<VtkSeriesWriter>(out, cfg);
    } else {
        csv = std::make_unique<ParticleCsvWriter>(out, cfg);
        if (net) epr_csv = std::make_unique<AtomicFile>(epr_path);
    }

    std::cerr << "export: " << format << ", " << to_string(cfg.model) << ", n = " << cfg.n << ", " << frames << " frame(s) "
              << (traj ? "of " + std::to_string(traj->frames.size()) + " stored, every " + std::to_string(stride) + " after " +
                             std::to_string(burn)
                       : "every " + std::to_string(stride) + " steps after " + std::to_string(burn) + " burn-in steps")
              << (net ? ", network " + fs::path(model).filename().string() + " (weights " + weights + ")" : std::string()) << "\n";

    // Timed apart: seconds_per_frame is the cost of a frame (simulation
    // between frames, the network, the writer), not of the burn-in.
    const auto tb = Clock::now();
    if (!traj && burn > 0)
        run_interruptibly(static_cast<std::uint64_t>(burn), [&core](std::uint64_t k) { core.burn_in(k); }, "during the burn-in");
    const double burn_seconds = std::chrono::duration<double>(Clock::now() - tb).count();
    const auto t0 = Clock::now();
    double eval_seconds = 0.0;
    std::vector<EprRow> rows;
    for (long long k = 0; k < frames; ++k) {
        throw_if_interrupted("at frame " + std::to_string(k) + " of " + std::to_string(frames));
        std::shared_ptr<const State> state;
        if (traj) {
            state = std::make_shared<const State>(traj->frames[static_cast<std::size_t>(burn + k * stride)]);
        } else {
            if (k > 0) run_interruptibly(static_cast<std::uint64_t>(stride), [&core](std::uint64_t n) { core.simulate(n); }, "between frames");
            state = std::make_shared<const State>(core.state());
        }
        std::shared_ptr<const Evaluation> ev;
        if (net) {
            const auto te = Clock::now();
            ev = core.evaluate(true, state);
            eval_seconds += std::chrono::duration<double>(Clock::now() - te).count();
            if (!ev) throw NumericalError("export: the network's evaluation of frame " + std::to_string(k) + " failed: " +
                                          core.training_status().message);
        }
        const ExportFrame f{state.get(), ev.get()};
        if (ev) {
            const auto est = core.estimate();
            EprRow r;
            r.step = state->step;
            r.time = state->time;
            r.snap_sq = ev->totals.epr_active / cfg.n;
            r.snap_div = ev->totals.epr_active_div / cfg.n;
            r.est_sq = est->epr_active;
            r.est_div = est->epr_active_div;
            if (est->x_part == XPart::Finite) {
                r.est_x = est->epr_x;
                r.est_total = est->epr_total;
            }
            rows.push_back(r);
        }
        // Learned values and the estimate so far, as the window writes them.
        if (h5) append_h5md_frame(*h5, cfg, f, ev ? core.estimate().get() : nullptr);
        if (xyz) xyz->append(f);
        if (vtk) vtk->append(f);
        if (csv) csv->append(f);
        std::cerr << "  frame " << (k + 1) << " / " << frames << " (step " << state->step << ")";
        if (ev) std::cerr << ": active EPR " << rows.back().snap_sq << " per particle, estimate " << rows.back().est_sq.mean
                          << " +- " << rows.back().est_sq.se;
        std::cerr << "\n";
    }

    std::vector<std::string> files{out};
    if (h5) h5->close();
    if (xyz) xyz->close();
    if (vtk) {
        vtk->close();
        files = vtk->files();
    }
    if (csv) {
        if (epr_csv) {
            std::ostringstream t;
            t << "step,time,epr_active,epr_active_div,epr_active_mean,epr_active_se,epr_active_div_mean,epr_active_div_se\n";
            for (const EprRow& r : rows) {
                std::string line;
                append_number(line, static_cast<std::int64_t>(r.step));
                for (double v : {r.time, r.snap_sq, r.snap_div, r.est_sq.mean, r.est_sq.se, r.est_div.mean, r.est_div.se}) {
                    line += ',';
                    append_number(line, v);
                }
                t << line << "\n";
            }
            epr_csv->write(t.str());
        }
        csv->close();
        if (epr_csv) {
            try {
                epr_csv->commit();
            } catch (...) {
                std::error_code ec;
                fs::remove(out, ec);
                throw;
            }
            files.push_back(epr_path);
        }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();

    std::uintmax_t bytes = 0;
    json jfiles = json::array();
    for (const auto& p : files) {
        bytes += size_of(p);
        jfiles.push_back({{"path", p}, {"bytes", size_of(p)}});
    }
    std::cerr << "export: " << frames << " frame(s) in " << seconds << " s (" << seconds / static_cast<double>(frames)
              << " s per frame, " << eval_seconds << " s of it in the network), " << bytes << " bytes in " << files.size()
              << " file(s) at " << out << "\n";
    json o;
    o["format"] = format;
    o["out"] = out;
    o["files"] = jfiles;
    o["bytes"] = bytes;
    o["frames"] = frames;
    o["n"] = cfg.n;
    o["seconds"] = seconds;
    o["seconds_per_frame"] = seconds / static_cast<double>(frames);
    o["network_seconds"] = eval_seconds;
    o["burn_in_seconds"] = burn_seconds;
    o["learned"] = net != nullptr;
    o["model"] = net ? json(model) : json(nullptr);
    if (net) {
        o["network_weights_fnv1a64"] = weights;
        o["network_archive_fnv1a64"] = archive.empty() ? json(nullptr) : json(archive);
        const EprRow& r = rows.back();
        o["epr_active"] = {{"mean", num(r.est_sq.mean)}, {"se", num(r.est_sq.se)}};
        o["epr_active_div"] = {{"mean", num(r.est_div.mean)}, {"se", num(r.est_div.se)}};
    }
    if (!note.empty()) o["note"] = note;
    if (a.has("--json")) std::cout << o.dump() << std::endl;
    return 0;
}

}  // namespace entroscope::cli

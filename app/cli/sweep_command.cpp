#include "sweep_command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_args.hpp"
#include "config_args.hpp"
#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/io/sweep_table.hpp"
#include "entroscope/score/score_model.hpp"
#include "entroscope/session/sweep.hpp"

namespace entroscope::cli {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// "a:b:n" (n values from a to b, evenly) or "v1,v2,...".
std::vector<double> parse_list(const std::string& flag, const std::string& text) {
    const auto number = [&](const std::string& s) {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0' || !std::isfinite(v)) throw ConfigError(flag, "expected a number, got '" + s + "' in '" + text + "'");
        return v;
    };
    const auto split = [](const std::string& s, char sep) {
        std::vector<std::string> out;
        std::string cur;
        for (char ch : s) {
            if (ch == sep) {
                out.push_back(cur);
                cur.clear();
            } else if (ch != ' ') {
                cur += ch;
            }
        }
        out.push_back(cur);
        return out;
    };
    if (text.find(':') != std::string::npos) {
        const auto parts = split(text, ':');
        if (parts.size() != 3) throw ConfigError(flag, "expected a:b:count or a comma-separated list, got '" + text + "'");
        const double a = number(parts[0]), b = number(parts[1]);
        char* end = nullptr;
        const long count = std::strtol(parts[2].c_str(), &end, 10);
        if (parts[2].empty() || *end != '\0' || count < 1 || count > 10000)
            throw ConfigError(flag, "the count in a:b:count must be an integer in [1, 10000], got '" + parts[2] + "'");
        if (count == 1 && a != b) throw ConfigError(flag, "a:b:1 with a != b: give a:a:1 or a single value");
        std::vector<double> out;
        for (long k = 0; k < count; ++k) out.push_back(count == 1 ? a : a + (b - a) * static_cast<double>(k) / static_cast<double>(count - 1));
        return out;
    }
    std::vector<double> out;
    for (const auto& p : split(text, ',')) out.push_back(number(p));
    return out;
}

// "phi,pe;phi,pe;...".
std::vector<SweepPoint> parse_points(const std::string& text) {
    std::vector<SweepPoint> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ';')) {
        if (item.find_first_not_of(' ') == std::string::npos) continue;  // a trailing ';'
        const auto v = parse_list("--points", item);
        if (v.size() != 2 || item.find(':') != std::string::npos)
            throw ConfigError("--points", "each point is 'phi,pe', got '" + item + "'");
        out.push_back({v[0], v[1]});
    }
    if (out.empty()) throw ConfigError("--points", "holds no point");
    return out;
}

// "i/n": every n-th point from the i-th (0-based).
std::pair<long, long> parse_only(const std::string& text) {
    const auto slash = text.find('/');
    char* e1 = nullptr;
    char* e2 = nullptr;
    const std::string si = text.substr(0, slash), sn = slash == std::string::npos ? "" : text.substr(slash + 1);
    const long i = std::strtol(si.c_str(), &e1, 10), n = std::strtol(sn.c_str(), &e2, 10);
    if (slash == std::string::npos || si.empty() || sn.empty() || *e1 != '\0' || *e2 != '\0' || n < 1 || i < 0 || i >= n)
        throw ConfigError("--only", "expected i/n with 0 <= i < n, got '" + text + "'");
    return {i, n};
}

// At most `digits` significant digits; for 17 the shortest that reads back
// as the same double (0.3, not 0.29999999999999999), so resumed points match.
std::string format_number(double v, int digits) {
    if (!std::isfinite(v)) return "";
    char buf[40];
    for (int d = digits < 17 ? digits : 15; d <= digits; ++d) {
        std::snprintf(buf, sizeof buf, "%.*g", d, v);
        if (d < 17 && digits == 17 && std::strtod(buf, nullptr) != v) continue;
        break;
    }
    return buf;
}

std::string minutes(double seconds) {
    char buf[32];
    if (seconds < 120) std::snprintf(buf, sizeof buf, "%.0f s", seconds);
    else std::snprintf(buf, sizeof buf, "%.1f min", seconds / 60.0);
    return buf;
}

}  // namespace

int cmd_sweep(const std::vector<std::string>& argv) {
    const Args a(argv, with_config_flags({"--points", "--steps", "--burn-in", "--samples", "--sample-every", "--train-steps", "--model",
                                          "--threads", "--out", "--only"}),
                 {"--json", "--resume"});
    const Config base = load_config(a, {"--phi", "--pe"});

    // The points, in grid order (phi outer, Pe inner), or as listed.
    std::vector<SweepPoint> points;
    if (a.has("--points")) {
        if (a.has("--phi") || a.has("--pe")) throw ConfigError("--points", "give either --points or --phi and --pe");
        points = parse_points(*a.value("--points"));
    } else {
        if (!a.has("--phi")) throw ConfigError("--phi", "is required (a list a:b:count or v1,v2,...), or give --points");
        if (!a.has("--pe")) throw ConfigError("--pe", "is required (a list a:b:count or v1,v2,...), or give --points");
        points = sweep_grid(parse_list("--phi", *a.value("--phi")), parse_list("--pe", *a.value("--pe")));
    }
    for (const SweepPoint& p : points) {
        try {
            sweep_point_config(base, p);
        } catch (const ConfigError& e) {
            const std::string flag = a.has("--points") ? "--points" : e.key() == "pe" ? "--pe" : "--phi";
            throw ConfigError(flag, "the point (phi " + format_number(p.phi, 6) + ", Pe " + format_number(p.pe, 6) + "): " + e.what());
        }
    }

    const Config points_cfg0 = sweep_point_config(base, points.front());

    SweepOptions opt;
    const auto count = [&](const char* flag, long long fallback, long long lo) {
        const long long v = a.integer(flag, fallback);
        if (v < lo) throw ConfigError(flag, "must be >= " + std::to_string(lo));
        return v;
    };
    opt.burn_in = static_cast<std::uint64_t>(count("--burn-in", 100000, 0));
    // Any two of --steps (measured steps), --samples and --sample-every.
    const bool has_steps = a.has("--steps"), has_samples = a.has("--samples"), has_every = a.has("--sample-every");
    long long every = count("--sample-every", 2000, 1);
    long long samples = count("--samples", 10, 1);
    if (has_steps) {
        const long long steps = count("--steps", 0, 1);
        if (has_samples && has_every && steps != samples * every)
            throw ConfigError("--steps", "differs from --samples x --sample-every; give two of the three");
        if (has_samples && !has_every) every = std::max(1LL, steps / samples);
        else samples = std::max(1LL, steps / every);
    }
    if (samples > 1000000) throw ConfigError("--samples", "must be <= 1000000");
    opt.samples = static_cast<int>(samples);
    opt.sample_every = static_cast<std::uint64_t>(every);
    opt.train_steps = static_cast<std::uint64_t>(count("--train-steps", 0, 0));
    const long long threads = count("--threads", 1, 1);
    if (threads > 1024) throw ConfigError("--threads", "must be in [1, 1024]");

    std::string model = a.value("--model").value_or("");
    if (model == "none") {
        if (opt.train_steps > 0) throw ConfigError("--model", "none (no network) cannot be trained: drop --train-steps");
        opt.network = false;
    } else if (model.empty() && opt.train_steps == 0) {
#ifdef ENTROSCOPE_RESOURCE_DIR
        const std::string shipped = std::string(ENTROSCOPE_RESOURCE_DIR) + "/models/default_fast.pt";
        std::error_code ec;
        if (std::filesystem::exists(shipped, ec)) model = shipped;
#endif
        if (model.empty())
            throw ConfigError("--model", "no network to transfer: give --model M.pt, --model none (phase indicators only) or --train-steps T");
    }
    if (!model.empty() && model != "none") {
        std::error_code ec;
        if (!std::filesystem::exists(model, ec)) throw ConfigError("--model", "'" + model + "' does not exist");
    }
    if (opt.network) opt.model_path = model;

    // The slice of this job.
    std::vector<std::size_t> mine;
    if (const auto only = a.value("--only")) {
        const auto [i, n] = parse_only(*only);
        for (std::size_t k = static_cast<std::size_t>(i); k < points.size(); k += static_cast<std::size_t>(n)) mine.push_back(k);
    } else {
        for (std::size_t k = 0; k < points.size(); ++k) mine.push_back(k);
    }

    // What an earlier run of the same table finished.
    const auto out = a.value("--out");
    if (out && out->empty()) throw ConfigError("--out", "is empty");
    if (a.has("--resume") && !out) throw ConfigError("--resume", "needs --out (the table to continue)");
    std::vector<SweepRow> old_rows;
    if (out) {
        std::error_code ec;
        if (std::filesystem::exists(*out, ec)) {
            try {
                old_rows = read_sweep_table(*out);
            } catch (const IoError& e) {
                throw ConfigError("--out", e.what());
            }
        } else if (a.has("--resume")) {
            throw ConfigError("--resume", "'" + *out + "' does not exist");
        }
        for (const SweepRow& r : old_rows) {
            if (r.model != base.model || r.n != base.n)
                throw ConfigError("--out", "'" + *out + "' holds points of another system (model or n differ); choose another file");
        }
    }
    const auto done_row = [&](const SweepPoint& p) -> const SweepRow* {
        for (const SweepRow& r : old_rows)
            if (r.result.phi == p.phi && r.result.pe == p.pe) return &r;
        return nullptr;
    };
    std::vector<std::size_t> todo;
    for (std::size_t k : mine)
        if (!done_row(points[k])) todo.push_back(k);

    // Torch's pool is process-wide: one thread per concurrent point, the
    // spare threads to the points when there are fewer points than threads.
    const int workers = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(threads), todo.size())));
    opt.sim_threads = std::max(1, static_cast<int>(threads) / workers);
    set_network_threads(opt.sim_threads);

    // Rows by point index; the file is rewritten whole, atomically, after
    // every finished point (rows of other points it held are kept at the end).
    std::map<std::size_t, SweepRow> rows;
    std::vector<const SweepRow*> used;
    for (std::size_t k : mine)
        if (const SweepRow* r = done_row(points[k])) {
            rows[k] = *r;
            rows[k].index = k;  // its place in this run's list
            used.push_back(r);
        }
    // Rows this run does not take over (other points, other slices) stay as they were.
    std::vector<SweepRow> foreign;
    for (const SweepRow& r : old_rows)
        if (std::find(used.begin(), used.end(), &r) == used.end()) foreign.push_back(r);
    const auto write_table = [&] {
        if (!out) return;
        std::vector<SweepRow> all;
        for (const auto& [k, r] : rows) all.push_back(r);
        all.insert(all.end(), foreign.begin(), foreign.end());
        write_file_atomically(*out, sweep_table_text(*out, all));
    };

    std::vector<SweepPoint> run_points;
    for (std::size_t k : todo) run_points.push_back(points[k]);
    const auto t0 = Clock::now();
    auto last_report = t0;
    std::size_t finished = 0;
    SweepCallbacks cb;
    cb.progress = [&](double f) {
        const auto now = Clock::now();
        if (now - last_report < std::chrono::seconds(15) || f <= 0.0) return;
        last_report = now;
        const double elapsed = std::chrono::duration<double>(now - t0).count();
        std::cerr << "  " << format_number(100.0 * f, 3) << " % of " << run_points.size() << " point(s), ETA "
                  << minutes(elapsed * (1.0 - f) / f) << "\n";
    };
    cb.finished = [&](const SweepResult& r) {
        const std::size_t k = todo[r.index];
        rows[k] = SweepRow{k, r, base.model, base.n};
        write_table();
        ++finished;
        std::cerr << "  point " << k << " (phi " << format_number(r.phi, 4) << ", Pe " << format_number(r.pe, 4) << ") in "
                  << minutes(r.seconds) << ": " << r.phase_label() << " (largest cluster "
                  << format_number(r.phase.largest_cluster_fraction, 3) << ", bimodality " << format_number(r.phase.density_bimodality, 3)
                  << ")";
        if (r.epr_active.count > 0)
            std::cerr << ", active EPR " << format_number(r.epr_active.mean, 4) << " +- " << format_number(r.epr_active.se, 2) << " per particle";
        if (r.failed) std::cerr << ": " << r.note;
        std::cerr << " [" << finished << "/" << run_points.size() << "]\n";
    };
    // A network that does not fit (another model kind or architecture) is
    // bad input, said now rather than by every point.
    if (opt.network && !opt.model_path.empty()) {
        try {
            ScoreModel::load(opt.model_path, &points_cfg0);
        } catch (const ConfigError& e) {
            throw ConfigError("--model", "'" + opt.model_path + "' does not fit this system (" + e.what() + ")");
        }
    }
    // Written once before the first point, so that an unwritable --out is
    // an error now and not after the first point's minutes.
    write_table();
    std::cerr << "sweep: " << to_string(base.model) << ", n = " << base.n << ", " << points.size() << " point(s)";
    if (mine.size() != points.size()) std::cerr << ", " << mine.size() << " in this slice";
    std::cerr << ", " << mine.size() - todo.size() << " already in the table, " << todo.size() << " to run on " << workers
              << " worker(s); burn-in " << opt.burn_in << ", " << opt.samples << " states " << opt.sample_every << " steps apart, "
              << (opt.network ? (opt.train_steps > 0 ? "training " + std::to_string(opt.train_steps) + " steps per point"
                                                     : "network " + std::filesystem::path(opt.model_path).filename().string() + " transferred")
                              : std::string("no network"))
              << "\n";
    if (!run_points.empty()) run_sweep(base, run_points, opt, workers, cb);

    if (a.has("--json")) {
        json o;
        json pts = json::array();
        for (std::size_t k : mine)
            if (rows.count(k)) pts.push_back(json::parse(sweep_row_json(rows[k])));
        o["points"] = pts;
        o["criterion"] = phase_criterion(opt.phase);
        o["network"] = opt.network ? json(opt.model_path) : json(nullptr);
        o["train_steps"] = opt.train_steps;
        o["burn_in"] = opt.burn_in;
        o["samples"] = opt.samples;
        o["sample_every"] = opt.sample_every;
        o["units"] = "EPR per particle (k_B per unit time), mean and standard error over the measured states";
        if (out) o["out"] = *out;
        std::cout << o.dump() << std::endl;
    }
    return 0;
}

}  // namespace entroscope::cli

#include "entroscope/io/sweep_table.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "entroscope/core/errors.hpp"

namespace entroscope {

namespace {

using nlohmann::json;

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
json mean_se(const MeanSe& m) {
    if (m.count == 0 || !std::isfinite(m.mean)) return nullptr;
    return {{"mean", num(m.mean)}, {"se", num(m.se)}};
}

// The table's columns, in CSV order. The EPR ones are {mean, se} objects in
// JSON lines and two columns (_mean, _se) in CSV.
const std::vector<std::string> kEprKeys = {"epr_active", "epr_active_div", "epr_total", "epr_active_network_free",
                                           "epr_total_network_free"};
const std::vector<std::string> kNumberKeys = {"index", "phi", "pe", "largest_cluster_fraction", "density_bimodality", "dense_phi",
                                              "dilute_phi", "dense_share", "states", "evaluations", "network_step", "n", "seconds"};
const std::vector<std::string> kTextKeys = {"phase", "model", "note"};

std::vector<std::string> csv_columns() {
    std::vector<std::string> c = {"index", "phi", "pe", "phase", "largest_cluster_fraction", "density_bimodality",
                                  "dense_phi", "dilute_phi", "dense_share"};
    for (const auto& k : kEprKeys) {
        c.push_back(k + "_mean");
        c.push_back(k + "_se");
    }
    for (const char* k : {"states", "evaluations", "network_step", "model", "n", "seconds", "note"}) c.push_back(k);
    return c;
}

bool is_csv(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return ext == ".csv";
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

std::string csv_quote(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + "\"";
}

std::vector<std::string> csv_split(const std::string& line) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (std::size_t k = 0; k < line.size(); ++k) {
        const char ch = line[k];
        if (quoted) {
            if (ch == '"' && k + 1 < line.size() && line[k + 1] == '"') {
                cur += '"';
                ++k;
            } else if (ch == '"') {
                quoted = false;
            } else {
                cur += ch;
            }
        } else if (ch == '"') {
            quoted = true;
        } else if (ch == ',') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    out.push_back(cur);
    return out;
}

std::string csv_row(const json& row) {
    std::string line;
    for (const auto& c : csv_columns()) {
        if (!line.empty()) line += ',';
        std::string cell;
        const bool mean = c.size() > 5 && c.compare(c.size() - 5, 5, "_mean") == 0;
        const bool se = c.size() > 3 && c.compare(c.size() - 3, 3, "_se") == 0;
        if (mean || se) {
            const json& v = row.at(c.substr(0, c.size() - (mean ? 5 : 3)));
            if (v.is_object() && v.at(mean ? "mean" : "se").is_number()) cell = format_number(v.at(mean ? "mean" : "se").get<double>(), 10);
        } else if (row.at(c).is_string()) {
            cell = csv_quote(row.at(c).get<std::string>());
        } else if (row.at(c).is_number()) {
            cell = format_number(row.at(c).get<double>(), c == "phi" || c == "pe" ? 17 : 10);
        }
        line += cell;
    }
    return line;
}

json csv_row_json(const std::vector<std::string>& cells, const std::string& path) {
    const auto cols = csv_columns();
    if (cells.size() != cols.size()) throw IoError("'" + path + "': a row has " + std::to_string(cells.size()) + " cells, the header " + std::to_string(cols.size()));
    std::map<std::string, std::string> at;
    for (std::size_t k = 0; k < cols.size(); ++k) at[cols[k]] = cells[k];
    const auto value = [&](const std::string& key) -> json {
        const std::string& s = at[key];
        if (s.empty()) return nullptr;
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (*end != '\0') throw IoError("'" + path + "': column " + key + " holds '" + s + "', not a number");
        return v;
    };
    json row;
    for (const auto& k : kNumberKeys) row[k] = value(k);
    for (const auto& k : kTextKeys) row[k] = at[k];
    for (const auto& k : kEprKeys) {
        const json m = value(k + "_mean"), s = value(k + "_se");
        row[k] = m.is_null() ? json(nullptr) : json{{"mean", m}, {"se", s}};
    }
    return row;
}

// The rows of an existing table (JSON lines or CSV by the extension).
std::vector<json> read_table(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("cannot read '" + path + "'");
    std::vector<json> rows;
    std::string line;
    bool header = is_csv(path);
    std::string expected;
    for (const auto& c : csv_columns()) expected += (expected.empty() ? "" : ",") + c;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        if (header) {
            if (line != expected) throw IoError("'" + path + "' is not a sweep table of this version (its header differs)");
            header = false;
            continue;
        }
        json row;
        if (is_csv(path)) {
            row = csv_row_json(csv_split(line), path);
        } else {
            try {
                row = json::parse(line);
            } catch (const json::parse_error&) {
                throw IoError("'" + path + "' is not a sweep table (a line is not JSON)");
            }
        }
        if (!row.is_object() || !row.contains("phi") || !row["phi"].is_number() || !row.contains("pe") || !row["pe"].is_number())
            throw IoError("'" + path + "' is not a sweep table (a row without numbers phi and pe)");
        rows.push_back(std::move(row));
    }
    return rows;
}

json row_of(const SweepRow& row) {
    const SweepResult& r = row.result;
    json o;
    o["index"] = row.index;
    o["phi"] = r.phi;
    o["pe"] = r.pe;
    o["phase"] = r.phase_label();
    o["largest_cluster_fraction"] = num(r.phase.largest_cluster_fraction);
    o["density_bimodality"] = num(r.phase.density_bimodality);
    o["dense_phi"] = num(r.phase.dense_phi);
    o["dilute_phi"] = num(r.phase.dilute_phi);
    o["dense_share"] = num(r.phase.dense_share);
    o["epr_active"] = mean_se(r.epr_active);
    o["epr_active_div"] = mean_se(r.epr_active_div);
    o["epr_total"] = mean_se(r.epr_total);
    o["epr_active_network_free"] = mean_se(r.epr_active_identity);
    o["epr_total_network_free"] = mean_se(r.epr_total_network_free);
    o["states"] = r.phase.states;
    o["evaluations"] = r.evaluations;
    o["network_step"] = r.network_step;
    o["model"] = to_string(row.model);
    o["n"] = row.n;
    o["seconds"] = r.seconds;
    o["note"] = r.note;
    return o;
}

std::string table_text(const std::string& path, const std::vector<json>& rows) {
    std::string text;
    if (is_csv(path)) {
        for (const auto& c : csv_columns()) text += (text.empty() ? "" : ",") + c;
        text += '\n';
        for (const auto& r : rows) text += csv_row(r) + '\n';
    } else {
        for (const auto& r : rows) text += r.dump() + '\n';
    }
    return text;
}


constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double number_or_nan(const json& v) { return v.is_number() ? v.get<double>() : kNaN; }

MeanSe mean_se_of(const json& v, std::int64_t count) {
    MeanSe m;
    if (!v.is_object() || !v.contains("mean") || !v["mean"].is_number()) {
        m.mean = kNaN;
        m.se = kNaN;
        return m;
    }
    m.mean = v["mean"].get<double>();
    m.se = v.contains("se") ? number_or_nan(v["se"]) : kNaN;
    m.count = std::max<std::int64_t>(1, count);
    return m;
}

SweepRow row_from_json(const json& o, const std::string& path) {
    SweepRow row;
    const std::string model = o.value("model", std::string());
    if (model == "abp") row.model = ModelKind::Abp;
    else if (model == "aoup") row.model = ModelKind::Aoup;
    else throw IoError("'" + path + "': a row has the unknown model '" + model + "'");
    const auto whole = [&](const char* key) { return o.contains(key) && o[key].is_number() ? o[key].get<double>() : 0.0; };
    row.n = static_cast<int>(whole("n"));
    row.index = static_cast<std::size_t>(std::max(0.0, whole("index")));
    SweepResult& r = row.result;
    r.phi = o["phi"].get<double>();
    r.pe = o["pe"].get<double>();
    const std::string phase = o.value("phase", std::string());
    r.failed = phase == "failed";
    r.phase.separated = phase == "separated";
    r.phase.n = row.n;
    r.phase.states = static_cast<int>(whole("states"));
    r.phase.largest_cluster_fraction = number_or_nan(o.value("largest_cluster_fraction", json()));
    r.phase.density_bimodality = number_or_nan(o.value("density_bimodality", json()));
    r.phase.dense_phi = number_or_nan(o.value("dense_phi", json()));
    r.phase.dilute_phi = number_or_nan(o.value("dilute_phi", json()));
    r.phase.dense_share = number_or_nan(o.value("dense_share", json()));
    r.phase.criterion = phase_criterion();
    r.evaluations = static_cast<int>(whole("evaluations"));
    r.epr_active = mean_se_of(o.value("epr_active", json()), r.evaluations);
    r.epr_active_div = mean_se_of(o.value("epr_active_div", json()), r.evaluations);
    r.epr_total = mean_se_of(o.value("epr_total", json()), r.evaluations);
    r.epr_active_identity = mean_se_of(o.value("epr_active_network_free", json()), r.evaluations);
    r.epr_total_network_free = mean_se_of(o.value("epr_total_network_free", json()), r.evaluations);
    r.network_step = static_cast<std::uint64_t>(whole("network_step"));
    r.seconds = whole("seconds");
    r.note = o.value("note", std::string());
    return row;
}

}  // namespace

bool sweep_table_is_csv(const std::string& path) { return is_csv(path); }

std::string sweep_row_json(const SweepRow& row) { return row_of(row).dump(); }

std::string sweep_table_text(const std::string& path, const std::vector<SweepRow>& rows) {
    std::vector<json> all;
    all.reserve(rows.size());
    for (const SweepRow& r : rows) all.push_back(row_of(r));
    return table_text(path, all);
}

std::vector<SweepRow> read_sweep_table(const std::string& path) {
    std::vector<SweepRow> out;
    for (const json& o : read_table(path)) out.push_back(row_from_json(o, path));
    return out;
}

}  // namespace entroscope

#include "config_args.hpp"

#include <fstream>
#include <sstream>

#include "entroscope/core/errors.hpp"

namespace entroscope::cli {

using nlohmann::json;

namespace {

const std::set<std::string> kConfigFlags = {"--config", "--n", "--phi", "--v0", "--pe", "--seed", "--kind"};

}  // namespace

std::set<std::string> with_config_flags(std::set<std::string> s) {
    s.insert(kConfigFlags.begin(), kConfigFlags.end());
    return s;
}

json config_file_json(const Args& a) {
    json j = json::object();
    if (const auto path = a.value("--config")) {
        std::ifstream in(*path, std::ios::binary);
        if (!in) throw IoError("cannot open config file '" + *path + "'");
        std::stringstream ss;
        ss << in.rdbuf();
        try {
            j = json::parse(ss.str(), nullptr, true, true);
        } catch (const json::parse_error& e) {
            throw ConfigError("--config", "'" + *path + "' is not valid JSON: " + e.what());
        }
        if (!j.is_object()) throw ConfigError("--config", "'" + *path + "' must hold a JSON object");
    }
    return j;
}

Config load_config(const Args& a, const std::set<std::string>& skip) {
    json j = config_file_json(a);
    const auto has = [&](const char* flag) { return skip.count(flag) == 0 && a.has(flag); };
    if (const auto m = a.value("--kind")) j["model"] = *m;  // --model names a checkpoint
    if (has("--n")) j["n"] = a.integer("--n", 0);
    if (has("--phi")) {
        j.erase("box");
        j["phi"] = a.number("--phi", 0);
    }
    if (has("--v0") && has("--pe")) throw ConfigError("--pe", "give at most one of --v0 and --pe");
    if (has("--v0")) {
        j.erase("pe");
        j["v0"] = a.number("--v0", 0);
    }
    if (has("--pe")) {
        j.erase("v0");
        j["pe"] = a.number("--pe", 0);
    }
    if (has("--seed")) {
        const auto s = a.integer("--seed", 0);
        if (s < 0) throw ConfigError("--seed", "must be >= 0");
        j["seed"] = s;
    }
    return parse_config(j.dump());
}

}  // namespace entroscope::cli

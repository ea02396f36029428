#pragma once
// The config flags every command shares: --config F and the overrides
// --n --phi --v0 --pe --seed --kind.
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_args.hpp"
#include "entroscope/core/config.hpp"

namespace entroscope::cli {

// `s` with the config flags added (for Args' value flags).
std::set<std::string> with_config_flags(std::set<std::string> s);

// The --config file's JSON object (an empty one without --config). Throws
// IoError when it cannot be read, ConfigError when it is not a JSON object.
nlohmann::json config_file_json(const Args& a);

// The config is the file (or the model's defaults) with command-line
// overrides applied to its JSON, so validation names the same keys. The
// overrides named in `skip` are left out (a command that gives --phi and
// --pe a meaning of its own: sweep's lists).
Config load_config(const Args& a, const std::set<std::string>& skip = {});

}  // namespace entroscope::cli

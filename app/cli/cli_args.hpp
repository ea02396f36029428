#pragma once
// Command-line parsing for entroscope-cli: `--flag value` and `--switch`.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace entroscope::cli {

class Args {
public:
    // Throws ConfigError for unknown flags or a flag missing its value.
    Args(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
         const std::set<std::string>& switches);
    bool has(const std::string& flag) const { return values_.count(flag) > 0 || switches_.count(flag) > 0; }
    std::optional<std::string> value(const std::string& flag) const;
    // Typed values; throw ConfigError naming the flag on a malformed value.
    long long integer(const std::string& flag, long long fallback) const;
    double number(const std::string& flag, double fallback) const;
private:
    std::map<std::string, std::string> values_;
    std::set<std::string> switches_;
};

}  // namespace entroscope::cli

#include "cli_args.hpp"

#include <cmath>
#include <cstdlib>

#include "entroscope/core/errors.hpp"

namespace entroscope::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
           const std::set<std::string>& switches) {
    for (std::size_t k = 0; k < argv.size(); ++k) {
        std::string a = argv[k];
        std::string v;
        bool inline_value = false;
        if (const auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
            v = a.substr(eq + 1);
            a = a.substr(0, eq);
            inline_value = true;
        }
        if (value_flags.count(a)) {
            if (!inline_value) {
                if (k + 1 >= argv.size()) throw ConfigError(a, "needs a value");
                v = argv[++k];
            }
            values_[a] = v;
        } else if (switches.count(a) && !inline_value) {
            switches_.insert(a);
        } else {
            throw ConfigError(a, a.rfind("--", 0) == 0 ? "unknown option for this command" : "unexpected argument");
        }
    }
}

std::optional<std::string> Args::value(const std::string& flag) const {
    const auto it = values_.find(flag);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

long long Args::integer(const std::string& flag, long long fallback) const {
    const auto v = value(flag);
    if (!v) return fallback;
    char* end = nullptr;
    errno = 0;
    const long long r = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || errno != 0) throw ConfigError(flag, "expected an integer, got '" + *v + "'");
    return r;
}

double Args::number(const std::string& flag, double fallback) const {
    const auto v = value(flag);
    if (!v) return fallback;
    char* end = nullptr;
    const double r = std::strtod(v->c_str(), &end);
    if (v->empty() || *end != '\0' || !std::isfinite(r)) throw ConfigError(flag, "expected a number, got '" + *v + "'");
    return r;
}

}  // namespace entroscope::cli

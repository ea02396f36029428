#pragma once
// Typed exceptions of the engine. Everything the engine throws derives from
// entroscope::Error, so the GUI worker and `main` can catch one root.
#include <stdexcept>
#include <string>

namespace entroscope {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Invalid user input: a config key, a CLI flag, a parameter change. `key`
// names the offending key (JSON path such as "springs[2][0]") when known.
class ConfigError : public Error {
public:
    ConfigError(std::string key, const std::string& reason)
        : Error(key.empty() ? reason : key + ": " + reason), key_(std::move(key)) {}
    const std::string& key() const noexcept { return key_; }
private:
    std::string key_;
};

// A file could not be read or written, or its content is malformed.
class IoError : public Error {
public:
    using Error::Error;
};

// The dynamics or an estimate produced NaN/Inf or left its domain.
class NumericalError : public Error {
public:
    using Error::Error;
};

}  // namespace entroscope

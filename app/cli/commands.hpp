#pragma once
#include <string>
#include <vector>

namespace entroscope::cli {

// Runs one CLI command; returns the exit code. Throws ConfigError/IoError for
// bad input (main maps them to exit 2) and other exceptions for failures.
int run_command(const std::string& command, const std::vector<std::string>& args);

}  // namespace entroscope::cli

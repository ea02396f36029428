#pragma once
#include <string>
#include <vector>

namespace entroscope::cli {

// `entroscope-cli sweep`: a grid or list of (phi, Pe) points run by the
// engine's sweep (session/sweep.hpp) into a resumable table (docs/cli.md).
// Throws ConfigError / IoError for bad input (exit 2).
int cmd_sweep(const std::vector<std::string>& argv);

}  // namespace entroscope::cli

#pragma once
// `entroscope-cli bench --what accuracy`: time to 2 % of the exact entropy
// production on a linear oracle (by default the single trap).
#include "cli_args.hpp"
#include "config_args.hpp"
#include "entroscope/core/config.hpp"

namespace entroscope::cli {

// The benchmark's system: --config, or the built-in single trap.
Config accuracy_config(const Args& a);

// Trains in steps of --check-every up to --steps, evaluating the learned
// active and total EPR on a fixed set of snapshots after each, and reports
// the training time at which all are within 2 % of the Euler chain's exact
// values. Throws ConfigError for a system that is not linear or bad flags.
int bench_accuracy(const Args& a, const Config& cfg);

}  // namespace entroscope::cli

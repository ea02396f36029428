#pragma once
// `entroscope-cli bench --what accuracy`: time to 2 % of the exact entropy
// production on a linear oracle (by default the single trap), or on an
// interacting system with noise on every variable, of the network-free
// total plus the time step's share.
#include "cli_args.hpp"
#include "config_args.hpp"
#include "entroscope/core/config.hpp"

namespace entroscope::cli {

// The benchmark's system: --config, or the built-in single trap.
Config accuracy_config(const Args& a);

// Trains in steps of --check-every up to --steps, evaluating the learned
// active and total EPR on a fixed set of snapshots after each, and reports
// the training time at which all are within 2 % of the Euler chain's exact
// values (interacting: the reference above, per snapshot, needing --burn-in
// and --eval-every). Throws ConfigError for bad flags or a system without a
// reference.
int bench_accuracy(const Args& a, const Config& cfg);

}  // namespace entroscope::cli

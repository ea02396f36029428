#pragma once
#include <string>
#include <vector>

namespace entroscope::cli {

// `entroscope-cli export`: frames of a simulated system (--config) or of a
// stored trajectory (--trajectory T.h5), with the network's per-particle
// sigma_i and v_i and the EPR time series, as H5MD, Extended XYZ, VTK XML
// or CSV (docs/cli.md). Throws ConfigError / IoError for bad input, an
// unwritable target, a full disk or a trajectory that ends early (exit 2);
// no file appears at the target then.
int cmd_export(const std::vector<std::string>& argv);

}  // namespace entroscope::cli

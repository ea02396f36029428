#pragma once
// `entroscope-cli render` (builds with render/, i.e. with VTK): a PNG figure
// of one state, or a movie (MP4 or PNG sequence) of many, from a live run
// of a config or from a stored H5MD trajectory. Options: docs/cli.md.
#include <string>
#include <vector>

namespace entroscope::cli {

// Throws ConfigError for bad flags (a learned quantity without a fitting
// network, a trajectory shorter than asked, vector output), IoError when
// nothing can be rendered (no display) or written (the target is then
// left as it was).
int cmd_render(const std::vector<std::string>& argv);

}  // namespace entroscope::cli

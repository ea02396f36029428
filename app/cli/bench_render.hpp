#pragma once
// `entroscope-cli bench --what render` (builds with render/, i.e. with VTK).
#include <string>
#include <vector>

namespace entroscope::cli {

// Offscreen renders per second of a simulated state; prints JSON. Throws
// ConfigError for bad flags, IoError when there is no display to render on.
int bench_render(const std::vector<std::string>& argv);

}  // namespace entroscope::cli

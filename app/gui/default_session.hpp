#pragma once
#include "entroscope/core/config.hpp"

namespace entroscope::gui {

// The embedded default system (resources/default_session.json, compiled into
// the executable). Throws ConfigError if the embedded file were invalid.
Config embedded_default_config();

}  // namespace entroscope::gui

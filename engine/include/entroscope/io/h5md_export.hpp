#pragma once
// One exported frame into an H5MD file, the same way for the CLI's `export`
// and the window: the state (H5mdWriter::append), its learned per-particle
// columns (export_frame.hpp names; the active variable is already the
// built-in /particles/all/active) and, with learned values, the EPR series
// under /observables, per particle:
//   epr_active, epr_active_div            this state's own value (both estimators)
//   epr_active_estimate, ..._div_estimate the running estimate [mean, se]
//   epr_x_estimate, epr_total_estimate    where the position part is finite
#include "entroscope/io/export_frame.hpp"
#include "entroscope/io/h5md.hpp"
#include "entroscope/session/frame.hpp"

namespace entroscope {

// `estimate` may be null (no series of estimates). Throws IoError as the
// writer does, or when the frame does not fit cfg.
void append_h5md_frame(H5mdWriter& w, const Config& cfg, const ExportFrame& f, const GlobalEstimate* estimate);

}  // namespace entroscope

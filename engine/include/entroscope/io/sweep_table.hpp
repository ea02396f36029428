#pragma once
// The table of a sweep (`entroscope-cli sweep --out`, the window's phase
// diagram): one row per finished (phi, Pe) point, as JSON lines, or as CSV
// when the file name ends in ".csv" (each EPR {mean, se} in two columns
// _mean and _se; an undefined value is null in JSON and empty in CSV). The
// columns and their meaning are listed in docs/cli.md.
#include <cstddef>
#include <string>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/session/sweep.hpp"

namespace entroscope {

struct SweepRow {
    std::size_t index = 0;     // the point's place in its sweep's list
    SweepResult result;        // result.index is not stored (see index)
    ModelKind model = ModelKind::Abp;
    int n = 0;
};

// By the extension, case-insensitively.
bool sweep_table_is_csv(const std::string& path);
// One row as a JSON object on one line (a JSON-lines table's line).
std::string sweep_row_json(const SweepRow& row);
// The whole file's text.
std::string sweep_table_text(const std::string& path, const std::vector<SweepRow>& rows);
// Reads a table written by sweep_table_text. Throws IoError naming the file
// and the problem: unreadable, a line that is not JSON, a CSV header of
// another version, a row without numbers phi and pe, a cell that is not a
// number, an unknown model.
std::vector<SweepRow> read_sweep_table(const std::string& path);

}  // namespace entroscope

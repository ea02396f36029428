#pragma once
// Data of the state on screen (File > Export data…), by the file's
// extension: Extended XYZ (.xyz), VTK XML particles (.vtp), fields (.vti)
// or both as a one-frame series (.pvd), per-particle CSV (.csv), H5MD
// (.h5, .h5md) with sigma_i, v_i, the EPR estimate and the parameters. The
// engine's writers (engine/io) do the work; every file is written to a
// temporary name and renamed.
#include <QString>
#include <QStringList>

namespace entroscope {
struct Frame;
}

namespace entroscope::gui {

// The formats offered, as file-dialog filters.
QStringList data_export_filters();

// Writes `f` (its state; its learned values when it has them) to `path`.
// Empty on success, else what went wrong (nothing is then left at `path`).
// `note` (optional) gets what the file lacks (no learned values yet ...).
QString export_state_data(const Frame& f, const QString& path, QString* note = nullptr);

}  // namespace entroscope::gui

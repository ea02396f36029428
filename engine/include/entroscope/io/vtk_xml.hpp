#pragma once
// VTK XML files for ParaView, written by hand (the engine links no VTK, and
// the headless build exports them too):
//
//   .vtp  PolyData: one point per particle at (x, y, 0), folded into [0, L),
//         one vertex cell each (ParaView draws them as they are), point data
//         species (Int32), image (Int32, 2), the active variable and the
//         learned columns of export_frame.hpp (Float64; v_x and, for AOUP,
//         v_act as 3-component vectors with z = 0, so Glyph takes them);
//         field data TimeValue, Step and Box.
//   .vti  ImageData: the engine's fields (analysis/fields.hpp) on the
//         bins x bins grid, one point per cell centre (origin h/2, spacing
//         h): density, sigma (kernel average of sigma_sq; NaN where masked),
//         mask (UInt8, 1 = too few particles) and current (3 components, z = 0).
//   .pvd  a collection: per frame, part 0 the particles, part 1 the fields,
//         at timestep = simulation time. ParaView opens it as a series.
//
// Encoding: format="binary" (base64 inline) with header_type="UInt64",
// uncompressed, Float64 values. Chosen over "ascii" because masked cells
// are NaN, which VTK's ASCII parser (C++ stream extraction) cannot read,
// and because it keeps every double exact at about a third of the size of
// a 17-digit text. Byte order is the host's (stated in the file).
#include <memory>
#include <string>
#include <vector>

#include "entroscope/analysis/fields.hpp"
#include "entroscope/core/config.hpp"
#include "entroscope/io/export_frame.hpp"

namespace entroscope {

// The text of a .vtp file of one frame. Throws IoError when the frame does
// not fit cfg.
std::string vtp_text(const Config& cfg, const ExportFrame& f);
// The text of a .vti file of an evaluation's fields (density must be there;
// sigma and current when computed). Throws IoError for an empty density or
// fields on different grids.
std::string vti_text(const Evaluation& e, double time, std::uint64_t step);

// A series: NAME.pvd plus NAME_particles_KKKKKK.vtp and, for frames with
// fields, NAME_fields_KKKKKK.vti in the same directory. Nothing appears
// before close(): every file is written to a temporary name and all are
// renamed at close() (the .pvd last); a writer destroyed without close(),
// or failing, removes them all.
class VtkSeriesWriter {
public:
    // `pvd_path` must end in ".pvd". Throws IoError (missing directory,
    // not writable, wrong suffix).
    VtkSeriesWriter(const std::string& pvd_path, const Config& cfg);
    ~VtkSeriesWriter();
    VtkSeriesWriter(const VtkSeriesWriter&) = delete;
    VtkSeriesWriter& operator=(const VtkSeriesWriter&) = delete;

    // Writes the frame's files (to temporary names). Throws IoError.
    void append(const ExportFrame& f);
    std::size_t frames() const;
    // The final paths of every file of the series (the .pvd first).
    std::vector<std::string> files() const;
    // Renames everything into place. Throws IoError; then nothing is left.
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace entroscope

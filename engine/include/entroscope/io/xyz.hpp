#pragma once
// Extended XYZ (the format of ASE and OVITO), one frame or a series in one
// file. Each frame is
//
//   N
//   Lattice="L 0 0 0 L 0 0 0 1" Properties=species:S:1:pos:R:3:image:I:2:type:I:1:theta:R:1:sigma_sq:R:1:... pbc="T T F" Time=t Step=s Model=abp
//   X x y 0 ix iy type theta sigma_sq ...
//
// The system is 2-D: z = 0, and the third lattice vector (length 1) is not
// periodic (pbc "T T F"). Positions are folded into [0, L); unwrapped =
// pos + image * L. The columns after `type` are export_frame.hpp's, in its
// order; learned ones appear only when computed. species is "X" for every
// particle: ASE turns the species column into chemical symbols and rejects
// names that are not elements ("X" is its dummy atom); the particle type is
// the integer column `type`. Numbers are written in the shortest form that
// reads back exactly; a NaN is "nan" (ASE reads it).
#include <memory>
#include <string>

#include "entroscope/core/config.hpp"
#include "entroscope/io/export_frame.hpp"

namespace entroscope {

class XyzWriter {
public:
    // Creates PATH.tmp-XXXXXX next to PATH. Throws IoError (missing
    // directory, not writable).
    XyzWriter(const std::string& path, const Config& cfg);
    // Without close(): the temporary file is removed, PATH left alone.
    ~XyzWriter();
    XyzWriter(const XyzWriter&) = delete;
    XyzWriter& operator=(const XyzWriter&) = delete;

    // Appends one frame. Every frame of a file must carry the same columns
    // (a series is one table per frame for OVITO). Throws IoError when the
    // frame does not fit the config, its columns differ from the first
    // frame's, or the write fails (full disk); after a failed write close()
    // throws too.
    void append(const ExportFrame& f);
    std::size_t frames() const;
    // Renames the file into place. Throws IoError.
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace entroscope

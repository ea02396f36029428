#pragma once
// H5MD 1.1 trajectories (https://www.nongnu.org/h5md/) through the HDF5 C
// library, which stays behind this header.
//
// Layout written (N particles, D = 2, F frames, d = active components):
//
//   /h5md                      +version = [1, 1]
//        author                +name
//        creator               +name = "Entroscope", +version
//   /particles/all
//        box                   +dimension = 2, +boundary = ["periodic", "periodic"]
//             edges/{step, time, value [F][2]}      (time-dependent: the box may be rescaled)
//        position/{step, time, value [F][N][2]}     folded into [0, L)
//        image/{step, time, value [F][N][2]}        int32; unwrapped = position + image * L
//        active/{step, time, value [F][N][d]}       +name = "g" (AOUP, d = 2) | "theta" (ABP, d = 1)
//        species [N]                                int32, time-independent
//        <name>/{step, time, value [F'][N][c]}      custom per-particle series (sigma_i, v_i, ...)
//   /observables
//        <name>/{step, time, value [F] or [F][c]}   global time series (append_observable):
//                                                   scalar per frame, or c numbers per frame
//                                                   (+components names them, e.g. ["mean", "se"])
//   /parameters                +seed (uint64), +model, +<key> (string, set_parameter:
//                                                   e.g. the network checkpoint and its hash)
//        config_json []                             config_to_json(cfg), fixed-length UTF-8 string
//
// step is int64, time and values double; value datasets are chunked and grow
// along the frame axis. Every writer writes PATH.tmp-XXXXXX in PATH's
// directory and renames it to PATH on close(): readers never see a partial file.
//
// HDF5 builds are usually not thread-safe; this module serialises its own
// HDF5 calls with one mutex, so writers and readers may live on different
// threads, but nothing else in the process should call HDF5 concurrently.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"

namespace entroscope {

class H5mdWriter {
public:
    // Creates the temporary file and writes the time-independent parts
    // (metadata, parameters, species). `first_frame_layout` fixes N and the
    // active-variable width of every later frame; its data are not appended.
    // Throws IoError when the file cannot be created or the layout does not
    // agree with itself (x, image: 2N; act: N or 2N).
    H5mdWriter(const std::string& path, const Config& cfg, const State& first_frame_layout,
               std::string creator_version = "0.1.0");
    // Without a successful close(): closes and removes the temporary file.
    ~H5mdWriter();

    H5mdWriter(const H5mdWriter&) = delete;
    H5mdWriter& operator=(const H5mdWriter&) = delete;
    H5mdWriter(H5mdWriter&&) noexcept;
    H5mdWriter& operator=(H5mdWriter&&) noexcept;

    // Appends one frame (step, time, box edges, position, image, active).
    // Throws IoError if the state's N, active width or species differ from the
    // layout (nothing is written; the writer stays usable), if the writer is
    // closed or failed before, or if HDF5 fails. After an HDF5 failure the
    // writer is failed: close() throws and no file appears.
    void append(const State& s);

    // Appends one frame of a per-particle series /particles/all/<name>, with
    // `values` = N * components numbers (particle-major). The step and time
    // are those of the last append(s); call it after append() for that frame.
    // The first call fixes `components` for that name; one value per frame.
    // Refused with IoError: names of the built-in elements (box, position,
    // image, active, species) and H5MD's mass, charge, id; names with '/' or
    // '.'; a wrong size; a call before the first append(). "velocity" and
    // "force" with 2 components are H5MD's standard elements.
    void append_per_particle(const std::string& name, const std::vector<double>& values,
                             int components);

    // Appends one frame of a global time series /observables/<name>: one
    // number (value [F]) or values.size() numbers (value [F][c]) per frame,
    // at its own step and time (observables need not follow the particle
    // frames). The first call fixes the width and `component_names` (an
    // attribute +components when given; must then match the width).
    // Refused with IoError: names with '/' or '.', an empty or changed
    // width, a step not after the previous one of that name.
    void append_observable(const std::string& name, std::uint64_t step, double time,
                           const std::vector<double>& values,
                           const std::vector<std::string>& component_names = {});

    // A string attribute /parameters/+<key> (the network checkpoint's path
    // and hash, ...). Refused with IoError: "seed", "model", a key set
    // before, an empty key or one with '/'.
    void set_parameter(const std::string& key, const std::string& value);

    // Frames appended so far.
    std::size_t frames() const;
    // The final path (not the temporary one).
    const std::string& path() const;

    // Flushes, closes and renames the file into place. Throws IoError (for
    // example on a full disk), in which case the temporary file is removed and
    // nothing is left at the final path. A second call is a no-op.
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A per-particle series read back from a custom element.
struct PerParticleSeries {
    std::string name;
    int components = 0;
    std::vector<std::uint64_t> steps;
    std::vector<double> times;
    std::vector<std::vector<double>> values;  // per frame: N * components
};

// A global time series read back from /observables/<name>.
struct ObservableSeries {
    std::string name;
    int components = 1;                    // 1: value [F]; c: value [F][c]
    std::vector<std::string> component_names;  // +components, when present
    std::vector<std::uint64_t> steps;
    std::vector<double> times;
    std::vector<std::vector<double>> values;  // per frame: components numbers
};

struct Trajectory {
    Config config;
    std::string config_json;  // exactly as stored
    std::vector<State> frames;
    std::vector<PerParticleSeries> per_particle;  // custom elements, sorted by name
    std::vector<ObservableSeries> observables;    // sorted by name; empty without /observables
    std::map<std::string, std::string> parameters;  // the string attributes of /parameters (model included)
};

// Reads a whole file written by H5mdWriter. Throws IoError, naming the file and
// what is wrong, when the file is missing, not HDF5, truncated, lacks a
// required group or dataset, has inconsistent shapes, or holds an invalid config.
Trajectory read_h5md(const std::string& path);

}  // namespace entroscope

#include "entroscope/io/h5md.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <utility>

#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/errors.hpp"

namespace entroscope {
namespace {

namespace fs = std::filesystem;

// Debian's serial HDF5 is not built thread-safe: every HDF5 call of this
// module runs under one lock. Recursive because a failing writer cleans up
// (and so calls HDF5) from code that already holds it.
std::recursive_mutex& hdf5_mutex() {
    static std::recursive_mutex m;
    return m;
}

// Holds the lock and silences HDF5's automatic error-stack printing for one
// public call, restoring the caller's handler afterwards: errors reach the
// user as IoError, not as a stack dump on stderr.
class Hdf5Scope {
public:
    Hdf5Scope() : lock_(hdf5_mutex()) {
        // No library shutdown at exit: after a failed write (a full disk)
        // HDF5 1.10 cannot close the file (H5Fclose fails and the file stays
        // open inside the library), and its atexit handler then crashes
        // trying to flush it again. Every file of this module is closed or
        // discarded explicitly, so the handler has nothing else to do; a
        // failed one is left open (its temporary file is already unlinked)
        // until the process ends. Must precede the library's initialisation.
        static const bool no_atexit = [] { return H5dont_atexit() >= 0; }();
        (void)no_atexit;
        H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
    ~Hdf5Scope() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
    Hdf5Scope(const Hdf5Scope&) = delete;
    Hdf5Scope& operator=(const Hdf5Scope&) = delete;

private:
    std::lock_guard<std::recursive_mutex> lock_;
    H5E_auto2_t func_ = nullptr;
    void* data_ = nullptr;
};

herr_t innermost_error(unsigned n, const H5E_error2_t* err, void* out) {
    if (n == 0 && err != nullptr && err->desc != nullptr)
        *static_cast<std::string*>(out) = err->desc;
    return 0;
}

// The most specific message on HDF5's error stack (e.g. "truncated file: eof
// = ..."), then clears the stack.
std::string hdf5_detail() {
    std::string detail;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, &detail);
    H5Eclear2(H5E_DEFAULT);
    // A failed system call: its message (e.g. "File too large") says more
    // than the file descriptor, offsets and sizes around it.
    const std::string key = "error message = '";
    const auto at = detail.find(key);
    if (at != std::string::npos) {
        const auto end = detail.find('\'', at + key.size());
        if (end != std::string::npos) {
            const auto colon = detail.find(':');
            detail = (colon != std::string::npos && colon < at ? detail.substr(0, colon) + ": " : std::string()) +
                     detail.substr(at + key.size(), end - at - key.size());
        }
    }
    return detail;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    std::string detail = hdf5_detail();
    std::string msg = path + ": " + what;
    if (!detail.empty()) msg += " (HDF5: " + detail + ")";
    throw IoError(msg);
}

// Closes an HDF5 identifier of any kind.
herr_t close_id(hid_t id) {
    switch (H5Iget_type(id)) {
    case H5I_FILE: return H5Fclose(id);
    case H5I_GROUP: return H5Gclose(id);
    case H5I_DATASET: return H5Dclose(id);
    case H5I_DATASPACE: return H5Sclose(id);
    case H5I_DATATYPE: return H5Tclose(id);
    case H5I_ATTR: return H5Aclose(id);
    case H5I_GENPROP_LST: return H5Pclose(id);
    default: return H5Idec_ref(id) < 0 ? -1 : 0;
    }
}

// Owns one HDF5 identifier.
class Handle {
public:
    Handle() = default;
    explicit Handle(hid_t id) : id_(id) {}
    ~Handle() { reset(); }
    Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
    Handle& operator=(Handle&& o) noexcept {
        if (this != &o) {
            reset();
            id_ = o.id_;
            o.id_ = H5I_INVALID_HID;
        }
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

    hid_t get() const { return id_; }
    bool valid() const { return id_ >= 0; }
    // Closes and reports whether closing worked (closing flushes data).
    bool close() {
        if (id_ < 0) return true;
        herr_t st = close_id(id_);
        id_ = H5I_INVALID_HID;
        return st >= 0;
    }
    void reset() { close(); }

private:
    hid_t id_ = H5I_INVALID_HID;
};

// Error reporting bound to one file name.
struct Ctx {
    std::string path;

    Handle id(hid_t h, const std::string& what) const {
        if (h < 0) fail(path, what);
        return Handle(h);
    }
    void ok(herr_t st, const std::string& what) const {
        if (st < 0) fail(path, what);
    }
};

Handle file_access_plist(const Ctx& c) {
    Handle fapl = c.id(H5Pcreate(H5P_FILE_ACCESS), "cannot create file access properties");
    // Strong close: H5Fclose really closes the file, so the rename that follows
    // never moves a file HDF5 still writes to.
    c.ok(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "cannot set file close degree");
    return fapl;
}

// Creation properties without modification times, so that equal input gives
// byte-equal files.
Handle object_create_plist(const Ctx& c, hid_t cls) {
    Handle p = c.id(H5Pcreate(cls), "cannot create object properties");
    c.ok(H5Pset_obj_track_times(p.get(), 0), "cannot disable time tracking");
    return p;
}

Handle create_group(const Ctx& c, hid_t parent, const char* name, const std::string& where) {
    Handle gcpl = object_create_plist(c, H5P_GROUP_CREATE);
    return c.id(H5Gcreate2(parent, name, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT),
                "cannot create group " + where);
}

Handle fixed_string_type(const Ctx& c, std::size_t size) {
    Handle t = c.id(H5Tcopy(H5T_C_S1), "cannot create string type");
    c.ok(H5Tset_size(t.get(), std::max<std::size_t>(size, 1)), "cannot size string type");
    c.ok(H5Tset_strpad(t.get(), H5T_STR_NULLTERM), "cannot set string padding");
    c.ok(H5Tset_cset(t.get(), H5T_CSET_UTF8), "cannot set string encoding");
    return t;
}

void write_attr(const Ctx& c, hid_t obj, const char* name, hid_t file_type, hid_t mem_type,
                const std::vector<hsize_t>& dims, const void* data, const std::string& where) {
    Handle space = dims.empty()
        ? c.id(H5Screate(H5S_SCALAR), "cannot create dataspace")
        : c.id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               "cannot create dataspace");
    const std::string what = where + " attribute " + name;
    Handle attr = c.id(H5Acreate2(obj, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                       "cannot create " + what);
    c.ok(H5Awrite(attr.get(), mem_type, data), "cannot write " + what);
}

void write_string_attr(const Ctx& c, hid_t obj, const char* name, const std::string& value,
                       const std::string& where) {
    Handle t = fixed_string_type(c, value.size() + 1);
    std::string buf = value;
    buf.resize(value.size() + 1, '\0');
    write_attr(c, obj, name, t.get(), t.get(), {}, buf.data(), where);
}

void write_string_array_attr(const Ctx& c, hid_t obj, const char* name,
                             const std::vector<std::string>& values, const std::string& where) {
    std::size_t width = 1;
    for (const auto& v : values) width = std::max(width, v.size() + 1);
    std::vector<char> buf(width * values.size(), '\0');
    for (std::size_t i = 0; i < values.size(); ++i)
        std::memcpy(buf.data() + i * width, values[i].data(), values[i].size());
    Handle t = fixed_string_type(c, width);
    write_attr(c, obj, name, t.get(), t.get(), {values.size()}, buf.data(), where);
}

// A time-dependent H5MD element: a group with step [F], time [F] and
// value [F][inner...], all growing along the frame axis.
struct Series {
    std::string where;  // "/particles/all/position"
    Handle group, step, time, value;
    std::vector<hsize_t> inner;
    hid_t mem_type = H5I_INVALID_HID;
    hsize_t frames = 0;
    std::size_t last_frame = 0;  // writer frame count at the last append (custom elements)

    void close_all() {
        value.reset();
        time.reset();
        step.reset();
        group.reset();
    }
    // Closes the datasets, reporting failures (closing writes cached chunks).
    bool close_checked() {
        bool ok = value.close();
        ok = time.close() && ok;
        ok = step.close() && ok;
        ok = group.close() && ok;
        return ok;
    }
};

Handle create_extensible(const Ctx& c, hid_t parent, const char* name, hid_t file_type,
                         const std::vector<hsize_t>& inner, hsize_t chunk_frames,
                         const std::string& where) {
    std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{chunk_frames};
    for (hsize_t d : inner) {
        dims.push_back(d);
        maxdims.push_back(d);
        chunk.push_back(d);
    }
    Handle space = c.id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()),
                        "cannot create dataspace for " + where);
    Handle dcpl = object_create_plist(c, H5P_DATASET_CREATE);
    c.ok(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()),
         "cannot set chunking of " + where);
    return c.id(H5Dcreate2(parent, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                "cannot create dataset " + where);
}

Series create_series(const Ctx& c, hid_t parent, const std::string& name, const std::string& where,
                     hid_t file_type, hid_t mem_type, std::vector<hsize_t> inner) {
    Series s;
    s.where = where;
    s.inner = std::move(inner);
    s.mem_type = mem_type;
    hsize_t frame_bytes = H5Tget_size(file_type);
    for (hsize_t d : s.inner) frame_bytes *= d;
    // Chunks of about 256 KiB: large enough for throughput, small enough that
    // a short run does not allocate much.
    const hsize_t value_chunk =
        std::clamp<hsize_t>((256u << 10) / std::max<hsize_t>(frame_bytes, 1), 1, 256);
    s.group = create_group(c, parent, name.c_str(), where);
    s.step = create_extensible(c, s.group.get(), "step", H5T_STD_I64LE, {}, 512, where + "/step");
    s.time = create_extensible(c, s.group.get(), "time", H5T_IEEE_F64LE, {}, 512, where + "/time");
    s.value = create_extensible(c, s.group.get(), "value", file_type, s.inner, value_chunk,
                                where + "/value");
    return s;
}

// Writes one row at index `row` of a dataset whose extent was just grown.
void write_row(const Ctx& c, hid_t ds, hid_t mem_type, hsize_t row, const std::vector<hsize_t>& inner,
               const void* data, const std::string& where) {
    Handle fspace = c.id(H5Dget_space(ds), "cannot get dataspace of " + where);
    std::vector<hsize_t> start{row}, count{1};
    for (hsize_t d : inner) {
        start.push_back(0);
        count.push_back(d);
    }
    c.ok(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
         "cannot select frame in " + where);
    Handle mspace = c.id(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                         "cannot create memory dataspace for " + where);
    c.ok(H5Dwrite(ds, mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, data),
         "cannot write frame to " + where);
}

void append_frame(const Ctx& c, Series& s, std::int64_t step, double time, const void* data) {
    const hsize_t row = s.frames;
    const hsize_t grown = row + 1;
    std::vector<hsize_t> vdims{grown};
    vdims.insert(vdims.end(), s.inner.begin(), s.inner.end());
    c.ok(H5Dset_extent(s.step.get(), &grown), "cannot extend " + s.where + "/step");
    c.ok(H5Dset_extent(s.time.get(), &grown), "cannot extend " + s.where + "/time");
    c.ok(H5Dset_extent(s.value.get(), vdims.data()), "cannot extend " + s.where + "/value");
    write_row(c, s.step.get(), H5T_NATIVE_INT64, row, {}, &step, s.where + "/step");
    write_row(c, s.time.get(), H5T_NATIVE_DOUBLE, row, {}, &time, s.where + "/time");
    write_row(c, s.value.get(), s.mem_type, row, s.inner, data, s.where + "/value");
    s.frames = grown;
}

std::string author_name() {
    for (const char* var : {"USER", "LOGNAME", "USERNAME"}) {
        const char* v = std::getenv(var);
        if (v != nullptr && *v != '\0') return v;
    }
    return "unknown";
}

herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* out) {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
    return 0;
}

const std::set<std::string>& builtin_elements() {
    static const std::set<std::string> names{"box", "position", "image", "active", "species",
                                             "mass", "charge", "id"};
    return names;
}

}  // namespace

// ---------------------------------------------------------------------------
// Writer

struct H5mdWriter::Impl {
    Ctx ctx;         // names the final path in messages
    std::unique_ptr<AtomicFile> out;  // the data go to its temporary file until close()
    int n = 0;
    int act_dim = 0;
    std::vector<int> types;
    Handle file, all;
    Series edges, position, image, active;
    std::map<std::string, Series> custom;
    Handle observables_group;
    std::map<std::string, Series> observables;
    std::map<std::string, std::int64_t> observable_last_step;
    std::set<std::string> parameter_keys;
    std::size_t frames = 0;
    std::int64_t last_step = 0;
    double last_time = 0.0;
    bool closed = false;
    bool failed = false;

    ~Impl() { discard(); }

    void close_objects() {
        for (auto& kv : observables) kv.second.close_all();
        observables.clear();
        observables_group.reset();
        for (auto& kv : custom) kv.second.close_all();
        custom.clear();
        active.close_all();
        image.close_all();
        position.close_all();
        edges.close_all();
        all.reset();
        file.reset();
    }

    // Drops everything written: no file at the final path, no temporary file.
    void discard() noexcept {
        if (closed) return;
        closed = true;
        try {
            Hdf5Scope scope;
            close_objects();
            H5Eclear2(H5E_DEFAULT);
        } catch (...) {
        }
        if (out) out->discard();
    }

    void check_usable(const char* op) const {
        if (closed) throw IoError(ctx.path + ": " + op + " after close()");
        if (failed) throw IoError(ctx.path + ": " + op + " after an earlier write failure");
    }
};

H5mdWriter::H5mdWriter(const std::string& path, const Config& cfg, const State& layout,
                       std::string creator_version)
    : impl_(std::make_unique<Impl>()) {
    Impl& w = *impl_;
    w.ctx.path = path;
    const Ctx& c = w.ctx;

    const int n = layout.n();
    if (n <= 0) throw IoError(path + ": cannot write a trajectory of zero particles");
    const std::size_t un = static_cast<std::size_t>(n);
    if (layout.x.size() != 2 * un || layout.image.size() != 2 * un)
        throw IoError(path + ": layout state has " + std::to_string(layout.x.size()) + " coordinates and " +
                      std::to_string(layout.image.size()) + " image counts for " + std::to_string(n) +
                      " particles (expected 2N each)");
    if (layout.act.size() != un * static_cast<std::size_t>(cfg.active_dim()))
        throw IoError(path + ": layout state has " + std::to_string(layout.act.size()) +
                      " active-variable numbers; the " + to_string(cfg.model) + " model needs " +
                      std::to_string(cfg.active_dim()) + " per particle");
    if (cfg.n != n)
        throw IoError(path + ": config has n = " + std::to_string(cfg.n) + " but the state has " +
                      std::to_string(n) + " particles");
    w.n = n;
    w.act_dim = cfg.active_dim();
    w.types = layout.types;
    const std::string config_json = config_to_json(cfg);

    w.out = std::make_unique<AtomicFile>(path);
    // From here on, a throw destroys impl_, whose destructor removes the temporary file.

    Hdf5Scope scope;
    Handle fapl = file_access_plist(c);
    // AtomicFile reserved the (empty) temporary file; HDF5 truncates it.
    const hid_t f = H5Fcreate(w.out->temp_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
    if (f < 0) fail(path, "cannot create temporary file " + w.out->temp_path());
    w.file = Handle(f);
    const hid_t file = w.file.get();

    {
        Handle h5md = create_group(c, file, "h5md", "/h5md");
        const int version[2] = {1, 1};
        write_attr(c, h5md.get(), "version", H5T_STD_I32LE, H5T_NATIVE_INT, {2}, version, "/h5md");
        Handle author = create_group(c, h5md.get(), "author", "/h5md/author");
        write_string_attr(c, author.get(), "name", author_name(), "/h5md/author");
        Handle creator = create_group(c, h5md.get(), "creator", "/h5md/creator");
        write_string_attr(c, creator.get(), "name", "Entroscope", "/h5md/creator");
        write_string_attr(c, creator.get(), "version", creator_version, "/h5md/creator");
    }
    {
        Handle params = create_group(c, file, "parameters", "/parameters");
        const std::uint64_t seed = cfg.seed;
        write_attr(c, params.get(), "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, {}, &seed, "/parameters");
        write_string_attr(c, params.get(), "model", to_string(cfg.model), "/parameters");
        Handle t = fixed_string_type(c, config_json.size() + 1);
        Handle space = c.id(H5Screate(H5S_SCALAR), "cannot create dataspace");
        Handle ds = c.id(H5Dcreate2(params.get(), "config_json", t.get(), space.get(), H5P_DEFAULT,
                                    H5P_DEFAULT, H5P_DEFAULT),
                         "cannot create /parameters/config_json");
        std::string buf = config_json;
        buf.push_back('\0');
        c.ok(H5Dwrite(ds.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()),
             "cannot write /parameters/config_json");
    }

    Handle particles = create_group(c, file, "particles", "/particles");
    w.all = create_group(c, particles.get(), "all", "/particles/all");
    const hid_t all = w.all.get();
    {
        Handle box = create_group(c, all, "box", "/particles/all/box");
        const int dimension = 2;
        write_attr(c, box.get(), "dimension", H5T_STD_I32LE, H5T_NATIVE_INT, {}, &dimension,
                   "/particles/all/box");
        write_string_array_attr(c, box.get(), "boundary", {"periodic", "periodic"}, "/particles/all/box");
        // Time-dependent edges: the GUI may rescale the box during a run.
        w.edges = create_series(c, box.get(), "edges", "/particles/all/box/edges", H5T_IEEE_F64LE,
                                H5T_NATIVE_DOUBLE, {2});
    }
    const hsize_t hn = static_cast<hsize_t>(n);
    w.position = create_series(c, all, "position", "/particles/all/position", H5T_IEEE_F64LE,
                               H5T_NATIVE_DOUBLE, {hn, 2});
    w.image = create_series(c, all, "image", "/particles/all/image", H5T_STD_I32LE, H5T_NATIVE_INT32,
                            {hn, 2});
    w.active = create_series(c, all, "active", "/particles/all/active", H5T_IEEE_F64LE,
                             H5T_NATIVE_DOUBLE, {hn, static_cast<hsize_t>(w.act_dim)});
    write_string_attr(c, w.active.group.get(), "name", w.act_dim == 2 ? "g" : "theta",
                      "/particles/all/active");
    {
        Handle space = c.id(H5Screate_simple(1, &hn, nullptr), "cannot create dataspace");
        Handle dcpl = object_create_plist(c, H5P_DATASET_CREATE);
        Handle ds = c.id(H5Dcreate2(all, "species", H5T_STD_I32LE, space.get(), H5P_DEFAULT, dcpl.get(),
                                    H5P_DEFAULT),
                         "cannot create /particles/all/species");
        c.ok(H5Dwrite(ds.get(), H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.types.data()),
             "cannot write /particles/all/species");
    }
}

H5mdWriter::~H5mdWriter() = default;  // Impl's destructor discards unclosed output
H5mdWriter::H5mdWriter(H5mdWriter&&) noexcept = default;
H5mdWriter& H5mdWriter::operator=(H5mdWriter&&) noexcept = default;

std::size_t H5mdWriter::frames() const { return impl_->frames; }
const std::string& H5mdWriter::path() const { return impl_->ctx.path; }

void H5mdWriter::append(const State& s) {
    Impl& w = *impl_;
    w.check_usable("append");
    const Ctx& c = w.ctx;
    const std::size_t un = static_cast<std::size_t>(w.n);
    if (s.types.size() != un || s.x.size() != 2 * un || s.image.size() != 2 * un ||
        s.act.size() != un * static_cast<std::size_t>(w.act_dim))
        throw IoError(c.path + ": frame at step " + std::to_string(s.step) +
                      " does not match the file's layout (N = " + std::to_string(w.n) +
                      ", active components = " + std::to_string(w.act_dim) + ")");
    if (s.types != w.types)
        throw IoError(c.path + ": species changed at step " + std::to_string(s.step) +
                      "; species are stored once per file");
    if (s.step > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw IoError(c.path + ": step " + std::to_string(s.step) + " does not fit H5MD's int64 step");

    Hdf5Scope scope;
    try {
        const auto step = static_cast<std::int64_t>(s.step);
        const double edges[2] = {s.box, s.box};
        append_frame(c, w.edges, step, s.time, edges);
        append_frame(c, w.position, step, s.time, s.x.data());
        append_frame(c, w.image, step, s.time, s.image.data());
        append_frame(c, w.active, step, s.time, s.act.data());
        ++w.frames;
        w.last_step = step;
        w.last_time = s.time;
    } catch (...) {
        w.failed = true;
        throw;
    }
}

void H5mdWriter::append_per_particle(const std::string& name, const std::vector<double>& values,
                                     int components) {
    Impl& w = *impl_;
    w.check_usable("append_per_particle");
    const Ctx& c = w.ctx;
    if (name.empty() || name.find_first_of("/.") != std::string::npos || builtin_elements().count(name))
        throw IoError(c.path + ": '" + name + "' cannot name a per-particle element");
    if (components < 1)
        throw IoError(c.path + ": element '" + name + "' needs at least one component");
    if (values.size() != static_cast<std::size_t>(w.n) * static_cast<std::size_t>(components))
        throw IoError(c.path + ": element '" + name + "' got " + std::to_string(values.size()) +
                      " values, expected N * components = " + std::to_string(w.n) + " * " +
                      std::to_string(components));
    if (w.frames == 0)
        throw IoError(c.path + ": append() a frame before per-particle element '" + name + "'");

    Hdf5Scope scope;
    auto it = w.custom.find(name);
    if (it != w.custom.end()) {
        if (it->second.inner[1] != static_cast<hsize_t>(components))
            throw IoError(c.path + ": element '" + name + "' has " + std::to_string(it->second.inner[1]) +
                          " components, got " + std::to_string(components));
        if (it->second.last_frame == w.frames)
            throw IoError(c.path + ": element '" + name + "' already has a value for step " +
                          std::to_string(w.last_step));
    }
    try {
        if (it == w.custom.end()) {
            Series s = create_series(c, w.all.get(), name, "/particles/all/" + name, H5T_IEEE_F64LE,
                                     H5T_NATIVE_DOUBLE,
                                     {static_cast<hsize_t>(w.n), static_cast<hsize_t>(components)});
            it = w.custom.emplace(name, std::move(s)).first;
        }
        append_frame(c, it->second, w.last_step, w.last_time, values.data());
        it->second.last_frame = w.frames;
    } catch (...) {
        w.failed = true;
        throw;
    }
}

void H5mdWriter::append_observable(const std::string& name, std::uint64_t step, double time,
                                   const std::vector<double>& values,
                                   const std::vector<std::string>& component_names) {
    Impl& w = *impl_;
    w.check_usable("append_observable");
    const Ctx& c = w.ctx;
    if (name.empty() || name.find_first_of("/.") != std::string::npos)
        throw IoError(c.path + ": '" + name + "' cannot name an observable");
    if (values.empty()) throw IoError(c.path + ": observable '" + name + "' got no values");
    if (!component_names.empty() && component_names.size() != values.size())
        throw IoError(c.path + ": observable '" + name + "' has " + std::to_string(values.size()) +
                      " components but " + std::to_string(component_names.size()) + " component names");
    if (step > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw IoError(c.path + ": step " + std::to_string(step) + " does not fit H5MD's int64 step");
    const auto istep = static_cast<std::int64_t>(step);
    auto it = w.observables.find(name);
    if (it != w.observables.end()) {
        const hsize_t width = it->second.inner.empty() ? 1 : it->second.inner[0];
        if (width != values.size())
            throw IoError(c.path + ": observable '" + name + "' has " + std::to_string(width) + " components, got " +
                          std::to_string(values.size()));
        if (istep <= w.observable_last_step[name])
            throw IoError(c.path + ": observable '" + name + "' at step " + std::to_string(step) +
                          " is not after its previous step " + std::to_string(w.observable_last_step[name]));
    }
    Hdf5Scope scope;
    try {
        if (!w.observables_group.valid())
            w.observables_group = create_group(c, w.file.get(), "observables", "/observables");
        if (it == w.observables.end()) {
            std::vector<hsize_t> inner;
            if (values.size() > 1) inner.push_back(values.size());
            const std::string where = "/observables/" + name;
            Series s = create_series(c, w.observables_group.get(), name, where, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, inner);
            if (!component_names.empty()) write_string_array_attr(c, s.group.get(), "components", component_names, where);
            it = w.observables.emplace(name, std::move(s)).first;
        }
        append_frame(c, it->second, istep, time, values.data());
        w.observable_last_step[name] = istep;
    } catch (...) {
        w.failed = true;
        throw;
    }
}

void H5mdWriter::set_parameter(const std::string& key, const std::string& value) {
    Impl& w = *impl_;
    w.check_usable("set_parameter");
    const Ctx& c = w.ctx;
    if (key.empty() || key.find('/') != std::string::npos || key == "seed" || key == "model")
        throw IoError(c.path + ": '" + key + "' cannot name a parameter");
    if (w.parameter_keys.count(key)) throw IoError(c.path + ": parameter '" + key + "' is already set");
    Hdf5Scope scope;
    try {
        Handle params = c.id(H5Gopen2(w.file.get(), "parameters", H5P_DEFAULT), "cannot open /parameters");
        write_string_attr(c, params.get(), key.c_str(), value, "/parameters");
        w.parameter_keys.insert(key);
    } catch (...) {
        w.failed = true;
        throw;
    }
}

void H5mdWriter::close() {
    Impl& w = *impl_;
    if (w.closed) return;
    const std::string path = w.ctx.path;
    if (w.failed) {
        w.discard();
        throw IoError(path + ": not written: an earlier write failed");
    }
    {
        Hdf5Scope scope;
        bool ok = H5Fflush(w.file.get(), H5F_SCOPE_GLOBAL) >= 0;
        // The flush's own error (each HDF5 call below starts a new error stack).
        std::string flush_detail = ok ? std::string() : hdf5_detail();
        for (auto& kv : w.custom) ok = kv.second.close_checked() && ok;
        for (auto& kv : w.observables) ok = kv.second.close_checked() && ok;
        ok = w.observables_group.close() && ok;
        ok = w.active.close_checked() && ok;
        ok = w.image.close_checked() && ok;
        ok = w.position.close_checked() && ok;
        ok = w.edges.close_checked() && ok;
        ok = w.all.close() && ok;
        ok = w.file.close() && ok;
        if (!ok) {
            std::string detail = flush_detail.empty() ? hdf5_detail() : flush_detail;
            w.discard();
            throw IoError(path + ": cannot finish writing (disk full?)" +
                          (detail.empty() ? std::string() : " (HDF5: " + detail + ")"));
        }
    }
    try {
        w.out->commit();
    } catch (const IoError&) {
        w.discard();
        throw;
    }
    w.closed = true;
}

// ---------------------------------------------------------------------------
// Reader

namespace {

constexpr hsize_t kMaxElements = hsize_t(1) << 34;  // guards allocations against garbage shapes

struct Reader {
    Ctx c;

    bool has_link(hid_t loc, const char* name) const {
        htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
        if (e < 0) fail(c.path, std::string("cannot look up ") + name);
        return e > 0;
    }
    Handle group(hid_t loc, const char* name, const std::string& where) const {
        if (!has_link(loc, name)) throw IoError(c.path + ": missing group " + where + " (not an Entroscope H5MD file?)");
        return c.id(H5Gopen2(loc, name, H5P_DEFAULT), "cannot open group " + where);
    }
    Handle dataset(hid_t loc, const char* name, const std::string& where) const {
        if (!has_link(loc, name)) throw IoError(c.path + ": missing dataset " + where);
        return c.id(H5Dopen2(loc, name, H5P_DEFAULT), "cannot open dataset " + where);
    }

    std::vector<hsize_t> dims(hid_t obj_space, const std::string& where) const {
        Handle space(obj_space);
        if (!space.valid()) fail(c.path, "cannot get dataspace of " + where);
        const H5S_class_t cls = H5Sget_simple_extent_type(space.get());
        if (cls == H5S_SCALAR) return {};
        if (cls != H5S_SIMPLE) throw IoError(c.path + ": " + where + " has no data");
        const int rank = H5Sget_simple_extent_ndims(space.get());
        if (rank < 0) fail(c.path, "cannot get rank of " + where);
        std::vector<hsize_t> d(static_cast<std::size_t>(rank));
        if (rank > 0 && H5Sget_simple_extent_dims(space.get(), d.data(), nullptr) < 0)
            fail(c.path, "cannot get shape of " + where);
        return d;
    }
    std::vector<hsize_t> dataset_dims(hid_t ds, const std::string& where) const {
        return dims(H5Dget_space(ds), where);
    }

    static std::string shape_str(const std::vector<hsize_t>& d) {
        std::string s;
        for (hsize_t x : d) s += "[" + std::to_string(x) + "]";
        return s.empty() ? "[]" : s;
    }

    H5T_class_t type_class(hid_t ds, const std::string& where) const {
        Handle t = c.id(H5Dget_type(ds), "cannot get type of " + where);
        H5T_class_t cls = H5Tget_class(t.get());
        if (cls == H5T_NO_CLASS) fail(c.path, "cannot get type class of " + where);
        return cls;
    }

    // Reads a whole numeric dataset of the expected shape (0 in `expect`
    // accepts any extent) into `out`.
    template <class T>
    std::vector<hsize_t> read(hid_t ds, hid_t mem_type, bool integer, const std::vector<hsize_t>& expect,
                              std::vector<T>& out, const std::string& where) const {
        const std::vector<hsize_t> d = dataset_dims(ds, where);
        bool shape_ok = d.size() == expect.size();
        for (std::size_t i = 0; shape_ok && i < d.size(); ++i)
            shape_ok = expect[i] == 0 || expect[i] == d[i];
        if (!shape_ok) {
            std::string want;
            for (hsize_t x : expect) want += x == 0 ? std::string("[*]") : "[" + std::to_string(x) + "]";
            throw IoError(c.path + ": " + where + " has shape " + shape_str(d) + ", expected " + want);
        }
        const H5T_class_t cls = type_class(ds, where);
        if (integer ? cls != H5T_INTEGER : (cls != H5T_FLOAT && cls != H5T_INTEGER))
            throw IoError(c.path + ": " + where + " has the wrong data type (expected " +
                          (integer ? "integer" : "numbers") + ")");
        hsize_t count = 1;
        for (hsize_t x : d) {
            if (x != 0 && count > kMaxElements / x)
                throw IoError(c.path + ": " + where + " is implausibly large " + shape_str(d));
            count *= x;
        }
        try {
            out.assign(static_cast<std::size_t>(count), T{});
        } catch (const std::bad_alloc&) {
            throw IoError(c.path + ": " + where + " does not fit in memory " + shape_str(d));
        }
        if (count > 0)
            c.ok(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
                 "cannot read " + where + " (truncated or damaged file?)");
        return d;
    }

    std::string read_string(hid_t ds, const std::string& where) const {
        if (!dataset_dims(ds, where).empty()) throw IoError(c.path + ": " + where + " is not a scalar string");
        Handle t = c.id(H5Dget_type(ds), "cannot get type of " + where);
        if (H5Tget_class(t.get()) != H5T_STRING) throw IoError(c.path + ": " + where + " is not a string");
        const htri_t vl = H5Tis_variable_str(t.get());
        if (vl < 0) fail(c.path, "cannot inspect type of " + where);
        Handle mem = c.id(H5Tcopy(H5T_C_S1), "cannot create string type");
        // HDF5 does not convert between ASCII and UTF-8: read in the stored set.
        c.ok(H5Tset_cset(mem.get(), H5Tget_cset(t.get())), "cannot set string encoding");
        if (vl > 0) {
            c.ok(H5Tset_size(mem.get(), H5T_VARIABLE), "cannot size string type");
            char* p = nullptr;
            c.ok(H5Dread(ds, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), "cannot read " + where);
            std::string s = p != nullptr ? p : "";
            H5free_memory(p);
            return s;
        }
        const std::size_t size = H5Tget_size(t.get());
        if (size == 0) fail(c.path, "cannot get size of " + where);
        if (size > (std::size_t(1) << 30)) throw IoError(c.path + ": " + where + " is implausibly large");
        c.ok(H5Tset_size(mem.get(), size), "cannot size string type");
        std::vector<char> buf(size + 1, '\0');
        c.ok(H5Dread(ds, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), "cannot read " + where);
        return std::string(buf.data());  // stops at the first NUL (padding)
    }

    // An attribute that must exist and be of one type class, with its element count.
    struct OpenAttr {
        Handle attr, type;
        hsize_t count = 1;
    };
    OpenAttr open_attr(hid_t obj, const char* name, const std::string& what, H5T_class_t cls, const char* cls_name) const {
        htri_t e = H5Aexists(obj, name);
        if (e < 0) fail(c.path, "cannot look up " + what);
        if (e == 0) throw IoError(c.path + ": missing " + what);
        OpenAttr a;
        a.attr = c.id(H5Aopen(obj, name, H5P_DEFAULT), "cannot open " + what);
        a.type = c.id(H5Aget_type(a.attr.get()), "cannot get type of " + what);
        if (H5Tget_class(a.type.get()) != cls) throw IoError(c.path + ": " + what + " is not " + cls_name);
        for (hsize_t x : dims(H5Aget_space(a.attr.get()), what)) a.count *= x;
        return a;
    }

    template <class T>
    void read_attr(hid_t obj, const char* name, hid_t mem_type, std::size_t count, T* out,
                   const std::string& where) const {
        const std::string what = where + " attribute " + name;
        const OpenAttr a = open_attr(obj, name, what, H5T_INTEGER, "an integer");
        const hsize_t n = a.count;
        if (n != count)
            throw IoError(c.path + ": " + what + " has " + std::to_string(n) + " values, expected " +
                          std::to_string(count));
        c.ok(H5Aread(a.attr.get(), mem_type, out), "cannot read " + what);
    }

    // Fixed-length string array attributes (as H5mdWriter writes them).
    std::vector<std::string> read_string_array_attr(hid_t obj, const char* name, const std::string& where) const {
        const std::string what = where + " attribute " + name;
        const OpenAttr a = open_attr(obj, name, what, H5T_STRING, "a string");
        const hsize_t n = a.count;
        const Handle& attr = a.attr;
        const Handle& t = a.type;
        if (n > 64) throw IoError(c.path + ": " + what + " has too many entries");
        Handle mem = c.id(H5Tcopy(H5T_C_S1), "cannot create string type");
        c.ok(H5Tset_cset(mem.get(), H5Tget_cset(t.get())), "cannot set string encoding");
        std::vector<std::string> out;
        const htri_t vl = H5Tis_variable_str(t.get());
        if (vl < 0) fail(c.path, "cannot inspect type of " + what);
        if (vl > 0) {
            c.ok(H5Tset_size(mem.get(), H5T_VARIABLE), "cannot size string type");
            std::vector<char*> p(static_cast<std::size_t>(n), nullptr);
            c.ok(H5Aread(attr.get(), mem.get(), p.data()), "cannot read " + what);
            for (char* s : p) {
                out.emplace_back(s != nullptr ? s : "");
                H5free_memory(s);
            }
            return out;
        }
        const std::size_t size = H5Tget_size(t.get());
        if (size == 0 || size > 4096) throw IoError(c.path + ": " + what + " has a bad string size");
        c.ok(H5Tset_size(mem.get(), size), "cannot size string type");
        std::vector<char> buf(size * static_cast<std::size_t>(n) + 1, '\0');
        c.ok(H5Aread(attr.get(), mem.get(), buf.data()), "cannot read " + what);
        for (hsize_t i = 0; i < n; ++i) {
            const char* s = buf.data() + i * size;
            out.emplace_back(s, strnlen(s, size));
        }
        return out;
    }

    struct Element {
        std::vector<std::int64_t> step;
        std::vector<double> time;
        std::vector<hsize_t> shape;  // of value
    };

    // Reads step and time of a time-dependent element and the value into
    // `value` (T = double or int32), checking value's shape [F][inner...].
    template <class T>
    Element element(hid_t parent, const char* name, const std::string& where, hid_t mem_type, bool integer,
                    const std::vector<hsize_t>& inner, std::vector<T>& value) const {
        Element e;
        Handle g = group(parent, name, where);
        Handle step = dataset(g.get(), "step", where + "/step");
        if (dataset_dims(step.get(), where + "/step").empty())
            throw IoError(c.path + ": " + where + "/step is scalar (fixed-interval sampling is not supported)");
        read(step.get(), H5T_NATIVE_INT64, true, {0}, e.step, where + "/step");
        Handle time = dataset(g.get(), "time", where + "/time");
        read(time.get(), H5T_NATIVE_DOUBLE, false, {e.step.size()}, e.time, where + "/time");
        Handle val = dataset(g.get(), "value", where + "/value");
        std::vector<hsize_t> expect{static_cast<hsize_t>(e.step.size())};
        expect.insert(expect.end(), inner.begin(), inner.end());
        e.shape = read(val.get(), mem_type, integer, expect, value, where + "/value");
        for (std::int64_t s : e.step)
            if (s < 0) throw IoError(c.path + ": " + where + "/step holds a negative step");
        return e;
    }
};

}  // namespace

Trajectory read_h5md(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw IoError(path + ": no such file");
    if (!fs::is_regular_file(path, ec)) throw IoError(path + ": not a regular file");

    Hdf5Scope scope;
    Reader r{Ctx{path}};
    const Ctx& c = r.c;
    const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
    if (is_hdf5 <= 0) {
        hdf5_detail();
        throw IoError(path + ": not an HDF5 file");
    }
    Handle fapl = file_access_plist(c);
    Handle file = c.id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()),
                       "cannot open HDF5 file (truncated or damaged?)");

    Trajectory traj;
    {
        Handle h5md = r.group(file.get(), "h5md", "/h5md");
        int version[2] = {0, 0};
        r.read_attr(h5md.get(), "version", H5T_NATIVE_INT, 2, version, "/h5md");
        if (version[0] != 1)
            throw IoError(path + ": unsupported H5MD version " + std::to_string(version[0]) + "." +
                          std::to_string(version[1]));
    }
    {
        Handle params = r.group(file.get(), "parameters", "/parameters");
        Handle ds = r.dataset(params.get(), "config_json", "/parameters/config_json");
        traj.config_json = r.read_string(ds.get(), "/parameters/config_json");
        try {
            traj.config = parse_config(traj.config_json);
        } catch (const Error& e) {
            throw IoError(path + ": invalid /parameters/config_json: " + e.what());
        }
        // String attributes (model, the network checkpoint, ...); others (seed) are not strings.
        std::vector<std::string> keys;
        hsize_t at = 0;
        c.ok(H5Aiterate2(params.get(), H5_INDEX_NAME, H5_ITER_INC, &at, collect_attr_name, &keys),
             "cannot list /parameters attributes");
        for (const std::string& key : keys) {
            Handle attr = c.id(H5Aopen(params.get(), key.c_str(), H5P_DEFAULT), "cannot open /parameters attribute " + key);
            Handle type = c.id(H5Aget_type(attr.get()), "cannot get type of /parameters attribute " + key);
            if (H5Tget_class(type.get()) != H5T_STRING) continue;
            const auto v = r.read_string_array_attr(params.get(), key.c_str(), "/parameters");
            if (v.size() == 1) traj.parameters[key] = v[0];
        }
    }
    const Config& cfg = traj.config;
    const hsize_t n = static_cast<hsize_t>(cfg.n);
    const hsize_t d = static_cast<hsize_t>(cfg.active_dim());

    Handle particles = r.group(file.get(), "particles", "/particles");
    Handle all = r.group(particles.get(), "all", "/particles/all");

    std::vector<int> species;
    {
        Handle ds = r.dataset(all.get(), "species", "/particles/all/species");
        r.read(ds.get(), H5T_NATIVE_INT, true, {n}, species, "/particles/all/species");
    }

    std::vector<double> edges;
    Reader::Element e_edges;
    {
        Handle box = r.group(all.get(), "box", "/particles/all/box");
        int dimension = 0;
        r.read_attr(box.get(), "dimension", H5T_NATIVE_INT, 1, &dimension, "/particles/all/box");
        if (dimension != 2)
            throw IoError(path + ": /particles/all/box has dimension " + std::to_string(dimension) +
                          "; Entroscope is 2-D");
        for (const auto& b : r.read_string_array_attr(box.get(), "boundary", "/particles/all/box"))
            if (b != "periodic")
                throw IoError(path + ": /particles/all/box boundary '" + b + "' is not periodic");
        e_edges = r.element(box.get(), "edges", "/particles/all/box/edges", H5T_NATIVE_DOUBLE, false, {2}, edges);
    }
    std::vector<double> pos;
    std::vector<std::int32_t> img;
    std::vector<double> act;
    const Reader::Element e_pos =
        r.element(all.get(), "position", "/particles/all/position", H5T_NATIVE_DOUBLE, false, {n, 2}, pos);
    const Reader::Element e_img =
        r.element(all.get(), "image", "/particles/all/image", H5T_NATIVE_INT32, true, {n, 2}, img);
    const Reader::Element e_act =
        r.element(all.get(), "active", "/particles/all/active", H5T_NATIVE_DOUBLE, false, {n, d}, act);

    const std::pair<const char*, const Reader::Element*> others[] = {
        {"/particles/all/image", &e_img}, {"/particles/all/active", &e_act}, {"/particles/all/box/edges", &e_edges}};
    for (const auto& [where, e] : others) {
        if (e->step.size() != e_pos.step.size())
            throw IoError(path + ": " + where + " has " + std::to_string(e->step.size()) +
                          " frames but /particles/all/position has " + std::to_string(e_pos.step.size()));
        if (e->step != e_pos.step)
            throw IoError(path + ": " + where + "/step differs from /particles/all/position/step");
    }

    const std::size_t frames = e_pos.step.size();
    const std::size_t un = static_cast<std::size_t>(n);
    const std::size_t ud = static_cast<std::size_t>(d);
    traj.frames.resize(frames);
    for (std::size_t f = 0; f < frames; ++f) {
        State& s = traj.frames[f];
        if (edges[2 * f] != edges[2 * f + 1])
            throw IoError(path + ": frame " + std::to_string(f) + " has a non-square box");
        s.box = edges[2 * f];
        s.x.assign(pos.begin() + static_cast<std::ptrdiff_t>(f * 2 * un),
                   pos.begin() + static_cast<std::ptrdiff_t>((f + 1) * 2 * un));
        s.image.assign(img.begin() + static_cast<std::ptrdiff_t>(f * 2 * un),
                       img.begin() + static_cast<std::ptrdiff_t>((f + 1) * 2 * un));
        s.act.assign(act.begin() + static_cast<std::ptrdiff_t>(f * ud * un),
                     act.begin() + static_cast<std::ptrdiff_t>((f + 1) * ud * un));
        s.types = species;
        s.step = static_cast<std::uint64_t>(e_pos.step[f]);
        s.time = e_pos.time[f];
    }

    // Custom per-particle elements: every other group in /particles/all.
    H5G_info_t info;
    c.ok(H5Gget_info(all.get(), &info), "cannot list /particles/all");
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        const ssize_t len = H5Lget_name_by_idx(all.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        if (len < 0) fail(path, "cannot list /particles/all");
        std::vector<char> buf(static_cast<std::size_t>(len) + 1, '\0');
        if (H5Lget_name_by_idx(all.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buf.data(), buf.size(),
                               H5P_DEFAULT) < 0)
            fail(path, "cannot list /particles/all");
        const std::string name(buf.data());
        if (builtin_elements().count(name)) continue;
        Handle obj = c.id(H5Oopen(all.get(), name.c_str(), H5P_DEFAULT), "cannot open /particles/all/" + name);
        if (H5Iget_type(obj.get()) != H5I_GROUP) continue;
        if (!r.has_link(obj.get(), "value")) continue;
        const std::string where = "/particles/all/" + name;
        Handle val = r.dataset(obj.get(), "value", where + "/value");
        const std::vector<hsize_t> vd = r.dataset_dims(val.get(), where + "/value");
        if (vd.size() != 3 || vd[1] != n || vd[2] == 0 || vd[2] > 1024)
            throw IoError(path + ": " + where + "/value has shape " + Reader::shape_str(vd) +
                          ", expected [*][" + std::to_string(n) + "][components]");
        PerParticleSeries series;
        series.name = name;
        series.components = static_cast<int>(vd[2]);
        std::vector<double> flat;
        const Reader::Element e = r.element(all.get(), name.c_str(), where, H5T_NATIVE_DOUBLE, false,
                                            {n, vd[2]}, flat);
        const std::size_t row = un * vd[2];
        for (std::size_t f = 0; f < e.step.size(); ++f) {
            series.steps.push_back(static_cast<std::uint64_t>(e.step[f]));
            series.times.push_back(e.time[f]);
            series.values.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(f * row),
                                       flat.begin() + static_cast<std::ptrdiff_t>((f + 1) * row));
        }
        traj.per_particle.push_back(std::move(series));
    }
    // Global time series: every group in /observables with a value dataset.
    if (r.has_link(file.get(), "observables")) {
        Handle obs = r.group(file.get(), "observables", "/observables");
        H5G_info_t oi;
        c.ok(H5Gget_info(obs.get(), &oi), "cannot list /observables");
        for (hsize_t i = 0; i < oi.nlinks; ++i) {
            const ssize_t len = H5Lget_name_by_idx(obs.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
            if (len < 0) fail(path, "cannot list /observables");
            std::vector<char> buf(static_cast<std::size_t>(len) + 1, '\0');
            if (H5Lget_name_by_idx(obs.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buf.data(), buf.size(), H5P_DEFAULT) < 0)
                fail(path, "cannot list /observables");
            const std::string name(buf.data());
            Handle obj = c.id(H5Oopen(obs.get(), name.c_str(), H5P_DEFAULT), "cannot open /observables/" + name);
            if (H5Iget_type(obj.get()) != H5I_GROUP || !r.has_link(obj.get(), "value")) continue;
            const std::string where = "/observables/" + name;
            Handle val = r.dataset(obj.get(), "value", where + "/value");
            const std::vector<hsize_t> vd = r.dataset_dims(val.get(), where + "/value");
            if (vd.empty() || vd.size() > 2 || (vd.size() == 2 && (vd[1] == 0 || vd[1] > 1024)))
                throw IoError(path + ": " + where + "/value has shape " + Reader::shape_str(vd) +
                              ", expected [*] or [*][components]");
            ObservableSeries series;
            series.name = name;
            series.components = vd.size() == 2 ? static_cast<int>(vd[1]) : 1;
            std::vector<hsize_t> inner;
            if (vd.size() == 2) inner.push_back(vd[1]);
            std::vector<double> flat;
            const Reader::Element e = r.element(obs.get(), name.c_str(), where, H5T_NATIVE_DOUBLE, false, inner, flat);
            if (H5Aexists(obj.get(), "components") > 0) {
                series.component_names = r.read_string_array_attr(obj.get(), "components", where);
                if (series.component_names.size() != static_cast<std::size_t>(series.components))
                    throw IoError(path + ": " + where + " names " + std::to_string(series.component_names.size()) +
                                  " components for " + std::to_string(series.components));
            }
            const std::size_t row = static_cast<std::size_t>(series.components);
            for (std::size_t f = 0; f < e.step.size(); ++f) {
                series.steps.push_back(static_cast<std::uint64_t>(e.step[f]));
                series.times.push_back(e.time[f]);
                series.values.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(f * row),
                                           flat.begin() + static_cast<std::ptrdiff_t>((f + 1) * row));
            }
            traj.observables.push_back(std::move(series));
        }
    }
    c.ok(file.close() ? 0 : -1, "cannot close file");
    return traj;
}

}  // namespace entroscope

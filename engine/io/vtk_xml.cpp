#include "entroscope/io/vtk_xml.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/errors.hpp"

namespace entroscope {
namespace {

bool little_endian() {
    const std::uint16_t one = 1;
    unsigned char b;
    std::memcpy(&b, &one, 1);
    return b == 1;
}

// Base64 of `bytes` (RFC 4648, padded).
void base64(std::string& out, const unsigned char* p, std::size_t n) {
    static const char* tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(out.size() + (n + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        const std::uint32_t v = (std::uint32_t(p[i]) << 16) | (std::uint32_t(p[i + 1]) << 8) | p[i + 2];
        out += tab[(v >> 18) & 63];
        out += tab[(v >> 12) & 63];
        out += tab[(v >> 6) & 63];
        out += tab[v & 63];
    }
    if (i < n) {
        std::uint32_t v = std::uint32_t(p[i]) << 16;
        if (i + 1 < n) v |= std::uint32_t(p[i + 1]) << 8;
        out += tab[(v >> 18) & 63];
        out += tab[(v >> 12) & 63];
        out += i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out += '=';
    }
}

// One uncompressed binary DataArray: base64 of (UInt64 byte count, data)
// as one stream, which is what VTK's reader expects without compression.
// NumberOfTuples is stated because VTK's reader needs it for field data
// (point data take it from the piece).
template <class T>
void data_array(std::string& out, const char* type, const std::string& name, int comps, const std::vector<T>& v) {
    out += "        <DataArray type=\"";
    out += type;
    out += "\" Name=\"" + name + "\" NumberOfComponents=\"" + std::to_string(comps) + "\" NumberOfTuples=\"" +
           std::to_string(v.size() / static_cast<std::size_t>(comps)) + "\" format=\"binary\">\n          ";
    const std::uint64_t bytes = v.size() * sizeof(T);
    std::vector<unsigned char> raw(sizeof bytes + bytes);
    std::memcpy(raw.data(), &bytes, sizeof bytes);
    if (bytes > 0) std::memcpy(raw.data() + sizeof bytes, v.data(), bytes);
    base64(out, raw.data(), raw.size());
    out += "\n        </DataArray>\n";
}

// 2-vectors (interleaved) as 3-vectors with z = 0.
std::vector<double> as_3d(const std::vector<double>& v2) {
    std::vector<double> v3(v2.size() / 2 * 3, 0.0);
    for (std::size_t i = 0; i < v2.size() / 2; ++i) {
        v3[3 * i] = v2[2 * i];
        v3[3 * i + 1] = v2[2 * i + 1];
    }
    return v3;
}

std::string header(const char* type) {
    return std::string("<?xml version=\"1.0\"?>\n<VTKFile type=\"") + type + "\" version=\"1.0\" byte_order=\"" +
           (little_endian() ? "LittleEndian" : "BigEndian") + "\" header_type=\"UInt64\">\n";
}

std::string num(double v) {
    std::string s;
    append_number(s, v);
    return s;
}

void field_data(std::string& o, double time, std::uint64_t step, double box) {
    o += "    <FieldData>\n";
    data_array(o, "Float64", "TimeValue", 1, std::vector<double>{time});
    data_array(o, "Int64", "Step", 1, std::vector<std::int64_t>{static_cast<std::int64_t>(step)});
    data_array(o, "Float64", "Box", 1, std::vector<double>{box});
    o += "    </FieldData>\n";
}

}  // namespace

std::string vtp_text(const Config& cfg, const ExportFrame& f) {
    check_export_frame("vtp", cfg, f);
    const State& s = *f.state;
    const std::size_t n = static_cast<std::size_t>(cfg.n);
    const auto cols = particle_columns(cfg, f);
    std::string o = header("PolyData");
    o += "  <PolyData>\n";
    field_data(o, s.time, s.step, s.box);
    o += "    <Piece NumberOfPoints=\"" + std::to_string(n) + "\" NumberOfVerts=\"" + std::to_string(n) +
         "\" NumberOfLines=\"0\" NumberOfStrips=\"0\" NumberOfPolys=\"0\">\n";
    std::string attrs;
    for (const auto& c : cols)
        if (c.name == "sigma_sq") attrs += " Scalars=\"sigma_sq\"";
    for (const auto& c : cols)
        if (c.name == "v_x") attrs += " Vectors=\"v_x\"";
    o += "      <PointData" + attrs + ">\n";
    std::vector<std::int32_t> species(s.types.begin(), s.types.end());
    data_array(o, "Int32", "species", 1, species);
    data_array(o, "Int32", "image", 2, s.image);
    for (const auto& c : cols) {
        if (c.components == 2) data_array(o, "Float64", c.name, 3, as_3d(*c.values));
        else data_array(o, "Float64", c.name, c.components, *c.values);
    }
    o += "      </PointData>\n      <Points>\n";
    data_array(o, "Float64", "Points", 3, as_3d(s.x));
    o += "      </Points>\n      <Verts>\n";
    std::vector<std::int64_t> conn(n), offsets(n);
    for (std::size_t i = 0; i < n; ++i) {
        conn[i] = static_cast<std::int64_t>(i);
        offsets[i] = static_cast<std::int64_t>(i + 1);
    }
    data_array(o, "Int64", "connectivity", 1, conn);
    data_array(o, "Int64", "offsets", 1, offsets);
    o += "      </Verts>\n    </Piece>\n  </PolyData>\n</VTKFile>\n";
    return o;
}

std::string vti_text(const Evaluation& e, double time, std::uint64_t step) {
    const Field& d = e.density;
    if (d.bins <= 0 || d.value.size() != static_cast<std::size_t>(d.bins) * static_cast<std::size_t>(d.bins))
        throw IoError("vti: the evaluation has no density field");
    for (const Field* f : {&e.sigma, &e.current})
        if (!f->value.empty() && (f->bins != d.bins || f->box != d.box))
            throw IoError("vti: fields on different grids");
    const std::string last = std::to_string(d.bins - 1);
    const std::string extent = "0 " + last + " 0 " + last + " 0 0";
    const double h = d.cell();
    std::string o = header("ImageData");
    o += "  <ImageData WholeExtent=\"" + extent + "\" Origin=\"" + num(h / 2) + " " + num(h / 2) + " 0\" Spacing=\"" +
         num(h) + " " + num(h) + " 1\">\n";
    field_data(o, time, step, d.box);
    o += "    <Piece Extent=\"" + extent + "\">\n      <PointData Scalars=\"density\"" +
         std::string(e.current.value.empty() ? "" : " Vectors=\"current\"") + ">\n";
    data_array(o, "Float64", "density", 1, d.value);
    if (!e.sigma.value.empty()) {
        data_array(o, "Float64", "sigma", 1, e.sigma.value);
        data_array(o, "UInt8", "mask", 1, e.sigma.mask);
    }
    if (!e.current.value.empty()) data_array(o, "Float64", "current", 3, as_3d(e.current.value));
    o += "      </PointData>\n    </Piece>\n  </ImageData>\n</VTKFile>\n";
    return o;
}

// ---------------------------------------------------------------------------

struct VtkSeriesWriter::Impl {
    Config cfg;
    std::string pvd, dir, stem;
    std::unique_ptr<AtomicFile> pvd_file;
    std::vector<std::unique_ptr<AtomicFile>> parts;  // frame files, written, not yet renamed
    std::string collection;
    std::size_t frames = 0;
    bool closed = false;

    ~Impl() {
        for (auto& p : parts) p->discard();
    }
    // A frame file to its temporary name; errors name the series first.
    void put(const std::string& name, const std::string& text) {
        try {
            auto f = std::make_unique<AtomicFile>((std::filesystem::path(dir) / name).string());
            f->write(text);
            parts.push_back(std::move(f));
        } catch (const IoError& e) {
            throw IoError(pvd + ": " + e.what());
        }
    }
};

VtkSeriesWriter::VtkSeriesWriter(const std::string& pvd_path, const Config& cfg) : impl_(std::make_unique<Impl>()) {
    Impl& w = *impl_;
    const std::filesystem::path p(pvd_path);
    if (p.extension() != ".pvd") throw IoError(pvd_path + ": a VTK series is written as NAME.pvd");
    w.cfg = cfg;
    w.pvd = pvd_path;
    w.dir = p.parent_path().string();
    w.stem = p.stem().string();
    w.pvd_file = std::make_unique<AtomicFile>(pvd_path);
}

VtkSeriesWriter::~VtkSeriesWriter() = default;
std::size_t VtkSeriesWriter::frames() const { return impl_->frames; }

std::vector<std::string> VtkSeriesWriter::files() const {
    std::vector<std::string> out{impl_->pvd};
    for (const auto& p : impl_->parts) out.push_back(p->path());
    return out;
}

void VtkSeriesWriter::append(const ExportFrame& f) {
    Impl& w = *impl_;
    if (w.closed) throw IoError(w.pvd + ": append after close()");
    check_export_frame(w.pvd, w.cfg, f);
    char idx[16];
    std::snprintf(idx, sizeof idx, "%06zu", w.frames);
    const std::string t = num(f.state->time);
    const std::string vtp = w.stem + "_particles_" + idx + ".vtp";
    w.put(vtp, vtp_text(w.cfg, f));
    w.collection += "    <DataSet timestep=\"" + t + "\" group=\"\" part=\"0\" file=\"" + vtp + "\"/>\n";
    if (f.learned != nullptr && !f.learned->density.value.empty()) {
        const std::string vti = w.stem + "_fields_" + idx + ".vti";
        w.put(vti, vti_text(*f.learned, f.state->time, f.state->step));
        w.collection += "    <DataSet timestep=\"" + t + "\" group=\"\" part=\"1\" file=\"" + vti + "\"/>\n";
    }
    ++w.frames;
}

void VtkSeriesWriter::close() {
    Impl& w = *impl_;
    if (w.closed) return;
    if (w.frames == 0) throw IoError(w.pvd + ": no frames to write");
    std::string o = "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\" byte_order=\"";
    o += little_endian() ? "LittleEndian" : "BigEndian";
    o += "\">\n  <Collection>\n" + w.collection + "  </Collection>\n</VTKFile>\n";
    w.pvd_file->write(o);
    // Frame files first, the collection last: a reader that finds the .pvd finds its parts.
    std::size_t done = 0;
    try {
        for (; done < w.parts.size(); ++done) w.parts[done]->commit();
        w.pvd_file->commit();
    } catch (...) {
        for (std::size_t i = 0; i < done; ++i) {
            std::error_code ec;
            std::filesystem::remove(w.parts[i]->path(), ec);
        }
        throw;
    }
    w.closed = true;
}

}  // namespace entroscope

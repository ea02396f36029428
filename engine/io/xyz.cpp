#include "entroscope/io/xyz.hpp"

#include "entroscope/core/errors.hpp"
#include "text_output.hpp"

namespace entroscope {

struct XyzWriter::Impl {
    Config cfg;
    io_detail::TextOutput out;
    std::string properties;  // of the first frame
    std::size_t frames = 0;
    bool closed = false;
    Impl(const std::string& path, const Config& c) : cfg(c), out(path) {}
};

XyzWriter::XyzWriter(const std::string& path, const Config& cfg) : impl_(std::make_unique<Impl>(path, cfg)) {}
XyzWriter::~XyzWriter() = default;
std::size_t XyzWriter::frames() const { return impl_->frames; }

void XyzWriter::append(const ExportFrame& f) {
    Impl& w = *impl_;
    if (w.closed) throw IoError(w.out.path() + ": append after close()");
    check_export_frame(w.out.path(), w.cfg, f);
    const State& s = *f.state;
    const auto cols = particle_columns(w.cfg, f);
    std::string props = "species:S:1:pos:R:3:image:I:2:type:I:1";
    for (const auto& c : cols) props += ":" + c.name + ":R:" + std::to_string(c.components);
    if (w.frames == 0) w.properties = props;
    else if (props != w.properties)
        throw IoError(w.out.path() + ": frame at step " + std::to_string(s.step) + " has the columns " + props +
                      ", the first frame " + w.properties);

    std::string& b = w.out.buffer();
    const int n = w.cfg.n;
    append_number(b, static_cast<std::int64_t>(n));
    b += "\nLattice=\"";
    append_number(b, s.box);
    b += " 0 0 0 ";
    append_number(b, s.box);
    b += " 0 0 0 1\" Properties=" + props + " pbc=\"T T F\" Time=";
    append_number(b, s.time);
    b += " Step=";
    append_number(b, static_cast<std::int64_t>(s.step));
    b += " Model=";
    b += to_string(w.cfg.model);
    b += '\n';
    for (int i = 0; i < n; ++i) {
        const std::size_t u = static_cast<std::size_t>(i);
        b += "X ";
        append_number(b, s.x[2 * u]);
        b += ' ';
        append_number(b, s.x[2 * u + 1]);
        b += " 0 ";
        append_number(b, static_cast<std::int64_t>(s.image[2 * u]));
        b += ' ';
        append_number(b, static_cast<std::int64_t>(s.image[2 * u + 1]));
        b += ' ';
        append_number(b, static_cast<std::int64_t>(s.types[u]));
        for (const auto& c : cols) {
            const std::size_t k = static_cast<std::size_t>(c.components);
            for (std::size_t j = 0; j < k; ++j) {
                b += ' ';
                append_number(b, (*c.values)[u * k + j]);
            }
        }
        b += '\n';
        w.out.maybe_flush();
    }
    ++w.frames;
}

void XyzWriter::close() {
    Impl& w = *impl_;
    if (w.closed) return;
    if (w.frames == 0) throw IoError(w.out.path() + ": no frames to write");
    w.out.commit();
    w.closed = true;
}

}  // namespace entroscope

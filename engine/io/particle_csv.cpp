#include "entroscope/io/particle_csv.hpp"

#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/errors.hpp"
#include "text_output.hpp"

namespace entroscope {

struct ParticleCsvWriter::Impl {
    Config cfg;
    io_detail::TextOutput out;
    std::string header;
    std::size_t frames = 0;
    bool closed = false;
    Impl(const std::string& path, const Config& c) : cfg(c), out(path) {}
};

ParticleCsvWriter::ParticleCsvWriter(const std::string& path, const Config& cfg)
    : impl_(std::make_unique<Impl>(path, cfg)) {}
ParticleCsvWriter::~ParticleCsvWriter() = default;
std::size_t ParticleCsvWriter::frames() const { return impl_->frames; }

void ParticleCsvWriter::append(const ExportFrame& f) {
    Impl& w = *impl_;
    if (w.closed) throw IoError(w.out.path() + ": append after close()");
    check_export_frame(w.out.path(), w.cfg, f);
    const State& s = *f.state;
    const auto cols = particle_columns(w.cfg, f);
    std::string header = "frame,step,time,id,species,x,y,image_x,image_y";
    for (const auto& c : cols) {
        if (c.components == 1) header += "," + c.name;
        else header += "," + c.name + "_x," + c.name + "_y";
    }
    std::string& b = w.out.buffer();
    if (w.frames == 0) {
        w.header = header;
        b += header + "\n";
    } else if (header != w.header) {
        throw IoError(w.out.path() + ": frame at step " + std::to_string(s.step) + " has the columns " + header +
                      ", the first frame " + w.header);
    }
    std::string prefix;
    append_number(prefix, static_cast<std::int64_t>(w.frames));
    prefix += ',';
    append_number(prefix, static_cast<std::int64_t>(s.step));
    prefix += ',';
    append_number(prefix, s.time);
    prefix += ',';
    for (int i = 0; i < w.cfg.n; ++i) {
        const std::size_t u = static_cast<std::size_t>(i);
        b += prefix;
        append_number(b, static_cast<std::int64_t>(i));
        b += ',';
        append_number(b, static_cast<std::int64_t>(s.types[u]));
        for (double v : {s.x[2 * u], s.x[2 * u + 1]}) {
            b += ',';
            append_number(b, v);
        }
        for (std::int32_t m : {s.image[2 * u], s.image[2 * u + 1]}) {
            b += ',';
            append_number(b, static_cast<std::int64_t>(m));
        }
        for (const auto& c : cols) {
            const std::size_t k = static_cast<std::size_t>(c.components);
            for (std::size_t j = 0; j < k; ++j) {
                b += ',';
                append_number(b, (*c.values)[u * k + j]);
            }
        }
        b += '\n';
        w.out.maybe_flush();
    }
    ++w.frames;
}

void ParticleCsvWriter::close() {
    Impl& w = *impl_;
    if (w.closed) return;
    if (w.frames == 0) throw IoError(w.out.path() + ": no frames to write");
    w.out.commit();
    w.closed = true;
}

void write_csv_table(const std::string& path, const std::vector<std::string>& columns,
                     const std::vector<std::vector<double>>& rows) {
    std::string t;
    for (std::size_t i = 0; i < columns.size(); ++i) t += (i ? "," : "") + columns[i];
    t += '\n';
    for (const auto& r : rows) {
        if (r.size() != columns.size())
            throw IoError(path + ": a row has " + std::to_string(r.size()) + " values for " +
                          std::to_string(columns.size()) + " columns");
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (i) t += ',';
            append_number(t, r[i]);
        }
        t += '\n';
    }
    write_file_atomically(path, t);
}

}  // namespace entroscope

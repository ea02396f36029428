#pragma once
// Per-particle data as one CSV table over all frames (long format: one row
// per particle and frame, so pandas/R/spreadsheets read it as it is):
//
//   frame,step,time,id,species,x,y,image_x,image_y,<active>,<learned>...
//
// <active> is theta (ABP) or g_x,g_y (AOUP); the learned columns are those
// of export_frame.hpp that were computed, vectors split into _x,_y
// (v_act of ABP is one column). x, y folded into [0, L); numbers in the
// shortest form that reads back exactly, "nan" where a value is NaN.
#include <memory>
#include <string>

#include "entroscope/core/config.hpp"
#include "entroscope/io/export_frame.hpp"

namespace entroscope {

class ParticleCsvWriter {
public:
    // Writes to PATH.tmp-XXXXXX until close(). Throws IoError.
    ParticleCsvWriter(const std::string& path, const Config& cfg);
    ~ParticleCsvWriter();  // without close(): removes the temporary file
    ParticleCsvWriter(const ParticleCsvWriter&) = delete;
    ParticleCsvWriter& operator=(const ParticleCsvWriter&) = delete;

    // Throws IoError when the frame does not fit, its columns differ from
    // the first frame's, or the write fails.
    void append(const ExportFrame& f);
    std::size_t frames() const;
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A small CSV table (a header and rows of numbers), written atomically.
// Throws IoError.
void write_csv_table(const std::string& path, const std::vector<std::string>& columns,
                     const std::vector<std::vector<double>>& rows);

}  // namespace entroscope

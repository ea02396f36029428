#pragma once
// Private to engine/io: a text file streamed to an AtomicFile's temporary
// name through a large buffer, checked at every flush, renamed at commit().
// A failed write (full disk, RLIMIT_FSIZE with SIGXFSZ ignored: EFBIG)
// throws IoError naming the final path and the system's reason; the
// temporary file is then removed when the object dies.
#include <cstdio>
#include <memory>
#include <string>

#include "entroscope/core/atomic_file.hpp"

namespace entroscope::io_detail {

class TextOutput {
public:
    // Throws IoError (AtomicFile's: missing directory, not writable).
    explicit TextOutput(const std::string& path);
    ~TextOutput();
    TextOutput(const TextOutput&) = delete;
    TextOutput& operator=(const TextOutput&) = delete;

    const std::string& path() const { return file_.path(); }
    // Appends; flushes to the file when the buffer is large.
    void write(const std::string& text);
    // Text waiting in memory (callers may append into it directly, then call maybe_flush()).
    std::string& buffer() { return buf_; }
    void maybe_flush();
    // Flushes, closes (fsync-free) and renames onto path(). Throws IoError.
    void commit();
    void discard() noexcept;

private:
    void flush();
    AtomicFile file_;
    std::FILE* f_ = nullptr;
    std::string buf_;
    bool failed_ = false;
};

}  // namespace entroscope::io_detail

#include "text_output.hpp"

#include <cerrno>
#include <cstring>

#include "entroscope/core/errors.hpp"

namespace entroscope::io_detail {

namespace {
constexpr std::size_t kFlushBytes = std::size_t(1) << 20;
}

TextOutput::TextOutput(const std::string& path) : file_(path) {
    f_ = std::fopen(file_.temp_path().c_str(), "wb");
    if (f_ == nullptr)
        throw IoError(path + ": cannot open temporary file " + file_.temp_path() + ": " + std::strerror(errno));
    buf_.reserve(kFlushBytes + (kFlushBytes >> 2));
}

TextOutput::~TextOutput() { discard(); }

void TextOutput::discard() noexcept {
    if (f_ != nullptr) {
        std::fclose(f_);
        f_ = nullptr;
    }
    file_.discard();
}

void TextOutput::flush() {
    if (failed_) throw IoError(path() + ": not written: an earlier write failed");
    if (f_ == nullptr) throw IoError(path() + ": write after commit");
    if (buf_.empty()) return;
    errno = 0;
    const std::size_t put = std::fwrite(buf_.data(), 1, buf_.size(), f_);
    if (put != buf_.size() || std::fflush(f_) != 0) {
        failed_ = true;
        const int err = errno;
        throw IoError(path() + ": cannot write (" + (err != 0 ? std::strerror(err) : "short write") +
                      "; disk full or file size limit?)");
    }
    buf_.clear();
}

void TextOutput::write(const std::string& text) {
    buf_ += text;
    maybe_flush();
}

void TextOutput::maybe_flush() {
    if (buf_.size() >= kFlushBytes) flush();
}

void TextOutput::commit() {
    flush();
    errno = 0;
    const int st = std::fclose(f_);
    f_ = nullptr;
    if (st != 0) {
        failed_ = true;
        const int err = errno;
        throw IoError(path() + ": cannot finish writing (" + (err != 0 ? std::strerror(err) : "close failed") + ")");
    }
    file_.commit();
}

}  // namespace entroscope::io_detail

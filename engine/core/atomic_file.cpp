#include "entroscope/core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <utility>

#include "entroscope/core/errors.hpp"

namespace entroscope {

namespace {

namespace fs = std::filesystem;

std::string random_suffix() {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
    std::uniform_int_distribution<int> pick(0, static_cast<int>(sizeof(alphabet)) - 2);
    std::string s(6, 'x');
    for (char& ch : s) ch = alphabet[pick(gen)];
    return s;
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    const fs::path target(path_);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    if (!fs::is_directory(dir, ec)) throw IoError(path_ + ": directory " + dir.string() + " does not exist");
    if (fs::is_directory(target, ec)) throw IoError(path_ + ": is a directory");
    // O_EXCL reserves the name: two writers of one destination never share
    // a temporary file.
    for (int attempt = 0; attempt < 32; ++attempt) {
        const std::string candidate = path_ + ".tmp-" + random_suffix();
        const int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            ::close(fd);
            temp_ = candidate;
            return;
        }
        if (errno != EEXIST)
            throw IoError(path_ + ": cannot create temporary file " + candidate + ": " + std::strerror(errno));
    }
    throw IoError(path_ + ": cannot find a free temporary file name");
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::write(const std::string& bytes) {
    if (committed_ || discarded_) throw IoError(path_ + ": write after commit or discard");
    std::ofstream out(temp_, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError(path_ + ": cannot open temporary file " + temp_);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (out) out.close();  // (close() reports late write-back errors too)
    if (!out) throw IoError(path_ + ": cannot write " + std::to_string(bytes.size()) + " bytes (disk full?)");
}

void AtomicFile::commit() {
    if (committed_ || discarded_) throw IoError(path_ + ": commit after commit or discard");
    std::error_code ec;
    fs::rename(temp_, path_, ec);
    if (ec) {
        discard();
        throw IoError(path_ + ": cannot rename " + temp_ + " into place: " + ec.message());
    }
    committed_ = true;
}

void AtomicFile::discard() noexcept {
    if (committed_ || discarded_) return;
    discarded_ = true;
    std::error_code ec;
    fs::remove(temp_, ec);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
    AtomicFile file(path);
    file.write(bytes);
    file.commit();
}

}  // namespace entroscope

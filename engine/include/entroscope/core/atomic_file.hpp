#pragma once
// Files that readers never see half written: the data go to a temporary file
// in the destination's directory (so the final rename stays on one file
// system, where POSIX makes it atomic) and replace the destination in one
// rename. Until then the destination keeps its old content, or stays absent.
#include <string>

namespace entroscope {

// A temporary file PATH.tmp-XXXXXX next to PATH, renamed onto PATH by
// commit(). Destroyed (or discarded) without commit(), it removes the
// temporary file and leaves PATH alone, so a writer that throws half-way
// leaves nothing behind.
class AtomicFile {
public:
    // Creates the temporary file, empty, under a name no other writer holds.
    // Throws IoError naming `path` when its directory does not exist, when
    // it is a directory, or when no temporary file can be created there.
    explicit AtomicFile(std::string path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    // The destination.
    const std::string& path() const { return path_; }
    // Where the content goes until commit() (for writers that open files by
    // name, such as HDF5).
    const std::string& temp_path() const { return temp_; }

    // Replaces the temporary file's content with `bytes`. Throws IoError
    // naming path() when they cannot all be written (a full disk).
    void write(const std::string& bytes);
    // Renames the temporary file onto path(). Throws IoError naming path()
    // when that fails (the temporary file is then removed) or when the file
    // was already committed or discarded.
    void commit();
    // Removes the temporary file now; path() is left alone. No-op once done.
    void discard() noexcept;
    bool committed() const { return committed_; }

private:
    std::string path_, temp_;
    bool committed_ = false;
    bool discarded_ = false;
};

// Writes `bytes` to `path` through an AtomicFile. Throws IoError naming path;
// on failure the old content of `path` is intact and no temporary file is left.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace entroscope

// Atomic file writes: the destination holds either its old content or the
// complete new one, and no temporary file outlives a failure.
#include <QtTest/QtTest>

#include <QTemporaryDir>

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "entroscope/core/atomic_file.hpp"
#include "entroscope/core/errors.hpp"

using namespace entroscope;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void put(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::vector<std::string> entries(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    return out;
}

// The IoError's message, or "" when f does not throw one.
template <class F> std::string io_error(F&& f) {
    try {
        f();
    } catch (const IoError& e) {
        return e.what();
    }
    return "";
}

// Makes the process's file writes fail beyond `bytes` (RLIMIT_FSIZE, with
// SIGXFSZ ignored so write() reports EFBIG instead of killing the test):
// a full disk without a full disk.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        getrlimit(RLIMIT_FSIZE, &old_);
        rlimit lim = old_;
        lim.rlim_cur = bytes;
        ok_ = setrlimit(RLIMIT_FSIZE, &lim) == 0;
    }
    ~FileSizeLimit() {
        setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, old_handler_);
    }
    bool ok() const { return ok_; }

private:
    rlimit old_{};
    void (*old_handler_)(int) = nullptr;
    bool ok_ = false;
};

}  // namespace

class TestAtomicFile : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void writeCreatesAndReplacesAndLeavesNoTemporaryFile() {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "out.txt";
        write_file_atomically(path.string(), "first");
        QCOMPARE(slurp(path), std::string("first"));
        std::string binary("a\0b\xff", 4);
        write_file_atomically(path.string(), binary);
        QCOMPARE(slurp(path), binary);
        QCOMPARE(entries(dir.path().toStdString()), std::vector<std::string>{"out.txt"});
    }

    void temporaryFileSitsNextToTheDestinationUntilCommit() {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "data.bin";
        put(path, "old");
        AtomicFile f(path.string());
        QCOMPARE(f.path(), path.string());
        QCOMPARE(fs::path(f.temp_path()).parent_path(), path.parent_path());
        QVERIFY(fs::path(f.temp_path()).filename().string().rfind("data.bin.tmp-", 0) == 0);
        QVERIFY(fs::exists(f.temp_path()));
        f.write("new");
        QCOMPARE(slurp(path), std::string("old"));  // readers still see the old content
        f.commit();
        QVERIFY(f.committed());
        QCOMPARE(slurp(path), std::string("new"));
        QVERIFY(!fs::exists(f.temp_path()));
        QVERIFY(io_error([&] { f.commit(); }).find(path.string()) != std::string::npos);
    }

    void missingDirectoryIsAClearIoError() {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "no-such-dir" / "out.txt";
        const std::string msg = io_error([&] { write_file_atomically(path.string(), "x"); });
        QVERIFY2(msg.find(path.string()) != std::string::npos, msg.c_str());
        QVERIFY2(msg.find("does not exist") != std::string::npos, msg.c_str());
        QVERIFY(entries(dir.path().toStdString()).empty());
    }

    void directoryAtTheDestinationIsRefused() {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "sub";
        fs::create_directory(path);
        const std::string msg = io_error([&] { AtomicFile f(path.string()); });
        QVERIFY2(msg.find("is a directory") != std::string::npos, msg.c_str());
        QCOMPARE(entries(dir.path().toStdString()), std::vector<std::string>{"sub"});
    }

    void failedWriteKeepsTheOldFileAndLeavesNoTemporaryFile() {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "model.pt";
        put(path, "old checkpoint");
        std::string msg;
        {
            FileSizeLimit limit(4096);
            if (!limit.ok()) QSKIP("cannot lower RLIMIT_FSIZE here");
            msg = io_error([&] { write_file_atomically(path.string(), std::string(1 << 20, 'x')); });
        }
        QVERIFY2(msg.find(path.string()) != std::string::npos, msg.c_str());
        QVERIFY2(msg.find("cannot write") != std::string::npos, msg.c_str());
        QCOMPARE(slurp(path), std::string("old checkpoint"));
        QCOMPARE(entries(dir.path().toStdString()), std::vector<std::string>{"model.pt"});
    }

    // A writer that throws before commit(): the destructor cleans up.
    void abandonedFileLeavesTheDestinationAlone() {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "traj.h5";
        put(path, "old");
        try {
            AtomicFile f(path.string());
            f.write("half of it");
            throw std::runtime_error("the writer failed");
        } catch (const std::runtime_error&) {
        }
        QCOMPARE(slurp(path), std::string("old"));
        QCOMPARE(entries(dir.path().toStdString()), std::vector<std::string>{"traj.h5"});
        {
            AtomicFile never(path.string());  // not even written
        }
        QCOMPARE(entries(dir.path().toStdString()), std::vector<std::string>{"traj.h5"});
    }

    void failedRenameIsAnIoErrorAndRemovesTheTemporaryFile() {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "blocked";
        AtomicFile f(path.string());
        f.write("content");
        fs::create_directories(path / "inside");  // a non-empty directory cannot be renamed over
        const std::string msg = io_error([&] { f.commit(); });
        QVERIFY2(msg.find(path.string()) != std::string::npos, msg.c_str());
        QVERIFY(!f.committed());
        QCOMPARE(entries(dir.path().toStdString()), std::vector<std::string>{"blocked"});
    }
};

QTEST_APPLESS_MAIN(TestAtomicFile)
#include "TestAtomicFile.moc"

#pragma once
// The window's adapter over the engine's sweeps (session/sweep.hpp): runs a
// grid on a worker thread of its own, posts each finished point, the
// progress and the end back to the GUI thread as signals. One sweep at a
// time; cancel() stops it between chunks, and the destructor cancels and
// joins.
#include <QObject>
#include <QString>
#include <atomic>
#include <thread>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/session/sweep.hpp"

namespace entroscope::gui {

class SweepController : public QObject {
    Q_OBJECT
public:
    explicit SweepController(QObject* parent = nullptr);
    ~SweepController() override;

    bool running() const { return running_; }
    // Starts the points of `base` (validated first: a ConfigError comes back
    // through finished() with the reason, nothing runs). False when a sweep
    // is running already.
    bool start(const Config& base, std::vector<SweepPoint> points, SweepOptions opt, int threads);
    void cancel();

Q_SIGNALS:
    // With the point's own config (the sweep's base at its phi and Pe).
    void pointFinished(const entroscope::SweepResult& result, const entroscope::Config& pointConfig);
    void progress(double fraction);
    // error: "" when every point finished or the sweep was cancelled.
    void finished(bool cancelled, const QString& error);

private:
    void join();

    std::thread worker_;
    std::atomic<bool> cancel_{false};
    bool running_ = false;
};

}  // namespace entroscope::gui

#pragma once
// The window's thin Qt adapter over the engine's LiveSession: commands go
// straight to the session's queue, frames are polled at display rate, and
// what the session reports on its own threads (checkpoint answers, notices)
// comes back as queued signals on the GUI thread.
#include <QObject>
#include <QString>
#include <memory>

#include "entroscope/core/config.hpp"
#include "entroscope/session/frame.hpp"
#include "entroscope/session/live_session.hpp"

namespace entroscope::gui {

class SessionController : public QObject {
    Q_OBJECT
public:
    // Builds and starts `cfg` at once (running, unless opt.running is false).
    SessionController(const Config& cfg, LiveOptions opt, QObject* parent = nullptr);
    ~SessionController() override;

    // Newest frame, or null before the first one. Cheap; call at any rate.
    std::shared_ptr<const Frame> latest() const;
    // Newest frame with learned values (its own state), or null.
    std::shared_ptr<const Frame> latestLearned() const;
    LiveSession& session() { return *session_; }
    const LiveOptions& options() const { return opt_; }

    void reset(const Config& cfg);
    void setPackingFraction(double phi);
    void setPeclet(double pe);
    void setTimeStep(double dt);
    void setRunning(bool run);
    void step();
    void setTraining(bool on);
    // The answer is networkFileDone.
    void saveNetwork(const QString& path);
    void loadNetwork(const QString& path);

Q_SIGNALS:
    void runningChanged(bool running);
    // `error` is empty on success.
    void networkFileDone(bool saved, const QString& path, const QString& error);

private:
    LiveOptions opt_;
    std::unique_ptr<LiveSession> session_;
};

}  // namespace entroscope::gui

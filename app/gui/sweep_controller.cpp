#include "app/gui/sweep_controller.hpp"

#include <QMetaObject>
#include <chrono>
#include <exception>

namespace entroscope::gui {

SweepController::SweepController(QObject* parent) : QObject(parent) {}

SweepController::~SweepController() {
    cancel_ = true;
    join();
}

void SweepController::join() {
    if (worker_.joinable()) worker_.join();
}

void SweepController::cancel() { cancel_ = true; }

bool SweepController::start(const Config& base, std::vector<SweepPoint> points, SweepOptions opt, int threads) {
    if (running_) return false;
    join();
    cancel_ = false;
    running_ = true;
    worker_ = std::thread([this, base, points = std::move(points), opt, threads] {
        std::string error;
        SweepCallbacks cb;
        cb.cancelled = [this] { return cancel_.load(); };
        // Progress at most ten times a second: each one is a queued call.
        auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
        cb.progress = [this, last](double f) mutable {
            const auto now = std::chrono::steady_clock::now();
            if (now - last < std::chrono::milliseconds(100) && f < 1.0) return;
            last = now;
            QMetaObject::invokeMethod(this, [this, f] { Q_EMIT progress(f); }, Qt::QueuedConnection);
        };
        cb.finished = [this, base](const SweepResult& r) {
            const Config at = sweep_point_config(base, {r.phi, r.pe});  // checked before the run: does not throw here
            QMetaObject::invokeMethod(this, [this, r, at] { Q_EMIT pointFinished(r, at); }, Qt::QueuedConnection);
        };
        try {
            run_sweep(base, points, opt, threads, cb);
        } catch (const std::exception& e) {
            error = e.what();
        }
        const bool cancelled = cancel_.load();
        QMetaObject::invokeMethod(this, [this, cancelled, error] {
            running_ = false;
            Q_EMIT finished(cancelled, QString::fromStdString(error));
        }, Qt::QueuedConnection);
    });
    return true;
}

}  // namespace entroscope::gui

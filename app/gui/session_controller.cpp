#include "app/gui/session_controller.hpp"

#include <QMetaObject>

namespace entroscope::gui {

SessionController::SessionController(const Config& cfg, LiveOptions opt, QObject* parent)
    : QObject(parent), opt_(std::move(opt)), session_(std::make_unique<LiveSession>(cfg, opt_))
{
}

SessionController::~SessionController() = default;

std::shared_ptr<const Frame> SessionController::latest() const { return session_->latest(); }

std::shared_ptr<const Frame> SessionController::latestLearned() const { return session_->latest_learned(); }

void SessionController::reset(const Config& cfg) { session_->reset(cfg); }

void SessionController::setPackingFraction(double phi) { session_->set_packing_fraction(phi); }

void SessionController::setPeclet(double pe) { session_->set_peclet(pe); }

void SessionController::setTimeStep(double dt) { session_->set_time_step(dt); }

void SessionController::setRunning(bool run)
{
    session_->set_running(run);
    Q_EMIT runningChanged(run);
}

void SessionController::step() { session_->step(); }

void SessionController::setTraining(bool on) { session_->set_training(on); }

void SessionController::saveNetwork(const QString& path)
{
    // The session answers on its own thread (joined before this object goes
    // away); the answer is re-posted to this object's thread.
    session_->save_model(path.toStdString(), [this, path](const std::string& error) {
        QMetaObject::invokeMethod(
            this, [this, path, error] { Q_EMIT networkFileDone(true, path, QString::fromStdString(error)); }, Qt::QueuedConnection);
    });
}

void SessionController::loadNetwork(const QString& path)
{
    session_->load_model(path.toStdString(), [this, path](const std::string& error) {
        QMetaObject::invokeMethod(
            this, [this, path, error] { Q_EMIT networkFileDone(false, path, QString::fromStdString(error)); }, Qt::QueuedConnection);
    });
}

}  // namespace entroscope::gui

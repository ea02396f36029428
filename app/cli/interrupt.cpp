#include "interrupt.hpp"

#include <atomic>
#include <csignal>

#include "entroscope/core/errors.hpp"

namespace entroscope::cli {

namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted.store(true); }
}  // namespace

namespace {
// The flag is cleared before the handlers go in, so no signal is lost.
bool reset_flag()
{
    g_interrupted.store(false);
    return true;
}
}  // namespace

InterruptGuard::InterruptGuard()
    : old_int_((reset_flag(), std::signal(SIGINT, on_signal))), old_term_(std::signal(SIGTERM, on_signal))
{
}

InterruptGuard::~InterruptGuard()
{
    std::signal(SIGINT, old_int_ == SIG_ERR ? SIG_DFL : old_int_);
    std::signal(SIGTERM, old_term_ == SIG_ERR ? SIG_DFL : old_term_);
}

bool interrupted() { return g_interrupted.load(); }

void throw_if_interrupted(const std::string& where)
{
    if (interrupted()) throw IoError("interrupted " + where + "; nothing was written");
}

}  // namespace entroscope::cli

#pragma once
// Ctrl+C (SIGINT) and SIGTERM (the window's Cancel, a job scheduler) while a
// long command writes files: instead of dying with temporary files behind,
// the command notices between frames and throws, and its writers remove
// what they started (exit 2, nothing at the target).
#include <algorithm>
#include <cstdint>
#include <string>

namespace entroscope::cli {

// Installs the handlers for its lifetime (the old ones come back after).
class InterruptGuard {
public:
    InterruptGuard();
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

private:
    using Handler = void (*)(int);
    Handler old_int_, old_term_;
};

// A signal arrived since the guard was made.
bool interrupted();
// Throws IoError "interrupted <where>" when one did.
void throw_if_interrupted(const std::string& where);

// Runs `steps` simulation steps as run(k) in slices of at most 2000, asking
// between slices, so that a long burn-in or stride can be interrupted too.
template <class Run>
void run_interruptibly(std::uint64_t steps, Run&& run, const std::string& where)
{
    constexpr std::uint64_t kSlice = 2000;
    for (std::uint64_t done = 0; done < steps;) {
        throw_if_interrupted(where);
        const std::uint64_t k = std::min(kSlice, steps - done);
        run(k);
        done += k;
    }
}

}  // namespace entroscope::cli

// rw_spinlock.cpp — the waiting side of goro::detail::rw_spinlock (the word
// and its rules: goro/detail/rw_spinlock.hpp).
#include "goro/detail/rw_spinlock.hpp"

#include <sched.h>

#include <climits>

#include "futex.hpp"
#include "goro/detail/spinlock.hpp"

namespace goro::detail {

// A waiter's schedule: spins of 1, 2 ... 64 pauses (the holder is running on
// another core and lets go within a critical section of tens of
// nanoseconds), then a few yields of the thread (a holder preempted on this
// core runs), then sleeps on the word until a release that could let it in.
class rw_spinlock::waiter {
 public:
  // One step, having seen `s` (which does not let this waiter in); the
  // caller reloads the word afterwards.
  void step(std::atomic<std::uint32_t>& word, std::uint32_t s) noexcept {
    if (!spin_.spun_out()) {
      spin_.spin();
      return;
    }
    if (yields_ < kYields) {
      ++yields_;
      sched_yield();
      return;
    }
    // Announce the sleep on the word itself, so that the release that ends
    // this wait knows to wake; if the word moved meanwhile, look again.
    if (!(s & kSleepers) &&
        !word.compare_exchange_strong(s, s | kSleepers, std::memory_order_relaxed))
      return;
    // Returns at once if the word is no longer s | kSleepers (a release
    // came in between): no wake-up can be lost.
    futex::wait(word, s | kSleepers);
    // Woken (everyone is, at a release): spin again before the next sleep,
    // or each later conflict would go straight to the futex.
    spin_ = backoff();
  }

 private:
  static constexpr int kYields = 4;
  backoff spin_;  // 1, 2 ... 64 pauses
  int yields_ = 0;
};

void rw_spinlock::lock_slow() noexcept {
  waiter w;
  std::uint32_t s = word_.load(std::memory_order_relaxed);
  for (;;) {
    if (free_for_writer(s)) {
      if (word_.compare_exchange_weak(s, (s & kSleepers) | kWriter, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return;
      continue;
    }
    // Readers hold off from now on: the ones inside drain, and we get in.
    if (!(s & kWriterWait)) {
      if (!word_.compare_exchange_weak(s, s | kWriterWait, std::memory_order_relaxed)) continue;
      s |= kWriterWait;
    }
    w.step(word_, s);
    s = word_.load(std::memory_order_relaxed);
  }
}

void rw_spinlock::lock_shared_slow() noexcept {
  waiter w;
  std::uint32_t s = word_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(s & (kWriter | kWriterWait))) {
      if (word_.compare_exchange_weak(s, s + kReader, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return;
      continue;
    }
    w.step(word_, s);
    s = word_.load(std::memory_order_relaxed);
  }
}

void rw_spinlock::wake_all() noexcept {
  futex::wake(word_, INT_MAX);
}

}  // namespace goro::detail

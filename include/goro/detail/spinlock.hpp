// goro/detail/spinlock.hpp — the one small lock goro's internals use.
//
// Critical sections under it are a few dozen instructions and never block
// (no allocation of unbounded time, no parking, no user code). It spins
// with exponential backoff, then yields the thread. Also the `backoff`
// schedule of goro's other bounded spins.
// Annotated as a capability so Clang checks GORO_GUARDED_BY fields.
#pragma once

#include <atomic>
#include <sched.h>

#include "goro/detail/config.hpp"

namespace goro::detail {

class GORO_CAPABILITY("mutex") spinlock {
 public:
  void lock() noexcept GORO_ACQUIRE() {
    if (!held_.exchange(true, std::memory_order_acquire)) return;
    lock_slow();
  }
  bool try_lock() noexcept GORO_TRY_ACQUIRE(true) {
    return !held_.load(std::memory_order_relaxed) &&
           !held_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept GORO_RELEASE() { held_.store(false, std::memory_order_release); }

 private:
  // Test-and-test-and-set with exponential backoff: a waiter pauses 1, 2,
  // 4 ... 64 times between looks, then yields the thread. Backing off lets
  // the holder take the lock again and again while its line stays in its
  // core's cache; a waiter that looked every pause pulled the line across
  // after each release, and two cores trading a channel's lock per message
  // spent 40 % of their cycles there (4 senders into a 1024-slot channel:
  // 265 -> 100 ns/msg, docs/design/performance.md).
  GORO_NOINLINE void lock_slow() noexcept GORO_NO_TSA {
    unsigned pause = 1;
    for (int waits = 0;;) {
      while (held_.load(std::memory_order_relaxed)) {
        if (waits++ < kYieldAfter) {
          for (unsigned i = 0; i < pause; ++i) cpu_relax();
          if (pause < kMaxPause) pause <<= 1;
        } else {
          sched_yield();
        }
      }
      if (!held_.exchange(true, std::memory_order_acquire)) return;
    }
  }
  static constexpr unsigned kMaxPause = 64;
  static constexpr int kYieldAfter = 16;

  std::atomic<bool> held_{false};
};

// Crossbeam's backoff: spin (doubling pause counts), then yield the thread.
// The default schedule (1, 2 ... 64 pauses) serves the channel ring, whose
// waits are for another thread's few-instruction in-flight slot write,
// never for an event, and (spin phase only) a lone channel operation's
// retries before it parks (spin_on_ring, chan_state.hpp). rw_mutex's
// waiters spin on a longer one (4 ... 256, rw_mutex.cpp): a reader's or
// writer's critical section is longer than a slot write.
class backoff {
 public:
  backoff() noexcept = default;
  // Spins of 2^first, 2^(first + 1) ... 2^last pauses, then spun_out().
  constexpr backoff(unsigned first, unsigned last) noexcept : step_(first), spin_limit_(last) {}

  void spin() noexcept {
    for (unsigned i = 0, n = 1u << (step_ < spin_limit_ ? step_ : spin_limit_); i < n; ++i)
      cpu_relax();
    if (step_ <= spin_limit_) ++step_;
  }
  // The spin phase is over (1, 2 ... 64 pauses by default: seven spins).
  bool spun_out() const noexcept { return step_ > spin_limit_; }
  // spin() while not spun out, then sched_yield() (the ring's slot waits).
  void snooze() noexcept {
    if (step_ <= spin_limit_) {
      for (unsigned i = 0, n = 1u << step_; i < n; ++i) cpu_relax();
    } else {
      sched_yield();
    }
    if (step_ <= kYieldLimit) ++step_;
  }

 private:
  static constexpr unsigned kYieldLimit = 10;
  unsigned step_ = 0;
  unsigned spin_limit_ = 6;
};

class GORO_SCOPED_CAPABILITY lock_guard {
 public:
  explicit lock_guard(spinlock& l) noexcept GORO_ACQUIRE(l) : l_(l) { l_.lock(); }
  ~lock_guard() GORO_RELEASE() { l_.unlock(); }
  lock_guard(const lock_guard&) = delete;
  lock_guard& operator=(const lock_guard&) = delete;

 private:
  spinlock& l_;
};

}  // namespace goro::detail

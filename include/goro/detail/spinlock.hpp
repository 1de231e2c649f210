// goro/detail/spinlock.hpp — the one small lock goro's internals use.
//
// Critical sections under it are a few dozen instructions and never block
// (no allocation of unbounded time, no parking, no user code). It spins
// briefly, then yields the thread; contention is rare by construction.
// Annotated as a capability so Clang checks GORO_GUARDED_BY fields.
#pragma once

#include <atomic>
#include <sched.h>

#include "goro/detail/config.hpp"

namespace goro::detail {

class GORO_CAPABILITY("mutex") spinlock {
 public:
  void lock() noexcept GORO_ACQUIRE() {
    for (int spins = 0;; ++spins) {
      if (!held_.exchange(true, std::memory_order_acquire)) return;
      while (held_.load(std::memory_order_relaxed)) {
        if (spins++ < 64) {
          cpu_relax();
        } else {
          sched_yield();
        }
      }
    }
  }
  bool try_lock() noexcept GORO_TRY_ACQUIRE(true) {
    return !held_.load(std::memory_order_relaxed) &&
           !held_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept GORO_RELEASE() { held_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> held_{false};
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

// goro/sync/guard.hpp — scoped lock guards for goro's mutexes: Go's
// `mu.Lock(); defer mu.Unlock()` as one line.
//
//   auto g = co_await mu.scoped_lock();          // unique_guard<goro::mutex>
//   auto r = co_await rw.scoped_lock_shared();   // shared_guard<goro::rw_mutex>
//   if (auto g = mu.try_scoped_lock()) { ... }   // empty guard: not acquired
//
// A guard is move-only; it unlocks when destroyed, unless it is empty (moved
// from, released, unlocked early, or a failed try_). The lock it holds is not
// tied to a thread: a goroutine that holds a guard may resume on another
// worker after a co_await, and the guard still unlocks correctly.
//
// Why not std::lock_guard / std::unique_lock: they call `m.lock()` and drop
// the result, and goro's lock() is an awaitable that does nothing until it is
// co_awaited. goro's lock awaiters abort with a clear message when they are
// destroyed without being awaited, so that mistake cannot pass silently.
#pragma once

#include <utility>

namespace goro {

namespace detail {
struct unlock_exclusive {
  template <class M>
  static void unlock(M& m) noexcept { m.unlock(); }
};
struct unlock_shared {
  template <class M>
  static void unlock(M& m) noexcept { m.unlock_shared(); }
};

template <class M, class Unlock>
class [[nodiscard]] basic_guard {
 public:
  basic_guard() noexcept = default;
  // Adopts a lock the caller already holds.
  explicit basic_guard(M& m) noexcept : m_(&m) {}
  basic_guard(basic_guard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  basic_guard& operator=(basic_guard&& o) noexcept {
    if (this != &o) {
      unlock();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  basic_guard(const basic_guard&) = delete;
  basic_guard& operator=(const basic_guard&) = delete;
  ~basic_guard() { unlock(); }

  // True while the guard holds the lock.
  bool owns_lock() const noexcept { return m_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }
  M* mutex() const noexcept { return m_; }

  // Unlocks now (no-op on an empty guard).
  void unlock() noexcept {
    if (m_) Unlock::unlock(*std::exchange(m_, nullptr));
  }
  // Gives up ownership without unlocking; the caller must unlock.
  [[nodiscard]] M* release() noexcept { return std::exchange(m_, nullptr); }

 private:
  M* m_ = nullptr;
};
}  // namespace detail

// Holds an exclusive lock (mutex::lock, rw_mutex::lock); unlock() on destruction.
template <class M>
using unique_guard = detail::basic_guard<M, detail::unlock_exclusive>;
// Holds a shared (read) lock (rw_mutex::lock_shared); unlock_shared() on destruction.
template <class M>
using shared_guard = detail::basic_guard<M, detail::unlock_shared>;

}  // namespace goro

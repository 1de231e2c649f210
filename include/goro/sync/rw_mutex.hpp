// goro/sync/rw_mutex.hpp — Go's sync.RWMutex, for goroutines and plain threads.
//
//   goro::rw_mutex rw;
//   co_await rw.lock_shared(); ... rw.unlock_shared();    // Go: RLock / RUnlock
//   co_await rw.lock();        ... rw.unlock();           // Go: Lock / Unlock
//   { auto r = co_await rw.scoped_lock_shared(); ... }    // RLock(); defer RUnlock()
//   { auto w = co_await rw.scoped_lock(); ... }           // Lock(); defer Unlock()
//   rw.try_lock(), rw.try_lock_shared()                   // TryLock / TryRLock
//   rw.blocking_lock(), rw.blocking_lock_shared()         // from plain threads
//
// Naming: the read side uses C++'s std::shared_mutex vocabulary
// (lock_shared / unlock_shared / try_lock_shared) rather than Go's RLock /
// RUnlock; the write side is lock / unlock as in both.
//
// Semantics (Go's): any number of readers or one writer. A writer that is
// waiting blocks new readers, so a stream of readers cannot starve it; when
// a writer unlocks, the readers that queued behind it all get in before the
// next writer, so writers cannot starve readers either. Unlock of an
// rw_mutex that is not write-locked, or unlock_shared of one that is not
// read-locked, aborts with a clear message (Go: fatal error). Like Go's, the
// lock is not owned by a goroutine or a thread, and a read lock must not be
// taken recursively while a writer may be waiting (it would deadlock, as in
// Go). Memory: an unlock() happens-before every later lock or lock_shared
// that acquires; an unlock_shared() happens-before the next lock() that
// acquires.
//
// State machine (one atomic word; queue changes under mu_):
//   readers     number of read holders (low 32 bits)
//   kWriter     a writer holds it (then readers == 0)
//   kWriterWait writers_ is non-empty: new readers queue instead of entering
//   kReaderWait readers_ is non-empty (only while kWriter or kWriterWait)
// Fast paths are single CASes: lock_shared when no writer holds or waits,
// unlock_shared when it is not the last reader before a waiting writer,
// lock on a free rw_mutex, unlock with nobody queued. Everything else takes
// mu_ and hands the lock over: the last reader out hands it to the head
// writer; a writer's unlock admits every queued reader at once, else hands
// it to the head writer. A woken waiter always owns what it waited for.
//
// Lifetime: as goro::mutex — every unlock path's last access to the rw_mutex
// is the releasing CAS, or happens while a dequeued waiter that still needs
// the rw_mutex is waiting to be woken.
//
// Thread-safety: every member may be called concurrently from any thread.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>

#include "goro/detail/child_task.hpp"
#include "goro/detail/goroutine.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/wait_queue.hpp"
#include "goro/sync/guard.hpp"

namespace goro {

class rw_mutex {
 public:
  rw_mutex() noexcept = default;
  rw_mutex(const rw_mutex&) = delete;
  rw_mutex& operator=(const rw_mutex&) = delete;

  // The awaiter of lock() (Shared = false) and lock_shared() (Shared = true).
  template <bool Shared>
  class [[nodiscard]] lock_awaiter {
   public:
    explicit lock_awaiter(rw_mutex* m) noexcept : m_(m) {}
    lock_awaiter(const lock_awaiter&) = delete;
    lock_awaiter& operator=(const lock_awaiter&) = delete;
    ~lock_awaiter() {
      GORO_ASSERT(awaited_,
                  "goro::rw_mutex lock()/lock_shared() result was not co_awaited, so nothing "
                  "was locked (std lock adapters cannot lock a goro::rw_mutex: use co_await, "
                  "the scoped_ forms or the blocking_ forms)");
      // A goroutine destroyed while parked here (runtime shutdown).
      if (parked_) m_->abandon(node_, Shared);
    }
    bool await_ready() noexcept {
      awaited_ = true;
      // Out of run budget: yield *before* taking the lock, never while
      // holding it (a goroutine queued with a read lock held makes a waiting
      // writer, and every reader queued behind that writer, wait a whole
      // run-queue turn).
      if (detail::budget_spent()) {
        yield_first_ = true;
        return false;
      }
      return Shared ? m_->try_lock_shared() : m_->try_lock();
    }
    // Hand-off design: one park at most, and the woken waiter owns the lock.
    // After a yield, the lock is taken by a child task (yield, then lock).
    bool await_suspend(std::coroutine_handle<> h) {
      if (yield_first_) {
        slow_ = m_->yield_then_lock(Shared);
        return detail::start_child(slow_, h);
      }
      return m_->enqueue_or_acquire(node_, Shared, h, &parked_);
    }
    void await_resume() noexcept { parked_ = false; }

   protected:
    rw_mutex* m_;

   private:
    detail::wait_node node_;
    task<> slow_;
    bool awaited_ = false;
    bool yield_first_ = false;
    bool parked_ = false;  // set under mu_ when node_ is queued
  };
  template <bool Shared>
  class [[nodiscard]] scoped_lock_awaiter : public lock_awaiter<Shared> {
   public:
    using lock_awaiter<Shared>::lock_awaiter;
    using guard = std::conditional_t<Shared, shared_guard<rw_mutex>, unique_guard<rw_mutex>>;
    [[nodiscard]] guard await_resume() noexcept {
      lock_awaiter<Shared>::await_resume();
      return guard(*this->m_);
    }
  };

  // ---- write side ----
  lock_awaiter<false> lock() noexcept { return lock_awaiter<false>(this); }
  scoped_lock_awaiter<false> scoped_lock() noexcept { return scoped_lock_awaiter<false>(this); }
  [[nodiscard]] bool try_lock() noexcept {
    std::uint64_t s = 0;
    return state_.compare_exchange_strong(s, kWriter, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  [[nodiscard]] unique_guard<rw_mutex> try_scoped_lock() noexcept {
    return try_lock() ? unique_guard<rw_mutex>(*this) : unique_guard<rw_mutex>();
  }
  void unlock() noexcept {
    std::uint64_t s = kWriter;
    if (state_.compare_exchange_strong(s, 0, std::memory_order_release,
                                       std::memory_order_relaxed))
      return;  // nobody queued: the CAS was the last access
    unlock_slow(s);
  }
  void blocking_lock() noexcept { blocking_acquire(false); }
  [[nodiscard]] unique_guard<rw_mutex> blocking_scoped_lock() noexcept {
    blocking_lock();
    return unique_guard<rw_mutex>(*this);
  }

  // ---- read side ----
  lock_awaiter<true> lock_shared() noexcept { return lock_awaiter<true>(this); }
  scoped_lock_awaiter<true> scoped_lock_shared() noexcept {
    return scoped_lock_awaiter<true>(this);
  }
  // Go's TryRLock: fails while a writer holds the lock or waits for it.
  [[nodiscard]] bool try_lock_shared() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while (!(s & (kWriter | kWriterWait))) {
      GORO_ASSERT((s & kReaderMask) != kReaderMask, "goro::rw_mutex: too many readers");
      if (state_.compare_exchange_weak(s, s + kReader, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return true;
    }
    return false;
  }
  [[nodiscard]] shared_guard<rw_mutex> try_scoped_lock_shared() noexcept {
    return try_lock_shared() ? shared_guard<rw_mutex>(*this) : shared_guard<rw_mutex>();
  }
  void unlock_shared() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      GORO_ASSERT(s & kReaderMask,
                  "goro::rw_mutex: unlock_shared of an rw_mutex that is not read-locked (Go: "
                  "fatal error: sync: RUnlock of unlocked RWMutex)");
      if ((s & kReaderMask) == kReader && (s & kWriterWait)) {
        unlock_shared_slow();  // the last reader out lets the waiting writer in
        return;
      }
      if (state_.compare_exchange_weak(s, s - kReader, std::memory_order_release,
                                       std::memory_order_relaxed))
        return;  // last access
    }
  }
  void blocking_lock_shared() noexcept { blocking_acquire(true); }
  [[nodiscard]] shared_guard<rw_mutex> blocking_scoped_lock_shared() noexcept {
    blocking_lock_shared();
    return shared_guard<rw_mutex>(*this);
  }

 private:
  static constexpr std::uint64_t kReader = 1;
  static constexpr std::uint64_t kReaderMask = 0xffff'ffffull;
  static constexpr std::uint64_t kWriter = 1ull << 32;
  static constexpr std::uint64_t kWriterWait = 1ull << 33;
  static constexpr std::uint64_t kReaderWait = 1ull << 34;

  task<> yield_then_lock(bool shared);
  bool enqueue_or_acquire(detail::wait_node& n, bool shared, std::coroutine_handle<> h,
                          bool* parked) noexcept;
  void blocking_acquire(bool shared) noexcept;
  void abandon(detail::wait_node& n, bool shared) noexcept;
  void unlock_slow(std::uint64_t s) noexcept;
  void unlock_shared_slow() noexcept;
  detail::wait_node* admit_readers_locked(std::uint64_t& s) noexcept GORO_REQUIRES(mu_);

  std::atomic<std::uint64_t> state_{0};
  detail::spinlock mu_;  // guards the queues and every change of kWriterWait / kReaderWait
  detail::wait_queue writers_ GORO_GUARDED_BY(mu_);
  detail::wait_queue readers_ GORO_GUARDED_BY(mu_);
  std::uint64_t queued_readers_ GORO_GUARDED_BY(mu_) = 0;
};

}  // namespace goro

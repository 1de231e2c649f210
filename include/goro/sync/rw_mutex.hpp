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
// Fast paths are single atomic operations: lock_shared's first try is a
// fetch_add (as Go's RLock) that succeeds when no writer holds or waits; a
// reader that finds one takes itself back out with a fetch_sub and queues
// (try_lock_shared, and the spinning tries before a park, stay a CAS loop
// that leaves the word alone while a writer is there). So the count
// also holds, for an instant, readers on their way back out, even beside
// kWriter; they never hold anything. unlock_shared is a fetch_sub, lock a CAS
// on a free rw_mutex, unlock a CAS with nobody queued. Everything else takes
// mu_ and hands the lock over: whoever brings the count to zero while a
// writer waits and none holds hands it to the head writer; a writer's
// unlock admits every queued reader at once, else hands it to the head
// writer. A woken waiter always owns what it waited for.
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
#include "goro/detail/context_node.hpp"
#include "goro/detail/goroutine.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/wait_queue.hpp"
#include "goro/sync/guard.hpp"

namespace goro {

class rw_mutex;
namespace detail {
// One context-aware lock()/lock_shared() wait (rw_mutex::lock(ctx)).
struct rw_ctx_waiter {
  rw_ctx_waiter(rw_mutex* mu, bool sh) noexcept : m(mu), shared(sh) {}
  rw_mutex* m;
  bool shared;
  wait_node node;
  // Under the mutex's mu_: queued (or found the lock free), and whether the
  // context's hook took it out or fired before it queued.
  bool decided = false;
  bool canceled = false;
};
}  // namespace detail

class rw_mutex {
 public:
  rw_mutex() noexcept = default;
  rw_mutex(const rw_mutex&) = delete;
  rw_mutex& operator=(const rw_mutex&) = delete;

  // The awaiter of lock() (Shared = false) and lock_shared() (Shared = true).
  template <bool Shared>
  class GORO_NODISCARD_AWAITABLE lock_awaiter {
   public:
    lock_awaiter(rw_mutex* m, const detail::wait_site& s) noexcept : m_(m), site_(s) {}
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
      return Shared ? m_->enter_shared() : m_->try_lock();
    }
    // Hand-off design: one park at most, and the woken waiter owns the lock.
    // After a yield, the lock is taken by a child task (yield, then lock).
    // Reached only when the fast path failed: the site is noted for the park.
    bool await_suspend(std::coroutine_handle<> h) {
      detail::note_wait_site(site_);
      if (yield_first_) {
        slow_ = m_->yield_then_lock(Shared, site_);
        return detail::start_child(slow_, h);
      }
      return m_->enqueue_or_acquire(node_, Shared, h, &parked_);
    }
    void await_resume() noexcept {
      if (parked_) detail::settle_wake(node_);  // the unlock's last touch of node_
      parked_ = false;
    }

   protected:
    rw_mutex* m_;

   private:
    detail::wait_node node_;
    task<> slow_;
    detail::wait_site site_;
    bool awaited_ = false;
    bool yield_first_ = false;
    bool parked_ = false;  // set under mu_ when node_ is queued
  };
  template <bool Shared>
  class GORO_NODISCARD_AWAITABLE scoped_lock_awaiter : public lock_awaiter<Shared> {
   public:
    using lock_awaiter<Shared>::lock_awaiter;
    using guard = std::conditional_t<Shared, shared_guard<rw_mutex>, unique_guard<rw_mutex>>;
    [[nodiscard]] guard await_resume() noexcept {
      lock_awaiter<Shared>::await_resume();
      return guard(*this->m_);
    }
  };

  // co_await mu.lock(ctx) / lock_shared(ctx): {} once held, or ctx.err()
  // (not held) when ctx is done first — at once if it already is. A waiter
  // the lock was handed to while the cancel was in flight keeps it ({}).
  // ctx must outlive the co_await.
  template <bool Shared>
  class GORO_NODISCARD_AWAITABLE lock_ctx_awaiter {
   public:
    lock_ctx_awaiter(rw_mutex* m, const context& ctx, const detail::wait_site& s) noexcept
        : w_(m, Shared), watch_(ctx, &rw_mutex::on_cancel, &w_), site_(s) {}
    lock_ctx_awaiter(const lock_ctx_awaiter&) = delete;
    lock_ctx_awaiter& operator=(const lock_ctx_awaiter&) = delete;
    ~lock_ctx_awaiter() {
      if (!parked_) return;  // torn down while parked (runtime shutdown):
      watch_.detach();       // unhook first, then leave (or give back)
      w_.m->abandon(w_.node, Shared, w_.canceled);
    }
    bool await_ready() noexcept {
      if ((early_ = watch_.err())) return true;
      return Shared ? w_.m->enter_shared() : w_.m->try_lock();
    }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      detail::note_wait_site(site_);  // the fast path failed
      return w_.m->begin_ctx_wait(w_, watch_, h, &parked_, &early_);
    }
    std::error_code await_resume() noexcept {
      if (parked_) detail::settle_wake(w_.node);
      parked_ = false;
      return w_.m->end_ctx_wait(w_, watch_, early_);
    }

   private:
    detail::rw_ctx_waiter w_;
    detail::ctx_watch watch_;
    std::error_code early_;
    detail::wait_site site_;
    bool parked_ = false;
  };

  // ---- write side ----
  // Every awaitable form takes the caller's site last (for dumps: where the
  // goroutine waits; recorded only when it parks).
  GORO_NODISCARD_AWAITABLE lock_awaiter<false> lock(GORO_WAIT_SITE_PARAMS) noexcept {
    return lock_awaiter<false>(this, GORO_WAIT_SITE);
  }
  GORO_NODISCARD_AWAITABLE lock_ctx_awaiter<false> lock(const context& ctx,
                                                        GORO_WAIT_SITE_PARAMS) noexcept {
    return {this, ctx, GORO_WAIT_SITE};
  }
  [[nodiscard]] std::error_code blocking_lock(const context& ctx, detail::source_loc loc = detail::source_loc::current()) noexcept {
    return blocking_acquire_ctx(false, ctx, loc);
  }
  GORO_NODISCARD_AWAITABLE scoped_lock_awaiter<false> scoped_lock(
      GORO_WAIT_SITE_PARAMS) noexcept {
    return scoped_lock_awaiter<false>(this, GORO_WAIT_SITE);
  }
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
  // Plain threads only (inside a goroutine: aborts naming the caller's line).
  void blocking_lock(detail::source_loc loc = detail::source_loc::current()) noexcept { blocking_acquire(false, loc); }
  [[nodiscard]] unique_guard<rw_mutex> blocking_scoped_lock(detail::source_loc loc = detail::source_loc::current()) noexcept {
    blocking_lock(loc);
    return unique_guard<rw_mutex>(*this);
  }

  // ---- read side ----
  GORO_NODISCARD_AWAITABLE lock_awaiter<true> lock_shared(GORO_WAIT_SITE_PARAMS) noexcept {
    return lock_awaiter<true>(this, GORO_WAIT_SITE);
  }
  GORO_NODISCARD_AWAITABLE lock_ctx_awaiter<true> lock_shared(
      const context& ctx, GORO_WAIT_SITE_PARAMS) noexcept {
    return {this, ctx, GORO_WAIT_SITE};
  }
  [[nodiscard]] std::error_code blocking_lock_shared(const context& ctx, detail::source_loc loc = detail::source_loc::current()) noexcept {
    return blocking_acquire_ctx(true, ctx, loc);
  }
  GORO_NODISCARD_AWAITABLE scoped_lock_awaiter<true> scoped_lock_shared(
      GORO_WAIT_SITE_PARAMS) noexcept {
    return scoped_lock_awaiter<true>(this, GORO_WAIT_SITE);
  }
  // Go's TryRLock: fails while a writer holds the lock or waits for it. A
  // CAS loop that never touches the word while a writer is there (the
  // spinning reader's tries, rw_mutex.cpp, must not disturb the writer).
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
    // Checked on the word it took one from (a load first would cost the
    // fast path a second trip for the cache line).
    GORO_ASSERT(leave_shared() & kReaderMask,
                "goro::rw_mutex: unlock_shared of an rw_mutex that is not read-locked (Go: "
                "fatal error: sync: RUnlock of unlocked RWMutex)");
  }
  void blocking_lock_shared(detail::source_loc loc = detail::source_loc::current()) noexcept { blocking_acquire(true, loc); }
  [[nodiscard]] shared_guard<rw_mutex> blocking_scoped_lock_shared(detail::source_loc loc = detail::source_loc::current()) noexcept {
    blocking_lock_shared(loc);
    return shared_guard<rw_mutex>(*this);
  }

 private:
  static constexpr std::uint64_t kReader = 1;
  static constexpr std::uint64_t kReaderMask = 0xffff'ffffull;
  static constexpr std::uint64_t kWriter = 1ull << 32;
  static constexpr std::uint64_t kWriterWait = 1ull << 33;
  static constexpr std::uint64_t kReaderWait = 1ull << 34;

  task<> yield_then_lock(bool shared, detail::wait_site site);
  enum class enq : std::uint8_t { acquired, parked, canceled };
  // `cw`: a context-aware waiter, whose hook may have fired before it queues.
  enq enqueue(detail::wait_node& n, bool shared, std::coroutine_handle<> h, bool* parked,
              detail::rw_ctx_waiter* cw) noexcept;
  bool enqueue_or_acquire(detail::wait_node& n, bool shared, std::coroutine_handle<> h,
                          bool* parked) noexcept {
    return enqueue(n, shared, h, parked, nullptr) == enq::parked;
  }
  bool begin_ctx_wait(detail::rw_ctx_waiter& w, detail::ctx_watch& watch, std::coroutine_handle<> h,
                      bool* parked, std::error_code* early) noexcept;
  std::error_code end_ctx_wait(detail::rw_ctx_waiter& w, detail::ctx_watch& watch,
                               std::error_code early) noexcept;
  std::error_code blocking_acquire_ctx(bool shared, const context& ctx,
                                       detail::source_loc loc) noexcept;
  static void on_cancel(detail::ctx_hook* h) noexcept;
  // Under mu_: takes a queued waiter out, and admits the readers that
  // queued behind a writer that was the last one waiting.
  void leave_queue_locked(detail::wait_node& n, bool shared, detail::wait_node** chain) noexcept
      GORO_REQUIRES(mu_);
  void blocking_acquire(bool shared, detail::source_loc loc) noexcept;
  void abandon(detail::wait_node& n, bool shared, bool canceled = false) noexcept;
  void unlock_slow(std::uint64_t s) noexcept;
  // Takes one reader out of the count (one fetch_sub, as Go's RUnlock): the
  // last access, unless that made the count zero while a writer waits and
  // none holds: then the writer is handed the lock (hand_to_writer).
  // Returns the word it took the reader from.
  std::uint64_t leave_shared() noexcept {
    const std::uint64_t s = state_.fetch_sub(kReader, std::memory_order_release);
    if ((s & kReaderMask) == kReader && (s & (kWriter | kWriterWait)) == kWriterWait)
      hand_to_writer();
    return s;
  }
  void hand_to_writer() noexcept;
  // A lock_shared's first try: one fetch_add, as Go's RLock, where
  // try_lock_shared is a load and a CAS that contending readers make retry.
  // A reader that finds a writer holding or waiting takes itself back out
  // (leave_shared): it never held anything, and then queues.
  bool enter_shared() noexcept {
    const std::uint64_t s = state_.fetch_add(kReader, std::memory_order_acquire);
    GORO_ASSERT((s & kReaderMask) != kReaderMask, "goro::rw_mutex: too many readers");
    if (!(s & (kWriter | kWriterWait))) return true;
    leave_shared();
    return false;
  }
  detail::wait_node* admit_readers_locked(std::uint64_t& s) noexcept GORO_REQUIRES(mu_);

  std::atomic<std::uint64_t> state_{0};
  detail::spinlock mu_;  // guards the queues and every change of kWriterWait / kReaderWait
  detail::wait_queue writers_ GORO_GUARDED_BY(mu_);
  detail::wait_queue readers_ GORO_GUARDED_BY(mu_);
  std::uint64_t queued_readers_ GORO_GUARDED_BY(mu_) = 0;
};

}  // namespace goro

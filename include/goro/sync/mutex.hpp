// goro/sync/mutex.hpp — Go's sync.Mutex, for goroutines and plain threads.
//
//   goro::mutex mu;
//   co_await mu.lock();  ...  mu.unlock();           // from a goroutine
//   { auto g = co_await mu.scoped_lock(); ... }       // Go's Lock(); defer Unlock()
//   if (mu.try_lock()) { ...; mu.unlock(); }
//   mu.blocking_lock(); ... mu.unlock();              // from a plain thread
//   if (auto ec = co_await mu.lock(ctx)) co_return ec; // ctx.err(): not locked
//
// Semantics are Go's (sync/mutex.go), fairness included:
//  * Normal mode: waiters queue FIFO, but a woken waiter does not own the
//    lock; it competes with goroutines that are running right now and
//    usually loses to them (they are on a CPU, their caches are hot). That is
//    what makes a contended mutex fast. A woken waiter that loses goes back
//    to the *head* of the queue.
//  * Starvation mode: a waiter that has waited more than 1 ms switches the
//    mutex to starvation mode. Then unlock hands ownership directly to the
//    waiter at the head of the queue; newcomers do not try to take it and
//    do not spin, they queue at the tail. The mutex goes back to normal mode
//    when a waiter that receives it is the last one or waited less than 1 ms.
//    So no waiter is bypassed forever.
//  * The lock is not owned by a thread or a goroutine: any party may unlock
//    it (as in Go). Unlocking a mutex that is not locked aborts with
//    "goro::mutex: unlock of unlocked mutex" (Go: fatal error).
//  * Memory: unlock() happens-before the lock() that next acquires it.
//  * lock(ctx) / blocking_lock(ctx) (not in Go's sync, which has no context
//    there) give up when ctx is done: they return ctx.err() and do not hold
//    the mutex — at once if ctx is already done, even when the mutex is free.
//    A waiter the mutex was handed to, or that wins it while the cancel is
//    in flight, keeps it and returns {} (as x/sync's semaphore does). A
//    cancelled waiter leaves the queue without a trace (it gives back the
//    right to retry that an unlock gave it, so nobody else misses a wake-up).
//
// Goroutines park (the worker thread runs other goroutines meanwhile); plain
// threads block in their parker. Both kinds of waiters share one queue, so a
// std::thread and a goroutine can contend for the same mutex.
//
// Not with std::lock_guard / std::unique_lock: lock() returns an awaitable,
// which they would drop; a lock() awaitable destroyed without being awaited
// aborts with a message saying so. Use scoped_lock() / blocking_scoped_lock().
//
// Lifetime: a mutex may be destroyed as soon as no party holds it, waits
// for it or is inside lock(); in particular right after an unlock() by
// another party has made it available (every unlock path's last access to
// the mutex is either the atomic that releases it, or happens while a
// queued waiter still needs it — see src/mutex.cpp).
//
// Holder (for debug::find_deadlock_cycles only): the id of the goroutine
// that took the mutex with co_await lock()/scoped_lock()/lock(ctx), stored
// (relaxed) when that co_await resumes and cleared by unlock() before the
// releasing CAS; 0 while held by a plain thread, after try_lock, or in the
// instant between the acquiring CAS and the store. Never used to decide
// anything but a report.
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
#include "goro/task.hpp"

namespace goro {

class mutex;
namespace detail {
// The id of the goroutine holding m (see "Holder" above), or 0. m must be
// alive: the caller knows a goroutine is inside m.lock() (src/registry.cpp).
std::uint64_t mutex_holder(const mutex* m) noexcept;
}  // namespace detail

class mutex {
 public:
  mutex() noexcept = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  // co_await mu.lock(): parks the goroutine until it holds the mutex.
  class GORO_NODISCARD_AWAITABLE lock_awaiter {
   public:
    lock_awaiter(mutex* m, const detail::wait_site& s) noexcept : m_(m), site_(s) {}
    lock_awaiter(const lock_awaiter&) = delete;
    lock_awaiter& operator=(const lock_awaiter&) = delete;
    ~lock_awaiter() {
      GORO_ASSERT(awaited_,
                  "goro::mutex::lock() result was not co_awaited, so nothing was locked "
                  "(std::lock_guard/std::unique_lock cannot lock a goro::mutex: use "
                  "co_await mu.lock(), co_await mu.scoped_lock() or mu.blocking_lock())");
    }
    bool await_ready() noexcept {
      awaited_ = true;
      // Out of run budget (detail::budget_spent): yield *before* taking the
      // lock, never while holding it, so that a goroutine polling a
      // condition under the lock cannot keep the goroutine that would set it
      // (on the same worker) away from the lock.
      if (detail::budget_spent()) {
        yield_first_ = true;
        return false;
      }
      return m_->try_lock();
    }
    // Contended: the slow path is a child task that may park several times
    // (detail/child_task.hpp). Throws only std::bad_alloc (its frame).
    bool await_suspend(std::coroutine_handle<> h) {
      detail::note_wait_site(site_);  // the slow path parks without knowing it
      slow_ = m_->lock_contended(yield_first_);
      return detail::start_child(slow_, h);
    }
    void await_resume() noexcept { m_->note_holder(); }

   protected:
    mutex* m_;

   private:
    task<> slow_;
    detail::wait_site site_;
    bool awaited_ = false;
    bool yield_first_ = false;
  };

  // co_await mu.scoped_lock(): locks, and returns a guard that unlocks.
  class GORO_NODISCARD_AWAITABLE scoped_lock_awaiter : public lock_awaiter {
   public:
    using lock_awaiter::lock_awaiter;
    [[nodiscard]] unique_guard<mutex> await_resume() noexcept {
      m_->note_holder();
      return unique_guard<mutex>(*m_);
    }
  };

  GORO_NODISCARD_AWAITABLE lock_awaiter lock(GORO_WAIT_SITE_PARAMS) noexcept {
    return lock_awaiter(this, GORO_WAIT_SITE);
  }
  GORO_NODISCARD_AWAITABLE scoped_lock_awaiter scoped_lock(
      GORO_WAIT_SITE_PARAMS) noexcept {
    return scoped_lock_awaiter(this, GORO_WAIT_SITE);
  }

  // co_await mu.lock(ctx): {} once it holds the mutex, or ctx.err() (and
  // not held) when ctx is done first. ctx must outlive the co_await.
  class GORO_NODISCARD_AWAITABLE lock_ctx_awaiter {
   public:
    lock_ctx_awaiter(mutex* m, const context& ctx, const detail::wait_site& s) noexcept
        : m_(m), ctx_(&ctx), site_(s) {}
    lock_ctx_awaiter(const lock_ctx_awaiter&) = delete;
    lock_ctx_awaiter& operator=(const lock_ctx_awaiter&) = delete;
    bool await_ready() noexcept {
      if ((early_ = detail::context_err(*ctx_))) return true;
      if (detail::budget_spent()) {  // as lock_awaiter: yield before taking it
        yield_first_ = true;
        return false;
      }
      return m_->try_lock();
    }
    bool await_suspend(std::coroutine_handle<> h) {
      detail::note_wait_site(site_);
      slow_ = m_->lock_contended_ctx(*ctx_, yield_first_);
      started_ = true;
      return detail::start_child(slow_, h);
    }
    std::error_code await_resume() {
      std::error_code e = started_ ? detail::child_result(slow_) : early_;
      if (!e) m_->note_holder();
      return e;
    }

   private:
    mutex* m_;
    const context* ctx_;
    task<std::error_code> slow_;
    std::error_code early_;
    detail::wait_site site_;
    bool yield_first_ = false;
    bool started_ = false;
  };
  GORO_NODISCARD_AWAITABLE lock_ctx_awaiter lock(const context& ctx,
                                                 GORO_WAIT_SITE_PARAMS) noexcept {
    return lock_ctx_awaiter(this, ctx, GORO_WAIT_SITE);
  }

  // Takes the mutex if that needs no waiting (Go's TryLock: fails in
  // starvation mode, where the mutex belongs to the head waiter).
  [[nodiscard]] bool try_lock() noexcept {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    return !(s & (kLocked | kStarving)) &&
           state_.compare_exchange_strong(s, s | kLocked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  [[nodiscard]] unique_guard<mutex> try_scoped_lock() noexcept {
    return try_lock() ? unique_guard<mutex>(*this) : unique_guard<mutex>();
  }

  // Releases the mutex; the head waiter, if any, is woken (normal mode) or
  // receives it (starvation mode). Aborts if the mutex is not locked.
  void unlock() noexcept {
    holder_.store(0, std::memory_order_relaxed);  // before the CAS: after it, *this may be gone
    std::uint32_t s = kLocked;
    if (state_.compare_exchange_strong(s, 0, std::memory_order_release,
                                       std::memory_order_relaxed))
      return;  // nobody waits: the CAS was the last access
    unlock_slow(s);
  }

  // Blocks the calling thread until it holds the mutex. Not for goroutines
  // (aborts naming the caller's line, loc).
  void blocking_lock(detail::source_loc loc = detail::source_loc::current()) noexcept;
  [[nodiscard]] unique_guard<mutex> blocking_scoped_lock(detail::source_loc loc = detail::source_loc::current()) noexcept {
    blocking_lock(loc);
    return unique_guard<mutex>(*this);
  }
  // The same, giving up when ctx is done: {} (held) or ctx.err() (not held).
  [[nodiscard]] std::error_code blocking_lock(const context& ctx, detail::source_loc loc = detail::source_loc::current()) noexcept;

 private:
  // ---- state word -----------------------------------------------------------
  // kLocked    held: by a running party, or handed to the head waiter
  //            (starvation mode hands over with the bit kept set).
  // kWoken     a waiter was dequeued and woken (or a spinner announced itself)
  //            and will try again: unlock need not wake anyone else. Only
  //            that party clears it (when it acquires or queues again).
  // kStarving  starvation mode. Implies kLocked and a non-empty queue.
  // kWaiters   the queue is non-empty. Changed only under mu_.
  static constexpr std::uint32_t kLocked = 1, kWoken = 2, kStarving = 4, kWaiters = 8;

  struct lock_state;
  struct park_awaiter;
  friend struct lock_state;
  friend std::uint64_t detail::mutex_holder(const mutex* m) noexcept;

  void note_holder() noexcept {
    detail::goroutine* g = detail::current_goroutine();
    holder_.store(g != nullptr ? g->id : 0, std::memory_order_relaxed);
  }

  task<> lock_contended(bool yield_first);
  task<std::error_code> lock_contended_ctx(const context& ctx, bool yield_first);
  static void on_cancel(detail::ctx_hook* h) noexcept;
  bool spin_then_try(lock_state& st) noexcept;
  bool enqueue_or_retry(lock_state& st, std::coroutine_handle<> h) noexcept;
  bool after_wake(lock_state& st) noexcept;
  void abandon(lock_state& st) noexcept;
  void unlock_slow(std::uint32_t s) noexcept;
  void unlock_and_wake() noexcept;

  std::atomic<std::uint32_t> state_{0};
  std::atomic<std::uint64_t> holder_{0};  // see "Holder" above
  detail::spinlock mu_;  // guards waiters_ and every change of kWaiters / kStarving
  detail::wait_queue waiters_ GORO_GUARDED_BY(mu_);
};

}  // namespace goro

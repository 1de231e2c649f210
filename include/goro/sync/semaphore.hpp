// goro/sync/semaphore.hpp — a weighted semaphore with FIFO waiters, like
// golang.org/x/sync/semaphore.Weighted.
//
//   goro::semaphore sem(10);                       // semaphore.NewWeighted(10)
//   if (co_await sem.acquire(3) == goro::acquire_status::ok) { ...; sem.release(3); }
//   auto st = co_await sem.acquire_for(1, 50ms);   // ok | timeout | too_large
//   if (sem.try_acquire(2)) { ...; sem.release(2); }
//   auto st = co_await sem.acquire(ctx, 2);        // ok | canceled | too_large
//   auto st = sem.blocking_acquire(1);             // from a plain thread
//
// Semantics (x/sync's):
//  * acquire(n) takes n permits when size - held >= n and nobody is queued;
//    otherwise it queues. Queued waiters are served strictly in order: a
//    waiter at the head that needs more permits than are free blocks every
//    later one, even ones that would fit, so a large waiter is not starved
//    by a stream of small ones.
//  * n > size can never succeed: it returns acquire_status::too_large at once
//    and never queues (x/sync blocks until the context is done instead).
//  * try_acquire(n) never waits; it fails when anybody is queued.
//  * release(n) returns permits and admits waiters from the head, in order,
//    while they fit. Releasing more than is held aborts with
//    "goro::semaphore: released more than held" (x/sync panics).
//  * acquire(ctx, n) fails with acquire_status::canceled (ctx.err() says
//    why) when ctx is done before the permits are granted — at once if ctx is
//    already done, even when the permits are free (x/sync: the context
//    becoming done "happened before" the acquire).
//  * A waiter that gives up (acquire_for / acquire_until timeout; context
//    cancellation) leaves the queue; if it was at
//    the head and permits are free, the waiters behind it are admitted (the
//    x/sync "notify waiters after a cancelled head" rule). A waiter admitted
//    at the same moment as its deadline keeps the permits: the result is
//    `ok` (x/sync: "pretend we didn't notice the cancelation").
//  * Memory: a release() happens-before the acquire it admits returns.
//  * Negative weights are misuse and abort.
//
// Weights are in any unit (bytes, connections...); size is fixed at
// construction.
//
// Lock order: timer heap lock -> the semaphore's mu_. A waiter's deadline
// timer fires under the heap lock and then takes mu_ to remove the waiter;
// so mu_ is never held while a timer is armed or disarmed (the waiter arms
// its timer before it takes mu_ to queue, and disarms it after it wakes).
// A context-aware acquire(ctx, n) cancels through the same path
// (semaphore::cancel_waiter), called by the context's cancel hook under the
// context's node lock: context node mu -> mu_ (detail/context_node.hpp).
//
// State: one word, the permits held plus kQueued, set exactly while the
// queue is non-empty (changed under mu_ only). An acquire or release with
// nobody queued is one CAS on the word and takes no lock; one that finds
// kQueued takes mu_. A waiter about to queue sets kQueued with a CAS that
// also checks that it still does not fit, so a release either comes before
// it (and the waiter sees the permits) or sees kQueued and admits under
// mu_. No acquire completes on the word while kQueued is set, so the queue
// keeps x/sync's order.
//
// Thread-safety: every member may be called concurrently from any thread.
// Lifetime: like goro::mutex, the semaphore may be destroyed once no party
// is inside one of its members. A release's last access is its CAS when
// nobody is queued; otherwise it returns its permits under mu_ (never
// before taking it: a waiter those permits admit may destroy the
// semaphore), and the unlock of mu_ is its last access; waiters are woken
// after it.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>

#include "goro/detail/context_node.hpp"
#include "goro/detail/goroutine.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/timer.hpp"
#include "goro/detail/wait_queue.hpp"

namespace goro {

enum class [[nodiscard]] acquire_status {
  ok,         // the permits were acquired
  too_large,  // n exceeds the semaphore's size: it could never be acquired
  timeout,    // acquire_for / acquire_until: the deadline passed first
  canceled,   // acquire(ctx, n): ctx was done first (ctx.err() says why)
};

class semaphore;

namespace detail {
// One waiting acquire, in a goroutine frame or on a blocked thread's stack.
struct sem_waiter : wait_node {
  semaphore* sem = nullptr;
  std::int64_t n = 0;
  nanos deadline = kNever;
  ctx_watch* watch = nullptr;  // acquire(ctx, n): the context's hook
  // Outcome, written under the semaphore's mu_ before the waiter is woken.
  bool granted = false;  // admitted (holds n permits)
  // Gave up (possibly before it queued): its deadline passed (timeout) or
  // its context is done (canceled); the first reason sticks.
  enum class why : std::uint8_t { no, timeout, canceled };
  why gave_up = why::no;
  bool parked = false;  // queued; cleared when it resumes
  timer_node timer;     // armed only with a deadline; ctx = this
};
// What the non-waiting first attempt of an acquire found.
enum class sem_fast : std::uint8_t { acquired, too_large, expired, canceled, waits };
}  // namespace detail

class semaphore {
 public:
  explicit semaphore(std::int64_t size) noexcept : size_(size) {
    GORO_ASSERT(size >= 0, "goro::semaphore: negative size");
  }
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  std::int64_t size() const noexcept { return size_; }

  class GORO_NODISCARD_AWAITABLE acquire_awaiter {
   public:
    acquire_awaiter(semaphore* s, std::int64_t n, detail::nanos deadline,
                    const detail::wait_site& site) noexcept
        : site_(site) {
      w_.sem = s;
      w_.n = n;
      w_.deadline = deadline;
    }
    acquire_awaiter(const acquire_awaiter&) = delete;
    acquire_awaiter& operator=(const acquire_awaiter&) = delete;
    ~acquire_awaiter() {
      if (w_.parked) w_.sem->abandon(w_);  // torn down while parked (runtime shutdown)
    }
    bool await_ready() noexcept {
      // The common case inline: no context, and the permits free on the
      // word (try_fast repeats the CAS, and handles the rest).
      if (w_.watch == nullptr && w_.n >= 0 && w_.sem->take_free(w_.n)) [[likely]] {
        fast_ = detail::sem_fast::acquired;
        return !detail::budget_spent();
      }
      fast_ = w_.sem->try_fast(w_);
      if (fast_ == detail::sem_fast::waits) return false;
      return fast_ != detail::sem_fast::acquired || !detail::budget_spent();
    }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      if (fast_ == detail::sem_fast::acquired) return detail::completed_or_yield(h);  // out of budget
      detail::note_wait_site(site_);  // about to queue: the park path only
      return w_.sem->begin_wait(w_, h);
    }
    acquire_status await_resume() noexcept {
      if (fast_ != detail::sem_fast::waits) return fast_status(fast_);
      return w_.sem->end_wait(w_);
    }

   protected:
    detail::sem_waiter w_;
    detail::wait_site site_;
    detail::sem_fast fast_ = detail::sem_fast::waits;
  };

  // co_await sem.acquire(ctx, n).
  class GORO_NODISCARD_AWAITABLE acquire_ctx_awaiter : public acquire_awaiter {
   public:
    acquire_ctx_awaiter(semaphore* s, std::int64_t n, const context& ctx,
                        const detail::wait_site& site) noexcept
        : acquire_awaiter(s, n, detail::kNever, site), watch_(ctx, &semaphore::on_cancel, &w_) {
      w_.watch = &watch_;
    }
    ~acquire_ctx_awaiter() {
      if (w_.parked) {  // torn down while parked: unhook before watch_ goes
        w_.parked = false;
        w_.sem->abandon(w_);
      }
    }

   private:
    detail::ctx_watch watch_;
  };

  // Each awaitable form takes the caller's site last (for dumps; recorded
  // only when the acquire queues).
  //
  // co_await sem.acquire(n): waits (FIFO) until n permits are free.
  // ok, or too_large when n > size().
  GORO_NODISCARD_AWAITABLE acquire_awaiter acquire(std::int64_t n = 1,
                                                   GORO_WAIT_SITE_PARAMS) noexcept {
    return acquire_awaiter(this, n, detail::kNever, GORO_WAIT_SITE);
  }
  // The same, giving up at the deadline (timeout).
  GORO_NODISCARD_AWAITABLE acquire_awaiter acquire_for(std::int64_t n, std::chrono::nanoseconds d,
                                                       GORO_WAIT_SITE_PARAMS) noexcept {
    return acquire_awaiter(this, n, detail::deadline_after(detail::now(), d), GORO_WAIT_SITE);
  }
  GORO_NODISCARD_AWAITABLE acquire_awaiter acquire_until(std::int64_t n, std::chrono::steady_clock::time_point t,
                                                         GORO_WAIT_SITE_PARAMS) noexcept {
    return acquire_awaiter(this, n, detail::to_nanos(t), GORO_WAIT_SITE);
  }
  // x/sync's Acquire(ctx, n): ok, too_large, or canceled when ctx is done
  // first (at once if it already is). ctx must outlive the co_await.
  GORO_NODISCARD_AWAITABLE acquire_ctx_awaiter acquire(const context& ctx, std::int64_t n = 1,
                                                       GORO_WAIT_SITE_PARAMS) noexcept {
    return acquire_ctx_awaiter(this, n, ctx, GORO_WAIT_SITE);
  }

  // Takes n permits if they are free and nobody is queued.
  [[nodiscard]] bool try_acquire(std::int64_t n = 1) noexcept;

  // Returns n permits and admits queued waiters (in order, while they fit).
  void release(std::int64_t n = 1) noexcept {
    GORO_ASSERT(n >= 0, "goro::semaphore: negative weight");
    if (!give_back(n, /*unqueued_only=*/true)) release_slow(n);  // somebody is queued
  }

  // Plain-thread forms (not inside a goroutine: that aborts naming the
  // caller's line, loc).
  acquire_status blocking_acquire(std::int64_t n = 1, detail::source_loc loc = detail::source_loc::current()) noexcept {
    return blocking_acquire_until_ns(n, detail::kNever, loc);
  }
  acquire_status blocking_acquire_for(std::int64_t n, std::chrono::nanoseconds d,
                                      detail::source_loc loc = detail::source_loc::current()) noexcept {
    return blocking_acquire_until_ns(n, detail::deadline_after(detail::now(), d), loc);
  }
  acquire_status blocking_acquire_until(std::int64_t n, std::chrono::steady_clock::time_point t,
                                        detail::source_loc loc = detail::source_loc::current()) noexcept {
    return blocking_acquire_until_ns(n, detail::to_nanos(t), loc);
  }
  acquire_status blocking_acquire(const context& ctx, std::int64_t n = 1,
                                  detail::source_loc loc = detail::source_loc::current()) noexcept;

  // Permits currently held (racy snapshot, for tests and metrics).
  std::int64_t held() const noexcept;

 private:
  friend class errgroup;
  // Whether try_acquire(n) would succeed now (a snapshot: errgroup::ready's
  // check for room, one lock round instead of an acquire and a release).
  bool would_admit(std::int64_t n) const noexcept;
  detail::sem_fast try_fast(detail::sem_waiter& w) noexcept;
  bool begin_wait(detail::sem_waiter& w, std::coroutine_handle<> h) noexcept;
  acquire_status end_wait(detail::sem_waiter& w) noexcept;
  acquire_status blocking_acquire_until_ns(std::int64_t n, detail::nanos deadline,
                                           detail::source_loc loc) noexcept;
  acquire_status blocking_wait(detail::sem_waiter& w) noexcept;
  static acquire_status fast_status(detail::sem_fast f) noexcept;
  static void on_cancel(detail::ctx_hook* h) noexcept;
  void abandon(detail::sem_waiter& w) noexcept;
  // Removes a waiter that gives up (deadline, context); wakes it and any
  // waiters that its departure lets in. Takes mu_.
  static void cancel_waiter(detail::sem_waiter* w, detail::sem_waiter::why why) noexcept;
  static void on_deadline(detail::timer_node* t) noexcept;
  void admit_locked(detail::wait_node** chain) noexcept GORO_REQUIRES(mu_);

  static constexpr std::uint64_t kQueued = std::uint64_t{1} << 63;
  static std::int64_t held_of(std::uint64_t s) noexcept {
    return static_cast<std::int64_t>(s & ~kQueued);
  }
  // Takes n permits (0 <= n) if they are free and nobody is queued.
  bool take_free(std::int64_t n) noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while ((s & kQueued) == 0 && size_ - held_of(s) >= n) {
      // acquire: pairs with the release that freed the permits.
      if (state_.compare_exchange_weak(s, s + static_cast<std::uint64_t>(n),
                                       std::memory_order_acquire, std::memory_order_relaxed))
        return true;
    }
    return false;
  }
  // Returns n permits with one CAS (release: pairs with the acquire that
  // takes them next). With unqueued_only (lock-free), only while nobody is
  // queued, and the CAS is the last access to *this; false, permits kept,
  // once kQueued is seen. Without it (under mu_, kQueued set), always, and
  // the unlock is the last access.
  bool give_back(std::int64_t n, bool unqueued_only) noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (unqueued_only && (s & kQueued) != 0) return false;
      GORO_ASSERT(held_of(s) >= n,
                  "goro::semaphore: released more than held (x/sync: semaphore: released more "
                  "than held)");
      if (state_.compare_exchange_weak(s, s - static_cast<std::uint64_t>(n),
                                       std::memory_order_release, std::memory_order_relaxed))
        return true;
    }
  }
  void release_slow(std::int64_t n) noexcept;  // release() found kQueued

  const std::int64_t size_;
  mutable detail::spinlock mu_;
  // Permits held | kQueued (the class comment).
  std::atomic<std::uint64_t> state_{0};
  detail::wait_queue waiters_ GORO_GUARDED_BY(mu_);
};

}  // namespace goro

// goro/sync/semaphore.hpp — a weighted semaphore with FIFO waiters, like
// golang.org/x/sync/semaphore.Weighted.
//
//   goro::semaphore sem(10);                       // semaphore.NewWeighted(10)
//   if (co_await sem.acquire(3) == goro::acquire_status::ok) { ...; sem.release(3); }
//   auto st = co_await sem.acquire_for(1, 50ms);   // ok | timeout | too_large
//   if (sem.try_acquire(2)) { ...; sem.release(2); }
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
//  * A waiter that gives up (acquire_for / acquire_until timeout; context
//    cancellation when goro::context lands) leaves the queue; if it was at
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
// A context-aware acquire(ctx, n) will cancel through the same path
// (semaphore::cancel_waiter).
//
// Thread-safety: every member may be called concurrently from any thread.
// Lifetime: like goro::mutex, the semaphore may be destroyed once no party
// is inside one of its members; every release path's last access is the
// unlock of mu_, and waiters are woken after it.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>

#include "goro/detail/goroutine.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/timer.hpp"
#include "goro/detail/wait_queue.hpp"

namespace goro {

enum class [[nodiscard]] acquire_status {
  ok,         // the permits were acquired
  too_large,  // n exceeds the semaphore's size: it could never be acquired
  timeout,    // acquire_for / acquire_until: the deadline passed first
};

class semaphore;

namespace detail {
// One waiting acquire, in a goroutine frame or on a blocked thread's stack.
struct sem_waiter : wait_node {
  semaphore* sem = nullptr;
  std::int64_t n = 0;
  nanos deadline = kNever;
  // Outcome, written under the semaphore's mu_ before the waiter is woken.
  bool granted = false;    // admitted (holds n permits)
  bool timed_out = false;  // its deadline passed (possibly before it queued)
  bool parked = false;     // queued; cleared when it resumes
  timer_node timer;        // armed only with a deadline; ctx = this
};
// What the non-waiting first attempt of an acquire found.
enum class sem_fast : std::uint8_t { acquired, too_large, expired, waits };
}  // namespace detail

class semaphore {
 public:
  explicit semaphore(std::int64_t size) noexcept : size_(size) {
    GORO_ASSERT(size >= 0, "goro::semaphore: negative size");
  }
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  std::int64_t size() const noexcept { return size_; }

  class [[nodiscard]] acquire_awaiter {
   public:
    acquire_awaiter(semaphore* s, std::int64_t n, detail::nanos deadline) noexcept {
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
      fast_ = w_.sem->try_fast(w_);
      if (fast_ == detail::sem_fast::waits) return false;
      return fast_ != detail::sem_fast::acquired || !detail::budget_spent();
    }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      if (fast_ == detail::sem_fast::acquired) return detail::completed_or_yield(h);  // out of budget
      return w_.sem->begin_wait(w_, h);
    }
    acquire_status await_resume() noexcept {
      switch (fast_) {
        case detail::sem_fast::acquired: return acquire_status::ok;
        case detail::sem_fast::too_large: return acquire_status::too_large;
        case detail::sem_fast::expired: return acquire_status::timeout;
        case detail::sem_fast::waits: break;
      }
      return w_.sem->end_wait(w_);
    }

   private:
    detail::sem_waiter w_;
    detail::sem_fast fast_ = detail::sem_fast::waits;
  };

  // co_await sem.acquire(n): waits (FIFO) until n permits are free.
  // ok, or too_large when n > size().
  acquire_awaiter acquire(std::int64_t n = 1) noexcept {
    return acquire_awaiter(this, n, detail::kNever);
  }
  // The same, giving up at the deadline (timeout).
  acquire_awaiter acquire_for(std::int64_t n, std::chrono::nanoseconds d) noexcept {
    return acquire_awaiter(this, n, detail::deadline_after(detail::now(), d));
  }
  acquire_awaiter acquire_until(std::int64_t n, std::chrono::steady_clock::time_point t) noexcept {
    return acquire_awaiter(this, n, detail::to_nanos(t));
  }

  // Takes n permits if they are free and nobody is queued.
  [[nodiscard]] bool try_acquire(std::int64_t n = 1) noexcept;

  // Returns n permits and admits queued waiters (in order, while they fit).
  void release(std::int64_t n = 1) noexcept;

  // Plain-thread forms (not inside a goroutine).
  acquire_status blocking_acquire(std::int64_t n = 1) noexcept {
    return blocking_acquire_until_ns(n, detail::kNever);
  }
  acquire_status blocking_acquire_for(std::int64_t n, std::chrono::nanoseconds d) noexcept {
    return blocking_acquire_until_ns(n, detail::deadline_after(detail::now(), d));
  }
  acquire_status blocking_acquire_until(std::int64_t n,
                                        std::chrono::steady_clock::time_point t) noexcept {
    return blocking_acquire_until_ns(n, detail::to_nanos(t));
  }

  // Permits currently held (racy snapshot, for tests and metrics).
  std::int64_t held() const noexcept;

 private:
  detail::sem_fast try_fast(detail::sem_waiter& w) noexcept;
  bool begin_wait(detail::sem_waiter& w, std::coroutine_handle<> h) noexcept;
  acquire_status end_wait(detail::sem_waiter& w) noexcept;
  acquire_status blocking_acquire_until_ns(std::int64_t n, detail::nanos deadline) noexcept;
  void abandon(detail::sem_waiter& w) noexcept;
  // Removes a waiter that gives up (deadline, context); wakes it and any
  // waiters that its departure lets in. Takes mu_.
  static void cancel_waiter(detail::sem_waiter* w) noexcept;
  static void on_deadline(detail::timer_node* t) noexcept;
  void admit_locked(detail::wait_node** chain) noexcept GORO_REQUIRES(mu_);

  const std::int64_t size_;
  mutable detail::spinlock mu_;
  std::int64_t cur_ GORO_GUARDED_BY(mu_) = 0;  // permits held
  detail::wait_queue waiters_ GORO_GUARDED_BY(mu_);
};

}  // namespace goro

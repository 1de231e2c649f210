// semaphore.cpp — goro::semaphore: x/sync/semaphore's algorithm on goro's
// wait queue and timer path. Contract: goro/sync/semaphore.hpp.
//
// Invariants (held = held_of(state_)):
//   0 <= held <= size_;
//   kQueued is set in state_ exactly while the queue is non-empty (both
//   change under mu_ only);
//   every queued waiter has 0 <= n <= size_;
//   if the queue is non-empty, its head does not fit (size_ - held <
//   head.n) — admit_locked() restores this after every release or
//   cancellation. While kQueued is set, held only goes down outside mu_
//   (no acquire completes on the word), so a fit seen under mu_ stays.
// Fast paths (no lock): take_free (an acquire, try_acquire) and release
// when kQueued is clear, one CAS each. A waiter queues only after a CAS
// that sets kQueued on a word where it does not fit (begin_wait); a release
// CASes only a word without kQueued, and otherwise returns its permits
// under mu_. So a release either lands before that CAS (the waiter sees the
// permits and does not queue) or finds kQueued and admits under mu_: no
// waiter sleeps beside free permits.
// A waiter leaves the queue exactly once, under mu_, either admitted
// (granted, by release or by a cancellation behind which it fits) or
// cancelled (gave_up, by its deadline timer or its context); whoever unlinks it wakes it,
// after mu_ is released.
//
// Deadline race, in order:
//   begin_wait: arm timer (no lock held) -> lock mu_ -> [timed out already? |
//               fits now? | queue] -> unlock mu_ -> park
//   timer:      (heap lock held) lock mu_ -> linked? cancel + admit others :
//               not granted? mark gave_up (it has not queued yet) -> unlock
//               -> wake
//   end_wait:   disarm timer (waits out a running callback via the heap lock)
//               -> read granted / gave_up
// A context's cancel hook takes the timer's place (attached before mu_,
// fires under the context's node lock, detached in end_wait, which waits out
// a running hook on that lock); both may race, the first reason sticks.
// Lock order: timer heap lock -> mu_. No path holds mu_ while it arms or
// disarms a timer.
#include "goro/sync/semaphore.hpp"

#include <atomic>

namespace goro {

namespace detail::testing {
// src/scheduler_testing.hpp, set_semaphore_release_seam.
std::atomic<void (*)(bool)> g_sem_release_seam{nullptr};
void set_semaphore_release_seam(void (*hook)(bool returned)) noexcept {
  g_sem_release_seam.store(hook, std::memory_order_release);
}
}  // namespace detail::testing

namespace {
void release_seam(bool returned) noexcept {
  if (auto* hook = detail::testing::g_sem_release_seam.load(std::memory_order_acquire)) hook(returned);
}

void append(detail::wait_node**& tail, detail::wait_node* n) noexcept {
  n->next = nullptr;
  *tail = n;
  tail = &n->next;
}
}  // namespace

// Admits waiters from the head while they fit (x/sync's notifyWaiters). It
// stops at the first that does not fit: later, smaller ones wait behind it.
// Clears kQueued when the queue is left empty.
void semaphore::admit_locked(detail::wait_node** chain) noexcept {
  detail::wait_node** tail = chain;
  while (*tail) tail = &(*tail)->next;
  while (auto* head = static_cast<detail::sem_waiter*>(waiters_.front())) {
    // kQueued is set: only releases change the word meanwhile (they lower
    // it), so a fit seen here holds for the fetch_add.
    if (size_ - held_of(state_.load(std::memory_order_relaxed)) < head->n) break;
    state_.fetch_add(static_cast<std::uint64_t>(head->n), std::memory_order_relaxed);
    waiters_.pop_front();
    head->granted = true;
    append(tail, head);
  }
  if (waiters_.empty()) state_.fetch_and(~kQueued, std::memory_order_relaxed);
}

detail::sem_fast semaphore::try_fast(detail::sem_waiter& w) noexcept {
  GORO_ASSERT(w.n >= 0, "goro::semaphore: negative weight");
  if (w.n > size_) return detail::sem_fast::too_large;
  // x/sync: a context already done fails the acquire even if permits are free.
  if (w.watch && w.watch->err()) return detail::sem_fast::canceled;
  if (take_free(w.n)) return detail::sem_fast::acquired;
  if (w.deadline != detail::kNever && w.deadline <= detail::now())
    return detail::sem_fast::expired;
  return detail::sem_fast::waits;
}

bool semaphore::try_acquire(std::int64_t n) noexcept {
  GORO_ASSERT(n >= 0, "goro::semaphore: negative weight");
  return take_free(n);
}

// release() found kQueued. Its permits go back under mu_, never before it
// is taken (a waiter they admit may destroy the semaphore), and only while
// somebody is still queued. If the queue emptied meanwhile (admitted by
// another release, or gone on a timeout), permits returned under the lock
// could let a lock-free acquirer take every permit and destroy the semaphore
// before our unlock: back to the CAS. With kQueued still set, the head needs
// at least one permit that is not free yet, so nobody can hold them all
// before the waiters admitted here are woken, after the unlock.
void semaphore::release_slow(std::int64_t n) noexcept {
  do {
    release_seam(false);
    detail::wait_node* chain = nullptr;
    bool returned = false;
    {
      detail::lock_guard l(mu_);
      if ((state_.load(std::memory_order_relaxed) & kQueued) != 0) {  // changes under mu_ only
        returned = give_back(n, /*unqueued_only=*/false);
        release_seam(true);
        admit_locked(&chain);
      }
    }
    if (returned) {
      detail::wake_chain(chain);  // the unlock above was the last access to *this
      return;
    }
  } while (!give_back(n, /*unqueued_only=*/true));
}

bool semaphore::would_admit(std::int64_t n) const noexcept {
  const std::uint64_t s = state_.load(std::memory_order_acquire);
  return (s & kQueued) == 0 && size_ - held_of(s) >= n;
}

std::int64_t semaphore::held() const noexcept {
  return held_of(state_.load(std::memory_order_acquire));
}

// Queues w after arming its deadline timer (see the race in the file
// comment). True: parked; false: it acquired or timed out without parking
// (end_wait reads which). h is the goroutine's frame or null for a thread.
bool semaphore::begin_wait(detail::sem_waiter& w, std::coroutine_handle<> h) noexcept {
  if (w.deadline != detail::kNever) {
    w.timer.ctx = &w;
    w.timer.fire = &semaphore::on_deadline;
    detail::timer_arm(&w.timer, w.deadline);  // before mu_: it may fire at once
  }
  if (w.watch && !w.watch->attach()) {  // before mu_ too: it may fire at once
    w.gave_up = detail::sem_waiter::why::canceled;  // already done
    return false;
  }
  detail::lock_guard l(mu_);
  if (w.gave_up != detail::sem_waiter::why::no) return false;
  if (waiters_.empty()) {
    // The first to queue: set kQueued on a word where w still does not
    // fit, or take the permits a release freed meanwhile.
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (size_ - held_of(s) >= w.n) {
        if (state_.compare_exchange_weak(s, s + static_cast<std::uint64_t>(w.n),
                                         std::memory_order_acquire, std::memory_order_relaxed)) {
          w.granted = true;
          return false;
        }
      } else if (state_.compare_exchange_weak(s, s | kQueued, std::memory_order_acquire,
                                              std::memory_order_relaxed)) {
        break;
      }
    }
  }
  w.notified.store(false, std::memory_order_relaxed);
  w.w = h ? detail::waker_for_noted(h, detail::wait_kinds::semaphore, this) : detail::thread_waker();
  waiters_.push_back(&w);
  w.parked = true;
  return true;  // published: nothing of w or the caller is touched after the unlock
}

acquire_status semaphore::end_wait(detail::sem_waiter& w) noexcept {
  if (w.parked) detail::settle_wake(w);  // the waker's last touch of w (a thread has seen it)
  w.parked = false;
  if (w.watch) w.watch->detach();  // waits out a running hook (context node lock)
  if (w.deadline != detail::kNever) detail::timer_disarm(&w.timer);
  // Written under mu_ before the wake (or by the disarmed callback / the
  // detached hook, which have finished).
  if (w.granted) return acquire_status::ok;
  return w.gave_up == detail::sem_waiter::why::canceled ? acquire_status::canceled
                                                          : acquire_status::timeout;
}

acquire_status semaphore::fast_status(detail::sem_fast f) noexcept {
  switch (f) {
    case detail::sem_fast::acquired: return acquire_status::ok;
    case detail::sem_fast::too_large: return acquire_status::too_large;
    case detail::sem_fast::expired: return acquire_status::timeout;
    case detail::sem_fast::canceled: return acquire_status::canceled;
    case detail::sem_fast::waits: break;
  }
  GORO_ASSERT(false, "goro::semaphore: no fast status for a waiting acquire");
  return acquire_status::timeout;
}

void semaphore::cancel_waiter(detail::sem_waiter* w, detail::sem_waiter::why why) noexcept {
  semaphore* s = w->sem;
  detail::wait_node* chain = nullptr;
  bool wake = false;
  {
    detail::lock_guard l(s->mu_);
    if (w->linked) {
      const bool was_head = s->waiters_.front() == w;
      s->waiters_.erase(w);
      w->gave_up = why;
      wake = true;
      // x/sync: a cancelled head may have been what held the others back
      // (and an emptied queue clears kQueued).
      if (was_head) s->admit_locked(&chain);
    } else if (!w->granted && w->gave_up == detail::sem_waiter::why::no) {
      w->gave_up = why;  // it has not queued yet: begin_wait will see this
    }
  }
  detail::wake_chain(chain);
  if (wake) detail::wake_one(w);  // last touch of *w
}

// Runs under the timer heap lock (timer.hpp), hence the lock order.
void semaphore::on_deadline(detail::timer_node* t) noexcept {
  cancel_waiter(static_cast<detail::sem_waiter*>(t->ctx), detail::sem_waiter::why::timeout);
}

// The context's cancel hook, under the context's node lock (lock order:
// context node mu -> mu_).
void semaphore::on_cancel(detail::ctx_hook* h) noexcept {
  cancel_waiter(static_cast<detail::sem_waiter*>(h->ctx), detail::sem_waiter::why::canceled);
}

acquire_status semaphore::blocking_acquire_until_ns(std::int64_t n, detail::nanos deadline,
                                                    detail::source_loc loc) noexcept {
  detail::assert_blocking_allowed(
      "goro::semaphore: a blocking_ acquire was called inside a goroutine; use co_await "
      "(it would block a worker thread)",
      loc);
  detail::sem_waiter w;
  w.sem = this;
  w.n = n;
  w.deadline = deadline;
  return blocking_wait(w);
}

acquire_status semaphore::blocking_acquire(const context& ctx, std::int64_t n,
                                           detail::source_loc loc) noexcept {
  detail::assert_blocking_allowed(
      "goro::semaphore: a blocking_ acquire was called inside a goroutine; use co_await "
      "(it would block a worker thread)",
      loc);
  detail::sem_waiter w;
  w.sem = this;
  w.n = n;
  detail::ctx_watch watch(ctx, &semaphore::on_cancel, &w);
  w.watch = &watch;
  return blocking_wait(w);
}

acquire_status semaphore::blocking_wait(detail::sem_waiter& w) noexcept {
  const detail::sem_fast f = try_fast(w);
  if (f != detail::sem_fast::waits) return fast_status(f);
  if (begin_wait(w, {})) detail::park_until_notified(w);
  return end_wait(w);
}

// A waiter torn down while parked (runtime shutdown): no callback may run
// after this, and the permits it was granted go back. One that a release
// dequeued but has not yet woken is that release's to finish first
// (wait_queue.hpp).
void semaphore::abandon(detail::sem_waiter& w) noexcept {
  if (w.watch) w.watch->detach();
  if (w.deadline != detail::kNever) detail::timer_disarm(&w.timer);
  bool give_back = false;
  bool dequeued = false;
  detail::wait_node* chain = nullptr;
  {
    detail::lock_guard l(mu_);
    if (w.linked) {
      const bool was_head = waiters_.front() == &w;
      waiters_.erase(&w);
      if (was_head) admit_locked(&chain);
    } else {
      dequeued = true;
      give_back = w.granted;
    }
  }
  detail::wake_chain(chain);
  if (dequeued) detail::settle_wake(w);
  if (give_back) release(w.n);
}

}  // namespace goro

// mutex.cpp — goro::mutex slow paths: Go's lockSlow/unlockSlow (sync/mutex.go)
// on goro's wait queue. Contract and the state word: goro/sync/mutex.hpp.
//
// Invariants (at every release of mu_):
//   kWaiters  <=> waiters_ is non-empty;
//   kStarving  => kLocked and kWaiters;
//   kWoken     => exactly one party is between "woken or spinning" and
//                 "acquired or queued again", and only it clears the bit.
// Barging (normal mode) is a CAS on the state word and never takes mu_.
// Queuing, waking and hand-off take mu_; a waiter is woken (wake_one) only
// after mu_ is released.
//
// Lifetime (a mutex may be freed right after it became available, see the
// header): every unlock path ends with either
//   * the CAS that clears kLocked, as its last access; or
//   * an access under mu_ while a dequeued-but-not-yet-woken waiter, a queued
//     waiter, or a woken party that will retry still needs the mutex — no
//     party may free it then, since one is still inside lock().
// Waking happens after mu_ is released and touches only the waiter's node.
//
// Lock order: mu_ is a leaf (nothing else is locked while it is held; the
// goroutine is marked parked under it, which takes no lock).

#include "goro/detail/timer.hpp"
#include "goro/runtime.hpp"
#include "goro/sync/mutex.hpp"
#include "runtime_impl.hpp"

namespace goro {

namespace {
using detail::nanos;

// Go's starvationThresholdNs.
constexpr nanos kStarvationThreshold = 1'000'000;

// Go's sync_runtime_canSpin: a few rounds, only where spinning can help at
// all (detail::spin_may_help: more than one CPU and, inside a runtime, more
// than one worker).
bool can_spin(int iter) noexcept { return iter < 4 && detail::spin_may_help(); }
void spin() noexcept {
  for (int i = 0; i < 30; ++i) detail::cpu_relax();  // Go's active_spin_cnt
}
}  // namespace

namespace detail {
struct mutex_waiter : wait_node {
  nanos wait_start = 0;  // when it first queued: the starvation clock
  bool handoff = false;  // set by unlock (starvation mode) before the wake: the lock is ours
};
}  // namespace detail

// The lock loop's locals (Go's lockSlow), shared by the goroutine and thread forms.
struct mutex::lock_state {
  mutex* m;
  detail::mutex_waiter node;
  bool awoke = false;     // we own kWoken (set for us by unlock, or by us while spinning)
  bool starving = false;  // we have waited longer than the threshold
  bool parked = false;    // node published (queued, or woken and not yet running)
  int iter = 0;           // spin rounds since the last wake
  // lock(ctx) only, both under mu_ (written by the context's cancel hook):
  bool cancel_pending = false;  // ctx is done; leave at the next enqueue
  bool canceled = false;        // the hook took the node out of the queue

  explicit lock_state(mutex* mu) noexcept : m(mu) {}
  lock_state(const lock_state&) = delete;
  // Only reached with parked set when a goroutine is destroyed while parked
  // here (runtime shutdown).
  ~lock_state() {
    if (parked) m->abandon(*this);
  }
};

// Spins briefly while a running owner holds the lock (normal mode), then
// tries to take it. True: acquired. False: queue and park.
bool mutex::spin_then_try(lock_state& st) noexcept {
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    GORO_DEBUG_ASSERT(!st.awoke || (s & kWoken), "goro::mutex: inconsistent state (kWoken)");
    if ((s & (kLocked | kStarving)) == kLocked && can_spin(st.iter)) {
      // Announce ourselves so that unlock does not wake a waiter that would
      // only lose to us.
      if (!st.awoke && !(s & kWoken) && (s & kWaiters) &&
          state_.compare_exchange_weak(s, s | kWoken, std::memory_order_relaxed))
        st.awoke = true;
      spin();
      ++st.iter;
      s = state_.load(std::memory_order_relaxed);
      continue;
    }
    if (s & (kLocked | kStarving)) return false;
    std::uint32_t next = s | kLocked;
    if (st.awoke) next &= ~kWoken;
    if (state_.compare_exchange_weak(s, next, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      st.awoke = false;
      return true;
    }
  }
}

// Under mu_: queues the waiter (true: park now), or finds the mutex free and
// returns false (go round the loop again). `h` is the parking goroutine's
// frame, or null for a plain thread. Marks the goroutine parked only when it
// really queues; nothing of the caller's frame is touched after mu_ is
// released (publish last).
bool mutex::enqueue_or_retry(lock_state& st, std::coroutine_handle<> h) noexcept {
  const bool requeue = st.node.wait_start != 0;
  const nanos t = requeue ? 0 : detail::now();
  detail::lock_guard l(mu_);
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(s & (kLocked | kStarving))) return false;
    if (st.cancel_pending) {
      // lock(ctx) gives up. If an unlock woke us (kWoken is ours), give the
      // bit back in the same CAS that sees the mutex still held: its holder's
      // unlock will then wake the next waiter. (Clearing it after the mutex
      // was released would leave queued waiters with nobody to wake them.)
      if (st.awoke && !state_.compare_exchange_weak(s, s & ~kWoken, std::memory_order_relaxed,
                                                    std::memory_order_relaxed))
        continue;
      st.awoke = false;
      st.canceled = true;
      return false;
    }
    std::uint32_t next = s | kWaiters;
    if (st.awoke) next &= ~kWoken;
    // Go switches to starvation mode only while the mutex is locked (unlock
    // then expects a waiter); kStarving implies kLocked here.
    if (st.starving && (s & kLocked)) next |= kStarving;
    if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                     std::memory_order_relaxed))
      break;
  }
  st.awoke = false;
  st.node.handoff = false;
  st.node.notified.store(false, std::memory_order_relaxed);
  st.node.w = h ? detail::waker_for_noted(h, detail::wait_kinds::mutex, this) : detail::thread_waker();
  if (requeue) {
    waiters_.push_front(&st.node);  // lost the race after a wake: back to the head
  } else {
    st.node.wait_start = t;
    waiters_.push_back(&st.node);
  }
  st.parked = true;
  return true;
}

// Back from a park. True: ownership was handed to us (starvation mode).
bool mutex::after_wake(lock_state& st) noexcept {
  st.parked = false;
  if (st.node.handoff) return true;
  st.awoke = true;  // unlock set kWoken for us
  st.iter = 0;
  st.starving = st.starving || detail::now() - st.node.wait_start > kStarvationThreshold;
  return false;
}

// A waiter torn down while parked (runtime shutdown): leave the mutex usable
// for the parties that remain.
// A waiter that an unlock dequeued but has not yet woken is that unlock's to
// finish: wait it out (wait_queue.hpp), then give back what it granted.
void mutex::abandon(lock_state& st) noexcept {
  if (!st.node.notified.load(std::memory_order_acquire)) {
    {
      detail::lock_guard l(mu_);
      if (st.node.linked) {
        waiters_.erase(&st.node);
        if (waiters_.empty())
          state_.fetch_and(~(kWaiters | kStarving), std::memory_order_acq_rel);
        return;
      }
    }
    detail::settle_wake(st.node);
  }
  if (st.canceled) return;  // the context's hook woke us: we own nothing
  if (st.node.handoff) {
    unlock();  // it was handed to us: pass it on
  } else {
    state_.fetch_and(~kWoken, std::memory_order_acq_rel);  // we will not retry
  }
}

// The context's cancel hook (lock(ctx)), under the context's node lock
// (lock order: context node mu -> mu_). A queued waiter is taken out and
// woken; one that is running, or was already dequeued by an unlock, learns
// it at its next enqueue_or_retry.
void mutex::on_cancel(detail::ctx_hook* h) noexcept {
  auto* st = static_cast<lock_state*>(h->ctx);
  mutex* m = st->m;
  bool wake = false;
  {
    detail::lock_guard l(m->mu_);
    if (st->node.linked) {
      m->waiters_.erase(&st->node);
      if (m->waiters_.empty())
        m->state_.fetch_and(~(kWaiters | kStarving), std::memory_order_acq_rel);
      st->canceled = wake = true;
    } else {
      st->cancel_pending = true;
    }
  }
  if (wake) detail::wake_one(&st->node);
}

// One park of the goroutine form; co_await yields true if it parked (and was
// woken), false if the mutex was free when it went to queue.
struct mutex::park_awaiter {
  mutex* m;
  lock_state* st;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept { return m->enqueue_or_retry(*st, h); }
  bool await_resume() const noexcept {
    if (st->parked) {
      detail::settle_wake(st->node);      // the unlock's last touch of our node is done
      detail::mutex_wait_barrier();  // woken: a cycle finder may be reading *m
    }
    return st->parked;
  }
};

task<> mutex::lock_contended(bool yield_first) {
  if (yield_first) {
    co_await goro::yield();
    if (try_lock()) co_return;
  }
  lock_state st(this);
  for (;;) {
    if (spin_then_try(st)) co_return;
    park_awaiter pa{this, &st};
    const bool woke = co_await pa;
    if (woke && after_wake(st)) co_return;
  }
}

// lock(ctx)'s slow path: lock_contended with the context's hook attached
// for the whole wait. The watch is declared after st, so it is detached
// before st is abandoned when a parked goroutine is torn down.
task<std::error_code> mutex::lock_contended_ctx(const context& ctx, bool yield_first) {
  if (yield_first) {
    co_await goro::yield();
    if (try_lock()) co_return std::error_code{};
  }
  lock_state st(this);
  detail::ctx_watch watch(ctx, &mutex::on_cancel, &st);
  if (!watch.attach()) co_return watch.err();
  for (;;) {
    if (spin_then_try(st)) break;
    park_awaiter pa{this, &st};
    const bool woke = co_await pa;
    if (st.canceled) {
      st.parked = false;
      watch.detach();
      co_return watch.err();
    }
    if (woke && after_wake(st)) break;
  }
  watch.detach();
  co_return std::error_code{};
}

std::error_code mutex::blocking_lock(const context& ctx, detail::source_loc loc) noexcept {
  detail::assert_blocking_allowed(
      "goro::mutex::blocking_lock() blocks the thread; inside a goroutine use "
      "co_await mu.lock(ctx)",
      loc);
  if (std::error_code e = detail::context_err(ctx)) return e;
  if (try_lock()) return {};
  lock_state st(this);
  detail::ctx_watch watch(ctx, &mutex::on_cancel, &st);
  if (!watch.attach()) return watch.err();
  for (;;) {
    if (spin_then_try(st)) break;
    if (enqueue_or_retry(st, {})) {
      detail::park_until_notified(st.node);
      if (st.canceled) {
        st.parked = false;
        watch.detach();
        return watch.err();
      }
      if (after_wake(st)) break;
    } else if (st.canceled) {
      watch.detach();
      return watch.err();
    }
  }
  watch.detach();
  return {};
}

void mutex::blocking_lock(detail::source_loc loc) noexcept {
  detail::assert_blocking_allowed(
      "goro::mutex::blocking_lock() blocks the thread; inside a goroutine use "
      "co_await mu.lock()",
      loc);
  if (try_lock()) return;
  lock_state st(this);
  for (;;) {
    if (spin_then_try(st)) return;
    if (enqueue_or_retry(st, {})) {
      detail::park_until_notified(st.node);
      if (after_wake(st)) return;
    }
  }
}

// ---- unlock -------------------------------------------------------------------

std::uint64_t detail::mutex_holder(const mutex* m) noexcept {
  return m->holder_.load(std::memory_order_relaxed);
}

void mutex::unlock_slow(std::uint32_t s) noexcept {
  for (;;) {
    GORO_ASSERT(s & kLocked,
                "goro::mutex: unlock of unlocked mutex (Go: fatal error: sync: unlock of "
                "unlocked mutex)");
    if ((s & kStarving) || ((s & kWaiters) && !(s & kWoken))) break;
    // Nobody to wake, or a woken party will retry: release. Last access.
    if (state_.compare_exchange_weak(s, s & ~kLocked, std::memory_order_release,
                                     std::memory_order_relaxed))
      return;
  }
  unlock_and_wake();
}

// Under mu_: wake the head waiter (normal mode) or hand it the lock
// (starvation mode). The head is pinned until it is woken, after mu_ is released.
void mutex::unlock_and_wake() noexcept {
  detail::mutex_waiter* w = nullptr;
  {
    detail::lock_guard l(mu_);
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      GORO_ASSERT(s & kLocked,
                  "goro::mutex: unlock of unlocked mutex (Go: fatal error: sync: unlock of "
                  "unlocked mutex)");
      auto* head = static_cast<detail::mutex_waiter*>(waiters_.front());
      std::uint32_t next;
      if (s & kStarving) {
        GORO_DEBUG_ASSERT(head != nullptr, "goro::mutex: starving without waiters");
        // Hand-off: kLocked stays set; the head owns the mutex from now on.
        next = s;
        if (head->next == nullptr)
          next &= ~(kWaiters | kStarving);  // the last waiter: back to normal
        else if (detail::now() - head->wait_start < kStarvationThreshold)
          next &= ~kStarving;  // it did not wait long: back to normal
      } else if ((s & kWoken) || head == nullptr) {
        // A woken party will retry (a spinner announced itself meanwhile):
        // release only. Queued waiters and that party still need the mutex,
        // so mu_ may still be touched.
        next = s & ~kLocked;
        head = nullptr;
      } else {
        next = (s & ~kLocked) | kWoken;
        if (head->next == nullptr) next &= ~kWaiters;
      }
      if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
        if (head != nullptr) {
          waiters_.pop_front();
          head->handoff = (s & kStarving) != 0;
          w = head;
        }
        break;
      }
    }
  }
  if (w) detail::wake_one(w);
}

}  // namespace goro

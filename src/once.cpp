// once.cpp — goro::once's queue side: waiting for a turn, and finishing a run.
// State machine and contract: goro/sync/once.hpp.
//
// Invariants: kWaiters <=> waiters_ non-empty (at every release of mu_);
// waiters are queued only while kRunning; kDone is final.
// Lock order: mu_ is a leaf; waiters are woken after it is released.
#include "goro/sync/once.hpp"

namespace goro {

// Under mu_: learns the once is done, or becomes the runner of an idle once
// (false: do not park; w.t says which), or queues w (true: park). h is the
// parking goroutine's frame, or null for a plain thread; *parked is set
// before mu_ is released and nothing of the caller is touched afterwards.
bool once::wait_turn(waiter& w, std::coroutine_handle<> h, bool* parked) noexcept {
  detail::lock_guard l(mu_);
  std::uint32_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if (s & kDone) {
      w.t = turn::done;
      return false;
    }
    if (!(s & kRunning)) {
      if (state_.compare_exchange_weak(s, s | kRunning, std::memory_order_acquire,
                                       std::memory_order_acquire)) {
        w.t = turn::run;
        return false;
      }
      continue;
    }
    if (state_.compare_exchange_weak(s, s | kWaiters, std::memory_order_acquire,
                                     std::memory_order_acquire))
      break;
  }
  w.t = turn::none;
  w.notified.store(false, std::memory_order_relaxed);
  w.w = h ? detail::waker_for_noted(h, detail::wait_kinds::once, this) : detail::thread_waker();
  waiters_.push_back(&w);
  *parked = true;
  return true;
}

bool once::blocking_take_turn() noexcept {
  turn t = try_begin();
  if (t == turn::none) {
    waiter w;
    bool parked = false;
    if (wait_turn(w, {}, &parked)) detail::park_until_notified(w);
    t = w.t;
  }
  return t == turn::run;
}

// The runner is done with f. Success: the once becomes done and every waiter
// learns it. Failure: the head waiter becomes the runner, or the once goes
// back to idle. The last access to *this is the CAS that publishes done or
// idle, or (hand-off) an access under mu_ while the head, still to be woken,
// pins the once.
void once::finish(bool success) noexcept {
  detail::wait_node* chain = nullptr;
  for (;;) {
    std::uint32_t s = kRunning;
    if (state_.compare_exchange_strong(s, success ? kDone : 0, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
      break;
    GORO_DEBUG_ASSERT(s == (kRunning | kWaiters), "goro::once: inconsistent state");
    detail::lock_guard l(mu_);
    if (!success) {
      if (auto* head = static_cast<waiter*>(waiters_.pop_front())) {
        head->t = turn::run;  // hand-off: kRunning stays set
        if (waiters_.empty()) state_.store(kRunning, std::memory_order_release);
        chain = head;
        break;
      }
    } else {
      // Move the waiters out (they will learn "done" from their node), then
      // publish done with the CAS above as the last access.
      detail::wait_node* batch = waiters_.take_all();
      for (detail::wait_node* n = batch; n; n = n->next) static_cast<waiter*>(n)->t = turn::done;
      if (batch) {
        detail::wait_node* tail = batch;
        while (tail->next) tail = tail->next;
        tail->next = chain;
        chain = batch;
      }
    }
    state_.store(kRunning, std::memory_order_release);  // queue empty: drop kWaiters
  }
  detail::wake_chain(chain);
}

// A waiter torn down while parked (runtime shutdown). One that finish()
// dequeued but has not yet woken is that finish's to complete first
// (wait_queue.hpp); then, if it was handed the run, it passes it on.
void once::abandon(waiter& w) noexcept {
  if (!w.notified.load(std::memory_order_acquire)) {
    {
      detail::lock_guard l(mu_);
      if (w.linked) {
        waiters_.erase(&w);
        if (waiters_.empty()) state_.fetch_and(~kWaiters, std::memory_order_acq_rel);
        return;
      }
    }
    detail::settle_wake(w);
  }
  if (w.t == turn::run) finish(false);  // it was handed the run: pass it on
}

}  // namespace goro

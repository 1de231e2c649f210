// goro/detail/wait_queue.hpp — the wait node and queue of the sync primitives.
//
// Used by every primitive whose waiters are not channel operations
// (wait_group, mutex, rw_mutex, once, cond, semaphore, context). A wait_node
// lives in the waiter's awaiter (a goroutine frame) or on a blocked thread's
// stack; the queue never allocates. The owner's lock guards the links; nodes
// are woken after they are unlinked and after the owner's lock is released,
// and `wake_one()`'s store of `notified` is the last touch of a node
// (goroutine.hpp, "the last touch of a wake"): a goroutine waiter calls
// settle_wake() when it resumes, and one torn down while parked (runtime
// shutdown) that finds its node dequeued but not yet notified waits the
// same way (withdraw), before the node can be freed or reused. Primitives
// that need per-waiter data (a semaphore's weight, a mutex's hand-off flag)
// derive from wait_node and cast back.
#pragma once

#include "goro/detail/goroutine.hpp"
#include "goro/detail/intrusive_list.hpp"
#include "goro/detail/spinlock.hpp"

namespace goro::detail {

struct wait_node {
  waker w;
  wait_node* prev = nullptr;
  wait_node* next = nullptr;
  bool linked = false;
  // The waker's last touch, outside the owner's lock: after it made a
  // goroutine runnable, before it unparks a thread (which loops on it to
  // filter spurious parker wake-ups).
  std::atomic<bool> notified{false};
};

// FIFO of wait nodes; every method requires the owner's lock.
using wait_queue = intrusive_list<wait_node>;

// Wakes one node that was unlinked under the owner's lock; call it after that
// lock is released. Whatever the waiter must learn (granted, handed off) is
// written before this; `notified` publishes it (release), and the run queue
// does too for a goroutine.
inline void wake_one(wait_node* n) noexcept {
  wake_seam();
  waker w = n->w;
  if (w.g() != nullptr) {
    w.wake();  // ready(g): may run g at once, which then waits for the store below
    n->notified.store(true, std::memory_order_release);  // last touch of *n and g
  } else {
    n->notified.store(true, std::memory_order_release);
    w.wake();  // a pooled parker: safe after the waiter may have returned
  }
}

// A goroutine back from a park on n (woken by wake_one): waits out the
// waker's last touch of n. Call it first thing on resume, before n is
// reused, freed, or its fields trusted.
inline void settle_wake(const wait_node& n) noexcept {
  wait_for_waker([&n] { return n.notified.load(std::memory_order_acquire); });
}

// A goroutine waiter torn down while parked on n (runtime shutdown): takes n
// out of q (guarded by mu) if it is still queued, and returns true: nobody
// will wake it. Otherwise a waker dequeued it: waits until that waker is done
// with n (and with the goroutine) and returns false; n.notified is then set,
// and whatever the waker granted (a hand-off, a permit) is the waiter's to
// give back.
inline bool withdraw(spinlock& mu, wait_queue& q, wait_node& n) noexcept {
  if (n.notified.load(std::memory_order_acquire)) return false;
  {
    lock_guard l(mu);
    if (n.linked) {
      q.erase(&n);
      return true;
    }
  }
  settle_wake(n);
  return false;
}

// Wakes every node of a chain (linked through next, e.g. from take_all()),
// outside the owner's lock.
inline void wake_chain(wait_node* n) noexcept {
  while (n) {
    wait_node* next = n->next;
    wake_one(n);
    n = next;
  }
}

// Blocks the calling thread until `n` is notified (thread waiters).
inline void park_until_notified(wait_node& n) noexcept {
  while (!n.notified.load(std::memory_order_acquire)) n.w.p()->park();
}

}  // namespace goro::detail

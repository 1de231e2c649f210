// goro/detail/wait_queue.hpp — the wait node and queue of the sync primitives.
//
// Used by every primitive whose waiters are not channel operations
// (wait_group, mutex, rw_mutex, once, cond, semaphore, context). A wait_node
// lives in the waiter's awaiter (a goroutine frame) or on a blocked thread's
// stack; the queue never allocates. The owner's lock guards the links; nodes
// are woken after they are unlinked and after the owner's lock is released,
// and `wake_one()` is the last touch of a node (the woken party may free it at
// once). Primitives that need per-waiter data (a semaphore's weight, a
// mutex's hand-off flag) derive from wait_node and cast back.
#pragma once

#include "goro/detail/goroutine.hpp"
#include "goro/detail/intrusive_list.hpp"

namespace goro::detail {

struct wait_node {
  waker w;
  wait_node* prev = nullptr;
  wait_node* next = nullptr;
  bool linked = false;
  // Set (under the owner's lock) before the node is woken; thread waiters
  // loop on it to filter spurious parker wake-ups.
  std::atomic<bool> notified{false};
};

// FIFO of wait nodes; every method requires the owner's lock.
using wait_queue = intrusive_list<wait_node>;

// Wakes one node that was unlinked under the owner's lock; call it after that
// lock is released. Whatever the waiter must learn (granted, handed off) is
// written before this: `notified` publishes it (release).
inline void wake_one(wait_node* n) noexcept {
  waker w = n->w;
  n->notified.store(true, std::memory_order_release);
  w.wake();  // last touch of *n
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

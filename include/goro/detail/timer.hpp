// goro/detail/timer.hpp — the one timer path (sleep, after, timer, ticker,
// context deadlines, timeouts all go through it).
//
// A timer_node is intrusive and owned by whoever armed it (an awaiter in a
// goroutine frame, a timer object). Armed nodes live in one of the runtime's
// timer heaps (one per worker; plain threads pick one by hash), a binary
// min-heap under a spinlock with each node's index stored in the node, so
// disarming really removes it in O(log n): nothing is left behind to leak.
//
// Node states:  idle --arm--> armed (heap != null) --fires--> idle
//                               |                  (periodic: re-armed)
//                               +--disarm--> idle
// `fire` runs under the heap lock, and a firing node's `heap` is cleared only
// after `fire` returns, so once disarm() returns the callback is neither
// running nor going to run, and the owner may free the node. The callback
// must be short and must not block, take a heap lock or disarm its own node:
// it makes a goroutine runnable, unparks a thread, does a non-blocking
// channel send or removes a waiter from a semaphore.
// Lock order: timer heap lock -> channel lock / semaphore lock -> run-queue /
// idle locks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace goro::detail {

struct runtime_impl;
struct timer_heap;

using nanos = std::int64_t;  // steady-clock nanoseconds since its epoch
inline constexpr nanos kNever = std::numeric_limits<nanos>::max();

inline nanos to_nanos(std::chrono::steady_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline std::chrono::steady_clock::time_point from_nanos(nanos n) noexcept {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(n));
}
// Saturating deadline arithmetic: now + d never overflows into the past.
inline nanos deadline_after(nanos now, std::chrono::nanoseconds d) noexcept {
  auto c = d.count();
  if (c <= 0) return now;
  if (now > kNever - c) return kNever;
  return now + c;
}

struct timer_node {
  nanos when = 0;    // deadline; guarded by the heap lock while armed
  nanos period = 0;  // > 0: periodic (ticker); re-armed at when + k*period
  void (*fire)(timer_node*) = nullptr;
  void* ctx = nullptr;  // for fire(): what to wake
  std::atomic<timer_heap*> heap{nullptr};  // the heap holding it, null when idle
  std::uint32_t index = 0;                 // position in the heap; guarded by its lock
};

// Arms `n` to fire at `when` on runtime `rt` (the current one if null).
// The node must be idle. After this call another thread may fire it at once.
void timer_arm(timer_node* n, nanos when, runtime_impl* rt = nullptr) noexcept;
// Disarms `n`; returns true if it was armed (so it will not fire), false if
// it already fired or was never armed.
bool timer_disarm(timer_node* n) noexcept;
// Current time of the calling thread's clock: a virtual runtime's clock on
// its workers (runtime_options::virtual_time), the steady clock elsewhere.
// Every deadline and timeout of goro is computed from it.
nanos now() noexcept;
// The real steady clock, for the scheduler's own spin bounds.
inline nanos real_now() noexcept { return to_nanos(std::chrono::steady_clock::now()); }

}  // namespace goro::detail

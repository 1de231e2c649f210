// goro/detail/goroutine.hpp — the goroutine control block and the hooks every
// blocking primitive uses to park and wake goroutines or threads.
//
// A goroutine is a chain of coroutine frames: the root frame (made by go/spawn,
// holding the callable, its arguments and this control block) and the task
// frames it awaits. Only the innermost suspended frame is ever resumed; it is
// recorded in `resume_point` by whoever parks the goroutine.
//
// Goroutine state word (debugging only; never used for synchronisation):
//
//     runnable --worker picks it--> running --parks--> waiting
//        ^                                               |
//        +-------------------- ready() ------------------+
//     running --returns--> dead
//
// Parking protocol ("publish last", docs/HACKING.md): a primitive that parks the
// current goroutine first writes `resume_point`, then publishes a waker for it
// (into a wait queue, a timer, a join state). From the moment it is published,
// another thread may resume the goroutine, so the parking code must not touch
// its coroutine frame afterwards.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>

#include "goro/detail/config.hpp"
#include "goro/detail/parker.hpp"

namespace goro::detail {

struct runtime_impl;
struct goroutine;

// A waker resumes a parked party: a goroutine (made runnable on its runtime,
// never resumed inline) or an OS thread blocked in a parker.
struct waker {
  goroutine* g = nullptr;
  parker* p = nullptr;
  void wake() const noexcept;
  explicit operator bool() const noexcept { return g != nullptr || p != nullptr; }
};

enum class g_state : std::uint8_t { runnable, running, waiting, dead };

struct goroutine {
  // Innermost suspended frame. Written by the goroutine itself before it is
  // published as waiting; read by the worker that resumes it. The publication
  // (a queue push with release/acquire) orders the two.
  std::coroutine_handle<> resume_point;
  // Link while in the global run queue; owned by whichever queue holds it.
  goroutine* next = nullptr;
  runtime_impl* rt = nullptr;
  std::uint64_t id = 0;
  source_loc spawned_at;
  // What it waits for (a string literal), for dumps. Relaxed: informational.
  std::atomic<const char*> wait_reason{nullptr};
  std::atomic<g_state> state{g_state::runnable};
  // Registry position, guarded by that registry shard's lock.
  std::uint32_t shard = 0;
  std::uint32_t slot = 0;
  bool registered = false;
  // Set by ~runtime for a frame it leaves alive (a join_handle still holds
  // it): the frame holds a reference on its runtime_impl, so wakes that its
  // destruction causes later still find the runtime (stopped, so they are
  // no-ops). Released when the frame is destroyed.
  bool holds_runtime = false;
  // The root frame, destroyed at runtime shutdown if the goroutine is still alive.
  std::coroutine_handle<> root;
  // Join protocol (see runtime.hpp): state bits and the joiner's waker,
  // written by the joiner before it sets kWaiter.
  std::atomic<std::uint32_t> join_state{0};
  waker joiner;
};

// The goroutine running on this thread, or null on a plain thread. Not inline:
// coroutine bodies must not cache thread_local addresses (GCC 12 and Clang 14
// keep them across co_await; docs/guide/compiler-hazards.md §1).
GORO_NOINLINE goroutine* current_goroutine() noexcept;
// The runtime whose worker this thread is, or null.
GORO_NOINLINE runtime_impl* current_runtime() noexcept;

// The guard of every blocking_ form (and join, run): they block the OS
// thread, which inside a goroutine would stall a worker. Aborts with `what`
// and the caller's location: each public blocking_ function takes a
// defaulted `source_loc loc = source_loc::current()` last parameter and
// passes it here, so the message names the user's line, not goro's.
inline void assert_blocking_allowed(const char* what, source_loc loc) noexcept {
  if (current_goroutine() != nullptr) [[unlikely]]
    fatal(what, loc.file, loc.line);
}

// Makes a parked goroutine runnable (the runnext slot of the current worker if
// it belongs to the same runtime, else the global queue) and wakes an idle
// worker when there is spare work.
void ready(goroutine* g) noexcept;
// Re-queues the running goroutine at the back of the local queue (yield).
void requeue(goroutine* g) noexcept;
// Cooperative budget: each operation that completes without blocking spends
// one unit; returns true when the budget of this run is spent and the caller
// should yield (see `completed_or_yield`).
GORO_NOINLINE bool budget_spent() noexcept;

// Records that `g` is about to park on something described by `reason`.
inline void mark_parking(goroutine* g, std::coroutine_handle<> h, const char* reason) noexcept {
  g->resume_point = h;
  g->wait_reason.store(reason, std::memory_order_relaxed);
  g->state.store(g_state::waiting, std::memory_order_relaxed);
}

// Undoes mark_parking when the goroutine did not park after all (nothing was
// published, so no other thread can be touching it).
inline void unmark_parking(goroutine* g) noexcept {
  g->wait_reason.store(nullptr, std::memory_order_relaxed);
  g->state.store(g_state::running, std::memory_order_relaxed);
}

// For awaitables whose operation completed without blocking: returns false
// (continue at once) unless the run budget is spent, in which case the
// goroutine is re-queued and true is returned (suspend; the result is already
// stored in the awaiter). This is what lets a loop that never blocks still
// let other goroutines run on its worker.
inline bool completed_or_yield(std::coroutine_handle<> h) noexcept {
  if (!budget_spent()) return false;
  goroutine* g = current_goroutine();
  if (g == nullptr) return false;
  g->resume_point = h;
  requeue(g);
  return true;
}

// Makes a waker for the calling party: the current goroutine parked at `h`, or
// the calling thread's parker.
inline waker waker_for(std::coroutine_handle<> h, const char* reason) noexcept {
  goroutine* g = current_goroutine();
  GORO_ASSERT(g != nullptr, "goro: a coroutine awaited outside any goroutine");
  mark_parking(g, h, reason);
  return waker{g, nullptr};
}
inline waker thread_waker() noexcept { return waker{nullptr, &parker::current()}; }

}  // namespace goro::detail

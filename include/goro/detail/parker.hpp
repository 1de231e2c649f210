// goro/detail/parker.hpp — blocks one OS thread until another unparks it.
//
// The one thread-parking mechanism in goro: idle workers, plain threads
// blocked on a channel/mutex/join, and the blocking pool all use it.
//
// State word (futex):   EMPTY(0) --unpark--> NOTIFIED(1)
//                       EMPTY    --park----> PARKED(-1) --unpark--> NOTIFIED
//                       NOTIFIED --park----> EMPTY (returns at once)
// An unpark that arrives before park is not lost: park consumes the token.
// Spurious wake-ups are filtered: park returns only when notified (or timed out).
// Memory: unpark (release) happens-before the park that consumes it (acquire).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace goro::detail {

class parker {
 public:
  // Blocks until unpark() (or a token left by an earlier unpark).
  void park() noexcept;
  // Blocks until unpark() or until `deadline` (steady clock, ns since epoch).
  // Returns true if it was unparked, false on timeout.
  bool park_until(std::chrono::steady_clock::time_point deadline) noexcept;
  // Wakes the parked thread, or leaves a token for its next park().
  void unpark() noexcept;

  // The calling thread's parker.
  static parker& current() noexcept;
  // Plain threads parked right now in an untimed park() of their
  // current() parker (workers' parkers are not counted): the deadlock
  // check counts them as asleep (docs/design/quiescence.md).
  static std::size_t plain_threads_parked() noexcept;
  // This parker's thread is inside park()/park_until() with no token to
  // consume (test seams: src/scheduler_testing.hpp).
  bool parked_now() const noexcept { return state_.load(std::memory_order_seq_cst) == kParked; }

 private:
  static constexpr int32_t kEmpty = 0, kNotified = 1, kParked = -1;
  std::atomic<int32_t> state_{kEmpty};
  // A plain thread's parker (from current()): its park/unpark transitions
  // are wrapped in the quiescence epoch and park() runs the deadlock check.
  bool plain_ = false;
  friend struct thread_parker;
};

}  // namespace goro::detail

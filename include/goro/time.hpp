// goro/time.hpp — sleeping goroutines and the clock they use.
//
//   co_await goro::sleep_for(50ms);
//   co_await goro::sleep_until(deadline);
//
// Every goro timeout (sleep, channel timeouts, after/timer/ticker, context
// deadlines) runs on the one timer path in detail/timer.hpp. A sleep that is
// abandoned (its goroutine destroyed) disarms its timer: nothing stays queued.
// Durations <= 0 and deadlines in the past complete at once, as in Go.
#pragma once

#include <chrono>
#include <coroutine>

#include "goro/detail/goroutine.hpp"
#include "goro/detail/timer.hpp"

namespace goro {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace detail {
struct GORO_NODISCARD_AWAITABLE sleep_awaiter {
  nanos deadline;
  timer_node node;
  wait_site site;

  sleep_awaiter(nanos d, wait_site s) noexcept : deadline(d), site(s) {}
  sleep_awaiter(const sleep_awaiter&) = delete;
  ~sleep_awaiter() { timer_disarm(&node); }

  bool await_ready() const noexcept { return deadline <= detail::now(); }
  void await_suspend(std::coroutine_handle<> h) noexcept {
    goroutine* g = current_goroutine();
    GORO_ASSERT(g != nullptr, "goro::sleep_for awaited outside a goroutine");
    mark_parking(g, h, wait_kinds::sleep, site, &node);
    node.ctx = g;
    // Runs under the heap lock; the resumed goroutine's ~sleep_awaiter
    // disarms through that same lock, so the node outlives this call.
    node.fire = [](timer_node* n) { ready(static_cast<goroutine*>(n->ctx)); };
    timer_arm(&node, deadline);  // last: the timer may fire on another worker at once
  }
  void await_resume() const noexcept {}
};
}  // namespace detail

// The time goro's timers use: under goro::testing::run_virtual the virtual
// clock, else clock::now(). Compute deadlines for sleep_until & co from it.
inline clock::time_point now() noexcept { return detail::from_nanos(detail::now()); }

// Suspends the calling goroutine for at least d.
GORO_NODISCARD_AWAITABLE inline detail::sleep_awaiter sleep_for(
    std::chrono::nanoseconds d, GORO_WAIT_SITE_PARAMS) noexcept {
  return detail::sleep_awaiter(detail::deadline_after(detail::now(), d), GORO_WAIT_SITE);
}
// Suspends the calling goroutine until t (steady clock).
GORO_NODISCARD_AWAITABLE inline detail::sleep_awaiter sleep_until(
    clock::time_point t, GORO_WAIT_SITE_PARAMS) noexcept {
  return detail::sleep_awaiter(detail::to_nanos(t), GORO_WAIT_SITE);
}

}  // namespace goro

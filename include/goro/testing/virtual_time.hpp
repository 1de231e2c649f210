// goro/testing/virtual_time.hpp — tests with time that only moves when
// everything waits (Go's testing/synctest, tokio's paused clock).
//
//   TEST(Retry, GivesUpAfterAnHour) {
//     goro::testing::run_virtual([]() -> goro::task<> {
//       auto [ctx, cancel] = goro::with_timeout(goro::background(), 1h);
//       co_await ctx.done();                 // returns at once in real time
//     });
//   }
//
// run_virtual(f, args...) runs f as a goroutine on a fresh runtime (one
// worker unless options say otherwise) whose clock is virtual
// (runtime_options::virtual_time), blocks the calling thread until it
// returns, and returns its result (or rethrows). The clock starts at the
// real time of the call and stands still while any goroutine of the runtime
// runs; when every goroutine is blocked, no spawn_blocking job runs and a
// timer is armed, it jumps to the earliest timer, which fires. So sleeps,
// timers, tickers, after(), select timeouts, context deadlines and the rate
// limiter take no real time, and the order of events is that of their
// deadlines. Read the time with goro::now() (not clock::now()).
//
// What sees virtual time: code running on the runtime's workers (its
// goroutines, and timer callbacks it fires). Plain threads, spawn_blocking
// jobs and other runtimes see the real clock; a timer armed from them lands
// on another runtime. With more than one worker the jump is taken by the
// last worker to go idle; it is exact with one (the default).
//
// If every goroutine is blocked and no timer is armed, the runtime is
// deadlocked: the deadlock report applies (runtime_options::on_deadlock;
// by default it prints the goroutines and aborts).
#pragma once

#include <utility>

#include "goro/runtime.hpp"

namespace goro::testing {

template <class F, class... A>
auto run_virtual_at(detail::source_loc loc, runtime_options opts, F&& f, A&&... a) {
  opts.virtual_time = true;
  runtime rt(std::move(opts));
  return rt.run_at(loc, std::forward<F>(f), std::forward<A>(a)...);
}

inline runtime_options virtual_options() {
  runtime_options o;
  o.workers = 1;
  return o;
}

// One overload per argument count so that the spawn site defaults to the
// caller's line (as for goro::run).
template <class F>
auto run_virtual(F&& f, detail::source_loc loc = detail::source_loc::current()) {
  return run_virtual_at(loc, virtual_options(), std::forward<F>(f));
}
template <class F, class A0>
auto run_virtual(F&& f, A0&& a0, detail::source_loc loc = detail::source_loc::current()) {
  return run_virtual_at(loc, virtual_options(), std::forward<F>(f), std::forward<A0>(a0));
}
template <class F, class A0, class A1>
auto run_virtual(F&& f, A0&& a0, A1&& a1, detail::source_loc loc = detail::source_loc::current()) {
  return run_virtual_at(loc, virtual_options(), std::forward<F>(f), std::forward<A0>(a0),
                        std::forward<A1>(a1));
}

}  // namespace goro::testing

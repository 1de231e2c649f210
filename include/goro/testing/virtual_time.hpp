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
//
// Replaying an interleaving (runtime_options::seed, docs/debugging.md):
//
//   TEST(Cache, NoLostUpdate) {
//     goro::testing::for_each_seed(1, 200, [](std::uint64_t seed) {   // gtest.hpp
//       goro::testing::run_virtual_seeded(seed, body);
//     });
//   }
//
// run_virtual_seeded(seed, f, args...) is run_virtual with deterministic
// scheduling: the same seed runs the same interleaving (as far as the
// goroutines interact only through goro objects and virtual time).
// find_failing_seed(first, count, f) calls f(seed) for each seed of [first,
// first + count) until one fails (f returns false, or throws: the exception
// propagates), prints "goro: failing seed N (replay with seed = N or
// GORO_SEED=N)" on stderr and returns it; with GORO_SEED set it runs only
// that seed. goro/testing/gtest.hpp's for_each_seed also counts a failed
// gtest assertion as a failure. A run_virtual without a seed takes
// GORO_SEED's (when it has one worker), so a whole test binary can run
// under one seed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <type_traits>
#include <utility>

#include "goro/runtime.hpp"

namespace goro::testing {

template <class F, class... A>
auto run_virtual_at(detail::source_loc loc, runtime_options opts, F&& f, A&&... a) {
  opts.virtual_time = true;
  if (opts.seed == 0 && opts.workers == 1) opts.seed = detail::seed_from_env();
  runtime rt(std::move(opts));
  return rt.run_at(loc, std::forward<F>(f), std::forward<A>(a)...);
}

// One worker; `seed` as runtime_options::seed (0: the usual scheduling,
// unless GORO_SEED is set).
inline runtime_options virtual_options(std::uint64_t seed = 0) {
  runtime_options o;
  o.workers = 1;
  o.seed = seed;
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

// run_virtual with deterministic scheduling under `seed` (must be non-zero).
template <class F>
auto run_virtual_seeded(std::uint64_t seed, F&& f, detail::source_loc loc = detail::source_loc::current()) {
  return run_virtual_at(loc, virtual_options(seed), std::forward<F>(f));
}
template <class F, class A0>
auto run_virtual_seeded(std::uint64_t seed, F&& f, A0&& a0,
                        detail::source_loc loc = detail::source_loc::current()) {
  return run_virtual_at(loc, virtual_options(seed), std::forward<F>(f), std::forward<A0>(a0));
}
template <class F, class A0, class A1>
auto run_virtual_seeded(std::uint64_t seed, F&& f, A0&& a0, A1&& a1,
                        detail::source_loc loc = detail::source_loc::current()) {
  return run_virtual_at(loc, virtual_options(seed), std::forward<F>(f), std::forward<A0>(a0),
                        std::forward<A1>(a1));
}

}  // namespace goro::testing

namespace goro::detail {
inline void print_failing_seed(std::uint64_t seed) {
  const auto s = static_cast<unsigned long long>(seed);
  std::fprintf(stderr, "goro: failing seed %llu (replay with seed = %llu or GORO_SEED=%llu)\n", s, s, s);
}

// The search behind find_failing_seed and gtest.hpp's for_each_seed:
// `failures()` counts failures recorded elsewhere (gtest's), so a run that
// adds one failed; `report(seed)` names the failing seed (also before an
// exception propagates).
template <class F, class Failures, class Report>
std::optional<std::uint64_t> search_seeds(std::uint64_t first, std::uint64_t count, F& f,
                                          Failures failures, Report report) {
  const std::uint64_t only = seed_from_env();
  if (only != 0) {
    first = only;
    count = 1;
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t seed = first + i;
    if (seed == 0) continue;  // 0 means "no seed"
    const auto before = failures();
    bool ok = true;
    try {
      if constexpr (std::is_void_v<decltype(f(seed))>) {
        f(seed);
      } else {
        ok = static_cast<bool>(f(seed));
      }
    } catch (...) {
      report(seed);
      throw;
    }
    if (!ok || failures() != before) {
      report(seed);
      return seed;
    }
  }
  return std::nullopt;
}
}  // namespace goro::detail

namespace goro::testing {

// Calls f(seed) for the seeds [first, first + count) (only GORO_SEED's when
// it is set) until one fails: f returns false (when it returns a bool) or
// throws (the exception propagates, after the seed is printed). Prints the
// failing seed on stderr and returns it; nullopt when every run passed.
template <class F>
std::optional<std::uint64_t> find_failing_seed(std::uint64_t first, std::uint64_t count, F&& f) {
  return detail::search_seeds(first, count, f, [] { return 0; }, detail::print_failing_seed);
}

}  // namespace goro::testing

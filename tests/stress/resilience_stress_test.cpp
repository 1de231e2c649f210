// Stress for goro::rate::limiter and goro::circuit_breaker shared by 8
// goroutines and 2 plain threads at once.
//
// The limiter runs over a simulated window in phases: in each phase every
// actor takes tokens at the phase's explicit time until the bucket is empty
// (allow_n fails), then reports; the coordinator starts the next phase at a
// later time. Within a phase all calls use one time, across phases time only
// moves forward, so the total granted must be exactly
// burst + floor(rate * window) however the actors interleave (the window
// starts at the first phase: a new bucket is full until its first use).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;
namespace rate = goro::rate;

namespace {
constexpr int kGoroutines = 8, kThreads = 2, kActors = kGoroutines + kThreads;

std::int64_t drain(rate::limiter& lim, rate::time_point t) {
  std::int64_t n = 0;
  while (lim.allow_n(t, 1)) ++n;
  return n;
}

goro::task<> goroutine_actor(goro::chan<std::int64_t> in, goro::chan<std::int64_t> out,
                             rate::limiter* lim, rate::time_point t0) {
  while (auto at = co_await in.recv()) {
    std::int64_t n = drain(*lim, t0 + std::chrono::nanoseconds(*at));
    goro::send_status st = co_await out.send(n);
    EXPECT_EQ(st, goro::send_status::ok);
  }
}
}  // namespace

class ResilienceStress : public goro_test::RuntimeTest {};

TEST_P(ResilienceStress, SharedLimiterGrantsExactlyTheBudget) {
  const rate::limit l = rate::limit::per(7, 3ms);  // 2333.33.../s: not a whole number of ns
  constexpr std::int64_t kBurst = 50;
  rate::limiter lim(l, kBurst);
  const rate::time_point t0 = goro::clock::now() + 1h;
  const int phases = goro_test::scaled(3000);
  std::vector<goro::chan<std::int64_t>> starts;
  for (int i = 0; i < kActors; ++i) starts.push_back(goro::make_chan<std::int64_t>(1));
  goro::chan<std::int64_t> done = goro::make_chan<std::int64_t>(kActors);
  std::vector<std::thread> threads;
  for (int i = kGoroutines; i < kActors; ++i) {
    threads.emplace_back([&lim, t0, in = starts[i], out = done] {
      while (auto at = in.blocking_recv()) {
        std::int64_t n = drain(lim, t0 + std::chrono::nanoseconds(*at));
        (void)out.blocking_send(n);
      }
    });
  }
  std::int64_t granted = 0, elapsed = 0, first = 0;
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < kGoroutines; ++i) goro::go(goroutine_actor, starts[i], done, &lim, t0);
    for (int p = 0; p < phases; ++p) {
      elapsed += 1'000'000 + (p * 7919) % 3'000'001;  // 1..4 ms, irregular
      if (p == 0) first = elapsed;  // the bucket is full until its first use
      for (auto& s : starts) {
        goro::send_status st = co_await s.send(elapsed);
        EXPECT_EQ(st, goro::send_status::ok);
      }
      for (int i = 0; i < kActors; ++i) {
        auto n = co_await done.recv();
        granted += n.value_or(0);
      }
    }
    for (auto& s : starts) s.close();
  });
  for (auto& t : threads) t.join();
  const std::int64_t budget =
      kBurst + static_cast<std::int64_t>(static_cast<__int128>(l.num()) * (elapsed - first) / l.den());
  EXPECT_EQ(granted, budget);
}

// Concurrent execute: no result is lost and none counted twice.
TEST_P(ResilienceStress, BreakerCountsEveryRequestOnce) {
  goro::breaker_settings s;
  s.ready_to_trip = [](const goro::breaker_counts&) { return false; };
  goro::circuit_breaker cb(s);
  const int per_actor = goro_test::scaled(20000);
  std::atomic<int> failures{0};
  auto work = [&](int id) {
    for (int k = 0; k < per_actor; ++k) {
      const bool fail = (k + id) % 3 == 0;
      goro::error e = cb.execute([fail] {
        return fail ? goro::error(std::make_error_code(std::errc::io_error)) : goro::error();
      });
      if (e) failures.fetch_add(1);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(work, kGoroutines + i);
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < kGoroutines; ++i) wg.go(work, i);
    co_await wg.wait();
  });
  for (auto& t : threads) t.join();
  const goro::breaker_counts c = cb.counts();
  EXPECT_EQ(c.requests, static_cast<std::uint32_t>(kActors * per_actor));
  EXPECT_EQ(c.total_failures, static_cast<std::uint32_t>(failures.load()));
  EXPECT_EQ(c.total_successes + c.total_failures, c.requests);
  EXPECT_EQ(cb.state(), goro::breaker_state::closed);
}

// Trips and recoveries racing callers whose successes read no clock (a
// closed breaker without interval or window), so the path where a caller
// saw the state closed before taking the lock and finds it changed under
// the lock (breaker.cpp, clock_needed) runs under TSan. Every reported
// transition is an edge of the state machine, and the last recovery
// closes it. What that path's clock read prevents (a call answered `open`
// after the timeout passed) is not observable here without timing: the
// unit test ReadsTheClockOnlyWhenTheAnswerDependsOnIt checks the reads.
TEST_P(ResilienceStress, BreakerTripsRacingClocklessSuccesses) {
  std::atomic<std::int64_t> fake_ns{0};
  const goro::clock::time_point base = goro::clock::now();
  std::atomic<int> bad_edges{0}, opened{0};
  goro::breaker_settings s;
  s.timeout = 1us;
  s.ready_to_trip = goro::trip_after_consecutive_failures(1);
  s.now = [&] { return base + std::chrono::nanoseconds(fake_ns.load()); };
  s.on_state_change = [&](const std::string&, goro::breaker_state from, goro::breaker_state to) {
    using st = goro::breaker_state;
    const bool ok = (from == st::closed && to == st::open) || (from == st::open && to == st::half_open) ||
                    (from == st::half_open && to != st::half_open);
    if (!ok) bad_edges.fetch_add(1);
    if (to == st::open) opened.fetch_add(1);
  };
  goro::circuit_breaker cb(s);
  const int rounds = goro_test::scaled(2000), per_actor = goro_test::scaled(5000);
  std::atomic<bool> stop{false};
  auto caller = [&](int) {
    for (int k = 0; k < per_actor && !stop.load(std::memory_order_relaxed); ++k)
      (void)cb.execute([] { return goro::error(); });
  };
  auto tripper = [&] {
    for (int r = 0; r < rounds; ++r) {
      (void)cb.execute([] { return goro::error(std::make_error_code(std::errc::io_error)); });
      fake_ns.fetch_add(2000);  // past the open state's timeout
    }
    stop.store(true);
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(caller, kGoroutines + i);
  threads.emplace_back(tripper);
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < kGoroutines; ++i) wg.go(caller, i);
    co_await wg.wait();
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad_edges.load(), 0);
  EXPECT_GT(opened.load(), 0);
  fake_ns.fetch_add(2000);
  EXPECT_FALSE(cb.execute([] { return goro::error(); }));  // open -> half-open -> closed
  EXPECT_EQ(cb.state(), goro::breaker_state::closed);
}

GORO_INSTANTIATE_WORKERS(ResilienceStress);

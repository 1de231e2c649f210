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

GORO_INSTANTIATE_WORKERS(ResilienceStress);

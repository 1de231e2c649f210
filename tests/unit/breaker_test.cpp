// goro::circuit_breaker: the state machine of breaker.hpp edge by edge,
// generations and counts as sony/gobreaker, the rolling window, execute's
// result shapes, and seed 000's TestCircuitBreaker. Time is an injected fake
// clock; nothing sleeps.
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {

struct fake_clock {
  goro::clock::time_point t = goro::clock::now();
  std::function<goro::clock::time_point()> fn() {
    return [this] { return t; };
  }
};

struct change {
  goro::breaker_state from, to;
  friend bool operator==(const change&, const change&) = default;
};

goro::error fail_once() { return std::make_error_code(std::errc::io_error); }
goro::error succeed() { return {}; }

}  // namespace

TEST(CircuitBreaker, DefaultsAreGobreakers) {
  goro::circuit_breaker cb;
  EXPECT_EQ(cb.state(), goro::breaker_state::closed);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(cb.execute(fail_once));
  EXPECT_EQ(cb.state(), goro::breaker_state::closed);  // > 5 consecutive failures trips
  EXPECT_TRUE(cb.execute(fail_once));
  EXPECT_EQ(cb.state(), goro::breaker_state::open);
  EXPECT_EQ(cb.execute(succeed), goro::breaker_errc::open);
  EXPECT_STREQ(goro::to_string(goro::breaker_state::half_open), "half-open");
  EXPECT_EQ(goro::error(goro::breaker_errc::open).message(), "circuit breaker is open");
}

// closed -> open -> half-open -> closed, and half-open -> open, with the
// generation and counts reset at each transition.
TEST(CircuitBreaker, StateMachine) {
  fake_clock clk;
  std::vector<change> changes;
  goro::breaker_settings s;
  s.name = "svc";
  s.max_requests = 2;
  s.timeout = 10s;
  s.ready_to_trip = goro::trip_after_consecutive_failures(3);
  s.now = clk.fn();
  s.on_state_change = [&](const std::string& name, goro::breaker_state from, goro::breaker_state to) {
    EXPECT_EQ(name, "svc");
    changes.push_back({from, to});
  };
  goro::circuit_breaker cb(s);
  const std::uint64_t g0 = cb.generation();

  // closed: counts accumulate; a success resets the consecutive failures.
  EXPECT_FALSE(cb.execute(succeed));
  EXPECT_TRUE(cb.execute(fail_once));
  EXPECT_TRUE(cb.execute(fail_once));
  EXPECT_EQ(cb.counts(), (goro::breaker_counts{3, 1, 2, 0, 2}));
  EXPECT_FALSE(cb.execute(succeed));
  EXPECT_EQ(cb.counts().consecutive_failures, 0u);
  // trip: the third consecutive failure.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(cb.execute(fail_once));
  EXPECT_EQ(cb.state(), goro::breaker_state::open);
  EXPECT_EQ(cb.generation(), g0 + 1);
  EXPECT_EQ(cb.counts(), goro::breaker_counts{});

  // open: rejected at once, f not called, until the timeout has passed.
  int calls = 0;
  auto counted = [&] {
    ++calls;
    return goro::error();
  };
  clk.t += 10s;  // expiry is not *before* now yet (gobreaker: expiry.Before(now))
  EXPECT_EQ(cb.execute(counted), goro::breaker_errc::open);
  EXPECT_EQ(calls, 0);
  clk.t += 1ns;
  EXPECT_EQ(cb.state(), goro::breaker_state::half_open);
  EXPECT_EQ(cb.generation(), g0 + 2);

  // half-open: max_requests let through, then too_many_requests; a failure reopens.
  goro::circuit_breaker::permit p1 = cb.try_acquire();
  goro::circuit_breaker::permit p2 = cb.try_acquire();
  ASSERT_TRUE(p1);
  ASSERT_TRUE(p2);
  EXPECT_EQ(cb.try_acquire().error(), goro::breaker_errc::too_many_requests);
  p1.done_ok(true);
  p2.done(fail_once());
  EXPECT_EQ(cb.state(), goro::breaker_state::open);
  EXPECT_EQ(cb.generation(), g0 + 3);

  // half-open again; max_requests consecutive successes close it.
  clk.t += 11s;
  EXPECT_FALSE(cb.execute(counted));
  EXPECT_EQ(cb.state(), goro::breaker_state::half_open);
  EXPECT_FALSE(cb.execute(counted));
  EXPECT_EQ(cb.state(), goro::breaker_state::closed);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cb.counts(), goro::breaker_counts{});

  const std::vector<change> want = {
      {goro::breaker_state::closed, goro::breaker_state::open},
      {goro::breaker_state::open, goro::breaker_state::half_open},
      {goro::breaker_state::half_open, goro::breaker_state::open},
      {goro::breaker_state::open, goro::breaker_state::half_open},
      {goro::breaker_state::half_open, goro::breaker_state::closed},
  };
  EXPECT_EQ(changes, want);
}

// A closed breaker without interval or window reads no clock for its
// successes (gobreaker reads it twice per call); failures, the open and
// half-open states, and an interval each read it, and the transitions
// still happen at the injected times.
TEST(CircuitBreaker, ReadsTheClockOnlyWhenTheAnswerDependsOnIt) {
  fake_clock clk;
  int reads = 0;
  goro::breaker_settings s;
  s.timeout = 10s;
  s.ready_to_trip = goro::trip_after_consecutive_failures(2);
  s.now = [&] {
    ++reads;
    return clk.t;
  };
  goro::circuit_breaker cb(s);
  const int at_start = reads;
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(cb.execute(succeed));
  EXPECT_EQ(reads, at_start);
  goro::circuit_breaker::permit p = cb.try_acquire();
  ASSERT_TRUE(p);
  EXPECT_EQ(reads, at_start);
  p.done(fail_once());  // a failure reads it: it may trip
  EXPECT_EQ(reads, at_start + 1);
  EXPECT_TRUE(cb.execute(fail_once));  // trips: open until clk.t + 10s
  EXPECT_EQ(cb.counts(), goro::breaker_counts{});
  int before = reads;
  EXPECT_EQ(cb.execute(succeed), goro::breaker_errc::open);
  EXPECT_GT(reads, before);  // open: the expiry is checked
  clk.t += 10s;
  EXPECT_EQ(cb.execute(succeed), goro::breaker_errc::open);  // not yet past it
  clk.t += 1ns;
  EXPECT_FALSE(cb.execute(succeed));  // half-open, then closed by the success
  EXPECT_EQ(cb.state(), goro::breaker_state::closed);
  before = reads;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(cb.execute(succeed));
  EXPECT_EQ(reads, before);

  // With an interval every call reads it (the counts clear on time).
  s.interval = 1min;
  goro::circuit_breaker timed(s);
  before = reads;
  EXPECT_FALSE(timed.execute(succeed));
  EXPECT_EQ(reads, before + 2);
  EXPECT_EQ(timed.counts().requests, 1u);
  clk.t += 61s;
  EXPECT_FALSE(timed.execute(succeed));
  EXPECT_EQ(timed.counts().requests, 1u);  // a new generation
}

// A result from an earlier generation is not counted (gobreaker's
// afterRequest), and the closed state's interval starts new generations.
TEST(CircuitBreaker, GenerationsAndInterval) {
  fake_clock clk;
  goro::breaker_settings s;
  s.interval = 60s;
  s.ready_to_trip = goro::trip_after_consecutive_failures(2);
  s.now = clk.fn();
  goro::circuit_breaker cb(s);
  goro::circuit_breaker::permit late = cb.try_acquire();
  EXPECT_TRUE(cb.execute(fail_once));
  clk.t += 61s;  // interval over: new generation, counts cleared, still closed
  EXPECT_EQ(cb.state(), goro::breaker_state::closed);
  EXPECT_EQ(cb.counts(), goro::breaker_counts{});
  late.done(fail_once());  // from the old generation: dropped
  EXPECT_EQ(cb.counts(), goro::breaker_counts{});
  EXPECT_TRUE(cb.execute(fail_once));
  EXPECT_EQ(cb.state(), goro::breaker_state::closed);  // one failure in this generation
  {
    goro::circuit_breaker::permit abandoned = cb.try_acquire();  // dropped: a failure
  }
  EXPECT_EQ(cb.state(), goro::breaker_state::open);
}

// The failure-ratio rule over a rolling window of buckets.
TEST(CircuitBreaker, FailureRatioOverRollingWindow) {
  fake_clock clk;
  goro::breaker_settings s;
  s.window = 10s;
  s.buckets = 10;
  s.ready_to_trip = goro::trip_on_failure_ratio(0.5, 10);
  s.now = clk.fn();
  goro::circuit_breaker cb(s);
  // 6 failures, then 9 s later 9 successes: 15 requests, 40% failures.
  for (int i = 0; i < 6; ++i) (void)cb.execute(fail_once);
  clk.t += 9s;
  for (int i = 0; i < 9; ++i) (void)cb.execute(succeed);
  EXPECT_EQ(cb.counts().requests, 15u);
  EXPECT_EQ(cb.state(), goro::breaker_state::closed);
  // 2 s later the failures left the window: 9 requests, below the minimum.
  clk.t += 2s;
  EXPECT_TRUE(cb.execute(fail_once));
  EXPECT_EQ(cb.counts().requests, 10u);
  EXPECT_EQ(cb.counts().total_failures, 1u);
  EXPECT_EQ(cb.state(), goro::breaker_state::closed);
  // Seven more failures: 8 of 17 (47%), still closed; the eighth: 9 of 18 trips.
  for (int i = 0; i < 7; ++i) (void)cb.execute(fail_once);
  EXPECT_EQ(cb.state(), goro::breaker_state::closed);
  EXPECT_TRUE(cb.execute(fail_once));
  EXPECT_EQ(cb.state(), goro::breaker_state::open);
}

TEST(CircuitBreaker, ResultShapesAndExceptions) {
  goro::breaker_settings s;
  s.ready_to_trip = goro::trip_after_consecutive_failures(2);
  s.is_successful = [](const goro::error& e) { return !e || e == std::errc::no_such_file_or_directory; };
  goro::circuit_breaker cb(s);
  auto [v, err] = cb.execute([] { return 42; });
  EXPECT_EQ(v, 42);
  EXPECT_FALSE(err);
  auto pr = cb.execute([] { return std::pair<std::string, goro::error>("x", goro::error()); });
  EXPECT_EQ(pr.first, "x");
  // An error the predicate calls a success does not count as a failure.
  EXPECT_TRUE(cb.execute([] { return std::make_error_code(std::errc::no_such_file_or_directory); }));
  EXPECT_EQ(cb.counts().total_failures, 0u);
  // An exception counts as a failure and is rethrown.
  EXPECT_THROW(cb.execute([]() -> int { throw std::runtime_error("boom"); }), std::runtime_error);
  EXPECT_EQ(cb.counts().total_failures, 1u);
  EXPECT_THROW(cb.execute([] { throw std::runtime_error("boom"); }), std::runtime_error);
  EXPECT_EQ(cb.state(), goro::breaker_state::open);
  auto rejected = cb.execute([] { return 1; });
  EXPECT_EQ(rejected.second, goro::breaker_errc::open);
}

// f runs without the breaker's lock held: it may call back into the breaker,
// and so may on_state_change.
TEST(CircuitBreaker, NoLockHeldWhileFRuns) {
  goro::breaker_settings s;
  s.ready_to_trip = goro::trip_after_consecutive_failures(1);
  goro::circuit_breaker* self = nullptr;
  int seen = -1;
  s.on_state_change = [&](const std::string&, goro::breaker_state, goro::breaker_state) {
    seen = static_cast<int>(self->counts().requests);
  };
  goro::circuit_breaker cb(s);
  self = &cb;
  EXPECT_FALSE(cb.execute([&] {
    EXPECT_EQ(cb.counts().requests, 1u);
    return goro::error();
  }));
  EXPECT_TRUE(cb.execute(fail_once));
  EXPECT_EQ(seen, 0);  // called after the transition cleared the counts
}

// Seed 000's TestCircuitBreaker: threshold 2, timeout 100ms.
TEST(CircuitBreaker, SeedTestCircuitBreaker) {
  goro::breaker_settings s;
  s.ready_to_trip = goro::trip_after_consecutive_failures(2);
  s.timeout = 100ms;
  goro::circuit_breaker cb(s);
  EXPECT_FALSE(cb.execute(succeed));  // successful execution
  for (int i = 0; i < 3; ++i) {
    goro::error err = cb.execute([] { return goro::error(std::make_error_code(std::errc::io_error)); });
    EXPECT_TRUE(err) << "attempt " << i;
    if (i >= 2) {
      EXPECT_EQ(err, goro::breaker_errc::open);
    }
  }
}

class CircuitBreakerRT : public goro_test::RuntimeTest {};

TEST_P(CircuitBreakerRT, ExecuteWithContext) {
  rt().run([&]() -> goro::task<> {
    goro::breaker_settings s;
    s.ready_to_trip = goro::trip_after_consecutive_failures(1);
    goro::circuit_breaker cb(s);
    auto coro = [](const goro::context& c) -> goro::task<std::pair<int, goro::error>> {
      co_await goro::yield();
      co_return std::pair<int, goro::error>(c.err() ? -1 : 7, goro::error());
    };
    goro::context bg = goro::background();
    auto r = co_await cb.execute(bg, coro);
    EXPECT_EQ(r.first, 7);
    EXPECT_FALSE(r.second);
    {
      auto [ctx, cancel] = goro::with_cancel(bg);
      cancel();
      goro::error e = co_await cb.execute(ctx, succeed);  // not called, not counted
      EXPECT_EQ(e, goro::canceled);
      EXPECT_EQ(cb.counts().requests, 1u);
    }
    auto failing = []() -> goro::task<goro::error> {
      co_await goro::yield();
      co_return goro::error(std::make_error_code(std::errc::io_error));
    };
    EXPECT_TRUE(co_await cb.execute(bg, failing));
    EXPECT_EQ(cb.state(), goro::breaker_state::open);
    goro::error e = co_await cb.execute(bg, failing);
    EXPECT_EQ(e, goro::breaker_errc::open);
  });
}

GORO_INSTANTIATE_WORKERS(CircuitBreakerRT);

// goro::retry: attempt counts, the bound of every jittered delay, max_elapsed,
// permanent errors, the notify hook, cancellation mid-backoff, result shapes.
// Random source, clock and sleep are injected: nothing sleeps, the fake clock
// moves by exactly the delays retry asks for.
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {

goro::error io_error() { return std::make_error_code(std::errc::io_error); }

// A fake world: a clock that only the injected sleep moves, and a record of
// every delay asked for.
struct fake_world {
  goro::clock::time_point t = goro::clock::now();
  std::vector<std::chrono::nanoseconds> slept;
  std::function<std::error_code(const goro::context&)> on_sleep;  // optional
  void install(goro::retry_policy& p) {
    p.now = [this] { return t; };
    p.sleep = [this](const goro::context& ctx, std::chrono::nanoseconds d) -> std::error_code {
      slept.push_back(d);
      t += d;
      if (on_sleep) return on_sleep(ctx);
      return {};
    };
  }
};

}  // namespace

TEST(Retry, CeilingGrowsAndCaps) {
  goro::retry_policy p;
  p.initial_interval = 100ms;
  p.multiplier = 2;
  p.max_interval = 1s;
  EXPECT_EQ(p.ceiling(1), 100ms);
  EXPECT_EQ(p.ceiling(2), 200ms);
  EXPECT_EQ(p.ceiling(4), 800ms);
  EXPECT_EQ(p.ceiling(5), 1s);
  EXPECT_EQ(p.ceiling(1000), 1s);
  p.max_interval = 0ns;  // no cap: saturates instead of overflowing
  EXPECT_EQ(p.ceiling(200), std::chrono::nanoseconds::max());
}

// Full jitter: every delay lies in [0, ceiling(k)); with random() = 0.5 it is
// exactly half of it.
TEST(Retry, EveryDelayWithinItsJitterBound) {
  for (double rnd : {0.0, 0.5, 0.999999999}) {
    fake_world w;
    goro::retry_policy p;
    p.initial_interval = 10ms;
    p.multiplier = 3;
    p.max_interval = 2s;
    p.max_elapsed = 0ns;
    p.max_attempts = 9;
    p.random = [rnd] { return rnd; };
    w.install(p);
    int calls = 0;
    goro::error err = goro::blocking_retry(goro::background(), p, [&] {
      ++calls;
      return io_error();
    });
    EXPECT_EQ(err, std::errc::io_error);
    EXPECT_EQ(calls, 9);
    ASSERT_EQ(w.slept.size(), 8u);
    for (std::uint32_t k = 1; k <= 8; ++k) {
      const auto top = p.ceiling(k);
      EXPECT_GE(w.slept[k - 1], 0ns);
      EXPECT_LT(w.slept[k - 1], top) << k;
      EXPECT_EQ(w.slept[k - 1].count(), static_cast<std::int64_t>(rnd * top.count())) << k;
    }
  }
}

// The default random source: still within the bounds, and not constant.
TEST(Retry, DefaultRandomWithinBounds) {
  fake_world w;
  goro::retry_policy p;
  p.initial_interval = 1s;
  p.multiplier = 1;
  p.max_attempts = 201;
  p.max_elapsed = 0ns;
  w.install(p);
  (void)goro::blocking_retry(goro::background(), p, [] { return io_error(); });
  ASSERT_EQ(w.slept.size(), 200u);
  std::chrono::nanoseconds lo = 1s, hi = 0ns;
  for (auto d : w.slept) {
    EXPECT_GE(d, 0ns);
    EXPECT_LT(d, 1s);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 500ms);
  EXPECT_GT(hi, 500ms);
  const double r = goro::detail::retry_random();
  EXPECT_GE(r, 0.0);
  EXPECT_LT(r, 1.0);
}

TEST(Retry, SucceedsAfterFailuresAndNotifies) {
  fake_world w;
  goro::retry_policy p;
  p.random = [] { return 0.5; };
  std::vector<std::uint32_t> notified;
  p.notify = [&](const goro::error& e, std::chrono::nanoseconds d, std::uint32_t attempt) {
    EXPECT_EQ(e, std::errc::io_error);
    EXPECT_EQ(d, p.ceiling(attempt) / 2);
    notified.push_back(attempt);
  };
  w.install(p);
  int calls = 0;
  auto [v, err] = goro::blocking_retry(goro::background(), p, [&]() -> std::pair<int, goro::error> {
    if (++calls < 4) return {0, io_error()};
    return {calls, goro::error()};
  });
  EXPECT_FALSE(err);
  EXPECT_EQ(v, 4);
  EXPECT_EQ(notified, (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(w.slept.size(), 3u);
}

// max_elapsed: stops when the next delay would end past it; the fake clock
// shows the total never exceeds it.
TEST(Retry, MaxElapsedBoundsTheTotal) {
  fake_world w;
  goro::retry_policy p;
  p.initial_interval = 100ms;
  p.multiplier = 2;
  p.max_interval = 10s;
  p.max_elapsed = 1s;
  p.random = [] { return 0.99; };
  w.install(p);
  const auto start = w.t;
  int calls = 0;
  goro::error err = goro::blocking_retry(goro::background(), p, [&] {
    ++calls;
    return io_error();
  });
  EXPECT_EQ(err, std::errc::io_error);
  EXPECT_LE(w.t - start, 1s);
  // 99, 198, 396 ms (total 693); the next, 792 ms, would end past 1 s.
  EXPECT_EQ(calls, 4);
}

TEST(Retry, PermanentErrorsStopAtOnce) {
  fake_world w;
  goro::retry_policy p;
  w.install(p);
  int calls = 0;
  goro::error err = goro::blocking_retry(goro::background(), p, [&] {
    ++calls;
    return goro::permanent(std::make_error_code(std::errc::permission_denied));
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(err, std::errc::permission_denied);  // unwrapped
  EXPECT_TRUE(w.slept.empty());
  EXPECT_TRUE(goro::is_permanent(goro::permanent(io_error())));
  EXPECT_FALSE(goro::is_permanent(io_error()));

  p.permanent = [](const goro::error& e) { return e == std::errc::invalid_argument; };
  calls = 0;
  err = goro::blocking_retry(goro::background(), p, [&] {
    ++calls;
    return calls < 3 ? io_error() : goro::error(std::make_error_code(std::errc::invalid_argument));
  });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(err, std::errc::invalid_argument);
}

TEST(Retry, ExceptionsAreErrors) {
  fake_world w;
  goro::retry_policy p;
  p.max_attempts = 3;
  w.install(p);
  int calls = 0;
  goro::error err = goro::blocking_retry(goro::background(), p, [&] {
    ++calls;
    throw std::runtime_error("flaky");
  });
  EXPECT_EQ(calls, 3);
  ASSERT_TRUE(err.exception());
  EXPECT_EQ(err.message(), "flaky");
  EXPECT_THROW(err.throw_if_error(), std::runtime_error);
}

// The context is checked before the first call and cuts a backoff short.
TEST(Retry, ContextStopsTheLoop) {
  {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    cancel();
    goro::retry_policy p;
    int calls = 0;
    goro::error err = goro::blocking_retry(ctx, p, [&] {
      ++calls;
      return goro::error();
    });
    EXPECT_EQ(err, goro::canceled);
    EXPECT_EQ(calls, 0);
  }
  {
    fake_world w;
    goro::cancelable_context<> cc = goro::with_cancel(goro::background());
    const goro::context ctx = cc.ctx;
    goro::retry_policy p;
    w.install(p);
    w.on_sleep = [&](const goro::context& c) -> std::error_code {
      if (w.slept.size() == 2) cc.cancel();  // cancelled during the second backoff
      return c.err();
    };
    int calls = 0;
    auto [v, err] = goro::blocking_retry(ctx, p, [&](const goro::context&) {
      ++calls;
      return std::pair<int, goro::error>(calls, io_error());
    });
    EXPECT_EQ(err, goro::canceled);
    EXPECT_EQ(v, 2);  // the last value is kept
    EXPECT_EQ(calls, 2);
  }
}

class RetryRT : public goro_test::RuntimeTest {};

// The goroutine form with the real sleep, cut short by the context: a
// backoff of up to an hour ends as soon as another goroutine cancels.
TEST_P(RetryRT, CancelledMidBackoff) {
  rt().run([&]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    goro::retry_policy p;
    p.initial_interval = 1h;
    p.max_interval = 1h;
    p.max_elapsed = 0ns;
    p.random = [] { return 0.99; };
    std::atomic<int> calls{0};
    auto first_call = goro::make_chan<int>(1);
    auto f = [&]() -> goro::task<goro::error> {
      if (calls.fetch_add(1) == 0) {
        int one = 1;
        (void)first_call.try_send(one);
      }
      co_return io_error();
    };
    // Cancels once the first attempt has run (so the cancel lands in the
    // backoff, not before the first attempt, whatever the scheduling).
    goro::go(
        [](goro::receiver<int> started, goro::cancel_func c) -> goro::task<> {
          (void)co_await started.recv();
          c();
        },
        first_call, std::move(cancel));
    goro::error err = co_await goro::retry(ctx, p, f);
    EXPECT_EQ(err, goro::canceled);
    EXPECT_EQ(calls.load(), 1);
  });
}

TEST_P(RetryRT, GoroutineFormSucceeds) {
  rt().run([&]() -> goro::task<> {
    goro::retry_policy p;
    p.initial_interval = 1us;
    int calls = 0;
    auto f = [&](const goro::context&) -> goro::task<std::pair<std::string, goro::error>> {
      co_await goro::yield();
      if (++calls < 3) co_return std::pair<std::string, goro::error>("", io_error());
      co_return std::pair<std::string, goro::error>("done", goro::error());
    };
    goro::context bg = goro::background();
    auto r = co_await goro::retry(bg, p, f);
    EXPECT_EQ(r.first, "done");
    EXPECT_FALSE(r.second);
    EXPECT_EQ(calls, 3);
    auto plain = [] { return goro::error(); };
    EXPECT_FALSE(co_await goro::retry(bg, p, plain));
  });
}

GORO_INSTANTIATE_WORKERS(RetryRT);

// Virtual time (goro/testing/virtual_time.hpp): the clock jumps to the next
// timer when every goroutine waits, so hours of timeouts run at once. Every
// assertion is on virtual time or on counts, never on wall time.
#include <atomic>
#include <cstdint>
#include <vector>

#include "goro_test.hpp"
#include "goro/rate.hpp"
#include "goro/testing/virtual_time.hpp"

using namespace std::chrono_literals;

TEST(VirtualTime, OneHourSleepAndTimeout) {
  auto elapsed = goro::testing::run_virtual([]() -> goro::task<goro::clock::duration> {
    const auto start = goro::now();
    co_await goro::sleep_for(1h);
    EXPECT_EQ(goro::now() - start, 1h);  // exactly: nothing else moved the clock
    auto never = goro::make_chan<int>();
    auto r = co_await never.recv_for(1h);
    EXPECT_EQ(r.status, goro::recv_status::timeout);
    co_return goro::now() - start;
  });
  EXPECT_EQ(elapsed, 2h);
}

TEST(VirtualTime, SelectTimeoutAndAfter) {
  goro::testing::run_virtual([]() -> goro::task<> {
    const auto start = goro::now();
    auto never = goro::make_chan<int>();
    auto r = co_await goro::select(goro::recv(never), goro::timeout(30min));
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(goro::now() - start, 30min);
    auto timer = goro::after(15min);
    auto t = co_await timer.recv();
    EXPECT_TRUE(t.has_value());
    if (t) {
      EXPECT_EQ(*t - start, 45min);  // the timer channel carries virtual time
    }
  });
}

// Ticks every minute for 24 hours: 1440 ticks, in order, at exact minutes.
TEST(VirtualTime, TwentyFourHourSchedule) {
  auto ticks = goro::testing::run_virtual([]() -> goro::task<int> {
    const auto start = goro::now();
    goro::ticker tk(1min);
    auto day = goro::after(24h + 30s);
    int n = 0;
    for (;;) {
      auto r = co_await goro::select(goro::recv(tk.c()), goro::recv(day));
      if (r.index() == 1) break;
      ++n;
      EXPECT_EQ(goro::now() - start, n * 1min);
    }
    tk.stop();
    EXPECT_EQ(goro::now() - start, 24h + 30s);
    co_return n;
  });
  EXPECT_EQ(ticks, 1440);
}

// Sleepers wake in deadline order, whatever order they went to sleep in.
TEST(VirtualTime, SleepersWakeInDeadlineOrder) {
  auto order = goro::testing::run_virtual([]() -> goro::task<std::vector<int>> {
    auto out = goro::make_chan<int>(8);
    goro::wait_group wg;
    for (int i : {5, 1, 4, 2, 3})
      wg.go([out, i]() -> goro::task<> {
        co_await goro::sleep_for(i * 1h);
        (void)co_await out.send(i);
      });
    co_await wg.wait();
    out.close();
    std::vector<int> got;
    while (auto v = co_await out.recv()) got.push_back(*v);
    co_return got;
  });
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(VirtualTime, ContextTimeoutOfOneHour) {
  goro::testing::run_virtual([]() -> goro::task<> {
    const auto start = goro::now();
    auto [ctx, cancel] = goro::with_timeout(goro::background(), 1h);
    (void)co_await ctx.done().recv();
    EXPECT_EQ(ctx.err(), goro::deadline_exceeded);
    EXPECT_EQ(goro::now() - start, 1h);
  });
}

// 1 token per minute, burst 1: ten waits take nine virtual minutes.
TEST(VirtualTime, RateLimiterWait) {
  goro::testing::run_virtual([]() -> goro::task<> {
    goro::rate::limiter lim(goro::rate::every(1min), 1);
    const auto start = goro::now();
    for (int i = 0; i < 10; ++i) {
      auto ec = co_await lim.wait(goro::background());
      EXPECT_FALSE(ec) << ec.message();
    }
    EXPECT_EQ(goro::now() - start, 9min);
  });
}

// Two workers: the clock still only moves when both are idle.
TEST(VirtualTime, TwoWorkers) {
  goro::runtime_options o;
  o.workers = 2;
  auto n = goro::testing::run_virtual_at(goro::detail::source_loc::current(), o,
                                         []() -> goro::task<int> {
    const auto start = goro::now();
    goro::wait_group wg;
    std::atomic<int> woke{0};
    for (int i = 1; i <= 20; ++i)
      wg.go([&woke, i]() -> goro::task<> {
        co_await goro::sleep_for(i * 1min);
        woke.fetch_add(1);
      });
    co_await wg.wait();
    EXPECT_EQ(goro::now() - start, 20min);
    co_return woke.load();
  });
  EXPECT_EQ(n, 20);
}

// Plain threads keep the real clock.
TEST(VirtualTime, PlainThreadSeesRealClock) {
  const auto before = goro::clock::now();
  goro::testing::run_virtual([]() -> goro::task<> { co_await goro::sleep_for(10h); });
  EXPECT_LT(goro::now() - before, 1h);
}

// Unit tests: after, timer, ticker.
#include <sys/resource.h>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {
class Timers : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Timers);

TEST_P(Timers, AfterFiresOnce) {
  rt().run([]() -> goro::task<> {
    auto t0 = goro::clock::now();
    auto c = goro::after(3ms);
    auto v = co_await c.recv();
    EXPECT_TRUE(v.has_value());
    EXPECT_GE(*v - t0, 3ms);
    EXPECT_EQ(c.try_recv().status, goro::recv_status::empty);
  });
}

TEST_P(Timers, SelectWithAfterTimesOut) {
  rt().run([]() -> goro::task<> {
    auto never = goro::make_chan<int>();
    auto r = co_await goro::select(goro::recv(never), goro::recv(goro::after(2ms)));
    EXPECT_EQ(r.index(), 1u);
  });
}

TEST_P(Timers, StopPreventsFiring) {
  rt().run([]() -> goro::task<> {
    goro::timer t(1h);
    EXPECT_TRUE(t.stop());
    EXPECT_FALSE(t.stop());
    auto r = co_await t.c().recv_for(5ms);
    EXPECT_EQ(r.status, goro::recv_status::timeout);
  });
}

TEST_P(Timers, ResetLeavesNoStaleValue) {
  rt().run([]() -> goro::task<> {
    goro::timer t(1ms);
    // Wait until it has fired into its buffer (len becomes 1), without sleeping.
    while (t.c().len() == 0) co_await goro::yield();
    EXPECT_FALSE(t.reset(1h));  // had fired already
    EXPECT_EQ(t.c().try_recv().status, goro::recv_status::empty);  // drained
    EXPECT_TRUE(t.reset(1ms));
    auto v = co_await t.c().recv();
    EXPECT_TRUE(v.has_value());
  });
}

TEST_P(Timers, TickerTicksAndDropsForSlowReceiver) {
  rt().run([]() -> goro::task<> {
    goro::ticker tk(1ms);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE((co_await tk.c().recv()).has_value());
    // Buffer of one: however long we are away, at most one tick is queued.
    auto t0 = goro::clock::now();
    while (goro::clock::now() - t0 < 10ms) co_await goro::yield();
    EXPECT_LE(tk.c().len(), 1u);
    tk.stop();
    (void)tk.c().try_recv();
    auto r = co_await tk.c().recv_for(5ms);
    EXPECT_EQ(r.status, goro::recv_status::timeout);
  });
}

TEST_P(Timers, TickerRejectsNonPositive) {
  EXPECT_THROW(goro::ticker(0ms), std::invalid_argument);
  EXPECT_THROW(goro::ticker(-1ms), std::invalid_argument);
}

long max_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Go's time.After-in-a-loop leak is impossible: each after(1h) is freed
// (timer disarmed and removed) when the select that used it ends.
TEST_P(Timers, AfterInLoopDoesNotLeak) {
  const int n = goro_test::scaled(1'000'000);
  long before = 0;
  std::size_t max_armed = 0;
  int fired_other = 0;
  rt().run([&]() -> goro::task<> {
    auto ch = goro::make_chan<int>(1);
    for (int i = 0; i < n; ++i) {
      if (i == 1000) before = max_rss_kb();
      (void)ch.try_send(i);
      auto r = co_await goro::select(goro::recv(ch), goro::recv(goro::after(1h)));
      if (r.index() != 0) ++fired_other;
      if (i % 1024 == 0) max_armed = std::max(max_armed, rt().armed_timers());
    }
  });
  EXPECT_EQ(fired_other, 0);
  EXPECT_EQ(rt().armed_timers(), 0u);
  EXPECT_LE(max_armed, 1u);
#if !defined(GORO_SANITIZER)  // ASan's quarantine keeps freed memory resident
  // 1M leaked timer channels would be > 100 MB.
  EXPECT_LT(max_rss_kb() - before, 20 * 1024);
#endif
}

}  // namespace

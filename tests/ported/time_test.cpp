// Ported from Go 1.19: src/time/sleep_test.go (suite TimeSleep) and
// src/time/tick_test.go (suite TimeTick), the tests that map onto goro's
// sleep_for, after, timer and ticker.
//
// goro's timer::stop/reset follow Go 1.23: they drain the channel, so no
// stale value can be received after them. Go 1.19's idiom
// `if !t.Stop() { <-t.C }` therefore becomes a plain stop() here (the drain
// would block forever); the tests that used it say so.
//
// These tests measure real time (there is no virtual clock yet); like Go,
// the timing-sensitive ones retry with longer durations before failing.
// Sleeps here are the subject under test, never synchronisation.
//
// Not ported:
//  * TestAfterFunc (and the AfterFunc halves of TestAfterStop and
//    TestTimerStopStress, which use timer channels instead): goro has no
//    after_func.
//  * TestIssue5745, TestZeroTimerResetPanics, TestZeroTimerStopPanics,
//    TestTickerStopWithDirectInitialization, TestTick (Tick(-1) == nil): they
//    test Go's zero-value / nil / hand-built Timer and Ticker. goro's timer
//    and ticker have no zero value and own their channel, so the misuse cannot
//    be written (checked at compile time below).
//  * TestOverflowPeriodRuntimeTimer: calls a runtime-internal test hook.
//  * Benchmark*: benchmarks live in bench/.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ported/ported_util.hpp"

using namespace std::chrono_literals;
using goro_test::scaled;

namespace {

using clock_type = goro::clock;
using time_point = goro::clock::time_point;

// The zero-value misuse Go's TestZeroTimer*Panics, TestIssue5745 and
// TestTickerStopWithDirectInitialization guard against cannot be written.
static_assert(!std::is_default_constructible_v<goro::timer>);
static_assert(!std::is_default_constructible_v<goro::ticker>);
static_assert(!std::is_constructible_v<goro::ticker, goro::receiver<time_point>>);

class TimeSleep : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(TimeSleep);
class TimeTick : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(TimeTick);

std::chrono::nanoseconds since(time_point t) { return clock_type::now() - t; }

// ---- sleep_test.go ---------------------------------------------------------------

TEST_P(TimeSleep, TestSleep) {
  // Go: time/sleep_test.go, TestSleep. Go interrupts the sleeping thread
  // halfway (Interrupt()); here another goroutine wakes and keeps the
  // scheduler busy halfway through. The sleep must not end early.
  constexpr auto delay = 100ms;
  std::chrono::nanoseconds duration{};
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    wg.go([]() -> goro::task<> {
      co_await goro::sleep_for(50ms);  // delay / 2
      for (int i = 0; i < 100; i++) co_await goro::yield();
    });
    auto start = clock_type::now();
    co_await goro::sleep_for(delay);
    duration = since(start);
    co_await wg.wait();
  });
  EXPECT_GE(duration, delay) << "Sleep(100ms) slept for only " << duration.count() << "ns";
}

TEST_P(TimeSleep, TestAfterStress) {
  // Go: time/sleep_test.go, TestAfterStress: a 1ns ticker delivers 100 ticks
  // while another goroutine churns through 1ns sleeps (Go also runs the GC).
  int ticks = 0;
  rt().run([&]() -> goro::task<> {
    std::atomic<bool> stop{false};
    auto churn = goro::spawn([&stop]() -> goro::task<> {
      while (!stop.load()) {
        co_await goro::yield();
        co_await goro::sleep_for(1ns);
      }
    });
    goro::ticker ticker(1ns);
    for (int i = 0; i < 100; i++) {
      auto t = co_await ticker.c().recv();
      if (t) ticks++;
    }
    ticker.stop();
    stop.store(true);
    co_await std::move(churn);
  });
  EXPECT_EQ(ticks, 100);
}

TEST_P(TimeSleep, TestAfter) {
  // Go: time/sleep_test.go, TestAfter.
  constexpr auto delay = 100ms;
  rt().run([&]() -> goro::task<> {
    auto start = clock_type::now();
    auto ch = goro::after(delay);
    auto end = co_await ch.recv();
    auto duration = since(start);
    EXPECT_GE(duration, delay) << "After(100ms) slept for only " << duration.count() << "ns";
    EXPECT_TRUE(end.has_value()) << "the after() channel was closed";
    if (end) {
      EXPECT_GE(*end, start + delay) << "After(100ms) delivered a time before start + 100ms";
    }
  });
}

TEST_P(TimeSleep, TestAfterTick) {
  // Go: time/sleep_test.go, TestAfterTick, with -short's Delta (10ms). Like
  // -short, only the lower bound is checked (an upper bound on a shared,
  // sanitised machine would only measure the machine).
  constexpr int Count = 10;
  constexpr auto Delta = 10ms;
  std::chrono::nanoseconds d{};
  rt().run([&]() -> goro::task<> {
    auto t0 = clock_type::now();
    for (int i = 0; i < Count; i++) {
      auto t = co_await goro::after(Delta).recv();
      EXPECT_TRUE(t.has_value());
    }
    d = since(t0);
  });
  auto target = Delta * Count;
  EXPECT_GE(d, target * 9 / 10) << Count << " ticks of 10ms too fast: took " << d.count() << "ns";
}

TEST_P(TimeSleep, TestAfterStop) {
  // Go: time/sleep_test.go, TestAfterStop: stop timers before they run, and
  // check they did not run after a longer timer. Go's AfterFunc(150ms) that
  // signals c1 is a timer whose channel plays c1. Flaky by nature (short
  // real durations), so, like Go, it only fails after five failures in a row.
  std::vector<std::string> errs;
  bool passed = false;
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < 5 && !passed; i++) {
      auto unrelated = goro::after(100ms);  // Go: AfterFunc(100ms, func() {})
      goro::timer t0(50ms);
      goro::timer t1(150ms);
      auto c2 = goro::after(200ms);
      if (!t0.stop()) {
        errs.push_back("failed to stop event 0");
        continue;
      }
      if (!t1.stop()) {
        errs.push_back("failed to stop event 1");
        continue;
      }
      (void)co_await c2.recv();
      auto r = co_await goro::select(goro::recv(t0.c()), goro::recv(t1.c()), goro::default_case);
      if (r.index() == 0) {
        errs.push_back("event 0 was not stopped");
        continue;
      }
      if (r.index() == 1) {
        errs.push_back("event 1 was not stopped");
        continue;
      }
      if (t1.stop()) {
        errs.push_back("Stop returned true twice");
        continue;
      }
      passed = true;
    }
  });
  std::string all;
  for (const auto& e : errs) all += e + "; ";
  EXPECT_TRUE(passed) << "saw " << errs.size() << " errors: " << all;
}

// Go: time/sleep_test.go, testAfterQueuing.
constexpr int kSlots[] = {5, 3, 6, 6, 6, 1, 1, 2, 7, 9, 4, 8, 0};

struct after_result {
  int slot;
  time_point t;
};

goro::task<> await_slot(int slot, goro::sender<after_result> result, goro::receiver<time_point> ac) {
  auto t = co_await ac.recv();
  (void)co_await result.send(after_result{slot, t.value_or(time_point{})});
}

goro::task<std::string> test_after_queuing(std::chrono::milliseconds delta) {
  // The result channel is buffered: do not depend on channel queueing order.
  auto result = goro::make_chan<after_result>(std::size(kSlots));
  auto t0 = clock_type::now();
  for (int slot : kSlots) goro::go(await_slot, slot, result, goro::after(slot * delta));
  std::vector<int> order;
  std::vector<time_point> times;
  for (std::size_t i = 0; i < std::size(kSlots); i++) {
    auto r = co_await result.recv();
    order.push_back(r->slot);
    times.push_back(r->t);
  }
  for (std::size_t i = 1; i < order.size(); i++)
    if (order[i] < order[i - 1]) co_return "After calls returned out of order";
  for (std::size_t i = 0; i < times.size(); i++) {
    auto dt = times[i] - t0;
    auto target = order[i] * delta;
    if (dt < target - delta / 2 || dt > target + delta * 10)
      co_return "After(" + std::to_string(target.count()) + "ms) arrived at " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(dt).count()) + "ms";
  }
  co_return "";
}

TEST_P(TimeSleep, TestAfterQueuing) {
  // Go: time/sleep_test.go, TestAfterQueuing (After channels fire in deadline
  // order, each close to its deadline); up to 5 attempts with longer deltas.
  std::string err = "!=nil";
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < 5 && !err.empty(); i++) {
      auto delta = std::chrono::milliseconds(20 + i * 50);
      auto t = test_after_queuing(delta);
      err = co_await std::move(t);
    }
  });
  EXPECT_EQ(err, "");
}

TEST_P(TimeSleep, TestTimerStopStress) {
  // Go: time/sleep_test.go, TestTimerStopStress: 100 goroutines each stop a
  // timer halfway to its deadline; none may fire. Go uses AfterFunc(2s),
  // Sleep(1s) and skips the test in -short mode; here timer channels with
  // 300ms/50ms, and each goroutine checks its channel stays empty past the
  // deadline. (stop() drains, so a fire before stop shows as stop() == false.)
  std::atomic<int> not_stopped{0}, fired{0};
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < 100; i++) {
      wg.go([&]() -> goro::task<> {
        auto deadline = clock_type::now() + 300ms;
        goro::timer timer(300ms);
        co_await goro::sleep_for(50ms);
        if (!timer.stop()) not_stopped.fetch_add(1);
        co_await goro::sleep_until(deadline + 100ms);
        if (timer.c().try_recv().status != goro::recv_status::empty) fired.fetch_add(1);
      });
    }
    co_await wg.wait();
  });
  EXPECT_EQ(not_stopped.load(), 0) << "timers were not pending at stop()";
  EXPECT_EQ(fired.load(), 0) << "timers were not stopped";
}

TEST_P(TimeSleep, TestSleepZeroDeadlock) {
  // Go: time/sleep_test.go, TestSleepZeroDeadlock: Sleep(0) used to leave
  // the goroutine marked waiting; later scheduling never woke it.
  int rounds = 0;
  rt().run([&]() -> goro::task<> {
    auto c = goro::make_chan<bool>();
    goro::go([](goro::sender<bool> c) -> goro::task<> {
      for (int i = 0; i < 100; i++) co_await goro::yield();  // Go: runtime.GC()
      (void)co_await c.send(true);
    }, c);
    for (int i = 0; i < 100; i++) {
      co_await goro::sleep_for(0ns);
      auto tmp = goro::make_chan<bool>(1);
      auto st = co_await tmp.send(true);
      EXPECT_EQ(st, goro::send_status::ok);
      auto v = co_await tmp.recv();
      if (v && *v) rounds++;
    }
    auto done = co_await c.recv();
    EXPECT_TRUE(done.value_or(false));
  });
  EXPECT_EQ(rounds, 100);
}

goro::task<std::string> test_reset(std::chrono::milliseconds d) {
  goro::timer t0(2 * d);
  co_await goro::sleep_for(d);
  if (!t0.reset(3 * d)) co_return "resetting unfired timer returned false";
  co_await goro::sleep_for(2 * d);
  if (t0.c().try_recv()) co_return "timer fired early";
  co_await goro::sleep_for(2 * d);
  if (!t0.c().try_recv()) co_return "reset timer did not fire";
  if (t0.reset(50ms)) co_return "resetting expired timer returned true";
  // Go 1.23 semantics: nothing stale is left after a reset.
  if (t0.c().try_recv().status != goro::recv_status::empty) co_return "stale value after reset";
  co_return "";
}

TEST_P(TimeSleep, TestReset) {
  // Go: time/sleep_test.go, TestReset: with increasingly larger multiples
  // until one works, so slow, loaded hardware isn't as flaky.
  constexpr auto unit = 25ms;
  std::string err;
  rt().run([&]() -> goro::task<> {
    for (auto d : {1 * unit, 3 * unit, 7 * unit, 15 * unit}) {
      auto t = test_reset(d);
      err = co_await std::move(t);
      if (err.empty()) co_return;
    }
  });
  EXPECT_EQ(err, "");
}

TEST_P(TimeSleep, TestOverflowSleep) {
  // Go: time/sleep_test.go, TestOverflowSleep: sleeping for an interval so
  // large it overflows must not be a short sleep, nor disturb other timers;
  // a negative one returns at once.
  constexpr auto big = std::chrono::nanoseconds::max();
  constexpr auto neg = std::chrono::nanoseconds::min();
  goro_ported::block_probe probe;
  rt().run([&]() -> goro::task<> {
    // Go: go func() { Sleep(big); panic("big sleep returned") }()
    auto t = probe.blocks([]() -> goro::task<> { co_await goro::sleep_for(std::chrono::nanoseconds::max()); },
                          25ms);
    bool blocked = co_await std::move(t);
    EXPECT_TRUE(blocked) << "big sleep returned";

    {
      auto r = co_await goro::select(goro::recv(goro::after(big)), goro::recv(goro::after(25ms)));
      EXPECT_EQ(r.index(), 1u) << "big timeout fired";
    }
    {
      // The same through a select timeout (no channel).
      auto never = goro::make_chan<int>();
      auto r = co_await goro::select(goro::recv(never), goro::timeout(big), goro::recv(goro::after(25ms)));
      EXPECT_EQ(r.index(), 2u) << "big select timeout fired";
    }

    auto start = clock_type::now();
    co_await goro::sleep_for(neg);  // Returns immediately.
    EXPECT_LT(since(start), 1s);
    {
      auto r = co_await goro::select(goro::recv(goro::after(neg)), goro::recv(goro::after(1s)));
      EXPECT_EQ(r.index(), 0u) << "negative timeout didn't fire";
    }
  });
  EXPECT_EQ(probe.shutdown(), 1u);  // the big sleeper, torn down with its runtime
}

TEST_P(TimeSleep, TestZeroTimer) {
  // Go: time/sleep_test.go, TestZeroTimer (issue 44868: zero-duration timers
  // must not be missed by the scheduler). Go: 1,000,000 iterations, skipped
  // in -short mode.
  const int n = scaled(100000);
  int slow = 0, closed = 0;
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < n; i++) {
      auto s = clock_type::now();
      goro::timer ti(0ns);
      auto v = co_await ti.c().recv();
      if (!v) closed++;
      if (since(s) > 2s) slow++;
    }
  });
  EXPECT_EQ(slow, 0) << "Expected time to get value from Timer channel in less than 2 sec";
  EXPECT_EQ(closed, 0);
}

TEST_P(TimeSleep, TestTimerModifiedEarlier) {
  // Go: time/sleep_test.go, TestTimerModifiedEarlier (issue 47329: rapidly
  // moving a timer earlier must not drop it). Go's `if !timer.Stop() {
  // <-timer.C }` is stop() alone here: stop drains (Go 1.23).
  const auto past = -std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()) -
                    24h * 365 * 50;  // Go: Until(Unix(0, 0))
  const int count = scaled(1000);
  int fail = 0, expired = 0;
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < count; i++) {
      goro::timer timer(1h);
      for (int j = 0; j < 10; j++) {
        (void)timer.stop();
        (void)timer.reset(past);
      }
      goro::timer deadline(10s);
      auto now = clock_type::now();
      auto r = co_await goro::select(goro::recv(timer.c()), goro::recv(deadline.c()));
      if (r.index() == 0) {
        if (since(now) > 8s) fail++;  // timer took too long
      } else {
        expired++;  // deadline expired
      }
    }
  });
  EXPECT_EQ(fail, 0);
  EXPECT_EQ(expired, 0) << "deadline expired";
}

TEST_P(TimeSleep, TestAdjustTimers) {
  // Go: time/sleep_test.go, TestAdjustTimers (issue 47762: rapidly moving
  // timers earlier and later must not lose sleep times). Go's
  // `if !timer.Stop() { <-timer.C }` is stop() alone here (Go 1.23).
  std::vector<std::string> errs;
  rt().run([&]() -> goro::task<> {
    std::mt19937_64 rnd(static_cast<std::uint64_t>(clock_type::now().time_since_epoch().count()));
    constexpr int kTimers = 100;
    std::vector<std::unique_ptr<goro::timer>> timers(kTimers);
    std::vector<int> states(kTimers, 0);
    std::vector<int> indices(kTimers);
    for (int i = 0; i < kTimers; i++) indices[i] = i;
    std::shuffle(indices.begin(), indices.end(), rnd);

    while (!indices.empty()) {
      std::size_t ii = std::uniform_int_distribution<std::size_t>(0, indices.size() - 1)(rnd);
      int i = indices[ii];
      goro::timer* timer = timers[i].get();
      int state = states[i]++;
      switch (state) {
        case 0:
          timers[i] = std::make_unique<goro::timer>(0ns);
          break;
        case 1: {
          auto v = co_await timer->c().recv();  // Timer is now idle.
          if (!v) errs.push_back("timer channel closed");
          break;
        }
        // Reset to various long durations, which we'll cancel.
        case 2:
          if (timer->reset(1min)) errs.push_back("shouldn't be active (1)");
          break;
        case 4:
          if (timer->reset(3min)) errs.push_back("shouldn't be active (3)");
          break;
        case 6:
          if (timer->reset(2min)) errs.push_back("shouldn't be active (2)");
          break;
        // Stop a long-duration timer (Go also drains it when Stop is false).
        case 3:
        case 5:
        case 7:
          (void)timer->stop();
          break;
        // Start a short-duration timer we expect to select without blocking.
        case 8:
          if (timer->reset(0ns)) errs.push_back("timer.Reset returned true");
          break;
        case 9: {
          auto now = clock_type::now();
          auto v = co_await timer->c().recv();
          if (!v) errs.push_back("timer channel closed");
          if (since(now) > 750ms) errs.push_back("timer " + std::to_string(i) + " took too long to complete");
          break;
        }
        // Timer is done. Swap with tail and remove.
        case 10:
          indices[ii] = indices.back();
          indices.pop_back();
          break;
      }
    }
  });
  std::string all;
  for (const auto& e : errs) all += e + "; ";
  EXPECT_TRUE(errs.empty()) << all;
}

// ---- tick_test.go ----------------------------------------------------------------

TEST_P(TimeTick, TestTicker) {
  // Go: time/tick_test.go, TestTicker: count/2 ticks of delta, reset to
  // 2*delta, count/2 more; the total must be within 30% of the target, and
  // no tick may arrive after stop. Flaky by nature: a second, longer attempt
  // (8 ticks of 1s) before failing, like Go.
  std::vector<std::string> errs;
  bool passed = false;
  rt().run([&]() -> goro::task<> {
    struct attempt {
      int count;
      std::chrono::milliseconds delta;
    };
    for (attempt test : {attempt{10, 20ms}, attempt{8, 1000ms}}) {
      const int count = test.count;
      const auto delta = test.delta;
      goro::ticker ticker(delta);
      auto t0 = clock_type::now();
      for (int i = 0; i < count / 2; i++) (void)co_await ticker.c().recv();
      ticker.reset(delta * 2);
      for (int i = count / 2; i < count; i++) (void)co_await ticker.c().recv();
      ticker.stop();
      auto dt = since(t0);
      auto target = 3 * delta * (count / 2);
      auto slop = target * 3 / 10;
      if (dt < target - slop || dt > target + slop) {
        errs.push_back(std::to_string(count / 2) + " ticks of " + std::to_string(delta.count()) + "ms then " +
                       std::to_string(count / 2) + " of twice that took " +
                       std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(dt).count()) +
                       "ms, expected " + std::to_string(target.count()) + "ms +- 30%");
        continue;
      }
      // Now test that the ticker stopped.
      co_await goro::sleep_for(2 * delta);
      auto r = co_await goro::select(goro::recv(ticker.c()), goro::default_case);
      if (r.index() == 0) {
        errs.push_back("Ticker did not shut down");
        continue;
      }
      passed = true;
      break;
    }
  });
  std::string all;
  for (const auto& e : errs) all += e + "; ";
  EXPECT_TRUE(passed) << "saw " << errs.size() << " errors: " << all;
}

TEST_P(TimeTick, TestTeardown) {
  // Go: time/tick_test.go, TestTeardown (tearing down a ticker must not
  // deadlock), with -short's Delta.
  constexpr auto Delta = 20ms;
  int ticks = 0;
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < 3; i++) {
      goro::ticker ticker(Delta);
      auto t = co_await ticker.c().recv();
      if (t) ticks++;
      ticker.stop();
    }
  });
  EXPECT_EQ(ticks, 3);
}

TEST_P(TimeTick, TestNewTickerLtZeroDuration) {
  // Go: time/tick_test.go, TestNewTickerLtZeroDuration (NewTicker(-1) panics;
  // goro throws).
  rt().run([]() -> goro::task<> {
    EXPECT_THROW(goro::ticker(-1ns), std::invalid_argument);
    EXPECT_THROW(goro::ticker(0ns), std::invalid_argument);
    co_return;
  });
}

TEST_P(TimeTick, TestTickerResetLtZeroDuration) {
  // Go: time/tick_test.go, TestTickerResetLtZeroDuration (Ticker.Reset(0)
  // panics; goro throws and the ticker keeps its period).
  rt().run([]() -> goro::task<> {
    goro::ticker tk(1s);
    EXPECT_THROW(tk.reset(0ns), std::invalid_argument);
    EXPECT_THROW(tk.reset(-1ns), std::invalid_argument);
    tk.stop();
    co_return;
  });
}

}  // namespace

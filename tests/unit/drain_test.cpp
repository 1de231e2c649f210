// Unit tests: goro::shutdown::drain / blocking_drain (goro/shutdown.hpp) for
// wait_group and errgroup. Which path drain takes is what is asserted: work
// released through a channel finishes in time (cancel never called); work
// that only stops when its context is cancelled outlasts a short grace
// period, gets cancelled, and is all finished when drain returns. Time is
// only a bound: the "in time" cases have a grace period no run reaches, the
// "too late" ones a 1 ms one that work blocked on a channel cannot meet.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "goro/shutdown.hpp"
#include "goro/signal.hpp"
#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

constexpr auto kLong = 60s;  // a grace period that only a broken test reaches

class Drain : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Drain);

// Workers that finish when `release` is closed, whatever their context says.
goro::task<> until_released(goro::receiver<void> release, std::atomic<int>* finished) {
  (void)co_await release.recv();
  finished->fetch_add(1);
}
// Workers that finish only when ctx is done.
goro::task<> until_cancelled(goro::context ctx, std::atomic<int>* finished) {
  (void)co_await ctx.done().recv();
  finished->fetch_add(1);
}

TEST_P(Drain, WaitGroupDrainsInTimeWithoutCancelling) {
  const int n = scaled(50);
  std::atomic<int> finished{0};
  rt().run([&]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto release = goro::make_chan<void>();
    goro::wait_group wg;
    for (int i = 0; i < n; ++i) wg.go(until_released, goro::receiver<void>(release), &finished);
    int cancels = 0;
    auto count_cancel = [&cancels] { ++cancels; };
    auto h = goro::spawn([&]() -> goro::task<goro::shutdown::drain_result> {
      co_return co_await goro::shutdown::drain(wg, kLong, count_cancel);
    });
    release.close();
    goro::shutdown::drain_result r = co_await std::move(h);
    EXPECT_TRUE(r.in_time);
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_FALSE(r.err);
    EXPECT_EQ(cancels, 0);
    EXPECT_FALSE(ctx.err());
    EXPECT_EQ(wg.count(), 0);
  });
  EXPECT_EQ(finished.load(), n);
}

TEST_P(Drain, WaitGroupCancelsAfterTheGracePeriodAndWaitsForTheRest) {
  const int n = scaled(50);
  std::atomic<int> finished{0};
  rt().run([&]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    goro::wait_group wg;
    for (int i = 0; i < n; ++i) wg.go(until_cancelled, ctx, &finished);
    goro::shutdown::drain_result r = co_await goro::shutdown::drain(wg, 1ms, cancel);
    EXPECT_FALSE(r.in_time);
    EXPECT_EQ(ctx.err(), goro::canceled);
    EXPECT_EQ(finished.load(), n);  // drain returned only after all of them
    EXPECT_EQ(wg.count(), 0);
  });
}

// The grace period ends when a context does (here: cancelled by the test).
TEST_P(Drain, GraceContextEndsTheGracePeriod) {
  std::atomic<int> finished{0};
  rt().run([&]() -> goro::task<> {
    // Not structured bindings: the lambda below uses them by reference (Clang 14).
    auto cc = goro::with_cancel(goro::background());
    auto& ctx = cc.ctx;
    auto& cancel = cc.cancel;
    auto gc = goro::with_cancel(goro::background());
    auto& grace = gc.ctx;
    auto& end_grace = gc.cancel;
    goro::wait_group wg;
    for (int i = 0; i < 4; ++i) wg.go(until_cancelled, ctx, &finished);
    auto h = goro::spawn([&]() -> goro::task<goro::shutdown::drain_result> {
      co_return co_await goro::shutdown::drain(wg, grace, cancel);
    });
    end_grace();
    goro::shutdown::drain_result r = co_await std::move(h);
    EXPECT_FALSE(r.in_time);
    EXPECT_EQ(ctx.err(), goro::canceled);
    EXPECT_EQ(finished.load(), 4);
  });
}

// A group already finished wins over a grace context already done.
TEST_P(Drain, FinishedGroupIsInTimeEvenWithADoneGraceContext) {
  rt().run([&]() -> goro::task<> {
    auto [grace, end_grace] = goro::with_cancel(goro::background());
    end_grace();
    goro::wait_group wg;
    int cancels = 0;
    auto count_cancel = [&cancels] { ++cancels; };
    goro::shutdown::drain_result r = co_await goro::shutdown::drain(wg, grace, count_cancel);
    EXPECT_TRUE(r.in_time);
    EXPECT_EQ(cancels, 0);
  });
}

TEST_P(Drain, ErrgroupInTimeReportsTheFirstError) {
  rt().run([&]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto release = goro::make_chan<void>();
    goro::errgroup g;
    for (int i = 0; i < 3; ++i) {
      g.go([release = goro::receiver<void>(release), i]() -> goro::task<goro::error> {
        (void)co_await release.recv();
        if (i == 1) co_return std::make_error_code(std::errc::io_error);
        co_return goro::error{};
      });
    }
    int cancels = 0;
    auto count_cancel = [&cancels] { ++cancels; };
    auto h = goro::spawn([&]() -> goro::task<goro::shutdown::drain_result> {
      co_return co_await goro::shutdown::drain(g, kLong, count_cancel);
    });
    release.close();
    goro::shutdown::drain_result r = co_await std::move(h);
    EXPECT_TRUE(r.in_time);
    EXPECT_EQ(r.err, std::make_error_code(std::errc::io_error));
    EXPECT_EQ(cancels, 0);
    EXPECT_FALSE(ctx.err());
  });
}

TEST_P(Drain, ErrgroupCancelsAfterTheGracePeriod) {
  std::atomic<int> finished{0};
  rt().run([&]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    goro::errgroup g;
    for (int i = 0; i < 4; ++i) {
      g.go([ctx = ctx, &finished]() -> goro::task<goro::error> {
        (void)co_await ctx.done().recv();
        finished.fetch_add(1);
        co_return ctx.err();
      });
    }
    goro::shutdown::drain_result r = co_await goro::shutdown::drain(g, 1ms, cancel);
    EXPECT_FALSE(r.in_time);
    EXPECT_EQ(r.err, goro::canceled);
    EXPECT_EQ(finished.load(), 4);
    EXPECT_EQ(g.active(), 0);
  });
}

TEST_P(Drain, ErrgroupExceptionIsRethrown) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    g.go([]() -> goro::error { throw std::runtime_error("boom"); });
    auto nothing = [] {};
    bool thrown = false;
    try {
      goro::shutdown::drain_result r = co_await goro::shutdown::drain(g, kLong, nothing);
      (void)r;
    } catch (const std::runtime_error& e) {
      thrown = std::string(e.what()) == "boom";
    }
    EXPECT_TRUE(thrown);
  });
}

TEST_P(Drain, BlockingDrainFromAPlainThread) {
  std::atomic<int> finished{0};
  auto cc = goro::with_cancel(goro::background());  // not bindings: used in [&] lambdas
  auto& ctx = cc.ctx;
  auto& cancel = cc.cancel;
  goro::wait_group wg;
  auto release = goro::make_chan<void>();
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < 4; ++i) wg.go(until_cancelled, ctx, &finished);
    co_return;
  });
  goro::shutdown::drain_result r = goro::shutdown::blocking_drain(wg, 1ms, cancel);
  EXPECT_FALSE(r.in_time);
  EXPECT_EQ(finished.load(), 4);

  int cancels = 0;
  auto count_cancel = [&cancels] { ++cancels; };
  rt().run([&]() -> goro::task<> {
    wg.go(until_released, goro::receiver<void>(release), &finished);
    co_return;
  });
  std::thread closer([&] { release.close(); });
  r = goro::shutdown::blocking_drain(wg, kLong, count_cancel);
  closer.join();
  EXPECT_TRUE(r.in_time);
  EXPECT_EQ(cancels, 0);
  EXPECT_EQ(finished.load(), 5);

  goro::errgroup g;
  auto [gctx, gcancel] = goro::with_cancel(goro::background());
  g.go([gctx = gctx]() -> goro::task<goro::error> {
    (void)co_await gctx.done().recv();
    co_return goro::error{};
  });
  r = goro::shutdown::blocking_drain(g, 1ms, gcancel);
  EXPECT_FALSE(r.in_time);
  EXPECT_FALSE(r.err);
}

}  // namespace

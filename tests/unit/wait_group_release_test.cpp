// wait_group's pending release (wait_group.hpp, the state comment): done()
// is one fetch_add, and the one that makes the counter zero while waiters
// are queued still has to take the lock and wake them. These tests hold
// that done() between its fetch_add and the lock (a test seam) and check
// what the rest of the group does meanwhile:
//  * a waiter that arrives queues and is woken by that release (returning
//    at once would let it free the group under the release);
//  * an add() waits for the release before it counts up (counting up first
//    would leave the queued waiters asleep on a zero that came and went);
//  * a waiter whose context is done meanwhile still sees the zero (a
//    counter found at zero wins over a done context), whether it was
//    queued already or arrives with its context done.
#include <atomic>
#include <system_error>
#include <thread>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "goro_test.hpp"
#include "scheduler_testing.hpp"

namespace {

namespace seams = goro::detail::testing;
using goro_test::RuntimeTest;
using goro_test::spin_until;

// Only the test's own threads stop or report in the seam: it is
// process-wide.
thread_local bool tl_releaser = false;
thread_local bool tl_adder = false;
std::atomic<bool> g_held{false};     // the releaser is in the window
std::atomic<bool> g_go_on{false};    // let it take the lock
std::atomic<bool> g_add_waited{false};

void seam(bool adder) {
  if (adder) {
    if (tl_adder) g_add_waited = true;
    return;
  }
  if (!tl_releaser) return;
  g_held = true;
  EXPECT_TRUE(spin_until([] { return g_go_on.load(); }));
}

class WaitGroupRelease : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    g_held = false;
    g_go_on = false;
    g_add_waited = false;
    seams::set_wait_group_release_seam(seam);
  }
  void TearDown() override {
    seams::set_wait_group_release_seam(nullptr);
    RuntimeTest::TearDown();
  }
  // Calls wg.done() on a thread of its own and returns once that done() is
  // held in the pending release (the caller joins the thread).
  static std::thread release_held(goro::wait_group& wg) {
    std::thread t([&wg] {
      tl_releaser = true;
      wg.done();
    });
    EXPECT_TRUE(spin_until([] { return g_held.load(); }));
    return t;
  }
};
GORO_INSTANTIATE_WORKERS(WaitGroupRelease);

TEST_P(WaitGroupRelease, AWaiterArrivingDuringThePendingReleaseIsWokenByIt) {
  goro::wait_group wg;
  wg.add(1);
  std::atomic<bool> first_done{false}, second_done{false};
  auto first = rt().spawn([&]() -> goro::task<> {
    co_await wg.wait();
    first_done = true;
  });
  ASSERT_TRUE(goro_test::wait_parked(rt(), 1));
  std::thread releaser = release_held(wg);

  EXPECT_EQ(wg.count(), 0);  // the zero is there; its wake is not yet
  auto second = rt().spawn([&]() -> goro::task<> {
    co_await wg.wait();
    second_done = true;
  });
  // The second waiter parks: it must not return before the release is done.
  EXPECT_TRUE(spin_until([&] { return second_done.load() || goro_test::parked(rt()) >= 2; }));
  EXPECT_FALSE(second_done.load());
  EXPECT_FALSE(first_done.load());

  g_go_on = true;
  releaser.join();
  std::move(first).join();
  std::move(second).join();
  EXPECT_TRUE(first_done.load());
  EXPECT_TRUE(second_done.load());
}

TEST_P(WaitGroupRelease, AnAddWaitsForThePendingReleaseBeforeItCountsUp) {
  goro::wait_group wg;
  wg.add(1);
  std::atomic<bool> first_done{false};
  auto first = rt().spawn([&]() -> goro::task<> {
    co_await wg.wait();
    first_done = true;
  });
  ASSERT_TRUE(goro_test::wait_parked(rt(), 1));
  std::thread releaser = release_held(wg);

  std::atomic<bool> added{false};
  std::thread adder([&] {
    tl_adder = true;
    wg.add(1);  // a new round: may count up only after the old one's wake
    added = true;
  });
  EXPECT_TRUE(spin_until([] { return g_add_waited.load(); }))
      << "add() counted up over a pending release";
  EXPECT_FALSE(added.load());

  g_go_on = true;
  releaser.join();
  adder.join();
  EXPECT_EQ(wg.count(), 1);
  std::move(first).join();  // woken by the old round's zero, not left asleep
  EXPECT_TRUE(first_done.load());
  if (wg.count() == 1) {  // else the release wiped the add out: already failed above
    wg.done();
    wg.blocking_wait();
  }
}

TEST_P(WaitGroupRelease, AContextDoneDuringThePendingReleaseLosesToTheZero) {
  goro::wait_group wg;
  wg.add(1);
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto waiter = rt().spawn([&]() -> goro::task<std::error_code> {
    co_return co_await wg.wait(ctx_cancel.ctx);
  });
  ASSERT_TRUE(goro_test::wait_parked(rt(), 1));
  std::thread releaser = release_held(wg);
  ctx_cancel.cancel();  // runs the waiter's hook here, while the zero is pending
  g_go_on = true;
  releaser.join();
  EXPECT_EQ(std::move(waiter).join(), std::error_code{}) << "the counter reached zero first";
}

TEST_P(WaitGroupRelease, AWaitWithADoneContextDuringThePendingReleaseSeesTheZero) {
  goro::wait_group wg;
  wg.add(1);
  auto first = rt().spawn([&]() -> goro::task<> { co_await wg.wait(); });
  ASSERT_TRUE(goro_test::wait_parked(rt(), 1));
  std::thread releaser = release_held(wg);
  auto done_ctx = goro::with_cancel(goro::background());
  done_ctx.cancel();
  std::error_code got = goro::canceled;
  std::thread waiter([&] {
    tl_adder = true;  // reports in the seam when it waits for the release
    got = wg.blocking_wait(done_ctx.ctx);
  });
  EXPECT_TRUE(spin_until([] { return g_add_waited.load(); }))
      << "the wait returned its context's error over a zero";
  g_go_on = true;
  releaser.join();
  waiter.join();
  EXPECT_EQ(got, std::error_code{});
  std::move(first).join();
}

// Adds and done()s from several goroutines racing waiters with and without
// contexts: an add now often meets a pending release and waits for it.
// Every wait returns (each at some zero, or with its context's error), and
// the group ends at zero. A sanitizer smoke test of the rules above: their
// failures show as hangs (the leak check's grace), lost counts, or reports.
TEST_P(WaitGroupRelease, AddsAndDonesRacingWaiters) {
  seams::set_wait_group_release_seam(nullptr);
  const int rounds = goro_test::scaled(20000);
  goro::wait_group wg;
  std::atomic<bool> stop{false};
  std::atomic<int> waits{0};
  rt().run([&]() -> goro::task<> {
    goro::wait_group all;
    for (int a = 0; a < 2; ++a) all.go([&]() -> goro::task<> {
      for (int i = 0; i < rounds; ++i) {
        wg.add(1);
        if (i % 7 == 0) co_await goro::yield();
        wg.done();
      }
    });
    goro::wait_group waiters;
    // Each waiter waits at least once (do-while): with few rounds (the
    // sanitizer builds scale them down) the adders could finish before a
    // waiter's first look at `stop`, and the test then checked nothing
    // (it failed once so in CI: waits == 0).
    for (int w = 0; w < 2; ++w) waiters.go([&, w]() -> goro::task<> {
      do {
        if (w == 0) {
          co_await wg.wait();
        } else {
          auto c = goro::with_cancel(goro::background());
          if (waits.load() % 2) c.cancel();
          std::error_code ec = co_await wg.wait(c.ctx);
          EXPECT_TRUE(!ec || ec == goro::canceled) << ec.message();
        }
        waits.fetch_add(1);
        co_await goro::yield();
      } while (!stop.load());
    });
    co_await all.wait();
    EXPECT_EQ(wg.count(), 0);
    stop = true;
    co_await waiters.wait();  // the counter is zero: every wait returns
  });
  EXPECT_GT(waits.load(), 0);
  EXPECT_EQ(wg.count(), 0);
}

}  // namespace

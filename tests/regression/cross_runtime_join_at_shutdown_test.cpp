// Regression: joining a goroutine of another runtime across a shutdown.
//
// 1. A goroutine of runtime A parked in `co_await handle` on a goroutine of
//    runtime B was torn down (A shut down) while B's goroutine, finishing
//    on B's worker, had published kDone but not yet woken it: the teardown
//    freed the joiner, and the wake's ready() read freed memory.
// 2. A goroutine of runtime A joining a goroutine of runtime B when B shut
//    down first was never woken (~runtime woke only threads blocked in
//    join()), so it waited forever.
// Found by review (the wake protocol's "not covered" list). Fixed: the join
// state has kWoken, the waker's last touch of a goroutine joiner, which the
// joiner waits for on resume and at teardown; a joiner torn down before the
// goroutine finished takes kWaiter back; ~runtime wakes goroutine joiners
// too (runtime.hpp, join state; docs/design/wake_protocol.md).
//
// Case 1 holds B's worker inside the window with the seams of
// src/scheduler_testing.hpp. The spin bounds are hang guards, never timing
// assertions.
#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "goro_test.hpp"
#include "scheduler_testing.hpp"

namespace {

namespace seams = goro::detail::testing;
using goro_test::spin_until;

std::atomic<bool> g_armed{false};
std::atomic<bool> g_in_window{false};
std::atomic<bool> g_in_flight_seen{false};
std::atomic<bool> g_runtime_gone{false};
thread_local bool tl_main = false;

// Holds the first waker other than the test's own thread.
void hold_waker() {
  if (tl_main || !g_armed.exchange(false)) return;
  g_in_window = true;
  spin_until([] { return g_in_flight_seen.load() || g_runtime_gone.load(); });
}
// Only the teardown counts (it runs on the test's thread, in ~runtime): a
// goroutine resumed on a worker also waits for its waker's last touch, and
// the joined goroutine does so when our send wakes it.
void note_in_flight() {
  if (tl_main) g_in_flight_seen = true;
}

std::unique_ptr<goro::runtime> quiet_runtime(std::size_t* alive) {
  goro::runtime_options o;
  o.workers = 1;
  o.on_shutdown_alive = [alive](const std::vector<goro::goroutine_info>& a) {
    *alive = a.size();
  };
  return std::make_unique<goro::runtime>(o);
}

TEST(CrossRuntimeJoinAtShutdown, JoinerTornDownWhileTheJoinedGoroutineWakesIt) {
  tl_main = true;
  g_armed = false;
  g_in_window = false;
  g_in_flight_seen = false;
  g_runtime_gone = false;
  std::size_t alive_a = 0, alive_b = 0;
  auto rt_b = quiet_runtime(&alive_b);
  auto rt_a = quiet_runtime(&alive_a);
  auto go_on = goro::make_chan<int>();
  auto joined = rt_b->spawn([go_on]() -> goro::task<int> {
    co_return *co_await go_on.recv();
  });
  EXPECT_TRUE(goro_test::wait_parked(*rt_b, 1));
  rt_a->go([h = std::move(joined)]() mutable -> goro::task<> { (void)co_await std::move(h); });
  EXPECT_TRUE(goro_test::wait_parked(*rt_a, 1));

  seams::set_wake_seams(hold_waker, note_in_flight);
  g_armed = true;
  // Our own send wakes the joined goroutine (not held: tl_main); it then
  // finishes on B's worker, which is held just before it wakes the joiner.
  EXPECT_EQ(go_on.blocking_send(42), goro::send_status::ok);
  EXPECT_TRUE(spin_until([] { return g_in_window.load(); }));
  rt_a.reset();  // tears the joiner down under that wake
  g_runtime_gone = true;
  rt_b.reset();
  seams::set_wake_seams(nullptr, nullptr);
  EXPECT_TRUE(g_in_flight_seen.load()) << "the joiner's teardown did not wait for its wake";
  EXPECT_EQ(alive_a, 1u);
  EXPECT_EQ(alive_b, 0u);
}

TEST(CrossRuntimeJoinAtShutdown, JoinerOfAGoroutineWhoseRuntimeShutsDownIsWoken) {
  std::size_t alive_a = 0, alive_b = 0;
  auto rt_b = quiet_runtime(&alive_b);
  auto rt_a = quiet_runtime(&alive_a);
  auto never = goro::make_chan<int>();
  auto joined = rt_b->spawn([never]() -> goro::task<> { (void)co_await never.recv(); });
  EXPECT_TRUE(goro_test::wait_parked(*rt_b, 1));
  std::atomic<bool> threw{false};
  auto joiner = rt_a->spawn([&threw, h = std::move(joined)]() mutable -> goro::task<> {
    try {
      co_await std::move(h);
    } catch (const std::runtime_error&) {
      threw = true;
    }
  });
  EXPECT_TRUE(goro_test::wait_parked(*rt_a, 1));
  rt_b.reset();  // the joined goroutine is destroyed: its joiner must learn it
  EXPECT_EQ(alive_b, 1u);
  const bool woken = spin_until([&] { return threw.load(); });
  EXPECT_TRUE(woken) << "the join did not throw after its goroutine's runtime shut down";
  if (woken) std::move(joiner).join();
  rt_a.reset();
  EXPECT_EQ(alive_a, woken ? 0u : 1u);
}

}  // namespace

// Regression: a leak check's wait (runtime_impl::wait_until_only, behind
// goro::testing::leak_check) raised quiet_threshold to its baseline's size
// under quiet_mu, but counted itself in quiet_waiters only after releasing
// it. Another leak check leaving in between found the count back at 1 and
// reset the threshold to 0, so removals that brought the runtime down to
// the baseline did not wake the first check: it slept until its timeout.
// Found by review in session 22.
//
// Fixed: the threshold and the count change under one lock. Here a first
// wait (baseline empty, 500 ms) is registered; the second (baseline: one
// goroutine) registers, and its seam holds it until the first has timed
// out and left; then the goroutine outside the baseline ends. With the fix
// the second wait is woken and returns at once; without it, it would sleep
// its whole timeout (an hour: ctest's time limit fails the test). The
// 500 ms is only how the first wait leaves, never what the test waits for;
// if this thread were later than that, the test would pass without
// exercising the race. To see it fail, the seam must sit where the gap was
// (between raising the threshold and counting the waiter): a revert that
// leaves the seam after the count passes.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "goro_test.hpp"
#include "runtime_impl.hpp"
#include "scheduler_testing.hpp"

namespace {

namespace seams = goro::detail::testing;
using goro_test::spin_until;

std::atomic<bool> g_first_waiting{false};
std::atomic<bool> g_second_waiting{false};
std::thread* g_first = nullptr;
goro::chan<int>* g_end_second = nullptr;
thread_local bool tl_main = false;

void on_wait_blocked() {
  if (!tl_main) {
    g_first_waiting.store(true);
  } else if (!g_second_waiting.exchange(true)) {
    g_end_second->close();  // the goroutine outside the baseline ends now
  }
}
void on_registered() {
  if (tl_main) g_first->join();  // the first wait times out and leaves
}

TEST(LeakCheckThresholdReset, ASecondLeakCheckIsWokenAfterTheFirstLeaves) {
  goro::runtime_options o;
  o.workers = 1;
  goro::runtime rt(o);
  auto keep = goro::make_chan<int>(0);
  auto end = goro::make_chan<int>(0);
  g_end_second = &end;
  rt.go([keep]() -> goro::task<> { (void)co_await keep.recv(); });
  rt.go([end]() -> goro::task<> { (void)co_await end.recv(); });
  ASSERT_TRUE(goro_test::wait_parked(rt, 2));
  std::vector<std::uint64_t> ids;
  for (const auto& g : rt.goroutines()) ids.push_back(g.id);
  ASSERT_EQ(ids.size(), 2u);
  const std::vector<std::uint64_t> baseline{std::min(ids[0], ids[1])};  // `keep`'s, spawned first

  tl_main = true;
  g_first_waiting = g_second_waiting = false;
  seams::set_pending_report_seams(nullptr, on_wait_blocked);
  bool first_quiet = true;
  std::thread first([&] {
    first_quiet = rt.impl()->wait_until_only({}, std::chrono::milliseconds(500));
  });
  g_first = &first;
  if (!spin_until([] { return g_first_waiting.load(); })) {
    first.join();
    FAIL() << "the first wait never blocked";
  }
  seams::set_quiet_register_seam(on_registered);
  const bool second_quiet = rt.impl()->wait_until_only(baseline, std::chrono::hours(1));
  seams::set_quiet_register_seam(nullptr);
  seams::set_pending_report_seams(nullptr, nullptr);
  tl_main = false;

  EXPECT_FALSE(first_quiet);  // it left on its timeout, with two alive
  EXPECT_TRUE(second_quiet);
  EXPECT_TRUE(g_second_waiting.load());
  keep.close();
  EXPECT_TRUE(rt.wait_no_goroutines(std::chrono::seconds(30)));
}

}  // namespace

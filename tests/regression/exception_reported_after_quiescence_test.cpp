// Regression: a join_handle dropped while its goroutine was ending with an
// exception left the report to the goroutine's worker, which made it after
// the goroutine had left the registry: wait_no_goroutines (and a leak check)
// could return before the uncaught-exception handler ran, although a
// runtime found quiet is documented to have run every handler its workers
// owe. Found in session 21 while writing JoinDropStress.
//
// Fixed (goroutine_finished, runtime_impl::reports_pending): a worker that
// may still have to report counts as pending from before it leaves the
// registry until it knows, and the quiescence waits wait for no pending
// report as well as no live goroutine.
//
// In real runs the window is a few instructions wide; the seams of
// src/scheduler_testing.hpp hold the worker in it while this thread drops
// the handle and starts the wait. Without the fix the wait returns at once
// and the count read after it is 0; with it the wait blocks (its seam runs),
// the worker goes on and reports, and the count is 1. The spin bounds are
// hang guards, never timing assertions.
#include <atomic>
#include <stdexcept>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "goro_test.hpp"
#include "scheduler_testing.hpp"

namespace {

namespace seams = goro::detail::testing;
using goro_test::spin_until;

std::atomic<bool> g_in_window{false};
std::atomic<bool> g_dropped{false};
std::atomic<bool> g_wait_blocked{false};
std::atomic<bool> g_wait_returned{false};

void hold_worker() {
  g_in_window.store(true);
  spin_until([] { return g_dropped.load(); });
  // With the fix the wait cannot return before we go on, and says it is
  // blocked; without it, it returns first.
  spin_until([] { return g_wait_blocked.load() || g_wait_returned.load(); });
}
void note_wait_blocked() {
  if (g_dropped.load()) g_wait_blocked.store(true);
}

class ExceptionReportedAfterQuiescence : public goro_test::UncaughtCountingTest {};

TEST_P(ExceptionReportedAfterQuiescence, WaitNoGoroutinesWaitsForTheWorkersReport) {
  g_in_window = g_dropped = g_wait_blocked = g_wait_returned = false;
  seams::set_pending_report_seams(hold_worker, note_wait_blocked);
  {
    auto h = rt().spawn([]() -> goro::task<int> {
      throw std::runtime_error("unobserved");
      co_return 0;
    });
    ASSERT_TRUE(spin_until([] { return g_in_window.load(); }));
    // Dropped unjoined while the goroutine ends: the worker reports.
  }
  g_dropped.store(true);
  const bool quiet = rt().wait_no_goroutines(std::chrono::seconds(30));
  const int reported_after_wait = reported();
  g_wait_returned.store(true);
  seams::set_pending_report_seams(nullptr, nullptr);
  EXPECT_TRUE(quiet);
  EXPECT_EQ(reported_after_wait, 1);
  EXPECT_TRUE(g_wait_blocked.load());
}

GORO_INSTANTIATE_WORKERS(ExceptionReportedAfterQuiescence);

}  // namespace

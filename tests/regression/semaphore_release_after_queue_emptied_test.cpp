// Regression: a semaphore release that found waiters queued (so took the
// lock to return its permits) gave them back even when the queue had
// emptied by the time it held the lock. With nobody queued, an acquirer
// needs no lock: it could take every permit while the releaser was still
// inside release() (admitting, unlocking), conclude that every other party
// was done, and destroy the semaphore under it. Found by review of the
// lock-free fast paths (session 22) before they shipped.
//
// Fixed (semaphore.cpp, release_slow): holding the lock, the release gives
// its permits back only if somebody is still queued, else it goes back to
// the lock-free CAS, which is then its last access.
//
// The seam holds a release between seeing the waiter and taking the lock
// while the waiter gives up (its context is cancelled) and the other
// holder releases; then, if the release gives its permit back under the
// lock, the seam tries to take every permit from there, as the destroying
// party would. Nothing here depends on timing.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "goro_test.hpp"
#include "scheduler_testing.hpp"

namespace {

namespace seams = goro::detail::testing;
using goro_test::spin_until;

goro::semaphore* g_sem = nullptr;
goro::cancel_func* g_cancel_waiter = nullptr;
std::thread* g_waiter = nullptr;
thread_local bool tl_releaser = false;
std::atomic<bool> g_saw_waiter{false};
std::atomic<bool> g_all_taken_inside{false};

void hold_release(bool returned) {
  if (!tl_releaser) return;
  if (!returned) {
    g_saw_waiter.store(true);
    (*g_cancel_waiter)();  // the waiter gives up: the queue is empty
    g_waiter->join();
    g_sem->release(1);  // the other holder: lock-free, nobody queued
    return;
  }
  // The permit is back while this release is still inside the semaphore.
  if (g_sem->try_acquire(2)) {
    g_all_taken_inside.store(true);  // a last user would destroy it now
    g_sem->release(2);
  }
}

// Ends the waiter on every path out of the test (a failed ASSERT, a
// release that never reached the seam): cancels it, then joins it.
struct joined {
  goro::cancel_func& cancel;
  std::thread& t;
  ~joined() {
    if (!t.joinable()) return;
    cancel();
    t.join();
  }
};

TEST(SemaphoreReleaseAfterQueueEmptied, NobodyTakesEveryPermitWhileAReleaseIsInside) {
  goro::semaphore sem(2);
  g_sem = &sem;
  g_saw_waiter = g_all_taken_inside = false;
  ASSERT_TRUE(sem.try_acquire(2));  // two holders of one permit each
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  g_cancel_waiter = &cancel;
  goro::acquire_status waited = goro::acquire_status::ok;
  std::thread waiter([&, c = ctx] { waited = sem.blocking_acquire(c, 1); });
  g_waiter = &waiter;
  const joined join_waiter{cancel, waiter};
  ASSERT_TRUE(spin_until([&] { return !sem.try_acquire(0); }));  // try_acquire(0) fails while queued
  seams::set_semaphore_release_seam(hold_release);
  std::thread releaser([] {
    tl_releaser = true;
    g_sem->release(1);
  });
  releaser.join();
  seams::set_semaphore_release_seam(nullptr);
  EXPECT_TRUE(g_saw_waiter.load());
  EXPECT_EQ(waited, goro::acquire_status::canceled);
  EXPECT_FALSE(g_all_taken_inside.load())
      << "every permit could be taken while a release was still inside the semaphore";
  EXPECT_EQ(sem.held(), 0);
}

}  // namespace

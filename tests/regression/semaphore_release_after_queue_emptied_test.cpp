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
// while the waiter times out and the other holder releases; then, if the
// release gives its permit back under the lock, the seam tries to take
// every permit from there, as the destroying party would. The waiter's
// 20 ms deadline is only how the queue empties, never what the test waits
// for.
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "goro_test.hpp"
#include "scheduler_testing.hpp"

namespace {

namespace seams = goro::detail::testing;
using goro_test::spin_until;

goro::semaphore* g_sem = nullptr;
std::thread* g_waiter = nullptr;
thread_local bool tl_releaser = false;
std::atomic<bool> g_saw_waiter{false};
std::atomic<bool> g_all_taken_inside{false};

void hold_release(bool returned) {
  if (!tl_releaser) return;
  if (!returned) {
    g_saw_waiter.store(true);
    g_waiter->join();   // its deadline passes: the queue is empty
    g_sem->release(1);  // the other holder: lock-free, nobody queued
    return;
  }
  // The permit is back while this release is still inside the semaphore.
  if (g_sem->try_acquire(2)) {
    g_all_taken_inside.store(true);  // a last user would destroy it now
    g_sem->release(2);
  }
}

TEST(SemaphoreReleaseAfterQueueEmptied, NobodyTakesEveryPermitWhileAReleaseIsInside) {
  goro::semaphore sem(2);
  g_sem = &sem;
  ASSERT_TRUE(sem.try_acquire(2));  // two holders of one permit each
  goro::acquire_status waited = goro::acquire_status::ok;
  std::thread waiter([&] { waited = sem.blocking_acquire_for(1, std::chrono::milliseconds(20)); });
  g_waiter = &waiter;
  ASSERT_TRUE(spin_until([&] { return !sem.try_acquire(0); }));  // queued (try_acquire(0) fails)
  seams::set_semaphore_release_seam(hold_release);
  std::thread releaser([] {
    tl_releaser = true;
    g_sem->release(1);
  });
  releaser.join();
  seams::set_semaphore_release_seam(nullptr);
  EXPECT_TRUE(g_saw_waiter.load());
  EXPECT_EQ(waited, goro::acquire_status::timeout);
  EXPECT_FALSE(g_all_taken_inside.load())
      << "every permit could be taken while a release was still inside the semaphore";
  EXPECT_EQ(sem.held(), 0);
}

}  // namespace

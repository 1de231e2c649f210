// Death tests: misuse of the sync primitives must abort with a clear message
// (Go: "fatal error: sync: unlock of unlocked mutex", x/sync's panics).
// Includes Go's TestMutexMisuse cases (sync/mutex_test.go misuseTests).
//
// "threadsafe" death tests re-execute the binary for each death statement.
#include <mutex>
#include <shared_mutex>
#include <string>

#include "goro_test.hpp"

namespace {

class SyncDeath : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

goro::runtime_options two_workers() {
  goro::runtime_options o;
  o.workers = 2;
  return o;
}

// ---- Go's misuseTests ----------------------------------------------------------

TEST_F(SyncDeath, MutexUnlock) {
  EXPECT_DEATH(
      {
        goro::mutex mu;
        mu.unlock();
      },
      "goro::mutex: unlock of unlocked mutex");
}

TEST_F(SyncDeath, MutexUnlock2) {
  EXPECT_DEATH(
      {
        goro::mutex mu;
        mu.blocking_lock();
        mu.unlock();
        mu.unlock();
      },
      "goro::mutex: unlock of unlocked mutex");
}

TEST_F(SyncDeath, MutexUnlockWithWaitersQueued) {
  // The slow path checks too: a waiter is queued, and a bogus unlock comes
  // right after the real one (one worker: the woken waiter cannot run and
  // take the mutex in between).
  EXPECT_DEATH(
      {
        goro::runtime_options o;
        o.workers = 1;
        goro::runtime rt(o);
        goro::mutex mu;
        rt.run([&]() -> goro::task<> {
          co_await mu.lock();
          goro::go([&]() -> goro::task<> { co_await mu.lock(); });
          auto waiter_parked = [&] {
            for (const auto& g : rt.goroutines())
              if (g.wait_reason != nullptr && std::string(g.wait_reason) == "mutex.lock") return true;
            return false;
          };
          while (!waiter_parked()) co_await goro::yield();
          mu.unlock();
          mu.unlock();
        });
      },
      "unlock of unlocked mutex");
}

TEST_F(SyncDeath, RWMutexUnlock) {
  EXPECT_DEATH(
      {
        goro::rw_mutex mu;
        mu.unlock();
      },
      "goro::rw_mutex: unlock of an rw_mutex that is not write-locked");
}

TEST_F(SyncDeath, RWMutexUnlock2) {
  EXPECT_DEATH(
      {
        goro::rw_mutex mu;
        mu.blocking_lock_shared();
        mu.unlock();
      },
      "goro::rw_mutex: unlock of an rw_mutex that is not write-locked");
}

TEST_F(SyncDeath, RWMutexUnlock3) {
  EXPECT_DEATH(
      {
        goro::rw_mutex mu;
        mu.blocking_lock();
        mu.unlock();
        mu.unlock();
      },
      "not write-locked");
}

TEST_F(SyncDeath, RWMutexRUnlock) {
  EXPECT_DEATH(
      {
        goro::rw_mutex mu;
        mu.unlock_shared();
      },
      "goro::rw_mutex: unlock_shared of an rw_mutex that is not read-locked");
}

TEST_F(SyncDeath, RWMutexRUnlock2) {
  EXPECT_DEATH(
      {
        goro::rw_mutex mu;
        mu.blocking_lock();
        mu.unlock_shared();
      },
      "unlock_shared of an rw_mutex that is not read-locked");
}

TEST_F(SyncDeath, RWMutexRUnlock3) {
  EXPECT_DEATH(
      {
        goro::rw_mutex mu;
        mu.blocking_lock_shared();
        mu.unlock_shared();
        mu.unlock_shared();
      },
      "unlock_shared of an rw_mutex that is not read-locked");
}

// ---- goro-specific misuse ------------------------------------------------------

TEST_F(SyncDeath, StdLockGuardOnGoroMutex) {
  // std::lock_guard calls lock() and drops the awaitable: nothing would be
  // locked. The dropped awaitable aborts instead of passing silently.
  EXPECT_DEATH(
      {
        goro::mutex mu;
        std::lock_guard<goro::mutex> g(mu);
      },
      "goro::mutex::lock\\(\\) result was not co_awaited");
  EXPECT_DEATH(
      {
        goro::rw_mutex mu;
        std::shared_lock<goro::rw_mutex> g(mu);
      },
      "goro::rw_mutex lock\\(\\)/lock_shared\\(\\) result was not co_awaited");
}

TEST_F(SyncDeath, BlockingLockInsideGoroutine) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        goro::mutex mu;
        rt.run([&]() -> goro::task<> {
          mu.blocking_lock();
          co_return;
        });
      },
      "goro::mutex::blocking_lock\\(\\) blocks the thread; inside a goroutine use co_await");
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        goro::rw_mutex mu;
        rt.run([&]() -> goro::task<> {
          mu.blocking_lock_shared();
          co_return;
        });
      },
      "blocks the thread; inside a goroutine use co_await");
}

TEST_F(SyncDeath, BlockingSemaphoreAndOnceInsideGoroutine) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        goro::semaphore sem(1);
        rt.run([&]() -> goro::task<> {
          (void)sem.blocking_acquire(1);
          co_return;
        });
      },
      "goro::semaphore: a blocking_ acquire was called inside a goroutine");
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        goro::once once;
        rt.run([&]() -> goro::task<> {
          once.blocking_call([] {});
          co_return;
        });
      },
      "goro::once: a blocking_ call was made inside a goroutine");
}

TEST_F(SyncDeath, WaitGroupBlockingWaitInsideGoroutine) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        rt.run([]() -> goro::task<> {
          goro::wait_group wg;
          wg.blocking_wait();
          co_return;
        });
      },
      "goro::wait_group::blocking_wait\\(\\) blocks the thread; inside a goroutine use "
      "co_await wg.wait\\(\\)");
}

TEST_F(SyncDeath, CondWaitWithoutTheMutex) {
  // Go: c.Wait() without c.L held is "unlock of unlocked mutex".
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        goro::mutex mu;
        goro::cond cv(mu);
        rt.run([&]() -> goro::task<> { co_await cv.wait(); });
      },
      "goro::mutex: unlock of unlocked mutex");
  EXPECT_DEATH(
      {
        goro::mutex mu;
        goro::cond cv(mu);
        cv.blocking_wait();
      },
      "goro::mutex: unlock of unlocked mutex");
}

// ---- x/sync semaphore ----------------------------------------------------------

TEST_F(SyncDeath, SemaphoreReleasedMoreThanHeld) {
  // x/sync TestWeightedPanic: release of an unacquired weighted semaphore.
  EXPECT_DEATH(
      {
        goro::semaphore sem(1);
        sem.release(1);
      },
      "goro::semaphore: released more than held");
  EXPECT_DEATH(
      {
        goro::semaphore sem(4);
        if (sem.try_acquire(2)) sem.release(3);
      },
      "released more than held");
}

TEST_F(SyncDeath, SemaphoreNegativeWeight) {
  EXPECT_DEATH(
      {
        goro::semaphore sem(4);
        (void)sem.try_acquire(-1);
      },
      "goro::semaphore: negative weight");
  EXPECT_DEATH(
      {
        goro::semaphore sem(4);
        sem.release(-1);
      },
      "goro::semaphore: negative weight");
}

}  // namespace

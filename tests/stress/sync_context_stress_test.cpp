// Stress tests for the context-aware waits: cancellations racing grants.
//  * mutex::lock(ctx): goroutines lock with short-lived contexts that other
//    goroutines cancel at random moments, beside goroutines using plain
//    lock(); never two inside, every successful lock counted, and nobody is
//    left queued (a cancelled waiter that an unlock had woken must pass the
//    wake-up on, or a plain waiter would hang — the bounded wait catches it);
//  * semaphore::acquire(ctx, n): weights never exceed the size, no permit
//    is lost (held() is 0 at the end), with the same cancel races.
#include <atomic>
#include <chrono>
#include <random>

#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class SyncContextStress : public RuntimeTest {
 protected:
  template <class F>
  void run_bounded(F body, std::chrono::seconds limit = 120s) {
    auto h = rt().spawn(std::move(body));
    ASSERT_TRUE(rt().wait_no_goroutines(limit)) << "hung: " << rt().live_goroutines() << " goroutines left";
    std::move(h).join();
  }
};
GORO_INSTANTIATE_WORKERS(SyncContextStress);

TEST_P(SyncContextStress, MutexLockCtxRacingCancels) {
  goro::mutex mu;
  std::atomic<int> inside{0}, locked{0}, canceled{0};
  long counter = 0;
  const int per = scaled(3000);
  run_bounded([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < 6; ++g) {
      wg.go([&](int seed) -> goro::task<> {
        std::minstd_rand rng(static_cast<unsigned>(seed));
        for (int i = 0; i < per; ++i) {
          auto ctx_cancel = goro::with_cancel(goro::background());
          auto& ctx = ctx_cancel.ctx;
          auto& cancel = ctx_cancel.cancel;
          goro::go(goro_test::cancel_after_yields, std::move(cancel), static_cast<unsigned>(rng() % 4));
          std::error_code ec = co_await mu.lock(ctx);
          if (ec) {
            canceled.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          EXPECT_EQ(inside.fetch_add(1), 0);
          ++counter;
          locked.fetch_add(1, std::memory_order_relaxed);
          if (i % 2 == 0) co_await goro::yield();  // hold it while others queue
          inside.fetch_sub(1);
          mu.unlock();
        }
      }, g + 1);
    }
    for (int g = 0; g < 2; ++g) {  // plain waiters: they hang if a wake-up is lost
      wg.go([&]() -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          co_await mu.lock();
          EXPECT_EQ(inside.fetch_add(1), 0);
          ++counter;
          locked.fetch_add(1, std::memory_order_relaxed);
          if (i % 2 == 0) co_await goro::yield();  // hold it while others queue
          inside.fetch_sub(1);
          mu.unlock();
        }
      });
    }
    co_await wg.wait();
  });
  EXPECT_EQ(counter, locked.load());
  EXPECT_EQ(locked.load() + canceled.load(), 8 * per);
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST_P(SyncContextStress, SemaphoreAcquireCtxRacingCancels) {
  goro::semaphore sem(3);
  std::atomic<std::int64_t> in_use{0};
  std::atomic<int> bad{0};
  const int per = scaled(3000);
  run_bounded([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < 8; ++g) {
      wg.go([&](int seed) -> goro::task<> {
        std::minstd_rand rng(static_cast<unsigned>(seed));
        for (int i = 0; i < per; ++i) {
          const std::int64_t n = 1 + static_cast<std::int64_t>(rng() % 3);
          auto ctx_cancel = goro::with_cancel(goro::background());
          auto& ctx = ctx_cancel.ctx;
          auto& cancel = ctx_cancel.cancel;
          goro::go(goro_test::cancel_after_yields, std::move(cancel), static_cast<unsigned>(rng() % 4));
          goro::acquire_status st = co_await sem.acquire(ctx, n);
          if (st != goro::acquire_status::ok) {
            if (st != goro::acquire_status::canceled) bad.fetch_add(1);
            continue;
          }
          if (in_use.fetch_add(n) + n > 3) bad.fetch_add(1);
          co_await goro::yield();
          in_use.fetch_sub(n);
          sem.release(n);
        }
      }, g + 1);
    }
    co_await wg.wait();
  });
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(sem.held(), 0);
}

}  // namespace

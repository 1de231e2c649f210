// Unit tests: the context-aware waits of the sync primitives —
// semaphore::acquire(ctx, n), wait_group::wait(ctx), mutex::lock(ctx) — and
// the cancel hook they share (detail::ctx_hook). Each: returns at once on a
// done context, returns promptly with ctx.err() when the context is
// cancelled while it waits (the waiter leaves no trace: the primitive stays
// usable and the context holds no hook), succeeds normally otherwise, and
// the same from plain threads. "It waits" is checked with wait_parked, never
// with a sleep; cancel/grant races run many rounds with an exactness check.
#include <atomic>
#include <chrono>
#include <system_error>
#include <thread>
#include <vector>

#include "goro_test.hpp"
#include "ported/ported_util.hpp"

using namespace std::chrono_literals;
using goro_ported::wait_parked;
using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class SemaphoreCtx : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(SemaphoreCtx);

TEST_P(SemaphoreCtx, DoneContextFailsAtOnceEvenWithFreePermits) {
  goro::semaphore sem(2);
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  auto& cancel = ctx_cancel.cancel;
  cancel();
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(ctx, 1), goro::acquire_status::canceled);
    EXPECT_EQ(co_await sem.acquire(ctx, 3), goro::acquire_status::too_large);
  });
  EXPECT_EQ(sem.blocking_acquire(ctx, 1), goro::acquire_status::canceled);
  EXPECT_EQ(sem.held(), 0);
}

TEST_P(SemaphoreCtx, LiveAndBackgroundContextsAcquire) {
  goro::semaphore sem(2);
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(ctx, 1), goro::acquire_status::ok);
    EXPECT_EQ(co_await sem.acquire(goro::background(), 1), goro::acquire_status::ok);
  });
  EXPECT_EQ(sem.held(), 2);
  sem.release(2);
}

TEST_P(SemaphoreCtx, CancelWhileQueuedReturnsCanceledAndLeavesNoTrace) {
  goro::semaphore sem(1);
  goro::runtime& r = rt();
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  auto& cancel = ctx_cancel.cancel;
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(), goro::acquire_status::ok);
    auto h = goro::spawn(
        [&]() -> goro::task<goro::acquire_status> { co_return co_await sem.acquire(ctx, 1); });
    EXPECT_TRUE(co_await wait_parked(r, h.id()));
    cancel();
    EXPECT_EQ(co_await std::move(h), goro::acquire_status::canceled);
    EXPECT_EQ(ctx.err(), goro::canceled);
    sem.release();
    EXPECT_TRUE(sem.try_acquire(1));  // nobody is left in the queue
    sem.release();
  });
  EXPECT_EQ(sem.held(), 0);
}

TEST_P(SemaphoreCtx, DeadlineWhileQueued) {
  goro::semaphore sem(1);
  auto ctx_cancel = goro::with_timeout(goro::background(), 2ms);
  auto& ctx = ctx_cancel.ctx;
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(), goro::acquire_status::ok);
    EXPECT_EQ(co_await sem.acquire(ctx, 1), goro::acquire_status::canceled);
    EXPECT_EQ(ctx.err(), goro::deadline_exceeded);
    sem.release();
  });
}

TEST_P(SemaphoreCtx, CancelledHeadLetsTheOthersIn) {
  // x/sync TestAllocCancelDoesntStarve: a queued acquire(10) is cancelled;
  // the acquire(1) behind it must then be admitted.
  goro::semaphore sem(10);
  goro::runtime& r = rt();
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  auto& cancel = ctx_cancel.cancel;
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(1), goro::acquire_status::ok);
    auto big = goro::spawn(
        [&]() -> goro::task<goro::acquire_status> { co_return co_await sem.acquire(ctx, 10); });
    EXPECT_TRUE(co_await wait_parked(r, big.id()));
    auto small = goro::spawn(
        [&]() -> goro::task<goro::acquire_status> { co_return co_await sem.acquire(1); });
    EXPECT_TRUE(co_await wait_parked(r, small.id()));
    cancel();
    EXPECT_EQ(co_await std::move(big), goro::acquire_status::canceled);
    EXPECT_EQ(co_await std::move(small), goro::acquire_status::ok);
    EXPECT_EQ(sem.held(), 2);
    sem.release(2);
  });
}

TEST_P(SemaphoreCtx, BlockingAcquireFromThreadIsCancelled) {
  goro::semaphore sem(1);
  ASSERT_EQ(sem.blocking_acquire(), goro::acquire_status::ok);
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  auto& cancel = ctx_cancel.cancel;
  std::atomic<int> st{-1};
  std::thread t([&] { st = static_cast<int>(sem.blocking_acquire(ctx, 1)); });
  // Cancelling before or after the thread queues must both end its wait.
  cancel();
  t.join();
  EXPECT_EQ(st.load(), static_cast<int>(goro::acquire_status::canceled));
  sem.release();
  EXPECT_EQ(sem.held(), 0);
}

TEST_P(SemaphoreCtx, CancelRacingReleaseNeverLosesPermits) {
  // Each round: a waiter queues with a context; the holder releases while
  // another goroutine cancels. Either outcome is fine, but permits must add
  // up: held() is 0 at the end of every round.
  goro::semaphore sem(1);
  const int rounds = scaled(2000);
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < rounds; ++i) {
      EXPECT_EQ(co_await sem.acquire(), goro::acquire_status::ok);
      auto ctx_cancel = goro::with_cancel(goro::background());
      auto& ctx = ctx_cancel.ctx;
      auto& cancel = ctx_cancel.cancel;
      auto w = goro::spawn([&sem](goro::context c) -> goro::task<bool> {
        const bool ok = co_await sem.acquire(c, 1) == goro::acquire_status::ok;
        if (ok) sem.release();
        co_return ok;
      }, ctx);
      auto k = goro::spawn(goro_test::cancel_after_yields, std::move(cancel), 0u);
      sem.release();
      (void)co_await std::move(w);
      co_await std::move(k);
      EXPECT_EQ(sem.held(), 0);
    }
  });
}

class WaitGroupCtx : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(WaitGroupCtx);

TEST_P(WaitGroupCtx, ZeroCounterWinsOverDoneContext) {
  goro::wait_group wg;
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  auto& cancel = ctx_cancel.cancel;
  cancel();
  rt().run([&]() -> goro::task<> {
    EXPECT_FALSE(co_await wg.wait(ctx));
    wg.add(1);
    EXPECT_EQ(co_await wg.wait(ctx), goro::canceled);
    wg.done();
  });
  EXPECT_FALSE(wg.blocking_wait(ctx));
}

TEST_P(WaitGroupCtx, WaitsForTheCounter) {
  goro::wait_group wg;
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  std::atomic<int> n{0};
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < 8; ++i) wg.go([&] { n.fetch_add(1); });
    EXPECT_FALSE(co_await wg.wait(ctx));
    EXPECT_EQ(n.load(), 8);
  });
  EXPECT_FALSE(ctx.err());
}

TEST_P(WaitGroupCtx, CancelWhileWaiting) {
  goro::wait_group wg;
  goro::runtime& r = rt();
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  auto& cancel = ctx_cancel.cancel;
  wg.add(1);
  rt().run([&]() -> goro::task<> {
    auto a = goro::spawn([&]() -> goro::task<std::error_code> { co_return co_await wg.wait(ctx); });
    auto b = goro::spawn([&]() -> goro::task<> { co_await wg.wait(); });  // no context
    EXPECT_TRUE(co_await wait_parked(r, a.id(), b.id()));
    cancel();
    EXPECT_EQ(co_await std::move(a), goro::canceled);
    wg.done();  // the waiter without a context is still queued and released
    co_await std::move(b);
  });
}

// A waiter that gave up leaves the group's "waiters queued" bit set; the
// done() that reaches zero clears it (it takes the lock for nothing), so a
// later wait() returns at once instead of queueing behind a release that
// will never come. Bounded, so a regression fails instead of hanging.
TEST_P(WaitGroupCtx, AWaitGivenUpLeavesTheGroupUsable) {
  goro::wait_group wg;
  goro::runtime& r = rt();
  auto ctx_cancel = goro::with_cancel(goro::background());
  wg.add(1);
  rt().run([&]() -> goro::task<> {
    auto a = goro::spawn([&]() -> goro::task<std::error_code> {
      co_return co_await wg.wait(ctx_cancel.ctx);
    });
    EXPECT_TRUE(co_await wait_parked(r, a.id()));
    ctx_cancel.cancel();
    EXPECT_EQ(co_await std::move(a), goro::canceled);
    EXPECT_EQ(wg.count(), 1);
    wg.done();
    auto bound = goro::with_timeout(goro::background(), std::chrono::seconds(10));
    EXPECT_FALSE(co_await wg.wait(bound.ctx));  // at once: nothing pending
    wg.add(2);  // and the group counts again
    wg.done();
    wg.done();
    EXPECT_FALSE(co_await wg.wait(bound.ctx));
    EXPECT_EQ(wg.count(), 0);
  });
}

TEST_P(WaitGroupCtx, DeadlineFromAPlainThread) {
  goro::wait_group wg;
  wg.add(1);
  auto ctx_cancel = goro::with_timeout(goro::background(), 1ms);
  auto& ctx = ctx_cancel.ctx;
  EXPECT_EQ(wg.blocking_wait(ctx), goro::deadline_exceeded);
  wg.done();
  EXPECT_FALSE(wg.blocking_wait(ctx));
}

TEST_P(WaitGroupCtx, CancelRacingRelease) {
  const int rounds = scaled(2000);
  int released = 0, canceled = 0;
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < rounds; ++i) {
      goro::wait_group wg;
      wg.add(1);
      auto ctx_cancel = goro::with_cancel(goro::background());
      auto& ctx = ctx_cancel.ctx;
      auto& cancel = ctx_cancel.cancel;
      auto k = goro::spawn(goro_test::cancel_after_yields, std::move(cancel), 0u);
      auto d = goro::spawn([](goro::wait_group* g) -> goro::task<> {
        g->done();
        co_return;
      }, &wg);
      std::error_code ec = co_await wg.wait(ctx);
      if (ec) {
        EXPECT_EQ(ec, goro::canceled);
        ++canceled;
      } else {
        ++released;
      }
      co_await std::move(k);
      co_await std::move(d);
      co_await wg.wait();  // the group still works
      EXPECT_EQ(wg.count(), 0);
    }
  });
  EXPECT_EQ(released + canceled, rounds);
}

class MutexCtx : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(MutexCtx);

TEST_P(MutexCtx, DoneContextFailsAtOnceEvenWhenFree) {
  goro::mutex mu;
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  auto& cancel = ctx_cancel.cancel;
  cancel();
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await mu.lock(ctx), goro::canceled);
    EXPECT_TRUE(mu.try_lock());  // it was not taken
    mu.unlock();
  });
  EXPECT_EQ(mu.blocking_lock(ctx), goro::canceled);
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST_P(MutexCtx, LiveContextLocks) {
  goro::mutex mu;
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  rt().run([&]() -> goro::task<> {
    EXPECT_FALSE(co_await mu.lock(ctx));
    EXPECT_FALSE(mu.try_lock());
    mu.unlock();
  });
  EXPECT_FALSE(mu.blocking_lock(ctx));
  mu.unlock();
}

TEST_P(MutexCtx, CancelWhileQueuedLeavesTheMutexUsable) {
  goro::mutex mu;
  goro::runtime& r = rt();
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  auto& cancel = ctx_cancel.cancel;
  rt().run([&]() -> goro::task<> {
    co_await mu.lock();
    auto a = goro::spawn([&]() -> goro::task<std::error_code> { co_return co_await mu.lock(ctx); });
    auto b = goro::spawn([&]() -> goro::task<> {  // a plain waiter behind it
      co_await mu.lock();
      mu.unlock();
    });
    EXPECT_TRUE(co_await wait_parked(r, a.id(), b.id()));
    cancel();
    EXPECT_EQ(co_await std::move(a), goro::canceled);
    mu.unlock();  // b must get it: the cancelled waiter left no trace
    co_await std::move(b);
    EXPECT_TRUE(mu.try_lock());
    mu.unlock();
  });
}

TEST_P(MutexCtx, DeadlineFromAPlainThread) {
  goro::mutex mu;
  mu.blocking_lock();
  auto ctx_cancel = goro::with_timeout(goro::background(), 1ms);
  auto& ctx = ctx_cancel.ctx;
  std::error_code ec;
  std::thread t([&] { ec = mu.blocking_lock(ctx); });
  t.join();
  EXPECT_EQ(ec, goro::deadline_exceeded);
  mu.unlock();
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST_P(MutexCtx, CancelRacingUnlockCountsExactly) {
  // Goroutines increment a counter under lock(ctx) while the context is
  // cancelled midway: every increment that reported success happened under
  // the lock, failures did not touch the counter, and the mutex ends free
  // with nobody stuck (the leak check of the fixture).
  const int per = scaled(2000);
  const int n = 8;
  std::atomic<int> ok{0};
  long counter = 0;
  goro::mutex mu;
  rt().run([&]() -> goro::task<> {
    auto ctx_cancel = goro::with_cancel(goro::background());
    auto& ctx = ctx_cancel.ctx;
    auto& cancel = ctx_cancel.cancel;
    goro::wait_group wg;
    for (int g = 0; g < n; ++g) {
      wg.go([&](goro::context c) -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          std::error_code ec = co_await mu.lock(c);
          if (ec) continue;
          ++counter;
          ok.fetch_add(1, std::memory_order_relaxed);
          mu.unlock();
        }
      }, ctx);
    }
    wg.go(goro_test::cancel_after_yields, std::move(cancel), 1u);
    co_await wg.wait();
  });
  EXPECT_EQ(counter, ok.load());
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

class RWMutexCtx : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(RWMutexCtx);

TEST_P(RWMutexCtx, DoneContextFailsAtOnceEvenWhenFree) {
  goro::rw_mutex mu;
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  auto& cancel = ctx_cancel.cancel;
  cancel();
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await mu.lock(ctx), goro::canceled);
    EXPECT_EQ(co_await mu.lock_shared(ctx), goro::canceled);
    EXPECT_TRUE(mu.try_lock());
    mu.unlock();
  });
  EXPECT_EQ(mu.blocking_lock(ctx), goro::canceled);
  EXPECT_EQ(mu.blocking_lock_shared(ctx), goro::canceled);
}

TEST_P(RWMutexCtx, LiveContextLocksBothSides) {
  goro::rw_mutex mu;
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  rt().run([&]() -> goro::task<> {
    EXPECT_FALSE(co_await mu.lock_shared(ctx));
    EXPECT_FALSE(co_await mu.lock_shared(ctx));
    EXPECT_FALSE(mu.try_lock());
    mu.unlock_shared();
    mu.unlock_shared();
    EXPECT_FALSE(co_await mu.lock(ctx));
    EXPECT_FALSE(mu.try_lock_shared());
    mu.unlock();
  });
  EXPECT_FALSE(mu.blocking_lock(ctx));
  mu.unlock();
}

TEST_P(RWMutexCtx, CancelledWriterLetsTheReadersBehindItIn) {
  // A reader holds the lock; a writer queues with a context (new readers
  // now queue behind it: writer preference); cancelling the writer must
  // admit the queued reader at once, with the first reader still inside.
  goro::rw_mutex mu;
  goro::runtime& r = rt();
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  auto& cancel = ctx_cancel.cancel;
  rt().run([&]() -> goro::task<> {
    co_await mu.lock_shared();
    auto w = goro::spawn([&]() -> goro::task<std::error_code> { co_return co_await mu.lock(ctx); });
    EXPECT_TRUE(co_await wait_parked(r, w.id()));
    EXPECT_FALSE(mu.try_lock_shared());  // the waiting writer holds new readers back
    auto rd = goro::spawn([&]() -> goro::task<> {
      co_await mu.lock_shared();
      mu.unlock_shared();
    });
    EXPECT_TRUE(co_await wait_parked(r, rd.id()));
    cancel();
    EXPECT_EQ(co_await std::move(w), goro::canceled);
    co_await std::move(rd);  // admitted although the first reader still holds it
    mu.unlock_shared();
    EXPECT_TRUE(mu.try_lock());
    mu.unlock();
  });
}

TEST_P(RWMutexCtx, CancelledReaderLeavesNoTrace) {
  goro::rw_mutex mu;
  goro::runtime& r = rt();
  auto ctx_cancel = goro::with_cancel(goro::background());
  auto& ctx = ctx_cancel.ctx;
  auto& cancel = ctx_cancel.cancel;
  rt().run([&]() -> goro::task<> {
    co_await mu.lock();
    auto rd = goro::spawn([&]() -> goro::task<std::error_code> { co_return co_await mu.lock_shared(ctx); });
    EXPECT_TRUE(co_await wait_parked(r, rd.id()));
    cancel();
    EXPECT_EQ(co_await std::move(rd), goro::canceled);
    mu.unlock();
    EXPECT_TRUE(mu.try_lock());  // no reader was left holding it
    mu.unlock();
  });
}

TEST_P(RWMutexCtx, DeadlineFromAPlainThread) {
  goro::rw_mutex mu;
  mu.blocking_lock();
  auto ctx_cancel = goro::with_timeout(goro::background(), 1ms);
  auto& ctx = ctx_cancel.ctx;
  std::error_code a, b;
  std::thread t([&] {
    a = mu.blocking_lock_shared(ctx);
    b = mu.blocking_lock(ctx);
  });
  t.join();
  EXPECT_EQ(a, goro::deadline_exceeded);
  EXPECT_EQ(b, goro::deadline_exceeded);
  mu.unlock();
}

TEST_P(RWMutexCtx, CancelsRacingUnlocksKeepTheInvariant) {
  // Readers and writers lock with short-lived contexts cancelled at random
  // moments; never a writer together with anybody; nobody left queued.
  goro::rw_mutex mu;
  std::atomic<int> readers{0}, writers{0}, bad{0};
  const int per = scaled(1500);
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < 6; ++g) {
      wg.go([&](int id) -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          auto c_cancel = goro::with_cancel(goro::background());
          auto& c = c_cancel.ctx;
          auto& cancel = c_cancel.cancel;
          goro::go(goro_test::cancel_after_yields, std::move(cancel),
                   static_cast<unsigned>((id + i) % 3));
          const bool write = (i + id) % 4 == 0;
          std::error_code ec = write ? co_await mu.lock(c) : co_await mu.lock_shared(c);
          if (ec) continue;
          if (write) {
            if (writers.fetch_add(1) != 0 || readers.load() != 0) bad.fetch_add(1);
            co_await goro::yield();
            writers.fetch_sub(1);
            mu.unlock();
          } else {
            readers.fetch_add(1);
            if (writers.load() != 0) bad.fetch_add(1);
            co_await goro::yield();
            readers.fetch_sub(1);
            mu.unlock_shared();
          }
        }
      }, g);
    }
    co_await wg.wait();
  });
  EXPECT_EQ(bad.load(), 0);
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

}  // namespace

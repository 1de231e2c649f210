// Ported from Go 1.19: src/sync/{mutex,rwmutex,once,cond}_test.go, and from
// golang.org/x/sync/semaphore/semaphore_test.go (x/sync 0.1.0).
//
// Each TEST_P is named after the Go test it ports and runs under 1, 2 and 8
// workers (Go's GOMAXPROCS loops become the fixture's worker counts). Go's
// `go f()` is goro::go / spawn, its channels are goro channels, its contexts
// are goro contexts (sem.acquire(ctx, n)). Where Go sleeps to let something block, the
// port uses wait_parked (ported_util.hpp); where Go sleeps as "work" inside
// a loop, the port yields (same interleavings, no wall-clock cost), except
// TestMutexFairness, whose sleep under the lock is the point of the test.
//
// Not ported here:
//  * TestMutexMisuse, x/sync TestWeightedPanic — they are death tests
//    (tests/death/sync_death_test.cpp: MutexUnlock, MutexUnlock2,
//    RWMutexUnlock..RWMutexRUnlock3, SemaphoreReleasedMoreThanHeld).
//  * TestSemaphore — it tests the Go runtime's internal semaphore
//    (runtime_Semacquire), which goro does not have.
//  * TestCondCopy — copying a goro::cond does not compile (deleted copy).
//  * Benchmark* — benchmarks live in bench/, never in tests.
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ported/ported_util.hpp"

using namespace std::chrono_literals;
using goro_ported::wait_parked;
using goro_test::scaled;

namespace {

class Sync : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Sync);

// ---- sync/mutex_test.go ----------------------------------------------------------------

goro::task<> HammerMutex(goro::mutex* m, int loops, goro::chan<bool> cdone) {
  for (int i = 0; i < loops; i++) {
    if (i % 3 == 0) {
      if (m->try_lock()) m->unlock();
      continue;
    }
    co_await m->lock();
    m->unlock();
  }
  (void)co_await cdone.send(true);
}

TEST_P(Sync, TestMutex) {
  rt().run([]() -> goro::task<> {
    goro::mutex m;
    co_await m.lock();
    EXPECT_FALSE(m.try_lock()) << "TryLock succeeded with mutex locked";
    m.unlock();
    EXPECT_TRUE(m.try_lock()) << "TryLock failed with mutex unlocked";
    m.unlock();

    auto c = goro::make_chan<bool>();
    for (int i = 0; i < 10; i++) goro::go(HammerMutex, &m, 1000, c);
    for (int i = 0; i < 10; i++) (void)co_await c.recv();
  });
}

TEST_P(Sync, TestMutexFairness) {
  rt().run([]() -> goro::task<> {
    goro::mutex mu;
    auto stop = goro::make_chan<bool>();
    auto hog = goro::spawn([&mu, stop]() -> goro::task<> {
      for (;;) {
        co_await mu.lock();
        co_await goro::sleep_for(100us);
        mu.unlock();
        auto r = co_await goro::select(goro::recv(stop), goro::default_case);
        if (r.index() == 0) co_return;
      }
    });
    auto done = goro::make_chan<bool>(1);
    goro::go([&mu, done]() -> goro::task<> {
      for (int i = 0; i < 10; i++) {
        co_await goro::sleep_for(100us);
        co_await mu.lock();
        mu.unlock();
      }
      (void)co_await done.send(true);
    });
    auto r = co_await done.recv_for(10s);
    EXPECT_EQ(r.status, goro::recv_status::ok) << "can't acquire Mutex in 10 seconds";
    stop.close();  // Go: defer close(stop)
    co_await std::move(hog);
  });
}

// ---- sync/rwmutex_test.go ---------------------------------------------------------------

goro::task<> parallelReader(goro::rw_mutex* m, goro::chan<bool> clocked, goro::chan<bool> cunlock,
                            goro::chan<bool> cdone) {
  co_await m->lock_shared();
  (void)co_await clocked.send(true);
  (void)co_await cunlock.recv();
  m->unlock_shared();
  (void)co_await cdone.send(true);
}

goro::task<> doTestParallelReaders(int numReaders) {
  goro::rw_mutex m;
  auto clocked = goro::make_chan<bool>();
  auto cunlock = goro::make_chan<bool>();
  auto cdone = goro::make_chan<bool>();
  for (int i = 0; i < numReaders; i++) goro::go(parallelReader, &m, clocked, cunlock, cdone);
  // Wait for all parallel RLock()s to succeed.
  for (int i = 0; i < numReaders; i++) (void)co_await clocked.recv();
  for (int i = 0; i < numReaders; i++) (void)co_await cunlock.send(true);
  // Wait for the goroutines to finish.
  for (int i = 0; i < numReaders; i++) (void)co_await cdone.recv();
}

TEST_P(Sync, TestParallelReaders) {
  // Go: doTestParallelReaders(1, 4), (3, 4), (4, 2); GOMAXPROCS is the fixture's.
  rt().run([]() -> goro::task<> {
    co_await doTestParallelReaders(1);
    co_await doTestParallelReaders(3);
    co_await doTestParallelReaders(4);
  });
}

goro::task<> reader(goro::rw_mutex* rwm, int num_iterations, std::atomic<int>* activity,
                    goro::chan<bool> cdone) {
  for (int i = 0; i < num_iterations; i++) {
    co_await rwm->lock_shared();
    int n = activity->fetch_add(1) + 1;
    if (n < 1 || n >= 10000) {
      rwm->unlock_shared();
      ADD_FAILURE() << "wlock(" << n << ")";
      co_return;
    }
    for (std::atomic<int> j{0}; j.load(std::memory_order_relaxed) < 100;)  // Go: an empty loop
      j.fetch_add(1, std::memory_order_relaxed);
    activity->fetch_add(-1);
    rwm->unlock_shared();
  }
  (void)co_await cdone.send(true);
}

goro::task<> writer(goro::rw_mutex* rwm, int num_iterations, std::atomic<int>* activity,
                    goro::chan<bool> cdone) {
  for (int i = 0; i < num_iterations; i++) {
    co_await rwm->lock();
    int n = activity->fetch_add(10000) + 10000;
    if (n != 10000) {
      rwm->unlock();
      ADD_FAILURE() << "wlock(" << n << ")";
      co_return;
    }
    for (std::atomic<int> j{0}; j.load(std::memory_order_relaxed) < 100;)  // Go: an empty loop
      j.fetch_add(1, std::memory_order_relaxed);
    activity->fetch_add(-10000);
    rwm->unlock();
  }
  (void)co_await cdone.send(true);
}

goro::task<> HammerRWMutex(int numReaders, int num_iterations) {
  // Number of active readers + 10000 * number of active writers.
  std::atomic<int> activity{0};
  goro::rw_mutex rwm;
  auto cdone = goro::make_chan<bool>();
  goro::go(writer, &rwm, num_iterations, &activity, cdone);
  int i;
  for (i = 0; i < numReaders / 2; i++) goro::go(reader, &rwm, num_iterations, &activity, cdone);
  goro::go(writer, &rwm, num_iterations, &activity, cdone);
  for (; i < numReaders; i++) goro::go(reader, &rwm, num_iterations, &activity, cdone);
  // Wait for the 2 writers and all readers to finish.
  for (i = 0; i < 2 + numReaders; i++) (void)co_await cdone.recv();
}

TEST_P(Sync, TestRWMutex) {
  rt().run([]() -> goro::task<> {
    goro::rw_mutex m;
    co_await m.lock();
    EXPECT_FALSE(m.try_lock()) << "TryLock succeeded with mutex locked";
    EXPECT_FALSE(m.try_lock_shared()) << "TryRLock succeeded with mutex locked";
    m.unlock();

    EXPECT_TRUE(m.try_lock()) << "TryLock failed with mutex unlocked";
    m.unlock();

    EXPECT_TRUE(m.try_lock_shared()) << "TryRLock failed with mutex unlocked";
    EXPECT_TRUE(m.try_lock_shared()) << "TryRLock failed with mutex rlocked";
    EXPECT_FALSE(m.try_lock()) << "TryLock succeeded with mutex rlocked";
    m.unlock_shared();
    m.unlock_shared();

    // Go: HammerRWMutex(gomaxprocs, numReaders, n) for gomaxprocs 1, 4, 10.
    const int n = scaled(1000);
    for (int readers : {1, 3, 10, 5}) co_await HammerRWMutex(readers, n);
  });
}

TEST_P(Sync, TestRLocker) {
  // Go's wl.RLocker() is a Locker whose Lock/Unlock are RLock/RUnlock; here
  // the read side is called directly.
  rt().run([]() -> goro::task<> {
    goro::rw_mutex wl;
    auto wlocked = goro::make_chan<bool>(1);
    auto rlocked = goro::make_chan<bool>(1);
    const int n = 10;
    goro::go([&wl, wlocked, rlocked]() -> goro::task<> {
      for (int i = 0; i < n; i++) {
        co_await wl.lock_shared();
        co_await wl.lock_shared();
        (void)co_await rlocked.send(true);
        co_await wl.lock();
        (void)co_await wlocked.send(true);
      }
    });
    for (int i = 0; i < n; i++) {
      (void)co_await rlocked.recv();
      wl.unlock_shared();
      if (wlocked.try_recv().status == goro::recv_status::ok)
        ADD_FAILURE() << "RLocker() didn't read-lock it";
      wl.unlock_shared();
      (void)co_await wlocked.recv();
      if (rlocked.try_recv().status == goro::recv_status::ok)
        ADD_FAILURE() << "RLocker() didn't respect the write lock";
      wl.unlock();
    }
  });
}

// ---- sync/once_test.go ------------------------------------------------------------------

TEST_P(Sync, TestOnce) {
  rt().run([]() -> goro::task<> {
    int o = 0;
    goro::once once;
    auto c = goro::make_chan<bool>();
    const int N = 10;
    auto run = [](goro::once* once, int* o, goro::chan<bool> c) -> goro::task<> {
      co_await once->call([o] { ++*o; });
      if (*o != 1) ADD_FAILURE() << "once failed inside run: " << *o << " is not 1";
      (void)co_await c.send(true);
    };
    for (int i = 0; i < N; i++) goro::go(run, &once, &o, c);
    for (int i = 0; i < N; i++) (void)co_await c.recv();
    EXPECT_EQ(o, 1) << "once failed outside run";
  });
}

TEST_P(Sync, TestOncePanic) {
  rt().run([]() -> goro::task<> {
    goro::once once;
    bool panicked = false;
    try {
      co_await once.call([] { throw std::runtime_error("failed"); });
    } catch (const std::runtime_error&) {
      panicked = true;
    }
    EXPECT_TRUE(panicked) << "Once.Do did not panic";
    co_await once.call([] { ADD_FAILURE() << "Once.Do called twice"; });
  });
}

// ---- sync/cond_test.go ------------------------------------------------------------------

TEST_P(Sync, TestCondSignal) {
  rt().run([]() -> goro::task<> {
    goro::mutex m;
    goro::cond c(m);
    int n = 2;
    auto running = goro::make_chan<bool>(n);
    auto awake = goro::make_chan<bool>(n);
    // The goroutines unlock m after their last send: wait for them before m
    // dies with this frame (Go leaves them to the GC).
    goro::wait_group wg;
    for (int i = 0; i < n; i++)
      wg.go([&m, &c, running, awake]() -> goro::task<> {
        co_await m.lock();
        (void)co_await running.send(true);
        co_await c.wait();
        (void)co_await awake.send(true);
        m.unlock();
      });
    for (int i = 0; i < n; i++) (void)co_await running.recv();  // Wait for everyone to run.
    while (n > 0) {
      EXPECT_NE(awake.try_recv().status, goro::recv_status::ok) << "goroutine not asleep";
      co_await m.lock();
      c.signal();
      m.unlock();
      (void)co_await awake.recv();  // Will deadlock if no goroutine wakes up
      EXPECT_NE(awake.try_recv().status, goro::recv_status::ok) << "too many goroutines awake";
      n--;
    }
    c.signal();
    co_await wg.wait();
  });
}

TEST_P(Sync, TestCondSignalGenerations) {
  rt().run([]() -> goro::task<> {
    goro::mutex m;
    goro::cond c(m);
    const int n = 100;
    auto running = goro::make_chan<bool>(n);
    auto awake = goro::make_chan<int>(n);
    goro::wait_group wg;  // as in TestCondSignal: each unlocks m after its send
    for (int i = 0; i < n; i++) {
      wg.go([&m, &c, running, awake, i]() -> goro::task<> {
        co_await m.lock();
        (void)co_await running.send(true);
        co_await c.wait();
        (void)co_await awake.send(i);
        m.unlock();
      });
      if (i > 0) {
        auto a = co_await awake.recv();
        EXPECT_EQ(*a, i - 1) << "wrong goroutine woke up";
      }
      (void)co_await running.recv();
      co_await m.lock();
      c.signal();
      m.unlock();
    }
    (void)co_await awake.recv();  // the last one (Go leaves it to the GC)
    co_await wg.wait();
  });
}

TEST_P(Sync, TestCondBroadcast) {
  rt().run([]() -> goro::task<> {
    goro::mutex m;
    goro::cond c(m);
    const int n = 200;
    auto running = goro::make_chan<int>(n);
    auto awake = goro::make_chan<int>(n);
    bool exit = false;
    goro::wait_group wg;
    for (int i = 0; i < n; i++)
      wg.go([&m, &c, &exit, running, awake](int g) -> goro::task<> {
        co_await m.lock();
        while (!exit) {
          (void)co_await running.send(g);
          co_await c.wait();
          (void)co_await awake.send(g);
        }
        m.unlock();
      }, i);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) (void)co_await running.recv();  // Will deadlock unless n are running.
      if (i == n - 1) {
        co_await m.lock();
        exit = true;
        m.unlock();
      }
      EXPECT_NE(awake.try_recv().status, goro::recv_status::ok) << "goroutine not asleep";
      co_await m.lock();
      c.broadcast();
      m.unlock();
      std::vector<bool> seen(n);
      for (int j = 0; j < n; j++) {
        auto v = co_await awake.recv();
        int g = *v;
        EXPECT_FALSE(seen[g]) << "goroutine woke up twice";
        seen[g] = true;
      }
    }
    co_await wg.wait();
    EXPECT_NE(running.try_recv().status, goro::recv_status::ok) << "goroutine did not exit";
    c.broadcast();
  });
}

TEST_P(Sync, TestRace) {
  rt().run([]() -> goro::task<> {
    int x = 0;
    goro::mutex mu;
    goro::cond c(mu);
    auto done = goro::make_chan<bool>();
    goro::go([&]() -> goro::task<> {
      co_await c.mu().lock();
      x = 1;
      co_await c.wait();
      EXPECT_EQ(x, 2) << "want 2";
      x = 3;
      c.signal();
      c.mu().unlock();
      (void)co_await done.send(true);
    });
    goro::go([&]() -> goro::task<> {
      co_await c.mu().lock();
      for (;;) {
        if (x == 1) {
          x = 2;
          c.signal();
          break;
        }
        c.mu().unlock();
        co_await goro::yield();
        co_await c.mu().lock();
      }
      c.mu().unlock();
      (void)co_await done.send(true);
    });
    goro::go([&]() -> goro::task<> {
      co_await c.mu().lock();
      for (;;) {
        if (x == 2) {
          co_await c.wait();
          EXPECT_EQ(x, 3) << "want 3";
          break;
        }
        if (x == 3) break;
        c.mu().unlock();
        co_await goro::yield();
        co_await c.mu().lock();
      }
      c.mu().unlock();
      (void)co_await done.send(true);
    });
    (void)co_await done.recv();
    (void)co_await done.recv();
    (void)co_await done.recv();
  });
}

TEST_P(Sync, TestCondSignalStealing) {
  rt().run([]() -> goro::task<> {
    for (int iters = 0; iters < scaled(1000); iters++) {
      goro::mutex m;
      goro::cond cond(m);
      // Start a waiter.
      auto ch = goro::make_chan<void>();
      goro::go([&m, &cond, ch]() -> goro::task<> {
        co_await m.lock();
        (void)co_await ch.send();
        co_await cond.wait();
        m.unlock();
        (void)co_await ch.send();
      });
      (void)co_await ch.recv();
      co_await m.lock();
      m.unlock();
      // We know that the waiter is in the cond.Wait() call because we
      // synchronized with it, then acquired/released the mutex it was
      // holding when we synchronized.
      //
      // Start two goroutines that will race: one will broadcast on the cond
      // var, the other will wait on it. The new waiter may or may not get
      // notified, but the first one has to be notified.
      bool done = false;
      goro::wait_group wg;
      wg.go([&cond] { cond.broadcast(); });
      wg.go([&]() -> goro::task<> {
        co_await m.lock();
        while (!done) co_await cond.wait();
        m.unlock();
      });
      // Check that the first waiter does get signaled.
      auto r = co_await ch.recv_for(30s);  // Go: 2s; a hang guard, 30 s as elsewhere
      EXPECT_EQ(r.status, goro::recv_status::ok) << "First waiter didn't get broadcast.";
      // Release the second waiter in case it didn't get the broadcast.
      co_await m.lock();
      done = true;
      m.unlock();
      cond.broadcast();
      co_await wg.wait();
    }
  });
}

// ---- x/sync semaphore_test.go -------------------------------------------------------------

goro::task<> HammerWeighted(goro::semaphore* sem, std::int64_t n, int loops) {
  std::mt19937 rng(static_cast<unsigned>(n));
  for (int i = 0; i < loops; i++) {
    (void)co_await sem->acquire(n);
    for (int k = static_cast<int>(rng() % 3); k > 0; --k) co_await goro::yield();  // Go: sleep < 1ms
    sem->release(n);
  }
}

TEST_P(Sync, TestWeighted) {
  rt().run([this]() -> goro::task<> {
    const int n = static_cast<int>(workers());  // Go: runtime.GOMAXPROCS(0)
    const int loops = scaled(10000) / n;
    goro::semaphore sem(n);
    goro::wait_group wg;
    for (int i = 0; i < n; i++) wg.go(HammerWeighted, &sem, std::int64_t{i}, loops);
    co_await wg.wait();
  });
}

TEST_P(Sync, TestWeightedTryAcquire) {
  rt().run([]() -> goro::task<> {
    goro::semaphore sem(2);
    std::vector<bool> tries;
    (void)co_await sem.acquire(1);
    tries.push_back(sem.try_acquire(1));
    tries.push_back(sem.try_acquire(1));
    sem.release(2);
    tries.push_back(sem.try_acquire(1));
    (void)co_await sem.acquire(1);
    tries.push_back(sem.try_acquire(1));
    EXPECT_EQ(tries, (std::vector<bool>{true, false, true, false}));
  });
}

TEST_P(Sync, TestWeightedAcquire) {
  rt().run([]() -> goro::task<> {
    goro::semaphore sem(2);
    auto tryAcquire = [&sem](std::int64_t n) -> goro::task<bool> {
      auto ctx_cancel = goro::with_timeout(goro::background(), 10ms);
      auto& ctx = ctx_cancel.ctx;
      auto st = co_await sem.acquire(ctx, n);
      co_return st == goro::acquire_status::ok;
    };
    std::vector<bool> tries;
    (void)co_await sem.acquire(1);
    tries.push_back(co_await tryAcquire(1));
    tries.push_back(co_await tryAcquire(1));
    sem.release(2);
    tries.push_back(co_await tryAcquire(1));
    (void)co_await sem.acquire(1);
    tries.push_back(co_await tryAcquire(1));
    EXPECT_EQ(tries, (std::vector<bool>{true, false, true, false}));
  });
}

TEST_P(Sync, TestWeightedDoesntBlockIfTooBig) {
  rt().run([]() -> goro::task<> {
    const std::int64_t n = 2;
    goro::semaphore sem(n);
    // Go blocks this Acquire until its context is cancelled; goro reports
    // too_large at once (it could never succeed), and it never queues.
    auto big = goro::spawn([&sem]() -> goro::task<goro::acquire_status> {
      co_return co_await sem.acquire(n + 1);
    });
    goro::wait_group wg;
    std::atomic<int> failed{0};
    for (int i = n * 3; i > 0; i--)
      wg.go([&]() -> goro::task<> {
        if (co_await sem.acquire(1) == goro::acquire_status::ok) {
          co_await goro::sleep_for(1ms);
          sem.release(1);
        } else {
          failed.fetch_add(1);
        }
      });
    co_await wg.wait();
    EXPECT_EQ(failed.load(), 0) << "failed to Acquire(_, 1) with Acquire(_, " << n + 1 << ") pending";
    EXPECT_EQ(co_await std::move(big), goro::acquire_status::too_large);
  });
}

TEST_P(Sync, TestLargeAcquireDoesntStarve) {
  // Merely returning from the test function indicates success.
  rt().run([this]() -> goro::task<> {
    const std::int64_t n = workers();  // Go: runtime.GOMAXPROCS(0)
    goro::semaphore sem(n);
    std::atomic<bool> running{true};
    goro::wait_group wg;
    for (std::int64_t i = n; i > 0; i--) {
      (void)co_await sem.acquire(1);
      wg.go([&]() -> goro::task<> {
        while (running.load()) {
          co_await goro::sleep_for(1ms);
          sem.release(1);
          (void)co_await sem.acquire(1);
        }
        sem.release(1);
      });
    }
    (void)co_await sem.acquire(n);
    running = false;
    sem.release(n);
    co_await wg.wait();
  });
}

TEST_P(Sync, TestAllocCancelDoesntStarve) {
  goro::runtime& r = rt();
  rt().run([&r]() -> goro::task<> {
    goro::semaphore sem(10);
    // Block off a portion of the semaphore so that Acquire(_, 10) can eventually succeed.
    (void)co_await sem.acquire(1);
    // In the background, Acquire(_, 10).
    auto ctx_cancel = goro::with_cancel(goro::background());
    auto& ctx = ctx_cancel.ctx;
    auto& cancel = ctx_cancel.cancel;
    auto big = goro::spawn([&sem](goro::context c) -> goro::task<> {
      (void)co_await sem.acquire(c, 10);
    }, ctx);
    // Wait until the Acquire(_, 10) call blocks.
    while (sem.try_acquire(1)) {
      sem.release(1);
      co_await goro::yield();
    }
    EXPECT_TRUE(co_await wait_parked(r, big.id()));
    // Now try to grab a read lock, and simultaneously unblock the Acquire(_, 10) call.
    // Both Acquire calls should unblock and return, in either order.
    goro::go([](goro::cancel_func f) { f(); }, std::move(cancel));
    auto st = co_await sem.acquire(1);
    EXPECT_EQ(st, goro::acquire_status::ok) << "Acquire(_, 1) failed unexpectedly";
    sem.release(1);
    co_await std::move(big);
    sem.release(1);
  });
}

}  // namespace

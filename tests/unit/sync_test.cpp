// Unit tests: goro::mutex, rw_mutex, once / once_value / once_func, cond,
// semaphore — one behaviour each, from goroutines and from plain threads.
//
// "It blocks" is checked with wait_parked (the goroutine registry says the
// goroutine is parked), never with a sleep.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
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

// =================================================================================
// mutex
// =================================================================================

class Mutex : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Mutex);

TEST_P(Mutex, TryLockReflectsState) {
  goro::mutex mu;
  EXPECT_TRUE(mu.try_lock());
  EXPECT_FALSE(mu.try_lock());
  mu.unlock();
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST_P(Mutex, LockUnlockInGoroutine) {
  goro::mutex mu;
  int x = rt().run([&]() -> goro::task<int> {
    co_await mu.lock();
    EXPECT_FALSE(mu.try_lock());
    mu.unlock();
    co_await mu.lock();
    mu.unlock();
    co_return 7;
  });
  EXPECT_EQ(x, 7);
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST_P(Mutex, ScopedGuardUnlocksAndMoves) {
  goro::mutex mu;
  rt().run([&]() -> goro::task<> {
    {
      auto g = co_await mu.scoped_lock();
      EXPECT_TRUE(g.owns_lock());
      EXPECT_EQ(g.mutex(), &mu);
      EXPECT_FALSE(mu.try_lock());
      auto g2 = std::move(g);
      EXPECT_FALSE(g.owns_lock());
      EXPECT_TRUE(g2);
    }
    EXPECT_TRUE(mu.try_lock());
    mu.unlock();
    {
      auto g = co_await mu.scoped_lock();
      g.unlock();  // early
      EXPECT_FALSE(g);
      EXPECT_TRUE(mu.try_lock());
      mu.unlock();
    }
    {
      auto g = mu.try_scoped_lock();
      EXPECT_TRUE(g);
      auto h = mu.try_scoped_lock();
      EXPECT_FALSE(h);
    }
    EXPECT_TRUE(mu.try_lock());
    mu.unlock();
  });
}

TEST_P(Mutex, WaiterParksTheGoroutineNotTheWorker) {
  // One worker suffices: while B is parked on the mutex, the worker keeps
  // running A, which then releases it.
  goro::mutex mu;
  goro::runtime& r = rt();
  rt().run([&]() -> goro::task<> {
    co_await mu.lock();  // A holds it
    std::atomic<bool> b_has_it{false};
    auto b = goro::spawn([&]() -> goro::task<> {
      co_await mu.lock();
      b_has_it = true;
      mu.unlock();
    });
    EXPECT_TRUE(co_await wait_parked(r, b.id()));
    EXPECT_FALSE(b_has_it);  // and this goroutine still runs on the same worker
    mu.unlock();
    co_await std::move(b);
    EXPECT_TRUE(b_has_it);
  });
}

TEST_P(Mutex, CounterIsExact) {
  goro::mutex mu;
  long counter = 0;
  const int per = scaled(20'000);
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < 8; ++g)
      wg.go([&]() -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          co_await mu.lock();
          ++counter;
          mu.unlock();
        }
      });
    co_await wg.wait();
  });
  EXPECT_EQ(counter, 8L * per);
}

TEST_P(Mutex, GoroutinesAndThreadsShareIt) {
  goro::mutex mu;
  long counter = 0;
  const int per = scaled(20'000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < per; ++i) {
        mu.blocking_lock();
        ++counter;
        mu.unlock();
      }
    });
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < 4; ++g)
      wg.go([&]() -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          auto l = co_await mu.scoped_lock();
          ++counter;
        }
      });
    co_await wg.wait();
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 6L * per);
}

TEST_P(Mutex, BlockingLockWaitsForGoroutine) {
  goro::mutex mu;
  auto locked = goro::make_chan<void>(1);
  auto release = goro::make_chan<void>();
  int shared = 0;
  auto h = rt().spawn([&]() -> goro::task<> {
    co_await mu.lock();
    (void)co_await locked.send();
    (void)co_await release.recv();
    shared = 1;
    mu.unlock();
  });
  ASSERT_TRUE(locked.blocking_recv().has_value());
  std::thread t([&] {
    auto g = mu.blocking_scoped_lock();
    EXPECT_EQ(shared, 1);  // the goroutine's critical section happened-before
    shared = 2;
  });
  (void)release.blocking_send({});
  t.join();
  std::move(h).join();
  EXPECT_EQ(shared, 2);
}

TEST_P(Mutex, PollingUnderTheLockYieldsToTheSetter) {
  // A goroutine that polls a flag under the lock (never parking) must let a
  // goroutine on the same worker take the lock and set the flag: the lock
  // awaiter spends the run budget and yields before taking the lock.
  goro::mutex mu;
  bool flag = false;
  rt().run([&]() -> goro::task<> {
    auto setter = goro::spawn([&]() -> goro::task<> {
      co_await mu.lock();
      flag = true;
      mu.unlock();
    });
    for (;;) {
      co_await mu.lock();
      bool f = flag;
      mu.unlock();
      if (f) break;
    }
    co_await std::move(setter);
  });
  EXPECT_TRUE(flag);
}

TEST_P(Mutex, StarvationModeServesALongWaiter) {
  // A hog re-locks right after unlocking, all the time, and holds the mutex
  // while parked (a sleep stands for work done under the lock). The waiter
  // always asks while the hog holds it. In normal mode the hog would win
  // every time (it runs; the woken waiter only gets queued); after 1 ms of
  // waiting the waiter switches the mutex to starvation mode and is handed it.
  goro::mutex mu;
  std::atomic<bool> stop{false};
  std::atomic<bool> hog_holds{false};
  std::atomic<long> hog_turns{0};
  rt().run([&]() -> goro::task<> {
    auto hog = goro::spawn([&]() -> goro::task<> {
      while (!stop.load()) {
        co_await mu.lock();
        hog_holds = true;
        hog_turns.fetch_add(1);
        co_await goro::sleep_for(50us);
        hog_holds = false;
        mu.unlock();
      }
    });
    for (int i = 0; i < 10; ++i) {
      while (!hog_holds.load()) co_await goro::yield();
      co_await mu.lock();  // would hang here without starvation mode
      mu.unlock();
    }
    stop = true;
    co_await std::move(hog);
  });
  EXPECT_GE(hog_turns.load(), 10);
}

// =================================================================================
// rw_mutex
// =================================================================================

class RWMutex : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(RWMutex);

TEST_P(RWMutex, TryForms) {
  goro::rw_mutex m;
  ASSERT_TRUE(m.try_lock());
  EXPECT_FALSE(m.try_lock());
  EXPECT_FALSE(m.try_lock_shared());
  m.unlock();
  ASSERT_TRUE(m.try_lock_shared());
  ASSERT_TRUE(m.try_lock_shared());
  EXPECT_FALSE(m.try_lock());
  m.unlock_shared();
  m.unlock_shared();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST_P(RWMutex, ReadersShareWritersExclude) {
  goro::rw_mutex m;
  rt().run([&]() -> goro::task<> {
    co_await m.lock_shared();
    co_await m.lock_shared();  // a second reader while no writer waits
    EXPECT_FALSE(m.try_lock());
    m.unlock_shared();
    m.unlock_shared();
    co_await m.lock();
    EXPECT_FALSE(m.try_lock_shared());
    m.unlock();
    {
      auto r1 = co_await m.scoped_lock_shared();
      auto r2 = m.try_scoped_lock_shared();
      EXPECT_TRUE(r1 && r2);
      EXPECT_FALSE(m.try_scoped_lock());
    }
    {
      auto w = co_await m.scoped_lock();
      EXPECT_FALSE(m.try_scoped_lock_shared());
    }
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

TEST_P(RWMutex, WaitingWriterBlocksNewReaders) {
  // Go's rule that keeps writers from starving: once a writer waits, a new
  // reader queues behind it, and the writer goes first when the current
  // readers leave; the queued reader gets in when the writer unlocks.
  goro::rw_mutex m;
  goro::runtime& r = rt();
  rt().run([&]() -> goro::task<> {
    std::vector<int> order;
    goro::mutex order_mu;
    auto note = [&](int who) -> goro::task<> {
      auto g = co_await order_mu.scoped_lock();
      order.push_back(who);
    };
    co_await m.lock_shared();  // reader 0 holds it
    auto w = goro::spawn([&]() -> goro::task<> {
      co_await m.lock();
      co_await note(1);
      m.unlock();
    });
    EXPECT_TRUE(co_await wait_parked(r, w.id()));
    EXPECT_FALSE(m.try_lock_shared());  // TryRLock fails while a writer waits
    auto rd = goro::spawn([&]() -> goro::task<> {
      co_await m.lock_shared();
      co_await note(2);
      m.unlock_shared();
    });
    EXPECT_TRUE(co_await wait_parked(r, rd.id()));
    m.unlock_shared();  // reader 0 leaves: the writer first
    co_await std::move(w);
    co_await std::move(rd);
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
  });
}

TEST_P(RWMutex, WriterUnlockAdmitsAllQueuedReaders) {
  goro::rw_mutex m;
  goro::runtime& r = rt();
  rt().run([&]() -> goro::task<> {
    co_await m.lock();
    std::atomic<int> inside{0};
    auto all_in = goro::make_chan<void>(3);
    auto leave = goro::make_chan<void>();
    std::vector<goro::join_handle<void>> readers;
    for (int i = 0; i < 3; ++i)
      readers.push_back(goro::spawn([&]() -> goro::task<> {
        co_await m.lock_shared();
        inside.fetch_add(1);
        (void)co_await all_in.send();
        (void)co_await leave.recv();  // stay inside until every reader is in
        m.unlock_shared();
      }));
    for (auto& h : readers) EXPECT_TRUE(co_await wait_parked(r, h.id()));
    EXPECT_EQ(inside.load(), 0);
    m.unlock();
    for (int i = 0; i < 3; ++i) (void)co_await all_in.recv();
    EXPECT_EQ(inside.load(), 3);  // all three hold it at once
    leave.close();
    for (auto& h : readers) co_await std::move(h);
  });
}

TEST_P(RWMutex, ThreadsAndGoroutines) {
  goro::rw_mutex m;
  long value = 0;
  const int n = scaled(5'000);
  std::thread writer([&] {
    for (int i = 0; i < n; ++i) {
      auto w = m.blocking_scoped_lock();
      ++value;
    }
  });
  std::thread reader([&] {
    for (int i = 0; i < n; ++i) {
      m.blocking_lock_shared();
      EXPECT_GE(value, 0);
      m.unlock_shared();
    }
  });
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < 4; ++g)
      wg.go([&]() -> goro::task<> {
        for (int i = 0; i < n; ++i) {
          if (i % 4 == 0) {
            co_await m.lock();
            ++value;
            m.unlock();
          } else {
            auto r = co_await m.scoped_lock_shared();
            EXPECT_GE(value, 0);
          }
        }
      });
    co_await wg.wait();
  });
  writer.join();
  reader.join();
  EXPECT_EQ(value, n + 4L * ((n + 3) / 4));
}

// =================================================================================
// once
// =================================================================================

class Once : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Once);

TEST_P(Once, RunsExactlyOnceAndWaitersWait) {
  goro::once once;
  std::atomic<int> calls{0};
  std::atomic<int> saw_done{0};
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < 50; ++i)
      wg.go([&]() -> goro::task<> {
        co_await once.call([&]() -> goro::task<> {
          co_await goro::yield();  // waiters park meanwhile
          calls.fetch_add(1);
        });
        // Every caller returns only after f has completed.
        if (calls.load() == 1) saw_done.fetch_add(1);
      });
    co_await wg.wait();
  });
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(saw_done.load(), 50);
  EXPECT_TRUE(once.done());
}

TEST_P(Once, ExceptionStillMarksDone) {
  goro::once once;
  rt().run([&]() -> goro::task<> {
    bool threw = false;
    try {
      co_await once.call([] { throw std::runtime_error("boom"); });
    } catch (const std::runtime_error&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    bool called = false;
    co_await once.call([&] { called = true; });
    EXPECT_FALSE(called);
  });
  EXPECT_TRUE(once.done());
}

TEST_P(Once, BlockingCallFromThreads) {
  goro::once once;
  std::atomic<int> calls{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&] {
      once.blocking_call([&] {
        std::this_thread::yield();
        calls.fetch_add(1);
      });
      EXPECT_EQ(calls.load(), 1);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(Once, UntilSuccessRetriesAfterFalse) {
  goro::once once;
  int attempts = 0;
  rt().run([&]() -> goro::task<> {
    auto attempt = [&] { return ++attempts >= 3; };
    EXPECT_FALSE(co_await once.call_until_success(attempt));
    EXPECT_FALSE(once.done());
    EXPECT_FALSE(co_await once.call_until_success(attempt));
    EXPECT_TRUE(co_await once.call_until_success(attempt));
    EXPECT_TRUE(once.done());
    EXPECT_TRUE(co_await once.call_until_success(attempt));  // done: not called
  });
  EXPECT_EQ(attempts, 3);
}

TEST_P(Once, UntilSuccessRetriesAfterExceptionAndErrorCode) {
  goro::once once;
  int attempts = 0;
  rt().run([&]() -> goro::task<> {
    bool threw = false;
    try {
      co_await once.call_until_success([&]() -> goro::task<> {
        ++attempts;
        throw std::runtime_error("dial failed");
        co_return;
      });
    } catch (const std::runtime_error&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_FALSE(once.done());
    std::error_code ec = co_await once.call_until_success([&] {
      ++attempts;
      return std::make_error_code(std::errc::connection_refused);
    });
    EXPECT_EQ(ec, std::errc::connection_refused);
    ec = co_await once.call_until_success([&] {
      ++attempts;
      return std::error_code{};
    });
    EXPECT_FALSE(ec);
    EXPECT_TRUE(once.done());
  });
  EXPECT_EQ(attempts, 3);
}

TEST_P(Once, FailedAttemptHandsTheNextTryToAWaiter) {
  // Concurrent callers wait for the attempt in progress; when it fails, a
  // waiter runs its own f. Exactly one attempt succeeds; every call returns.
  goro::once once;
  std::atomic<int> attempts{0};
  std::atomic<int> successes{0};
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < 20; ++i)
      wg.go([&]() -> goro::task<> {
        bool ok = co_await once.call_until_success([&]() -> goro::task<bool> {
          co_await goro::yield();
          co_return attempts.fetch_add(1) + 1 >= 5;  // the fifth attempt succeeds
        });
        if (ok) successes.fetch_add(1);
      });
    co_await wg.wait();
  });
  EXPECT_TRUE(once.done());
  EXPECT_EQ(attempts.load(), 5);
  EXPECT_EQ(successes.load(), 20 - 4);  // the four failed runners got false
}

TEST_P(Once, BlockingUntilSuccess) {
  goro::once once;
  int attempts = 0;
  EXPECT_FALSE(once.blocking_call_until_success([&] { return ++attempts == 2; }));
  EXPECT_TRUE(once.blocking_call_until_success([&] { return ++attempts == 2; }));
  EXPECT_TRUE(once.blocking_call_until_success([&] { return false; }));
  EXPECT_EQ(attempts, 2);
}

TEST_P(Once, OnceValueComputesOnceAndCaches) {
  std::atomic<int> calls{0};
  goro::once_value<std::string> v([&] {
    calls.fetch_add(1);
    return std::string("config");
  });
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < 10; ++i)
      wg.go([&]() -> goro::task<> {
        const std::string& s = co_await v.get();
        EXPECT_EQ(s, "config");
      });
    co_await wg.wait();
    const std::string& a = co_await v.get();
    const std::string& b = co_await v();
    EXPECT_EQ(&a, &b);  // one stored value
  });
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(Once, OnceValueFromACoroutineAndFromThreads) {
  goro::once_value<int> v([]() -> goro::task<int> {
    co_await goro::yield();
    co_return 42;
  });
  int a = rt().run([&]() -> goro::task<int> {
    int x = co_await v.get();
    co_return x;
  });
  EXPECT_EQ(a, 42);
  EXPECT_EQ(v.blocking_get(), 42);  // already computed: no runtime needed
}

TEST_P(Once, OnceValueRethrowsEveryTime) {
  int calls = 0;
  goro::once_value<int> v([&]() -> int {
    ++calls;
    throw std::logic_error("bad config");
  });
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < 3; ++i) {
      bool threw = false;
      try {
        (void)co_await v.get();
      } catch (const std::logic_error&) {
        threw = true;
      }
      EXPECT_TRUE(threw);
    }
  });
  EXPECT_THROW((void)v.blocking_get(), std::logic_error);
  EXPECT_EQ(calls, 1);
}

TEST_P(Once, OnceFunc) {
  int calls = 0;
  goro::once_func f([&] { ++calls; });
  rt().run([&]() -> goro::task<> {
    co_await f();
    co_await f();
  });
  f.blocking_call();
  EXPECT_EQ(calls, 1);
}

// =================================================================================
// cond
// =================================================================================

class Cond : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Cond);

TEST_P(Cond, SignalWakesOneBroadcastWakesAll) {
  goro::mutex mu;
  goro::cond cv(mu);
  goro::runtime& r = rt();
  rt().run([&]() -> goro::task<> {
    int generation = 0;
    std::atomic<int> woken{0};
    std::vector<goro::join_handle<void>> hs;
    for (int i = 0; i < 3; ++i)
      hs.push_back(goro::spawn([&]() -> goro::task<> {
        co_await mu.lock();
        const int g = generation;
        while (generation == g) co_await cv.wait();
        woken.fetch_add(1);
        mu.unlock();
      }));
    for (auto& h : hs) EXPECT_TRUE(co_await wait_parked(r, h.id()));
    {
      auto g = co_await mu.scoped_lock();
      ++generation;
    }
    cv.signal();
    while (woken.load() < 1) co_await goro::yield();
    std::size_t parked_on_cond = 0;  // the two others still are
    for (const auto& info : r.goroutines())
      if (info.wait_reason != nullptr && std::string(info.wait_reason) == "cond.wait") ++parked_on_cond;
    EXPECT_EQ(parked_on_cond, 2u);
    EXPECT_EQ(woken.load(), 1);
    cv.broadcast();
    for (auto& h : hs) co_await std::move(h);
    EXPECT_EQ(woken.load(), 3);
  });
}

TEST_P(Cond, WaitWithPredicateAndThreads) {
  goro::mutex mu;
  goro::cond cv(mu);
  int ready = 0;
  std::thread t([&] {
    mu.blocking_lock();
    cv.blocking_wait([&] { return ready == 2; });
    ready = 3;
    mu.unlock();
    cv.broadcast();
  });
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < 2; ++i) {
      {
        auto g = co_await mu.scoped_lock();
        ++ready;
      }
      cv.broadcast();
    }
    co_await mu.lock();
    co_await cv.wait([&] { return ready == 3; });
    EXPECT_EQ(ready, 3);
    mu.unlock();
  });
  t.join();
}

TEST_P(Cond, SignalWithoutWaitersIsNotStored) {
  goro::mutex mu;
  goro::cond cv(mu);
  cv.signal();
  cv.broadcast();
  goro::runtime& r = rt();
  rt().run([&]() -> goro::task<> {
    bool woke = false;
    auto h = goro::spawn([&]() -> goro::task<> {
      co_await mu.lock();
      co_await cv.wait();  // the earlier signals must not release this
      woke = true;
      mu.unlock();
    });
    EXPECT_TRUE(co_await wait_parked(r, h.id()));
    EXPECT_FALSE(woke);
    cv.signal();
    co_await std::move(h);
    EXPECT_TRUE(woke);
  });
}

// =================================================================================
// semaphore
// =================================================================================

class Semaphore : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Semaphore);

TEST_P(Semaphore, TryAcquireAndHeld) {
  goro::semaphore sem(3);
  EXPECT_EQ(sem.size(), 3);
  EXPECT_TRUE(sem.try_acquire(2));
  EXPECT_EQ(sem.held(), 2);
  EXPECT_FALSE(sem.try_acquire(2));
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_TRUE(sem.try_acquire(0));  // zero fits while nobody queues
  sem.release(3);
  EXPECT_EQ(sem.held(), 0);
  EXPECT_FALSE(sem.try_acquire(4));
}

TEST_P(Semaphore, TooLargeFailsAtOnce) {
  goro::semaphore sem(2);
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(3), goro::acquire_status::too_large);
    EXPECT_EQ(co_await sem.acquire_for(3, 1h), goro::acquire_status::too_large);
    EXPECT_EQ(co_await sem.acquire(2), goro::acquire_status::ok);
    sem.release(2);
  });
  EXPECT_EQ(sem.blocking_acquire(5), goro::acquire_status::too_large);
  EXPECT_EQ(sem.held(), 0);
}

TEST_P(Semaphore, AcquireWaitsForRelease) {
  goro::semaphore sem(2);
  goro::runtime& r = rt();
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(2), goro::acquire_status::ok);
    auto h = goro::spawn([&]() -> goro::task<goro::acquire_status> { co_return co_await sem.acquire(1); });
    EXPECT_TRUE(co_await wait_parked(r, h.id()));
    sem.release(1);
    EXPECT_EQ(co_await std::move(h), goro::acquire_status::ok);
    EXPECT_EQ(sem.held(), 2);
    sem.release(2);
  });
}

TEST_P(Semaphore, HeadWaiterBlocksLaterSmallerOnes) {
  // FIFO as in x/sync: with 1 of 4 free, a queued acquire(3) keeps a later
  // acquire(1) waiting even though 1 would fit; releasing 2 admits the 3
  // first, then the 1.
  goro::semaphore sem(4);
  goro::runtime& r = rt();
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(3), goro::acquire_status::ok);
    std::vector<int> order;
    goro::mutex mu;
    auto big = goro::spawn([&]() -> goro::task<> {
      EXPECT_EQ(co_await sem.acquire(3), goro::acquire_status::ok);
      auto g = co_await mu.scoped_lock();
      order.push_back(3);
    });
    EXPECT_TRUE(co_await wait_parked(r, big.id()));
    EXPECT_FALSE(sem.try_acquire(1));  // would fit, but somebody is queued
    auto small = goro::spawn([&]() -> goro::task<> {
      EXPECT_EQ(co_await sem.acquire(1), goro::acquire_status::ok);
      auto g = co_await mu.scoped_lock();
      order.push_back(1);
    });
    EXPECT_TRUE(co_await wait_parked(r, small.id()));
    sem.release(3);  // 4 free: the 3 goes in, then the 1
    co_await std::move(big);
    co_await std::move(small);
    EXPECT_EQ(sem.held(), 4);
    EXPECT_EQ(order.size(), 2u);
    sem.release(4);
  });
}

TEST_P(Semaphore, AcquireForTimesOutAndLeavesNoTrace) {
  goro::semaphore sem(1);
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(), goro::acquire_status::ok);
    EXPECT_EQ(co_await sem.acquire_for(1, 2ms), goro::acquire_status::timeout);
    EXPECT_EQ(co_await sem.acquire_for(1, 0ms), goro::acquire_status::timeout);
    EXPECT_EQ(co_await sem.acquire_for(1, -5ms), goro::acquire_status::timeout);
    sem.release();
    EXPECT_EQ(co_await sem.acquire_for(1, 0ms), goro::acquire_status::ok);  // free: ok even at deadline
    sem.release();
  });
  EXPECT_EQ(sem.held(), 0);
  EXPECT_EQ(rt().armed_timers(), 0u);
}

TEST_P(Semaphore, AcquireForSucceedsBeforeTheDeadline) {
  goro::semaphore sem(1);
  goro::runtime& r = rt();
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(), goro::acquire_status::ok);
    auto h = goro::spawn([&]() -> goro::task<goro::acquire_status> { co_return co_await sem.acquire_for(1, 1h); });
    EXPECT_TRUE(co_await wait_parked(r, h.id()));
    sem.release();
    EXPECT_EQ(co_await std::move(h), goro::acquire_status::ok);
    sem.release();
  });
  EXPECT_EQ(rt().armed_timers(), 0u);  // the waiter's timer was disarmed
}

TEST_P(Semaphore, CancelledHeadLetsTheOthersIn) {
  // x/sync TestAllocCancelDoesntStarve, with a timeout for the context: a
  // queued acquire(10) gives up; the acquire(1) queued behind it must then
  // be admitted (1 of 10 is held, 9 are free). On a virtual clock: the
  // timeout can only pass once everything waits, so never before `small`
  // has queued behind `big` (a real 20 ms could pass first on a loaded
  // machine, and `small` would then not park at all).
  goro::semaphore sem(10);
  const auto owned = goro_test::runtime_with(workers(), /*virtual_time=*/true);
  goro::runtime& r = *owned;
  r.run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(1), goro::acquire_status::ok);
    auto big = goro::spawn([&]() -> goro::task<goro::acquire_status> { co_return co_await sem.acquire_for(10, 20ms); });
    EXPECT_TRUE(co_await wait_parked(r, big.id()));
    auto small = goro::spawn([&]() -> goro::task<goro::acquire_status> { co_return co_await sem.acquire(1); });
    EXPECT_TRUE(co_await wait_parked(r, small.id()));
    EXPECT_EQ(co_await std::move(big), goro::acquire_status::timeout);
    EXPECT_EQ(co_await std::move(small), goro::acquire_status::ok);
    EXPECT_EQ(sem.held(), 2);
    sem.release(2);
  });
  goro_test::expect_no_leaks(r);
}

TEST_P(Semaphore, BlockingForms) {
  goro::semaphore sem(2);
  EXPECT_EQ(sem.blocking_acquire(2), goro::acquire_status::ok);
  EXPECT_EQ(sem.blocking_acquire_for(1, 2ms), goro::acquire_status::timeout);
  auto h = rt().spawn([&]() -> goro::task<> {
    co_await goro::yield();
    sem.release(1);
  });
  EXPECT_EQ(sem.blocking_acquire_until(1, std::chrono::steady_clock::now() + 1h),
            goro::acquire_status::ok);
  std::move(h).join();
  sem.release(2);
  EXPECT_EQ(sem.held(), 0);
}

TEST_P(Semaphore, ZeroWeightWaitsBehindQueuedWaiters) {
  goro::semaphore sem(1);
  goro::runtime& r = rt();
  rt().run([&]() -> goro::task<> {
    EXPECT_EQ(co_await sem.acquire(0), goro::acquire_status::ok);  // nobody queued
    EXPECT_EQ(co_await sem.acquire(1), goro::acquire_status::ok);
    auto one = goro::spawn([&]() -> goro::task<> { (void)co_await sem.acquire(1); });
    EXPECT_TRUE(co_await wait_parked(r, one.id()));
    auto zero = goro::spawn([&]() -> goro::task<> { (void)co_await sem.acquire(0); });
    EXPECT_TRUE(co_await wait_parked(r, zero.id()));  // FIFO, even for 0
    sem.release(1);
    co_await std::move(one);
    co_await std::move(zero);
    sem.release(1);
  });
}

// =================================================================================
// wait_group: the blocking form from a plain thread (the goroutine misuse is a death test)
// =================================================================================

class WaitGroupSync : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(WaitGroupSync);

TEST_P(WaitGroupSync, BlockingWaitFromThread) {
  goro::wait_group wg;
  std::atomic<int> n{0};
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < 10; ++i) wg.go([&] { n.fetch_add(1); });
    co_return;
  });
  wg.blocking_wait();
  EXPECT_EQ(n.load(), 10);
}

}  // namespace

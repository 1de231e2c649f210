// Regression: a goroutine made runnable by a running goroutine sat unrun
// while other workers slept. schedule_new skipped notify_work() when the
// local queue and runnext were empty, and schedule_ready skipped it when
// runnext was empty, so the new or woken goroutine waited until the current
// one parked: a parent that kept computing after go(f) got no parallelism,
// and one that spin-waited on a flag the child sets never finished. Found by
// review against Go's runtime, which calls wakep() in newproc and ready().
//
// Each round uses a fresh 4-worker runtime whose other workers are asleep.
// The parent busy-waits (no goro operation, so its worker cannot switch) for
// the child to set a flag; the bound is only a hang guard (the fixed runtime
// starts the child within microseconds), never a timing assertion.
#include <atomic>
#include <chrono>
#include <memory>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
constexpr int kRounds = 10;
constexpr int goro_test_pingpong_rounds = 20000;

// Spins until `flag` is set or the hang guard expires; true if it was set.
bool busy_wait(const std::atomic<bool>& flag) {
  return goro_test::spin_until([&] { return flag.load(std::memory_order_acquire); });
}

// Computes for 2 ms so that workers that were spinning give up and sleep (a
// spinner would otherwise steal the new goroutine and hide the fault). Not a
// synchronisation: the checks hold however long this takes.
void settle() {
  const auto until = std::chrono::steady_clock::now() + 2ms;
  while (std::chrono::steady_clock::now() < until) {
  }
}

std::unique_ptr<goro::runtime> fresh_runtime() { return goro_test::runtime_with(4); }

TEST(IdleWorkersNotWokenForNewWork, SpawnedGoroutineRunsWhileParentComputes) {
  for (int round = 0; round < kRounds; ++round) {
    auto rt = fresh_runtime();
    bool started = rt->run([]() -> goro::task<bool> {
      std::atomic<bool> child_ran{false};
      goro::wait_group wg;
      wg.add(1);
      settle();
      goro::go([&]() -> goro::task<> {
        child_ran.store(true, std::memory_order_release);
        wg.done();
        co_return;
      });
      const bool ok = busy_wait(child_ran);
      co_await wg.wait();  // lets the child finish even if it never ran above
      co_return ok;
    });
    ASSERT_TRUE(started) << "round " << round
                         << ": the child never ran while the parent computed and 3 workers slept";
    EXPECT_TRUE(rt->wait_no_goroutines(30s));
  }
}

TEST(IdleWorkersNotWokenForNewWork, WokenReceiverRunsWhileSenderComputes) {
  for (int round = 0; round < kRounds; ++round) {
    auto rt = fresh_runtime();
    goro::runtime* r = rt.get();
    bool started = rt->run([r]() -> goro::task<bool> {
      std::atomic<bool> received{false};
      auto ch = goro::make_chan<int>(1);
      goro::wait_group wg;
      wg.add(1);
      goro::go([&]() -> goro::task<> {
        auto v = co_await ch.recv();
        received.store(v.has_value(), std::memory_order_release);
        wg.done();
      });
      // Wait (cooperatively) until the receiver is parked in recv.
      while (goro_test::parked(*r) < 1) co_await goro::yield();
      settle();
      // Completes at once (buffered) and readies the receiver into this
      // worker's runnext; this goroutine then keeps its worker busy.
      auto st = co_await ch.send(1);
      EXPECT_EQ(st, goro::send_status::ok);
      const bool ok = busy_wait(received);
      co_await wg.wait();
      co_return ok;
    });
    ASSERT_TRUE(started) << "round " << round
                         << ": the woken receiver never ran while the sender computed";
    EXPECT_TRUE(rt->wait_no_goroutines(30s));
  }
}

// The same shape once the cheap wake path is in use: a ping-pong first makes
// the second worker the runnext watcher (wakers then skip the futex wake), and
// then the sender keeps computing after the wake. The watcher must take the
// receiver out of runnext.
TEST(IdleWorkersNotWokenForNewWork, WokenReceiverRunsWhileSenderComputesAfterPingPong) {
  for (int round = 0; round < kRounds; ++round) {
    goro::runtime_options o;
    o.workers = 2;
    goro::runtime rt(o);
    bool started = rt.run([]() -> goro::task<bool> {
      std::atomic<bool> received{false};
      auto ping = goro::make_chan<int>(0), pong = goro::make_chan<int>(0);
      goro::wait_group wg;
      wg.add(1);
      goro::go([&]() -> goro::task<> {
        while (auto v = co_await ping.recv()) {
          if (*v < 0) {
            received.store(true, std::memory_order_release);
            break;
          }
          (void)co_await pong.send(*v);
        }
        wg.done();
      });
      for (int i = 0; i < goro_test_pingpong_rounds; ++i) {
        (void)co_await ping.send(i);
        (void)co_await pong.recv();
      }
      // The receiver parks in recv; -1 wakes it into this worker's runnext
      // (unbuffered: the send completes against the parked receiver).
      (void)co_await ping.send(-1);
      const bool ok = busy_wait(received);
      co_await wg.wait();
      co_return ok;
    });
    ASSERT_TRUE(started) << "round " << round
                         << ": the woken receiver never ran while the sender computed";
    EXPECT_TRUE(rt.wait_no_goroutines(30s));
  }
}

// A second wake displaces the first woken goroutine from runnext into the
// waker's ring, and that wake does not rouse a worker while the runnext
// watcher looks (schedule_ready): the watcher must take the displaced
// goroutine too, and the one in runnext, while the waker computes.
TEST(IdleWorkersNotWokenForNewWork, GoroutineDisplacedFromRunnextRunsWhileWakerComputes) {
  for (int round = 0; round < kRounds; ++round) {
    goro::runtime_options o;
    o.workers = 2;
    goro::runtime rt(o);
    goro::runtime* r = &rt;
    bool started = rt.run([r]() -> goro::task<bool> {
      std::atomic<bool> first{false}, second{false};
      auto ping = goro::make_chan<int>(0), pong = goro::make_chan<int>(0);
      auto other = goro::make_chan<int>(0);
      goro::wait_group wg;
      wg.add(2);
      goro::go([&]() -> goro::task<> {
        while (auto v = co_await ping.recv()) {
          if (*v < 0) {
            second.store(true, std::memory_order_release);
            break;
          }
          (void)co_await pong.send(*v);
        }
        wg.done();
      });
      goro::go([&]() -> goro::task<> {
        auto v = co_await other.recv();
        first.store(v.has_value(), std::memory_order_release);
        wg.done();
      });
      for (int i = 0; i < goro_test_pingpong_rounds; ++i) {
        (void)co_await ping.send(i);
        (void)co_await pong.recv();
      }
      // Wait (cooperatively) until both partners are parked in recv.
      while (goro_test::parked(*r) < 2) co_await goro::yield();
      // Each send completes against a parked receiver and readies it into
      // this worker's runnext; the second displaces the first into the ring.
      (void)co_await other.send(1);
      (void)co_await ping.send(-1);
      const bool ok = busy_wait(first) && busy_wait(second);
      co_await wg.wait();
      co_return ok;
    });
    ASSERT_TRUE(started) << "round " << round
                         << ": a woken goroutine never ran while its waker computed";
    EXPECT_TRUE(rt.wait_no_goroutines(30s));
  }
}

}  // namespace

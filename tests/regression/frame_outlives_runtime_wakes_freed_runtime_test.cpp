// Regression: frames that outlived their runtime woke into freed memory.
// ~runtime leaves a goroutine's frame alive when a join_handle still holds
// it (the handle destroys it later). When the handle did, the frame's
// destructors ran, e.g. a mutex guard's unlock, which woke a waiter parked
// on that mutex through ready() into the deleted runtime_impl (ASan
// heap-use-after-free in inject, every run). Found by review.
//
// Rule now (runtime.hpp): after ~runtime begins, waking or yielding one of
// its goroutines is a no-op; the runtime's memory stays valid until the last
// frame a join_handle kept is destroyed.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "goro_test.hpp"

namespace {

TEST(FrameOutlivesRuntimeWakesFreedRuntime, GuardUnlockAfterShutdownWakesNobody) {
  for (int round = 0; round < 5; ++round) {
    goro::mutex mu;
    auto never = goro::make_chan<int>();  // nobody sends: the holder parks forever
    std::atomic<bool> locked{false};
    goro::runtime_options o;
    o.workers = 2;
    std::size_t reported = 0;
    o.on_shutdown_alive = [&](const std::vector<goro::goroutine_info>& a) { reported = a.size(); };
    auto rt = std::make_unique<goro::runtime>(o);
    auto holder = rt->spawn([&]() -> goro::task<> {
      auto g = co_await mu.scoped_lock();
      locked = true;
      (void)co_await never.recv();
    });
    while (!locked) std::this_thread::yield();
    auto waiter = rt->spawn([&]() -> goro::task<> {
      co_await mu.lock();
      mu.unlock();
    });
    ASSERT_TRUE(goro_test::wait_parked(*rt, 2));  // holder in recv, waiter in lock

    rt.reset();  // both frames stay alive: their handles hold them
    EXPECT_EQ(reported, 2u);
    // The holder's frame dies now: its guard unlocks `mu` and hands it to
    // the waiter, whose runtime is gone. Must not touch freed memory.
    holder = {};
    EXPECT_THROW(std::move(waiter).join(), std::runtime_error);  // never ran again
  }
}

TEST(FrameOutlivesRuntimeWakesFreedRuntime, HandlesDroppedInEitherOrder) {
  for (int order = 0; order < 2; ++order) {
    auto ch = goro::make_chan<int>();
    goro::runtime_options o;
    o.workers = 2;
    o.on_shutdown_alive = [](const std::vector<goro::goroutine_info>&) {};
    auto rt = std::make_unique<goro::runtime>(o);
    // Both receive, so each frame's destruction unlinks its waiter.
    auto a = rt->spawn([ch]() -> goro::task<> { (void)co_await ch.recv(); });
    auto b = rt->spawn([ch]() -> goro::task<> { (void)co_await ch.recv(); });
    ASSERT_TRUE(goro_test::wait_parked(*rt, 2));
    rt.reset();
    if (order == 0) {
      a = {};
      b = {};
    } else {
      b = {};
      a = {};
    }
    int one = 1;
    EXPECT_EQ(ch.try_send(one), goro::send_status::full);  // no receiver left queued
  }
}

}  // namespace

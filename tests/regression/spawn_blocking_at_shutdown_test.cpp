// Regression: ~runtime destroyed a goroutine parked in spawn_blocking while
// its job was still running on the blocking pool; the job then wrote its
// result into the destroyed awaiter (in the goroutine's frame) and woke a
// freed goroutine. Found by review. Now ~runtime waits for the jobs of its
// goroutines (blocking_begin/blocking_end) before destroying anything.
//
// The job below is still blocked when ~runtime starts, and is released by
// another thread only once the destructor is under way. With the fix the
// destructor cannot return before the job finished (checked exactly); before
// it, it returned at once and the job's late write was a use after free
// (ASan).
#include <atomic>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "goro/goro.hpp"

namespace {

TEST(SpawnBlockingAtShutdown, RuntimeWaitsForTheJob) {
  for (int round = 0; round < 3; ++round) {
    std::atomic<bool> started{false}, destroying{false}, finished{false};
    std::latch release(1);
    std::vector<goro::goroutine_info> alive;
    goro::runtime_options opts;
    opts.workers = 2;
    opts.on_shutdown_alive = [&](const std::vector<goro::goroutine_info>& a) { alive = a; };
    auto rt = std::make_unique<goro::runtime>(opts);
    rt->go([&]() -> goro::task<> {
      int v = co_await goro::spawn_blocking([&] {
        started = true;
        started.notify_all();
        release.wait();
        finished = true;
        return 42;
      });
      (void)v;  // never reached: the runtime is torn down while the job runs
    });
    started.wait(false);
    std::thread releaser([&] {
      destroying.wait(false);
      release.count_down();
    });
    destroying = true;
    destroying.notify_all();
    rt.reset();  // must wait for the job
    EXPECT_TRUE(finished.load()) << "~runtime returned while a spawn_blocking job still ran";
    releaser.join();
    // The goroutine either finished (the job ended before the workers
    // stopped) or was reported alive and destroyed by the shutdown.
    EXPECT_LE(alive.size(), 1u);
  }
}

}  // namespace

// Regression: global_queue::pop_batch read `head_->next` after pushing head_
// onto the worker's local queue. From that push on, a thief may steal the
// goroutine, run it to the end and free its frame, so the link was read from
// freed (or already reused) memory and the global queue could continue with
// a stale pointer: lost or doubly-run goroutines, crashes. TSan reported it
// as a race between a new frame's construction and that read.
//
// Shape that provokes it: several plain threads each spawn a goroutine into
// the global queue and block in join(), so the queue often holds a few and a
// worker takes them as a batch, while other workers steal and finish them
// at once. Each thread builds its next frame (reusing freed memory) before it
// takes the global queue's lock again, which is what lets TSan see the race.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "goro_test.hpp"

using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

// Plain threads each spawn a goroutine and join it, `per_thread` times.
// Returns the number of goroutines that did not run exactly once or whose
// result was wrong.
int spawn_join_from_threads(goro::runtime& rt, int threads, int per_thread) {
  const int total = threads * per_thread;
  auto runs = std::make_unique<std::atomic<std::uint8_t>[]>(total);
  for (int i = 0; i < total; ++i) runs[i].store(0, std::memory_order_relaxed);
  std::atomic<int> wrong{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int k = 0; k < per_thread; ++k) {
        const int i = t * per_thread + k;
        auto h = rt.spawn([&runs, i]() -> goro::task<int> {
          runs[i].fetch_add(1, std::memory_order_relaxed);
          if (i % 3 == 0) co_await goro::yield();
          co_return i;
        });
        if (std::move(h).join() != i) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  int bad = wrong.load();
  for (int i = 0; i < total; ++i) bad += runs[i].load() != 1;
  return bad;
}

class GlobalQueuePopBatch : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(GlobalQueuePopBatch);

TEST_P(GlobalQueuePopBatch, LinkIsReadBeforeTheGoroutineIsPublished) {
  // First fill the frame pool (on a runtime of its own), so that frames freed
  // by workers come straight back to the spawning threads: that reuse is the
  // write TSan checks the stale read against.
  {
    goro::runtime_options o;
    o.workers = 1;
    goro::runtime warm(o);
    EXPECT_EQ(spawn_join_from_threads(warm, 4, scaled(5'000)), 0);
    goro_test::expect_no_leaks(warm);
  }
  EXPECT_EQ(spawn_join_from_threads(rt(), 4, scaled(30'000)), 0) << "goroutines lost, run twice or wrong";
}

}  // namespace

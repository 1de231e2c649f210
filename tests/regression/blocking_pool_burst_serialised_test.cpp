// Regression: a burst of spawn_blocking jobs was serialised on too few pool
// threads. blocking_pool::submit called notify_one() whenever an idle thread
// existed, without reserving it: `idle` dropped only once that thread woke,
// so the next submits of the same burst "found" the same idle thread, queued
// their jobs behind it and started no thread. A job that waits for a job
// submitted after it then waited forever (issue 8, item 2: job A waiting for
// job B timed out 26 of 50 runs). Now every submit hands its job to a thread
// of its own (an idle one it takes off the idle list, or a new one) unless
// the runtime is at its max_blocking_threads.
//
// Each round is a burst of k jobs that all wait for each other (job A waits
// for job B submitted after it, generalised), with k one more than the pool's
// idle threads (the previous round left k - 1 behind): the unfixed pool gave
// the burst only those idle threads. The wait inside the jobs is bounded
// (30 s), so the unfixed pool fails with an assertion instead of hanging.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "blocking_pool_testing.hpp"
#include "goro_test.hpp"

namespace {

// k parties; each arrives and waits (bounded) until all k have arrived.
struct rendezvous {
  explicit rendezvous(int k) : expected(k) {}
  bool arrive_and_wait() {
    std::unique_lock<std::mutex> l(mu);
    if (++arrived == expected) cv.notify_all();
    return cv.wait_for(l, std::chrono::seconds(30), [&] { return arrived == expected; });
  }
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  const int expected;
};

class BlockingPoolBurstSerialised : public goro_test::RuntimeTest {};

TEST_P(BlockingPoolBurstSerialised, JobsWaitingForLaterJobsOfTheBurstComplete) {
  // Start from an empty pool, so that round r finds at most r + 1 idle threads.
  ASSERT_TRUE(goro::detail::testing::retire_blocking_threads());
  for (int round = 0; round < 50; ++round) {
    const int k = round + 2;
    rendezvous all(k);
    std::atomic<int> saw_all{0};
    std::vector<goro::join_handle<void>> jobs;
    for (int i = 0; i < k; ++i) {
      jobs.push_back(rt().spawn([&]() -> goro::task<> {
        co_await goro::spawn_blocking([&] {
          if (all.arrive_and_wait()) saw_all.fetch_add(1);
        });
      }));
    }
    for (auto& j : jobs) std::move(j).join();
    ASSERT_EQ(saw_all.load(), k) << "round " << round << ": of a burst of " << k
                                 << " spawn_blocking jobs waiting for each other, only "
                                 << saw_all.load() << " ran at once within 30 s";
  }
}

GORO_INSTANTIATE_WORKERS(BlockingPoolBurstSerialised);

}  // namespace

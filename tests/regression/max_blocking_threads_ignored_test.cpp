// Regression: runtime_options::max_blocking_threads was ignored (the pool
// capped itself at a hard-coded 512 threads for the whole process; issue 8,
// item 2). Now at most max_blocking_threads spawn_blocking jobs of one
// runtime run at once; the others wait in submission order for a slot.
//
// With cap n and 4n jobs that each block on a gate: exactly n start, and
// once every other job has been submitted (the pool's queued count, a test
// seam) none of them has started. Then the gate opens and every job must
// complete, never more than n at once (counted with atomics by the jobs).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "blocking_pool_testing.hpp"
#include "goro_test.hpp"

namespace {

constexpr unsigned kCap = 3;

class MaxBlockingThreadsIgnored : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    goro::runtime_options o;
    o.workers = GetParam();
    o.max_blocking_threads = kCap;
    rt_ = std::make_unique<goro::runtime>(o);
  }
  void TearDown() override {
    goro_test::expect_no_leaks(*rt_);
    rt_.reset();
  }
  goro::runtime& rt() { return *rt_; }

 private:
  std::unique_ptr<goro::runtime> rt_;
};

struct gate {
  void open() {
    std::lock_guard<std::mutex> l(mu);
    opened = true;
    cv.notify_all();
  }
  bool wait() {  // bounded, so a broken pool fails instead of hanging
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(30), [&] { return opened; });
  }
  std::mutex mu;
  std::condition_variable cv;
  bool opened = false;
};

TEST_P(MaxBlockingThreadsIgnored, AtMostCapJobsOfTheRuntimeRunAtOnce) {
  const int n = static_cast<int>(kCap), total = 4 * n;
  for (int round = 0; round < 5; ++round) {
    gate g;
    std::atomic<int> running{0}, max_running{0}, started{0}, finished{0}, gate_timeouts{0};
    std::vector<goro::join_handle<void>> jobs;
    for (int i = 0; i < total; ++i) {
      jobs.push_back(rt().spawn([&]() -> goro::task<> {
        co_await goro::spawn_blocking([&] {
          int now = running.fetch_add(1) + 1;
          int seen = max_running.load();
          while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
          }
          started.fetch_add(1);
          if (!g.wait()) gate_timeouts.fetch_add(1);
          running.fetch_sub(1);
        });
        finished.fetch_add(1);
      }));
    }
    // Bounded wait for the state "n jobs hold the slots, the others queued".
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!(started.load() == n &&
             goro::detail::testing::blocking_jobs_queued() == static_cast<std::size_t>(total - n)) &&
           started.load() <= n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    EXPECT_EQ(started.load(), n) << "round " << round << ": with max_blocking_threads = " << n
                                 << ", " << started.load() << " jobs started while the first "
                                 << n << " were still running";
    EXPECT_EQ(goro::detail::testing::blocking_jobs_queued(), static_cast<std::size_t>(total - n))
        << "round " << round << ": the jobs beyond the cap were not queued";
    g.open();
    for (auto& j : jobs) std::move(j).join();
    EXPECT_EQ(finished.load(), total) << "round " << round;
    EXPECT_EQ(started.load(), total) << "round " << round;
    EXPECT_LE(max_running.load(), n) << "round " << round << ": more jobs than the cap ran at once";
    EXPECT_EQ(gate_timeouts.load(), 0) << "round " << round;
    EXPECT_EQ(goro::detail::testing::blocking_jobs_queued(), 0u);
  }
}

GORO_INSTANTIATE_WORKERS(MaxBlockingThreadsIgnored);

}  // namespace

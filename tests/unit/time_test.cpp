// Unit tests: sleep_for / sleep_until — deadline order, the lower bound on
// lateness, immediate completion of non-positive sleeps, abandoned sleeps
// (reported and disarmed at runtime shutdown), and an idle runtime that does
// not burn CPU, with or without a far-away timer.
//
// The machine running these is shared and noisy: only the lower bound of a
// sleep is asserted tightly (it is a guarantee); orders and upper bounds are
// checked loosely.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;

namespace {

class Time : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Time);

// Pairs (a, b) with a before b in `seq` and a > b.
int inversions(const std::vector<int>& seq) {
  int n = 0;
  for (std::size_t i = 0; i < seq.size(); ++i)
    for (std::size_t j = i + 1; j < seq.size(); ++j) n += seq[i] > seq[j];
  return n;
}

TEST_P(Time, SleepersWakeInDeadlineOrder) {
  // Sleeper i wakes at base + (i+1)*step. They are started in reverse order,
  // so timers that fired in arming order (or any order unrelated to the
  // deadline) would give about n(n-1)/2 inversions.
  constexpr int n = 12;
  constexpr auto step = 20ms;
  struct wake {
    int index;
    goro::clock::time_point deadline, at;
  };
  std::mutex mu;
  std::vector<wake> wakes;
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    const auto base = goro::clock::now() + step;
    for (int k = 0; k < n; ++k) {
      const int i = n - 1 - k;
      wg.go([&mu, &wakes, i, deadline = base + i * step]() -> goro::task<> {
        co_await goro::sleep_until(deadline);
        auto at = goro::clock::now();
        std::lock_guard<std::mutex> l(mu);
        wakes.push_back({i, deadline, at});
      });
    }
    co_await wg.wait();
  });
  ASSERT_EQ(wakes.size(), static_cast<std::size_t>(n));
  std::vector<int> order;
  for (const wake& w : wakes) {
    order.push_back(w.index);
    EXPECT_GE(w.at, w.deadline) << "sleeper " << w.index << " woke before its deadline";
  }
  std::vector<int> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> expected(n);
  std::iota(expected.begin(), expected.end(), 0);
  ASSERT_EQ(sorted, expected) << "a sleeper woke twice or never";
  // Loose: a stall of the machine can hand several due sleepers to the
  // scheduler at once, and those may run in any order. A quarter of all
  // pairs is far above what a stall of a few steps produces and far below
  // what an order unrelated to the deadlines gives (~n(n-1)/4 to n(n-1)/2).
  std::string seq;
  for (int i : order) seq += std::to_string(i) + " ";
  EXPECT_LE(inversions(order), n * (n - 1) / 8) << "wake order: " << seq;
}

TEST_P(Time, SleepNeverReturnsEarly) {
  constexpr int n = 8;
  std::atomic<int> early{0}, absurd{0};
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < n; ++i) {
      wg.go([&early, &absurd, i]() -> goro::task<> {
        const auto d = 20ms + i * 1ms;
        auto t0 = goro::clock::now();
        co_await goro::sleep_for(d);
        auto slept = goro::clock::now() - t0;
        if (slept < d) early.fetch_add(1);  // hard guarantee
        if (slept > 5s) absurd.fetch_add(1);  // very generous: the machine is noisy
        auto until = goro::clock::now() + 15ms;
        co_await goro::sleep_until(until);
        if (goro::clock::now() < until) early.fetch_add(1);
      });
    }
    co_await wg.wait();
  });
  EXPECT_EQ(early.load(), 0) << "a sleep returned before its deadline";
  EXPECT_EQ(absurd.load(), 0) << "a 20ms sleep took more than 5s";
}

TEST_P(Time, ManyConcurrentSleepsAllWake) {
  // Timers spread over every worker's heap, with equal and distinct deadlines.
  const int n = goro_test::scaled(20'000);
  std::atomic<int> woke{0};
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < n; ++i) {
      wg.go([&woke, i]() -> goro::task<> {
        co_await goro::sleep_for(std::chrono::microseconds(i % 50 * 100));
        woke.fetch_add(1, std::memory_order_relaxed);
      });
    }
    co_await wg.wait();
  });
  EXPECT_EQ(woke.load(), n);
  EXPECT_EQ(rt().armed_timers(), 0u) << "a fired sleep left its timer queued";
}

TEST(TimeImmediate, NonPositiveSleepsAreReadyAtOnce) {
  // The awaiter does not suspend at all (await_ready) for these.
  EXPECT_TRUE(goro::sleep_for(0ns).await_ready());
  EXPECT_TRUE(goro::sleep_for(-5ms).await_ready());
  EXPECT_TRUE(goro::sleep_for(std::chrono::nanoseconds::min()).await_ready());
  EXPECT_TRUE(goro::sleep_until(goro::clock::now() - 1h).await_ready());
  EXPECT_TRUE(goro::sleep_until(goro::clock::time_point::min()).await_ready());
  EXPECT_FALSE(goro::sleep_for(1h).await_ready());
  EXPECT_FALSE(goro::sleep_for(std::chrono::nanoseconds::max()).await_ready());
  EXPECT_FALSE(goro::sleep_until(goro::clock::time_point::max()).await_ready());
}

TEST(TimeImmediate, NonPositiveSleepsDoNotGiveUpTheWorker) {
  // One worker: if any of these sleeps parked the goroutine, the scheduler
  // would sooner or later (LIFO cap, global-queue tick) run the sibling that
  // is waiting in the run queue, and `ran` would be set during the loop.
  goro::runtime_options o;
  o.workers = 1;
  goro::runtime rt(o);
  auto [stayed, ran_after] = rt.run([]() -> goro::task<std::pair<bool, bool>> {
    std::atomic<bool> ran{false};
    auto sibling = goro::spawn([&ran]() -> goro::task<> {
      ran.store(true);
      co_return;
    });
    for (int i = 0; i < 1000; ++i) {
      co_await goro::sleep_for(0ns);
      co_await goro::sleep_for(-5ms);
      co_await goro::sleep_for(std::chrono::nanoseconds::min());
      co_await goro::sleep_until(goro::clock::now() - 1h);
      co_await goro::sleep_until(goro::clock::time_point::min());
    }
    bool still_first = !ran.load();
    co_await std::move(sibling);
    co_return std::pair{still_first, ran.load()};
  });
  EXPECT_TRUE(stayed) << "a non-positive sleep let another goroutine run";
  EXPECT_TRUE(ran_after);
  goro_test::expect_no_leaks(rt);
}

// Counts its own destruction (moved-from copies do not count).
struct destroy_counter {
  std::atomic<int>* n;
  explicit destroy_counter(std::atomic<int>* c) : n(c) {}
  destroy_counter(destroy_counter&& o) noexcept : n(std::exchange(o.n, nullptr)) {}
  destroy_counter(const destroy_counter&) = delete;
  ~destroy_counter() {
    if (n) n->fetch_add(1);
  }
};

class TimeShutdown : public ::testing::TestWithParam<unsigned> {};
GORO_INSTANTIATE_WORKERS(TimeShutdown);

goro::task<> nested_long_sleep(std::atomic<int>* destroyed, goro::wait_group* parked) {
  destroy_counter local(destroyed);  // lives in this task's own frame
  parked->done();
  co_await goro::sleep_for(1h);
  ADD_FAILURE() << "a 1h sleep returned";
}

TEST_P(TimeShutdown, AbandonedSleepsAreReportedAndDisarmed) {
  constexpr int n = 6;
  std::vector<goro::goroutine_info> reported;
  int reports = 0;
  std::atomic<int> destroyed{0};
  std::mutex mu;
  std::set<std::uint64_t> ids;
  goro::wait_group parked;
  {
    goro::runtime_options o;
    o.workers = GetParam();
    o.on_shutdown_alive = [&](const std::vector<goro::goroutine_info>& alive) {
      ++reports;
      reported = alive;
    };
    goro::runtime rt(o);
    parked.add(2 * n);
    for (int i = 0; i < n; ++i) {
      // Directly in the shell (a capture)...
      rt.go([&, guard = destroy_counter(&destroyed)]() -> goro::task<> {
        {
          std::lock_guard<std::mutex> l(mu);
          ids.insert(goro::this_goroutine::id());
        }
        parked.done();
        co_await goro::sleep_for(1h);
        ADD_FAILURE() << "a 1h sleep returned";
      });
      // ...and in a nested task, whose frame the top task owns.
      rt.go([&]() -> goro::task<> {
        {
          std::lock_guard<std::mutex> l(mu);
          ids.insert(goro::this_goroutine::id());
        }
        co_await nested_long_sleep(&destroyed, &parked);
      });
    }
    // Every goroutine is past done() and parks before the workers stop
    // (~runtime joins them after they finish the goroutine they are running).
    parked.blocking_wait();
    EXPECT_EQ(rt.live_goroutines(), static_cast<std::size_t>(2 * n));
  }
  EXPECT_EQ(reports, 1);
  ASSERT_EQ(reported.size(), static_cast<std::size_t>(2 * n));
  std::set<std::uint64_t> got;
  for (const auto& g : reported) {
    got.insert(g.id);
    ASSERT_NE(g.wait_reason, nullptr) << "goroutine " << g.id << " reported as runnable";
    EXPECT_STREQ(g.wait_reason, "sleep");
  }
  EXPECT_EQ(got, ids);
  // Every frame (root and nested) was destroyed, which disarmed its timer
  // before the heaps went away (ASan would flag the node or the heap).
  EXPECT_EQ(destroyed.load(), 2 * n);
}

// ---- an idle runtime does not spin ------------------------------------------

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Fraction of one core the whole process used over a short real-time window.
double idle_cpu_fraction() {
  const double cpu0 = process_cpu_seconds();
  const auto wall0 = std::chrono::steady_clock::now();
  // A measurement window, not synchronisation: nothing is waited for here; the
  // runtime is left alone so that its CPU use while idle can be read.
  std::this_thread::sleep_for(200ms);
  const double cpu = process_cpu_seconds() - cpu0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return cpu / wall;
}

class TimeIdle : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(TimeIdle);

TEST_P(TimeIdle, IdleRuntimeDoesNotSpin) {
  EXPECT_EQ(rt().run([]() -> goro::task<int> {
              co_await goro::yield();
              co_return 1;
            }),
            1);
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  const double used = idle_cpu_fraction();
  EXPECT_LT(used, 0.2) << "an idle runtime with " << workers() << " workers used " << used * 100
                       << "% of a core";
}

class TimeIdleFarTimer : public ::testing::TestWithParam<unsigned> {};
GORO_INSTANTIATE_WORKERS(TimeIdleFarTimer);

TEST_P(TimeIdleFarTimer, RuntimeDoesNotPoll) {
  // A goroutine parked in a 1h sleep: the timer sleeper must sleep until
  // the deadline (or a new earlier one), not wake up periodically to poll.
  std::vector<goro::goroutine_info> reported;
  double used = 0;
  {
    goro::runtime_options o;
    o.workers = GetParam();
    o.on_shutdown_alive = [&](const std::vector<goro::goroutine_info>& alive) { reported = alive; };
    goro::runtime rt(o);
    goro::wait_group parked;
    parked.add(1);
    rt.go([&parked]() -> goro::task<> {
      parked.done();
      co_await goro::sleep_for(1h);
    });
    parked.blocking_wait();
    // Also a timer that did fire, so the sleeper role has changed hands once.
    EXPECT_TRUE(rt.run([]() -> goro::task<bool> {
      co_await goro::sleep_for(1ms);
      co_return true;
    }));
    used = idle_cpu_fraction();
  }
  EXPECT_LT(used, 0.2) << "a runtime with one far timer used " << used * 100 << "% of a core";
  ASSERT_EQ(reported.size(), 1u);
  ASSERT_NE(reported[0].wait_reason, nullptr);
  EXPECT_STREQ(reported[0].wait_reason, "sleep");
}

}  // namespace

// The deadlock report (docs/design/quiescence.md): each shape is reported
// once, through runtime_options::on_deadlock, with the goroutines and what
// they wait on; the callback breaks the deadlock (a non-blocking goro
// operation from outside any goroutine) so that the test ends cleanly. And
// no false report: a plain thread that holds a channel, a sleeping
// goroutine, a running spawn_blocking job each keep the program alive.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"
#include "quiescence.hpp"

using namespace std::chrono_literals;

namespace {

// What on_deadlock saw; `rescue` runs inside the callback.
struct probe {
  std::mutex mu;
  int reports = 0;
  std::vector<goro::goroutine_info> seen;
  std::function<void()> rescue;

  int count() {
    std::lock_guard<std::mutex> l(mu);
    return reports;
  }
  std::size_t waiting_on(const char* reason) {
    std::lock_guard<std::mutex> l(mu);
    return static_cast<std::size_t>(std::count_if(seen.begin(), seen.end(), [&](const auto& g) {
      return g.wait_reason != nullptr && std::strcmp(g.wait_reason, reason) == 0;
    }));
  }
};

class Deadlock : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    goro::runtime_options o;
    o.workers = GetParam();
    o.on_deadlock = [p = &probe_](const std::vector<goro::goroutine_info>& gs) {
      std::function<void()> rescue;
      {
        std::lock_guard<std::mutex> l(p->mu);
        ++p->reports;
        p->seen = gs;
        rescue = p->rescue;
      }
      if (rescue) rescue();
    };
    rt_ = std::make_unique<goro::runtime>(o);
  }
  void TearDown() override {
    goro_test::expect_no_leaks(*rt_);
    rt_.reset();
  }
  goro::runtime& rt() { return *rt_; }
  probe probe_;

 private:
  std::unique_ptr<goro::runtime> rt_;
};
GORO_INSTANTIATE_WORKERS(Deadlock);

goro::task<int> recv_then_send(goro::chan<int> in, goro::chan<int> out) {
  auto v = co_await in.recv();
  if (!v) co_return -1;  // closed by the rescue
  (void)co_await out.send(*v);
  co_return *v;
}

}  // namespace

// Each goroutine waits for the other's channel; main waits for both.
TEST_P(Deadlock, TwoGoroutinesOnTwoChannels) {
  auto a = goro::make_chan<int>();
  auto b = goro::make_chan<int>();
  probe_.rescue = [a, b] {
    a.close();
    b.close();
  };
  int sum = rt().run([a, b]() -> goro::task<int> {
    auto h1 = goro::spawn(recv_then_send, a, b);
    auto h2 = goro::spawn(recv_then_send, b, a);
    int r1 = co_await std::move(h1);
    int r2 = co_await std::move(h2);
    co_return r1 + r2;
  });
  EXPECT_EQ(sum, -2);  // both ended through the rescue
  EXPECT_EQ(probe_.count(), 1);
  std::lock_guard<std::mutex> l(probe_.mu);
  ASSERT_EQ(probe_.seen.size(), 3u);  // main and the two
  for (const auto& g : probe_.seen) {
    EXPECT_NE(g.wait_reason, nullptr) << "goroutine " << g.id << " reported as runnable";
    EXPECT_NE(std::strstr(g.file, "deadlock_test.cpp"), nullptr) << g.file;
  }
}

// One goroutine holds the mutex and waits forever; the others queue on it.
TEST_P(Deadlock, AllBlockedOnOneMutex) {
  constexpr int kWaiters = 5;
  goro::mutex mu;
  auto never = goro::make_chan<int>();
  probe_.rescue = [never] { never.close(); };
  int done = rt().run([&mu, never]() -> goro::task<int> {
    goro::wait_group wg;
    auto locked = goro::make_chan<int>();
    wg.go([&mu, never, locked]() -> goro::task<> {
      co_await mu.lock();
      locked.close();
      (void)co_await never.recv();  // holds the mutex until the rescue
      mu.unlock();
    });
    (void)co_await locked.recv();
    std::atomic<int> n{0};
    for (int i = 0; i < kWaiters; ++i)
      wg.go([&mu, &n]() -> goro::task<> {
        co_await mu.lock();
        n.fetch_add(1);
        mu.unlock();
      });
    co_await wg.wait();
    co_return n.load();
  });
  EXPECT_EQ(done, kWaiters);
  EXPECT_EQ(probe_.count(), 1);
  EXPECT_EQ(probe_.waiting_on("mutex.lock"), static_cast<std::size_t>(kWaiters));
}

// main waits on a wait_group nobody will finish.
TEST_P(Deadlock, MainWaitsOnAWaitGroupNobodyFinishes) {
  goro::wait_group wg;
  probe_.rescue = [&wg] { wg.done(); };
  rt().run([&wg]() -> goro::task<> {
    wg.add(1);
    co_await wg.wait();
  });
  EXPECT_EQ(probe_.count(), 1);
  EXPECT_EQ(probe_.waiting_on("wait_group.wait"), 1u);
}

// A deadlock that was broken and comes back is reported again.
TEST_P(Deadlock, ReportedAgainAfterARescue) {
  auto ch = goro::make_chan<int>(1);
  probe_.rescue = [ch] { (void)ch.try_send(1); };
  rt().run([ch]() -> goro::task<> {
    for (int i = 0; i < 3; ++i) (void)co_await ch.recv();
  });
  EXPECT_EQ(probe_.count(), 3);
}

// No false positive: a plain thread holds the channel, and sends only after
// a deadlock check has run and seen every goroutine asleep (it got as far
// as counting threads, and the plain thread was not accounted for).
TEST_P(Deadlock, PlainThreadHolderIsNotADeadlock) {
  auto ch = goro::make_chan<int>();
  const auto before = goro::detail::testing::deadlock_checks_reaching_threads();
  std::atomic<bool> checked{false};
  std::thread holder([ch, before, &checked] {
    // Bounded: a check runs as soon as the goroutine parks.
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < until) {
      if (goro::detail::testing::deadlock_checks_reaching_threads() != before) {
        checked = true;
        break;
      }
      std::this_thread::yield();
    }
    (void)ch.blocking_send(7);
  });
  int v = rt().run([ch]() -> goro::task<int> {
    auto r = co_await ch.recv();
    co_return r ? *r : -1;
  });
  holder.join();
  EXPECT_TRUE(checked) << "no deadlock check ran while the goroutine waited";
  EXPECT_EQ(v, 7);
  EXPECT_EQ(probe_.count(), 0);
}

// A goroutine asleep on a timer will wake: not a deadlock.
TEST_P(Deadlock, SleepingGoroutineIsNotADeadlock) {
  rt().run([]() -> goro::task<> { co_await goro::sleep_for(20ms); });
  EXPECT_EQ(probe_.count(), 0);
}

// A running spawn_blocking job will wake its goroutine: not a deadlock.
TEST_P(Deadlock, RunningBlockingJobIsNotADeadlock) {
  int v = rt().run([]() -> goro::task<int> {
    co_return co_await goro::spawn_blocking([] {
      std::this_thread::sleep_for(20ms);
      return 3;
    });
  });
  EXPECT_EQ(v, 3);
  EXPECT_EQ(probe_.count(), 0);
}

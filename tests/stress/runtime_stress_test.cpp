// Stress tests for the runtime (docs/design/scheduler.md): spawn/join at a million
// goroutines, no lost wake-up while wakes come from every source at once
// (goroutines, plain threads, the blocking pool, timers), and plain-thread
// spawns racing goroutine spawns.
//
// Invariants checked: every goroutine runs exactly once, every result
// arrives, every test terminates. A lost wake-up shows up as a hang; the
// watchdog turns it into a dump of the goroutines still blocked and an abort,
// well before ctest's timeout.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class watchdog {
 public:
  watchdog(const goro::runtime& rt, std::chrono::seconds limit, const char* what)
      : rt_(rt), what_(what), thread_([this, limit] { watch(limit); }) {}
  ~watchdog() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

 private:
  void watch(std::chrono::seconds limit) {
    std::unique_lock<std::mutex> l(mu_);
    if (cv_.wait_for(l, limit, [this] { return done_; })) return;
    std::fprintf(stderr, "watchdog: '%s' still running after %llds (lost wake-up?); %zu live goroutine(s):\n",
                 what_, static_cast<long long>(limit.count()), rt_.live_goroutines());
    for (const auto& g : rt_.goroutines())
      std::fprintf(stderr, "  goroutine %llu [%s] started at %s:%d\n",
                   static_cast<unsigned long long>(g.id), g.wait_reason ? g.wait_reason : "runnable",
                   g.file, g.line);
    std::fflush(stderr);
    std::abort();
  }
  const goro::runtime& rt_;
  const char* what_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts after the fields it reads
};

constexpr auto kWatchdogLimit = std::chrono::seconds(150);

// One slot per goroutine; each goroutine bumps its own.
struct slots {
  explicit slots(int n) : n(n), v(new std::atomic<std::uint8_t>[n]) {
    for (int i = 0; i < n; ++i) v[i].store(0, std::memory_order_relaxed);
  }
  void hit(int i) { v[i].fetch_add(1, std::memory_order_relaxed); }
  // Slots not hit exactly once (the first few are described in *first).
  int bad(std::string* first) const {
    int bad = 0;
    for (int i = 0; i < n; ++i) {
      int c = v[i].load();
      if (c != 1 && ++bad <= 5) *first += " slot " + std::to_string(i) + "=" + std::to_string(c);
    }
    return bad;
  }
  int n;
  std::unique_ptr<std::atomic<std::uint8_t>[]> v;
};

std::uint64_t xorshift(std::uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

class RuntimeStress : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(RuntimeStress);

// ---- a million goroutines -------------------------------------------------------

TEST_P(RuntimeStress, SpawnJoinMillion) {
  // All handles are held until the end: a million goroutines alive (finished
  // or not) at once, each joined exactly once, in spawn order.
  int n = scaled(1'000'000);
  watchdog wd(rt(), kWatchdogLimit, "SpawnJoinMillion");
  slots s(n);
  struct result {
    long wrong = 0;
    long sum = 0;
  };
  result r = rt().run([&s, n]() -> goro::task<result> {
    std::vector<goro::join_handle<int>> hs;
    hs.reserve(n);
    for (int i = 0; i < n; ++i)
      hs.push_back(goro::spawn(
          [](slots* s, int i) -> goro::task<int> {
            s->hit(i);
            co_return i;
          },
          &s, i));
    result r;
    for (int i = 0; i < n; ++i) {
      int v = co_await std::move(hs[i]);
      r.wrong += v != i;
      r.sum += v;
    }
    co_return r;
  });
  std::string first;
  EXPECT_EQ(s.bad(&first), 0) << first;
  EXPECT_EQ(r.wrong, 0);
  EXPECT_EQ(r.sum, static_cast<long>(n) * (n - 1) / 2);
}

TEST_P(RuntimeStress, WaitGroupGoMillion) {
  // Detached goroutines (freed as they finish), started from a goroutine and
  // counted by a wait_group; half of them are plain functions, not coroutines.
  int n = scaled(1'000'000);
  watchdog wd(rt(), kWatchdogLimit, "WaitGroupGoMillion");
  slots s(n);
  rt().run([&s, n]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < n; ++i) {
      if (i % 2)
        wg.go([&s, i] { s.hit(i); });
      else
        wg.go([](slots* s, int i) -> goro::task<> {
          s->hit(i);
          co_return;
        }, &s, i);
    }
    co_await wg.wait();
  });
  std::string first;
  EXPECT_EQ(s.bad(&first), 0) << first;
}

TEST_P(RuntimeStress, PlainThreadsSpawnAndJoin) {
  // Plain threads spawn onto the runtime (global queue + wake of an idle
  // worker) and block in join(): each round trip crosses the idle/wake
  // handshake in both directions.
  constexpr int threads = 4;
  int per_thread = scaled(20'000);
  watchdog wd(rt(), kWatchdogLimit, "PlainThreadsSpawnAndJoin");
  slots s(threads * per_thread);
  std::atomic<long> wrong{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int k = 0; k < per_thread; ++k) {
        const int i = t * per_thread + k;
        auto h = rt().spawn([&s, i]() -> goro::task<int> {
          s.hit(i);
          if (i % 3 == 0) co_await goro::yield();
          co_return i;
        });
        if (std::move(h).join() != i) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  std::string first;
  EXPECT_EQ(s.bad(&first), 0) << first;
  EXPECT_EQ(wrong.load(), 0);
}

TEST_P(RuntimeStress, SpawnsFromThreadsRaceSpawnsFromGoroutines) {
  // Plain threads (rt.go -> global queue) and goroutines (goro::go -> local
  // queue, overflowing into the global one) start goroutines at the same time.
  constexpr int sources = 3;
  int per_source = scaled(200'000);
  watchdog wd(rt(), kWatchdogLimit, "SpawnsFromThreadsRaceSpawnsFromGoroutines");
  slots s(2 * sources * per_source);
  goro::wait_group all;
  all.add(2 * sources * per_source);
  std::atomic<bool> start{false};
  auto body = [](slots* s, goro::wait_group* all, int i) -> goro::task<> {
    s->hit(i);
    all->done();
    co_return;
  };
  std::vector<goro::join_handle<void>> spawners;
  for (int g = 0; g < sources; ++g) {
    spawners.push_back(rt().spawn([&, g]() -> goro::task<> {
      while (!start.load()) co_await goro::yield();
      for (int k = 0; k < per_source; ++k) {
        const int i = (sources + g) * per_source + k;
        // Some grandchildren: spawned from a goroutine spawned by a goroutine.
        if (k % 64 == 0)
          goro::go([body, &s, &all, i]() -> goro::task<> { co_await body(&s, &all, i); });
        else
          goro::go(body, &s, &all, i);
      }
    }));
  }
  std::vector<std::thread> ts;
  for (int t = 0; t < sources; ++t) {
    ts.emplace_back([&, t] {
      while (!start.load()) std::this_thread::yield();
      for (int k = 0; k < per_source; ++k) rt().go(body, &s, &all, t * per_source + k);
    });
  }
  start.store(true);
  for (auto& t : ts) t.join();
  for (auto& h : spawners) std::move(h).join();
  all.blocking_wait();
  std::string first;
  EXPECT_EQ(s.bad(&first), 0) << first;
}

// ---- no lost wake-ups ---------------------------------------------------------------

// One-shot events: event i fires when its wait_group's counter drops to zero.
struct events {
  explicit events(int n) : wg(new goro::wait_group[n]) {
    for (int i = 0; i < n; ++i) wg[i].add(1);
  }
  goro::wait_group& operator[](int i) { return wg[i]; }
  std::unique_ptr<goro::wait_group[]> wg;
};

TEST_P(RuntimeStress, NoLostWakeUps) {
  // Everything at once, each part counting what it completed:
  //  * goroutine <-> goroutine ping-pong over one-shot wait_groups,
  //  * plain thread <-> goroutine ping-pong (thread parks, goroutine parks),
  //  * sleepers (0, negative and short random sleeps: timer heaps, timer sleeper),
  //  * spawn_blocking loops (wakes from blocking-pool threads),
  //  * join chains (a goroutine parks on the join of a child that sleeps,
  //    yields or blocks),
  //  * plain threads spawning goroutines that fan out with a wait_group and
  //    joining them with join().
  // A lost wake-up anywhere leaves something parked forever: the watchdog
  // reports it. The rounds scale down under sanitizers.
  int rounds = scaled(20000);
  constexpr int gg_pairs = 4, tg_pairs = 2, sleepers = 16, blockers = 4, chains = 8, spawners = 3;
  watchdog wd(rt(), kWatchdogLimit, "NoLostWakeUps");

  std::atomic<long> gg_steps{0}, tg_steps{0}, sleeps{0}, blocking_sum{0}, chain_wrong{0},
      chain_done{0}, spawner_wrong{0}, spawner_done{0};

  std::vector<std::unique_ptr<events>> gg_events, tg_events;
  for (int p = 0; p < gg_pairs; ++p) gg_events.push_back(std::make_unique<events>(2 * rounds));
  for (int p = 0; p < tg_pairs; ++p) tg_events.push_back(std::make_unique<events>(2 * rounds));

  std::vector<goro::join_handle<void>> hs;
  // goroutine <-> goroutine
  for (int p = 0; p < gg_pairs; ++p) {
    events* ev = gg_events[p].get();
    hs.push_back(rt().spawn([ev, rounds, &gg_steps]() -> goro::task<> {
      for (int i = 0; i < rounds; ++i) {
        (*ev)[2 * i].done();
        co_await (*ev)[2 * i + 1].wait();
        gg_steps.fetch_add(1, std::memory_order_relaxed);
      }
    }));
    hs.push_back(rt().spawn([ev, rounds, &gg_steps]() -> goro::task<> {
      for (int i = 0; i < rounds; ++i) {
        co_await (*ev)[2 * i].wait();
        gg_steps.fetch_add(1, std::memory_order_relaxed);
        (*ev)[2 * i + 1].done();
      }
    }));
  }
  // goroutine side of thread <-> goroutine
  for (int p = 0; p < tg_pairs; ++p) {
    events* ev = tg_events[p].get();
    hs.push_back(rt().spawn([ev, rounds, &tg_steps]() -> goro::task<> {
      for (int i = 0; i < rounds; ++i) {
        co_await (*ev)[2 * i].wait();
        tg_steps.fetch_add(1, std::memory_order_relaxed);
        (*ev)[2 * i + 1].done();
      }
    }));
  }
  // sleepers
  int sleeps_each = rounds / 15 + 1;
  for (int k = 0; k < sleepers; ++k) {
    hs.push_back(rt().spawn([k, sleeps_each, &sleeps]() -> goro::task<> {
      std::uint64_t rng = 0x9E3779B97F4A7C15ull * (k + 1);
      for (int i = 0; i < sleeps_each; ++i) {
        switch (xorshift(rng) % 8) {
          case 0: co_await goro::sleep_for(0ns); break;
          case 1: co_await goro::sleep_for(-1ms); break;
          case 2: co_await goro::yield(); break;
          default: co_await goro::sleep_for(std::chrono::microseconds(xorshift(rng) % 300)); break;
        }
        sleeps.fetch_add(1, std::memory_order_relaxed);
      }
    }));
  }
  // spawn_blocking
  int blocking_each = rounds / 4 + 1;
  for (int k = 0; k < blockers; ++k) {
    hs.push_back(rt().spawn([blocking_each, &blocking_sum]() -> goro::task<> {
      for (int i = 0; i < blocking_each; ++i) {
        long v = co_await goro::spawn_blocking([i] { return static_cast<long>(i); });
        blocking_sum.fetch_add(v, std::memory_order_relaxed);
      }
    }));
  }
  // join chains
  int chain_each = rounds / 3 + 1;
  for (int k = 0; k < chains; ++k) {
    hs.push_back(rt().spawn([k, chain_each, &chain_wrong, &chain_done]() -> goro::task<> {
      std::uint64_t rng = 0xD1B54A32D192ED03ull * (k + 1);
      for (int i = 0; i < chain_each; ++i) {
        const unsigned how = xorshift(rng) % 5;
        auto h = goro::spawn([how, i]() -> goro::task<int> {
          switch (how) {
            case 0: co_await goro::yield(); break;
            case 1: co_await goro::sleep_for(std::chrono::microseconds(i % 50)); break;
            case 2: co_await goro::spawn_blocking([] {}); break;
            case 3: {
              auto g = goro::spawn([]() -> goro::task<int> { co_return 1; });
              co_await std::move(g);
              break;
            }
            default: break;  // finishes at once: the joiner may not park at all
          }
          co_return i;
        });
        int v = co_await std::move(h);
        if (v != i) chain_wrong.fetch_add(1);
        chain_done.fetch_add(1, std::memory_order_relaxed);
      }
    }));
  }

  // Plain threads: the thread half of the thread <-> goroutine pairs, and
  // spawners that join what they start.
  std::vector<std::thread> ts;
  for (int p = 0; p < tg_pairs; ++p) {
    events* ev = tg_events[p].get();
    ts.emplace_back([ev, rounds, &tg_steps] {
      for (int i = 0; i < rounds; ++i) {
        (*ev)[2 * i].done();
        (*ev)[2 * i + 1].blocking_wait();
        tg_steps.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  int spawns_each = rounds / 3 + 1;
  for (int t = 0; t < spawners; ++t) {
    ts.emplace_back([&, t] {
      std::uint64_t rng = 0xA0761D6478BD642Full * (t + 1);
      for (int i = 0; i < spawns_each; ++i) {
        const unsigned pause = xorshift(rng) % 4;
        auto h = rt().spawn([i, pause]() -> goro::task<long> {
          std::atomic<long> sum{0};
          goro::wait_group wg;
          for (int c = 0; c < 3; ++c)
            wg.go([&sum, c, pause]() -> goro::task<> {
              if (pause == 0) co_await goro::sleep_for(std::chrono::microseconds(20 * c));
              if (pause == 1) co_await goro::yield();
              sum.fetch_add(c + 1);
            });
          co_await wg.wait();
          co_return sum.load() + i;
        });
        if (std::move(h).join() != 6 + i) spawner_wrong.fetch_add(1);
        spawner_done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }

  for (auto& t : ts) t.join();
  for (auto& h : hs) std::move(h).join();

  EXPECT_EQ(gg_steps.load(), 2L * gg_pairs * rounds);
  EXPECT_EQ(tg_steps.load(), 2L * tg_pairs * rounds);
  EXPECT_EQ(sleeps.load(), static_cast<long>(sleepers) * sleeps_each);
  EXPECT_EQ(blocking_sum.load(), static_cast<long>(blockers) * blocking_each * (blocking_each - 1) / 2);
  EXPECT_EQ(chain_done.load(), static_cast<long>(chains) * chain_each);
  EXPECT_EQ(chain_wrong.load(), 0);
  EXPECT_EQ(spawner_done.load(), static_cast<long>(spawners) * spawns_each);
  EXPECT_EQ(spawner_wrong.load(), 0);
  EXPECT_EQ(rt().armed_timers(), 0u) << "a finished sleep left its timer queued";
}

TEST_P(RuntimeStress, TimerWakesAnIdleRuntime) {
  // The only goroutine sleeps again and again, so every wake-up has to come
  // from the timer sleeper while all other workers are idle.
  int n = scaled(2000);
  watchdog wd(rt(), kWatchdogLimit, "TimerWakesAnIdleRuntime");
  int done = rt().run([n]() -> goro::task<int> {
    int i = 0;
    for (; i < n; ++i) co_await goro::sleep_for(std::chrono::microseconds(i % 3 * 20));
    co_return i;
  });
  EXPECT_EQ(done, n);
}

TEST_P(RuntimeStress, BlockingPoolWakesAnIdleRuntime) {
  // Every wake-up comes from a blocking-pool thread while the workers idle.
  int n = scaled(5000);
  watchdog wd(rt(), kWatchdogLimit, "BlockingPoolWakesAnIdleRuntime");
  long sum = rt().run([n]() -> goro::task<long> {
    long s = 0;
    for (int i = 0; i < n; ++i) s += co_await goro::spawn_blocking([i] { return static_cast<long>(i); });
    co_return s;
  });
  EXPECT_EQ(sum, static_cast<long>(n) * (n - 1) / 2);
}

// Handles dropped from this plain thread while their goroutines end: a
// spawned goroutine's end (goroutine_ops::finish moving its result or
// exception into the shell and destroying its frame, then kDone) races
// the handle's release(). Every exception nobody observed reaches the
// uncaught handler exactly once, every join takes its own goroutine's
// value or exception, and nothing is freed twice or read after it is
// freed (the ASan and TSan builds run this too).
class JoinDropStress : public goro_test::UncaughtCountingTest {};
GORO_INSTANTIATE_WORKERS(JoinDropStress);

TEST_P(JoinDropStress, HandlesDroppedWhileTheirGoroutinesEnd) {
  const int n = scaled(20'000);
  int expect_reported = 0, wrong = 0, threw = 0, expect_threw = 0;
  {
    goro::runtime_options o;
    o.workers = workers();
    goro::runtime rt2(o);  // its destruction below waits out every goroutine's end
    for (int i = 0; i < n; ++i) {
      const bool throws = i % 3 == 0;
      auto h = rt2.spawn([](int i, bool throws) -> goro::task<std::string> {
        if (throws) throw std::runtime_error("end " + std::to_string(i));
        co_return std::string(40, static_cast<char>('a' + i % 26));  // kept in the shell
      }, i, throws);
      if (i % 2 == 0) {  // dropped at once, racing the goroutine's end
        expect_reported += throws;
        continue;
      }
      expect_threw += throws;
      try {
        wrong += std::move(h).join() != std::string(40, static_cast<char>('a' + i % 26));
      } catch (const std::runtime_error& e) {
        ++threw;
        wrong += std::string(e.what()) != "end " + std::to_string(i);
      }
    }
    EXPECT_TRUE(rt2.wait_no_goroutines(std::chrono::seconds(60)));
    // A quiet runtime has run every handler its workers owe
    // (regression/exception_reported_after_quiescence_test.cpp).
    EXPECT_EQ(reported(), expect_reported);
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(threw, expect_threw);
  EXPECT_EQ(reported(), expect_reported);
}

}  // namespace

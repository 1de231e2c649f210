// Deterministic scheduling (runtime_options::seed, run_virtual_seeded,
// find_failing_seed / for_each_seed): the same seed replays the same
// interleaving, different seeds explore different ones, and a planted
// order-dependent bug is found by some seed and reproduced by replaying it.
//
// These tests run on one worker by definition (a seed requires exactly one),
// so they do not use the RuntimeTest fixture; every program joins all its
// goroutines (wait_group) before returning, and a goroutine left alive would
// be destroyed (and printed) by run_virtual's runtime.
#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "goro_test.hpp"
#include "goro/rand.hpp"
#include "goro/testing/virtual_time.hpp"

using namespace std::chrono_literals;

namespace {

using trace_t = std::vector<std::uint64_t>;

// N goroutines appending their id at every step: yields, a mutex (with a
// yield while holding it), an unbuffered channel between even (senders) and
// odd (receivers) ids and a virtual-time sleep. Each also draws one goro::rand
// value (seeded from the scheduling seed on a seeded worker) into a second
// vector, kept out of the trace so that the trace differs only by schedule.
// No plain threads, no real time: both are a function of the seed.
struct traces {
  trace_t order;
  trace_t rand;
};
goro::task<traces> traced_program(int n, int steps) {
  auto trace = std::make_shared<trace_t>();
  auto rand = std::make_shared<trace_t>();
  auto ch = goro::make_chan<int>();
  goro::mutex mu;
  goro::wait_group wg;
  for (int id = 0; id < n; ++id) {
    wg.go([trace, rand, ch, &mu, id, steps]() -> goro::task<> {
      rand->push_back(goro::rand::uint64());
      for (int step = 0; step < steps; ++step) {
        trace->push_back(id);
        co_await goro::yield();
        trace->push_back(100 + id);
        co_await mu.lock();
        trace->push_back(200 + id);
        co_await goro::yield();
        mu.unlock();
        if (id % 2 == 0) {
          (void)co_await ch.send(id);
        } else {
          auto v = co_await ch.recv();
          trace->push_back(300 + static_cast<std::uint64_t>(v.value_or(-1)));
        }
        co_await goro::sleep_for(1ms);
        trace->push_back(400 + id);
      }
    });
  }
  co_await wg.wait();
  co_return traces{*trace, *rand};
}

}  // namespace

TEST(SeededScheduling, SameSeedSameTraceDifferentSeedsDiffer) {
  constexpr int kSeeds = 20;
  std::set<trace_t> distinct, distinct_rand;
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    traces a = goro::testing::run_virtual_seeded(seed, traced_program, 4, 3);
    traces b = goro::testing::run_virtual_seeded(seed, traced_program, 4, 3);
    ASSERT_EQ(a.order.size(), 4u * 3 * 4 + 2u * 3) << "seed " << seed;  // every step ran
    EXPECT_EQ(a.order, b.order) << "seed " << seed << " did not replay";
    EXPECT_EQ(a.rand, b.rand) << "seed " << seed << ": goro::rand did not replay";
    distinct.insert(a.order);
    distinct_rand.insert(a.rand);
  }
  // A PRNG choosing among up to 4 runnable goroutines at every point: 20
  // seeds giving fewer than 2 interleavings would mean the seed is ignored.
  EXPECT_GE(distinct.size(), 2u);
  EXPECT_EQ(distinct_rand.size(), static_cast<std::size_t>(kSeeds));
}

// More runnable goroutines than a worker's ring holds (256): the overflow
// goes through the global queue and must still be replayed exactly.
TEST(SeededScheduling, ManyGoroutinesReplay) {
  const int n = goro_test::scaled(600) < 300 ? 300 : goro_test::scaled(600);
  for (std::uint64_t seed : {7u, 8u}) {
    traces a = goro::testing::run_virtual_seeded(seed, traced_program, n, 1);
    traces b = goro::testing::run_virtual_seeded(seed, traced_program, n, 1);
    ASSERT_EQ(a.order.size(), static_cast<std::size_t>(n) * 4 + static_cast<std::size_t>(n / 2));
    EXPECT_EQ(a.order, b.order) << "seed " << seed << " did not replay";
  }
}

// A goroutine that never blocks is cut after a fixed number of completed
// operations (not after 1 ms of real time), so even a busy loop replays.
TEST(SeededScheduling, BudgetCutsReplay) {
  auto busy = []() -> goro::task<trace_t> {
    auto trace = std::make_shared<trace_t>();
    goro::wait_group wg;
    for (int id = 0; id < 3; ++id)
      wg.go([trace, id]() -> goro::task<> {
        goro::mutex mu;  // uncontended: every lock completes without blocking
        for (int i = 0; i < 1000; ++i) {
          co_await mu.lock();
          mu.unlock();
          trace->push_back(static_cast<std::uint64_t>(id));
        }
      });
    co_await wg.wait();
    co_return *trace;
  };
  std::set<trace_t> distinct;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    trace_t a = goro::testing::run_virtual_seeded(seed, busy);
    trace_t b = goro::testing::run_virtual_seeded(seed, busy);
    ASSERT_EQ(a.size(), 3000u);
    EXPECT_EQ(a, b) << "seed " << seed;
    distinct.insert(a);
  }
  EXPECT_GE(distinct.size(), 2u);  // the cuts interleave the three loops differently
}

TEST(SeededScheduling, RejectsMoreThanOneWorker) {
  goro::runtime_options o;
  o.workers = 2;
  o.seed = 42;
  try {
    goro::runtime rt(o);
    FAIL() << "a seeded runtime with 2 workers was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("exactly 1 worker"), std::string::npos) << e.what();
  }
  o.workers = 1;
  goro::runtime rt(o);  // one worker is fine, with or without virtual time
  EXPECT_EQ(rt.run([]() -> goro::task<int> {
              co_await goro::yield();
              co_return 5;
            }),
            5);
}

TEST(SeededScheduling, ParseSeed) {
  EXPECT_EQ(goro::detail::parse_seed(nullptr), 0u);
  EXPECT_EQ(goro::detail::parse_seed(""), 0u);
  EXPECT_EQ(goro::detail::parse_seed("17"), 17u);
  EXPECT_EQ(goro::detail::parse_seed("18446744073709551615"), 18446744073709551615u);
  testing::internal::CaptureStderr();
  EXPECT_EQ(goro::detail::parse_seed("0"), 0u);
  EXPECT_EQ(goro::detail::parse_seed("-3"), 0u);
  EXPECT_EQ(goro::detail::parse_seed("12x"), 0u);
  EXPECT_EQ(goro::detail::parse_seed("18446744073709551616"), 0u);  // overflows
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("goro: ignoring GORO_SEED=12x"), std::string::npos) << err;
}

namespace {

// The planted bug: "claim once" written as check-then-act across a
// suspension point. Two goroutines; the second does one yield first. Each
// checks `claimed`, yields (think: an await on I/O), then sets it and counts
// itself a winner. Single worker: no data race, only an order-dependent bug.
// Returns true when exactly one goroutine claimed (the intended outcome).
goro::task<bool> claim_once() {
  auto claimed = std::make_shared<bool>(false);
  auto winners = std::make_shared<int>(0);
  goro::wait_group wg;
  for (int id = 0; id < 2; ++id)
    wg.go([claimed, winners, id]() -> goro::task<> {
      if (id == 1) co_await goro::yield();
      if (!*claimed) {
        co_await goro::yield();
        *claimed = true;
        ++*winners;
      }
    });
  co_await wg.wait();
  co_return *winners == 1;
}

}  // namespace

TEST(SeededScheduling, FindsAndReplaysPlantedOrderBug) {
  if (goro::detail::seed_from_env() != 0) GTEST_SKIP() << "GORO_SEED pins the seed search";
  testing::internal::CaptureStderr();
  std::optional<std::uint64_t> bad = goro::testing::find_failing_seed(
      1, 200, [](std::uint64_t seed) { return goro::testing::run_virtual_seeded(seed, claim_once); });
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(bad.has_value()) << "no seed in [1, 200) exposed the check-then-act bug";
  EXPECT_GE(*bad, 1u);
  EXPECT_LT(*bad, 201u);
  const std::string s = std::to_string(*bad);
  EXPECT_NE(err.find("goro: failing seed " + s + " (replay with seed = " + s), std::string::npos)
      << err;
  // Replaying the reported seed fails again, every time.
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE(goro::testing::run_virtual_seeded(*bad, claim_once)) << "replay " << i;
  // And the seeds before it pass again: the search stopped at the first failure.
  for (std::uint64_t seed = 1; seed < *bad; ++seed)
    EXPECT_TRUE(goro::testing::run_virtual_seeded(seed, claim_once)) << "seed " << seed;
}

// The search itself: stops at the first failing run, counting a failure
// recorded elsewhere (the probe stands in for gtest's failed assertions), a
// false return, and an exception (printed, then propagated).
TEST(SeededScheduling, SeedSearchStopsAtFirstFailure) {
  if (goro::detail::seed_from_env() != 0) GTEST_SKIP() << "GORO_SEED pins the seed search";
  int recorded = 0;
  std::vector<std::uint64_t> ran;
  auto probe = [&recorded] { return recorded; };
  testing::internal::CaptureStderr();
  auto f1 = [&](std::uint64_t seed) {
    ran.push_back(seed);
    if (seed == 13) ++recorded;  // as an EXPECT_* failing inside the run
  };
  EXPECT_EQ(goro::detail::search_seeds(10, 10, f1, probe, goro::detail::print_failing_seed),
            std::optional<std::uint64_t>(13));
  EXPECT_EQ(ran, (std::vector<std::uint64_t>{10, 11, 12, 13}));

  auto f2 = [](std::uint64_t seed) { return seed != 4; };
  EXPECT_EQ(goro::testing::find_failing_seed(1, 10, f2), std::optional<std::uint64_t>(4));
  auto f3 = [](std::uint64_t) { return true; };
  EXPECT_FALSE(goro::testing::find_failing_seed(0, 5, f3).has_value());  // seed 0 is skipped

  auto f4 = [](std::uint64_t seed) {
    if (seed == 3) throw std::runtime_error("boom");
  };
  EXPECT_THROW((void)goro::testing::find_failing_seed(1, 10, f4), std::runtime_error);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("goro: failing seed 13 "), std::string::npos) << err;
  EXPECT_NE(err.find("goro: failing seed 4 "), std::string::npos) << err;
  EXPECT_NE(err.find("goro: failing seed 3 "), std::string::npos) << err;
}

// gtest's for_each_seed over a correct program: every seed runs, none fails.
TEST(SeededScheduling, ForEachSeedPassesACorrectProgram) {
  if (goro::detail::seed_from_env() != 0) GTEST_SKIP() << "GORO_SEED pins the seed search";
  int runs = 0;
  auto bad = goro::testing::for_each_seed(1, 20, [&runs](std::uint64_t seed) {
    ++runs;
    goro::testing::run_virtual_seeded(seed, []() -> goro::task<> {
      auto total = std::make_shared<int>(0);
      goro::mutex mu;
      goro::wait_group wg;
      for (int id = 0; id < 3; ++id)
        wg.go([total, &mu]() -> goro::task<> {
          co_await mu.lock();
          const int seen = *total;
          co_await goro::yield();  // under the lock: no lost update
          *total = seen + 1;
          mu.unlock();
        });
      co_await wg.wait();
      EXPECT_EQ(*total, 3);
    });
  });
  EXPECT_FALSE(bad.has_value());
  EXPECT_EQ(runs, 20);
}

namespace {
// Which case a select takes among several ready ones: 64 selects over four
// channels that all hold a value, each refilled after it fires.
goro::task<std::vector<std::uint64_t>> select_choices() {
  std::vector<goro::chan<int>> cs;
  for (int i = 0; i < 4; ++i) {
    cs.push_back(goro::make_chan<int>(1));
    (void)cs.back().try_send(i);
  }
  std::vector<std::uint64_t> picks;
  for (int i = 0; i < 64; ++i) {
    auto r = co_await goro::select(goro::recv(cs[0]), goro::recv(cs[1]), goro::recv(cs[2]),
                                   goro::recv(cs[3]));
    picks.push_back(r.index());
    (void)cs[r.index()].try_send(static_cast<int>(r.index()));
  }
  co_return picks;
}
}  // namespace

// The select's choice replays under a seed and differs across seeds.
TEST(SeededScheduling, SelectChoiceAmongReadyCasesReplays) {
  std::set<std::vector<std::uint64_t>> distinct;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    auto a = goro::testing::run_virtual_seeded(seed, select_choices);
    auto b = goro::testing::run_virtual_seeded(seed, select_choices);
    EXPECT_EQ(a, b) << "seed " << seed;
    distinct.insert(a);
  }
  EXPECT_GE(distinct.size(), 2u);
}

// Stress tests for errgroup and singleflight: many producers (goroutines and
// plain threads) and many callers, with the invariants checked:
//  * errgroup: every f runs exactly once (none lost in the queue, none run
//    twice), never more than the limit active, the returned error is one
//    that some f returned, an exception is rethrown;
//  * singleflight: every caller gets its own key's value, whatever forget()
//    does concurrently; a flight's exception reaches only its own callers;
//  * lifetime: a group freed right after wait() returns (checked under ASan).
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <goro/goro.hpp>

#include "goro_test.hpp"

using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class ErrgroupStress : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(ErrgroupStress);

void bump_max(std::atomic<int>& max, int v) {
  int m = max.load();
  while (v > m && !max.compare_exchange_weak(m, v)) {
  }
}

TEST_P(ErrgroupStress, GoroutineAndThreadProducersWithLimitAndErrors) {
  constexpr int kLimit = 5;
  constexpr int kGoProducers = 4, kThreadProducers = 2;
  const int per = scaled(5000);
  const int total = (kGoProducers + kThreadProducers) * per;
  auto ran = std::make_unique<std::atomic<std::uint8_t>[]>(total);
  std::atomic<int> active{0}, max_active{0};
  goro::errgroup g;
  g.set_limit(kLimit);
  auto task_for = [&](int id) {
    return [&, id]() -> goro::task<std::error_code> {
      bump_max(max_active, active.fetch_add(1) + 1);
      if (id % 3 == 0) co_await goro::yield();
      ran[id].fetch_add(1);
      active.fetch_sub(1);
      if (id % 97 == 0) co_return std::error_code(1000 + id, std::generic_category());
      co_return std::error_code();
    };
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreadProducers; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < per; ++i) g.blocking_go(task_for((kGoProducers + t) * per + i));
    });
  rt().run([&]() -> goro::task<> {
    goro::wait_group producers;
    for (int p = 0; p < kGoProducers; ++p)
      producers.go([&, p]() -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          if (i % 4 != 0) co_await g.ready();  // some go() calls queue instead
          g.go(task_for(p * per + i));
        }
      });
    co_await producers.wait();
  });
  for (auto& t : threads) t.join();
  goro::error err = g.blocking_wait();
  EXPECT_TRUE(err);
  EXPECT_EQ(err.code().value() % 97, 1000 % 97) << err.message();
  int missing = 0, twice = 0;
  for (int i = 0; i < total; ++i) {
    missing += ran[i].load() == 0;
    twice += ran[i].load() > 1;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(twice, 0);
  EXPECT_LE(max_active.load(), kLimit);
}

TEST_P(ErrgroupStress, ManyShortLivedGroupsFreedRightAfterWait) {
  const int groups = scaled(3000);
  std::atomic<int> ran{0};
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < groups; ++i) {
      auto g = std::make_unique<goro::errgroup>(goro::background());
      if (i % 2) g->set_limit(2);
      for (int j = 0; j < 4; ++j) g->go([&ran] { ran.fetch_add(1); });
      goro::error e = co_await g->wait();
      EXPECT_FALSE(e);
      g.reset();  // the last goroutine may still be returning from done()
    }
  });
  EXPECT_EQ(ran.load(), groups * 4);
}

TEST_P(ErrgroupStress, ExceptionsFromManyGoroutines) {
  const int n = scaled(5000);
  std::atomic<int> thrown{0};
  rt().run([&]() -> goro::task<> {
    auto [g, ctx] = goro::errgroup::with_context(goro::background());
    for (int i = 0; i < n; ++i)
      g.go([&thrown, i]() -> goro::task<> {
        co_await goro::yield();
        if (i % 10 == 0) {
          thrown.fetch_add(1);
          throw std::runtime_error("boom " + std::to_string(i));
        }
      });
    bool rethrown = false;
    try {
      (void)co_await g.wait();
    } catch (const std::runtime_error& e) {
      rethrown = std::string(e.what()).rfind("boom ", 0) == 0;
    }
    EXPECT_TRUE(rethrown);
    EXPECT_EQ(ctx.err(), goro::canceled);
    EXPECT_EQ(goro::cause(ctx).message().rfind("boom ", 0), 0u);
  });
  EXPECT_EQ(thrown.load(), (n + 9) / 10);
}

TEST_P(ErrgroupStress, SingleflightCallersAndForgetRace) {
  const int callers = scaled(4000);
  constexpr int keys = 8;
  std::atomic<int> wrong{0}, executions{0}, exceptions{0};
  rt().run([&]() -> goro::task<> {
    goro::singleflight::group<int, long> g;
    goro::wait_group wg;
    for (int i = 0; i < callers; ++i)
      wg.go([&, i]() -> goro::task<> {
        const int k = i % keys;
        auto f = [&executions, k]() -> goro::task<long> {
          int e = executions.fetch_add(1);
          co_await goro::yield();
          if (e % 13 == 0) throw std::runtime_error("flaky");
          co_return k * 1000L;
        };
        if (i % 50 == 0) g.forget(k);
        try {
          goro::singleflight::result<long> r = co_await g.call(k, f);
          if (r.value != k * 1000L) wrong.fetch_add(1);
        } catch (const std::runtime_error&) {
          exceptions.fetch_add(1);
        }
      });
    co_await wg.wait();
  });
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GE(executions.load(), 1);
  EXPECT_LE(executions.load(), callers);
  EXPECT_LE(exceptions.load(), callers);
}

}  // namespace

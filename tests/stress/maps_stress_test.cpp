// Stress tests for goro::sync_map, goro::sharded_map and goro::pool: many
// goroutines (and plain threads) on one object, with exact checks:
//  * counters bumped with compare_and_swap (sync_map) / update (sharded_map)
//    from 8 goroutines sum to exactly the increments made, while other keys
//    churn (stores and deletes force sync_map's dirty-map rebuilds and
//    promotions to race with the CASes);
//  * load_or_store on a fresh key from 8 goroutines stores exactly once and
//    everyone gets the winner's value;
//  * each goroutine owns a key range and checks every result against its
//    own model (exact, since nobody else writes its keys) while the others
//    churn theirs and a ranger checks no key is visited twice;
//  * pool: an object is never handed to two users at once; objects made =
//    destroyed + idle at the end.
// Nothing sleeps; a hang becomes a failure by a bounded wait.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class MapsStress : public RuntimeTest {
 protected:
  template <class F>
  void run_bounded(F body, std::chrono::seconds limit = 120s) {
    auto h = rt().spawn(std::move(body));
    ASSERT_TRUE(rt().wait_no_goroutines(limit)) << "hung: " << rt().live_goroutines() << " goroutines left";
    std::move(h).join();
  }
};
GORO_INSTANTIATE_WORKERS(MapsStress);

constexpr int kGoroutines = 8;
constexpr int kCounters = 16;

// Stores and deletes keys [base, base + 64) over and over until stop: new
// keys force sync_map to rebuild its dirty map (expunging deleted entries),
// loads of them count misses and promote it.
goro::task<> churn(goro::sync_map<long, long>* m, long base, const std::atomic<bool>* stop) {
  for (long i = 0; !stop->load(std::memory_order_relaxed); ++i) {
    long k = base + i % 64;
    if (i % 3 == 0) m->erase(k);
    else m->store(k, i);
    (void)m->load(base + (i * 7) % 64);
    if (i % 32 == 0) co_await goro::yield();
  }
}

TEST_P(MapsStress, SyncMapCompareAndSwapCountersAreExact) {
  goro::sync_map<long, long> m;
  const int per = scaled(40'000);
  std::array<std::array<long, kCounters>, kGoroutines> mine{};
  std::atomic<bool> stop{false};
  run_bounded([&]() -> goro::task<> {
    goro::wait_group churners, wg;
    churners.go(churn, &m, 1000, &stop);
    churners.go(churn, &m, 2000, &stop);
    for (int g = 0; g < kGoroutines; ++g)
      wg.go([&, g]() -> goro::task<> {
        std::mt19937 r(g);
        for (int i = 0; i < per; ++i) {
          long k = static_cast<long>(r() % kCounters);
          (void)m.load_or_store(k, 0);  // every goroutine races to create it
          for (;;) {
            std::optional<long> cur = m.load(k);
            if (!cur) {
              ADD_FAILURE() << "counter " << k << " vanished";
              co_return;
            }
            if (m.compare_and_swap(k, *cur, *cur + 1)) break;
          }
          ++mine[g][k];
          if (i % 64 == 0) co_await goro::yield();
        }
      });
    co_await wg.wait();
    stop = true;
    co_await churners.wait();
  });
  long total = 0;
  for (int k = 0; k < kCounters; ++k) {
    long want = 0;
    for (int g = 0; g < kGoroutines; ++g) want += mine[g][k];
    EXPECT_EQ(m.load(k).value_or(-1), want) << "counter " << k;
    total += want;
  }
  EXPECT_EQ(total, long{kGoroutines} * per);
}

TEST_P(MapsStress, SyncMapSwapAndDeleteAccountForEveryValue) {
  // Tokens 1..N are swapped into one key by 8 goroutines and taken out by
  // load_and_delete; every token comes out exactly once (as a swap's
  // previous value, a load_and_delete result, or the final value).
  goro::sync_map<int, long> m;
  const int per = scaled(20'000);
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(kGoroutines * per + 1));
  run_bounded([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < kGoroutines; ++g)
      wg.go([&, g]() -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          long token = long{g} * per + i + 1;
          if (auto prev = m.swap(0, token)) seen[static_cast<std::size_t>(*prev)].fetch_add(1);
          if (i % 5 == 0)
            if (auto v = m.load_and_delete(0)) seen[static_cast<std::size_t>(*v)].fetch_add(1);
          if (i % 64 == 0) co_await goro::yield();
        }
      });
    co_await wg.wait();
  });
  if (auto v = m.load(0)) seen[static_cast<std::size_t>(*v)].fetch_add(1);
  for (std::size_t t = 1; t < seen.size(); ++t) ASSERT_EQ(seen[t].load(), 1) << "token " << t;
}

template <class Map>
void load_or_store_exactly_once(MapsStress& t, goro::runtime& rt, Map& m) {
  const int rounds = scaled(200);
  constexpr int keys = 32;
  for (int round = 0; round < rounds; ++round) {
    std::array<std::atomic<int>, keys> stores{};
    std::array<std::atomic<long>, keys> winner{};
    for (auto& w : winner) w = -1;
    std::atomic<int> mismatches{0};
    rt.run([&]() -> goro::task<> {
      goro::wait_group wg;
      for (int g = 0; g < kGoroutines; ++g)
        wg.go([&, g]() -> goro::task<> {
          for (int j = 0; j < keys; ++j) {
            int k = (j + g * 5) % keys;  // different orders
            auto [v, loaded] = m.load_or_store(long{round} * keys + k, long{g});
            if (!loaded) {
              stores[k].fetch_add(1);
              if (v != g) mismatches.fetch_add(1);
            }
            long expect = -1;
            if (!winner[k].compare_exchange_strong(expect, v) && expect != v) mismatches.fetch_add(1);
            if (j % 8 == 0) co_await goro::yield();
          }
        });
      co_await wg.wait();
    });
    for (int k = 0; k < keys; ++k) ASSERT_EQ(stores[k].load(), 1) << "round " << round << " key " << k;
    ASSERT_EQ(mismatches.load(), 0) << "round " << round;
    // And the map agrees with the winners.
    for (int k = 0; k < keys; ++k) ASSERT_EQ(m.load(long{round} * keys + k), winner[k].load());
  }
  (void)t;
}

TEST_P(MapsStress, SyncMapLoadOrStoreStoresExactlyOnce) {
  goro::sync_map<long, long> m;
  load_or_store_exactly_once(*this, rt(), m);
}

TEST_P(MapsStress, ShardedMapLoadOrStoreStoresExactlyOnce) {
  goro::sharded_map<long, long> m(8);
  load_or_store_exactly_once(*this, rt(), m);
}

// Each goroutine owns keys [g * kOwn, (g + 1) * kOwn) and checks each result
// against its model; values encode their key (v / 1'000'000 == key) so a
// ranger can check that it never sees a value under the wrong key.
constexpr long kOwn = 64;
constexpr long kEnc = 1'000'000;

template <class Map>
goro::task<> owner(Map* m, int g, int ops, std::atomic<int>* failures) {
  std::unordered_map<long, long> model;
  std::mt19937 r(static_cast<unsigned>(g) * 7919u);
  for (int i = 0; i < ops; ++i) {
    long k = g * kOwn + static_cast<long>(r() % kOwn);
    long v = k * kEnc + i;
    auto it = model.find(k);
    std::optional<long> want = it == model.end() ? std::nullopt : std::optional<long>(it->second);
    bool ok = true;
    switch (r() % 7) {
      case 0:
        ok = m->load(k) == want;
        break;
      case 1:
        m->store(k, v);
        model[k] = v;
        break;
      case 2: {
        auto [a, loaded] = m->load_or_store(k, v);
        ok = loaded == want.has_value() && a == (want ? *want : v);
        if (!want) model[k] = v;
        break;
      }
      case 3:
        ok = m->load_and_delete(k) == want;
        model.erase(k);
        break;
      case 4:
        ok = m->erase(k) == want.has_value();
        model.erase(k);
        break;
      case 5:
        if constexpr (requires { m->swap(k, v); }) {
          ok = m->swap(k, v) == want;
        } else {
          m->update(k, [&](std::optional<long>& slot) {
            ok = slot == want;
            slot = v;
          });
        }
        model[k] = v;
        break;
      case 6:
        if constexpr (requires { m->compare_and_swap(k, v, v); }) {
          long old = want ? *want : 0;
          bool swapped = m->compare_and_swap(k, old, v);
          ok = swapped == want.has_value();
          if (swapped) model[k] = v;
          if (want && r() % 2 == 0) {
            bool deleted = m->compare_and_delete(k, model[k]);
            ok = ok && deleted;
            model.erase(k);
          }
        } else {
          ok = m->contains(k) == want.has_value();
        }
        break;
    }
    if (!ok) {
      failures->fetch_add(1);
      ADD_FAILURE() << "goroutine " << g << " op " << i << " key " << k << ": result differs from the model";
      co_return;
    }
    if (i % 32 == 0) co_await goro::yield();
  }
  // Final: the map holds exactly the model for these keys.
  for (long k = g * kOwn; k < (g + 1) * kOwn; ++k) {
    auto it = model.find(k);
    std::optional<long> want = it == model.end() ? std::nullopt : std::optional<long>(it->second);
    if (m->load(k) != want) {
      failures->fetch_add(1);
      ADD_FAILURE() << "goroutine " << g << " final key " << k;
    }
  }
}

template <class Map>
void disjoint_models(MapsStress& t, Map& m, goro::runtime& rt) {
  const int ops = scaled(30'000);
  std::atomic<int> failures{0};
  std::atomic<bool> stop{false};
  std::atomic<long> ranges{0};
  rt.run([&]() -> goro::task<> {
    goro::wait_group wg, ranger;
    ranger.go([&]() -> goro::task<> {
      while (!stop.load()) {
        std::vector<bool> seen(kGoroutines * kOwn);
        auto visit = [&](const long& k, const long& v) {
          if (v / kEnc != k) {
            failures.fetch_add(1);
            ADD_FAILURE() << "value " << v << " under key " << k;
          }
          if (seen[static_cast<std::size_t>(k)]) {
            failures.fetch_add(1);
            ADD_FAILURE() << "key " << k << " visited twice";
          }
          seen[static_cast<std::size_t>(k)] = true;
          return true;
        };
        if constexpr (requires { m.range(visit); }) m.range(visit);
        else m.for_each(visit);
        ranges.fetch_add(1);
        co_await goro::yield();
      }
    });
    for (int g = 0; g < kGoroutines; ++g) wg.go(owner<Map>, &m, g, ops, &failures);
    co_await wg.wait();
    stop = true;
    co_await ranger.wait();
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(ranges.load(), 0);
  (void)t;
}

TEST_P(MapsStress, SyncMapDisjointOwnersMatchTheirModels) {
  goro::sync_map<long, long> m;
  disjoint_models(*this, m, rt());
}

TEST_P(MapsStress, ShardedMapDisjointOwnersMatchTheirModels) {
  goro::sharded_map<long, long> m(16);
  disjoint_models(*this, m, rt());
}

TEST_P(MapsStress, ShardedMapUpdateCountersAreExactWithThreads) {
  goro::sharded_map<long, long> m(4);  // few shards: contention
  const int per = scaled(50'000);
  auto bump = [&](long k) { m.update(k, [](std::optional<long>& v) { v = v.value_or(0) + 1; }); };
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < per; ++i) {
        bump((i + t) % kCounters);
        if (i % 10 == 0) m.store(100 + i % 50, i);
      }
    });
  run_bounded([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < kGoroutines; ++g)
      wg.go([&, g]() -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          bump((i + g) % kCounters);
          if (i % 10 == 0) m.erase(100 + i % 50);
          if (i % 64 == 0) co_await goro::yield();
        }
      });
    co_await wg.wait();
  });
  for (auto& th : threads) th.join();
  long total = 0;
  for (long k = 0; k < kCounters; ++k) total += m.load(k).value_or(0);
  EXPECT_EQ(total, long{kGoroutines + 2} * per);
}

TEST_P(MapsStress, PoolNeverSharesAnObjectAndAccountsForAll) {
  static std::atomic<long> made{0}, destroyed{0};
  made = 0;
  destroyed = 0;
  struct Obj {
    Obj() { made.fetch_add(1); }
    ~Obj() { destroyed.fetch_add(1); }
    std::atomic<int> users{0};
  };
  std::atomic<int> failures{0};
  const int per = scaled(50'000);
  {
    goro::pool<Obj> p(4);  // smaller than the number of users: puts get dropped
    auto use = [&](int i) {
      auto h = p.acquire();
      if (h->users.fetch_add(1) != 0) failures.fetch_add(1);
      if (i % 3 == 0) {
        auto h2 = p.acquire();  // two at once
        if (h2.get() == h.get()) failures.fetch_add(1);
      }
      h->users.fetch_sub(1);
      if (p.idle() > p.capacity()) failures.fetch_add(1);
    };
    std::thread th([&] {
      for (int i = 0; i < per; ++i) use(i);
    });
    run_bounded([&]() -> goro::task<> {
      goro::wait_group wg;
      for (int g = 0; g < kGoroutines; ++g)
        wg.go([&]() -> goro::task<> {
          for (int i = 0; i < per; ++i) {
            use(i);
            if (i % 16 == 0) co_await goro::yield();
          }
        });
      co_await wg.wait();
    });
    th.join();
    EXPECT_EQ(made.load() - destroyed.load(), static_cast<long>(p.idle()));
    EXPECT_LE(p.idle(), 4u);
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(made.load(), destroyed.load());
}

}  // namespace

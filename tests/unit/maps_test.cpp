// Unit tests: goro::sync_map and goro::sharded_map — one behaviour each,
// from goroutines and from plain threads. Go's own sync.Map tests are ported
// in tests/ported/sync_map_test.cpp; many-goroutine invariants are in
// tests/stress/maps_stress_test.cpp.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"

using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

// =================================================================================
// sync_map
// =================================================================================

class SyncMap : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(SyncMap);

using smap = goro::sync_map<std::string, int>;

std::map<std::string, int> contents(const smap& m) {
  std::map<std::string, int> out;
  m.range([&](const std::string& k, const int& v) {
    EXPECT_TRUE(out.emplace(k, v).second) << "range visited " << k << " twice";
    return true;
  });
  return out;
}

TEST_P(SyncMap, LoadOfMissingKeyIsNullopt) {
  smap m;
  EXPECT_EQ(m.load("x"), std::nullopt);
  EXPECT_EQ(m.load_shared("x"), nullptr);
  EXPECT_FALSE(m.contains("x"));
}

TEST_P(SyncMap, StoreThenLoadAndOverwrite) {
  smap m;
  m.store("a", 1);
  EXPECT_EQ(m.load("a"), 1);
  m.store("a", 2);
  EXPECT_EQ(m.load("a"), 2);
  EXPECT_TRUE(m.contains("a"));
  EXPECT_EQ(contents(m), (std::map<std::string, int>{{"a", 2}}));
}

TEST_P(SyncMap, LoadOrStoreStoresOnlyWhenAbsent) {
  smap m;
  auto [v1, loaded1] = m.load_or_store("k", 1);
  EXPECT_EQ(v1, 1);
  EXPECT_FALSE(loaded1);
  auto [v2, loaded2] = m.load_or_store("k", 2);
  EXPECT_EQ(v2, 1);
  EXPECT_TRUE(loaded2);
  EXPECT_EQ(m.load("k"), 1);
}

TEST_P(SyncMap, LoadAndDeleteReturnsTheValueOnce) {
  smap m;
  m.store("k", 5);
  EXPECT_EQ(m.load_and_delete("k"), 5);
  EXPECT_EQ(m.load_and_delete("k"), std::nullopt);
  EXPECT_EQ(m.load("k"), std::nullopt);
}

TEST_P(SyncMap, EraseSaysWhetherSomethingWasDeleted) {
  smap m;
  EXPECT_FALSE(m.erase("k"));
  m.store("k", 1);
  EXPECT_TRUE(m.erase("k"));
  EXPECT_FALSE(m.erase("k"));
  EXPECT_TRUE(contents(m).empty());
}

TEST_P(SyncMap, SwapReturnsThePreviousValue) {
  smap m;
  EXPECT_EQ(m.swap("k", 1), std::nullopt);
  EXPECT_EQ(m.swap("k", 2), 1);
  EXPECT_EQ(m.load("k"), 2);
}

TEST_P(SyncMap, CompareAndSwapNeedsThePresentEqualValue) {
  smap m;
  EXPECT_FALSE(m.compare_and_swap("k", 0, 1)) << "absent key";
  EXPECT_EQ(m.load("k"), std::nullopt);
  m.store("k", 1);
  EXPECT_FALSE(m.compare_and_swap("k", 0, 2));
  EXPECT_EQ(m.load("k"), 1);
  EXPECT_TRUE(m.compare_and_swap("k", 1, 2));
  EXPECT_EQ(m.load("k"), 2);
}

TEST_P(SyncMap, CompareAndDeleteNeedsThePresentEqualValue) {
  smap m;
  EXPECT_FALSE(m.compare_and_delete("k", 1));
  m.store("k", 1);
  EXPECT_FALSE(m.compare_and_delete("k", 2));
  EXPECT_EQ(m.load("k"), 1);
  EXPECT_TRUE(m.compare_and_delete("k", 1));
  EXPECT_EQ(m.load("k"), std::nullopt);
  EXPECT_FALSE(m.compare_and_delete("k", 1));
}

TEST_P(SyncMap, RangeStopsWhenTheCallbackReturnsFalse) {
  smap m;
  for (int i = 0; i < 10; ++i) m.store(std::to_string(i), i);
  int calls = 0;
  m.range([&](const std::string&, const int&) { return ++calls < 3; });
  EXPECT_EQ(calls, 3);
  calls = 0;
  m.range([&](const std::string&, const int&) { ++calls; });  // void: visits all
  EXPECT_EQ(calls, 10);
}

TEST_P(SyncMap, ClearDeletesEverythingAndTheMapStaysUsable) {
  smap m;
  m.clear();  // empty: no-op
  for (int i = 0; i < 20; ++i) m.store(std::to_string(i), i);
  (void)m.load("3");
  m.range([](const std::string&, const int&) {});  // promote: keys in the read map
  m.store("new", 1);                               // and one in the dirty map
  m.clear();
  EXPECT_TRUE(contents(m).empty());
  EXPECT_EQ(m.load("3"), std::nullopt);
  EXPECT_EQ(m.load("new"), std::nullopt);
  m.store("3", 33);
  EXPECT_EQ(m.load("3"), 33);
  EXPECT_EQ(contents(m), (std::map<std::string, int>{{"3", 33}}));
}

TEST_P(SyncMap, ExpungedKeyCanBeStoredAgain) {
  // The states of Go's entry: a key deleted from the read map is expunged
  // when the dirty map is rebuilt, and must be unexpunged (and put back in
  // the dirty map) when stored again — else the next promotion loses it.
  smap m;
  m.store("a", 1);
  m.range([](const std::string&, const int&) {});  // promote: "a" in the read map
  EXPECT_TRUE(m.erase("a"));                        // entry: deleted
  m.store("b", 2);                                  // rebuilds dirty: "a" expunged
  EXPECT_EQ(m.load("a"), std::nullopt);
  m.store("a", 3);                                  // unexpunge
  m.range([](const std::string&, const int&) {});  // promote again
  EXPECT_EQ(contents(m), (std::map<std::string, int>{{"a", 3}, {"b", 2}}));
  // The same through load_or_store, swap and a plain store on the fast path.
  EXPECT_TRUE(m.erase("a"));
  m.store("c", 4);  // rebuild: "a" expunged
  auto [v, loaded] = m.load_or_store("a", 5);
  EXPECT_EQ(v, 5);
  EXPECT_FALSE(loaded);
  EXPECT_TRUE(m.erase("b"));
  m.range([](const std::string&, const int&) {});
  m.store("d", 6);  // rebuild: "b" expunged
  EXPECT_EQ(m.swap("b", 7), std::nullopt);
  EXPECT_EQ(contents(m), (std::map<std::string, int>{{"a", 5}, {"b", 7}, {"c", 4}, {"d", 6}}));
}

TEST_P(SyncMap, MissesPromoteTheDirtyMap) {
  // Keys stored after a promotion are found by locked lookups until enough
  // misses promote them; results never change across the promotion.
  smap m;
  const int n = 100;
  for (int i = 0; i < n; ++i) m.store(std::to_string(i), i);
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < n; ++i) ASSERT_EQ(m.load(std::to_string(i)), i);
  for (int i = n; i < 2 * n; ++i) {
    m.store(std::to_string(i), i);
    for (int j = 0; j <= i; j += 7) ASSERT_EQ(m.load(std::to_string(j)), j);
  }
  EXPECT_EQ(contents(m).size(), 2u * n);
}

TEST_P(SyncMap, LoadSharedOutlivesEraseAndOverwrite) {
  goro::sync_map<int, std::string> m;
  m.store(1, std::string(100, 'x'));
  std::shared_ptr<const std::string> p = m.load_shared(1);
  ASSERT_NE(p, nullptr);
  m.store(1, "y");
  EXPECT_TRUE(m.erase(1));
  m.clear();
  EXPECT_EQ(*p, std::string(100, 'x'));  // still alive (ASan checks)
}

// A value that registers each live instance by address. Constructing one
// where a live one is, or destroying one that is not live (twice), fails
// the test; what is still registered when the maps are gone was leaked.
// sync_map makes each stored value and its box in one allocation whose
// box refers to the allocation itself: these tests catch a node freed
// twice, never, or while a load_shared caller still holds its value.
struct counted {
  explicit counted(int v) : value(v) { enter(); }
  counted(const counted& o) : value(o.value) { enter(); }
  counted(counted&& o) noexcept : value(o.value) { enter(); }
  counted& operator=(const counted&) = delete;
  ~counted() { leave(); }
  bool operator==(const counted& o) const { return value == o.value; }
  int value;

  static std::size_t alive() {
    std::lock_guard l(mu);
    return live.size();
  }
  static bool is_alive(const counted* p) {
    std::lock_guard l(mu);
    return live.count(p) == 1;
  }

 private:
  void enter() {
    std::lock_guard l(mu);
    EXPECT_TRUE(live.insert(this).second) << "constructed over a live value";
  }
  void leave() {
    std::lock_guard l(mu);
    EXPECT_EQ(live.erase(this), 1u) << "destroyed twice (or never constructed)";
  }
  static inline std::mutex mu;
  static inline std::set<const counted*> live;
};

// Every path that stores a value (store, swap, load_or_store stored or
// not, compare_and_swap swapped or not, on fast and slow paths, into
// expunged keys) against a model; then every value, retired or in the map,
// dies once with the map.
TEST_P(SyncMap, EveryValueIsDestroyedExactlyOnceWhicheverCallMadeIt) {
  const std::size_t before = counted::alive();
  {
    goro::sync_map<int, counted> m;
    std::map<int, int> model;
    std::uint64_t s = 88172645463325252ull;
    auto next = [&s] {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      return s;
    };
    const int n = scaled(20000);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t r = next();
      const int k = static_cast<int>(r % 40);
      const int v = static_cast<int>((r >> 8) % 4);  // few values: compare_ forms often match
      const auto had = model.count(k) ? std::optional<int>(model[k]) : std::nullopt;
      switch ((r >> 16) % 10) {
        case 0: case 1:
          m.store(k, counted(v));
          model[k] = v;
          break;
        case 2: {
          auto prev = m.swap(k, counted(v));
          ASSERT_EQ(prev ? std::optional<int>(prev->value) : std::nullopt, had) << i;
          model[k] = v;
          break;
        }
        case 3: {
          auto [got, loaded] = m.load_or_store(k, counted(v));
          ASSERT_EQ(loaded, had.has_value()) << i;
          ASSERT_EQ(got.value, had.value_or(v)) << i;
          model.emplace(k, v);
          break;
        }
        case 4: {
          const bool swapped = m.compare_and_swap(k, counted(v), counted(v + 10));
          ASSERT_EQ(swapped, had == v) << i;
          if (swapped) model[k] = v + 10;
          break;
        }
        case 5: {
          const bool deleted = m.compare_and_delete(k, counted(v));
          ASSERT_EQ(deleted, had == v) << i;
          if (deleted) model.erase(k);
          break;
        }
        case 6: {
          auto got = m.load_and_delete(k);
          ASSERT_EQ(got ? std::optional<int>(got->value) : std::nullopt, had) << i;
          model.erase(k);
          break;
        }
        case 7:
          ASSERT_EQ(m.erase(k), had.has_value()) << i;
          model.erase(k);
          break;
        case 8: {
          auto got = m.load_shared(k);
          ASSERT_EQ(got ? std::optional<int>(got->value) : std::nullopt, had) << i;
          break;
        }
        default:
          if (r % 97 == 0) {
            m.clear();
            model.clear();
          } else {
            m.range([](const int&, const counted&) {});  // promote: the next deletes expunge
          }
      }
    }
    std::map<int, int> got;
    m.range([&](const int& k, const counted& v) { got.emplace(k, v.value); });
    EXPECT_EQ(got, model);
  }
  EXPECT_EQ(counted::alive(), before);
}

TEST_P(SyncMap, EveryValueIsDestroyedExactlyOnceAfterConcurrentCalls) {
  const std::size_t before = counted::alive();
  {
    goro::sync_map<int, counted> m;
    int per = scaled(5000);  // not const: captured by value in both compilers without warnings
    rt().run([&]() -> goro::task<> {
      goro::wait_group wg;
      for (int g = 0; g < 8; ++g)
        wg.go([&m, g, per]() -> goro::task<> {
          std::vector<std::shared_ptr<const counted>> held;  // values kept past their overwrite
          for (int i = 0; i < per; ++i) {
            const int k = (i * 7 + g) % 32;
            switch ((i + g) % 6) {
              case 0: m.store(k, counted(i)); break;
              case 1: (void)m.swap(k, counted(i)); break;
              case 2: (void)m.load_or_store(k, counted(i)); break;
              case 3:
                if (auto p = m.load_shared(k)) (void)m.compare_and_swap(k, *p, counted(i));
                break;
              case 4: (void)m.erase(k); break;
              default:
                if (auto p = m.load_shared(k)) held.push_back(std::move(p));
                if (held.size() > 16) held.erase(held.begin());
            }
            if (i % 64 == 0) co_await goro::yield();
          }
          for (const auto& p : held) EXPECT_TRUE(counted::is_alive(p.get()));
        });
      co_await wg.wait();
    });
  }
  EXPECT_EQ(counted::alive(), before);
}

TEST_P(SyncMap, LoadSharedKeepsAnOverwrittenValueAliveUntilDropped) {
  const std::size_t before = counted::alive();
  std::shared_ptr<const counted> p;
  {
    goro::sync_map<int, counted> m;
    m.store(1, counted(7));
    p = m.load_shared(1);
    for (int i = 0; i < 1000; ++i) m.store(1, counted(i));  // scans free the overwritten ones
    EXPECT_LT(counted::alive(), before + 500) << "overwritten values were not freed";
    EXPECT_TRUE(m.erase(1));
    m.clear();
    EXPECT_TRUE(counted::is_alive(p.get()));
    EXPECT_EQ(p->value, 7);
  }
  EXPECT_EQ(counted::alive(), before + 1) << "only the value load_shared returned is left";
  EXPECT_TRUE(counted::is_alive(p.get()));
  EXPECT_EQ(p->value, 7);
  p.reset();
  EXPECT_EQ(counted::alive(), before);
}

// Values come from goro's frame pool, whose per-thread cache is a
// thread_local: a map that a later thread_local destructor uses (here
// stores into and destroys) after the thread's cache is gone must allocate
// and free around it (tl_cache_gone in src/frame_alloc.cpp). A global map
// destroyed after main's thread_locals is the common case. (The stores
// at exit also take a hazard-pointer record that is never given back:
// hazard.cpp's documented cost of a guard made that late.)
struct map_used_at_exit {
  goro::sync_map<int, counted> m;
  goro::sync_map<int, counted>* other = nullptr;
  ~map_used_at_exit() {
    for (int i = 0; i < 100; ++i) other->store(i % 10, counted(i));  // allocates after the cache
  }  // then m is destroyed: frees after the cache
};

TEST_P(SyncMap, AMapUsedByAThreadLocalDestructorAfterTheThreadsPoolCacheIsGone) {
  const std::size_t before = counted::alive();
  {
    goro::sync_map<int, counted> other;
    std::thread([&other] {
      // Constructed before the thread's pool cache, so destroyed after it.
      thread_local map_used_at_exit t;
      t.other = &other;
      for (int i = 0; i < 300; ++i) t.m.store(i % 10, counted(i));
      other.store(-1, counted(-1));
    }).join();
    EXPECT_EQ(other.load(3).value().value, 93);
    for (int i = 0; i < 1000; ++i) other.store(i % 10, counted(i));  // the exit's blocks freed here
  }
  EXPECT_EQ(counted::alive(), before);
}

// A value aligned beyond the pool's 16 bytes is allocated with operator
// new instead (pooled_allocator), and stays aligned.
TEST_P(SyncMap, OverAlignedValuesStayAligned) {
  struct alignas(64) wide {
    int v;
    bool operator==(const wide&) const = default;
  };
  goro::sync_map<int, wide> m;
  for (int i = 0; i < 500; ++i) m.store(i % 7, wide{i});
  auto p = m.load_shared(3);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p.get()) % 64, 0u);
  EXPECT_EQ(p->v, 493);
  EXPECT_TRUE(m.compare_and_swap(3, wide{493}, wide{1}));
  EXPECT_EQ(m.load(3)->v, 1);
}

TEST_P(SyncMap, LoadReturnsACopy) {
  goro::sync_map<int, std::vector<int>> m;
  m.store(1, {1, 2, 3});
  auto v = m.load(1);
  ASSERT_TRUE(v);
  v->push_back(4);
  EXPECT_EQ(m.load(1)->size(), 3u);
}

TEST_P(SyncMap, RangeMayModifyTheMap) {
  smap m;
  for (int i = 0; i < 50; ++i) m.store(std::to_string(i), i);
  int visited = 0;
  m.range([&](const std::string& k, const int& v) {
    ++visited;
    m.erase(k);                       // deleting the visited key
    m.store("x" + k, v);              // adding new keys
    EXPECT_EQ(v, std::stoi(k));       // the value stays valid after the erase
    return true;
  });
  EXPECT_EQ(visited, 50);
  auto c = contents(m);
  EXPECT_EQ(c.size(), 50u);
  for (auto& [k, v] : c) EXPECT_EQ(k, "x" + std::to_string(v));
}

TEST_P(SyncMap, DisjointGoroutinesAndThreads) {
  goro::sync_map<int, int> m;
  int per = scaled(2000);  // not const: captured by value in both compilers without warnings
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < 8; ++g)
      wg.go([&m, g, per]() -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          m.store(g * per + i, i);
          if (i % 64 == 0) co_await goro::yield();
        }
      });
    co_await wg.wait();
  });
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&m, t, per] {
      for (int i = 0; i < per; ++i) m.store((8 + t) * per + i, i);
    });
  for (auto& t : ts) t.join();
  for (int k = 0; k < 10 * per; ++k) ASSERT_EQ(m.load(k), k % per) << k;
  int n = 0;
  m.range([&](const int&, const int&) { ++n; });
  EXPECT_EQ(n, 10 * per);
}

TEST_P(SyncMap, CustomHashAndEquality) {
  struct ci_hash {
    std::size_t operator()(const std::string& s) const {
      std::string l;
      for (char c : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return std::hash<std::string>{}(l);
    }
  };
  struct ci_eq {
    bool operator()(const std::string& a, const std::string& b) const {
      return a.size() == b.size() &&
             std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
             });
    }
  };
  goro::sync_map<std::string, int, ci_hash, ci_eq> m;
  m.store("Key", 1);
  EXPECT_EQ(m.load("KEY"), 1);
  EXPECT_TRUE(m.load_or_store("key", 2).loaded);
}

// =================================================================================
// sharded_map
// =================================================================================

class ShardedMap : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(ShardedMap);

using shmap = goro::sharded_map<std::string, int>;

TEST_P(ShardedMap, ShardCountIsAPowerOfTwo) {
  shmap d;
  EXPECT_GE(d.shard_count(), 8u);
  EXPECT_EQ(d.shard_count() & (d.shard_count() - 1), 0u);
  shmap one(1);
  EXPECT_EQ(one.shard_count(), 1u);
  one.store("a", 1);
  EXPECT_EQ(one.load("a"), 1);
  shmap many(256);
  EXPECT_EQ(many.shard_count(), 256u);
}

TEST_P(ShardedMap, LoadStoreEraseLoadAndDelete) {
  shmap m(16);
  EXPECT_EQ(m.load("a"), std::nullopt);
  EXPECT_FALSE(m.contains("a"));
  m.store("a", 1);
  EXPECT_EQ(m.load("a"), 1);
  m.store("a", 2);
  EXPECT_EQ(m.load("a"), 2);
  EXPECT_TRUE(m.contains("a"));
  EXPECT_EQ(m.load_and_delete("a"), 2);
  EXPECT_EQ(m.load_and_delete("a"), std::nullopt);
  m.store("b", 3);
  EXPECT_TRUE(m.erase("b"));
  EXPECT_FALSE(m.erase("b"));
  EXPECT_TRUE(m.empty());
}

TEST_P(ShardedMap, LoadOrStoreStoresOnlyWhenAbsent) {
  shmap m;
  auto [v1, l1] = m.load_or_store("k", 1);
  EXPECT_EQ(v1, 1);
  EXPECT_FALSE(l1);
  auto [v2, l2] = m.load_or_store("k", 2);
  EXPECT_EQ(v2, 1);
  EXPECT_TRUE(l2);
}

TEST_P(ShardedMap, UpdateInsertsModifiesAndErases) {
  shmap m;
  m.update("n", [](std::optional<int>& v) {
    EXPECT_FALSE(v);
    v = 1;
  });
  EXPECT_EQ(m.load("n"), 1);
  int r = m.update("n", [](std::optional<int>& v) {
    *v += 10;
    return *v * 2;
  });
  EXPECT_EQ(r, 22);
  EXPECT_EQ(m.load("n"), 11);
  m.update("n", [](std::optional<int>& v) { v.reset(); });
  EXPECT_FALSE(m.contains("n"));
  m.update("absent", [](std::optional<int>&) {});  // stays absent
  EXPECT_FALSE(m.contains("absent"));
  EXPECT_EQ(m.size(), 0u);
}

TEST_P(ShardedMap, UpdateThatThrowsKeepsTheSlot) {
  shmap m;
  m.store("k", 1);
  EXPECT_THROW(m.update("k", [](std::optional<int>&) -> int { throw std::runtime_error("x"); }),
               std::runtime_error);
  EXPECT_EQ(m.load("k"), 1);
  EXPECT_THROW(m.update("k", [](std::optional<int>& v) {
                 v = 5;
                 throw std::runtime_error("x");
               }),
               std::runtime_error);
  EXPECT_EQ(m.load("k"), 5);
  // and the shard lock was released
  m.store("k", 6);
  EXPECT_EQ(m.load("k"), 6);
}

TEST_P(ShardedMap, ForEachSizeClear) {
  shmap m(8);
  for (int i = 0; i < 100; ++i) m.store(std::to_string(i), i);
  EXPECT_EQ(m.size(), 100u);
  std::map<std::string, int> seen;
  m.for_each([&](const std::string& k, const int& v) { EXPECT_TRUE(seen.emplace(k, v).second); });
  EXPECT_EQ(seen.size(), 100u);
  for (auto& [k, v] : seen) EXPECT_EQ(std::stoi(k), v);
  int calls = 0;
  m.for_each([&](const std::string&, const int&) { return ++calls < 5; });
  EXPECT_EQ(calls, 5);
  m.clear();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.load("1"), std::nullopt);
  m.store("1", 1);
  EXPECT_EQ(m.size(), 1u);
}

TEST_P(ShardedMap, IntegerKeysWithCommonLowBits) {
  // std::hash<int> is the identity on libstdc++: keys that are all multiples
  // of the shard count must still work (the shard comes from mixed high bits).
  goro::sharded_map<int, int> m(16);
  for (int i = 0; i < 1600; ++i) m.store(i * 16, i);
  EXPECT_EQ(m.size(), 1600u);
  for (int i = 0; i < 1600; ++i) ASSERT_EQ(m.load(i * 16), i);
  for (int i = 0; i < 1600; i += 2) ASSERT_TRUE(m.erase(i * 16));
  EXPECT_EQ(m.size(), 800u);
}

TEST_P(ShardedMap, CounterUpdatesFromGoroutinesAreExact) {
  goro::sharded_map<int, long> m(8);
  int per = scaled(5000);  // not const: see above
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < 8; ++g)
      wg.go([&m, per]() -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          m.update(i % 10, [](std::optional<long>& v) { v = v.value_or(0) + 1; });
          if (i % 128 == 0) co_await goro::yield();
        }
      });
    co_await wg.wait();
  });
  long total = 0;
  m.for_each([&](const int&, const long& v) { total += v; });
  EXPECT_EQ(total, 8L * per);
}

}  // namespace

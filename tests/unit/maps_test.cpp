// Unit tests: goro::sync_map and goro::sharded_map — one behaviour each,
// from goroutines and from plain threads. Go's own sync.Map tests are ported
// in tests/ported/sync_map_test.cpp; many-goroutine invariants are in
// tests/stress/maps_stress_test.cpp.
#include <atomic>
#include <map>
#include <memory>
#include <optional>
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

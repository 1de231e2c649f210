// Hazard pointers (goro/detail/hazard.hpp), the reclamation under
// sync_map's lock-free reads: a scan sees what guards announce; guards
// nest; a thread's record is given back at its exit; sync_map frees what
// it retires, in its own calls and at the latest with the map.
#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "goro/detail/hazard.hpp"
#include "goro/sync/sync_map.hpp"
#include "goro_test.hpp"

namespace {

namespace hazard = goro::detail::hazard;

struct tracked {
  explicit tracked(int v) : value(v) { alive.fetch_add(1); }
  ~tracked() {
    value = -1;
    alive.fetch_sub(1);
  }
  int value;
  mutable const tracked* next_retired = nullptr;  // for hazard::retired_list
  static inline std::atomic<int> alive{0};
};

bool announced_now(const void* p) {
  std::vector<const void*> held;
  hazard::announced(held);
  return hazard::is_announced(held, p);
}

TEST(Hazard, AScanSeesWhatAGuardAnnounces) {
  tracked t(7);
  std::atomic<tracked*> src{&t};
  {
    hazard::guard g;
    EXPECT_EQ(g.protect(src), &t);
    EXPECT_TRUE(announced_now(&t));
  }
  EXPECT_FALSE(announced_now(&t));  // the guard's end clears its slot
}

TEST(Hazard, NestedGuardsAnnounceSeparately) {
  tracked a(1), b(2);
  std::atomic<tracked*> src_a{&a}, src_b{&b};
  hazard::guard ga;
  ga.protect(src_a);
  {
    hazard::guard gb;  // the next slot: a stays announced
    gb.protect(src_b);
    EXPECT_TRUE(announced_now(&a));
    EXPECT_TRUE(announced_now(&b));
  }
  EXPECT_TRUE(announced_now(&a));
  EXPECT_FALSE(announced_now(&b));
}

TEST(Hazard, ExitedThreadsGiveTheirRecordsBack) {
  tracked t(3);
  std::atomic<tracked*> src{&t};
  auto use_once = [&] {
    hazard::guard g;
    EXPECT_EQ(g.protect(src)->value, 3);
  };
  std::thread(use_once).join();
  const int records = hazard::record_count();
  for (int i = 0; i < 20; ++i) std::thread(use_once).join();  // one at a time
  EXPECT_EQ(hazard::record_count(), records);
}

// Readers protect and read while a writer replaces, retires and scans:
// every read sees a live object (ASan and TSan check it), and every object
// is freed in the end.
TEST(Hazard, ReadersRacingAWriterReadOnlyLiveObjects) {
  const int before = tracked::alive.load();
  std::atomic<tracked*> src{new tracked(0)};
  hazard::retired_list<const tracked> retired;
  auto scan = [&](bool all) {
    std::vector<const void*> held;
    hazard::announced(held);
    for (const tracked* t = retired.take_all(); t != nullptr;) {
      const tracked* next = t->next_retired;
      if (!all && hazard::is_announced(held, t))
        retired.push(t);
      else
        delete t;
      t = next;
    }
  };
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      while (!stop.load()) {
        hazard::guard g;
        const tracked* p = g.protect(src);
        EXPECT_GE(p->value, 0);  // -1 once destroyed
        reads.fetch_add(1);
      }
    });
  EXPECT_TRUE(goro_test::spin_until([&] { return reads.load() > 0; }));  // readers are in
  for (int i = 1; i <= 20000; ++i) {
    if (retired.push(src.exchange(new tracked(i))) >= 64) scan(false);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0);
  delete src.exchange(nullptr);
  scan(true);
  EXPECT_EQ(tracked::alive.load(), before);
}

// The striped list (sync_map's retired boxes): pushes from several threads
// land on their own stripes, and take_all gives every object back exactly
// once, in one chain.
TEST(Hazard, AStripedRetiredListGivesEveryObjectBackOnce) {
  constexpr int kThreads = 4, kPerThread = 500;
  std::vector<std::unique_ptr<tracked>> objs;
  for (int i = 0; i < kThreads * kPerThread; ++i) objs.push_back(std::make_unique<tracked>(i));
  hazard::striped_retired_list<const tracked> list;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) (void)list.push(objs[t * kPerThread + i].get());
    });
  for (auto& t : ts) t.join();
  std::vector<int> seen(kThreads * kPerThread, 0);
  for (const tracked* n = list.take_all(); n != nullptr; n = n->next_retired) ++seen[n->value];
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), kThreads * kPerThread);
  EXPECT_EQ(list.take_all(), nullptr);  // nothing twice
}

TEST(Hazard, ASyncMapFreesOverwrittenAndErasedValuesAsItGoes) {
  const int before = tracked::alive.load();
  goro::sync_map<int, std::shared_ptr<tracked>> m;
  int most = 0;
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 16; ++i) m.store(i, std::make_shared<tracked>(round));
    for (int i = 0; i < 8; ++i) m.erase(i);
    most = std::max(most, tracked::alive.load() - before);
  }
  EXPECT_EQ(m.load(12).value()->value, 199);
  // Bounded by what waits for a scan, not by the 3200 values stored.
  const int bound = 16 + 64 + 2 * hazard::kSlots * hazard::record_count() + 16;
  EXPECT_LE(most, bound);
}

// A scan that a thread's own stripe made due takes only that stripe: what
// threads that stopped storing left behind waits (at most a threshold
// each) for a scan of everything, which a retired snapshot (clear) makes.
TEST(Hazard, ASyncMapBoundsWhatEachThreadLeavesAndAFullScanFreesIt) {
  const int before = tracked::alive.load();
  goro::sync_map<int, std::shared_ptr<tracked>> m;
  for (int i = 0; i < 16; ++i) m.store(i, std::make_shared<tracked>(i));
  m.range([](const int&, const std::shared_ptr<tracked>&) {});  // promote: lock-free overwrites
  constexpr int kThreads = 4;
  for (int t = 0; t < kThreads; ++t)
    std::thread([&m, t] {
      for (int i = 0; i < 1000; ++i) m.store(i % 16, std::make_shared<tracked>(t));
    }).join();
  const int bound = 16 + kThreads * (64 + 2 * hazard::kSlots * hazard::record_count());
  EXPECT_LE(tracked::alive.load() - before, bound);
  m.clear();  // retires the snapshot: every stripe is scanned
  EXPECT_EQ(tracked::alive.load(), before);
}

TEST(Hazard, ASyncMapsValuesAreDestroyedWithTheMap) {
  const int before = tracked::alive.load();
  {
    goro::sync_map<int, std::shared_ptr<tracked>> m;
    for (int i = 0; i < 100; ++i) m.store(i, std::make_shared<tracked>(i));
    for (int i = 0; i < 100; ++i) m.store(i, std::make_shared<tracked>(i + 1));  // overwrite
    for (int i = 0; i < 50; ++i) m.erase(i);
    m.clear();
    m.store(1, std::make_shared<tracked>(1));
    EXPECT_EQ(m.load(1).value()->value, 1);
  }
  EXPECT_EQ(tracked::alive.load(), before);  // the retired ones too
}

// A snapshot that a reader still announces when clear() scans is kept; the
// next call of any kind scans again, so the cleared values do not wait for
// the map's end.
struct gated {
  explicit gated(std::shared_ptr<tracked> v) : t(std::move(v)) {}
  gated(const gated& o) : t(o.t) {
    if (block_copies.load()) {
      in_copy = true;
      EXPECT_TRUE(goro_test::spin_until([] { return go_on.load(); }));
    }
  }
  std::shared_ptr<tracked> t;
  static inline std::atomic<bool> block_copies{false}, in_copy{false}, go_on{false};
};

TEST(Hazard, ASnapshotKeptForAReaderIsFreedByTheNextCall) {
  gated::block_copies = false;  // a previous run (--gtest_repeat) left them set
  gated::in_copy = false;
  gated::go_on = false;
  const int before = tracked::alive.load();
  goro::sync_map<int, gated> m;
  for (int i = 0; i < 10; ++i) m.store(i, gated(std::make_shared<tracked>(i)));
  for (int i = 0; i < 20; ++i) (void)m.load(100);  // misses: promoted to the read map
  gated::block_copies = true;
  std::thread reader([&] { EXPECT_EQ(m.load(3).value().t->value, 3); });  // copies under guards
  EXPECT_TRUE(goro_test::spin_until([] { return gated::in_copy.load(); }));
  gated::block_copies = false;
  m.clear();  // its scan finds the old snapshot announced: kept
  EXPECT_GT(tracked::alive.load(), before);
  gated::go_on = true;
  reader.join();
  (void)m.load(1);  // any call: the kept snapshot is scanned again, and freed
  EXPECT_EQ(tracked::alive.load(), before);
}

// A value that owns the map it is in: when a scan frees its box, the map is
// destroyed inside that scan (the scan touches the map no more once its
// deleters run).
struct owner {
  goro::sync_map<int, std::shared_ptr<owner>> m;
  ~owner() { destroyed = true; }
  static inline std::atomic<bool> destroyed{false};
};

TEST(Hazard, AValueThatOwnsItsMapCanBeTheLastToGo) {
  owner::destroyed = false;  // a previous run (--gtest_repeat) set it
  auto o = std::make_shared<owner>();
  o->m.store(0, o);
  for (int i = 0; i < 4; ++i) (void)o->m.load(1);  // misses: key 0 promoted
  EXPECT_TRUE(o->m.erase(0));  // lock-free: the box waits for a scan, holding o
  owner* raw = o.get();
  o.reset();
  EXPECT_FALSE(owner::destroyed.load());  // the retired box still owns it
  raw->m.clear();  // scans: frees the box, so o, so the map, inside this call
  EXPECT_TRUE(owner::destroyed.load());
}

}  // namespace

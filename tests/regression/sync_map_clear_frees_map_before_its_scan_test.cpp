// Regression (review): clear() on a map whose value owns the map, with the
// value's entry only in the dirty map (never promoted), destroyed the map
// and then scanned it. clear() moves the dirty map into a local, and that
// local was declared after the call's reclaimer, so it died first: the
// entry went, then the value, then the map, and then the reclaimer's scan
// read the freed map (ASan: heap-use-after-free). Every local that may hold
// a value is now declared before the reclaimer, so the map goes after the
// scan's last touch of it. compare_and_delete, range, delete_key and
// load_or_store had the same order; range is covered here too.
#include <atomic>
#include <memory>

#include "goro_test.hpp"

namespace {

struct owner {
  goro::sync_map<int, std::shared_ptr<owner>> m;
  ~owner() { destroyed = true; }
  static inline std::atomic<bool> destroyed{false};
};

TEST(SyncMapClearFreesTheMapBeforeItsScan, TheValueOnlyInTheDirtyMap) {
  owner::destroyed = false;  // a previous run (--gtest_repeat) set it
  auto o = std::make_shared<owner>();
  o->m.store(0, o);  // a new key: in the dirty map only
  owner* raw = o.get();
  o.reset();
  EXPECT_FALSE(owner::destroyed.load());
  raw->m.clear();  // frees the entry, the value, the map; scans before that
  EXPECT_TRUE(owner::destroyed.load());
}

// range's copy of the map's entries: the value's last owner goes with it,
// once f cleared the map (and its scan kept nothing).
TEST(SyncMapClearFreesTheMapBeforeItsScan, ClearedFromRange) {
  owner::destroyed = false;
  auto o = std::make_shared<owner>();
  o->m.store(0, o);
  owner* raw = o.get();
  o.reset();
  int visited = 0;
  raw->m.range([&](const int&, const std::shared_ptr<owner>& v) {
    ++visited;
    v->m.clear();  // v (a reference into range's copy) stays valid for this call
  });
  EXPECT_EQ(visited, 1);
  EXPECT_TRUE(owner::destroyed.load());
}

}  // namespace

// Regression: a sync_map scan read the map after letting go of it. The scan
// released its "scanning" flag and then read a second flag ("a call asked
// for another round") from the map. Between the two, another thread's scan
// could free a value that owns the map, and so the map: the read hit freed
// memory (ASan: heap-use-after-free). Now one state word holds both, and
// the compare-exchange that ends the scan is its last touch of the map.
//
// The test holds thread A's scan just after its release (the map's test
// seam, keyed on a Hash type of the test's own), lets thread B's scan free
// the last value that owns the map, and lets A go on once the map is gone.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "goro_test.hpp"

namespace {

struct self_owner;

// A value whose copy can be held (while a reader announces the snapshot
// that holds it), pointing to the object that owns the map.
struct held_ref {
  explicit held_ref(std::shared_ptr<self_owner> o) : p(std::move(o)) {}
  held_ref(held_ref&&) noexcept = default;
  held_ref& operator=(held_ref&&) noexcept = default;
  held_ref(const held_ref& o) : p(o.p) {
    if (hold_next_copy.exchange(false)) {
      in_copy = true;
      EXPECT_TRUE(goro_test::spin_until([] { return copy_go_on.load(); }));
    }
  }
  held_ref& operator=(const held_ref&) = default;
  std::shared_ptr<self_owner> p;
  static inline std::atomic<bool> hold_next_copy{false}, in_copy{false}, copy_go_on{false};
};

struct owner_hash : std::hash<int> {};

struct self_owner {
  goro::sync_map<int, held_ref, owner_hash> m;
  ~self_owner() { destroyed = true; }
  static inline std::atomic<bool> destroyed{false};
};

std::atomic<bool> hold_next_release{false}, map_gone{false};

}  // namespace

// The seam: the next scan to let go of a map of this type waits there
// until the map is gone, and first lets the held copy finish.
template <>
struct goro::detail::sync_map_testing<owner_hash> {
  static void scan_released() noexcept {
    if (!hold_next_release.exchange(false)) return;
    held_ref::copy_go_on = true;
    EXPECT_TRUE(goro_test::spin_until([] { return map_gone.load(); }));
  }
};
// The hook is optional (sync_map calls it only if it exists): a misspelt
// name would compile to a test that never holds the scan.
static_assert(requires { goro::detail::sync_map_testing<owner_hash>::scan_released(); });

TEST(SyncMapScanReadsMapAfterRelease, AnotherThreadsScanFreesTheMapJustAfterTheRelease) {
  // A previous run (--gtest_repeat) left these set.
  held_ref::hold_next_copy = false;
  held_ref::in_copy = false;
  held_ref::copy_go_on = false;
  hold_next_release = false;
  map_gone = false;
  self_owner::destroyed = false;

  auto o = std::make_shared<self_owner>();
  o->m.store(0, held_ref(o));
  for (int i = 0; i < 20; ++i) (void)o->m.load(1);  // misses: key 0 promoted to the read map
  self_owner* raw = o.get();
  o.reset();  // the map's value owns it now

  held_ref::hold_next_copy = true;
  std::thread b([raw] {
    // Copies the value while announcing the snapshot; the copy is held until
    // A's scan has kept that snapshot and let go of the map. The load then
    // scans (a kept snapshot is pending) and frees the snapshot; dropping
    // the copy frees the last owner, and the map.
    std::optional<held_ref> v = raw->m.load(0);
    EXPECT_TRUE(v.has_value());
    v.reset();
    map_gone = self_owner::destroyed.load();
  });
  ASSERT_TRUE(goro_test::spin_until([] { return held_ref::in_copy.load(); }));
  hold_next_release = true;
  raw->m.clear();  // scans: keeps the announced snapshot, lets go, waits in the seam
  b.join();
  EXPECT_TRUE(self_owner::destroyed.load());
  EXPECT_TRUE(map_gone.load());
}

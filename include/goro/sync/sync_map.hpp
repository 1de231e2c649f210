// goro/sync/sync_map.hpp — Go's sync.Map for C++: a concurrent map whose
// read-mostly path takes no lock.
//
//   goro::sync_map<std::string, int> m;
//   m.store("a", 1);                                   // Store
//   if (auto v = m.load("a")) use(*v);                 // Load  -> std::optional<V>
//   auto [actual, loaded] = m.load_or_store("a", 2);   // LoadOrStore
//   m.load_and_delete("a");  m.erase("a");             // LoadAndDelete, Delete
//   m.swap("a", 3);  m.compare_and_swap("a", 3, 4);    // Swap, CompareAndSwap
//   m.compare_and_delete("a", 4);  m.clear();          // CompareAndDelete, Clear
//   m.range([](const std::string& k, const int& v) { return true; });  // Range
//
// When to use it (as Go's documentation says): keys written once and read
// many times (caches that only grow), or goroutines touching disjoint key
// sets. For write-heavy use with overlapping keys, goro::sharded_map
// (sharded_map.hpp) is faster.
//
// Values are never handed out by reference. load / load_and_delete / swap /
// load_or_store return copies (std::optional<V>, or V); load_shared returns a
// std::shared_ptr<const V> that keeps the value alive however the map
// changes afterwards. A reference into the map could dangle the moment
// another goroutine erases or overwrites the key; these cannot. range passes
// `const V&` to its callback, and the value stays alive for the duration of
// that call (the range holds a shared_ptr to it).
//
// Design (Go's map.go, kept line for line; docs/design/maps.md):
//   read_   atomically published snapshot {m, amended}: an immutable hash map
//           key -> entry, and whether dirty_ holds keys m lacks. Loads,
//           and stores/deletes of keys already in m, take no lock.
//   dirty_  (guarded by mu_) a hash map holding every live key: all of
//           read_.m's non-expunged entries plus the new keys. Null until a
//           new key is stored after a promotion.
//   misses_ (guarded by mu_) loads that had to look in dirty_; when they
//           reach dirty_->size(), dirty_ is promoted to read_ (O(1): the map
//           moves, nothing is copied) and dirty_ becomes null.
//   entry   one per key, shared by read_.m and dirty_; its value word p is
//           an atomic pointer to an immutable box holding the value's
//           shared_ptr<const V> (box and value are one allocation, a node):
//             null      deleted; the key may still be in dirty_
//             expunged  deleted, and the key is not in dirty_ (only read_.m)
//             else      the value
//
// Invariants:
//  * A hash map reachable from read_ is never modified again (only entries'
//    atomic p words change), so lock-free readers can search it. New maps
//    are built under mu_ and published with one store.
//  * read_.amended implies dirty_ != null.
//  * An expunged entry is in read_.m and not in dirty_; it is unexpunged
//    (p: expunged -> null) under mu_, and put back in dirty_, before any
//    value is stored in it. Hence storing into an entry found in read_.m
//    without the lock (p: value/null -> value) never writes to a key that a
//    later promotion would lose.
//
// Memory reclamation: read_ and each entry's value word are atomic raw
// pointers, to a snapshot and to an immutable box holding the value's
// shared_ptr. A lock-free reader announces what it uses with hazard
// pointers (detail/hazard.hpp: two stores into its own thread's slots, no
// write to a shared line), and whoever unlinks a snapshot or a box retires
// it: it is freed once no reader announces it. So a concurrent promotion,
// erase, overwrite or clear never frees what a reader is using, and a
// load writes nothing that other cores read (Go's load only reads too).
// A value and its box are one allocation, a node; the box's shared_ptr
// refers to the node itself, and a value handed out by load_shared keeps
// the node alive after the box is freed. The
// allocations come from goro's frame pool (detail/frame_alloc.hpp), which
// keeps freed blocks for later values and coroutine frames of the same
// size and never gives them back to the system: the memory of a map's
// peak number of values (plus those waiting for a scan) stays with the
// process.
//
// Thread-safety: every member may be called concurrently from any thread or
// goroutine; none of them parks a goroutine. mu_ is a std::mutex held for
// O(1) steps, or O(n) once per promotion cycle when dirty_ is rebuilt; user
// code that runs under it: K's copy, Hash, KeyEqual and V's operator== (the
// compare_ forms). V's copy constructor and destructor run outside it. V must
// allow concurrent copies of a const object (every standard type does).
// An erased or overwritten value is destroyed once no reader can see it:
// at the end of a later call on this map that scans (on the thread that
// makes it), or by ~sync_map; not necessarily in the call that replaced it.
// So a value that owns the map (a shared_ptr cycle through it) is not
// released by erase alone: clear() then a load, or more erases, run a scan.
// Such a value may be the map's last owner: a call that frees it destroys
// the map after its own last touch of it. As for any C++ object, a thread
// that calls into the map keeps it alive for the call: if another thread
// may drop the map's last owner meanwhile, hold an owning reference (the
// map's destruction by another thread's scan during a call is not guarded).
#pragma once

#include <atomic>
#include <concepts>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "goro/detail/config.hpp"
#include "goro/detail/frame_alloc.hpp"
#include "goro/detail/hazard.hpp"
#include "goro/detail/spinlock.hpp"

namespace goro {

namespace detail {
// Test seams: a test specialises sync_map_testing for a Hash type of its
// own, with either hook: scan_released() runs just after a scan has let go
// of its map, round_ending() just before a scan's round tries to end it.
// Empty for every other map.
template <class Hash>
struct sync_map_testing {};
template <class Hash>
void sync_map_scan_released() noexcept {
  if constexpr (requires { sync_map_testing<Hash>::scan_released(); })
    sync_map_testing<Hash>::scan_released();
}
template <class Hash>
void sync_map_round_ending() noexcept {
  if constexpr (requires { sync_map_testing<Hash>::round_ending(); })
    sync_map_testing<Hash>::round_ending();
}
}  // namespace detail

template <class K, class V, class Hash = std::hash<K>, class KeyEqual = std::equal_to<K>>
class sync_map {
 public:
  using key_type = K;
  using mapped_type = V;
  using value_ptr = std::shared_ptr<const V>;

  // load_or_store's result: the value now in the map, and whether it was
  // already there (true) or `value` was stored (false).
  struct load_or_store_result {
    V value;
    bool loaded;
  };

  sync_map() : read_(new read_only()) {}
  // Nothing may use the map any more (Go: nothing references it), so
  // everything goes now: the snapshot, the entries and every retired
  // snapshot and box, once a scan running on another thread is over.
  ~sync_map() {
    detail::backoff b;
    for (unsigned char idle = 0;
         !scan_state_.compare_exchange_weak(idle, kScanning, std::memory_order_acquire,
                                            std::memory_order_relaxed);
         idle = 0)
      b.snooze();
    delete read_.load(std::memory_order_relaxed);
    dirty_.reset();
    free_all(retired_boxes_.take_all());
    free_all(retired_snaps_.take_all());
  }
  sync_map(const sync_map&) = delete;
  sync_map& operator=(const sync_map&) = delete;

  // ---- Load ----

  // The value for key, or nullopt. No lock when the key is in the read map.
  [[nodiscard]] std::optional<V> load(const K& key) const {
    reclaimer rc(*this);  // frees what this call retired after its locks
    {
      detail::hazard::guard hr;
      const read_only* r = hr.protect(read_);
      if (const entry_ptr* e = r->find(key)) {
        detail::hazard::guard hb;
        const box* b = hb.protect((*e)->p);
        if (!live(b)) return std::nullopt;
        return *b->v;  // V's copy, with the box announced
      }
      if (!r->amended) return std::nullopt;
    }
    if (value_ptr p = load_slow(key, rc)) return *p;
    return std::nullopt;
  }
  // As load, without copying V: null if absent.
  [[nodiscard]] value_ptr load_shared(const K& key) const {
    reclaimer rc(*this);  // frees what this call retired after its locks
    {
      detail::hazard::guard hr;
      const read_only* r = hr.protect(read_);
      if (const entry_ptr* e = r->find(key)) return (*e)->load();
      if (!r->amended) return nullptr;
    }
    return load_slow(key, rc);
  }
  [[nodiscard]] bool contains(const K& key) const { return load_shared(key) != nullptr; }

  // ---- Store / Swap ----

  void store(const K& key, V value) {
    (void)swap_box(key, make_box(std::move(value)), /*want_prev=*/false);
  }

  // Stores value and returns the previous value, if any (Go's Swap).
  std::optional<V> swap(const K& key, V value) {
    value_ptr prev = swap_box(key, make_box(std::move(value)), /*want_prev=*/true);
    if (prev) return *prev;
    return std::nullopt;
  }

  // ---- LoadOrStore ----

  // The existing value if key is present (loaded = true); otherwise stores
  // value and returns it (loaded = false). Exactly one of any number of
  // concurrent load_or_store calls for an absent key stores.
  load_or_store_result load_or_store(const K& key, V value) {
    auto [p, loaded] = load_or_store_shared(key, std::move(value));
    return {*p, loaded};
  }
  std::pair<value_ptr, bool> load_or_store_shared(const K& key, V value) {
    // Before rc, as every local that may hold a value: a value that owns the
    // map must go after the scan's last touch of it.
    box_owner nb;  // made on first need, so a hit never allocates
    value_ptr nv;  // nb's value, copied while nb is ours
    reclaimer rc(*this);  // frees what this call retired after its locks
    {
      detail::hazard::guard hr;
      const read_only* r = hr.protect(read_);
      if (const entry_ptr* e = r->find(key)) {
        if (auto res = (*e)->try_load_or_store(value, nb, nv)) return *res;
      }
    }
    std::unique_lock lk(mu_);
    const read_only* r = read_.load(std::memory_order_acquire);  // current: not retired while we hold mu_
    std::pair<value_ptr, bool> res;
    if (const entry_ptr* e = r->find(key)) {
      unexpunge_into_dirty_locked(key, *e);
      res = *(*e)->try_load_or_store(value, nb, nv);  // cannot fail: not expunged
    } else if (auto it = dirty_find(key); it != nullptr) {
      res = *(*it)->try_load_or_store(value, nb, nv);
      miss_locked(rc);
    } else {
      make_box_once(value, nb, nv);
      add_new_key_locked(r, key, nb, rc);
      res = {nv, false};
    }
    return res;
  }

  // ---- LoadAndDelete / Delete ----

  // Deletes key and returns the value it had, if any.
  std::optional<V> load_and_delete(const K& key) {
    if (value_ptr p = load_and_delete_shared(key)) return *p;
    return std::nullopt;
  }
  value_ptr load_and_delete_shared(const K& key) { return delete_key(key, true).first; }
  // Go's Delete; true if a value was deleted.
  bool erase(const K& key) { return delete_key(key, false).second; }

  // ---- CompareAndSwap / CompareAndDelete (V must be equality-comparable) ----

  // Stores desired if key's value == old; false if absent or different.
  bool compare_and_swap(const K& key, const V& old, V desired)
    requires std::equality_comparable<V>
  {
    box_owner nb;  // made on first need; freed after unlocking (and rc) if not stored
    reclaimer rc(*this);  // frees what this call retired after its locks
    {
      detail::hazard::guard hr;
      const read_only* r = hr.protect(read_);
      if (const entry_ptr* e = r->find(key))
        return (*e)->try_compare_and_swap(old, desired, nb, rc);
      if (!r->amended) return false;
    }
    std::unique_lock lk(mu_);
    const read_only* r = read_.load(std::memory_order_acquire);
    if (const entry_ptr* e = r->find(key)) return (*e)->try_compare_and_swap(old, desired, nb, rc);
    if (auto it = dirty_find(key); it != nullptr) {
      bool swapped = (*it)->try_compare_and_swap(old, desired, nb, rc);
      miss_locked(rc);
      return swapped;
    }
    return false;
  }

  // Deletes key if its value == old.
  bool compare_and_delete(const K& key, const V& old)
    requires std::equality_comparable<V>
  {
    entry_ptr held;  // before rc: the entry may be the last owner of a value that owns the map
    reclaimer rc(*this);  // frees what this call retired after its locks
    bool amended;
    {
      detail::hazard::guard hr;
      const read_only* r = hr.protect(read_);
      if (const entry_ptr* found = r->find(key)) return (*found)->compare_and_remove(old, rc);
      amended = r->amended;
    }
    if (!amended) return false;
    held = find_slow(key, /*erase_from_dirty=*/false, rc);
    return held != nullptr && held->compare_and_remove(old, rc);
  }

  // ---- Range / Clear ----

  // Calls f(key, value) for each key, in no particular order, until f
  // returns false (f may also return void: visit all). Go's Range contract:
  // no key is visited more than once; a key stored or deleted concurrently
  // may or may not be visited; the map may be read and modified from f
  // (including nested range calls). O(n) even if f stops early, as in Go:
  // it may promote the dirty map first.
  template <class F>
  void range(F&& f) const {
    // The snapshot's map by reference count, not a hazard pointer: f runs
    // for a long time and may call the map (nested calls take guards).
    // Declared before rc: its entries may hold the last owner of a value
    // that owns the map, which must go after the scan's last touch of it.
    std::shared_ptr<const entry_map> m;
    reclaimer rc(*this);  // frees what this call retired after its locks
    {
      std::lock_guard lk(mu_);
      const read_only* r = read_.load(std::memory_order_acquire);
      if (r->amended) r = promote_locked(rc);
      m = r->m;
    }
    for (const auto& [k, e] : *m) {
      value_ptr v = e->load();
      if (!v) continue;
      if constexpr (std::is_void_v<std::invoke_result_t<F&, const K&, const V&>>) {
        std::invoke(f, k, *v);
      } else {
        if (!std::invoke(f, k, *v)) break;
      }
    }
  }

  // Deletes every entry (Go 1.23's Clear).
  void clear() {
    // Destroyed after unlocking, and after rc's scan: an entry only in
    // dirty_ may hold the last owner of a value that owns the map
    // (regression test SyncMapClearFreesTheMapBeforeItsScan).
    std::unique_ptr<entry_map> old_dirty;
    reclaimer rc(*this);  // frees what this call retired after its locks
    {
      detail::hazard::guard hr;
      const read_only* r = hr.protect(read_);
      if (r->m->empty() && !r->amended) return;
    }
    {
      std::lock_guard lk(mu_);
      const read_only* r = read_.load(std::memory_order_acquire);
      if (r->m->empty() && !r->amended) return;
      auto* empty = new read_only();
      old_dirty = std::move(dirty_);  // after the allocation: nothing below throws
      misses_ = 0;
      publish_locked(empty, rc);
    }
  }

 private:
  class reclaimer;

  // ---- box: one immutable value of a key (its entry's word points to it) ----
  // Every box but the expunged marker is the head of a node made by
  // make_box: one allocation (allocate_shared) holding the shared_ptr
  // control block, the box and the value. Nodes come from goro's frame
  // pool (detail/frame_alloc.hpp): a node is made by the storing thread
  // and freed by whichever thread scans, the pattern that sends glibc
  // malloc to its arena locks; the pool's per-thread lists trade whole
  // batches instead. The box's v aliases the node's own value
  // and so holds a reference to the node itself (a deliberate cycle): the
  // node, box included, lives until free_box breaks it, so a reader that
  // announced a retired box may still read b->v, and load_shared callers
  // keep the value (the node) alive after that.
  struct box {
    value_ptr v;                              // never null; points into this box's node
    mutable const box* next_retired = nullptr;  // the retired list's link
  };
  struct node {
    explicit node(V&& x) : value(std::move(x)) {}
    box b;
    const V value;
  };
  // The expunged marker: a box compared by address, never read or freed.
  static inline const box expunged_tag{};
  static const box* expunged_box() noexcept { return &expunged_tag; }
  static bool live(const box* b) noexcept { return b != nullptr && b != expunged_box(); }
  // The one way a box is freed (~entry, scans, ~sync_map, an unpublished
  // box_owner): the box's reference to its own node is moved out first and
  // dies as a local, so the node (with *b in it) is destroyed, when this
  // was the last reference, by a shared_ptr that is not inside it.
  static void free_box(const box* b) noexcept {
    value_ptr self = std::move(const_cast<box*>(b)->v);  // b's node was made non-const
  }
  struct box_free {
    void operator()(const box* b) const noexcept { free_box(b); }
  };
  // Unpublished boxes are owned; publishing releases the owner.
  using box_owner = std::unique_ptr<const box, box_free>;
  static box_owner make_box(V&& value) {
    auto n = std::allocate_shared<node>(detail::pooled_allocator<node>(), std::move(value));
    node* raw = n.get();
    raw->b.v = value_ptr(std::move(n), &raw->value);  // the node's only reference: its own box
    return box_owner(&raw->b);
  }
  // load_or_store's box, made from value on first need; nv keeps its value
  // for the caller (copied now: once published, the box may be retired).
  static void make_box_once(V& value, box_owner& nb, value_ptr& nv) {
    if (nb) return;
    nb = make_box(std::move(value));
    nv = nb->v;
  }

  // ---- entry: one key's value word (see the state list at the top) ----
  // The word p is null, expunged_box(), or a box. Whoever takes a box out
  // of p (a successful CAS or an exchange) owns it and retires it (take);
  // it is freed once no reader announces it. ~entry frees the box still in
  // p: no reader can reach an entry that no snapshot, dirty_ or caller
  // holds. A reader that reads through a box it does not own announces it
  // first (protect).
  struct entry {
    explicit entry(box_owner b) : p(b.release()) {}
    ~entry() {
      const box* b = p.load(std::memory_order_relaxed);
      if (live(b)) free_box(b);
    }
    entry(const entry&) = delete;
    entry& operator=(const entry&) = delete;

    value_ptr load() const {
      detail::hazard::guard h;
      const box* b = h.protect(p);
      return live(b) ? b->v : nullptr;
    }

    // Swaps in nb unless expunged (nb then stays with the caller).
    // Returns {previous value (null if deleted), ok}.
    std::pair<value_ptr, bool> try_swap(box_owner& nb, reclaimer& rc, bool want_prev) {
      const box* b = p.load(std::memory_order_acquire);
      for (;;) {
        if (b == expunged_box()) return {nullptr, false};
        if (p.compare_exchange_weak(b, nb.get(), std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
          nb.release();
          return {take(b, rc, want_prev), true};
        }
      }
    }

    // Loads the value if present, else stores the lazily made box nb
    // (nv: its value). nullopt if expunged (the caller retries under mu_,
    // with nb and nv as this call left them).
    std::optional<std::pair<value_ptr, bool>> try_load_or_store(V& value, box_owner& nb,
                                                                value_ptr& nv) {
      detail::hazard::guard h;
      const box* b = h.protect(p);
      for (;;) {
        if (b == expunged_box()) return std::nullopt;
        if (b != nullptr) return std::pair{b->v, true};
        make_box_once(value, nb, nv);
        if (p.compare_exchange_strong(b, nb.get(), std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
          nb.release();
          return std::pair{nv, false};
        }
        b = h.protect(p);  // announce what the CAS found before reading it
      }
    }

    // Deletes the value; returns {it (if wanted), whether there was one}.
    std::pair<value_ptr, bool> remove(reclaimer& rc, bool want) {
      const box* b = p.load(std::memory_order_acquire);
      for (;;) {
        if (!live(b)) return {nullptr, false};
        if (p.compare_exchange_weak(b, nullptr, std::memory_order_acq_rel,
                                    std::memory_order_acquire))
          return {take(b, rc, want), true};
      }
    }

    // nb: made from desired on first need (desired is moved from only then).
    bool try_compare_and_swap(const V& old, V& desired, box_owner& nb, reclaimer& rc) {
      detail::hazard::guard h;
      const box* b = h.protect(p);
      for (;;) {
        if (!live(b) || !(*b->v == old)) return false;
        if (!nb) nb = make_box(std::move(desired));
        if (p.compare_exchange_strong(b, nb.get(), std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
          nb.release();
          (void)take(b, rc, false);
          return true;
        }
        b = h.protect(p);
      }
    }

    bool compare_and_remove(const V& old, reclaimer& rc) {
      detail::hazard::guard h;
      const box* b = h.protect(p);
      for (;;) {
        if (!live(b) || !(*b->v == old)) return false;
        if (p.compare_exchange_strong(b, nullptr, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
          (void)take(b, rc, false);
          return true;
        }
        b = h.protect(p);
      }
    }

    // Under mu_, while building dirty_: deleted -> expunged. True if the
    // entry is (now) expunged, so it must be left out of dirty_.
    bool try_expunge_locked() {
      const box* b = p.load(std::memory_order_acquire);
      while (b == nullptr) {
        if (p.compare_exchange_weak(b, expunged_box(), std::memory_order_acq_rel,
                                    std::memory_order_acquire))
          return true;
      }
      return b == expunged_box();
    }
    // Under mu_ (only mu_ holders leave the expunged state).
    bool expunged_locked() const { return p.load(std::memory_order_acquire) == expunged_box(); }
    // Under mu_: expunged -> deleted.
    void unexpunge_locked() {
      const box* b = expunged_box();
      (void)p.compare_exchange_strong(b, nullptr, std::memory_order_acq_rel,
                                      std::memory_order_acquire);
    }

    // Under mu_, on an entry that is not expunged.
    value_ptr swap_locked(box_owner nb, reclaimer& rc, bool want_prev) {
      return take(p.exchange(nb.release(), std::memory_order_acq_rel), rc, want_prev);
    }

    // b was just taken out of p by this thread: its value (a reference the
    // caller may keep; only if it wants it: the copy is an increment on a
    // count another core wrote last), and the box is retired (readers may
    // still announce it).
    static value_ptr take(const box* b, reclaimer& rc, bool want) noexcept {
      if (!live(b)) return nullptr;
      value_ptr v;
      if (want) v = b->v;
      rc.retire(b);
      return v;
    }

    std::atomic<const box*> p;
  };

  using entry_ptr = std::shared_ptr<entry>;
  using entry_map = std::unordered_map<K, entry_ptr, Hash, KeyEqual>;

  // The published snapshot. m is never modified once published.
  struct read_only {
    read_only() : m(std::make_shared<const entry_map>()) {}
    read_only(std::shared_ptr<const entry_map> map, bool amend) : m(std::move(map)), amended(amend) {}

    std::shared_ptr<const entry_map> m;  // never null
    bool amended = false;                // dirty_ holds a key m lacks
    mutable const read_only* next_retired = nullptr;  // the retired list's link

    const entry_ptr* find(const K& key) const {
      auto it = m->find(key);
      return it == m->end() ? nullptr : &it->second;
    }
  };

  // ---- reclamation: per map, so a map's values die in its own calls ----
  // Every public call that may retire declares one before its locks and
  // guards, and after its locals that may hold a value (a box, an entry,
  // a map of entries), so that those die after the scan's last touch of
  // the map: a value that owns the map may be among them. It collects what
  // the call retires, and scans once the call's locks and guards are gone,
  // so users' destructors never run under mu_ or a guard of this call:
  // only the calling thread's stripe of boxes when that stripe reached the
  // threshold (the boxes it retired itself: their lines are likely still
  // in this core's cache, and their nodes go back to this thread's pool
  // list, from which its next stores allocate), everything when a snapshot
  // was retired (it may hold a whole old map) or one is pending. Each
  // stripe is scanned when it reaches the threshold, so the bound on what
  // waits stays kStripes times the threshold.
  class reclaimer {
   public:
    explicit reclaimer(const sync_map& m) noexcept : m_(m) {}
    ~reclaimer() {
      if (snap_due_ || m_.pending_.load(std::memory_order_relaxed))
        m_.scan(/*mine_only=*/false);
      else if (box_due_)
        m_.scan(/*mine_only=*/true);
    }
    reclaimer(const reclaimer&) = delete;
    reclaimer& operator=(const reclaimer&) = delete;

    void retire(const box* b) noexcept {
      const std::size_t n = m_.retired_boxes_.push(b);
      if (n >= 64 + 2 * static_cast<std::size_t>(detail::hazard::kSlots) *
                        static_cast<std::size_t>(detail::hazard::record_count()))
        box_due_ = true;
    }
    void retire(const read_only* r) noexcept {
      m_.retired_snaps_.push(r);
      snap_due_ = true;
    }

   private:
    const sync_map& m_;
    bool box_due_ = false;   // this thread's stripe of boxes is due
    bool snap_due_ = false;  // everything is (a snapshot may hold a whole old map)
  };

  // Frees every retired snapshot and box (mine_only: every box of the
  // calling thread's stripe) that no slot announces; the rest go back on
  // the lists. One scan per map at a time: a call that finds one running
  // asks it to go round again (kAgain), over everything, so nothing it
  // retired is left behind, up to kMaxScanRounds rounds: callers that keep
  // asking would otherwise keep this one here indefinitely, and then what
  // they retired waits for the next call of any kind (pending_). A
  // snapshot kept because a reader announced it also makes the next call
  // of any kind scan (pending_): it may hold a whole old map.
  // The scan's last touch of *this is the compare-exchange that ends it
  // (a separate "go again" flag read after the release was a use after
  // free when another thread's scan freed a value that owns the map right
  // then: regression test sync_map_scan_reads_map_after_release). The
  // deleters (users' destructors) run last, and every caller declares the
  // locals that may hold values before its reclaimer, so a value that owns
  // the map destroys it after the call's last touch.
  // The retiring threads' pushes (release) happen-before take_all
  // (acquire), and so before the fence in announced(); a caller's push
  // also happens-before the round that its kAgain request starts (its
  // release CAS, the round's acquire exchange).
  void scan(bool mine_only) const noexcept {
    if (!begin_scan()) return;  // the running scan goes round again for us
    const box* dead_boxes = nullptr;
    const read_only* dead_snaps = nullptr;
    for (int round = 1;; ++round) {
      // A round after the first answers kAgain: clear it, seeing (acquire)
      // what the callers that set it retired.
      if (round > 1) scan_state_.exchange(kScanning, std::memory_order_acquire);
      const box* chains[box_list::kStripes] = {};  // one per stripe: none walked to join them
      const read_only* snaps = nullptr;
      const bool all = !mine_only;
      if (all) {
        retired_boxes_.take_each(chains);
        snaps = retired_snaps_.take_all();
      } else {
        chains[0] = retired_boxes_.take_mine();
      }
      mine_only = false;  // a call that asked for another round may want anything
      std::vector<const void*> held;
      bool looked = true;
      try {
        detail::hazard::announced(held);
      } catch (...) {  // no memory: keep everything, try again next time
        looked = false;
      }
      for (const box* chain : chains)
        (void)sort_out(chain, held, looked, retired_boxes_, dead_boxes);
      const bool kept_snap = sort_out(snaps, held, looked, retired_snaps_, dead_snaps);
      if (all) pending_.store(kept_snap, std::memory_order_relaxed);
      detail::sync_map_round_ending<Hash>();
      unsigned char scanning = kScanning;
      if (scan_state_.compare_exchange_strong(scanning, 0, std::memory_order_release,
                                              std::memory_order_relaxed))
        break;  // released (else kAgain was set: another round)
      if (round == kMaxScanRounds) {  // asked again: the next call scans
        pending_.store(true, std::memory_order_relaxed);
        // Released; acquire too, so that what the askers retired
        // happens-before the scan that picks it up (their kAgain RMWs).
        scan_state_.exchange(0, std::memory_order_acq_rel);
        break;
      }
    }
    detail::sync_map_scan_released<Hash>();
    free_all(dead_boxes);  // *this is not touched from here on
    free_all(dead_snaps);
  }
  // True if the caller now runs the map's one scan; false if one is
  // running and will go round again: kAgain is set by a read-modify-write
  // (release) even when already set, so the round that answers it (its
  // exchange, acquire) sees what this thread retired. Every access here is
  // made while a scan holds the map, or to take it, so the map is alive.
  bool begin_scan() const noexcept {
    unsigned char s = scan_state_.load(std::memory_order_relaxed);
    for (;;) {
      if (s == 0) {
        if (scan_state_.compare_exchange_weak(s, kScanning, std::memory_order_acquire,
                                              std::memory_order_relaxed))
          return true;
      } else if (scan_state_.compare_exchange_weak(s, kScanning | kAgain,
                                                   std::memory_order_release,
                                                   std::memory_order_relaxed)) {
        return false;
      }
    }
  }
  // Of the retired chain n: what a slot announces (or everything, when the
  // scan could not look) goes back on `keep`, the rest onto `dead`. True if
  // anything was kept.
  template <class T, class List>
  static bool sort_out(const T* n, const std::vector<const void*>& held, bool looked,
                       List& keep, const T*& dead) noexcept {
    bool kept = false;
    while (n != nullptr) {
      const T* next = n->next_retired;
      if (!looked || detail::hazard::is_announced(held, n)) {
        keep.push(n);
        kept = true;
      } else {
        n->next_retired = dead;
        dead = n;
      }
      n = next;
    }
    return kept;
  }
  // Frees a chain (the link is read before each object goes).
  template <class T>
  static void free_all(const T* n) noexcept {
    while (n != nullptr) free_one(std::exchange(n, n->next_retired));
  }
  static void free_one(const box* b) noexcept { free_box(b); }
  static void free_one(const read_only* r) noexcept { delete r; }

  // Under mu_: read_ becomes `next`; the old snapshot is retired (lock-free
  // readers may still announce it). Only mu_ holders replace read_, so the
  // current snapshot is never freed while mu_ is held; a replaced one must
  // not be used after this.
  void publish_locked(const read_only* next, reclaimer& rc) const noexcept {
    rc.retire(read_.exchange(next, std::memory_order_seq_cst));
  }

  // Under mu_: an entry found in the read map is put back into dirty_ if it
  // was expunged, before any value may be stored in it (insert first: if it
  // throws, the entry is still expunged and still out of dirty_).
  void unexpunge_into_dirty_locked(const K& key, const entry_ptr& e) {
    if (!e->expunged_locked()) return;
    dirty_->insert_or_assign(key, e);
    e->unexpunge_locked();
  }

  // Under mu_: key's entry in dirty_, or null.
  const entry_ptr* dirty_find(const K& key) const {
    if (!dirty_) return nullptr;
    auto it = dirty_->find(key);
    return it == dirty_->end() ? nullptr : &it->second;
  }

  // load's slow path: the key was not in the read map, which is amended.
  value_ptr load_slow(const K& key, reclaimer& rc) const {
    entry_ptr e = find_slow(key, /*erase_from_dirty=*/false, rc);
    return e ? e->load() : nullptr;
  }

  // The slow path of load / load_and_delete / compare_and_delete: the key
  // was not in the read map and the map is amended. Looks again under mu_
  // and then in dirty_ (counting a miss), optionally removing it from dirty_.
  entry_ptr find_slow(const K& key, bool erase_from_dirty, reclaimer& rc) const {
    std::lock_guard lk(mu_);
    const read_only* r = read_.load(std::memory_order_acquire);
    if (const entry_ptr* e = r->find(key)) return *e;  // promoted meanwhile
    if (!r->amended) return nullptr;
    entry_ptr found;
    auto it = dirty_->find(key);
    if (it != dirty_->end()) {
      found = it->second;
      if (erase_from_dirty) dirty_->erase(it);
    }
    miss_locked(rc);
    return found;
  }

  // LoadAndDelete; want = false (erase): the value is not copied out.
  std::pair<value_ptr, bool> delete_key(const K& key, bool want) {
    entry_ptr e;  // before rc, as every local that may hold a value
    reclaimer rc(*this);  // frees what this call retired after its locks
    {
      detail::hazard::guard hr;
      const read_only* r = hr.protect(read_);
      if (const entry_ptr* found = r->find(key)) return (*found)->remove(rc, want);
      if (!r->amended) return {nullptr, false};
    }
    e = find_slow(key, /*erase_from_dirty=*/true, rc);
    return e ? e->remove(rc, want) : std::pair<value_ptr, bool>{nullptr, false};
  }

  // Stores nb; want_prev = false (store): the previous value is not copied out.
  value_ptr swap_box(const K& key, box_owner nb, bool want_prev) {
    reclaimer rc(*this);  // frees what this call retired after its locks
    {
      detail::hazard::guard hr;
      const read_only* r = hr.protect(read_);
      if (const entry_ptr* e = r->find(key)) {
        if (auto [prev, ok] = (*e)->try_swap(nb, rc, want_prev); ok) return prev;
      }
    }
    value_ptr prev;  // released after unlocking
    {
      std::lock_guard lk(mu_);
      const read_only* r = read_.load(std::memory_order_acquire);
      if (const entry_ptr* e = r->find(key)) {
        unexpunge_into_dirty_locked(key, *e);
        prev = (*e)->swap_locked(std::move(nb), rc, want_prev);
      } else if (const entry_ptr* d = dirty_find(key)) {
        prev = (*d)->swap_locked(std::move(nb), rc, want_prev);
      } else {
        add_new_key_locked(r, key, nb, rc);
      }
    }
    return prev;
  }

  // Under mu_: key is in neither map. Makes sure dirty_ exists and the
  // published snapshot says amended, then adds key to dirty_ with nb's
  // box. r (the current snapshot) is not used after it is replaced. Every
  // allocation comes first, with the new entry still empty: if one throws,
  // nb keeps the value, and the caller destroys it after unlocking (a
  // value's destructor may use this map).
  void add_new_key_locked(const read_only* r, const K& key, box_owner& nb, reclaimer& rc) {
    auto e = std::make_shared<entry>(box_owner{});
    std::unique_ptr<const read_only> amended;
    if (!r->amended) {
      dirty_locked();
      amended = std::make_unique<const read_only>(r->m, true);  // r->m is shared: immutable
    }
    entry& added = *e;
    dirty_->emplace(key, std::move(e));
    added.p.store(nb.release(), std::memory_order_release);  // only dirty_ has it: under mu_
    if (amended) publish_locked(amended.release(), rc);
  }

  // Under mu_: builds dirty_ from the read map if it is null, expunging the
  // deleted entries (they are left out). If building throws, the entries
  // expunged so far are unexpunged again (an expunged entry needs dirty_).
  void dirty_locked() const {
    if (dirty_) return;
    const read_only* r = read_.load(std::memory_order_acquire);
    auto d = std::make_unique<entry_map>();
    std::vector<entry*> expunged_now;
    try {
      d->reserve(r->m->size());
      expunged_now.reserve(r->m->size());
      for (const auto& [k, e] : *r->m) {
        const bool was = e->expunged_locked();
        if (e->try_expunge_locked()) {
          if (!was) expunged_now.push_back(e.get());
        } else {
          d->emplace(k, e);
        }
      }
    } catch (...) {
      for (entry* e : expunged_now) e->unexpunge_locked();
      throw;
    }
    dirty_ = std::move(d);
  }

  void miss_locked(reclaimer& rc) const {
    GORO_DEBUG_ASSERT(dirty_ != nullptr, "goro::sync_map: miss without a dirty map");
    if (++misses_ < dirty_->size()) return;
    (void)promote_locked(rc);
  }

  // Under mu_: dirty_ becomes the read map (O(1)); returns the new snapshot.
  const read_only* promote_locked(reclaimer& rc) const {
    auto* published = new read_only(std::shared_ptr<const entry_map>(std::move(dirty_)), false);
    publish_locked(published, rc);
    misses_ = 0;
    return published;
  }

  // Loads may promote, so the state is mutable: the logical contents never
  // change in a const member.
  // read_ and pending_ on a line of their own: every load reads both, and
  // only promotions, amends, clears and rare scans write them.
  alignas(detail::cache_line) mutable std::atomic<const read_only*> read_;       // never null; replaced under mu_
  mutable std::atomic<bool> pending_{false};  // a scan is owed (a kept snapshot, or rounds left)
  alignas(detail::cache_line) mutable std::mutex mu_;                                        // guards dirty_, misses_
  mutable std::unique_ptr<entry_map> dirty_;                     // guarded by mu_
  mutable std::size_t misses_ = 0;                               // guarded by mu_
  using box_list = detail::hazard::striped_retired_list<const box>;
  mutable box_list retired_boxes_;  // one per store: striped by thread
  mutable detail::hazard::retired_list<const read_only> retired_snaps_;
  // scan_state_: 0, or kScanning while one scan runs, plus kAgain once a
  // call asked it to go round again.
  static constexpr unsigned char kScanning = 1, kAgain = 2;
  static constexpr int kMaxScanRounds = 4;
  mutable std::atomic<unsigned char> scan_state_{0};
};

}  // namespace goro

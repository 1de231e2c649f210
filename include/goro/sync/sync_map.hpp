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
//           a shared_ptr<const V> in an atomic slot:
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
// Memory reclamation: read_ and each entry's value word are atomic
// shared_ptr slots (detail::atomic_shared_ptr: a shared_ptr behind a tiny
// spinlock; libstdc++ 12's std::atomic<std::shared_ptr> has a data race in
// load(), see that header), so a reader that loaded the snapshot or a value
// keeps it alive by its own reference: a concurrent promotion, erase,
// overwrite or clear never frees what a reader is using.
//
// Thread-safety: every member may be called concurrently from any thread or
// goroutine; none of them parks a goroutine. mu_ is a std::mutex held for
// O(1) steps, or O(n) once per promotion cycle when dirty_ is rebuilt; user
// code that runs under it: K's copy, Hash, KeyEqual and V's operator== (the
// compare_ forms). V's copy constructor and destructor run outside it. V must
// allow concurrent copies of a const object (every standard type does).
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

#include "goro/detail/atomic_shared_ptr.hpp"
#include "goro/detail/config.hpp"

namespace goro {

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

  sync_map() : read_(std::make_shared<const read_only>()) {}
  sync_map(const sync_map&) = delete;
  sync_map& operator=(const sync_map&) = delete;

  // ---- Load ----

  // The value for key, or nullopt. No lock when the key is in the read map.
  [[nodiscard]] std::optional<V> load(const K& key) const {
    if (value_ptr p = load_shared(key)) return *p;
    return std::nullopt;
  }
  // As load, without copying V: null if absent.
  [[nodiscard]] value_ptr load_shared(const K& key) const {
    std::shared_ptr<const read_only> r = read_.load();
    if (const entry_ptr* e = r->find(key)) return (*e)->load();
    if (!r->amended) return nullptr;
    entry_ptr e = find_slow(key, /*erase_from_dirty=*/false);
    return e ? e->load() : nullptr;
  }
  [[nodiscard]] bool contains(const K& key) const { return load_shared(key) != nullptr; }

  // ---- Store / Swap ----

  void store(const K& key, V value) { (void)swap_shared(key, make_value(std::move(value))); }

  // Stores value and returns the previous value, if any (Go's Swap).
  std::optional<V> swap(const K& key, V value) {
    if (value_ptr prev = swap_shared(key, make_value(std::move(value)))) return *prev;
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
    value_ptr nv;  // made on first need, so a hit never allocates
    std::shared_ptr<const read_only> r = read_.load();
    if (const entry_ptr* e = r->find(key)) {
      if (auto res = (*e)->try_load_or_store(value, nv)) return *res;
    }
    std::unique_lock lk(mu_);
    r = read_.load();
    std::pair<value_ptr, bool> res;
    if (const entry_ptr* e = r->find(key)) {
      if ((*e)->unexpunge_locked()) dirty_->insert_or_assign(key, *e);
      res = *(*e)->try_load_or_store(value, nv);  // cannot fail: not expunged
    } else if (auto it = dirty_find(key); it != nullptr) {
      res = *(*it)->try_load_or_store(value, nv);
      miss_locked();
    } else {
      if (!nv) nv = make_value(std::move(value));
      add_new_key_locked(r, key, nv);
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
  value_ptr load_and_delete_shared(const K& key) {
    std::shared_ptr<const read_only> r = read_.load();
    if (const entry_ptr* e = r->find(key)) return (*e)->remove();
    if (!r->amended) return nullptr;
    entry_ptr e = find_slow(key, /*erase_from_dirty=*/true);
    return e ? e->remove() : nullptr;
  }
  // Go's Delete; true if a value was deleted.
  bool erase(const K& key) { return load_and_delete_shared(key) != nullptr; }

  // ---- CompareAndSwap / CompareAndDelete (V must be equality-comparable) ----

  // Stores desired if key's value == old; false if absent or different.
  bool compare_and_swap(const K& key, const V& old, V desired)
    requires std::equality_comparable<V>
  {
    value_ptr nv;
    std::shared_ptr<const read_only> r = read_.load();
    if (const entry_ptr* e = r->find(key)) return (*e)->try_compare_and_swap(old, desired, nv);
    if (!r->amended) return false;
    std::unique_lock lk(mu_);
    r = read_.load();
    if (const entry_ptr* e = r->find(key)) return (*e)->try_compare_and_swap(old, desired, nv);
    if (auto it = dirty_find(key); it != nullptr) {
      bool swapped = (*it)->try_compare_and_swap(old, desired, nv);
      miss_locked();
      return swapped;
    }
    return false;
  }

  // Deletes key if its value == old.
  bool compare_and_delete(const K& key, const V& old)
    requires std::equality_comparable<V>
  {
    std::shared_ptr<const read_only> r = read_.load();
    entry_ptr held;
    entry* e = nullptr;
    if (const entry_ptr* found = r->find(key)) {
      e = found->get();
    } else if (r->amended) {
      held = find_slow(key, /*erase_from_dirty=*/false);
      e = held.get();
    }
    return e != nullptr && e->compare_and_remove(old);
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
    std::shared_ptr<const read_only> r = read_.load();
    if (r->amended) {
      std::lock_guard lk(mu_);
      r = read_.load();
      if (r->amended) r = promote_locked();
    }
    for (const auto& [k, e] : *r->m) {
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
    std::shared_ptr<const read_only> r = read_.load();
    if (r->m->empty() && !r->amended) return;
    std::unique_ptr<entry_map> old_dirty;  // destroyed after unlocking
    {
      std::lock_guard lk(mu_);
      r = read_.load();
      if (!r->m->empty() || r->amended)
        read_.store(std::make_shared<const read_only>());
      old_dirty = std::move(dirty_);
      misses_ = 0;
    }
  }

 private:
  // ---- entry: one key's value word (see the state list at the top) ----
  struct entry {
    explicit entry(value_ptr v) : p(std::move(v)) {}

    static bool is_expunged(const value_ptr& v) noexcept { return v.get() == expunged_ptr(); }

    value_ptr load() const {
      value_ptr v = p.load();
      if (!v || is_expunged(v)) return nullptr;
      return v;
    }

    // Swaps in nv unless expunged. Returns {previous (null if deleted), ok}.
    std::pair<value_ptr, bool> try_swap(const value_ptr& nv) {
      value_ptr v = p.load();
      for (;;) {
        if (is_expunged(v)) return {nullptr, false};
        if (p.compare_exchange(v, nv))
          return {std::move(v), true};
      }
    }

    // Loads the value if present, else stores (the lazily made) nv.
    // nullopt if expunged (the caller retries under mu_).
    std::optional<std::pair<value_ptr, bool>> try_load_or_store(V& value, value_ptr& nv) {
      value_ptr v = p.load();
      for (;;) {
        if (is_expunged(v)) return std::nullopt;
        if (v) return std::pair{std::move(v), true};
        if (!nv) nv = make_value(std::move(value));
        if (p.compare_exchange(v, nv))
          return std::pair{nv, false};
      }
    }

    // Deletes the value; returns it (null if there was none).
    value_ptr remove() {
      value_ptr v = p.load();
      for (;;) {
        if (!v || is_expunged(v)) return nullptr;
        if (p.compare_exchange(v, value_ptr()))
          return v;
      }
    }

    bool try_compare_and_swap(const V& old, V& desired, value_ptr& nv) {
      value_ptr v = p.load();
      for (;;) {
        if (!v || is_expunged(v) || !(*v == old)) return false;
        if (!nv) nv = make_value(std::move(desired));
        if (p.compare_exchange(v, nv))
          return true;
      }
    }

    bool compare_and_remove(const V& old) {
      value_ptr v = p.load();
      for (;;) {
        if (!v || is_expunged(v) || !(*v == old)) return false;
        if (p.compare_exchange(v, value_ptr()))
          return true;
      }
    }

    // Under mu_, while building dirty_: deleted -> expunged. True if the
    // entry is (now) expunged, so it must be left out of dirty_.
    bool try_expunge_locked() {
      value_ptr v = p.load();
      while (!v) {
        if (p.compare_exchange(v, expunged()))
          return true;
      }
      return is_expunged(v);
    }

    // Under mu_: expunged -> deleted. True if it was expunged (the caller
    // must then put the entry back into dirty_).
    bool unexpunge_locked() {
      value_ptr v = expunged();
      return p.compare_exchange(v, value_ptr());
    }

    // Under mu_, on an entry that is not expunged.
    value_ptr swap_locked(value_ptr nv) { return p.exchange(std::move(nv)); }

    detail::atomic_shared_ptr<const V> p;
  };

  using entry_ptr = std::shared_ptr<entry>;
  using entry_map = std::unordered_map<K, entry_ptr, Hash, KeyEqual>;

  // The published snapshot. m is never modified once published.
  struct read_only {
    read_only() : m(std::make_shared<const entry_map>()) {}
    read_only(std::shared_ptr<const entry_map> map, bool amend) : m(std::move(map)), amended(amend) {}

    std::shared_ptr<const entry_map> m;  // never null
    bool amended = false;                // dirty_ holds a key m lacks

    const entry_ptr* find(const K& key) const {
      auto it = m->find(key);
      return it == m->end() ? nullptr : &it->second;
    }
  };

  // The expunged marker: a non-null pointer owning nothing (shared_ptr's
  // aliasing constructor), compared by address, never dereferenced.
  static const V* expunged_ptr() noexcept {
    alignas(V) static const unsigned char tag = 0;
    return reinterpret_cast<const V*>(&tag);
  }
  static value_ptr expunged() noexcept { return value_ptr(value_ptr(), expunged_ptr()); }

  static value_ptr make_value(V&& v) { return std::make_shared<const V>(std::move(v)); }

  // Under mu_: key's entry in dirty_, or null.
  const entry_ptr* dirty_find(const K& key) const {
    if (!dirty_) return nullptr;
    auto it = dirty_->find(key);
    return it == dirty_->end() ? nullptr : &it->second;
  }

  // The slow path of load / load_and_delete / compare_and_delete: the key
  // was not in the read map and the map is amended. Looks again under mu_
  // and then in dirty_ (counting a miss), optionally removing it from dirty_.
  entry_ptr find_slow(const K& key, bool erase_from_dirty) const {
    std::lock_guard lk(mu_);
    std::shared_ptr<const read_only> r = read_.load();
    if (const entry_ptr* e = r->find(key)) return *e;  // promoted meanwhile
    if (!r->amended) return nullptr;
    entry_ptr found;
    auto it = dirty_->find(key);
    if (it != dirty_->end()) {
      found = it->second;
      if (erase_from_dirty) dirty_->erase(it);
    }
    miss_locked();
    return found;
  }

  value_ptr swap_shared(const K& key, value_ptr nv) {
    std::shared_ptr<const read_only> r = read_.load();
    if (const entry_ptr* e = r->find(key)) {
      if (auto [prev, ok] = (*e)->try_swap(nv); ok) return prev;
    }
    value_ptr prev;  // released after unlocking
    {
      std::lock_guard lk(mu_);
      r = read_.load();
      if (const entry_ptr* e = r->find(key)) {
        if ((*e)->unexpunge_locked()) dirty_->insert_or_assign(key, *e);
        prev = (*e)->swap_locked(std::move(nv));
      } else if (const entry_ptr* d = dirty_find(key)) {
        prev = (*d)->swap_locked(std::move(nv));
      } else {
        add_new_key_locked(r, key, std::move(nv));
      }
    }
    return prev;
  }

  // Under mu_: key is in neither map. Makes sure dirty_ exists and the
  // published snapshot says amended, then adds key to dirty_.
  void add_new_key_locked(const std::shared_ptr<const read_only>& r, const K& key, value_ptr nv) {
    if (!r->amended) {
      dirty_locked();
      // r->m is shared, not copied: it is immutable.
      read_.store(std::make_shared<const read_only>(r->m, true));
    }
    dirty_->emplace(key, std::make_shared<entry>(std::move(nv)));
  }

  // Under mu_: builds dirty_ from the read map if it is null, expunging the
  // deleted entries (they are left out).
  void dirty_locked() const {
    if (dirty_) return;
    std::shared_ptr<const read_only> r = read_.load();
    auto d = std::make_unique<entry_map>();
    d->reserve(r->m->size());
    for (const auto& [k, e] : *r->m)
      if (!e->try_expunge_locked()) d->emplace(k, e);
    dirty_ = std::move(d);
  }

  void miss_locked() const {
    GORO_DEBUG_ASSERT(dirty_ != nullptr, "goro::sync_map: miss without a dirty map");
    if (++misses_ < dirty_->size()) return;
    (void)promote_locked();
  }

  // Under mu_: dirty_ becomes the read map (O(1)); returns the new snapshot.
  std::shared_ptr<const read_only> promote_locked() const {
    auto published = std::make_shared<const read_only>(
        std::shared_ptr<const entry_map>(std::move(dirty_)), false);
    read_.store(published);
    misses_ = 0;
    return published;
  }

  // Loads may promote, so the state is mutable: the logical contents never
  // change in a const member.
  mutable detail::atomic_shared_ptr<const read_only> read_;        // never null
  mutable std::mutex mu_;                                        // guards dirty_, misses_
  mutable std::unique_ptr<entry_map> dirty_;                     // guarded by mu_
  mutable std::size_t misses_ = 0;                               // guarded by mu_
};

}  // namespace goro

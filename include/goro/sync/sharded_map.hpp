// goro/sync/sharded_map.hpp — a hash map split into independently locked
// shards (seed 003, pattern 8: "for write-heavy workloads: sharded map").
//
//   goro::sharded_map<std::string, int> m;           // shards: see default_shards()
//   m.store("a", 1);
//   if (auto v = m.load("a")) use(*v);               // std::optional<V>, a copy
//   auto [actual, loaded] = m.load_or_store("b", 2);
//   m.update("hits", [](std::optional<int>& v) { v = v.value_or(0) + 1; });
//   m.erase("a");  m.load_and_delete("b");
//   m.for_each([](const std::string& k, const int& v) { return true; });
//   m.size();  m.clear();
//
// Each key lives in one shard, chosen by the high bits of Hash(key) mixed by
// a multiplication (std::hash of an integer is the identity on libstdc++;
// the shard's unordered_map uses the low bits, so the two choices do not
// correlate). A shard is one cache line aligned {rw_spinlock, map}:
// operations on different shards never touch the same cache line, and
// readers of one shard share its lock.
//
// Why a detail::rw_spinlock and not goro::mutex / goro::rw_mutex: every
// critical section is a hash lookup plus a copy or move of K/V, never a
// co_await, so parking a goroutine is never needed and the lock would only
// cost a coroutine frame; a reader/writer lock lets the read-heavy workloads
// the seeds describe run in parallel within a shard. And not
// std::shared_mutex (the lock until session 14): glibc's rwlock sleeps in the
// kernel at the first conflict, which stalls the worker thread and every
// goroutine queued on it for microseconds; rw_spinlock spins and yields
// first, and sleeps only when the holder keeps it long (a slow callback).
// A waiting writer holds new readers off, so readers cannot starve it.
//
// Values are returned by copy (or passed to a callback under the shard's
// lock), never by a reference that could outlive the lock.
//
// Callbacks (update, for_each) run under a shard lock: keep them short and
// never call back into the same sharded_map from them (the shard lock is
// not recursive: that deadlocks), and never co_await in them (they are
// plain callables, so that cannot compile into a coroutine anyway).
//
// Consistency: each operation on one key is atomic (linearizable). size()
// and for_each visit shards one after another, so they are not a snapshot
// of the whole map under concurrent writes (as a Go sharded map's would not
// be); each shard is seen consistently.
//
// Thread-safety: every member may be called concurrently from any thread or
// goroutine, except construction, destruction and moving.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "goro/detail/config.hpp"
#include "goro/detail/rw_spinlock.hpp"

namespace goro {

template <class K, class V, class Hash = std::hash<K>, class KeyEqual = std::equal_to<K>>
class sharded_map {
 public:
  using key_type = K;
  using mapped_type = V;

  struct load_or_store_result {
    V value;
    bool loaded;
  };

  // 4 shards per hardware thread, rounded up to a power of two, in [8, 1024].
  static std::size_t default_shards() noexcept {
    std::size_t n = std::size_t{std::max(1u, std::thread::hardware_concurrency())} * 4;
    return std::clamp<std::size_t>(std::bit_ceil(n), 8, 1024);
  }

  // shards must be a power of two (aborts otherwise).
  explicit sharded_map(std::size_t shards = default_shards(), const Hash& hash = Hash(),
                       const KeyEqual& eq = KeyEqual())
      : mask_(shards - 1), hash_(hash) {
    GORO_ASSERT(shards > 0 && std::has_single_bit(shards) && shards <= (std::size_t{1} << 24),
                "goro::sharded_map: the shard count must be a power of two in [1, 2^24]");
    shards_ = std::make_unique<shard[]>(shards);
    for (std::size_t i = 0; i < shards; ++i) shards_[i].m = map_type(0, hash, eq);
  }
  sharded_map(const sharded_map&) = delete;
  sharded_map& operator=(const sharded_map&) = delete;

  std::size_t shard_count() const noexcept { return mask_ + 1; }

  // ---- reads (shared lock) ----

  [[nodiscard]] std::optional<V> load(const K& key) const {
    const shard& s = shard_for(key);
    std::shared_lock lk(s.mu);
    auto it = s.m.find(key);
    if (it == s.m.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] bool contains(const K& key) const {
    const shard& s = shard_for(key);
    std::shared_lock lk(s.mu);
    return s.m.find(key) != s.m.end();
  }

  // ---- writes (exclusive lock) ----

  void store(const K& key, V value) {
    shard& s = shard_for(key);
    std::unique_lock lk(s.mu);
    s.m.insert_or_assign(key, std::move(value));
  }

  // The existing value (loaded = true), or stores value (loaded = false).
  load_or_store_result load_or_store(const K& key, V value) {
    shard& s = shard_for(key);
    {
      std::shared_lock lk(s.mu);  // the common hit takes only the shared lock
      auto it = s.m.find(key);
      if (it != s.m.end()) return {it->second, true};
    }
    std::unique_lock lk(s.mu);
    auto [it, inserted] = s.m.try_emplace(key, std::move(value));
    return {it->second, !inserted};
  }

  // Deletes key; returns its value, if it had one.
  std::optional<V> load_and_delete(const K& key) {
    shard& s = shard_for(key);
    std::optional<V> out;
    {
      std::unique_lock lk(s.mu);
      auto it = s.m.find(key);
      if (it == s.m.end()) return std::nullopt;
      out.emplace(std::move(it->second));
      s.m.erase(it);
    }
    return out;
  }
  // True if key was present.
  bool erase(const K& key) {
    shard& s = shard_for(key);
    std::unique_lock lk(s.mu);
    return s.m.erase(key) != 0;
  }

  // Read-modify-write of one key, atomically under its shard's lock.
  // f(std::optional<V>& slot): slot holds the current value or nullopt;
  // whatever slot holds when f returns is stored (nullopt: the key is
  // erased). Returns what f returns. Example, a counter:
  //   m.update(k, [](std::optional<int>& v) { v = v.value_or(0) + 1; });
  template <class F>
  decltype(auto) update(const K& key, F&& f) {
    shard& s = shard_for(key);
    std::unique_lock lk(s.mu);
    auto it = s.m.find(key);
    std::optional<V> slot;
    if (it != s.m.end()) slot.emplace(std::move(it->second));
    // Writes the slot back, also when f throws (the map then keeps whatever
    // the slot holds). noexcept(false): a failed insertion propagates.
    struct write_back {
      map_type& m;
      typename map_type::iterator it;
      const K& key;
      std::optional<V>& slot;
      ~write_back() noexcept(false) {
        if (it != m.end()) {
          if (slot) it->second = std::move(*slot);
          else m.erase(it);
        } else if (slot) {
          m.emplace(key, std::move(*slot));
        }
      }
    } wb{s.m, it, key, slot};
    return std::invoke(std::forward<F>(f), slot);
  }

  // ---- whole map ----

  // Calls f(key, value) for each entry, shard by shard under its shared
  // lock, until f returns false (f may also return void: visit all).
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i <= mask_; ++i) {
      const shard& s = shards_[i];
      std::shared_lock lk(s.mu);
      for (const auto& [k, v] : s.m) {
        if constexpr (std::is_void_v<std::invoke_result_t<F&, const K&, const V&>>) {
          std::invoke(f, k, v);
        } else {
          if (!std::invoke(f, k, v)) return;
        }
      }
    }
  }

  // Number of entries (the shards are counted one after another).
  [[nodiscard]] std::size_t size() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i <= mask_; ++i) {
      std::shared_lock lk(shards_[i].mu);
      n += shards_[i].m.size();
    }
    return n;
  }
  [[nodiscard]] bool empty() const { return size() == 0; }

  void clear() {
    for (std::size_t i = 0; i <= mask_; ++i) {
      map_type old;  // destroyed after unlocking
      {
        std::unique_lock lk(shards_[i].mu);
        old.swap(shards_[i].m);
      }
    }
  }

 private:
  using map_type = std::unordered_map<K, V, Hash, KeyEqual>;

  struct alignas(detail::cache_line) shard {
    mutable detail::rw_spinlock mu;
    map_type m;  // guarded by mu
  };

  std::size_t index(const K& key) const {
    // Fibonacci hashing: the multiplication spreads every input bit into the
    // high bits, which pick the shard.
    std::uint64_t x = static_cast<std::uint64_t>(hash_(key)) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(x >> 40) & mask_;
  }
  shard& shard_for(const K& key) { return shards_[index(key)]; }
  const shard& shard_for(const K& key) const { return shards_[index(key)]; }

  std::size_t mask_;  // shard count - 1; immutable
  Hash hash_;         // immutable
  std::unique_ptr<shard[]> shards_;
};

}  // namespace goro

// maps_snippets — every goro snippet of docs/guide/maps-and-pools.md,
// compiled against the current headers and run.
//
// Each snippet is a function named after its section in the guide (the guide
// cites the name). The functions hold the snippet as the guide shows it, plus
// the few lines that check what it did. main() runs them all through run_all()
// of snippets.hpp (the shared scaffolding), which checks after each one that
// every goroutine it started has returned, and prints one line per snippet.
// Nothing here synchronises with a sleep.
#include <any>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <iterator>
#include <utility>
#include <vector>

#include <goro/goro.hpp>

#include "snippets.hpp"

using namespace std::chrono_literals;

namespace {

// ---- scaffolding (not part of any snippet) ---------------------------------------

// CHECK, rt() and the snippet table entry come from snippets.hpp.
using goro_snippets::rt;
using goro_snippets::snippet;

void log_line(const std::string&) {}  // stands in for log.Println

// =================================================================================
// 1. sync.Map -> goro::sync_map
// =================================================================================

// §1.1 seed 002 "sync.Map": Store, Load, LoadOrStore, Delete, Range.
std::string sync_map_basics() {
  goro::sync_map<std::string, std::string> cache;

  // Store
  cache.store("key", "value");

  // Load
  if (std::optional<std::string> value = cache.load("key")) {
    log_line(*value);
  }

  // LoadOrStore
  auto [actual, loaded] = cache.load_or_store("key", "value");

  // Delete
  cache.erase("key");

  // Range
  cache.range([](const std::string& key, const std::string& value) {
    log_line(key + ": " + value);
    return true;  // continue iteration
  });

  CHECK(actual == "value" && loaded);
  CHECK(!cache.load("key"));
  return "store, load, load_or_store (loaded), erase, range";
}

// §1.2 seed 003 "Pattern 8: Concurrent Map" (frequent reads, infrequent writes).
template <class V>
class Cache {
 public:
  std::optional<V> get(const std::string& key) const { return m_.load(key); }
  void set(const std::string& key, V value) { m_.store(key, std::move(value)); }
  // The value now cached, and whether it was there already.
  std::pair<V, bool> get_or_set(const std::string& key, V value) {
    auto [actual, loaded] = m_.load_or_store(key, std::move(value));
    return {std::move(actual), loaded};
  }

 private:
  goro::sync_map<std::string, V> m_;
};

goro::task<std::string> sync_map_cache_body() {
  Cache<int> c;
  goro::wait_group wg;
  std::atomic<int> stored{0};
  for (int i = 0; i < 100; ++i)
    wg.go([&c, &stored, i]() -> goro::task<> {
      auto [v, loaded] = c.get_or_set("answer", i);  // 100 goroutines race
      if (!loaded) stored.fetch_add(1);
      CHECK(c.get("answer") == v);
      co_return;
    });
  co_await wg.wait();
  CHECK(stored.load() == 1);  // exactly one of them stored
  co_return "100 racing get_or_set -> exactly 1 store";
}
std::string sync_map_cache() { return goro::run(sync_map_cache_body); }

// §1.3 seed 003 "Common Race Conditions": FIX: use sync.Map.
goro::sync_map<std::string, std::string> race_fix_cache;

std::string get(const std::string& key) {
  return race_fix_cache.load(key).value_or("");  // val.(string) with a zero value
}

goro::task<std::string> sync_map_race_fix_body() {
  goro::wait_group wg;
  for (int i = 0; i < 10; ++i)
    wg.go([i]() -> goro::task<> {
      race_fix_cache.store("k" + std::to_string(i), std::to_string(i));
      (void)get("k" + std::to_string((i + 1) % 10));
      co_return;
    });
  co_await wg.wait();
  CHECK(get("k3") == "3");
  CHECK(get("missing").empty());
  co_return "10 goroutines store and load without a race";
}
std::string sync_map_race_fix() { return goro::run(sync_map_race_fix_body); }

// §1.4 Swap, CompareAndSwap, CompareAndDelete, LoadAndDelete (Go 1.20).
goro::task<std::string> sync_map_cas_body() {
  goro::sync_map<std::string, int> hits;
  goro::wait_group wg;
  for (int i = 0; i < 50; ++i)
    wg.go([&hits]() -> goro::task<> {
      (void)hits.load_or_store("page", 0);
      for (;;) {  // a lock-free increment
        int cur = hits.load("page").value_or(0);
        if (hits.compare_and_swap("page", cur, cur + 1)) break;
      }
      co_return;
    });
  co_await wg.wait();
  CHECK(hits.load("page") == 50);

  std::optional<int> previous = hits.swap("page", 0);      // Swap
  bool deleted = hits.compare_and_delete("page", 0);       // CompareAndDelete
  std::optional<int> gone = hits.load_and_delete("page");  // LoadAndDelete
  CHECK(previous == 50 && deleted && !gone);
  co_return "50 CAS increments -> 50; swap, compare_and_delete";
}
std::string sync_map_cas() { return goro::run(sync_map_cas_body); }

// §1.5 Values outlive erase: load_shared.
std::string sync_map_shared() {
  goro::sync_map<int, std::string> docs;
  docs.store(1, "a long document");
  std::shared_ptr<const std::string> doc = docs.load_shared(1);  // no copy of the string
  docs.erase(1);                                                  // another goroutine may do this
  CHECK(*doc == "a long document");                               // still valid
  return "load_shared keeps the value alive after erase";
}

// =================================================================================
// 2. Sharded map -> goro::sharded_map
// =================================================================================

// §2.1 seed 003 "Pattern 8": ShardedMap for write-heavy workloads.
goro::task<std::string> sharded_map_seed_body() {
  goro::sharded_map<std::string, std::any> m(32);  // NewShardedMap(32)

  m.store("user:1", std::string("ada"));  // Set
  std::optional<std::any> v = m.load("user:1");  // Get
  CHECK(v && std::any_cast<std::string>(*v) == "ada");

  goro::wait_group wg;
  for (int i = 0; i < 100; ++i)
    wg.go([&m, i]() -> goro::task<> {
      m.store("k" + std::to_string(i), i);
      co_return;
    });
  co_await wg.wait();
  CHECK(m.size() == 101);
  co_return "100 concurrent stores into 32 shards -> 101 keys";
}
std::string sharded_map_seed() { return goro::run(sharded_map_seed_body); }

// §2.2 seed 000 "SafeMap": one RWMutex around a map.
class SafeMap {
 public:
  void set(const std::string& key, std::any value) { m_.store(key, std::move(value)); }
  std::optional<std::any> get(const std::string& key) const { return m_.load(key); }
  void remove(const std::string& key) { m_.erase(key); }

 private:
  goro::sharded_map<std::string, std::any> m_{1};  // one shard: exactly SafeMap
};

std::string safe_map() {
  SafeMap sm;
  sm.set("a", 1);
  CHECK(std::any_cast<int>(*sm.get("a")) == 1);
  sm.remove("a");
  CHECK(!sm.get("a"));
  return "set, get, remove";
}

// §2.3 Read-modify-write under the shard lock: a word count.
goro::task<std::string> sharded_map_update_body() {
  goro::sharded_map<std::string, int> counts;
  const std::vector<std::string> lines = {"the cat", "the dog", "a cat"};
  goro::wait_group wg;
  for (const std::string& line : lines)
    wg.go([&counts](std::string line) -> goro::task<> {
      std::istringstream words(line);
      for (std::string w; words >> w;)
        counts.update(w, [](std::optional<int>& n) { n = n.value_or(0) + 1; });
      co_return;
    }, line);
  co_await wg.wait();
  CHECK(counts.load("the") == 2 && counts.load("cat") == 2 && counts.load("a") == 1);

  // f may also erase (leave the slot empty) and return a result.
  bool was_two = counts.update("cat", [](std::optional<int>& n) {
    bool two = n == 2;
    if (two) n.reset();
    return two;
  });
  CHECK(was_two && !counts.contains("cat"));
  co_return "word counts: the=2 cat=2 a=1; conditional erase";
}
std::string sharded_map_update() { return goro::run(sharded_map_update_body); }

// =================================================================================
// 3. Leaky buffer / free list -> goro::pool
// =================================================================================

struct Buffer {
  std::string data;
  void reset() { data.clear(); }
};

// §3.1 seed 003 "Pattern 9: Leaky Buffer": getBuffer / putBuffer.
goro::pool<Buffer> free_list(100, [] { return std::make_unique<Buffer>(); },
                             [](Buffer& b) { b.reset(); });

std::unique_ptr<Buffer> get_buffer() {
  return free_list.get();  // reuse an existing one, or allocate a new one
}
void put_buffer(std::unique_ptr<Buffer> b) {
  free_list.put(std::move(b));  // resets it; full: the buffer is freed here
}

std::string pool_leaky_buffer() {
  auto b = get_buffer();
  Buffer* first = b.get();
  b->data = "payload";
  put_buffer(std::move(b));
  auto again = get_buffer();
  CHECK(again.get() == first && again->data.empty());  // reused, and reset
  put_buffer(std::move(again));
  return "get, put (reset), get -> the same buffer, empty";
}

// §3.2 The handle form: forgetting to put it back is impossible.
goro::task<std::string> pool_handle_body() {
  goro::pool<Buffer> buffers(8, [] { return std::make_unique<Buffer>(); },
                             [](Buffer& b) { b.reset(); });
  goro::wait_group wg;
  for (int i = 0; i < 100; ++i)
    wg.go([&buffers, i]() -> goro::task<> {
      auto b = buffers.acquire();  // back in the pool when b goes out of scope
      b->data = "request " + std::to_string(i);
      co_return;
    });
  co_await wg.wait();
  CHECK(buffers.idle() >= 1 && buffers.idle() <= 8);
  co_return "100 goroutines, buffers returned by their handles; " +
      std::to_string(buffers.idle()) + " idle";
}
std::string pool_handle() { return goro::run(pool_handle_body); }

// §3.3 Go's sync.Pool example (sync/example_pool_test.go): a pool of
// bytes.Buffer for a logger.
goro::pool<std::ostringstream> buf_pool(16, [] { return std::make_unique<std::ostringstream>(); },
                                       [](std::ostringstream& b) { b.str(""); });

std::string log_entry(std::chrono::system_clock::time_point, const std::string& key,
                      const std::string& val) {
  auto b = buf_pool.acquire();
  *b << "2006-01-02T15:04:05Z " << key << "=" << val << "\n";
  return b->str();
}

std::string pool_sync_pool_example() {
  std::string line = log_entry(std::chrono::system_clock::now(), "path", "/search?q=flowers");
  CHECK(line == "2006-01-02T15:04:05Z path=/search?q=flowers\n");
  CHECK(buf_pool.idle() == 1);
  return "log line built in a pooled buffer";
}

// ---- the table main() runs ---------------------------------------------------------

const snippet kSnippets[] = {
    {"sync_map_basics", sync_map_basics},
    {"sync_map_cache", sync_map_cache},
    {"sync_map_race_fix", sync_map_race_fix},
    {"sync_map_cas", sync_map_cas},
    {"sync_map_shared", sync_map_shared},
    {"sharded_map_seed", sharded_map_seed},
    {"safe_map", safe_map},
    {"sharded_map_update", sharded_map_update},
    {"pool_leaky_buffer", pool_leaky_buffer},
    {"pool_handle", pool_handle},
    {"pool_sync_pool_example", pool_sync_pool_example},
};

}  // namespace

int main() { return goro_snippets::run_all("maps_snippets", kSnippets, {.name_width = 22}); }

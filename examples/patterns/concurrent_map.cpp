// Pattern: concurrent map. The Go guides use sync.Map for a read-mostly
// cache and a sharded map (one RWMutex per shard) for write-heavy use:
//
//   func (c *Cache) GetOrSet(key string, value interface{}) (interface{}, bool) {
//       return c.m.LoadOrStore(key, value)
//   }
//   shard := m.getShard(key); shard.Lock(); shard.data[key] = value; shard.Unlock()
//
// (A plain map written by several goroutines is a data race; goro cannot
// stop you from writing one either: use one of these, or a mutex.)
// goro::sync_map is Go's sync.Map; goro::sharded_map is the sharded map,
// with an update() that reads and writes a key under its shard's lock.
#include <string>
#include <vector>

#include "example.hpp"

namespace {

goro::task<> first_config(goro::sync_map<std::string, std::string>* cache, int id,
                          std::vector<std::string>* seen) {
  co_await goro::yield();
  // Every goroutine offers its own value; exactly one is stored, all get it.
  auto [actual, loaded] = cache->load_or_store("config", "config from goroutine " + std::to_string(id));
  (*seen)[static_cast<std::size_t>(id)] = actual;
}

goro::task<> count_hits(goro::sharded_map<std::string, int>* hits, int id) {
  for (int i = 0; i < 1000; ++i) {
    hits->update("page-" + std::to_string((id + i) % 4), [](std::optional<int>& v) { v = v.value_or(0) + 1; });
    if (i % 100 == 0) co_await goro::yield();
  }
}

}  // namespace

goro::task<> goro_examples::concurrent_map() {
  // sync.Map: LoadOrStore from 8 goroutines at once.
  goro::sync_map<std::string, std::string> cache;
  std::vector<std::string> seen(8);
  goro::wait_group wg;
  for (int id = 0; id < 8; ++id) wg.go(first_config, &cache, id, &seen);
  co_await wg.wait();
  bool same = true;
  for (const std::string& s : seen) same = same && s == seen[0];
  say("sync_map: 8 goroutines LoadOrStore one key: %s", same ? "one value stored, all 8 got it" : "?");
  CHECK(same && cache.load("config") == seen[0]);

  // Sharded map: 8 goroutines x 1000 increments over 4 keys.
  goro::sharded_map<std::string, int> hits(16);
  for (int id = 0; id < 8; ++id) wg.go(count_hits, &hits, id);
  co_await wg.wait();
  std::string line;
  for (int k = 0; k < 4; ++k) {
    std::string key = "page-" + std::to_string(k);
    line += " " + key + "=" + std::to_string(hits.load(key).value_or(0));
  }
  say("sharded_map: 8 goroutines x 1000 update(+1) on 4 keys:%s", line.c_str());
  CHECK(line == " page-0=2000 page-1=2000 page-2=2000 page-3=2000");
}

GORO_EXAMPLE_MAIN(concurrent_map)

// Pattern: protected shared state (mutex). The Go guides guard a counter
// with a Mutex and a read-mostly cache with an RWMutex, unlocking with defer:
//
//   func (c *Counter) Increment() { c.mu.Lock(); defer c.mu.Unlock(); c.value++ }
//   func (c *Cache) Get(key string) (Item, bool) {
//       c.mu.RLock(); defer c.mu.RUnlock(); item, ok := c.items[key]; return item, ok
//   }
//
// and sync/atomic for a plain counter. goro's mutex parks the goroutine
// (the worker thread runs others meanwhile); scoped_lock() is
// `Lock(); defer Unlock()` in one line. A goro::mutex cannot be copied (Go's
// "never copy a mutex" is a compile error here).
#include <atomic>
#include <map>
#include <optional>
#include <string>

#include "example.hpp"

namespace {

class counter {
 public:
  goro::task<> increment() {
    auto g = co_await mu_.scoped_lock();  // Go: c.mu.Lock(); defer c.mu.Unlock()
    ++value_;
  }
  goro::task<int> value() {
    auto g = co_await mu_.scoped_lock();
    co_return value_;
  }

 private:
  goro::mutex mu_;
  int value_ = 0;
};

class cache {
 public:
  goro::task<std::optional<std::string>> get(std::string key) {
    auto r = co_await mu_.scoped_lock_shared();  // RLock: readers share it
    auto it = items_.find(key);
    if (it == items_.end()) co_return std::nullopt;
    co_return it->second;
  }
  goro::task<> set(std::string key, std::string value) {
    auto w = co_await mu_.scoped_lock();  // Lock: one writer, no readers
    items_[key] = std::move(value);
  }

 private:
  goro::rw_mutex mu_;
  std::map<std::string, std::string> items_;
};

goro::task<> bump(counter* c, std::atomic<long>* plain, int times) {
  for (int i = 0; i < times; ++i) {
    co_await c->increment();
    plain->fetch_add(1, std::memory_order_relaxed);  // Go: atomic.Int64.Add(1)
    if (i % 10 == 0) co_await goro::yield();         // let the others interleave
  }
}

goro::task<> read_write(cache* c, int id) {
  std::string key = "user-" + std::to_string(id % 3);
  std::string value = "seen by " + std::to_string(id);  // named: no temporaries in co_await (GCC 12)
  co_await c->set(key, std::move(value));
  std::optional<std::string> v = co_await c->get(key);
  CHECK(v.has_value());
}

}  // namespace

goro::task<> goro_examples::protected_state() {
  counter c;
  std::atomic<long> plain{0};
  goro::wait_group wg;
  for (int g = 0; g < 10; ++g) wg.go(bump, &c, &plain, 100);
  co_await wg.wait();
  int total = co_await c.value();
  say("mutex: 10 goroutines x 100 increments = %d (and %ld with std::atomic)", total, plain.load());
  CHECK(total == 1000 && plain.load() == 1000);

  cache users;
  for (int id = 0; id < 12; ++id) wg.go(read_write, &users, id);
  co_await wg.wait();
  std::string key = "user-0";
  std::optional<std::string> u = co_await users.get(key);
  say("rw_mutex cache: 12 goroutines set and get 3 keys; user-0 is \"%s\"", u ? "set" : "missing");
  CHECK(u.has_value());
}

GORO_EXAMPLE_MAIN(protected_state)

// sync_snippets — every goro snippet of docs/guide/sync.md, compiled against
// the current headers and run.
//
// Each snippet is a function named after its section in the guide (the guide
// cites the name). The functions hold the snippet as the guide shows it, plus
// the few lines that check what it did. main() runs them all through run_all()
// of snippets.hpp (the shared scaffolding), which checks after each one that
// every goroutine it started has returned, and prints one line per snippet.
// Nothing here synchronises with a sleep.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <goro/goro.hpp>

#include "snippets.hpp"

using namespace std::chrono_literals;

namespace {

// ---- scaffolding (not part of any snippet) ---------------------------------------

// CHECK, rt() and the snippet table entry come from snippets.hpp.
using goro_snippets::rt;
using goro_snippets::snippet;

// =================================================================================
// 1. Mutex
// =================================================================================

// §1.1 seeds 002 / 003 "sync.Mutex": Counter with Increment and Value.
class Counter {
 public:
  goro::task<> increment() {
    auto lock = co_await mu_.scoped_lock();  // mu.Lock(); defer mu.Unlock()
    ++count_;
  }
  goro::task<int> value() {
    auto lock = co_await mu_.scoped_lock();
    co_return count_;
  }

 private:
  goro::mutex mu_;
  int count_ = 0;  // guarded by mu_
};

goro::task<std::string> mutex_counter_body() {
  Counter c;
  goro::wait_group wg;
  for (int i = 0; i < 100; ++i) wg.go([&c]() -> goro::task<> { co_await c.increment(); });
  co_await wg.wait();
  int v = co_await c.value();
  CHECK(v == 100);
  co_return "100 concurrent increments -> " + std::to_string(v);
}
std::string mutex_counter() { return goro::run(mutex_counter_body); }

// §1.2 Lock / Unlock without a guard, TryLock, and plain threads.
goro::task<std::string> mutex_forms_body() {
  goro::mutex mu;
  long shared = 0;

  co_await mu.lock();  // mu.Lock()
  ++shared;
  mu.unlock();  // mu.Unlock()

  if (mu.try_lock()) {  // mu.TryLock()
    ++shared;
    mu.unlock();
  }

  auto [ctx, cancel] = goro::with_timeout(goro::background(), 1min);
  std::error_code ec = co_await mu.lock(ctx);  // not in Go: gives up when ctx is done
  if (!ec) {  // {}: held; ctx.err(): not held
    ++shared;
    mu.unlock();
  }

  std::thread t([&] {  // a plain thread blocks instead of parking
    mu.blocking_lock();
    ++shared;
    mu.unlock();
  });
  co_await goro::spawn_blocking([&] { t.join(); });
  CHECK(shared == 4);
  co_return "lock, try_lock, lock(ctx), blocking_lock -> 4";
}
std::string mutex_forms() { return goro::run(mutex_forms_body); }

// =================================================================================
// 2. RWMutex
// =================================================================================

struct Item {
  std::string name;
  int price = 0;
};

// §2.1 seeds 002 / 003 / 004 "sync.RWMutex": Cache with Get and Set.
class Cache {
 public:
  goro::task<std::optional<Item>> get(std::string key) {
    auto lock = co_await mu_.scoped_lock_shared();  // RLock(); defer RUnlock()
    auto it = items_.find(key);
    if (it == items_.end()) co_return std::nullopt;
    co_return it->second;
  }
  goro::task<> set(std::string key, Item item) {
    auto lock = co_await mu_.scoped_lock();  // Lock(); defer Unlock()
    items_[key] = std::move(item);
  }

 private:
  goro::rw_mutex mu_;
  std::map<std::string, Item> items_;  // guarded by mu_
};

goro::task<std::string> rw_cache_body() {
  Cache cache;
  goro::wait_group wg;
  for (int i = 0; i < 50; ++i)
    wg.go([&cache, i]() -> goro::task<> {
      std::string key = "key-" + std::to_string(i % 10);
      Item item{key, i};  // named: GCC 12 and aggregate temporaries in co_await (guide §9)
      co_await cache.set(key, std::move(item));
      auto v = co_await cache.get(key);
      CHECK(v.has_value());
    });
  co_await wg.wait();
  auto v = co_await cache.get("key-3");
  CHECK(v && v->name == "key-3");
  co_return "50 goroutines set/get -> key-3 present";
}
std::string rw_cache() { return goro::run(rw_cache_body); }

// §2.2 seed 002 "Holding Lock Too Long": read under RLock, fetch without any
// lock, store under Lock.
std::atomic<int> g_fetches{0};
goro::task<std::string> fetch_from_database(std::string key) {
  g_fetches.fetch_add(1);
  co_await goro::yield();  // stands for a slow call
  co_return "value-of-" + key;
}

class SlowCache {
 public:
  goro::task<std::string> get(std::string key) {
    {
      auto r = co_await mu_.scoped_lock_shared();
      auto it = data_.find(key);
      if (it != data_.end()) co_return it->second;
    }  // RUnlock before the slow call
    std::string value = co_await fetch_from_database(key);
    auto w = co_await mu_.scoped_lock();
    data_[key] = value;
    co_return value;
  }

 private:
  goro::rw_mutex mu_;
  std::map<std::string, std::string> data_;  // guarded by mu_
};

goro::task<std::string> lock_too_long_body() {
  SlowCache c;
  std::string a = co_await c.get("user:1");
  std::string b = co_await c.get("user:1");  // served from the cache
  CHECK(a == b && g_fetches.load() == 1);
  co_return "second get served from cache -> 1 fetch";
}
std::string lock_too_long() { return goro::run(lock_too_long_body); }

// §2.3 seed 002 "Testing Goroutines": TestConcurrentAccess on the cache of §2.1.
goro::task<> test_concurrent_access() {
  Cache cache;
  goro::wait_group wg;
  for (int i = 0; i < 100; ++i) {
    wg.go([](Cache* cache, int id) -> goro::task<> {
      std::string key = "key-" + std::to_string(id);
      Item item{key, id};  // named: GCC 12 and aggregate temporaries in co_await
      co_await cache->set(key, std::move(item));
      std::optional<Item> value = co_await cache->get(key);
      CHECK(value.has_value());   // require.True(t, ok)
      CHECK(value->price == id);  // require.Equal(t, id, value)
    }, &cache, i);
  }
  co_await wg.wait();
}
goro::task<std::string> concurrent_access_body() {
  co_await test_concurrent_access();
  co_return "100 goroutines set then get their own key";
}
std::string concurrent_access() { return goro::run(concurrent_access_body); }

// =================================================================================
// 3. WaitGroup
// =================================================================================

// §3 seeds 002 / 003 "sync.WaitGroup".
std::atomic<int> g_processed{0};
void process(const Item&) { g_processed.fetch_add(1); }

goro::task<std::string> wait_group_body() {
  std::vector<Item> items(20);
  goro::wait_group wg;
  for (const Item& item : items) {
    wg.add(1);  // BEFORE starting the goroutine
    goro::go([&wg](Item i) {
      process(i);
      wg.done();
    }, item);
  }
  co_await wg.wait();  // Block until all complete

  // The short form: wg.go adds, starts and calls done() when f returns.
  for (const Item& item : items) wg.go(process, item);
  co_await wg.wait();
  CHECK(g_processed.load() == 40);

  // Waiting with a deadline: wait(ctx) is {} at zero, ctx.err() if ctx is done first.
  for (const Item& item : items) wg.go(process, item);
  auto [ctx, cancel] = goro::with_timeout(goro::background(), 5s);
  std::error_code ec = co_await wg.wait(ctx);
  if (ec) {
    // timed out: the goroutines still run and still use wg; report, then wait anyway
    co_await wg.wait();
  }
  CHECK(!ec && g_processed.load() == 60);
  co_return "add/go/done x20, wg.go x20, wg.go x20 + wait(ctx) -> 60";
}
std::string wait_group_snippet() { return goro::run(wait_group_body); }

// =================================================================================
// 4. Once
// =================================================================================

// §4.1 seed 003 "sync.Once (One-Time Initialization)": GetInstance.
struct Singleton {
  int ready = 0;
  void init() { ready = 1; }
};
goro::once g_instance_once;
Singleton* g_instance = nullptr;

goro::task<Singleton*> get_instance() {
  co_await g_instance_once.call([] {
    g_instance = new Singleton{};  // lives for the program, as in Go
    g_instance->init();
  });
  co_return g_instance;
}

goro::task<std::string> once_singleton_body() {
  std::vector<goro::join_handle<Singleton*>> hs;
  for (int i = 0; i < 10; ++i) hs.push_back(goro::spawn(get_instance));
  Singleton* first = nullptr;
  for (auto& h : hs) {
    Singleton* s = co_await std::move(h);
    CHECK(s->ready == 1 && (first == nullptr || s == first));
    first = s;
  }
  co_return "10 callers -> one instance";
}
std::string once_singleton() { return goro::run(once_singleton_body); }

// §4.2 seed 002 "sync.Once": Service.getClient, with once_value.
struct http_client {
  std::chrono::seconds timeout;
};
class Service {
 public:
  goro::task<const http_client*> get_client() {
    const http_client& c = co_await client_.get();
    co_return &c;
  }

 private:
  goro::once_value<http_client> client_{[] { return http_client{30s}; }};
};

goro::task<std::string> once_value_body() {
  Service s;
  const http_client* a = co_await s.get_client();
  const http_client* b = co_await s.get_client();
  CHECK(a == b && a->timeout == 30s);
  co_return "get_client twice -> same client, 30s timeout";
}
std::string once_value_snippet() { return goro::run(once_value_body); }

// §4.3 seed 004 "Pattern 7: Once Initialization" (conn + initErr), with retry.
struct conn {
  std::string addr;
};
std::atomic<int> g_dials{0};
// Stands for grpc.Dial: fails the first time.
std::error_code dial(const std::string& addr, std::unique_ptr<conn>& out) {
  if (g_dials.fetch_add(1) == 0) return std::make_error_code(std::errc::connection_refused);
  out = std::make_unique<conn>(conn{addr});
  return {};
}

class Client {
 public:
  explicit Client(std::string addr) : addr_(std::move(addr)) {}
  // Go caches the first error forever; call_until_success lets the next call retry.
  goro::task<conn*> get_conn() {
    std::error_code ec = co_await init_once_.call_until_success([this] { return dial(addr_, conn_); });
    if (ec) throw std::system_error(ec, "dial " + addr_);
    co_return conn_.get();
  }

 private:
  std::string addr_;
  goro::once init_once_;
  std::unique_ptr<conn> conn_;  // written once, by the successful attempt
};

goro::task<std::string> once_retry_body() {
  Client c("db:5432");
  bool first_failed = false;
  try {
    (void)co_await c.get_conn();
  } catch (const std::system_error&) {
    first_failed = true;
  }
  conn* a = co_await c.get_conn();  // retried, and now it works
  conn* b = co_await c.get_conn();  // done: no third dial
  CHECK(first_failed && a == b && a->addr == "db:5432" && g_dials.load() == 2);
  co_return "first dial fails, second succeeds, third call reuses -> 2 dials";
}
std::string once_retry() { return goro::run(once_retry_body); }

// =================================================================================
// 5. Cond
// =================================================================================

// §5 Go's sync.Cond over a mutex: a queue that consumers wait on.
class Queue {
 public:
  goro::task<> put(int v) {
    {
      auto lock = co_await mu_.scoped_lock();
      items_.push_back(v);
    }
    cv_.signal();  // c.Signal()
  }
  goro::task<int> take() {
    auto lock = co_await mu_.scoped_lock();
    while (items_.empty()) co_await cv_.wait();  // for len(q) == 0 { c.Wait() }
    int v = items_.front();
    items_.erase(items_.begin());
    co_return v;
  }

 private:
  goro::mutex mu_;
  goro::cond cv_{mu_};     // sync.NewCond(&mu)
  std::vector<int> items_;  // guarded by mu_
};

goro::task<std::string> cond_queue_body() {
  Queue q;
  std::atomic<int> sum{0};
  goro::wait_group wg;
  for (int i = 0; i < 4; ++i)
    wg.go([&]() -> goro::task<> {
      for (int k = 0; k < 5; ++k) {
        int v = co_await q.take();
        sum.fetch_add(v);
      }
    });
  for (int v = 1; v <= 20; ++v) co_await q.put(v);
  co_await wg.wait();
  CHECK(sum.load() == 210);
  co_return "4 consumers take 20 items -> sum 210";
}
std::string cond_queue() { return goro::run(cond_queue_body); }

// =================================================================================
// 6. Semaphore
// =================================================================================

// §6 seed 003 "Pattern 4: Bounded Concurrency (Semaphore)".
class RateLimitedWorker {
 public:
  explicit RateLimitedWorker(std::int64_t max_concurrent) : sem_(max_concurrent) {}

  goro::task<std::vector<std::string>> run(goro::context ctx,
                                             std::vector<std::function<std::optional<std::string>()>> tasks) {
    goro::wait_group wg;
    goro::mutex mu;
    std::vector<std::string> errors;
    std::error_code canceled;
    for (auto& task : tasks) {
      goro::acquire_status st = co_await sem_.acquire(ctx, 1);
      if (st != goro::acquire_status::ok) {  // canceled (too_large only if 1 > size)
        canceled = ctx.err();
        break;
      }
      wg.go([&](std::function<std::optional<std::string>()> t) -> goro::task<> {
        struct release_on_exit {  // defer w.sem.Release(1)
          goro::semaphore& s;
          ~release_on_exit() { s.release(1); }
        } rel{sem_};
        running_max_.store(std::max(running_max_.load(), ++running_));
        std::optional<std::string> err = t();
        --running_;
        if (err) {
          auto lock = co_await mu.scoped_lock();
          errors.push_back(*err);
        }
      }, task);
    }
    co_await wg.wait();  // on every path: the goroutines use wg, mu and errors
    if (canceled) co_return std::vector<std::string>{canceled.message()};  // return []error{err}
    co_return errors;
  }
  int running_max() const { return running_max_.load(); }

 private:
  goro::semaphore sem_;
  std::atomic<int> running_{0}, running_max_{0};
};

goro::task<std::string> semaphore_worker_body() {
  RateLimitedWorker w(3);
  std::vector<std::function<std::optional<std::string>()>> tasks;
  for (int i = 0; i < 12; ++i)
    tasks.push_back([i]() -> std::optional<std::string> {
      if (i % 4 == 0) return "task " + std::to_string(i) + " failed";
      return std::nullopt;
    });
  auto errors = co_await w.run(goro::background(), tasks);
  CHECK(errors.size() == 3 && w.running_max() <= 3);
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  cancel();
  auto stopped = co_await w.run(ctx, tasks);  // Acquire(ctx, 1) fails: nothing starts
  CHECK(stopped.size() == 1 && stopped[0] == "context canceled");
  co_return "12 tasks, at most 3 at once -> 3 errors; cancelled ctx -> context canceled";
}
std::string semaphore_worker() { return goro::run(semaphore_worker_body); }

// §6.2 weights, timeouts, too large.
goro::task<std::string> semaphore_forms_body() {
  goro::semaphore sem(10);  // semaphore.NewWeighted(10)
  auto st = co_await sem.acquire(4);
  CHECK(st == goro::acquire_status::ok);
  CHECK(sem.try_acquire(6));   // TryAcquire(6): exactly fills it
  CHECK(!sem.try_acquire(1));  // full
  auto late = co_await sem.acquire_for(1, 5ms);
  CHECK(late == goro::acquire_status::timeout);
  auto huge = co_await sem.acquire(11);  // can never succeed
  CHECK(huge == goro::acquire_status::too_large);
  sem.release(10);
  co_return "acquire 4 + try 6, then timeout, too_large";
}
std::string semaphore_forms() { return goro::run(semaphore_forms_body); }

// =================================================================================
// 7. Atomics
// =================================================================================

// §7 seed 003 "sync/atomic": Counter with atomic.Int64 -> std::atomic.
class AtomicCounter {
 public:
  std::int64_t increment() { return value_.fetch_add(1) + 1; }  // c.value.Add(1)
  std::int64_t load() const { return value_.load(); }

 private:
  std::atomic<std::int64_t> value_{0};  // atomic.Int64
};

goro::task<std::string> atomic_counter_body() {
  AtomicCounter c;
  goro::wait_group wg;
  for (int i = 0; i < 10; ++i) wg.go([&c] { c.increment(); });  // seed 004: count.Add(1)
  co_await wg.wait();
  CHECK(c.load() == 10);

  // A flag: atomic.Bool -> std::atomic<bool>.
  std::atomic<bool> stopped{false};
  wg.go([&stopped] { stopped.store(true); });
  co_await wg.wait();
  CHECK(stopped.load());
  co_return "10 increments -> 10; flag set";
}
std::string atomic_counter() { return goro::run(atomic_counter_body); }

// ---- the table main() runs ---------------------------------------------------------

const snippet kSnippets[] = {
    {"mutex_counter", mutex_counter},
    {"mutex_forms", mutex_forms},
    {"rw_cache", rw_cache},
    {"lock_too_long", lock_too_long},
    {"concurrent_access", concurrent_access},
    {"wait_group", wait_group_snippet},
    {"once_singleton", once_singleton},
    {"once_value", once_value_snippet},
    {"once_retry", once_retry},
    {"cond_queue", cond_queue},
    {"semaphore_worker", semaphore_worker},
    {"semaphore_forms", semaphore_forms},
    {"atomic_counter", atomic_counter},
};

}  // namespace

int main() { return goro_snippets::run_all("sync_snippets", kSnippets, {.name_width = 18}); }

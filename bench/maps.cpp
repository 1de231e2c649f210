// bench_maps — concurrent maps and free lists. Twin: bench/go/maps (case
// names, units and workloads identical).
//
// Every case runs 8 goroutines on 2 workers (Go: GOMAXPROCS=2), each doing
// `ops` operations (default 1,000,000; -n flag); the value is wall time per
// operation over all goroutines, ns/op.
//
// Maps: 1024 int keys, all present before timing (and promoted to the read
// map); each goroutine picks keys with its own xorshift generator.
//   maps/sync_map/read99       99% load, 1% store (existing keys)
//   maps/sync_map/write50      50% load, 50% store (existing keys)
//   maps/sync_map/churn        25% load, 25% store, 25% erase, 25% load_or_store
//                              (keys come and go: dirty-map rebuilds and promotions)
//   maps/sharded_map/...       the same three on goro::sharded_map, 16 shards
//                              (Go: a map sharded over 16 RWMutex-guarded maps,
//                              seed 003's ShardedMap with int keys)
// Free lists (capacity 64): each operation is a get then a put.
//   maps/pool/getput_vs_chan      goro::pool vs Go's leaky buffer (chan + select default)
//   maps/pool/getput_vs_syncpool  goro::pool vs Go's sync.Pool (a separate run
//                                 of the same goro workload, so both ratios show)
//   maps/pool/getput_ring         goro only: the same pool on a lock-free
//                                 bounded ring (Vyukov), to justify the choice
//                                 of a spinlocked vector (docs/design/maps.md)
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <goro/goro.hpp>

namespace {

using clk = std::chrono::steady_clock;
constexpr int goroutines = 8;
constexpr unsigned workers = 2;
constexpr int keys = 1024;
constexpr int shards = 16;
long ops = 1'000'000;

void report(const std::string& name, clk::duration d) {
  double ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  std::printf("BENCH %s %.2f ns/op\n", name.c_str(), ns / static_cast<double>(ops * goroutines));
  std::fflush(stdout);
}

// xorshift64, seeded per goroutine; identical in the Go twin.
struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

enum class mix { read99, write50, churn };

// One op on map m by the mix; the generated key and choice are the same in Go.
template <class Map>
inline void op(Map& m, rng& r, mix x, long& sink) {
  std::uint64_t v = r.next();
  long k = static_cast<long>(v % keys);
  unsigned pick = static_cast<unsigned>((v >> 32) % 100);
  switch (x) {
    case mix::read99:
      if (pick < 99) {
        if (auto got = m.load(k)) sink += *got;
      } else {
        m.store(k, k);
      }
      break;
    case mix::write50:
      if (pick < 50) {
        if (auto got = m.load(k)) sink += *got;
      } else {
        m.store(k, k);
      }
      break;
    case mix::churn:
      if (pick < 25) {
        if (auto got = m.load(k)) sink += *got;
      } else if (pick < 50) {
        m.store(k, k);
      } else if (pick < 75) {
        m.erase(k);
      } else {
        sink += m.load_or_store(k, k).value;
      }
      break;
  }
}

template <class Map>
clk::duration run_map(goro::runtime& rt, Map& m, mix x) {
  return rt.run([&]() -> goro::task<clk::duration> {
    std::atomic<long> total{0};
    goro::wait_group wg;
    auto t0 = clk::now();
    for (int g = 0; g < goroutines; ++g)
      wg.go([&m, x, &total](int g) -> goro::task<> {
        rng r{0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(g + 1)};
        long sink = 0;
        for (long i = 0; i < ops; ++i) op(m, r, x, sink);
        total.fetch_add(sink, std::memory_order_relaxed);
        co_return;
      }, g);
    co_await wg.wait();
    co_return clk::now() - t0;
  });
}

const char* mix_name(mix x) {
  switch (x) {
    case mix::read99: return "read99";
    case mix::write50: return "write50";
    case mix::churn: return "churn";
  }
  return "?";
}

// ---- free lists ---------------------------------------------------------------------

struct Buffer {
  char bytes[256];
};

// The same bounded free list on a Vyukov bounded MPMC ring (lock-free),
// for comparison with goro::pool's spinlocked vector.
template <class T>
class ring_pool {
 public:
  explicit ring_pool(std::size_t capacity) : mask_(capacity - 1), cells_(capacity) {
    for (std::size_t i = 0; i < capacity; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }
  ~ring_pool() {
    while (T* p = pop()) delete p;
  }
  std::unique_ptr<T> get() {
    if (T* p = pop()) return std::unique_ptr<T>(p);
    return std::make_unique<T>();
  }
  void put(std::unique_ptr<T> x) {
    if (push(x.get())) (void)x.release();
  }

 private:
  struct alignas(64) cell {
    std::atomic<std::size_t> seq;
    T* data = nullptr;
  };
  bool push(T* p) {
    std::size_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      cell& c = cells_[pos & mask_];
      std::size_t seq = c.seq.load(std::memory_order_acquire);
      auto dif = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (dif == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          c.data = p;
          c.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (dif < 0) {
        return false;  // full
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }
  T* pop() {
    std::size_t pos = head_.load(std::memory_order_relaxed);
    for (;;) {
      cell& c = cells_[pos & mask_];
      std::size_t seq = c.seq.load(std::memory_order_acquire);
      auto dif = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos + 1);
      if (dif == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          T* p = c.data;
          c.seq.store(pos + mask_ + 1, std::memory_order_release);
          return p;
        }
      } else if (dif < 0) {
        return nullptr;  // empty
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }
  const std::size_t mask_;
  std::vector<cell> cells_;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};

template <class Pool>
clk::duration run_pool(goro::runtime& rt, Pool& p) {
  return rt.run([&]() -> goro::task<clk::duration> {
    goro::wait_group wg;
    std::atomic<long> total{0};
    auto t0 = clk::now();
    for (int g = 0; g < goroutines; ++g)
      wg.go([&p, &total]() -> goro::task<> {
        long sink = 0;
        for (long i = 0; i < ops; ++i) {
          auto b = p.get();
          b->bytes[0] = static_cast<char>(i);
          sink += b->bytes[0];
          p.put(std::move(b));
        }
        total.fetch_add(sink, std::memory_order_relaxed);
        co_return;
      });
    co_await wg.wait();
    co_return clk::now() - t0;
  });
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "-n") == 0) ops = std::atol(argv[i + 1]);

  goro::runtime_options o;
  o.workers = workers;
  goro::runtime rt(o);

  for (mix x : {mix::read99, mix::write50, mix::churn}) {
    goro::sync_map<long, long> m;
    for (long k = 0; k < keys; ++k) m.store(k, k);
    m.range([](const long&, const long&) {});  // promote: every key in the read map
    report(std::string("maps/sync_map/") + mix_name(x), run_map(rt, m, x));
  }
  for (mix x : {mix::read99, mix::write50, mix::churn}) {
    goro::sharded_map<long, long> m(shards);
    for (long k = 0; k < keys; ++k) m.store(k, k);
    report(std::string("maps/sharded_map/") + mix_name(x), run_map(rt, m, x));
  }
  {
    goro::pool<Buffer> p(64);
    report("maps/pool/getput_vs_chan", run_pool(rt, p));
  }
  {
    goro::pool<Buffer> p(64);
    report("maps/pool/getput_vs_syncpool", run_pool(rt, p));
  }
  {
    ring_pool<Buffer> p(64);
    report("maps/pool/getput_ring", run_pool(rt, p));
  }
}

// bench_errgroup — goro::errgroup: start 100k goroutines in a group and wait.
// Twin: bench/go/errgroup (case names, units and workloads identical).
//   errgroup/go_wait_100k         ns per task: 100k g.go(f) (f bumps an atomic
//                                 and returns nil), then g.wait()
//   errgroup/go_wait_100k_limit8  the same with set_limit(8); goro parks the
//                                 producer with co_await g.ready() before each
//                                 g.go(f), which is what Go's blocking g.Go does
// Each case runs 7 rounds; the median round is reported.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <goro/goro.hpp>

namespace {
constexpr int n = 100'000;
constexpr int rounds = 7;
using clk = std::chrono::steady_clock;

void report(const char* name, double value, const char* unit) {
  std::printf("BENCH %s %.2f %s\n", name, value, unit);
  std::fflush(stdout);
}

goro::task<double> one_round(int limit) {
  std::atomic<long> counter{0};
  goro::errgroup g;
  if (limit >= 0) g.set_limit(limit);
  auto t0 = clk::now();
  for (int i = 0; i < n; ++i) {
    if (limit >= 0) co_await g.ready();
    g.go([&counter] {
      counter.fetch_add(1, std::memory_order_relaxed);
      return goro::error();
    });
  }
  goro::error err = co_await g.wait();
  auto d = clk::now() - t0;
  if (err || counter.load() != n) std::abort();
  co_return std::chrono::duration<double, std::nano>(d).count() / n;
}

goro::task<> bench_case(const char* name, int limit) {
  std::vector<double> v;
  for (int r = 0; r < rounds; ++r) {
    double x = co_await one_round(limit);
    v.push_back(x);
  }
  std::sort(v.begin(), v.end());
  report(name, v[v.size() / 2], "ns/task");
}
}  // namespace

int main() {
  goro::run([]() -> goro::task<> {
    co_await bench_case("errgroup/go_wait_100k", -1);
    co_await bench_case("errgroup/go_wait_100k_limit8", 8);
  });
}

// bench_spawn — goroutine creation cost. Twin: bench/go/spawn.
//   spawn/spawn_join_1M   start 1M goroutines that bump a counter, wait for all
// (The parked-goroutine cases arrive with channels: bench/chan_park.cpp.)
#include <atomic>
#include <chrono>
#include <cstdio>

#include <goro/goro.hpp>

namespace {
double spawn_join(int n) {
  return goro::run([n]() -> goro::task<double> {
    std::atomic<long> counter{0};
    goro::wait_group wg;
    auto t0 = std::chrono::steady_clock::now();
    wg.add(n);
    for (int i = 0; i < n; ++i)
      goro::go([](std::atomic<long>* c, goro::wait_group* w) -> goro::task<> {
        c->fetch_add(1, std::memory_order_relaxed);
        w->done();
        co_return;
      }, &counter, &wg);
    co_await wg.wait();
    auto dt = std::chrono::steady_clock::now() - t0;
    if (counter.load() != n) std::abort();
    co_return std::chrono::duration<double, std::nano>(dt).count() / n;
  });
}
}  // namespace

int main() {
  std::printf("BENCH spawn/spawn_join_1M %.1f ns/goroutine\n", spawn_join(1'000'000));
}

// bench_sleep — 100k concurrent sleeps of random 0-100 ms. Twin: bench/go/sleep.
// Reports wall time and lateness (actual wake - intended deadline) percentiles.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include <goro/goro.hpp>

int main() {
  constexpr int n = 100'000;
  std::vector<double> late_us(n);
  auto wall_ms = goro::run([&]() -> goro::task<double> {
    std::mt19937 rng(42);
    std::uniform_int_distribution<long> dist(0, 100'000'000 - 1);
    goro::wait_group wg;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      auto d = std::chrono::nanoseconds(dist(rng));
      wg.go([](std::chrono::nanoseconds d, double* out) -> goro::task<> {
        auto deadline = std::chrono::steady_clock::now() + d;
        co_await goro::sleep_until(deadline);
        *out = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - deadline).count();
      }, d, &late_us[i]);
    }
    co_await wg.wait();
    co_return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  });
  std::sort(late_us.begin(), late_us.end());
  std::printf("BENCH sleep/100k_wall %.1f ms\n", wall_ms);
  std::printf("BENCH sleep/100k_p99_late %.1f us\n", late_us[n * 99 / 100]);
  std::printf("BENCH sleep/100k_p50_late %.1f us\n", late_us[n / 2]);
}

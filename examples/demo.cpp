// goro_demo — the showcase `make demo` runs.
// Starts 100,000 goroutines that each sleep a little and report back, and
// shows what the runtime did.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <vector>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

goro::task<int> worker(int i) {
  co_await goro::sleep_for(std::chrono::milliseconds(i % 10));
  co_return i % 7;
}

goro::task<int> async_main() {
  constexpr int n = 100'000;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<goro::join_handle<int>> hs;
  hs.reserve(n);
  for (int i = 0; i < n; ++i) hs.push_back(goro::spawn(worker, i));
  long sum = 0;
  for (auto& h : hs) sum += co_await std::move(h);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("goroutines: started %d, each slept 0-9 ms; sum of results %ld; %.1f ms on %u workers\n",
              n, sum, ms, goro::runtime::default_runtime().workers());
  co_return 0;
}

int main() { return goro::run(async_main); }

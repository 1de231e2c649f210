// probe_c2c — the machine's core-to-core round trip, printed as
// "C2C <ns>" for bench/run.sh to record beside every benchmark run.
//
// Not a benchmark of goro (it has no Go twin and uses no goro code): two
// threads pinned to the first two CPUs this process may use bounce one
// cache line, and the median of seven short rounds of 20,000 round trips
// is printed. A handoff between
// goroutines on different workers pays about this per message, so a figure
// that jumps between runs explains a benchmark that does.
//
// Why it exists: on the 2-core VM the project measures on, the two vCPUs
// are sometimes placed close together (about 90 ns per round trip) and
// sometimes far apart (about 450 ns), switching every few seconds to
// minutes. goro's multi-party handoff cases (bounded1/mpsc, select_rx)
// run 2-2.5x slower in the far phase, Go's twin (which runs those cases on
// about one core) barely moves, and single-goroutine or streaming cases do
// not move at all. Without this figure beside each run such a table reads
// as noise. With fewer than two CPUs (or when pinning fails) it prints
// "C2C 0".
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

bool pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

alignas(64) std::atomic<long> ball{0};

// One round: n round trips between CPUs a (this thread) and b; returns ns
// per round trip.
double round_trip(long n, int b) {
  ball.store(0, std::memory_order_relaxed);
  std::thread echo([n, b] {
    pin(b);
    for (long i = 0; i < n; ++i) {
      while (ball.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      ball.store(2 * i + 2, std::memory_order_release);
    }
  });
  // Wait for the echo thread to be running on its CPU before timing.
  ball.store(1, std::memory_order_release);
  while (ball.load(std::memory_order_acquire) != 2) {
  }
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 1; i < n; ++i) {
    ball.store(2 * i + 1, std::memory_order_release);
    while (ball.load(std::memory_order_acquire) != 2 * i + 2) {
    }
  }
  auto d = std::chrono::steady_clock::now() - t0;
  echo.join();
  return std::chrono::duration<double, std::nano>(d).count() / static_cast<double>(n - 1);
}

}  // namespace

int main() {
  cpu_set_t allowed;
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
    for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c)
      if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  if (cpus.size() < 2 || !pin(cpus[0])) {
    std::puts("C2C 0");
    return 0;
  }
  std::vector<double> rounds;
  for (int r = 0; r < 7; ++r) rounds.push_back(round_trip(20'000, cpus[1]));
  std::nth_element(rounds.begin(), rounds.begin() + 3, rounds.end());
  std::printf("C2C %.0f\n", rounds[3]);
}

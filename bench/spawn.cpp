// bench_spawn — goroutine creation, memory per parked goroutine and mass
// wake-up. Twin: bench/go/spawn (case names, units and workloads identical).
//   spawn/parked_1M_create  ns to start 1M goroutines until all are blocked on
//                           a recv of one shared unbuffered chan<void>, per goroutine
//   spawn/parked_1M_bytes   RSS growth (/proc/self/statm) with those 1M parked,
//                           bytes per goroutine
//   spawn/parked_1M_wake    ns from close(ch) until all 1M have exited, per goroutine
//   spawn/spawn_join_1M     ns to start 1M goroutines that bump a counter and
//                           wait for all, per goroutine
//   spawn/spawn_join_handles_1M  the same, each goroutine started by spawn and
//                           joined through its own join_handle (Go: a done
//                           channel per goroutine, closed when it exits)
// The parked cases run first so that the RSS baseline is not inflated by
// frames recycled from an earlier case (as in the Go twin).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <goro/goro.hpp>

namespace {
constexpr int n = 1'000'000;
using clk = std::chrono::steady_clock;

void report(const char* name, double value, const char* unit) {
  std::printf("BENCH %s %.2f %s\n", name, value, unit);
  std::fflush(stdout);
}
double per_g(clk::duration d) { return std::chrono::duration<double, std::nano>(d).count() / n; }

// Resident set size in bytes, from /proc/self/statm.
long rss() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) std::abort();
  long size = 0, resident = 0;
  if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) std::abort();
  std::fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}

goro::task<> parked() {
  auto ch = goro::make_chan<void>(0);
  goro::wait_group started, exited;
  started.add(n);
  exited.add(n);
  long before = rss();

  auto t0 = clk::now();
  for (int i = 0; i < n; ++i)
    goro::go(
        [](goro::receiver<void> ch, goro::wait_group* started, goro::wait_group* exited) -> goro::task<> {
          started->done();
          (void)co_await ch.recv();
          exited->done();
        },
        ch.recv_end(), &started, &exited);
  co_await started.wait();
  auto create = clk::now() - t0;

  long after = rss();

  auto t1 = clk::now();
  ch.close();
  co_await exited.wait();
  auto wake = clk::now() - t1;

  report("spawn/parked_1M_create", per_g(create), "ns/g");
  report("spawn/parked_1M_bytes", static_cast<double>(after - before) / n, "B/g");
  report("spawn/parked_1M_wake", per_g(wake), "ns/g");
}

goro::task<> spawn_join() {
  std::atomic<long> counter{0};
  goro::wait_group wg;
  wg.add(n);
  auto t0 = clk::now();
  for (int i = 0; i < n; ++i)
    goro::go(
        [](std::atomic<long>* c, goro::wait_group* w) -> goro::task<> {
          c->fetch_add(1, std::memory_order_relaxed);
          w->done();
          co_return;
        },
        &counter, &wg);
  co_await wg.wait();
  auto d = clk::now() - t0;
  if (counter.load() != n) std::abort();
  report("spawn/spawn_join_1M", per_g(d), "ns/g");
}
goro::task<> spawn_join_handles() {
  std::atomic<long> counter{0};
  std::vector<goro::join_handle<void>> hs;
  hs.reserve(n);
  auto t0 = clk::now();
  for (int i = 0; i < n; ++i)
    hs.push_back(goro::spawn(
        [](std::atomic<long>* c) -> goro::task<> {
          c->fetch_add(1, std::memory_order_relaxed);
          co_return;
        },
        &counter));
  for (auto& h : hs) co_await std::move(h);
  auto d = clk::now() - t0;
  if (counter.load() != n) std::abort();
  report("spawn/spawn_join_handles_1M", per_g(d), "ns/g");
}
}  // namespace

int main() {
  goro::run([]() -> goro::task<> {
    co_await parked();
    co_await spawn_join();
    co_await spawn_join_handles();
  });
}

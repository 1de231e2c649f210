// bench_sync — sync primitives. Twin: bench/go/sync (case names, units and
// workloads identical; the semaphore twin is golang.org/x/sync/semaphore).
// Everything runs on a runtime of 2 workers (Go: GOMAXPROCS=2); "8
// goroutines" cases start 8 goroutines that each do `per_g` operations and
// time from the first start to the wait group releasing the timing goroutine.
// Values are ns per operation (total operations = 8 * per_g for the 8-goroutine
// cases).
//   sync/mutex_uncontended     one goroutine: lock; counter++; unlock
//   sync/mutex_contended       8 goroutines: lock; counter++; unlock
//   sync/rwmutex_read_mostly   8 goroutines: 99 of 100 ops read-lock, read the
//                              counter, read-unlock; 1 of 100 write-locks,
//                              counter++, unlocks
//   sync/sem_uncontended       one goroutine: acquire(1); counter++; release(1)
//                              on a semaphore of size 1
//   sync/sem_contended         8 goroutines, a semaphore of size 2: acquire(1);
//                              atomic counter++; release(1)
//   sync/wait_group_round      one goroutine: add(1); done(); wait()
//   sync/wait_group_done_8     add(8 * per_g) once, then 8 goroutines each call
//                              done() per_g times while one goroutine waits;
//                              ns per done()
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <goro/goro.hpp>

#include "bench_util.hpp"

namespace {
using clk = std::chrono::steady_clock;
constexpr int kG = 8;
constexpr long kSeqOps = 20'000'000;  // single-goroutine cases
constexpr long kPerG = 1'000'000;     // per goroutine, 8-goroutine cases

void report(const char* name, clk::duration d, long ops) {
  std::printf("BENCH %s %.2f ns/op\n", name,
              std::chrono::duration<double, std::nano>(d).count() / static_cast<double>(ops));
  std::fflush(stdout);
}
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "bench_sync: %s\n", what);
    std::abort();
  }
}

goro::task<> mutex_uncontended() {
  goro::mutex mu;
  long counter = 0;
  auto t0 = clk::now();
  for (long i = 0; i < kSeqOps; ++i) {
    co_await mu.lock();
    ++counter;
    mu.unlock();
  }
  auto d = clk::now() - t0;
  check(counter == kSeqOps, "mutex_uncontended: lost increments");
  report("sync/mutex_uncontended", d, kSeqOps);
}

goro::task<> mutex_contended() {
  goro::mutex mu;
  long counter = 0;
  auto d = co_await bench::fan_out(kG, [&mu, &counter](int) -> goro::task<> {
    for (long i = 0; i < kPerG; ++i) {
      co_await mu.lock();
      ++counter;
      mu.unlock();
    }
  });
  check(counter == kG * kPerG, "mutex_contended: lost increments");
  report("sync/mutex_contended", d, kG * kPerG);
}

goro::task<> rwmutex_read_mostly() {
  goro::rw_mutex rw;
  long counter = 0;
  std::atomic<long> seen{0};
  auto d = co_await bench::fan_out(kG, [&rw, &counter, &seen](int) -> goro::task<> {
    long local = 0;
    for (long i = 0; i < kPerG; ++i) {
      if (i % 100 == 99) {
        co_await rw.lock();
        ++counter;
        rw.unlock();
      } else {
        co_await rw.lock_shared();
        local += counter;
        rw.unlock_shared();
      }
    }
    seen.fetch_add(local, std::memory_order_relaxed);
  });
  check(counter == kG * (kPerG / 100), "rwmutex_read_mostly: lost increments");
  report("sync/rwmutex_read_mostly", d, kG * kPerG);
}

goro::task<> sem_uncontended() {
  goro::semaphore sem(1);
  long counter = 0;
  auto t0 = clk::now();
  for (long i = 0; i < kSeqOps; ++i) {
    auto st = co_await sem.acquire(1);
    if (st != goro::acquire_status::ok) std::abort();
    ++counter;
    sem.release(1);
  }
  auto d = clk::now() - t0;
  check(counter == kSeqOps, "sem_uncontended: lost increments");
  report("sync/sem_uncontended", d, kSeqOps);
}

goro::task<> sem_contended() {
  goro::semaphore sem(2);
  std::atomic<long> counter{0};
  auto d = co_await bench::fan_out(kG, [&sem, &counter](int) -> goro::task<> {
    for (long i = 0; i < kPerG; ++i) {
      auto st = co_await sem.acquire(1);
      if (st != goro::acquire_status::ok) std::abort();
      counter.fetch_add(1, std::memory_order_relaxed);
      sem.release(1);
    }
  });
  check(counter.load() == kG * kPerG, "sem_contended: lost increments");
  report("sync/sem_contended", d, kG * kPerG);
}

goro::task<> wait_group_round() {
  goro::wait_group wg;
  auto t0 = clk::now();
  for (long i = 0; i < kSeqOps; ++i) {
    wg.add(1);
    wg.done();
    co_await wg.wait();
  }
  auto d = clk::now() - t0;
  report("sync/wait_group_round", d, kSeqOps);
}

goro::task<> wait_group_done_8() {
  goro::wait_group work;
  work.add(kG * kPerG);
  auto d = co_await bench::fan_out(kG, [&work](int) -> goro::task<> {
    for (long i = 0; i < kPerG; ++i) work.done();
    co_return;
  });
  co_await work.wait();
  check(work.count() == 0, "wait_group_done_8: counter not zero");
  report("sync/wait_group_done_8", d, kG * kPerG);
}
}  // namespace

int main() {
  goro::runtime_options opts;
  opts.workers = 2;  // Go twin: GOMAXPROCS=2
  goro::runtime rt(opts);
  rt.run([]() -> goro::task<> {
    co_await mutex_uncontended();
    co_await mutex_contended();
    co_await rwmutex_read_mostly();
    co_await sem_uncontended();
    co_await sem_contended();
    co_await wait_group_round();
    co_await wait_group_done_8();
  });
}

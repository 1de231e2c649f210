// bench_rate — goro::rate::limiter. Twin: bench/go/rate, golang.org/x/time/rate
// (case names, units, workloads and the -n flag identical). Runs on a runtime
// of 2 workers (Go: GOMAXPROCS=2). n (-n, default 5,000,000) scales every
// case; values are ns per operation (allow / reserve+cancel) or per event
// (wait). "gK" cases start K goroutines sharing one limiter, each doing its
// share of the operations, timed from the first start until all are done.
//   rate/allow/single      one goroutine: allow() on limiter(1e9/s, burst
//                          1000), n calls; the bucket refills faster than it
//                          is drained, so every call is granted (Go's
//                          float path and goro's exact path both run in full)
//   rate/allow/denied      one goroutine: allow() on limiter(1/s, burst 1),
//                          n calls; all but the first are refused (the shape
//                          of x/time/rate's BenchmarkAllowN)
//   rate/allow/g2, g4, g8  2, 4, 8 goroutines: allow() on one limiter(1e9/s,
//                          burst 1000), n/2 calls in all
//   rate/reserve_cancel    one goroutine, limiter(10/s, burst 1) drained
//                          first: reserve() (a reservation in the future)
//                          then cancel() (gives the token back), n/2 times
//   rate/wait/nodelay      one goroutine: wait(background) on limiter(1e9/s,
//                          burst 1), n/5 events; the token is always there by
//                          the next call, so this is wait's cost without a sleep
//   rate/wait/1M_burst1    one goroutine: wait on limiter(1e6/s, burst 1),
//                          n/25 events; ns per event, 1000 at best: the rest
//                          is how late each short sleep wakes
//   rate/wait/1M_burst100  the same with burst 100 (a sleep every ~100 events)
//   rate/wait/1M_g8        8 goroutines waiting on one limiter(1e6/s, burst 8),
//                          n/25 events in all; ns per event, 1000 at best
// A wait case stops early, after whole multiples of 16 events, once 500 ms
// have passed; its value is then per event done.
#include <atomic>
#include <chrono>

#include "bench_util.hpp"

namespace {
using bench::clk;
using goro::rate::limiter;
namespace rate = goro::rate;

constexpr const char* kProg = "bench_rate";
constexpr rate::limit kFast = 1'000'000'000;  // one token per nanosecond
constexpr rate::limit kMillion = 1'000'000;

goro::task<> allow_single(const char* name, rate::limit l, std::int64_t burst, long n) {
  limiter lim(l, burst);
  long granted = 0;
  auto t0 = clk::now();
  for (long i = 0; i < n; ++i) granted += lim.allow() ? 1 : 0;
  auto d = clk::now() - t0;
  bench::check(granted >= 1, kProg, "allow: the first call was refused");
  bench::report(name, d, n, "ns/op");
  co_return;
}

goro::task<> allow_contended(const char* name, int k, long n) {
  limiter lim(kFast, 1000);
  std::atomic<long> granted{0};
  const long per = n / 2 / k > 0 ? n / 2 / k : 1;
  auto d = co_await bench::fan_out(k, [&lim, &granted, per](int) -> goro::task<> {
    long g = 0;
    for (long i = 0; i < per; ++i) g += lim.allow() ? 1 : 0;
    granted.fetch_add(g, std::memory_order_relaxed);
    co_return;
  });
  bench::check(granted.load() > 0, kProg, "allow/gK: nothing granted");
  bench::report(name, d, per * k, "ns/op");
}

goro::task<> reserve_cancel(long n) {
  limiter lim(10, 1);
  (void)lim.allow();  // drain: every reservation below is in the future
  const long ops = n / 2 > 0 ? n / 2 : 1;
  auto t0 = clk::now();
  for (long i = 0; i < ops; ++i) {
    rate::reservation r = lim.reserve();
    bench::check(r.ok(), kProg, "reserve_cancel: reservation not ok");
    r.cancel();
  }
  auto d = clk::now() - t0;
  bench::report("rate/reserve_cancel", d, ops, "ns/op");
  co_return;
}

// The waiting cases stop after `events` events or once kWaitBudget has
// passed (looked at every 16 events), whichever comes first, and report the
// time per event done: how late short sleeps wake differs a lot between
// machines, and this keeps every case's run short.
constexpr auto kWaitBudget = std::chrono::milliseconds(500);

goro::task<> wait_single(const char* name, rate::limit l, std::int64_t burst, long events) {
  limiter lim(l, burst);
  const goro::context ctx = goro::background();
  auto t0 = clk::now();
  const auto stop = t0 + kWaitBudget;
  long done = 0;
  while (done < events) {
    std::error_code ec = co_await lim.wait(ctx);
    bench::check(!ec, kProg, "wait: error");
    ++done;
    if (done % 16 == 0 && clk::now() >= stop) break;
  }
  auto d = clk::now() - t0;
  bench::report(name, d, done, "ns/event");
}

goro::task<> wait_contended(const char* name, int k, long events) {
  limiter lim(kMillion, k);
  const long per = events / k > 0 ? events / k : 1;
  const auto stop = clk::now() + kWaitBudget;
  std::atomic<long> done{0};
  auto d = co_await bench::fan_out(k, [&lim, &done, per, stop](int) -> goro::task<> {
    const goro::context ctx = goro::background();
    long i = 0;
    while (i < per) {
      std::error_code ec = co_await lim.wait(ctx);
      bench::check(!ec, kProg, "wait: error");
      ++i;
      if (i % 16 == 0 && clk::now() >= stop) break;
    }
    done.fetch_add(i, std::memory_order_relaxed);
  });
  bench::report(name, d, done.load(), "ns/event");
}

}  // namespace

int main(int argc, char** argv) {
  const long n = bench::parse_n(argc, argv, 5'000'000, "operations per single-goroutine case");
  goro::runtime_options opts;
  opts.workers = 2;  // Go twin: GOMAXPROCS=2
  goro::runtime rt(opts);
  rt.run([n]() -> goro::task<> {
    co_await allow_single("rate/allow/single", kFast, 1000, n);
    co_await allow_single("rate/allow/denied", 1, 1, n);
    co_await allow_contended("rate/allow/g2", 2, n);
    co_await allow_contended("rate/allow/g4", 4, n);
    co_await allow_contended("rate/allow/g8", 8, n);
    co_await reserve_cancel(n);
    auto at_least = [](long v, long min) { return v > min ? v : min; };
    co_await wait_single("rate/wait/nodelay", kFast, 1, at_least(n / 5, 1));
    co_await wait_single("rate/wait/1M_burst1", kMillion, 1, at_least(n / 25, 8));
    co_await wait_single("rate/wait/1M_burst100", kMillion, 100, at_least(n / 25, 8));
    co_await wait_contended("rate/wait/1M_g8", 8, at_least(n / 25, 8));
  });
}

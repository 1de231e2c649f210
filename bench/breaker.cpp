// bench_breaker — goro::circuit_breaker's cost in the closed state (every
// call let through and succeeding). Twin: bench/go/breaker, a hand-written
// minimal equivalent of sony/gobreaker's closed-state path (case names,
// units, workloads and the -n flag identical). Runs on a runtime of 2 workers
// (Go: GOMAXPROCS=2). n (-n, default 5,000,000) scales every case; values are
// ns per call. Breakers have the default settings (gobreaker's: interval 0,
// trip after more than 5 consecutive failures) and f does nothing and
// succeeds, so the figure is the breaker's own overhead: two lock round
// trips and two clock reads per call on both sides.
//   breaker/execute/single      one goroutine: cb.execute(f) (f returns an
//                               empty goro::error; Go: Execute(f), f returns
//                               nil, nil), n calls
//   breaker/execute/g2, g4, g8  2, 4, 8 goroutines calling execute on one
//                               breaker, n/2 calls in all
//   breaker/execute_ctx/single  one goroutine: co_await cb.execute(ctx, f)
//                               (the goroutine form: checks ctx, runs in a
//                               task); gobreaker has no context form, so the
//                               twin is `if ctx.Err() == nil { Execute(f) }`;
//                               n/2 calls
#include <atomic>

#include "bench_util.hpp"

namespace {
using bench::clk;

constexpr const char* kProg = "bench_breaker";

goro::error succeed() { return goro::error(); }

goro::task<> execute_single(long n) {
  goro::circuit_breaker cb;
  long failed = 0;
  auto t0 = clk::now();
  for (long i = 0; i < n; ++i) failed += cb.execute(succeed) ? 1 : 0;
  auto d = clk::now() - t0;
  bench::check(failed == 0 && cb.state() == goro::breaker_state::closed, kProg,
               "execute/single: a call failed");
  bench::report("breaker/execute/single", d, n, "ns/op");
  co_return;
}

goro::task<> execute_contended(const char* name, int k, long n) {
  goro::circuit_breaker cb;
  std::atomic<long> failed{0};
  const long per = n / 2 / k > 0 ? n / 2 / k : 1;
  auto d = co_await bench::fan_out(k, [&cb, &failed, per](int) -> goro::task<> {
    long f = 0;
    for (long i = 0; i < per; ++i) f += cb.execute(succeed) ? 1 : 0;
    failed.fetch_add(f, std::memory_order_relaxed);
    co_return;
  });
  bench::check(failed.load() == 0 && cb.counts().requests == per * k, kProg,
               "execute/gK: a call failed or was not counted");
  bench::report(name, d, per * k, "ns/op");
}

goro::task<> execute_ctx_single(long n) {
  goro::circuit_breaker cb;
  const goro::context ctx = goro::background();
  const long ops = n / 2 > 0 ? n / 2 : 1;
  long failed = 0;
  auto t0 = clk::now();
  for (long i = 0; i < ops; ++i) {
    goro::error e = co_await cb.execute(ctx, succeed);
    failed += e ? 1 : 0;
  }
  auto d = clk::now() - t0;
  bench::check(failed == 0, kProg, "execute_ctx/single: a call failed");
  bench::report("breaker/execute_ctx/single", d, ops, "ns/op");
}

}  // namespace

int main(int argc, char** argv) {
  const long n = bench::parse_n(argc, argv, 5'000'000, "calls per single-goroutine case");
  goro::runtime_options opts;
  opts.workers = 2;  // Go twin: GOMAXPROCS=2
  goro::runtime rt(opts);
  rt.run([n]() -> goro::task<> {
    co_await execute_single(n);
    co_await execute_contended("breaker/execute/g2", 2, n);
    co_await execute_contended("breaker/execute/g4", 4, n);
    co_await execute_contended("breaker/execute/g8", 8, n);
    co_await execute_ctx_single(n);
  });
}

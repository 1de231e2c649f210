// bench_context — context cancellation and creation. Twin: bench/go/context
// (case names, units and workloads identical). Runs on a runtime of 2
// workers (Go: GOMAXPROCS=2).
//   context/cancel_fanout_100k         100k goroutines each blocked receiving
//                                      from one ctx.done(); ns from cancel()
//                                      until all have woken (a wait group), per goroutine
//   context/cancel_fanout_100k_select  the same, each blocked in a select on
//                                      ctx.done() and its own (never ready) channel
//   context/cancel_fanout_100k_children  100k goroutines, each blocked on the
//                                      done() of its own with_cancel child of
//                                      ctx; cancel(ctx) must cancel the 100k
//                                      children; ns per goroutine
//   context/cancel_fanout_100k_warm    cancel_fanout_100k again, three times
//                                      after the cases above; the median. The
//                                      first case of the program runs on fresh
//                                      memory (goroutine frames in spawn order);
//                                      this one on recycled frames and stacks,
//                                      as a long-running server would
//   context/with_cancel                with_cancel(background()) + cancel, ns/op
//   context/with_cancel_child          with_cancel(parent) + cancel where parent is a
//                                      live with_cancel context (registers and
//                                      unregisters the child), ns/op
//   context/with_timeout               with_timeout(background(), 1h) + cancel, ns/op
//   context/with_value_depth10         ctx.value(key) on a chain of 10 with_value
//                                      contexts, key in the outermost (10 hops), ns/op
// The goroutines of a fan-out case report "started" before they block; the
// timing goroutine sleeps 50 ms after they have all started so that all are
// parked when it cancels (both sides alike).
#include <algorithm>
#include <atomic>
#include <iterator>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include <goro/goro.hpp>

namespace {
using clk = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr int kFan = 100'000;
constexpr long kOps = 2'000'000;
constexpr long kLookups = 20'000'000;

void report(const char* name, clk::duration d, long ops, const char* unit) {
  std::printf("BENCH %s %.2f %s\n", name,
              std::chrono::duration<double, std::nano>(d).count() / static_cast<double>(ops), unit);
  std::fflush(stdout);
}

enum class wait_kind { recv, select, child };

goro::task<clk::duration> fan_out(wait_kind kind) {
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  goro::wait_group started, woken;
  started.add(kFan);
  woken.add(kFan);
  for (int i = 0; i < kFan; ++i)
    goro::go(
        [](goro::context ctx, wait_kind kind, goro::wait_group* started,
           goro::wait_group* woken) -> goro::task<> {
          switch (kind) {
            case wait_kind::recv: {
              auto done = ctx.done();
              started->done();
              (void)co_await done.recv();
              break;
            }
            case wait_kind::select: {
              auto own = goro::make_chan<int>(0);
              started->done();
              auto r = co_await goro::select(goro::recv(ctx.done()), goro::recv(own.recv_end()));
              if (r.index() != 0) std::abort();
              break;
            }
            case wait_kind::child: {
              auto [child, child_cancel] = goro::with_cancel(ctx);
              auto done = child.done();
              started->done();
              (void)co_await done.recv();
              if (!child.err()) std::abort();
              break;
            }
          }
          woken->done();
        },
        ctx, kind, &started, &woken);
  co_await started.wait();
  co_await goro::sleep_for(50ms);

  auto t0 = clk::now();
  cancel();
  co_await woken.wait();
  co_return clk::now() - t0;
}

goro::task<> fan_out_case(const char* name, wait_kind kind) {
  auto d = co_await fan_out(kind);
  report(name, d, kFan, "ns/g");
}

goro::task<> fan_out_warm() {
  clk::duration d[3];
  for (auto& x : d) x = co_await fan_out(wait_kind::recv);
  std::sort(std::begin(d), std::end(d));
  report("context/cancel_fanout_100k_warm", d[1], kFan, "ns/g");
}

goro::task<> with_cancel_bg() {
  auto t0 = clk::now();
  for (long i = 0; i < kOps; ++i) {
    auto [c, cancel] = goro::with_cancel(goro::background());
    cancel();
  }
  report("context/with_cancel", clk::now() - t0, kOps, "ns/op");
  co_return;
}

goro::task<> with_cancel_child() {
  auto [parent, parent_cancel] = goro::with_cancel(goro::background());
  auto t0 = clk::now();
  for (long i = 0; i < kOps; ++i) {
    auto [c, cancel] = goro::with_cancel(parent);
    cancel();
  }
  auto d = clk::now() - t0;
  if (goro::detail::context_child_count(parent) != 0) std::abort();
  report("context/with_cancel_child", d, kOps, "ns/op");
  co_return;
}

goro::task<> with_timeout() {
  auto t0 = clk::now();
  for (long i = 0; i < kOps; ++i) {
    auto [c, cancel] = goro::with_timeout(goro::background(), 1h);
    cancel();
  }
  report("context/with_timeout", clk::now() - t0, kOps, "ns/op");
  co_return;
}

// Ten distinct keys; the value is looked up under keys[0], set first (outermost).
constexpr goro::context_key<long> keys[10];

goro::task<> with_value_depth10() {
  goro::context ctx = goro::background();
  for (long i = 0; i < 10; ++i) ctx = goro::with_value(ctx, keys[i], i + 1);
  long sum = 0;
  auto t0 = clk::now();
  for (long i = 0; i < kLookups; ++i) {
    const long* v = ctx.value(keys[0]);
    sum += *v;
    asm volatile("" : "+r"(sum));  // keep the lookup in the loop (Go does not hoist it either)
  }
  auto d = clk::now() - t0;
  if (sum != kLookups) std::abort();
  report("context/with_value_depth10", d, kLookups, "ns/op");
  co_return;
}
}  // namespace

int main() {
  goro::runtime_options opts;
  opts.workers = 2;  // Go twin: GOMAXPROCS=2
  goro::runtime rt(opts);
  rt.run([]() -> goro::task<> {
    co_await fan_out_case("context/cancel_fanout_100k", wait_kind::recv);
    co_await fan_out_case("context/cancel_fanout_100k_select", wait_kind::select);
    co_await fan_out_case("context/cancel_fanout_100k_children", wait_kind::child);
    co_await fan_out_warm();
    co_await with_cancel_bg();
    co_await with_cancel_child();
    co_await with_timeout();
    co_await with_value_depth10();
  });
}

// Pattern: fan-out / fan-in. The Go guides start several workers reading one
// input channel (fan-out) and merge their outputs into one (fan-in) with a
// WaitGroup and a closer goroutine:
//
//   in := generate(ctx, 1, 2, ..., 10)
//   c1, c2, c3 := square(ctx, in), square(ctx, in), square(ctx, in)  // fan out
//   for result := range merge(ctx, c1, c2, c3) { fmt.Println(result) } // fan in
//
// goro::pipe::merge is that merge (the closer goroutine written once, inside
// it); goro::pipe::fan_out starts the n workers. merge keeps each input's
// order but none between inputs, so the example sorts before printing.
#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "example.hpp"

namespace {
int square(int n) { return n * n; }
}  // namespace

goro::task<> goro_examples::fan_out_fan_in() {
  auto [ctx, cancel] = goro::with_cancel(goro::background());

  // The Go code, stage by stage.
  goro::receiver<int> in = goro::pipe::generate(ctx, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  goro::receiver<int> c1 = goro::pipe::map(ctx, in, square);
  goro::receiver<int> c2 = goro::pipe::map(ctx, in, square);
  goro::receiver<int> c3 = goro::pipe::map(ctx, in, square);
  goro::receiver<int> merged = goro::pipe::merge(ctx, c1, c2, c3);  // named: no temporary in co_await (GCC 12)
  std::vector<int> got = co_await goro::pipe::collect(ctx, merged);
  std::sort(got.begin(), got.end());
  std::string line;
  for (int v : got) line += " " + std::to_string(v);
  say("1..10 -> 3 square workers -> merge:%s", line.c_str());
  CHECK(got.size() == 10 && got.front() == 1 && got.back() == 100);

  // The same with fan_out: n workers in one call, each value taken by exactly one.
  std::vector<int> items(1000);
  std::iota(items.begin(), items.end(), 1);
  auto outs = goro::pipe::fan_out(ctx, goro::pipe::generate(ctx, items), 4, square);
  goro::receiver<long long> widened =
      goro::pipe::map(ctx, goro::pipe::merge(ctx, outs), [](int v) { return static_cast<long long>(v); });
  goro::receiver<long long> total =
      goro::pipe::reduce(ctx, widened, 0LL, [](long long acc, long long v) { return acc + v; });
  std::optional<long long> sum = co_await total.recv();
  say("1..1000 -> fan_out(4 workers) -> merge -> reduce(+): sum of squares %lld", *sum);
  CHECK(sum && *sum == 333833500LL);
}

GORO_EXAMPLE_MAIN(fan_out_fan_in)

// Pattern: pipeline (generator -> processor -> consumer). The Go guides'
// version is a chain of stage functions, each a goroutine that ranges over
// its input, sends on its own output and closes that output when done:
//
//   for n := range square(ctx, generate(ctx, 2, 3, 4)) { fmt.Println(n) }  // 4, 9, 16
//
// and a longer chain Filter -> Transform -> Aggregate ("Processed 10
// items"...). goro::pipe has those stages ready-made: each one is a goroutine
// that closes its output however it ends, and stops at its next wait once
// ctx is cancelled, so a consumer that leaves early leaks nothing.
#include <optional>
#include <string>
#include <vector>

#include "example.hpp"

goro::task<> goro_examples::pipeline() {
  auto [ctx, cancel] = goro::with_cancel(goro::background());  // Go: defer cancel() (built in)

  // generate -> square -> print
  goro::receiver<int> nums = goro::pipe::generate(ctx, {2, 3, 4});
  goro::receiver<int> squares = goro::pipe::map(ctx, nums, [](int n) { return n * n; });
  std::string line;
  while (auto n = co_await squares.recv()) line += " " + std::to_string(*n);  // for n := range
  say("generate(2, 3, 4) -> square ->%s", line.c_str());
  CHECK(line == " 4 9 16");

  // 100 items -> filter (multiples of 3) -> transform -> aggregate in tens
  std::vector<int> data;
  for (int i = 1; i <= 100; ++i) data.push_back(i);
  auto items = goro::pipe::generate(ctx, data);
  auto kept = goro::pipe::filter(ctx, items, [](int n) { return n % 3 == 0; });
  auto words = goro::pipe::map(ctx, kept, [](int n) { return "item-" + std::to_string(n); });
  auto tens = goro::pipe::batch(ctx, words, 10);
  int batches = 0;
  std::size_t count = 0;
  std::string last;
  while (auto b = co_await tens.recv()) {
    ++batches;
    count += b->size();
    last = b->back();
  }
  say("1..100 -> filter(n %% 3 == 0) -> map -> batch(10): %zu items in %d batches, last %s", count,
      batches, last.c_str());
  CHECK(count == 33 && batches == 4 && last == "item-99");

  // A consumer that stops early: an endless generator, take(5), then cancel.
  // The generator is parked in its send when cancel() runs; it wakes, sees ctx
  // done, closes its output and returns (the example's leak check proves it).
  auto [ctx2, stop] = goro::with_cancel(ctx);
  auto naturals = goro::pipe::generate(ctx2, [n = 0]() mutable -> std::optional<int> { return n++; });
  auto first = goro::pipe::take(ctx2, naturals, 5);
  std::vector<int> got = co_await goro::pipe::collect(ctx2, first);
  stop();
  say("endless generator -> take(5) -> %zu values, then cancel(): every stage returns",
      got.size());
  CHECK(got == std::vector<int>({0, 1, 2, 3, 4}));
}

GORO_EXAMPLE_MAIN(pipeline)

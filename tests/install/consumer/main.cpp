// A tiny program using an installed (or fetched) goro, as a user's project
// would: goroutines feeding a channel, a select with a timer. It prints the
// result and exits 0 only when the result is right (tests/install/run.sh).
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

goro::task<> squares(goro::sender<int> out, int n) {
  for (int i = 1; i <= n; ++i) (void)co_await out.send(i * i);
  out.close();
}

goro::task<int> async_main() {
  auto ch = goro::make_chan<int>(4);
  goro::go(squares, ch, 10);
  int sum = 0;
  while (auto v = co_await ch.recv()) sum += *v;
  // A closed channel is always ready: the select must pick it over the timer.
  auto r = co_await goro::select(goro::recv(ch), goro::timeout(10s));
  std::printf("goro consumer: sum of squares 1..10 = %d, select case %zu\n", sum, r.index());
  co_return (sum == 385 && r.index() == 0) ? 0 : 1;
}

int main() { return goro::run(async_main); }

// bench_chan — channel throughput between goroutines. Twin: bench/go/chan
// (case names, units, message counts and the -n flag must stay identical).
//
// Suite (n messages, default 5,000,000, threads = 4; messages are ints), for
// capacities 0, 1 and 1024 (chan/bounded<cap>/<test>, ns per message):
//   seq          one goroutine: send a batch of cap messages, then receive
//                them, until n are through (no seq for cap 0: it would deadlock)
//   spsc         1 producer, 1 consumer
//   mpsc         4 producers (n/4 each), 1 consumer
//   mpmc         4 producers, 4 consumers (n/4 each)
//   select_rx    4 producers each on its own channel, 1 consumer selecting
//                over the 4
//   select_both  4 producers each select-sending over the 4 channels, 4
//                consumers each select-receiving over the 4
// Also:
//   chan/pingpong  two goroutines, two unbuffered channels, n/5 round trips; ns per round trip
//   chan/ring1000  1000 goroutines in a ring of unbuffered channels, a token
//                  passed around n/5000 times; ns per hop
// Everything runs on the default runtime (one worker per core, like
// GOMAXPROCS); the consumer of spsc/mpsc/select_rx and the timing run in the
// goroutine given to goro::run, like Go's main goroutine.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <goro/goro.hpp>

#include "bench_util.hpp"

namespace {

constexpr int threads = 4;
using msg = int;
using clk = std::chrono::steady_clock;

void report(const std::string& name, clk::duration d, long count, const char* unit) {
  std::printf("BENCH %s %.2f %s\n", name.c_str(),
              static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) /
                  static_cast<double>(count),
              unit);
  std::fflush(stdout);
}

std::array<goro::chan<msg>, threads> chans(int capacity) {
  std::array<goro::chan<msg>, threads> cs;
  for (auto& c : cs) c = goro::make_chan<msg>(capacity);
  return cs;
}

goro::task<> seq(int n, int capacity) {
  auto c = goro::make_chan<msg>(capacity);
  for (int sent = 0; sent < n; sent += capacity) {
    int batch = std::min(capacity, n - sent);
    for (int i = 0; i < batch; ++i) (void)co_await c.send(sent + i);
    for (int i = 0; i < batch; ++i) (void)co_await c.recv();
  }
}

goro::task<> producer(goro::sender<msg> c, int count) {
  for (int i = 0; i < count; ++i) (void)co_await c.send(i);
}
goro::task<> consumer(goro::receiver<msg> c, int count) {
  for (int i = 0; i < count; ++i) (void)co_await c.recv();
}

goro::task<> spsc(int n, int capacity) {
  auto c = goro::make_chan<msg>(capacity);
  goro::wait_group wg;
  wg.go(producer, c.send_end(), n);
  for (int i = 0; i < n; ++i) (void)co_await c.recv();
  co_await wg.wait();
}

goro::task<> mpsc(int n, int capacity) {
  auto c = goro::make_chan<msg>(capacity);
  goro::wait_group wg;
  for (int t = 0; t < threads; ++t) wg.go(producer, c.send_end(), n / threads);
  for (int i = 0; i < n; ++i) (void)co_await c.recv();
  co_await wg.wait();
}

goro::task<> mpmc(int n, int capacity) {
  auto c = goro::make_chan<msg>(capacity);
  goro::wait_group wg;
  for (int t = 0; t < threads; ++t) {
    wg.go(producer, c.send_end(), n / threads);
    wg.go(consumer, c.recv_end(), n / threads);
  }
  co_await wg.wait();
}

goro::task<> select_rx(int n, int capacity) {
  auto c = chans(capacity);
  goro::wait_group wg;
  for (int t = 0; t < threads; ++t) wg.go(producer, c[t].send_end(), n / threads);
  for (int i = 0; i < n; ++i)
    (void)co_await goro::select(goro::recv(c[0]), goro::recv(c[1]), goro::recv(c[2]),
                                goro::recv(c[3]));
  co_await wg.wait();
}

goro::task<> select_both(int n, int capacity) {
  auto c = chans(capacity);
  goro::wait_group wg;
  for (int t = 0; t < threads; ++t) {
    wg.go(
        [](std::array<goro::chan<msg>, threads> c, int count) -> goro::task<> {
          for (int i = 0; i < count; ++i)
            (void)co_await goro::select(goro::send(c[0], i), goro::send(c[1], i),
                                        goro::send(c[2], i), goro::send(c[3], i));
        },
        c, n / threads);
    wg.go(
        [](std::array<goro::chan<msg>, threads> c, int count) -> goro::task<> {
          for (int i = 0; i < count; ++i)
            (void)co_await goro::select(goro::recv(c[0]), goro::recv(c[1]), goro::recv(c[2]),
                                        goro::recv(c[3]));
        },
        c, n / threads);
  }
  co_await wg.wait();
}

goro::task<clk::duration> pingpong(int rounds) {
  auto ping = goro::make_chan<msg>(0), pong = goro::make_chan<msg>(0);
  goro::go(
      [](goro::receiver<msg> ping, goro::sender<msg> pong) -> goro::task<> {
        while (auto v = co_await ping.recv()) (void)co_await pong.send(*v);
      },
      ping.recv_end(), pong.send_end());
  auto t0 = clk::now();
  for (int i = 0; i < rounds; ++i) {
    (void)co_await ping.send(i);
    (void)co_await pong.recv();
  }
  auto d = clk::now() - t0;
  ping.close();
  co_return d;
}

// The token carries the number of hops left; whoever receives the last hop
// reports to done. Goroutine setup is not timed.
goro::task<clk::duration> ring(int size, int hops) {
  std::vector<goro::chan<msg>> cs(size);
  for (auto& c : cs) c = goro::make_chan<msg>(0);
  auto done = goro::make_chan<void>(0);
  for (int i = 0; i < size; ++i)
    goro::go(
        [](goro::receiver<msg> in, goro::sender<msg> out, goro::sender<void> done) -> goro::task<> {
          while (auto left = co_await in.recv()) {
            if (*left == 1)
              (void)co_await done.send();
            else
              (void)co_await out.send(*left - 1);
          }
        },
        cs[i].recv_end(), cs[(i + 1) % size].send_end(), done.send_end());
  auto t0 = clk::now();
  (void)co_await cs[0].send(hops);
  (void)co_await done.recv();
  auto d = clk::now() - t0;
  for (auto& c : cs) c.close();
  co_return d;
}

}  // namespace

int main(int argc, char** argv) {
  long n = bench::parse_n(argc, argv, 5'000'000, "messages per case");
  int m = static_cast<int>(n / threads * threads);
  if (m < threads) m = threads;

  goro::run([m]() -> goro::task<> {
    struct test {
      const char* name;
      goro::task<> (*f)(int, int);
    };
    const test tests[] = {{"seq", seq},   {"spsc", spsc},           {"mpsc", mpsc},
                          {"mpmc", mpmc}, {"select_rx", select_rx}, {"select_both", select_both}};
    for (int capacity : {0, 1, 1024}) {
      for (const test& t : tests) {
        if (capacity == 0 && std::strcmp(t.name, "seq") == 0) continue;
        auto t0 = clk::now();
        co_await t.f(m, capacity);
        auto d = clk::now() - t0;
        report("chan/bounded" + std::to_string(capacity) + "/" + t.name, d, m, "ns/msg");
      }
    }

    int rounds = std::max(m / 5, 1);
    auto d = co_await pingpong(rounds);
    report("chan/pingpong", d, rounds, "ns/rt");
    constexpr int size = 1000;
    int hops = std::max(m / 5 / size, 1) * size;
    d = co_await ring(size, hops);
    report("chan/ring1000", d, hops, "ns/hop");
  });
}

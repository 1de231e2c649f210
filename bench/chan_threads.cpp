// bench_chan_threads — the channel suite of bench/chan.cpp between plain OS
// threads, using the blocking forms (blocking_send / blocking_recv /
// blocking_select). No Go twin of its own: bench/run.sh compares its cases
// chan_threads/x with bench/go/chan's chan/x (same workloads, same -n flag,
// same units), i.e. goro channels between threads against Go channels between
// goroutines.
//
//   chan_threads/bounded{0,1,1024}/{seq,spsc,mpsc,mpmc,select_rx,select_both}  ns/msg
//   chan_threads/pingpong                                                         ns/rt
//
// The main thread plays Go's main goroutine (the consumer of spsc, mpsc and
// select_rx). chan/ring1000 is left out: a ring of 1000 OS threads measures
// the kernel's scheduler and thread creation, not the channel.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
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

void join_all(std::vector<std::thread>& ts) {
  for (auto& t : ts) t.join();
}

void producer(goro::sender<msg> c, int count) {
  for (int i = 0; i < count; ++i) (void)c.blocking_send(i);
}
void consumer(goro::receiver<msg> c, int count) {
  for (int i = 0; i < count; ++i) (void)c.blocking_recv();
}

void seq(int n, int capacity) {
  auto c = goro::make_chan<msg>(capacity);
  for (int sent = 0; sent < n; sent += capacity) {
    int batch = std::min(capacity, n - sent);
    for (int i = 0; i < batch; ++i) (void)c.blocking_send(sent + i);
    for (int i = 0; i < batch; ++i) (void)c.blocking_recv();
  }
}

void spsc(int n, int capacity) {
  auto c = goro::make_chan<msg>(capacity);
  std::vector<std::thread> ts;
  ts.emplace_back(producer, c.send_end(), n);
  for (int i = 0; i < n; ++i) (void)c.blocking_recv();
  join_all(ts);
}

void mpsc(int n, int capacity) {
  auto c = goro::make_chan<msg>(capacity);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) ts.emplace_back(producer, c.send_end(), n / threads);
  for (int i = 0; i < n; ++i) (void)c.blocking_recv();
  join_all(ts);
}

void mpmc(int n, int capacity) {
  auto c = goro::make_chan<msg>(capacity);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back(producer, c.send_end(), n / threads);
    ts.emplace_back(consumer, c.recv_end(), n / threads);
  }
  join_all(ts);
}

void select_rx(int n, int capacity) {
  auto c = chans(capacity);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) ts.emplace_back(producer, c[t].send_end(), n / threads);
  for (int i = 0; i < n; ++i)
    (void)goro::blocking_select(goro::recv(c[0]), goro::recv(c[1]), goro::recv(c[2]),
                                goro::recv(c[3]));
  join_all(ts);
}

void select_both(int n, int capacity) {
  auto c = chans(capacity);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([c, count = n / threads] {
      for (int i = 0; i < count; ++i)
        (void)goro::blocking_select(goro::send(c[0], i), goro::send(c[1], i), goro::send(c[2], i),
                                    goro::send(c[3], i));
    });
    ts.emplace_back([c, count = n / threads] {
      for (int i = 0; i < count; ++i)
        (void)goro::blocking_select(goro::recv(c[0]), goro::recv(c[1]), goro::recv(c[2]),
                                    goro::recv(c[3]));
    });
  }
  join_all(ts);
}

clk::duration pingpong(int rounds) {
  auto ping = goro::make_chan<msg>(0), pong = goro::make_chan<msg>(0);
  std::thread echo([ping = ping.recv_end(), pong = pong.send_end()] {
    while (auto v = ping.blocking_recv()) (void)pong.blocking_send(*v);
  });
  auto t0 = clk::now();
  for (int i = 0; i < rounds; ++i) {
    (void)ping.blocking_send(i);
    (void)pong.blocking_recv();
  }
  auto d = clk::now() - t0;
  ping.close();
  echo.join();
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  long n = bench::parse_n(argc, argv, 5'000'000, "messages per case");
  int m = static_cast<int>(n / threads * threads);
  if (m < threads) m = threads;

  struct test {
    const char* name;
    void (*f)(int, int);
  };
  const test tests[] = {{"seq", seq},   {"spsc", spsc},           {"mpsc", mpsc},
                        {"mpmc", mpmc}, {"select_rx", select_rx}, {"select_both", select_both}};
  for (int capacity : {0, 1, 1024}) {
    for (const test& t : tests) {
      if (capacity == 0 && std::strcmp(t.name, "seq") == 0) continue;
      auto t0 = clk::now();
      t.f(m, capacity);
      auto d = clk::now() - t0;
      report("chan_threads/bounded" + std::to_string(capacity) + "/" + t.name, d, m, "ns/msg");
    }
  }

  int rounds = std::max(m / 5, 1);
  report("chan_threads/pingpong", pingpong(rounds), rounds, "ns/rt");
  // No chan_threads/ring1000: see the header.
}

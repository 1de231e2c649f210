// bench_util.hpp — what bench/rate.cpp and bench/breaker.cpp share: the
// "BENCH <case> <value> <unit>" line run.sh reads, Go's `-n` flag, and
// starting k goroutines at once and timing them until the last is done.
// Header-only, for the benchmark programs (not part of the library).
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <goro/goro.hpp>

namespace bench {

using clk = std::chrono::steady_clock;

// One result line: d / ops in `unit` (a time per operation).
inline void report(const char* name, clk::duration d, long ops, const char* unit) {
  std::printf("BENCH %s %.2f %s\n", name,
              std::chrono::duration<double, std::nano>(d).count() / static_cast<double>(ops), unit);
  std::fflush(stdout);
}

inline void check(bool ok, const char* prog, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "%s: %s\n", prog, what);
    std::abort();
  }
}

// Go's flag package for one integer flag: -n N, -n=N, --n N, --n=N. Returns
// def when absent; exits with a usage line on anything else.
inline long parse_n(int argc, char** argv, long def, const char* what) {
  long n = def;
  auto usage = [&] {
    std::fprintf(stderr, "usage: %s [-n %s (default %ld)]\n", argv[0], what, def);
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const char* v = nullptr;
    if (std::strcmp(a, "-n") == 0 || std::strcmp(a, "--n") == 0) {
      if (i + 1 >= argc) usage();
      v = argv[++i];
    } else if (std::strncmp(a, "-n=", 3) == 0) {
      v = a + 3;
    } else if (std::strncmp(a, "--n=", 4) == 0) {
      v = a + 4;
    } else {
      usage();
    }
    char* end = nullptr;
    n = std::strtol(v, &end, 0);
    if (*v == '\0' || *end != '\0' || n < 1) usage();
  }
  return n;
}

// Starts k goroutines running body(i) (a callable returning goro::task<>)
// and waits for all of them; returns the time from before the first start to
// the wait's return (Go twins: the same with sync.WaitGroup).
template <class Body>
goro::task<clk::duration> fan_out(int k, Body body) {
  goro::wait_group wg;
  wg.add(k);
  auto t0 = clk::now();
  for (int i = 0; i < k; ++i)
    goro::go(
        [](Body b, int i, goro::wait_group* w) -> goro::task<> {
          goro::task<> t = b(i);
          co_await std::move(t);
          w->done();
        },
        body, i, &wg);
  co_await wg.wait();
  co_return clk::now() - t0;
}

}  // namespace bench

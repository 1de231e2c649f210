// examples/patterns/example.hpp — what the pattern examples share.
//
// Each examples/patterns/<name>.cpp is a short program that mirrors one
// pattern of the Go concurrency guides goro was built from, written with
// goro's pieces. It defines `goro::task<> goro_examples::<name>()` (declared
// below), which prints a few lines through say() and CHECKs what it shows.
// The output is the same on every run: nothing printed depends on timing or
// on the order goroutines happen to run in. Sleeps appear only as simulated
// work (a few ms); nothing waits on a sleep for another goroutine.
//
// GORO_EXAMPLE_MAIN(<name>) turns the file into a program: main() runs the
// example on the default runtime, then fails (status 1) if a goroutine it
// started is still alive (the leak check goro's tests end with). A failed
// CHECK prints "<file>:<line>: check failed: <cond>" and exits with status 1.
// goro_demo compiles the same files with GORO_EXAMPLES_TOUR defined (no
// main) and calls the entry points for its tour (examples/patterns/tour.hpp).
#pragma once

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include <goro/goro.hpp>

using namespace std::chrono_literals;  // 5ms, 1h: the examples read like the Go

namespace goro_examples {

// Printed before every line (the demo's tour indents the examples' output).
inline const char* g_indent = "";

// printf plus a newline, after the indent; flushed (the lines of an example
// interleave with the demo's own).
__attribute__((format(printf, 1, 2))) inline void say(const char* fmt, ...) {
  std::fputs(g_indent, stdout);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stdout, fmt, ap);
  va_end(ap);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

[[noreturn]] inline void check_failed(const char* what, const char* file, int line) {
  std::fflush(stdout);
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
  std::exit(1);
}

// The examples (one file each).
goro::task<> goroutine_cleanup();
goro::task<> worker_pool();
goro::task<> pipeline();
goro::task<> fan_out_fan_in();
goro::task<> bounded_concurrency();
goro::task<> errgroup();
goro::task<> rate_limiter();
goro::task<> circuit_breaker_retry();
goro::task<> graceful_shutdown();
goro::task<> query_racing();
goro::task<> concurrent_map();
goro::task<> leaky_buffer();
goro::task<> context_timeout();
goro::task<> priority_select();
goro::task<> protected_state();
goro::task<> once();

// main() of an example program: runs it, then checks that it left no goroutine.
inline int run_main(const char* name, goro::task<> (*example)()) {
  goro::run(example);
  goro::runtime& rt = goro::runtime::default_runtime();
  if (!rt.wait_no_goroutines(std::chrono::seconds(5))) {
    std::fprintf(stderr, "%s: %zu goroutine(s) still alive after the example returned\n", name,
                 rt.live_goroutines());
    return 1;
  }
  return 0;
}

}  // namespace goro_examples

#define CHECK(c)                                                 \
  do {                                                           \
    if (!(c)) ::goro_examples::check_failed(#c, __FILE__, __LINE__); \
  } while (0)

#ifdef GORO_EXAMPLES_TOUR
#define GORO_EXAMPLE_MAIN(name)
#else
#define GORO_EXAMPLE_MAIN(name) \
  int main() { return ::goro_examples::run_main(#name, &::goro_examples::name); }
#endif

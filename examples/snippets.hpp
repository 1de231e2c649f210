// snippets.hpp — the scaffolding shared by the *_snippets programs (not part of
// any snippet): CHECK, rt(), the snippet table entry, and the runner main()
// calls.
//
// run_all() runs every snippet of a table in order, checks after each one that
// every goroutine it started has returned (the leak check tests end with) and,
// when asked, that no timer is left armed; it prints one "ok  <name> <what>"
// line per snippet and a summary, and returns main()'s exit status: 0, or 1 at
// the first snippet that leaks. A failed CHECK prints
// "<program>:<line>: check failed: <cond>" and exits with status 1.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include <goro/goro.hpp>

namespace goro_snippets {

// The program's name in failure messages; run_all() sets it.
inline const char* g_program = "snippets";

[[noreturn]] inline void fail(const char* what, int line) {
  std::fprintf(stderr, "%s:%d: check failed: %s\n", g_program, line, what);
  std::exit(1);
}

inline goro::runtime& rt() { return goro::runtime::default_runtime(); }

struct snippet {
  const char* name;
  std::string (*run)();
};

struct run_options {
  int name_width = 18;        // the width of the name column of the "ok" lines
  bool check_timers = false;  // also fail a snippet that leaves a timer armed
};

inline int run_all(const char* program, std::span<const snippet> snippets, run_options opt = {}) {
  using namespace std::chrono_literals;
  g_program = program;
  auto t0 = std::chrono::steady_clock::now();
  for (const snippet& s : snippets) {
    std::string what = s.run();
    if (!rt().wait_no_goroutines(2s)) {  // every snippet leaves no goroutine behind
      std::fprintf(stderr, "%s: %s leaked %zu goroutine(s)\n", program, s.name, rt().live_goroutines());
      return 1;
    }
    if (opt.check_timers && rt().armed_timers() != 0) {  // ...and, if asked, no armed timer
      std::fprintf(stderr, "%s: %s left %zu timer(s) armed\n", program, s.name, rt().armed_timers());
      return 1;
    }
    std::printf("ok  %-*s %s\n", opt.name_width, s.name, what.c_str());
  }
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("all %zu snippets passed in %.0f ms\n", snippets.size(), ms);
  return 0;
}

}  // namespace goro_snippets

#define CHECK(c)                                  \
  do {                                            \
    if (!(c)) ::goro_snippets::fail(#c, __LINE__); \
  } while (0)

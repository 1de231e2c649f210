// hazards_snippets — every goro snippet of docs/guide/compiler-hazards.md,
// compiled against the current headers and run (with GCC 12 and Clang 14:
// each one is the *safe* form of a shape that one of them miscompiles or
// rejects).
//
// Each snippet is a function named after its section in the guide (the guide
// cites the name). main() runs them all through run_all() of snippets.hpp,
// which checks after each one that every goroutine it started has returned.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <goro/goro.hpp>

#include "snippets.hpp"

using namespace std::chrono_literals;

namespace {

std::string str(long v) { return std::to_string(v); }

// =================================================================================
// 1. thread_local across co_await
// =================================================================================

// §1.1 randomness: goro::rand instead of a thread_local generator
goro::task<std::string> rand_in_goroutines_body() {
  auto results = goro::make_chan<int>(64);
  goro::wait_group wg;
  for (int w = 0; w < 8; ++w)
    wg.go([](goro::sender<int> out) -> goro::task<> {
      goro::rand::source src;                        // stateless: safe across co_await
      std::uniform_int_distribution<int> dice(1, 6);
      for (int i = 0; i < 8; ++i) {
        co_await goro::sleep_for(1ms + goro::rand::n(2ms));  // jitter: [1ms, 3ms)
        int backend = goro::rand::int_n(3);                  // pick one of 3 backends
        (void)co_await out.send(backend * 10 + dice(src));
      }
    }, results);
  co_await wg.wait();
  results.close();

  long n = 0;
  while (auto v = co_await results.recv()) {
    CHECK(*v / 10 >= 0 && *v / 10 < 3 && *v % 10 >= 1 && *v % 10 <= 6);
    ++n;
  }
  std::vector<int> order = goro::rand::perm(5);  // a shuffled 0..4
  std::vector<std::string> names{"a", "b", "c"};
  goro::rand::shuffle(names.begin(), names.end());
  CHECK(std::is_permutation(order.begin(), order.end(), std::vector<int>{0, 1, 2, 3, 4}.begin()));
  co_return str(n) + " draws from 8 goroutines, jittered sleeps, perm, shuffle";
}
std::string rand_in_goroutines() { return goro::run(rand_in_goroutines_body); }

// §1.2 your own per-thread state: re-read it through a function that is not inlined
struct worker_stats {
  long ops = 0;
};
[[gnu::noinline]] worker_stats& this_thread_stats() {
  thread_local worker_stats s;
  return s;
}
goro::task<std::string> per_thread_state_body() {
  goro::wait_group wg;
  for (int w = 0; w < 8; ++w)
    wg.go([]() -> goro::task<> {
      for (int i = 0; i < 100; ++i) {
        this_thread_stats().ops++;    // read again after every co_await
        co_await goro::yield();       // may resume on another worker
      }
    });
  co_await wg.wait();
  co_return "per-thread counters re-read through a non-inlined function";
}
std::string per_thread_state() { return goro::run(per_thread_state_body); }

// =================================================================================
// 2. Temporaries inside co_await (GCC < 13)
// =================================================================================

// §2.1 name the value first
struct Job {
  int id;
  std::string name;
};
goro::task<std::string> name_the_value_body() {
  auto jobs = goro::make_chan<Job>(10);
  for (int i = 0; i < 10; ++i) {
    Job job{i, "job " + std::to_string(i)};  // not: co_await jobs.send(Job{i, ...})
    (void)co_await jobs.send(std::move(job));
  }
  jobs.close();
  long n = 0;
  while (auto j = co_await jobs.recv()) n += j->name == "job " + std::to_string(j->id);
  CHECK(n == 10);
  co_return "10 aggregates sent by name";
}
std::string name_the_value() { return goro::run(name_the_value_body); }

// §2.2 name a lambda with captures before it goes into a co_await
goro::task<std::string> name_the_lambda_body() {
  std::string prefix = "user-";
  auto load = [prefix]() -> goro::task<std::string> {  // named, then awaited
    co_await goro::yield();
    co_return prefix + "42";
  };
  std::string user = co_await load();
  CHECK(user == "user-42");
  co_return "captured lambda named before co_await: " + user;
}
std::string name_the_lambda() { return goro::run(name_the_lambda_body); }

// =================================================================================
// 3. Structured bindings in lambda captures (Clang < 16)
// =================================================================================

// §3.1 init-capture the binding
goro::task<std::string> capture_bindings_body() {
  auto [ctx, cancel] = goro::with_timeout(goro::background(), 1h);
  auto done = goro::make_chan<int>(2);
  goro::wait_group wg;
  wg.go([ctx = ctx, done]() -> goro::task<> {  // not [ctx] or [&]: Clang 14 rejects those
    (void)co_await done.send(ctx.err() ? 1 : 0);
  });
  auto both = goro::with_cancel(ctx);  // or don't bind: both.ctx, both.cancel
  wg.go([c = both.ctx, done]() -> goro::task<> { (void)co_await done.send(c.err() ? 1 : 0); });
  co_await wg.wait();
  auto a = co_await done.recv();
  auto b = co_await done.recv();
  CHECK(a && *a == 0 && b && *b == 0);
  co_return "[ctx = ctx] and a named result, on both compilers";
}
std::string capture_bindings() { return goro::run(capture_bindings_body); }

constexpr goro_snippets::snippet kSnippets[] = {
    {"rand_in_goroutines", rand_in_goroutines},
    {"per_thread_state", per_thread_state},
    {"name_the_value", name_the_value},
    {"name_the_lambda", name_the_lambda},
    {"capture_bindings", capture_bindings},
};

}  // namespace

int main() { return goro_snippets::run_all("hazards_snippets", kSnippets, {.name_width = 20}); }

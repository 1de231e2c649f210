// Regression: work injected by a plain thread sat unrun while the only worker
// slept. Found in CI: ChanStress.ThreadsAndGoroutinesExactlyOnce/w1_cap0 hung
// under TSan with the test body blocked in wait_group::blocking_wait, the two
// consumer goroutines that close() had woken sitting in the global queue, and
// the worker parked on the idle list with no wake on its way.
//
// The fault: wakep() takes the spinning token (n_spinning 0 -> 1) before it
// looks for an idle worker. When it found none, it gave the token back and
// returned. A producer that pushed work while the token was held saw
// n_spinning != 0 and skipped its own wake, trusting the spinner to find the
// work; but nobody was spinning, and a worker that registered idle after the
// waker's look at the idle list, and made its last check for work before the
// push, slept on. (Go's wakep has the same shape, but a Go producer is a P
// that runs the work itself later; a goro producer may be a plain thread
// that never will.) Fixed: a waker that finds no idle worker gives the token
// back and looks again, as a spinning worker that gives up does.
//
// In real runs the window is a few instructions wide (the waker must be
// preempted inside it); the seams of src/scheduler_testing.hpp hold the waker
// there. The bounds below are hang guards, never timing assertions.
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "scheduler_testing.hpp"

namespace {

using namespace std::chrono_literals;
namespace seams = goro::detail::testing;

// Spins until pred() holds or the guard expires; whether it held.
template <class Pred>
bool spin_until(Pred pred) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!pred())
    if (std::chrono::steady_clock::now() > give_up) return false;
  return true;
}

// The waker thread stops in the window until the test lets it go. Only that
// thread: the hook is process-wide.
thread_local bool tl_test_waker = false;
std::atomic<bool> g_in_window{false};
std::atomic<bool> g_leave_window{false};
void hold_waker_in_window() {
  if (!tl_test_waker) return;
  g_in_window.store(true);
  spin_until([] { return g_leave_window.load(); });
}

TEST(InjectLostWhileWakerFoundNoIdleWorker, WorkPushedWhileTheTokenWasHeldRuns) {
  goro::runtime_options o;
  o.workers = 1;
  goro::runtime rt(o);

  // 1. The worker computes, so a waker finds nobody on the idle list.
  std::atomic<bool> busy_running{false}, release_busy{false};
  auto busy = rt.spawn([&]() -> goro::task<> {
    busy_running.store(true);
    spin_until([&] { return release_busy.load(); });  // no goro operation: the worker cannot switch
    co_return;
  });
  ASSERT_TRUE(spin_until([&] { return busy_running.load(); }));

  // 2. A waker takes the token, finds no idle worker and stops just before
  //    it gives the token back.
  seams::set_wakep_found_none_hook(hold_waker_in_window);
  std::thread waker([&] {
    tl_test_waker = true;
    seams::wakep(rt.impl());
  });
  ASSERT_TRUE(spin_until([] { return g_in_window.load(); }));

  // 3. The worker finishes, registers idle, finds nothing and parks.
  release_busy.store(true);
  std::move(busy).join();
  ASSERT_TRUE(spin_until([&] { return seams::workers_parked(rt.impl()) == 1; }));

  // 4. This thread injects a goroutine: it sees the token held and skips its
  //    own wake (by design: a token holder answers for queued work).
  std::atomic<bool> ran{false};
  rt.go([&ran]() -> goro::task<> {
    ran.store(true);
    co_return;
  });

  // 5. The waker gives the token back; it must look again and wake the worker.
  g_leave_window.store(true);
  waker.join();
  seams::set_wakep_found_none_hook(nullptr);
  EXPECT_TRUE(spin_until([&] { return ran.load(); }))
      << "the goroutine injected while a waker held the spinning token never ran: the worker "
         "slept with work queued";
  EXPECT_TRUE(rt.wait_no_goroutines(30s));
}

}  // namespace

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
// back and looks again, as a spinning worker that gives up does. A timer
// armed in the window by a thread, with no worker sleeping for timers, was
// lost the same way (nobody became the timer sleeper); the second look
// counts it too.
//
// In real runs the window is a few instructions wide (the waker must be
// preempted inside it); the seams of src/scheduler_testing.hpp hold the waker
// there. The bounds below are hang guards, never timing assertions.
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "goro/detail/timer.hpp"
#include "goro/goro.hpp"
#include "goro_test.hpp"
#include "scheduler_testing.hpp"

namespace {

using namespace std::chrono_literals;
namespace seams = goro::detail::testing;
using goro_test::spin_until;

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

// Steps 1-3 of both tests: the only worker of rt is busy while a waker
// takes the spinning token and finds nobody idle; the waker stops in the
// window; then the worker finishes, goes idle and parks. Returns the waker
// thread, still in the window (release it with g_leave_window).
std::thread hold_token_while_worker_parks(goro::runtime& rt) {
  g_in_window.store(false);
  g_leave_window.store(false);
  // 1. The worker computes, so a waker finds nobody on the idle list.
  std::atomic<bool> busy_running{false}, release_busy{false};
  auto busy = rt.spawn([&]() -> goro::task<> {
    busy_running.store(true);
    spin_until([&] { return release_busy.load(); });  // no goro operation: the worker cannot switch
    co_return;
  });
  EXPECT_TRUE(spin_until([&] { return busy_running.load(); }));
  // 2. A waker takes the token, finds no idle worker and stops just before
  //    it gives the token back.
  seams::set_wakep_found_none_hook(hold_waker_in_window);
  std::thread waker([&rt] {
    tl_test_waker = true;
    seams::wakep(rt.impl());
  });
  EXPECT_TRUE(spin_until([] { return g_in_window.load(); }));
  // 3. The worker finishes, registers idle, finds nothing and parks.
  release_busy.store(true);
  std::move(busy).join();
  EXPECT_TRUE(spin_until([&] { return seams::workers_parked(rt.impl()) == 1; }));
  return waker;
}

void release_waker(std::thread& waker) {
  g_leave_window.store(true);
  waker.join();
  seams::set_wakep_found_none_hook(nullptr);
}

TEST(InjectLostWhileWakerFoundNoIdleWorker, WorkPushedWhileTheTokenWasHeldRuns) {
  auto rt = goro_test::runtime_with(1);
  std::thread waker = hold_token_while_worker_parks(*rt);

  // 4. This thread injects a goroutine: it sees the token held and skips its
  //    own wake (by design: a token holder answers for queued work).
  std::atomic<bool> ran{false};
  rt->go([&ran]() -> goro::task<> {
    ran.store(true);
    co_return;
  });

  // 5. The waker gives the token back; it must look again and wake the worker.
  release_waker(waker);
  EXPECT_TRUE(spin_until([&] { return ran.load(); }))
      << "the goroutine injected while a waker held the spinning token never ran: the worker "
         "slept with work queued";
  EXPECT_TRUE(rt->wait_no_goroutines(30s));
}

// The same window for a timer: a thread arms one while no worker sleeps as
// the timer sleeper, and its notify sees the token held. The waker's second
// look must count a timer nobody sleeps for, or the timer never fires.
TEST(InjectLostWhileWakerFoundNoIdleWorker, TimerArmedWhileTheTokenWasHeldFires) {
  auto rt = goro_test::runtime_with(1);
  std::thread waker = hold_token_while_worker_parks(*rt);

  struct flag_timer : goro::detail::timer_node {
    std::atomic<bool> fired{false};
  } t;
  t.fire = [](goro::detail::timer_node* n) { static_cast<flag_timer*>(n)->fired.store(true); };
  goro::detail::timer_arm(&t, goro::detail::real_now(), rt->impl());  // due at once

  release_waker(waker);
  EXPECT_TRUE(spin_until([&] { return t.fired.load(); }))
      << "the timer armed while a waker held the spinning token never fired: the worker slept "
         "with no timer sleeper";
  if (!t.fired.load()) (void)goro::detail::timer_disarm(&t);  // before t goes
  EXPECT_TRUE(rt->wait_no_goroutines(30s));
}

}  // namespace

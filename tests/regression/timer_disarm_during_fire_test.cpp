// Regression: timer_disarm() returned while the node's callback was still to
// run. timer_heap::run_due cleared node->heap and only then read and called
// node->fire; a disarm racing with it saw heap == null and returned false at
// once, without the heap lock, so the owner freed or reused the node while
// run_due was about to call fire (and fire then touched the owner's state).
// TSan found it in SyncStress.SemaphoreNeverOverAdmits: a timed acquire that
// release() admitted resumed, disarmed its deadline timer and reused its
// frame while the timer was firing. Now a one-shot node's heap is cleared
// after fire returns, so a racing disarm waits on the heap lock.
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;

namespace {

class TimerDisarmDuringFire : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(TimerDisarmDuringFire);

struct probe : goro::detail::timer_node {
  std::atomic<bool> entered{false};
  std::atomic<bool> owner_done{false};
  std::atomic<bool> finished{false};
};

TEST_P(TimerDisarmDuringFire, DisarmWaitsForTheCallback) {
  for (int round = 0; round < 5; ++round) {
    auto p = std::make_unique<probe>();
    p->ctx = p.get();
    p->fire = [](goro::detail::timer_node* n) {
      auto* pr = static_cast<probe*>(n->ctx);
      pr->entered = true;
      // Leave a racing disarm every chance to return early: wait (bounded)
      // for the owner to say it is done with the node.
      const auto until = std::chrono::steady_clock::now() + 50ms;
      while (!pr->owner_done.load() && std::chrono::steady_clock::now() < until)
        goro::detail::cpu_relax();
      pr->finished = true;
    };
    goro::detail::timer_arm(p.get(), goro::detail::now(), rt().impl());
    while (!p->entered.load()) std::this_thread::yield();
    const bool was_armed = goro::detail::timer_disarm(p.get());
    const bool finished = p->finished.load();
    p->owner_done = true;
    EXPECT_FALSE(was_armed);
    ASSERT_TRUE(finished) << "timer_disarm returned while the callback was running";
  }
  EXPECT_EQ(rt().armed_timers(), 0u);
}

}  // namespace

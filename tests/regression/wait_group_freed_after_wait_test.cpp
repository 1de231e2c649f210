// Regression: a wait_group destroyed as soon as wait() returned (the
// canonical pattern: the group lives in the waiter's frame) was still being
// used by the last done(). That done() dropped the counter to zero with a
// fetch_add and only then took the group's lock to release the waiters; a
// waiter that saw zero in between returned and freed the group, and the lock,
// take_all() and unlock hit freed memory. With the memory reused by the next
// group, the old release stole the new group's waiter: hangs and spurious
// "negative counter" aborts. Now a zero reached with waiters queued happens
// only under the lock and leaves a dirty bit in the state word, and a waiter
// returns without the lock only on an all-zero word (wait_group.hpp, the
// state comment: a zero reached without the lock was its add()'s last touch).
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class WaitGroupFreedAfterWait : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(WaitGroupFreedAfterWait);

TEST_P(WaitGroupFreedAfterWait, FromAGoroutine) {
  int n = scaled(100'000);
  auto h = rt().spawn([n]() -> goro::task<long> {
    long total = 0;
    for (int i = 0; i < n; ++i) {
      auto wg = std::make_unique<goro::wait_group>();
      std::atomic<int> ran{0};
      wg->go([&ran] { ran.fetch_add(1); });
      if (i % 2) wg->go([&ran] { ran.fetch_add(1); });
      // Half the time, spin (yielding) until the count drops, so that wait()
      // takes its no-park path right as the last done() is releasing.
      if (i % 4 < 2)
        while (wg->count() != 0) co_await goro::yield();
      co_await wg->wait();
      wg.reset();
      total += ran.load();
    }
    co_return total;
  });
  // Bounded: the bug also showed as a hang (a waiter whose release was stolen).
  ASSERT_TRUE(rt().wait_no_goroutines(120s)) << "hung";
  EXPECT_EQ(std::move(h).join(), n + n / 2);
}

TEST_P(WaitGroupFreedAfterWait, FromAPlainThread) {
  int n = scaled(20'000);
  long total = 0;
  for (int i = 0; i < n; ++i) {
    auto wg = std::make_unique<goro::wait_group>();
    std::atomic<int> ran{0};
    wg->add(1);
    rt().go([&ran, g = wg.get()] {
      ran.fetch_add(1);
      g->done();
    });
    if (i % 2)
      while (wg->count() != 0) std::this_thread::yield();
    wg->blocking_wait();
    wg.reset();
    total += ran.load();
  }
  EXPECT_EQ(total, n);
}

}  // namespace

// Regression: a context deadline stopped expiring when the runtime that
// armed its timer was destroyed (~runtime emptied its timer heaps), so a
// plain thread blocked on ctx.done() waited forever; a timer channel made by
// goro::after() inside the runtime never fired either. Found by review.
//
// Rule now (runtime.hpp, "Shutdown"): timers still armed when a runtime is
// destroyed move to the default runtime, which is never destroyed; a
// deadline fires on time wherever its context is used.
//
// The waits below are bounded only as a hang guard (30 s for a 20 ms
// deadline); nothing asserts on how long they took.
#include <chrono>
#include <memory>
#include <utility>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;

TEST(DeadlineOutlivesRuntimeNeverExpires, ContextDeadlineStillFires) {
  auto rt = goro_test::runtime_with(2);
  // Made inside a goroutine, so the deadline's timer is armed on rt.
  auto cc = rt->run([]() -> goro::task<goro::cancelable_context<>> {
    co_return goro::with_timeout(goro::background(), 20ms);
  });
  rt.reset();
  auto r = cc.ctx.done().blocking_recv_for(30s);
  EXPECT_EQ(r.status, goro::recv_status::closed) << "the deadline never expired";
  EXPECT_EQ(cc.ctx.err(), goro::deadline_exceeded);
}

TEST(DeadlineOutlivesRuntimeNeverExpires, TimerChannelStillFires) {
  auto rt = goro_test::runtime_with(2);
  auto fired = rt->run([]() -> goro::task<goro::receiver<goro::clock::time_point>> {
    co_return goro::after(20ms);
  });
  rt.reset();
  auto r = fired.blocking_recv_for(30s);
  EXPECT_EQ(r.status, goro::recv_status::ok) << "the timer channel never fired";
}

TEST(DeadlineOutlivesRuntimeNeverExpires, CancelAfterShutdownStillDisarms) {
  // A deadline far away: the moved timer must be disarmed (not leaked, not
  // fired) by an ordinary cancel on a plain thread.
  auto rt = goro_test::runtime_with(2);
  auto cc = rt->run([]() -> goro::task<goro::cancelable_context<>> {
    co_return goro::with_timeout(goro::background(), 1h);
  });
  rt.reset();
  cc.cancel();
  EXPECT_EQ(cc.ctx.err(), goro::canceled);
}

}  // namespace

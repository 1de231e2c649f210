// Regression: wait_group::go added 1 to the counter before starting the
// goroutine and never took it back when the start threw (a callable or an
// argument whose copy into the goroutine frame throws, or no memory for the
// frame). The counter stayed at 1 with nothing to bring it down, so every
// later wait() hung. Now a failed start undoes its add(1) and rethrows.
//
// The launch is made to fail with a callable whose copy constructor throws;
// the waits are bounded by a context deadline so the old behaviour shows as
// a failed assertion, not a ctest timeout.
#include <chrono>
#include <stdexcept>
#include <system_error>

#include <goro/context.hpp>

#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;

namespace {

// Copying it throws while `armed`: passing it by lvalue to go() copies it
// into the goroutine's frame, so the launch throws.
struct throwing_copy {
  bool armed = true;
  int* ran = nullptr;
  throwing_copy(bool a, int* r) : armed(a), ran(r) {}
  throwing_copy(const throwing_copy& o) : armed(o.armed), ran(o.ran) {
    if (armed) throw std::runtime_error("copy failed");
  }
  throwing_copy(throwing_copy&& o) noexcept = default;
  void operator()() const { ++*ran; }
};

// An argument whose copy throws does the same.
struct throwing_arg {
  throwing_arg() = default;
  throwing_arg(const throwing_arg&) { throw std::runtime_error("arg copy failed"); }
  throwing_arg(throwing_arg&&) noexcept = default;
};

class WaitGroupGoLaunchFailure : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(WaitGroupGoLaunchFailure);

TEST_P(WaitGroupGoLaunchFailure, ThrowingCallableLeavesTheCounterUntouched) {
  rt().run([]() -> goro::task<> {
    goro::wait_group wg;
    int ran = 0;
    throwing_copy f(true, &ran);
    EXPECT_THROW(wg.go(f), std::runtime_error);
    EXPECT_EQ(wg.count(), 0) << "the failed go() left its add(1) behind";
    // Bounded: on the unfixed code this wait never ends.
    auto tc = goro::with_timeout(goro::background(), 5s);
    std::error_code ec = co_await wg.wait(tc.ctx);
    EXPECT_FALSE(ec) << "wait() did not return: " << ec.message();
    tc.cancel();
    EXPECT_EQ(ran, 0);
    if (ec) co_return;  // the counter is stuck: the rest would hang
    // The group still works.
    throwing_copy ok(false, &ran);
    wg.go(ok);
    co_await wg.wait();
    EXPECT_EQ(ran, 1);
  });
}

TEST_P(WaitGroupGoLaunchFailure, ThrowingArgumentLeavesTheCounterUntouched) {
  rt().run([]() -> goro::task<> {
    goro::wait_group wg;
    throwing_arg a;
    EXPECT_THROW(wg.go([](throwing_arg) {}, a), std::runtime_error);
    EXPECT_EQ(wg.count(), 0);
    auto tc = goro::with_timeout(goro::background(), 5s);
    std::error_code ec = co_await wg.wait(tc.ctx);
    EXPECT_FALSE(ec) << "wait() did not return: " << ec.message();
    tc.cancel();
  });
}

TEST_P(WaitGroupGoLaunchFailure, PlainThreadWaitReturns) {
  goro::wait_group wg;
  int ran = 0;
  throwing_copy f(true, &ran);
  // From a plain thread go() starts on the default runtime; the failure is
  // before any goroutine exists, so nothing runs there.
  EXPECT_THROW(wg.go(f), std::runtime_error);
  auto tc = goro::with_timeout(goro::background(), 5s);
  EXPECT_FALSE(wg.blocking_wait(tc.ctx)) << "blocking_wait() did not return";
  tc.cancel();
}

}  // namespace

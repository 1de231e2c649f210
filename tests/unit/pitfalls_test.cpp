// Unit tests: the claims of docs/guide/pitfalls.md that no other test states
// in those words. Each test is named after the Go pitfall it is about; the
// page names the test. (Claims already covered elsewhere are cited there:
// the time.After loop in timer_test, the death tests of sync/runtime.)
#include <algorithm>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {
class Pitfalls : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Pitfalls);

// ---- compile time --------------------------------------------------------------

// Closing from the receiver side: a receiver<T> has no close(); a sender<T>
// cannot receive.
template <class R>
concept can_close = requires(R r) { r.close(); };
template <class S>
concept can_recv = requires(S s) { s.try_recv(); };
static_assert(!can_close<goro::receiver<int>>, "a receiver must not be able to close");
static_assert(can_close<goro::sender<int>>);
static_assert(!can_recv<goro::sender<int>>, "a sender must not be able to receive");

// Copying a mutex (or a wait group, once, semaphore) does not compile.
static_assert(!std::is_copy_constructible_v<goro::mutex> && !std::is_copy_assignable_v<goro::mutex>);
static_assert(!std::is_copy_constructible_v<goro::rw_mutex>);
static_assert(!std::is_copy_constructible_v<goro::wait_group>);
static_assert(!std::is_copy_constructible_v<goro::once>);
static_assert(!std::is_copy_constructible_v<goro::semaphore>);
// A cancel function cannot be copied either (one owner cancels).
static_assert(!std::is_copy_constructible_v<goro::cancel_func>);

// ---- run time ----------------------------------------------------------------------

// Send on a closed channel, a second close, a receive from a closed channel:
// statuses, never a panic or a zero value passed off as data.
TEST_P(Pitfalls, SendOnClosedChannelIsAStatus) {
  rt().run([]() -> goro::task<> {
    auto ch = goro::make_chan<int>(1);
    EXPECT_EQ(co_await ch.send(1), goro::send_status::ok);
    EXPECT_TRUE(ch.close());
    EXPECT_FALSE(ch.close());                                   // Go: panic: close of closed channel
    EXPECT_EQ(co_await ch.send(2), goro::send_status::closed);  // Go: panic: send on closed channel
    int v = 3;
    EXPECT_EQ(ch.try_send(v), goro::send_status::closed);
    std::optional<int> a = co_await ch.recv();  // buffered values are still delivered
    std::optional<int> b = co_await ch.recv();  // then "closed", not a zero value
    EXPECT_EQ(a, std::optional<int>(1));
    EXPECT_FALSE(b.has_value());
    goro::chan<int> nil;
    EXPECT_FALSE(nil.close());  // Go: panic: close of nil channel
  });
}

// A nil channel's case never fires: a select over it and a context ends by
// the context.
TEST_P(Pitfalls, NilChannelCaseNeverFires) {
  rt().run([]() -> goro::task<> {
    goro::receiver<int> nil;
    auto r = co_await goro::select(goro::recv(nil), goro::default_case);
    EXPECT_EQ(r.index(), 1u);
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    cancel();
    goro::receiver<void> done = ctx.done();
    auto r2 = co_await goro::select(goro::recv(nil), goro::recv(done));
    EXPECT_EQ(r2.index(), 1u);
  });
}

// A goroutine blocked forever on an unbuffered send (the classic leak) is
// visible: it is alive, and goroutines() says what it waits for.
TEST_P(Pitfalls, BlockedGoroutineIsListedWithItsWaitReason) {
  auto ch = goro::make_chan<int>();
  rt().go([tx = goro::sender<int>(ch)]() -> goro::task<> { (void)co_await tx.send(42); });
  std::string reason;
  for (int i = 0; i < 1'000'000 && reason != "chan send"; ++i) {
    for (const goro::goroutine_info& g : rt().goroutines())
      if (g.wait_reason != nullptr) reason = g.wait_reason;
    std::this_thread::yield();
  }
  EXPECT_EQ(reason, "chan send");
  EXPECT_EQ(rt().live_goroutines(), 1u);
  EXPECT_EQ(ch.blocking_recv(), std::optional<int>(42));  // the fix: someone receives
}

// WaitGroup.Add inside the goroutine: wg.go counts the goroutine before it
// starts, so a wait() right after it never returns early.
TEST_P(Pitfalls, WaitGroupGoCountsBeforeTheGoroutineStarts) {
  rt().run([]() -> goro::task<> {
    auto release = goro::make_chan<void>();
    goro::wait_group wg;
    wg.go([](goro::receiver<void> r) -> goro::task<> { (void)co_await r.recv(); },
          goro::receiver<void>(release));
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    cancel();
    std::error_code early = co_await wg.wait(ctx);  // counter is 1: only the context ends it
    EXPECT_EQ(early, goro::canceled);
    release.close();
    co_await wg.wait();
  });
}

// Loop variable capture: go() copies its arguments (and a lambda's captures)
// into the goroutine, so each goroutine sees its own i.
TEST_P(Pitfalls, EachGoroutineGetsItsOwnLoopVariable) {
  auto got = rt().run([]() -> goro::task<std::vector<int>> {
    auto out = goro::make_chan<int>(10);
    goro::wait_group wg;
    for (int i = 0; i < 5; ++i) {
      wg.go([](int v, goro::sender<int> tx) -> goro::task<> { (void)co_await tx.send(v); }, i,
            goro::sender<int>(out));
      wg.go([i, tx = goro::sender<int>(out)]() -> goro::task<> { (void)co_await tx.send(10 + i); });
    }
    co_await wg.wait();
    out.close();
    std::vector<int> v;
    while (auto x = co_await out.recv()) v.push_back(*x);
    std::sort(v.begin(), v.end());
    co_return v;
  });
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 10, 11, 12, 13, 14}));
}

// Not calling cancel(): the cancel function cancels when destroyed, and the
// child leaves its parent at once.
TEST_P(Pitfalls, ForgottenCancelCancelsOnDestruction) {
  auto [parent, cancel_parent] = goro::with_cancel(goro::background());
  goro::context child;
  {
    auto [c, cancel] = goro::with_timeout(parent, 1h);
    child = c;
    EXPECT_EQ(goro::detail::context_child_count(parent), 1u);
  }  // no cancel() call
  EXPECT_EQ(child.err(), goro::canceled);
  EXPECT_EQ(goro::detail::context_child_count(parent), 0u);
}

// time.After in a loop: a select whose timeout did not fire leaves no timer
// armed (timeout(d) has no channel; after(d) is freed with its last handle).
// The million-iteration version is Timers.AfterInLoopDoesNotLeak.
TEST_P(Pitfalls, TimeoutCasesLeaveNoTimerArmed) {
  rt().run([this]() -> goro::task<> {
    auto ch = goro::make_chan<int>(1);
    for (int i = 0; i < 100; ++i) {
      (void)ch.try_send(i);
      auto r = co_await goro::select(goro::recv(ch), goro::timeout(1h));
      EXPECT_EQ(r.index(), 0u);
      (void)ch.try_send(i);
      auto r2 = co_await goro::select(goro::recv(ch), goro::recv(goro::after(1h)));
      EXPECT_EQ(r2.index(), 0u);
    }
    EXPECT_EQ(rt().armed_timers(), 0u);
  });
}

// Defer in a loop: a scoped guard unlocks at the end of its block, each
// iteration, not when the function returns.
TEST_P(Pitfalls, ScopedLockUnlocksAtTheEndOfEachIteration) {
  rt().run([]() -> goro::task<> {
    goro::mutex mu;
    int n = 0;
    for (int i = 0; i < 3; ++i) {
      auto g = co_await mu.scoped_lock();
      ++n;
    }
    EXPECT_TRUE(mu.try_lock());  // nothing left locked
    mu.unlock();
    EXPECT_EQ(n, 3);
  });
}

}  // namespace

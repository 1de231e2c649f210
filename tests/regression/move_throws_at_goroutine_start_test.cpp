// Regression: wait_group::go(f, args...) and errgroup::go(f) wrap f in a
// goroutine whose task takes what it needs by value and gives the count
// back (done(), and errgroup's limit slot) at the end of its body. Making
// that task (on the goroutine, when it first runs) moves f and the
// arguments out of the goroutine's stored copies into the task's
// parameters; if such a move threw, the task was never made, its body never
// ran, and the add(1) of go() was never taken back: every later wait()
// hung. The exception itself reached the uncaught handler.
// The fix made both wrappers take the stored copies by reference, so that
// nothing was moved before the body ran. errgroup's still does (the
// throwing move happens into its local copy of f inside its try, and
// wait() rethrows it). wait_group::go has no wrapper any more: its
// goroutine's shell calls done() when the goroutine is gone, however it
// ended (counted_shell in runtime.hpp), so the move into f's parameter may
// throw where go()'s would: wait() returns, and the exception goes to the
// uncaught handler.
//
// The waits are bounded by a deadline so the old behaviour shows as a
// failed assertion, not a ctest timeout.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <system_error>

#include <goro/context.hpp>
#include <goro/sync/errgroup.hpp>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {

// Its second move throws: the first (into the goroutine, inside go())
// succeeds, the next one, on the goroutine, fails.
struct throws_on_second_move {
  int moves = 0;
  throws_on_second_move() = default;
  throws_on_second_move(throws_on_second_move&& o) : moves(o.moves + 1) {
    if (moves == 2) throw std::runtime_error("second move");
  }
};

class MoveThrowsAtGoroutineStart : public goro_test::UncaughtCountingTest {};
GORO_INSTANTIATE_WORKERS(MoveThrowsAtGoroutineStart);

TEST_P(MoveThrowsAtGoroutineStart, WaitGroupWaitReturnsAndTheExceptionIsReported) {
  bool ran = false;
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    wg.go([&ran](throws_on_second_move) { ran = true; }, throws_on_second_move{});
    // Bounded: on the unfixed code this wait never ends.
    auto tc = goro::with_timeout(goro::background(), 30s);
    std::error_code ec = co_await wg.wait(tc.ctx);
    tc.cancel();
    EXPECT_FALSE(ec) << "wait() did not return: " << ec.message();
    EXPECT_EQ(wg.count(), 0);
  });
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  EXPECT_FALSE(ran);
  EXPECT_EQ(reported(), 1);
}

// A callable for errgroup::go whose second move throws, as above.
struct task_throws_on_second_move {
  int moves = 0;
  task_throws_on_second_move() = default;
  task_throws_on_second_move(task_throws_on_second_move&& o) : moves(o.moves + 1) {
    if (moves == 2) throw std::runtime_error("second move");
  }
  goro::error operator()() const { return {}; }
};

TEST_P(MoveThrowsAtGoroutineStart, ErrgroupWaitRethrowsTheException) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    g.go(task_throws_on_second_move{});
    // wait() in a goroutine of its own, so that this one can bound it.
    auto finished = goro::make_chan<bool>(1);
    goro::go([](goro::errgroup* grp, goro::sender<bool> out) -> goro::task<> {
      bool threw = false;
      try {
        goro::error e = co_await grp->wait();
        (void)e;
      } catch (const std::runtime_error&) {
        threw = true;
      }
      (void)co_await out.send(threw);
    }, &g, finished.send_end());
    auto r = co_await finished.recv_for(30s);
    EXPECT_EQ(r.status, goro::recv_status::ok) << "errgroup::wait() did not return";
    if (r.status == goro::recv_status::ok) {
      EXPECT_TRUE(*r.value) << "wait() did not rethrow the move's exception";
    }
  });
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  EXPECT_EQ(reported(), 0);  // observed by wait(): not uncaught
}

}  // namespace

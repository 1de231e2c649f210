// Unit tests: what go/spawn keep for a goroutine (runtime.hpp, "goroutine
// shells"). The callable and its arguments live as long as the goroutine;
// the callable is called on the goroutine, when a worker first runs it;
// an exception from that call ends the goroutine as if its task threw it.
#include <atomic>
#include <stdexcept>
#include <string>

#include "goro_test.hpp"

using goro_test::RuntimeTest;

namespace {

class GoroutineShell : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(GoroutineShell);

TEST_P(GoroutineShell, ReferenceParameterBindsToTheGoroutinesOwnCopy) {
  bool same = rt().run([&]() -> goro::task<bool> {
    auto gate = goro::make_chan<void>(0);
    goro::join_handle<bool> h;
    {
      std::string arg(100, 'x');  // longer than the small-string buffer
      h = goro::spawn([](const std::string& s, goro::receiver<void> g) -> goro::task<bool> {
        (void)co_await g.recv();  // the caller's string is gone by now
        co_return s == std::string(100, 'x');
      }, arg, gate.recv_end());
      arg.assign(100, 'y');  // the goroutine's copy is not the caller's
    }
    gate.close();
    co_return co_await std::move(h);
  });
  EXPECT_TRUE(same);
}

TEST_P(GoroutineShell, LambdaCapturesLiveAsLongAsTheGoroutine) {
  bool same = rt().run([&]() -> goro::task<bool> {
    auto gate = goro::make_chan<void>(0);
    goro::join_handle<bool> h;
    {
      std::string captured(100, 'c');
      h = goro::spawn([captured, g = gate.recv_end()]() -> goro::task<bool> {
        (void)co_await g.recv();
        co_return captured == std::string(100, 'c');
      });
    }
    gate.close();
    co_return co_await std::move(h);
  });
  EXPECT_TRUE(same);
}

goro::task<int> seven() { co_return 7; }

TEST_P(GoroutineShell, CallableThatMakesATaskIsCalledOnTheGoroutine) {
  bool on_goroutine = false;
  // Not a coroutine: a function that makes the task the goroutine runs.
  auto h = rt().spawn([&on_goroutine] {
    on_goroutine = goro::detail::current_goroutine() != nullptr;
    return seven();
  });
  EXPECT_EQ(std::move(h).join(), 7);  // from this plain thread
  EXPECT_TRUE(on_goroutine);
}

TEST_P(GoroutineShell, PlainCallableIsCalledOnTheGoroutine) {
  bool on_goroutine = false;
  auto h = rt().spawn([&on_goroutine] { on_goroutine = goro::detail::current_goroutine() != nullptr; });
  std::move(h).join();
  EXPECT_TRUE(on_goroutine);
}

TEST_P(GoroutineShell, CallThatThrowsEndsTheGoroutineWithTheException) {
  auto h = rt().spawn([]() -> goro::task<int> {  // not a coroutine: it throws before making one
    throw std::invalid_argument("no task");
  });
  EXPECT_THROW(std::move(h).join(), std::invalid_argument);
}

// Throws on its second move: go/spawn's copy into the goroutine succeeds,
// the move into the call's parameter on the goroutine fails.
struct throws_on_second_move {
  int moves = 0;
  throws_on_second_move() = default;
  throws_on_second_move(throws_on_second_move&& o) : moves(o.moves + 1) {
    if (moves == 2) throw std::runtime_error("second move");
  }
};

TEST_P(GoroutineShell, ArgumentThatThrowsWhenMovedIntoTheCallEndsTheGoroutine) {
  bool ran = false;
  auto h = rt().spawn([&ran](throws_on_second_move) -> goro::task<> {
    ran = true;
    co_return;
  }, throws_on_second_move{});
  EXPECT_THROW(std::move(h).join(), std::runtime_error);
  EXPECT_FALSE(ran);
}

struct throws_on_move {
  throws_on_move() = default;
  throws_on_move(throws_on_move&&) { throw std::runtime_error("move"); }
};

TEST_P(GoroutineShell, ArgumentThatThrowsWhenCopiedInIsThrownByGoAndNothingStarts) {
  std::size_t before = rt().live_goroutines();
  EXPECT_THROW(rt().go([](throws_on_move) -> goro::task<> { co_return; }, throws_on_move{}),
               std::runtime_error);
  EXPECT_EQ(rt().live_goroutines(), before);
}

}  // namespace

// Unit tests: what go/spawn keep for a goroutine (runtime.hpp, "goroutine
// shells"). The callable and its arguments live as long as the goroutine;
// the callable is called on the goroutine, when a worker first runs it;
// an exception from that call ends the goroutine as if its task threw it.
#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

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

// Sets *gone when destroyed holding the pointer: a goroutine's parameter of
// this type lives in its task frame (the moved-from copy in the shell does
// not count).
struct frame_witness {
  std::atomic<bool>* gone;
  explicit frame_witness(std::atomic<bool>* g) : gone(g) {}
  frame_witness(frame_witness&& o) noexcept : gone(std::exchange(o.gone, nullptr)) {}
  ~frame_witness() {
    if (gone) gone->store(true);
  }
};

// A spawned goroutine's task frame goes when its task returns: 1M finished
// goroutines waiting to be joined hold their shells and results only.
TEST_P(GoroutineShell, FinishedGoroutinesFrameIsFreedBeforeTheJoin) {
  std::atomic<bool> gone{false};
  auto h = rt().spawn([](frame_witness) -> goro::task<std::unique_ptr<int>> {
    co_return std::make_unique<int>(7);  // a move-only result, kept in the shell
  }, frame_witness(&gone));
  ASSERT_TRUE(goro_test::spin_until([&] { return h.done(); }));
  EXPECT_TRUE(gone.load());  // the frame went first; h still holds the goroutine
  auto v = std::move(h).join();
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 7);
}

TEST_P(GoroutineShell, FinishedGoroutinesExceptionIsKeptAfterItsFrameIsFreed) {
  std::atomic<bool> gone{false};
  auto h = rt().spawn([](frame_witness) -> goro::task<> {
    throw std::invalid_argument("from the task");
    co_return;
  }, frame_witness(&gone));
  ASSERT_TRUE(goro_test::spin_until([&] { return h.done(); }));
  EXPECT_TRUE(gone.load());  // the frame went first; the exception is in the shell
  EXPECT_THROW(std::move(h).join(), std::invalid_argument);
}

// A result whose move may throw stays in the frame (moving it out at the
// task's end could fail where nobody can report it): the frame lives until
// the join, which moves the value out and then destroys the goroutine.
struct may_throw_on_move {
  std::string s;
  explicit may_throw_on_move(std::string v) : s(std::move(v)) {}
  may_throw_on_move(may_throw_on_move&& o) noexcept(false) : s(std::move(o.s)) {}
};

TEST_P(GoroutineShell, ResultThatMayThrowOnMoveIsJoinedFromTheFrame) {
  std::atomic<bool> gone{false};
  {
    auto h = rt().spawn([](frame_witness) -> goro::task<may_throw_on_move> {
      co_return may_throw_on_move(std::string(100, 'r'));
    }, frame_witness(&gone));
    EXPECT_EQ(std::move(h).join().s, std::string(100, 'r'));
    // The result came from the frame; the join consumed the handle and
    // destroyed the goroutine, frame and all.
    EXPECT_TRUE(gone.load());
    EXPECT_FALSE(h.valid());
  }
}

// A result over 64 bytes would ride in every spawned goroutine's shell
// while it runs or parks: it stays in the frame, which the goroutine keeps
// until the join.
TEST_P(GoroutineShell, LargeResultIsJoinedFromTheFrame) {
  std::atomic<bool> gone{false};
  {
    auto h = rt().spawn([](frame_witness) -> goro::task<std::array<char, 100>> {
      std::array<char, 100> a{};
      a.fill('z');
      co_return a;
    }, frame_witness(&gone));
    EXPECT_FALSE(h.done() && gone.load());  // finished or not, the frame is kept
    auto a = std::move(h).join();
    EXPECT_EQ(a[0], 'z');
    EXPECT_EQ(a[99], 'z');
    EXPECT_TRUE(gone.load());  // the join destroyed the goroutine
    EXPECT_FALSE(h.valid());
  }
}

// std::optional cannot hold the tag types: such a result stays in the frame
// (this compiles, and joins).
TEST_P(GoroutineShell, TagTypeResultIsJoinedFromTheFrame) {
  auto h = rt().spawn([]() -> goro::task<std::nullopt_t> { co_return std::nullopt; });
  std::optional<int> o = std::move(h).join();
  EXPECT_FALSE(o.has_value());
}

TEST_P(GoroutineShell, JoinFromAGoroutineTakesTheResultKeptInTheShell) {
  std::atomic<bool> gone{false};
  std::string got = rt().run([&]() -> goro::task<std::string> {
    auto done = goro::make_chan<void>(0);
    auto h = goro::spawn([](frame_witness, goro::sender<void> d) -> goro::task<std::string> {
      d.close();
      co_return std::string(100, 's');
    }, frame_witness(&gone), done.send_end());
    (void)co_await done.recv();  // it ran; it may or may not have finished
    std::string r = co_await std::move(h);
    EXPECT_TRUE(gone.load());
    co_return r;
  });
  EXPECT_EQ(got, std::string(100, 's'));
}

}  // namespace

// Regression: a pipeline stage (goro::pipe::map, filter, reduce, generate)
// is a goroutine whose body arms an output_closer first, so that its output
// channel is closed however the stage ends. The body took the user's
// function (or range, or accumulator) by value: making the stage's task, on
// the goroutine, moved it out of the goroutine's stored copy into the
// parameter, and if that move threw, the body never ran, the closer never
// existed, and the output stayed open for good. Everything downstream
// waited forever (the exception went to the uncaught handler; the default
// one aborts, a handler that logs and goes on left the hang).
// Now the bodies take the stored copies by reference: nothing is moved
// before the closer exists.
//
// The downstream receive is bounded by a deadline so the old behaviour
// shows as a failed assertion, not a ctest timeout.
#include <atomic>
#include <chrono>
#include <stdexcept>

#include <goro/patterns/pipeline.hpp>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {

// A map function whose second move throws: the first (into the stage's
// goroutine, inside map()) succeeds; another one would fail.
struct doubler {
  int moves = 0;
  doubler() = default;
  doubler(doubler&& o) : moves(o.moves + 1) {
    if (moves == 2) throw std::runtime_error("second move");
  }
  int operator()(int v) const { return 2 * v; }
};

class PipelineStageMoveThrowsAtStart : public goro_test::UncaughtCountingTest {};
GORO_INSTANTIATE_WORKERS(PipelineStageMoveThrowsAtStart);

TEST_P(PipelineStageMoveThrowsAtStart, OutputIsStillClosedWhenTheInputEnds) {
  rt().run([&]() -> goro::task<> {
    auto in = goro::make_chan<int>(1);
    (void)in.try_send(21);
    in.close();
    goro::receiver<int> out = goro::pipe::map(goro::background(), in.recv_end(), doubler{});
    auto first = co_await out.recv_for(30s);
    EXPECT_EQ(first.status, goro::recv_status::ok) << "the map stage never ran";
    if (first) {
      EXPECT_EQ(*first.value, 42);
    }
    auto end = co_await out.recv_for(30s);
    EXPECT_EQ(end.status, goro::recv_status::closed) << "the map stage's output was left open";
  });
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  EXPECT_EQ(reported(), 0);
}

}  // namespace

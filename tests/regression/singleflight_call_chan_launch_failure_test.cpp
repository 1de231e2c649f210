// Regression: singleflight::group::call_chan registered the flight for its
// key before starting the leader goroutine and never took it back when the
// start threw (f's copy into the goroutine frame throws, or no memory for
// the frame). Every later call for that key joined a flight nobody would
// finish, and parked forever. Now a failed start finishes the flight with
// the launch's exception (duplicates that joined meanwhile get it, as with
// any exception of f), forgets the key, and rethrows to the caller.
#include <chrono>
#include <stdexcept>
#include <string>

#include <goro/context.hpp>
#include <goro/select.hpp>
#include <goro/sync/singleflight.hpp>

#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;

namespace {

namespace sf = goro::singleflight;

// Copying it throws while `armed` (call_chan copies an lvalue f into the
// leader goroutine's frame).
struct throwing_copy {
  bool armed = true;
  int value = 0;
  throwing_copy(bool a, int v) : armed(a), value(v) {}
  throwing_copy(const throwing_copy& o) : armed(o.armed), value(o.value) {
    if (armed) throw std::runtime_error("copy failed");
  }
  throwing_copy(throwing_copy&& o) noexcept = default;
  int operator()() const { return value; }
};

class SingleflightCallChanLaunchFailure : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(SingleflightCallChanLaunchFailure);

TEST_P(SingleflightCallChanLaunchFailure, KeyCanBeCalledAgain) {
  rt().run([]() -> goro::task<> {
    sf::group<std::string, int> g;
    throwing_copy bad(true, 1);
    EXPECT_THROW((void)g.call_chan("k", bad), std::runtime_error);

    // The key is free again: a new call leads and runs f. Bounded: on the
    // unfixed code it joins the dead flight and no result ever arrives.
    throwing_copy good(false, 7);
    goro::receiver<sf::result<int>> ch = g.call_chan("k", good);
    auto r = co_await goro::select(goro::recv(ch), goro::timeout(30s));
    EXPECT_EQ(r.index(), 0u) << "call_chan on the key never delivered (flight stuck)";
    if (r.index() != 0) co_return;  // (no ASSERT_* in a coroutine)
    auto& res = r.get<0>();
    EXPECT_TRUE(res.has_value());
    if (!res) co_return;
    EXPECT_EQ(res->value, 7);
    EXPECT_FALSE(res->err);

    // And call() on the key too.
    auto f = [] { return 9; };
    auto t = g.call("k", f);
    sf::result<int> v = co_await std::move(t);
    EXPECT_EQ(v.value, 9);
  });
}

// A call that joins the flight while its leader is being started (here:
// from inside the throwing copy, the window between registering the flight
// and the failed start) receives the launch's exception as the error.
struct joins_then_throws {
  sf::group<std::string, int>* g;
  goro::receiver<sf::result<int>>* dup;
  joins_then_throws(sf::group<std::string, int>* gr, goro::receiver<sf::result<int>>* d)
      : g(gr), dup(d) {}
  joins_then_throws(const joins_then_throws& o) : g(o.g), dup(o.dup) {
    *dup = g->call_chan("k", [] { return 1; });
    throw std::runtime_error("copy failed");
  }
  joins_then_throws(joins_then_throws&&) noexcept = default;
  int operator()() const { return 0; }
};

TEST_P(SingleflightCallChanLaunchFailure, DuplicateGetsTheLaunchError) {
  rt().run([]() -> goro::task<> {
    sf::group<std::string, int> g;
    goro::receiver<sf::result<int>> dup;
    joins_then_throws bad(&g, &dup);
    EXPECT_THROW((void)g.call_chan("k", bad), std::runtime_error);
    EXPECT_TRUE(static_cast<bool>(dup));
    auto r = co_await goro::select(goro::recv(dup), goro::timeout(30s));
    EXPECT_EQ(r.index(), 0u) << "the duplicate never got a result";
    if (r.index() != 0) co_return;
    auto& res = r.get<0>();
    EXPECT_TRUE(res.has_value());
    if (!res) co_return;
    EXPECT_TRUE(res->err);
    EXPECT_TRUE(res->shared);
    EXPECT_THROW(res->err.throw_if_error(), std::runtime_error);
  });
}

}  // namespace

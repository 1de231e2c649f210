// Regression: singleflight's leader joined the flight for its key and only
// then moved f (and, for call_chan, the key) into the coroutine that runs
// it: call() moved f into run_f's parameters after join(); call_chan's
// leader goroutine took the key, the flight and f by value, so moving them
// out of the goroutine's stored copies happened on the goroutine, after
// call_chan had registered the flight. If such a move threw, nobody ever
// finished the flight: the key stayed taken, call_chan's channel never
// received, and every later call for the key joined the dead flight and
// waited forever (call_chan's exception went to the uncaught handler).
// Now run_f takes f by reference and the leader goroutine takes its stored
// copies by reference: nothing is moved after join(), the leader runs f and
// finishes the flight.
//
// The waits are bounded by a deadline so the old behaviour shows as a
// failed assertion, not a ctest timeout.
#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>

#include <goro/select.hpp>
#include <goro/sync/singleflight.hpp>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {

namespace sf = goro::singleflight;

// f for call_chan: its first move (into the goroutine, inside call_chan)
// succeeds, any later one throws.
struct throws_after_first_move {
  int moves = 0;
  int value = 0;
  explicit throws_after_first_move(int v) : value(v) {}
  throws_after_first_move(throws_after_first_move&& o) : moves(o.moves + 1), value(o.value) {
    if (moves >= 2) throw std::runtime_error("move on the goroutine");
  }
  int operator()() const { return value; }
};

// A key whose moves throw (copies do not): call_chan copies the key into the
// goroutine, so only a move on the goroutine can hit this.
struct key_throws_on_move {
  int v = 0;
  explicit key_throws_on_move(int x) : v(x) {}
  key_throws_on_move(const key_throws_on_move&) = default;
  key_throws_on_move(key_throws_on_move&& o) : v(o.v) { throw std::runtime_error("key move"); }
  key_throws_on_move& operator=(const key_throws_on_move&) = default;
  bool operator==(const key_throws_on_move& o) const { return v == o.v; }
};
struct key_hash {
  std::size_t operator()(const key_throws_on_move& k) const { return std::hash<int>{}(k.v); }
};

// f for call: moving it throws while *armed (set after the task was made,
// so only a move inside the running call can hit it).
struct throws_when_armed {
  const bool* armed;
  int value;
  throws_when_armed(const bool* a, int v) : armed(a), value(v) {}
  throws_when_armed(const throws_when_armed&) = default;
  throws_when_armed(throws_when_armed&& o) : armed(o.armed), value(o.value) {
    if (*armed) throw std::runtime_error("move inside call");
  }
  int operator()() const { return value; }
};

// Receives from ch within 30s; the value, or -1 (and a failure) if nothing came.
template <class V>
goro::task<int> recv_bounded(goro::receiver<sf::result<V>> ch, const char* what) {
  auto r = co_await goro::select(goro::recv(ch), goro::timeout(30s));
  EXPECT_EQ(r.index(), 0u) << what << ": nothing arrived (flight never finished)";
  if (r.index() != 0) co_return -1;
  auto& res = r.template get<0>();
  EXPECT_TRUE(res.has_value());
  if (!res) co_return -1;
  EXPECT_FALSE(res->err) << what;
  co_return res->value;
}

class SingleflightMoveThrowsAfterJoin : public goro_test::UncaughtCountingTest {};
GORO_INSTANTIATE_WORKERS(SingleflightMoveThrowsAfterJoin);

TEST_P(SingleflightMoveThrowsAfterJoin, CallChanLeaderMovingFOnTheGoroutine) {
  rt().run([]() -> goro::task<> {
    sf::group<std::string, int> g;
    goro::receiver<sf::result<int>> ch = g.call_chan("k", throws_after_first_move(5));
    int v = co_await recv_bounded(ch, "call_chan");
    EXPECT_EQ(v, 5);
    // The key is free again: a new call leads and runs its own f.
    goro::receiver<sf::result<int>> again = g.call_chan("k", [] { return 6; });
    v = co_await recv_bounded(again, "call_chan after");
    EXPECT_EQ(v, 6);
  });
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  EXPECT_EQ(reported(), 0);
}

TEST_P(SingleflightMoveThrowsAfterJoin, CallChanLeaderMovingTheKeyOnTheGoroutine) {
  rt().run([]() -> goro::task<> {
    sf::group<key_throws_on_move, int, key_hash> g;
    const key_throws_on_move k(1);
    goro::receiver<sf::result<int>> ch = g.call_chan(k, [] { return 5; });
    int v = co_await recv_bounded(ch, "call_chan");
    EXPECT_EQ(v, 5);
    goro::receiver<sf::result<int>> again = g.call_chan(k, [] { return 6; });
    v = co_await recv_bounded(again, "call_chan after");
    EXPECT_EQ(v, 6);
  });
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  EXPECT_EQ(reported(), 0);
}

TEST_P(SingleflightMoveThrowsAfterJoin, CallLeaderMovingFAfterJoin) {
  rt().run([]() -> goro::task<> {
    sf::group<std::string, int> g;
    bool armed = false;
    throws_when_armed f(&armed, 5);
    auto t = g.call("k", f);  // f is copied into the task here, unarmed
    armed = true;
    int v = -1;
    try {
      sf::result<int> r = co_await std::move(t);
      v = r.value;
    } catch (const std::runtime_error& e) {
      ADD_FAILURE() << "call threw: " << e.what();
    }
    EXPECT_EQ(v, 5);
    // The key is free again (on the unfixed code it stays taken for good).
    goro::receiver<sf::result<int>> again = g.call_chan("k", [] { return 6; });
    v = co_await recv_bounded(again, "call_chan after call");
    EXPECT_EQ(v, 6);
  });
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  EXPECT_EQ(reported(), 0);
}

}  // namespace

// Unit tests: goro::singleflight::group — one behaviour each: values, the
// (value, error) form, coroutine f, duplicate suppression, exceptions,
// forget, call_chan, plain threads.
//
// "Duplicates are parked" is checked with the goroutine registry, never
// with a sleep.
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <goro/sync/singleflight.hpp>

#include "goro_test.hpp"

using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

namespace sf = goro::singleflight;

class Singleflight : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Singleflight);

// True once n goroutines of rt wait with `reason` (false after a generous
// limit: only matters when the test fails).
goro::task<bool> wait_waiting(const goro::runtime& rt, std::size_t n, std::string reason) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    std::size_t k = 0;
    for (const goro::goroutine_info& g : rt.goroutines())
      if (g.wait_reason != nullptr && reason == g.wait_reason) ++k;
    if (k >= n) co_return true;
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    co_await goro::yield();
  }
}

TEST_P(Singleflight, CallReturnsTheValueNotShared) {
  rt().run([&]() -> goro::task<> {
    sf::group<std::string, int> g;
    sf::result<int> r = co_await g.call("k", [] { return 42; });
    EXPECT_EQ(r.value, 42);
    EXPECT_FALSE(r.err);
    EXPECT_FALSE(r.shared);
  });
}

TEST_P(Singleflight, PairFormCarriesTheError) {
  rt().run([&]() -> goro::task<> {
    sf::group<int, std::string> g;
    const std::error_code doom = std::make_error_code(std::errc::io_error);
    auto f = [doom] { return std::pair<std::string, goro::error>("partial", doom); };
    sf::result<std::string> r = co_await g.call(1, f);
    EXPECT_EQ(r.value, "partial");
    EXPECT_EQ(r.err, doom);
  });
}

TEST_P(Singleflight, CoroutineF) {
  rt().run([&]() -> goro::task<> {
    sf::group<int, int> g;
    auto f = []() -> goro::task<int> {
      co_await goro::yield();
      co_return 7;
    };
    sf::result<int> r = co_await g.call(3, f);
    EXPECT_EQ(r.value, 7);
  });
}

TEST_P(Singleflight, DuplicatesParkAndShareOneExecution) {
  constexpr int n = 10;
  std::atomic<int> calls{0};
  rt().run([&]() -> goro::task<> {
    sf::group<std::string, std::string> g;
    auto gate = goro::make_chan<void>();
    auto results = goro::make_chan<sf::result<std::string>>(n);
    auto f = [&calls, gate]() -> goro::task<std::string> {
      calls.fetch_add(1);
      (void)co_await gate.recv();
      co_return std::string("bar");
    };
    goro::wait_group wg;
    for (int i = 0; i < n; ++i)
      wg.go([&g, f, results]() -> goro::task<> {
        sf::result<std::string> r = co_await g.call("key", f);
        (void)results.try_send(std::move(r));
      });
    // The leader waits on the gate; the n-1 duplicates park on the call.
    bool parked = co_await wait_waiting(rt(), n - 1, "singleflight");
    EXPECT_TRUE(parked);
    gate.close();
    co_await wg.wait();
    int shared = 0;
    for (int i = 0; i < n; ++i) {
      auto r = results.try_recv();
      EXPECT_TRUE(r);
      if (!r) break;
      EXPECT_EQ(r->value, "bar");
      shared += r->shared;
    }
    EXPECT_EQ(shared, n) << "the leader had duplicates, so it shares too";
  });
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(Singleflight, ExceptionPropagatesToEveryCaller) {
  constexpr int n = 5;
  std::atomic<int> caught{0};
  rt().run([&]() -> goro::task<> {
    sf::group<int, int> g;
    auto gate = goro::make_chan<void>();
    auto f = [gate]() -> goro::task<int> {
      (void)co_await gate.recv();
      throw std::runtime_error("nil pointer dereference");
    };
    goro::wait_group wg;
    for (int i = 0; i < n; ++i)
      wg.go([&g, &caught, f]() -> goro::task<> {
        try {
          (void)co_await g.call(0, f);
        } catch (const std::runtime_error& e) {
          if (std::string(e.what()) == "nil pointer dereference") caught.fetch_add(1);
        }
      });
    bool parked = co_await wait_waiting(rt(), n - 1, "singleflight");
    EXPECT_TRUE(parked);
    gate.close();
    co_await wg.wait();
    // The key is free again after the exception.
    sf::result<int> r = co_await g.call(0, [] { return 1; });
    EXPECT_EQ(r.value, 1);
  });
  EXPECT_EQ(caught.load(), n);
}

TEST_P(Singleflight, AfterReturnTheNextCallRunsFAgain) {
  int calls = 0;
  rt().run([&]() -> goro::task<> {
    sf::group<int, int> g;
    auto f = [&calls] { return ++calls; };
    sf::result<int> a = co_await g.call(1, f);
    sf::result<int> b = co_await g.call(1, f);
    EXPECT_EQ(a.value, 1);
    EXPECT_EQ(b.value, 2) << "singleflight does not cache";
  });
  EXPECT_EQ(calls, 2);
}

TEST_P(Singleflight, DifferentKeysDoNotWaitForEachOther) {
  rt().run([&]() -> goro::task<> {
    sf::group<int, int> g;
    auto gate = goro::make_chan<void>();
    auto slow = [gate]() -> goro::task<int> {
      (void)co_await gate.recv();
      co_return 1;
    };
    auto h = goro::spawn([&g, slow]() -> goro::task<int> {
      sf::result<int> r = co_await g.call(1, slow);
      co_return r.value;
    });
    sf::result<int> r2 = co_await g.call(2, [] { return 2; });
    EXPECT_EQ(r2.value, 2);
    EXPECT_FALSE(r2.shared);
    gate.close();
    int v1 = co_await std::move(h);
    EXPECT_EQ(v1, 1);
  });
}

TEST_P(Singleflight, ForgetLetsTheNextCallRunAnew) {
  std::atomic<int> calls{0};
  rt().run([&]() -> goro::task<> {
    sf::group<int, int> g;
    auto gate = goro::make_chan<void>();
    auto first = [gate, &calls]() -> goro::task<int> {
      calls.fetch_add(1);
      (void)co_await gate.recv();
      co_return 1;
    };
    auto h = goro::spawn([&g, first]() -> goro::task<sf::result<int>> {
      sf::result<int> r = co_await g.call(9, first);
      co_return r;
    });
    bool parked = co_await wait_waiting(rt(), 1, "chan receive");
    EXPECT_TRUE(parked);
    g.forget(9);
    sf::result<int> r2 = co_await g.call(9, [&calls] {
      calls.fetch_add(1);
      return 2;
    });
    EXPECT_EQ(r2.value, 2) << "after forget, the call in flight is not joined";
    EXPECT_FALSE(r2.shared);
    gate.close();
    sf::result<int> r1 = co_await std::move(h);
    EXPECT_EQ(r1.value, 1);
  });
  EXPECT_EQ(calls.load(), 2);
}

TEST_P(Singleflight, CallChanDeliversTheResult) {
  rt().run([&]() -> goro::task<> {
    sf::group<std::string, int> g;
    goro::receiver<sf::result<int>> ch = g.call_chan("k", [] { return 5; });
    auto r = co_await ch.recv();
    EXPECT_TRUE(r.has_value());
    EXPECT_EQ(r.value_or(sf::result<int>{}).value, 5);
  });
}

TEST_P(Singleflight, CallChanJoinsACallInFlight) {
  std::atomic<int> calls{0};
  rt().run([&]() -> goro::task<> {
    sf::group<int, int> g;
    auto gate = goro::make_chan<void>();
    auto f = [gate, &calls]() -> goro::task<int> {
      calls.fetch_add(1);
      (void)co_await gate.recv();
      co_return 3;
    };
    auto c1 = g.call_chan(1, f);
    auto c2 = g.call_chan(1, f);
    gate.close();
    auto r1 = co_await c1.recv();
    auto r2 = co_await c2.recv();
    EXPECT_TRUE(r1 && r2);
    if (r1 && r2) {
      EXPECT_EQ(r1->value, 3);
      EXPECT_EQ(r2->value, 3);
      EXPECT_TRUE(r1->shared);
      EXPECT_TRUE(r2->shared);
    }
  });
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(Singleflight, CallChanDeliversAnExceptionAsTheError) {
  rt().run([&]() -> goro::task<> {
    sf::group<int, int> g;
    auto ch = g.call_chan(1, []() -> int { throw std::logic_error("in call_chan"); });
    auto r = co_await ch.recv();
    EXPECT_TRUE(r.has_value());
    if (!r) co_return;
    EXPECT_TRUE(r->err.exception() != nullptr);
    EXPECT_EQ(r->err.message(), "in call_chan");
    EXPECT_THROW(r->err.throw_if_error(), std::logic_error);
  });
}

// Regression (a CI TSan run of errgroup_snippets): call_chan's leader
// goroutine finished, locking the group's mutex and erasing from its map,
// after the caller had received a later result and destroyed the group.
// The leader now shares the group's state; on a heap-allocated group the
// old code is a use after free (ASan) here.
TEST_P(Singleflight, GroupDestroyedWhileACallChanLeaderRuns) {
  rt().run([&]() -> goro::task<> {
    auto gate = goro::make_chan<void>();
    auto f = [gate]() -> goro::task<int> {
      (void)co_await gate.recv();
      co_return 7;
    };
    goro::receiver<sf::result<int>> c1, c2;
    {
      auto g = std::make_unique<sf::group<int, int>>();
      c1 = g->call_chan(1, f);
      c2 = g->call_chan(1, f);  // joins: delivered by the same leader
    }  // the group is gone; its leader still waits on gate
    gate.close();
    auto r1 = co_await c1.recv();
    auto r2 = co_await c2.recv();
    EXPECT_TRUE(r1 && r2);
    if (r1 && r2) {
      EXPECT_EQ(r1->value, 7);
      EXPECT_EQ(r2->value, 7);
      EXPECT_TRUE(r1->shared);
    }
  });
}

TEST_P(Singleflight, PlainThreadsAndGoroutinesShareACall) {
  std::atomic<int> calls{0};
  sf::group<int, int> g;
  auto gate = goro::make_chan<void>();
  auto f = [gate, &calls]() -> goro::task<int> {
    calls.fetch_add(1);
    (void)co_await gate.recv();
    co_return 11;
  };
  rt().run([&]() -> goro::task<> {
    auto h = goro::spawn([&g, f]() -> goro::task<int> {
      sf::result<int> r = co_await g.call(1, f);
      co_return r.value;
    });
    bool parked = co_await wait_waiting(rt(), 1, "chan receive");
    EXPECT_TRUE(parked);
    // A plain thread joins the goroutine's call, then the gate opens.
    std::atomic<int> thread_value{0};
    std::thread t([&] {
      sf::result<int> r = g.blocking_call(1, [] { return -1; });
      thread_value = r.value;
    });
    // A goroutine duplicate must see 11; the thread may join the call or
    // come after it.
    auto h2 = goro::spawn([&g]() -> goro::task<int> {
      sf::result<int> r = co_await g.call(1, [] { return -2; });
      co_return r.value;
    });
    bool dup_parked = co_await wait_waiting(rt(), 1, "singleflight");
    EXPECT_TRUE(dup_parked);
    gate.close();
    int v = co_await std::move(h);
    int v2 = co_await std::move(h2);
    co_await goro::spawn_blocking([&] { t.join(); });
    EXPECT_EQ(v, 11);
    EXPECT_EQ(v2, 11);
    // The thread either joined the call (11) or came after it (-1).
    EXPECT_TRUE(thread_value == 11 || thread_value == -1) << thread_value;
  });
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(Singleflight, BlockingCallLeadsAndShares) {
  sf::group<std::string, int> g;
  sf::result<int> r = g.blocking_call("x", [] { return 4; });
  EXPECT_EQ(r.value, 4);
  EXPECT_FALSE(r.shared);
  EXPECT_THROW((void)g.blocking_call("x", []() -> int { throw std::runtime_error("t"); }),
               std::runtime_error);
}

TEST_P(Singleflight, ManyKeysManyCallers) {
  const int callers = scaled(2000);
  constexpr int keys = 16;
  std::atomic<int> calls{0};
  std::atomic<int> wrong{0};
  rt().run([&]() -> goro::task<> {
    sf::group<int, int> g;
    goro::wait_group wg;
    for (int i = 0; i < callers; ++i)
      wg.go([&g, &calls, &wrong, i]() -> goro::task<> {
        const int k = i % keys;
        auto f = [&calls, k]() -> goro::task<int> {
          calls.fetch_add(1);
          co_await goro::yield();
          co_return k * 10;
        };
        sf::result<int> r = co_await g.call(k, f);
        if (r.value != k * 10) wrong.fetch_add(1);
      });
    co_await wg.wait();
  });
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GE(calls.load(), keys);
  EXPECT_LE(calls.load(), callers);
}

}  // namespace

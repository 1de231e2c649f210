// Ported from golang.org/x/sync/singleflight/singleflight_test.go (x/sync 0.1.0).
//
// Each TEST_P is named after the Go test it ports and runs under 1, 2 and 8
// workers. g.Do is co_await g.call, g.DoChan is g.call_chan, g.Forget is
// g.forget; Go's interface{} values become typed values. Where Go sleeps to
// let goroutines enter Do, the port waits until the goroutine registry shows
// them parked on the call (so the outcome is exact, not probable).
//
// Not ported here:
//  * TestGoexitDo — C++ has no runtime.Goexit.
// Ported with goro's semantics rather than Go's:
//  * TestPanicDoChan, TestPanicDoSharedByDoChan — in Go a panic in a
//    DoChan call crashes the process (a channel cannot carry a panic; the
//    tests re-run the binary and expect the crash). goro delivers the
//    exception on the channel as the result's error instead; the ports check
//    that, and that the DoChan callback of a shared call never runs.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

#include <goro/sync/singleflight.hpp>

#include "goro_test.hpp"

namespace {

namespace sf = goro::singleflight;

class Singleflight : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Singleflight);

// True once n goroutines of rt wait with `reason`.
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

TEST_P(Singleflight, TestDo) {
  rt().run([&]() -> goro::task<> {
    sf::group<std::string, std::string> g;
    auto r = co_await g.call("key", [] { return std::string("bar"); });
    EXPECT_EQ(r.value, "bar") << "Do = " << r.value << "; want bar";
    EXPECT_FALSE(r.err) << "Do error = " << r.err.message();
  });
}

TEST_P(Singleflight, TestDoErr) {
  rt().run([&]() -> goro::task<> {
    sf::group<std::string, std::string> g;
    const goro::error some_err = goro::error::of(std::runtime_error("Some error"));
    auto fn = [some_err] { return std::pair<std::string, goro::error>({}, some_err); };
    auto r = co_await g.call("key", fn);
    EXPECT_EQ(r.err, some_err) << "Do error = " << r.err.message() << "; want someErr";
    EXPECT_EQ(r.value, "") << "unexpected non-nil value " << r.value;
  });
}

TEST_P(Singleflight, TestDoDupSuppress) {
  const int n = 10;
  std::atomic<int> calls{0};
  rt().run([&]() -> goro::task<> {
    sf::group<std::string, std::string> g;
    goro::wait_group wg1, wg2;
    auto c = goro::make_chan<std::string>(1);
    auto fn = [&calls, &wg1, c]() -> goro::task<std::string> {
      if (calls.fetch_add(1) + 1 == 1) {
        // First invocation.
        wg1.done();
      }
      auto v = co_await c.recv();
      std::string s = v.value_or("");
      (void)c.try_send(std::string(s));  // pump; make available for any future calls
      co_return s;
    };

    wg1.add(1);
    for (int i = 0; i < n; i++) {
      wg1.add(1);
      wg2.add(1);
      goro::go([&g, &wg1, &wg2, fn]() -> goro::task<> {
        wg1.done();
        auto r = co_await g.call("key", fn);
        EXPECT_FALSE(r.err) << "Do error: " << r.err.message();
        EXPECT_EQ(r.value, "bar") << "Do = " << r.value << "; want bar";
        wg2.done();
      });
    }
    co_await wg1.wait();
    // At least one goroutine is in fn now and all of them have at least
    // reached the line before the Do. (Go sleeps 10ms inside fn "to let more
    // goroutines enter Do"; the port waits until they all have.)
    bool entered = co_await wait_waiting(rt(), n - 1, "singleflight");
    EXPECT_TRUE(entered);
    (void)co_await c.send(std::string("bar"));
    co_await wg2.wait();
  });
  int got = calls.load();
  EXPECT_TRUE(got > 0 && got < n) << "number of calls = " << got << "; want over 0 and less than " << n;
  EXPECT_EQ(got, 1) << "every duplicate entered Do while the first call ran";
}

// Test that singleflight behaves correctly after Forget called.
// See https://github.com/golang/go/issues/31420
TEST_P(Singleflight, TestForget) {
  rt().run([&]() -> goro::task<> {
    sf::group<std::string, int> g;
    auto first_started = goro::make_chan<void>();
    auto unblock_first = goro::make_chan<void>();
    auto first_finished = goro::make_chan<void>();
    // Go's goroutine may outlive the test body (g stays alive while it is
    // referenced); here g dies with this frame, so wait for the first call
    // to return (it still locks g after closing first_finished). Without
    // the wait, TSan caught that lock on the freed group (w8, fresh CI run).
    goro::wait_group first_done;

    first_done.go([&g, first_started, unblock_first, first_finished]() -> goro::task<> {
      auto fn = [first_started, unblock_first, first_finished]() -> goro::task<int> {
        first_started.close();
        (void)co_await unblock_first.recv();
        first_finished.close();
        co_return 0;
      };
      (void)co_await g.call("key", fn);
    });
    (void)co_await first_started.recv();
    g.forget("key");

    auto unblock_second = goro::make_chan<void>();
    auto second_result = g.call_chan("key", [unblock_second]() -> goro::task<int> {
      (void)co_await unblock_second.recv();
      co_return 2;
    });

    unblock_first.close();
    (void)co_await first_finished.recv();

    auto third_result = g.call_chan("key", []() -> int { return 3; });

    unblock_second.close();
    (void)co_await second_result.recv();
    auto r = co_await third_result.recv();
    EXPECT_TRUE(r.has_value());
    if (r) {
      EXPECT_EQ(r->value, 2) << "We should receive result produced by second call, expected: 2";
    }
    co_await first_done.wait();
  });
}

TEST_P(Singleflight, TestDoChan) {
  rt().run([&]() -> goro::task<> {
    sf::group<std::string, std::string> g;
    auto ch = g.call_chan("key", [] { return std::string("bar"); });
    auto res = co_await ch.recv();
    EXPECT_TRUE(res.has_value());
    if (!res) co_return;
    EXPECT_EQ(res->value, "bar") << "Do = " << res->value << "; want bar";
    EXPECT_FALSE(res->err) << "Do error = " << res->err.message();
  });
}

// Test singleflight behaves correctly after Do panic.
// See https://github.com/golang/go/issues/41133
TEST_P(Singleflight, TestPanicDo) {
  const int n = 5;
  std::atomic<int> panic_count{0};
  rt().run([&]() -> goro::task<> {
    sf::group<std::string, int> g;
    auto fn = []() -> int { throw std::runtime_error("invalid memory address or nil pointer dereference"); };
    auto done = goro::make_chan<void>();
    std::atomic<int> waited{n};
    for (int i = 0; i < n; i++) {
      goro::go([&g, &panic_count, &waited, fn, done]() -> goro::task<> {
        try {
          (void)co_await g.call("key", fn);
        } catch (const std::runtime_error&) {
          panic_count.fetch_add(1);
        }
        if (waited.fetch_sub(1) - 1 == 0) done.close();
      });
    }
    auto r = co_await done.recv_for(std::chrono::seconds(10));
    EXPECT_EQ(r.status, goro::recv_status::closed) << "Do hangs";
  });
  EXPECT_EQ(panic_count.load(), n) << "Expect " << n << " panic";
}

TEST_P(Singleflight, TestPanicDoChan) {
  rt().run([&]() -> goro::task<> {
    sf::group<std::string, int> g;
    auto ch = g.call_chan("", []() -> int { throw std::runtime_error("Panicking in DoChan"); });
    auto r = co_await ch.recv();
    EXPECT_TRUE(r.has_value()) << "DoChan unexpectedly returned nothing";
    if (!r) co_return;
    EXPECT_EQ(r->err.message(), "Panicking in DoChan");
    EXPECT_THROW(r->err.throw_if_error(), std::runtime_error);
  });
}

TEST_P(Singleflight, TestPanicDoSharedByDoChan) {
  rt().run([&]() -> goro::task<> {
    auto blocked = goro::make_chan<void>();
    auto unblock = goro::make_chan<void>();
    sf::group<std::string, int> g;
    auto do_returned = goro::make_chan<std::string>(1);
    goro::go([&g, blocked, unblock, do_returned]() -> goro::task<> {
      auto fn = [blocked, unblock]() -> goro::task<int> {
        blocked.close();
        (void)co_await unblock.recv();
        throw std::runtime_error("Panicking in Do");
      };
      try {
        (void)co_await g.call("", fn);
        (void)do_returned.try_send(std::string("returned"));
      } catch (const std::runtime_error& e) {
        (void)do_returned.try_send(std::string(e.what()));
      }
    });

    (void)co_await blocked.recv();
    std::atomic<bool> executed{false};
    auto ch = g.call_chan("", [&executed]() -> int {
      executed = true;  // DoChan unexpectedly executed callback
      return 0;
    });
    unblock.close();
    auto r = co_await ch.recv();
    EXPECT_FALSE(executed.load()) << "DoChan unexpectedly executed callback";
    EXPECT_TRUE(r.has_value());
    if (r) {
      EXPECT_EQ(r->err.message(), "Panicking in Do");
      EXPECT_TRUE(r->shared);
    }
    auto what = co_await do_returned.recv();
    EXPECT_EQ(what.value_or(""), "Panicking in Do") << "the Do caller gets the exception too";
  });
}

}  // namespace

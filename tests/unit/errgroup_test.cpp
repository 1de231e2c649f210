// Unit tests: goro::errgroup — one behaviour each: the forms f may take,
// first error, exceptions, context cancellation, the limit, try_go,
// plain-thread forms, reuse, 100k goroutines.
//
// "It blocks" is checked with wait_parked (the goroutine registry says the
// goroutine is parked), never with a sleep.
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include <goro/sync/errgroup.hpp>

#include "goro_test.hpp"
#include "ported/ported_util.hpp"

using goro_ported::wait_parked;
using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class Errgroup : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Errgroup);

const std::error_code kDoom = std::make_error_code(std::errc::io_error);
const std::error_code kOther = std::make_error_code(std::errc::no_space_on_device);

TEST_P(Errgroup, NoErrorsWaitReturnsNil) {
  std::atomic<int> ran{0};
  goro::error err = rt().run([&]() -> goro::task<goro::error> {
    goro::errgroup g;
    for (int i = 0; i < 10; ++i)
      g.go([&ran]() -> goro::error {
        ran.fetch_add(1);
        return {};
      });
    goro::error e = co_await g.wait();
    co_return e;
  });
  EXPECT_FALSE(err);
  EXPECT_EQ(ran.load(), 10);
}

TEST_P(Errgroup, EveryFormOfF) {
  std::atomic<int> ran{0};
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    g.go([&ran] { ran.fetch_add(1); });                         // void
    g.go([&ran] { ran.fetch_add(1); return std::error_code(); });  // error_code
    g.go([&ran] { ran.fetch_add(1); return goro::error(); });      // error
    g.go([&ran]() -> goro::task<> {                             // task<void>
      co_await goro::yield();
      ran.fetch_add(1);
    });
    g.go([&ran]() -> goro::task<std::error_code> {              // task<error_code>
      co_await goro::yield();
      ran.fetch_add(1);
      co_return std::error_code();
    });
    g.go([&ran]() -> goro::task<goro::error> {                  // task<error>
      co_await goro::yield();
      ran.fetch_add(1);
      co_return goro::error();
    });
    goro::error e = co_await g.wait();
    EXPECT_FALSE(e);
  });
  EXPECT_EQ(ran.load(), 6);
}

TEST_P(Errgroup, ErrorCodeEnumAndExceptionPtrAreErrors) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g1;
    g1.go([] { return goro::canceled; });
    goro::error e1 = co_await g1.wait();
    EXPECT_EQ(e1, goro::canceled);

    // A returned exception_ptr is an error value, not a throw: wait returns it.
    goro::errgroup g2;
    auto ep = std::make_exception_ptr(std::runtime_error("returned"));
    g2.go([ep] { return ep; });
    goro::error e2 = co_await g2.wait();
    EXPECT_EQ(e2.exception(), ep);
  });
}

TEST_P(Errgroup, FirstErrorIsKeptAcrossWaits) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    g.go([] { return kDoom; });
    goro::error e1 = co_await g.wait();
    EXPECT_EQ(e1, kDoom);
    g.go([] { return kOther; });
    g.go([] { return std::error_code(); });
    goro::error e2 = co_await g.wait();
    EXPECT_EQ(e2, kDoom) << "the first error stays the group's error";
  });
}

TEST_P(Errgroup, OnlyTheFirstOfConcurrentErrorsIsReturned) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    auto start = goro::make_chan<void>();
    for (int i = 0; i < 20; ++i)
      g.go([start, i]() -> goro::task<std::error_code> {
        (void)co_await start.recv();
        co_return std::error_code(100 + i, std::generic_category());
      });
    start.close();
    goro::error e = co_await g.wait();
    EXPECT_TRUE(e);
    EXPECT_GE(e.code().value(), 100);
    EXPECT_LT(e.code().value(), 120);
  });
}

TEST_P(Errgroup, ExceptionIsRethrownFromWait) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    g.go([]() -> goro::task<> {
      co_await goro::yield();
      throw std::runtime_error("boom");
    });
    g.go([] { return std::error_code(); });
    std::string what;
    try {
      goro::error e = co_await g.wait();
      ADD_FAILURE() << "wait() returned " << e.message();
    } catch (const std::runtime_error& x) {
      what = x.what();
    }
    EXPECT_EQ(what, "boom");
    // Every later wait rethrows it too.
    bool again = false;
    try {
      (void)co_await g.wait();
    } catch (const std::runtime_error&) {
      again = true;
    }
    EXPECT_TRUE(again);
  });
}

TEST_P(Errgroup, ExceptionWinsOverAnEarlierError) {
  rt().run([&]() -> goro::task<> {
    auto [g, ctx] = goro::errgroup::with_context(goro::background());
    g.go([] { return kDoom; });
    goro::error e = co_await g.wait();
    EXPECT_EQ(e, kDoom);
    g.go([]() -> goro::error { throw std::logic_error("late"); });
    bool thrown = false;
    try {
      (void)co_await g.wait();
    } catch (const std::logic_error&) {
      thrown = true;
    }
    EXPECT_TRUE(thrown) << "an exception is never swallowed by an earlier error";
    EXPECT_EQ(goro::cause(ctx), kDoom) << "the context's cause is the first failure";
  });
}

TEST_P(Errgroup, ExceptionCancelsTheContextWithItAsCause) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g(goro::background());
    goro::context ctx = g.context();
    auto thrower_may_go = goro::make_chan<void>();
    auto observed = goro::make_chan<std::string>(1);
    g.go([ctx, observed]() -> goro::task<std::error_code> {
      (void)co_await ctx.done().recv();  // until cancelled by the thrower
      goro::error c = goro::cause(ctx);
      (void)observed.try_send(c.message());
      co_return ctx.err();
    });
    g.go([thrower_may_go]() -> goro::task<> {
      (void)co_await thrower_may_go.recv();
      throw std::runtime_error("thrown first");
    });
    EXPECT_FALSE(ctx.err());
    thrower_may_go.close();
    auto msg = co_await observed.recv();
    EXPECT_EQ(msg.value_or(""), "thrown first");
    bool thrown = false;
    try {
      (void)co_await g.wait();
    } catch (const std::runtime_error&) {
      thrown = true;
    }
    EXPECT_TRUE(thrown);
  });
}

TEST_P(Errgroup, ContextCancelledOnFirstErrorWithItAsCause) {
  rt().run([&]() -> goro::task<> {
    auto eg = goro::errgroup::with_context(goro::background());
    goro::errgroup& g = eg.group;
    goro::context ctx = eg.ctx;
    auto go_fail = goro::make_chan<void>();
    // Three goroutines that run until the context is cancelled.
    for (int i = 0; i < 3; ++i)
      g.go([ctx]() -> goro::task<std::error_code> {
        (void)co_await ctx.done().recv();
        co_return ctx.err();
      });
    g.go([go_fail]() -> goro::task<std::error_code> {
      (void)co_await go_fail.recv();
      co_return kDoom;
    });
    EXPECT_FALSE(ctx.err()) << "not cancelled before any error";
    go_fail.close();
    goro::error e = co_await g.wait();
    EXPECT_EQ(e, kDoom) << "wait returns the first error, not the waiters' canceled";
    EXPECT_EQ(ctx.err(), goro::canceled);
    EXPECT_EQ(goro::cause(ctx), kDoom);
  });
}

TEST_P(Errgroup, ContextCancelledWhenWaitReturnsWithoutError) {
  rt().run([&]() -> goro::task<> {
    auto eg = goro::errgroup::with_context(goro::background());
    goro::context ctx = eg.ctx;
    eg.group.go([ctx] { return ctx.err(); });
    goro::error e = co_await eg.group.wait();
    EXPECT_FALSE(e) << "ctx was not cancelled while f ran";
    EXPECT_EQ(ctx.err(), goro::canceled);
    EXPECT_EQ(goro::cause(ctx), goro::canceled);
  });
}

TEST_P(Errgroup, ParentCancellationReachesTheGroupContext) {
  rt().run([&]() -> goro::task<> {
    auto [parent, cancel] = goro::with_cancel(goro::background());
    goro::errgroup g(parent);
    goro::context ctx = g.context();
    g.go([ctx]() -> goro::task<std::error_code> {
      (void)co_await ctx.done().recv();
      co_return ctx.err();
    });
    cancel();
    goro::error e = co_await g.wait();
    EXPECT_EQ(e, goro::canceled);
  });
}

TEST_P(Errgroup, DestroyingTheGroupCancelsItsContext) {
  goro::context ctx;
  {
    goro::errgroup g(goro::background());
    ctx = g.context();
    EXPECT_FALSE(ctx.err());
  }
  EXPECT_EQ(ctx.err(), goro::canceled);
}

TEST_P(Errgroup, ZeroGroupContextIsBackground) {
  goro::errgroup g;
  EXPECT_EQ(g.context(), goro::background());
}

TEST_P(Errgroup, LimitBoundsActiveGoroutines) {
  constexpr int kLimit = 3;
  const int n = scaled(2000);
  std::atomic<int> active{0}, max_active{0}, ran{0};
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    g.set_limit(kLimit);
    for (int i = 0; i < n; ++i)
      g.go([&]() -> goro::task<> {
        int a = active.fetch_add(1) + 1;
        int m = max_active.load();
        while (a > m && !max_active.compare_exchange_weak(m, a)) {
        }
        co_await goro::yield();
        co_await goro::yield();
        active.fetch_sub(1);
        ran.fetch_add(1);
      });
    goro::error e = co_await g.wait();
    EXPECT_FALSE(e);
  });
  EXPECT_EQ(ran.load(), n);
  EXPECT_LE(max_active.load(), kLimit);
  EXPECT_GE(max_active.load(), 1);
}

TEST_P(Errgroup, ReadyParksWhileTheLimitIsReached) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    g.set_limit(1);
    auto release = goro::make_chan<void>();
    std::atomic<bool> second_ran{false};
    g.go([release]() -> goro::task<> { (void)co_await release.recv(); });
    // Another goroutine's ready() must park until the first f returns.
    auto h = goro::spawn([&g, &second_ran]() -> goro::task<> {
      co_await g.ready();
      g.go([&second_ran] { second_ran.store(true); });
    });
    bool parked = co_await wait_parked(rt(), h.id());
    EXPECT_TRUE(parked) << "ready() did not park with the limit reached";
    EXPECT_FALSE(second_ran.load());
    EXPECT_EQ(g.active(), 1);
    release.close();
    co_await std::move(h);
    goro::error e = co_await g.wait();
    EXPECT_FALSE(e);
    EXPECT_TRUE(second_ran.load());
  });
}

TEST_P(Errgroup, ReadyReturnsAtOnceWithRoomOrWithoutLimit) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    co_await g.ready();  // no limit
    g.set_limit(2);
    co_await g.ready();
    auto release = goro::make_chan<void>();
    g.go([release]() -> goro::task<> { (void)co_await release.recv(); });
    co_await g.ready();  // one slot left
    EXPECT_EQ(g.active(), 1);
    EXPECT_TRUE(g.try_go([] {})) << "ready() must not keep the slot";
    release.close();
    (void)co_await g.wait();
  });
}

TEST_P(Errgroup, GoQueuesAtTheLimitAndStartsInOrder) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    g.set_limit(1);
    auto release = goro::make_chan<void>();
    auto order = goro::make_chan<int>(10);
    g.go([release]() -> goro::task<> { (void)co_await release.recv(); });
    for (int i = 0; i < 5; ++i) g.go([order, i] { (void)order.try_send(int(i)); });
    EXPECT_EQ(g.active(), 6) << "queued f count as active for wait()";
    EXPECT_EQ(order.len(), 0u) << "a queued f started while the limit was reached";
    release.close();
    goro::error e = co_await g.wait();
    EXPECT_FALSE(e);
    EXPECT_EQ(order.len(), 5u);
    for (int i = 0; i < 5; ++i) {
      auto v = order.try_recv();
      EXPECT_EQ(v.value.value_or(-1), i) << "queued f start FIFO";
    }
  });
}

TEST_P(Errgroup, ConcurrentProducersNeverExceedTheLimit) {
  constexpr int kLimit = 4;
  const int per = scaled(2000);
  std::atomic<int> active{0}, max_active{0}, ran{0};
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    g.set_limit(kLimit);
    goro::wait_group producers;
    for (int p = 0; p < 4; ++p)
      producers.go([&]() -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          if (i % 2 == 0) co_await g.ready();
          g.go([&]() -> goro::task<> {
            int a = active.fetch_add(1) + 1;
            int m = max_active.load();
            while (a > m && !max_active.compare_exchange_weak(m, a)) {
            }
            co_await goro::yield();
            active.fetch_sub(1);
            ran.fetch_add(1);
          });
        }
      });
    co_await producers.wait();
    goro::error e = co_await g.wait();
    EXPECT_FALSE(e);
  });
  EXPECT_EQ(ran.load(), 4 * per);
  EXPECT_LE(max_active.load(), kLimit);
}

TEST_P(Errgroup, TryGoFailsAtTheLimitAndSucceedsAfterWait) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    EXPECT_TRUE(g.try_go([] {})) << "no limit: try_go always starts f";
    (void)co_await g.wait();
    g.set_limit(2);
    auto release = goro::make_chan<void>();
    auto blocker = [release]() -> goro::task<> { (void)co_await release.recv(); };
    EXPECT_TRUE(g.try_go(blocker));
    EXPECT_TRUE(g.try_go(blocker));
    std::atomic<bool> third_ran{false};
    EXPECT_FALSE(g.try_go([&third_ran] { third_ran.store(true); }));
    release.close();
    (void)co_await g.wait();
    EXPECT_FALSE(third_ran.load()) << "a refused f must not run";
    EXPECT_TRUE(g.try_go(blocker));
    (void)co_await g.wait();
    g.set_limit(0);
    EXPECT_FALSE(g.try_go(blocker));
    g.set_limit(-1);  // no limit again
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(g.try_go(blocker));
    (void)co_await g.wait();
  });
}

TEST_P(Errgroup, FIsDestroyedBeforeTheGoroutineCountsAsFinished) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> weak = token;
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    g.go([t = std::move(token)]() -> goro::task<> {
      co_await goro::yield();
      EXPECT_EQ(*t, 1);
    });
    (void)co_await g.wait();
    EXPECT_TRUE(weak.expired()) << "f's captures outlived wait()";
  });
}

TEST_P(Errgroup, HundredThousandGoroutines) {
  const int n = scaled(100000);
  std::atomic<int> ran{0};
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    for (int i = 0; i < n; ++i)
      g.go([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
    goro::error e = co_await g.wait();
    EXPECT_FALSE(e);
  });
  EXPECT_EQ(ran.load(), n);
}

TEST_P(Errgroup, HundredThousandGoroutinesLimited) {
  const int n = scaled(100000);
  std::atomic<int> ran{0};
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    g.set_limit(8);
    for (int i = 0; i < n; ++i)
      g.go([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
    goro::error e = co_await g.wait();
    EXPECT_FALSE(e);
  });
  EXPECT_EQ(ran.load(), n);
}

TEST_P(Errgroup, PlainThreadForms) {
  // From a plain thread the goroutines start on the default runtime.
  std::atomic<int> ran{0};
  goro::errgroup g;
  g.set_limit(2);
  for (int i = 0; i < 50; ++i) g.blocking_go([&ran] { ran.fetch_add(1); });
  g.blocking_go([] { return kDoom; });
  goro::error e = g.blocking_wait();
  EXPECT_EQ(e, kDoom);
  EXPECT_EQ(ran.load(), 50);
}

TEST_P(Errgroup, ThreadsAndGoroutinesShareAGroup) {
  std::atomic<int> ran{0};
  goro::errgroup g;
  g.set_limit(4);
  std::thread t([&] {
    for (int i = 0; i < 100; ++i) g.blocking_go([&ran] { ran.fetch_add(1); });
  });
  rt().run([&]() -> goro::task<> {
    for (int i = 0; i < 100; ++i) g.go([&ran] { ran.fetch_add(1); });
    co_return;
  });
  t.join();
  goro::error e = g.blocking_wait();
  EXPECT_FALSE(e);
  EXPECT_EQ(ran.load(), 200);
}

}  // namespace

// Unit tests: goro::context (Go's context package), goro::error, and the
// context-aware waits (sleep_for(ctx), ch.recv(ctx), ch.send(ctx, v)).
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {

// A key per value type, plus two of the same type (they must not collide).
inline constexpr goro::context_key<std::string> kName{"name"};
inline constexpr goro::context_key<int> kCount{"count"};
inline constexpr goro::context_key<std::string> kOtherName{"other_name"};
inline constexpr goro::context_key<std::unique_ptr<int>> kOwned{"owned"};

// Keys are typed objects: a value of the wrong type, or something that is
// not a key (Go: a nil or non-comparable key panics), does not compile.
template <class K, class V>
concept can_store = requires(const goro::context& c, const K& k, V v) { goro::with_value(c, k, std::move(v)); };
static_assert(can_store<goro::context_key<int>, int>);
static_assert(can_store<goro::context_key<std::string>, const char*>);
static_assert(!can_store<goro::context_key<int>, std::string>);
static_assert(!can_store<std::string, std::string>);
static_assert(!std::is_copy_constructible_v<goro::context_key<int>>);  // identity = address
static_assert(!std::is_copy_constructible_v<goro::cancel_func>);
static_assert(std::is_nothrow_move_constructible_v<goro::cancel_func>);
static_assert(std::is_copy_constructible_v<goro::stop_func>);

// done() is closed (a receive completes with "closed").
bool is_done(const goro::context& c) {
  return c.done().try_recv().status == goro::recv_status::closed;
}

class Context : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Context);

// ---- roots -------------------------------------------------------------------------

TEST(ContextRoots, BackgroundAndTodo) {
  for (const goro::context& c : {goro::background(), goro::todo(), goro::context()}) {
    EXPECT_FALSE(c.done());  // nil: never ready in a select
    EXPECT_FALSE(c.err());
    EXPECT_FALSE(c.deadline());
    EXPECT_FALSE(goro::cause(c));
    EXPECT_EQ(c.value(kName), nullptr);
    EXPECT_EQ(goro::detail::context_child_count(c), 0u);
  }
  EXPECT_EQ(goro::context(), goro::background());  // no nil context: default is background
  EXPECT_FALSE(goro::todo() == goro::background());
  EXPECT_EQ(goro::to_string(goro::background()), "context.Background");
  EXPECT_EQ(goro::to_string(goro::todo()), "context.TODO");
}

// ---- with_cancel ---------------------------------------------------------------------

TEST_P(Context, WithCancelCancels) {
  rt().run([]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    EXPECT_TRUE(ctx.done());
    EXPECT_FALSE(is_done(ctx));
    EXPECT_FALSE(ctx.err());
    EXPECT_FALSE(goro::cause(ctx));
    EXPECT_FALSE(ctx.deadline());
    cancel();
    EXPECT_TRUE(is_done(ctx));
    EXPECT_EQ(ctx.err(), goro::canceled);
    EXPECT_EQ(ctx.err(), std::errc::operation_canceled);
    EXPECT_EQ(ctx.err().message(), "context canceled");
    EXPECT_EQ(goro::cause(ctx), goro::canceled);
    auto v = co_await ctx.done().recv();  // closed: completes at once
    EXPECT_FALSE(v.has_value());
  });
}

TEST_P(Context, CancelTwiceAndFromCopies) {
  rt().run([]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_cancel_cause(goro::background());
    goro::context copy = ctx;
    cancel(goro::error::of(std::runtime_error("first")));
    cancel(goro::error::of(std::runtime_error("second")));  // no effect
    cancel();
    EXPECT_EQ(copy.err(), goro::canceled);
    EXPECT_EQ(goro::cause(copy).message(), "first");
    co_return;
  });
}

TEST_P(Context, CancelFuncCancelsWhenDestroyed) {
  rt().run([]() -> goro::task<> {
    goro::context outlives;
    {
      auto [ctx, cancel] = goro::with_cancel(goro::background());
      outlives = ctx;
      EXPECT_FALSE(outlives.err());
    }  // cancel destroyed here: "forgot to call cancel" cannot happen
    EXPECT_EQ(outlives.err(), goro::canceled);

    // A moved-from cancel_func cancels nothing; the new owner does.
    auto r = goro::with_cancel(goro::background());
    goro::cancel_func owner = std::move(r.cancel);
    EXPECT_FALSE(r.cancel);
    { goro::cancel_func gone = std::move(r.cancel); }  // empty: no effect
    EXPECT_FALSE(r.ctx.err());
    // Move-assigning over a cancel_func cancels the context it held.
    auto r2 = goro::with_cancel(goro::background());
    owner = std::move(r2.cancel);
    EXPECT_EQ(r.ctx.err(), goro::canceled);
    EXPECT_FALSE(r2.ctx.err());
    owner.reset();
    EXPECT_EQ(r2.ctx.err(), goro::canceled);
    co_return;
  });
}

TEST_P(Context, CancelFromAnotherThreadWakesWaiters) {
  auto r = goro::with_cancel(goro::background());
  goro::context ctx = r.ctx;
  // Goroutines and a plain thread wait on done(); a plain thread cancels.
  auto waiters = rt().spawn([](goro::context c) -> goro::task<int> {
    goro::wait_group wg;
    std::atomic<int> woke{0};
    for (int i = 0; i < 16; ++i) {
      wg.go([](goro::context c, std::atomic<int>* w) -> goro::task<> {
        (void)co_await c.done().recv();
        if (c.err() == goro::canceled) w->fetch_add(1);
      }, c, &woke);
    }
    co_await wg.wait();
    co_return woke.load();
  }, ctx);
  std::thread blocked([ctx] {
    auto v = ctx.done().blocking_recv();
    EXPECT_FALSE(v.has_value());
    EXPECT_EQ(ctx.err(), goro::canceled);
  });
  std::thread canceller([c = std::move(r.cancel)] { c(); });
  canceller.join();
  blocked.join();
  EXPECT_EQ(std::move(waiters).join(), 16);
}

TEST_P(Context, ChildOfCancelledParentIsBornCancelled) {
  rt().run([]() -> goro::task<> {
    auto [parent, cancel] = goro::with_cancel_cause(goro::background());
    cancel(std::make_error_code(std::errc::io_error));
    auto [child, child_cancel] = goro::with_cancel(parent);
    EXPECT_TRUE(is_done(child));
    EXPECT_EQ(child.err(), goro::canceled);
    EXPECT_EQ(goro::cause(child), std::make_error_code(std::errc::io_error));
    auto [timed, timed_cancel] = goro::with_timeout(parent, 1h);
    EXPECT_EQ(timed.err(), goro::canceled);
    EXPECT_EQ(goro::detail::context_child_count(parent), 0u);
    co_return;
  });
  EXPECT_EQ(rt().armed_timers(), 0u);
}

// ---- propagation and detachment -------------------------------------------------------------

TEST_P(Context, ParentCancelPropagatesToDeepTree) {
  goro::runtime& r = rt();
  r.run([&r]() -> goro::task<> {
    auto [root, cancel] = goro::with_cancel_cause(goro::background());
    std::vector<goro::cancelable_context<>> nodes;
    const int depth = goro_test::scaled(20000);
    goro::context at = root;
    const auto t0 = goro::clock::now() + 1h;
    for (int i = 0; i < depth; ++i) {  // a deep chain, with side branches and values
      // Deadlines strictly decrease down the chain, so each one arms a timer.
      nodes.push_back(i % 3 == 0 ? goro::with_deadline(at, t0 - std::chrono::microseconds(i))
                                 : goro::with_cancel(at));
      at = nodes.back().ctx;
      if (i % 7 == 0) at = goro::with_value(at, kCount, i);
      if (i % 5 == 0) nodes.push_back(goro::with_cancel(at));  // a leaf
    }
    EXPECT_EQ(r.armed_timers(), static_cast<std::size_t>((depth + 2) / 3));
    cancel(std::make_error_code(std::errc::connection_aborted));
    for (const auto& n : nodes) {
      EXPECT_TRUE(is_done(n.ctx));
      EXPECT_EQ(n.ctx.err(), goro::canceled);
      EXPECT_EQ(goro::cause(n.ctx), std::make_error_code(std::errc::connection_aborted));
      EXPECT_EQ(goro::detail::context_child_count(n.ctx), 0u);
    }
    EXPECT_EQ(goro::detail::context_child_count(root), 0u);
    EXPECT_EQ(r.armed_timers(), 0u);  // every descendant's timer was disarmed
    co_return;
  });
}

TEST_P(Context, CancelledChildrenDetachFromALongLivedParent) {
  goro::runtime& r = rt();
  r.run([&r]() -> goro::task<> {
    auto [parent, cancel] = goro::with_cancel(goro::background());
    goro::context via_value = goro::with_value(parent, kCount, 1);  // registers with parent
    for (int i = 0; i < goro_test::scaled(20000); ++i) {
      {
        auto [c, cc] = goro::with_cancel(via_value);
        auto [t, tc] = goro::with_timeout(c, 1h);
        EXPECT_EQ(goro::detail::context_child_count(parent), 1u);
        EXPECT_EQ(goro::detail::context_child_count(c), 1u);
        if (i % 2) cc();  // explicitly, or by the destructors at the end of the scope
      }
      EXPECT_EQ(goro::detail::context_child_count(parent), 0u);
      auto stop = goro::after_func(parent, [] {});
      EXPECT_EQ(goro::detail::context_child_count(parent), 1u);
      EXPECT_TRUE(stop());
      EXPECT_EQ(goro::detail::context_child_count(parent), 0u);
    }
    EXPECT_EQ(r.armed_timers(), 0u);
    // Live children are counted; each leaves when cancelled.
    std::vector<goro::cancelable_context<>> live;
    for (int i = 0; i < 10; ++i) live.push_back(goro::with_cancel(parent));
    EXPECT_EQ(goro::detail::context_child_count(parent), 10u);
    live[3].cancel();
    live.erase(live.begin() + 7);  // destroyed: cancels
    EXPECT_EQ(goro::detail::context_child_count(parent), 8u);
    cancel();  // takes the rest
    EXPECT_EQ(goro::detail::context_child_count(parent), 0u);
    for (const auto& l : live) EXPECT_EQ(l.ctx.err(), goro::canceled);
    co_return;
  });
}

TEST_P(Context, ChildCancelDoesNotCancelParent) {
  rt().run([]() -> goro::task<> {
    auto [parent, cancel] = goro::with_cancel(goro::background());
    auto [child, child_cancel] = goro::with_cancel(parent);
    auto [sibling, sibling_cancel] = goro::with_cancel(parent);
    child_cancel();
    EXPECT_EQ(child.err(), goro::canceled);
    EXPECT_FALSE(parent.err());
    EXPECT_FALSE(sibling.err());
    EXPECT_FALSE(is_done(parent));
    co_return;
  });
}

// ---- deadlines -------------------------------------------------------------------------

TEST_P(Context, DeadlineInThePastIsAlreadyExceeded) {
  goro::runtime& r = rt();
  r.run([&r]() -> goro::task<> {
    const auto past = goro::clock::now() - 1s;
    auto [a, ca] = goro::with_deadline(goro::background(), past);
    EXPECT_TRUE(is_done(a));
    EXPECT_EQ(a.err(), goro::deadline_exceeded);
    EXPECT_EQ(a.err(), std::errc::timed_out);  // Go: DeadlineExceeded.Timeout()
    EXPECT_EQ(a.err().message(), "context deadline exceeded");
    EXPECT_EQ(goro::cause(a), goro::deadline_exceeded);
    EXPECT_TRUE(a.deadline());
    EXPECT_EQ(*a.deadline(), past);
    auto [b, cb] = goro::with_timeout(goro::background(), 0ns);
    EXPECT_EQ(b.err(), goro::deadline_exceeded);
    auto [c, cc] = goro::with_timeout(goro::background(), -5s);
    EXPECT_EQ(c.err(), goro::deadline_exceeded);
    ca();  // cancelling afterwards changes nothing
    EXPECT_EQ(a.err(), goro::deadline_exceeded);
    EXPECT_EQ(r.armed_timers(), 0u);
    co_return;
  });
}

// On a virtual clock: the deadline cannot pass before the first check (with
// a real 2 ms timeout a loaded machine fired it first: a CI run under ASan saw
// armed_timers() == 0 there), and the wait takes no real time.
TEST_P(Context, TimeoutFires) {
  const auto owned = goro_test::runtime_with(workers(), /*virtual_time=*/true);
  goro::runtime& r = *owned;
  r.run([&r]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_timeout(goro::background(), 2ms);
    auto [child, child_cancel] = goro::with_cancel(ctx);
    EXPECT_EQ(r.armed_timers(), 1u);
    (void)co_await child.done().recv();  // the parent's deadline cancels the child too
    EXPECT_EQ(ctx.err(), goro::deadline_exceeded);
    EXPECT_EQ(child.err(), goro::deadline_exceeded);
    EXPECT_EQ(goro::cause(child), goro::deadline_exceeded);
    EXPECT_EQ(r.armed_timers(), 0u);
    EXPECT_EQ(goro::detail::context_child_count(ctx), 0u);
  });
  goro_test::expect_no_leaks(r);
}

TEST_P(Context, ChildDeadlineIsTheEarlierOne) {
  goro::runtime& r = rt();
  r.run([&r]() -> goro::task<> {
    auto [parent, pc] = goro::with_timeout(goro::background(), 1h);
    const auto pd = *parent.deadline();
    auto [later, lc] = goro::with_timeout(parent, 2h);  // parent's comes first: no own timer
    EXPECT_EQ(*later.deadline(), pd);
    EXPECT_EQ(r.armed_timers(), 1u);
    auto [sooner, sc] = goro::with_timeout(parent, 1min);
    EXPECT_LT(*sooner.deadline(), pd);
    EXPECT_EQ(r.armed_timers(), 2u);
    // Values and plain cancels inherit the deadline; without_cancel drops it.
    auto v = goro::with_value(sooner, kCount, 3);
    EXPECT_EQ(v.deadline(), sooner.deadline());
    auto [vc, vcc] = goro::with_cancel(v);
    EXPECT_EQ(vc.deadline(), sooner.deadline());
    EXPECT_FALSE(goro::without_cancel(vc).deadline());
    sc();
    EXPECT_EQ(r.armed_timers(), 1u);  // disarmed on early cancel
    pc();
    EXPECT_EQ(r.armed_timers(), 0u);
    co_return;
  });
}

TEST_P(Context, TimersDisarmedWhenCancelledEarly) {
  goro::runtime& r = rt();
  r.run([&r]() -> goro::task<> {
    const int n = goro_test::scaled(1000);
    {
      std::vector<goro::cancelable_context<>> timed;
      for (int i = 0; i < n; ++i) timed.push_back(goro::with_timeout(goro::background(), 1h + std::chrono::seconds(i)));
      EXPECT_EQ(r.armed_timers(), static_cast<std::size_t>(n));
      for (int i = 0; i < n; i += 2) timed[i].cancel();
      EXPECT_EQ(r.armed_timers(), static_cast<std::size_t>(n / 2));
    }  // the rest are cancelled by their destructors
    EXPECT_EQ(r.armed_timers(), 0u);
    // A parent's cancel disarms its descendants' timers.
    auto [parent, cancel] = goro::with_cancel(goro::background());
    std::vector<goro::cancelable_context<>> kids;
    for (int i = 0; i < n; ++i) kids.push_back(goro::with_timeout(parent, 1h));
    EXPECT_EQ(r.armed_timers(), static_cast<std::size_t>(n));
    cancel();
    EXPECT_EQ(r.armed_timers(), 0u);
    for (const auto& k : kids) EXPECT_EQ(k.ctx.err(), goro::canceled);
    co_return;
  });
}

TEST_P(Context, TimeoutCause) {
  rt().run([]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_timeout_cause(goro::background(), 1ms,
                                                  std::make_error_code(std::errc::timed_out));
    (void)co_await ctx.done().recv();
    EXPECT_EQ(ctx.err(), goro::deadline_exceeded);
    EXPECT_EQ(goro::cause(ctx), std::make_error_code(std::errc::timed_out));
    // Cancelled before the deadline: the cause is canceled, not the deadline's.
    auto [early, early_cancel] = goro::with_deadline_cause(
        goro::background(), goro::clock::now() + 1h, std::make_error_code(std::errc::timed_out));
    early_cancel();
    EXPECT_EQ(goro::cause(early), goro::canceled);
    // Already past: the given cause at once.
    auto [past, past_cancel] = goro::with_deadline_cause(
        goro::background(), goro::clock::now() - 1s, goro::error::of(std::runtime_error("late")));
    EXPECT_EQ(past.err(), goro::deadline_exceeded);
    EXPECT_EQ(goro::cause(past).message(), "late");
  });
}

// ---- values ------------------------------------------------------------------------------------

TEST_P(Context, ValuesThroughAChain) {
  rt().run([]() -> goro::task<> {
    goro::context c0 = goro::background();
    goro::context c1 = goro::with_value(c0, kName, "alice");
    auto [c2, cancel2] = goro::with_cancel(c1);
    goro::context c3 = goro::with_value(c2, kCount, 7);
    auto [c4, cancel4] = goro::with_timeout(c3, 1h);
    goro::context c5 = goro::with_value(c4, kOtherName, "bob");  // same type, other key
    EXPECT_NE(c5.value(kName), nullptr);
    EXPECT_EQ(*c5.value(kName), "alice");
    EXPECT_EQ(*c5.value(kCount), 7);
    EXPECT_EQ(*c5.value(kOtherName), "bob");
    EXPECT_EQ(c3.value(kOtherName), nullptr);  // not visible above where it was set
    EXPECT_EQ(c0.value(kName), nullptr);
    // Shadowing: the nearest wins; the outer one is unchanged.
    goro::context c6 = goro::with_value(c5, kName, std::string("carol"));
    EXPECT_EQ(*c6.value(kName), "carol");
    EXPECT_EQ(*c5.value(kName), "alice");
    // Cancellation does not touch values.
    cancel2();
    EXPECT_EQ(c6.err(), goro::canceled);
    EXPECT_EQ(*c6.value(kCount), 7);
    // Move-only values are stored in the node and read by const pointer.
    goro::context c7 = goro::with_value(c6, kOwned, std::make_unique<int>(42));
    EXPECT_NE(c7.value(kOwned), nullptr);
    EXPECT_EQ(**c7.value(kOwned), 42);
    co_return;
  });
}

// Values are readable from many threads at once while the tree is cancelled.
TEST_P(Context, ValuesSharedAcrossGoroutines) {
  rt().run([]() -> goro::task<> {
    auto [root, cancel] = goro::with_cancel(goro::background());
    goro::context ctx = goro::with_value(root, kName, "shared");
    goro::wait_group wg;
    std::atomic<int> seen{0};
    for (int i = 0; i < 32; ++i) {
      wg.go([](goro::context c, std::atomic<int>* s) {
        if (c.value(kName) && *c.value(kName) == "shared") s->fetch_add(1);
      }, ctx, &seen);
    }
    cancel();
    co_await wg.wait();
    EXPECT_EQ(seen.load(), 32);
  });
}

// ---- without_cancel ------------------------------------------------------------------------------

TEST_P(Context, WithoutCancelKeepsValuesNotCancellation) {
  rt().run([]() -> goro::task<> {
    auto [parent, cancel] = goro::with_timeout(goro::with_value(goro::background(), kName, "v"), 1h);
    goro::context wc = goro::without_cancel(parent);
    EXPECT_FALSE(wc.done());  // nil, like Background's
    EXPECT_FALSE(wc.deadline());
    EXPECT_EQ(*wc.value(kName), "v");
    auto [child, child_cancel] = goro::with_cancel(wc);
    cancel();
    EXPECT_EQ(parent.err(), goro::canceled);
    EXPECT_FALSE(wc.err());
    EXPECT_FALSE(goro::cause(wc));
    EXPECT_FALSE(child.err());  // not reached through without_cancel
    EXPECT_EQ(*child.value(kName), "v");
    EXPECT_TRUE(goro::to_string(wc).ends_with(".WithoutCancel"));
    child_cancel();
    EXPECT_EQ(child.err(), goro::canceled);
    co_return;
  });
}

// ---- cause -----------------------------------------------------------------------------------------

TEST_P(Context, CauseRules) {
  rt().run([]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_cancel_cause(goro::background());
    goro::context value_child = goro::with_value(ctx, kCount, 1);
    auto [child, child_cancel] = goro::with_cancel(value_child);
    EXPECT_FALSE(goro::cause(ctx));  // nil until cancelled
    const goro::error why = goro::error::of(std::runtime_error("db down"));
    cancel(why);
    EXPECT_EQ(ctx.err(), goro::canceled);  // err() stays canceled
    EXPECT_EQ(goro::cause(ctx), why);
    EXPECT_EQ(goro::cause(value_child), why);  // through a value node
    EXPECT_EQ(goro::cause(child), why);        // the parent's cause propagates
    EXPECT_EQ(goro::cause(child).message(), "db down");
    EXPECT_THROW(goro::cause(child).throw_if_error(), std::runtime_error);
    // A nil cause means canceled.
    auto [c2, cancel2] = goro::with_cancel_cause(goro::background());
    cancel2(goro::error{});
    EXPECT_EQ(goro::cause(c2), goro::canceled);
    // The child's own cause when it was cancelled first.
    auto [p3, cancel3] = goro::with_cancel_cause(goro::background());
    auto [k3, kcancel3] = goro::with_cancel_cause(p3);
    kcancel3(std::make_error_code(std::errc::io_error));
    cancel3(std::make_error_code(std::errc::broken_pipe));
    EXPECT_EQ(goro::cause(k3), std::make_error_code(std::errc::io_error));
    EXPECT_EQ(goro::cause(p3), std::make_error_code(std::errc::broken_pipe));
    co_return;
  });
}

TEST(ContextError, ErrorValue) {
  goro::error nil;
  EXPECT_FALSE(nil);
  EXPECT_EQ(nil.message(), "");
  EXPECT_NO_THROW(nil.throw_if_error());
  goro::error c = goro::canceled;
  EXPECT_TRUE(c);
  EXPECT_EQ(c, goro::canceled);
  EXPECT_FALSE(c == goro::deadline_exceeded);
  EXPECT_EQ(c, std::errc::operation_canceled);
  EXPECT_EQ(c.message(), "context canceled");
  EXPECT_THROW(c.throw_if_error(), std::system_error);
  goro::error d = goro::deadline_exceeded;
  EXPECT_EQ(d, std::errc::timed_out);
  EXPECT_EQ(d.code().category().name(), std::string("goro"));
  goro::error ex = goro::error::of(std::logic_error("boom"));
  goro::error same = ex;
  EXPECT_EQ(ex, same);
  EXPECT_FALSE(ex == goro::error::of(std::logic_error("boom")));  // another exception object
  EXPECT_FALSE(ex == goro::canceled);
  EXPECT_EQ(ex.message(), "boom");
  EXPECT_THROW(ex.throw_if_error(), std::logic_error);
  goro::error code = std::make_error_code(std::errc::io_error);
  EXPECT_EQ(code, std::errc::io_error);
  EXPECT_EQ(code, std::make_error_code(std::errc::io_error));
}

// ---- after_func -------------------------------------------------------------------------------------

TEST_P(Context, AfterFuncRunsOnceTheContextIsDone) {
  rt().run([]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto ran = goro::make_chan<std::uint64_t>(2);
    goro::context c = ctx;  // (Clang 14 cannot capture structured bindings)
    auto stop = goro::after_func(ctx, [ran, c] {
      EXPECT_EQ(c.err(), goro::canceled);  // f sees the context done
      (void)ran.try_send(goro::this_goroutine::id());
    });
    // A coroutine works too.
    auto stop2 = goro::after_func(ctx, [ran]() -> goro::task<> {
      co_await goro::yield();
      (void)co_await ran.send(goro::this_goroutine::id());
    });
    EXPECT_EQ(ran.len(), 0u);
    cancel();
    auto a = co_await ran.recv();
    auto b = co_await ran.recv();
    EXPECT_NE(*a, goro::this_goroutine::id());  // each in its own goroutine
    EXPECT_NE(*b, goro::this_goroutine::id());
    EXPECT_NE(*a, *b);
    EXPECT_FALSE(stop());  // already started
    EXPECT_FALSE(stop2());
  });
}

TEST_P(Context, AfterFuncOnADoneContextRunsAtOnce) {
  rt().run([]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_timeout(goro::background(), -1s);
    auto ran = goro::make_chan<void>(1);
    auto stop = goro::after_func(ctx, [ran] { (void)ran.try_send({}); });
    (void)co_await ran.recv();
    EXPECT_FALSE(stop());
  });
}

TEST_P(Context, AfterFuncStoppedNeverRuns) {
  std::atomic<int> runs{0};
  rt().run([&runs]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto stop = goro::after_func(ctx, [&runs] { runs.fetch_add(1); });
    auto other = goro::after_func(ctx, [&runs] { runs.fetch_add(100); });
    goro::stop_func copy = stop;
    EXPECT_TRUE(copy());   // this call stopped it
    EXPECT_FALSE(stop());  // already stopped
    EXPECT_EQ(goro::detail::context_child_count(ctx), 1u);  // `other` is still registered
    cancel();
    co_return;
  });
  // Only `other` ran: the runtime's quiescence covers its goroutine.
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  EXPECT_EQ(runs.load(), 100);
}

TEST_P(Context, AfterFuncOnANeverCancelledContext) {
  std::atomic<int> runs{0};
  rt().run([&runs]() -> goro::task<> {
    for (const goro::context& c :
         {goro::background(), goro::with_value(goro::todo(), kCount, 1), goro::without_cancel(goro::background())}) {
      auto stop = goro::after_func(c, [&runs] { runs.fetch_add(1); });
      EXPECT_TRUE(stop());
      EXPECT_FALSE(stop());
    }
    auto dropped = goro::after_func(goro::background(), [&runs] { runs.fetch_add(1); });
    co_return;
  });
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  EXPECT_EQ(runs.load(), 0);
}

TEST_P(Context, AfterFuncHandleDroppedStillRuns) {
  rt().run([]() -> goro::task<> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto ran = goro::make_chan<void>(1);
    (void)goro::after_func(ctx, [ran] { (void)ran.try_send({}); });  // Go: stop func ignored
    cancel();
    (void)co_await ran.recv();
  });
}

// ---- done() in select, and the context-aware waits -------------------------------------------

TEST_P(Context, DoneIsSelectable) {
  rt().run([]() -> goro::task<> {
    auto jobs = goro::make_chan<int>();
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    goro::go([](goro::cancel_func c) { c(); }, std::move(cancel));
    auto r = co_await goro::select(goro::recv(jobs), goro::recv(ctx.done()));
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(ctx.err(), goro::canceled);
    // Background's nil done() is never ready.
    auto d = co_await goro::select(goro::recv(goro::background().done()), goro::default_case);
    EXPECT_EQ(d.index(), 1u);
  });
}

TEST_P(Context, SleepForContext) {
  goro::runtime& r = rt();
  r.run([&r]() -> goro::task<> {
    // A full sleep returns {}.
    EXPECT_FALSE(co_await goro::sleep_for(goro::background(), 1ms));
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    EXPECT_FALSE(co_await goro::sleep_for(ctx, 0ns));
    // Cut short by a cancel from another goroutine.
    goro::go([](goro::cancel_func c) { c(); }, std::move(cancel));
    EXPECT_EQ(co_await goro::sleep_for(ctx, 1h), goro::canceled);
    // Already done: at once, even for a zero sleep.
    EXPECT_EQ(co_await goro::sleep_until(ctx, goro::clock::now() - 1s), goro::canceled);
    // Cut short by the context's deadline.
    auto [timed, tc] = goro::with_timeout(goro::background(), 1ms);
    EXPECT_EQ(co_await goro::sleep_for(timed, 1h), goro::deadline_exceeded);
    EXPECT_EQ(r.armed_timers(), 0u);  // the 1h sleep's timer is gone
  });
}

TEST_P(Context, BlockingSleepForContext) {
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  EXPECT_FALSE(goro::blocking_sleep_for(ctx, 1ms));
  rt().go([](goro::cancel_func c) { c(); }, std::move(cancel));
  EXPECT_EQ(goro::blocking_sleep_for(ctx, 1h), goro::canceled);
  EXPECT_EQ(goro::blocking_sleep_until(ctx, goro::clock::now() + 1h), goro::canceled);
}

TEST_P(Context, ChannelRecvAndSendWithContext) {
  rt().run([]() -> goro::task<> {
    auto ch = goro::make_chan<int>(1);
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    EXPECT_EQ(co_await ch.send(ctx, 1), goro::send_status::ok);
    auto v = co_await ch.recv(ctx);
    EXPECT_EQ(v.status, goro::recv_status::ok);
    EXPECT_EQ(*v, 1);
    EXPECT_EQ(co_await ch.send(ctx, 2), goro::send_status::ok);  // fills the buffer
    // Blocked operations end when the context is cancelled from elsewhere.
    goro::go([](goro::cancel_func c) -> goro::task<> {
      co_await goro::yield();
      c();
    }, std::move(cancel));
    EXPECT_EQ(co_await ch.send(ctx, 3), goro::send_status::canceled);
    auto empty = goro::make_chan<int>();
    auto r = co_await empty.recv(ctx);
    EXPECT_EQ(r.status, goro::recv_status::canceled);
    EXPECT_FALSE(r.value);
    // Closed wins over a live context; a nil context (background) never cancels.
    auto closed = goro::make_chan<int>();
    closed.close();
    EXPECT_EQ((co_await closed.recv(goro::background())).status, goro::recv_status::closed);
    EXPECT_EQ(co_await closed.send(goro::background(), 1), goro::send_status::closed);
    // Directional views and signal channels have the forms too.
    goro::receiver<int> rx = ch;
    auto got = co_await rx.recv(goro::background());
    EXPECT_EQ(*got, 2);
    auto sig = goro::make_chan<void>(1);
    goro::sender<void> tx = sig;
    EXPECT_EQ(co_await tx.send(goro::background()), goro::send_status::ok);
  });
}

TEST_P(Context, BlockingChannelFormsWithContext) {
  auto ch = goro::make_chan<int>();
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  goro::context c = ctx;
  auto h = rt().spawn([](goro::sender<int> s) -> goro::task<> { (void)co_await s.send(5); }, ch);
  auto got = ch.blocking_recv(c);
  EXPECT_EQ(got.status, goro::recv_status::ok);
  EXPECT_EQ(*got, 5);
  std::move(h).join();
  rt().go([](goro::cancel_func cf) { cf(); }, std::move(cancel));
  EXPECT_EQ(ch.blocking_recv(c).status, goro::recv_status::canceled);
  EXPECT_EQ(ch.blocking_send(c, 1), goro::send_status::canceled);
}

// ---- to_string ----------------------------------------------------------------------------------

TEST_P(Context, ToString) {
  rt().run([]() -> goro::task<> {
    auto [c1, cancel1] = goro::with_cancel(goro::background());
    EXPECT_EQ(goro::to_string(c1), "context.Background.WithCancel");
    goro::context v = goro::with_value(c1, kName, "x");
    EXPECT_EQ(goro::to_string(v), "context.Background.WithCancel.WithValue(name, x)");
    goro::context n = goro::with_value(goro::todo(), kCount, 5);
    EXPECT_EQ(goro::to_string(n), "context.TODO.WithValue(count, 5)");
    goro::context o = goro::with_value(goro::todo(), kOwned, nullptr);
    EXPECT_EQ(goro::to_string(o), "context.TODO.WithValue(owned, <not Stringer>)");
    auto [t, tc] = goro::with_timeout(v, 1h);
    EXPECT_EQ(goro::to_string(t).rfind("context.Background.WithCancel.WithValue(name, x).WithDeadline(", 0), 0u);
    co_return;
  });
}

}  // namespace

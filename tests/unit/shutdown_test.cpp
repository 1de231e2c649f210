// Unit tests: what happens to goroutines that are still alive when their
// runtime is destroyed (reported, their frames destroyed, nothing leaked, a
// join_handle that outlives the runtime stays safe), and exceptions that
// nobody observes (the uncaught-exception handler, with the spawn location).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "goro_test.hpp"
#include "scheduler_testing.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;

namespace {

// Counts its own destruction (moved-from objects do not count).
struct destroy_counter {
  std::atomic<int>* n;
  explicit destroy_counter(std::atomic<int>* c) : n(c) {}
  destroy_counter(destroy_counter&& o) noexcept : n(std::exchange(o.n, nullptr)) {}
  destroy_counter(const destroy_counter&) = delete;
  ~destroy_counter() {
    if (n) n->fetch_add(1);
  }
};

// What ~runtime reported, keyed by goroutine id.
struct shutdown_report {
  int calls = 0;
  std::vector<goro::goroutine_info> alive;
  std::string reason_of(std::uint64_t id) const {
    for (const auto& g : alive)
      if (g.id == id) return g.wait_reason ? g.wait_reason : "runnable";
    return "<not reported>";
  }
  std::set<std::uint64_t> ids() const {
    std::set<std::uint64_t> s;
    for (const auto& g : alive) s.insert(g.id);
    return s;
  }
};

goro::runtime_options options_reporting_to(shutdown_report& r, unsigned workers) {
  goro::runtime_options o;
  o.workers = workers;
  o.on_shutdown_alive = [&r](const std::vector<goro::goroutine_info>& alive) {
    ++r.calls;
    r.alive = alive;
  };
  return o;
}

class Shutdown : public ::testing::TestWithParam<unsigned> {};
GORO_INSTANTIATE_WORKERS(Shutdown);

TEST_P(Shutdown, ParkedGoroutinesAreReportedAndDestroyed) {
  shutdown_report report;
  std::atomic<int> destroyed{0};
  std::atomic<std::uint64_t> on_wg{0}, joiner{0}, never{0}, sleeper{0};
  goro::wait_group never_released;  // outlives the runtime; released afterwards
  never_released.add(1);
  goro::wait_group parked;
  {
    goro::runtime rt(options_reporting_to(report, GetParam()));
    parked.add(4);
    // 1. parked on a wait_group
    rt.go([&, guard = destroy_counter(&destroyed)]() -> goro::task<> {
      on_wg = goro::this_goroutine::id();
      parked.done();
      co_await never_released.wait();
      ADD_FAILURE() << "wait returned";
    });
    // 2. parked on the join of 3., which never finishes
    rt.go([&, guard = destroy_counter(&destroyed)]() -> goro::task<> {
      joiner = goro::this_goroutine::id();
      auto h = goro::spawn([&, guard = destroy_counter(&destroyed)]() -> goro::task<int> {
        never = goro::this_goroutine::id();
        parked.done();
        co_await never_released.wait();
        co_return 1;
      });
      parked.done();
      int v = co_await std::move(h);
      ADD_FAILURE() << "join returned " << v;
    });
    // 4. parked in a sleep
    rt.go([&, guard = destroy_counter(&destroyed)]() -> goro::task<> {
      sleeper = goro::this_goroutine::id();
      parked.done();
      co_await goro::sleep_for(1h);
      ADD_FAILURE() << "a 1h sleep returned";
    });
    parked.blocking_wait();
    EXPECT_EQ(rt.live_goroutines(), 4u);
  }
  EXPECT_EQ(report.calls, 1);
  EXPECT_EQ(report.alive.size(), 4u);
  EXPECT_EQ(report.ids(), (std::set<std::uint64_t>{on_wg, joiner, never, sleeper}));
  EXPECT_EQ(report.reason_of(on_wg), "wait_group.wait");
  EXPECT_EQ(report.reason_of(joiner), "join");
  EXPECT_EQ(report.reason_of(never), "wait_group.wait");
  EXPECT_EQ(report.reason_of(sleeper), "sleep");
  EXPECT_EQ(destroyed.load(), 4) << "a goroutine frame was not destroyed";
  // The destroyed waiters left nothing behind in the wait_group: releasing it
  // now must not touch their frames (ASan would report a use after free).
  never_released.done();
  EXPECT_EQ(never_released.count(), 0);
}

TEST_P(Shutdown, RunnableGoroutinesAreDestroyedToo) {
  // Goroutines that never got to run (1 worker busy until shutdown) or that
  // keep yielding are destroyed as well; nothing is leaked.
  shutdown_report report;
  std::atomic<int> destroyed{0};
  std::atomic<bool> stop{false};
  constexpr int n = 100;
  {
    goro::runtime rt(options_reporting_to(report, GetParam()));
    goro::wait_group yielding;
    yielding.add(1);
    rt.go([&, guard = destroy_counter(&destroyed)]() -> goro::task<> {
      yielding.done();
      while (!stop.load()) co_await goro::yield();
    });
    yielding.blocking_wait();
    for (int i = 0; i < n; ++i)
      rt.go([&, guard = destroy_counter(&destroyed)]() -> goro::task<> {
        while (!stop.load()) co_await goro::yield();
      });
  }
  EXPECT_EQ(report.calls, 1);
  EXPECT_EQ(report.alive.size(), static_cast<std::size_t>(n + 1));
  EXPECT_EQ(destroyed.load(), n + 1);
}

TEST_P(Shutdown, NoReportWhenNothingIsAlive) {
  shutdown_report report;
  {
    goro::runtime rt(options_reporting_to(report, GetParam()));
    EXPECT_EQ(rt.run([]() -> goro::task<int> { co_return 1; }), 1);
    ASSERT_TRUE(rt.wait_no_goroutines(30s));
  }
  EXPECT_EQ(report.calls, 0);
}

TEST_P(Shutdown, JoinHandleOutlivesRuntime) {
  shutdown_report report;
  std::atomic<int> destroyed{0};
  goro::wait_group never_released;
  never_released.add(1);
  goro::join_handle<int> on_wg, in_sleep;
  std::uint64_t on_wg_id = 0, in_sleep_id = 0;
  {
    goro::runtime rt(options_reporting_to(report, GetParam()));
    goro::wait_group parked;
    parked.add(2);
    on_wg = rt.spawn([&, guard = destroy_counter(&destroyed)]() -> goro::task<int> {
      parked.done();
      co_await never_released.wait();
      co_return 1;
    });
    in_sleep = rt.spawn([&, guard = destroy_counter(&destroyed)]() -> goro::task<int> {
      parked.done();
      co_await goro::sleep_for(1h);
      co_return 2;
    });
    on_wg_id = on_wg.id();
    in_sleep_id = in_sleep.id();
    parked.blocking_wait();
  }
  EXPECT_EQ(report.ids(), (std::set<std::uint64_t>{on_wg_id, in_sleep_id}));
  // The handles still own the frames: nothing was destroyed yet.
  EXPECT_EQ(destroyed.load(), 0);
  // A plain thread holds them past the runtime: join throws, dropping is safe
  // (the sleeping frame's timer must not touch the destroyed timer heaps).
  std::thread holder([&, a = std::move(on_wg), b = std::move(in_sleep)]() mutable {
    EXPECT_TRUE(a.done());
    EXPECT_THROW(std::move(a).join(), std::runtime_error);
    a = {};  // destroys the frame
    EXPECT_EQ(destroyed.load(), 1);
    b = {};  // destroyed without a join
    EXPECT_EQ(destroyed.load(), 2);
  });
  holder.join();
  EXPECT_EQ(destroyed.load(), 2);
  never_released.done();  // the destroyed waiter is no longer queued
  EXPECT_EQ(never_released.count(), 0);
}

// Regression (review): a goroutine started by wg.go() called wg.done() when
// the runtime's teardown destroyed it, but the frame that owned wg may have
// been destroyed first (frames go in registry order), so done() wrote to
// freed memory (ASan: heap-use-after-free). Such a goroutine no longer
// counts itself done at teardown.
TEST_P(Shutdown, CountedGoroutinesDoNotTouchTheGroupOfADestroyedFrame) {
  shutdown_report report;
  std::atomic<int> destroyed{0};
  constexpr int kParents = 4, kChildren = 3;
  auto never = goro::make_chan<void>();
  goro::wait_group parked;
  parked.add(kParents * kChildren);
  {
    goro::runtime rt(options_reporting_to(report, GetParam()));
    // The parents are started by a goroutine, so they sit in a worker's
    // registry shard before their children (on one worker: always), and
    // the teardown destroys a parent, and its group, first.
    rt.go([&, never]() -> goro::task<> {
      for (int p = 0; p < kParents; ++p)
        goro::go([&, never]() -> goro::task<> {
          // Owned by this frame; on the heap, where ASan watches it (frames
          // come from the runtime's own allocator).
          auto wg = std::make_unique<goro::wait_group>();
          for (int c = 0; c < kChildren; ++c)
            wg->go([&, never, guard = destroy_counter(&destroyed)]() -> goro::task<> {
              parked.done();
              (void)co_await never.recv();
            });
          co_await wg->wait();
          ADD_FAILURE() << "wait returned";
        });
      co_return;
    });
    parked.blocking_wait();
  }
  EXPECT_EQ(report.alive.size(), static_cast<std::size_t>(kParents * (kChildren + 1)));
  EXPECT_EQ(destroyed.load(), kParents * kChildren);
}

// The same rule, seen without ASan: goroutines of a group that the teardown
// destroys unfinished leave the count as it was (done() is not called; the
// old code dropped it to 0). A waiter elsewhere is therefore not released by
// the teardown (wait_group.hpp says so).
TEST_P(Shutdown, CountedGoroutinesTornDownDoNotCountThemselvesDone) {
  shutdown_report report;
  constexpr int kChildren = 5;
  auto never = goro::make_chan<void>();
  goro::wait_group wg;  // outlives the runtime
  goro::wait_group parked;
  parked.add(kChildren);
  {
    goro::runtime rt(options_reporting_to(report, GetParam()));
    rt.go([&, never]() -> goro::task<> {
      for (int c = 0; c < kChildren; ++c)
        wg.go([&parked, never]() -> goro::task<> {
          parked.done();
          (void)co_await never.recv();
        });
      co_return;
    });
    parked.blocking_wait();
  }
  EXPECT_EQ(report.alive.size(), static_cast<std::size_t>(kChildren));
  EXPECT_EQ(wg.count(), kChildren);
  wg.add(-wg.count());  // balance it, as an owner that knows would
}

// Regression (review): ~errgroup aborted ("destroyed while goroutines of the
// group are still running") when the runtime's teardown destroyed the frame
// that owned a group in flight, and functions queued by go() leaked.
TEST_P(Shutdown, AnErrgroupInFlightDiesWithItsOwner) {
  shutdown_report report;
  std::atomic<int> destroyed{0};
  auto never = goro::make_chan<void>();
  goro::wait_group parked;
  parked.add(2);
  {
    goro::runtime rt(options_reporting_to(report, GetParam()));
    rt.go([&, never]() -> goro::task<> {
      goro::errgroup g;
      g.set_limit(2);
      for (int i = 0; i < 5; ++i)  // 2 run, 3 wait in the queue
        g.go([&, never, guard = destroy_counter(&destroyed)]() -> goro::task<> {
          parked.done();
          (void)co_await never.recv();
        });
      (void)co_await g.wait();
      ADD_FAILURE() << "wait returned";
    });
    parked.blocking_wait();
  }
  EXPECT_EQ(report.alive.size(), 3u);
  EXPECT_EQ(destroyed.load(), 5) << "the running functions and the queued ones are all destroyed";
}

// The same through a join_handle that outlives its runtime: the frame (and
// its errgroup) is destroyed when a plain thread drops the handle.
TEST_P(Shutdown, AnErrgroupInAFrameDroppedAfterTheRuntimeDoesNotAbort) {
  shutdown_report report;
  std::atomic<int> destroyed{0};
  auto never = goro::make_chan<void>();
  goro::wait_group parked;
  parked.add(1);
  goro::join_handle<void> owner;
  {
    goro::runtime rt(options_reporting_to(report, GetParam()));
    owner = rt.spawn([&, never]() -> goro::task<> {
      goro::errgroup g;
      g.go([&, never, guard = destroy_counter(&destroyed)]() -> goro::task<> {
        parked.done();
        (void)co_await never.recv();
      });
      (void)co_await g.wait();
      ADD_FAILURE() << "wait returned";
    });
    parked.blocking_wait();
  }
  EXPECT_EQ(report.alive.size(), 2u);
  EXPECT_EQ(destroyed.load(), 1);  // the child was detached: destroyed by the teardown
  std::thread dropper([h = std::move(owner)]() mutable { h = {}; });
  dropper.join();
}

// Regression (review of the singleflight fix): a singleflight leader
// destroyed by its runtime's teardown before f returned left its flight
// unfinished for good: its call_chan duplicates never received, and every
// later call for the key joined the dead flight and waited forever. The
// leader's frame now abandons the flight with an exception.
TEST_P(Shutdown, ASingleflightLeaderTornDownFreesItsKey) {
  shutdown_report report;
  goro::singleflight::group<int, int> g;  // outlives the runtime
  auto never = goro::make_chan<void>();
  goro::wait_group leading;
  leading.add(1);
  goro::receiver<goro::singleflight::result<int>> dup;
  {
    goro::runtime rt(options_reporting_to(report, GetParam()));
    auto f = [&leading, never]() -> goro::task<int> {
      leading.done();
      (void)co_await never.recv();
      co_return 1;
    };
    rt.go([&g, f]() -> goro::task<> {
      (void)co_await g.call(1, f);
      ADD_FAILURE() << "the call returned";
    });
    leading.blocking_wait();
    dup = g.call_chan(1, [] { return 2; });  // joins the flight in progress
  }
  EXPECT_EQ(report.alive.size(), 1u);
  auto r = dup.blocking_recv_for(30s);
  ASSERT_EQ(r.status, goro::recv_status::ok) << "the abandoned flight never delivered";
  EXPECT_TRUE(r.value->shared);
  ASSERT_TRUE(r.value->err.exception() != nullptr);
  EXPECT_THROW(r.value->err.throw_if_error(), std::runtime_error);
  // The key is free: a new call leads and runs its own f.
  goro::singleflight::result<int> again = g.blocking_call(1, [] { return 3; });
  EXPECT_EQ(again.value, 3);
  EXPECT_FALSE(again.shared);
}

// The same for call_chan's leader goroutine, torn down with its runtime.
TEST_P(Shutdown, ASingleflightChanLeaderTornDownDeliversAnError) {
  shutdown_report report;
  goro::singleflight::group<int, int> g;
  auto never = goro::make_chan<void>();
  goro::wait_group leading;
  leading.add(1);
  goro::receiver<goro::singleflight::result<int>> lead;
  {
    goro::runtime rt(options_reporting_to(report, GetParam()));
    auto f = [&leading, never]() -> goro::task<int> {
      leading.done();
      (void)co_await never.recv();
      co_return 1;
    };
    lead = rt.run([&g, f]() -> goro::task<goro::receiver<goro::singleflight::result<int>>> {
      co_return g.call_chan(1, f);  // its leader goroutine runs on rt
    });
    leading.blocking_wait();
  }
  EXPECT_EQ(report.alive.size(), 1u);
  auto r = lead.blocking_recv_for(30s);
  ASSERT_EQ(r.status, goro::recv_status::ok) << "the abandoned flight never delivered";
  EXPECT_THROW(r.value->err.throw_if_error(), std::runtime_error);
  EXPECT_EQ(g.blocking_call(1, [] { return 3; }).value, 3);
}

// Regression (review of the fix above): call_chan's leader goroutine
// destroyed by the teardown before it ever ran has no frame, so no guard
// abandoned its flight: the channel never received and the key stayed taken.
// The goroutine's stored arguments now carry the flight and abandon it. One
// worker, held by the caller until the teardown has begun, so the queued
// leader cannot run.
TEST(ShutdownOneWorker, ASingleflightChanLeaderThatNeverRanDeliversAnError) {
  shutdown_report report;
  goro::singleflight::group<int, int> g;
  goro::wait_group called;
  called.add(1);
  goro::receiver<goro::singleflight::result<int>> lead;
  std::atomic<bool> ran{false};
  auto rt = std::make_unique<goro::runtime>(options_reporting_to(report, 1));
  goro::detail::runtime_impl* impl = rt->impl();
  rt->go([&]() -> goro::task<> {
    lead = g.call_chan(1, [&ran] {
      ran.store(true);
      return 1;
    });
    called.done();
    // Hold the only worker (no suspension) until ~runtime has published
    // its stop: the leader queued behind this goroutine never runs.
    while (!goro::detail::testing::stopping(impl)) std::this_thread::yield();
    co_return;
  });
  called.blocking_wait();
  rt.reset();
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(report.alive.size(), 1u);
  auto r = lead.blocking_recv_for(30s);
  ASSERT_EQ(r.status, goro::recv_status::ok) << "the flight of the leader that never ran never delivered";
  EXPECT_THROW(r.value->err.throw_if_error(), std::runtime_error);
  EXPECT_EQ(g.blocking_call(1, [] { return 3; }).value, 3);
}

TEST_P(Shutdown, ThreadBlockedInJoinIsReleased) {
  // A plain thread blocked in join() while the runtime goes away: the join
  // throws instead of blocking forever.
  shutdown_report report;
  std::atomic<int> destroyed{0};
  std::atomic<int> threw{0};
  goro::wait_group never_released;
  never_released.add(1);
  std::vector<std::thread> joiners;
  {
    goro::runtime rt(options_reporting_to(report, GetParam()));
    for (int i = 0; i < 4; ++i) {
      auto h = rt.spawn([&, guard = destroy_counter(&destroyed)]() -> goro::task<> {
        co_await never_released.wait();
      });
      joiners.emplace_back([&threw, h = std::move(h)]() mutable {
        try {
          std::move(h).join();
        } catch (const std::runtime_error&) {
          threw.fetch_add(1);
        }
      });
    }
  }
  for (auto& t : joiners) t.join();
  EXPECT_EQ(threw.load(), 4);
  EXPECT_EQ(destroyed.load(), 4);
  EXPECT_EQ(report.calls, 1);
  EXPECT_EQ(report.alive.size(), 4u);
  never_released.done();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ---- uncaught exceptions ----------------------------------------------------

struct uncaught_log {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  std::string what;
  std::string file;
  int line = 0;
  std::uint64_t id = 0;
};
uncaught_log* g_log = nullptr;

void recording_handler(std::exception_ptr e, const goro::goroutine_info& g) {
  std::string what = "<not a std::exception>";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  std::lock_guard<std::mutex> l(g_log->mu);
  ++g_log->calls;
  g_log->what = what;
  g_log->file = g.file;
  g_log->line = g.line;
  g_log->id = g.id;
  g_log->cv.notify_all();
}

class Uncaught : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    g_log = &log_;
    old_ = goro::set_uncaught_exception_handler(&recording_handler);
  }
  void TearDown() override {
    RuntimeTest::TearDown();  // quiescent first: no handler call can be in flight
    goro::set_uncaught_exception_handler(old_);
    g_log = nullptr;
  }
  // Waits (bounded, never a sleep) until the handler ran `n` times.
  bool wait_calls(int n) {
    std::unique_lock<std::mutex> l(log_.mu);
    return log_.cv.wait_for(l, 30s, [&] { return log_.calls >= n; });
  }
  uncaught_log log_;
  goro::uncaught_handler old_ = nullptr;
};
GORO_INSTANTIATE_WORKERS(Uncaught);

goro::task<> throw_runtime_error() {
  co_await goro::yield();
  throw std::runtime_error("detached goroutine failed");
}

TEST_P(Uncaught, DetachedGoroutineReachesHandlerWithSpawnLocation) {
  int line = 0;
  std::uint64_t id = rt().run([&]() -> goro::task<std::uint64_t> {
    // Not `goro::go(throw_runtime_error);`: with a single name as argument
    // that statement declares a variable (go is a class template).
    goro::go([] { return throw_runtime_error(); }); line = __LINE__;
    co_return goro::this_goroutine::id();
  });
  ASSERT_TRUE(wait_calls(1)) << "the handler was never called";
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  std::lock_guard<std::mutex> l(log_.mu);
  EXPECT_EQ(log_.calls, 1);
  EXPECT_EQ(log_.what, "detached goroutine failed");
  EXPECT_TRUE(ends_with(log_.file, "shutdown_test.cpp")) << log_.file;
  EXPECT_EQ(log_.line, line);
  EXPECT_NE(log_.id, 0u);
  EXPECT_NE(log_.id, id);
}

TEST_P(Uncaught, DetachedGoroutineWhoseCallThrowsReachesHandler) {
  // The callable is called on the goroutine; it throws before it makes a
  // task, so the goroutine ends with that exception and nobody joins it.
  rt().run([&]() -> goro::task<> {
    goro::go([]() -> goro::task<> {  // not a coroutine: the lambda returns a task
      throw std::runtime_error("call failed");
    });
    co_return;
  });
  ASSERT_TRUE(wait_calls(1)) << "the handler was never called";
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  std::lock_guard<std::mutex> l(log_.mu);
  EXPECT_EQ(log_.calls, 1);
  EXPECT_EQ(log_.what, "call failed");
  EXPECT_TRUE(ends_with(log_.file, "shutdown_test.cpp")) << log_.file;
}

TEST_P(Uncaught, DroppedHandleBeforeCompletionReachesHandler) {
  int line = 0;
  rt().run([&]() -> goro::task<> {
    auto fails = []() -> goro::task<int> {
      co_await goro::yield();
      throw std::logic_error("dropped early");
    };
    { auto h = goro::spawn(fails); line = __LINE__; }  // dropped at once
    co_return;
  });
  ASSERT_TRUE(wait_calls(1));
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  std::lock_guard<std::mutex> l(log_.mu);
  EXPECT_EQ(log_.calls, 1);
  EXPECT_EQ(log_.what, "dropped early");
  EXPECT_TRUE(ends_with(log_.file, "shutdown_test.cpp")) << log_.file;
  EXPECT_EQ(log_.line, line);
}

TEST_P(Uncaught, DroppedHandleAfterCompletionReachesHandler) {
  // The goroutine has finished (its exception stored) when the handle is
  // dropped: the drop itself reports it.
  rt().run([&]() -> goro::task<> {
    goro::join_handle<int> h =
        goro::spawn([]() -> goro::task<int> { throw std::logic_error("dropped late"); co_return 0; });
    while (!h.done()) co_await goro::yield();
    {
      std::lock_guard<std::mutex> l(log_.mu);
      EXPECT_EQ(log_.calls, 0) << "reported while the handle could still join";
    }
    h = {};
  });
  ASSERT_TRUE(wait_calls(1));
  std::lock_guard<std::mutex> l(log_.mu);
  EXPECT_EQ(log_.calls, 1);
  EXPECT_EQ(log_.what, "dropped late");
}

TEST_P(Uncaught, DroppedHandleFromPlainThreadReachesHandler) {
  {
    auto h = rt().spawn([]() -> goro::task<> {
      co_await goro::yield();
      throw std::runtime_error("dropped by a thread");
    });
  }
  ASSERT_TRUE(wait_calls(1));
  std::lock_guard<std::mutex> l(log_.mu);
  EXPECT_EQ(log_.calls, 1);
  EXPECT_EQ(log_.what, "dropped by a thread");
}

TEST_P(Uncaught, ObservedExceptionDoesNotReachHandler) {
  bool caught = rt().run([]() -> goro::task<bool> {
    auto h = goro::spawn([]() -> goro::task<int> {
      co_await goro::yield();
      throw std::runtime_error("observed");
    });
    try {
      co_await std::move(h);
    } catch (const std::runtime_error&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(caught);
  auto h = rt().spawn([]() -> goro::task<> { throw std::runtime_error("joined by a thread"); co_return; });
  EXPECT_THROW(std::move(h).join(), std::runtime_error);
  h = {};
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  std::lock_guard<std::mutex> l(log_.mu);
  EXPECT_EQ(log_.calls, 0) << "last: " << log_.what;
}

TEST_P(Uncaught, QuiescenceImpliesHandlersRan) {
  // wait_no_goroutines() is how tests end; once it says no goroutine is
  // alive, the handler has run for each of them.
  constexpr int n = 50;
  rt().run([]() -> goro::task<> {
    for (int i = 0; i < n; ++i) goro::go([]() -> goro::task<> { throw std::runtime_error("many"); co_return; });
    co_return;
  });
  ASSERT_TRUE(rt().wait_no_goroutines(30s));
  std::lock_guard<std::mutex> l(log_.mu);
  EXPECT_EQ(log_.calls, n);
}

// ---- spawn locations (what dumps, leak reports and the handler print) -------

bool ends_with_this_file(const char* file) { return ends_with(file, "shutdown_test.cpp"); }

// The goroutines alive on rt as "file:line", with `file` cut to its base name.
std::set<std::string> locations(const goro::runtime& rt) {
  std::set<std::string> out;
  for (const auto& g : rt.goroutines()) {
    std::string f = g.file;
    out.insert(f.substr(f.find_last_of('/') + 1) + ":" + std::to_string(g.line));
  }
  return out;
}
std::string here(int line) { return "shutdown_test.cpp:" + std::to_string(line); }

TEST(SpawnLocation, GoAndSpawnRecordTheCaller) {
  goro::runtime rt(goro::runtime_options{});
  goro::wait_group release, parked;
  release.add(1);
  parked.add(2);
  int go_line = 0, spawn_line = 0;
  auto parker = [&]() -> goro::task<> {
    parked.done();
    co_await release.wait();
  };
  goro::join_handle<void> h = rt.run([&]() -> goro::task<goro::join_handle<void>> {
    goro::go([&parker] { return parker(); }); go_line = __LINE__;
    auto s = goro::spawn([&parker] { return parker(); }); spawn_line = __LINE__;
    co_return std::move(s);
  });
  parked.blocking_wait();
  EXPECT_EQ(locations(rt), (std::set<std::string>{here(go_line), here(spawn_line)}));
  release.done();
  std::move(h).join();
  goro_test::expect_no_leaks(rt);
}

// runtime::go/spawn/run (and the free goro::run) cannot put a defaulted
// source location after an argument pack, so they have one overload per
// argument count; these check that the caller's line, not runtime.hpp's, is
// what gets recorded.
TEST(SpawnLocation, RuntimeMembersRecordTheCaller) {
  goro::runtime rt(goro::runtime_options{});
  goro::wait_group release, parked;
  release.add(1);
  parked.add(2);
  auto parker = [&]() -> goro::task<> {
    parked.done();
    co_await release.wait();
  };
  auto h = rt.spawn(parker); const int spawn_line = __LINE__;
  rt.go(parker); const int go_line = __LINE__;
  parked.blocking_wait();
  EXPECT_EQ(locations(rt), (std::set<std::string>{here(go_line), here(spawn_line)}));
  release.done();
  std::move(h).join();
  std::string run_at = rt.run([&rt] {
    for (const auto& g : rt.goroutines())
      if (g.id == goro::this_goroutine::id()) return std::string(g.file);
    return std::string("<self not found>");
  });
  EXPECT_TRUE(ends_with_this_file(run_at.c_str())) << "rt.run's goroutine started at " << run_at;
  goro_test::expect_no_leaks(rt);
}

TEST(SpawnLocation, FreeRunRecordsTheCaller) {
  const int line = __LINE__ + 1;
  std::string at = goro::run([](int tag) {
    for (const auto& g : goro::runtime::default_runtime().goroutines())
      if (g.id == goro::this_goroutine::id())
        return std::string(g.file) + ":" + std::to_string(g.line + tag);
    return std::string("<self not found>");
  }, 0);
  EXPECT_TRUE(ends_with(at, "shutdown_test.cpp:" + std::to_string(line))) << "goro::run's goroutine started at " << at;
}

}  // namespace

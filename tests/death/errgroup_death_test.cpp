// Death tests: misuse of goro::errgroup must abort with a clear message
// (Go: "errgroup: modify limit while N goroutines in the group are still
// active"; cases where Go would hang forever or use freed memory).
#include <cstdlib>
#include <string>

#include <goro/sync/errgroup.hpp>
#include <goro/sync/wait_group.hpp>

#include "goro_test.hpp"

namespace {

class ErrgroupDeath : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

goro::runtime_options two_workers() {
  goro::runtime_options o;
  o.workers = 2;
  return o;
}

// Go's SetLimit panic.
TEST_F(ErrgroupDeath, SetLimitWhileGoroutinesAreActive) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        rt.run([]() -> goro::task<> {
          goro::errgroup g;
          g.set_limit(2);
          auto release = goro::make_chan<void>();
          g.go([release]() -> goro::task<> { (void)co_await release.recv(); });
          g.set_limit(3);
          release.close();
          (void)co_await g.wait();
        });
      },
      "goro::errgroup::set_limit: the limit was changed while goroutines of the group are "
      "still active");
}

TEST_F(ErrgroupDeath, RemovingTheLimitWhileGoroutinesAreActive) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        rt.run([]() -> goro::task<> {
          goro::errgroup g;
          g.set_limit(2);
          auto release = goro::make_chan<void>();
          g.go([release]() -> goro::task<> { (void)co_await release.recv(); });
          g.set_limit(-1);
          release.close();
          (void)co_await g.wait();
        });
      },
      "goro::errgroup::set_limit");
}

TEST_F(ErrgroupDeath, DestroyedWhileGoroutinesRun) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        auto release = goro::make_chan<void>();
        rt.run([release]() -> goro::task<> {
          goro::errgroup g;
          g.go([release]() -> goro::task<> { (void)co_await release.recv(); });
          co_return;  // no wait(): the group dies with a goroutine running
        });
      },
      "goro::errgroup destroyed while goroutines of the group are still running");
}

// Regression (review): the teardown's exemption was the tearing-down
// thread's, so a group that died with its owner's runtime while one of its
// goroutines ran on another runtime was freed silently, and that goroutine
// went on to use it. The exemption now holds only for a group whose
// goroutines all ran on the runtime being torn down.
TEST_F(ErrgroupDeath, TornDownWhileAGoroutineRunsOnAnotherRuntime) {
  EXPECT_DEATH(
      {
        goro::runtime other(two_workers());
        auto release = goro::make_chan<void>();
        goro::wait_group running;
        running.add(1);
        {
          goro::runtime rt(two_workers());
          rt.go([&other, &running, release]() -> goro::task<> {
            goro::errgroup g;
            auto launched = goro::make_chan<void>();
            other.go([&g, &running, release, launched]() -> goro::task<> {
              g.go([&running, release]() -> goro::task<> {  // runs on `other`
                running.done();
                (void)co_await release.recv();
              });
              launched.close();
              co_return;
            });
            (void)co_await launched.recv();
            (void)co_await g.wait();  // destroyed here by rt's teardown
          });
          running.blocking_wait();
        }
      },
      "goro::errgroup destroyed while goroutines of the group are still running");
}

// Regression (review): once a goroutine of a group had run on another
// runtime, the group kept that mark for good, so its owner's teardown with
// goroutines in flight aborted although the goroutine on the other runtime
// had returned and been waited for. wait() now forgets the runtimes.
TEST_F(ErrgroupDeath, TornDownAfterAWaitedGoroutineRanOnAnotherRuntime) {
  EXPECT_EXIT(
      {
        goro::runtime other(two_workers());
        goro::wait_group running;
        running.add(1);
        static bool group_destroyed = false;
        struct sentinel {  // destroyed after g: the teardown did destroy the group
          ~sentinel() { group_destroyed = true; }
        };
        {
          goro::runtime rt(two_workers());
          rt.go([&other, &running]() -> goro::task<> {
            sentinel s;
            goro::errgroup g;
            auto launched = goro::make_chan<void>();
            other.go([&g, launched]() -> goro::task<> {
              g.go([] {});  // runs on `other`, and returns
              launched.close();
              co_return;
            });
            (void)co_await launched.recv();
            (void)co_await g.wait();  // the goroutine on `other` has returned
            auto never = goro::make_chan<void>();
            g.go([&running, never]() -> goro::task<> {  // runs on rt
              running.done();
              (void)co_await never.recv();
            });
            (void)co_await g.wait();  // destroyed here by rt's teardown
          });
          running.blocking_wait();
        }
        std::_Exit(group_destroyed ? 0 : 1);  // `other` still runs: no exit handlers
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(ErrgroupDeath, ReadyWithLimitZero) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        rt.run([]() -> goro::task<> {
          goro::errgroup g;
          g.set_limit(0);
          co_await g.ready();
        });
      },
      "goro::errgroup::ready: the limit is 0, so the group never has room");
}

TEST_F(ErrgroupDeath, BlockingGoWithLimitZero) {
  EXPECT_DEATH(
      {
        goro::errgroup g;
        g.set_limit(0);
        g.blocking_go([] {});
      },
      "goro::errgroup::blocking_go: the limit is 0");
}

TEST_F(ErrgroupDeath, BlockingGoInsideAGoroutine) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        rt.run([]() -> goro::task<> {
          goro::errgroup g;
          g.blocking_go([] {});
          goro::error e = co_await g.wait();
          (void)e;
        });
      },
      "goro::errgroup::blocking_go\\(\\) blocks the thread");
}

TEST_F(ErrgroupDeath, BlockingWaitInsideAGoroutine) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        rt.run([]() -> goro::task<> {
          goro::errgroup g;
          g.go([] {});
          (void)g.blocking_wait();
          co_return;
        });
      },
      "blocking_wait\\(\\) blocks the thread");
}

}  // namespace

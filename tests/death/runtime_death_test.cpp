// Death tests: runtime misuse that must abort with a clear message.
//
// "threadsafe" death tests re-execute the binary for each death statement, so
// the runtimes and worker threads of the parent never leak into the child.
#include <chrono>
#include <stdexcept>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {

class RuntimeDeath : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

goro::runtime_options two_workers() {
  goro::runtime_options o;
  o.workers = 2;
  return o;
}

TEST_F(RuntimeDeath, WaitGroupNegativeCounterFromThread) {
  EXPECT_DEATH(
      {
        goro::wait_group wg;
        wg.done();
      },
      "goro::wait_group: negative counter");
  EXPECT_DEATH(
      {
        goro::wait_group wg;
        wg.add(2);
        wg.add(-3);
      },
      "negative counter");
}

TEST_F(RuntimeDeath, WaitGroupNegativeCounterFromGoroutine) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        rt.run([]() -> goro::task<> {
          goro::wait_group wg;
          wg.add(1);
          wg.done();
          wg.done();
          co_return;
        });
      },
      "negative counter");
}

TEST_F(RuntimeDeath, DefaultUncaughtHandlerAbortsWithTextAndLocation) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        rt.run([]() -> goro::task<> {
          goro::go([]() -> goro::task<> { throw std::runtime_error("kaboom-7f3a"); co_return; });
          co_return;
        });
        // The abort happens on a worker; ~runtime joins the workers, so the
        // statement cannot end before the handler has run.
        (void)rt.wait_no_goroutines(60s);
      },
      "uncaught exception in goroutine [0-9]+ \\(started at [^)]*runtime_death_test\\.cpp:[0-9]+\\): "
      "kaboom-7f3a");
}

TEST_F(RuntimeDeath, DefaultUncaughtHandlerNonStdException) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        {
          auto h = rt.spawn([]() -> goro::task<> { throw 42; co_return; });
        }  // dropped without join: nobody will observe the exception
        (void)rt.wait_no_goroutines(60s);
      },
      "uncaught exception in goroutine.*unknown exception");
}

TEST_F(RuntimeDeath, RunInsideGoroutine) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        rt.run([]() -> goro::task<> {
          int v = goro::run([] { return 1; });
          (void)v;
          co_return;
        });
      },
      "goro::run\\(\\) blocks the thread; inside a goroutine use co_await");
}

TEST_F(RuntimeDeath, RuntimeRunInsideGoroutine) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        rt.run([&rt]() -> goro::task<> {
          rt.run([] {});
          co_return;
        });
      },
      "goro::run\\(\\) blocks the thread");
}

TEST_F(RuntimeDeath, BlockingJoinInsideGoroutine) {
  EXPECT_DEATH(
      {
        goro::runtime rt(two_workers());
        rt.run([]() -> goro::task<> {
          auto h = goro::spawn([] { return 1; });
          int v = std::move(h).join();
          (void)v;
          co_return;
        });
      },
      "join_handle::join\\(\\) blocks the thread; inside a goroutine use co_await");
}

TEST_F(RuntimeDeath, ConcurrentDonesPastZero) {
  // done() calls racing past zero on several workers: the one that makes the
  // counter negative aborts.
  EXPECT_DEATH(
      {
        goro::wait_group wg;
        goro::runtime rt(two_workers());
        wg.add(1);
        rt.run([&wg]() -> goro::task<> {
          for (int i = 0; i < 4; ++i) goro::go([&wg] { wg.done(); });
          co_return;
        });
        (void)rt.wait_no_goroutines(60s);
      },
      "negative counter");
}

}  // namespace

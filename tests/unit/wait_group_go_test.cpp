// wait_group::go(f, args...) starts a counted goroutine: its shell calls
// done() once the goroutine is gone (runtime.hpp, counted_shell), with no
// wrapper coroutine around f. What that promises beyond Go's
// `defer wg.Done()`: when wait() returns, every counted goroutine's
// callable, arguments and frames have been destroyed, and an exception its
// call threw has already been handed to the uncaught handler.
#include <atomic>
#include <memory>
#include <stdexcept>

#include <goro/goro.hpp>

#include "goro_test.hpp"

namespace {

class WaitGroupGo : public goro_test::UncaughtCountingTest {};
GORO_INSTANTIATE_WORKERS(WaitGroupGo);

// Counts destructions of live instances (moved-from ones do not count).
struct tracked {
  std::atomic<int>* gone;
  explicit tracked(std::atomic<int>* g) : gone(g) {}
  tracked(tracked&& o) noexcept : gone(std::exchange(o.gone, nullptr)) {}
  ~tracked() {
    if (gone) gone->fetch_add(1);
  }
};

TEST_P(WaitGroupGo, CallablesAndArgumentsAreDestroyedWhenWaitReturns) {
  std::atomic<int> captures_gone{0}, args_gone{0}, ran{0};
  constexpr int n = 64;
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < n; ++i)
      wg.go([c = tracked(&captures_gone), &ran](tracked) -> goro::task<> {
        ran.fetch_add(1);
        co_return;
      }, tracked(&args_gone));
    co_await wg.wait();
    EXPECT_EQ(ran.load(), n);
    EXPECT_EQ(captures_gone.load(), n);  // the shells' stored callables
    EXPECT_EQ(args_gone.load(), n);      // the parameters in the task frames
  });
}

// The ordering itself, without a race to win: the goroutine's own count is
// still held while its callable is destroyed and while its exception is
// reported. (A done() guard inside a wrapper coroutine, as before, gave the
// count back first: the capture saw 0, and the group could already be gone.)
struct reads_count_when_destroyed {
  goro::wait_group* wg;
  std::atomic<long long>* seen;
  reads_count_when_destroyed(goro::wait_group* w, std::atomic<long long>* s) : wg(w), seen(s) {}
  reads_count_when_destroyed(reads_count_when_destroyed&& o) noexcept
      : wg(std::exchange(o.wg, nullptr)), seen(o.seen) {}
  ~reads_count_when_destroyed() {
    if (wg) seen->store(wg->count());
  }
};

TEST_P(WaitGroupGo, DoneComesAfterTheCallableIsDestroyed) {
  std::atomic<long long> seen{-1};
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    wg.go([c = reads_count_when_destroyed(&wg, &seen)]() -> goro::task<> { co_return; });
    co_await wg.wait();
    EXPECT_EQ(seen.load(), 1);  // its own count, not yet given back
  });
}

std::atomic<goro::wait_group*> reporting_group{nullptr};
std::atomic<long long> count_when_reported{-1};
void note_count(std::exception_ptr, const goro::goroutine_info&) {
  count_when_reported.store(reporting_group.load()->count());
}

TEST_P(WaitGroupGo, DoneComesAfterTheExceptionIsReported) {
  count_when_reported.store(-1);
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    reporting_group.store(&wg);
    auto old = goro::set_uncaught_exception_handler(&note_count);
    wg.go([]() -> goro::task<> {
      throw std::runtime_error("in a counted goroutine");
      co_return;
    });
    co_await wg.wait();
    goro::set_uncaught_exception_handler(old);
    EXPECT_EQ(count_when_reported.load(), 1);
  });
}

TEST_P(WaitGroupGo, AThrowingCallIsReportedBeforeWaitReturns) {
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    wg.go([]() -> goro::task<> {
      throw std::runtime_error("in a counted goroutine");
      co_return;
    });
    wg.go([] { throw std::runtime_error("a plain callable"); });
    co_await wg.wait();
    EXPECT_EQ(reported(), 2);
    EXPECT_EQ(wg.count(), 0);
  });
}

TEST_P(WaitGroupGo, ArgumentsMovedInAsByGo) {
  // f gets its own copy of each argument, moved from the stored one.
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    auto out = goro::make_chan<int>(1);
    wg.go([](std::unique_ptr<int> p, goro::sender<int> o) -> goro::task<> {
      (void)co_await o.send(*p);
    }, std::make_unique<int>(7), out.send_end());
    co_await wg.wait();
    auto v = co_await out.recv();
    EXPECT_EQ(v.value_or(-1), 7);
  });
}

}  // namespace

// Death tests: a blocking_ form (or join/run) called inside a goroutine
// aborts, and the message names the *caller's* file and line (captured by a
// defaulted __builtin_FILE/__builtin_LINE argument of the public function),
// not a line inside goro's headers (issue 8 item 13: it used to name
// detail/chan_core.hpp).
//
// Each body marks the line of its blocking call with `kLine = __LINE__ + 1`
// on the line before; the expected message is "at <this file>:<kLine>".
#include <string>
#include <utility>

#include <goro/context.hpp>
#include <goro/select.hpp>
#include <goro/sync/singleflight.hpp>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {

class BlockingCallSiteDeath : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// Runs body as a goroutine on a fresh one-worker runtime.
template <class F>
void in_goroutine(F body) {
  goro::runtime_options o;
  o.workers = 1;
  goro::runtime rt(o);
  rt.run([&body] { body(); });
}

// "<what> ... at <this file>:<line>" and not a longer line number.
std::string at_line(const char* what, int line) {
  return std::string(what) + ".*\n  at [^\n]*blocking_call_site_death_test\\.cpp:" +
         std::to_string(line) + "[^0-9]";
}

TEST_F(BlockingCallSiteDeath, ChanBlockingRecv) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { auto ch = goro::make_chan<int>(1); (void)ch.blocking_recv(); };
  EXPECT_DEATH(in_goroutine(body), at_line("blocking_ channel operation", kLine));
}

TEST_F(BlockingCallSiteDeath, ChanBlockingSendFor) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { auto ch = goro::make_chan<int>(); (void)ch.blocking_send_for(1, 1ms); };
  EXPECT_DEATH(in_goroutine(body), at_line("blocking_ channel operation", kLine));
}

TEST_F(BlockingCallSiteDeath, ChanBlockingRecvContext) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { auto ch = goro::make_chan<int>(); (void)ch.blocking_recv(goro::background()); };
  EXPECT_DEATH(in_goroutine(body), at_line("blocking_ channel operation", kLine));
}

TEST_F(BlockingCallSiteDeath, BlockingSelect) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { auto ch = goro::make_chan<int>(); (void)goro::blocking_select(goro::recv(ch), goro::default_case); };
  EXPECT_DEATH(in_goroutine(body), at_line("blocking_ channel operation or select", kLine));
}

TEST_F(BlockingCallSiteDeath, BlockingSleepWithContext) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { (void)goro::blocking_sleep_for(goro::background(), 1ms); };
  EXPECT_DEATH(in_goroutine(body), at_line("blocking_ channel operation or select", kLine));
}

TEST_F(BlockingCallSiteDeath, MutexBlockingLock) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { goro::mutex mu; mu.blocking_lock(); };
  EXPECT_DEATH(in_goroutine(body), at_line("goro::mutex::blocking_lock\\(\\) blocks", kLine));
}

TEST_F(BlockingCallSiteDeath, RwMutexBlockingScopedLockShared) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { goro::rw_mutex mu; auto g = mu.blocking_scoped_lock_shared(); };
  EXPECT_DEATH(in_goroutine(body), at_line("goro::rw_mutex::blocking_lock", kLine));
}

TEST_F(BlockingCallSiteDeath, SemaphoreBlockingAcquire) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { goro::semaphore s(1); (void)s.blocking_acquire(); };
  EXPECT_DEATH(in_goroutine(body), at_line("goro::semaphore: a blocking_ acquire", kLine));
}

TEST_F(BlockingCallSiteDeath, CondBlockingWait) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { goro::mutex mu; goro::cond cv(mu); cv.blocking_wait([] { return true; }); };
  EXPECT_DEATH(in_goroutine(body), at_line("goro::cond::blocking_wait\\(\\) blocks", kLine));
}

TEST_F(BlockingCallSiteDeath, WaitGroupBlockingWait) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { goro::wait_group wg; wg.blocking_wait(); };
  EXPECT_DEATH(in_goroutine(body), at_line("goro::wait_group::blocking_wait\\(\\) blocks", kLine));
}

TEST_F(BlockingCallSiteDeath, OnceBlockingCall) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { goro::once o; o.blocking_call([] {}); };
  EXPECT_DEATH(in_goroutine(body), at_line("goro::once: a blocking_ call", kLine));
}

TEST_F(BlockingCallSiteDeath, OnceValueBlockingGet) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { goro::once_value<int> v([] { return 1; }); (void)v.blocking_get(); };
  EXPECT_DEATH(in_goroutine(body), at_line("goro::once: a blocking_ call", kLine));
}

TEST_F(BlockingCallSiteDeath, SingleflightBlockingCall) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { goro::singleflight::group<int, int> g; (void)g.blocking_call(1, [] { return 1; }); };
  EXPECT_DEATH(in_goroutine(body), at_line("singleflight::group::blocking_call\\(\\) blocks", kLine));
}

TEST_F(BlockingCallSiteDeath, ErrgroupBlockingWait) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { goro::errgroup g; (void)g.blocking_wait(); };
  EXPECT_DEATH(in_goroutine(body), at_line("goro::errgroup::blocking_wait\\(\\) blocks", kLine));
}

TEST_F(BlockingCallSiteDeath, JoinHandleJoin) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { auto h = goro::spawn([] { return 1; }); (void)std::move(h).join(); };
  EXPECT_DEATH(in_goroutine(body), at_line("join_handle::join\\(\\) blocks", kLine));
}

TEST_F(BlockingCallSiteDeath, Run) {
  constexpr int kLine = __LINE__ + 1;
  auto body = [] { (void)goro::run([] { return 1; }); };
  EXPECT_DEATH(in_goroutine(body), at_line("goro::run\\(\\) blocks", kLine));
}

}  // namespace

// Unit tests: goro::testing::leak_check (the RAII guard and its GoogleTest
// listener) reports goroutines a scope leaves behind, with their spawn and
// waiting locations, and waits for the ones that are finishing.
#include <gtest/gtest-spi.h>

#include <string>
#include <thread>

#include "goro_test.hpp"

namespace {

// clang-format off
goro::task<> leak_on_recv(goro::chan<int> c) { auto v = co_await c.recv(); (void)v; } constexpr int kLeakRecvLine = __LINE__;
// clang-format on

struct captured {
  std::vector<goro::goroutine_info> leaked;
  std::string report;
  int calls = 0;
};

goro::testing::leak_check::options capture_into(captured& c, const goro::runtime* rt,
                                                std::chrono::milliseconds grace) {
  goro::testing::leak_check::options o;
  o.rt = rt;
  o.grace = grace;
  o.report = [&c](const std::vector<goro::goroutine_info>& leaked, const std::string& report) {
    c.leaked = leaked;
    c.report = report;
    ++c.calls;
  };
  return o;
}

class LeakCheck : public goro_test::RuntimeTest {};

TEST_P(LeakCheck, ReportsALeakedGoroutineWithSpawnAndWaitSites) {
  auto ch = goro::make_chan<int>();
  captured c;
  int spawn_line = 0;
  {
    goro::testing::leak_check guard(capture_into(c, &rt(), std::chrono::milliseconds(50)));
    rt().go(leak_on_recv, ch); spawn_line = __LINE__;
    // Parked before the check looks (on a loaded machine 50 ms may pass
    // before it has run, and the report would not name its wait site).
    ASSERT_TRUE(goro_test::wait_parked(rt(), 1));
  }  // ~leak_check: the goroutine still waits -> reported
  ASSERT_EQ(c.calls, 1);
  ASSERT_EQ(c.leaked.size(), 1u);
  const goro::goroutine_info& g = c.leaked[0];
  EXPECT_EQ(g.line, spawn_line);
  EXPECT_EQ(g.wait_line, kLeakRecvLine);
  EXPECT_NE(c.report.find("leak_check: 1 goroutine(s) still alive"), std::string::npos) << c.report;
  EXPECT_NE(c.report.find("spawned at "), std::string::npos) << c.report;
  EXPECT_NE(c.report.find("leak_check_test.cpp:" + std::to_string(spawn_line)), std::string::npos) << c.report;
  EXPECT_NE(c.report.find("leak_check_test.cpp:" + std::to_string(kLeakRecvLine) + " in leak_on_recv on chan<int>"),
            std::string::npos)
      << c.report;
  ch.close();
}

TEST_P(LeakCheck, GoroutinesAliveBeforeTheGuardAreNotLeaks) {
  auto before = goro::make_chan<int>();
  auto during = goro::make_chan<int>();
  rt().go(leak_on_recv, before);
  captured c;
  {
    goro::testing::leak_check guard(capture_into(c, &rt(), std::chrono::seconds(30)));
    rt().go(leak_on_recv, during);
    during.close();  // ends during the grace period (or before): not a leak
  }
  EXPECT_EQ(c.calls, 0) << c.report;
  before.close();
}

TEST_P(LeakCheck, WaitsForGoroutinesThatAreFinishing) {
  auto ch = goro::make_chan<int>();
  captured c;
  std::thread closer;
  {
    goro::testing::leak_check guard(capture_into(c, nullptr, std::chrono::seconds(30)));
    rt().go(leak_on_recv, ch);
    // Closed by another thread at some point while the guard waits (or before).
    closer = std::thread([ch] { ch.close(); });
  }
  closer.join();
  EXPECT_EQ(c.calls, 0) << c.report;
}

GORO_INSTANTIATE_WORKERS(LeakCheck);

// The gtest side: a leak inside a listener's test window is an ADD_FAILURE
// naming the spawn site.
TEST(LeakCheckListener, LeakFailsTheTestWithItsSpawnSite) {
  goro::runtime_options o;
  o.workers = 2;
  goro::runtime rt(o);
  auto ch = goro::make_chan<int>();
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  goro::testing::leak_check_listener listener(std::chrono::milliseconds(50));
  int spawn_line = 0;
  EXPECT_NONFATAL_FAILURE(
      {
        listener.OnTestStart(*info);
        rt.go(leak_on_recv, ch); spawn_line = __LINE__;
        listener.OnTestEnd(*info);
      },
      "leak_check: 1 goroutine(s) still alive");
  ch.close();
  EXPECT_TRUE(rt.wait_no_goroutines(std::chrono::seconds(30)));
  EXPECT_GT(spawn_line, 0);
}

TEST(LeakCheckListener, GtestFailureReporterNamesTheSpawnLine) {
  goro::runtime_options o;
  o.workers = 1;
  goro::runtime rt(o);
  auto ch = goro::make_chan<int>();
  goro::testing::leak_check::options lo;
  lo.rt = &rt;
  lo.grace = std::chrono::milliseconds(50);
  lo.report = goro::testing::gtest_failure();
  // The spawn site is the next line (one line: compilers differ on __LINE__ in macro arguments).
  static const std::string expected = "leak_check_test.cpp:" + std::to_string(__LINE__ + 1);
  EXPECT_NONFATAL_FAILURE({ goro::testing::leak_check guard(lo); rt.go(leak_on_recv, ch); }, expected);  // clang-format off
  ch.close();
  EXPECT_TRUE(rt.wait_no_goroutines(std::chrono::seconds(30)));
}

TEST(LeakCheckListener, NoLeakNoFailure) {
  goro::runtime rt;
  goro::testing::leak_check_listener listener(std::chrono::seconds(30));
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  listener.OnTestStart(*info);
  auto h = rt.spawn([]() -> goro::task<int> { co_return 7; });
  EXPECT_EQ(std::move(h).join(), 7);
  listener.OnTestEnd(*info);  // would ADD_FAILURE on a leak
}

}  // namespace

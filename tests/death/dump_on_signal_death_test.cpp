// Death-test style (a child process per test): GORO_DUMP_ON=SIGQUIT and
// goro::debug::dump_on_signal make a SIGQUIT print a goroutine dump to
// stderr and let the process go on. The signal is raised in the child only.
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

#include "goro_test.hpp"

namespace {

// clang-format off
goro::task<> dump_park(goro::chan<int> c) { auto v = co_await c.recv(); (void)v; } constexpr int kParkLine = __LINE__;
// clang-format on

// In the child: park a goroutine, raise SIGQUIT, wait for the dump, exit 0.
[[noreturn]] void park_raise_and_exit(bool use_env) {
  if (use_env) setenv("GORO_DUMP_ON", "SIGQUIT", 1);
  goro::runtime_options o;
  o.workers = 1;
  goro::runtime rt(o);  // the first runtime of this process reads GORO_DUMP_ON
  if (!use_env) goro::debug::dump_on_signal(SIGQUIT);
  auto ch = goro::make_chan<int>();
  rt.go(dump_park, ch);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool parked = false;
  while (!parked && std::chrono::steady_clock::now() < until) {
    for (const auto& g : rt.goroutines())
      if (g.wait_reason != nullptr) parked = true;
    std::this_thread::yield();
  }
  std::raise(SIGQUIT);
  bool dumped = goro::debug::signal_dumps(1, std::chrono::seconds(30)) >= 1;
  ch.close();
  bool quiet = rt.wait_no_goroutines(std::chrono::seconds(30));
  std::fflush(stderr);
  std::_Exit(parked && dumped && quiet ? 0 : 1);
}

class DumpOnSignalDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

std::string expected_output() {
  return "goro: signal SIGQUIT: goro: goroutine dump, 1 runtime\\(s\\).*\\[chan receive, [0-9]+ "
         "ms\\]:.*dump_on_signal_death_test\\.cpp:" +
         std::to_string(kParkLine) + " in dump_park on chan<int> cap 0 len 0";
}

TEST_F(DumpOnSignalDeathTest, EnvironmentSwitchDumpsOnSigquit) {
  EXPECT_EXIT(park_raise_and_exit(true), ::testing::ExitedWithCode(0), expected_output());
}

TEST_F(DumpOnSignalDeathTest, DumpOnSignalDumpsOnSigquit) {
  EXPECT_EXIT(park_raise_and_exit(false), ::testing::ExitedWithCode(0), expected_output());
}

}  // namespace

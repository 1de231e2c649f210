// goro/testing/gtest.hpp — goro::testing::leak_check for GoogleTest
// (header-only: the goro library itself does not depend on gtest).
//
//   // around every test of the binary (e.g. in main, or a static initializer):
//   goro::testing::install_leak_check_listener();
//   // or around one scope, failing the current test on a leak:
//   goro::testing::leak_check guard({.report = goro::testing::gtest_failure()});
//   // a test body under many scheduling seeds; the first failing one is named:
//   goro::testing::for_each_seed(1, 200, [](std::uint64_t seed) {
//     goro::testing::run_virtual_seeded(seed, body);   // EXPECT_* inside body
//   });
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "goro/testing/leak_check.hpp"
#include "goro/testing/virtual_time.hpp"

namespace goro::testing {

// A leak_check reporter that fails the current test (ADD_FAILURE) with the report.
inline leak_check::reporter gtest_failure() {
  return [](const std::vector<goroutine_info>&, const std::string& report) { ADD_FAILURE() << report; };
}

// Applies a leak_check (every live runtime) around every test. OnTestEnd
// runs before the result printer's (gtest calls OnTestEnd in reverse order
// of registration), so a leak fails the test it belongs to.
class leak_check_listener : public ::testing::EmptyTestEventListener {
 public:
  explicit leak_check_listener(std::chrono::nanoseconds grace = std::chrono::seconds(10))
      : grace_(grace) {}
  void OnTestStart(const ::testing::TestInfo&) override {
    leak_check::options o;
    o.grace = grace_;
    o.report = gtest_failure();
    guard_ = std::make_unique<leak_check>(o);
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    if (guard_) (void)guard_->check();
    guard_.reset();
  }

 private:
  std::chrono::nanoseconds grace_;
  std::unique_ptr<leak_check> guard_;
};

// Appends a leak_check_listener to the running binary's listeners (once).
inline void install_leak_check_listener(std::chrono::nanoseconds grace = std::chrono::seconds(10)) {
  static bool done = false;
  if (done) return;
  done = true;
  ::testing::UnitTest::GetInstance()->listeners().Append(new leak_check_listener(grace));
}

}  // namespace goro::testing

namespace goro::detail {
// Failed parts of the running test so far. Read on the test's thread after
// a run whose runtime is destroyed, so no goroutine adds one meanwhile.
inline int gtest_failed_parts() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return 0;
  const ::testing::TestResult* r = info->result();
  int n = 0;
  for (int i = 0; i < r->total_part_count(); ++i)
    if (r->GetTestPartResult(i).failed()) ++n;
  return n;
}
}  // namespace goro::detail

namespace goro::testing {

// find_failing_seed (virtual_time.hpp) for GoogleTest: a run fails when f
// returns false, throws, or records a failed assertion (EXPECT_* inside
// the goroutines included). The first failing seed stops the loop and is
// added to the test's failures at the caller's line ("goro: failing seed N
// (replay with seed = N or GORO_SEED=N)"); returns it, or nullopt when
// every seed passed. With GORO_SEED set, runs only that seed.
template <class F>
std::optional<std::uint64_t> for_each_seed(std::uint64_t first, std::uint64_t count, F&& f,
                                           detail::source_loc loc = detail::source_loc::current()) {
  auto report = [loc](std::uint64_t seed) {
    ADD_FAILURE_AT(loc.file, loc.line) << "goro: failing seed " << seed << " (replay with seed = "
                                       << seed << " or GORO_SEED=" << seed << ")";
  };
  return detail::search_seeds(first, count, f, detail::gtest_failed_parts, report);
}

}  // namespace goro::testing

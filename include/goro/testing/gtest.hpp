// goro/testing/gtest.hpp — goro::testing::leak_check for GoogleTest
// (header-only: the goro library itself does not depend on gtest).
//
//   // around every test of the binary (e.g. in main, or a static initializer):
//   goro::testing::install_leak_check_listener();
//   // or around one scope, failing the current test on a leak:
//   goro::testing::leak_check guard({.report = goro::testing::gtest_failure()});
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "goro/testing/leak_check.hpp"

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

// goro/testing/leak_check.hpp — fail a test that leaves goroutines behind
// (Go's goleak), as a plain RAII guard; goro/testing/gtest.hpp wraps it for
// GoogleTest (a listener around every test, ADD_FAILURE on a leak).
//
//   {
//     goro::testing::leak_check guard;   // remembers the goroutines alive now
//     ... start goroutines ...
//   }   // waits (up to the grace period) for those started since to finish;
//       // reports the ones still alive, with spawn and waiting locations
//
// The wait is the registry's quiescence wait (woken as goroutines end), not
// a polling sleep: a clean test pays nothing, a leaking one the grace period.
// The library part (this header, src/debug.cpp) does not depend on gtest.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "goro/runtime.hpp"

namespace goro::testing {

class leak_check {
 public:
  // Gets the leaked goroutines and the formatted report (goro::debug::format).
  using reporter = std::function<void(const std::vector<goroutine_info>& leaked, const std::string& report)>;
  struct options {
    const runtime* rt = nullptr;  // null: every live runtime
    // How long to wait for goroutines that are finishing.
    std::chrono::nanoseconds grace = std::chrono::seconds(10);
    reporter report;  // empty: print the report to stderr
    // False: goroutines alive when the guard is made count too (a check at
    // the end of a test whose runtime was made for it).
    bool ignore_existing = true;
  };

  leak_check() : leak_check(options{}) {}
  explicit leak_check(options o);
  leak_check(const leak_check&) = delete;
  leak_check& operator=(const leak_check&) = delete;
  // Runs check() unless it already ran.
  ~leak_check();

  // Waits up to the grace period for the goroutines started since the
  // guard was made to end; returns those still alive and reports them (if
  // any). Later calls return {} and report nothing.
  std::vector<goroutine_info> check();

 private:
  options o_;
  std::vector<std::uint64_t> baseline_;  // ids alive at construction, sorted
  bool checked_ = false;
};

}  // namespace goro::testing

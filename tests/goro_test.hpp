// goro_test.hpp — shared test scaffolding.
//
// Every test runs on its own runtime, parameterised over worker counts
// (1, 2 and 8), and ends with a leak check: every goroutine it started must
// have returned (waited for with the runtime's quiescence wait, never a sleep).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include <goro/goro.hpp>

namespace goro_test {

// Scaled iteration counts: sanitizer builds run fewer iterations.
#if defined(GORO_SANITIZER)
inline constexpr int kScale = 10;
#else
inline constexpr int kScale = 1;
#endif
constexpr int scaled(int n) { return n / kScale > 0 ? n / kScale : 1; }

inline void expect_no_leaks(goro::runtime& rt) {
  bool quiet = rt.wait_no_goroutines(std::chrono::seconds(30));
  EXPECT_TRUE(quiet) << rt.live_goroutines() << " goroutine(s) leaked";
  if (!quiet) {
    for (const auto& g : rt.goroutines())
      ADD_FAILURE() << "leaked goroutine " << g.id << " started at " << g.file << ":" << g.line
                    << " [" << (g.wait_reason ? g.wait_reason : "runnable") << "]";
  }
}

// Fixture: a runtime with GetParam() workers, checked for leaks at the end.
class RuntimeTest : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    goro::runtime_options o;
    o.workers = GetParam();
    rt_ = std::make_unique<goro::runtime>(o);
  }
  void TearDown() override {
    expect_no_leaks(*rt_);
    rt_.reset();
  }
  goro::runtime& rt() { return *rt_; }
  unsigned workers() const { return GetParam(); }

 private:
  std::unique_ptr<goro::runtime> rt_;
};

inline std::string workers_name(const ::testing::TestParamInfo<unsigned>& i) {
  return "w" + std::to_string(i.param);
}

// A goroutine body for cancel races: yields `yields` times, then cancels.
inline goro::task<> cancel_after_yields(goro::cancel_func f, unsigned yields) {
  for (unsigned i = 0; i < yields; ++i) co_await goro::yield();
  f();
}

}  // namespace goro_test

#define GORO_INSTANTIATE_WORKERS(Suite) \
  INSTANTIATE_TEST_SUITE_P(Workers, Suite, ::testing::Values(1u, 2u, 8u), goro_test::workers_name)

// goro_test.hpp — shared test scaffolding.
//
// Every test runs on its own runtime, parameterised over worker counts
// (1, 2 and 8), and ends with a leak check (goro::testing::leak_check): every
// goroutine it started must have returned (waited for with the runtime's
// quiescence wait, never a sleep); a leak fails the test with each leaked
// goroutine's spawn site and where it waits.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <tuple>

#include <goro/goro.hpp>
#include <goro/testing/gtest.hpp>

namespace goro_test {

// Scaled iteration counts: sanitizer builds run fewer iterations.
#if defined(GORO_SANITIZER)
inline constexpr int kScale = 10;
#else
inline constexpr int kScale = 1;
#endif
constexpr int scaled(int n) { return n / kScale > 0 ? n / kScale : 1; }

// Every goroutine of rt must have returned (30 s grace: sanitizer builds are slow).
inline void expect_no_leaks(goro::runtime& rt) {
  goro::testing::leak_check::options o;
  o.rt = &rt;
  o.grace = std::chrono::seconds(30);
  o.report = goro::testing::gtest_failure();
  o.ignore_existing = false;  // made at the end: every goroutine of rt counts
  goro::testing::leak_check guard(o);
  (void)guard.check();
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

// Fixture: RuntimeTest with an uncaught-exception handler that counts the
// exceptions nobody observed (reported()); the previous handler comes back
// after the leak check, when no handler call can be in flight.
class UncaughtCountingTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    reported_ = 0;
    old_ = goro::set_uncaught_exception_handler(&count);
  }
  void TearDown() override {
    RuntimeTest::TearDown();
    goro::set_uncaught_exception_handler(old_);
  }
  static int reported() { return reported_.load(); }

 private:
  static void count(std::exception_ptr, const goro::goroutine_info&) { reported_.fetch_add(1); }
  static inline std::atomic<int> reported_{0};
  goro::uncaught_handler old_ = nullptr;
};

inline std::string workers_name(const ::testing::TestParamInfo<unsigned>& i) {
  return "w" + std::to_string(i.param);
}

// Fixture for channel tests over (workers, capacity): a runtime with that
// many workers, checked for leaks at the end; cap() is the capacity.
class WorkersCapTest : public ::testing::TestWithParam<std::tuple<unsigned, long long>> {
 protected:
  void SetUp() override {
    goro::runtime_options o;
    o.workers = std::get<0>(GetParam());
    rt_ = std::make_unique<goro::runtime>(o);
  }
  void TearDown() override {
    expect_no_leaks(*rt_);
    rt_.reset();
  }
  goro::runtime& rt() { return *rt_; }
  long long cap() const { return std::get<1>(GetParam()); }

 private:
  std::unique_ptr<goro::runtime> rt_;
};
inline std::string workers_cap_name(const ::testing::TestParamInfo<std::tuple<unsigned, long long>>& i) {
  return "w" + std::to_string(std::get<0>(i.param)) + "_cap" + std::to_string(std::get<1>(i.param));
}

// A runtime of its own with `workers` workers (for tests that need a fresh
// one, or several, rather than the fixtures' one per test), on a virtual
// clock if asked (goro/testing/virtual_time.hpp).
inline std::unique_ptr<goro::runtime> runtime_with(unsigned workers, bool virtual_time = false) {
  goro::runtime_options o;
  o.workers = workers;
  o.virtual_time = virtual_time;
  return std::make_unique<goro::runtime>(o);
}

// Spins (no goro operation, no sleep) until pred() holds or a 10 s hang
// guard expires; whether it held. For a thread or goroutine that must watch
// another core act without blocking: a goroutine spinning here keeps its
// worker. The guard turns a lost wake into a failure, never a timing check.
template <class Pred>
bool spin_until(Pred pred) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred())
    if (std::chrono::steady_clock::now() > give_up) return false;
  return true;
}

// How many goroutines of rt are parked now (a dump shows a wait reason).
inline std::size_t parked(goro::runtime& rt) {
  std::size_t n = 0;
  for (const auto& g : rt.goroutines())
    if (g.wait_reason != nullptr) ++n;
  return n;
}
// Spins (spin_until) until at least n goroutines of rt are parked; whether
// they were before the guard expired.
inline bool wait_parked(goro::runtime& rt, std::size_t n) {
  return spin_until([&] { return parked(rt) >= n; });
}

// A goroutine body for cancel races: yields `yields` times, then cancels.
inline goro::task<> cancel_after_yields(goro::cancel_func f, unsigned yields) {
  for (unsigned i = 0; i < yields; ++i) co_await goro::yield();
  f();
}

}  // namespace goro_test

#define GORO_INSTANTIATE_WORKERS(Suite) \
  INSTANTIATE_TEST_SUITE_P(Workers, Suite, ::testing::Values(1u, 2u, 8u), goro_test::workers_name)
// Suite over worker counts 1, 2, 8 times the given capacities (long longs).
#define GORO_INSTANTIATE_WORKERS_CAPS(Suite, ...)                                                   \
  INSTANTIATE_TEST_SUITE_P(Shapes, Suite,                                                           \
                           ::testing::Combine(::testing::Values(1u, 2u, 8u), ::testing::Values(__VA_ARGS__)), \
                           goro_test::workers_cap_name)

// Regression: use after free when the blocking pool could not start a
// thread. blocking_pool::submit linked the job into the pool's queue and
// counted the thread before std::thread threw; the awaiter rethrew out of
// co_await spawn_blocking(...), the goroutine went on and its frame (which
// holds the job) died while the job was still queued. The next thread to
// start ran the dead job (ASan heap-use-after-free, every run; issue 8,
// item 3). Now submit is all-or-nothing: when no thread can take the job,
// nothing stays linked or counted and the std::system_error reaches the
// caller of co_await spawn_blocking(...).
//
// The test seam (src/blocking_pool_testing.hpp) retires the pool threads, so
// that the submit has to start one, and makes that start fail with EAGAIN.
#include <atomic>
#include <system_error>
#include <utility>

#include <gtest/gtest.h>

#include "blocking_pool_testing.hpp"
#include "goro_test.hpp"

namespace {

namespace seam = goro::detail::testing;

class BlockingPoolThreadStartFailureUaf : public goro_test::RuntimeTest {};

TEST_P(BlockingPoolThreadStartFailureUaf, SpawnBlockingThrowsAndThePoolStillWorks) {
  for (int round = 0; round < 3; ++round) {
    std::atomic<bool> failed_job_ran{false};
    ASSERT_TRUE(seam::retire_blocking_threads()) << "a pool thread did not exit";
    seam::fail_next_blocking_thread_starts(1);
    auto failing = rt().spawn([&]() -> goro::task<int> {
      int caught = 0;  // 1: the expected EAGAIN, 2: another system_error
      try {
        co_await goro::spawn_blocking([&] { failed_job_ran = true; });
      } catch (const std::system_error& e) {
        caught = e.code() == std::errc::resource_unavailable_try_again ? 1 : 2;
      }
      co_return caught;
    });
    EXPECT_EQ(std::move(failing).join(), 1) << "round " << round
                                 << ": co_await spawn_blocking did not throw the EAGAIN system_error";
    // The failed goroutine's frame is gone now. The pool must still work,
    // and must never run the job whose submit failed.
    auto ok = rt().spawn([]() -> goro::task<int> {
      int v = co_await goro::spawn_blocking([] { return 42; });
      co_return v;
    });
    EXPECT_EQ(std::move(ok).join(), 42);
    EXPECT_FALSE(failed_job_ran.load()) << "round " << round << ": the job whose submit failed ran";
  }
}

GORO_INSTANTIATE_WORKERS(BlockingPoolThreadStartFailureUaf);

}  // namespace

// Unit tests: a goro::task destroyed without ever being co_awaited is
// reported in debug builds (GORO_DEBUG_CHECKS; task.hpp). The report goes
// through detail::unstarted_task_hook, which the test replaces to count.
// Release builds compile the check out: the tests are skipped there.
#include <atomic>
#include <stdexcept>
#include <utility>

#include "goro_test.hpp"

namespace {

std::atomic<int> reports{0};
void count_report() { reports.fetch_add(1); }

class TaskUnstarted : public goro_test::RuntimeTest {
 protected:
  void SetUp() override {
#if !(defined(GORO_DEBUG_CHECKS) && GORO_DEBUG_CHECKS)
    GTEST_SKIP() << "the unstarted-task report exists in GORO_DEBUG_CHECKS builds only";
#endif
    RuntimeTest::SetUp();
    reports.store(0);
    goro::detail::unstarted_task_hook.store(&count_report);
  }
  void TearDown() override {
    if (IsSkipped()) return;  // SetUp skipped before making the runtime
    goro::detail::unstarted_task_hook.store(nullptr);
    RuntimeTest::TearDown();
  }
};
GORO_INSTANTIATE_WORKERS(TaskUnstarted);

goro::task<int> answer() { co_return 42; }

TEST_P(TaskUnstarted, DroppedTaskIsReported) {
  rt().run([]() -> goro::task<> {
    {
      goro::task<int> t = answer();  // made, never awaited
    }
    EXPECT_EQ(reports.load(), 1);
    co_return;
  });
}

TEST_P(TaskUnstarted, OverwrittenTaskIsReported) {
  rt().run([]() -> goro::task<> {
    goro::task<int> t = answer();
    t = answer();  // the first one is destroyed unstarted
    EXPECT_EQ(reports.load(), 1);
    int v = co_await std::move(t);
    EXPECT_EQ(v, 42);
    EXPECT_EQ(reports.load(), 1);
  });
}

TEST_P(TaskUnstarted, AwaitedAndMovedFromTasksAreNotReported) {
  rt().run([]() -> goro::task<> {
    goro::task<int> t = answer();
    goro::task<int> u = std::move(t);  // t is empty now
    int v = co_await std::move(u);
    EXPECT_EQ(v, 42);
    goro::task<int> never_made;  // empty
    (void)never_made;
    co_return;
  });
  EXPECT_EQ(reports.load(), 0);
}

TEST_P(TaskUnstarted, GoroutineBodiesAreNotReported) {
  goro::wait_group wg;
  rt().go([&wg]() -> goro::task<> {
    wg.go([]() -> goro::task<> { co_return; });
    co_await wg.wait();
  });
  auto h = rt().spawn([] { return answer(); });
  EXPECT_EQ(std::move(h).join(), 42);
  ASSERT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
  EXPECT_EQ(reports.load(), 0);
}

TEST_P(TaskUnstarted, DroppedDuringUnwindingIsNotReported) {
  rt().run([]() -> goro::task<> {
    try {
      goro::task<int> t = answer();
      throw std::runtime_error("before the co_await");
    } catch (const std::runtime_error&) {
    }
    EXPECT_EQ(reports.load(), 0);
    co_return;
  });
}

}  // namespace

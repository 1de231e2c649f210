// The default deadlock report: like Go, print "fatal error: all goroutines
// are asleep - deadlock!" and every goroutine (id, wait, spawn site) to
// stderr and abort. Each shape of issue 10 through goro::run (the default
// runtime) or a runtime of one's own.
#include "goro_test.hpp"
#include "goro/testing/virtual_time.hpp"

using namespace std::chrono_literals;

namespace {

class DeadlockDeath : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

goro::task<> recv_then_send(goro::chan<int> in, goro::chan<int> out) {
  auto v = co_await in.recv();
  if (v) (void)co_await out.send(*v);
}

void two_channels() {
  goro::run([]() -> goro::task<> {
    auto a = goro::make_chan<int>();
    auto b = goro::make_chan<int>();
    auto h1 = goro::spawn(recv_then_send, a, b);
    auto h2 = goro::spawn(recv_then_send, b, a);
    co_await std::move(h1);
    co_await std::move(h2);
  });
}

void one_mutex() {
  goro::runtime_options o;
  o.workers = 2;
  goro::runtime rt(o);
  rt.run([]() -> goro::task<> {
    goro::mutex mu;
    goro::wait_group wg;
    co_await mu.lock();  // never unlocked
    for (int i = 0; i < 3; ++i)
      wg.go([&mu]() -> goro::task<> {
        co_await mu.lock();
        mu.unlock();
      });
    co_await wg.wait();
  });
}

void wait_group_nobody_finishes() {
  goro::run([]() -> goro::task<> {
    goro::wait_group wg;
    wg.add(1);
    co_await wg.wait();
  });
}

}  // namespace

TEST_F(DeadlockDeath, TwoGoroutinesOnTwoChannels) {
  EXPECT_DEATH(two_channels(),
               "fatal error: all goroutines are asleep - deadlock!\n"
               "(.|\n)*goroutine [0-9]+ \\[join[^]]*\\]:\n(.|\n)*spawned at .*deadlock_death_test.cpp:"
               "(.|\n)*goroutine [0-9]+ \\[chan");
}

TEST_F(DeadlockDeath, AllBlockedOnOneMutex) {
  EXPECT_DEATH(one_mutex(), "all goroutines are asleep - deadlock!(.|\n)*\\[mutex.lock(.|\n)*waiting at .*deadlock_death_test.cpp");
}

TEST_F(DeadlockDeath, MainWaitsOnAWaitGroupNobodyFinishes) {
  EXPECT_DEATH(wait_group_nobody_finishes(),
               "all goroutines are asleep - deadlock!(.|\n)*\\[wait_group.wait");
}

// Virtual time with nothing left to wait for: synctest's "deadlock" too.
TEST_F(DeadlockDeath, VirtualTimeWithNoTimerLeft) {
  EXPECT_DEATH(goro::testing::run_virtual([]() -> goro::task<> {
                 co_await goro::sleep_for(1h);  // fine: the clock jumps
                 auto never = goro::make_chan<int>();
                 (void)co_await never.recv();  // nothing can ever send
               }),
               "all goroutines are asleep - deadlock!(.|\n)*\\[chan");
}

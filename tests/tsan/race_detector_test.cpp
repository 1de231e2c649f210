// Race detector support (docs/debugging-races.md): under ThreadSanitizer a
// data race between two goroutines is reported, and goro's own
// synchronisation (mutex, channels, the scheduler's hand-offs) is seen, so
// race-free programs are not. Built only in the tsan preset (goro_tsan_tests).
//
// Each program runs in a child (a "threadsafe" death test re-executes the
// binary) with TSAN_OPTIONS=halt_on_error=1:exitcode=66: a report ends the
// child with status 66 and the report on stderr.
#include <atomic>
#include <cstdlib>

#include "goro_test.hpp"

namespace {

enum class sync_by { nothing, mutex, channel };

// Two goroutines on two workers, both running at once (each spins until the
// other has started: relaxed atomics, which order nothing), each adding to a
// plain int. With nothing to synchronise them, goroutine 1 still writes
// after goroutine 0 in real time (it spins on a relaxed flag goroutine 0 sets
// after its write): TSan only sees a race whose first access is already in
// its shadow memory, and two truly simultaneous writes can each overwrite
// the other's shadow cell and go unreported (CI saw it: a lost update,
// x == 1, and no report). Relaxed atomics give no happens-before, so the
// ordered pair is still a data race to TSan, and it is reported every time.
[[noreturn]] void two_writers(sync_by how) {
  int x = 0;
  {
    goro::runtime_options o;
    o.workers = 2;
    goro::runtime rt(o);
    rt.run([&x, how]() -> goro::task<> {
      std::atomic<int> started{0};
      std::atomic<bool> first_wrote{false};
      goro::mutex mu;
      auto handoff = goro::make_chan<int>();
      goro::wait_group wg;
      for (int i = 0; i < 2; ++i)
        wg.go([&x, &started, &first_wrote, &mu, handoff, how, i]() -> goro::task<> {
          started.fetch_add(1, std::memory_order_relaxed);
          while (started.load(std::memory_order_relaxed) < 2) {
          }
          if (how == sync_by::nothing && i == 1)
            while (!first_wrote.load(std::memory_order_relaxed)) {
            }
          if (how == sync_by::channel && i == 1) (void)co_await handoff.recv();
          if (how == sync_by::mutex) co_await mu.lock();
          x += 1 + i;  // the shared write
          if (how == sync_by::mutex) mu.unlock();
          if (how == sync_by::nothing && i == 0) first_wrote.store(true, std::memory_order_relaxed);
          if (how == sync_by::channel && i == 0) (void)co_await handoff.send(1);
        });
      co_await wg.wait();
    });
  }
  std::exit(x == 3 ? 0 : 1);
}

class RaceDetector : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    setenv("TSAN_OPTIONS", "halt_on_error=1:exitcode=66", 1);  // read by the re-executed child
  }
};

}  // namespace

TEST_F(RaceDetector, RaceBetweenTwoGoroutinesIsReported) {
  EXPECT_EXIT(two_writers(sync_by::nothing), ::testing::ExitedWithCode(66),
              "WARNING: ThreadSanitizer: data race");
}

TEST_F(RaceDetector, MutexMakesItRaceFree) {
  EXPECT_EXIT(two_writers(sync_by::mutex), ::testing::ExitedWithCode(0), "");
}

TEST_F(RaceDetector, ChannelHandoffMakesItRaceFree) {
  EXPECT_EXIT(two_writers(sync_by::channel), ::testing::ExitedWithCode(0), "");
}

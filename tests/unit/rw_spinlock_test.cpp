// goro::detail::rw_spinlock (sharded_map's shard lock): exclusion between
// writers and readers, a waiting writer holding new readers off, and the
// wake-ups of waiters that went to sleep on the word (a lost one hangs the
// waiter: spin_until's guard turns that into a failure).
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "goro/detail/rw_spinlock.hpp"
#include "goro/sync/sharded_map.hpp"
#include "goro_test.hpp"

namespace {

using goro::detail::rw_spinlock;
using goro_test::spin_until;

// The tests lock and unlock in ways Clang's thread-safety analysis cannot
// follow (across threads, inside EXPECT macros): through these.
void lock(rw_spinlock& l, bool shared) GORO_NO_TSA {
  if (shared) l.lock_shared(); else l.lock();
}
void unlock(rw_spinlock& l, bool shared) GORO_NO_TSA {
  if (shared) l.unlock_shared(); else l.unlock();
}
bool try_lock(rw_spinlock& l, bool shared) GORO_NO_TSA {
  return shared ? l.try_lock_shared() : l.try_lock();
}
constexpr bool kShared = true, kExclusive = false;

bool has(const rw_spinlock& l, std::uint32_t bit) { return (l.word_for_testing() & bit) != 0; }

// A thread that takes the lock (shared or not), says so, and lets go when
// told; a test can see it asleep on the word (not merely announced: the
// wake-up that a release owes it is then observable). Joined by its
// destructor.
class party {
 public:
  party(rw_spinlock& l, bool shared) : t_([this, &l, shared] {
      tid_.store(static_cast<pid_t>(syscall(SYS_gettid)));
      lock(l, shared);
      in_.store(true);
      while (!release_.load()) std::this_thread::yield();
      unlock(l, shared);
    }) {}
  // A party that never gets in (a lost wake-up: the test has failed
  // already) still uses the lock and *this: abort rather than leave it
  // running on a dead frame.
  ~party() {
    release_.store(true);
    if (!got_in()) {
      std::fprintf(stderr, "rw_spinlock_test: a party never got in (lost wake-up)\n");
      std::abort();
    }
    t_.join();
  }
  bool got_in() { return spin_until([this] { return in_.load(); }); }
  bool in_now() const { return in_.load(); }
  // Whether the thread sleeps in the kernel (state S in /proc: before it is
  // in, that can only be the futex wait on the lock's word).
  bool asleep() const {
    const pid_t tid = tid_.load();
    if (tid == 0) return false;
    std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto paren = stat.rfind(')');  // "tid (comm) S ..."
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'S';
  }
  void release() { release_.store(true); }

 private:
  std::atomic<bool> in_{false};
  std::atomic<bool> release_{false};
  std::atomic<pid_t> tid_{0};
  std::thread t_;
};

TEST(RwSpinlock, ReadersShareWritersExclude) {
  rw_spinlock l;
  ASSERT_TRUE(try_lock(l, kShared));
  ASSERT_TRUE(try_lock(l, kShared));
  EXPECT_FALSE(try_lock(l, kExclusive));
  unlock(l, kShared);
  EXPECT_FALSE(try_lock(l, kExclusive));
  unlock(l, kShared);
  ASSERT_TRUE(try_lock(l, kExclusive));
  EXPECT_FALSE(try_lock(l, kShared));
  EXPECT_FALSE(try_lock(l, kExclusive));
  unlock(l, kExclusive);
  EXPECT_EQ(l.word_for_testing(), 0u);
}

TEST(RwSpinlock, AWaitingWriterHoldsNewReadersOff) {
  rw_spinlock l;
  lock(l, kShared);
  party w(l, kExclusive);
  ASSERT_TRUE(spin_until([&] { return has(l, rw_spinlock::kWriterWait); }));
  EXPECT_FALSE(try_lock(l, kShared));  // would starve the writer
  EXPECT_FALSE(w.in_now());
  unlock(l, kShared);
  EXPECT_TRUE(w.got_in());
}

// The writer sleeps (kSleepers) behind a reader; that reader's unlock is
// the last one out and must wake it.
TEST(RwSpinlock, LastReaderOutWakesASleepingWriter) {
  rw_spinlock l;
  lock(l, kShared);
  party w(l, kExclusive);
  ASSERT_TRUE(spin_until([&] { return has(l, rw_spinlock::kSleepers) && w.asleep(); }));
  unlock(l, kShared);
  EXPECT_TRUE(w.got_in());
}

// One waiter of each kind, alone (with others, a later unlock of theirs
// could wake it and hide a lost wake-up).
TEST(RwSpinlock, WriterUnlockWakesASleepingReaderOrWriter) {
  for (bool shared : {kShared, kExclusive}) {
    rw_spinlock l;
    lock(l, kExclusive);
    party p(l, shared);
    ASSERT_TRUE(spin_until([&] { return has(l, rw_spinlock::kSleepers) && p.asleep(); }));
    unlock(l, kExclusive);
    EXPECT_TRUE(p.got_in()) << (shared ? "reader" : "writer");
  }
}

// Readers that sleep behind a waiting writer get in after it. (Here the
// last reader's wake-up wakes the sleeping reader too, which sleeps again
// behind the writer; the next test pins down the bit the writer keeps.)
TEST(RwSpinlock, ReadersSleepingBehindAWaitingWriterAreWokenByItsUnlock) {
  rw_spinlock l;
  lock(l, kShared);
  party w(l, kExclusive);
  ASSERT_TRUE(spin_until([&] { return has(l, rw_spinlock::kWriterWait); }));
  party r(l, kShared);  // holds off behind the waiting writer, then sleeps
  ASSERT_TRUE(spin_until([&] { return has(l, rw_spinlock::kSleepers) && r.asleep(); }));
  unlock(l, kShared);
  ASSERT_TRUE(w.got_in());
  EXPECT_FALSE(r.in_now());
  w.release();
  EXPECT_TRUE(r.got_in());
}

// A writer that gets in keeps kSleepers, so its unlock wakes whoever sleeps
// behind it: a reader asleep on kWriterWait | kSleepers with nobody inside
// (a waiting writer's word), and a writer that takes the lock from there.
// Dropping the bit on that acquisition leaves the reader asleep for good.
TEST(RwSpinlock, AWriterThatGetsInKeepsTheSleepersBit) {
  rw_spinlock l;
  l.store_word_for_testing(rw_spinlock::kWriterWait | rw_spinlock::kSleepers);
  party r(l, kShared);
  ASSERT_TRUE(spin_until([&] { return r.asleep(); }));
  lock(l, kExclusive);
  EXPECT_TRUE(has(l, rw_spinlock::kSleepers));
  unlock(l, kExclusive);
  EXPECT_TRUE(r.got_in());
}

// Threads mixing both sides: a writer's two writes are never seen torn by a
// reader, and no write is lost (TSan checks the happens-before edges).
TEST(RwSpinlock, MixedThreadsNeitherTearNorLose) {
  rw_spinlock l;
  long a = 0, b = 0;
  std::atomic<long> torn{0};
  constexpr int kThreads = 4, kIters = 20000;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kIters; ++i) {
        if ((i + t) % 4 == 0) {
          lock(l, kExclusive);
          ++a;
          ++b;
          unlock(l, kExclusive);
        } else {
          lock(l, kShared);
          if (a != b) torn.fetch_add(1);
          unlock(l, kShared);
        }
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(a, long{kThreads} * kIters / 4);
  EXPECT_EQ(l.word_for_testing(), 0u);
}

// sharded_map on it from goroutines: counters updated from 8 goroutines on
// 2 workers add up.
TEST(RwSpinlock, ShardedMapCountersAddUpAcrossGoroutines) {
  auto rt = goro_test::runtime_with(2);
  goro::sharded_map<int, long> m(4);
  rt->run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < 8; ++g)
      wg.go([&m, g]() -> goro::task<> {
        for (int i = 0; i < 5000; ++i) {
          m.update(i % 16, [](std::optional<long>& v) { v = v.value_or(0) + 1; });
          if (i % 7 == g) (void)m.load(i % 16);
        }
        co_return;
      });
    co_await wg.wait();
  });
  long total = 0;
  m.for_each([&](const int&, const long& v) { total += v; });
  EXPECT_EQ(total, 8L * 5000);
  EXPECT_EQ(rt->goroutines().size(), 0u);
}

}  // namespace

// Unit tests: goro::debug::find_deadlock_cycles finds goroutines parked in
// goro::mutex::lock that wait for each other in a cycle while the rest of
// the program runs (a partial deadlock Go cannot report), names each one's
// line and mutex, puts the cycle in the dump, and reports no chain that a
// running goroutine or a plain thread can still end. The members' lock line
// is one line with the constant that records it.
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"

namespace {

// clang-format off
// Locks *mine, says so, waits until every member holds its own, then locks
// *next. The test breaks the cycle by unlocking one member's mutex from its
// own thread (any party may unlock a goro::mutex); that member then must not
// unlock it again (release_mine = false).
goro::task<> member(goro::mutex* mine, goro::mutex* next, goro::wait_group* hold, bool release_mine) { co_await mine->lock(); hold->done(); co_await hold->wait(); co_await next->lock(); next->unlock(); if (release_mine) mine->unlock(); } constexpr int kNextLine = __LINE__;
goro::task<> lock_twice(goro::mutex* m) { co_await m->lock(); co_await m->lock(); m->unlock(); } constexpr int kTwiceLine = __LINE__;
// clang-format on

// Keeps running (yielding) until *stop: the program is not all asleep.
goro::task<> spinner(const std::atomic<bool>* stop, std::atomic<long>* spins) {
  while (!stop->load(std::memory_order_relaxed)) {
    spins->fetch_add(1, std::memory_order_relaxed);
    co_await goro::yield();
  }
}

// Holds *m while running (yielding) until *stop.
goro::task<> hold_running(goro::mutex* m, goro::wait_group* held, const std::atomic<bool>* stop) {
  co_await m->lock();
  held->done();
  while (!stop->load(std::memory_order_relaxed)) co_await goro::yield();
  m->unlock();
}

// Locks *first, then waits for *second (held by someone else).
goro::task<> hold_then_wait(goro::mutex* first, goro::mutex* second, goro::wait_group* held) {
  co_await first->lock();
  held->done();
  co_await second->lock();
  second->unlock();
  first->unlock();
}

// Locks and unlocks *mu, holding it across a yield so that the others park.
goro::task<> contend(std::shared_ptr<goro::mutex> mu, goro::wait_group* wg) {
  for (int k = 0; k < 20; ++k) {
    co_await mu->lock();
    co_await goro::yield();
    mu->unlock();
  }
  wg->done();
}

// Sets *stop when the test leaves, also through a failed ASSERT: the
// spinner must end or the runtime's teardown would wait for it.
struct stop_on_exit {
  std::atomic<bool>* stop;
  ~stop_on_exit() { stop->store(true); }
};

// Polls (yielding, bounded) until rt has at least n cycles.
std::vector<goro::debug::deadlock_cycle> wait_cycles(goro::runtime& rt, std::size_t n) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::vector<goro::debug::deadlock_cycle> cs;
  while (std::chrono::steady_clock::now() < until) {
    cs = goro::debug::find_deadlock_cycles(rt);
    if (cs.size() >= n) return cs;
    std::this_thread::yield();
  }
  return cs;
}

// Polls until n goroutines of rt are parked in a mutex lock.
bool wait_mutex_waiters(goro::runtime& rt, std::size_t n) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    std::size_t k = 0;
    for (const auto& g : rt.goroutines())
      if (g.wait_reason != nullptr && std::string(g.wait_reason) == "mutex.lock") ++k;
    if (k >= n) return true;
    std::this_thread::yield();
  }
  return false;
}

bool ends_with(const char* s, const std::string& tail) {
  std::string v = s ? s : "";
  return v.size() >= tail.size() && v.compare(v.size() - tail.size(), tail.size(), tail) == 0;
}

// The cycle is exactly `ids` (in cycle order, any rotation), each waiting
// at kNextLine for waits_on[i], which the next one holds.
void expect_cycle(const goro::debug::deadlock_cycle& c, const std::vector<std::uint64_t>& ids,
                  const std::vector<const goro::mutex*>& waits_on, int line) {
  const auto& gs = c.goroutines;
  ASSERT_EQ(gs.size(), ids.size());
  // Starts at the smallest id.
  EXPECT_EQ(gs[0].id, *std::min_element(ids.begin(), ids.end()));
  const std::size_t shift = static_cast<std::size_t>(std::find(ids.begin(), ids.end(), gs[0].id) - ids.begin());
  for (std::size_t i = 0; i < gs.size(); ++i) {
    const std::size_t k = (i + shift) % ids.size();
    EXPECT_EQ(gs[i].id, ids[k]);
    EXPECT_EQ(gs[i].wait_object, static_cast<const void*>(waits_on[k]));
    ASSERT_NE(gs[i].wait_reason, nullptr);
    EXPECT_STREQ(gs[i].wait_reason, "mutex.lock");
    EXPECT_TRUE(ends_with(gs[i].wait_file, "deadlock_cycle_test.cpp"));
    EXPECT_EQ(gs[i].wait_line, line);
  }
}

class DeadlockCycle : public goro_test::RuntimeTest {};

TEST_P(DeadlockCycle, TwoGoroutinesLockingInOppositeOrderAreFound) {
  goro::mutex m1, m2;
  goro::wait_group hold;
  hold.add(2);
  std::atomic<bool> stop{false};
  std::atomic<long> spins{0};
  stop_on_exit guard{&stop};
  rt().go(spinner, &stop, &spins);
  // Running before the cycle forms (the check at the end is not a race
  // with a worker that was slow to start it).
  ASSERT_TRUE(goro_test::spin_until([&] { return spins.load() > 0; }));
  auto a = rt().spawn(member, &m1, &m2, &hold, false);  // holds m1, waits for m2
  auto b = rt().spawn(member, &m2, &m1, &hold, true);   // holds m2, waits for m1
  const std::uint64_t ida = a.id(), idb = b.id();
  // A failure below is an assertion, never a hang: the cycle is broken
  // at the end whatever was found.
  auto cs = wait_cycles(rt(), 1);
  EXPECT_EQ(cs.size(), 1u) << goro::debug::dump_string(rt());
  if (cs.size() == 1) expect_cycle(cs[0], {ida, idb}, {&m2, &m1}, kNextLine);
  // The dump ends with the cycle.
  std::string text = goro::debug::dump_string(rt());
  EXPECT_NE(text.find("possible deadlock cycle: 2 goroutine(s) each waiting for a mutex the next one holds:"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("goroutine " + std::to_string(ida) + " waiting at "), std::string::npos) << text;
  EXPECT_NE(text.find("deadlock_cycle_test.cpp:" + std::to_string(kNextLine) + " in member on mutex @"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("held by goroutine " + std::to_string(idb)), std::string::npos) << text;
  EXPECT_NE(goro::debug::dump_string().find("possible deadlock cycle"), std::string::npos);
  // Break it: take m1 away from a; b gets it and finishes, then a gets m2.
  m1.unlock();
  std::move(b).join();
  std::move(a).join();
  stop.store(true);
  EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
  EXPECT_GT(spins.load(), 0);
  EXPECT_TRUE(goro::debug::find_deadlock_cycles(rt()).empty());
}

TEST_P(DeadlockCycle, ThreeGoroutinesInARingAreFound) {
  goro::mutex m1, m2, m3;
  goro::wait_group hold;
  hold.add(3);
  std::atomic<bool> stop{false};
  std::atomic<long> spins{0};
  stop_on_exit guard{&stop};
  rt().go(spinner, &stop, &spins);
  auto a = rt().spawn(member, &m1, &m2, &hold, false);
  auto b = rt().spawn(member, &m2, &m3, &hold, true);
  auto c = rt().spawn(member, &m3, &m1, &hold, true);
  auto cs = wait_cycles(rt(), 1);
  EXPECT_EQ(cs.size(), 1u) << goro::debug::dump_string(rt());
  if (cs.size() == 1) {
    expect_cycle(cs[0], {a.id(), b.id(), c.id()}, {&m2, &m3, &m1}, kNextLine);
    EXPECT_NE(goro::debug::format(cs[0]).find("possible deadlock cycle: 3 goroutine(s)"), std::string::npos);
  }
  m1.unlock();  // c gets m1, then b gets m3, then a gets m2
  std::move(c).join();
  std::move(b).join();
  std::move(a).join();
  stop.store(true);
  EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
}

TEST_P(DeadlockCycle, AGoroutineLockingItsOwnMutexAgainIsACycleOfOne) {
  goro::mutex m;
  auto h = rt().spawn(lock_twice, &m);
  auto cs = wait_cycles(rt(), 1);
  EXPECT_EQ(cs.size(), 1u) << goro::debug::dump_string(rt());
  if (cs.size() == 1) {
    expect_cycle(cs[0], {h.id()}, {&m}, kTwiceLine);
    EXPECT_NE(goro::debug::format(cs[0]).find("a mutex it holds itself"), std::string::npos);
  }
  m.unlock();
  std::move(h).join();
}

TEST_P(DeadlockCycle, ChainsEndingInARunningGoroutineOrAThreadAreNotCycles) {
  // g0 waits for m0 held by g1; g1 waits for m1 held by g2, which runs on.
  // g3 waits for a mutex a plain thread (this one) holds.
  goro::mutex m0, m1, by_thread;
  goro::wait_group held;
  std::atomic<bool> stop{false};
  stop_on_exit guard{&stop};
  by_thread.blocking_lock();
  held.add(1);
  rt().go(hold_running, &m1, &held, &stop);
  held.blocking_wait();
  held.add(1);
  rt().go(hold_then_wait, &m0, &m1, &held);
  held.blocking_wait();
  rt().go(lock_twice, &m0);        // g0: parks on m0 at its first lock
  rt().go(lock_twice, &by_thread);  // g3
  EXPECT_TRUE(wait_mutex_waiters(rt(), 3)) << goro::debug::dump_string(rt());
  // Several passes: a chain must never be reported.
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(goro::debug::find_deadlock_cycles(rt()).empty());
  std::string text = goro::debug::dump_string(rt());
  EXPECT_EQ(text.find("possible deadlock cycle"), std::string::npos) << text;
  EXPECT_NE(text.find("[mutex.lock, "), std::string::npos) << text;
  // Unwind: g2 lets m1 go, g1 finishes and lets m0 go, g0 locks m0 twice:
  // a real self-cycle now, released from here; g3 likewise.
  stop.store(true);
  auto cs = wait_cycles(rt(), 1);
  EXPECT_EQ(cs.size(), 1u) << goro::debug::dump_string(rt());
  if (cs.size() == 1 && cs[0].goroutines.size() == 1) {
    EXPECT_EQ(cs[0].goroutines[0].wait_object, static_cast<const void*>(&m0));
  }
  m0.unlock();
  by_thread.unlock();  // g3 takes it (a goroutine holder now) and parks again: a cycle of one
  auto cs2 = wait_cycles(rt(), 1);
  EXPECT_EQ(cs2.size(), 1u) << goro::debug::dump_string(rt());
  if (cs2.size() == 1 && cs2[0].goroutines.size() == 1) {
    EXPECT_EQ(cs2[0].goroutines[0].wait_object, static_cast<const void*>(&by_thread));
  }
  by_thread.unlock();
  EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
}

// Goroutines contending for mutexes (parking and waking all the time) while
// this thread keeps looking for cycles: none is ever reported, and the
// pinned reads of mutexes that are freed as soon as their last user is done
// are safe (ASan would see a read of a freed mutex).
TEST_P(DeadlockCycle, ContendedMutexesAreNeverReportedAndReadsAreSafe) {
  const int rounds = goro_test::scaled(200);
  std::atomic<bool> done{false};
  std::thread looker([&] {
    while (!done.load(std::memory_order_relaxed))
      EXPECT_TRUE(goro::debug::find_deadlock_cycles(rt()).empty());
  });
  for (int r = 0; r < rounds; ++r) {
    auto m = std::make_shared<goro::mutex>();
    goro::wait_group wg;
    wg.add(4);
    for (int i = 0; i < 4; ++i) rt().go(contend, m, &wg);
    m.reset();  // the last goroutine frame to go frees it
    wg.blocking_wait();
  }
  done.store(true);
  looker.join();
}

GORO_INSTANTIATE_WORKERS(DeadlockCycle);

}  // namespace

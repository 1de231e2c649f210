// Regression: a select with a default case (or with a timeout whose deadline
// had already passed) was not atomic. select_start polled the cases one lock
// at a time (pass 1) and, finding none ready, returned the default at once,
// without polling all the cases under all their locks. So the select could
// see c2 empty, then c1 empty, although one of them held a value at every
// instant: between the two polls another thread moved the value from c1 to
// c2. Go locks every channel of a select before it polls. Now a select takes
// its default or its expired timeout only after pass 2 (every case polled
// under every lock) found none ready.
//
// Go's TestNonblockSelectRace/Race2 (tests/ported/runtime_chan_test.cpp) test
// this shape, but their select runs once per fresh channel pair and almost
// never lands in the window. Here a plain thread keeps a pair ready at every
// instant for the whole test while a goroutine runs the non-blocking select
// over and over, stopping at the first false default.
//
// The window is two polls apart, far too narrow to hit often by chance (the
// issue saw 3-12 false defaults per 5M rounds). So each select also has a
// never-ready channel `gate`, and the thread moves the value only while it
// holds gate's lock (white-box: the channel's spinlock). A select whose pass
// 1 polls the empty channel, then gate, then the full one stalls on gate
// while the value moves under it. This works even when the two threads share
// one core: the stalled select yields the core while it spins. Holding gate
// while taking c1/c2 is deadlock-free only because gate's lock has the lowest
// address of the select's channels (pass 2 takes them in address order, gate
// first); the test picks gate that way.
//
// Shown to fail on the unfixed engine (81d7e91), release, with the machine
// shared with parallel compiles: all 36 instances of 4 runs (3 tests x 3
// worker counts) failed, after a median of ~40k steps of the other thread
// (max ~390k; kSteps below is 300k).
//
// The public-API version, without the gate, is in the stress tier
// (tests/stress/select_atomic_stress_test.cpp).
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <ostream>
#include <thread>

#include "goro_test.hpp"

using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class SelectDefaultNotAtomic : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(SelectDefaultNotAtomic);

constexpr goro::send_status kOk = goro::send_status::ok;

// The selector runs until the other thread has made kSteps steps (so the two
// really interleave, even when they share a core and the selector could
// finish a fixed round count within one time slice), or kMaxRounds rounds.
const long kSteps = scaled(300'000);
const long kMaxRounds = 50 * kSteps;

goro::detail::spinlock& lock_of(const goro::receiver<int>& r) {
  return goro::detail::chan_access::state_of(r)->mu;
}
const void* addr_of(const goro::receiver<int>& r) { return goro::detail::chan_access::state_of(r); }

// N channels of capacity 1, the one with the lowest lock address first.
template <std::size_t N>
std::array<goro::chan<int>, N> chans_gate_first() {
  std::array<goro::chan<int>, N> c;
  for (auto& x : c) x = goro::make_chan<int>(1);
  std::sort(c.begin(), c.end(), [](const goro::chan<int>& a, const goro::chan<int>& b) {
    return std::less<const void*>()(addr_of(a), addr_of(b));
  });
  return c;
}

// Holds gate's lock across `step`, then leaves it free for a moment so that
// a select stalled on it gets through.
template <class Step>
void under_gate(goro::detail::spinlock& gate, std::atomic<long>& steps, Step step) {
  gate.lock();
  step();
  gate.unlock();
  steps.fetch_add(1, std::memory_order_relaxed);
  for (int i = 0; i < 32; ++i) goro::detail::cpu_relax();
}

// Two capacity-1 channels and two tokens. The mover keeps one token in its
// hand and moves the other from one channel to the other at each step,
// filling the other channel before it empties this one. The selector gives
// a token it received straight back. While the selector is inside its select
// it holds no token and the mover at most one, so c1 or c2 holds a value at
// every instant: a default (or an expired timeout) there is a false one.
void mover(goro::chan<int> gate, goro::chan<int> c1, goro::chan<int> c2, const std::atomic<bool>& stop,
           std::atomic<long>& steps) {
  goro::chan<int>* c[2] = {&c1, &c2};
  bool hand = true;
  int t = 1;
  while (!stop.load(std::memory_order_relaxed)) {
    under_gate(lock_of(gate), steps, [&] {
      if (hand && c[t]->try_send(1) == kOk) hand = false;
      if (!hand && c[1 - t]->try_recv()) hand = true;
    });
    t ^= 1;
  }
}

// Where the first false default came, if any.
struct outcome {
  long round = -1;  // -1: none
  long steps = 0;   // the other thread's steps by then
};
std::ostream& operator<<(std::ostream& os, const outcome& o) {
  return os << "round " << o.round << ", after " << o.steps << " steps of the other thread";
}

// Runs select(recv(c1), recv(c2), recv(gate), make_tail()) against the mover,
// where the tail is the default or an expired timeout, until the tail fires
// or the mover has made kSteps steps.
template <class MakeTail>
outcome pair_against_mover(goro::runtime& rt, MakeTail make_tail) {
  auto ch = chans_gate_first<3>();
  goro::chan<int> gate = ch[0], c1 = ch[1], c2 = ch[2];
  EXPECT_TRUE(std::less<const void*>()(addr_of(gate), addr_of(c1)));
  EXPECT_TRUE(std::less<const void*>()(addr_of(gate), addr_of(c2)));
  EXPECT_EQ(c1.try_send(1), kOk);
  std::atomic<bool> stop{false};
  std::atomic<long> steps{0};
  std::thread m(mover, gate, c1, c2, std::cref(stop), std::ref(steps));
  outcome failed;
  rt.run([&]() -> goro::task<> {
    for (long i = 0; steps.load(std::memory_order_relaxed) < kSteps && i < kMaxRounds; ++i) {
      auto op = goro::select(goro::recv(c1), goro::recv(c2), goro::recv(gate), make_tail());
      auto r = co_await op;
      if (r.index() == 3) {
        failed = {i, steps.load(std::memory_order_relaxed)};
        break;
      }
      EXPECT_NE(r.index(), 2u) << "gate is never ready";
      // Give the token back: the channels hold at most one token now, so
      // one of them has room.
      if (c1.try_send(1) != kOk && c2.try_send(1) != kOk) {
        ADD_FAILURE() << "no room to give the token back (round " << i << ")";
        break;
      }
    }
  });
  stop = true;
  m.join();
  return failed;
}

TEST_P(SelectDefaultNotAtomic, DefaultOnlyWhenNoCaseIsReady) {
  const outcome failed = pair_against_mover(rt(), [] { return goro::default_case; });
  EXPECT_EQ(failed.round, -1) << "select took its default while c1 or c2 held a value (" << failed << ")";
}

TEST_P(SelectDefaultNotAtomic, ExpiredTimeoutOnlyWhenNoCaseIsReady) {
  // A deadline long past: the timeout is ready at once, like a default.
  const outcome failed = pair_against_mover(
      rt(), [] { return goro::deadline(std::chrono::steady_clock::time_point{}); });
  EXPECT_EQ(failed.round, -1) << "select took its expired timeout while c1 or c2 held a value (" << failed
                              << ")";
}

TEST_P(SelectDefaultNotAtomic, SendAndRecvOnOneChannel) {
  // One capacity-1 channel that the flipper fills or drains at each step: at
  // every instant it is empty (the send case is ready) or full (the receive
  // case is). Pass 1 polled the receive (empty), the flipper filled the
  // channel, pass 1 polled the send (full): default. Pass 2 locks the channel
  // once and polls both cases at one instant.
  auto ch = chans_gate_first<2>();
  goro::chan<int> gate = ch[0], c = ch[1];
  EXPECT_TRUE(std::less<const void*>()(addr_of(gate), addr_of(c)));
  std::atomic<bool> stop{false};
  std::atomic<long> steps{0};
  std::thread f([&stop, &steps, gate, c] {
    while (!stop.load(std::memory_order_relaxed)) {
      under_gate(lock_of(gate), steps, [&] {
        if (c.try_send(1) != kOk) (void)c.try_recv();
      });
    }
  });
  outcome failed;
  rt().run([&]() -> goro::task<> {
    for (long i = 0; steps.load(std::memory_order_relaxed) < kSteps && i < kMaxRounds; ++i) {
      auto op = goro::select(goro::send(c, 1), goro::recv(c), goro::recv(gate), goro::default_case);
      auto r = co_await op;
      if (r.index() == 3) {
        failed = {i, steps.load(std::memory_order_relaxed)};
        break;
      }
      EXPECT_NE(r.index(), 2u) << "gate is never ready";
    }
  });
  stop = true;
  f.join();
  EXPECT_EQ(failed.round, -1) << "select took its default while its channel was empty or full (" << failed
                              << ")";
}

}  // namespace

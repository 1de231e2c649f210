// Stress: a non-blocking select is atomic (docs/design/channels.md, "A
// non-blocking select is atomic"). Another thread keeps some case of the
// select ready at every instant, using only non-blocking operations, while
// selects with a default (or an expired timeout) run over and over: any
// default taken is a failure. This is the public-API form of
// tests/regression/select_default_not_atomic_test.cpp (which adds a lock
// "gate" to land in the window on purpose); here the window is hit only by
// chance, so it runs longer, with never-ready padding channels in each select
// to widen the window between the polls of the live cases.
//
// Each selector runs kRounds rounds and, beyond that, until the other thread
// has made kSteps steps (so the threads really interleave even when they
// share a core and a selector could finish its rounds in one time slice),
// with a cap on the rounds in case that thread gets no CPU at all.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>
#include <utility>
#include <vector>

#include "goro_test.hpp"

using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class SelectAtomicStress : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(SelectAtomicStress);

constexpr goro::send_status kOk = goro::send_status::ok;
constexpr std::size_t kPad = 6;  // never-ready channels in each select
constexpr std::size_t kTail = kPad + 2;
using pad_chans = std::array<goro::chan<int>, kPad>;

const long kRounds = scaled(1'000'000);
const long kSteps = scaled(1'000'000);
const long kMaxRounds = 20 * kRounds;

pad_chans make_pads() {
  pad_chans p;
  for (auto& c : p) c = goro::make_chan<int>(1);
  return p;
}

// Two capacity-1 channels, two tokens: the mover keeps one in its hand and
// moves the other between c1 and c2, filling one channel before it empties
// the other. The selector gives back at once a token it received; inside its
// select it holds none and the mover at most one, so c1 or c2 holds a value
// at every instant.
void mover(goro::chan<int> c1, goro::chan<int> c2, const std::atomic<bool>& stop, std::atomic<long>& steps) {
  goro::chan<int>* c[2] = {&c1, &c2};
  bool hand = true;
  int t = 1;
  while (!stop.load(std::memory_order_relaxed)) {
    if (hand && c[t]->try_send(1) == kOk) hand = false;
    if (!hand && c[1 - t]->try_recv()) hand = true;
    t ^= 1;
    steps.fetch_add(1, std::memory_order_relaxed);
  }
}

// A capacity-1 channel filled and drained without pause: at every instant it
// is empty (a send case is ready) or full (a receive case is).
void flipper(goro::chan<int> c, const std::atomic<bool>& stop, std::atomic<long>& steps) {
  while (!stop.load(std::memory_order_relaxed)) {
    if (c.try_send(1) != kOk) (void)c.try_recv();
    steps.fetch_add(1, std::memory_order_relaxed);
  }
}

// The live cases sit among the padding (argument order does not matter, the
// poll order is random; the tail is the last case).
template <class Tail, std::size_t... I>
auto pair_select(goro::chan<int>& c1, goro::chan<int>& c2, pad_chans& p, Tail tail, std::index_sequence<I...>) {
  return goro::select(goro::recv(c1), goro::recv(p[I])..., goro::recv(c2), std::move(tail));
}
template <std::size_t... I>
auto same_chan_select(goro::chan<int>& c, pad_chans& p, std::index_sequence<I...>) {
  return goro::select(goro::send(c, 1), goro::recv(p[I])..., goro::recv(c), goro::default_case);
}

struct pair_fixture {
  goro::chan<int> c1 = goro::make_chan<int>(1);
  goro::chan<int> c2 = goro::make_chan<int>(1);
  pad_chans pads = make_pads();
  std::atomic<bool> stop{false};
  std::atomic<long> steps{0};
  std::thread m;
  pair_fixture() {
    EXPECT_EQ(c1.try_send(1), kOk);
    m = std::thread(mover, c1, c2, std::cref(stop), std::ref(steps));
  }
  ~pair_fixture() {
    stop = true;
    m.join();
  }
  bool more(long round) const {
    return (round < kRounds || steps.load(std::memory_order_relaxed) < kSteps) && round < kMaxRounds;
  }
  // After a channel case fired: the channels hold at most one token, so one
  // of them has room.
  bool give_back() { return c1.try_send(1) == kOk || c2.try_send(1) == kOk; }
};

TEST_P(SelectAtomicStress, MovingValueNeverMissedByDefault) {
  pair_fixture f;
  long false_defaults = 0, received = 0;
  rt().run([&]() -> goro::task<> {
    for (long i = 0; f.more(i); ++i) {
      auto op = pair_select(f.c1, f.c2, f.pads, goro::default_case, std::make_index_sequence<kPad>{});
      auto r = co_await op;
      if (r.index() == kTail) {
        ++false_defaults;
        break;
      }
      ++received;
      if (!f.give_back()) {
        ADD_FAILURE() << "no room to give the token back";
        break;
      }
    }
  });
  EXPECT_EQ(false_defaults, 0) << "default taken while c1 or c2 held a value, after " << received
                               << " receives";
  EXPECT_GT(received, 0);
}

TEST_P(SelectAtomicStress, MovingValueNeverMissedByExpiredTimeoutOnAThread) {
  // The plain-thread form (blocking_select never blocks here: the timeout
  // has long expired).
  pair_fixture f;
  long false_timeouts = 0, received = 0;
  for (long i = 0; f.more(i); ++i) {
    auto r = pair_select(f.c1, f.c2, f.pads, goro::deadline(std::chrono::steady_clock::time_point{}),
                         std::make_index_sequence<kPad>{})
                 .blocking();
    if (r.index() == kTail) {
      ++false_timeouts;
      break;
    }
    ++received;
    ASSERT_TRUE(f.give_back()) << "no room to give the token back";
  }
  EXPECT_EQ(false_timeouts, 0) << "expired timeout taken while c1 or c2 held a value, after " << received
                               << " receives";
  EXPECT_GT(received, 0);
}

TEST_P(SelectAtomicStress, OneChannelManySelectors) {
  // workers() goroutines and one plain thread run select(send(c), recv(c),
  // padding, default) while the flipper fills and drains c: each operation on c
  // (theirs too) leaves it empty or full, so a send or a receive case is
  // always ready.
  auto c = goro::make_chan<int>(1);
  pad_chans pads = make_pads();
  std::atomic<bool> stop{false};
  std::atomic<long> steps{0};
  std::atomic<long> false_defaults{0}, fired{0};
  std::thread flip(flipper, c, std::cref(stop), std::ref(steps));
  const long per = kRounds / (workers() + 1);  // about kRounds selects in all
  auto more = [&](long round) {
    return (round < per || steps.load(std::memory_order_relaxed) < kSteps) && round < kMaxRounds;
  };
  std::thread plain([&] {
    for (long i = 0; more(i) && false_defaults.load() == 0; ++i) {
      auto r = same_chan_select(c, pads, std::make_index_sequence<kPad>{}).blocking();
      if (r.index() == kTail) false_defaults.fetch_add(1);
      else fired.fetch_add(1, std::memory_order_relaxed);
    }
  });
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (unsigned g = 0; g < workers(); ++g) {
      wg.go([&]() -> goro::task<> {
        for (long i = 0; more(i) && false_defaults.load() == 0; ++i) {
          auto op = same_chan_select(c, pads, std::make_index_sequence<kPad>{});
          auto r = co_await op;
          if (r.index() == kTail) false_defaults.fetch_add(1);
          else fired.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    co_await wg.wait();
  });
  plain.join();
  stop = true;
  flip.join();
  EXPECT_EQ(false_defaults.load(), 0) << "default taken while c was empty or full";
  EXPECT_GT(fired.load(), 0);
}

}  // namespace

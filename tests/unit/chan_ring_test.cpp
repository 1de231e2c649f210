// The lock-free ring of buffered channels (include/goro/detail/chan_state.hpp,
// docs/design/channels.md "The lock-free ring"), white-box: positions that
// wrap around their 62 bits, full / empty / closed answers, len(), and the
// freeze that sends every lock-free operation to the channel lock.
#include <optional>

#include "goro_test.hpp"

namespace {
using goro::detail::chan_state;
using goro::detail::ring_result;

constexpr std::size_t kLapsBeforeWrap(std::size_t one_lap) {
  return ((std::size_t{1} << 62) / one_lap) - 2;  // two laps before the positions wrap
}

// FIFO across the wrap of the position bits, at several capacities (one_lap
// is the power of two above the capacity: 2, 4, 8, 8, 16).
TEST(ChanRing, FifoAcrossPositionWrap) {
  for (std::size_t cap : {1u, 3u, 5u, 7u, 8u}) {
    std::size_t one_lap = 1;
    while (one_lap <= cap) one_lap <<= 1;
    auto* c = new chan_state<int>(cap, kLapsBeforeWrap(one_lap));
    int next_in = 0, next_out = 0;
    // 5 laps: through the wrap and beyond, filling to full and draining to
    // empty on alternate rounds.
    for (int round = 0; round < static_cast<int>(5 * cap) + 5; ++round) {
      const std::size_t fill = round % 2 ? cap : 1 + round % cap;
      for (std::size_t i = 0; i < fill; ++i) {
        int v = next_in;
        ASSERT_EQ(c->try_send_fast(v), ring_result::done) << "cap " << cap << " round " << round;
        ++next_in;
      }
      EXPECT_EQ(c->len(), fill);
      if (fill == cap) {
        int v = -1;
        EXPECT_EQ(c->try_send_fast(v), ring_result::empty_or_full);
        EXPECT_EQ(v, -1);  // not moved from
      }
      for (std::size_t i = 0; i < fill; ++i) {
        std::optional<int> out;
        ASSERT_EQ(c->try_recv_fast(out), ring_result::done);
        EXPECT_EQ(*out, next_out++);
      }
      std::optional<int> none;
      EXPECT_EQ(c->try_recv_fast(none), ring_result::empty_or_full);
      EXPECT_EQ(c->len(), 0u);
    }
    c->release();
  }
}

// While frozen (a waiter is queued, or select's pass 2 runs), lock-free
// operations give up; the locked ones still work; thaw lets them run again
// once the ring is neither empty nor full.
TEST(ChanRing, FrozenRingSendsEveryoneToTheLock) {
  auto* c = new chan_state<int>(4);
  int v = 1;
  ASSERT_EQ(c->try_send_fast(v), ring_result::done);
  {
    goro::detail::lock_guard l(c->mu);
    c->freeze();
  }
  int w = 2;
  EXPECT_EQ(c->try_send_fast(w), ring_result::slow);
  std::optional<int> out;
  EXPECT_EQ(c->try_recv_fast(out), ring_result::slow);
  {
    goro::detail::lock_guard l(c->mu);
    goro::detail::chan_waiter* wake = nullptr;
    EXPECT_EQ(c->send_locked(w, &wake), goro::detail::op_result::done);  // thaws: 2 of 4
  }
  ASSERT_EQ(c->try_recv_fast(out), ring_result::done);
  EXPECT_EQ(*out, 1);
  c->release();
}

// A lone send on a full ring waits for a batch of free slots (spin_push),
// but a single free slot is still taken once the spin is over, across the
// wrap of the positions too; a ring that stays full answers full without
// moving the value, and a frozen one answers slow.
TEST(ChanRing, SpinPushTakesASingleFreeSlotAndKeepsOrder) {
  for (std::size_t cap : {1u, 3u, 8u}) {
    std::size_t one_lap = 1;
    while (one_lap <= cap) one_lap <<= 1;
    auto* c = new chan_state<int>(cap, kLapsBeforeWrap(one_lap));
    int next_in = 0, next_out = 0;
    for (std::size_t i = 0; i < cap; ++i) {
      int v = next_in++;
      ASSERT_EQ(c->try_send_fast(v), ring_result::done);
    }
    for (int round = 0; round < static_cast<int>(4 * cap) + 4; ++round) {  // through the wrap
      int stuck = -1;
      EXPECT_EQ(c->spin_push(stuck), ring_result::empty_or_full) << "cap " << cap;
      EXPECT_EQ(stuck, -1);  // not moved from
      std::optional<int> out;
      ASSERT_EQ(c->try_recv_fast(out), ring_result::done);  // one slot frees, fewer than a batch
      EXPECT_EQ(*out, next_out++);
      int v = next_in;
      ASSERT_EQ(c->spin_push(v), ring_result::done) << "cap " << cap << " round " << round;
      ++next_in;
      EXPECT_EQ(c->len(), cap);
    }
    {
      goro::detail::lock_guard l(c->mu);
      c->freeze();
    }
    int v = -1;
    EXPECT_EQ(c->spin_push(v), ring_result::slow);
    {
      goro::detail::lock_guard l(c->mu);
      goro::detail::chan_waiter* wake = nullptr;
      std::optional<int> out;
      while (c->recv_locked(out, &wake) == goro::detail::op_result::done) {
        EXPECT_EQ(*out, next_out++);
        out.reset();
      }
    }
    EXPECT_EQ(next_out, next_in);
    c->release();
  }
}

// Closed: senders give up to the lock (which reports closed); receivers drain
// what is left, then see closed without the lock.
TEST(ChanRing, ClosedRingDrainsThenReportsClosed) {
  auto ch = goro::make_chan<int>(3);
  EXPECT_EQ(ch.try_send(1), goro::send_status::ok);
  EXPECT_EQ(ch.try_send(2), goro::send_status::ok);
  EXPECT_TRUE(ch.close());
  EXPECT_EQ(ch.try_send(3), goro::send_status::closed);
  EXPECT_EQ(*ch.try_recv(), 1);
  EXPECT_EQ(*ch.try_recv(), 2);
  EXPECT_EQ(ch.try_recv().status, goro::recv_status::closed);
  EXPECT_EQ(ch.len(), 0u);
}

}  // namespace

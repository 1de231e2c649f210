// global_queue (src/runtime_impl.hpp): the run queue shared by a runtime's
// workers keeps goroutine pointers in a ring that grows by doubling and is
// freed once drained if large. These tests drive it alone, with control
// blocks nobody runs, and check that it stays FIFO across growth, wrap-around
// and the freeing of a drained ring, and that a batch never overfills the
// taker's local queue. (Its list fallback, for when the ring cannot grow,
// is tested in tests/oom/, which can make the allocation fail.)
#include <cstdint>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "runtime_impl.hpp"

namespace {

using goro::detail::global_queue;
using goro::detail::goroutine;
using goro::detail::local_queue;

// Takes everything from q through batches of at most `max`, emptying the
// local queue after each; appends the order seen to `out`.
void drain(global_queue& q, local_queue& lq, std::uint32_t max, std::vector<goroutine*>& out) {
  while (goroutine* g = q.pop_batch(lq, max)) {
    out.push_back(g);
    while (goroutine* h = lq.pop()) out.push_back(h);
  }
}

TEST(GlobalQueue, StaysFifoAcrossGrowthWrapAndFreeing) {
  const int n = 20'000;  // grows the ring past the size it keeps when drained
  auto gs = std::make_unique<goroutine[]>(n);
  global_queue q;
  local_queue lq;
  std::vector<goroutine*> seen;
  int next = 0;
  // Pushes in arrays of 1..129 (a local queue's overflow is 129), taking a
  // batch now and then so that the ring's head moves and it wraps.
  for (std::uint32_t k = 1; next < n; k = k % 129 + 1) {
    std::vector<goroutine*> arr;
    for (std::uint32_t i = 0; i < k && next < n; ++i) arr.push_back(&gs[next++]);
    q.push_array(arr.data(), static_cast<std::uint32_t>(arr.size()));
    if (k % 7 == 0) {
      if (goroutine* g = q.pop_batch(lq, 64)) seen.push_back(g);
      while (goroutine* h = lq.pop()) seen.push_back(h);
    }
  }
  EXPECT_EQ(q.size(), static_cast<std::size_t>(n) - seen.size());
  drain(q, lq, local_queue::kSize / 2, seen);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(seen[i], &gs[i]) << "position " << i;
  EXPECT_EQ(q.size(), 0u);
  // After the large ring was freed, the queue works as new.
  seen.clear();
  for (int i = 0; i < 1000; ++i) q.push(&gs[i]);
  drain(q, lq, 1, seen);  // the fairness tick's single pops
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(seen[i], &gs[i]);
}

TEST(GlobalQueue, BatchNeverOverfillsTheTakersLocalQueue) {
  const int n = 600;
  auto gs = std::make_unique<goroutine[]>(n);
  global_queue q;
  local_queue lq;
  for (int i = 0; i < n; ++i) q.push(&gs[i]);
  // Leave room for 10 in the local queue: a batch is at most 10 pushed plus
  // the one returned.
  auto filler = std::make_unique<goroutine[]>(local_queue::kSize - 10);
  for (std::uint32_t i = 0; i < local_queue::kSize - 10; ++i) ASSERT_TRUE(lq.push(&filler[i]));
  goroutine* g = q.pop_batch(lq, local_queue::kSize / 2);
  EXPECT_EQ(g, &gs[0]);
  EXPECT_EQ(lq.size(), local_queue::kSize);
  EXPECT_EQ(q.size(), static_cast<std::size_t>(n - 11));
  // A full local queue: one taken, none pushed.
  EXPECT_EQ(q.pop_batch(lq, local_queue::kSize / 2), &gs[11]);
  EXPECT_EQ(q.size(), static_cast<std::size_t>(n - 12));
  q.clear();
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.pop_batch(lq, 1), nullptr);
}

}  // namespace

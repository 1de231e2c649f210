// Regression: a goroutine that read a `thread_local std::mt19937 rng` around
// a co_await hung a rate-limited client (GCC 12, -O2): the compiler computes
// a thread_local's address once and keeps it in the coroutine frame, and the
// goroutine resumes on another worker, so two workers drove one generator at
// once. goro offered no safe alternative. goro::rand now keeps per-thread
// state behind a function that is never inlined, so each draw reads the state
// of the worker the goroutine runs on at that moment.
//
// Detection: pairs of goroutines ping-pong over channels on 8 workers (a
// wake moves the woken goroutine to the waker's worker) and draw 64-bit
// values around each suspension.
// With one state shared by two workers, racing draws repeat values (both read
// the same state and store the same successor) and TSan reports the race;
// with per-worker state a repeat among these draws has probability < 2^-30.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "goro_test.hpp"

using goro_test::scaled;

namespace {

// One round: draw, yield, draw, hand the turn to the partner over an
// unbuffered channel, draw. A wake queues the woken goroutine on the waker's
// worker, so partners on different workers migrate on every round.
goro::task<std::vector<std::uint64_t>> player(goro::chan<int> mine, goro::chan<int> theirs,
                                              bool serve, int rounds) {
  std::vector<std::uint64_t> out;
  out.reserve(static_cast<std::size_t>(rounds) * 3);
  goro::rand::source src;
  if (serve) (void)co_await theirs.send(0);
  for (int i = 0; i < rounds; ++i) {
    auto turn = co_await mine.recv();
    if (!turn) break;
    out.push_back(goro::rand::uint64());
    co_await goro::yield();
    out.push_back(src());
    if (i + 1 < rounds || !serve) {
      auto st = co_await theirs.send(i);
      if (st != goro::send_status::ok) break;
    }
    out.push_back(goro::rand::uint64());
  }
  co_return out;
}

TEST(ThreadLocalRngAcrossCoAwait, DrawsNeverRepeatAcrossWorkers) {
  goro::runtime_options o;
  o.workers = 8;
  goro::runtime rt(o);
  const int pairs = 32, rounds = scaled(3'000);
  std::vector<goro::join_handle<std::vector<std::uint64_t>>> hs;
  for (int p = 0; p < pairs; ++p) {
    auto a = goro::make_chan<int>();
    auto b = goro::make_chan<int>();
    hs.push_back(rt.spawn(player, a, b, true, rounds));
    hs.push_back(rt.spawn(player, b, a, false, rounds));
  }
  std::vector<std::uint64_t> all;
  for (auto& h : hs) {
    auto v = std::move(h).join();
    EXPECT_EQ(v.size(), static_cast<std::size_t>(rounds) * 3);
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  auto dup = std::adjacent_find(all.begin(), all.end());
  EXPECT_TRUE(dup == all.end()) << "value drawn twice: " << *dup;
  goro_test::expect_no_leaks(rt);
}

}  // namespace

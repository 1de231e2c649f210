// Regression: a sync_map scan went round as long as other callers kept
// asking. A call that finds a scan running sets "go round again" and
// returns; the scanning call answered every such request with one more
// round before it could return, so callers that keep retiring (each clear
// of a non-empty map retires a snapshot and asks for a full scan) could
// keep one caller inside its call indefinitely. Now a scan goes round at
// most kMaxScanRounds (4) times; what was asked for after that is owed by
// the next call of any kind (pending_).
//
// The test asks for another round from every round of one call's scan (the
// map's test seam, keyed on a Hash type of the test's own: another thread
// retires a snapshot that holds a value, which asks), and counts the
// rounds. Before the fix the rounds stopped only when the test stopped
// asking (at kGiveUp). Then it checks that what the last round left is
// freed by the next call, one that retires nothing itself.
#include <atomic>
#include <functional>
#include <thread>

#include "goro_test.hpp"

namespace {

struct counted {
  counted() { ++alive; }
  counted(const counted&) { ++alive; }
  counted(counted&&) noexcept { ++alive; }
  counted& operator=(const counted&) = default;
  ~counted() { --alive; }
  static inline std::atomic<int> alive{0};
};

struct rounds_hash : std::hash<int> {};
using rounds_map = goro::sync_map<int, counted, rounds_hash>;

constexpr int kGiveUp = 1000;
rounds_map* asking = nullptr;  // set: every round of a scan asks for another
int rounds = 0;

}  // namespace

template <>
struct goro::detail::sync_map_testing<rounds_hash> {
  static void round_ending() noexcept {
    if (asking == nullptr || ++rounds > kGiveUp) return;
    rounds_map* m = asking;
    // The store's key reaches the read snapshot (the missed loads promote
    // the dirty map), and clear retires that snapshot, which still holds
    // the value: it finds the scan running, asks for another round and
    // returns.
    std::thread([m] {
      m->store(1, counted{});
      for (int i = 0; i < 4; ++i) (void)m->load(1);
      m->clear();
    }).join();
  }
};
static_assert(requires { goro::detail::sync_map_testing<rounds_hash>::round_ending(); });

namespace {

TEST(SyncMapScanGoesRoundIndefinitely, AScanStopsAnsweringOtherCallersAfterFewRounds) {
  {
    rounds_map m;
    rounds = 0;
    asking = &m;
    m.store(0, counted{});  // publishes an amended snapshot: this call scans everything
    asking = nullptr;
    EXPECT_EQ(rounds, 4) << "the scan went round " << rounds << " times for other callers";
    // The last round's request was left: the snapshot it retired still
    // holds a value. It is owed, not lost: the next call of any kind (here
    // one that retires nothing) scans and frees it.
    EXPECT_GT(counted::alive.load(), 0) << "nothing was left for the next call";
    EXPECT_FALSE(m.erase(5));
    EXPECT_EQ(counted::alive.load(), 0) << "the owed scan did not run";
  }
  EXPECT_EQ(counted::alive.load(), 0);
}

}  // namespace

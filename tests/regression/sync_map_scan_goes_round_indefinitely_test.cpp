// Regression: a sync_map scan went round as long as other callers kept
// asking. A call that finds a scan running sets "go round again" and
// returns; the scanning call answered every such request with one more
// round before it could return, so callers that keep retiring (each store
// of a new key into an unamended map, each clear, retires a snapshot and
// asks for a full scan) could keep one caller inside its call
// indefinitely. Now a scan goes round at most kMaxScanRounds (4) times;
// what was asked for after that is owed by the next call of any kind
// (pending_).
//
// The test asks for another round from every round of one call's scan (the
// map's test seam, keyed on a Hash type of the test's own: another thread
// stores and clears, each of which asks), and counts the rounds. Before the
// fix the rounds stopped only when the test stopped asking (at kGiveUp).
#include <atomic>
#include <functional>
#include <thread>

#include "goro_test.hpp"

namespace {

struct rounds_hash : std::hash<int> {};
using rounds_map = goro::sync_map<int, int, rounds_hash>;

constexpr int kGiveUp = 1000;
rounds_map* asking = nullptr;  // set: every round of a scan asks for another
int rounds = 0;

}  // namespace

template <>
struct goro::detail::sync_map_testing<rounds_hash> {
  static void round_ending() noexcept {
    if (asking == nullptr || ++rounds > kGiveUp) return;
    rounds_map* m = asking;
    // Each call finds the scan running, asks for another round and returns.
    std::thread([m] {
      m->store(1, 1);
      m->clear();
    }).join();
  }
};

namespace {

TEST(SyncMapScanGoesRoundIndefinitely, AScanStopsAnsweringOtherCallersAfterFewRounds) {
  rounds_map m;
  rounds = 0;
  asking = &m;
  m.store(0, 0);  // publishes an amended snapshot: this call scans everything
  asking = nullptr;
  EXPECT_GE(rounds, 2) << "the seam never asked for another round";
  EXPECT_LE(rounds, 4) << "the scan went round " << rounds << " times for other callers";
  // What was left is owed, not lost: the next call of any kind scans, and
  // the map's contents are as the calls left them (cleared, then nothing).
  m.store(2, 2);
  EXPECT_FALSE(m.load(0).has_value());
  EXPECT_EQ(m.load(2), 2);
}

}  // namespace

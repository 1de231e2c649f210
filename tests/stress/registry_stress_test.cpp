// registry_stress_test.cpp — the goroutine registry (src/registry.cpp):
// removals from other workers free slots without the shard lock, readers
// (dumps) run beside spawns and exits, and slots live in segments that grow
// past the first 1024 of a shard. ASan/TSan check that no reader touches a
// control block after its frame is freed.
#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "goro_test.hpp"

namespace {

using goro_test::scaled;

class RegistryStress : public goro_test::RuntimeTest {};

// More goroutines than one segment holds (1024 per shard at first), all
// parked at once: each is counted and shows up in a snapshot exactly once.
TEST_P(RegistryStress, RegistryCountsAndListsGoroutinesBeyondTheFirstSegment) {
  const int n = scaled(5000) < 2100 ? 2100 : scaled(5000);
  rt().run([&]() -> goro::task<> {
    auto gate = goro::make_chan<void>(0);
    goro::wait_group parked;
    parked.add(n);
    goro::wait_group exited;
    for (int i = 0; i < n; ++i)
      exited.go([](goro::receiver<void> gate, goro::wait_group* parked) -> goro::task<> {
        parked->done();
        (void)co_await gate.recv();
      }, gate.recv_end(), &parked);
    co_await parked.wait();
    // n children plus this goroutine.
    EXPECT_EQ(rt().live_goroutines(), static_cast<std::size_t>(n) + 1);
    std::vector<goro::goroutine_info> all = rt().goroutines();
    EXPECT_EQ(all.size(), static_cast<std::size_t>(n) + 1);
    std::set<std::uint64_t> ids;
    for (const auto& g : all) ids.insert(g.id);
    EXPECT_EQ(ids.size(), all.size()) << "a goroutine listed twice";
    gate.close();
    co_await exited.wait();
  });
  EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
  EXPECT_EQ(rt().live_goroutines(), 0u);
}

// Spawn and exit churn on every worker (goroutines spawned on one worker and
// finished on another free their slots remotely) while a plain thread keeps
// reading the registry. Every snapshot lists distinct, started goroutines
// and never more than are live at most. The churn goes on until the reader
// has taken kSnapshots snapshots (no timing: the two overlap by
// construction).
TEST_P(RegistryStress, RegistryReadersRunBesideSpawnAndRemoteExit) {
  constexpr int rounds = scaled(200);
  constexpr int kPerRound = 64;
  constexpr long kSnapshots = 20;
  std::atomic<bool> stop{false};
  std::atomic<long> snapshots{0};
  std::thread reader([&] {
    while (!stop.load(std::memory_order_acquire)) {
      std::vector<goro::goroutine_info> all = rt().goroutines();
      std::set<std::uint64_t> ids;
      for (const auto& g : all) {
        EXPECT_NE(g.id, 0u);
        EXPECT_NE(g.file, nullptr);
        ids.insert(g.id);
      }
      EXPECT_EQ(ids.size(), all.size()) << "a goroutine listed twice";
      // Spawners (4) and their children (4 * kPerRound) and the root at most.
      EXPECT_LE(all.size(), 4u * kPerRound + 4u + 1u);
      snapshots.fetch_add(1, std::memory_order_release);
    }
  });
  std::atomic<long> ran{0}, spawned{0};
  rt().run([&]() -> goro::task<> {
    goro::wait_group spawners;
    for (int s = 0; s < 4; ++s)
      spawners.go([&ran, &spawned, &snapshots]() -> goro::task<> {
        for (int r = 0; r < rounds || snapshots.load(std::memory_order_acquire) < kSnapshots; ++r) {
          goro::wait_group wg;
          for (int i = 0; i < kPerRound; ++i)
            wg.go([&ran]() -> goro::task<> {
              ran.fetch_add(1, std::memory_order_relaxed);
              co_return;
            });
          spawned.fetch_add(kPerRound, std::memory_order_relaxed);
          co_await wg.wait();
        }
      });
    co_await spawners.wait();
  });
  stop.store(true, std::memory_order_release);
  reader.join();
  EXPECT_EQ(ran.load(), spawned.load());
  EXPECT_GE(spawned.load(), 4L * rounds * kPerRound);
  EXPECT_GE(snapshots.load(), kSnapshots);
  EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
}

// Joinable goroutines whose handles are dropped on a plain thread: the frame
// (and its slot) is released off every worker, through the remote path.
TEST_P(RegistryStress, RegistrySlotsFreedFromPlainThreadsAreReused) {
  const int n = scaled(3000);
  for (int round = 0; round < 3; ++round) {
    std::vector<goro::join_handle<int>> hs;
    hs.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) hs.push_back(rt().spawn([i]() -> goro::task<int> { co_return i; }));
    long sum = 0;
    for (auto& h : hs) sum += std::move(h).join();
    EXPECT_EQ(sum, static_cast<long>(n) * (n - 1) / 2);
    hs.clear();
    EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
    EXPECT_EQ(rt().live_goroutines(), 0u);
  }
}

GORO_INSTANTIATE_WORKERS(RegistryStress);

}  // namespace

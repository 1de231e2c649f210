// Unit tests: goro::pool — the bounded free list (leaky buffer): get makes
// or reuses, put keeps up to capacity and never blocks, the RAII handle
// returns its object, the reset hook runs on every put.
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"

using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class Pool : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Pool);

struct Buffer {
  std::string data;
  int resets = 0;
};

TEST_P(Pool, GetMakesANewObjectWhenEmpty) {
  int made = 0;
  goro::pool<Buffer> p(2, [&] {
    ++made;
    return std::make_unique<Buffer>();
  });
  auto a = p.get();
  auto b = p.get();
  EXPECT_NE(a, nullptr);
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(made, 2);
  EXPECT_EQ(p.idle(), 0u);
  EXPECT_EQ(p.capacity(), 2u);
}

TEST_P(Pool, PutKeepsUpToCapacityThenDrops) {
  goro::pool<Buffer> p(2);
  auto a = p.get(), b = p.get(), c = p.get();
  EXPECT_TRUE(p.put(std::move(a)));
  EXPECT_TRUE(p.put(std::move(b)));
  EXPECT_FALSE(p.put(std::move(c)));  // full: dropped, and put did not block
  EXPECT_EQ(p.idle(), 2u);
}

// A large pool is split into stripes (one list per few threads): the
// capacity still holds in total, whichever stripes the objects land in.
TEST_P(Pool, ALargePoolKeepsExactlyItsCapacityAcrossItsStripes) {
  int made = 0;
  goro::pool<Buffer> p(64, [&] {
    ++made;
    return Buffer{};
  });
  std::vector<std::unique_ptr<Buffer>> out;
  for (int i = 0; i < 100; ++i) out.push_back(p.get());
  int kept = 0;
  for (auto& b : out) kept += p.put(std::move(b)) ? 1 : 0;
  EXPECT_EQ(kept, 64);
  EXPECT_EQ(p.idle(), 64u);
  for (int i = 0; i < 64; ++i) out[static_cast<std::size_t>(i)] = p.get();  // all from the pool
  EXPECT_EQ(made, 100);
  EXPECT_EQ(p.idle(), 0u);
}

TEST_P(Pool, ObjectsPutOnOneThreadAreGottenOnAnother) {
  int made = 0;
  goro::pool<Buffer> p(64, [&] {
    ++made;
    return Buffer{};
  });
  std::thread([&] {
    std::vector<std::unique_ptr<Buffer>> out;
    for (int i = 0; i < 10; ++i) out.push_back(p.get());
    for (auto& b : out) EXPECT_TRUE(p.put(std::move(b)));
  }).join();
  std::vector<std::unique_ptr<Buffer>> got;
  for (int i = 0; i < 10; ++i) got.push_back(p.get());
  EXPECT_EQ(made, 10);  // none made here: found in the other thread's stripe
}

TEST_P(Pool, GetReusesTheMostRecentlyPutObject) {
  int made = 0;
  goro::pool<Buffer> p(4, [&] {
    ++made;
    return Buffer{};
  });  // a factory may return T
  auto a = p.get(), b = p.get();
  Buffer* pa = a.get();
  Buffer* pb = b.get();
  p.put(std::move(a));
  p.put(std::move(b));
  EXPECT_EQ(p.get().get(), pb);  // LIFO
  EXPECT_EQ(p.get().get(), pa);
  EXPECT_EQ(made, 2);
}

TEST_P(Pool, ResetHookRunsOnPut) {
  goro::pool<Buffer> p(
      1, [] { return std::make_unique<Buffer>(); },
      [](Buffer& b) {
        b.data.clear();
        ++b.resets;
      });
  auto a = p.get();
  a->data = "dirty";
  p.put(std::move(a));
  auto again = p.get();
  EXPECT_TRUE(again->data.empty());
  EXPECT_EQ(again->resets, 1);
}

TEST_P(Pool, HandleReturnsItsObjectWhenDestroyed) {
  goro::pool<Buffer> p(4);
  Buffer* raw = nullptr;
  {
    auto h = p.acquire();
    ASSERT_TRUE(h);
    raw = h.get();
    h->data = "x";
    EXPECT_EQ((*h).data, "x");
    EXPECT_EQ(p.idle(), 0u);
  }
  EXPECT_EQ(p.idle(), 1u);
  auto h = p.acquire();
  EXPECT_EQ(h.get(), raw);
}

TEST_P(Pool, HandleMovesRecyclesAndReleases) {
  goro::pool<Buffer> p(4);
  auto h = p.acquire();
  auto h2 = std::move(h);
  EXPECT_FALSE(h);
  EXPECT_TRUE(h2);
  h2.recycle();  // early
  EXPECT_FALSE(h2);
  EXPECT_EQ(p.idle(), 1u);
  {
    auto h3 = p.acquire();
    std::unique_ptr<Buffer> mine = h3.release();  // out of the pool for good
    EXPECT_NE(mine, nullptr);
    EXPECT_FALSE(h3);
  }
  EXPECT_EQ(p.idle(), 0u);
  auto a = p.acquire(), b = p.acquire();
  a = std::move(b);  // a's old object goes back
  EXPECT_EQ(p.idle(), 1u);
  EXPECT_TRUE(a);
}

TEST_P(Pool, ConcurrentUseNeverHandsOutAnObjectTwice) {
  struct Obj {
    std::atomic<int> users{0};
  };
  std::atomic<int> made{0};
  goro::pool<Obj> p(8, [&] {
    made.fetch_add(1);
    return std::make_unique<Obj>();
  });
  const int per = scaled(20'000);
  std::atomic<int> failures{0};
  auto use = [&] {
    auto h = p.acquire();
    if (h->users.fetch_add(1) != 0) failures.fetch_add(1);
    h->users.fetch_sub(1);
  };
  std::thread t([&] {
    for (int i = 0; i < per; ++i) use();
  });
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < 8; ++g)
      wg.go([&]() -> goro::task<> {
        for (int i = 0; i < per; ++i) {
          use();
          if (i % 64 == 0) co_await goro::yield();
        }
      });
    co_await wg.wait();
  });
  t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(p.idle(), 8u);
  EXPECT_GE(p.idle(), 1u);
  // Never more objects than concurrent users (8 goroutines + 1 thread) at once
  // need, plus the ones dropped when the pool was full.
  EXPECT_GE(made.load(), static_cast<int>(p.idle()));
}

}  // namespace

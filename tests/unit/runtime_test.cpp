// Unit tests: run, go, spawn, join, exceptions, captures, yield, ids.
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;

namespace {

class Runtime : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Runtime);

TEST_P(Runtime, RunReturnsValue) {
  int v = rt().run([]() -> goro::task<int> { co_return 42; });
  EXPECT_EQ(v, 42);
}

TEST_P(Runtime, RunPlainCallable) {
  EXPECT_EQ(rt().run([](int a, int b) { return a + b; }, 2, 3), 5);
}

TEST_P(Runtime, RunRethrows) {
  EXPECT_THROW(rt().run([]() -> goro::task<int> {
                 throw std::runtime_error("boom");
                 co_return 1;
               }),
               std::runtime_error);
}

TEST_P(Runtime, NestedTasksAndExceptions) {
  auto inner = [](int x) -> goro::task<int> {
    if (x < 0) throw std::invalid_argument("negative");
    co_return x * 2;
  };
  int r = rt().run([&]() -> goro::task<int> {
    int a = co_await inner(4);
    try {
      co_await inner(-1);
    } catch (const std::invalid_argument&) {
      a += 100;
    }
    co_return a;
  });
  EXPECT_EQ(r, 108);
}

TEST_P(Runtime, SpawnJoinMoveOnlyResult) {
  auto p = rt().run([]() -> goro::task<std::unique_ptr<int>> {
    auto h = goro::spawn([]() -> goro::task<std::unique_ptr<int>> { co_return std::make_unique<int>(7); });
    co_return co_await std::move(h);
  });
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 7);
}

TEST_P(Runtime, ExceptionPropagatesThroughJoin) {
  bool caught = rt().run([]() -> goro::task<bool> {
    auto h = goro::spawn([]() -> goro::task<int> {
      co_await goro::yield();
      throw std::logic_error("from child");
    });
    try {
      co_await std::move(h);
    } catch (const std::logic_error& e) {
      co_return std::string(e.what()) == "from child";
    }
    co_return false;
  });
  EXPECT_TRUE(caught);
}

TEST_P(Runtime, BlockingJoinFromPlainThread) {
  auto h = rt().spawn([]() -> goro::task<std::string> {
    co_await goro::yield();
    co_return std::string("hello");
  });
  std::string got;
  std::thread t([&] { got = std::move(h).join(); });
  t.join();
  EXPECT_EQ(got, "hello");
}

// The callable and arguments are moved into the goroutine frame: the
// lambda's captures outlive the scope that created it (checked under ASan).
TEST_P(Runtime, LambdaCapturesOutliveCaller) {
  auto results = rt().run([]() -> goro::task<std::vector<std::string>> {
    std::vector<goro::join_handle<std::string>> hs;
    for (int i = 0; i < 100; ++i) {
      std::string s = "value-" + std::to_string(i);
      auto big = std::make_shared<std::vector<int>>(100, i);
      // The lambda object is a temporary that dies at the end of this statement.
      hs.push_back(goro::spawn([s, big]() -> goro::task<std::string> {
        co_await goro::yield();
        co_return s + ":" + std::to_string((*big)[99]);
      }));
    }
    std::vector<std::string> out;
    for (auto& h : hs) out.push_back(co_await std::move(h));
    co_return out;
  });
  ASSERT_EQ(results.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(results[i], "value-" + std::to_string(i) + ":" + std::to_string(i));
}

TEST_P(Runtime, ArgumentsAreCopiedAtSpawn) {
  int r = rt().run([]() -> goro::task<int> {
    std::string arg = "abc";
    auto h = goro::spawn([](std::string s) -> goro::task<int> {
      co_await goro::yield();
      co_return static_cast<int>(s.size());
    }, arg);
    arg = "changed after spawn, must not be seen";
    co_return co_await std::move(h);
  });
  EXPECT_EQ(r, 3);
}

TEST_P(Runtime, NestedSpawns) {
  // A binary tree of goroutines, depth 12: 8191 goroutines, each joins its children.
  struct tree {
    static goro::task<long> node(int depth) {
      if (depth == 0) co_return 1;
      auto l = goro::spawn(node, depth - 1);
      auto r = goro::spawn(node, depth - 1);
      long a = co_await std::move(l);
      long b = co_await std::move(r);
      co_return a + b + 1;
    }
  };
  EXPECT_EQ(rt().run(tree::node, 12), 8191);
}

TEST_P(Runtime, DeepSynchronousTaskLoopDoesNotGrowStack) {
  // 1M synchronously completing child tasks in a loop: with naive symmetric
  // transfer at -O0 or under sanitizers this overflows the stack.
  auto child = [](int i) -> goro::task<int> { co_return i & 1; };
  long n = rt().run([&]() -> goro::task<long> {
    long s = 0;
    for (int i = 0; i < 1'000'000; ++i) s += co_await child(i);
    co_return s;
  });
  EXPECT_EQ(n, 500'000);
}

TEST_P(Runtime, GoroutineIdsAreUniqueAndNonZero) {
  EXPECT_EQ(goro::this_goroutine::id(), 0u);
  auto ids = rt().run([]() -> goro::task<std::vector<std::uint64_t>> {
    std::vector<goro::join_handle<std::uint64_t>> hs;
    for (int i = 0; i < 200; ++i)
      hs.push_back(goro::spawn([]() -> goro::task<std::uint64_t> { co_return goro::this_goroutine::id(); }));
    std::vector<std::uint64_t> out;
    for (auto& h : hs) out.push_back(co_await std::move(h));
    co_return out;
  });
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
  EXPECT_NE(ids.front(), 0u);
}

TEST_P(Runtime, YieldLetsOthersRunOnOneWorker) {
  // A goroutine that spins on a flag set by another goroutine terminates only
  // if yield really lets the other run (decisive with 1 worker).
  bool ok = rt().run([]() -> goro::task<bool> {
    auto flag = std::make_shared<std::atomic<bool>>(false);
    goro::go([flag]() -> goro::task<> {
      flag->store(true);
      co_return;
    });
    while (!flag->load()) co_await goro::yield();
    co_return true;
  });
  EXPECT_TRUE(ok);
}

TEST_P(Runtime, SpawnBlockingRunsOffTheWorkers) {
  auto r = rt().run([]() -> goro::task<int> {
    auto worker_thread = std::this_thread::get_id();
    int v = co_await goro::spawn_blocking([worker_thread] {
      return std::this_thread::get_id() != worker_thread ? 5 : -1;
    });
    co_return v;
  });
  EXPECT_EQ(r, 5);
}

TEST_P(Runtime, SpawnBlockingRethrows) {
  EXPECT_THROW(rt().run([]() -> goro::task<> {
                 co_await goro::spawn_blocking([]() -> int { throw std::runtime_error("io failed"); });
               }),
               std::runtime_error);
}

TEST(RuntimeOptions, ZeroWorkersIsRejected) {
  goro::runtime_options o;
  o.workers = 0;
  EXPECT_THROW(goro::runtime rt(o), std::invalid_argument);
}

TEST(RuntimeOptions, ZeroMaxBlockingThreadsIsRejected) {
  goro::runtime_options o;
  o.workers = 1;
  o.max_blocking_threads = 0;
  try {
    goro::runtime rt(o);
    ADD_FAILURE() << "max_blocking_threads = 0 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("max_blocking_threads"), std::string::npos) << e.what();
  }
}

TEST(DefaultRuntime, RunWorks) {
  EXPECT_EQ(goro::run([]() -> goro::task<int> { co_return 3; }), 3);
}

}  // namespace

// GORO_MAXPROCS (Go's GOMAXPROCS) sets the default worker count; anything but
// a count from 1 to 4096 is ignored with a message, never a 0-worker runtime.
TEST(RuntimeOptions, WorkersFromEnv) {
  using goro::detail::workers_from_env;
  EXPECT_EQ(workers_from_env(nullptr, 2), 2u);
  EXPECT_EQ(workers_from_env("", 2), 2u);
  EXPECT_EQ(workers_from_env("1", 2), 1u);
  EXPECT_EQ(workers_from_env("4", 2), 4u);
  EXPECT_EQ(workers_from_env("4096", 2), 4096u);
  for (const char* bad : {"0", "-1", "+3", "4097", "abc", "3x", "99999999999999999999"})
    EXPECT_EQ(workers_from_env(bad, 2), 2u) << bad;
  EXPECT_GE(goro::runtime_options{}.workers, 1u);
}

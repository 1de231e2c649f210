// Unit tests: goroutine dumps (goro/debug.hpp) name the line, the function
// and the object each goroutine waits on, and group goroutines that wait at
// the same place. The coroutines whose co_await lines are asserted are
// written on one line with the constant that records their __LINE__.
#include <string>
#include <thread>

#include "goro_test.hpp"

// Global namespace: GCC and Clang spell the name the same way.
struct dump_test_point {
  int x = 0;
};

namespace {

// clang-format off
goro::task<> park_on_recv(goro::chan<int> c) { auto v = co_await c.recv(); (void)v; } constexpr int kRecvLine = __LINE__;
goro::task<> park_on_send(goro::chan<dump_test_point> c) { auto s = co_await c.send(dump_test_point{}); (void)s; } constexpr int kSendLine = __LINE__;
goro::task<> park_on_lock(goro::mutex* mu) { co_await mu->lock(); mu->unlock(); } constexpr int kLockLine = __LINE__;
goro::task<> park_on_wait(goro::wait_group* wg) { co_await wg->wait(); } constexpr int kWaitLine = __LINE__;
goro::task<> park_on_select(goro::chan<int> a, goro::chan<int> b) { auto r = co_await goro::select(goro::recv(a), goro::recv(b)); (void)r; } constexpr int kSelectLine = __LINE__;
goro::task<> park_on_sleep(goro::context ctx) { auto e = co_await goro::sleep_for(ctx, std::chrono::hours(1)); (void)e; } constexpr int kSleepLine = __LINE__;
// clang-format on

// Waits (yielding, bounded) until n goroutines of rt wait with `reason`.
bool wait_parked(goro::runtime& rt, std::size_t n, const std::string& reason) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    std::size_t k = 0;
    for (const goro::goroutine_info& g : rt.goroutines())
      if (g.wait_reason != nullptr && reason == g.wait_reason) ++k;
    if (k >= n) return true;
    std::this_thread::yield();
  }
  return false;
}

const goro::goroutine_info* find_reason(const std::vector<goro::goroutine_info>& gs,
                                        const std::string& reason) {
  for (const auto& g : gs)
    if (g.wait_reason != nullptr && reason == g.wait_reason) return &g;
  return nullptr;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

class DebugDump : public goro_test::RuntimeTest {};

TEST_P(DebugDump, RecordNamesTheCallersLineFunctionAndChannel) {
  auto ch = goro::make_chan<int>();
  rt().go(park_on_recv, ch);
  ASSERT_TRUE(wait_parked(rt(), 1, "chan receive"));
  auto gs = rt().goroutines();
  const goro::goroutine_info* g = find_reason(gs, "chan receive");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->state, goro::goroutine_state::waiting);
  ASSERT_NE(g->wait_file, nullptr);
  // The default argument reports the caller's line, not goro's (GCC and Clang).
  EXPECT_TRUE(ends_with(g->wait_file, "debug_dump_test.cpp")) << g->wait_file;
  EXPECT_EQ(g->wait_line, kRecvLine);
  ASSERT_NE(g->wait_function, nullptr);
  EXPECT_STREQ(g->wait_function, "park_on_recv");
  EXPECT_STREQ(g->wait_object_kind, "chan");
  EXPECT_EQ(g->chan_elem_type, "int");
  EXPECT_EQ(g->chan_cap, 0u);
  EXPECT_EQ(g->chan_len, 0u);
  EXPECT_NE(g->wait_object, nullptr);
  EXPECT_TRUE(ends_with(g->file, "debug_dump_test.cpp"));
  ch.close();
}

TEST_P(DebugDump, DumpTextNamesTheBlockingLineAndTheChannel) {
  auto ch = goro::make_chan<int>();
  rt().go(park_on_recv, ch);
  ASSERT_TRUE(wait_parked(rt(), 1, "chan receive"));
  std::string text = goro::debug::dump_string(rt());
  EXPECT_NE(text.find("[chan receive, "), std::string::npos) << text;
  EXPECT_NE(text.find("debug_dump_test.cpp:" + std::to_string(kRecvLine) + " in park_on_recv on chan<int> cap 0 len 0 @"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("spawned at "), std::string::npos) << text;
  // The all-runtimes form includes this runtime too.
  std::string all = goro::debug::dump_string();
  EXPECT_NE(all.find("in park_on_recv on chan<int>"), std::string::npos) << all;
  ch.close();
}

TEST_P(DebugDump, FullBufferedSenderShowsTypeCapAndLen) {
  auto ch = goro::make_chan<dump_test_point>(2);
  ASSERT_EQ(ch.try_send(dump_test_point{}), goro::send_status::ok);
  ASSERT_EQ(ch.try_send(dump_test_point{}), goro::send_status::ok);
  rt().go(park_on_send, ch);
  ASSERT_TRUE(wait_parked(rt(), 1, "chan send"));
  std::string text = goro::debug::dump_string(rt());
  EXPECT_NE(text.find("debug_dump_test.cpp:" + std::to_string(kSendLine) +
                      " in park_on_send on chan<dump_test_point> cap 2 len 2 @"),
            std::string::npos)
      << text;
  ch.close();
}

TEST_P(DebugDump, MutexWaitGroupSelectAndSleepRecordTheirLines) {
  goro::mutex mu;
  mu.blocking_lock();
  goro::wait_group wg;
  wg.add(1);
  auto a = goro::make_chan<int>();
  auto b = goro::make_chan<int>();
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  rt().go(park_on_lock, &mu);
  rt().go(park_on_wait, &wg);
  rt().go(park_on_select, a, b);
  rt().go(park_on_sleep, ctx);
  ASSERT_TRUE(wait_parked(rt(), 1, "mutex.lock"));
  ASSERT_TRUE(wait_parked(rt(), 1, "wait_group.wait"));
  ASSERT_TRUE(wait_parked(rt(), 1, "select"));
  ASSERT_TRUE(wait_parked(rt(), 1, "sleep (context)"));
  std::string text = goro::debug::dump_string(rt());
  auto at = [](int line) { return "debug_dump_test.cpp:" + std::to_string(line) + " in "; };
  EXPECT_NE(text.find(at(kLockLine) + "park_on_lock on mutex @"), std::string::npos) << text;
  EXPECT_NE(text.find(at(kWaitLine) + "park_on_wait on wait_group @"), std::string::npos) << text;
  EXPECT_NE(text.find(at(kSelectLine) + "park_on_select on select (2 cases)"), std::string::npos) << text;
  EXPECT_NE(text.find(at(kSleepLine) + "park_on_sleep"), std::string::npos) << text;
  mu.unlock();
  wg.done();
  a.close();
  cancel();
  // mu and wg live on this stack: the goroutines must be done with them.
  EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
}

TEST_P(DebugDump, JoinNamesTheJoinedGoroutine) {
  auto ch = goro::make_chan<int>();
  auto h = rt().spawn(park_on_recv, ch);
  const std::uint64_t target = h.id();
  rt().go([](goro::join_handle<void> j) -> goro::task<> { co_await std::move(j); }, std::move(h));
  ASSERT_TRUE(wait_parked(rt(), 1, "join"));
  std::string text = goro::debug::dump_string(rt());
  EXPECT_NE(text.find("[join, "), std::string::npos) << text;
  EXPECT_NE(text.find("on goroutine " + std::to_string(target)), std::string::npos) << text;
  ch.close();
}

TEST_P(DebugDump, GroupsGoroutinesWaitingAtOneSite) {
  auto ch = goro::make_chan<int>();
  constexpr int kN = 100;
  for (int i = 0; i < kN; ++i) rt().go(park_on_recv, ch);
  ASSERT_TRUE(wait_parked(rt(), kN, "chan receive"));
  std::string text = goro::debug::dump_string(rt());
  EXPECT_NE(text.find("100 goroutines [chan receive, "), std::string::npos) << text;
  const std::string site = "debug_dump_test.cpp:" + std::to_string(kRecvLine) + " in park_on_recv";
  std::size_t first = text.find(site);
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find(site, first + 1), std::string::npos) << "the site is printed once:\n" << text;
  EXPECT_NE(text.find("on chan<int> cap 0 len 0 @"), std::string::npos) << text;  // one channel
  EXPECT_NE(text.find("    ids "), std::string::npos) << text;
  ch.close();
}

TEST_P(DebugDump, RunnableAndFinishedWaitsAreNotShownAsWaiting) {
  auto ch = goro::make_chan<int>(1);
  ASSERT_EQ(ch.try_send(1), goro::send_status::ok);
  // Completes without parking: no record.
  auto h = rt().spawn([](goro::chan<int> c) -> goro::task<int> {
    auto v = co_await c.recv();
    co_return *v;
  }, ch);
  EXPECT_EQ(std::move(h).join(), 1);
  for (const auto& g : rt().goroutines()) EXPECT_EQ(g.wait_reason, nullptr);
}

GORO_INSTANTIATE_WORKERS(DebugDump);

}  // namespace

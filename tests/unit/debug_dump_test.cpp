// Unit tests: goroutine dumps (goro/debug.hpp) name the line, the function
// and the object each goroutine waits on, and group goroutines that wait at
// the same place. The coroutines whose co_await lines are asserted are
// written on one line with the constant that records their __LINE__.
#include <algorithm>
#include <string>
#include <vector>
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

// rw_mutex: every awaitable form.
goro::task<> rw_lock(goro::rw_mutex* m) { co_await m->lock(); m->unlock(); } constexpr int kRwLockLine = __LINE__;
goro::task<> rw_scoped(goro::rw_mutex* m) { auto g = co_await m->scoped_lock(); } constexpr int kRwScopedLine = __LINE__;
goro::task<> rw_lock_ctx(goro::rw_mutex* m, goro::context c) { auto e = co_await m->lock(c); if (!e) m->unlock(); } constexpr int kRwLockCtxLine = __LINE__;
goro::task<> rw_shared(goro::rw_mutex* m) { co_await m->lock_shared(); m->unlock_shared(); } constexpr int kRwSharedLine = __LINE__;
goro::task<> rw_scoped_shared(goro::rw_mutex* m) { auto g = co_await m->scoped_lock_shared(); } constexpr int kRwScopedSharedLine = __LINE__;
goro::task<> rw_shared_ctx(goro::rw_mutex* m, goro::context c) { auto e = co_await m->lock_shared(c); if (!e) m->unlock_shared(); } constexpr int kRwSharedCtxLine = __LINE__;

// semaphore
goro::task<> sem_acquire(goro::semaphore* s) { goro::acquire_status st = co_await s->acquire(1); if (st == goro::acquire_status::ok) s->release(1); } constexpr int kSemLine = __LINE__;
goro::task<> sem_acquire_for(goro::semaphore* s) { goro::acquire_status st = co_await s->acquire_for(1, std::chrono::hours(1)); if (st == goro::acquire_status::ok) s->release(1); } constexpr int kSemForLine = __LINE__;
goro::task<> sem_acquire_until(goro::semaphore* s) { goro::acquire_status st = co_await s->acquire_until(1, std::chrono::steady_clock::now() + std::chrono::hours(1)); if (st == goro::acquire_status::ok) s->release(1); } constexpr int kSemUntilLine = __LINE__;
goro::task<> sem_acquire_ctx(goro::semaphore* s, goro::context c) { goro::acquire_status st = co_await s->acquire(c, 1); if (st == goro::acquire_status::ok) s->release(1); } constexpr int kSemCtxLine = __LINE__;

// once, once_value, once_func: f blocks on a channel until the test closes it.
goro::task<> block_on(goro::chan<int> c) { auto v = co_await c.recv(); (void)v; }
goro::task<int> block_int(goro::chan<int> c) { auto v = co_await c.recv(); co_return v ? *v : 7; }
goro::task<> once_runner(goro::once* o, goro::chan<int> c) { auto f = [c] { return block_on(c); }; co_await o->call(f); }
goro::task<> once_call(goro::once* o) { auto f = [] {}; co_await o->call(f); } constexpr int kOnceCallLine = __LINE__;
goro::task<> once_until(goro::once* o) { auto f = [] { return true; }; auto r = co_await o->call_until_success(f); (void)r; } constexpr int kOnceUntilLine = __LINE__;
goro::task<> once_value_get(goro::once_value<int>* v) { int x = co_await v->get(); (void)x; } constexpr int kOnceGetLine = __LINE__;
goro::task<> once_value_call(goro::once_value<int>* v) { int x = co_await (*v)(); (void)x; } constexpr int kOnceValueCallLine = __LINE__;
goro::task<> once_func_call(goro::once_func* f) { co_await (*f)(); } constexpr int kOnceFuncLine = __LINE__;

// cond: the cond wait and the relock after the wake-up record the same line.
goro::task<> cond_wait(goro::mutex* mu, goro::cond* cv) { co_await mu->lock(); co_await cv->wait(); mu->unlock(); } constexpr int kCondLine = __LINE__;
goro::task<> cond_wait_pred(goro::mutex* mu, goro::cond* cv, const bool* f) { co_await mu->lock(); co_await cv->wait([f] { return *f; }); mu->unlock(); } constexpr int kCondPredLine = __LINE__;

// singleflight: a duplicate waits for the leader.
goro::task<> sf_leader(goro::singleflight::group<int, int>* g, goro::chan<int> c) { auto f = [c] { return block_int(c); }; auto r = co_await g->call(1, f); (void)r; }
goro::task<> sf_duplicate(goro::singleflight::group<int, int>* g) { auto f = [] { return 0; }; auto r = co_await g->call(1, f); (void)r; } constexpr int kSfLine = __LINE__;

// wait_group::go: the goroutine's spawn site is the caller's line (up to four
// arguments), as for goro::go.
goro::task<> start_counted(goro::wait_group* wg, goro::chan<int> c) { wg->go(park_on_recv, c); co_return; } constexpr int kWgGoLine = __LINE__;
goro::task<> park_with_four(goro::chan<int> c, int, int, int) { auto v = co_await c.recv(); (void)v; }
goro::task<> start_counted4(goro::wait_group* wg, goro::chan<int> c) { wg->go(park_with_four, c, 1, 2, 3); co_return; } constexpr int kWgGo4Line = __LINE__;
goro::task<> park_with_five(goro::chan<int> c, int, int, int, int) { auto v = co_await c.recv(); (void)v; }
goro::task<> start_counted5(goro::wait_group* wg, goro::chan<int> c) { wg->go(park_with_five, c, 1, 2, 3, 4); co_return; }

// join_handle::wait() and selects of more than six cases.
goro::task<> join_wait(goro::join_handle<void> j) { co_await std::move(j).wait(); } constexpr int kJoinLine = __LINE__;
goro::task<> select7(goro::chan<int> a) { auto r = co_await goro::select(goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a)); (void)r; } constexpr int kSelect7Line = __LINE__;
goro::task<> select12(goro::chan<int> a) { auto r = co_await goro::select(goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a)); (void)r; } constexpr int kSelect12Line = __LINE__;
goro::task<> select13(goro::chan<int> a) { auto r = co_await goro::select(goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a), goro::recv(a)); (void)r; }
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

const goro::goroutine_info* find_at(const std::vector<goro::goroutine_info>& gs, const std::string& reason,
                                    int line) {
  for (const auto& g : gs)
    if (g.wait_reason != nullptr && reason == g.wait_reason && g.wait_line == line) return &g;
  return nullptr;
}

// Waits (yielding, bounded) until a goroutine of rt waits with `reason` at
// `line` of this file, then checks the whole record: file, function, object.
void expect_parked_at(goro::runtime& rt, const std::string& reason, int line, const char* function,
                      const char* object_kind) {
  SCOPED_TRACE(reason + " at line " + std::to_string(line));
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::vector<goro::goroutine_info> gs;
  const goro::goroutine_info* g = nullptr;
  while (g == nullptr && std::chrono::steady_clock::now() < until) {
    gs = rt.goroutines();
    g = find_at(gs, reason, line);
    if (g == nullptr) std::this_thread::yield();
  }
  ASSERT_NE(g, nullptr) << goro::debug::format(gs);
  EXPECT_EQ(g->state, goro::goroutine_state::waiting);
  ASSERT_NE(g->wait_file, nullptr);
  EXPECT_TRUE(ends_with(g->wait_file, "debug_dump_test.cpp")) << g->wait_file;
  ASSERT_NE(g->wait_function, nullptr);
  EXPECT_STREQ(g->wait_function, function);
  ASSERT_NE(g->wait_object_kind, nullptr);
  EXPECT_STREQ(g->wait_object_kind, object_kind);
  EXPECT_NE(g->wait_object, nullptr);
  std::string text = goro::debug::dump_string(rt);
  EXPECT_NE(text.find("debug_dump_test.cpp:" + std::to_string(line) + " in " + function + " on "),
            std::string::npos)
      << text;
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

TEST_P(DebugDump, RwMutexWaitsRecordTheirLines) {
  goro::rw_mutex m;
  m.blocking_lock();  // a plain thread writes: every goroutine form parks
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  rt().go(rw_lock, &m);
  rt().go(rw_scoped, &m);
  rt().go(rw_lock_ctx, &m, ctx);
  rt().go(rw_shared, &m);
  rt().go(rw_scoped_shared, &m);
  rt().go(rw_shared_ctx, &m, ctx);
  expect_parked_at(rt(), "rw_mutex.lock", kRwLockLine, "rw_lock", "rw_mutex");
  expect_parked_at(rt(), "rw_mutex.lock", kRwScopedLine, "rw_scoped", "rw_mutex");
  expect_parked_at(rt(), "rw_mutex.lock", kRwLockCtxLine, "rw_lock_ctx", "rw_mutex");
  expect_parked_at(rt(), "rw_mutex.lock_shared", kRwSharedLine, "rw_shared", "rw_mutex");
  expect_parked_at(rt(), "rw_mutex.lock_shared", kRwScopedSharedLine, "rw_scoped_shared", "rw_mutex");
  expect_parked_at(rt(), "rw_mutex.lock_shared", kRwSharedCtxLine, "rw_shared_ctx", "rw_mutex");
  m.unlock();
  EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));  // m lives on this stack
  cancel();
}

TEST_P(DebugDump, SemaphoreWaitsRecordTheirLines) {
  goro::semaphore s(1);
  ASSERT_EQ(s.blocking_acquire(1), goro::acquire_status::ok);
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  rt().go(sem_acquire, &s);
  rt().go(sem_acquire_for, &s);
  rt().go(sem_acquire_until, &s);
  rt().go(sem_acquire_ctx, &s, ctx);
  expect_parked_at(rt(), "semaphore.acquire", kSemLine, "sem_acquire", "semaphore");
  expect_parked_at(rt(), "semaphore.acquire", kSemForLine, "sem_acquire_for", "semaphore");
  expect_parked_at(rt(), "semaphore.acquire", kSemUntilLine, "sem_acquire_until", "semaphore");
  expect_parked_at(rt(), "semaphore.acquire", kSemCtxLine, "sem_acquire_ctx", "semaphore");
  s.release(1);
  EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
  cancel();
}

TEST_P(DebugDump, OnceWaitsRecordTheirLines) {
  auto c = goro::make_chan<int>();
  goro::once o;
  goro::once_value<int> v([c] { return block_int(c); });
  goro::once_func f([c] { return block_on(c); });
  // The runners first, parked inside f, so that the others wait for them.
  rt().go(once_runner, &o, c);
  rt().go(once_value_get, &v);
  rt().go(once_func_call, &f);
  ASSERT_TRUE(wait_parked(rt(), 3, "chan receive"));
  rt().go(once_call, &o);
  rt().go(once_until, &o);
  rt().go(once_value_get, &v);
  rt().go(once_value_call, &v);
  rt().go(once_func_call, &f);
  expect_parked_at(rt(), "once", kOnceCallLine, "once_call", "once");
  expect_parked_at(rt(), "once", kOnceUntilLine, "once_until", "once");
  expect_parked_at(rt(), "once", kOnceGetLine, "once_value_get", "once");
  expect_parked_at(rt(), "once", kOnceValueCallLine, "once_value_call", "once");
  expect_parked_at(rt(), "once", kOnceFuncLine, "once_func_call", "once");
  c.close();
  EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
  EXPECT_TRUE(o.done());
}

TEST_P(DebugDump, CondWaitAndItsRelockRecordTheCallersLine) {
  goro::mutex mu;
  goro::cond cv(mu);
  bool flag = false;
  rt().go(cond_wait, &mu, &cv);
  rt().go(cond_wait_pred, &mu, &cv, &flag);
  expect_parked_at(rt(), "cond.wait", kCondLine, "cond_wait", "cond");
  expect_parked_at(rt(), "cond.wait", kCondPredLine, "cond_wait_pred", "cond");
  // Woken while this thread holds mu: both park again to relock, and the
  // dump still names the cv.wait line (not goro's).
  mu.blocking_lock();
  flag = true;
  cv.broadcast();
  expect_parked_at(rt(), "mutex.lock", kCondLine, "cond_wait", "mutex");
  expect_parked_at(rt(), "mutex.lock", kCondPredLine, "cond_wait_pred", "mutex");
  mu.unlock();
  EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
}

TEST_P(DebugDump, SingleflightDuplicateRecordsItsLine) {
  auto c = goro::make_chan<int>();
  goro::singleflight::group<int, int> g;
  rt().go(sf_leader, &g, c);
  ASSERT_TRUE(wait_parked(rt(), 1, "chan receive"));  // the leader, inside f
  rt().go(sf_duplicate, &g);
  expect_parked_at(rt(), "singleflight", kSfLine, "sf_duplicate", "singleflight call");
  c.close();
  EXPECT_TRUE(rt().wait_no_goroutines(std::chrono::seconds(30)));
}

TEST_P(DebugDump, JoinWaitRecordsItsLine) {
  auto ch = goro::make_chan<int>();
  auto h = rt().spawn(park_on_recv, ch);
  const std::uint64_t target = h.id();
  rt().go(join_wait, std::move(h));
  expect_parked_at(rt(), "join", kJoinLine, "join_wait", "goroutine");
  EXPECT_NE(goro::debug::dump_string(rt()).find("in join_wait on goroutine " + std::to_string(target)),
            std::string::npos);
  ch.close();
}

TEST_P(DebugDump, SelectsOfUpToTwelveCasesRecordTheirLine) {
  auto a = goro::make_chan<int>();
  rt().go(select7, a);
  rt().go(select12, a);
  rt().go(select13, a);
  ASSERT_TRUE(wait_parked(rt(), 3, "select"));
  auto gs = rt().goroutines();
  const goro::goroutine_info* s7 = find_at(gs, "select", kSelect7Line);
  const goro::goroutine_info* s12 = find_at(gs, "select", kSelect12Line);
  ASSERT_NE(s7, nullptr) << goro::debug::format(gs);
  ASSERT_NE(s12, nullptr) << goro::debug::format(gs);
  EXPECT_STREQ(s7->wait_function, "select7");
  EXPECT_EQ(s7->wait_aux, 7u);
  EXPECT_STREQ(s12->wait_function, "select12");
  EXPECT_EQ(s12->wait_aux, 12u);
  // Thirteen cases: no site (documented), but the case count is there.
  std::string text = goro::debug::dump_string(rt());
  EXPECT_NE(text.find("waiting at an unrecorded place on select (13 cases)"), std::string::npos) << text;
  a.close();
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

TEST_P(DebugDump, WaitGroupGoRecordsTheCallersLineAsTheSpawnSite) {
  auto ch = goro::make_chan<int>();
  goro::wait_group wg;
  rt().go(start_counted, &wg, ch);
  rt().go(start_counted4, &wg, ch);
  rt().go(start_counted5, &wg, ch);  // more arguments: the site is wait_group.hpp's
  ASSERT_TRUE(wait_parked(rt(), 3, "chan receive"));
  std::vector<int> lines;
  for (const auto& g : rt().goroutines()) {
    if (g.wait_reason == nullptr) continue;
    if (ends_with(g.file, "debug_dump_test.cpp")) lines.push_back(g.line);
    else EXPECT_TRUE(ends_with(g.file, "wait_group.hpp")) << g.file;
  }
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<int>{kWgGoLine, kWgGo4Line}));
  ch.close();
  wg.blocking_wait();
}

GORO_INSTANTIATE_WORKERS(DebugDump);

}  // namespace

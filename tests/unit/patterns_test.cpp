// Unit tests: goro/patterns.hpp — pipeline stages (goro::pipe), merge and
// fan_out, worker_pool, parallel::for_each / map, race_first. One behaviour
// each, misuse included (take(0), batch(0), fan_out(0), zero workers,
// limit 0, no contenders). Every test ends with the fixture's leak check, so
// "cancelling stops every stage" is checked by the absence of goroutines,
// never by a sleep.
#include <algorithm>
#include <atomic>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <goro/patterns.hpp>

#include "goro_test.hpp"

using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class Patterns : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Patterns);

const std::error_code kDoom = std::make_error_code(std::errc::io_error);

// An endless generator: 0, 1, 2, ...
struct counter {
  int next = 0;
  std::optional<int> operator()() { return next++; }
};

// ---- generate, map, collect -----------------------------------------------------------

TEST_P(Patterns, GenerateMapCollectKeepsOrder) {
  auto got = rt().run([]() -> goro::task<std::vector<int>> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto squares = goro::pipe::map(ctx, goro::pipe::generate(ctx, {2, 3, 4}), [](int n) { return n * n; });
    std::vector<int> v = co_await goro::pipe::collect(ctx, squares);
    co_return v;
  });
  EXPECT_EQ(got, (std::vector<int>{4, 9, 16}));
}

TEST_P(Patterns, GenerateFromGeneratorEndsOnEmptyOptional) {
  auto got = rt().run([]() -> goro::task<std::vector<int>> {
    goro::context ctx;
    int i = 0;
    auto g = goro::pipe::generate(ctx, [i]() mutable -> std::optional<int> {
      if (i == 5) return std::nullopt;
      return i++;
    });
    std::vector<int> v = co_await goro::pipe::collect(ctx, g);
    co_return v;
  });
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_P(Patterns, GenerateCopiesAViewAndMovesAnOwnedContainer) {
  std::vector<std::string> mine{"a", "b", "c"};
  auto got = rt().run([&]() -> goro::task<std::vector<std::string>> {
    goro::context ctx;
    auto from_view = goro::pipe::generate(ctx, std::span<const std::string>(mine));
    std::vector<std::string> a = co_await goro::pipe::collect(ctx, from_view);
    std::vector<std::string> owned{"x", "y"};
    auto from_owned = goro::pipe::generate(ctx, std::move(owned));
    std::vector<std::string> b = co_await goro::pipe::collect(ctx, from_owned);
    a.insert(a.end(), b.begin(), b.end());
    co_return a;
  });
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b", "c", "x", "y"}));
  EXPECT_EQ(mine, (std::vector<std::string>{"a", "b", "c"}));  // the view's elements were copied
}

TEST_P(Patterns, MapAcceptsACoroutine) {
  auto got = rt().run([]() -> goro::task<std::vector<std::string>> {
    goro::context ctx;
    auto in = goro::pipe::generate(ctx, {1, 2, 3});
    auto out = goro::pipe::map(ctx, in, [](int n) -> goro::task<std::string> {
      co_await goro::yield();
      co_return std::string(static_cast<std::size_t>(n), '*');
    });
    std::vector<std::string> v = co_await goro::pipe::collect(ctx, out);
    co_return v;
  });
  EXPECT_EQ(got, (std::vector<std::string>{"*", "**", "***"}));
}

TEST_P(Patterns, FilterKeepsTheMatchingValuesInOrder) {
  auto got = rt().run([]() -> goro::task<std::vector<int>> {
    goro::context ctx;
    std::vector<int> nums(20);
    std::iota(nums.begin(), nums.end(), 0);
    auto evens = goro::pipe::filter(ctx, goro::pipe::generate(ctx, nums), [](int n) { return n % 2 == 0; });
    std::vector<int> v = co_await goro::pipe::collect(ctx, evens);
    co_return v;
  });
  EXPECT_EQ(got, (std::vector<int>{0, 2, 4, 6, 8, 10, 12, 14, 16, 18}));
}

// ---- take, batch -------------------------------------------------------------------------

TEST_P(Patterns, TakeStopsAfterNAndCancelStopsTheEndlessSource) {
  auto got = rt().run([]() -> goro::task<std::vector<int>> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto first = goro::pipe::take(ctx, goro::pipe::generate(ctx, counter{}), 4);
    std::vector<int> v = co_await goro::pipe::collect(ctx, first);
    co_return v;  // ~cancel stops the generator, which take left waiting
  });
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
}

TEST_P(Patterns, TakeZeroIsClosedAtOnce) {
  bool closed = rt().run([]() -> goro::task<bool> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto none = goro::pipe::take(ctx, goro::pipe::generate(ctx, counter{}), 0);
    auto v = co_await none.recv();
    co_return !v.has_value();
  });
  EXPECT_TRUE(closed);
}

TEST_P(Patterns, BatchGroupsAndFlushesTheRemainder) {
  auto got = rt().run([]() -> goro::task<std::vector<std::vector<int>>> {
    goro::context ctx;
    auto b = goro::pipe::batch(ctx, goro::pipe::generate(ctx, {1, 2, 3, 4, 5, 6, 7}), 3);
    std::vector<std::vector<int>> v = co_await goro::pipe::collect(ctx, b);
    co_return v;
  });
  EXPECT_EQ(got, (std::vector<std::vector<int>>{{1, 2, 3}, {4, 5, 6}, {7}}));
}

TEST_P(Patterns, BatchOfZeroIsRejected) {
  bool threw = rt().run([]() -> goro::task<bool> {
    goro::context ctx;
    auto in = goro::make_chan<int>();
    try {
      auto b = goro::pipe::batch(ctx, goro::receiver<int>(in), 0);
      (void)b;
    } catch (const std::invalid_argument&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(threw);
}

// ---- tee, or_done, reduce ------------------------------------------------------------------

TEST_P(Patterns, TeeGivesEveryValueToBothInEitherReadOrder) {
  auto got = rt().run([]() -> goro::task<std::pair<std::vector<int>, std::vector<int>>> {
    goro::context ctx;
    auto [a, b] = goro::pipe::tee(ctx, goro::pipe::generate(ctx, {1, 2, 3, 4}));
    std::vector<int> va, vb;
    // One reader, unbuffered outputs, b read first: the tee must offer both.
    for (;;) {
      auto y = co_await b.recv();
      auto x = co_await a.recv();
      if (!x || !y) break;
      va.push_back(*x);
      vb.push_back(*y);
    }
    co_return std::make_pair(va, vb);
  });
  EXPECT_EQ(got.first, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(got.second, (std::vector<int>{1, 2, 3, 4}));
}

TEST_P(Patterns, OrDoneClosesWhenTheContextIsCancelled) {
  int got = rt().run([]() -> goro::task<int> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto never_closed = goro::make_chan<int>(1);
    (void)never_closed.try_send(7);
    auto wrapped = goro::pipe::or_done(ctx, goro::receiver<int>(never_closed));
    auto v = co_await wrapped.recv();
    cancel();
    auto end = co_await wrapped.recv();  // closed by the cancellation, not by the source
    co_return end ? -1 : *v;
  });
  EXPECT_EQ(got, 7);
}

TEST_P(Patterns, ReduceDeliversOneValueWhenTheInputCloses) {
  long got = rt().run([]() -> goro::task<long> {
    goro::context ctx;
    std::vector<int> nums(100);
    std::iota(nums.begin(), nums.end(), 1);
    auto sum = goro::pipe::reduce(ctx, goro::pipe::generate(ctx, nums), 0L,
                                  [](long acc, int n) { return acc + n; });
    auto v = co_await sum.recv();
    auto end = co_await sum.recv();
    co_return (v && !end) ? *v : -1;
  });
  EXPECT_EQ(got, 5050);
}

TEST_P(Patterns, ReduceCancelledClosesWithoutAValue) {
  bool closed_empty = rt().run([]() -> goro::task<bool> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto sum = goro::pipe::reduce(ctx, goro::pipe::generate(ctx, counter{}), 0L,
                                  [](long acc, int n) { return acc + n; });
    cancel();
    auto v = co_await sum.recv();
    co_return !v.has_value();
  });
  EXPECT_TRUE(closed_empty);
}

TEST_P(Patterns, CancelMidPipelineClosesTheLastOutput) {
  int got = rt().run([]() -> goro::task<int> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto out = goro::pipe::filter(
        ctx, goro::pipe::map(ctx, goro::pipe::generate(ctx, counter{}), [](int n) { return n * 3; }),
        [](int n) { return n % 2 == 0; });
    int seen = 0;
    while (auto v = co_await out.recv()) {
      EXPECT_EQ(*v, seen * 6);
      if (++seen == 10) cancel();  // the loop must still end: the stages close downstream
    }
    co_return seen;
  });
  EXPECT_GE(got, 10);
  EXPECT_LE(got, 12);  // at most the values in flight when cancelled
}

// A callable that records, when it is destroyed (not moved from), whether
// the channel it watches was already closed: 1 open, 2 closed.
template <class T>
struct close_probe {
  std::shared_ptr<std::optional<goro::receiver<T>>> watched =
      std::make_shared<std::optional<goro::receiver<T>>>();
  std::shared_ptr<std::atomic<int>> verdict = std::make_shared<std::atomic<int>>(0);
  bool live = true;
  close_probe() = default;
  close_probe(close_probe&& o) noexcept
      : watched(o.watched), verdict(o.verdict), live(std::exchange(o.live, false)) {}
  close_probe(const close_probe&) = delete;
  ~close_probe() {
    if (live && *watched)
      verdict->store((*watched)->try_recv().status == goro::recv_status::closed ? 2 : 1);
  }
};

// ---- merge, fan_out ---------------------------------------------------------------------

TEST_P(Patterns, MergeDeliversEverythingAndClosesWhenAllInputsClose) {
  auto got = rt().run([]() -> goro::task<std::vector<int>> {
    goro::context ctx;
    auto a = goro::pipe::generate(ctx, {1, 2, 3});
    auto b = goro::pipe::generate(ctx, {10, 20});
    auto c = goro::pipe::generate(ctx, std::vector<int>{});
    auto all = goro::pipe::merge(ctx, a, b, c);
    std::vector<int> v = co_await goro::pipe::collect(ctx, all);
    co_return v;
  });
  std::vector<int> from_a, from_b;
  for (int x : got) (x < 10 ? from_a : from_b).push_back(x);
  EXPECT_EQ(from_a, (std::vector<int>{1, 2, 3}));  // each input's order is kept
  EXPECT_EQ(from_b, (std::vector<int>{10, 20}));
}

TEST_P(Patterns, MergeOfNoInputsIsClosed) {
  bool closed = rt().run([]() -> goro::task<bool> {
    goro::context ctx;
    auto all = goro::pipe::merge(ctx, std::vector<goro::receiver<int>>{});
    auto v = co_await all.recv();
    co_return !v.has_value();
  });
  EXPECT_TRUE(closed);
}

TEST_P(Patterns, FanOutHandsEachValueToExactlyOneWorker) {
  int n = scaled(1000);
  auto got = rt().run([n]() -> goro::task<std::vector<int>> {
    goro::context ctx;
    std::vector<int> nums(static_cast<std::size_t>(n));
    std::iota(nums.begin(), nums.end(), 0);
    auto outs = goro::pipe::fan_out(ctx, goro::pipe::generate(ctx, nums), 4, [](int x) { return x; });
    EXPECT_EQ(outs.size(), 4u);
    std::vector<int> v = co_await goro::pipe::collect(ctx, goro::pipe::merge(ctx, outs));
    co_return v;
  });
  std::sort(got.begin(), got.end());
  std::vector<int> want(static_cast<std::size_t>(n));
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(got, want);
}

TEST_P(Patterns, FanOutOfZeroWorkersIsRejected) {
  bool threw = rt().run([]() -> goro::task<bool> {
    goro::context ctx;
    auto in = goro::make_chan<int>();
    try {
      auto outs = goro::pipe::fan_out(ctx, goro::receiver<int>(in), 0, [](int x) { return x; });
      (void)outs;
    } catch (const std::invalid_argument&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(threw);
}

// ---- worker_pool -------------------------------------------------------------------------

struct job {
  int id = 0;
};

goro::task<> collect_results(goro::receiver<goro::job_result<job, int>> results, std::vector<int>* ids,
                             std::vector<int>* values, int* errors) {
  while (auto r = co_await results.recv()) {
    ids->push_back(r->job.id);
    if (*r)
      values->push_back(*r->value);
    else
      ++*errors;
  }
}

TEST_P(Patterns, WorkerPoolRunsEveryJobOnceAndDrainsOnStop) {
  int n = scaled(500);
  std::vector<int> ids, values;
  int errors = 0;
  rt().run([&]() -> goro::task<> {
    goro::context ctx;
    goro::worker_pool<job, int> pool(ctx, {.workers = 4, .queue = 8}, [](job j) { return j.id * 2; });
    auto consumer = goro::spawn(collect_results, pool.results(), &ids, &values, &errors);
    for (int i = 0; i < n; ++i) {
      job j{i};
      goro::submit_status s = co_await pool.submit(j);
      EXPECT_EQ(s, goro::submit_status::ok);
    }
    pool.stop();  // drain
    co_await pool.wait();
    co_await std::move(consumer);  // ends because results() closed
  });
  EXPECT_EQ(errors, 0);
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(n));
  std::sort(ids.begin(), ids.end());
  for (int i = 0; i < n; ++i) EXPECT_EQ(ids[static_cast<std::size_t>(i)], i);
  long sum = std::accumulate(values.begin(), values.end(), 0L);
  EXPECT_EQ(sum, static_cast<long>(n) * (n - 1));
}

// Regression (review): the last worker destroyed its share of the pool's
// callable after wg.done() and the close of results(), so the callable
// could die after wait() had returned and its caller had moved on.
TEST_P(Patterns, WorkerPoolDestroysItsCallableBeforeResultsClose) {
  using result = goro::job_result<job, int>;
  struct doubler : close_probe<result> {
    int operator()(job j) const { return j.id * 2; }
  };
  int verdict = rt().run([]() -> goro::task<int> {
    goro::context ctx;
    doubler f;
    auto watched = f.watched;
    auto verdict = f.verdict;
    goro::worker_pool<job, int> pool(ctx, {.workers = 3, .queue = 2}, std::move(f));
    *watched = pool.results();
    std::vector<int> ids, values;
    int errors = 0;
    auto consumer = goro::spawn(collect_results, pool.results(), &ids, &values, &errors);
    for (int i = 0; i < 20; ++i) {
      job j{i};
      EXPECT_EQ(co_await pool.submit(j), goro::submit_status::ok);
    }
    pool.stop();
    co_await pool.wait();
    co_await std::move(consumer);
    EXPECT_EQ(ids.size(), 20u);
    co_return verdict->load();
  });
  EXPECT_EQ(verdict, 1) << "0: not destroyed before wait() returned; 2: destroyed after the close";
}

TEST_P(Patterns, WorkerPoolTurnsAnExceptionIntoAnErrorResult) {
  std::vector<int> ids, values;
  int errors = 0;
  rt().run([&]() -> goro::task<> {
    goro::context ctx;
    goro::worker_pool<job, int> pool(ctx, {.workers = 2, .queue = 4},
                                     [](const goro::context&, job& j) -> goro::task<int> {
                                       co_await goro::yield();
                                       if (j.id % 2) throw std::runtime_error("odd job");
                                       co_return j.id;
                                     });
    auto consumer = goro::spawn(collect_results, pool.results(), &ids, &values, &errors);
    for (int i = 0; i < 20; ++i) {
      job j{i};
      (void)co_await pool.submit(j);
    }
    pool.stop();
    co_await pool.wait();
    co_await std::move(consumer);
  });
  EXPECT_EQ(ids.size(), 20u);  // the pool survived every throw
  EXPECT_EQ(errors, 10);
  EXPECT_EQ(values.size(), 10u);
}

TEST_P(Patterns, WorkerPoolOfZeroWorkersIsRejected) {
  goro::context ctx;
  EXPECT_THROW((goro::worker_pool<job, int>(ctx, {.workers = 0}, [](job j) { return j.id; })),
               std::invalid_argument);
}

TEST_P(Patterns, WorkerPoolSubmitAfterStopReportsStopped) {
  rt().run([]() -> goro::task<> {
    goro::context ctx;
    goro::worker_pool<job, int> pool(ctx, {.workers = 1, .queue = 4}, [](job j) { return j.id; });
    pool.stop();
    job j{1};
    goro::submit_status s = co_await pool.submit(j);
    EXPECT_EQ(s, goro::submit_status::stopped);
    EXPECT_EQ(pool.try_submit(job{2}), goro::submit_status::stopped);
    co_await pool.wait();
    auto r = co_await pool.results().recv();
    EXPECT_FALSE(r.has_value());  // closed after the last worker
  });
}

TEST_P(Patterns, WorkerPoolTrySubmitReportsFull) {
  rt().run([]() -> goro::task<> {
    goro::context ctx;
    auto started = goro::make_chan<void>(1);
    auto gate = goro::make_chan<void>();
    auto f = [started, gate](const goro::context& c, job&) -> goro::task<int> {
      (void)started.try_send(std::monostate{});
      auto r = co_await gate.recv(c);  // holds the only worker until cancelled
      (void)r;
      co_return 0;
    };
    goro::worker_pool<job, int> pool(ctx, {.workers = 1, .queue = 1, .results = 4}, f);
    EXPECT_EQ(pool.try_submit(job{1}), goro::submit_status::ok);
    auto s = co_await started.recv();  // the worker holds job 1; the queue is empty
    EXPECT_TRUE(s.has_value());
    EXPECT_EQ(pool.try_submit(job{2}), goro::submit_status::ok);
    EXPECT_EQ(pool.try_submit(job{3}), goro::submit_status::full);
    pool.stop(goro::stop_mode::cancel);
    co_await pool.wait();
  });
}

TEST_P(Patterns, WorkerPoolStopCancelDropsQueuedJobs) {
  std::atomic<int> ran{0};
  std::vector<int> ids, values;
  int errors = 0;
  rt().run([&]() -> goro::task<> {
    goro::context ctx;
    auto gate = goro::make_chan<void>();
    auto f = [gate, &ran](const goro::context& c, job&) -> goro::task<int> {
      ran.fetch_add(1);
      auto r = co_await gate.recv(c);  // the running job waits for cancellation
      (void)r;
      co_return 0;
    };
    goro::worker_pool<job, int> pool(ctx, {.workers = 1, .queue = 10, .results = 10}, f);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(pool.try_submit(job{i}), goro::submit_status::ok);
    pool.stop(goro::stop_mode::cancel);
    co_await pool.wait();
    co_await collect_results(pool.results(), &ids, &values, &errors);
  });
  EXPECT_LE(ran.load(), 1);  // at most the job running when cancelled
  EXPECT_LE(ids.size(), 1u);
}

TEST_P(Patterns, WorkerPoolSubmitWithContextIsCanceled) {
  rt().run([]() -> goro::task<> {
    goro::context ctx;
    auto gate = goro::make_chan<void>();
    auto f = [gate](const goro::context& c, job&) -> goro::task<int> {
      auto r = co_await gate.recv(c);
      (void)r;
      co_return 0;
    };
    goro::worker_pool<job, int> pool(ctx, {.workers = 1, .queue = 0}, f);
    job first{1};
    goro::submit_status s1 = co_await pool.submit(first);  // hand-off: the worker took it
    EXPECT_EQ(s1, goro::submit_status::ok);
    auto [mine, cancel] = goro::with_cancel(goro::background());
    cancel();
    job second{2};
    goro::submit_status s2 = co_await pool.submit(mine, second);  // no worker free, ctx done
    EXPECT_EQ(s2, goro::submit_status::canceled);
    pool.stop(goro::stop_mode::cancel);
    co_await pool.wait();
  });
}

TEST_P(Patterns, WorkerPoolStopsWhenItsParentIsCancelled) {
  rt().run([]() -> goro::task<> {
    auto [parent, cancel] = goro::with_cancel(goro::background());
    goro::worker_pool<job, void> pool(parent, {.workers = 3}, [](job) {});
    cancel();
    co_await pool.wait();
    job j{1};
    goro::submit_status s = co_await pool.submit(j);
    EXPECT_EQ(s, goro::submit_status::stopped);
  });
}

// ---- parallel::for_each / map ----------------------------------------------------------

TEST_P(Patterns, ParallelForEachRespectsTheLimit) {
  int n = scaled(200);
  std::atomic<int> active{0}, peak{0}, ran{0};
  goro::error err = rt().run([&]() -> goro::task<goro::error> {
    goro::context ctx;
    std::vector<int> items(static_cast<std::size_t>(n));
    goro::error e = co_await goro::parallel::for_each(ctx, items, 3, [&](int) -> goro::task<> {
      int now = active.fetch_add(1) + 1;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      co_await goro::yield();
      active.fetch_sub(1);
      ran.fetch_add(1);
    });
    co_return e;
  });
  EXPECT_FALSE(err);
  EXPECT_EQ(ran.load(), n);
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 1);
}

TEST_P(Patterns, ParallelForEachReturnsTheFirstErrorAndSkipsTheRest) {
  int n = scaled(1000);
  std::atomic<int> ran{0};
  goro::error err = rt().run([&]() -> goro::task<goro::error> {
    goro::context ctx;
    std::vector<int> items(static_cast<std::size_t>(n));
    std::iota(items.begin(), items.end(), 0);
    goro::error e = co_await goro::parallel::for_each(ctx, items, 2, [&](const goro::context&, int i) {
      ran.fetch_add(1);
      return i == 3 ? kDoom : std::error_code();
    });
    co_return e;
  });
  EXPECT_EQ(err, kDoom);
  EXPECT_LT(ran.load(), n);  // the items after the failure were not all run
}

TEST_P(Patterns, ParallelMapKeepsInputOrder) {
  int n = scaled(300);
  auto r = rt().run([n]() -> goro::task<goro::parallel::map_result<std::string>> {
    goro::context ctx;
    std::vector<int> items(static_cast<std::size_t>(n));
    std::iota(items.begin(), items.end(), 0);
    auto res = co_await goro::parallel::map(ctx, items, 7, [](int i) -> goro::task<std::string> {
      for (int k = 0; k < (i * 7919) % 5; ++k) co_await goro::yield();  // finish out of order
      co_return std::to_string(i);
    });
    co_return res;
  });
  EXPECT_FALSE(r.err);
  ASSERT_EQ(r.values.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(r.values[static_cast<std::size_t>(i)], std::to_string(i));
}

TEST_P(Patterns, ParallelMapReturnsAGoStyleError) {
  auto r = rt().run([]() -> goro::task<goro::parallel::map_result<int>> {
    goro::context ctx;
    std::vector<int> items{1, 2, 3, 4, 5, 6};
    auto res = co_await goro::parallel::map(ctx, items, 2, [](int i) {
      return std::pair<int, goro::error>(i * 10, i == 4 ? goro::error(kDoom) : goro::error());
    });
    co_return res;
  });
  EXPECT_EQ(r.err, kDoom);
  EXPECT_TRUE(r.values.empty());
}

TEST_P(Patterns, ParallelRethrowsAnException) {
  bool threw = rt().run([]() -> goro::task<bool> {
    goro::context ctx;
    std::vector<int> items{1, 2, 3};
    try {
      goro::error e = co_await goro::parallel::for_each(ctx, items, 2, [](int i) {
        if (i == 2) throw std::runtime_error("boom");
      });
      (void)e;
    } catch (const std::runtime_error&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(threw);
}

TEST_P(Patterns, ParallelLimitZeroIsRejected) {
  goro::context ctx;
  std::vector<int> items{1};
  EXPECT_THROW((void)goro::parallel::for_each(ctx, items, 0, [](int) {}), std::invalid_argument);
  EXPECT_THROW((void)goro::parallel::map(ctx, items, 0, [](int i) { return i; }), std::invalid_argument);
}

TEST_P(Patterns, ParallelWithACancelledParentReportsIt) {
  std::atomic<int> ran{0};
  goro::error err = rt().run([&]() -> goro::task<goro::error> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    cancel();
    std::vector<int> items{1, 2, 3};
    goro::error e = co_await goro::parallel::for_each(ctx, items, 2, [&](int) { ran.fetch_add(1); });
    co_return e;
  });
  EXPECT_EQ(err, goro::canceled);
  EXPECT_EQ(ran.load(), 0);
}

// ---- race_first -------------------------------------------------------------------------

// Waits for its ctx, then fails with ctx.err(); counts how many were cancelled.
struct slow_loser {
  std::atomic<int>* cancelled;
  goro::task<std::pair<int, goro::error>> operator()(goro::context ctx) const {
    auto d = ctx.done();
    co_await d.recv();
    cancelled->fetch_add(1);
    co_return std::pair<int, goro::error>(0, ctx.err());
  }
};

TEST_P(Patterns, RaceFirstSuccessWinsAndTheRestAreCancelled) {
  std::atomic<int> cancelled{0};
  auto r = rt().run([&]() -> goro::task<goro::race_result<int>> {
    goro::context ctx;
    slow_loser a{&cancelled}, c{&cancelled};
    auto fast = [](goro::context) -> goro::task<std::pair<int, goro::error>> {
      co_await goro::yield();
      co_return std::pair<int, goro::error>(42, goro::error());
    };
    goro::race_result<int> res = co_await goro::race_first(ctx, a, fast, c);
    co_return res;
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r.value, 42);
  EXPECT_EQ(r.winner, 1u);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(cancelled.load(), 2);  // race_first returned after both losers stopped
}

TEST_P(Patterns, RaceFirstReportsEveryErrorWhenAllFail) {
  auto r = rt().run([]() -> goro::task<goro::race_result<int>> {
    goro::context ctx;
    auto bad_code = [](goro::context) { return std::pair<int, goro::error>(0, kDoom); };
    auto bad_throw = [](goro::context) -> int { throw std::runtime_error("down"); };
    goro::race_result<int> res = co_await goro::race_first(ctx, bad_code, bad_throw);
    co_return res;
  });
  EXPECT_FALSE(r);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0], kDoom);
  EXPECT_TRUE(r.errors[1].exception());
  EXPECT_EQ(r.errors[1].message(), "down");
}

TEST_P(Patterns, RaceFirstSuccessBeatsEarlierFailures) {
  auto r = rt().run([]() -> goro::task<goro::race_result<std::string>> {
    goro::context ctx;
    std::vector<std::function<goro::task<std::pair<std::string, goro::error>>(goro::context)>> fns;
    for (int i = 0; i < 5; ++i) {
      fns.emplace_back([i](goro::context) -> goro::task<std::pair<std::string, goro::error>> {
        // Contender 4 succeeds, after the others have failed.
        for (int k = 0; k < i * 3; ++k) co_await goro::yield();
        if (i == 4) co_return std::pair<std::string, goro::error>("ok", goro::error());
        co_return std::pair<std::string, goro::error>("", kDoom);
      });
    }
    goro::race_result<std::string> res = co_await goro::race_first(ctx, std::move(fns));
    co_return res;
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r.value, "ok");
  EXPECT_EQ(r.winner, 4u);
}

TEST_P(Patterns, RaceFirstWithNoContendersIsRejected) {
  goro::context ctx;
  std::vector<std::function<int(goro::context)>> none;
  EXPECT_THROW((void)goro::race_first(ctx, std::move(none)), std::invalid_argument);
}

}  // namespace

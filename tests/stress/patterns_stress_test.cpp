// Stress tests for goro/patterns.hpp, at 1, 2 and 8 workers, each ending
// with the fixture's leak check (every stage, forwarder, worker and
// contender goroutine must have returned). The invariants:
//  * a pipeline that runs to the end delivers every item exactly once, in
//    order where the stages promise it (generate/map/filter/batch/tee);
//    merge and fan_out deliver every item exactly once;
//  * cancelling at any point — mid-stream, with nobody reading, from
//    another goroutine racing the consumer — ends every consumer loop and
//    leaves no goroutine;
//  * worker_pool: with many submitters (goroutines and a plain thread) each
//    accepted job yields exactly one result under drain; under a cancel
//    racing the submitters no job yields two results;
//  * parallel::map keeps order or reports the error; race_first returns
//    only after every loser stopped.
#include <algorithm>
#include <atomic>
#include <memory>
#include <numeric>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <goro/patterns.hpp>

#include "goro_test.hpp"

using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

class PatternsStress : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(PatternsStress);

struct counter {
  int next = 0;
  std::optional<int> operator()() { return next++; }
};

goro::task<int> slow_square(int n) {
  if (n % 3 == 0) co_await goro::yield();
  co_return n * n;
}

TEST_P(PatternsStress, LongPipelineDeliversEveryItemOnceInOrder) {
  int n = scaled(20000);
  auto got = rt().run([n]() -> goro::task<std::pair<std::vector<int>, std::vector<int>>> {
    goro::context ctx;
    std::vector<int> nums(static_cast<std::size_t>(n));
    std::iota(nums.begin(), nums.end(), 0);
    auto sq = goro::pipe::map(ctx, goro::pipe::generate(ctx, nums, 4), slow_square, 2);
    auto kept = goro::pipe::filter(ctx, sq, [](int v) { return v >= 0; });
    auto batches = goro::pipe::batch(ctx, kept, 7, 1);
    auto flat = goro::pipe::map(ctx, batches, [](std::vector<int> b) { return b; });
    auto [a, b] = goro::pipe::tee(ctx, flat, 3);
    // Both tee outputs read concurrently: one here, one in a spawned goroutine.
    auto other = goro::spawn(goro::pipe::collect<std::vector<int>>, ctx, b);
    std::vector<std::vector<int>> mine = co_await goro::pipe::collect(ctx, a);
    std::vector<std::vector<int>> theirs = co_await std::move(other);
    std::vector<int> x, y;
    for (auto& v : mine) x.insert(x.end(), v.begin(), v.end());
    for (auto& v : theirs) y.insert(y.end(), v.begin(), v.end());
    co_return std::make_pair(x, y);
  });
  ASSERT_EQ(got.first.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(got.first, got.second);
  for (int i = 0; i < n; ++i) ASSERT_EQ(got.first[static_cast<std::size_t>(i)], i * i);
}

TEST_P(PatternsStress, FanOutMergeDeliversEveryItemExactlyOnce) {
  int n = scaled(20000);
  auto got = rt().run([n]() -> goro::task<std::vector<int>> {
    auto [ctx, cancel] = goro::with_cancel(goro::background());  // stops the generator take leaves
    auto in = goro::pipe::take(ctx, goro::pipe::generate(ctx, counter{}), static_cast<std::size_t>(n));
    auto outs = goro::pipe::fan_out(ctx, in, 5, slow_square);
    auto extra = goro::pipe::generate(ctx, {-1, -2});
    outs.push_back(extra);
    std::vector<int> v = co_await goro::pipe::collect(ctx, goro::pipe::merge(ctx, std::move(outs), 8));
    co_return v;
  });
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n) + 2);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got[0], -2);
  EXPECT_EQ(got[1], -1);
  for (int i = 0; i < n; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i) + 2], i * i);
}

// The pipeline of the cancellation tests: every stage kind, endless input.
goro::receiver<long> build_pipeline(const goro::context& ctx) {
  auto src = goro::pipe::generate(ctx, counter{});
  auto [t1, t2] = goro::pipe::tee(ctx, src, 1);
  auto outs = goro::pipe::fan_out(ctx, t1, 3, slow_square);
  auto odd = goro::pipe::filter(ctx, t2, [](int v) { return v % 2 == 1; });
  outs.push_back(goro::pipe::map(ctx, goro::pipe::or_done(ctx, odd), [](int v) { return -v; }));
  auto merged = goro::pipe::merge(ctx, std::move(outs), 2);
  auto batches = goro::pipe::batch(ctx, merged, 5);
  auto sums = goro::pipe::map(ctx, batches, [](std::vector<int> b) {
    return std::accumulate(b.begin(), b.end(), 0L);
  });
  return sums;
}

TEST_P(PatternsStress, CancelMidPipelineAtEveryDepthLeaksNothing) {
  int rounds = scaled(300);
  int ended = rt().run([rounds]() -> goro::task<int> {
    int ended = 0;
    for (int r = 0; r < rounds; ++r) {
      auto [ctx, cancel] = goro::with_cancel(goro::background());
      auto out = build_pipeline(ctx);
      int want = r % 17;  // read a few values, then cancel
      int got = 0;
      if (want == 0) cancel();
      while (auto v = co_await out.recv()) {
        if (++got == want) cancel();
      }
      ++ended;  // the loop ended: the cancellation closed the last output
      EXPECT_GE(got, want);
    }
    co_return ended;
  });
  EXPECT_EQ(ended, rounds);
}

TEST_P(PatternsStress, CancelWithNobodyReadingLeaksNothing) {
  int rounds = scaled(300);
  rt().run([rounds]() -> goro::task<> {
    for (int r = 0; r < rounds; ++r) {
      auto [ctx, cancel] = goro::with_cancel(goro::background());
      auto out = build_pipeline(ctx);  // abandoned: every stage ends up blocked
      for (int k = 0; k < r % 5; ++k) co_await goro::yield();
      cancel();  // ... until this; the leak check at the end counts them
    }
  });
}

TEST_P(PatternsStress, CancelFromAnotherGoroutineRacingTheConsumer) {
  int rounds = scaled(300);
  rt().run([rounds]() -> goro::task<> {
    for (int r = 0; r < rounds; ++r) {
      auto cc = goro::with_cancel(goro::background());
      goro::context ctx = cc.ctx;
      auto out = build_pipeline(ctx);
      goro::go(goro_test::cancel_after_yields, std::move(cc.cancel), static_cast<unsigned>(r % 23));
      while (auto v = co_await out.recv()) {
      }
      EXPECT_TRUE(ctx.err());  // only the cancellation can end an endless pipeline
    }
  });
}

// ---- worker_pool -------------------------------------------------------------------------

struct job {
  int id = 0;
};

constexpr int kGoSubmitters = 4;

TEST_P(PatternsStress, WorkerPoolManySubmittersEveryJobOnce) {
  int per = scaled(3000);
  const int total = (kGoSubmitters + 1) * per;
  auto seen = std::make_unique<std::atomic<int>[]>(static_cast<std::size_t>(total));
  std::atomic<int> results{0}, errors{0};
  rt().run([&]() -> goro::task<> {
    goro::context ctx;
    goro::worker_pool<job, int> pool(ctx, {.workers = 6, .queue = 16, .results = 4},
                                     [](job& j) -> goro::task<int> {
                                       if (j.id % 7 == 0) co_await goro::yield();
                                       if (j.id % 101 == 0) throw std::runtime_error("bad job");
                                       co_return j.id;
                                     });
    auto consumer = goro::spawn(
        [&](goro::receiver<goro::job_result<job, int>> rs) -> goro::task<> {
          while (auto r = co_await rs.recv()) {
            seen[static_cast<std::size_t>(r->job.id)].fetch_add(1);
            results.fetch_add(1);
            if (!*r) errors.fetch_add(1);
          }
        },
        pool.results());
    goro::wait_group wg;
    for (int s = 0; s < kGoSubmitters; ++s) {
      wg.go(
          [&pool, per](int base) -> goro::task<> {
            for (int i = 0; i < per; ++i) {
              job j{base + i};
              goro::submit_status st = co_await pool.submit(j);
              EXPECT_EQ(st, goro::submit_status::ok);
            }
          },
          s * per);
    }
    std::thread th([&pool, per] {
      for (int i = 0; i < per; ++i)
        EXPECT_EQ(pool.blocking_submit(job{kGoSubmitters * per + i}), goro::submit_status::ok);
    });
    co_await wg.wait();
    co_await goro::spawn_blocking([&th] { th.join(); });
    pool.stop(goro::stop_mode::drain);
    co_await pool.wait();
    co_await std::move(consumer);
  });
  EXPECT_EQ(results.load(), total);
  int expected_errors = 0;
  for (int i = 0; i < total; ++i) {
    ASSERT_EQ(seen[static_cast<std::size_t>(i)].load(), 1) << "job " << i;
    if (i % 101 == 0) ++expected_errors;
  }
  EXPECT_EQ(errors.load(), expected_errors);
}

TEST_P(PatternsStress, WorkerPoolCancelRacingSubmittersNoDuplicates) {
  int rounds = scaled(200);
  rt().run([rounds]() -> goro::task<> {
    for (int r = 0; r < rounds; ++r) {
      auto cc = goro::with_cancel(goro::background());
      goro::context parent = cc.ctx;
      auto seen = std::make_shared<std::vector<std::atomic<int>>>(400);
      std::atomic<int> accepted{0};
      {
        goro::worker_pool<job, int> pool(parent, {.workers = 3, .queue = 4, .results = 2},
                                         [](const goro::context&, job& j) -> goro::task<int> {
                                           co_await goro::yield();
                                           co_return j.id;
                                         });
        auto consumer = goro::spawn(
            [seen](goro::receiver<goro::job_result<job, int>> rs) -> goro::task<int> {
              int n = 0;
              while (auto res = co_await rs.recv()) {
                (*seen)[static_cast<std::size_t>(res->job.id)].fetch_add(1);
                ++n;
              }
              co_return n;
            },
            pool.results());
        goro::wait_group wg;
        for (int s = 0; s < 4; ++s) {
          wg.go(
              [&pool, &accepted](int base) -> goro::task<> {
                for (int i = 0; i < 100; ++i) {
                  job j{base + i};
                  goro::submit_status st = co_await pool.submit(j);
                  if (st != goro::submit_status::ok) {
                    EXPECT_EQ(st, goro::submit_status::stopped);
                    co_return;
                  }
                  accepted.fetch_add(1);
                }
              },
              s * 100);
        }
        goro::go(goro_test::cancel_after_yields, std::move(cc.cancel), static_cast<unsigned>(r % 40));
        co_await wg.wait();
        co_await pool.wait();
        int delivered = co_await std::move(consumer);
        EXPECT_LE(delivered, accepted.load());
      }
      for (auto& s : *seen) EXPECT_LE(s.load(), 1);
    }
  });
}

// ---- parallel, race ---------------------------------------------------------------------

TEST_P(PatternsStress, ParallelMapKeepsOrderOrReportsCancellation) {
  int rounds = scaled(200);
  rt().run([rounds]() -> goro::task<> {
    std::vector<int> items(200);
    std::iota(items.begin(), items.end(), 0);
    for (int r = 0; r < rounds; ++r) {
      auto cc = goro::with_cancel(goro::background());
      goro::context ctx = cc.ctx;
      goro::go(goro_test::cancel_after_yields, std::move(cc.cancel), static_cast<unsigned>(r * 3));
      auto f = [](const goro::context&, int i) -> goro::task<int> {
        if (i % 4 == 0) co_await goro::yield();
        co_return i * 2;
      };
      goro::parallel::map_result<int> res = co_await goro::parallel::map(ctx, items, 1 + r % 9, f);
      if (res.err) {
        EXPECT_EQ(res.err, goro::canceled);
        EXPECT_TRUE(res.values.empty());
      } else {
        EXPECT_EQ(res.values.size(), items.size());
        for (std::size_t i = 0; i < res.values.size(); ++i) EXPECT_EQ(res.values[i], static_cast<int>(i) * 2);
      }
    }
  });
}

TEST_P(PatternsStress, RaceFirstReturnsAfterEveryLoserStopped) {
  int rounds = scaled(2000);
  rt().run([rounds]() -> goro::task<> {
    for (int r = 0; r < rounds; ++r) {
      auto running = std::make_shared<std::atomic<int>>(0);
      std::vector<std::function<goro::task<std::pair<int, goro::error>>(goro::context)>> fns;
      const int n = 2 + r % 6, winner = r % n;
      for (int i = 0; i < n; ++i) {
        fns.emplace_back([i, winner, running](goro::context ctx) -> goro::task<std::pair<int, goro::error>> {
          running->fetch_add(1);
          if (i == winner) {
            co_await goro::yield();
            running->fetch_sub(1);
            co_return std::pair<int, goro::error>(i, goro::error());
          }
          auto d = ctx.done();
          co_await d.recv();  // a loser runs until it is cancelled
          running->fetch_sub(1);
          co_return std::pair<int, goro::error>(-1, ctx.err());
        });
      }
      goro::context parent;
      goro::race_result<int> res = co_await goro::race_first(parent, std::move(fns));
      EXPECT_TRUE(res);
      EXPECT_EQ(res.value.value_or(-2), winner);
      EXPECT_EQ(res.winner, static_cast<std::size_t>(winner));
      EXPECT_EQ(running->load(), 0);
    }
  });
}

}  // namespace

// Ported from golang.org/x/time/rate: rate_test.go and sometimes_test.go
// (Debian's golang-golang-x-time-dev 0.3.0, plus TestSetAfterZeroLimit and
// TestTinyLimit from the current upstream, whose NewLimiter starts full and
// whose zero limit has no special case — the semantics goro follows). Suites
// RatePorted / SometimesPorted, tests named after the Go tests.
//
// How Go's devices map:
//  * lim.reserveN(t, n, maxFutureReserve) (unexported): the public
//    reserve_n_within(t, n, max_wait).
//  * lim.wait(ctx, n, t, newTimer) with testTime's fake timers:
//    reserve_for_wait(ctx, n, t, &r) — the same code wait_n runs before it
//    sleeps — and the fake clock advanced to r's time to act, or to the
//    moment the test's canceller fires (then r.cancel_at(that time), as
//    WaitN does when ctx is done first). Nothing sleeps.
//  * Fake times start an hour after the real now, so that TestWaitTimeout's
//    context deadline (fake start + d, a real goro deadline) lies ahead.
//  * The Example* functions of sometimes_test.go are tests here, with
//    time.Sleep replaced by explicit times (run_at).
//  * Go's run() compares TokensAt exactly; so does the port. Exact arithmetic
//    makes TestLongRunningQPS's count exact too (Go allows ideal±0.1%): the
//    port checks Go's bounds and the exact value.
// Not ported: BenchmarkAllowN, BenchmarkWaitNNoDelay (benchmarks live in bench/).
#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;
namespace rate = goro::rate;

namespace {

constexpr auto d = 100ms;
const rate::time_point t0 = goro::clock::now() + 1h;
const rate::time_point t1 = t0 + 1 * d;
const rate::time_point t2 = t0 + 2 * d;
const rate::time_point t3 = t0 + 3 * d;
const rate::time_point t4 = t0 + 4 * d;
const rate::time_point t5 = t0 + 5 * d;
const rate::time_point t9 = t0 + 9 * d;

struct allow_step {
  rate::time_point t;
  double toks;
  std::int64_t n;
  bool ok;
};

void run(rate::limiter& lim, const std::vector<allow_step>& allows) {
  for (std::size_t i = 0; i < allows.size(); ++i) {
    const allow_step& a = allows[i];
    EXPECT_EQ(lim.tokens_at(a.t), a.toks) << "step " << i << ": tokens_at";
    EXPECT_EQ(lim.allow_n(a.t, a.n), a.ok) << "step " << i << ": allow_n(" << a.n << ")";
  }
}

// Multiples of d since t0, rounded to the nearest.
int d_since(rate::time_point t) {
  auto dur = t - t0;
  return static_cast<int>((dur + d / 2) / d);
}

struct request {
  rate::time_point t;
  std::int64_t n;
  rate::time_point act;
  bool ok;
};

rate::reservation run_reserve_max(rate::limiter& lim, const request& req, rate::duration max) {
  rate::reservation r = lim.reserve_n_within(req.t, req.n, max);
  EXPECT_EQ(r.ok(), req.ok) << "reserve_n(t" << d_since(req.t) << ", " << req.n << ")";
  if (r.ok() && req.ok) {
    EXPECT_EQ(d_since(r.time_to_act()), d_since(req.act))
        << "reserve_n(t" << d_since(req.t) << ", " << req.n << ") acts at t"
        << d_since(r.time_to_act());
  }
  return r;
}
rate::reservation run_reserve(rate::limiter& lim, const request& req) {
  return run_reserve_max(lim, req, rate::inf_duration);
}

// Go's testTime, reduced to what the wait tests use: a fake clock, and an
// optional fake timer that "cancels the context" when the clock reaches it.
struct test_time {
  rate::time_point cur = t0;
  std::optional<rate::time_point> cancel_at;  // the canceller goroutine's timer
  goro::cancel_func* cancel = nullptr;
};

struct wait_case {
  std::string name;
  goro::context ctx;
  std::int64_t n;
  int delay;  // in multiples of d
  bool nil_err;
};

// Go's runWait: lim.wait with fake timers. The wait ends when the fake clock
// reaches the reservation's time to act, or earlier when the canceller's
// timer comes first (then it is cancelled as WaitN does).
void run_wait(test_time& tt, rate::limiter& lim, const wait_case& w) {
  const rate::time_point start = tt.cur;
  rate::reservation r;
  std::error_code err = lim.reserve_for_wait(w.ctx, w.n, start, &r);
  if (!err) {
    const rate::time_point act = start + r.delay_from(start);
    if (act > start && tt.cancel_at && *tt.cancel_at < act) {
      tt.cur = *tt.cancel_at;
      tt.cancel_at.reset();
      (*tt.cancel)();
      r.cancel_at(tt.cur);
      err = w.ctx.err();
    } else {
      tt.cur = act;
    }
  }
  const int got = static_cast<int>((tt.cur - start + d / 2) / d);
  EXPECT_EQ(!err, w.nil_err) << w.name << ": err = " << err.message();
  EXPECT_EQ(got, w.delay) << w.name;
}

bool close_enough(double a, double b) { return std::fabs(a / b - 1.0) < 1e-9; }

}  // namespace

TEST(RatePorted, TestLimit) { EXPECT_FALSE(rate::limit(10) == rate::inf); }

TEST(RatePorted, TestEvery) {
  struct tc {
    rate::duration interval;
    double lim;
  };
  const tc cases[] = {
      {1ns, 1e9},
      {1us, 1e6},
      {1ms, 1e3},
      {10ms, 100},
      {100ms, 10},
      {1s, 1},
      {2s, 0.5},
      {2500ms, 0.4},
      {4s, 0.25},
      {10s, 0.1},
      {rate::duration::max(), 1e9 / static_cast<double>(INT64_MAX)},
  };
  EXPECT_TRUE(rate::every(0ns).is_inf());
  EXPECT_TRUE(rate::every(-1ns).is_inf());
  for (const tc& c : cases) {
    const rate::limit l = rate::every(c.interval);
    EXPECT_TRUE(close_enough(l.value(), c.lim)) << c.interval.count() << "ns: " << l.value();
  }
}

TEST(RatePorted, TestLimiterBurst1) {
  rate::limiter lim(10, 1);
  run(lim, {
               {t0, 1, 1, true},
               {t0, 0, 1, false},
               {t0, 0, 1, false},
               {t1, 1, 1, true},
               {t1, 0, 1, false},
               {t1, 0, 1, false},
               {t2, 1, 2, false},  // burst size is 1, so n=2 always fails
               {t2, 1, 1, true},
               {t2, 0, 1, false},
           });
}

TEST(RatePorted, TestLimiterBurst3) {
  rate::limiter lim(10, 3);
  run(lim, {
               {t0, 3, 2, true},
               {t0, 1, 2, false},
               {t0, 1, 1, true},
               {t0, 0, 1, false},
               {t1, 1, 4, false},
               {t2, 2, 1, true},
               {t3, 2, 1, true},
               {t4, 2, 1, true},
               {t4, 1, 1, true},
               {t4, 0, 1, false},
               {t4, 0, 1, false},
               {t9, 3, 3, true},
               {t9, 0, 0, true},
           });
}

TEST(RatePorted, TestLimiterJumpBackwards) {
  rate::limiter lim(10, 3);
  run(lim, {
               {t1, 3, 1, true},  // start at t1
               {t0, 2, 1, true},  // jump back to t0, two tokens remain
               {t0, 1, 1, true},
               {t0, 0, 1, false},
               {t0, 0, 1, false},
               {t1, 1, 1, true},  // got a token
               {t1, 0, 1, false},
               {t1, 0, 1, false},
               {t2, 1, 1, true},  // got another token
               {t2, 0, 1, false},
               {t2, 0, 1, false},
           });
}

// golang.org/issues/34861: no rounding error from truncated nanoseconds.
TEST(RatePorted, TestLimiter_noTruncationErrors) {
  rate::limiter lim(0.7692307692307693, 1);
  EXPECT_TRUE(lim.allow());
}

class RatePortedRT : public goro_test::RuntimeTest {};

// 15 goroutines race for the 5 tokens of a slowly refilled bucket (Go uses
// the real clock; the port uses one explicit time so a slow machine cannot
// earn a sixth token).
TEST_P(RatePortedRT, TestSimultaneousRequests) {
  constexpr int kLimit = 1, kBurst = 5, kRequests = 15;
  rate::limiter lim(kLimit, kBurst);
  std::atomic<int> num_ok{0};
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < kRequests; ++i) {
      wg.go([&] {
        if (lim.allow_n(t0, 1)) num_ok.fetch_add(1);
      });
    }
    co_await wg.wait();
  });
  EXPECT_EQ(num_ok.load(), kBurst);
}
GORO_INSTANTIATE_WORKERS(RatePortedRT);

TEST(RatePorted, TestLongRunningQPS) {
  constexpr int kLimit = 100, kBurst = 100;
  rate::limiter lim(kLimit, kBurst);
  rate::time_point now = t0;
  const rate::time_point end = t0 + 5s;
  int num_ok = 0;
  while (now < end) {
    if (lim.allow_n(now, 1)) ++num_ok;
    now += 2ms;  // ~500 requests per second
  }
  const double elapsed = std::chrono::duration<double>(now - t0).count();
  const double ideal = kBurst + kLimit * elapsed;
  EXPECT_LE(num_ok, static_cast<int>(ideal + 1));
  EXPECT_GE(num_ok, static_cast<int>(0.999 * ideal));
  // Exact: the burst, plus one token per 10ms up to the last call at 4998ms.
  EXPECT_EQ(num_ok, 100 + 499);
}

TEST(RatePorted, TestSimpleReserve) {
  rate::limiter lim(10, 2);
  run_reserve(lim, {t0, 2, t0, true});
  run_reserve(lim, {t0, 2, t2, true});
  run_reserve(lim, {t3, 2, t4, true});
}

TEST(RatePorted, TestMix) {
  rate::limiter lim(10, 2);
  run_reserve(lim, {t0, 3, t1, false});  // should return false because n > Burst
  run_reserve(lim, {t0, 2, t0, true});
  run(lim, {{t1, 1, 2, false}});  // not enough tokens - don't allow
  run_reserve(lim, {t1, 2, t2, true});
  run(lim, {{t1, -1, 1, false}});  // negative tokens - don't allow
  run(lim, {{t3, 1, 1, true}});
}

TEST(RatePorted, TestCancelInvalid) {
  rate::limiter lim(10, 2);
  run_reserve(lim, {t0, 2, t0, true});
  rate::reservation r = run_reserve(lim, {t0, 3, t3, false});
  r.cancel_at(t0);                      // should have no effect
  run_reserve(lim, {t0, 2, t2, true});  // did not get extra tokens
}

TEST(RatePorted, TestCancelLast) {
  rate::limiter lim(10, 2);
  run_reserve(lim, {t0, 2, t0, true});
  rate::reservation r = run_reserve(lim, {t0, 2, t2, true});
  r.cancel_at(t1);  // got 2 tokens back
  run_reserve(lim, {t1, 2, t2, true});
}

TEST(RatePorted, TestCancelTooLate) {
  rate::limiter lim(10, 2);
  run_reserve(lim, {t0, 2, t0, true});
  rate::reservation r = run_reserve(lim, {t0, 2, t2, true});
  r.cancel_at(t3);  // too late to cancel - should have no effect
  run_reserve(lim, {t3, 2, t4, true});
}

TEST(RatePorted, TestCancel0Tokens) {
  rate::limiter lim(10, 2);
  run_reserve(lim, {t0, 2, t0, true});
  rate::reservation r = run_reserve(lim, {t0, 1, t1, true});
  run_reserve(lim, {t0, 1, t2, true});
  r.cancel_at(t0);  // got 0 tokens back
  run_reserve(lim, {t0, 1, t3, true});
}

TEST(RatePorted, TestCancel1Token) {
  rate::limiter lim(10, 2);
  run_reserve(lim, {t0, 2, t0, true});
  rate::reservation r = run_reserve(lim, {t0, 2, t2, true});
  run_reserve(lim, {t0, 1, t3, true});
  r.cancel_at(t2);  // got 1 token back
  run_reserve(lim, {t2, 2, t4, true});
}

TEST(RatePorted, TestCancelMulti) {
  rate::limiter lim(10, 4);
  run_reserve(lim, {t0, 4, t0, true});
  rate::reservation ra = run_reserve(lim, {t0, 3, t3, true});
  run_reserve(lim, {t0, 1, t4, true});
  rate::reservation rc = run_reserve(lim, {t0, 1, t5, true});
  rc.cancel_at(t1);  // get 1 token back
  ra.cancel_at(t1);  // get 2 tokens back, as if C was never reserved
  run_reserve(lim, {t1, 3, t5, true});
}

TEST(RatePorted, TestReserveJumpBack) {
  rate::limiter lim(10, 2);
  run_reserve(lim, {t1, 2, t1, true});  // start at t1
  run_reserve(lim, {t0, 1, t1, true});  // should violate Limit,Burst
  run_reserve(lim, {t2, 2, t3, true});
  // burst size is 2, so n=3 always fails, and the state of lim should not be changed
  run_reserve(lim, {t0, 3, {}, false});
  run_reserve(lim, {t2, 1, t4, true});
  // the maxReserve is not enough so it fails, and the state of lim should not be changed
  run_reserve_max(lim, {t0, 2, {}, false}, d);
  run_reserve(lim, {t2, 1, t5, true});
}

TEST(RatePorted, TestReserveJumpBackCancel) {
  rate::limiter lim(10, 2);
  run_reserve(lim, {t1, 2, t1, true});  // start at t1
  rate::reservation r = run_reserve(lim, {t1, 2, t3, true});
  run_reserve(lim, {t1, 1, t4, true});
  r.cancel_at(t0);                      // cancel at t0, get 1 token back
  run_reserve(lim, {t1, 2, t4, true});  // should violate Limit,Burst
}

TEST(RatePorted, TestReserveSetLimit) {
  rate::limiter lim(5, 2);
  run_reserve(lim, {t0, 2, t0, true});
  run_reserve(lim, {t0, 2, t4, true});
  lim.set_limit_at(t2, 10);
  run_reserve(lim, {t2, 1, t4, true});  // violates Limit and Burst
}

TEST(RatePorted, TestReserveSetBurst) {
  rate::limiter lim(5, 2);
  run_reserve(lim, {t0, 2, t0, true});
  run_reserve(lim, {t0, 2, t4, true});
  lim.set_burst_at(t3, 4);
  run_reserve(lim, {t0, 4, t9, true});  // violates Limit and Burst
}

TEST(RatePorted, TestReserveSetLimitCancel) {
  rate::limiter lim(5, 2);
  run_reserve(lim, {t0, 2, t0, true});
  rate::reservation r = run_reserve(lim, {t0, 2, t4, true});
  lim.set_limit_at(t2, 10);
  r.cancel_at(t2);  // 2 tokens back
  run_reserve(lim, {t2, 2, t3, true});
}

TEST(RatePorted, TestReserveMax) {
  rate::limiter lim(10, 2);
  const rate::duration max_t = d;
  run_reserve_max(lim, {t0, 2, t0, true}, max_t);
  run_reserve_max(lim, {t0, 1, t1, true}, max_t);   // reserve for close future
  run_reserve_max(lim, {t0, 1, t2, false}, max_t);  // time to act too far in the future
}

TEST_P(RatePortedRT, TestWaitSimple) {
  test_time tt;
  rate::limiter lim(10, 3);
  {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    cancel();
    run_wait(tt, lim, {"already-cancelled", ctx, 1, 0, false});
  }
  run_wait(tt, lim, {"exceed-burst-error", goro::background(), 4, 0, false});
  run_wait(tt, lim, {"act-now", goro::background(), 2, 0, true});
  run_wait(tt, lim, {"act-later", goro::background(), 3, 2, true});
}

TEST_P(RatePortedRT, TestWaitCancel) {
  test_time tt;
  rate::limiter lim(10, 3);
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  run_wait(tt, lim, {"act-now", ctx, 2, 0, true});  // after this lim.tokens = 1
  tt.cancel_at = tt.cur + d;                         // the canceller's timer
  tt.cancel = &cancel;
  run_wait(tt, lim, {"will-cancel", ctx, 3, 1, false});
  // should get 3 tokens back, and have lim.tokens = 2
  EXPECT_EQ(lim.tokens_at(tt.cur), 2);
  run_wait(tt, lim, {"act-now-after-cancel", goro::background(), 2, 0, true});
}

TEST_P(RatePortedRT, TestWaitTimeout) {
  test_time tt;
  rate::limiter lim(10, 3);
  auto [ctx, cancel] = goro::with_deadline(goro::background(), tt.cur + d);
  run_wait(tt, lim, {"act-now", ctx, 2, 0, true});
  run_wait(tt, lim, {"w-timeout-err", ctx, 3, 0, false});
  rate::reservation r;
  EXPECT_EQ(lim.reserve_for_wait(ctx, 3, tt.cur, &r), rate::errc::would_exceed_deadline);
}

TEST_P(RatePortedRT, TestWaitInf) {
  test_time tt;
  rate::limiter lim(rate::inf, 0);
  run_wait(tt, lim, {"exceed-burst-no-error", goro::background(), 3, 0, true});
}

TEST(RatePorted, TestZeroLimit) {
  rate::limiter r(0, 1);
  EXPECT_TRUE(r.allow()) << "Limit(0, 1) want true when first used";
  EXPECT_FALSE(r.allow()) << "Limit(0, 1) want false when already used";
}

TEST_P(RatePortedRT, TestSetAfterZeroLimit) {
  rate::limiter lim(0, 1);
  // The limiter starts full, so even though the rate limit is 0, the first
  // request is allowed...
  EXPECT_TRUE(lim.allow_n(t0, 1));
  // ...the bucket is not being replenished, so the second is not.
  EXPECT_FALSE(lim.allow_n(t0, 1));
  lim.set_limit_at(t0, 10);
  // We set the limit to 10/s so expect to get another token in 100ms.
  test_time tt;
  run_wait(tt, lim, {"wait-after-set-nonzero-after-zero", goro::background(), 1, 1, true});
}

// Issue 71154: a tiny rate must not overflow into allowing more than burst.
TEST(RatePorted, TestTinyLimit) {
  rate::limiter lim(1e-10, 1);
  EXPECT_TRUE(lim.allow()) << "Limit(1e-10, 1) want true when first used";
  EXPECT_FALSE(lim.allow()) << "Limit(1e-10, 1) want false when already used";
}

// ---- sometimes_test.go ----------------------------------------------------------

namespace {
std::vector<int> run_sometimes(rate::sometimes& s, const std::vector<rate::time_point>& at) {
  std::vector<int> ran;
  for (std::size_t i = 0; i < at.size(); ++i) s.run_at(at[i], [&] { ran.push_back(int(i) + 1); });
  return ran;
}
}  // namespace

TEST(SometimesPorted, ExampleSometimes_once) {
  // The zero value of Sometimes behaves like sync.Once.
  rate::sometimes s;
  EXPECT_EQ(run_sometimes(s, {t0, t0, t0}), (std::vector<int>{1}));
}

TEST(SometimesPorted, ExampleSometimes_first) {
  rate::sometimes s({.first = 2});
  EXPECT_EQ(run_sometimes(s, {t0, t0, t0}), (std::vector<int>{1, 2}));
}

TEST(SometimesPorted, ExampleSometimes_every) {
  rate::sometimes s({.every = 2});
  EXPECT_EQ(run_sometimes(s, {t0, t0, t0}), (std::vector<int>{1, 3}));
}

TEST(SometimesPorted, ExampleSometimes_interval) {
  rate::sometimes s({.interval = 1s});
  // s.Do; s.Do; time.Sleep(1 * time.Second); s.Do
  EXPECT_EQ(run_sometimes(s, {t0, t0, t0 + 1s}), (std::vector<int>{1, 3}));
}

TEST(SometimesPorted, ExampleSometimes_mix) {
  rate::sometimes s({.first = 2, .every = 2, .interval = 2s});
  // 1 (First:2), 2 (First:2), 3 (Every:2), sleep 2s, 4 (Interval), 5 (Every:2), 6 (not run)
  EXPECT_EQ(run_sometimes(s, {t0, t0, t0, t0 + 2s, t0 + 2s, t0 + 2s}),
            (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(SometimesPorted, TestSometimesZero) {
  rate::sometimes s({.interval = 0s});
  EXPECT_EQ(run_sometimes(s, {t0, t0 + 1h}), (std::vector<int>{1}));
}

TEST(SometimesPorted, TestSometimesMax) {
  rate::sometimes s({.interval = rate::duration::max()});
  EXPECT_EQ(run_sometimes(s, {t0, t0 + 1h}), (std::vector<int>{1}));
}

TEST(SometimesPorted, TestSometimesNegative) {
  rate::sometimes s({.interval = -1ns});
  EXPECT_EQ(run_sometimes(s, {t0, t0 + 1h}), (std::vector<int>{1}));
}

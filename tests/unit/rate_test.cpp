// goro::rate beyond the x/time/rate port (tests/ported/rate_test.cpp): exact
// arithmetic (no drift over 10^9 events), limit conversions, the documented
// corner cases, and wait / blocking_wait on the real runtime. Explicit times
// everywhere except the waits, which assert only on results.
#include <atomic>
#include <cfloat>
#include <cmath>
#include <thread>

#include "goro_test.hpp"

using namespace std::chrono_literals;
namespace rate = goro::rate;

namespace {
const rate::time_point t0 = goro::clock::now() + 1h;

// floor(num * ns / den): the exact number of tokens earned in ns.
std::int64_t earned(const rate::limit& l, std::int64_t ns) {
  return static_cast<std::int64_t>(static_cast<__int128>(l.num()) * ns / l.den());
}
}  // namespace

// 10^9 events at several rates, drained in big irregular steps: after every
// step exactly burst + floor(rate * elapsed) tokens have been granted — not
// one more (the bucket is empty: allow_n(t, 1) fails), not one fewer (the
// whole remainder was granted). A float bucket drifts here.
TEST(RateLimiter, NoDriftOverABillionEvents) {
  const rate::limit rates[] = {rate::limit(3), rate::limit(10.0 / 13), rate::every(7ns),
                               rate::limit::per(1000, 3s), rate::limit(1e9 / 7.0),
                               rate::limit(12345.678)};
  for (const rate::limit& l : rates) {
    constexpr std::int64_t kBurst = 1'000'000;
    rate::limiter lim(l, kBurst);
    // Steps of ~kBurst/2 tokens' worth of time, jittered deterministically.
    const std::int64_t base = static_cast<std::int64_t>(
        static_cast<__int128>(kBurst / 2) * l.den() / l.num());
    ASSERT_TRUE(lim.allow_n(t0, kBurst));  // empty the bucket: from here on nothing is capped
    std::int64_t elapsed = 0, granted = kBurst;
    std::uint64_t x = 88172645463325252ULL;
    while (granted < 1'000'000'000) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      elapsed += base / 2 + static_cast<std::int64_t>(x % static_cast<std::uint64_t>(base));
      const rate::time_point t = t0 + std::chrono::nanoseconds(elapsed);
      const std::int64_t due = kBurst + earned(l, elapsed) - granted;
      ASSERT_GE(due, 0);
      ASSERT_LE(due, kBurst);
      ASSERT_TRUE(lim.allow_n(t, due)) << l.value() << "/s at " << elapsed << "ns";
      granted += due;
      ASSERT_FALSE(lim.allow_n(t, 1)) << l.value() << "/s at " << elapsed << "ns";
    }
    EXPECT_EQ(granted, kBurst + earned(l, elapsed)) << l.value();
  }
}

// One event at a time through reserve: the k-th reservation (beyond the
// burst) acts exactly at ceil(k / rate), for a million events.
TEST(RateLimiter, ReservationsActExactlyOnTime) {
  const rate::limit l = rate::limit(10.0 / 13);  // 13 events every 10s... per 1.3s
  rate::limiter lim(l, 2);
  ASSERT_TRUE(lim.allow_n(t0, 2));
  const int n = goro_test::scaled(1'000'000);
  for (std::int64_t k = 1; k <= n; ++k) {
    rate::reservation r = lim.reserve_n(t0, 1);
    ASSERT_TRUE(r.ok());
    const __int128 units = static_cast<__int128>(k) * l.den();
    const std::int64_t want = static_cast<std::int64_t>((units + l.num() - 1) / l.num());
    ASSERT_EQ((r.time_to_act() - t0).count(), want) << k;
  }
}

TEST(RateLimiter, LimitConversions) {
  EXPECT_EQ(rate::limit(0.1), rate::limit::per(1, 10s));
  EXPECT_EQ(rate::limit(2.5), rate::limit::per(5, 2s));
  EXPECT_EQ(rate::limit(10.0 / 13), rate::limit::per(10, 13s));
  EXPECT_EQ(rate::limit(100), rate::every(10ms));
  EXPECT_EQ(rate::limit(100.0), rate::limit(100));
  EXPECT_EQ(rate::limit(1e9), rate::every(1ns));
  EXPECT_TRUE(rate::limit(-1.0).is_zero());
  EXPECT_TRUE(rate::limit(-5).is_zero());
  EXPECT_TRUE(rate::limit(std::nan("")).is_zero());
  EXPECT_TRUE(rate::limit(INFINITY).is_inf());
  EXPECT_TRUE(rate::limit(DBL_MAX).is_inf());
  EXPECT_FALSE(rate::limit(1e-10).is_zero());  // tiny, not zero
  EXPECT_GT(rate::limit(1e-300).value(), 0.0);
  EXPECT_TRUE(std::isinf(rate::inf.value()));
  EXPECT_DOUBLE_EQ(rate::limit(0.7692307692307693).value(), 0.7692307692307693);
  EXPECT_DOUBLE_EQ(rate::limit(3.14159265358979).value(), 3.14159265358979);
  EXPECT_EQ(rate::limiter(7, 1).limit(), rate::limit(7));
}

TEST(RateLimiter, ZeroValuesAndInf) {
  rate::limiter zero;  // Go's zero Limiter rejects everything
  EXPECT_FALSE(zero.allow_n(t0, 1));
  EXPECT_FALSE(zero.reserve_n(t0, 1).ok());
  EXPECT_TRUE(zero.allow_n(t0, 0));

  rate::limiter no_burst(10, 0);  // zero burst: nothing, ever
  EXPECT_FALSE(no_burst.allow_n(t0, 1));
  EXPECT_FALSE(no_burst.allow_n(t0 + 1h, 1));

  rate::limiter unlimited(rate::inf, 0);  // inf ignores the burst
  EXPECT_TRUE(unlimited.allow_n(t0, 1'000'000));
  EXPECT_EQ(unlimited.reserve_n(t0, 5).delay_from(t0), 0ns);

  rate::limiter zero_rate(0, 2);  // the initial burst, then never again
  EXPECT_TRUE(zero_rate.allow_n(t0, 2));
  EXPECT_FALSE(zero_rate.allow_n(t0 + 1000h, 1));
  rate::reservation r = zero_rate.reserve_n(t0, 1);  // ok, forever away (Go)
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.delay_from(t0), rate::inf_duration);
}

TEST(RateLimiter, MisuseIsRejected) {
  rate::limiter lim(10, 3);
  EXPECT_FALSE(lim.allow_n(t0, -1));
  EXPECT_FALSE(lim.reserve_n(t0, -1).ok());
  EXPECT_EQ(lim.tokens_at(t0), 3);  // nothing was added
  rate::reservation r;
  EXPECT_EQ(lim.reserve_for_wait(goro::background(), -1, t0, &r), rate::errc::negative_n);
  EXPECT_EQ(lim.reserve_for_wait(goro::background(), 4, t0, &r), rate::errc::exceeds_burst);
  EXPECT_EQ(rate::reservation().delay_from(t0), rate::inf_duration);
  rate::limiter neg(10, -4);
  EXPECT_EQ(neg.burst(), 0);
}

TEST(RateLimiter, CancelTwiceGivesBackOnce) {
  rate::limiter lim(10, 2);
  ASSERT_TRUE(lim.allow_n(t0, 2));
  rate::reservation r = lim.reserve_n(t0, 2);
  rate::reservation copy = r;
  r.cancel_at(t0);
  EXPECT_EQ(lim.tokens_at(t0), 0);
  r.cancel_at(t0);
  EXPECT_EQ(lim.tokens_at(t0), 0);
  copy.cancel_at(t0);  // a copy cancels again: documented, Go does too
  EXPECT_EQ(lim.tokens_at(t0), 2);
}

TEST(RateLimiter, SetLimitKeepsTheBucket) {
  rate::limiter lim(rate::limit(3), 10);
  ASSERT_TRUE(lim.allow_n(t0, 10));
  lim.set_limit_at(t0 + 1s, rate::every(7ns));  // 3 tokens earned so far
  EXPECT_EQ(lim.tokens_at(t0 + 1s), 3);
  EXPECT_EQ(lim.tokens_at(t0 + 1s + 14ns), 5);
  lim.set_limit_at(t0 + 1s + 14ns, rate::inf);
  EXPECT_TRUE(lim.allow_n(t0 + 1s + 14ns, 100));
  lim.set_limit_at(t0 + 2s, 0);  // inf filled the bucket
  EXPECT_EQ(lim.tokens_at(t0 + 3s), 10);
  lim.set_burst_at(t0 + 3s, 4);
  EXPECT_EQ(lim.burst(), 4);
  EXPECT_EQ(lim.tokens_at(t0 + 3s), 4);
}

class RateLimiterRT : public goro_test::RuntimeTest {};

TEST_P(RateLimiterRT, WaitResults) {
  rt().run([&]() -> goro::task<> {
    goro::context bg = goro::background();
    rate::limiter fast(rate::every(1ms), 1);
    EXPECT_FALSE(co_await fast.wait(bg));  // a token is there
    EXPECT_FALSE(co_await fast.wait(bg));  // sleeps <= 1ms, then succeeds

    rate::limiter slow(rate::every(1h), 1);
    EXPECT_EQ(co_await slow.wait_n(bg, 2), rate::errc::exceeds_burst);
    EXPECT_FALSE(co_await slow.wait(bg));
    {
      auto [ctx, cancel] = goro::with_timeout(bg, 1min);
      EXPECT_EQ(co_await slow.wait(ctx), rate::errc::would_exceed_deadline);
    }
    {
      auto [ctx, cancel] = goro::with_cancel(bg);
      cancel();
      EXPECT_EQ(co_await slow.wait(ctx), goro::canceled);
    }
    rate::limiter zero(0, 1);
    EXPECT_FALSE(co_await zero.wait(bg));
    EXPECT_EQ(co_await zero.wait(bg), rate::errc::would_wait_forever);
    EXPECT_EQ(zero.tokens(), 0);  // the failed wait took nothing
  });
}

// A wait cut short by its context gives its tokens back (whether the cancel
// lands before or during the wait, the result is the same).
TEST_P(RateLimiterRT, WaitCancelledGivesTokensBack) {
  rt().run([&]() -> goro::task<> {
    rate::limiter lim(rate::every(1h), 1);
    EXPECT_TRUE(lim.allow());
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    goro::go(goro_test::cancel_after_yields, std::move(cancel), 3u);
    std::error_code ec = co_await lim.wait(ctx);
    EXPECT_EQ(ec, goro::canceled);
    // The next token is still one hour away, not two.
    rate::reservation r = lim.reserve();
    EXPECT_TRUE(r.ok());
    EXPECT_LE(r.delay(), 1h);
    r.cancel();
  });
}

TEST_P(RateLimiterRT, BlockingWaitFromThreads) {
  rate::limiter lim(rate::every(1ms), 2);
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 2; ++i) {
    ts.emplace_back([&] {
      for (int k = 0; k < 3; ++k) {
        if (!lim.blocking_wait(goro::background())) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 6);
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  cancel();
  EXPECT_EQ(lim.blocking_wait(ctx), goro::canceled);
}

GORO_INSTANTIATE_WORKERS(RateLimiterRT);

// Pattern: rate limiter (token bucket). The Go guides use
// golang.org/x/time/rate: a bucket of `burst` tokens refilled at `rps` per
// second; Call waits for a token, TryCall gives up at once:
//
//   limiter := rate.NewLimiter(rate.Limit(rps), burst)
//   if err := c.limiter.Wait(ctx); err != nil { return fmt.Errorf("rate limit wait: %w", err) }
//   if !c.limiter.Allow() { return errors.New("rate limit exceeded") }
//
// (and hand-written buckets: a mutex and a refill computation, or a channel
// of tokens fed by a Ticker). goro::rate::limiter is x/time/rate with exact
// arithmetic, and its wait(ctx) parks the goroutine instead of a thread.
#include <string>

#include "example.hpp"

goro::task<> goro_examples::rate_limiter() {
  goro::context ctx = goro::background();

  // TryCall: a burst of 3, then 1 token a second. Five calls at once: 3 pass.
  goro::rate::limiter api(1, 3);  // rate.NewLimiter(1, 3)
  std::string verdicts;
  for (int i = 0; i < 5; ++i) verdicts += api.allow() ? " ok" : " limited";
  say("limiter(1/s, burst 3), 5 calls at once, allow():%s", verdicts.c_str());
  CHECK(verdicts == " ok ok ok limited limited");

  // Call: wait(ctx) parks until the next token. 200/s with a burst of 1:
  // 6 calls take at least 5 refill periods (25 ms), however they are scheduled.
  goro::rate::limiter paced(goro::rate::every(5ms), 1);
  const auto t0 = goro::clock::now();
  for (int i = 0; i < 6; ++i) {
    std::error_code ec = co_await paced.wait(ctx);
    CHECK(!ec);
  }
  const auto took = goro::clock::now() - t0;
  say("limiter(every 5ms, burst 1), 6 calls through wait(ctx): spaced out, >= 25 ms in all");
  CHECK(took >= 25ms);

  // A wait that cannot finish before the context's deadline fails at once,
  // instead of sleeping until the deadline (x/time/rate does the same).
  goro::rate::limiter slow(goro::rate::every(1s), 1);
  CHECK(slow.allow());  // the only token
  auto [tctx, cancel] = goro::with_timeout(ctx, 500ms);  // short of the 1 s wait; never waited for
  std::error_code ec = co_await slow.wait(tctx);
  say("a wait that would pass ctx's deadline: \"%s\"", ec.message().c_str());
  CHECK(ec == goro::rate::errc::would_exceed_deadline);
}

GORO_EXAMPLE_MAIN(rate_limiter)

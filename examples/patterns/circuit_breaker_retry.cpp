// Pattern: circuit breaker and retry with backoff. The Go guides write a
// CircuitBreaker (closed -> open after `threshold` failures; open rejects
// calls with "circuit breaker is open" until `timeout` has passed; then one
// trial call decides between closed and open again) and a retry loop that
// doubles its delay after each failure and stops on ctx.Done():
//
//   cb := NewCircuitBreaker(3, 5*time.Second)
//   err := cb.Execute(ctx, func() error { return db.Ping() })
//
//   for attempt := 0; attempt < maxRetries; attempt++ {
//       if err := operation(); err == nil { return nil }
//       select { case <-ctx.Done(): return ctx.Err(); case <-time.After(baseDelay << attempt): }
//   }
//
// goro::circuit_breaker has sony/gobreaker's semantics; goro::retry adds
// full jitter to the backoff and sleeps cut short by the context.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "example.hpp"

namespace {

// The database the examples call: down for the first `down_for` calls.
struct flaky_db {
  int calls = 0;
  int down_for = 0;
  goro::error ping() {
    ++calls;
    if (calls <= down_for) return goro::error::of(std::runtime_error("db: connection refused"));
    return goro::error();
  }
};

}  // namespace

goro::task<> goro_examples::circuit_breaker_retry() {
  // ---- circuit breaker: trips after 3 consecutive failures, stays open 20 ms
  std::string transitions;
  goro::breaker_settings s;
  s.name = "db";
  s.ready_to_trip = goro::trip_after_consecutive_failures(3);
  s.timeout = 20ms;
  s.on_state_change = [&transitions](const std::string&, goro::breaker_state from, goro::breaker_state to) {
    if (transitions.empty()) transitions = goro::to_string(from);
    transitions += std::string(" -> ") + goro::to_string(to);
  };
  goro::circuit_breaker cb(s);
  flaky_db db{0, 3};  // down for 3 calls

  std::string seen;
  for (int i = 0; i < 5; ++i) {
    goro::error err = cb.execute([&db] { return db.ping(); });
    seen += err == goro::breaker_errc::open ? " open" : err ? " fail" : " ok";
  }
  say("breaker(3 failures, 20 ms): 5 calls:%s (the db saw %d)", seen.c_str(), db.calls);
  CHECK(seen == " fail fail fail open open" && db.calls == 3);

  co_await goro::sleep_for(25ms);  // the breaker's timeout passes (it reads the clock)
  goro::error trial = cb.execute([&db] { return db.ping(); });  // half-open: one trial call
  goro::error next = cb.execute([&db] { return db.ping(); });
  say("after 20 ms: trial call %s, next %s; states: %s", trial ? "fails" : "ok", next ? "fails" : "ok",
      transitions.c_str());
  CHECK(!trial && !next && transitions == "closed -> open -> half-open -> closed");

  // ---- retry with exponential backoff and full jitter
  goro::context ctx = goro::background();
  flaky_db db2{0, 2};  // fails twice, then answers
  goro::retry_policy p;
  p.initial_interval = 1ms;  // delays drawn from [0, 1 ms), [0, 2 ms), [0, 4 ms), ...
  p.max_attempts = 5;
  int failures = 0;
  std::string last;
  p.notify = [&](const goro::error& e, std::chrono::nanoseconds, std::uint32_t) {
    ++failures;  // called before each sleep
    last = e.message();
  };
  auto ping = [&db2] { return db2.ping(); };  // named before the co_await (GCC 12)
  goro::error err = co_await goro::retry(ctx, p, ping);
  say("retry(1 ms doubling, full jitter): %d failures (\"%s\"), then attempt 3 %s", failures,
      last.c_str(), err ? "failed" : "succeeded");
  CHECK(!err && db2.calls == 3);

  // An error marked permanent stops the loop at once.
  int tries = 0;
  auto reject = [&tries] {
    ++tries;
    return goro::permanent(goro::error::of(std::invalid_argument("400 bad request")));
  };
  goro::error perm = co_await goro::retry(ctx, p, reject);
  say("retry of a permanent error: 1 call, \"%s\"", perm.message().c_str());
  CHECK(tries == 1 && perm.message() == "400 bad request");
}

GORO_EXAMPLE_MAIN(circuit_breaker_retry)

// Every goro snippet of docs/guide/resilience.md, compiled and run (with
// stub services), so the guide cannot rot. Keep them in sync with the page.
#include <cstdio>
#include <string>
#include <system_error>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {

int service_calls = 0;
goro::error call_service() {
  ++service_calls;
  return service_calls % 2 ? goro::error() : goro::error(std::make_error_code(std::errc::io_error));
}
struct User {
  std::string name;
};
User load_user(int id) { return User{"user" + std::to_string(id)}; }
goro::task<std::pair<std::string, goro::error>> http_get(const goro::context&, const std::string& url) {
  co_return std::pair<std::string, goro::error>("body of " + url, goro::error());
}
int op_calls = 0;
goro::error operation(const goro::context&) {
  return ++op_calls < 3 ? goro::error(std::make_error_code(std::errc::io_error)) : goro::error();
}
struct request {
  int id = 0;
};
goro::error do_request(const goro::context&, const request&) { return {}; }
goro::breaker_settings breaker_settings_for(const char* name) {
  goro::breaker_settings s;
  s.name = name;
  s.ready_to_trip = goro::trip_after_consecutive_failures(5);
  return s;
}
goro::retry_policy five_attempts() {
  goro::retry_policy p;
  p.initial_interval = 1ms;
  p.max_attempts = 5;
  return p;
}

// §1
std::error_code allow_snippet() {
  goro::rate::limiter limiter(100, 100);   // 100 events/s, bursts of 100
  if (!limiter.allow()) return make_error_code(std::errc::resource_unavailable_try_again);
  return {};
}
goro::task<std::error_code> wait_snippet(goro::rate::limiter& limiter, goro::context ctx) {
  // in a goroutine
  if (std::error_code ec = co_await limiter.wait(ctx)) co_return ec;
  co_return std::error_code{};
}
std::error_code blocking_wait_snippet(goro::rate::limiter& limiter, const goro::context& ctx) {
  // on a plain thread
  if (std::error_code ec = limiter.blocking_wait(ctx)) return ec;
  return {};
}

// §4
struct api_client {
  goro::rate::limiter limiter{100, 100};
  goro::circuit_breaker cb{breaker_settings_for("api")};
  goro::retry_policy policy = five_attempts();

  goro::task<goro::error> call(goro::context ctx, request req) {
    if (std::error_code ec = co_await limiter.wait(ctx)) co_return ec;
    auto attempt = [&](const goro::context& c) -> goro::task<goro::error> {
      auto send = [&](const goro::context& c2) { return do_request(c2, req); };
      co_return co_await cb.execute(c, send);
    };
    co_return co_await goro::retry(ctx, policy, attempt);
  }
};

}  // namespace

class ResilienceSnippets : public goro_test::RuntimeTest {};

TEST_P(ResilienceSnippets, RateLimiting) {
  EXPECT_FALSE(allow_snippet());
  goro::rate::limiter limiter(100, 100);
  rt().run([&]() -> goro::task<> {
    goro::context ctx = goro::background();
    EXPECT_FALSE(co_await wait_snippet(limiter, ctx));
  });
  EXPECT_FALSE(blocking_wait_snippet(limiter, goro::background()));

  goro::rate::limiter lim(10, 3);
  const auto t0 = goro::clock::now();
  EXPECT_TRUE(lim.allow_n(t0, 3));               // true: the bucket starts full
  EXPECT_FALSE(lim.allow_n(t0, 1));              // false
  EXPECT_TRUE(lim.allow_n(t0 + 100ms, 1));       // true: one token per 100ms
  auto r = lim.reserve_n(t0 + 100ms, 2);         // ok, acts 200ms later
  EXPECT_EQ(r.delay_from(t0 + 100ms), 200ms);    // 200ms
  r.cancel_at(t0 + 150ms);                       // gives the 2 tokens back
  EXPECT_DOUBLE_EQ(lim.tokens_at(t0 + 150ms), 0.5);

  goro::rate::sometimes s({.first = 3, .interval = 10s});
  int ran = 0;
  for (int i = 0; i < 5; ++i) s.run_at(t0, [&] { ++ran; });
  EXPECT_EQ(ran, 3);
}

TEST_P(ResilienceSnippets, CircuitBreaker) {
  service_calls = 0;
  goro::breaker_settings s;
  s.name = "service";
  s.ready_to_trip = goro::trip_after_consecutive_failures(5);
  s.timeout = 1min;
  goro::circuit_breaker cb(s);

  goro::error err = cb.execute([&] { return call_service(); });
  if (err == goro::breaker_errc::open) { /* rejected at once, f not called */ }
  EXPECT_FALSE(err);

  auto [user, err2] = cb.execute([&] { return load_user(7); });
  EXPECT_EQ(user.name, "user7");
  EXPECT_FALSE(err2);

  rt().run([&]() -> goro::task<> {
    goro::context ctx = goro::background();
    std::string url = "http://example/";
    auto fetch = [&](const goro::context& c) -> goro::task<std::pair<std::string, goro::error>> {
      co_return co_await http_get(c, url);
    };
    auto [body, err3] = co_await cb.execute(ctx, fetch);
    EXPECT_EQ(body, "body of http://example/");
    EXPECT_FALSE(err3);
  });

  goro::breaker_settings w;
  w.window = 60s;
  w.buckets = 6;
  w.ready_to_trip = goro::trip_on_failure_ratio(0.5, 20);  // >= 50% of >= 20 requests
  goro::circuit_breaker ratio(w);
  for (int i = 0; i < 19; ++i) (void)ratio.execute([] { return goro::error(std::make_error_code(std::errc::io_error)); });
  EXPECT_EQ(ratio.state(), goro::breaker_state::closed);
  (void)ratio.execute([] { return goro::error(std::make_error_code(std::errc::io_error)); });
  EXPECT_EQ(ratio.state(), goro::breaker_state::open);
}

TEST_P(ResilienceSnippets, Retry) {
  rt().run([&]() -> goro::task<> {
    goro::context ctx = goro::background();
    goro::retry_policy p;
    p.initial_interval = 1ms;  // the guide: 1s
    p.max_attempts = 5;
    p.notify = [](const goro::error& e, std::chrono::nanoseconds d, std::uint32_t attempt) {
      std::fprintf(stderr, "attempt %u failed: %s, retrying in %lld ms\n", attempt,
                   e.message().c_str(), static_cast<long long>(d.count() / 1'000'000));
    };
    auto op = [&](const goro::context& c) { return operation(c); };
    op_calls = 0;
    goro::error err = co_await goro::retry(ctx, p, op);  // in a goroutine
    EXPECT_FALSE(err);
    EXPECT_EQ(op_calls, 3);
    op_calls = 0;
    goro::error err2 = co_await goro::spawn_blocking([&] {
      return goro::blocking_retry(ctx, p, op);  // on a thread
    });
    EXPECT_FALSE(err2);

    int status = 404;
    auto lookup = [&]() -> goro::error {
      if (status == 404) return goro::permanent(make_error_code(std::errc::no_such_file_or_directory));
      return {};
    };
    goro::error err3 = co_await goro::retry(ctx, p, lookup);
    EXPECT_EQ(err3, std::errc::no_such_file_or_directory);
  });
}

TEST_P(ResilienceSnippets, ApiClient) {
  api_client c;
  rt().run([&]() -> goro::task<> {
    goro::context ctx = goro::background();
    request req{1};
    EXPECT_FALSE(co_await c.call(ctx, req));
  });
  EXPECT_EQ(c.cb.counts().requests, 1u);
}

GORO_INSTANTIATE_WORKERS(ResilienceSnippets);

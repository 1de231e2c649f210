// goro/retry.hpp — retry with exponential backoff and full jitter.
//
//   goro::retry_policy p;                        // 100ms, x2, max 30s, 15min in all
//   p.max_attempts = 5;
//   auto call = [&](const goro::context& c) { return client.get(c, url); };
//   auto [resp, err] = co_await goro::retry(ctx, p, call);   // in a goroutine
//   goro::error err = goro::blocking_retry(ctx, p, ping);    // on a plain thread
//   return goro::permanent(err);                             // in f: stop retrying
//
// f is called as f(ctx) if it takes the context, else f(); it returns void,
// an error (goro::error, std::error_code, an error-code enum,
// std::exception_ptr), std::pair<V, goro::error> or a plain V — or, in the
// goroutine form, an awaitable of one of these. retry returns goro::error for
// the first kinds and std::pair<V, goro::error> for the others. An exception
// from f is an error like any other (retried; returned as an error holding
// it, so err.throw_if_error() rethrows it).
//
// The loop: call f; done on success. Otherwise stop and return f's result
// when the error is permanent (goro::permanent(e): e is returned unwrapped;
// or policy.permanent(e) is true), when max_attempts calls were made, or
// when the next delay would end past max_elapsed since the first call.
// Else policy.notify(err, delay, attempt) and sleep `delay`, where after the
// k-th failure (k = 1, 2, ...)
//     delay = floor(random() * min(max_interval, initial_interval * multiplier^(k-1)))
// with random() uniform in [0, 1): AWS's "full jitter", which spreads
// retrying clients evenly instead of in synchronised waves. The context is
// checked before every call, and cuts a sleep short: retry then returns
// ctx.err() (with the last value, for pair results).
//
// Determinism for tests: policy.random (a double in [0, 1)), policy.now (the
// clock max_elapsed is measured on) and policy.sleep (called instead of
// sleeping; returns {} or an error that stops the loop) may be injected. The
// default random source is goro::rand::float64() (per-thread state reached
// through a non-inlined call: safe from any thread and in coroutine bodies).
//
// Thread-safety: retry calls f, notify, permanent, random, now and sleep
// from the calling goroutine (or thread) only, one at a time. The policy is
// copied into the call.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "goro/context.hpp"
#include "goro/detail/config.hpp"
#include "goro/detail/goroutine.hpp"
#include "goro/detail/outcome.hpp"
#include "goro/error.hpp"
#include "goro/task.hpp"
#include "goro/time.hpp"

namespace goro {

struct retry_policy {
  std::chrono::nanoseconds initial_interval{std::chrono::milliseconds(100)};
  double multiplier = 2.0;                                  // < 1 counts as 1
  std::chrono::nanoseconds max_interval{std::chrono::seconds(30)};  // <= 0: no cap
  std::chrono::nanoseconds max_elapsed{std::chrono::minutes(15)};   // <= 0: no limit
  std::uint32_t max_attempts = 0;                           // calls of f; 0: no limit
  std::function<bool(const error&)> permanent;              // true: do not retry this error
  std::function<void(const error& err, std::chrono::nanoseconds delay, std::uint32_t attempt)>
      notify;                                               // before each sleep
  std::function<double()> random;                           // [0, 1); default: goro's
  std::function<clock::time_point()> now;                   // default: goro's clock
  std::function<std::error_code(const context&, std::chrono::nanoseconds)> sleep;  // default: sleep_for(ctx, d)

  // The upper bound of the delay after `failures` failures (>= 1):
  // min(max_interval, initial_interval * multiplier^(failures-1)).
  std::chrono::nanoseconds ceiling(std::uint32_t failures) const noexcept;
};

// The error f returns to stop retrying: retry returns err itself.
// Go (cenkalti/backoff): backoff.Permanent(err).
struct permanent_error : std::exception {
  error err;
  std::string msg;
  explicit permanent_error(error e) : err(std::move(e)), msg(err.message()) {}
  const char* what() const noexcept override { return msg.c_str(); }
};
inline error permanent(error e) { return error::of(permanent_error(std::move(e))); }
// Whether e came from permanent(); *inner (if given) receives the wrapped error.
bool is_permanent(const error& e, error* inner = nullptr);

namespace detail {

// Uniform in [0, 1): goro::rand::float64().
double retry_random() noexcept;

// What the loop does after a failed attempt (everything but calling f and
// sleeping, shared by the goroutine and the thread forms).
struct retry_step {
  bool stop = false;
  bool unwrap = false;  // stop with `inner` (f returned permanent(inner))
  error inner;
  std::chrono::nanoseconds delay{0};
};
retry_step retry_decide(const retry_policy& p, const error& e, std::uint32_t attempt,
                        nanos start);
nanos retry_now(const retry_policy& p);

template <class F>
struct retry_call {
  static constexpr bool with_ctx = std::is_invocable_v<F&, const context&>;
  using cr = std::conditional_t<with_ctx, call_result<F, const context&>, call_result<F>>;
  using raw = typename cr::raw;
  using R = typename cr::type;
  using O = outcome<R>;
  using type = typename O::type;

  static decltype(auto) call(F& f, const context& ctx) {
    if constexpr (with_ctx) {
      return std::invoke(f, ctx);
    } else {
      return std::invoke(f);
    }
  }
  // A non-awaitable result (or the value of an awaited one) as type.
  template <class X>
  static type make(X&& x) {
    return O::wrap(std::forward<X>(x));
  }
  static type failed(error e) { return O::fail(std::move(e)); }

  // The parts of one round of the loop that the goroutine form and the
  // thread form share; they differ only in how f's awaitable (goroutines
  // only) and the sleep are waited for.

  // Calls a non-awaitable f once; an exception from f becomes the result's
  // error.
  static type attempt(F& f, const context& ctx) {
    type res = failed(error());
    try {
      if constexpr (std::is_void_v<R>) {
        call(f, ctx);
        res = error();
      } else {
        res = make(call(f, ctx));
      }
    } catch (...) {
      res = O::fail_with(std::move(res), error(std::current_exception()));
    }
    return res;
  }
  // After call number `attempt` produced res: true when the loop is over
  // and res is what retry returns (f succeeded, or the policy gives up; a
  // permanent(e) is unwrapped to e), else false with *delay set to the sleep
  // before the next call.
  static bool settle(const retry_policy& p, type& res, std::uint32_t attempt, nanos start,
                     std::chrono::nanoseconds* delay) {
    const error e = O::error_of_result(res);
    if (!e) return true;
    retry_step s = retry_decide(p, e, attempt, start);
    if (s.unwrap) res = O::fail_with(std::move(res), std::move(s.inner));
    if (s.stop) return true;
    *delay = s.delay;
    return false;
  }
  // After the sleep returned `slept`: true when the loop is over (the sleep
  // failed or ctx is done), res then carrying that error.
  static bool woke(const context& ctx, std::error_code slept, type& res) {
    if (!slept) slept = ctx.err();
    if (!slept) return false;
    res = O::fail_with(std::move(res), slept);
    return true;
  }
};

template <class F>
task<typename retry_call<F>::type> retry_task(context ctx, retry_policy p, F f) {
  using C = retry_call<F>;
  using T = typename C::type;
  using O = typename C::O;
  const nanos start = retry_now(p);
  if (std::error_code e = ctx.err()) co_return C::failed(e);
  for (std::uint32_t attempt = 1;; ++attempt) {
    T res = C::failed(error());
    if constexpr (awaitable<typename C::raw>) {
      try {
        typename C::raw t = C::call(f, ctx);  // named: GCC PR 100611
        if constexpr (std::is_void_v<typename C::R>) {
          co_await std::move(t);
          res = error();
        } else {
          typename C::R r = co_await std::move(t);
          res = C::make(std::move(r));
        }
      } catch (...) {
        res = O::fail_with(std::move(res), error(std::current_exception()));
      }
    } else {
      res = C::attempt(f, ctx);
    }
    std::chrono::nanoseconds delay{0};
    if (C::settle(p, res, attempt, start, &delay)) co_return res;
    std::error_code slept;
    if (p.sleep) {
      slept = p.sleep(ctx, delay);
    } else {
      auto w = goro::sleep_for(ctx, delay);  // named awaiter: GCC PR 100611
      slept = co_await w;
    }
    if (C::woke(ctx, slept, res)) co_return res;
  }
}

}  // namespace detail

// co_await goro::retry(ctx, policy, f): runs f until it succeeds or the
// policy gives up (see the top of this file). With GCC, a lambda with
// non-trivial captures and the policy must be named variables, not
// temporaries (GCC 12 miscompiles such temporaries inside co_await).
template <class P, class F>
  requires std::is_same_v<std::remove_cvref_t<P>, retry_policy>
auto retry(const context& ctx, P&& policy, F&& f) -> task<typename detail::retry_call<std::decay_t<F>>::type> {
  static_assert(detail::callable_safe_in_co_await<F>,
                "goro::retry: GCC 12 miscompiles a lambda temporary with non-trivial captures "
                "inside co_await; name the lambda first (auto f = [..] {..}; co_await "
                "goro::retry(ctx, policy, f);)");
  static_assert(detail::callable_safe_in_co_await<P>,
                "goro::retry: GCC 12 miscompiles a temporary policy inside co_await; name it "
                "first (goro::retry_policy p; ...; co_await goro::retry(ctx, p, f);)");
  return detail::retry_task(ctx, retry_policy(std::forward<P>(policy)),
                            std::decay_t<F>(std::forward<F>(f)));
}

// The same for plain threads: sleeps block the thread. f must not return an
// awaitable.
template <class F>
auto blocking_retry(const context& ctx, const retry_policy& p, F&& f) ->
    typename detail::retry_call<std::decay_t<F>>::type {
  using C = detail::retry_call<std::decay_t<F>>;
  static_assert(!awaitable<typename C::raw>,
                "goro::blocking_retry: f returns an awaitable; use co_await goro::retry(ctx, p, f)");
  GORO_ASSERT(p.sleep || detail::current_goroutine() == nullptr,
              "goro::blocking_retry blocks the thread; inside a goroutine use co_await "
              "goro::retry(ctx, policy, f)");
  const detail::nanos start = detail::retry_now(p);
  if (std::error_code e = ctx.err()) return C::failed(e);
  for (std::uint32_t attempt = 1;; ++attempt) {
    typename C::type res = C::attempt(f, ctx);
    std::chrono::nanoseconds delay{0};
    if (C::settle(p, res, attempt, start, &delay)) return res;
    std::error_code slept = p.sleep ? p.sleep(ctx, delay) : blocking_sleep_for(ctx, delay);
    if (C::woke(ctx, slept, res)) return res;
  }
}

}  // namespace goro

// goro/breaker.hpp — a circuit breaker with sony/gobreaker's semantics.
//
//   goro::breaker_settings s;
//   s.name = "db";
//   s.ready_to_trip = goro::trip_after_consecutive_failures(3);
//   s.timeout = 5s;
//   goro::circuit_breaker cb(s);
//   goro::error err = cb.execute([&] { return db.ping(); });         // f returns an error
//   auto [v, err] = cb.execute([&] { return std::pair{load(), goro::error()}; });
//   auto r = co_await cb.execute(ctx, fetch);  // fetch(ctx) may return a task
//   if (err == goro::breaker_errc::open) ...   // rejected at once, f not called
//
// The state machine (one per breaker; every transition starts a new
// generation, clears the counts and calls on_state_change):
//
//                    failure and ready_to_trip(counts)
//        +--------+ ----------------------------------> +------+
//   ---> | closed |                                     | open | <--+
//        +--------+                                     +------+    |
//          ^   |  every `interval` (if > 0): new            |       | any failure
//          |   +- generation, counts cleared (no            |       |
//          |      state change)                   `timeout` |       |
//          |                                      passed    v       |
//          |   max_requests consecutive successes     +-----------+ |
//          +------------------------------------------| half-open |-+
//                                                     +-----------+
//   open:      every call fails at once with breaker_errc::open.
//   half-open: at most max_requests calls are let through (more fail at once
//              with breaker_errc::too_many_requests).
//
// Semantics (gobreaker's, v1 Settings; `window` is v2's rolling window):
//  * counts: requests, total_successes, total_failures, consecutive_successes,
//    consecutive_failures, all of the current generation. A result counts only
//    in the generation its request started in (a late result after a
//    transition is dropped).
//  * Success is is_successful(err) (default: err is nil). An exception from f
//    is passed to is_successful as an error holding it, then rethrown.
//  * Defaults: max_requests 0 -> 1; timeout <= 0 -> 60s; interval 0: the
//    closed state never clears its counts; ready_to_trip: more than 5
//    consecutive failures (gobreaker's). trip_after_consecutive_failures(n)
//    is the seeds' rule; trip_on_failure_ratio(r, min) trips when at least
//    min requests were made and failures/requests >= r.
//  * window > 0 (with interval 0): in the closed state requests,
//    total_successes and total_failures cover only the last `window`, kept
//    in `buckets` buckets (the oldest bucket is dropped as time moves on; the
//    consecutive counts are not windowed). A failure-ratio rule over a
//    rolling window is trip_on_failure_ratio + window.
//  * Transitions happen lazily, on the next call that looks at the state
//    (state(), try_acquire, execute), as in gobreaker.
//
// Differences from gobreaker: on_state_change runs after the breaker's lock
// is released, on the thread that made the transition (so it may call back
// into the breaker); transitions racing on several threads may report out of
// order. f is never run under the lock. execute(ctx, f) fails at once with
// ctx.err() (not counted, f not called) when ctx is already done, and passes
// ctx to f when f takes it. A permit (the two-step form, gobreaker's
// TwoStepCircuitBreaker) destroyed without a result counts as a failure.
//
// Thread-safety: every member may be called concurrently from goroutines and
// plain threads. Locking: mu_ guards all state; the clock is read before
// taking it, and only when the answer can depend on it (not for a success
// in the closed state without interval or window); is_successful, on_state_change and f run outside it, and
// ready_to_trip (user code) runs under it: keep it a cheap predicate. mu_
// is detail::rw_spinlock used exclusively: a waiter spins a few
// microseconds, yields, then sleeps (a std::mutex put the worker thread
// to sleep at once, taking its goroutines along: execute/g2..g8 cost 25 %
// more; docs/design/performance.md).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "goro/context.hpp"
#include "goro/detail/config.hpp"
#include "goro/detail/outcome.hpp"
#include "goro/detail/rw_spinlock.hpp"
#include "goro/detail/timer.hpp"
#include "goro/error.hpp"
#include "goro/task.hpp"
#include "goro/time.hpp"

namespace goro {

enum class breaker_state : std::uint8_t { closed, half_open, open };
// "closed", "half-open", "open" (gobreaker's State.String()).
const char* to_string(breaker_state s) noexcept;

enum class breaker_errc : int {
  open = 1,               // gobreaker: ErrOpenState "circuit breaker is open"
  too_many_requests = 2,  // gobreaker: ErrTooManyRequests "too many requests"
};
const std::error_category& breaker_category() noexcept;
inline std::error_code make_error_code(breaker_errc e) noexcept {
  return {static_cast<int>(e), breaker_category()};
}

}  // namespace goro

template <>
struct std::is_error_code_enum<goro::breaker_errc> : std::true_type {};

namespace goro {

// gobreaker's Counts.
struct breaker_counts {
  std::uint32_t requests = 0;
  std::uint32_t total_successes = 0;
  std::uint32_t total_failures = 0;
  std::uint32_t consecutive_successes = 0;
  std::uint32_t consecutive_failures = 0;
  friend bool operator==(const breaker_counts&, const breaker_counts&) = default;
};

struct breaker_settings {
  std::string name;
  std::uint32_t max_requests = 0;    // half-open allowance; 0 -> 1
  std::chrono::nanoseconds interval{0};  // closed: clear the counts this often (0: never)
  std::chrono::nanoseconds timeout{0};   // how long open lasts; <= 0 -> 60s
  std::chrono::nanoseconds window{0};    // closed: rolling window of the counts (0: none)
  std::uint32_t buckets = 10;            // buckets of the window (0 -> 1)
  std::function<bool(const breaker_counts&)> ready_to_trip;  // default: consecutive_failures > 5
  std::function<void(const std::string& name, breaker_state from, breaker_state to)> on_state_change;
  std::function<bool(const error&)> is_successful;  // default: !err
  std::function<clock::time_point()> now;  // the clock; default: goro's (tests inject one)
};

// Trips after n consecutive failures (n = 0 counts as 1).
std::function<bool(const breaker_counts&)> trip_after_consecutive_failures(std::uint32_t n);
// Trips when requests >= min_requests and total_failures >= ratio * requests.
std::function<bool(const breaker_counts&)> trip_on_failure_ratio(double ratio,
                                                                 std::uint32_t min_requests);

class circuit_breaker {
  // What f produces when called as execute(ctx, f) calls it.
  template <class F>
  struct ctx_call {
    static constexpr bool with_ctx = std::is_invocable_v<F&, const context&>;
    using cr = std::conditional_t<with_ctx, detail::call_result<F, const context&>,
                                  detail::call_result<F>>;
  };

 public:
  explicit circuit_breaker(breaker_settings s = {});
  circuit_breaker(const circuit_breaker&) = delete;
  circuit_breaker& operator=(const circuit_breaker&) = delete;

  const std::string& name() const noexcept { return s_.name; }
  // The state now (an open breaker whose timeout passed becomes half-open).
  breaker_state state();
  breaker_state state_at(clock::time_point t);
  breaker_counts counts() const;
  std::uint64_t generation() const;

  // ---- the two-step form -----------------------------------------------------------

  // Permission for one request. False (error() says why) when the breaker
  // rejects it; otherwise report the result once with done(err) /
  // done_ok(bool). Destroyed unreported: a failure.
  class permit {
   public:
    permit() noexcept = default;
    permit(permit&& o) noexcept
        : cb_(std::exchange(o.cb_, nullptr)), gen_(o.gen_), err_(o.err_) {}
    permit& operator=(permit&& o) noexcept {
      if (this != &o) {
        if (cb_) done_ok(false);
        cb_ = std::exchange(o.cb_, nullptr);
        gen_ = o.gen_;
        err_ = o.err_;
      }
      return *this;
    }
    ~permit() {
      if (cb_) done_ok(false);
    }
    explicit operator bool() const noexcept { return !err_; }
    std::error_code error() const noexcept { return err_; }
    // Reports f's error; is_successful decides whether it counts as a success.
    void done(const goro::error& e) {
      if (circuit_breaker* cb = std::exchange(cb_, nullptr)) cb->report(gen_, cb->successful(e));
    }
    void done_ok(bool success) noexcept {
      if (circuit_breaker* cb = std::exchange(cb_, nullptr)) cb->report(gen_, success);
    }

   private:
    friend class circuit_breaker;
    circuit_breaker* cb_ = nullptr;
    std::uint64_t gen_ = 0;
    std::error_code err_;
  };
  permit try_acquire();

  // ---- execute ----------------------------------------------------------------------

  // Runs f() unless the breaker rejects the request (then returns
  // breaker_errc::open / too_many_requests at once, f not called), and
  // records the result. Returns goro::error when f returns void or an error,
  // std::pair<V, goro::error> when f returns V or std::pair<V, goro::error>.
  // f must not return an awaitable (use execute(ctx, f) in a goroutine).
  template <class F>
  auto execute(F&& f) ->
      typename detail::outcome<typename detail::call_result<std::decay_t<F>>::type>::type {
    using CR = detail::call_result<std::decay_t<F>>;
    static_assert(!awaitable<typename CR::raw>,
                  "goro::circuit_breaker::execute(f): f returns an awaitable; use "
                  "co_await cb.execute(ctx, f) in a goroutine");
    using R = typename CR::type;
    using O = detail::outcome<R>;
    permit p = try_acquire();
    if (!p) return O::fail(p.error());
    if constexpr (std::is_void_v<R>) {
      call_reporting(f, p);
      p.done(goro::error());
      return goro::error();
    } else {
      R r = call_reporting(f, p);
      p.done(O::error_of(r));
      return O::wrap(std::move(r));
    }
  }

  // co_await cb.execute(ctx, f): the same for goroutines. f may take the
  // context (f(ctx)) and may return an awaitable (a coroutine returning
  // task<...>). Fails at once with ctx.err() when ctx is already done.
  // With GCC, a lambda with non-trivial captures must be named first
  // (auto f = [s] {...}; co_await cb.execute(ctx, f);), see HACKING.
  template <class F>
  auto execute(const context& ctx, F&& f)
      -> task<typename detail::outcome<typename ctx_call<std::decay_t<F>>::cr::type>::type> {
    static_assert(detail::callable_safe_in_co_await<F>,
                  "goro::circuit_breaker::execute(ctx, f): GCC 12 miscompiles a lambda temporary "
                  "with non-trivial captures inside co_await; name the lambda first "
                  "(auto f = [..] {..}; co_await cb.execute(ctx, f);)");
    return execute_task(ctx, std::decay_t<F>(std::forward<F>(f)));  // ctx copied here, not at the call
  }

 private:
  using nanos = detail::nanos;
  struct bucket {
    std::uint32_t requests = 0, successes = 0, failures = 0;
  };
  struct transitions {
    breaker_state from[3], to[3];
    int n = 0;
  };

  template <class F>
  static decltype(auto) call_reporting(F& f, permit& p) {
    try {
      return std::invoke(f);
    } catch (...) {
      p.done(goro::error(std::current_exception()));
      throw;
    }
  }
  template <class F>
  static decltype(auto) call_with(F& f, const context& ctx) {
    if constexpr (ctx_call<F>::with_ctx) {
      return std::invoke(f, ctx);
    } else {
      return std::invoke(f);
    }
  }

  template <class F>
  task<typename detail::outcome<typename ctx_call<F>::cr::type>::type> execute_task(context ctx,
                                                                                    F f) {
    using CR = typename ctx_call<F>::cr;
    using R = typename CR::type;
    using O = detail::outcome<R>;
    if (std::error_code e = ctx.err()) co_return O::fail(e);
    permit p = try_acquire();
    if (!p) co_return O::fail(p.error());
    try {
      if constexpr (awaitable<typename CR::raw>) {
        typename CR::raw t = call_with(f, ctx);  // named: GCC PR 100611
        if constexpr (std::is_void_v<R>) {
          co_await std::move(t);
          p.done(goro::error());
          co_return goro::error();
        } else {
          R r = co_await std::move(t);
          p.done(O::error_of(r));
          co_return O::wrap(std::move(r));
        }
      } else if constexpr (std::is_void_v<R>) {
        call_with(f, ctx);
        p.done(goro::error());
        co_return goro::error();
      } else {
        R r = call_with(f, ctx);
        p.done(O::error_of(r));
        co_return O::wrap(std::move(r));
      }
    } catch (...) {
      p.done(goro::error(std::current_exception()));  // no-op if already reported
      throw;
    }
  }

  nanos now() const;
  bool successful(const goro::error& e) const;
  void report(std::uint64_t gen, bool success) noexcept;
  bool clock_needed(bool success) const noexcept;
  std::unique_lock<detail::rw_spinlock> lock_with_time(bool success, nanos* t);
  void notify(const transitions& tr) const noexcept;
  // Locked core (gobreaker's currentState / setState / toNewGeneration).
  breaker_state current(nanos now, transitions* tr);
  void set_state(breaker_state s, nanos now, transitions* tr);
  void new_generation(nanos now);
  void rotate(nanos now);

  const breaker_settings s_;
  nanos bucket_len_ = 0;  // window / buckets; 0: no window

  mutable detail::rw_spinlock mu_;  // exclusive use only: spins, yields, then sleeps
  breaker_state state_ = breaker_state::closed;
  // state_, stored with it, read without mu_ to decide whether to read the
  // clock before taking it (clock_needed).
  std::atomic<breaker_state> state_hint_{breaker_state::closed};
  std::uint64_t generation_ = 0;
  breaker_counts counts_;
  nanos expiry_ = 0;  // closed: end of the interval (kNoExpiry: none); open: end of timeout
  std::vector<bucket> ring_;
  std::size_t cur_ = 0;     // the current bucket
  nanos cur_start_ = 0;     // when it started
};

}  // namespace goro

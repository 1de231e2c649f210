// goro/rate.hpp — golang.org/x/time/rate: a token-bucket rate limiter, and
// Sometimes, with exact arithmetic.
//
//   goro::rate::limiter lim(10, 3);                      // Go: rate.NewLimiter(10, 3)
//   goro::rate::limiter lim(goro::rate::every(100ms), 1);    // rate.Every(100*time.Millisecond)
//   if (!lim.allow()) return too_busy;                   // lim.Allow()
//   if (auto ec = co_await lim.wait(ctx)) co_return ec;  // lim.Wait(ctx) in a goroutine
//   if (auto ec = lim.blocking_wait(ctx)) return ec;     // the same on a plain thread
//   auto r = lim.reserve_n(t, 2);  r.delay_from(t);  r.cancel_at(t);   // ReserveN, DelayFrom, CancelAt
//   goro::rate::sometimes s({.first = 3, .interval = 10s});  s.run([] { log("here"); });
//
// Semantics are x/time/rate's (the current one, whose NewLimiter starts with
// a full bucket and whose zero limit has no special case):
//  * A limiter is a bucket of `burst` tokens, initially full, refilled at
//    `limit` tokens per second. allow_n(t, n) takes n tokens if they are there
//    at t; reserve_n(t, n) takes them now or in the future (the bucket goes
//    negative) and says when the caller may act; wait_n(ctx, n) reserves and
//    sleeps until then. n > burst never succeeds (unless the limit is inf).
//  * inf: every event is allowed, the burst is ignored, nothing is recorded.
//    A zero limit never refills: the first `burst` tokens are all there is
//    (reserve_n then answers ok with an infinite delay, as Go does).
//    A zero burst allows nothing (unless inf). The zero limiter (default
//    constructed) rejects everything.
//  * Time going backwards: a call at t earlier than the last update counts
//    no refill and makes t the last update (the bucket is not refunded), as
//    Go does; a failed call changes nothing.
//  * cancel_at(t) gives back the tokens of a reservation that has not come
//    due, minus those reserved after it, as Go does; cancelling twice (or a
//    copy) does nothing the second time.
//  * Every method that reads the clock has an explicit-time form (_at, or a
//    time_point argument like Go's AllowN(t, n)); the others use goro's clock
//    (detail::now(), where goro's virtual clock plugs in).
//
// Differences from Go, on purpose:
//  * No drift. Go keeps tokens in a float64 and converts durations through
//    floating seconds; here a limit is an exact rational (events per
//    nanosecond: every(d), integer rates and per(n, d) are exact; a double
//    becomes the simplest fraction that rounds to it) and the bucket is an
//    integer count of 1/d-token units, so any sequence of calls grants exactly
//    floor(burst + limit * elapsed) tokens however long it runs (see
//    docs/design/resilience.md). A time_to_act is rounded up to the
//    nanosecond (Go truncates, so Go may let a caller act a fraction of a
//    nanosecond early). set_limit to a different finite limit re-expresses
//    the fractional token in the new unit, rounding down by less than one
//    unit (< 1e-9 token for rates >= 1/s).
//  * n < 0 is rejected (Go silently adds tokens); a negative burst counts as 0.
//  * wait_n: a wait that could only end by cancellation (zero limit: the
//    tokens never come) fails at once with errc::would_wait_forever instead
//    of sleeping until the context is done.
//  * sometimes runs f outside its lock: concurrent run() calls decide one at
//    a time but may run their f at the same time, and f may call run() (Go's
//    Do deadlocks then). Interval counts from when f was started.
//
// Thread-safety: every member may be called concurrently from goroutines and
// plain threads. A reservation refers to its limiter, which must outlive it.
// Locking: one detail::spinlock per limiter guards all its state; critical
// sections are a few integer operations (no allocation, no user code, no
// blocking); the lock is never held across a sleep. allow() is one lock
// round trip plus one clock read.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <numeric>
#include <system_error>
#include <type_traits>
#include <utility>

#include "goro/context.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/timer.hpp"
#include "goro/task.hpp"
#include "goro/time.hpp"

namespace goro::rate {

// ---- errors -------------------------------------------------------------------

enum class errc : int {
  exceeds_burst = 1,          // Go: "rate: Wait(n=%d) exceeds limiter's burst %d"
  would_exceed_deadline = 2,  // Go: "rate: Wait(n=%d) would exceed context deadline"
  would_wait_forever = 3,     // zero limit: the tokens never come (goro only)
  negative_n = 4,             // wait_n(ctx, n) with n < 0 (goro only)
};
const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace goro::rate

template <>
struct std::is_error_code_enum<goro::rate::errc> : std::true_type {};

namespace goro::rate {

using duration = std::chrono::nanoseconds;
using time_point = goro::clock::time_point;

// Go's InfDuration: the delay of a reservation that is not ok.
inline constexpr duration inf_duration = duration::max();

// ---- limit --------------------------------------------------------------------------

// Events per second, held exactly as num/den events per nanosecond (reduced).
// Go: type Limit float64.
class limit {
 public:
  // The zero limit: no events beyond the initial burst.
  constexpr limit() noexcept = default;
  // Integer events per second: exact. Negative counts as 0.
  template <class I>
    requires std::is_integral_v<I> && (!std::is_same_v<I, bool>)
  constexpr limit(I events_per_second) noexcept {  // NOLINT: implicit, as Go's Limit(10)
    if (events_per_second <= 0) return;
    using U = unsigned long long;
    U r = static_cast<U>(events_per_second);
    if (r > kMaxNum) r = kMaxNum;
    set(static_cast<std::int64_t>(r), 1'000'000'000);
  }
  // Any rate: the simplest fraction that rounds to r (so 0.1, 2.5, 10.0/13 are
  // exact). +infinity and DBL_MAX (Go's Inf) give inf; negative and NaN give 0;
  // rates below one event per 2^63 ns round up to that, above 2^62 per ns clamp.
  limit(double events_per_second) noexcept;  // NOLINT: implicit, as Go's Limit(0.5)

  // Exactly `events` every `period` (period <= 0: inf). every(d) is per(1, d).
  static limit per(std::int64_t events, duration period) noexcept {
    limit l;
    if (period.count() <= 0) return infinite();
    if (events <= 0) return l;
    l.set(events, period.count());
    return l;
  }
  static constexpr limit infinite() noexcept {
    limit l;
    l.inf_ = true;
    return l;
  }

  constexpr bool is_inf() const noexcept { return inf_; }
  constexpr bool is_zero() const noexcept { return !inf_ && num_ == 0; }
  // Events per second as a double (inf: +infinity). Go: float64(lim.Limit()).
  double value() const noexcept;
  // The exact fraction: num() events every den() nanoseconds (0/1 for zero;
  // 0/0 for inf).
  constexpr std::int64_t num() const noexcept { return inf_ ? 0 : num_; }
  constexpr std::int64_t den() const noexcept { return inf_ ? 0 : den_; }

  friend constexpr bool operator==(const limit& a, const limit& b) noexcept {
    return a.inf_ == b.inf_ && (a.inf_ || (a.num_ == b.num_ && a.den_ == b.den_));
  }

  static constexpr std::int64_t kMaxNum = std::int64_t{1} << 62;

 private:
  constexpr void set(std::int64_t n, std::int64_t d) noexcept {
    std::int64_t g = std::gcd(n, d);
    num_ = n / g;
    den_ = d / g;
  }
  std::int64_t num_ = 0;  // tokens ...
  std::int64_t den_ = 1;  // ... per this many nanoseconds
  bool inf_ = false;
};

// Go's rate.Inf.
inline constexpr limit inf = limit::infinite();

// One event every `interval` (exact); interval <= 0 gives inf. Go: rate.Every.
inline limit every(duration interval) noexcept { return limit::per(1, interval); }

class limiter;

// ---- reservation ----------------------------------------------------------------------

// Go's Reservation: tokens taken (now or in the future) from a limiter.
class reservation {
 public:
  reservation() noexcept = default;  // not ok

  // Whether the limiter granted the tokens within the maximum wait.
  bool ok() const noexcept { return ok_; }
  // How long the holder must wait from t before acting: 0 = act now;
  // inf_duration when not ok or when the tokens never come (zero limit). Go: DelayFrom.
  duration delay_from(time_point t) const noexcept;
  duration delay() const noexcept;  // from goro's clock now
  // When the holder may act (meaningless when not ok).
  time_point time_to_act() const noexcept { return goro::detail::from_nanos(tta_); }
  // The holder will not act: give the tokens back as far as later
  // reservations allow (nothing once the reservation came due). Go: CancelAt.
  void cancel_at(time_point t) noexcept;
  void cancel() noexcept;

 private:
  friend class limiter;
  limiter* lim_ = nullptr;
  std::int64_t tokens_ = 0;
  goro::detail::nanos tta_ = 0;
  limit limit_;  // the limit when reserved (it may change later)
  bool ok_ = false;
  bool cancelled_ = false;
};

// ---- limiter ---------------------------------------------------------------------------

class limiter {
 public:
  // The zero limiter: rejects every event (Go's zero Limiter).
  limiter() noexcept : limiter(rate::limit(), 0) {}
  // Allows events up to rate r with bursts of at most b; the bucket starts full.
  limiter(rate::limit r, std::int64_t b) noexcept;
  limiter(const limiter&) = delete;
  limiter& operator=(const limiter&) = delete;

  // Go: Limit(). (Inside this class the type is spelled rate::limit.)
  rate::limit limit() const noexcept;
  std::int64_t burst() const noexcept;

  // Tokens available at t (negative while reservations are outstanding).
  double tokens_at(time_point t) const noexcept;
  double tokens() const noexcept;

  // Whether n events may happen at t (takes the tokens if so).
  bool allow_n(time_point t, std::int64_t n) noexcept;
  bool allow() noexcept;

  // Reserves n tokens at t; the reservation says when to act. Not ok when
  // n > burst (or n < 0). Go: ReserveN.
  reservation reserve_n(time_point t, std::int64_t n) noexcept;
  reservation reserve() noexcept;
  // reserve_n, ok only if the wait is at most max_wait (Go's internal
  // reserveN(t, n, maxFutureReserve); allow_n is reserve_n_within(t, n, 0)).
  reservation reserve_n_within(time_point t, std::int64_t n, duration max_wait) noexcept;

  // co_await lim.wait_n(ctx, n): waits until n events may happen. Returns {}
  // then; at once errc::exceeds_burst (n > burst, limit not inf),
  // errc::would_exceed_deadline (the wait would pass ctx's deadline),
  // errc::would_wait_forever, or ctx.err() when ctx is already done; and
  // ctx.err() if ctx is done while waiting (the reservation is cancelled,
  // giving the tokens back to others). Go: WaitN.
  // (ctx is copied into the wait inside, not at the call: no temporary with a
  // destructor in the caller's co_await expression, GCC PR 100611.)
  task<std::error_code> wait_n(const context& ctx, std::int64_t n) { return wait_impl(ctx, n); }
  task<std::error_code> wait(const context& ctx) { return wait_impl(ctx, 1); }
  // The same for plain threads: blocks the calling thread.
  std::error_code blocking_wait_n(const context& ctx, std::int64_t n);
  std::error_code blocking_wait(const context& ctx) { return blocking_wait_n(ctx, 1); }

  // The non-sleeping half of wait_n at an explicit time (Go's internal
  // lim.wait up to the timer): checks n and ctx, reserves with ctx's deadline
  // as the bound. Returns the error wait_n would return at once, else {} with
  // *r set: sleep until r->time_to_act(), or r->cancel_at() if abandoned.
  std::error_code reserve_for_wait(const context& ctx, std::int64_t n, time_point t,
                                   reservation* r) noexcept;

  // New limit / burst from t on; reservations already made keep theirs.
  void set_limit_at(time_point t, rate::limit r) noexcept;
  void set_limit(rate::limit r) noexcept;
  void set_burst_at(time_point t, std::int64_t b) noexcept;
  void set_burst(std::int64_t b) noexcept;

 private:
  friend class reservation;
  using nanos = goro::detail::nanos;
  using units = __int128;
  static constexpr nanos kFresh = std::numeric_limits<nanos>::min();

  task<std::error_code> wait_impl(context ctx, std::int64_t n);
  units advance(nanos t) const noexcept GORO_REQUIRES(mu_);
  reservation reserve_locked(nanos t, std::int64_t n, nanos max_wait) noexcept GORO_REQUIRES(mu_);
  void cancel_locked(const reservation& r, nanos t) noexcept GORO_REQUIRES(mu_);

  mutable goro::detail::spinlock mu_;
  rate::limit limit_ GORO_GUARDED_BY(mu_);
  std::int64_t burst_ GORO_GUARDED_BY(mu_) = 0;
  // The bucket, in units of 1/unit_ token; unit_ is the den() of the last
  // finite non-zero limit (1 before there was one). Between limit changes a
  // nanosecond adds exactly limit_.num() units.
  std::int64_t unit_ GORO_GUARDED_BY(mu_) = 1;
  units tokens_ GORO_GUARDED_BY(mu_) = 0;
  nanos last_ GORO_GUARDED_BY(mu_) = kFresh;  // last update of tokens_ (kFresh: never; full)
  nanos last_event_ GORO_GUARDED_BY(mu_) = 0;  // latest time_to_act handed out
};

// ---- sometimes --------------------------------------------------------------------------

// Go's rate.Sometimes: run an action occasionally (e.g. rate-limited logging).
// The first call always runs f; later calls run it when any rule allows:
// within the first `first` calls, every `every`-th call (counting from the
// first), or when `interval` has passed since f last ran (non-positive: off).
// The zero value runs f exactly once.
class sometimes {
 public:
  struct rule {
    int first = 0;
    int every = 0;
    duration interval{0};
  };
  sometimes() noexcept = default;
  explicit sometimes(rule r) noexcept : rule_(r) {}
  sometimes(const sometimes&) = delete;
  sometimes& operator=(const sometimes&) = delete;

  // Runs f if the rules allow it at t; returns whether it did. Go: Do.
  template <class F>
  bool run_at(time_point t, F&& f) {
    if (!decide(goro::detail::to_nanos(t))) return false;
    std::forward<F>(f)();
    return true;
  }
  template <class F>
  bool run(F&& f) {
    return run_at(goro::detail::from_nanos(goro::detail::now()), std::forward<F>(f));
  }

 private:
  bool decide(goro::detail::nanos t) noexcept;
  rule rule_;
  goro::detail::spinlock mu_;
  long long count_ GORO_GUARDED_BY(mu_) = 0;
  goro::detail::nanos last_ GORO_GUARDED_BY(mu_) = 0;
};

}  // namespace goro::rate

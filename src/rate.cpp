// rate.cpp — goro::rate::limiter, limit, reservation, sometimes.
//
// The arithmetic (docs/design/resilience.md): a finite non-zero limit is
// num/den tokens per nanosecond, reduced. The bucket is an __int128 count of
// units, 1 token = unit_ units (unit_ = den of the current limit), so one
// nanosecond adds exactly num units and nothing is ever rounded between
// limit changes. Bounds that keep every product inside __int128 (|x| < 2^127):
//   num <= 2^62, den <= 2^63-1, burst <= 2^62  =>  burst*unit < 2^125;
//   elapsed < 2^64 ns (int64 difference) => elapsed*num < 2^126;
//   tokens_ >= kMinUnits = -2^125 (clamped; only reached when the wait is
//   already beyond the int64 nanosecond range);
//   n*unit with n <= burst < 2^125, so tokens - n*unit > -2^126.
#include "goro/rate.hpp"

#include <cfloat>
#include <cmath>
#include <string>

#include "goro/detail/goroutine.hpp"

namespace goro::rate {

namespace {

using i128 = __int128;
using nanos = goro::detail::nanos;
constexpr nanos kMaxNanos = std::numeric_limits<nanos>::max();
constexpr std::int64_t kMaxDen = std::numeric_limits<std::int64_t>::max();
constexpr i128 kMinUnits = -(i128{1} << 125);
constexpr std::int64_t kMaxBurst = std::int64_t{1} << 62;

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "goro.rate"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::exceeds_burst:
        return "rate: Wait(n) exceeds limiter's burst";
      case errc::would_exceed_deadline:
        return "rate: Wait(n) would exceed context deadline";
      case errc::would_wait_forever:
        return "rate: Wait(n) would wait forever (zero limit)";
      case errc::negative_n:
        return "rate: Wait(n) with n < 0";
    }
    return "rate: unknown error";
  }
};

nanos sat_add(nanos t, nanos d) noexcept {
  if (d > 0 && t > kMaxNanos - d) return kMaxNanos;
  if (d < 0 && t < std::numeric_limits<nanos>::min() - d) return std::numeric_limits<nanos>::min();
  return t + d;
}
nanos clamp_nanos(i128 v) noexcept {
  if (v > kMaxNanos) return kMaxNanos;
  if (v < std::numeric_limits<nanos>::min()) return std::numeric_limits<nanos>::min();
  return static_cast<nanos>(v);
}
i128 floor_div(i128 a, i128 b) noexcept {  // b > 0
  i128 q = a / b;
  if ((a % b) != 0 && a < 0) --q;
  return q;
}
std::int64_t clamp_burst(std::int64_t b) noexcept { return b < 0 ? 0 : (b > kMaxBurst ? kMaxBurst : b); }

}  // namespace

const std::error_category& error_category() noexcept {
  static const category c;
  return c;
}

// ---- limit ---------------------------------------------------------------------------

limit::limit(double r) noexcept {
  if (std::isnan(r) || r <= 0) return;
  if (std::isinf(r) || r == DBL_MAX) {
    inf_ = true;
    return;
  }
  // r/1e9 tokens per ns as an exact fraction num/den: r = M * 2^E exactly.
  int e = 0;
  const double f = std::frexp(r, &e);
  i128 m = static_cast<i128>(std::ldexp(f, 53));
  int ex = e - 53;
  while ((m & 1) == 0) {
    m >>= 1;
    ++ex;
  }
  i128 num, den;
  if (ex >= 0) {
    if (ex > 60) {  // > 2^60 events per second... far above kMaxNum per ns anyway
      num_ = kMaxNum;
      den_ = 1;
      return;
    }
    num = m << ex;
    den = 1'000'000'000;
  } else {
    if (-ex > 90) {  // below ~2^-37 events per second: the smallest rate we hold
      num_ = 1;
      den_ = kMaxDen;
      return;
    }
    num = m;
    den = i128{1'000'000'000} << -ex;
  }
  if (num / kMaxNum >= den) {  // num/den >= kMaxNum, without overflowing den * kMaxNum
    num_ = kMaxNum;
    den_ = 1;
    return;
  }
  // Continued fraction of num/den; stop at the first convergent that rounds
  // to r (so 0.1 is 1/10, not the binary fraction it is stored as), or at
  // the best semiconvergent that fits the bounds.
  const long double x = static_cast<long double>(num) / static_cast<long double>(den);
  i128 h0 = 0, h1 = 1, k0 = 1, k1 = 0;  // convergents h_{-2}/k_{-2}, h_{-1}/k_{-1}
  i128 a = num, b = den;
  for (;;) {
    const i128 q = a / b;
    const i128 rem = a % b;
    i128 tmax = q;
    if (k1 != 0) tmax = std::min<i128>(tmax, (kMaxDen - k0) / k1);
    if (h1 != 0) tmax = std::min<i128>(tmax, (kMaxNum - h0) / h1);
    if (tmax < q) {
      // The next convergent does not fit: take the largest semiconvergent
      // that does if it is closer than the current convergent.
      if (tmax >= 1) {
        const i128 hs = tmax * h1 + h0, ks = tmax * k1 + k0;
        const long double es = std::fabs(static_cast<long double>(hs) / ks - x);
        const long double ec =
            (k1 == 0 || h1 == 0) ? es + 1 : std::fabs(static_cast<long double>(h1) / k1 - x);
        if (es < ec) {
          h1 = hs;
          k1 = ks;
        }
      }
      break;
    }
    const i128 h2 = q * h1 + h0, k2 = q * k1 + k0;
    h0 = h1;
    h1 = h2;
    k0 = k1;
    k1 = k2;
    if (rem == 0) break;
    if (h1 > 0 && static_cast<double>(static_cast<long double>(h1) * 1e9L /
                                      static_cast<long double>(k1)) == r) {
      break;  // the simplest fraction that is this double
    }
    a = b;
    b = rem;
  }
  if (h1 <= 0 || k1 <= 0) {  // r > 0 never becomes the zero limit
    num_ = 1;
    den_ = kMaxDen;
    return;
  }
  set(static_cast<std::int64_t>(h1), static_cast<std::int64_t>(k1));
}

double limit::value() const noexcept {
  if (inf_) return std::numeric_limits<double>::infinity();
  return static_cast<double>(static_cast<long double>(num_) * 1e9L / static_cast<long double>(den_));
}

// ---- reservation -------------------------------------------------------------------------

duration reservation::delay_from(time_point t) const noexcept {
  if (!ok_ || tta_ == kMaxNanos) return inf_duration;  // kMaxNanos: never (zero limit)
  const i128 d = static_cast<i128>(tta_) - goro::detail::to_nanos(t);
  if (d <= 0) return duration(0);
  return duration(clamp_nanos(d));
}
duration reservation::delay() const noexcept {
  return delay_from(goro::detail::from_nanos(goro::detail::now()));
}
void reservation::cancel_at(time_point t) noexcept {
  if (!ok_ || cancelled_) return;
  cancelled_ = true;
  goro::detail::lock_guard g(lim_->mu_);
  lim_->cancel_locked(*this, goro::detail::to_nanos(t));
}
void reservation::cancel() noexcept { cancel_at(goro::detail::from_nanos(goro::detail::now())); }

// ---- limiter --------------------------------------------------------------------------------

limiter::limiter(rate::limit r, std::int64_t b) noexcept : limit_(r),
                                                                       burst_(clamp_burst(b)) {
  if (!r.is_inf() && !r.is_zero()) unit_ = r.den();
  tokens_ = static_cast<units>(burst_) * unit_;
}

// Go's advance: the bucket at t, not stored. A t before the last update
// refills nothing.
limiter::units limiter::advance(nanos t) const noexcept {
  const units cap = static_cast<units>(burst_) * unit_;
  const units held = tokens_ < cap ? tokens_ : cap;
  if (last_ == kFresh || t <= last_) return held;
  if (limit_.is_inf()) return cap;
  if (limit_.is_zero()) return held;
  const units missing = cap - tokens_;
  if (missing <= 0) return cap;
  const units gain = (static_cast<units>(t) - last_) * limit_.num();
  return gain >= missing ? cap : tokens_ + gain;
}

reservation limiter::reserve_locked(nanos t, std::int64_t n, nanos max_wait) noexcept {
  reservation r;
  r.lim_ = this;
  r.limit_ = limit_;
  r.tta_ = t;
  if (n < 0) return r;
  if (limit_.is_inf()) {
    r.ok_ = true;
    r.tokens_ = n;
    return r;
  }
  if (n > burst_) return r;
  const units after = advance(t) - static_cast<units>(n) * unit_;
  nanos wait = 0;
  if (after < 0) {
    if (limit_.is_zero()) {
      wait = kMaxNanos;
    } else {
      // Round up: at time_to_act the bucket is back to >= 0, never a
      // fraction of a unit short.
      const units w = (-after + limit_.num() - 1) / limit_.num();
      wait = clamp_nanos(w);
    }
  }
  if (wait > max_wait) return r;
  r.ok_ = true;
  r.tokens_ = n;
  r.tta_ = sat_add(t, wait);
  last_ = t;
  tokens_ = after < kMinUnits ? kMinUnits : after;
  last_event_ = r.tta_;
  return r;
}

void limiter::cancel_locked(const reservation& r, nanos t) noexcept {
  if (limit_.is_inf() || r.limit_.is_inf() || r.tokens_ == 0 || r.tta_ < t) return;
  // Tokens reserved after r (from r's time_to_act to the last event, at r's
  // limit) stay reserved; only the rest comes back.
  units later = 0;
  const units e = static_cast<units>(last_event_) - r.tta_;
  if (!r.limit_.is_zero() && e != 0) {
    if (r.limit_.den() == unit_) {
      later = e * r.limit_.num();
    } else {  // the limit changed since: re-expressed in today's unit, rounded down
      long double v = static_cast<long double>(e) * r.limit_.num() / r.limit_.den() * unit_;
      const long double lim = 0x1p124L;
      later = v > lim ? static_cast<units>(lim) : v < -lim ? -static_cast<units>(lim)
                                                             : static_cast<units>(std::floor(v));
    }
  }
  const units restore = static_cast<units>(r.tokens_) * unit_ - later;
  if (restore <= 0) return;
  const units cap = static_cast<units>(burst_) * unit_;
  units tok = advance(t) + restore;
  if (tok > cap) tok = cap;
  last_ = t;
  tokens_ = tok;
  if (r.tta_ == last_event_ && !r.limit_.is_zero()) {
    // r was the last event: the last event is now the one before it, if
    // that is still in the future.
    const units back = static_cast<units>(r.tokens_) * r.limit_.den() / r.limit_.num();
    const nanos prev = clamp_nanos(static_cast<units>(r.tta_) - back);
    if (prev >= t) last_event_ = prev;
  }
}

rate::limit limiter::limit() const noexcept {
  goro::detail::lock_guard g(mu_);
  return limit_;
}
std::int64_t limiter::burst() const noexcept {
  goro::detail::lock_guard g(mu_);
  return burst_;
}

double limiter::tokens_at(time_point t) const noexcept {
  units tok;
  std::int64_t unit;
  {
    goro::detail::lock_guard g(mu_);
    tok = advance(goro::detail::to_nanos(t));
    unit = unit_;
  }
  return static_cast<double>(static_cast<long double>(tok) / static_cast<long double>(unit));
}
double limiter::tokens() const noexcept {
  return tokens_at(goro::detail::from_nanos(goro::detail::now()));
}

bool limiter::allow_n(time_point t, std::int64_t n) noexcept {
  const nanos tn = goro::detail::to_nanos(t);
  goro::detail::lock_guard g(mu_);
  return reserve_locked(tn, n, 0).ok_;
}
bool limiter::allow() noexcept {
  const nanos tn = goro::detail::now();  // read the clock outside the lock
  goro::detail::lock_guard g(mu_);
  return reserve_locked(tn, 1, 0).ok_;
}

reservation limiter::reserve_n_within(time_point t, std::int64_t n, duration max_wait) noexcept {
  const nanos tn = goro::detail::to_nanos(t);
  goro::detail::lock_guard g(mu_);
  return reserve_locked(tn, n, max_wait.count());
}
reservation limiter::reserve_n(time_point t, std::int64_t n) noexcept {
  return reserve_n_within(t, n, inf_duration);
}
reservation limiter::reserve() noexcept {
  return reserve_n(goro::detail::from_nanos(goro::detail::now()), 1);
}

std::error_code limiter::reserve_for_wait(const context& ctx, std::int64_t n, time_point t,
                                          reservation* r) noexcept {
  *r = reservation();
  if (n < 0) return errc::negative_n;
  {
    goro::detail::lock_guard g(mu_);
    if (n > burst_ && !limit_.is_inf()) return errc::exceeds_burst;
  }
  if (std::error_code e = ctx.err()) return e;
  const nanos tn = goro::detail::to_nanos(t);
  nanos max_wait = kMaxNanos;
  if (auto dl = ctx.deadline()) max_wait = clamp_nanos(static_cast<i128>(goro::detail::to_nanos(*dl)) - tn);
  goro::detail::lock_guard g(mu_);
  *r = reserve_locked(tn, n, max_wait);
  if (!r->ok_) return errc::would_exceed_deadline;
  if (r->tta_ == kMaxNanos && tn != kMaxNanos) {
    // Only a zero limit (or a wait past the year 2262) gets here: the wait
    // could end only by cancellation. Give the tokens back and say so.
    cancel_locked(*r, tn);
    r->ok_ = false;
    return errc::would_wait_forever;
  }
  return {};
}

task<std::error_code> limiter::wait_impl(context ctx, std::int64_t n) {
  reservation r;
  const nanos now = goro::detail::now();
  std::error_code ec = reserve_for_wait(ctx, n, goro::detail::from_nanos(now), &r);
  if (ec || r.tta_ <= now) co_return ec;
  // Named awaiter: keep co_await out of full-expressions (GCC PR 100611).
  auto s = goro::sleep_until(ctx, r.time_to_act());
  std::error_code slept = co_await s;
  if (slept) r.cancel();  // give the tokens back to whoever comes next
  co_return slept;
}

std::error_code limiter::blocking_wait_n(const context& ctx, std::int64_t n) {
  GORO_ASSERT(goro::detail::current_goroutine() == nullptr,
              "goro::rate::limiter::blocking_wait blocks the thread; inside a goroutine use "
              "co_await lim.wait(ctx)");
  reservation r;
  const nanos now = goro::detail::now();
  std::error_code ec = reserve_for_wait(ctx, n, goro::detail::from_nanos(now), &r);
  if (ec || r.tta_ <= now) return ec;
  std::error_code slept = goro::blocking_sleep_until(ctx, r.time_to_act());
  if (slept) r.cancel();
  return slept;
}

void limiter::set_limit_at(time_point t, rate::limit r) noexcept {
  const nanos tn = goro::detail::to_nanos(t);
  goro::detail::lock_guard g(mu_);
  tokens_ = advance(tn);
  last_ = tn;
  if (!r.is_inf() && !r.is_zero() && r.den() != unit_) {
    // Re-express the bucket in the new unit: floor(tokens * den / unit).
    const units q = floor_div(tokens_, unit_);
    const units rem = tokens_ - q * unit_;  // 0 <= rem < unit_
    const units bound = (units{1} << 125) / r.den();
    if (q < -bound) {
      tokens_ = kMinUnits;
    } else {
      tokens_ = q * r.den() + rem * r.den() / unit_;
    }
    unit_ = r.den();
  }
  limit_ = r;
}
void limiter::set_limit(rate::limit r) noexcept {
  set_limit_at(goro::detail::from_nanos(goro::detail::now()), r);
}

void limiter::set_burst_at(time_point t, std::int64_t b) noexcept {
  const nanos tn = goro::detail::to_nanos(t);
  goro::detail::lock_guard g(mu_);
  tokens_ = advance(tn);
  last_ = tn;
  burst_ = clamp_burst(b);
}
void limiter::set_burst(std::int64_t b) noexcept {
  set_burst_at(goro::detail::from_nanos(goro::detail::now()), b);
}

// ---- sometimes ---------------------------------------------------------------------------------

bool sometimes::decide(nanos t) noexcept {
  goro::detail::lock_guard g(mu_);
  const bool run =
      count_ == 0 || (rule_.first > 0 && count_ < rule_.first) ||
      (rule_.every > 0 && count_ % rule_.every == 0) ||
      (rule_.interval.count() > 0 && static_cast<i128>(t) - last_ >= rule_.interval.count());
  if (run) last_ = t;
  ++count_;
  return run;
}

}  // namespace goro::rate

// retry.cpp — goro::retry's decisions (permanent errors, attempts, delays
// with full jitter, max_elapsed) and its default random source.
#include "goro/rand.hpp"
#include "goro/retry.hpp"

#include <atomic>
#include <cmath>
#include <limits>

namespace goro {

std::chrono::nanoseconds retry_policy::ceiling(std::uint32_t failures) const noexcept {
  using ld = long double;
  constexpr ld kMax = static_cast<ld>(std::numeric_limits<std::int64_t>::max());
  const ld m = multiplier < 1.0 || std::isnan(multiplier) ? 1.0L : static_cast<ld>(multiplier);
  ld c = initial_interval.count() < 0 ? 0.0L : static_cast<ld>(initial_interval.count());
  // initial * m^(failures-1), saturating (the loop ends as soon as it passes a cap).
  const ld cap = max_interval.count() > 0 ? static_cast<ld>(max_interval.count()) : kMax;
  for (std::uint32_t i = 1; i < failures && c < cap; ++i) c *= m;
  if (c > cap) c = cap;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(c));
}

bool is_permanent(const error& e, error* inner) {
  if (!e.exception()) return false;
  try {
    std::rethrow_exception(e.exception());
  } catch (const permanent_error& p) {
    if (inner) *inner = p.err;
    return true;
  } catch (...) {
  }
  return false;
}

namespace detail {

// goro::rand: per-thread state reached through a non-inlined call, so it is
// safe in coroutine bodies and shares no cache line between workers.
double retry_random() noexcept { return goro::rand::float64(); }

nanos retry_now(const retry_policy& p) { return p.now ? to_nanos(p.now()) : now(); }

retry_step retry_decide(const retry_policy& p, const error& e, std::uint32_t attempt,
                        nanos start) {
  retry_step s;
  if (is_permanent(e, &s.inner)) {
    s.stop = s.unwrap = true;
    return s;
  }
  if ((p.permanent && p.permanent(e)) || (p.max_attempts != 0 && attempt >= p.max_attempts)) {
    s.stop = true;
    return s;
  }
  double r = p.random ? p.random() : retry_random();
  if (!(r >= 0.0)) r = 0.0;  // also NaN
  if (r >= 1.0) r = std::nextafter(1.0, 0.0);
  const std::chrono::nanoseconds top = p.ceiling(attempt);
  s.delay = std::chrono::nanoseconds(
      static_cast<std::int64_t>(std::floor(static_cast<long double>(r) * top.count())));
  if (p.max_elapsed.count() > 0) {
    const long double elapsed = static_cast<long double>(retry_now(p)) - start;
    if (elapsed + s.delay.count() > p.max_elapsed.count()) {
      s.stop = true;
      return s;
    }
  }
  if (p.notify) p.notify(e, s.delay, attempt);
  return s;
}

}  // namespace detail
}  // namespace goro

// breaker.cpp — goro::circuit_breaker's state machine (gobreaker's
// currentState / setState / toNewGeneration / onSuccess / onFailure), under
// mu_. Transitions are collected while locked and reported to
// on_state_change after unlocking.
#include "goro/breaker.hpp"

#include <limits>
#include <mutex>
#include <string>

namespace goro {

namespace {

constexpr detail::nanos kNoExpiry = std::numeric_limits<detail::nanos>::min();

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "goro.breaker"; }
  std::string message(int c) const override {
    switch (static_cast<breaker_errc>(c)) {
      case breaker_errc::open:
        return "circuit breaker is open";
      case breaker_errc::too_many_requests:
        return "too many requests";
    }
    return "circuit breaker: unknown error";
  }
};

breaker_settings normalise(breaker_settings s) {
  if (s.max_requests == 0) s.max_requests = 1;
  if (s.timeout.count() <= 0) s.timeout = std::chrono::seconds(60);
  if (s.interval.count() < 0) s.interval = std::chrono::nanoseconds(0);
  if (s.window.count() < 0) s.window = std::chrono::nanoseconds(0);
  if (s.buckets == 0) s.buckets = 1;
  GORO_ASSERT(s.interval.count() == 0 || s.window.count() == 0,
              "goro::circuit_breaker: set interval (gobreaker's cyclic clear) or window (rolling "
              "window), not both");
  if (!s.ready_to_trip) {
    s.ready_to_trip = [](const breaker_counts& c) { return c.consecutive_failures > 5; };
  }
  return s;
}

}  // namespace

const char* to_string(breaker_state s) noexcept {
  switch (s) {
    case breaker_state::closed:
      return "closed";
    case breaker_state::half_open:
      return "half-open";
    case breaker_state::open:
      return "open";
  }
  return "unknown";
}

const std::error_category& breaker_category() noexcept {
  static const category c;
  return c;
}

std::function<bool(const breaker_counts&)> trip_after_consecutive_failures(std::uint32_t n) {
  if (n == 0) n = 1;
  return [n](const breaker_counts& c) { return c.consecutive_failures >= n; };
}

std::function<bool(const breaker_counts&)> trip_on_failure_ratio(double ratio,
                                                                 std::uint32_t min_requests) {
  return [ratio, min_requests](const breaker_counts& c) {
    return c.requests >= min_requests && c.requests > 0 &&
           static_cast<double>(c.total_failures) >= ratio * static_cast<double>(c.requests);
  };
}

circuit_breaker::circuit_breaker(breaker_settings s) : s_(normalise(std::move(s))) {
  if (s_.window.count() > 0) {
    bucket_len_ = s_.window.count() / s_.buckets;
    if (bucket_len_ <= 0) bucket_len_ = 1;
    ring_.assign(s_.buckets, bucket{});
  }
  std::lock_guard<detail::rw_spinlock> l(mu_);
  new_generation(now());
}

detail::nanos circuit_breaker::now() const {
  return s_.now ? detail::to_nanos(s_.now()) : detail::now();
}

bool circuit_breaker::successful(const goro::error& e) const {
  return s_.is_successful ? s_.is_successful(e) : !e;
}

breaker_state circuit_breaker::state() { return state_at(detail::from_nanos(now())); }

breaker_state circuit_breaker::state_at(clock::time_point t) {
  transitions tr;
  breaker_state st;
  {
    std::lock_guard<detail::rw_spinlock> l(mu_);
    st = current(detail::to_nanos(t), &tr);
  }
  notify(tr);
  return st;
}

breaker_counts circuit_breaker::counts() const {
  std::lock_guard<detail::rw_spinlock> l(mu_);
  return counts_;
}

std::uint64_t circuit_breaker::generation() const {
  std::lock_guard<detail::rw_spinlock> l(mu_);
  return generation_;
}

// The clock is read only where the answer can depend on it (gobreaker reads
// it twice per call): with an interval or a window, in the open and
// half-open states, and for a failure (which may trip the breaker, and
// the open state's expiry is reckoned from it). A closed breaker without
// an interval or a window looks at no time: current() reads t only for an
// interval's expiry, rotate() only for a window, and set_state() is not
// reached by a success in the closed state. The state is read before the
// lock as a hint; if it was not closed by the time the lock is held, the
// call lets go, reads the clock and locks again (user code, s_.now, never
// runs under the lock). Two clock reads were a fifth of execute's cost.
bool circuit_breaker::clock_needed(bool success) const noexcept {
  return !success || s_.interval.count() > 0 || bucket_len_ > 0 ||
         state_hint_.load(std::memory_order_relaxed) != breaker_state::closed;
}

// mu_, held, with *t read if this call can need it (clock_needed): a call
// that finds the state changed since the hint lets go, reads the clock and
// locks again (any state may then use *t).
std::unique_lock<detail::rw_spinlock> circuit_breaker::lock_with_time(bool success, nanos* t) {
  const bool have_t = clock_needed(success);
  *t = have_t ? now() : 0;
  std::unique_lock<detail::rw_spinlock> l(mu_);
  if (!have_t && state_ != breaker_state::closed) {  // changed since the hint
    l.unlock();
    *t = now();
    l.lock();
  }
  return l;
}

circuit_breaker::permit circuit_breaker::try_acquire() {
  nanos t;
  permit p;
  transitions tr;
  {
    std::unique_lock<detail::rw_spinlock> l = lock_with_time(true, &t);
    const breaker_state st = current(t, &tr);
    p.gen_ = generation_;
    if (st == breaker_state::open) {
      p.err_ = breaker_errc::open;
    } else if (st == breaker_state::half_open && counts_.requests >= s_.max_requests) {
      p.err_ = breaker_errc::too_many_requests;
    } else {
      rotate(t);
      ++counts_.requests;
      if (!ring_.empty() && state_ == breaker_state::closed) ++ring_[cur_].requests;
      p.cb_ = this;
    }
  }
  notify(tr);
  return p;
}

void circuit_breaker::report(std::uint64_t gen, bool success) noexcept {
  nanos t;
  transitions tr;
  {
    std::unique_lock<detail::rw_spinlock> l = lock_with_time(success, &t);
    const breaker_state st = current(t, &tr);
    if (gen == generation_) {
      rotate(t);
      const bool windowed = !ring_.empty() && st == breaker_state::closed;
      if (success) {
        ++counts_.total_successes;
        ++counts_.consecutive_successes;
        counts_.consecutive_failures = 0;
        if (windowed) ++ring_[cur_].successes;
        if (st == breaker_state::half_open && counts_.consecutive_successes >= s_.max_requests) {
          set_state(breaker_state::closed, t, &tr);
        }
      } else {
        ++counts_.total_failures;
        ++counts_.consecutive_failures;
        counts_.consecutive_successes = 0;
        if (windowed) ++ring_[cur_].failures;
        if (st == breaker_state::closed) {
          if (s_.ready_to_trip(counts_)) set_state(breaker_state::open, t, &tr);
        } else if (st == breaker_state::half_open) {
          set_state(breaker_state::open, t, &tr);
        }
      }
    }
  }
  notify(tr);
}

void circuit_breaker::notify(const transitions& tr) const noexcept {
  if (!s_.on_state_change) return;
  for (int i = 0; i < tr.n; ++i) s_.on_state_change(s_.name, tr.from[i], tr.to[i]);
}

breaker_state circuit_breaker::current(nanos t, transitions* tr) {
  switch (state_) {
    case breaker_state::closed:
      if (expiry_ != kNoExpiry && expiry_ < t) new_generation(t);
      break;
    case breaker_state::open:
      if (expiry_ < t) set_state(breaker_state::half_open, t, tr);
      break;
    case breaker_state::half_open:
      break;
  }
  return state_;
}

void circuit_breaker::set_state(breaker_state s, nanos t, transitions* tr) {
  if (state_ == s) return;
  const breaker_state prev = state_;
  state_ = s;
  state_hint_.store(s, std::memory_order_relaxed);
  new_generation(t);
  if (tr->n < 3) {
    tr->from[tr->n] = prev;
    tr->to[tr->n] = s;
    ++tr->n;
  }
}

void circuit_breaker::new_generation(nanos t) {
  ++generation_;
  counts_ = {};
  for (bucket& b : ring_) b = {};
  cur_ = 0;
  cur_start_ = t;
  switch (state_) {
    case breaker_state::closed:
      expiry_ = s_.interval.count() == 0 ? kNoExpiry : detail::deadline_after(t, s_.interval);
      break;
    case breaker_state::open:
      expiry_ = detail::deadline_after(t, s_.timeout);
      break;
    case breaker_state::half_open:
      expiry_ = kNoExpiry;
      break;
  }
}

// Drops the buckets that fell out of the window (closed state only).
void circuit_breaker::rotate(nanos t) {
  if (ring_.empty() || state_ != breaker_state::closed || t < cur_start_) return;
  const nanos steps = (t - cur_start_) / bucket_len_;
  if (steps == 0) return;
  const std::size_t n = ring_.size();
  const std::size_t drop = steps >= static_cast<nanos>(n) ? n : static_cast<std::size_t>(steps);
  for (std::size_t i = 1; i <= drop; ++i) {
    bucket& b = ring_[(cur_ + i) % n];
    counts_.requests -= b.requests;
    counts_.total_successes -= b.successes;
    counts_.total_failures -= b.failures;
    b = {};
  }
  cur_ = (cur_ + static_cast<std::size_t>(steps % static_cast<nanos>(n))) % n;
  cur_start_ += steps * bucket_len_;
}

}  // namespace goro

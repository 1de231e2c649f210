// goro/timer.hpp — timer channels: after(), timer, ticker (Go's time.After,
// time.Timer, time.Ticker), on the one timer path of detail/timer.hpp.
//
//   auto r = co_await goro::select(goro::recv(results), goro::recv(goro::after(1s)));
//   goro::timer t(50ms);   co_await t.c().recv();   t.reset(50ms);   t.stop();
//   goro::ticker tk(10ms); while (...) co_await tk.c().recv();
//
// The timer lives with its channel: when the last handle to an after()
// channel is dropped, its timer is disarmed and freed — a select loop over
// after(1h) does not accumulate timers (Go's time.After leak, before 1.23).
// timer::stop/reset drain the channel, so no stale value is received after
// them (Go 1.23 semantics). A ticker's channel holds one tick; ticks for a
// slow receiver are dropped, as in Go. timer and ticker stop on destruction.
// Thread-safety: timer/ticker methods may be called concurrently.
#pragma once

#include <chrono>
#include <stdexcept>

#include "goro/chan.hpp"
#include "goro/detail/timer.hpp"
#include "goro/time.hpp"

namespace goro {

namespace detail {
// A channel of capacity 1 with the timer that feeds it.
class timer_chan final : public chan_state<clock::time_point> {
 public:
  timer_chan() : chan_state<clock::time_point>(1) {
    node_.ctx = this;
    node_.fire = &fire;
  }
  ~timer_chan() override { timer_disarm(&node_); }

  // Arms for `when`, repeating every `period` if > 0. Drops a pending value.
  bool rearm(nanos when, nanos period) noexcept {
    lock_guard l(owner_mu_);
    bool was_active = timer_disarm(&node_);
    drain();
    node_.period = period;
    timer_arm(&node_, when);
    return was_active;
  }
  bool stop() noexcept {
    lock_guard l(owner_mu_);
    bool was_active = timer_disarm(&node_);
    drain();
    return was_active;
  }

 private:
  // Runs under the timer heap lock (heap -> channel lock order).
  static void fire(timer_node* n) noexcept {
    auto* c = static_cast<timer_chan*>(n->ctx);
    clock::time_point t = from_nanos(now());  // the firing runtime's clock (virtual time)
    chan_waiter* wake = nullptr;
    {
      lock_guard l(c->mu);
      (void)c->send_locked(t, &wake);  // full: the tick is dropped
    }
    if (wake) wake->tok()->complete();
  }

  spinlock owner_mu_;  // serialises stop/reset; taken before the heap lock
  timer_node node_;
};

inline timer_chan* new_timer_chan(nanos when, nanos period) {
  auto* c = new timer_chan;
  (void)c->rearm(when, period);
  return c;
}
}  // namespace detail

// A channel that receives the time once, after d. Dropping every handle to
// it cancels and frees the timer.
inline receiver<clock::time_point> after(std::chrono::nanoseconds d) {
  return detail::chan_access::adopt_receiver<clock::time_point>(
      detail::new_timer_chan(detail::deadline_in(d), 0));
}

// Go's time.Timer: fires once on c() after d; stop() and reset() as in Go 1.23.
class timer {
 public:
  explicit timer(std::chrono::nanoseconds d)
      : c_(detail::new_timer_chan(detail::deadline_in(d), 0)) {
    ch_ = detail::chan_access::adopt_receiver<clock::time_point>(c_);
  }
  ~timer() {
    if (c_) c_->stop();
  }
  timer(timer&& o) noexcept : ch_(std::move(o.ch_)), c_(std::exchange(o.c_, nullptr)) {}
  timer(const timer&) = delete;
  timer& operator=(const timer&) = delete;

  const receiver<clock::time_point>& c() const noexcept { return ch_; }
  // Prevents the timer from firing. True if it was still pending.
  bool stop() noexcept { return c_->stop(); }
  // Re-arms for d from now. True if it was still pending.
  bool reset(std::chrono::nanoseconds d) noexcept { return c_->rearm(detail::deadline_in(d), 0); }

 private:
  receiver<clock::time_point> ch_;
  detail::timer_chan* c_;  // owned through ch_
};

// Go's time.Ticker: sends the time on c() every d; a slow receiver misses ticks.
class ticker {
 public:
  explicit ticker(std::chrono::nanoseconds d) : c_(nullptr) {
    check(d);
    c_ = detail::new_timer_chan(detail::deadline_in(d), d.count());
    ch_ = detail::chan_access::adopt_receiver<clock::time_point>(c_);
  }
  ~ticker() {
    if (c_) c_->stop();
  }
  ticker(ticker&& o) noexcept : ch_(std::move(o.ch_)), c_(std::exchange(o.c_, nullptr)) {}
  ticker(const ticker&) = delete;
  ticker& operator=(const ticker&) = delete;

  const receiver<clock::time_point>& c() const noexcept { return ch_; }
  void stop() noexcept { (void)c_->stop(); }
  // New period, counted from now.
  void reset(std::chrono::nanoseconds d) {
    check(d);
    (void)c_->rearm(detail::deadline_in(d), d.count());
  }

 private:
  static void check(std::chrono::nanoseconds d) {
    if (d.count() <= 0) throw std::invalid_argument("goro::ticker: non-positive interval");
  }
  receiver<clock::time_point> ch_;
  detail::timer_chan* c_;
};

}  // namespace goro

// goro/sync/cond.hpp — Go's sync.Cond over a goro::mutex.
//
//   goro::mutex mu;
//   goro::cond cv(mu);                    // Go: sync.NewCond(&mu)
//
//   co_await mu.lock();
//   while (!ready) co_await cv.wait();    // unlocks mu, parks, relocks mu
//   ... mu.unlock();
//   // or: co_await cv.wait([&] { return ready; });
//
//   { co_await mu.lock(); ready = true; mu.unlock(); }
//   cv.signal();                          // wakes the longest waiter; broadcast() wakes all
//
// wait() atomically unlocks mu and parks the caller; after a signal or a
// broadcast it locks mu again before it returns (so, as in Go, the condition
// must be re-checked in a loop: another party may have run first). The mutex
// must be held by the caller of wait() (else the unlock aborts: "unlock of
// unlocked mutex"). signal() and broadcast() may be called with or without
// mu held. Waiters are woken in FIFO order (Go's notifyList order). A
// signal wakes only parties already waiting: no lost and no stored wake-ups.
//
// Goroutines use co_await cv.wait(); plain threads cv.blocking_wait(); both
// may wait on the same cond.
//
// "Atomically": a waiter is queued on the cond before mu is unlocked, so a
// signal that follows the unlock always finds it.
//
// Thread-safety: every member may be called concurrently. Lifetime: the cond
// and its mutex must outlive every wait().
#pragma once

#include "goro/detail/spinlock.hpp"
#include "goro/detail/wait_queue.hpp"
#include "goro/sync/mutex.hpp"
#include "goro/task.hpp"

namespace goro {

class cond {
 public:
  explicit cond(goro::mutex& m) noexcept : m_(&m) {}
  cond(const cond&) = delete;
  cond& operator=(const cond&) = delete;

  // The mutex the cond is used with (Go's c.L).
  goro::mutex& mu() const noexcept { return *m_; }

  // co_await cv.wait(): unlocks mu, parks until signal()/broadcast(), locks mu.
  // `site` (defaulted: the caller) is what a dump shows, for the cond wait
  // and for the relock.
  [[nodiscard]] task<> wait(GORO_WAIT_SITE_PARAMS) { return wait_at(GORO_WAIT_SITE); }
  // co_await cv.wait(pred): while (!pred()) co_await cv.wait();
  template <class Pred>
  [[nodiscard]] task<> wait(Pred pred, GORO_WAIT_SITE_PARAMS) {
    while (!pred()) {
      task<> t = wait_at(GORO_WAIT_SITE);
      co_await std::move(t);
    }
  }

  // The same for plain threads (not inside a goroutine: that aborts naming
  // the caller's line, loc).
  void blocking_wait(detail::source_loc loc = detail::source_loc::current()) noexcept;
  template <class Pred>
  void blocking_wait(Pred pred, detail::source_loc loc = detail::source_loc::current()) {
    detail::assert_blocking_allowed(  // even when pred() already holds
        "goro::cond::blocking_wait() blocks the thread; inside a goroutine use "
        "co_await cv.wait(pred)",
        loc);
    while (!pred()) blocking_wait(loc);
  }

  // Wakes the longest-waiting party, if any.
  void signal() noexcept;
  // Wakes every waiting party.
  void broadcast() noexcept;

 private:
  task<> wait_at(detail::wait_site site);  // wait(): the caller's site made
  struct park_awaiter;

  goro::mutex* m_;
  detail::spinlock mu_;  // guards waiters_; a leaf (nothing is locked under it)
  detail::wait_queue waiters_ GORO_GUARDED_BY(mu_);
};

}  // namespace goro

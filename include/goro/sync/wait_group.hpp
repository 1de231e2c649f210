// goro/sync/wait_group.hpp — Go's sync.WaitGroup.
//
//   goro::wait_group wg;
//   for (...) wg.go(worker, args...);   // add(1) + go + done() when it returns
//   co_await wg.wait();                 // from a goroutine
//   wg.blocking_wait();                 // from a plain thread
//   if (auto ec = co_await wg.wait(ctx)) ...   // ctx.err() if ctx is done first
//
// A counter going negative is misuse and aborts with a clear message (Go panics).
// Thread-safety: every member may be called concurrently.
// Memory: every done() happens-before the wait() that it releases returns.
// Lifetime: the group may be destroyed as soon as a wait() on it returns,
// as long as no other wait() on it is still in progress (several waiters
// must all have returned, as for any object used by several threads).
// Clearing kDirty (below) is a release: a later waiter that reads the
// cleared word then happens-after the release's unlock.
//
// State (one word): the counter times four, plus two bits.
//  * kWaiters: the queue may hold waiters. A waiter sets it under mu_
//    before it queues (only while the counter is above zero); a release
//    clears it. A waiter leaving the queue early (context, teardown) leaves
//    it set (the next zero then takes mu_ for nothing).
//  * kDirty: a release ran under mu_ and may not have unlocked yet. Only a
//    waiter clears it, under mu_ (so after that release's unlock).
// done() and add(-n) are one fetch_add, as Go's Add. Its result is the
// call's last touch of the group, except when it made the counter zero with
// kWaiters set: that state, a *pending release*, is left only by the call
// that made it, which then takes mu_, stores kDirty (counter zero, kWaiters
// cleared) and wakes every queued waiter after the unlock. While a release
// is pending:
//  * nothing else changes the word: add(+n) waits for the release (a few
//    instructions of another thread) before it counts up, a waiter queues
//    (under mu_, kWaiters is already set) and is woken by that release, and
//    another done() would make the counter negative (misuse, fatal);
//  * so there is only ever one pending release, and every waiter queued
//    under mu_ while it is pending is woken by it, including one whose
//    context is done meanwhile (a counter found at zero wins: the hook leaves
//    a waiter queued when the counter is zero, and only a pending release
//    has queued waiters at zero).
// So:
//  * a waiter returns at once only on a word that is all zero: the call
//    that made the counter zero either had the fetch_add (or a CAS) as its
//    last touch, or is a release that sets kDirty under mu_, which sends a
//    waiter through mu_ first (settled_at_zero); a counter found at zero wins
//    over a done context;
//  * a waiter never returns on a pending release (that release still has to
//    take mu_): under mu_ it queues instead.
// add(+n) is a CAS on the word; it never makes the counter zero.
// wait_group_round (add(1), done(), wait()) is a CAS, a fetch_add and a
// load; Go's is two atomic adds and a load. Eight goroutines calling
// done() on one group cost one `lock xadd` each, where a CAS loop retried
// under contention (docs/design/performance.md).
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>

#include "goro/detail/context_node.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/wait_queue.hpp"
#include "goro/runtime.hpp"

namespace goro {
namespace detail {
// Test seam of a pending release (src/scheduler_testing.hpp; null outside
// the tests): called with false by the done() that made it, before it takes
// the lock; with true by an add() (or a waiter whose context is done) about
// to wait for it.
extern std::atomic<void (*)(bool)> g_wait_group_release_seam;
}  // namespace detail

class wait_group {
 public:
  wait_group() = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  // add(-n) is n done()s at once. A counter going negative is misuse
  // (fatal, with a clear message), as in Go.
  void add(std::int64_t delta) noexcept {
    if (delta < 0) return release(delta);
    std::int64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (pending_release(s)) {  // a done() is on its way to mu_: let it finish
        s = wait_out_release();
        continue;
      }
      if (state_.compare_exchange_weak(s, s + delta * kOne, std::memory_order_acq_rel,
                                       std::memory_order_relaxed))
        return;
    }
  }
  void done() noexcept { release(-1); }
  std::int64_t count() const noexcept { return state_.load(std::memory_order_acquire) / kOne; }

  // Starts f(args...) as a goroutine counted by this group. If the start
  // throws (copying f or an argument into the goroutine threw, or no
  // memory), the count is taken back and the exception propagates: nothing
  // was started, and wait() is not left waiting for it. Once started, the
  // goroutine calls done() however f ends: returning, throwing, or an
  // argument's move into f's parameters throwing (that exception then goes
  // to the uncaught-exception handler, as f's own would). A goroutine that
  // never ends because its runtime is destroyed first (the teardown
  // destroys it unfinished, or before it started) does not call done(): the
  // frame owning the group may be gone by then, as the teardown destroys
  // frames in no order. So a waiter outside that runtime (a plain thread, a
  // goroutine of another runtime) is not released by the teardown.
  // Up to four arguments, the caller's line is the goroutine's spawn site in
  // dumps and crash reports (a defaulted location cannot follow a pack:
  // one overload per arity, as runtime::go); with more, the site is this
  // header.
  template <class F>
  void go(F&& f, detail::source_loc loc = detail::source_loc::current()) {
    go_at(loc, std::forward<F>(f));
  }
  template <class F, class A0>
  void go(F&& f, A0&& a0, detail::source_loc loc = detail::source_loc::current()) {
    go_at(loc, std::forward<F>(f), std::forward<A0>(a0));
  }
  template <class F, class A0, class A1>
  void go(F&& f, A0&& a0, A1&& a1, detail::source_loc loc = detail::source_loc::current()) {
    go_at(loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1));
  }
  template <class F, class A0, class A1, class A2>
  void go(F&& f, A0&& a0, A1&& a1, A2&& a2,
          detail::source_loc loc = detail::source_loc::current()) {
    go_at(loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1),
          std::forward<A2>(a2));
  }
  template <class F, class A0, class A1, class A2, class A3>
  void go(F&& f, A0&& a0, A1&& a1, A2&& a2, A3&& a3,
          detail::source_loc loc = detail::source_loc::current()) {
    go_at(loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1),
          std::forward<A2>(a2), std::forward<A3>(a3));
  }
  template <class F, class A0, class A1, class A2, class A3, class A4, class... A>
  void go(F&& f, A0&& a0, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A&&... a) {
    go_at(detail::source_loc::current(), std::forward<F>(f), std::forward<A0>(a0),
          std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4),
          std::forward<A>(a)...);
  }

 private:
  // A counted shell (runtime.hpp): the goroutine calls done() when it is
  // gone, with no wrapper coroutine around f (one frame and one coroutine
  // call less per goroutine). f and the arguments are stored in the shell and
  // moved into f's parameters on the goroutine, as go() does; a move that
  // throws there still ends in done(). If starting throws, the count is
  // taken back and nothing was started.
  template <class F, class... A>
  void go_at(detail::source_loc loc, F&& f, A&&... a) {
    add(1);
    try {
      detail::launch_counted(detail::runtime_for_spawn(), loc, this, std::forward<F>(f),
                             std::forward<A>(a)...);
    } catch (...) {
      done();
      throw;
    }
  }

 public:
  struct GORO_NODISCARD_AWAITABLE awaiter {
    wait_group* wg;
    detail::wait_node node;
    detail::wait_site site;
    bool parked = false;
    awaiter(wait_group* g, const detail::wait_site& s) noexcept : wg(g), site(s) {}
    awaiter(const awaiter&) = delete;
    // A goroutine destroyed while parked here (runtime shutdown) unlinks its
    // node, so that a later release does not wake a freed frame; if a
    // release already dequeued it, waits until that release is done with it
    // (wait_queue.hpp). A woken waiter (notified) never touches the group
    // again: it may be gone.
    ~awaiter() {
      if (parked) detail::withdraw(wg->mu_, wg->waiters_, node);
    }
    bool await_ready() noexcept { return wg->settled_at_zero(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      detail::lock_guard l(wg->mu_);
      if (!wg->must_queue_locked()) return false;
      node.w = detail::waker_for(h, detail::wait_kinds::wait_group, site, wg);
      wg->waiters_.push_back(&node);
      parked = true;
      return true;
    }
    void await_resume() const noexcept {
      if (parked) detail::settle_wake(node);
    }
  };
  // co_await wg.wait(): parks the goroutine until the counter is zero.
  GORO_NODISCARD_AWAITABLE awaiter wait(GORO_WAIT_SITE_PARAMS) noexcept {
    return awaiter(this, GORO_WAIT_SITE);
  }

  // A wait that a context can cut short. A counter found at zero wins over a
  // done context (the wait is over); otherwise ctx.err() once ctx is done.
  class GORO_NODISCARD_AWAITABLE ctx_wait {
   public:
    ctx_wait(wait_group* g, const context& ctx, const detail::wait_site& s = {}) noexcept
        : wg_(g), watch_(ctx, &on_cancel, this), site_(s) {}  // site_ declared last
    ctx_wait(const ctx_wait&) = delete;
    // Torn down while parked (runtime shutdown): unhook, then unqueue.
    ~ctx_wait() {
      if (!parked_) return;
      watch_.detach();
      detail::withdraw(wg_->mu_, wg_->waiters_, node_);
    }
    bool await_ready() noexcept {
      if (wg_->settled_at_zero()) return true;
      if (std::error_code e = watch_.err()) {
        early_ = wg_->unless_zero(e);
        return true;
      }
      return false;
    }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      return begin([&] { return detail::waker_for(h, detail::wait_kinds::wait_group_ctx, site_, wg_); });
    }
    std::error_code await_resume() noexcept { return end(); }
    std::error_code blocking() noexcept {
      if (await_ready()) return end();
      if (begin([] { return detail::thread_waker(); })) detail::park_until_notified(node_);
      return end();
    }

   private:
    // True: queued (park); false: the wait is already over. The waker is
    // made under mu_ once the waiter queues (a goroutine shows as parked
    // only then).
    template <class MakeWaker>
    bool begin(MakeWaker make_waker) noexcept {
      if (!watch_.attach()) {  // before mu_ (lock order: context node mu -> mu_)
        early_ = wg_->unless_zero(watch_.err());
        return false;
      }
      detail::lock_guard l(wg_->mu_);
      if (canceled_) return false;
      decided_ = true;
      if (!wg_->must_queue_locked()) return false;
      node_.w = make_waker();
      wg_->waiters_.push_back(&node_);
      parked_ = true;
      return true;  // published: nothing of *this is touched after the unlock
    }
    std::error_code end() noexcept {
      if (parked_) detail::settle_wake(node_);  // a thread has seen it already
      parked_ = false;
      if (early_) return early_;
      watch_.detach();  // waits out a running hook
      return canceled_ ? watch_.err() : std::error_code{};
    }
    // The context's hook, under its node lock.
    static void on_cancel(detail::ctx_hook* h) noexcept {
      auto* self = static_cast<ctx_wait*>(h->ctx);
      bool wake = false;
      {
        detail::lock_guard l(self->wg_->mu_);
        if (self->node_.linked &&  // and the counter is above zero: a zero wins
            !pending_release(self->wg_->state_.load(std::memory_order_relaxed))) {
          self->wg_->waiters_.erase(&self->node_);
          self->canceled_ = wake = true;
        } else if (!self->decided_) {
          self->canceled_ = true;  // not queued yet: begin() sees this
        }
      }
      if (wake) detail::wake_one(&self->node_);
    }

    wait_group* wg_;
    detail::wait_node node_;
    detail::ctx_watch watch_;
    std::error_code early_;  // ctx was done before we queued
    bool decided_ = false;   // under mu_: queued, or found the counter at zero
    bool canceled_ = false;  // under mu_: the hook removed us, or fired before we queued
    bool parked_ = false;
    detail::wait_site site_;
  };
  // co_await wg.wait(ctx): {} when the counter is zero, ctx.err() if ctx is
  // done first (at once if it already is and the counter is not zero).
  GORO_NODISCARD_AWAITABLE ctx_wait wait(const context& ctx,
                                         GORO_WAIT_SITE_PARAMS) noexcept {
    return ctx_wait(this, ctx, GORO_WAIT_SITE);
  }

  // Blocks the calling thread until the counter is zero.
  void blocking_wait(detail::source_loc loc = detail::source_loc::current()) noexcept {
    detail::assert_blocking_allowed(
        "goro::wait_group::blocking_wait() blocks the thread; inside a goroutine use "
        "co_await wg.wait()",
        loc);
    if (settled_at_zero()) return;
    detail::wait_node node;
    {
      detail::lock_guard l(mu_);
      if (!must_queue_locked()) return;
      node.w = detail::thread_waker();
      waiters_.push_back(&node);
    }
    detail::park_until_notified(node);
  }
  // The same, cut short when ctx is done: {} or ctx.err().
  std::error_code blocking_wait(const context& ctx, detail::source_loc loc = detail::source_loc::current()) noexcept {
    detail::assert_blocking_allowed(
        "goro::wait_group::blocking_wait() blocks the thread; inside a goroutine use "
        "co_await wg.wait(ctx)",
        loc);
    return ctx_wait(this, ctx).blocking();
  }

 private:
  static constexpr std::int64_t kWaiters = 1, kDirty = 2, kOne = 4;

  static bool pending_release(std::int64_t s) noexcept {
    return s / kOne == 0 && (s & kWaiters);
  }
  // done() and add(-n): one fetch_add, Go's Add. The result is the last
  // touch of the group unless it made the counter zero with kWaiters set:
  // then this call still owes the release under mu_ (and nobody may settle
  // or count up until it is done).
  void release(std::int64_t delta) noexcept {
    const std::int64_t n = state_.fetch_add(delta * kOne, std::memory_order_acq_rel) + delta * kOne;
    GORO_ASSERT(n >= 0, "goro::wait_group: negative counter (more done() than add())");
    if (pending_release(n)) [[unlikely]]
      release_locked();
  }
  GORO_NOINLINE void release_locked() noexcept {
    if (auto* seam = detail::g_wait_group_release_seam.load(std::memory_order_relaxed)) seam(false);
    detail::wait_node* chain;
    {
      detail::lock_guard l(mu_);
      // Only this call leaves the pending state: adds wait for it, waiters queue.
      state_.store(kDirty, std::memory_order_release);
      chain = waiters_.take_all();
    }
    // The unlock was the last touch of *this; the nodes belong to the waiters.
    detail::wake_chain(chain);
  }
  // For a waiter whose context is done: {} instead of err when the counter
  // is zero (a zero wins over a done context), after waiting out a pending
  // release, which must unlock before the waiter may return.
  std::error_code unless_zero(std::error_code err) noexcept {
    std::int64_t s = state_.load(std::memory_order_acquire);
    if (s / kOne != 0) return err;
    if (pending_release(s)) (void)wait_out_release();
    return settled_at_zero() ? std::error_code{} : err;
  }
  GORO_NOINLINE std::int64_t wait_out_release() noexcept {
    if (auto* seam = detail::g_wait_group_release_seam.load(std::memory_order_relaxed)) seam(true);
    detail::backoff b;
    std::int64_t s;
    do {
      b.snooze();
      s = state_.load(std::memory_order_acquire);
    } while (pending_release(s));
    return s;
  }
  // True when the counter is zero, once no done() can still touch the group:
  // at once on an all-zero word; after a release (kDirty) only through mu_,
  // whose unlock was that release's last touch; never on a pending release.
  bool settled_at_zero() noexcept {
    std::int64_t s = state_.load(std::memory_order_acquire);
    if (s == 0) return true;
    if (s / kOne != 0) return false;
    detail::lock_guard l(mu_);
    s = state_.load(std::memory_order_acquire);
    if (s / kOne != 0 || pending_release(s)) return false;  // counting again, or not released yet
    settle_locked(s);
    return true;
  }
  // Under mu_, with the counter at zero in s: the wait is over. A release's
  // kDirty is cleared (its unlock is behind us, since we hold mu_).
  void settle_locked(std::int64_t s) noexcept GORO_REQUIRES(mu_) {
    if (s & kDirty) state_.fetch_and(~kDirty, std::memory_order_release);
  }
  // Under mu_, for a waiter about to queue: false if the counter is zero
  // (settle_locked), else sets kWaiters and returns true (queue: the done()
  // that makes the counter zero will take mu_ and wake the queue); true on
  // a pending release too (kWaiters is set: that release wakes the queue).
  bool must_queue_locked() noexcept GORO_REQUIRES(mu_) {
    std::int64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      if (pending_release(s)) return true;  // its done() wakes the queue under mu_
      if (s / kOne == 0) {
        settle_locked(s);
        return false;
      }
      if (state_.compare_exchange_weak(s, s | kWaiters, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
        return true;
    }
  }

  std::atomic<std::int64_t> state_{0};  // counter * kOne | kDirty | kWaiters
  detail::spinlock mu_;
  detail::wait_queue waiters_ GORO_GUARDED_BY(mu_);
};

}  // namespace goro

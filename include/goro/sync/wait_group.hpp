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
// Lifetime: the group may be destroyed as soon as a wait() on it returns.
//
// State (one word): the counter times two, plus kWaiters (bit 0): the queue
// may hold waiters. add() is one fetch_add (Go's Add); the add() that brings
// the counter to zero touches the group after that only if it saw kWaiters,
// and then takes mu_, wakes every queued waiter and clears the bit. A
// waiter sets kWaiters under mu_ before it queues. So:
//  * kWaiters is set and cleared only under mu_; a waiter that set it and
//    then found the counter already zero clears it again before unlocking;
//    a waiter leaving the queue early (context, teardown) leaves it set
//    (the next zero then takes mu_ for nothing).
//  * Hence "counter zero and kWaiters set", seen under mu_, means the add()
//    that made it zero saw the bit and is on its way to mu_ (a releaser is
//    pending): a waiter then queues too and is woken by it, and a
//    context-aware waiter does not give up (the release is decided). Only
//    a word that is all zero lets a waiter return at once: no add() can
//    still be about to touch the group.
//  * A waiter that returned was woken after the releaser's unlock (its last
//    touch), or saw the word at zero, or gave up on its context while the
//    counter was above zero (a later done() touches the group: the caller
//    must not destroy it then, as before).
// wait_group_round (add(1), done(), wait()) is two atomic RMWs, as in Go.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>

#include "goro/detail/context_node.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/wait_queue.hpp"
#include "goro/runtime.hpp"

namespace goro {

class wait_group {
 public:
  wait_group() = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  void add(std::int64_t delta) noexcept {
    const std::int64_t s = state_.fetch_add(delta * kOne, std::memory_order_acq_rel) + delta * kOne;
    GORO_ASSERT(s >= 0, "goro::wait_group: negative counter (more done() than add())");
    // Not reaching zero, or nobody queued: the fetch_add was the last touch.
    if (s == kWaiters && delta != 0) release_waiters();
  }
  void done() noexcept { add(-1); }
  std::int64_t count() const noexcept { return state_.load(std::memory_order_acquire) / kOne; }

  // Starts f(args...) as a goroutine counted by this group. If the start
  // throws (copying f or an argument into the goroutine threw, or no
  // memory), the count is taken back and the exception propagates: nothing
  // was started, and wait() is not left waiting for it. Once started, the
  // goroutine calls done() however f ends: returning, throwing, or an
  // argument's move into f's parameters throwing (that exception then goes
  // to the uncaught-exception handler, as f's own would).
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
    // node, so that a later release does not wake a freed frame. A woken
    // waiter (notified) never touches the group again: it may be gone.
    ~awaiter() {
      if (parked && !node.notified.load(std::memory_order_acquire)) {
        detail::lock_guard l(wg->mu_);
        if (node.linked) wg->waiters_.erase(&node);
      }
    }
    bool await_ready() const noexcept { return wg->settled_at_zero(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      detail::lock_guard l(wg->mu_);
      if (!wg->must_queue_locked()) return false;
      node.w = detail::waker_for(h, detail::wait_kinds::wait_group, site, wg);
      wg->waiters_.push_back(&node);
      parked = true;
      return true;
    }
    void await_resume() const noexcept {}
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
      if (!node_.notified.load(std::memory_order_acquire)) {
        detail::lock_guard l(wg_->mu_);
        if (node_.linked) wg_->waiters_.erase(&node_);
      }
    }
    bool await_ready() noexcept { return wg_->settled_at_zero() || (early_ = watch_.err()); }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      detail::waker w = detail::waker_for(h, detail::wait_kinds::wait_group_ctx, site_, wg_);
      if (begin(w)) return true;
      detail::unmark_parking(w.g());  // not parked after all: nothing was published
      return false;
    }
    std::error_code await_resume() noexcept { return end(); }
    std::error_code blocking() noexcept {
      if (await_ready()) return end();
      if (begin(detail::thread_waker())) detail::park_until_notified(node_);
      return end();
    }

   private:
    // True: queued (park); false: the wait is already over.
    bool begin(detail::waker w) noexcept {
      if (!watch_.attach()) {  // before mu_ (lock order: context node mu -> mu_)
        early_ = watch_.err();
        return false;
      }
      detail::lock_guard l(wg_->mu_);
      if (canceled_) return false;
      decided_ = true;
      if (!wg_->must_queue_locked()) return false;
      node_.w = w;
      wg_->waiters_.push_back(&node_);
      parked_ = true;
      return true;  // published: nothing of *this is touched after the unlock
    }
    std::error_code end() noexcept {
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
        // At zero with the node still queued, a releaser is on its way to
        // mu_ (see the state comment): the wait is over, it wakes us.
        if (self->node_.linked && self->wg_->count() != 0) {
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
  static constexpr std::int64_t kWaiters = 1, kOne = 2;

  // The add() that brought the counter to zero with kWaiters set: wakes
  // every queued waiter, unless the counter went up again meanwhile (the
  // group reused while waited for: they wait for the next zero).
  void release_waiters() noexcept {
    detail::wait_node* chain = nullptr;
    {
      detail::lock_guard l(mu_);
      if (state_.load(std::memory_order_acquire) / kOne == 0) {
        chain = waiters_.take_all();
        state_.fetch_and(~kWaiters, std::memory_order_relaxed);
      }
    }
    // The unlock was the last touch of *this; the nodes belong to the waiters.
    detail::wake_chain(chain);
  }
  // Nothing left to wait for and no releaser pending: the whole word is zero.
  bool settled_at_zero() const noexcept { return state_.load(std::memory_order_acquire) == 0; }
  // Under mu_, for a waiter about to queue: false if the wait is already
  // over (the counter is zero and no releaser is pending), else sets
  // kWaiters (the releaser of the next zero then comes to mu_) and true.
  bool must_queue_locked() noexcept GORO_REQUIRES(mu_) {
    const std::int64_t s = state_.fetch_or(kWaiters, std::memory_order_acq_rel);
    if (s / kOne != 0 || (s & kWaiters)) return true;  // counting, or a releaser is pending
    state_.fetch_and(~kWaiters, std::memory_order_relaxed);  // we set it: nobody will come
    return false;
  }

  std::atomic<std::int64_t> state_{0};  // counter * kOne | kWaiters
  detail::spinlock mu_;
  detail::wait_queue waiters_ GORO_GUARDED_BY(mu_);
};

}  // namespace goro

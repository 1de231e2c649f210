// goro/sync/wait_group.hpp — Go's sync.WaitGroup.
//
//   goro::wait_group wg;
//   for (...) wg.go(worker, args...);   // add(1) + go + done() when it returns
//   co_await wg.wait();                 // from a goroutine
//   wg.blocking_wait();                 // from a plain thread
//
// A counter going negative is misuse and aborts with a clear message (Go panics).
// Thread-safety: every member may be called concurrently.
// Memory: every done() happens-before the wait() that it releases returns.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>

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
    std::int64_t v = count_.fetch_add(delta, std::memory_order_acq_rel) + delta;
    GORO_ASSERT(v >= 0, "goro::wait_group: negative counter (more done() than add())");
    if (v == 0 && delta != 0) release_waiters();
  }
  void done() noexcept { add(-1); }
  std::int64_t count() const noexcept { return count_.load(std::memory_order_acquire); }

  // Starts f(args...) as a goroutine counted by this group.
  template <class F, class... A>
  void go(F&& f, A&&... a) {
    add(1);
    goro::go(
        [](wait_group* wg, std::decay_t<F> fn, std::decay_t<A>... args) -> task<> {
          struct done_on_exit {
            wait_group* wg;
            ~done_on_exit() { wg->done(); }
          } guard{wg};
          using r = std::invoke_result_t<std::decay_t<F>&, std::decay_t<A>&&...>;
          if constexpr (awaitable<r>) {
            r t = std::invoke(fn, std::move(args)...);
            co_await std::move(t);
          } else {
            std::invoke(fn, std::move(args)...);
          }
        },
        this, std::forward<F>(f), std::forward<A>(a)...);
  }

  struct awaiter {
    wait_group* wg;
    detail::wait_node node;
    bool await_ready() const noexcept { return wg->count() == 0; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      detail::lock_guard l(wg->mu_);
      if (wg->count() == 0) return false;
      node.w = detail::waker_for(h, "wait_group.wait");
      wg->waiters_.push_back(&node);
      return true;
    }
    void await_resume() const noexcept {}
  };
  // co_await wg.wait(): parks the goroutine until the counter is zero.
  [[nodiscard]] awaiter wait() noexcept { return awaiter{this, {}}; }

  // Blocks the calling thread until the counter is zero.
  void blocking_wait() noexcept {
    detail::wait_node node;
    {
      detail::lock_guard l(mu_);
      if (count() == 0) return;
      node.w = detail::thread_waker();
      waiters_.push_back(&node);
    }
    detail::park_until_notified(node);
  }

 private:
  void release_waiters() noexcept {
    detail::wait_node* chain;
    {
      detail::lock_guard l(mu_);
      chain = waiters_.take_all();
    }
    detail::wake_chain(chain);
  }

  std::atomic<std::int64_t> count_{0};
  detail::spinlock mu_;
  detail::wait_queue waiters_ GORO_GUARDED_BY(mu_);
};

}  // namespace goro

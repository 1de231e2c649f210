// cond.cpp — goro::cond: wait / signal / broadcast on goro's wait queue.
// Contract: goro/sync/cond.hpp.
//
// Order inside wait(): queue on the cond (under the cond's lock), then unlock
// the user's mutex, then park. A signal can therefore come at any point after
// the queueing, even before the unlock; the goroutine may be resumed on
// another worker while this thread is still in await_suspend, which is why
// that code touches only locals once the node is published.
#include "goro/sync/cond.hpp"

namespace goro {

struct cond::park_awaiter {
  cond* c;
  detail::wait_node node;
  detail::wait_site site;
  bool parked = false;
  park_awaiter(cond* cv, const detail::wait_site& s) noexcept : c(cv), site(s) {}
  park_awaiter(const park_awaiter&) = delete;
  // Torn down while parked (runtime shutdown): leave the queue, or wait out
  // the signal that dequeued us.
  ~park_awaiter() {
    if (parked) detail::withdraw(c->mu_, c->waiters_, node);
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    goro::mutex* m = c->m_;
    {
      detail::lock_guard l(c->mu_);
      node.w = detail::waker_for(h, detail::wait_kinds::cond, site, c);
      c->waiters_.push_back(&node);
      parked = true;
    }
    m->unlock();  // published: from here on, only locals
    return true;
  }
  void await_resume() noexcept {
    detail::settle_wake(node);
    parked = false;
  }
};

task<> cond::wait_at(detail::wait_site site) {
  {
    park_awaiter pa(this, site);
    co_await pa;
  }
  auto relock = m_->lock(site.file, site.function, site.line);
  co_await relock;
}

void cond::blocking_wait(detail::source_loc loc) noexcept {
  detail::assert_blocking_allowed(
      "goro::cond::blocking_wait() blocks the thread; inside a goroutine use "
      "co_await cv.wait()",
      loc);
  detail::wait_node node;
  {
    detail::lock_guard l(mu_);
    node.w = detail::thread_waker();
    waiters_.push_back(&node);
  }
  m_->unlock();
  detail::park_until_notified(node);
  m_->blocking_lock();
}

void cond::signal() noexcept {
  detail::wait_node* n;
  {
    detail::lock_guard l(mu_);
    n = waiters_.pop_front();
  }
  if (n) detail::wake_one(n);
}

void cond::broadcast() noexcept {
  detail::wait_node* chain;
  {
    detail::lock_guard l(mu_);
    chain = waiters_.take_all();
  }
  detail::wake_chain(chain);
}

}  // namespace goro

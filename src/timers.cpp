// timers.cpp — per-worker timer heaps and the runtime's timer wake-ups.
// Contract and node states: goro/detail/timer.hpp. Wake protocol for the
// timer sleeper: docs/design/timers.md.
#include <algorithm>
#include <functional>
#include <thread>

#include "runtime_impl.hpp"

namespace goro::detail {

// now() lives in scheduler.cpp, beside the worker it reads (virtual clock).

// ---- heap --------------------------------------------------------------------

void timer_heap::sift_up(std::uint32_t i) {
  timer_node* n = nodes[i];
  while (i > 0) {
    std::uint32_t parent = (i - 1) / 2;
    if (nodes[parent]->when <= n->when) break;
    nodes[i] = nodes[parent];
    nodes[i]->index = i;
    i = parent;
  }
  nodes[i] = n;
  n->index = i;
}

void timer_heap::sift_down(std::uint32_t i) {
  const std::uint32_t size = static_cast<std::uint32_t>(nodes.size());
  timer_node* n = nodes[i];
  for (;;) {
    std::uint32_t c = 2 * i + 1;
    if (c >= size) break;
    if (c + 1 < size && nodes[c + 1]->when < nodes[c]->when) ++c;
    if (n->when <= nodes[c]->when) break;
    nodes[i] = nodes[c];
    nodes[i]->index = i;
    i = c;
  }
  nodes[i] = n;
  n->index = i;
}

void timer_heap::push(timer_node* n) {
  nodes.push_back(n);
  sift_up(static_cast<std::uint32_t>(nodes.size() - 1));
  earliest.store(nodes[0]->when, std::memory_order_seq_cst);
}

void timer_heap::remove(timer_node* n) {
  std::uint32_t i = n->index;
  GORO_DEBUG_ASSERT(i < nodes.size() && nodes[i] == n, "timer heap index out of sync");
  timer_node* last = nodes.back();
  nodes.pop_back();
  if (last != n) {
    nodes[i] = last;
    last->index = i;
    sift_down(i);
    sift_up(last->index);
  }
  earliest.store(nodes.empty() ? kNever : nodes[0]->when, std::memory_order_seq_cst);
}

std::size_t timer_heap::run_due(nanos t) noexcept {
  if (earliest.load(std::memory_order_acquire) > t) return 0;
  std::size_t fired = 0;
  lock_guard l(mu);
  while (!nodes.empty() && nodes[0]->when <= t) {
    timer_node* n = nodes[0];
    remove(n);
    const bool periodic = n->period > 0;
    if (periodic) {
      // Periodic: next multiple of the period after now; missed ticks are
      // dropped, as Go's ticker does for slow receivers.
      n->when += n->period * (1 + (t - n->when) / n->period);
      push(n);
    }
    n->fire(n);  // under the lock: see timer.hpp
    // A one-shot node becomes idle only after fire() has returned: until
    // then a concurrent timer_disarm still sees this heap and waits on its
    // lock, so the owner cannot free the node while fire() is being called
    // or is running (publishing null first let disarm return early).
    if (!periodic) n->heap.store(nullptr, std::memory_order_release);
    ++fired;
  }
  return fired;
}

// ---- runtime side ------------------------------------------------------------

timer_heap& runtime_impl::heap_for_arm() noexcept {
  worker* w = current_worker();
  if (w != nullptr && w->rt == this) return w->timers;
  std::size_t h = std::hash<std::thread::id>{}(std::this_thread::get_id());
  return workers[h % workers.size()]->timers;
}

nanos runtime_impl::earliest_timer() const noexcept {
  nanos e = kNever;
  for (worker* w : workers) e = std::min(e, w->timers.earliest.load(std::memory_order_seq_cst));
  return e;
}

bool runtime_impl::run_all_due_timers() noexcept {
  if (earliest_timer() == kNever) return false;
  nanos t = now();
  std::size_t fired = 0;
  for (worker* w : workers) fired += w->timers.run_due(t);
  return fired != 0;
}

void runtime_impl::timer_armed(nanos when) noexcept {
  // Arming side of the Dekker pair (the heap's `earliest` was stored seq_cst).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (worker* s = timer_sleeper.load(std::memory_order_seq_cst)) {
    if (when < timer_sleeper_deadline.load(std::memory_order_seq_cst)) s->park.unpark();
  } else {
    notify_work();  // an idle worker becomes the timer sleeper
  }
}

void timer_arm(timer_node* n, nanos when, runtime_impl* rt) noexcept {
  if (rt == nullptr) rt = current_runtime();
  if (rt == nullptr) rt = runtime::default_runtime().impl();
  GORO_ASSERT(n->heap.load(std::memory_order_relaxed) == nullptr, "goro: timer armed twice");
  timer_heap& h = rt->heap_for_arm();
  {
    lock_guard l(h.mu);
    n->when = when;
    n->heap.store(&h, std::memory_order_release);
    h.push(n);
  }
  rt->timer_armed(when);
}

void runtime_impl::rehome_timers() noexcept {
  // Workers are joined: nothing of this runtime fires or arms timers any
  // more, but owners on other threads may disarm concurrently (timer_disarm
  // follows a node that moves). Lock order: old heap -> home heap; the home
  // runtime never rehomes, so there is no cycle.
  if (earliest_timer() == kNever) return;
  runtime_impl* home = nullptr;
  try {
    home = runtime::default_runtime().impl();
  } catch (...) {
    // No threads for the default runtime: the timers cannot fire anywhere.
    // Disarm them (their owners see "already fired" and may free them).
  }
  nanos first = kNever;
  for (worker* w : workers) {
    timer_heap& from = w->timers;
    lock_guard l(from.mu);
    if (from.nodes.empty()) continue;
    timer_heap* to = home != nullptr ? &home->heap_for_arm() : nullptr;
    for (timer_node* n : from.nodes) {
      if (to == nullptr) {
        n->heap.store(nullptr, std::memory_order_release);
        continue;
      }
      lock_guard lt(to->mu);
      n->heap.store(to, std::memory_order_release);
      to->push(n);  // out of memory here terminates (docs/HACKING.md)
      first = std::min(first, n->when);
    }
    from.nodes.clear();
    from.earliest.store(kNever, std::memory_order_seq_cst);
  }
  if (home != nullptr && first != kNever) home->timer_armed(first);
}

bool timer_disarm(timer_node* n) noexcept {
  // The node may move to another heap while we wait for this one's lock
  // (rehome_timers, which stores the new heap under the old heap's lock):
  // follow it.
  timer_heap* h = n->heap.load(std::memory_order_acquire);
  while (h != nullptr) {
    lock_guard l(h->mu);
    timer_heap* now_in = n->heap.load(std::memory_order_acquire);
    if (now_in == h) {
      h->remove(n);
      n->heap.store(nullptr, std::memory_order_release);
      return true;
    }
    h = now_in;  // fired (null) or moved
  }
  return false;
}

}  // namespace goro::detail

namespace goro {
std::size_t runtime::armed_timers() const noexcept {
  std::size_t n = 0;
  for (detail::worker* w : impl_->workers) {
    detail::lock_guard l(w->timers.mu);
    n += w->timers.nodes.size();
  }
  return n;
}
}  // namespace goro

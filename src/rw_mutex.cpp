// rw_mutex.cpp — goro::rw_mutex slow paths. State machine and contract:
// goro/sync/rw_mutex.hpp.
//
// Invariants (at every release of mu_), where "readers" counts read holders
// plus readers backing out of a failed entry (each takes itself back out
// with one fetch_sub, at once):
//   kWriter          => every reader counted is backing out
//   kWriterWait     <=> writers_ non-empty
//   kReaderWait     <=> readers_ non-empty (queued_readers_ counts them)
//   kReaderWait      => kWriter or kWriterWait (a reader queues only behind a writer)
//   kWriterWait      => kWriter, or readers > 0, or a hand_to_writer() is on
//                       its way (whoever brought readers to zero calls it)
// While mu_ is held, the state word changes under it only through CASes;
// outside it, readers add and take back themselves (fetch_add, fetch_sub),
// which every CAS loop here tolerates (it reloads), and fast-path writers
// CAS from and to a word with nobody queued.
//
// Lock order: mu_ is a leaf. Wake-ups happen after mu_ is released.
#include "goro/sync/rw_mutex.hpp"

#include "goro/runtime.hpp"
#include "goro/detail/goroutine.hpp"
#include "goro/detail/spinlock.hpp"

namespace goro {

namespace {
// Before a party queues: a holder running on another core lets go within
// nanoseconds (critical sections under an rw_mutex are short), while a park
// costs both sides a trip through the scheduler and, when that leaves a
// worker with nothing to run, a futex sleep and wake. So a few tries first,
// 4, 8 ... 256 pauses apart (about 13 us in all on a CPU whose pause takes
// 25 ns), and only while another worker runs and this one has nothing
// queued (detail::spin_worthwhile). Each try is one CAS: polling the word
// between tries (test-and-test-and-set) took the line away from the
// readers and writers doing real work and measured 3x slower; so did a
// shorter spin (Go's canSpin budget, 4 x 30 pauses: 12 ns/op against 10
// in the read-mostly benchmark). A spinning writer has not announced
// itself, so readers may still enter meanwhile; the spin is bounded, and
// then it queues as before. docs/design/performance.md.
bool spin_then_try(rw_mutex& m, bool shared) noexcept {
  for (detail::backoff b(2, 8); !b.spun_out() && detail::spin_worthwhile();) {
    b.spin();
    if (shared ? m.try_lock_shared() : m.try_lock()) return true;
  }
  return false;
}
}  // namespace

// Out of run budget: yield first, then lock (see lock_awaiter::await_ready).
task<> rw_mutex::yield_then_lock(bool shared, detail::wait_site site) {
  co_await goro::yield();  // the run budget is fresh afterwards: no second yield
  if (shared)
    co_await lock_shared(site.file, site.function, site.line);  // the caller's site, not this line
  else
    co_await lock(site.file, site.function, site.line);
}

// Under mu_: takes the lock if it is free for this kind of party (false:
// acquired, do not park), else queues `n` (true: park). `h` is the parking
// goroutine's frame, or null for a plain thread; *parked is set before mu_
// is released, and nothing of the caller is touched afterwards.
rw_mutex::enq rw_mutex::enqueue(detail::wait_node& n, bool shared, std::coroutine_handle<> h,
                                bool* parked, detail::rw_ctx_waiter* cw) noexcept {
  // Not for a context-aware waiter: it must be decided under mu_ (its hook
  // may fire at any time), and it is not the hot path.
  if (cw == nullptr && spin_then_try(*this, shared)) return enq::acquired;
  detail::lock_guard l(mu_);
  if (cw != nullptr) {
    if (cw->canceled) return enq::canceled;  // the hook fired before we got here
    cw->decided = true;
  }
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (shared) {
      if (!(s & (kWriter | kWriterWait))) {
        GORO_ASSERT((s & kReaderMask) != kReaderMask, "goro::rw_mutex: too many readers");
        if (state_.compare_exchange_weak(s, s + kReader, std::memory_order_acquire,
                                         std::memory_order_relaxed))
          return enq::acquired;
        continue;
      }
      if (state_.compare_exchange_weak(s, s | kReaderWait, std::memory_order_relaxed)) break;
    } else {
      if (s == 0) {
        if (state_.compare_exchange_weak(s, kWriter, std::memory_order_acquire,
                                         std::memory_order_relaxed))
          return enq::acquired;
        continue;
      }
      if (state_.compare_exchange_weak(s, s | kWriterWait, std::memory_order_relaxed)) break;
    }
  }
  n.notified.store(false, std::memory_order_relaxed);
  n.w = h ? detail::waker_for_noted(
                  h, shared ? detail::wait_kinds::rw_lock_shared : detail::wait_kinds::rw_lock, this)
          : detail::thread_waker();
  if (shared) {
    readers_.push_back(&n);
    ++queued_readers_;
  } else {
    writers_.push_back(&n);
  }
  *parked = true;
  return enq::parked;
}

void rw_mutex::blocking_acquire(bool shared, detail::source_loc loc) noexcept {
  detail::assert_blocking_allowed(
      "goro::rw_mutex::blocking_lock()/blocking_lock_shared() blocks the thread; "
      "inside a goroutine use co_await",
      loc);
  if (shared ? try_lock_shared() : try_lock()) return;
  detail::wait_node n;
  bool parked = false;
  if (enqueue_or_acquire(n, shared, {}, &parked)) detail::park_until_notified(n);
}

// Under mu_, with no writer holding the lock: admits every queued reader.
// Updates s (the CAS expected value) on failure; returns the chain to wake,
// or null if the CAS failed (the caller retries).
detail::wait_node* rw_mutex::admit_readers_locked(std::uint64_t& s) noexcept {
  std::uint64_t next = ((s & ~(kWriter | kReaderWait)) + queued_readers_ * kReader);
  GORO_ASSERT((next & ~kReaderMask) == (s & kWriterWait), "goro::rw_mutex: too many readers");
  if (!state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                    std::memory_order_relaxed))
    return nullptr;
  queued_readers_ = 0;
  return readers_.take_all();
}

// A writer's unlock with parties queued: the readers that queued behind it
// all get in (a queued writer keeps kWriterWait, so newcomers still queue);
// with no queued reader, the head writer receives the lock.
void rw_mutex::unlock_slow(std::uint64_t s) noexcept {
  GORO_ASSERT(s & kWriter,
              "goro::rw_mutex: unlock of an rw_mutex that is not write-locked (Go: fatal "
              "error: sync: Unlock of unlocked RWMutex)");
  detail::wait_node* chain = nullptr;
  {
    detail::lock_guard l(mu_);
    s = state_.load(std::memory_order_relaxed);
    for (;;) {
      GORO_ASSERT(s & kWriter,
                  "goro::rw_mutex: unlock of an rw_mutex that is not write-locked (Go: fatal "
                  "error: sync: Unlock of unlocked RWMutex)");
      if (!readers_.empty()) {
        if ((chain = admit_readers_locked(s)) != nullptr) break;
        continue;
      }
      detail::wait_node* head = writers_.front();
      std::uint64_t next = s & ~kWriter;  // nobody queued (only after a teardown)
      if (head != nullptr) {
        next = s;  // hand-off: kWriter stays set for the head
        if (head->next == nullptr) next &= ~kWriterWait;
      }
      if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
        if (head != nullptr) {
          writers_.pop_front();
          chain = head;
        }
        break;
      }
    }
  }
  detail::wake_chain(chain);
}

// The count reached zero (the last reader out, or a reader backing out of a
// failed entry) while a writer waited and none held the lock: hand it to the
// head writer, unless the state moved on meanwhile (another reader on its
// way back out will come here when it brings the count to zero; another
// caller got here first and handed it over; the waiting writer left).
void rw_mutex::hand_to_writer() noexcept {
  detail::wait_node* w = nullptr;
  {
    detail::lock_guard l(mu_);
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      detail::wait_node* head = writers_.front();
      if ((s & kReaderMask) != 0 || (s & kWriter) || head == nullptr) break;
      std::uint64_t next = s | kWriter;
      if (head->next == nullptr) next &= ~kWriterWait;
      if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
        writers_.pop_front();
        w = head;
        break;
      }
    }
  }
  if (w) detail::wake_one(w);
}

// A waiter torn down while parked (runtime shutdown): leave the queue, or
// give back what it was granted, so that the parties that remain can go on.
// One that an unlock dequeued but has not yet woken is that unlock's to
// finish first (wait_queue.hpp). `canceled`: the context's hook woke it, and
// it was granted nothing.
void rw_mutex::abandon(detail::wait_node& n, bool shared, bool canceled) noexcept {
  if (!n.notified.load(std::memory_order_acquire)) {
    detail::wait_node* chain = nullptr;
    bool left = false;
    {
      detail::lock_guard l(mu_);
      if (n.linked) {
        leave_queue_locked(n, shared, &chain);
        left = true;
      }
    }
    if (left) {
      detail::wake_chain(chain);
      return;
    }
    detail::settle_wake(n);
  }
  if (canceled) return;
  if (shared)
    unlock_shared();
  else
    unlock();
}

void rw_mutex::leave_queue_locked(detail::wait_node& n, bool shared,
                                  detail::wait_node** chain) noexcept {
  if (shared) {
    readers_.erase(&n);
    --queued_readers_;
    if (readers_.empty()) state_.fetch_and(~kReaderWait, std::memory_order_acq_rel);
    return;
  }
  writers_.erase(&n);
  if (!writers_.empty()) return;
  std::uint64_t s = state_.fetch_and(~kWriterWait, std::memory_order_acq_rel) & ~kWriterWait;
  // Readers queued behind the writer that left, with only readers holding
  // the lock: nothing will admit them but us.
  while (!(s & kWriter) && !readers_.empty() && (*chain = admit_readers_locked(s)) == nullptr) {
  }
}

// ---- context-aware waits (lock(ctx), lock_shared(ctx)) ------------------------------
//
// The hook (under the context's node lock; order: context node mu -> mu_)
// takes a queued waiter out as abandon() does and wakes it; a waiter not yet
// queued learns it in enqueue(). A waiter dequeued by an unlock owns the
// lock (hand-off) and keeps it.

void rw_mutex::on_cancel(detail::ctx_hook* h) noexcept {
  auto* w = static_cast<detail::rw_ctx_waiter*>(h->ctx);
  rw_mutex* m = w->m;
  detail::wait_node* chain = nullptr;
  bool wake = false;
  {
    detail::lock_guard l(m->mu_);
    if (w->node.linked) {
      m->leave_queue_locked(w->node, w->shared, &chain);
      w->canceled = wake = true;
    } else if (!w->decided) {
      w->canceled = true;
    }
  }
  detail::wake_chain(chain);
  if (wake) detail::wake_one(&w->node);
}

bool rw_mutex::begin_ctx_wait(detail::rw_ctx_waiter& w, detail::ctx_watch& watch,
                              std::coroutine_handle<> h, bool* parked,
                              std::error_code* early) noexcept {
  if (!watch.attach()) {  // before mu_: it may fire at once
    *early = watch.err();
    return false;
  }
  return enqueue(w.node, w.shared, h, parked, &w) == enq::parked;
}

std::error_code rw_mutex::end_ctx_wait(detail::rw_ctx_waiter& w, detail::ctx_watch& watch,
                                       std::error_code early) noexcept {
  if (early) return early;
  watch.detach();  // waits out a running hook
  return w.canceled ? watch.err() : std::error_code{};
}

std::error_code rw_mutex::blocking_acquire_ctx(bool shared, const context& ctx,
                                               detail::source_loc loc) noexcept {
  detail::assert_blocking_allowed(
      "goro::rw_mutex::blocking_lock()/blocking_lock_shared() blocks the thread; "
      "inside a goroutine use co_await",
      loc);
  detail::rw_ctx_waiter w(this, shared);
  detail::ctx_watch watch(ctx, &rw_mutex::on_cancel, &w);
  if (std::error_code e = watch.err()) return e;
  if (shared ? try_lock_shared() : try_lock()) return {};
  std::error_code early;
  bool parked = false;
  if (begin_ctx_wait(w, watch, {}, &parked, &early)) detail::park_until_notified(w.node);
  return end_ctx_wait(w, watch, early);
}

}  // namespace goro

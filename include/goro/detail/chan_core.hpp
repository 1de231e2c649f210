// goro/detail/chan_core.hpp — the protocol every channel operation and every
// select goes through (docs/design/channels.md has the full story).
//
// Pieces:
//  * wait_token — one per blocked operation (a lone send/recv is a select
//    with one case). `winner` is claimed by CAS by whoever completes the
//    operation (a channel counterpart, close, or the timeout timer), so exactly
//    one case commits. `state` arbitrates resumption between the completer
//    and the suspending party (see below).
//  * chan_waiter — one per case (Go's sudog): the token, the case index, the
//    value slot, and intrusive links in a channel's sendq or recvq.
//  * chan_base — the type-independent half of a channel: lock, queues,
//    closed flag, reference count.
//  * case_iface — what select needs from a case, implemented per type in
//    chan_state.hpp; the engine (src/select.cpp) is written once against it.
//
// Channel invariants (under chan_base::mu):
//  * at most one of sendq/recvq holds waiters whose token is unclaimed;
//  * a buffered channel with count > 0 has no unclaimed receiver waiting, and
//    one with count < cap has no unclaimed sender waiting;
//  * closed never goes back to false; after close both queues are empty.
// A waiter is removed from its queue by whoever dequeues it, claimed or not;
// a waiter whose claim fails belongs to a select that another case already
// won, and is simply dropped.
//
// Resumption handshake (no frame is touched by two threads at once): the
// completer, after moving the value and outside every lock, does
//     state |= kCompleted; if it was kSuspended -> wake the waiter
// and the suspending side, as the very last thing before it parks, does
//     state |= kSuspended; if it was kCompleted -> do not park, continue.
// Whoever comes second resumes the operation; the first touches nothing
// afterwards. This lets a select publish its waiters on several channels
// and arm a timer, in any order, without a window where it could be resumed
// while still running.
//
// Lock order: channel locks in increasing address order (select locks all of
// its distinct channels that way); a timer heap lock may be held when a
// channel lock is taken (ticker sends), never the reverse.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>


#include "goro/detail/goroutine.hpp"
#include "goro/detail/intrusive_list.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/timer.hpp"

namespace goro::detail {

struct wait_token {
  static constexpr std::uint8_t kSuspended = 1, kCompleted = 2;
  waker w;  // set before any waiter of this token is published
  std::atomic<int> winner{-1};
  std::atomic<std::uint8_t> state{0};
  // 3 bytes of tail padding: a lone operation's awaiter declares its token
  // [[no_unique_address]] and keeps its flags and a small value there.

  bool claim(int index) noexcept {
    int expected = -1;
    return winner.compare_exchange_strong(expected, index, std::memory_order_acq_rel);
  }
  // Completer side; call outside locks, after the transfer. The store of
  // kCompleted is the last touch of the token (goroutine.hpp, "the last
  // touch of a wake"): a goroutine that suspended is made runnable first and
  // waits for it (settle), a thread is woken after it.
  void complete() noexcept {
    wake_seam();
    waker copy = w;
    if (copy.g() == nullptr) {  // a thread (pooled parker): publish, then unpark
      if (state.fetch_or(kCompleted, std::memory_order_acq_rel) & kSuspended) copy.wake();
      return;
    }
    std::uint8_t s = state.load(std::memory_order_acquire);
    // Not suspended yet: it sees kCompleted in suspend() and never parks.
    if (!(s & kSuspended) &&
        state.compare_exchange_strong(s, kCompleted, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      return;
    copy.wake();  // it suspended (only we can change the state now)
    state.store(kSuspended | kCompleted, std::memory_order_release);
  }
  // The goroutine side, back from a park that a completer ended (or torn
  // down after one claimed it): waits out complete()'s last touch.
  void settle() const noexcept {
    wait_for_waker([this] { return completed(); });
  }
  // Suspending side, last action. True: stay parked (the completer wakes us).
  bool suspend() noexcept {
    return !(state.fetch_or(kSuspended, std::memory_order_acq_rel) & kCompleted);
  }
  bool completed() const noexcept {
    return state.load(std::memory_order_acquire) & kCompleted;
  }
};

// Plain-thread side of the handshake: spin briefly (a partner on another
// core usually completes us within microseconds, far cheaper than a futex
// round trip), then park until completed.
inline void block_thread_on(wait_token& t) noexcept {
  for (int i = 0; i < 1000; ++i) {
    if (t.completed()) return;
    cpu_relax();
  }
  if (t.state.fetch_or(wait_token::kSuspended, std::memory_order_acq_rel) & wait_token::kCompleted)
    return;
  while (!t.completed()) t.w.p()->park();
}

// loc: the caller of the public blocking_ form (see assert_blocking_allowed).
inline void assert_not_in_goroutine(source_loc loc) noexcept {
  assert_blocking_allowed(
      "goro: a blocking_ channel operation or select was called inside a goroutine; use "
      "co_await (it would block a worker thread)",
      loc);
}

// A nil channel blocks forever (Go). The goroutine is parked with nothing
// that can wake it; the leak check and shutdown report will show it.
inline void park_forever(std::coroutine_handle<> h, const wait_kind& kind,
                         const wait_site& site) noexcept {
  mark_parking(current_goroutine(), h, kind, site);
}
[[noreturn]] inline void park_thread_forever() noexcept {
  for (;;) parker::current().park();
}

// Pointers first, then the small fields together: 32 bytes (every parked
// channel operation and every select case holds one). The waiter finds its
// token by a 32-bit displacement instead of a pointer: the token always lives
// in the same object as its waiters (a lone operation's awaiter, a select's
// select_awaiter), a few hundred bytes away at most, and neither moves once
// a waiter is queued (docs/design/channels.md, "A lone operation's awaiter").
struct chan_waiter {
  void* slot = nullptr;  // send: the T to move from; recv: the std::optional<T> to fill
  chan_waiter* prev = nullptr;
  chan_waiter* next = nullptr;
  std::int32_t tok_at = 0;  // token address minus this waiter's
  std::uint16_t index = 0;  // the case's index (select_awaiter has fewer than 2^16)
  bool ok = false;          // set by the completer: transferred (true) or closed (false)
  bool linked = false;      // in a queue; guarded by that channel's lock

  chan_waiter() = default;
  chan_waiter(wait_token* t, void* s, int i = 0) noexcept { bind(t, s, i); }
  // Before the waiter is queued.
  void bind(wait_token* t, void* s, int i) noexcept {
    const std::intptr_t d = reinterpret_cast<std::intptr_t>(t) - reinterpret_cast<std::intptr_t>(this);
    GORO_ASSERT(d == static_cast<std::int32_t>(d) && i == static_cast<std::uint16_t>(i),
                "goro: a channel waiter and its token must live in one object");
    tok_at = static_cast<std::int32_t>(d);
    index = static_cast<std::uint16_t>(i);
    slot = s;
  }
  wait_token* tok() const noexcept {
    return reinterpret_cast<wait_token*>(reinterpret_cast<std::intptr_t>(this) + tok_at);
  }
};
static_assert(sizeof(void*) != 8 || sizeof(chan_waiter) == 32, "chan_waiter grew");

// A channel's send or receive queue: the shared intrusive FIFO plus Go's
// dequeue-with-selectDone.
class waiter_queue : public intrusive_list<chan_waiter> {
 public:
  // Removes waiters from the front until one can be claimed (Go's dequeue
  // with selectDone); returns it, or null.
  chan_waiter* dequeue_claimed() noexcept {
    while (chan_waiter* n = front()) {
      erase(n);
      if (n->tok()->claim(n->index)) return n;
    }
    return nullptr;
  }
};

// Buffered channels keep their values in a ring of stamped slots (crossbeam's
// array flavor, docs/design/channels.md "The lock-free ring"): a sender and a
// receiver that need not wait for each other claim a slot with one CAS on
// the ring's tail / head each and never take mu. Positions are lap | index (lap a
// multiple of one_lap_, the power of two above cap); two flag bits sit above
// them in both words:
//   kSlowBit  set (under mu) while a waiter is queued or a party holding mu
//             needs the ring to stand still (one about to enqueue, select's
//             pass 2): lock-free operations then fail their CAS and take mu.
//   kClosedBit in tail once closed: senders take mu and see closed_;
//             receivers that find the ring empty report closed.
class chan_base {
 public:
  explicit chan_base(std::size_t cap) noexcept : cap_(cap), one_lap_(lap_for(cap)) {}
  virtual ~chan_base() = default;
  chan_base(const chan_base&) = delete;
  chan_base& operator=(const chan_base&) = delete;

  void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  std::size_t cap() const noexcept { return cap_; }
  // Racy snapshot, like Go's len(ch) (crossbeam's len: a consistent pair of
  // positions; slots being written or read count as full).
  std::size_t len() const noexcept {
    if (cap_ == 0) return 0;
    for (;;) {
      std::size_t tail = ring_->tail.load(std::memory_order_seq_cst);
      std::size_t head = ring_->head.load(std::memory_order_seq_cst);
      if (ring_->tail.load(std::memory_order_seq_cst) != tail) continue;
      tail &= kPos;
      head &= kPos;
      const std::size_t hix = head & (one_lap_ - 1), tix = tail & (one_lap_ - 1);
      if (hix < tix) return tix - hix;
      if (hix > tix) return cap_ - hix + tix;
      return tail == head ? 0 : cap_;
    }
  }

  // Closes the channel; false if it was already closed. Every waiting
  // receiver gets "closed" (after the buffer drains), every waiting sender
  // gets "closed".
  bool close() noexcept;

  spinlock mu;

  // Under mu: stop lock-free ring operations (they fail their CAS and come
  // to mu); in-flight ones finish, and the locked ring operations wait for
  // them. Needed before deciding to enqueue (the ring must stay empty/full
  // until the waiter is visible) and by select's pass 2 (one instant).
  void freeze() noexcept GORO_REQUIRES(mu) {
    if (cap_ == 0 || frozen_) return;
    ring_->head.fetch_or(kSlowBit, std::memory_order_seq_cst);
    ring_->tail.fetch_or(kSlowBit, std::memory_order_seq_cst);
    frozen_ = true;
  }
  // Under mu: let lock-free operations run again once no waiter is queued
  // and the ring is neither empty nor full. Cheap when not frozen; every
  // party that leaves mu after completing, cancelling or polling calls it.
  // Staying frozen at empty or full is hysteresis: there the next operation
  // would likely freeze again to wait, and two pairs of RMWs on head and
  // tail per message cost more than the lock (a capacity-1 channel with
  // four senders ran at half the speed).
  void thaw() noexcept GORO_REQUIRES(mu) {
    if (!frozen_ || !recvq_.empty() || !sendq_.empty()) return;
    const std::size_t head = ring_->head.load(std::memory_order_relaxed) & kPos;
    const std::size_t tail = ring_->tail.load(std::memory_order_relaxed) & kPos;
    if (head == tail || ((head + one_lap_) & kPos) == tail) return;
    ring_->head.fetch_and(~kSlowBit, std::memory_order_seq_cst);
    ring_->tail.fetch_and(~kSlowBit, std::memory_order_seq_cst);
    frozen_ = false;
  }

 protected:
  static constexpr std::size_t kClosedBit = std::size_t{1} << 63;
  static constexpr std::size_t kSlowBit = std::size_t{1} << 62;
  static constexpr std::size_t kFlags = kClosedBit | kSlowBit;
  static constexpr std::size_t kPos = ~kFlags;  // positions wrap within these bits

  static std::size_t lap_for(std::size_t cap) noexcept {
    std::size_t lap = 1;
    while (lap <= cap) lap <<= 1;  // > cap: a written slot's stamp (pos + 1) never reads as free
    return lap;
  }
  // The position after pos: the next index, or index 0 of the next lap.
  std::size_t next_pos(std::size_t pos) const noexcept {
    const std::size_t index = pos & (one_lap_ - 1);
    return index + 1 < cap_ ? pos + 1 : ((pos & ~(one_lap_ - 1)) + one_lap_) & kPos;
  }

  // Completes a chain of waiters (linked through next) outside the lock.
  static void complete_chain(chan_waiter* chain) noexcept {
    while (chain) {
      chan_waiter* next = chain->next;
      chain->tok()->complete();  // last touch of *chain
      chain = next;
    }
  }
  // Drops buffered values (close keeps them; this is for timer resets).
  virtual void clear_buffer_locked() noexcept GORO_REQUIRES(mu) = 0;

  // The positions, each on a line of its own so that a sender and a receiver
  // on two cores write different lines; the slots follow on the next line.
  // Allocated with the slots (buffered channels only: an unbuffered
  // channel, e.g. every context's done channel, stays one small object).
  struct ring_header {
    alignas(64) std::atomic<std::size_t> head{0};  // receivers' position | kSlowBit
    alignas(64) std::atomic<std::size_t> tail{0};  // senders' position | kSlowBit | kClosedBit
  };

  std::atomic<long> refs_{1};
  const std::size_t cap_;
  const std::size_t one_lap_;
  ring_header* ring_ = nullptr;  // with chan_state<T>'s slots after it; set by its constructor
  bool closed_ GORO_GUARDED_BY(mu) = false;
  bool frozen_ GORO_GUARDED_BY(mu) = false;  // kSlowBit is set in head and tail
  waiter_queue recvq_ GORO_GUARDED_BY(mu);
  waiter_queue sendq_ GORO_GUARDED_BY(mu);

  friend struct chan_access;
};

// ---- select engine ------------------------------------------------------------

struct case_iface {
  // The channel's lock; null for cases that are never ready (nil channel)
  // and for the default and timeout pseudo-cases.
  spinlock* lock = nullptr;
  // Under *lock: tries to complete now. True if it fired; *wake is set to a
  // counterpart waiter to complete once every lock is released.
  virtual bool poll(chan_waiter** wake) noexcept = 0;
  // Without the lock (buffered channels' lock-free ring): kFired, kNotReady
  // (as final as a locked poll's "not ready": it held at one instant), or
  // kNeedLock (take *lock and poll).
  static constexpr int kFired = 1, kNotReady = 0, kNeedLock = -1;
  virtual int try_fast() noexcept { return kNeedLock; }
  // Under *lock: publishes this case's waiter on its channel.
  virtual void enqueue(wait_token* tok, int index) noexcept = 0;
  // Takes *lock: removes the waiter if it is still queued.
  virtual void cancel() noexcept = 0;
  // Under *lock: chan_base::freeze / thaw of the case's channel (pass 2).
  virtual void freeze() noexcept {}
  virtual void thaw() noexcept {}
  // The select was parked and this case won: read the completer's outcome.
  virtual void on_woken() noexcept {}

 protected:
  ~case_iface() = default;
};

struct select_spec {
  case_iface** cases = nullptr;
  int n = 0;
  int default_index = -1;  // >= 0: the default case's index
  int timeout_index = -1;  // >= 0: the timeout case's index
  nanos deadline = kNever;
};

// Polls the cases in a uniformly random order, first each under its own lock
// (pass 1), then all under every distinct channel lock taken in address order
// (pass 2), and fires the first ready one. Returns its index; else (pass 2
// found none ready, at one instant) the default's index if there is one; else
// the timeout's index if the deadline had passed; else enqueues a waiter on
// every channel (tok->w must be set) and returns -1: the caller then arms the
// timeout, if any, and parks through tok->suspend(). The default and the
// timeout never fire on pass 1's evidence alone (docs/design/channels.md, "A
// non-blocking select is atomic").
int select_start(const select_spec& s, wait_token* tok) noexcept;
// After a parked select was completed: removes the losing waiters.
void select_finish(const select_spec& s, int winner) noexcept;

// The timeout pseudo-case's timer: claims the token for `index` and completes it.
struct select_timer : timer_node {
  wait_token* tok = nullptr;
  int index = -1;
  select_timer() noexcept {
    fire = [](timer_node* n) {
      auto* t = static_cast<select_timer*>(n);
      if (t->tok->claim(t->index)) t->tok->complete();
    };
  }
};

}  // namespace goro::detail

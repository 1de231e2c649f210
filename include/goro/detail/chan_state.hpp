// goro/detail/chan_state.hpp — a channel of T: the ring of stamped slots and
// the typed halves of the protocol in chan_core.hpp (poll for send/recv, the
// select cases). One implementation serves capacity 0 (rendezvous: values
// move directly between a sender's and a receiver's slots, under mu) and
// capacity N (FIFO ring that senders and receivers use without mu while
// nobody waits; with a waiter queued, everything goes through mu as in Go's
// chan.go, and a blocked sender's value moves into the ring as a receiver
// frees a slot).
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "goro/detail/chan_core.hpp"

namespace goro::detail {

// The element-type rule: a channel moves values (into the buffer, into a
// receiver's slot, out of a sender's) and destroys them (a received or a
// dropped buffered value) while it holds its spinlock, inside noexcept code,
// where an exception cannot be undone or reported (Go values cannot throw).
// So a channel's T must be nothrow move constructible and nothrow
// destructible; move assignment is never used. Checked by make_chan and by
// chan_state (every channel, timer channels included), with this message.
template <class T>
inline constexpr bool chan_element_ok =
    std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>;
#define GORO_CHAN_ELEMENT_RULE                                                                  \
  "goro::chan<T>: T must be nothrow move constructible and nothrow destructible: channels "    \
  "move and destroy values under their lock, where an exception cannot be handled. Mark T's " \
  "move constructor noexcept, or send a std::unique_ptr<T> (or std::shared_ptr<const T>)"

enum class op_result { done, closed, blocked };
// A ring operation: done; empty (pop) / full (push); closed (pop: empty and
// closed); slow (lock-free form only: kSlowBit or kClosedBit is set, take mu).
enum class ring_result { done, empty_or_full, closed, slow };

// Crossbeam's send/recv loops back off before they block; goro's lone
// operations do the same: retry `again` after each of backoff's spins (1, 2,
// 4 ... 64 pauses, 127 in all, a few microseconds) while it answers
// empty_or_full.
// A parked party costs a freeze of the ring, a wake and a run-queue trip,
// and while it waits every other party takes the locked path; a producer
// that parks each time the ring is full turns every receive into a handoff
// (4 producers into one 1024-slot channel, docs/design/performance.md).
template <class Again>
ring_result spin_on_ring(Again again) noexcept {
  ring_result r = ring_result::empty_or_full;
  for (backoff b; r == ring_result::empty_or_full && !b.spun_out();) {
    b.spin();
    r = again();
  }
  return r;
}

template <class T>
class chan_state : public chan_base {
  static_assert(chan_element_ok<T>, GORO_CHAN_ELEMENT_RULE);

  struct slot {
    std::atomic<std::size_t> stamp;  // pos: free for the sender at pos; pos + 1: holds its value
    alignas(T) unsigned char storage[sizeof(T)];
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };

 public:
  // first_lap: tests start the positions near the wrap of their bits.
  explicit chan_state(std::size_t cap, std::size_t first_lap = 0) : chan_base(cap) {
    if (cap == 0) return;
    ring_ = ::new (::operator new(kSlotsAt + sizeof(slot) * cap, kRingAlign)) ring_header;
    const std::size_t start = first_lap * one_lap_ & kPos;
    for (std::size_t i = 0; i < cap; ++i) ::new (&slots()[i].stamp) std::atomic<std::size_t>(start + i);
    ring_->head.store(start, std::memory_order_relaxed);
    ring_->tail.store(start, std::memory_order_relaxed);
  }
  // No other reference exists: the ring is ours without the lock.
  ~chan_state() override GORO_NO_TSA {
    if (cap_ == 0) return;
    clear_buffer_locked();
    ring_->~ring_header();
    ::operator delete(ring_, kRingAlign);
  }

  // ---- the ring (crossbeam's array flavor; cap > 0 only) ----
  // Fast (Locked = false): any thread, no lock; gives up with `slow` when a
  // flag is set. Locked: under mu, ignores kSlowBit; waits out operations
  // still writing or reading a slot they claimed before it was set.

  // Moves v into the ring only when it returns done.
  template <bool Locked>
  ring_result ring_push(T& v) noexcept {
    backoff b;
    std::size_t tail = ring_->tail.load(std::memory_order_relaxed);
    for (;;) {
      if (!Locked && (tail & kFlags)) return ring_result::slow;
      const std::size_t pos = tail & kPos;
      slot& sl = slots()[pos & (one_lap_ - 1)];
      const std::size_t stamp = sl.stamp.load(std::memory_order_acquire);
      if (stamp == pos) {
        if (ring_->tail.compare_exchange_weak(tail, next_pos(pos) | (tail & kFlags), std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
          ::new (static_cast<void*>(sl.storage)) T(std::move(v));
          sl.stamp.store((pos + 1) & kPos, std::memory_order_release);
          return ring_result::done;
        }
        b.spin();
      } else if (((stamp + one_lap_) & kPos) == ((pos + 1) & kPos)) {
        // The slot still holds last lap's value: full, unless a receiver has
        // claimed it and is reading it.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        const std::size_t head = ring_->head.load(std::memory_order_relaxed) & kPos;
        if (((head + one_lap_) & kPos) == pos) return ring_result::empty_or_full;
        b.spin();
        tail = ring_->tail.load(std::memory_order_relaxed);
      } else {
        b.snooze();  // another sender claimed it and is writing
        tail = ring_->tail.load(std::memory_order_relaxed);
      }
    }
  }
  template <bool Locked>
  ring_result ring_pop(std::optional<T>& out) noexcept {
    backoff b;
    std::size_t head = ring_->head.load(std::memory_order_relaxed);
    for (;;) {
      if (!Locked && (head & kSlowBit)) return ring_result::slow;
      const std::size_t pos = head & kPos;
      slot& sl = slots()[pos & (one_lap_ - 1)];
      const std::size_t stamp = sl.stamp.load(std::memory_order_acquire);
      if (stamp == ((pos + 1) & kPos)) {
        if (ring_->head.compare_exchange_weak(head, next_pos(pos) | (head & kFlags), std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
          T* x = sl.value();
          out.emplace(std::move(*x));
          x->~T();
          sl.stamp.store((pos + one_lap_) & kPos, std::memory_order_release);
          return ring_result::done;
        }
        b.spin();
      } else if (stamp == pos) {
        // Free at this lap: empty, unless a sender has claimed it and is writing.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        const std::size_t tail = ring_->tail.load(std::memory_order_relaxed);
        if ((tail & kPos) == pos) return tail & kClosedBit ? ring_result::closed : ring_result::empty_or_full;
        b.spin();
        head = ring_->head.load(std::memory_order_relaxed);
      } else {
        b.snooze();  // another receiver claimed it and is reading
        head = ring_->head.load(std::memory_order_relaxed);
      }
    }
  }

  // ---- under mu (Go's chansend/chanrecv with the lock held) ----
  // Both thaw when they complete; on `blocked` they leave a freeze in place,
  // for the caller's enqueue (the caller thaws if it does not enqueue).
  op_result send_locked(T& v, chan_waiter** wake) noexcept GORO_REQUIRES(mu) {
    if (closed_) return op_result::closed;
    // A waiting receiver means an empty ring (frozen while it waits).
    if (chan_waiter* r = recvq_.dequeue_claimed()) {
      static_cast<std::optional<T>*>(r->slot)->emplace(std::move(v));
      r->ok = true;
      *wake = r;
      thaw();
      return op_result::done;
    }
    if (cap_ > 0 && ring_push<true>(v) == ring_result::done) {
      thaw();  // dequeue_claimed may have dropped the last (stale) waiter
      return op_result::done;
    }
    return op_result::blocked;
  }
  op_result recv_locked(std::optional<T>& out, chan_waiter** wake) noexcept GORO_REQUIRES(mu) {
    if (cap_ > 0 && ring_pop<true>(out) == ring_result::done) {
      // A slot is free: the longest-waiting sender's value takes it. While a
      // sender waits the ring is frozen full, so only holders of mu move it
      // and the push cannot fail.
      if (chan_waiter* s = sendq_.dequeue_claimed()) {
        [[maybe_unused]] ring_result r = ring_push<true>(*static_cast<T*>(s->slot));
        GORO_ASSERT(r == ring_result::done, "goro: channel ring full while a sender waited");
        s->ok = true;
        *wake = s;
      }
      thaw();
      return op_result::done;
    }
    if (chan_waiter* s = sendq_.dequeue_claimed()) {  // rendezvous (unbuffered)
      out.emplace(std::move(*static_cast<T*>(s->slot)));
      s->ok = true;
      *wake = s;
      thaw();
      return op_result::done;
    }
    if (closed_) return op_result::closed;
    return op_result::blocked;
  }
  void enqueue_recv(chan_waiter* n) noexcept GORO_REQUIRES(mu) { recvq_.push_back(n); }
  void enqueue_send(chan_waiter* n) noexcept GORO_REQUIRES(mu) { sendq_.push_back(n); }
  // Take mu.
  // True: n was still queued (removed); false: a completer dequeued it.
  bool cancel_recv(chan_waiter* n) noexcept {
    lock_guard l(mu);
    const bool linked = n->linked;
    if (linked) recvq_.erase(n);
    thaw();
    return linked;
  }
  bool cancel_send(chan_waiter* n) noexcept {
    lock_guard l(mu);
    const bool linked = n->linked;
    if (linked) sendq_.erase(n);
    thaw();
    return linked;
  }
  // Drops buffered values (timer reset/stop: no stale tick after reset).
  void drain() noexcept {
    lock_guard l(mu);
    clear_buffer_locked();
  }

  // A lone send that found the ring full spins (as spin_on_ring, no longer)
  // until the receivers have freed a batch of slots, reading only `head`,
  // then pushes. Retrying as soon as one slot frees kept the sender at the
  // receiver's heels: on two cores both then work on the same slot and read
  // each other's position, so every message moved three lines between the
  // cores (bounded1024 spsc 56 -> 20 ns/msg, docs/design/channels.md). A
  // receive does not wait for a batch: that would hold back a value that is
  // there. Positions are compared as counts of slots (lap * cap + index); at
  // the 62-bit wrap the difference is huge and the push is simply tried. A
  // close() during the wait is seen when it ends (kClosedBit is in tail,
  // which the wait does not read): a few microseconds at most.
  ring_result spin_push(T& v) noexcept {
    const std::size_t batch = std::clamp<std::size_t>(cap_ / 2, 1, kPushBatch);
    auto count = [this](std::size_t pos) { return pos / one_lap_ * cap_ + (pos & (one_lap_ - 1)); };
    std::size_t from = count(ring_->head.load(std::memory_order_relaxed) & kPos);
    ring_result r = ring_result::empty_or_full;
    for (backoff b; r == ring_result::empty_or_full && !b.spun_out();) {
      b.spin();
      const std::size_t head = ring_->head.load(std::memory_order_relaxed);
      // Frozen (kSlowBit): ring_push answers slow at once.
      if (!(head & kSlowBit) && !b.spun_out() && count(head & kPos) - from < batch) continue;
      r = ring_push<false>(v);
      from = count(ring_->head.load(std::memory_order_relaxed) & kPos);
    }
    return r;
  }

  // Lock-free attempts of the lone operations; slow: take mu.
  ring_result try_recv_fast(std::optional<T>& out) noexcept {
    return cap_ > 0 ? ring_pop<false>(out) : ring_result::slow;
  }
  ring_result try_send_fast(T& v) noexcept { return cap_ > 0 ? ring_push<false>(v) : ring_result::slow; }

 protected:
  void clear_buffer_locked() noexcept override GORO_REQUIRES(mu) {
    if (cap_ == 0) return;
    std::optional<T> dropped;
    while (ring_pop<true>(dropped) == ring_result::done) dropped.reset();
  }

 private:
  static constexpr std::size_t kPushBatch = 64;  // slots; 16 and 256 measured the same
  static constexpr std::size_t kSlotAlign = alignof(slot) > 64 ? alignof(slot) : 64;
  static constexpr std::size_t kSlotsAt = (sizeof(ring_header) + kSlotAlign - 1) / kSlotAlign * kSlotAlign;
  static constexpr std::align_val_t kRingAlign{kSlotAlign};
  slot* slots() const noexcept {
    return std::launder(reinterpret_cast<slot*>(reinterpret_cast<char*>(ring_) + kSlotsAt));
  }
};

// ---- typed select cases ---------------------------------------------------------

// What goro::recv(r) returns: the channel, and a reference on it when the
// handle was a temporary. select builds the recv_case (waiter node and
// value: 72 bytes for an int) from it in its own storage, so the class-type
// temporary that `co_await goro::select(goro::recv(a), ...)` leaves in a GCC
// coroutine frame for good (docs/guide/compiler-hazards.md §2.4) is 16
// bytes per case, not 72.
template <class T>
struct recv_spec {
  chan_state<T>* c;
  bool owns;  // holds a reference

  recv_spec(chan_state<T>* ch, bool take_ref) noexcept : c(ch), owns(take_ref && ch) {
    if (owns) c->retain();
  }
  recv_spec(const recv_spec& o) noexcept : recv_spec(o.c, o.owns) {}
  recv_spec(recv_spec&& o) noexcept : c(o.c), owns(std::exchange(o.owns, false)) {}
  recv_spec& operator=(const recv_spec&) = delete;
  ~recv_spec() {
    if (owns) c->release();
  }
};

// What goro::send(s, v) returns: the channel, the reference as in recv_spec,
// and the value; select moves it into its send_case (72 bytes for an int),
// so the temporary a GCC frame keeps is 16 bytes for an int, not 72.
template <class T>
struct send_spec {
  chan_state<T>* c;
  bool owns;  // holds a reference
  T value;

  send_spec(chan_state<T>* ch, T v, bool take_ref) noexcept
      : c(ch), owns(take_ref && ch), value(std::move(v)) {
    if (owns) c->retain();
  }
  send_spec(const send_spec& o) requires std::copy_constructible<T>
      : send_spec(o.c, T(o.value), o.owns) {}
  send_spec(send_spec&& o) noexcept
      : c(o.c), owns(std::exchange(o.owns, false)), value(std::move(o.value)) {}
  send_spec& operator=(const send_spec&) = delete;
  ~send_spec() {
    if (owns) c->release();
  }
};

template <class T>
struct recv_case final : case_iface {
  chan_state<T>* c;
  bool owns;               // holds a reference (the case was given a temporary handle)
  std::optional<T> value;  // empty after the case fired <=> channel closed
  chan_waiter node;

  recv_case(chan_state<T>* ch, bool take_ref) noexcept : c(ch), owns(take_ref && ch) {
    lock = ch ? &ch->mu : nullptr;
    if (owns) c->retain();
  }
  recv_case(recv_case&& o) noexcept : recv_case(o.c, o.owns) {}
  explicit recv_case(const recv_spec<T>& s) noexcept : recv_case(s.c, s.owns) {}
  // Adopts the spec's reference.
  explicit recv_case(recv_spec<T>&& s) noexcept : c(s.c), owns(std::exchange(s.owns, false)) {
    lock = c ? &c->mu : nullptr;
  }
  ~recv_case() {
    if (owns) c->release();
  }
  // poll/enqueue run under c->mu, taken by the select engine.
  bool poll(chan_waiter** wake) noexcept override GORO_NO_TSA {
    return c->recv_locked(value, wake) != op_result::blocked;
  }
  int try_fast() noexcept override {
    switch (c->try_recv_fast(value)) {
      case ring_result::done:
      case ring_result::closed: return kFired;  // closed: value stays empty
      case ring_result::empty_or_full: return kNotReady;  // no sender waits on an empty ring
      case ring_result::slow: break;
    }
    return kNeedLock;
  }
  void enqueue(wait_token* tok, int index) noexcept override GORO_NO_TSA {
    node.bind(tok, &value, index);
    c->enqueue_recv(&node);
  }
  void cancel() noexcept override { c->cancel_recv(&node); }
  void freeze() noexcept override GORO_NO_TSA { c->freeze(); }
  void thaw() noexcept override GORO_NO_TSA { c->thaw(); }
};

template <class T>
struct send_case final : case_iface {
  chan_state<T>* c;
  bool owns;
  T value;
  bool sent = false;  // after firing: true = delivered, false = channel closed
  chan_waiter node;

  send_case(chan_state<T>* ch, T v, bool take_ref) noexcept
      : c(ch), owns(take_ref && ch), value(std::move(v)) {
    lock = ch ? &ch->mu : nullptr;
    if (owns) c->retain();
  }
  send_case(send_case&& o) noexcept
      : send_case(o.c, std::move(o.value), o.owns) {}
  explicit send_case(const send_spec<T>& s) : send_case(s.c, T(s.value), s.owns) {}
  // Adopts the spec's reference and moves its value.
  explicit send_case(send_spec<T>&& s) noexcept
      : c(s.c), owns(std::exchange(s.owns, false)), value(std::move(s.value)) {
    lock = c ? &c->mu : nullptr;
  }
  ~send_case() {
    if (owns) c->release();
  }
  bool poll(chan_waiter** wake) noexcept override GORO_NO_TSA {
    op_result r = c->send_locked(value, wake);
    sent = r == op_result::done;
    return r != op_result::blocked;
  }
  int try_fast() noexcept override {
    switch (c->try_send_fast(value)) {
      case ring_result::done: sent = true; return kFired;
      case ring_result::empty_or_full: return kNotReady;  // no receiver waits on a full ring
      case ring_result::closed:
      case ring_result::slow: break;
    }
    return kNeedLock;
  }
  void enqueue(wait_token* tok, int index) noexcept override GORO_NO_TSA {
    node.bind(tok, &value, index);
    c->enqueue_send(&node);
  }
  void cancel() noexcept override { c->cancel_send(&node); }
  void freeze() noexcept override GORO_NO_TSA { c->freeze(); }
  void thaw() noexcept override GORO_NO_TSA { c->thaw(); }
  // Completed by another party: node.ok says delivered or closed.
  void on_woken() noexcept override { sent = node.ok; }
};

}  // namespace goro::detail

namespace goro::detail {

// Pseudo-cases: never polled (no lock); the engine handles them by index.
struct default_case_impl final : case_iface {
  bool poll(chan_waiter**) noexcept override { return false; }
  void enqueue(wait_token*, int) noexcept override {}
  void cancel() noexcept override {}
};
struct timeout_case_impl final : case_iface {
  nanos deadline;
  explicit timeout_case_impl(nanos d) noexcept : deadline(d) {}
  timeout_case_impl(timeout_case_impl&& o) noexcept : deadline(o.deadline) {}
  bool poll(chan_waiter**) noexcept override { return false; }
  void enqueue(wait_token*, int) noexcept override {}
  void cancel() noexcept override {}
};

}  // namespace goro::detail

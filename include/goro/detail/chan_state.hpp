// goro/detail/chan_state.hpp — a channel of T: the ring buffer and the typed
// halves of the protocol in chan_core.hpp (poll for send/recv, the select
// cases). One implementation serves capacity 0 (rendezvous: values move
// directly between a sender's and a receiver's slots) and capacity N (FIFO
// ring; a blocked sender's value moves into the ring as a receiver frees a
// slot, as in Go's chan.go).
#pragma once

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

template <class T>
class chan_state : public chan_base {
  static_assert(chan_element_ok<T>, GORO_CHAN_ELEMENT_RULE);

 public:
  explicit chan_state(std::size_t cap) : chan_base(cap) {
    if (cap > 0)
      buf_ = static_cast<T*>(::operator new(sizeof(T) * cap, std::align_val_t(alignof(T))));
  }
  // No other reference exists: the buffer is ours without the lock.
  ~chan_state() override GORO_NO_TSA {
    clear_buffer_locked();
    if (buf_) ::operator delete(buf_, std::align_val_t(alignof(T)));
  }

  // ---- under mu ----
  op_result send_locked(T& v, chan_waiter** wake) noexcept GORO_REQUIRES(mu) {
    if (closed_) return op_result::closed;
    if (chan_waiter* r = recvq_.dequeue_claimed()) {
      static_cast<std::optional<T>*>(r->slot)->emplace(std::move(v));
      r->ok = true;
      *wake = r;
      return op_result::done;
    }
    if (count_ < cap_) {
      push_buffer(std::move(v));
      return op_result::done;
    }
    return op_result::blocked;
  }
  op_result recv_locked(std::optional<T>& out, chan_waiter** wake) noexcept GORO_REQUIRES(mu) {
    if (count_ > 0) {
      T& x = buf_[head_];
      out.emplace(std::move(x));
      x.~T();
      if (++head_ == cap_) head_ = 0;
      --count_;
      // A slot is free: the longest-waiting sender's value takes it.
      if (chan_waiter* s = sendq_.dequeue_claimed()) {
        push_buffer(std::move(*static_cast<T*>(s->slot)));
        s->ok = true;
        *wake = s;
      } else {
        len_.store(count_, std::memory_order_relaxed);
      }
      return op_result::done;
    }
    if (chan_waiter* s = sendq_.dequeue_claimed()) {  // rendezvous
      out.emplace(std::move(*static_cast<T*>(s->slot)));
      s->ok = true;
      *wake = s;
      return op_result::done;
    }
    if (closed_) return op_result::closed;
    return op_result::blocked;
  }
  void enqueue_recv(chan_waiter* n) noexcept GORO_REQUIRES(mu) { recvq_.push_back(n); }
  void enqueue_send(chan_waiter* n) noexcept GORO_REQUIRES(mu) { sendq_.push_back(n); }
  // Takes mu.
  void cancel_recv(chan_waiter* n) noexcept {
    lock_guard l(mu);
    if (n->linked) recvq_.erase(n);
  }
  void cancel_send(chan_waiter* n) noexcept {
    lock_guard l(mu);
    if (n->linked) sendq_.erase(n);
  }
  // Drops buffered values (timer reset/stop: no stale tick after reset).
  void drain() noexcept {
    lock_guard l(mu);
    clear_buffer_locked();
  }

 protected:
  void clear_buffer_locked() noexcept override GORO_REQUIRES(mu) {
    while (count_ > 0) {
      buf_[head_].~T();
      if (++head_ == cap_) head_ = 0;
      --count_;
    }
    len_.store(0, std::memory_order_relaxed);
  }

 private:
  void push_buffer(T&& v) noexcept GORO_REQUIRES(mu) {
    std::size_t tail = head_ + count_;
    if (tail >= cap_) tail -= cap_;
    ::new (static_cast<void*>(buf_ + tail)) T(std::move(v));
    ++count_;
    len_.store(count_, std::memory_order_relaxed);
  }

  T* buf_ = nullptr;
  std::size_t head_ GORO_GUARDED_BY(mu) = 0;
  std::size_t count_ GORO_GUARDED_BY(mu) = 0;
};

// ---- typed select cases ---------------------------------------------------------

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
  ~recv_case() {
    if (owns) c->release();
  }
  // poll/enqueue run under c->mu, taken by the select engine.
  bool poll(chan_waiter** wake) noexcept override GORO_NO_TSA {
    return c->recv_locked(value, wake) != op_result::blocked;
  }
  void enqueue(wait_token* tok, int index) noexcept override GORO_NO_TSA {
    node.tok = tok;
    node.index = index;
    node.slot = &value;
    c->enqueue_recv(&node);
  }
  void cancel() noexcept override { c->cancel_recv(&node); }
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
  ~send_case() {
    if (owns) c->release();
  }
  bool poll(chan_waiter** wake) noexcept override GORO_NO_TSA {
    op_result r = c->send_locked(value, wake);
    sent = r == op_result::done;
    return r != op_result::blocked;
  }
  void enqueue(wait_token* tok, int index) noexcept override GORO_NO_TSA {
    node.tok = tok;
    node.index = index;
    node.slot = &value;
    c->enqueue_send(&node);
  }
  void cancel() noexcept override { c->cancel_send(&node); }
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

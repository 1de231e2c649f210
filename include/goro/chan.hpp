// goro/chan.hpp — Go channels: chan<T>, and the direction-restricted views
// sender<T> and receiver<T>.
//
//   auto ch = goro::make_chan<int>(16);         // capacity 0 = rendezvous
//   co_await ch.send(1);                        // -> send_status::ok | closed
//   while (auto v = co_await ch.recv()) use(*v); // empty optional <=> closed and drained
//   ch.close();                                 // false if already closed
//
// Semantics are Go's, with panics turned into statuses:
//  * send on a closed channel returns send_status::closed (Go panics);
//  * a second close returns false (Go panics);
//  * values buffered before close are still received; then recv yields empty;
//  * a default-constructed (nil) channel blocks forever, so select cases can
//    be switched off by assigning {} (Go's `ch = nil`); close on it returns false;
//  * memory model: a send happens-before the matching receive completes, a
//    close happens-before a receive that observes it, and the k-th receive
//    happens-before the (k+C)-th send completes (capacity C).
// Every waiting form exists for goroutines (co_await ...) and for plain
// threads (blocking_...), on the same channel; recv(ctx) and send(ctx, v)
// also stop waiting when a goro::context is done (status canceled; include
// goro/context.hpp to use them). Handles are cheap to copy
// (one atomic reference count) and safe to use from any thread.
// Element types: T must be nothrow move constructible and nothrow
// destructible (values are moved and destroyed under the channel's lock;
// make_chan static_asserts it). Wrap other types in a std::unique_ptr.
#pragma once

#include <chrono>
#include <cstddef>
#include <limits>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "goro/detail/select_awaiter.hpp"
#include "goro/task.hpp"

namespace goro {

enum class [[nodiscard]] send_status {
  ok,        // delivered (to a receiver or into the buffer)
  closed,    // the channel is closed; the value was not sent
  full,      // try_send only: it would have blocked
  timeout,   // send_for/send_until only: the deadline passed first
  canceled,  // send(ctx, v) only: ctx was done first (ctx.err() says why)
};
enum class [[nodiscard]] recv_status {
  ok,        // a value was received
  closed,    // closed and drained
  empty,     // try_recv only: it would have blocked
  timeout,   // recv_for/recv_until only: the deadline passed first
  canceled,  // recv(ctx) only: ctx was done first (ctx.err() says why)
};

// Result of the receive forms that can fail in more than one way.
template <class T>
struct [[nodiscard]] recv_result {
  recv_status status;
  std::optional<T> value;
  explicit operator bool() const noexcept { return status == recv_status::ok; }
  T& operator*() noexcept { return *value; }
  T* operator->() noexcept { return &*value; }
};

template <class T>
class chan;
template <class T>
class sender;
template <class T>
class receiver;
class context;  // goro/context.hpp

namespace detail {
// The done channel of ctx (null if ctx can never be cancelled), created on
// first use; valid while ctx lives. Defined in src/context.cpp, so that the
// context-aware operations below need only this declaration.
chan_state<std::monostate>* context_done_state(const context& ctx);

template <class T>
using chan_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

inline nanos deadline_of(std::chrono::steady_clock::time_point t) noexcept { return to_nanos(t); }
inline nanos deadline_in(std::chrono::nanoseconds d) noexcept { return deadline_after(now(), d); }

// The reference-counted pointer every handle holds.
template <class T>
class chan_ref {
 public:
  using value_type = chan_value_t<T>;
  using state = chan_state<value_type>;

  chan_ref() noexcept = default;
  explicit chan_ref(state* s) noexcept : s_(s) {}  // adopts one reference
  chan_ref(const chan_ref& o) noexcept : s_(o.s_) {
    if (s_) s_->retain();
  }
  chan_ref(chan_ref&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  chan_ref& operator=(chan_ref o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~chan_ref() {
    if (s_) s_->release();
  }
  state* get() const noexcept { return s_; }

 private:
  state* s_ = nullptr;
};

// A lone receive: the select protocol with one case, minus the engine
// (one channel, one lock, no permutation). Also the plain-thread form.
template <class V>
struct GORO_NODISCARD_AWAITABLE recv_awaiter {
  chan_state<V>* c;
  // The caller's wait site until the operation is about to queue its waiter
  // (mark_parking copies it into the control block), the waiter from then
  // on: 24 bytes less in every frame parked in a channel operation
  // (docs/design/channels.md, "A lone operation's awaiter").
  union {
    wait_site site_;
    chan_waiter node;
  };
  // Its tail padding holds a small value (an empty V, a bool): this awaiter
  // is what a goroutine parked in a receive keeps in its frame. `tok.w` is
  // set exactly when the operation queued its waiter (parked()).
  [[no_unique_address]] wait_token tok;
  std::optional<V> value;

  recv_awaiter(chan_state<V>* ch, const wait_site& s) noexcept : c(ch), site_(s) {}
  recv_awaiter(recv_awaiter&& o) noexcept : c(o.c), site_(o.site_) {}  // only before it starts
  const wait_site& site() const noexcept { return site_; }
  bool parked() const noexcept { return static_cast<bool>(tok.w); }
  ~recv_awaiter() {
    // Torn down while parked: leave the queue, or wait out the completer
    // that dequeued us (chan_core.hpp, wait_token).
    if (parked() && !tok.completed() && !c->cancel_recv(&node)) tok.settle();
  }
  // True: completed at once. False: the waiter is queued (tok.w set by mk()).
  template <class MakeWaker>
  bool start(MakeWaker mk) noexcept {
    ring_result f = c->try_recv_fast(value);
    if (f == ring_result::empty_or_full && spin_worthwhile())
      f = spin_on_ring([this] { return c->try_recv_fast(value); });
    if (f == ring_result::done || f == ring_result::closed) return true;  // closed: value empty
    chan_waiter* wake = nullptr;
    c->mu.lock();
    c->freeze();  // the ring stays empty until our waiter is queued
    if (c->recv_locked(value, &wake) != op_result::blocked) {
      c->thaw();
      c->mu.unlock();
      if (wake) wake->tok()->complete();
      return true;
    }
    tok.w = mk();  // reads site_ (mark_parking): its last use
    ::new (&node) chan_waiter(&tok, &value);
    c->enqueue_recv(&node);
    c->mu.unlock();
    return false;
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    if (c == nullptr) {
      park_forever(h, wait_kinds::chan<V>::recv_nil, site());
      return true;
    }
    if (start([&] { return waker_for(h, wait_kinds::chan<V>::recv, site(), c, aux_of(c->cap())); }))
      return completed_or_yield(h);
    return tok.suspend();
  }
  std::optional<V> await_resume() noexcept {
    if (parked()) tok.settle();  // the completer's last touch
    return std::move(value);
  }
  std::optional<V> blocking(source_loc loc) noexcept {
    assert_not_in_goroutine(loc);
    if (c == nullptr) park_thread_forever();
    if (!start([] { return thread_waker(); })) block_thread_on(tok);
    return std::move(value);
  }
};
template <class V>
struct GORO_NODISCARD_AWAITABLE recv_timed_awaiter {
  select_awaiter<recv_case<V>, timeout_case_impl> sel;
  wait_site site;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    auto* c = sel.template get<0>().c;
    return sel.suspend(h, wait_kinds::chan<V>::recv_timed, site, c, c ? aux_of(c->cap()) : 0);
  }
  recv_result<V> await_resume() noexcept { return result(sel.finish()); }
  recv_result<V> result(int fired) noexcept {
    if (fired == 1) return {recv_status::timeout, std::nullopt};
    auto& v = sel.template get<0>().value;
    return {v ? recv_status::ok : recv_status::closed, std::move(v)};
  }
};
// A lone send (see recv_awaiter).
template <class V>
struct GORO_NODISCARD_AWAITABLE send_awaiter {
  chan_state<V>* c;
  union {  // the site until the waiter is queued (see recv_awaiter)
    wait_site site_;
    chan_waiter node;
  };
  [[no_unique_address]] wait_token tok;  // flags in its tail, as in recv_awaiter
  bool sent = false;
  V value;

  send_awaiter(chan_state<V>* ch, V v, const wait_site& s) noexcept
      : c(ch), site_(s), value(std::move(v)) {}
  send_awaiter(send_awaiter&& o) noexcept : c(o.c), site_(o.site_), value(std::move(o.value)) {}
  const wait_site& site() const noexcept { return site_; }
  bool parked() const noexcept { return static_cast<bool>(tok.w); }
  ~send_awaiter() {
    if (parked() && !tok.completed() && !c->cancel_send(&node)) tok.settle();
  }
  template <class MakeWaker>
  bool start(MakeWaker mk) noexcept {
    ring_result f = c->try_send_fast(value);  // moves value only when done
    if (f == ring_result::empty_or_full && spin_worthwhile())
      f = c->spin_push(value);  // waits for a batch of free slots
    if (f == ring_result::done) {
      sent = true;
      return true;
    }
    chan_waiter* wake = nullptr;
    c->mu.lock();
    c->freeze();  // the ring stays full until our waiter is queued
    op_result r = c->send_locked(value, &wake);
    if (r != op_result::blocked) {
      c->thaw();
      c->mu.unlock();
      if (wake) wake->tok()->complete();
      sent = r == op_result::done;
      return true;
    }
    tok.w = mk();  // reads site_: its last use
    ::new (&node) chan_waiter(&tok, &value);
    c->enqueue_send(&node);
    c->mu.unlock();
    return false;
  }
  send_status status() const noexcept {
    bool ok = parked() ? node.ok : sent;  // node.ok: written by the completer before kCompleted
    return ok ? send_status::ok : send_status::closed;
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    if (c == nullptr) {
      park_forever(h, wait_kinds::chan<V>::send_nil, site());
      return true;
    }
    if (start([&] { return waker_for(h, wait_kinds::chan<V>::send, site(), c, aux_of(c->cap())); }))
      return completed_or_yield(h);
    return tok.suspend();
  }
  send_status await_resume() const noexcept {
    if (parked()) tok.settle();  // the completer's last touch
    return status();
  }
  send_status blocking(source_loc loc) noexcept {
    assert_not_in_goroutine(loc);
    if (c == nullptr) park_thread_forever();
    if (!start([] { return thread_waker(); })) block_thread_on(tok);
    return status();
  }
};
template <class V>
struct GORO_NODISCARD_AWAITABLE send_timed_awaiter {
  select_awaiter<send_case<V>, timeout_case_impl> sel;
  wait_site site;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    auto* c = sel.template get<0>().c;
    return sel.suspend(h, wait_kinds::chan<V>::send_timed, site, c, c ? aux_of(c->cap()) : 0);
  }
  send_status await_resume() noexcept { return result(sel.finish()); }
  send_status result(int fired) noexcept {
    if (fired == 1) return send_status::timeout;
    return sel.template get<0>().sent ? send_status::ok : send_status::closed;
  }
};

// What a goroutine parked in a receive or a send on a chan<void> keeps in
// its frame for the operation: the channel 8, the site and then the waiter
// 32, the token 13, then the flags and the value in the token's tail.
static_assert(sizeof(void*) != 8 || sizeof(recv_awaiter<std::monostate>) <= 56,
              "recv_awaiter grew");
static_assert(sizeof(void*) != 8 || sizeof(send_awaiter<std::monostate>) <= 56,
              "send_awaiter grew");

// Context-aware forms: a select with the channel's case and ctx.done()'s
// (case 1), so a done context wins exactly like `case <-ctx.Done():`.
template <class V>
struct GORO_NODISCARD_AWAITABLE recv_ctx_awaiter {
  select_awaiter<recv_case<V>, recv_case<std::monostate>> sel;
  wait_site site;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    auto* c = sel.template get<0>().c;
    return sel.suspend(h, wait_kinds::chan<V>::recv_ctx, site, c, c ? aux_of(c->cap()) : 0);
  }
  recv_result<V> await_resume() noexcept { return result(sel.finish()); }
  recv_result<V> result(int fired) noexcept {
    if (fired == 1) return {recv_status::canceled, std::nullopt};
    auto& v = sel.template get<0>().value;
    return {v ? recv_status::ok : recv_status::closed, std::move(v)};
  }
};
template <class V>
struct GORO_NODISCARD_AWAITABLE send_ctx_awaiter {
  select_awaiter<send_case<V>, recv_case<std::monostate>> sel;
  wait_site site;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    auto* c = sel.template get<0>().c;
    return sel.suspend(h, wait_kinds::chan<V>::send_ctx, site, c, c ? aux_of(c->cap()) : 0);
  }
  send_status await_resume() noexcept { return result(sel.finish()); }
  send_status result(int fired) noexcept {
    if (fired == 1) return send_status::canceled;
    return sel.template get<0>().sent ? send_status::ok : send_status::closed;
  }
};

// The operations, shared by chan<T> and the views (CRTP-free: each view
// holds a chan_ref and forwards here).
template <class T>
struct chan_ops {
  using V = chan_value_t<T>;
  using state = chan_state<V>;

  GORO_NODISCARD_AWAITABLE static recv_awaiter<V> recv(state* s, const wait_site& w) noexcept {
    return recv_awaiter<V>(s, w);
  }
  GORO_NODISCARD_AWAITABLE static recv_timed_awaiter<V> recv_until(state* s, nanos d,
                                                                   const wait_site& w = {}) noexcept {
    return {select_awaiter<recv_case<V>, timeout_case_impl>(recv_case<V>(s, false), timeout_case_impl(d)), w};
  }
  static recv_result<V> try_recv(state* s) noexcept {
    if (s == nullptr) return {recv_status::empty, std::nullopt};
    std::optional<V> out;
    switch (s->try_recv_fast(out)) {
      case ring_result::done: return {recv_status::ok, std::move(out)};
      case ring_result::closed: return {recv_status::closed, std::nullopt};
      // Empty with no flag set: no sender waits (one waits only on a full,
      // frozen ring), so "would block" held at that instant.
      case ring_result::empty_or_full: return {recv_status::empty, std::nullopt};
      case ring_result::slow: break;
    }
    chan_waiter* wake = nullptr;
    op_result r;
    {
      lock_guard l(s->mu);
      r = s->recv_locked(out, &wake);
      s->thaw();
    }
    if (wake) wake->tok()->complete();
    if (r == op_result::done) return {recv_status::ok, std::move(out)};
    return {r == op_result::closed ? recv_status::closed : recv_status::empty, std::nullopt};
  }
  static std::optional<V> blocking_recv(state* s, source_loc loc) noexcept {
    return recv_awaiter<V>(s, {}).blocking(loc);
  }
  static recv_result<V> blocking_recv_until(state* s, nanos d, source_loc loc) noexcept {
    auto a = recv_until(s, d);
    return a.result(a.sel.blocking(loc));
  }

  GORO_NODISCARD_AWAITABLE static send_awaiter<V> send(state* s, V v, const wait_site& w) noexcept {
    return send_awaiter<V>(s, std::move(v), w);
  }
  GORO_NODISCARD_AWAITABLE static send_timed_awaiter<V> send_until(state* s, V v, nanos d,
                                                                   const wait_site& w = {}) {
    return {select_awaiter<send_case<V>, timeout_case_impl>(send_case<V>(s, std::move(v), false),
                                                            timeout_case_impl(d)),
            w};
  }
  static send_status try_send(state* s, V& v) noexcept {
    if (s == nullptr) return send_status::full;
    switch (s->try_send_fast(v)) {
      case ring_result::done: return send_status::ok;
      case ring_result::empty_or_full: return send_status::full;  // no receiver waits on a full ring
      case ring_result::closed:
      case ring_result::slow: break;
    }
    chan_waiter* wake = nullptr;
    op_result r;
    {
      lock_guard l(s->mu);
      r = s->send_locked(v, &wake);
      s->thaw();
    }
    if (wake) wake->tok()->complete();
    if (r == op_result::done) return send_status::ok;
    return r == op_result::closed ? send_status::closed : send_status::full;
  }
  static send_status blocking_send(state* s, V v, source_loc loc) noexcept {
    return send_awaiter<V>(s, std::move(v), {}).blocking(loc);
  }
  static send_status blocking_send_until(state* s, V v, nanos d, source_loc loc) noexcept {
    auto a = send_until(s, std::move(v), d);
    return a.result(a.sel.blocking(loc));
  }

  // `done` is the context's done channel (null: never done); the awaiter
  // holds its own reference to it.
  GORO_NODISCARD_AWAITABLE static recv_ctx_awaiter<V> recv_ctx(state* s, chan_state<std::monostate>* done,
                                                               const wait_site& w = {}) noexcept {
    return {select_awaiter<recv_case<V>, recv_case<std::monostate>>(
                recv_case<V>(s, false), recv_case<std::monostate>(done, true)),
            w};
  }
  GORO_NODISCARD_AWAITABLE static send_ctx_awaiter<V> send_ctx(state* s, V v, chan_state<std::monostate>* done,
                                                               const wait_site& w = {}) {
    return {select_awaiter<send_case<V>, recv_case<std::monostate>>(
                send_case<V>(s, std::move(v), false), recv_case<std::monostate>(done, true)),
            w};
  }
  static recv_result<V> blocking_recv_ctx(state* s, chan_state<std::monostate>* done,
                                          source_loc loc) noexcept {
    auto a = recv_ctx(s, done);
    return a.result(a.sel.blocking(loc));
  }
  static send_status blocking_send_ctx(state* s, V v, chan_state<std::monostate>* done,
                                       source_loc loc) noexcept {
    auto a = send_ctx(s, std::move(v), done);
    return a.result(a.sel.blocking(loc));
  }
};

struct chan_access;
}  // namespace detail

// ---- receiver<T> --------------------------------------------------------------

// The receive end: cannot send or close.
template <class T>
class receiver {
  using ops = detail::chan_ops<T>;

 public:
  using value_type = detail::chan_value_t<T>;
  receiver() noexcept = default;  // nil: receives block forever

  // co_await r.recv() -> std::optional<T>; empty <=> closed and drained.
  GORO_NODISCARD_AWAITABLE auto recv(GORO_WAIT_SITE_PARAMS) const noexcept {
    return ops::recv(s(), GORO_WAIT_SITE);
  }
  // Never blocks: ok, empty (would block) or closed.
  recv_result<value_type> try_recv() const noexcept { return ops::try_recv(s()); }
  // co_await: ok, closed or timeout.
  GORO_NODISCARD_AWAITABLE auto recv_for(std::chrono::nanoseconds d,
                                         GORO_WAIT_SITE_PARAMS) const noexcept {
    return ops::recv_until(s(), detail::deadline_in(d), GORO_WAIT_SITE);
  }
  GORO_NODISCARD_AWAITABLE auto recv_until(std::chrono::steady_clock::time_point t,
                                           GORO_WAIT_SITE_PARAMS) const noexcept {
    return ops::recv_until(s(), detail::deadline_of(t), GORO_WAIT_SITE);
  }
  // Plain-thread forms (must not be called inside a goroutine: that aborts,
  // naming the caller's line; loc is filled in by the compiler).
  std::optional<value_type> blocking_recv(detail::source_loc loc = detail::source_loc::current()) const noexcept {
    return ops::blocking_recv(s(), loc);
  }
  recv_result<value_type> blocking_recv_for(std::chrono::nanoseconds d, detail::source_loc loc = detail::source_loc::current()) const noexcept {
    return ops::blocking_recv_until(s(), detail::deadline_in(d), loc);
  }
  recv_result<value_type> blocking_recv_until(std::chrono::steady_clock::time_point t,
                                              detail::source_loc loc = detail::source_loc::current()) const noexcept {
    return ops::blocking_recv_until(s(), detail::deadline_of(t), loc);
  }
  // co_await r.recv(ctx): ok, closed, or canceled when ctx is done first
  // (Go: select { case v, ok := <-r: ... case <-ctx.Done(): ... }).
  GORO_NODISCARD_AWAITABLE auto recv(const context& ctx, GORO_WAIT_SITE_PARAMS) const {
    return ops::recv_ctx(s(), detail::context_done_state(ctx), GORO_WAIT_SITE);
  }
  recv_result<value_type> blocking_recv(const context& ctx, detail::source_loc loc = detail::source_loc::current()) const {
    detail::assert_not_in_goroutine(loc);  // before context_done_state allocates
    return ops::blocking_recv_ctx(s(), detail::context_done_state(ctx), loc);
  }

  std::size_t len() const noexcept { return s() ? s()->len() : 0; }
  std::size_t cap() const noexcept { return s() ? s()->cap() : 0; }
  explicit operator bool() const noexcept { return s() != nullptr; }  // non-nil
  friend bool operator==(const receiver& a, const receiver& b) noexcept { return a.s() == b.s(); }

 protected:
  explicit receiver(detail::chan_ref<T> r) noexcept : ref_(std::move(r)) {}
  typename detail::chan_ref<T>::state* s() const noexcept { return ref_.get(); }
  detail::chan_ref<T> ref_;
  friend class chan<T>;
  friend struct detail::chan_access;
};

// ---- sender<T> ----------------------------------------------------------------

// The send end: can send and close, cannot receive.
template <class T>
class sender {
  using ops = detail::chan_ops<T>;

 public:
  using value_type = detail::chan_value_t<T>;
  sender() noexcept = default;  // nil: sends block forever

  // co_await s.send(v) -> ok or closed.
  GORO_NODISCARD_AWAITABLE auto send(value_type v, GORO_WAIT_SITE_PARAMS) const noexcept {
    return ops::send(s(), std::move(v), GORO_WAIT_SITE);
  }
  // Signal channels (chan<void>): send() with no value.
  template <class U = T>
    requires std::is_void_v<U>
  GORO_NODISCARD_AWAITABLE auto send(GORO_WAIT_SITE_PARAMS) const noexcept {
    return ops::send(s(), std::monostate{}, GORO_WAIT_SITE);
  }
  // Never blocks: ok, full (would block) or closed. The value is consumed
  // only when ok; otherwise v keeps it (a leaky free list drops it or retries).
  send_status try_send(value_type& v) const noexcept { return ops::try_send(s(), v); }
  send_status try_send(value_type&& v) const noexcept { return ops::try_send(s(), v); }
  GORO_NODISCARD_AWAITABLE auto send_for(value_type v, std::chrono::nanoseconds d,
                                         GORO_WAIT_SITE_PARAMS) const {
    return ops::send_until(s(), std::move(v), detail::deadline_in(d), GORO_WAIT_SITE);
  }
  GORO_NODISCARD_AWAITABLE auto send_until(value_type v, std::chrono::steady_clock::time_point t,
                                           GORO_WAIT_SITE_PARAMS) const {
    return ops::send_until(s(), std::move(v), detail::deadline_of(t), GORO_WAIT_SITE);
  }
  // Plain-thread forms (see receiver's).
  send_status blocking_send(value_type v, detail::source_loc loc = detail::source_loc::current()) const noexcept {
    return ops::blocking_send(s(), std::move(v), loc);
  }
  send_status blocking_send_for(value_type v, std::chrono::nanoseconds d,
                                detail::source_loc loc = detail::source_loc::current()) const noexcept {
    return ops::blocking_send_until(s(), std::move(v), detail::deadline_in(d), loc);
  }
  // co_await s.send(ctx, v): ok, closed, or canceled when ctx is done first
  // (the value is then dropped).
  GORO_NODISCARD_AWAITABLE auto send(const context& ctx, value_type v,
                                     GORO_WAIT_SITE_PARAMS) const {
    return ops::send_ctx(s(), std::move(v), detail::context_done_state(ctx), GORO_WAIT_SITE);
  }
  template <class U = T>
    requires std::is_void_v<U>
  GORO_NODISCARD_AWAITABLE auto send(const context& ctx, GORO_WAIT_SITE_PARAMS) const {
    return ops::send_ctx(s(), std::monostate{}, detail::context_done_state(ctx), GORO_WAIT_SITE);
  }
  send_status blocking_send(const context& ctx, value_type v, detail::source_loc loc = detail::source_loc::current()) const {
    detail::assert_not_in_goroutine(loc);  // before context_done_state allocates
    return ops::blocking_send_ctx(s(), std::move(v), detail::context_done_state(ctx), loc);
  }

  // Closes the channel. False if it was already closed (or is nil).
  bool close() const noexcept { return s() ? s()->close() : false; }

  std::size_t len() const noexcept { return s() ? s()->len() : 0; }
  std::size_t cap() const noexcept { return s() ? s()->cap() : 0; }
  explicit operator bool() const noexcept { return s() != nullptr; }
  friend bool operator==(const sender& a, const sender& b) noexcept { return a.s() == b.s(); }

 protected:
  explicit sender(detail::chan_ref<T> r) noexcept : ref_(std::move(r)) {}
  typename detail::chan_ref<T>::state* s() const noexcept { return ref_.get(); }
  detail::chan_ref<T> ref_;
  friend class chan<T>;
  friend struct detail::chan_access;
};

// ---- chan<T> ------------------------------------------------------------------

// A bidirectional channel handle; converts implicitly to sender<T> and receiver<T>.
template <class T>
class chan : public sender<T>, public receiver<T> {
 public:
  using value_type = detail::chan_value_t<T>;
  chan() noexcept = default;  // nil channel

  // Converts implicitly (derived to base) to receiver<T> and sender<T>.
  receiver<T> recv_end() const noexcept { return *this; }
  sender<T> send_end() const noexcept { return *this; }

  using receiver<T>::recv;
  using receiver<T>::try_recv;
  using receiver<T>::recv_for;
  using receiver<T>::recv_until;
  using receiver<T>::blocking_recv;
  using receiver<T>::blocking_recv_for;
  using receiver<T>::blocking_recv_until;
  using sender<T>::send;
  using sender<T>::try_send;
  using sender<T>::send_for;
  using sender<T>::send_until;
  using sender<T>::blocking_send;
  using sender<T>::blocking_send_for;
  using sender<T>::close;
  std::size_t len() const noexcept { return sender<T>::len(); }
  std::size_t cap() const noexcept { return sender<T>::cap(); }
  explicit operator bool() const noexcept { return sender<T>::s() != nullptr; }
  friend bool operator==(const chan& a, const chan& b) noexcept { return a.sender<T>::s() == b.sender<T>::s(); }

 private:
  // Both bases share one state; receiver's copy of the reference is the second.
  explicit chan(detail::chan_ref<T> r) noexcept : sender<T>(r), receiver<T>(std::move(r)) {}
  template <class U>
  friend chan<U> make_chan(long long capacity);
  friend struct detail::chan_access;
};

// Largest capacity make_chan accepts (Go: "makechan: size out of range").
inline constexpr long long max_chan_capacity = 1LL << 32;

// Makes a channel with the given capacity (0 = unbuffered). Negative or
// absurd capacities throw std::invalid_argument / std::length_error.
template <class T>
chan<T> make_chan(long long capacity = 0) {
  using V = detail::chan_value_t<T>;
  // Here rather than in the handle classes, so that a type may hold a
  // chan of itself (T incomplete when the handle is declared).
  static_assert(detail::chan_element_ok<V>, GORO_CHAN_ELEMENT_RULE);
  if (capacity < 0) throw std::invalid_argument("goro::make_chan: negative capacity");
  if (capacity > max_chan_capacity ||
      static_cast<unsigned long long>(capacity) > std::numeric_limits<std::size_t>::max() / sizeof(V))
    throw std::length_error("goro::make_chan: capacity out of range");
  return chan<T>(detail::chan_ref<T>(new detail::chan_state<V>(static_cast<std::size_t>(capacity))));
}

namespace detail {
// Access to the state behind a handle, for select and the timer channels.
struct chan_access {
  template <class T>
  static auto* state_of(const receiver<T>& r) noexcept { return r.s(); }
  template <class T>
  static auto* state_of(const sender<T>& s) noexcept { return s.s(); }
  template <class T>
  static receiver<T> adopt_receiver(chan_state<chan_value_t<T>>* s) noexcept {
    return receiver<T>(chan_ref<T>(s));
  }
};
}  // namespace detail

// Receives until the channel is closed and drained, calling f on each value
// (f may be a coroutine): co_await goro::for_each(ch, [](int v) { ... });
template <class T, class F>
task<> for_each(receiver<T> r, F f) {
  while (auto v = co_await r.recv()) {
    using res = std::invoke_result_t<F&, detail::chan_value_t<T>&&>;
    if constexpr (awaitable<res>) {
      res t = f(std::move(*v));
      co_await std::move(t);
    } else {
      f(std::move(*v));
    }
  }
}

}  // namespace goro

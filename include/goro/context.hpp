// goro/context.hpp — Go's context package: cancellation, deadlines and
// request-scoped values that flow down a tree of contexts.
//
//   auto [ctx, cancel] = goro::with_timeout(parent, 5s);   // Go: defer cancel() is automatic
//   auto r = co_await goro::select(goro::recv(jobs), goro::recv(ctx.done()));
//   if (r.index() == 1) co_return ctx.err();               // goro::canceled / deadline_exceeded
//   auto v = co_await jobs.recv(ctx);                      // recv_status::canceled when ctx is done
//   if (auto ec = co_await goro::sleep_for(ctx, 1s)) ...   // sleep, cut short by ctx
//
// Semantics are Go's (1.21, with WithCancelCause, WithoutCancel, AfterFunc):
//  * background() and todo() are never cancelled, have no deadline, no
//    values, and a nil done() (a select case on it is never ready).
//  * with_cancel/with_deadline/with_timeout/with_cancel_cause derive a child
//    that is cancelled when its cancel function is called, when its deadline
//    passes (err() == deadline_exceeded), or when its parent is cancelled
//    (it then reports the parent's err() and cause()), whichever comes first.
//    Cancelling is synchronous: when cancel() returns, done() is closed and
//    every descendant is cancelled (even when another thread is cancelling
//    the same subtree). Children's done() channels close before their
//    parent's, so whoever sees a parent done finds its descendants done.
//    A cancelled child leaves its parent's child list at once (a long-lived
//    parent holds only live children). A child's deadline is min(parent's,
//    own); a deadline that is not in the future gives an already-cancelled
//    context; a timer is disarmed as soon as its context is cancelled.
//  * err() is {} until done() is closed, then canceled or deadline_exceeded
//    forever; cause(ctx) is the cause given to the first cancellation
//    (err() when none was given), {} while not cancelled.
//  * with_value(parent, key, v): key is a goro::context_key<T> object; keys
//    are compared by address, so unrelated keys never collide and the value's
//    type is checked at compile time. value(key) returns the nearest one.
//  * without_cancel(parent) keeps the parent's values, drops its
//    cancellation and deadline. after_func(ctx, f) runs f in its own
//    goroutine once ctx is done (at once if it already is); stop() prevents it.
//
// Differences from Go, by construction:
//  * The cancel function CANCELS WHEN IT IS DESTROYED (RAII): Go's "the
//    cancel function is not used on all paths" leak cannot be written. Keep it
//    alive as long as the context should live (move it into the goroutine or
//    object that owns the work); discarding with_cancel's result cancels at once.
//  * There is no nil context: a default-constructed goro::context is
//    background(), so Go's "cannot create context from nil parent" panic
//    cannot happen. Keys cannot be nil or non-comparable (they are objects).
//  * A deadline's cancellation runs in its own short goroutine, as Go's
//    time.AfterFunc does; err() turns to deadline_exceeded at that point.
//  * Errors are values: err() is a std::error_code (goro::errc, see
//    goro/error.hpp), causes are goro::error (nil, a code or an exception).
//
// Context-aware waits (no separate machinery: each is a select with
// ctx.done()): ch.recv(ctx) / ch.send(ctx, v) in chan.hpp, sleep_for(ctx, d)
// and sleep_until(ctx, t) below, and their blocking_ forms for plain threads.
//
// Thread-safety: every function and member here may be called from any
// thread (goroutine or plain thread) concurrently, including cancelling while
// other threads derive children. A context handle is a shared reference to an
// immutable node (copies are cheap: one atomic increment); a cancel_func may
// be called from several threads, but moved or destroyed by one owner.
// Values are shared between threads as `const T&`: T's const members must be
// thread-safe.
//
// Lifetime: a context keeps its ancestry alive. A deadline is armed on the
// runtime current when the context was made (the default runtime on a plain
// thread); if that runtime is destroyed first, its armed timers move to the
// default runtime. The goroutine that cancels on a deadline runs on the
// runtime whose timer fired, and an after_func goroutine on the canceller's
// runtime (the default one from a plain thread), never on one that may be
// gone.
//
// Lock order (with the rest of goro; see also docs/design/channels.md):
//     context node mu (parent before child)  ->  timer heap lock
//     context node mu  ->  done channel mu  ->  run-queue / idle locks
//     timer heap lock  ->  registry / run-queue locks   (the deadline callback)
// A cancel holds the locks of the path from the cancelled node down to the
// node it is working on (as Go's cancelCtx holds c.mu while it cancels its
// children, but iteratively: no recursion however deep the tree), closes
// each done channel and disarms each deadline timer under that node's lock,
// and starts after_func goroutines only after releasing every lock. A child
// never takes its parent's lock while holding its own (it leaves the
// parent's list after unlocking itself). The deadline callback runs under
// the timer heap lock, so it takes no context lock and disarms nothing: it
// hands the cancel to a new goroutine (Go's timerCtx uses time.AfterFunc the
// same way). No timer is armed or disarmed under a channel lock.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "goro/chan.hpp"
#include "goro/detail/context_node.hpp"
#include "goro/error.hpp"
#include "goro/runtime.hpp"
#include "goro/time.hpp"

namespace goro {

class context;
namespace detail {
struct context_access;
}

// A key for with_value / context::value. Its identity is its address: define
// keys as objects with one address in the program (`inline constexpr` at
// namespace scope in a header, or in one .cpp; a `static` key in a header is
// a different key in every translation unit). T is the type of the value.
//   inline constexpr goro::context_key<std::string> request_id{"request_id"};
template <class T>
class context_key {
 public:
  using value_type = T;
  constexpr context_key() noexcept = default;
  constexpr explicit context_key(const char* name) noexcept : name_(name) {}
  context_key(const context_key&) = delete;
  context_key& operator=(const context_key&) = delete;
  constexpr const char* name() const noexcept { return name_; }

 private:
  const char* name_ = "";
};

// ---- context --------------------------------------------------------------------

class context {
 public:
  // background().
  context() noexcept : n_(detail::background_node()) {}
  context(const context& o) noexcept : n_(o.n_) { n_->retain(); }
  context(context&& o) noexcept : n_(std::exchange(o.n_, detail::background_node())) {}
  context& operator=(context o) noexcept {
    std::swap(n_, o.n_);
    return *this;
  }
  ~context() { detail::release(n_); }

  // Closed when the context is cancelled; nil (never ready) for a context
  // that can never be cancelled. Select on it: goro::recv(ctx.done()).
  receiver<void> done() const {
    detail::cancel_node* c = n_->canceler;
    if (c == nullptr) return {};
    detail::done_chan* d = detail::done_of(c);
    d->retain();
    return detail::chan_access::adopt_receiver<void>(d);
  }
  // {} while done() is open; then goro::canceled or goro::deadline_exceeded.
  std::error_code err() const noexcept {
    return n_->canceler ? detail::err_of(n_->canceler) : std::error_code{};
  }
  // When the context will be cancelled by a deadline, if it has one.
  std::optional<clock::time_point> deadline() const noexcept {
    if (n_->deadline == detail::kNever) return std::nullopt;
    return detail::from_nanos(n_->deadline);
  }
  // The value stored under key by the nearest with_value, or null. The
  // pointer is valid as long as this context (or one derived from it) lives.
  template <class T>
  const T* value(const context_key<T>& key) const noexcept {
    return static_cast<const T*>(detail::lookup_value(n_, &key));
  }

  // The same context (not: equivalent contexts).
  friend bool operator==(const context& a, const context& b) noexcept { return a.n_ == b.n_; }

 private:
  explicit context(detail::ctx_node* n) noexcept : n_(n) {}  // adopts one reference
  detail::ctx_node* n_;
  friend struct detail::context_access;
};

// Go's fmt.Sprint(ctx): "context.Background.WithCancel", ... (for logs and tests).
std::string to_string(const context& ctx);

// The roots: never cancelled, no deadline, no values. todo() marks a place
// where the right context is not known yet.
inline context background() noexcept { return context(); }
context todo() noexcept;

// The cause of ctx's cancellation: what was passed to a cancel_cause_func or
// a *_cause deadline, else ctx.err(); nil while ctx is not cancelled (and for
// contexts that cannot be cancelled).
error cause(const context& ctx);

// ---- cancel functions ---------------------------------------------------------------

// Cancels its context when called (any number of times, from any thread) and
// when destroyed. Move-only. Go: CancelFunc, with `defer cancel()` built in.
class cancel_func {
 public:
  cancel_func() noexcept = default;  // cancels nothing
  cancel_func(cancel_func&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
  cancel_func& operator=(cancel_func&& o) noexcept {
    if (this != &o) {
      reset();
      n_ = std::exchange(o.n_, nullptr);
    }
    return *this;
  }
  cancel_func(const cancel_func&) = delete;
  cancel_func& operator=(const cancel_func&) = delete;
  ~cancel_func() { reset(); }

  // Cancels the context with goro::canceled (cause: canceled). Later calls do nothing.
  void operator()() const noexcept {
    if (n_) detail::cancel(n_, errc::canceled, {});
  }
  // Cancels now (if not yet) and lets go of the context.
  void reset() noexcept {
    if (n_) {
      (*this)();
      detail::release(std::exchange(n_, nullptr));
    }
  }
  explicit operator bool() const noexcept { return n_ != nullptr; }

 protected:
  explicit cancel_func(detail::cancel_node* n) noexcept : n_(n) {}  // adopts one reference
  detail::cancel_node* n_ = nullptr;
  friend struct detail::context_access;
};

// A cancel_func that can also record why: cancel(cause). Go: CancelCauseFunc.
class cancel_cause_func : public cancel_func {
 public:
  cancel_cause_func() noexcept = default;
  using cancel_func::operator();
  // Cancels with goro::canceled and this cause (nil: cause is canceled).
  void operator()(const error& why) const noexcept {
    if (n_) detail::cancel(n_, errc::canceled, why);
  }

 private:
  explicit cancel_cause_func(detail::cancel_node* n) noexcept : cancel_func(n) {}
  friend struct detail::context_access;
};

// What with_cancel and friends return: auto [ctx, cancel] = goro::with_cancel(parent);
template <class Cancel = cancel_func>
struct [[nodiscard]] cancelable_context {
  context ctx;
  Cancel cancel;
};

namespace detail {
struct context_access {
  static ctx_node* node(const context& c) noexcept { return c.n_; }
  static context adopt(ctx_node* n) noexcept { return context(n); }
  template <class Cancel>
  static cancelable_context<Cancel> pair(cancel_node* n) noexcept {
    // new_*_node returned two references: one each.
    return {context(n), Cancel(n)};
  }
  template <class Stop>
  static Stop stop(after_func_node* n) noexcept {
    return Stop(n);
  }
};
}  // namespace detail

// A child cancelled by cancel() or with the parent.
inline cancelable_context<> with_cancel(const context& parent) {
  using A = detail::context_access;
  return A::pair<cancel_func>(detail::new_cancel_node(A::node(parent)));
}
// The same, with a cancel function that takes a cause (see goro::cause).
inline cancelable_context<cancel_cause_func> with_cancel_cause(const context& parent) {
  using A = detail::context_access;
  return A::pair<cancel_cause_func>(detail::new_cancel_node(A::node(parent)));
}
// A child also cancelled, with deadline_exceeded, when t passes (its
// deadline() is min(t, parent's)). Its timer is disarmed as soon as it is
// cancelled otherwise.
inline cancelable_context<> with_deadline(const context& parent, clock::time_point t) {
  using A = detail::context_access;
  return A::pair<cancel_func>(detail::new_timer_node(A::node(parent), detail::to_nanos(t), {}));
}
inline cancelable_context<> with_timeout(const context& parent, std::chrono::nanoseconds d) {
  using A = detail::context_access;
  return A::pair<cancel_func>(
      detail::new_timer_node(A::node(parent), detail::deadline_after(detail::now(), d), {}));
}
// Go 1.21's WithDeadlineCause / WithTimeoutCause: `why` becomes the cause
// when the deadline passes.
inline cancelable_context<> with_deadline_cause(const context& parent, clock::time_point t,
                                                error why) {
  using A = detail::context_access;
  return A::pair<cancel_func>(
      detail::new_timer_node(A::node(parent), detail::to_nanos(t), std::move(why)));
}
inline cancelable_context<> with_timeout_cause(const context& parent, std::chrono::nanoseconds d,
                                               error why) {
  using A = detail::context_access;
  return A::pair<cancel_func>(detail::new_timer_node(
      A::node(parent), detail::deadline_after(detail::now(), d), std::move(why)));
}

// ---- values ---------------------------------------------------------------------------

namespace detail {
template <class T>
std::string describe_value(const void* p) {
  const T& v = *static_cast<const T*>(p);
  if constexpr (std::is_pointer_v<T>) {
    if (v == nullptr) return "<nil>";
  }
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return std::string(std::string_view(v));
  } else if constexpr (std::is_arithmetic_v<T>) {
    return std::to_string(v);
  } else {
    return "<not Stringer>";
  }
}
}  // namespace detail

// A child carrying v under key (v is converted to T and stored in the node).
template <class T, class U>
  requires std::is_constructible_v<T, U&&>
context with_value(const context& parent, const context_key<T>& key, U&& v) {
  using A = detail::context_access;
  auto* n = new detail::value_node_of<T>(std::forward<U>(v));
  n->kind = detail::ctx_kind::value;
  n->destroy = [](detail::ctx_node* x) { delete static_cast<detail::value_node_of<T>*>(x); };
  n->key = &key;
  n->value = &n->v;
  n->key_name = key.name();
  n->describe = &detail::describe_value<T>;
  detail::init_value_node(n, A::node(parent));
  return A::adopt(n);
}

// A child with parent's values but not its cancellation or deadline.
inline context without_cancel(const context& parent) {
  using A = detail::context_access;
  return A::adopt(detail::new_without_cancel_node(A::node(parent)));
}

// ---- after_func ----------------------------------------------------------------------

// Returned by after_func. Copyable; dropping it does not stop f (as in Go).
class stop_func {
 public:
  stop_func() noexcept = default;
  stop_func(const stop_func& o) noexcept : n_(o.n_) {
    if (n_) n_->retain();
  }
  stop_func(stop_func&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
  stop_func& operator=(stop_func o) noexcept {
    std::swap(n_, o.n_);
    return *this;
  }
  ~stop_func() {
    if (n_) detail::release(n_);
  }
  // Stops f from being started. True if this call stopped it; false if f
  // was already started or already stopped. Does not wait for a running f.
  bool operator()() const noexcept { return n_ && detail::stop_after_func(n_); }
  bool stop() const noexcept { return (*this)(); }

 private:
  explicit stop_func(detail::after_func_node* n) noexcept : n_(n) {}  // adopts one reference
  detail::after_func_node* n_ = nullptr;
  friend struct detail::context_access;
};

namespace detail {
template <class F>
struct after_func_of final : after_func_node {
  F f;
  explicit after_func_of(F fn) : f(std::move(fn)) {}
};
}  // namespace detail

// Runs f() (a callable, or a coroutine returning a task) in its own goroutine
// once ctx is done — at once if it already is; never if ctx can never be
// cancelled. Several after_funcs on one context are independent.
template <class F>
stop_func after_func(const context& ctx, F f,
                     detail::source_loc loc = detail::source_loc::current()) {
  auto* a = new detail::after_func_of<F>(std::move(f));
  a->kind = detail::ctx_kind::after_func;
  a->destroy = [](detail::ctx_node* x) { delete static_cast<detail::after_func_of<F>*>(x); };
  a->loc = loc;
  a->start = [](detail::after_func_node* x) {
    auto* self = static_cast<detail::after_func_of<F>*>(x);
    // On the canceller's runtime (or the default one), not the registering
    // one: that may have been destroyed by the time ctx is cancelled.
    detail::launch_detached(detail::runtime_for_spawn(), self->loc, std::move(self->f));
  };
  // Two references: the stop_func's, and the registration's (which
  // attach_after_func consumes).
  a->refs.store(2, std::memory_order_relaxed);
  stop_func s = detail::context_access::stop<stop_func>(a);
  detail::attach_after_func(a, detail::context_access::node(ctx));
  return s;
}

// ---- context-aware waiting ------------------------------------------------------------

namespace detail {
// A sleep that the context can cut short: select(recv(done), timeout).
class GORO_NODISCARD_AWAITABLE ctx_sleep_awaiter {
 public:
  ctx_sleep_awaiter(const context& ctx, nanos deadline, const wait_site& site = {})
      : ctx_(ctx),
        sel_(recv_case<std::monostate>(context_done_state(ctx), true), timeout_case_impl(deadline)),
        site_(site) {}
  bool await_ready() noexcept {
    early_ = ctx_.err();
    return static_cast<bool>(early_);
  }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    return sel_.suspend(h, wait_kinds::sleep_ctx, site_, nullptr, 0);
  }
  std::error_code await_resume() noexcept { return early_ ? early_ : result(sel_.finish()); }
  std::error_code blocking(source_loc loc) noexcept {
    assert_not_in_goroutine(loc);
    if (await_ready()) return early_;
    return result(sel_.blocking(loc));
  }

 private:
  std::error_code result(int fired) const noexcept { return fired == 0 ? ctx_.err() : std::error_code{}; }
  context ctx_;
  select_awaiter<recv_case<std::monostate>, timeout_case_impl> sel_;
  std::error_code early_;
  wait_site site_;
};
}  // namespace detail

// co_await goro::sleep_for(ctx, d): sleeps for d unless ctx is done first.
// Returns {} after a full sleep, else ctx.err() (at once if ctx is already done).
GORO_NODISCARD_AWAITABLE inline detail::ctx_sleep_awaiter sleep_for(
    const context& ctx, std::chrono::nanoseconds d, GORO_WAIT_SITE_PARAMS) {
  return detail::ctx_sleep_awaiter(ctx, detail::deadline_after(detail::now(), d), GORO_WAIT_SITE);
}
GORO_NODISCARD_AWAITABLE inline detail::ctx_sleep_awaiter sleep_until(
    const context& ctx, clock::time_point t, GORO_WAIT_SITE_PARAMS) {
  return detail::ctx_sleep_awaiter(ctx, detail::to_nanos(t), GORO_WAIT_SITE);
}
// The same for plain threads: blocks the calling thread.
inline std::error_code blocking_sleep_for(const context& ctx, std::chrono::nanoseconds d,
                                          detail::source_loc loc = detail::source_loc::current()) {
  return detail::ctx_sleep_awaiter(ctx, detail::deadline_after(detail::now(), d)).blocking(loc);
}
inline std::error_code blocking_sleep_until(const context& ctx, clock::time_point t,
                                            detail::source_loc loc = detail::source_loc::current()) {
  return detail::ctx_sleep_awaiter(ctx, detail::to_nanos(t)).blocking(loc);
}

namespace detail {
// For tests: how many live children (cancellable contexts and after_func
// registrations) ctx's canceller holds; 0 for contexts that cannot be cancelled.
inline std::size_t context_child_count(const context& ctx) noexcept {
  return child_count(context_access::node(ctx));
}
}  // namespace detail

}  // namespace goro

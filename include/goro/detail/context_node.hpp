// goro/detail/context_node.hpp — the nodes of the context tree (the public
// API is goro/context.hpp; the algorithms are in src/context.cpp).
//
// Node kinds (Go's types in parentheses):
//   background, todo      immortal roots (emptyCtx); never cancelled
//   cancel                with_cancel / with_cancel_cause (cancelCtx)
//   timer                 with_deadline / with_timeout (timerCtx): a cancel
//                         node plus a timer_node on the one timer path
//   value                 with_value (valueCtx)
//   without_cancel        without_cancel (withoutCancelCtx): values pass,
//                         cancellation and the deadline do not
//   after_func            an after_func registration (afterFuncCtx); not a context
//
// Every node holds one counted reference to its parent, so a context keeps
// its whole ancestry alive (values, deadline, the canceller it is registered
// with). Immutable after construction: kind, parent, canceler, deadline,
// owner. `canceler` caches the nearest cancel/timer node at or above a
// context (null if nothing can cancel it), so done(), err() and cause() are
// O(1) whatever the depth; `deadline` caches the effective deadline.
//
// Child lists. A cancel node keeps the cancellable contexts and after_func
// registrations below it (ctx_child) in an intrusive list under its `mu`;
// the list owns one reference to each child. A child leaves the list when it
// is cancelled (by itself: it unlinks itself; by the parent: the parent pops
// it while cancelling it) or, for an after_func, stopped — so a long-lived
// parent holds only the children that are still live: no unbounded growth.
//
// References: a context handle, a cancel_func, a stop_func, a parent's child
// list, a child's `parent` field, and an armed deadline timer each own one.
// Every reference cycle (parent list <-> child's parent field) is broken when
// the child is cancelled, and every cancel/timer node is cancelled at the
// latest when its cancel_func is destroyed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "goro/detail/chan_state.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/timer.hpp"
#include "goro/error.hpp"

namespace goro::detail {

enum class ctx_kind : std::uint8_t { background, todo, cancel, timer, value, without_cancel, after_func };

struct cancel_node;
using done_chan = chan_state<std::monostate>;

// A cancel hook: how a blocked primitive (semaphore, mutex, wait_group) learns
// that a context is done without a goroutine or a channel of its own. It lives
// in the waiter (a goroutine frame or a blocked thread's stack) and is linked
// into the context's canceller (nearest cancel node) while the waiter waits.
// The canceller calls fire(hook) once, under its node lock, after the context
// is settled (err() set, done() closed): fire must be short and must not
// block; it may take the primitive's own (leaf) lock and wake the waiter.
// Lock order: context node mu -> the primitive's mu -> run-queue locks.
// Because fire runs under the node lock and hook_detach takes it, once
// hook_detach returns fire is neither running nor going to run: the waiter
// may then free the hook. A waiter always detaches before it returns.
struct ctx_hook {
  ctx_hook* prev = nullptr;  // links in the canceller's hook list, under its mu
  ctx_hook* next = nullptr;
  bool linked = false;
  void (*fire)(ctx_hook*) = nullptr;
  void* ctx = nullptr;  // the waiter
};

struct ctx_node {
  std::atomic<long> refs{1};
  ctx_kind kind = ctx_kind::background;
  bool immortal = false;            // the roots: never counted, never freed
  ctx_node* parent = nullptr;       // counted; null for the roots
  cancel_node* canceler = nullptr;  // nearest cancel/timer node at or above; null: never cancelled
  nanos deadline = kNever;          // effective deadline (min over the ancestry)
  void (*destroy)(ctx_node*) = nullptr;  // deletes the concrete type (not the parent)

  void retain() noexcept {
    if (!immortal) refs.fetch_add(1, std::memory_order_relaxed);
  }
};

// Drops one reference; frees the node and, iteratively, every ancestor whose
// last reference that was (no recursion: a 100k-deep chain frees fine).
void release(ctx_node* n) noexcept;

// Something in a cancel node's child list: a cancel/timer node or an after_func.
struct ctx_child : ctx_node {
  // Links in owner->children, guarded by owner->mu. Once a cancelling parent
  // has taken an after_func off the list, `next` links that canceller's
  // private list of after_funcs to start.
  ctx_child* prev = nullptr;
  ctx_child* next = nullptr;
  bool linked = false;           // in owner's list; guarded by owner->mu
  cancel_node* owner = nullptr;  // the canceller it registered with (alive via `parent`)
};

// State word of a cancel node: the error (errc) in the low bits, set when a
// cancel begins; kSettled once its subtree is cancelled and its done channel
// is closed. A reader that sees the error without kSettled waits for mu.
inline constexpr std::uint8_t kCtxErrMask = 0x7f, kCtxSettled = 0x80;

struct cancel_node : ctx_child {
  spinlock mu;
  // 0 while live. Written only under mu, held from the first write to the
  // second: the error (before the done channel is closed), then
  // error|kSettled; read lock-free.
  std::atomic<std::uint8_t> state{0};
  // Written once under mu before `state`; immutable once state != 0.
  error cause GORO_GUARDED_BY(mu);
  // Created lazily by done(), or set to the shared closed channel by cancel.
  // Stored under mu (never changes once set); read lock-free. Owns a reference.
  std::atomic<done_chan*> done{nullptr};
  ctx_child* children GORO_GUARDED_BY(mu) = nullptr;
  std::size_t n_children GORO_GUARDED_BY(mu) = 0;
  ctx_hook* hooks GORO_GUARDED_BY(mu) = nullptr;  // blocked waiters (ctx_hook)
};

struct timer_ctx_node final : cancel_node {
  timer_node timer;               // fires timer_ctx_fired (src/context.cpp)
  error deadline_cause;           // immutable: the cause when the deadline passes
  // True while the armed timer owns a reference to this node. Claimed (set to
  // false) exactly once: by the timer callback, which hands the reference to
  // the goroutine that cancels, or by whoever disarms.
  std::atomic<bool> timer_ref{false};
};

struct value_node : ctx_node {
  const void* key = nullptr;    // the context_key's address
  const void* value = nullptr;  // points into the concrete node
  const char* key_name = "";
  std::string (*describe)(const void* value) = nullptr;  // for to_string
};

template <class T>
struct value_node_of final : value_node {
  T v;
  template <class U>
  explicit value_node_of(U&& u) : v(std::forward<U>(u)) {}
};

struct after_func_node : ctx_child {
  // Go's once: whoever sets it first either starts f (the context is done)
  // or stops it (stop()).
  std::atomic<bool> claimed{false};
  source_loc loc;                             // where after_func was called
  void (*start)(after_func_node*) = nullptr;  // launches f as a goroutine
};

// ---- operations used by the public header (src/context.cpp) ---------------

// The immortal roots.
ctx_node* background_node() noexcept;
ctx_node* todo_node() noexcept;

// Makes a cancel node (and registers it under parent's canceler; cancels it
// at once if that is already done). Returns it with two references: one for
// the context handle, one for the cancel_func.
cancel_node* new_cancel_node(ctx_node* parent);
// Same for a deadline; falls back to a cancel node when the parent's
// deadline is sooner (Go). A deadline not in the future cancels at once.
cancel_node* new_timer_node(ctx_node* parent, nanos deadline, error cause);
ctx_node* new_without_cancel_node(ctx_node* parent);
// Completes a value node built by the header: sets parent/canceler/deadline.
void init_value_node(value_node* n, ctx_node* parent) noexcept;
// Registers an after_func node built by the header (starts f at once if the
// context is already done).
void attach_after_func(after_func_node* a, ctx_node* ctx) noexcept;
bool stop_after_func(after_func_node* a) noexcept;

// Cancels n (Go's cancelCtx.cancel with removeFromParent = true): a no-op if
// it is already cancelled; else records err and cause (cause nil -> err),
// closes the done channel, cancels every descendant, stops its timer and
// leaves the parent's child list.
void cancel(cancel_node* n, errc err, const error& cause) noexcept;

// ---- cancel hooks (see ctx_hook) ------------------------------------------------

// Registers h with c; h->fire(h) runs once when c is cancelled. False (h not
// registered) if c is already cancelled.
bool hook_attach(cancel_node* c, ctx_hook* h) noexcept;
// Unregisters h; once it returns, h->fire is neither running nor going to run.
void hook_detach(cancel_node* c, ctx_hook* h) noexcept;

done_chan* done_of(cancel_node* n);  // creates it lazily
std::error_code err_of(cancel_node* n) noexcept;
error cause_of(cancel_node* n);
const void* lookup_value(const ctx_node* n, const void* key) noexcept;
std::string describe(const ctx_node* n);
std::size_t child_count(const ctx_node* n) noexcept;

}  // namespace goro::detail

namespace goro {
class context;  // goro/context.hpp
}

namespace goro::detail {

// The canceller of ctx with one reference (release() it), or null when ctx
// can never be cancelled. Defined in src/context.cpp, so that primitives
// need not include goro/context.hpp.
cancel_node* retain_canceler(const context& ctx) noexcept;
// ctx.err(), for headers that do not include goro/context.hpp.
std::error_code context_err(const context& ctx) noexcept;

// The context side of one context-aware wait: a counted reference to the
// canceller and the hook. The primitive attaches the hook before it queues
// (with none of its own locks held) and detaches it after it wakes; the
// destructor detaches too (a goroutine destroyed while parked) — detach
// before freeing anything the hook's fire touches.
class ctx_watch {
 public:
  ctx_watch(const context& ctx, void (*fire)(ctx_hook*), void* waiter) noexcept
      : c_(retain_canceler(ctx)) {
    hook_.fire = fire;
    hook_.ctx = waiter;
  }
  ctx_watch(const ctx_watch&) = delete;
  ctx_watch& operator=(const ctx_watch&) = delete;
  ~ctx_watch() {
    detach();
    if (c_) release(c_);
  }
  // The context's error now: {} while it is live (always for contexts that
  // cannot be cancelled).
  std::error_code err() const noexcept { return c_ ? err_of(c_) : std::error_code{}; }
  // Registers the hook; false if the context is already done. A context
  // that cannot be cancelled registers nothing and returns true.
  bool attach() noexcept {
    if (c_ == nullptr) return true;
    attached_ = hook_attach(c_, &hook_);
    return attached_;
  }
  void detach() noexcept {
    if (attached_) {
      hook_detach(c_, &hook_);
      attached_ = false;
    }
  }

 private:
  cancel_node* c_;
  ctx_hook hook_;
  bool attached_ = false;
};

}  // namespace goro::detail

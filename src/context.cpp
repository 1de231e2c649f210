// context.cpp — the context tree: creating nodes, registering children,
// cancelling (iteratively, through the whole subtree), deadlines on the one
// timer path, after_func. The contract (semantics, thread-safety, lock order)
// is in goro/context.hpp; the node layout and the reference rules are in
// goro/detail/context_node.hpp.
//
// Cancel protocol (Go's cancelCtx.cancel, which holds c.mu while it cancels
// the children; here without recursion):
//   lock n; if already cancelled: unlock, return (whoever cancelled it held
//     n->mu until its whole subtree was done, so that is done too).
//   begin(n): state = err, cause = cause ? cause : err.
//   walk the subtree depth first, holding the locks of the path from n down
//   to the node being worked on (parent before child, as Go does):
//     pop a child off the current node's list (the list's reference is ours);
//       after_func: keep it aside, to start once every lock is released;
//       already cancelled (by its own cancel_func, which finished it before
//         we could lock it): unlock, drop it;
//       else lock it, begin(it), descend.
//     no child left: finish(node): close done (or install the shared closed
//       channel), state |= kSettled, disarm the deadline timer; unlock; go
//       back up through `owner` (the node whose list it came from).
//   then, with no lock held: leave n's owner's list, start the after_funcs.
// Consequences: when any cancel() returns, the node and its whole subtree are
// cancelled (a concurrent cancel of an inner node waits for its lock); done()
// channels close children first (post-order), so a goroutine woken by a
// parent's done() finds every descendant cancelled too; err() is set before
// the close (a receive that sees the close sees err) and, while the subtree
// is being cancelled, err() readers wait for the node's lock as Go's do.
// A child that registers while its parent is being cancelled waits for the
// parent's lock, then sees it cancelled and cancels itself.
#include <cinttypes>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "goro/context.hpp"

namespace goro::detail {
namespace {

constinit ctx_node g_background{.kind = ctx_kind::background, .immortal = true};
constinit ctx_node g_todo{.kind = ctx_kind::todo, .immortal = true};

// Go's closedchan: the done channel of a context cancelled before anybody
// asked for it. Every node that stores it holds a reference; this one keeps
// it alive forever. Initialised before the first lock that could need it
// (see new_cancellable).
done_chan* closed_done() {
  static done_chan* c = [] {
    auto* d = new done_chan(0);
    d->close();
    return d;
  }();
  return c;
}

void destroy_plain(ctx_node* n) { delete n; }

void destroy_cancel(ctx_node* n) GORO_NO_TSA {
  auto* c = static_cast<cancel_node*>(n);
  GORO_DEBUG_ASSERT(c->children == nullptr, "goro::context freed with live children");
  if (done_chan* d = c->done.load(std::memory_order_acquire)) d->release();
  delete c;
}

void destroy_timer(ctx_node* n) GORO_NO_TSA {
  auto* t = static_cast<timer_ctx_node*>(n);
  GORO_DEBUG_ASSERT(t->children == nullptr, "goro::context freed with live children");
  GORO_DEBUG_ASSERT(t->timer.heap.load(std::memory_order_relaxed) == nullptr,
                    "goro::context freed with its deadline timer armed");
  if (done_chan* d = t->done.load(std::memory_order_acquire)) d->release();
  delete t;
}

void set_parent(ctx_node* n, ctx_node* parent) noexcept {
  GORO_ASSERT(parent != nullptr, "goro::context: null parent");
  parent->retain();
  n->parent = parent;
}

// Under owner->mu: puts c at the front of owner's child list. The caller
// hands the list one reference to c.
void push_child(cancel_node* owner, ctx_child* c) noexcept GORO_NO_TSA {
  c->prev = nullptr;
  c->next = owner->children;
  if (owner->children) owner->children->prev = c;
  owner->children = c;
  c->linked = true;
  ++owner->n_children;
}

// Takes c out of its owner's list if it is still there (a cancelling owner
// may have taken it already) and drops the list's reference. The caller
// holds another reference.
void unlink(ctx_child* c) noexcept GORO_NO_TSA {
  cancel_node* o = c->owner;
  if (o == nullptr) return;
  bool took = false;
  {
    lock_guard l(o->mu);
    if (c->linked) {
      if (c->prev) c->prev->next = c->next; else o->children = c->next;
      if (c->next) c->next->prev = c->prev;
      c->prev = c->next = nullptr;
      c->linked = false;
      --o->n_children;
      took = true;
    }
  }
  if (took) release(c);
}

// Under n->mu, n live: the first half of cancelling n. The state is set
// before the done channel is closed (in finish), so a receive that sees the
// close sees the error.
void begin(cancel_node* n, errc err, const error& why) noexcept GORO_NO_TSA {
  n->cause = why;
  n->state.store(static_cast<std::uint8_t>(err), std::memory_order_release);
}

// Disarms n's deadline timer and drops the reference the armed timer held,
// unless the timer already fired and handed it to its cancelling goroutine.
// Under n->mu (lock order: node mu -> timer heap lock); the caller holds
// another reference to n.
void stop_timer(cancel_node* n) noexcept {
  if (n->kind != ctx_kind::timer) return;
  auto* t = static_cast<timer_ctx_node*>(n);
  (void)timer_disarm(&t->timer);
  if (t->timer_ref.exchange(false, std::memory_order_acq_rel)) release(t);
}

// Under n->mu, n's children all cancelled: the second half.
void finish(cancel_node* n) noexcept GORO_NO_TSA {
  const std::uint8_t code = n->state.load(std::memory_order_relaxed);
  if (done_chan* d = n->done.load(std::memory_order_relaxed)) {
    (void)d->close();  // wakes every waiter; lock order: node mu -> channel mu
  } else {
    done_chan* c = closed_done();
    c->retain();
    n->done.store(c, std::memory_order_release);
  }
  n->state.store(code | kCtxSettled, std::memory_order_release);
  stop_timer(n);
  // Blocked waiters (ctx_hook): each fire() runs under n->mu, after the
  // state is settled, so a waiter that detaches then reads err() sees it.
  while (ctx_hook* h = n->hooks) {
    n->hooks = h->next;
    if (h->next) h->next->prev = nullptr;
    h->prev = h->next = nullptr;
    h->linked = false;
    h->fire(h);  // h stays valid: its waiter's detach waits for n->mu
  }
}

// Under owner->mu: takes the first child off the list; its list reference
// moves to the caller.
ctx_child* pop_child(cancel_node* owner) noexcept GORO_NO_TSA {
  ctx_child* c = owner->children;
  if (c == nullptr) return nullptr;
  owner->children = c->next;
  if (c->next) c->next->prev = nullptr;
  c->prev = c->next = nullptr;
  c->linked = false;
  --owner->n_children;
  return c;
}

void fire_after_func(after_func_node* a) noexcept {
  if (!a->claimed.exchange(true, std::memory_order_acq_rel)) a->start(a);
}

// Go's cancelCtx.cancel(removeFromParent, err, cause); see the file comment.
// The analysis cannot follow the path of locks held down the tree.
void cancel_impl(cancel_node* n, bool detach, errc err, const error& why) noexcept GORO_NO_TSA {
  const error eff = why ? why : error(err);
  n->mu.lock();
  if (n->state.load(std::memory_order_relaxed) != 0) {
    n->mu.unlock();
    return;
  }
  begin(n, err, eff);
  ctx_child* to_fire = nullptr;  // after_funcs, linked through `next`
  cancel_node* cur = n;
  for (;;) {
    // Held: the locks of every node from n down to cur.
    if (ctx_child* c = pop_child(cur)) {
      if (c->kind == ctx_kind::after_func) {
        c->next = to_fire;
        to_fire = c;
        continue;
      }
      auto* cn = static_cast<cancel_node*>(c);
      cn->mu.lock();
      if (cn->state.load(std::memory_order_relaxed) != 0) {
        cn->mu.unlock();  // cancelled by its own cancel_func (finished: we got its lock)
        release(cn);
        continue;
      }
      begin(cn, err, eff);
      cur = cn;
      continue;
    }
    finish(cur);
    if (cur == n) break;
    cancel_node* up = cur->owner;  // the node whose list cur came from
    cur->mu.unlock();
    release(cur);  // the list's reference (up still holds cur's ancestry)
    cur = up;
  }
  n->mu.unlock();
  if (detach) unlink(n);
  while (to_fire != nullptr) {
    ctx_child* a = to_fire;
    to_fire = a->next;
    a->next = nullptr;
    fire_after_func(static_cast<after_func_node*>(a));
    release(a);  // the list's reference
  }
}

// Go's propagateCancel for a new cancel/timer node: join the nearest
// cancellable ancestor's list, or be cancelled at once if it is done.
void attach(cancel_node* c, cancel_node* owner) noexcept GORO_NO_TSA {
  c->owner = owner;
  if (owner == nullptr) return;
  errc err;
  error why;
  {
    lock_guard l(owner->mu);
    const std::uint8_t s = owner->state.load(std::memory_order_relaxed);
    if (s == 0) {
      c->retain();  // the list's reference
      push_child(owner, c);
      return;
    }
    err = static_cast<errc>(s & kCtxErrMask);
    why = owner->cause;
  }
  cancel_impl(c, /*detach=*/false, err, why);
}

// The goroutine a deadline starts: cancels with deadline_exceeded. Owns the
// reference the armed timer held (released even if the runtime is torn down
// before the goroutine runs).
struct deadline_cancel {
  timer_ctx_node* t;
  explicit deadline_cancel(timer_ctx_node* n) noexcept : t(n) {}
  deadline_cancel(deadline_cancel&& o) noexcept : t(std::exchange(o.t, nullptr)) {}
  deadline_cancel(const deadline_cancel&) = delete;
  ~deadline_cancel() {
    if (t) release(t);
  }
  void operator()() noexcept { cancel_impl(t, /*detach=*/true, errc::deadline_exceeded, t->deadline_cause); }
};

// The timer callback, under the timer heap lock: no context lock, no disarm
// (see the lock order in context.hpp); only hand the cancel to a goroutine,
// as Go's timerCtx does with time.AfterFunc.
void timer_ctx_fired(timer_node* tn) noexcept {
  auto* t = static_cast<timer_ctx_node*>(tn->ctx);
  if (!t->timer_ref.exchange(false, std::memory_order_acq_rel)) return;
  // On the runtime whose timer fired: the one that armed it may be gone
  // (its armed timers moved to the default runtime, rehome_timers).
  launch_detached(runtime_for_spawn(), source_loc{__FILE__, __LINE__}, deadline_cancel(t));
}

template <class Node>
Node* new_cancellable(ctx_node* parent, ctx_kind kind, void (*destroy)(ctx_node*)) {
  (void)closed_done();  // initialised before finish() can need it under a lock
  auto* n = new Node;
  n->kind = kind;
  n->destroy = destroy;
  n->refs.store(2, std::memory_order_relaxed);  // the context's and the cancel_func's
  set_parent(n, parent);
  n->canceler = n;
  n->deadline = parent->deadline;
  return n;
}

std::string format_nanos(nanos d) {
  char buf[48];
  const double a = d < 0 ? -static_cast<double>(d) : static_cast<double>(d);
  if (a < 1e3)
    std::snprintf(buf, sizeof buf, "%" PRId64 "ns", d);
  else if (a < 1e6)
    std::snprintf(buf, sizeof buf, "%.3gus", static_cast<double>(d) / 1e3);
  else if (a < 1e9)
    std::snprintf(buf, sizeof buf, "%.6gms", static_cast<double>(d) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.9gs", static_cast<double>(d) / 1e9);
  return buf;
}

}  // namespace

// ---- creation -------------------------------------------------------------------------

ctx_node* background_node() noexcept { return &g_background; }
ctx_node* todo_node() noexcept { return &g_todo; }

cancel_node* new_cancel_node(ctx_node* parent) {
  auto* n = new_cancellable<cancel_node>(parent, ctx_kind::cancel, &destroy_cancel);
  attach(n, parent->canceler);
  return n;
}

cancel_node* new_timer_node(ctx_node* parent, nanos deadline, error why) {
  if (parent->deadline < deadline) return new_cancel_node(parent);  // the parent's comes first
  auto* t = new_cancellable<timer_ctx_node>(parent, ctx_kind::timer, &destroy_timer);
  t->deadline = deadline;
  t->deadline_cause = std::move(why);
  t->timer.ctx = t;
  t->timer.fire = &timer_ctx_fired;
  attach(t, parent->canceler);
  if (deadline <= now()) {
    cancel_impl(t, /*detach=*/true, errc::deadline_exceeded, t->deadline_cause);
    return t;
  }
  // Arm under t->mu, and only if t is still live: a cancel that reaches t
  // first makes us skip arming; one that reaches it after finds the timer
  // armed and disarms it. Either way no timer outlives the context's life.
  t->retain();  // the armed timer's reference
  t->timer_ref.store(true, std::memory_order_relaxed);
  bool armed = false;
  {
    lock_guard l(t->mu);
    if (t->state.load(std::memory_order_relaxed) == 0) {
      timer_arm(&t->timer, deadline);  // lock order: node mu -> heap lock
      armed = true;
    }
  }
  if (!armed && t->timer_ref.exchange(false, std::memory_order_acq_rel)) release(t);
  return t;
}

ctx_node* new_without_cancel_node(ctx_node* parent) {
  auto* n = new ctx_node;
  n->kind = ctx_kind::without_cancel;
  n->destroy = &destroy_plain;
  set_parent(n, parent);
  // canceler null and deadline kNever: the parent's cancellation stops here.
  return n;
}

void init_value_node(value_node* n, ctx_node* parent) noexcept {
  set_parent(n, parent);
  n->canceler = parent->canceler;
  n->deadline = parent->deadline;
}

void attach_after_func(after_func_node* a, ctx_node* ctx) noexcept GORO_NO_TSA {
  set_parent(a, ctx);  // keeps the owner alive for stop()
  cancel_node* o = ctx->canceler;
  a->owner = o;
  if (o != nullptr) {
    lock_guard l(o->mu);
    if (o->state.load(std::memory_order_relaxed) == 0) {
      push_child(o, a);  // the list takes the registration's reference
      return;
    }
  }
  if (o != nullptr) fire_after_func(a);  // already done: start f now
  release(a);  // done, or never cancellable: nothing keeps the registration
}

bool stop_after_func(after_func_node* a) noexcept {
  if (a->claimed.exchange(true, std::memory_order_acq_rel)) return false;
  unlink(a);
  return true;
}

// ---- operations -------------------------------------------------------------------------

void release(ctx_node* n) noexcept {
  while (n != nullptr && !n->immortal) {
    if (n->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    ctx_node* p = n->parent;
    n->destroy(n);
    n = p;
  }
}

void cancel(cancel_node* n, errc err, const error& why) noexcept {
  cancel_impl(n, /*detach=*/true, err, why);
}

bool hook_attach(cancel_node* c, ctx_hook* h) noexcept {
  lock_guard l(c->mu);
  if (c->state.load(std::memory_order_relaxed) != 0) return false;
  h->prev = nullptr;
  h->next = c->hooks;
  if (c->hooks) c->hooks->prev = h;
  c->hooks = h;
  h->linked = true;
  return true;
}

void hook_detach(cancel_node* c, ctx_hook* h) noexcept {
  lock_guard l(c->mu);
  if (!h->linked) return;  // fired (and finished: we hold the lock it ran under)
  if (h->prev) h->prev->next = h->next; else c->hooks = h->next;
  if (h->next) h->next->prev = h->prev;
  h->prev = h->next = nullptr;
  h->linked = false;
}

cancel_node* retain_canceler(const context& ctx) noexcept {
  cancel_node* c = context_access::node(ctx)->canceler;
  if (c) c->retain();
  return c;
}

std::error_code context_err(const context& ctx) noexcept { return ctx.err(); }

done_chan* done_of(cancel_node* n) {
  if (done_chan* d = n->done.load(std::memory_order_acquire)) return d;
  auto* fresh = new done_chan(0);  // allocated outside the lock
  done_chan* d;
  {
    lock_guard l(n->mu);
    d = n->done.load(std::memory_order_relaxed);
    if (d == nullptr) {  // not cancelled yet (finish always sets done)
      n->done.store(fresh, std::memory_order_release);
      d = fresh;
      fresh = nullptr;
    }
  }
  if (fresh) fresh->release();
  return d;
}

std::error_code err_of(cancel_node* n) noexcept {
  const std::uint8_t s = n->state.load(std::memory_order_acquire);
  if (s == 0) return {};
  // Being cancelled: the canceller holds mu until the subtree is cancelled
  // and done is closed. Wait for it (Go's Err() takes c.mu too), so that
  // err() != {} implies done() is closed.
  if (!(s & kCtxSettled)) {
    lock_guard l(n->mu);
  }
  return make_error_code(static_cast<errc>(s & kCtxErrMask));
}

error cause_of(cancel_node* n) {
  lock_guard l(n->mu);
  if (n->state.load(std::memory_order_relaxed) == 0) return {};
  return n->cause;
}

const void* lookup_value(const ctx_node* n, const void* key) noexcept {
  for (; n != nullptr; n = n->parent) {
    if (n->kind != ctx_kind::value) continue;
    auto* v = static_cast<const value_node*>(n);
    if (v->key == key) return v->value;
  }
  return nullptr;
}

std::size_t child_count(const ctx_node* n) noexcept {
  cancel_node* c = n->canceler;
  if (c == nullptr) return 0;
  lock_guard l(c->mu);
  return c->n_children;
}

std::string describe(const ctx_node* n) {
  std::vector<const ctx_node*> chain;
  for (; n != nullptr; n = n->parent) chain.push_back(n);
  std::string s;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const ctx_node* x = *it;
    switch (x->kind) {
      case ctx_kind::background:
        s += "context.Background";
        break;
      case ctx_kind::todo:
        s += "context.TODO";
        break;
      case ctx_kind::cancel:
        s += ".WithCancel";
        break;
      case ctx_kind::timer:
        s += ".WithDeadline(steady+" + format_nanos(x->deadline) + " [" +
             format_nanos(x->deadline - now()) + "])";
        break;
      case ctx_kind::value: {
        auto* v = static_cast<const value_node*>(x);
        s += ".WithValue(";
        s += (v->key_name && *v->key_name) ? v->key_name : "key";
        s += ", " + v->describe(v->value) + ")";
        break;
      }
      case ctx_kind::without_cancel:
        s += ".WithoutCancel";
        break;
      case ctx_kind::after_func:
        break;
    }
  }
  return s;
}

chan_state<std::monostate>* context_done_state(const context& ctx) {
  cancel_node* c = context_access::node(ctx)->canceler;
  return c ? done_of(c) : nullptr;
}

}  // namespace goro::detail

namespace goro {

context todo() noexcept { return detail::context_access::adopt(detail::todo_node()); }

error cause(const context& ctx) {
  detail::cancel_node* c = detail::context_access::node(ctx)->canceler;
  return c ? detail::cause_of(c) : error{};
}

std::string to_string(const context& ctx) { return detail::describe(detail::context_access::node(ctx)); }

}  // namespace goro

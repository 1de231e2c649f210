// goro/sync/errgroup.hpp — golang.org/x/sync/errgroup: a group of goroutines
// working on subtasks of one task, with the first error (or exception)
// collected, the group's context cancelled with it, and an optional limit
// on the number of active goroutines.
//
//   goro::errgroup g;                                   // Go: var g errgroup.Group
//   auto [g, ctx] = goro::errgroup::with_context(parent);   // errgroup.WithContext
//   goro::errgroup g(parent);  auto ctx = g.context();  // the same, C++ shape
//   g.set_limit(8);                                     // g.SetLimit(8)
//   co_await g.ready();                                 // } g.Go(f): park while
//   g.go([=]() -> goro::task<goro::error> { ... });     // }   8 are active, then start
//   if (!g.try_go(f)) ...                               // g.TryGo(f)
//   goro::error err = co_await g.wait();                // g.Wait()
//   // plain threads: g.blocking_go(f) (blocks like Go's g.Go), g.blocking_wait()
//
// f is any callable returning goro::error, std::error_code, an error-code
// enum, std::exception_ptr or void (void: f fails only by throwing), or an
// awaitable of one of these (a coroutine returning task<goro::error>...).
// f (with its captures) is moved into the goroutine, so captures cannot
// dangle; it is destroyed before the goroutine counts as finished.
//
// Semantics (x/sync's, Go 1.20+ cause included):
//  * wait() waits until every f given to go/try_go has run and returned,
//    then returns the first non-nil error (nil if none). The group may be
//    reused after wait(); the first error stays.
//  * The group's context (with_context / errgroup(parent)) is cancelled the
//    first time f returns an error or throws, with that error as its cause
//    (goro::cause(ctx)), or when wait() returns, whichever comes first.
//  * set_limit(n): at most n goroutines of the group active at once; n < 0
//    removes the limit. Changing the limit while goroutines of the group are
//    active aborts ("goro::errgroup::set_limit: ..."); Go documents it as
//    misuse and panics in the cases it can detect.
//  * try_go(f) starts f only if the limit allows it now; false otherwise.
//
// go() never waits — the one difference from Go that matters. Go's g.Go
// blocks its goroutine while the limit is reached; a goro goroutine must
// never block its worker thread, so waiting means parking, i.e. co_await.
// The obvious shape, `co_await g.go([=] { ... })`, cannot be offered: GCC 12
// destroys a temporary with a non-trivial destructor twice when it appears
// in a co_await expression (PR 100611; docs/guide/compiler-hazards.md), and a lambda capturing
// a std::string, a context or a shared_ptr is such a temporary — the heap is
// corrupted (reproduced while writing this). So go(f) is a plain call that cannot be
// forgotten or lose work: it starts f at once when the limit allows, and
// otherwise queues f (FIFO) to start when a goroutine of the group returns
// (wait() waits for queued f too). The queue holds closures, not goroutines,
// and never more than the producer outruns the group; for Go's backpressure
// (a loop over a million items must not queue a million closures) the
// producer parks first with `co_await g.ready()`, which has no operands and
// so no temporaries. A go() whose f would wait forever (limit 0) cannot be
// queued silently: ready() and blocking_go abort then, as Go would hang.
//
// Other differences from Go, by construction:
//  * An exception escaping f is captured (Go: a panic crashes the program).
//    It counts as the group's error (it cancels the context, with the
//    exception as the cause), and wait() rethrows the first exception — even
//    when an ordinary error came first: an exception is never swallowed.
//  * Destroying a group while its goroutines run (or f are queued) aborts:
//    they refer to it; wait() first. Destroying it cancels its context.
//
// Goroutines are started on the runtime of the caller (the default runtime
// from a plain thread), like goro::go; a queued f on the runtime of the
// goroutine whose return frees its slot.
//
// Thread-safety: go/try_go/blocking_go/wait/blocking_wait may be called
// concurrently from goroutines and plain threads; set_limit must not race
// with the others (as in Go). Memory: everything a goroutine of the group
// did happens-before the wait() that sees it finished returns.
//
// Built from goro's own pieces: a wait_group counts the goroutines, a
// semaphore holds the limit, a cancel_cause_func cancels the context; mu_
// guards the first error, the first exception and the queue of f waiting
// for a slot. Lock order: mu_ -> the semaphore's lock (a slot is handed to
// the queue or released in one step under mu_); no user code runs under mu_.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

#include "goro/context.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/error.hpp"
#include "goro/runtime.hpp"
#include "goro/sync/semaphore.hpp"
#include "goro/sync/wait_group.hpp"
#include "goro/task.hpp"

namespace goro {

namespace detail {
// What f returns, after co_await when it returns an awaitable.
template <class F>
struct errgroup_result {
  using raw = std::invoke_result_t<F&>;
  using type = raw;
};
template <class F>
  requires awaitable<std::invoke_result_t<F&>>
struct errgroup_result<F> {
  using raw = std::invoke_result_t<F&>;
  using type = await_result_t<raw>;
};
template <class F>
concept errgroup_fn = std::is_void_v<typename errgroup_result<F>::type> ||
                      std::is_convertible_v<typename errgroup_result<F>::type, error>;
}  // namespace detail

struct errgroup_with_context;

class errgroup {
 public:
  // Go's zero Group: no limit, no context (context() is background()).
  errgroup() noexcept = default;
  // A group with a context derived from parent (Go: errgroup.WithContext).
  explicit errgroup(const goro::context& parent) : errgroup(with_cancel_cause(parent)) {}
  // Go's `g, ctx := errgroup.WithContext(parent)`:
  //   auto [g, ctx] = goro::errgroup::with_context(parent);
  static errgroup_with_context with_context(const goro::context& parent);

  errgroup(const errgroup&) = delete;
  errgroup& operator=(const errgroup&) = delete;
  // Aborts if goroutines of the group are still running, except while the
  // teardown of the runtime they all run on destroys unfinished goroutines
  // (this group's owner among them): their frames go in no order, and
  // functions still queued by go() are then dropped unrun. A group that
  // started goroutines on another runtime (or on two) since its last
  // wait() returned gets no exemption: those may still touch the group, so
  // it aborts.
  ~errgroup() {
    GORO_ASSERT(wg_.count() == 0 || torn_down_with_its_runtime(),
                "goro::errgroup destroyed while goroutines of the group are still running "
                "(co_await g.wait() before the group goes out of scope)");
    pending_fn* p = nullptr;
    {
      detail::lock_guard l(mu_);
      p = std::exchange(pending_head_, nullptr);
      pending_tail_ = nullptr;
    }
    while (p != nullptr) p->drop(std::exchange(p, p->next));
  }

  // The group's context: cancelled by the first error and when wait()
  // returns. background() for a group made without a parent.
  const goro::context& context() const noexcept { return ctx_; }

  // ---- go --------------------------------------------------------------------

  // Starts f in a new goroutine of the group. Never waits: when the limit is
  // reached, f is queued (FIFO) and started as soon as a goroutine of the
  // group returns. For Go's backpressure, `co_await g.ready();` first.
  template <class F>
    requires detail::errgroup_fn<std::decay_t<F>>
  void go(F&& f, detail::source_loc loc = detail::source_loc::current()) {
    semaphore* s = sem_.get();
    if (s == nullptr || s->try_acquire(1)) {
      launch(std::forward<F>(f), s, loc);
      return;
    }
    auto* p = new pending_of<std::decay_t<F>>(std::forward<F>(f), loc);
    wg_.add(1);
    {
      detail::lock_guard l(mu_);
      push_pending(p);
    }
    // A goroutine that returned between the try_acquire above and the push
    // released its slot without seeing p: take free slots for the queue now.
    while (s->try_acquire(1)) {
      pending_fn* q;
      {
        detail::lock_guard l(mu_);
        q = pop_pending();
        if (q == nullptr) {
          s->release(1);  // under mu_, as release_slot does
          return;
        }
      }
      start_pending(q, s);
    }
  }

  class GORO_NODISCARD_AWAITABLE ready_awaiter {
   public:
    ready_awaiter(errgroup* g, const detail::wait_site& s) noexcept : g_(g), site_(s) {}
    ready_awaiter(const ready_awaiter&) = delete;
    ready_awaiter& operator=(const ready_awaiter&) = delete;
    bool await_ready() noexcept {
      semaphore* s = g_->sem_.get();
      if (s == nullptr) return true;  // no limit: always room
      // Room now: done, without taking a slot and giving it back (the answer
      // is a snapshot either way: go() takes its own slot, or queues).
      if (s->would_admit(1)) return true;
      acq_.emplace(s, 1, detail::kNever, site_);
      return acq_->await_ready();
    }
    bool await_suspend(std::coroutine_handle<> h) noexcept { return acq_->await_suspend(h); }
    void await_resume() noexcept {
      if (!acq_) return;
      const acquire_status st = acq_->await_resume();
      GORO_ASSERT(st == acquire_status::ok,
                  "goro::errgroup::ready: the limit is 0, so the group never has room "
                  "(Go's g.Go would block forever)");
      g_->release_slot(g_->sem_.get());  // the slot was free: give it back (or to the queue)
    }

   private:
    errgroup* g_;
    detail::wait_site site_;
    std::optional<semaphore::acquire_awaiter> acq_;
  };

  // co_await g.ready(): parks while the limit is reached, i.e. until a
  // goroutine could start at once (returns at once without a limit). With
  // one goroutine calling go(), `co_await g.ready(); g.go(f);` is exactly
  // Go's blocking g.Go(f); with several, ready() is advisory and go() queues
  // what does not fit. Aborts when the limit is 0.
  // The dump shows it as a semaphore.acquire at the caller's line.
  GORO_NODISCARD_AWAITABLE ready_awaiter ready(GORO_WAIT_SITE_PARAMS) noexcept {
    return ready_awaiter(this, GORO_WAIT_SITE);
  }

  // From a plain thread: blocks the thread while the limit is reached, then
  // starts f (Go's g.Go exactly).
  template <class F>
    requires detail::errgroup_fn<std::decay_t<F>>
  void blocking_go(F&& f, detail::source_loc loc = detail::source_loc::current()) {
    detail::assert_blocking_allowed(
        "goro::errgroup::blocking_go() blocks the thread; inside a goroutine use "
        "g.go(f) (after co_await g.ready() for backpressure)",
        loc);
    semaphore* s = sem_.get();
    if (s != nullptr) {
      const acquire_status st = s->blocking_acquire(1, loc);
      GORO_ASSERT(st == acquire_status::ok,
                  "goro::errgroup::blocking_go: the limit is 0, so no goroutine can ever "
                  "start (Go would block forever)");
    }
    launch(std::forward<F>(f), s, loc);
  }

  // Starts f in a new goroutine only if the limit allows one more now; true
  // if it did (false: f was not started and is dropped). Never waits.
  template <class F>
    requires detail::errgroup_fn<std::decay_t<F>>
  [[nodiscard]] bool try_go(F&& f, detail::source_loc loc = detail::source_loc::current()) {
    semaphore* s = sem_.get();
    if (s != nullptr && !s->try_acquire(1)) return false;
    launch(std::forward<F>(f), s, loc);
    return true;
  }

  // At most n goroutines of the group active at once; n < 0: no limit.
  // Aborts if goroutines of the group are active.
  void set_limit(std::int64_t n) {
    GORO_ASSERT(wg_.count() == 0,
                "goro::errgroup::set_limit: the limit was changed while goroutines of the "
                "group are still active (Go: errgroup: modify limit while goroutines in the "
                "group are still active)");
    if (n < 0)
      sem_.reset();
    else
      sem_ = std::make_unique<semaphore>(n);
  }

  // ---- wait ------------------------------------------------------------------

  class GORO_NODISCARD_AWAITABLE wait_awaiter {
   public:
    wait_awaiter(errgroup* g, const detail::wait_site& s) noexcept
        : g_(g), w_(g->wg_.wait(s.file, s.function, s.line)) {}
    wait_awaiter(const wait_awaiter&) = delete;
    bool await_ready() noexcept { return w_.await_ready(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept { return w_.await_suspend(h); }
    // The first error; rethrows the first exception.
    error await_resume() {
      w_.await_resume();
      return g_->finish_wait();
    }

   private:
    errgroup* g_;
    wait_group::awaiter w_;
  };

  // co_await g.wait(): parks until every goroutine of the group has
  // returned; yields the first error (nil if none) or rethrows the first
  // exception. Cancels the group's context.
  GORO_NODISCARD_AWAITABLE wait_awaiter wait(GORO_WAIT_SITE_PARAMS) noexcept {
    return wait_awaiter(this, GORO_WAIT_SITE);
  }

  // The same from a plain thread.
  error blocking_wait(detail::source_loc loc = detail::source_loc::current()) {
    detail::assert_blocking_allowed(
        "goro::errgroup::blocking_wait() blocks the thread; inside a goroutine use "
        "co_await g.wait()",
        loc);
    wg_.blocking_wait(loc);
    return finish_wait();
  }

  // Goroutines of the group that have not returned yet (racy snapshot).
  std::int64_t active() const noexcept { return wg_.count(); }

 private:
  explicit errgroup(cancelable_context<cancel_cause_func> p)
      : ctx_(std::move(p.ctx)), cancel_(std::move(p.cancel)) {}

  template <class F>
  void launch(F&& f, semaphore* held, detail::source_loc loc) {
    wg_.add(1);
    launch_counted(std::forward<F>(f), held, loc);
  }
  // Starts the goroutine of an f already counted in wg_; on failure (no
  // frame: bad_alloc) undoes what f held and rethrows.
  template <class F>
  void launch_counted(F&& f, semaphore* held, detail::source_loc loc) {
    detail::runtime_impl* rt = detail::runtime_for_spawn();
    note_runtime(rt);
    try {
      detail::launch_detached(rt, loc, &errgroup::body<std::decay_t<F>>, this, held,
                              std::forward<F>(f));
    } catch (...) {
      if (held != nullptr) release_slot(held);
      wg_.done();
      throw;
    }
  }

  // An f queued by go() while the limit was reached (intrusive FIFO under mu_).
  struct pending_fn {
    pending_fn* next = nullptr;
    detail::source_loc loc;
    // Starts the goroutine (holding a slot of `held`) and deletes the node.
    void (*start)(pending_fn*, errgroup*, semaphore*) = nullptr;
    // Deletes the node unrun (the group is destroyed at runtime teardown).
    void (*drop)(pending_fn*) noexcept = nullptr;
  };
  template <class F>
  struct pending_of final : pending_fn {
    F f;
    template <class U>
    pending_of(U&& u, detail::source_loc l) : f(std::forward<U>(u)) {
      loc = l;
      start = [](pending_fn* p, errgroup* g, semaphore* held) {
        std::unique_ptr<pending_of> self(static_cast<pending_of*>(p));
        g->launch_counted(std::move(self->f), held, self->loc);
      };
      drop = [](pending_fn* p) noexcept { delete static_cast<pending_of*>(p); };
    }
  };
  void push_pending(pending_fn* p) noexcept GORO_REQUIRES(mu_) {
    p->next = nullptr;
    if (pending_tail_) pending_tail_->next = p; else pending_head_ = p;
    pending_tail_ = p;
  }
  pending_fn* pop_pending() noexcept GORO_REQUIRES(mu_) {
    pending_fn* p = pending_head_;
    if (p) {
      pending_head_ = p->next;
      if (!pending_head_) pending_tail_ = nullptr;
    }
    return p;
  }
  // Starts a queued f with the slot it is handed. A start that fails
  // (bad_alloc) becomes the group's exception; the slot moves on.
  void start_pending(pending_fn* p, semaphore* held) noexcept {
    try {
      p->start(p, this, held);
    } catch (...) {
      record(error(std::current_exception()), true);
    }
  }
  // Gives a slot back: to the oldest queued f, or to the semaphore. The
  // check and the release are one step under mu_, so a concurrent go()
  // either queued before (and its f gets the slot here) or finds the slot free.
  void release_slot(semaphore* held) noexcept {
    pending_fn* p;
    {
      detail::lock_guard l(mu_);
      p = pop_pending();
      if (p == nullptr) {
        held->release(1);
        return;
      }
    }
    start_pending(p, held);
  }

  // The goroutine: runs f, records its failure, gives back its slot. It
  // takes the goroutine's stored copy of f by reference and moves it into a
  // local inside the try, so that a move that throws is recorded as f's
  // exception and the slot and the count are still given back.
  template <class F>
  static task<> body(errgroup* g, semaphore* held, F&& f) {
    {
      using raw = typename detail::errgroup_result<F>::raw;
      using R = typename detail::errgroup_result<F>::type;
      try {
        F fn(std::move(f));  // destroyed at the end of the try, before done()
        if constexpr (awaitable<raw>) {
          // Named locals: keep co_await out of full-expressions with
          // temporaries (GCC PR 100611).
          raw t = std::invoke(fn);
          if constexpr (std::is_void_v<R>) {
            co_await std::move(t);
          } else {
            R r = co_await std::move(t);
            error e(std::move(r));
            if (e) g->record(e, false);
          }
        } else if constexpr (std::is_void_v<R>) {
          std::invoke(fn);
        } else {
          error e(std::invoke(fn));
          if (e) g->record(e, false);
        }
      } catch (...) {
        g->record(error(std::current_exception()), true);
      }
    }
    if (held != nullptr) g->release_slot(held);
    g->wg_.done();  // last touch of *g: a waiter may free the group now
  }

  // ~errgroup with goroutines counted: true while the teardown of the one
  // runtime they all ran on (since the last wait()) destroys them, or none
  // started: f are only queued, as under limit 0.
  bool torn_down_with_its_runtime() const noexcept {
    const detail::runtime_impl* tearing = detail::destroying_unfinished();
    const detail::runtime_impl* ran = rt_.load(std::memory_order_relaxed);
    return tearing != nullptr && (ran == nullptr || ran == tearing);
  }

  // Records the runtime a goroutine of the group is started on: the first
  // one, or mixed_runtimes() once a second one is seen (~errgroup).
  void note_runtime(detail::runtime_impl* rt) noexcept {
    detail::runtime_impl* seen = rt_.load(std::memory_order_relaxed);
    if (seen == rt || seen == mixed_runtimes()) return;  // the common case: a load
    if (seen == nullptr && rt_.compare_exchange_strong(seen, rt, std::memory_order_relaxed))
      return;
    if (seen != rt) rt_.store(mixed_runtimes(), std::memory_order_relaxed);
  }
  static detail::runtime_impl* mixed_runtimes() noexcept {
    static char tag;
    return reinterpret_cast<detail::runtime_impl*>(&tag);
  }

  // Keeps the first error and the first exception; the first failure of
  // either kind cancels the context with itself as the cause.
  void record(const error& e, bool thrown) noexcept {
    bool first = false;
    {
      detail::lock_guard l(mu_);
      if (thrown && !ex_) ex_ = e.exception();
      if (!err_) {
        err_ = e;
        first = true;
      }
    }
    if (first && cancel_) cancel_(e);
  }

  error finish_wait() {
    // Every goroutine of the group has returned: the runtimes they ran on
    // no longer matter to ~errgroup. A go() racing with this return is
    // Go's misuse too (a WaitGroup reused before Wait returned); the check
    // after the store keeps the abort for most such races, not all (go()
    // does not fence, to stay one load on its common path).
    rt_.store(nullptr, std::memory_order_relaxed);
    if (wg_.count() != 0) rt_.store(mixed_runtimes(), std::memory_order_relaxed);
    error err;
    std::exception_ptr ex;
    {
      detail::lock_guard l(mu_);
      err = err_;
      ex = ex_;
    }
    if (cancel_) cancel_(err);  // Go: Wait cancels the context (nil: cause canceled)
    if (ex) std::rethrow_exception(ex);
    return err;
  }

  goro::context ctx_;        // immutable after construction
  cancel_cause_func cancel_;  // empty for a group without a context
  wait_group wg_;            // the group's active goroutines
  // The limit (null: none); replaced only by set_limit, while nothing is active.
  std::unique_ptr<semaphore> sem_;
  detail::spinlock mu_;
  error err_ GORO_GUARDED_BY(mu_);              // first error (or exception) of f
  std::exception_ptr ex_ GORO_GUARDED_BY(mu_);  // first exception of f
  pending_fn* pending_head_ GORO_GUARDED_BY(mu_) = nullptr;  // go()s waiting for a slot
  pending_fn* pending_tail_ GORO_GUARDED_BY(mu_) = nullptr;
  // The runtime of every goroutine the group started since the last
  // wait() returned (null: none; mixed_runtimes(): more than one). Read by
  // ~errgroup on the thread of a teardown, after the launches it is about
  // (each ran before the frames the teardown destroys stopped).
  std::atomic<detail::runtime_impl*> rt_{nullptr};
};

// What errgroup::with_context returns: auto [g, ctx] = errgroup::with_context(p);
// (Clang 14 cannot capture structured bindings in lambdas: capture
// `c = ctx`, or use `goro::errgroup g(p); auto ctx = g.context();`.)
struct [[nodiscard]] errgroup_with_context {
  errgroup group;
  goro::context ctx;
};

inline errgroup_with_context errgroup::with_context(const goro::context& parent) {
  auto cc = with_cancel_cause(parent);
  goro::context ctx = cc.ctx;
  return errgroup_with_context{errgroup(std::move(cc)), std::move(ctx)};
}

}  // namespace goro

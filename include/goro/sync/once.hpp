// goro/sync/once.hpp — Go's sync.Once, a form that retries after a failure,
// and Go's sync.OnceValue / sync.OnceFunc.
//
//   goro::once once;
//   co_await once.call(init);                      // Go: once.Do(init)
//   once.blocking_call(init);                      // from a plain thread
//
//   // Retry until one call succeeds (f returns bool or std::error_code, or
//   // throws): a failed attempt leaves the once un-done, so the next caller
//   // (or the next waiter) tries again. Go's Once would cache the failure.
//   std::error_code ec = co_await conn_once.call_until_success(dial);
//
//   goro::once_value<config> cfg([] { return load_config(); });   // Go: sync.OnceValue
//   const config& c = co_await cfg.get();          // or cfg.blocking_get()
//   goro::once_func warm([] { warm_caches(); });   // Go: sync.OnceFunc
//   co_await warm();
//
// call(f): exactly one caller runs f; every concurrent caller waits until it
// has returned (Go's Do). If f throws, the exception goes to the caller that
// ran it and the once still counts as done (Go: a panic in f still marks the
// Once done). f may be a plain callable or return an awaitable (a coroutine
// such as a task<>): the runner co_awaits it, and waiters stay parked
// meanwhile. Calling call() on the same once from inside f deadlocks, as in Go.
//
// call_until_success(f): the once becomes done only when f succeeds:
//   f returns void             success unless it throws
//   f returns bool             true means success
//   f returns std::error_code  an empty code means success
// (or an awaitable of one of these). The caller that ran f gets f's result
// (or its exception); a caller that finds the once done gets success (true,
// an empty error_code). Concurrent callers wait for the attempt in progress;
// after a failure the longest-waiting one runs *its* f next (FIFO), and so on
// until one succeeds — each caller tries at most once per call.
//
// Memory: the completion of the successful f happens-before every call that
// finds the once done returns.
//
// State machine (one word; the queue under mu_):
//   idle --first caller (CAS)--> running --success--> done (final)
//                                  |  ^
//                       failure,   |  | failure with waiters: the head
//                       no waiter  v  | waiter becomes the runner (hand-off)
//                                 idle
//   kWaiters: the queue is non-empty (set and cleared under mu_).
// Lifetime: the runner's last access to the once is the CAS that publishes
// done (or idle); waiters it wakes learn the outcome from their own node and
// do not touch the once again. So a once may be destroyed when no party is
// inside one of its members — or by a party that has seen it done, while the
// runner and the waiters it woke are still returning from call().
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "goro/detail/child_task.hpp"
#include "goro/detail/goroutine.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/wait_queue.hpp"
#include "goro/runtime.hpp"
#include "goro/task.hpp"

namespace goro {

namespace detail {
// What f returns, after co_await when it returns an awaitable.
template <class F>
struct once_result {
  using raw = std::invoke_result_t<F&>;
  using type = raw;
};
template <class F>
  requires awaitable<std::invoke_result_t<F&>>
struct once_result<F> {
  using raw = std::invoke_result_t<F&>;
  using type = await_result_t<raw>;
};
template <class F>
using once_result_t = typename once_result<F>::type;

template <class R>
inline constexpr bool once_success_type =
    std::is_void_v<R> || std::is_same_v<R, bool> || std::is_same_v<R, std::error_code>;

inline bool once_succeeded(bool r) noexcept { return r; }
inline bool once_succeeded(const std::error_code& ec) noexcept { return !ec; }
}  // namespace detail

class once {
 public:
  once() noexcept = default;
  once(const once&) = delete;
  once& operator=(const once&) = delete;

  // True once a call() ran f, or a call_until_success() succeeded.
  bool done() const noexcept { return state_.load(std::memory_order_acquire) & kDone; }

  // ---- call (Go's Do) ----

  template <class F>
  class GORO_NODISCARD_AWAITABLE call_awaiter {
   public:
    call_awaiter(once* o, F f, const detail::wait_site& s) : o_(o), f_(std::move(f)), site_(s) {}
    call_awaiter(const call_awaiter&) = delete;
    bool await_ready() const noexcept { return o_->done(); }
    bool await_suspend(std::coroutine_handle<> h) {
      slow_ = o_->call_slow(&f_, site_);
      return detail::start_child(slow_, h);
    }
    void await_resume() {
      if (slow_.valid()) detail::child_result(slow_);  // rethrows f's exception to its runner
    }

   private:
    once* o_;
    F f_;
    detail::wait_site site_;
    task<> slow_;
  };

  // co_await once.call(f): runs f if no call has yet; waits for a run in progress.
  // `site` (defaulted: the caller) is what a dump shows while it waits.
  template <class F>
  GORO_NODISCARD_AWAITABLE call_awaiter<std::decay_t<F>> call(F&& f,
                                                              GORO_WAIT_SITE_PARAMS) {
    static_assert(detail::callable_safe_in_co_await<F>,
                  "goro::once::call: GCC 12 miscompiles a lambda temporary with non-trivial "
                  "captures inside co_await; name the lambda first "
                  "(auto f = [..] {..}; co_await once.call(f);)");
    return call_awaiter<std::decay_t<F>>(this, std::forward<F>(f), GORO_WAIT_SITE);
  }

  // The same from a plain thread; f must be a plain callable.
  template <class F>
  void blocking_call(F&& f, detail::source_loc loc = detail::source_loc::current()) {
    static_assert(!awaitable<std::invoke_result_t<std::decay_t<F>&>>,
                  "goro::once::blocking_call: f returns an awaitable; use co_await once.call(f)");
    assert_not_in_goroutine(loc);
    if (done()) return;
    if (!blocking_take_turn()) return;
    std::exception_ptr err;
    try {
      std::invoke(f);
    } catch (...) {
      err = std::current_exception();
    }
    finish(true);  // done even if f threw (Go)
    if (err) std::rethrow_exception(err);
  }

  // ---- call_until_success ----

  template <class F>
  class GORO_NODISCARD_AWAITABLE until_awaiter {
   public:
    using result = detail::once_result_t<F>;
    until_awaiter(once* o, F f, const detail::wait_site& s) : o_(o), f_(std::move(f)), site_(s) {}
    until_awaiter(const until_awaiter&) = delete;
    bool await_ready() const noexcept { return o_->done(); }
    bool await_suspend(std::coroutine_handle<> h) {
      slow_ = o_->until_slow(&f_, site_);
      return detail::start_child(slow_, h);
    }
    result await_resume() {
      if (slow_.valid()) return detail::child_result(slow_);
      return success_value<result>();
    }

   private:
    once* o_;
    F f_;
    detail::wait_site site_;
    task<result> slow_;
  };

  template <class F>
  GORO_NODISCARD_AWAITABLE until_awaiter<std::decay_t<F>> call_until_success(
      F&& f, GORO_WAIT_SITE_PARAMS) {
    static_assert(detail::callable_safe_in_co_await<F>,
                  "goro::once::call_until_success: GCC 12 miscompiles a lambda temporary with "
                  "non-trivial captures inside co_await; name the lambda first "
                  "(auto f = [..] {..}; co_await once.call_until_success(f);)");
    static_assert(detail::once_success_type<detail::once_result_t<std::decay_t<F>>>,
                  "goro::once::call_until_success: f must return void, bool or "
                  "std::error_code (or an awaitable of one)");
    return until_awaiter<std::decay_t<F>>(this, std::forward<F>(f), GORO_WAIT_SITE);
  }

  template <class F>
  auto blocking_call_until_success(F&& f, detail::source_loc loc = detail::source_loc::current())
      -> std::invoke_result_t<std::decay_t<F>&> {
    using R = std::invoke_result_t<std::decay_t<F>&>;
    static_assert(!awaitable<R>,
                  "goro::once::blocking_call_until_success: f returns an awaitable; use "
                  "co_await once.call_until_success(f)");
    static_assert(detail::once_success_type<R>,
                  "goro::once::call_until_success: f must return void, bool or std::error_code");
    assert_not_in_goroutine(loc);
    if (done() || !blocking_take_turn()) return success_value<R>();
    if constexpr (std::is_void_v<R>) {
      try {
        std::invoke(f);
      } catch (...) {
        finish(false);
        throw;
      }
      finish(true);
    } else {
      std::optional<R> r;
      try {
        r.emplace(std::invoke(f));
      } catch (...) {
        finish(false);
        throw;
      }
      finish(detail::once_succeeded(*r));
      return std::move(*r);
    }
  }

 private:
  static constexpr std::uint32_t kDone = 1, kRunning = 2, kWaiters = 4;

  enum class turn : std::uint8_t { none, done, run };
  struct waiter : detail::wait_node {
    turn t = turn::none;  // written before the wake (or under mu_ by the waiter itself)
  };

  // Waits for this caller's turn inside a goroutine; co_await yields true if
  // it must run f, false if the once is done.
  struct GORO_NODISCARD_AWAITABLE turn_awaiter {
    once* o;
    waiter w;
    detail::wait_site site;
    bool parked = false;
    turn_awaiter(once* on, const detail::wait_site& s) noexcept : o(on), site(s) {}
    turn_awaiter(const turn_awaiter&) = delete;
    ~turn_awaiter() {
      if (parked) o->abandon(w);  // torn down while parked (runtime shutdown)
    }
    bool await_ready() noexcept {
      w.t = o->try_begin();
      return w.t != turn::none;
    }
    // Reached only while another caller runs f: about to queue.
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      detail::note_wait_site(site);
      return o->wait_turn(w, h, &parked);
    }
    bool await_resume() noexcept {
      if (parked) detail::settle_wake(w);  // finish()'s last touch of w
      parked = false;
      return w.t == turn::run;
    }
  };

  template <class R>
  static R success_value() {
    if constexpr (std::is_same_v<R, bool>) return true;
    else if constexpr (!std::is_void_v<R>) return R{};
  }

  template <class F>
  static task<> invoke_async(F& f) {
    using raw = typename detail::once_result<F>::raw;
    if constexpr (awaitable<raw>) {
      raw t = std::invoke(f);  // named: keep temporaries out of co_await (GCC PR 100611)
      co_await std::move(t);
    } else {
      std::invoke(f);
    }
  }

  template <class F>
  task<> call_slow(F* f, detail::wait_site site) {
    turn_awaiter ta(this, site);
    const bool run = co_await ta;
    if (!run) co_return;
    std::exception_ptr err;
    try {
      task<> t = invoke_async(*f);
      co_await std::move(t);
    } catch (...) {
      err = std::current_exception();
    }
    finish(true);  // done even if f threw (Go)
    if (err) std::rethrow_exception(err);
  }

  template <class F>
  task<detail::once_result_t<F>> until_slow(F* f, detail::wait_site site) {
    using R = detail::once_result_t<F>;
    using raw = typename detail::once_result<F>::raw;
    turn_awaiter ta(this, site);
    const bool run = co_await ta;
    if (!run) co_return success_value<R>();
    std::exception_ptr err;
    if constexpr (std::is_void_v<R>) {
      try {
        task<> t = invoke_async(*f);
        co_await std::move(t);
      } catch (...) {
        err = std::current_exception();
      }
      finish(!err);
      if (err) std::rethrow_exception(err);
    } else {
      std::optional<R> r;
      try {
        if constexpr (awaitable<raw>) {
          raw t = std::invoke(*f);
          R v = co_await std::move(t);
          r.emplace(std::move(v));
        } else {
          r.emplace(std::invoke(*f));
        }
      } catch (...) {
        err = std::current_exception();
      }
      finish(!err && detail::once_succeeded(*r));
      if (err) std::rethrow_exception(err);
      co_return std::move(*r);
    }
  }

  // Fast: the first caller of an idle once becomes the runner by one CAS.
  turn try_begin() noexcept {
    std::uint32_t s = state_.load(std::memory_order_acquire);
    if (s & kDone) return turn::done;
    if (s == 0 && state_.compare_exchange_strong(s, kRunning, std::memory_order_acquire,
                                                 std::memory_order_acquire))
      return turn::run;
    return s & kDone ? turn::done : turn::none;
  }
  static void assert_not_in_goroutine(detail::source_loc loc) noexcept {
    detail::assert_blocking_allowed(
        "goro::once: a blocking_ call was made inside a goroutine; use co_await "
        "(it would block a worker thread)",
        loc);
  }
  bool wait_turn(waiter& w, std::coroutine_handle<> h, bool* parked) noexcept;
  bool blocking_take_turn() noexcept;
  void finish(bool success) noexcept;
  void abandon(waiter& w) noexcept;

  std::atomic<std::uint32_t> state_{0};
  detail::spinlock mu_;  // guards waiters_ and every change of kWaiters
  detail::wait_queue waiters_ GORO_GUARDED_BY(mu_);
};

// ---- once_value / once_func ----------------------------------------------------

namespace detail {
// The type-erased function of a once_value: run() for goroutines (co_awaits
// f's result if it is an awaitable), run_blocking() for plain threads (a
// coroutine f then runs as a goroutine on the default runtime, joined).
template <class T>
struct once_fn {
  virtual ~once_fn() = default;
  virtual task<T> run() = 0;
  virtual T run_blocking() = 0;
  // The goroutine run_blocking starts for a coroutine f (a plain function of
  // non-local types, so the goroutine's frame type never names F).
  static task<T> run_of(once_fn* self) { return self->run(); }
};
template <class T, class F>
struct once_fn_impl final : once_fn<T> {
  using raw = std::invoke_result_t<F&>;
  F f;
  explicit once_fn_impl(F fn) : f(std::move(fn)) {}
  task<T> run() override {
    if constexpr (awaitable<raw>) {
      raw t = std::invoke(f);
      if constexpr (std::is_void_v<T>) {
        co_await std::move(t);
      } else {
        T v = co_await std::move(t);
        co_return v;
      }
    } else if constexpr (std::is_void_v<T>) {
      std::invoke(f);
      co_return;
    } else {
      co_return std::invoke(f);
    }
  }
  T run_blocking() override {
    if constexpr (awaitable<raw>)
      return goro::run(&once_fn<T>::run_of, static_cast<once_fn<T>*>(this));
    else
      return std::invoke(f);
  }
};
}  // namespace detail

// Go's sync.OnceValue (and, with T = void, sync.OnceFunc): a value computed
// by f the first time it is asked for, by exactly one caller; concurrent
// callers wait for it. If f throws, every call rethrows that same exception
// (Go re-panics with the same value). f is destroyed once it has run.
//
//   goro::once_value<int> answer([] { return compute(); });
//   int a = co_await answer.get();      // or co_await answer();
//   int b = answer.blocking_get();      // plain threads
//
// f may return T or an awaitable of T. Thread-safety: all members may be
// called concurrently.
template <class T>
class once_value {
 public:
  using value_type = T;
  using reference = std::add_lvalue_reference_t<const T>;  // void for once_func

  template <class F>
    requires(!std::is_same_v<std::decay_t<F>, once_value> &&
             std::is_convertible_v<detail::once_result_t<std::decay_t<F>>, T>)
  explicit once_value(F&& f)
      : fn_(std::make_unique<detail::once_fn_impl<T, std::decay_t<F>>>(std::forward<F>(f))) {}
  once_value(const once_value&) = delete;
  once_value& operator=(const once_value&) = delete;

  class GORO_NODISCARD_AWAITABLE get_awaiter {
   public:
    get_awaiter(once_value* v, const detail::wait_site& s) noexcept : v_(v), site_(s) {}
    get_awaiter(const get_awaiter&) = delete;
    bool await_ready() const noexcept { return v_->once_.done(); }
    bool await_suspend(std::coroutine_handle<> h) {
      slow_ = v_->init(site_);
      return detail::start_child(slow_, h);
    }
    reference await_resume() {
      if (slow_.valid()) detail::child_result(slow_);
      return v_->result();
    }

   private:
    once_value* v_;
    detail::wait_site site_;
    task<> slow_;
  };

  // `site` (defaulted: the caller) is what a dump shows while it waits for
  // another caller's run of f.
  GORO_NODISCARD_AWAITABLE get_awaiter get(GORO_WAIT_SITE_PARAMS) noexcept {
    return get_awaiter(this, GORO_WAIT_SITE);
  }
  GORO_NODISCARD_AWAITABLE get_awaiter operator()(GORO_WAIT_SITE_PARAMS) noexcept {
    return get_awaiter(this, GORO_WAIT_SITE);
  }

  reference blocking_get(detail::source_loc loc = detail::source_loc::current()) {
    auto run = [this] {
      try {
        if constexpr (std::is_void_v<T>) {
          fn_->run_blocking();
          value_.emplace();
        } else {
          value_.emplace(fn_->run_blocking());
        }
      } catch (...) {
        error_ = std::current_exception();
      }
      fn_.reset();
    };
    once_.blocking_call(run, loc);
    return result();
  }
  void blocking_call(detail::source_loc loc = detail::source_loc::current())
    requires std::is_void_v<T>
  {
    blocking_get(loc);
  }

  // True once f has run (successfully or not).
  bool done() const noexcept { return once_.done(); }

 private:
  using stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

  task<> init(detail::wait_site site) {
    auto c = once_.call([this]() -> task<> {
      try {
        task<T> t = fn_->run();
        if constexpr (std::is_void_v<T>) {
          co_await std::move(t);
          value_.emplace();
        } else {
          T v = co_await std::move(t);
          value_.emplace(std::move(v));
        }
      } catch (...) {
        error_ = std::current_exception();
      }
      fn_.reset();
    }, site.file, site.function, site.line);
    co_await c;
  }
  reference result() const {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<T>) return *value_;
  }

  once once_;
  // Written once by the runner before the once is done; read-only afterwards.
  std::optional<stored> value_;
  std::exception_ptr error_;
  std::unique_ptr<detail::once_fn<T>> fn_;
};

// Go's sync.OnceFunc: co_await f() (or f.blocking_call()) runs the function
// once; later calls return at once (rethrowing if it threw).
using once_func = once_value<void>;

}  // namespace goro

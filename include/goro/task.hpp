// goro/task.hpp — goro::task<T>, the coroutine type of goroutine code.
//
// A task is lazy (it starts when awaited), move-only, and owns its frame.
// `co_await t` runs t inside the awaiting goroutine and yields its result or
// rethrows its exception. Starting a task as a separate goroutine is go()/spawn().
//
// A task that is destroyed without ever having been awaited never ran: a
// forgotten co_await. task is [[nodiscard]], and with GORO_DEBUG_CHECKS its
// destructor reports such a task (see unstarted_task_report below).
//
// Resumption protocol (no symmetric-transfer chains: GCC makes them tail
// calls neither below -O2 nor under sanitizers): the awaiter resumes the
// child with an ordinary call, then races the child's final suspend on
// `done_`: whoever arrives second continues the parent.
//   * child finished synchronously -> the parent's await_suspend sees done_,
//     returns false and the parent continues on the same stack frame (a loop
//     of synchronous child tasks does not grow the stack at any -O level);
//   * child parked -> its final suspend later sees done_ and resumes the parent
//     from the worker's loop: stack depth is bounded by the nesting depth of
//     tasks, never by the number of iterations.
#pragma once

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "goro/detail/config.hpp"
#include "goro/detail/frame_alloc.hpp"

namespace goro {

template <class T = void>
class task;

namespace detail {

// The goroutine running on this worker is over (src/scheduler.cpp): its
// own task (its `top`) returned, or the call that was to make that task
// threw. Marks it dead, leaves the registry, hands the outcome to its
// joiner or, when detached, reports an exception and destroys the
// goroutine, this task's frame included. A joinable goroutine's frame
// usually goes too, its outcome moved into the shell first
// (goroutine_ops::finish). `error` points at where the exception (if any)
// is kept: the top task's promise, or the shell's error slot; it takes no
// reference of its own, so that once kDone is published the worker holds
// none and the joiner's thread lets the last one go.
void goroutine_finished(std::exception_ptr* error) noexcept;

struct task_access;

struct task_promise_base : pooled_frame {
  // One word: the awaiting parent's frame address (the continuation; every
  // coroutine frame is at least 8-byte aligned) and three flags in its low
  // bits, so that a task frame spends 8 bytes on them, not 16:
  //   kDone     the race of the file comment: the parent (after resuming
  //             the child) and the child's final suspend each set it with
  //             one fetch_or; whoever finds it set already goes second and
  //             continues the parent;
  //   kStarted  operator co_await was applied (debug report only);
  //   kTop      the goroutine's own task (set by go/spawn, runtime.hpp):
  //             nobody awaits it, and its final suspend ends the goroutine.
  // kStarted, kTop and the address are written while nobody else can see the
  // task (before it first runs), with plain relaxed stores.
  static constexpr std::uintptr_t kDone = 1, kStarted = 2, kTop = 4, kFlags = 7;
  std::atomic<std::uintptr_t> link{0};
  std::exception_ptr error;

  void set_flag(std::uintptr_t f) noexcept {
    link.store(link.load(std::memory_order_relaxed) | f, std::memory_order_relaxed);
  }
  bool has_flag(std::uintptr_t f) const noexcept {
    return (link.load(std::memory_order_relaxed) & f) != 0;
  }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      task_promise_base& p = h.promise();
      if (p.has_flag(kTop)) {
        goroutine_finished(&p.error);  // may destroy this frame: nothing touches it after
        return std::noop_coroutine();
      }
      // The parent is still inside await_suspend: it will see kDone and go on.
      const std::uintptr_t prev = p.link.fetch_or(kDone, std::memory_order_acq_rel);
      if (!(prev & kDone)) return std::noop_coroutine();
      // The parent has suspended: continue it.
      return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(prev & ~kFlags));
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T>
struct task_promise final : task_promise_base {
  std::variant<std::monostate, T> value;
  task<T> get_return_object() noexcept;
  template <class U = T>
    requires std::convertible_to<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value.template emplace<1>(std::forward<U>(v));
  }
  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(std::get<1>(value));
  }
};

template <>
struct task_promise<void> final : task_promise_base {
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace detail

namespace detail {
// Debug builds (GORO_DEBUG_CHECKS): a valid task that was never awaited is
// being destroyed — a forgotten co_await, or a task made and dropped. Not
// reported during stack unwinding (a task dropped because an exception was
// thrown before its co_await is not a mistake). report_unstarted_task()
// (src/parker.cpp) calls unstarted_task_hook if set (tests), else prints a
// warning to stderr naming the running goroutine's spawn site: a task's own
// creation site cannot be captured cheaply (its promise never sees the
// caller). A warning, not an abort: Go has no such rule to enforce, and a
// goroutine that never ran because its runtime was destroyed first drops
// its arguments, a task among them included, legitimately.
inline std::atomic<void (*)()> unstarted_task_hook{nullptr};
void report_unstarted_task() noexcept;
}  // namespace detail

template <class T>
class [[nodiscard("goro::task is lazy: it does nothing until it is co_awaited or given to "
                  "goro::go/spawn")]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task() noexcept = default;
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      drop();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { drop(); }

  bool valid() const noexcept { return static_cast<bool>(h_); }

  struct GORO_NODISCARD_AWAITABLE awaiter {
    std::coroutine_handle<promise_type> h;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> parent) noexcept {
      auto& p = h.promise();
      const auto addr = reinterpret_cast<std::uintptr_t>(parent.address());
      GORO_DEBUG_ASSERT((addr & promise_type::kFlags) == 0,
                        "goro::task: a parent frame that is not 8-byte aligned");
      p.link.store(addr | (p.link.load(std::memory_order_relaxed) & promise_type::kFlags),
                   std::memory_order_relaxed);  // the child has not run: nobody else reads it
      h.resume();
      // true: the child parked and will resume us. false: it already finished.
      const std::uintptr_t prev = p.link.fetch_or(promise_type::kDone, std::memory_order_acq_rel);
      return !(prev & promise_type::kDone);
    }
    T await_resume() { return h.promise().take(); }
  };
  awaiter operator co_await() && noexcept {
    GORO_ASSERT(h_, "co_await on an empty (moved-from) goro::task");
    h_.promise().set_flag(promise_type::kStarted);
    return awaiter{h_};
  }

 private:
  void drop() noexcept {
    if (!h_) return;
#if defined(GORO_DEBUG_CHECKS) && GORO_DEBUG_CHECKS
    if (!h_.promise().has_flag(promise_type::kStarted) && std::uncaught_exceptions() == 0)
      detail::report_unstarted_task();
#endif
    h_.destroy();
  }
  friend promise_type;
  friend detail::task_access;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

namespace detail {
// go/spawn take the frame out of the task their callable returned: from
// then on the goroutine owns it (runtime.hpp, goroutine shells).
struct task_access {
  template <class T>
  static std::coroutine_handle<task_promise<T>> release(task<T>&& t) noexcept {
    return std::exchange(t.h_, {});
  }
};

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}
}  // namespace detail

// ---- awaitable concepts ---------------------------------------------------

namespace detail {
template <class A>
concept direct_awaiter = requires(A a, std::coroutine_handle<> h) {
  { a.await_ready() } -> std::convertible_to<bool>;
  a.await_suspend(h);
  a.await_resume();
};
template <class A>
auto get_awaiter(A&& a) {
  if constexpr (requires { std::forward<A>(a).operator co_await(); })
    return std::forward<A>(a).operator co_await();
  else if constexpr (requires { operator co_await(std::forward<A>(a)); })
    return operator co_await(std::forward<A>(a));
  else
    return std::forward<A>(a);
}
}  // namespace detail

// Something `co_await` accepts.
template <class A>
concept awaitable = detail::direct_awaiter<A> || requires(A&& a) {
  { std::forward<A>(a).operator co_await() } -> detail::direct_awaiter;
} || requires(A&& a) {
  { operator co_await(std::forward<A>(a)) } -> detail::direct_awaiter;
};

// The type `co_await A` produces.
template <awaitable A>
using await_result_t = decltype(detail::get_awaiter(std::declval<A>()).await_resume());

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

}  // namespace goro

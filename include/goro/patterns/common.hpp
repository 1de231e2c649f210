// goro/patterns/common.hpp — what the pattern headers share (not API).
//
// * call_result_t<F, A...>: what calling f(a...) gives after co_await when
//   f is a coroutine (or returns any awaitable); f's own result otherwise.
// * splits_error<R> / split_error(r): a result of type std::pair<V, error>
//   (Go's `return v, err`) is a value V plus an error; anything else is a
//   value with no error.
// * output_closer<T>: closes a stage's output when the stage goroutine ends,
//   however it ends (returned, cancelled, threw, or destroyed by ~runtime) —
//   Go's `defer close(out)`.
// * launch_stage(loc, f, args...): starts a detached goroutine recorded at
//   the caller's location (so a leak report names the user's line, not this
//   header's).
#pragma once

#include <cstddef>
#include <functional>
#include <type_traits>
#include <utility>

#include "goro/chan.hpp"
#include "goro/context.hpp"
#include "goro/error.hpp"
#include "goro/runtime.hpp"
#include "goro/task.hpp"

namespace goro::detail {

template <class R>
struct awaited_result {
  using type = R;
};
template <class R>
  requires awaitable<R>
struct awaited_result<R> {
  using type = await_result_t<R>;
};
// What f(a...) yields, after co_await when it is awaitable.
template <class F, class... A>
using call_result_t = typename awaited_result<std::invoke_result_t<F&, A...>>::type;

template <class R>
struct error_split {
  static constexpr bool splits = false;
  using value_type = R;
};
template <class V>
struct error_split<std::pair<V, error>> {
  static constexpr bool splits = true;
  using value_type = V;
};
// The value type of a result R (V for std::pair<V, goro::error>).
template <class R>
using split_value_t = typename error_split<std::remove_cvref_t<R>>::value_type;

template <class T>
struct output_closer {
  sender<T> out;
  explicit output_closer(sender<T> s) noexcept : out(std::move(s)) {}
  output_closer(const output_closer&) = delete;
  output_closer& operator=(const output_closer&) = delete;
  ~output_closer() { (void)out.close(); }
};

template <class F, class... A>
void launch_stage(source_loc loc, F&& f, A&&... a) {
  launch_detached(runtime_for_spawn(), loc, std::forward<F>(f), std::forward<A>(a)...);
}

}  // namespace goro::detail

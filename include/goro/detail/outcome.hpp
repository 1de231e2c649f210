// goro/detail/outcome.hpp — what a user callable "returned", for the APIs
// that wrap one and must tell success from failure (circuit_breaker::execute,
// goro::retry). Internal.
//
// f may return (after co_await, when it returns an awaitable):
//   void                                    fails only by throwing
//   goro::error, std::error_code, an error-code enum, std::exception_ptr
//   std::pair<V, goro::error>               Go's `return v, err`
//   any other V                             fails only by throwing
// The wrapper then returns goro::error for the first two kinds and
// std::pair<V, goro::error> for the last two, so that it can report its own
// errors (circuit open, context done) in the same value.
#pragma once

#include <type_traits>
#include <utility>

#include "goro/error.hpp"
#include "goro/task.hpp"

namespace goro::detail {

template <class T>
struct is_value_error_pair : std::false_type {};
template <class V>
struct is_value_error_pair<std::pair<V, error>> : std::true_type {};

template <class R>
concept error_like = !std::is_same_v<std::remove_cvref_t<R>, bool> && std::is_convertible_v<R, error>;

// R: what f produced. type: what the wrapper returns.
template <class R>
struct outcome {
  // a plain value V
  using value_type = R;
  using type = std::pair<R, error>;
  static type wrap(R&& r) { return type(std::move(r), error()); }
  static error error_of(const R&) { return {}; }
  static type fail(error e)
    requires std::is_default_constructible_v<R>
  {
    return type(R(), std::move(e));
  }
  static type fail_with(type&& last, error e) {
    last.second = std::move(e);
    return std::move(last);
  }
  static error error_of_result(const type& t) { return t.second; }
};
template <>
struct outcome<void> {
  using type = error;
  static type fail(error e) { return e; }
  static type fail_with(type&&, error e) { return e; }
  static error error_of_result(const type& t) { return t; }
};
template <class R>
  requires error_like<R>
struct outcome<R> {
  using type = error;
  static type wrap(R&& r) { return error(std::move(r)); }
  static error error_of(const R& r) { return error(r); }
  static type fail(error e) { return e; }
  static type fail_with(type&&, error e) { return e; }
  static error error_of_result(const type& t) { return t; }
};
template <class V>
struct outcome<std::pair<V, error>> {
  using type = std::pair<V, error>;
  static type wrap(type&& r) { return std::move(r); }
  static error error_of(const type& r) { return r.second; }
  static type fail(error e)
    requires std::is_default_constructible_v<V>
  {
    return type(V(), std::move(e));
  }
  static type fail_with(type&& last, error e) {
    last.second = std::move(e);
    return std::move(last);
  }
  static error error_of_result(const type& t) { return t.second; }
};

// What calling f (with Args...) produces, after co_await if it is awaitable.
template <class F, class... Args>
struct call_result {
  using raw = std::invoke_result_t<F&, Args...>;
  using type = std::remove_cvref_t<raw>;
};
template <class F, class... Args>
  requires awaitable<std::invoke_result_t<F&, Args...>>
struct call_result<F, Args...> {
  using raw = std::invoke_result_t<F&, Args...>;
  using type = std::remove_cvref_t<await_result_t<raw>>;
};

}  // namespace goro::detail

// goro/error.hpp — goro's error values.
//
//   std::error_code e = ctx.err();            // {} | goro::canceled | goro::deadline_exceeded
//   if (e == goro::canceled) ...              // Go: errors.Is(err, context.Canceled)
//   if (e == std::errc::timed_out) ...        // deadline_exceeded is a timeout (Go: Timeout() == true)
//   goro::error cause = goro::cause(ctx);     // nil, an error code, or an exception
//
// * goro::errc — the error codes goro itself reports (the context errors),
//   in goro's std::error_category, with Go's messages ("context canceled",
//   "context deadline exceeded"). canceled is equivalent to
//   std::errc::operation_canceled and deadline_exceeded to std::errc::timed_out.
// * goro::error — Go's `error` interface value for the places where an error
//   comes from user code (a cancellation cause, later errgroup's first error):
//   empty (Go's nil), a std::error_code (cheap, comparable), or a
//   std::exception_ptr (any exception, rethrowable). It converts implicitly
//   from either, so `cancel(my_errc::db_down)` and
//   `cancel(std::current_exception())` both work.
//
// Thread-safety: error is a value type (copying an exception_ptr is atomic).
#pragma once

#include <exception>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace goro {

enum class errc : int {
  canceled = 1,           // Go: context.Canceled
  deadline_exceeded = 2,  // Go: context.DeadlineExceeded
};

// The category of goro::errc ("goro").
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// Go's names: `ctx.err() == goro::canceled`.
inline constexpr errc canceled = errc::canceled;
inline constexpr errc deadline_exceeded = errc::deadline_exceeded;

}  // namespace goro

template <>
struct std::is_error_code_enum<goro::errc> : std::true_type {};

namespace goro {

// A Go `error` value: nil, an error code, or an exception.
class error {
 public:
  error() noexcept = default;  // nil
  error(std::error_code c) noexcept : code_(c) {}
  template <class E>
    requires std::is_error_code_enum_v<E>
  error(E e) noexcept : code_(make_error_code(e)) {}
  error(std::exception_ptr e) noexcept : ex_(std::move(e)) {}

  // An error holding a copy of exception object x: error::of(my_error("db down")).
  template <class X>
  static error of(X&& x) {
    return error(std::make_exception_ptr(std::forward<X>(x)));
  }

  explicit operator bool() const noexcept { return code_ || ex_; }
  // The code (empty when the error is an exception or nil).
  const std::error_code& code() const noexcept { return code_; }
  // The exception (null when the error is a code or nil).
  const std::exception_ptr& exception() const noexcept { return ex_; }
  // The code's message, the exception's what(), or "" for nil.
  std::string message() const;
  // Throws the exception, or std::system_error(code()); does nothing for nil.
  void throw_if_error() const;

  // Equal: the same code, or the very same exception object.
  friend bool operator==(const error& a, const error& b) noexcept {
    return a.code_ == b.code_ && a.ex_ == b.ex_;
  }
  friend bool operator==(const error& a, const std::error_code& c) noexcept {
    return !a.ex_ && a.code_ == c;
  }
  friend bool operator==(const error& a, const std::error_condition& c) noexcept {
    return !a.ex_ && static_cast<bool>(a.code_) && a.code_ == c;
  }
  template <class E>
    requires std::is_error_code_enum_v<E>
  friend bool operator==(const error& a, E e) noexcept {
    return a == make_error_code(e);
  }
  template <class E>
    requires std::is_error_condition_enum_v<E>
  friend bool operator==(const error& a, E e) noexcept {
    return a == std::error_condition(e);
  }

 private:
  std::error_code code_;
  std::exception_ptr ex_;
};

}  // namespace goro

// goro/select.hpp — Go's select.
//
//   auto r = co_await goro::select(goro::recv(jobs),          // case 0
//                                  goro::send(out, v),        // case 1
//                                  goro::recv(ctx_done),      // case 2
//                                  goro::timeout(100ms));     // case 3 (or recv(after(100ms)))
//   switch (r.index()) {
//     case 0: if (auto& job = r.get<0>()) handle(*job); else /* jobs closed */; break;
//     case 1: /* r.get<1>() is true if delivered, false if out was closed */ break;
//     case 2: ...; case 3: /* timed out */ ...
//   }
//
// Any mix of receive and send cases over channels of different types, at most
// one default_case (makes the select non-blocking) and at most one timeout
// (a deadline without a channel, so no allocation). When several cases are
// ready, one is chosen uniformly at random; exactly one case commits and the
// others leave no trace. The default (or an expired timeout) fires only if
// no other case was ready at one instant (all its channels locked), as in Go. The same channel may appear in several cases. A nil
// channel's case is never ready. Channels are locked in address order.
// `blocking_select(...)` is the same for plain threads.
//
// Pass channel handles by lvalue (the select refers to them while it runs) or
// as temporaries (the select then keeps the channel alive itself); await the
// select in the statement that creates it.
//
// Priority select (seed 003): ask the high-priority channel first with a
// non-blocking select, then wait on all:
//   auto r = co_await select(recv(high), default_case);
//   if (r.index() != 0) r2 = co_await select(recv(high), recv(low));
#pragma once

#include <chrono>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "goro/chan.hpp"

namespace goro {

// Makes a select non-blocking: fires when no other case is ready.
inline constexpr struct default_case_t {
} default_case{};

// A case that fires when d has passed (no channel, no allocation).
inline detail::timeout_case_impl timeout(std::chrono::nanoseconds d) noexcept {
  return detail::timeout_case_impl(detail::deadline_in(d));
}
inline detail::timeout_case_impl deadline(std::chrono::steady_clock::time_point t) noexcept {
  return detail::timeout_case_impl(detail::deadline_of(t));
}

// Receive case.
template <class T>
detail::recv_spec<detail::chan_value_t<T>> recv(const receiver<T>& r) noexcept {
  return {detail::chan_access::state_of(r), false};
}
template <class T>
detail::recv_spec<detail::chan_value_t<T>> recv(receiver<T>&& r) noexcept {
  return {detail::chan_access::state_of(r), true};
}
// Send case: sends v (moved in) if chosen; if not chosen, v is destroyed.
template <class T, class V>
detail::send_spec<detail::chan_value_t<T>> send(const sender<T>& s, V&& v) {
  return {detail::chan_access::state_of(s), detail::chan_value_t<T>(std::forward<V>(v)), false};
}
template <class T, class V>
detail::send_spec<detail::chan_value_t<T>> send(sender<T>&& s, V&& v) {
  return {detail::chan_access::state_of(s), detail::chan_value_t<T>(std::forward<V>(v)), true};
}

namespace detail {
template <class C>
struct case_traits;
template <class V>
struct case_traits<recv_case<V>> {
  using result = std::optional<V>;  // empty: the channel was closed
  static result take(recv_case<V>& c) { return std::move(c.value); }
};
template <class V>
struct case_traits<send_case<V>> {
  using result = bool;  // true: delivered; false: the channel was closed
  static result take(send_case<V>& c) { return c.sent; }
};
template <>
struct case_traits<default_case_impl> {
  using result = std::monostate;
  static result take(default_case_impl&) { return {}; }
};
template <>
struct case_traits<timeout_case_impl> {
  using result = std::monostate;
  static result take(timeout_case_impl&) { return {}; }
};

// The case a select stores for each argument: a goro::recv(...) or
// goro::send(...) spec becomes its recv_case or send_case, default_case its
// implementation, the rest as given.
template <class C>
struct case_of_impl {
  using type = C;
};
template <>
struct case_of_impl<default_case_t> {
  using type = default_case_impl;
};
template <class V>
struct case_of_impl<recv_spec<V>> {
  using type = recv_case<V>;
};
template <class V>
struct case_of_impl<send_spec<V>> {
  using type = send_case<V>;
};
template <class C>
using case_of = typename case_of_impl<std::decay_t<C>>::type;
template <class C>
case_of<C> to_case(C&& c) {
  if constexpr (std::is_same_v<std::decay_t<C>, default_case_t>)
    return default_case_impl{};
  else
    return case_of<C>(std::forward<C>(c));
}
}  // namespace detail

// What a select returns: which case fired and that case's result.
template <class... Cs>
class [[nodiscard]] select_result {
 public:
  using results = std::variant<typename detail::case_traits<Cs>::result...>;
  explicit select_result(results r) noexcept : r_(std::move(r)) {}
  // Index of the case that fired, in argument order.
  std::size_t index() const noexcept { return r_.index(); }
  // The result of case I (asserts that case I fired): std::optional<T> for a
  // receive (empty if the channel was closed), bool for a send (false if the
  // channel was closed), std::monostate for default and timeout.
  template <std::size_t I>
  auto& get() noexcept {
    GORO_ASSERT(r_.index() == I, "goro::select_result::get<I>: case I did not fire");
    return std::get<I>(r_);
  }

 private:
  results r_;
};

namespace detail {
template <class... Cs>
class GORO_NODISCARD_AWAITABLE select_op {
 public:
  explicit select_op(wait_site site, Cs&&... cs) : sel_(std::move(cs)...), site_(site) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    return sel_.suspend(h, wait_kinds::select, site_, nullptr, sizeof...(Cs));
  }
  select_result<Cs...> await_resume() { return result(sel_.finish()); }
  select_result<Cs...> blocking(source_loc loc = source_loc::current()) {
    return result(sel_.blocking(loc));
  }

 private:
  select_result<Cs...> result(int fired) {
    return make(fired, std::make_index_sequence<sizeof...(Cs)>{});
  }
  using results = typename select_result<Cs...>::results;
  template <std::size_t I>
  static results take_at(select_awaiter<Cs...>& sel) {
    return results(std::in_place_index<I>,
                   case_traits<std::tuple_element_t<I, std::tuple<Cs...>>>::take(sel.template get<I>()));
  }
  template <std::size_t... I>
  select_result<Cs...> make(int fired, std::index_sequence<I...>) {
    static constexpr results (*table[])(select_awaiter<Cs...>&) = {&take_at<I>...};
    GORO_ASSERT(fired >= 0 && fired < static_cast<int>(sizeof...(Cs)), "goro::select: no case fired");
    return select_result<Cs...>(table[fired](sel_));
  }
  select_awaiter<Cs...> sel_;
  wait_site site_;
};

template <class... Cs>
auto make_select(wait_site site, Cs&&... cs) {
  static_assert(sizeof...(Cs) > 0, "goro::select needs at least one case (use a nil channel to block forever)");
  return select_op<case_of<Cs>...>(site, to_case(std::forward<Cs>(cs))...);
}
}  // namespace detail

// co_await goro::select(cases...)
// Functions (not a class template like blocking_select, so that GCC warns
// about a select without co_await), one overload per case count: up to
// twelve cases take the caller's wait_site for dumps; more cases fall back
// to the variadic form, whose dump entry names no line.
template <class C1>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, std::forward<C1>(c1));
}
template <class C1, class C2>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, C2&& c2, GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, std::forward<C1>(c1), std::forward<C2>(c2));
}
template <class C1, class C2, class C3>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, C2&& c2, C3&& c3, GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, std::forward<C1>(c1), std::forward<C2>(c2),
                             std::forward<C3>(c3));
}
template <class C1, class C2, class C3, class C4>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, C2&& c2, C3&& c3, C4&& c4, GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, std::forward<C1>(c1), std::forward<C2>(c2), std::forward<C3>(c3),
                             std::forward<C4>(c4));
}
template <class C1, class C2, class C3, class C4, class C5>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, C2&& c2, C3&& c3, C4&& c4, C5&& c5, GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, std::forward<C1>(c1), std::forward<C2>(c2), std::forward<C3>(c3),
                             std::forward<C4>(c4), std::forward<C5>(c5));
}
template <class C1, class C2, class C3, class C4, class C5, class C6>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, C2&& c2, C3&& c3, C4&& c4, C5&& c5, C6&& c6,
                                     GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, std::forward<C1>(c1), std::forward<C2>(c2), std::forward<C3>(c3),
                             std::forward<C4>(c4), std::forward<C5>(c5), std::forward<C6>(c6));
}
// Seven to twelve cases: the same, written with a macro.
#define GORO_SELECT_FWD(i) std::forward<C##i>(c##i)
template <class C1, class C2, class C3, class C4, class C5, class C6, class C7>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, C2&& c2, C3&& c3, C4&& c4, C5&& c5, C6&& c6, C7&& c7,
                                     GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, GORO_SELECT_FWD(1), GORO_SELECT_FWD(2), GORO_SELECT_FWD(3),
                             GORO_SELECT_FWD(4), GORO_SELECT_FWD(5), GORO_SELECT_FWD(6),
                             GORO_SELECT_FWD(7));
}
template <class C1, class C2, class C3, class C4, class C5, class C6, class C7, class C8>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, C2&& c2, C3&& c3, C4&& c4, C5&& c5, C6&& c6, C7&& c7,
                                     C8&& c8, GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, GORO_SELECT_FWD(1), GORO_SELECT_FWD(2), GORO_SELECT_FWD(3),
                             GORO_SELECT_FWD(4), GORO_SELECT_FWD(5), GORO_SELECT_FWD(6),
                             GORO_SELECT_FWD(7), GORO_SELECT_FWD(8));
}
template <class C1, class C2, class C3, class C4, class C5, class C6, class C7, class C8, class C9>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, C2&& c2, C3&& c3, C4&& c4, C5&& c5, C6&& c6, C7&& c7,
                                     C8&& c8, C9&& c9, GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, GORO_SELECT_FWD(1), GORO_SELECT_FWD(2), GORO_SELECT_FWD(3),
                             GORO_SELECT_FWD(4), GORO_SELECT_FWD(5), GORO_SELECT_FWD(6),
                             GORO_SELECT_FWD(7), GORO_SELECT_FWD(8), GORO_SELECT_FWD(9));
}
template <class C1, class C2, class C3, class C4, class C5, class C6, class C7, class C8, class C9,
          class C10>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, C2&& c2, C3&& c3, C4&& c4, C5&& c5, C6&& c6, C7&& c7,
                                     C8&& c8, C9&& c9, C10&& c10, GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, GORO_SELECT_FWD(1), GORO_SELECT_FWD(2), GORO_SELECT_FWD(3),
                             GORO_SELECT_FWD(4), GORO_SELECT_FWD(5), GORO_SELECT_FWD(6),
                             GORO_SELECT_FWD(7), GORO_SELECT_FWD(8), GORO_SELECT_FWD(9),
                             GORO_SELECT_FWD(10));
}
template <class C1, class C2, class C3, class C4, class C5, class C6, class C7, class C8, class C9,
          class C10, class C11>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, C2&& c2, C3&& c3, C4&& c4, C5&& c5, C6&& c6, C7&& c7,
                                     C8&& c8, C9&& c9, C10&& c10, C11&& c11, GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, GORO_SELECT_FWD(1), GORO_SELECT_FWD(2), GORO_SELECT_FWD(3),
                             GORO_SELECT_FWD(4), GORO_SELECT_FWD(5), GORO_SELECT_FWD(6),
                             GORO_SELECT_FWD(7), GORO_SELECT_FWD(8), GORO_SELECT_FWD(9),
                             GORO_SELECT_FWD(10), GORO_SELECT_FWD(11));
}
template <class C1, class C2, class C3, class C4, class C5, class C6, class C7, class C8, class C9,
          class C10, class C11, class C12>
GORO_NODISCARD_AWAITABLE auto select(C1&& c1, C2&& c2, C3&& c3, C4&& c4, C5&& c5, C6&& c6, C7&& c7,
                                     C8&& c8, C9&& c9, C10&& c10, C11&& c11, C12&& c12,
                                     GORO_WAIT_SITE_PARAMS) {
  return detail::make_select(GORO_WAIT_SITE, GORO_SELECT_FWD(1), GORO_SELECT_FWD(2), GORO_SELECT_FWD(3),
                             GORO_SELECT_FWD(4), GORO_SELECT_FWD(5), GORO_SELECT_FWD(6),
                             GORO_SELECT_FWD(7), GORO_SELECT_FWD(8), GORO_SELECT_FWD(9),
                             GORO_SELECT_FWD(10), GORO_SELECT_FWD(11), GORO_SELECT_FWD(12));
}
#undef GORO_SELECT_FWD
// More than twelve cases: no site (a defaulted argument cannot follow a
// deduced pack, and a class template would lose GCC's nodiscard warning);
// the dump says "waiting at an unrecorded place ... on select (N cases)".
template <class... Cs>
  requires(sizeof...(Cs) > 12 || sizeof...(Cs) == 0)
GORO_NODISCARD_AWAITABLE auto select(Cs&&... cs) {
  return detail::make_select({}, std::forward<Cs>(cs)...);
}

// The same for plain threads: blocks the calling thread, and yields the same
// select_result (it *is* one). A class template, like go and spawn, so that
// the caller's location can follow the cases (a blocking_select inside a
// goroutine aborts naming that line).
template <class... Cs>
struct [[nodiscard]] blocking_select : select_result<detail::case_of<Cs>...> {
  static_assert(sizeof...(Cs) > 0,
                "goro::blocking_select needs at least one case (use a nil channel to block forever)");
  explicit blocking_select(Cs&&... cs, detail::source_loc loc = detail::source_loc::current())
      : select_result<detail::case_of<Cs>...>(
            detail::select_op<detail::case_of<Cs>...>(detail::wait_site{},
                                                      detail::to_case(std::forward<Cs>(cs))...)
                .blocking(loc)) {}
};
template <class... Cs>
blocking_select(Cs&&...) -> blocking_select<Cs...>;

}  // namespace goro

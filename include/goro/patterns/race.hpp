// goro/patterns/race.hpp — race_first: run contenders at once, take the
// first success, cancel the others (seed 003 "Pattern 7: Query Racing").
//
//   auto q1 = [&](goro::context ctx) { return replica1.query(ctx, sql); };
//   auto q2 = [&](goro::context ctx) { return replica2.query(ctx, sql); };
//   goro::race_result<Rows> r = co_await goro::race_first(ctx, q1, q2);
//   if (r) use(*r.value);                  // r.winner: which one
//   else for (auto& e : r.errors) log(e);  // every contender failed
//   // or a std::vector of callables of one type: race_first(ctx, replicas)
//
// * Each contender is called as f(ctx), ctx derived from the caller's, in a
//   goroutine of its own, and returns T, or std::pair<T, goro::error> (Go's
//   `return v, err`; a non-nil error is a failure), or an awaitable of
//   either. An exception escaping it is a failure too (its error holds the
//   exception). Every contender must produce the same T.
// * The first success wins: its value and index are returned, and the
//   contenders' context is cancelled at once (their later results are
//   discarded). If every contender fails, value is empty and errors[i] is
//   contender i's error. A success always beats failures that came first.
// * race_first returns only after every contender has returned — a loser
//   that ignores its ctx delays it (unlike the seed's Go, which leaves the
//   losers running and leaks them; here nothing outlives the call).
// * No contenders: std::invalid_argument.
//
// Built from a channel with one slot per contender (a contender's one send
// never waits, so a loser can never be left blocked), a wait_group for the
// contenders, and with_cancel for their context. The callables live in the
// race's frame, which outlives the contenders (it waits for them).
// GCC 12: name lambdas with non-trivially-destructible captures before
// `co_await goro::race_first(...)` (a static_assert says so).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "goro/patterns/common.hpp"
#include "goro/sync/wait_group.hpp"

namespace goro {

template <class T>
struct [[nodiscard]] race_result {
  std::optional<T> value;      // the winner's value; empty when every contender failed
  std::size_t winner = 0;      // the winner's index (meaningful when value is set)
  std::vector<error> errors;   // when every contender failed: errors[i] is contender i's
  explicit operator bool() const noexcept { return value.has_value(); }
};

namespace detail {

template <class F>
using race_value_t = split_value_t<call_result_t<F, const context&>>;

template <class T>
struct race_outcome {
  std::size_t index = 0;
  std::optional<T> value;
  error err;
};

template <class T, class F>
task<> race_contender(F* f, context ctx, std::size_t index, sender<race_outcome<T>> out) {
  race_outcome<T> o;
  o.index = index;
  try {
    using raw = std::invoke_result_t<F&, const context&>;
    using R = std::remove_cvref_t<call_result_t<F, const context&>>;
    std::optional<R> r;
    if constexpr (awaitable<raw>) {
      raw t = std::invoke(*f, std::as_const(ctx));
      R v = co_await std::move(t);
      r.emplace(std::move(v));
    } else {
      r.emplace(std::invoke(*f, std::as_const(ctx)));
    }
    if constexpr (error_split<R>::splits) {
      if (r->second)
        o.err = std::move(r->second);
      else
        o.value.emplace(std::move(r->first));
    } else {
      o.value.emplace(std::move(*r));
    }
  } catch (...) {
    o.err = error(std::current_exception());
  }
  (void)out.try_send(std::move(o));  // one slot per contender: never full
}

// Receives the n outcomes until a success, cancels, waits for everyone.
template <class T>
task<race_result<T>> race_collect(receiver<race_outcome<T>> in, std::size_t n, cancel_func& cancel,
                                  wait_group& wg) {
  race_result<T> res;
  res.errors.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    std::optional<race_outcome<T>> o = co_await in.recv();
    if (!o) break;  // cannot happen: nobody closes it
    if (o->value) {
      res.value = std::move(o->value);
      res.winner = o->index;
      break;
    }
    res.errors[o->index] = std::move(o->err);
  }
  cancel();  // the losers
  co_await wg.wait();
  if (res.value) res.errors.clear();
  co_return res;
}

template <class T, class F>
task<race_result<T>> race_vector(context parent, std::vector<F> fns) {
  auto cc = with_cancel(parent);
  auto out = make_chan<race_outcome<T>>(static_cast<long long>(fns.size()));
  wait_group wg;
  for (std::size_t i = 0; i < fns.size(); ++i)
    wg.go(&race_contender<T, F>, &fns[i], cc.ctx, i, sender<race_outcome<T>>(out));
  task<race_result<T>> t = race_collect<T>(out, fns.size(), cc.cancel, wg);
  race_result<T> r = co_await std::move(t);
  co_return r;
}

template <class T, class... Fs>
task<race_result<T>> race_pack(context parent, Fs... fns) {
  auto cc = with_cancel(parent);
  auto out = make_chan<race_outcome<T>>(static_cast<long long>(sizeof...(Fs)));
  wait_group wg;
  std::size_t i = 0;
  (wg.go(&race_contender<T, Fs>, &fns, cc.ctx, i++, sender<race_outcome<T>>(out)), ...);
  task<race_result<T>> t = race_collect<T>(out, sizeof...(Fs), cc.cancel, wg);
  race_result<T> r = co_await std::move(t);
  co_return r;
}

template <class F>
constexpr void check_race_callable() {
  static_assert(callable_safe_in_co_await<F>,
                "GCC < 14 miscompiles a lambda temporary with non-trivially-destructible "
                "captures inside a co_await expression: name the lambda first "
                "(auto q = [...](goro::context c) {...}; co_await goro::race_first(ctx, q, ...);)");
}

}  // namespace detail

// co_await goro::race_first(ctx, f1, f2, ...): see the header comment.
template <class F, class... Fs>
  requires std::is_invocable_v<std::decay_t<F>&, const context&>
auto race_first(const context& ctx, F&& f, Fs&&... fs) {
  using T = std::remove_cvref_t<detail::race_value_t<std::decay_t<F>>>;
  static_assert((std::is_same_v<T, std::remove_cvref_t<detail::race_value_t<std::decay_t<Fs>>>> && ...),
                "goro::race_first: every contender must produce the same value type");
  detail::check_race_callable<F>();
  (detail::check_race_callable<Fs>(), ...);
  return detail::race_pack<T, std::decay_t<F>, std::decay_t<Fs>...>(ctx, std::forward<F>(f),
                                                                      std::forward<Fs>(fs)...);
}

// co_await goro::race_first(ctx, fns): contenders of one type (moved or
// copied into the race).
template <class F>
auto race_first(const context& ctx, std::vector<F>&& fns) {
  using T = std::remove_cvref_t<detail::race_value_t<F>>;
  if (fns.empty()) throw std::invalid_argument("goro::race_first: no contenders");
  return detail::race_vector<T, F>(ctx, std::move(fns));
}
template <class F>
auto race_first(const context& ctx, const std::vector<F>& fns) {
  return race_first(ctx, std::vector<F>(fns));
}

}  // namespace goro

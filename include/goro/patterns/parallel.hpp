// goro/patterns/parallel.hpp — bounded parallel for_each and map over a
// range (seed 003 "Pattern 4: Bounded Concurrency", and errgroup with
// SetLimit in "Pattern 5"), with the first error cancelling the rest.
//
//   goro::error err = co_await goro::parallel::for_each(ctx, urls, 8, fetch);
//   auto [pages, err] = co_await goro::parallel::map(ctx, urls, 8, fetch_page);
//   // pages[i] is fetch_page(ctx, urls[i]); empty when err is set
//
// * f is called as f(ctx, item) when it accepts that, else f(item), at most
//   `limit` calls at once, each in its own goroutine. item is the range's
//   element (a reference into the range when it yields references). ctx is
//   derived from the caller's: it is cancelled as soon as one call fails.
// * for_each: f returns void, goro::error, std::error_code (or an error-code
//   enum), or an awaitable of one of those. map: f returns U or
//   std::pair<U, goro::error> (Go's `return v, err`), or an awaitable of one.
// * The result: nil / {values, nil} when every call succeeded; otherwise the
//   first error (map then returns no values). After the first error, calls
//   not yet started are skipped and the running ones see ctx cancelled. If
//   the caller's ctx is done before every item was started, its err() is
//   returned. An exception escaping f counts as the first error, cancels the
//   rest, and is rethrown by the co_await (as errgroup::wait does).
//   A call that starts after the cancellation is skipped and reports
//   ctx.err(), so an item is never left unprocessed without an error.
// * map keeps the input's order: values[i] belongs to the i-th item, however
//   the calls interleave.
// * limit == 0 throws std::invalid_argument.
// * The range: an lvalue is used in place (it must outlive the returned
//   task — automatic when you co_await it at once); an rvalue is moved into
//   the task. map needs a forward range (it sizes its output first).
// * Returns only when every goroutine it started has returned.
//
// Built on errgroup (set_limit, ready() for backpressure: at most `limit`
// goroutines exist at once, not one per item) and its context.
// GCC 12: a lambda with non-trivially-destructible captures must be named
// before `co_await goro::parallel::for_each(..., f)` (a static_assert
// says so; HACKING.md, toolchain traps).
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "goro/patterns/common.hpp"
#include "goro/sync/errgroup.hpp"

namespace goro::parallel {

// What map returns: auto [values, err] = co_await goro::parallel::map(...);
template <class U>
struct [[nodiscard]] map_result {
  std::vector<U> values;  // values[i] from the i-th item; empty when err is set
  error err;
};

namespace detail {
template <class F, class Item>
decltype(auto) call_item(F& f, const context& ctx, Item&& item) {
  if constexpr (std::is_invocable_v<F&, const context&, Item&&>)
    return std::invoke(f, ctx, std::forward<Item>(item));
  else
    return std::invoke(f, std::forward<Item>(item));
}
template <class F, class Item>
using item_result_t = decltype(call_item(std::declval<F&>(), std::declval<const context&>(),
                                         std::declval<Item>()));
// The same after co_await when the call returns an awaitable.
template <class F, class Item>
using item_value_t = typename goro::detail::awaited_result<item_result_t<F, Item>>::type;

// Holds one item for its goroutine: a pointer into the range when the range
// yields references, else the value itself.
template <class Ref>
struct item_holder {
  std::remove_reference_t<Ref>* p;
  Ref get() const noexcept { return static_cast<Ref>(*p); }
};
template <class Ref>
  requires(!std::is_reference_v<Ref>)
struct item_holder<Ref> {
  Ref v;
  Ref& get() noexcept { return v; }
};
template <class Ref, class X>
item_holder<Ref> hold(X&& x) {
  if constexpr (std::is_reference_v<Ref>)
    return {std::addressof(x)};
  else
    return {std::forward<X>(x)};
}

// Converts what an item's call produced to the group's error.
template <class X>
error to_error(X&& x) {
  return error(std::forward<X>(x));
}

// One for_each call, in its own goroutine of the group.
template <class F, class Ref>
task<error> for_each_one(F* f, context ctx, item_holder<Ref> item) {
  // Started after the context was cancelled (the first error, or the
  // caller's ctx): skipped, and reported, so that an item never goes
  // unprocessed without an error (errgroup keeps the first one anyway).
  if (ctx.err()) co_return error(ctx.err());
  using raw = item_result_t<F, Ref>;
  if constexpr (awaitable<raw>) {
    raw t = call_item(*f, ctx, item.get());
    if constexpr (std::is_void_v<await_result_t<raw>>) {
      co_await std::move(t);
      co_return error();
    } else {
      auto r = co_await std::move(t);
      co_return to_error(std::move(r));
    }
  } else if constexpr (std::is_void_v<raw>) {
    call_item(*f, ctx, item.get());
    co_return error();
  } else {
    co_return to_error(call_item(*f, ctx, item.get()));
  }
}

// One map call: stores the value in its slot, returns the error.
template <class U, class F, class Ref>
task<error> map_one(F* f, context ctx, item_holder<Ref> item, std::optional<U>* slot) {
  if (ctx.err()) co_return error(ctx.err());  // skipped: see for_each_one
  using raw = item_result_t<F, Ref>;
  using R = std::remove_cvref_t<item_value_t<F, Ref>>;
  std::optional<R> r;
  if constexpr (awaitable<raw>) {
    raw t = call_item(*f, ctx, item.get());
    R v = co_await std::move(t);
    r.emplace(std::move(v));
  } else {
    r.emplace(call_item(*f, ctx, item.get()));
  }
  if constexpr (goro::detail::error_split<R>::splits) {
    if (r->second) co_return std::move(r->second);
    slot->emplace(std::move(r->first));
  } else {
    slot->emplace(std::move(*r));
  }
  co_return error();
}

template <class R, class F>
task<error> for_each_impl(context parent, R items, std::size_t limit, F f) {
  using Ref = std::ranges::range_reference_t<std::remove_reference_t<R>>;
  errgroup g(parent);
  g.set_limit(static_cast<std::int64_t>(limit));
  context ctx = g.context();
  bool all_started = true;
  for (auto&& x : items) {
    co_await g.ready();  // backpressure: at most `limit` goroutines exist
    if (ctx.err()) {
      all_started = false;
      break;
    }
    item_holder<Ref> h = hold<Ref>(std::forward<decltype(x)>(x));
    F* fp = &f;
    g.go([fp, ctx, h]() mutable { return for_each_one<F, Ref>(fp, ctx, std::move(h)); });
  }
  error e = co_await g.wait();  // rethrows the first exception
  if (!e && !all_started) e = parent.err() ? error(parent.err()) : error(ctx.err());
  co_return e;
}

template <class U, class R, class F>
task<map_result<U>> map_impl(context parent, R items, std::size_t limit, F f) {
  using Ref = std::ranges::range_reference_t<std::remove_reference_t<R>>;
  // Slots allocated up front: a goroutine's slot never moves.
  std::vector<std::optional<U>> slots(static_cast<std::size_t>(std::ranges::distance(items)));
  errgroup g(parent);
  g.set_limit(static_cast<std::int64_t>(limit));
  context ctx = g.context();
  bool all_started = true;
  std::size_t i = 0;
  for (auto&& x : items) {
    co_await g.ready();
    if (ctx.err()) {
      all_started = false;
      break;
    }
    item_holder<Ref> h = hold<Ref>(std::forward<decltype(x)>(x));
    F* fp = &f;
    std::optional<U>* slot = &slots[i++];
    g.go([fp, ctx, h, slot]() mutable { return map_one<U, F, Ref>(fp, ctx, std::move(h), slot); });
  }
  error e = co_await g.wait();
  if (!e && !all_started) e = parent.err() ? error(parent.err()) : error(ctx.err());
  map_result<U> out;
  if (e) {
    out.err = std::move(e);
    co_return out;
  }
  out.values.reserve(slots.size());
  for (auto& s : slots) {
    if (!s) {  // cannot happen: an unfilled slot's call returned an error
      out.values.clear();
      out.err = error(make_error_code(errc::canceled));
      co_return out;
    }
    out.values.push_back(std::move(*s));
  }
  co_return out;
}

template <class F>
constexpr void check_callable() {
  static_assert(goro::detail::callable_safe_in_co_await<F>,
                "GCC < 14 miscompiles a lambda temporary with non-trivially-destructible "
                "captures inside a co_await expression: name the lambda first "
                "(auto f = [...]{...}; co_await goro::parallel::for_each(ctx, items, n, f);)");
}

}  // namespace detail

// co_await: nil, or the first error (see the header comment).
template <std::ranges::input_range R, class F>
task<error> for_each(const context& ctx, R&& items, std::size_t limit, F&& f) {
  detail::check_callable<F>();
  if (limit == 0) throw std::invalid_argument("goro::parallel::for_each: limit must be at least 1");
  return detail::for_each_impl<R, std::decay_t<F>>(ctx, std::forward<R>(items), limit, std::forward<F>(f));
}

// co_await: {values in input order, nil}, or {{}, the first error}.
template <std::ranges::forward_range R, class F,
          class U = goro::detail::split_value_t<
              detail::item_value_t<std::decay_t<F>, std::ranges::range_reference_t<std::remove_reference_t<R>>>>>
task<map_result<std::remove_cvref_t<U>>> map(const context& ctx, R&& items, std::size_t limit, F&& f) {
  detail::check_callable<F>();
  if (limit == 0) throw std::invalid_argument("goro::parallel::map: limit must be at least 1");
  return detail::map_impl<std::remove_cvref_t<U>, R, std::decay_t<F>>(ctx, std::forward<R>(items), limit,
                                                                    std::forward<F>(f));
}

}  // namespace goro::parallel

// goro/patterns/pipeline.hpp — pipeline stages (go.dev/blog/pipelines), as
// library pieces: each stage is one goroutine that reads its input channel,
// writes its own output channel, and closes that output when it is done.
//
//   auto [ctx, cancel] = goro::with_cancel(parent);
//   auto nums    = goro::pipe::generate(ctx, std::vector<int>{2, 3, 4});
//   auto squares = goro::pipe::map(ctx, nums, [](int n) { return n * n; });
//   while (auto n = co_await squares.recv()) use(*n);      // 4, 9, 16
//   // Go: for n := range square(ctx, generate(ctx, 2, 3, 4)) { ... }
//
// Stages (all in goro::pipe; every one returns a receiver and starts one
// goroutine, except where noted):
//   generate(ctx, range)        the range's elements (copied into the stage;
//                               pass std::span / std::views::all(v) to
//                               share v instead, and keep v alive until
//                               the stage has exited: see Lifetimes)
//   generate(ctx, {1, 2, 3})    the same from a braced list
//   generate(ctx, g)            g() -> std::optional<T>, until it is empty
//   map(ctx, in, f)             f(v) for each v (Go: square, transform)
//   filter(ctx, in, pred)       the v with pred(v) true
//   take(ctx, in, n)            the first n values (n == 0: closed at once,
//                               no goroutine)
//   batch(ctx, in, size)        std::vector<T> of `size` values; the last
//                               one may be shorter (size 0: invalid_argument)
//   tee(ctx, in)                a pair of receivers, each gets every value
//   or_done(ctx, in)            in's values until in closes or ctx is done
//                               (wraps a channel you do not own)
//   reduce(ctx, in, init, f)    one value, f(f(init, v1), v2)..., delivered
//                               when in closes (capacity 1: never blocks)
//   co_await collect(ctx, in)   the values as a std::vector (a terminal
//                               stage: no goroutine)
// f, pred and g may be coroutines (return task<U> or any awaitable); they
// run in the stage's goroutine, one value at a time, in input order. Every
// stage keeps its input's order. `buffer` (last argument, default 0 =
// unbuffered, like the seeds' make(chan T)) is the output's capacity.
//
// The contract every stage keeps (the design note, docs/design/patterns.md):
//  * It owns its goroutine, its callable and its output's send end; nobody
//    else can send on or close its output (the caller gets a receiver).
//  * It closes its output exactly once, when it exits, however it exits:
//    its input closed, ctx done, its work done (take, reduce), or runtime
//    shutdown. So a consumer's `while (auto v = co_await out.recv())` always
//    ends, and cancellation travels downstream as a close.
//  * Every wait is ctx-aware (recv(ctx) / send(ctx, v)): once ctx is done the
//    stage exits at its next wait, even if nobody reads its output or feeds
//    its input. Cancelling ctx therefore stops the whole pipeline, and no
//    goroutine is left behind; a value in flight at that moment is dropped.
//  * Without cancellation a stage is a Go stage: it waits for its consumer.
//    A consumer that stops reading early (or a take() that has its n values)
//    leaves the stages upstream waiting until ctx is cancelled — so derive
//    ctx with with_cancel and let the cancel_func's destructor stop them,
//    exactly as Go's `defer cancel()`.
//  * An exception escaping f/pred/g ends the stage (its output closes) and
//    then reaches the runtime's uncaught handler like any detached
//    goroutine's (Go: a panic in a stage). Return an error value instead
//    (e.g. make U a struct with an error) when a failure is data.
//
// Lifetimes: a stage owns copies of what it is given, except what the
// caller shares on purpose (a span or view of v, a callable capturing by
// reference). That must outlive the stage, and the only sign that a stage
// has exited is its output closing. Reading the last stage's output until
// it closes, without cancelling, proves every stage upstream has exited (a
// stage closes only after its input closed). Cancelling does not: a stage
// upstream may still be copying its next element when the consumer sees
// its own input close. So when you cancel (or may return early), give the
// stages owned data (the default copy, or std::shared_ptr captures) rather
// than a span or a [&] capture of a local. A stage's callable is destroyed
// with its goroutine, just after its output closes: its destructor must not
// touch what a consumer may free once it has seen the close.
//
// Thread-safety: the receivers are ordinary channel ends (any thread, any
// number of consumers). A stage's callable is called by that stage only.
// GCC 12: the stages are plain calls, so lambdas with captures may be
// written inline; collect() is the only one awaited.
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "goro/patterns/common.hpp"
#include "goro/select.hpp"

namespace goro::pipe {

namespace detail {
using goro::detail::call_result_t;
using goro::detail::output_closer;

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// The element type a range generate sends.
template <class R>
using range_elem_t = std::remove_cvref_t<std::ranges::range_value_t<std::remove_cvref_t<R>>>;

// ---- stage bodies (each is the whole goroutine) ---------------------------------
//
// A body takes the user's values (a range, a function, an accumulator) by
// reference to the goroutine's stored copies, which live as long as the
// goroutine: nothing that could throw is moved before its output_closer
// exists, so the output is closed however the stage ends. (Taken by value,
// a move that threw while the goroutine made its task left the output open
// for good.) The callable is therefore destroyed with the goroutine's
// stored arguments, just after the output closed (a local move would be a
// move that can throw before the stage runs; the regression test
// pipeline_stage_move_throws_at_start pins that none is made).

template <class T, class R>
task<> generate_range_body(context ctx, R&& items, sender<T> out) {
  output_closer<T> closer(out);
  for (auto&& x : items) {
    // An owned container's elements are moved out (the stage is their only
    // user); a view's are copied (they belong to the caller).
    T v = [&]() -> T {
      if constexpr (std::ranges::view<R>)
        return T(x);
      else
        return T(std::move(x));
    }();
    send_status s = co_await out.send(ctx, std::move(v));
    if (s != send_status::ok) co_return;
  }
}

template <class T, class G>
task<> generate_fn_body(context ctx, G&& g, sender<T> out) {
  output_closer<T> closer(out);
  for (;;) {
    if (ctx.err()) co_return;  // an endless g would never wait otherwise
    std::optional<T> v;
    using raw = std::invoke_result_t<G&>;
    if constexpr (awaitable<raw>) {
      raw t = std::invoke(g);
      v = co_await std::move(t);
    } else {
      v = std::invoke(g);
    }
    if (!v) co_return;
    send_status s = co_await out.send(ctx, std::move(*v));
    if (s != send_status::ok) co_return;
  }
}

template <class T, class U, class F>
task<> map_body(context ctx, receiver<T> in, F&& f, sender<U> out) {
  output_closer<U> closer(out);
  for (;;) {
    recv_result<T> r = co_await in.recv(ctx);
    if (!r) co_return;  // closed or cancelled
    using raw = std::invoke_result_t<F&, T&&>;
    if constexpr (awaitable<raw>) {
      raw t = std::invoke(f, std::move(*r.value));
      U u = co_await std::move(t);
      send_status s = co_await out.send(ctx, std::move(u));
      if (s != send_status::ok) co_return;
    } else {
      U u = std::invoke(f, std::move(*r.value));
      send_status s = co_await out.send(ctx, std::move(u));
      if (s != send_status::ok) co_return;
    }
  }
}

template <class T, class P>
task<> filter_body(context ctx, receiver<T> in, P&& pred, sender<T> out) {
  output_closer<T> closer(out);
  for (;;) {
    recv_result<T> r = co_await in.recv(ctx);
    if (!r) co_return;
    bool keep;
    using raw = std::invoke_result_t<P&, const T&>;
    if constexpr (awaitable<raw>) {
      raw t = std::invoke(pred, std::as_const(*r.value));
      keep = co_await std::move(t);
    } else {
      keep = std::invoke(pred, std::as_const(*r.value));
    }
    if (!keep) continue;
    send_status s = co_await out.send(ctx, std::move(*r.value));
    if (s != send_status::ok) co_return;
  }
}

template <class T>
task<> take_body(context ctx, receiver<T> in, std::size_t n, sender<T> out) {
  output_closer<T> closer(out);
  for (std::size_t i = 0; i < n; ++i) {
    recv_result<T> r = co_await in.recv(ctx);
    if (!r) co_return;
    send_status s = co_await out.send(ctx, std::move(*r.value));
    if (s != send_status::ok) co_return;
  }
}

template <class T>
task<> batch_body(context ctx, receiver<T> in, std::size_t size, sender<std::vector<T>> out) {
  output_closer<std::vector<T>> closer(out);
  std::vector<T> cur;
  for (;;) {
    recv_result<T> r = co_await in.recv(ctx);
    if (r.status == recv_status::canceled) co_return;  // the partial batch is dropped
    if (!r) break;                                      // closed: flush below
    cur.push_back(std::move(*r.value));
    if (cur.size() == size) {
      std::vector<T> full = std::exchange(cur, {});
      send_status s = co_await out.send(ctx, std::move(full));
      if (s != send_status::ok) co_return;
    }
  }
  // A close seen after ctx is done may be the cancellation travelling down
  // (upstream stages close on cancel): the remainder may not be all of it.
  if (!cur.empty() && !ctx.err()) {
    send_status s = co_await out.send(ctx, std::move(cur));
    (void)s;  // the stage ends either way
  }
}

template <class T>
task<> tee_body(context ctx, receiver<T> in, sender<T> out1, sender<T> out2) {
  output_closer<T> c1(out1);
  output_closer<T> c2(out2);
  receiver<void> done = ctx.done();
  for (;;) {
    recv_result<T> r = co_await in.recv(ctx);
    if (!r) co_return;
    // Both sends in either order (Go's tee: a consumer of out2 that reads
    // before the consumer of out1 does not deadlock); a sent end is set to
    // nil so the next select skips it.
    sender<T> a = out1;
    sender<T> b = out2;
    for (int k = 0; k < 2; ++k) {
      auto op = goro::select(goro::send(a, *r.value), goro::send(b, *r.value), goro::recv(done));
      auto s = co_await op;
      if (s.index() == 2) co_return;
      if (s.index() == 0) a = {};
      else b = {};
    }
  }
}

template <class T>
task<> or_done_body(context ctx, receiver<T> in, sender<T> out) {
  output_closer<T> closer(out);
  for (;;) {
    recv_result<T> r = co_await in.recv(ctx);
    if (!r) co_return;
    send_status s = co_await out.send(ctx, std::move(*r.value));
    if (s != send_status::ok) co_return;
  }
}

template <class T, class A, class F>
task<> reduce_body(context ctx, receiver<T> in, A&& acc, F&& f, sender<A> out) {
  output_closer<A> closer(out);
  for (;;) {
    recv_result<T> r = co_await in.recv(ctx);
    if (r.status == recv_status::canceled) co_return;  // no value: it would be partial
    if (!r) break;
    using raw = std::invoke_result_t<F&, A&&, T&&>;
    if constexpr (awaitable<raw>) {
      raw t = std::invoke(f, std::move(acc), std::move(*r.value));
      A next = co_await std::move(t);
      acc = std::move(next);
    } else {
      acc = std::invoke(f, std::move(acc), std::move(*r.value));
    }
  }
  if (ctx.err()) co_return;  // the close may be the cancellation travelling down: no partial value
  // Capacity 1 and the only send: never waits, so the stage cannot leak
  // even when nobody reads the result.
  (void)out.try_send(std::move(acc));
}

}  // namespace detail

// ---- generate -------------------------------------------------------------------------

// The elements of `items`, in order, then closed. The range is moved or
// copied into the stage (an owned container's elements are then moved out).
template <std::ranges::input_range R>
  requires(!std::is_invocable_v<std::remove_cvref_t<R>&>)
receiver<detail::range_elem_t<R>> generate(const context& ctx, R&& items, std::size_t buffer = 0,
                                           goro::detail::source_loc loc =
                                               goro::detail::source_loc::current()) {
  using T = detail::range_elem_t<R>;
  auto out = make_chan<T>(static_cast<long long>(buffer));
  goro::detail::launch_stage(loc, &detail::generate_range_body<T, std::remove_cvref_t<R>>, ctx,
                             std::forward<R>(items), sender<T>(out));
  return out;
}
template <class T>
receiver<T> generate(const context& ctx, std::initializer_list<T> items, std::size_t buffer = 0,
                     goro::detail::source_loc loc = goro::detail::source_loc::current()) {
  return generate(ctx, std::vector<T>(items), buffer, loc);
}
// g() -> std::optional<T> (or an awaitable of one): its values until it
// returns an empty optional. An endless g is fine: the stage stops when ctx
// is done (Go's repeatFn).
template <class G, class O = goro::detail::call_result_t<std::decay_t<G>>>
  requires detail::is_optional<O>::value
receiver<typename O::value_type> generate(const context& ctx, G&& g, std::size_t buffer = 0,
                                          goro::detail::source_loc loc =
                                              goro::detail::source_loc::current()) {
  using T = typename O::value_type;
  auto out = make_chan<T>(static_cast<long long>(buffer));
  goro::detail::launch_stage(loc, &detail::generate_fn_body<T, std::decay_t<G>>, ctx,
                             std::forward<G>(g), sender<T>(out));
  return out;
}

// ---- map, filter ------------------------------------------------------------------------

// f(v) for every v of in, in order. f takes T (by value, && or const&) and
// returns U or an awaitable of U (U not void).
template <class T, class F>
auto map(const context& ctx, receiver<T> in, F&& f, std::size_t buffer = 0,
         goro::detail::source_loc loc = goro::detail::source_loc::current()) {
  using U = std::remove_cvref_t<goro::detail::call_result_t<std::decay_t<F>, T&&>>;
  static_assert(!std::is_void_v<U>, "goro::pipe::map: f must return a value (use goro::for_each to consume)");
  auto out = make_chan<U>(static_cast<long long>(buffer));
  goro::detail::launch_stage(loc, &detail::map_body<T, U, std::decay_t<F>>, ctx, std::move(in),
                             std::forward<F>(f), sender<U>(out));
  return receiver<U>(out);
}

// The values v of in with pred(v) true (pred returns bool or an awaitable of bool).
template <class T, class P>
receiver<T> filter(const context& ctx, receiver<T> in, P&& pred, std::size_t buffer = 0,
                   goro::detail::source_loc loc = goro::detail::source_loc::current()) {
  auto out = make_chan<T>(static_cast<long long>(buffer));
  goro::detail::launch_stage(loc, &detail::filter_body<T, std::decay_t<P>>, ctx, std::move(in),
                             std::forward<P>(pred), sender<T>(out));
  return out;
}

// ---- take, batch ---------------------------------------------------------------------

// The first n values of in, then closed. It stops reading in after n values:
// cancel ctx to stop the stages upstream. n == 0: a closed channel, no goroutine.
template <class T>
receiver<T> take(const context& ctx, receiver<T> in, std::size_t n, std::size_t buffer = 0,
                 goro::detail::source_loc loc = goro::detail::source_loc::current()) {
  auto out = make_chan<T>(static_cast<long long>(buffer));
  if (n == 0) {
    (void)out.close();
    return out;
  }
  goro::detail::launch_stage(loc, &detail::take_body<T>, ctx, std::move(in), n, sender<T>(out));
  return out;
}

// Vectors of `size` consecutive values; when in closes, the values left
// over (fewer than size) as a last, shorter vector. When ctx is done the
// partial vector is dropped. size == 0 throws std::invalid_argument.
template <class T>
receiver<std::vector<T>> batch(const context& ctx, receiver<T> in, std::size_t size, std::size_t buffer = 0,
                               goro::detail::source_loc loc = goro::detail::source_loc::current()) {
  if (size == 0) throw std::invalid_argument("goro::pipe::batch: size must be at least 1");
  auto out = make_chan<std::vector<T>>(static_cast<long long>(buffer));
  goro::detail::launch_stage(loc, &detail::batch_body<T>, ctx, std::move(in), size,
                             sender<std::vector<T>>(out));
  return out;
}

// ---- tee, or_done ----------------------------------------------------------------------

// Two receivers that each get every value of in, in order (T is copied).
// The stage hands a value to both before it takes the next, so the slower
// consumer sets the pace (give `buffer` to let the faster one run ahead).
template <class T>
std::pair<receiver<T>, receiver<T>> tee(const context& ctx, receiver<T> in, std::size_t buffer = 0,
                                        goro::detail::source_loc loc =
                                            goro::detail::source_loc::current()) {
  static_assert(std::is_copy_constructible_v<T>, "goro::pipe::tee copies each value");
  auto a = make_chan<T>(static_cast<long long>(buffer));
  auto b = make_chan<T>(static_cast<long long>(buffer));
  goro::detail::launch_stage(loc, &detail::tee_body<T>, ctx, std::move(in), sender<T>(a), sender<T>(b));
  return {receiver<T>(a), receiver<T>(b)};
}

// in's values until in closes or ctx is done (Go's orDone): turns a channel
// you do not own into one whose range loop ends on cancellation.
template <class T>
receiver<T> or_done(const context& ctx, receiver<T> in, std::size_t buffer = 0,
                    goro::detail::source_loc loc = goro::detail::source_loc::current()) {
  auto out = make_chan<T>(static_cast<long long>(buffer));
  goro::detail::launch_stage(loc, &detail::or_done_body<T>, ctx, std::move(in), sender<T>(out));
  return out;
}

// ---- reduce, collect ---------------------------------------------------------------------

// One value, acc = f(std::move(acc), v) over every v of in starting from
// init, sent when in closes; closed without a value if ctx is done first.
// f returns A or an awaitable of A.
template <class T, class A, class F>
receiver<std::decay_t<A>> reduce(const context& ctx, receiver<T> in, A&& init, F&& f,
                                 goro::detail::source_loc loc = goro::detail::source_loc::current()) {
  using Acc = std::decay_t<A>;
  auto out = make_chan<Acc>(1);
  goro::detail::launch_stage(loc, &detail::reduce_body<T, Acc, std::decay_t<F>>, ctx, std::move(in),
                             std::forward<A>(init), std::forward<F>(f), sender<Acc>(out));
  return out;
}

// Receives until in is closed or ctx is done; returns what it received.
// (A terminal stage: it runs in the caller, no goroutine.)
template <class T>
task<std::vector<T>> collect(context ctx, receiver<T> in) {
  std::vector<T> got;
  for (;;) {
    recv_result<T> r = co_await in.recv(ctx);
    if (!r) break;
    got.push_back(std::move(*r.value));
  }
  co_return got;
}

}  // namespace goro::pipe

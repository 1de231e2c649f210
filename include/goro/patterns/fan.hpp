// goro/patterns/fan.hpp — fan-in (merge) and fan-out, as pipeline stages.
//
//   auto in = goro::pipe::generate(ctx, items);
//   auto outs = goro::pipe::fan_out(ctx, in, 3, square);   // 3 workers reading `in`
//   auto all = goro::pipe::merge(ctx, outs);               // fan in
//   auto one = goro::pipe::merge(ctx, c1, c2, c3);         // Go: merge(ctx, c1, c2, c3)
//
//   merge(ctx, {c1, c2, ...}) / merge(ctx, c1, c2, ...)
//       every value of every input, in the order each input gives them
//       (no order between inputs); closed once every input is closed (or
//       at once when there are none), or when ctx is done.
//   fan_out(ctx, in, n, f)
//       n workers each reading `in` and sending f(v) on an output of its
//       own (the seeds' FanOut): a value goes to exactly one worker; each
//       output keeps the order its worker took values in. n == 0 throws
//       std::invalid_argument. Merge the outputs for an unordered parallel map.
//
// Ownership: merge is one goroutine that owns a wait_group and the output's
// send end, plus one forwarding goroutine per input started through that
// wait_group (Go's `output` closure); the owner closes the output after
// wait() — Go's closer goroutine, written once here. fan_out's workers are
// map stages (pipeline.hpp) over the same input: each closes its own output.
// All waits are ctx-aware, so cancelling ctx ends every goroutine here
// (see the contract in pipeline.hpp).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "goro/patterns/common.hpp"
#include "goro/patterns/pipeline.hpp"
#include "goro/sync/wait_group.hpp"

namespace goro::pipe {

namespace detail {

template <class T>
task<> merge_forward(context ctx, receiver<T> in, sender<T> out) {
  for (;;) {
    recv_result<T> r = co_await in.recv(ctx);
    if (!r) co_return;
    send_status s = co_await out.send(ctx, std::move(*r.value));
    if (s != send_status::ok) co_return;
  }
}

template <class T>
task<> merge_body(context ctx, std::vector<receiver<T>> ins, sender<T> out) {
  goro::detail::output_closer<T> closer(out);  // after wg.wait(): every forwarder is gone
  wait_group wg;
  for (receiver<T>& in : ins) wg.go(&merge_forward<T>, ctx, std::move(in), out);
  co_await wg.wait();  // not wait(ctx): the forwarders see ctx themselves, and wg must outlive them
}

}  // namespace detail

template <class T>
receiver<T> merge(const context& ctx, std::vector<receiver<T>> ins, std::size_t buffer = 0,
                  goro::detail::source_loc loc = goro::detail::source_loc::current()) {
  auto out = make_chan<T>(static_cast<long long>(buffer));
  if (ins.empty()) {
    (void)out.close();
    return out;
  }
  goro::detail::launch_stage(loc, &detail::merge_body<T>, ctx, std::move(ins), sender<T>(out));
  return out;
}
template <class T, class... Rs>
  requires(std::is_convertible_v<Rs, receiver<T>> && ...)
receiver<T> merge(const context& ctx, receiver<T> first, Rs&&... rest) {
  std::vector<receiver<T>> ins;
  ins.reserve(1 + sizeof...(Rs));
  ins.push_back(std::move(first));
  (ins.push_back(receiver<T>(std::forward<Rs>(rest))), ...);
  return merge(ctx, std::move(ins));
}

// n workers reading `in`, each sending f(v) on its own output.
template <class T, class F>
auto fan_out(const context& ctx, receiver<T> in, std::size_t n, const F& f, std::size_t buffer = 0,
             goro::detail::source_loc loc = goro::detail::source_loc::current()) {
  using U = std::remove_cvref_t<goro::detail::call_result_t<F, T&&>>;
  if (n == 0) throw std::invalid_argument("goro::pipe::fan_out: needs at least one worker");
  std::vector<receiver<U>> outs;
  outs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) outs.push_back(map(ctx, in, f, buffer, loc));  // f copied per worker
  return outs;
}

}  // namespace goro::pipe

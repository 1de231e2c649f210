// goro/shutdown.hpp — graceful shutdown: wait for in-flight work up to a
// grace period, then cancel it and wait for the rest.
//
//   auto [ctx, cancel] = goro::with_cancel(goro::background());   // the work's context
//   goro::wait_group wg;  wg.go(worker, ctx, ...);                // the in-flight work
//   ...                                                           // a signal, a request to stop
//   auto r = co_await goro::shutdown::drain(wg, 5s, cancel);
//   if (!r) log("shutdown: cancelled work still running after 5s");
//
// drain(group, grace, cancel) waits until the group (a wait_group's counter
// at zero, an errgroup's goroutines all returned) is finished or the grace
// period is over, whichever comes first. Finished first: it returns
// {in_time = true} and cancel is NOT called. Otherwise it calls cancel() once
// and waits, without a bound, for the group to finish (the work must honour
// its context), then returns {in_time = false}. When drain returns, the group
// is finished either way: nothing of it is left running.
//
//  * grace is a duration, or a context whose end ends the grace period (a
//    deadline, a second signal_context, the parent's cancellation...). A
//    grace context that is already done cancels at once unless the group is
//    already finished.
//  * cancel is any callable taken by lvalue reference (it must outlive the
//    co_await): a cancel_func, a cancel_cause_func, a signal_stop, a lambda
//    that closes a channel. It is called at most once.
//  * errgroup forms: r.err is the group's first error (g.wait()'s result); an
//    exception from the group is rethrown from drain, as g.wait() does. The
//    group is waited for by a helper goroutine that always finishes before
//    drain returns. wait_group forms: r.err is nil.
//  * blocking_drain: the same from a plain thread (never inside a goroutine).
//
// Go's shape this replaces: close(shutdown); go func() { wg.Wait();
// close(done) }(); select { case <-done: case <-time.After(timeout): } — which
// leaves the waiter goroutine and the workers running after a timeout.
//
// Thread-safety: as the group's wait(); drain does not own the group, the
// grace context or cancel, which must outlive it.
#pragma once

#include <chrono>
#include <concepts>
#include <exception>
#include <optional>
#include <system_error>
#include <utility>

#include "goro/chan.hpp"
#include "goro/context.hpp"
#include "goro/error.hpp"
#include "goro/runtime.hpp"
#include "goro/sync/errgroup.hpp"
#include "goro/sync/wait_group.hpp"
#include "goro/task.hpp"

namespace goro {
namespace shutdown {

struct [[nodiscard]] drain_result {
  bool in_time = false;  // finished within the grace period; cancel was not called
  error err;             // errgroup forms: the group's first error; else nil
  explicit operator bool() const noexcept { return in_time; }
};

}  // namespace shutdown

// (In goro::detail, not goro::shutdown::detail, which would hide goro::detail
// from code in goro::shutdown.)
namespace detail {
using shutdown::drain_result;

// A wait_group drain. keep holds the grace context's own cancel function
// (the duration forms) alive for the length of the drain.
template <class Cancel>
task<drain_result> drain_group(wait_group& wg, context grace, cancel_func keep, Cancel& cancel) {
  std::error_code ec = co_await wg.wait(grace);
  if (!ec) co_return drain_result{true, {}};
  cancel();
  co_await wg.wait();
  (void)keep;
  co_return drain_result{false, {}};
}

template <class Cancel>
drain_result blocking_drain_group(wait_group& wg, const context& grace, Cancel& cancel) {
  if (!wg.blocking_wait(grace)) return {true, {}};
  cancel();
  wg.blocking_wait();
  return {false, {}};
}

// What the errgroup waiter reports: g.wait()'s error, or what it threw.
struct drain_group_outcome {
  error err;
  std::exception_ptr thrown;
};

inline task<> drain_wait_errgroup(errgroup* g, sender<drain_group_outcome> out) {
  drain_group_outcome o;
  try {
    error e = co_await g->wait();
    o.err = std::move(e);
  } catch (...) {
    o.thrown = std::current_exception();
  }
  (void)out.try_send(std::move(o));  // capacity 1, the only send
}

inline drain_result drain_finish(drain_group_outcome& o, bool in_time) {
  if (o.thrown) std::rethrow_exception(o.thrown);
  return drain_result{in_time, std::move(o.err)};
}

template <class Cancel>
task<drain_result> drain_group(errgroup& g, context grace, cancel_func keep, Cancel& cancel) {
  chan<drain_group_outcome> done = make_chan<drain_group_outcome>(1);
  sender<drain_group_outcome> out = done;
  goro::go(&drain_wait_errgroup, &g, std::move(out));
  recv_result<drain_group_outcome> r = co_await done.recv(grace);
  bool in_time = r.status == recv_status::ok;
  if (!in_time) {
    r = done.try_recv();  // finished just as the grace period ended: in time
    in_time = r.status == recv_status::ok;
  }
  if (!in_time) {
    cancel();
    std::optional<drain_group_outcome> v = co_await done.recv();
    r.value = std::move(v);
  }
  (void)keep;
  co_return drain_finish(*r.value, in_time);
}

template <class Cancel>
drain_result blocking_drain_group(errgroup& g, const context& grace, Cancel& cancel) {
  chan<drain_group_outcome> done = make_chan<drain_group_outcome>(1);
  sender<drain_group_outcome> out = done;
  goro::go(&drain_wait_errgroup, &g, std::move(out));
  recv_result<drain_group_outcome> r = done.blocking_recv(grace);
  bool in_time = r.status == recv_status::ok;
  if (!in_time) {
    r = done.try_recv();
    in_time = r.status == recv_status::ok;
  }
  if (!in_time) {
    cancel();
    r.value = done.blocking_recv();
  }
  return drain_finish(*r.value, in_time);
}

}  // namespace detail

namespace shutdown {

// Each form exists once for both groups; detail overloads do the group's part.
template <class G>
concept drainable = std::same_as<G, wait_group> || std::same_as<G, errgroup>;

template <drainable Group, class Cancel>
  requires std::invocable<Cancel&>
task<drain_result> drain(Group& g, const context& grace, Cancel& cancel) {
  return detail::drain_group(g, grace, cancel_func{}, cancel);
}
template <drainable Group, class Cancel>
  requires std::invocable<Cancel&>
task<drain_result> drain(Group& g, std::chrono::nanoseconds grace, Cancel& cancel) {
  auto t = with_timeout(background(), grace);
  return detail::drain_group(g, std::move(t.ctx), std::move(t.cancel), cancel);
}
template <drainable Group, class Cancel>
  requires std::invocable<Cancel&>
drain_result blocking_drain(Group& g, const context& grace, Cancel& cancel) {
  return detail::blocking_drain_group(g, grace, cancel);
}
template <drainable Group, class Cancel>
  requires std::invocable<Cancel&>
drain_result blocking_drain(Group& g, std::chrono::nanoseconds grace, Cancel& cancel) {
  auto t = with_timeout(background(), grace);
  return detail::blocking_drain_group(g, t.ctx, cancel);
}

}  // namespace shutdown
}  // namespace goro

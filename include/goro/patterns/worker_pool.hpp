// goro/patterns/worker_pool.hpp — a pool of N worker goroutines with a
// bounded job queue and a results channel (seeds 000/001/003's WorkerPool).
//
//   goro::worker_pool<Job, Output> pool(ctx, {.workers = 5, .queue = 100}, process);
//   goro::go(consume, pool.results());           // for (r := range pool.Results())
//   for (...) if (co_await pool.submit(job) != goro::submit_status::ok) break;
//   pool.stop();                                 // drain: finish what is queued
//   co_await pool.wait();                        // every worker has returned
//
// * f is called as f(ctx, job) (ctx: the pool's context) when it accepts
//   that, else f(job); job is passed as an lvalue (Job& or const Job&, or by
//   value: a copy), because the result carries the job back. f returns R, or
//   an awaitable of R (a coroutine); R = void gives results without a value.
//   N workers call f concurrently: f must be safe to call that way.
// * Every job taken by a worker gives one job_result on results(): the job,
//   and either f's value or, when f threw, the exception as an error. An
//   exception never kills a worker or the pool.
// * submit(job): co_await; waits while the queue is full. ok: queued (it will
//   run unless the pool is cancelled first); stopped: the pool was stopped
//   or its context is done (the job was not queued). submit(ctx, job)
//   also stops waiting when the caller's ctx is done (canceled).
//   try_submit never waits (full when the queue is full);
//   blocking_submit is submit for plain threads.
// * stop(stop_mode::drain) (the default): no more submits (they report
//   stopped); the workers finish every queued job, deliver the results, and
//   exit. stop(stop_mode::cancel): also cancels the pool's context: queued
//   jobs are dropped unrun, running jobs see ctx cancelled, a result that
//   cannot be delivered at once is dropped. stop never waits and may be
//   called again (cancel after drain escalates). Cancelling the parent
//   context is stop(cancel).
// * results() is closed after the last worker exits, so
//   `while (auto r = co_await pool.results().recv())` ends after stop. The
//   results channel is bounded (options.results): keep reading it, or a
//   drain waits for the reader (a cancel never does).
// * wait() (co_await) / blocking_wait(): until every worker has exited.
// * ~worker_pool() is stop(cancel) without waiting; the workers exit at
//   their next wait. If f uses objects of the owner's scope, co_await wait()
//   before leaving it.
// * Zero workers: std::invalid_argument. A queue of 0 is an unbuffered
//   hand-off (a submit waits for a free worker).
//
// Ownership: the pool's state (context, cancel function, the two channels, a
// wait_group, the live-worker count, f) is shared by the pool object and
// every worker, so it lives until the last of them is gone. Each worker's
// goroutine owns a reference; on exit it decrements the live count, and the
// last one closes the job queue and the results channel, then the wait_group
// is released — in that order, so a wait() that returns finds both closed.
// Thread-safety: every member may be called from any goroutine or thread
// concurrently. GCC 12: name a job before `co_await pool.submit(job)` when
// it is a temporary with a destructor (HACKING.md, toolchain traps).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "goro/patterns/common.hpp"
#include "goro/select.hpp"
#include "goro/sync/wait_group.hpp"

namespace goro {

enum class [[nodiscard]] submit_status {
  ok,        // queued
  full,      // try_submit only: the queue is full
  stopped,   // the pool is stopped (or its context is done): not queued
  canceled,  // submit(ctx, job) only: the caller's ctx was done first
};

enum class stop_mode {
  drain,   // finish every queued job, then exit
  cancel,  // cancel the pool's context: drop queued jobs, stop at the next wait
};

struct worker_pool_options {
  std::size_t workers = 1;  // goroutines running jobs; 0 is rejected
  std::size_t queue = 0;    // capacity of the job queue (0: hand-off)
  std::size_t results = 0;  // capacity of the results channel
};

// One finished job.
template <class Job, class R>
struct job_result {
  using value_type = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  Job job;
  std::optional<value_type> value;  // f's result (empty when f threw)
  error err;                        // the exception f threw (nil otherwise)
  explicit operator bool() const noexcept { return !err; }
};

template <class Job, class R>
class worker_pool {
 public:
  using result_type = job_result<Job, R>;

  template <class F>
  worker_pool(const goro::context& parent, worker_pool_options opts, F&& f,
              detail::source_loc loc = detail::source_loc::current()) {
    if (opts.workers == 0) throw std::invalid_argument("goro::worker_pool: needs at least one worker");
    using Fn = std::decay_t<F>;
    auto st = std::make_shared<state>(parent, opts);
    auto fn = std::make_shared<Fn>(std::forward<F>(f));
    st_ = st;
    const std::size_t n = opts.workers;
    st->live.store(n, std::memory_order_relaxed);
    st->wg.add(static_cast<std::int64_t>(n));
    for (std::size_t i = 0; i < n; ++i) {
      try {
        detail::launch_stage(loc, &worker_pool::worker<Fn>, st, fn);
      } catch (...) {
        // Out of memory: the workers not started never count; cancel the rest.
        const std::size_t missing = n - i;
        stop(stop_mode::cancel);
        if (st->live.fetch_sub(missing, std::memory_order_acq_rel) == missing) st->close_all();
        st->wg.add(-static_cast<std::int64_t>(missing));
        throw;
      }
    }
  }
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;
  ~worker_pool() {
    if (st_) stop(stop_mode::cancel);
  }

  // co_await pool.submit(job): ok or stopped (see the header comment).
  task<submit_status> submit(Job job) {
    std::shared_ptr<state> st = st_;
    if (st->ctx.err()) co_return submit_status::stopped;
    send_status s = co_await st->jobs.send(st->ctx, std::move(job));
    co_return s == send_status::ok ? submit_status::ok : submit_status::stopped;
  }
  // The same, also cut short (canceled) when ctx is done.
  task<submit_status> submit(goro::context ctx, Job job) {
    std::shared_ptr<state> st = st_;
    if (st->ctx.err()) co_return submit_status::stopped;
    if (ctx.err()) co_return submit_status::canceled;
    receiver<void> pool_done = st->ctx.done();
    receiver<void> caller_done = ctx.done();
    auto op = goro::select(goro::send(st->jobs, std::move(job)), goro::recv(pool_done), goro::recv(caller_done));
    auto r = co_await op;
    if (r.index() == 0) co_return r.template get<0>() ? submit_status::ok : submit_status::stopped;
    co_return r.index() == 1 ? submit_status::stopped : submit_status::canceled;
  }
  // Never waits: ok, full or stopped. The job is consumed only when ok.
  submit_status try_submit(Job& job) {
    if (st_->ctx.err()) return submit_status::stopped;
    switch (st_->jobs.try_send(job)) {
      case send_status::ok: return submit_status::ok;
      case send_status::full: return submit_status::full;
      default: return submit_status::stopped;
    }
  }
  submit_status try_submit(Job&& job) { return try_submit(job); }
  // submit for plain threads (blocks the thread; not inside a goroutine).
  submit_status blocking_submit(Job job) {
    if (st_->ctx.err()) return submit_status::stopped;
    return st_->jobs.blocking_send(st_->ctx, std::move(job)) == send_status::ok ? submit_status::ok
                                                                                 : submit_status::stopped;
  }

  // One job_result per job a worker took; closed after the last worker exits.
  receiver<result_type> results() const noexcept { return st_->results; }

  // Stops taking jobs; drain finishes the queued ones, cancel drops them and
  // cancels the pool's context. Never waits; idempotent.
  void stop(stop_mode mode = stop_mode::drain) noexcept {
    (void)st_->jobs.close();
    if (mode == stop_mode::cancel) st_->cancel();
  }
  // co_await pool.wait(): until every worker has exited (results() is closed then).
  [[nodiscard]] wait_group::awaiter wait() noexcept { return st_->wg.wait(); }
  void blocking_wait() noexcept { st_->wg.blocking_wait(); }

  // The pool's context: cancelled by stop(cancel), the destructor, or the parent.
  const goro::context& context() const noexcept { return st_->ctx; }
  std::size_t workers() const noexcept { return st_->live.load(std::memory_order_acquire); }

 private:
  struct state {
    state(const goro::context& parent, const worker_pool_options& o)
        : jobs(make_chan<Job>(static_cast<long long>(o.queue))),
          results(make_chan<result_type>(static_cast<long long>(o.results))) {
      auto c = with_cancel(parent);
      ctx = std::move(c.ctx);
      cancel = std::move(c.cancel);
    }
    void close_all() noexcept {
      (void)jobs.close();
      (void)results.close();
    }
    goro::context ctx;
    cancel_func cancel;
    chan<Job> jobs;
    chan<result_type> results;
    wait_group wg;
    std::atomic<std::size_t> live{0};
  };

  template <class Fn>
  static task<> worker(std::shared_ptr<state> st, std::shared_ptr<Fn> fn) {
    // Runs before the parameters (st) are destroyed: st outlives wg.done().
    // This worker's share of fn goes first, so the last worker destroys the
    // callable before the results close and wait() returns.
    struct on_exit {
      state* s;
      std::shared_ptr<Fn>* f;
      ~on_exit() {
        f->reset();
        if (s->live.fetch_sub(1, std::memory_order_acq_rel) == 1) s->close_all();
        s->wg.done();
      }
    } guard{st.get(), &fn};
    for (;;) {
      recv_result<Job> j = co_await st->jobs.recv(st->ctx);
      if (!j) co_return;              // drained and closed, or cancelled
      if (st->ctx.err()) co_return;   // cancelled: a queued job is dropped unrun
      result_type res{std::move(*j.value), std::nullopt, error()};
      try {
        // Named locals around co_await (GCC PR 100611).
        using raw = call_t<Fn>;
        if constexpr (awaitable<raw>) {
          using V = await_result_t<raw>;
          raw t = call(*fn, st->ctx, res.job);
          if constexpr (std::is_void_v<V>) {
            co_await std::move(t);
            res.value.emplace();
          } else {
            V v = co_await std::move(t);
            res.value.emplace(std::move(v));
          }
        } else if constexpr (std::is_void_v<raw>) {
          call(*fn, st->ctx, res.job);
          res.value.emplace();
        } else {
          res.value.emplace(call(*fn, st->ctx, res.job));
        }
      } catch (...) {
        res.err = error(std::current_exception());
      }
      send_status s = co_await st->results.send(st->ctx, std::move(res));
      if (s != send_status::ok) co_return;
    }
  }

  // f(ctx, job) when f takes a context, else f(job).
  template <class Fn>
  static constexpr bool takes_ctx = std::is_invocable_v<Fn&, const goro::context&, Job&>;
  template <class Fn>
  static decltype(auto) call(Fn& f, const goro::context& ctx, Job& job) {
    if constexpr (takes_ctx<Fn>) {
      return std::invoke(f, ctx, job);
    } else {
      static_assert(std::is_invocable_v<Fn&, Job&>,
                    "goro::worker_pool: f must be callable as f(ctx, job) or f(job)");
      (void)ctx;
      return std::invoke(f, job);
    }
  }
  template <class Fn>
  using call_t = decltype(call(std::declval<Fn&>(), std::declval<const goro::context&>(),
                               std::declval<Job&>()));

  std::shared_ptr<state> st_;
};

}  // namespace goro

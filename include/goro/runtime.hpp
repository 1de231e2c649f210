// goro/runtime.hpp — runtimes, goroutines (go, spawn, run), yield, spawn_blocking.
//
//   int main() { return goro::run(async_main); }
//
//   goro::go(f, args...);                    // detached goroutine
//   auto h = goro::spawn(f, args...);        // joinable: co_await std::move(h) / h.join()
//   auto v = co_await std::move(h).wait();   // the same; a dump names this line
//   co_await goro::yield();
//   auto v = co_await goro::spawn_blocking([]{ return read_file(); });
//
// The callable and every argument are decay-copied (moved when given rvalues)
// before go/spawn return, and live exactly as long as the goroutine, so a
// lambda's captures stay valid whatever happens to the caller's scope. Pass
// std::ref(x) to share x by reference on purpose. As with Go's `go f(x)`,
// the callable is called on the new goroutine; an exception from that call
// (or from moving an argument into it) ends the goroutine like one its task
// threw.
//
// Thread-safety: all functions here may be called from any thread. A runtime
// must outlive the goroutines it runs; its destructor stops the workers and
// destroys (after reporting) goroutines that are still alive.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "goro/detail/config.hpp"
#include "goro/detail/goroutine.hpp"
#include "goro/task.hpp"

namespace goro {

enum class goroutine_state : std::uint8_t { runnable, running, waiting };

// What a dump or a report knows about a goroutine (goro/debug.hpp formats
// it). Strings are static (string literals, type names): they stay valid.
struct goroutine_info {
  std::uint64_t id = 0;
  const char* file = "";  // spawn site
  int line = 0;
  const char* wait_reason = nullptr;  // null when runnable or running
  goroutine_state state = goroutine_state::runnable;
  // While waiting: the co_await's location (the caller of recv(), lock(),
  // sleep_for(), ...); wait_file is null when the wait has no site (a
  // plain co_await on a join_handle, a select of more than twelve cases).
  const char* wait_file = nullptr;
  int wait_line = 0;
  const char* wait_function = nullptr;
  // The object waited on: its kind ("chan", "mutex", "wait_group", ...; null
  // for a select) and address (only an identity: it may be gone by now).
  const char* wait_object_kind = nullptr;
  const void* wait_object = nullptr;
  // Channels: element type, capacity, and length. A receiver parks only
  // while the buffer is empty and a sender only while it is full, so the
  // length follows from the wait (0 or cap) and holds while it lasts.
  std::string_view chan_elem_type;
  std::size_t chan_cap = 0;
  std::size_t chan_len = 0;
  // select: the number of cases; join: the joined goroutine's id (low 32 bits).
  std::uint32_t wait_aux = 0;
  // How long it has been waiting (coarse clock: 1-4 ms steps).
  std::chrono::milliseconds waiting_for{0};
};

namespace detail {
// GORO_MAXPROCS from the environment when it is a number from 1 to 4096 (Go's
// GOMAXPROCS), else the number of cores. Read once per process.
unsigned default_workers() noexcept;
// The parsing behind it: `env` (may be null) or `cores` when it is not a
// valid count; a set but invalid value is reported on stderr.
unsigned workers_from_env(const char* env, unsigned cores) noexcept;
// GORO_SEED from the environment (a number from 1 to 2^64-1), read once per
// process; 0 when unset or invalid (an invalid value is reported on stderr).
std::uint64_t seed_from_env() noexcept;
// The parsing behind it (`env` may be null).
std::uint64_t parse_seed(const char* env) noexcept;
}  // namespace detail

struct runtime_options {
  // Worker threads (M:N). Defaults to the number of cores, or to the
  // environment variable GORO_MAXPROCS when set (like GOMAXPROCS); 0 is
  // rejected.
  unsigned workers = detail::default_workers();
  // At most this many spawn_blocking jobs of this runtime's goroutines run
  // at once (each on a thread of its own); 0 is rejected. A spawn_blocking
  // issued at the cap waits, parked, until one of this runtime's running
  // jobs ends, and such waiting jobs start in submission order (FIFO). So at
  // the cap a job that waits for a later job of the same runtime deadlocks,
  // as with any bounded pool (tokio's max_blocking_threads is the same
  // rule). Below the cap every job gets a thread at once. The threads come
  // from one process-wide pool (idle ones exit after 10 s), so a process
  // runs at most the sum of its runtimes' caps at once.
  unsigned max_blocking_threads = 512;
  // Called by ~runtime() with the goroutines still alive, before they are
  // destroyed. Default: print them to stderr.
  std::function<void(const std::vector<goroutine_info>&)> on_shutdown_alive;
  // Deadlock report (docs/design/quiescence.md): when every goroutine of
  // every runtime is blocked, no timer is armed, no spawn_blocking job runs,
  // no signal is watched and every thread of the process is accounted for
  // (a worker, a blocking-pool thread, or a plain thread parked in a goro
  // operation, as the one in run() is), nothing can ever wake them: the
  // runtime calls on_deadlock with its goroutines, once per such episode.
  // Default: print "fatal error: all goroutines are asleep - deadlock!" and
  // the goroutines to stderr and abort, like Go. The callback runs on a
  // worker or on the plain thread that parked last, outside any goroutine;
  // it may do non-blocking goro operations (close a channel, unlock, done)
  // to break the deadlock, must not block, and must not create or destroy
  // a runtime. A plain thread that is not parked in a goro operation (it
  // may hold a channel and send later) rules a report out.
  bool detect_deadlock = true;
  std::function<void(const std::vector<goroutine_info>&)> on_deadlock;
  // Testing (goro/testing/virtual_time.hpp): the runtime's clock is virtual.
  // It starts at the real time of creation and stands still while anything
  // of the runtime runs; when every goroutine is blocked and a timer is
  // armed, it jumps to the earliest timer. Only code on this runtime's
  // workers sees it (detail::now(), goro::now()).
  bool virtual_time = false;
  // Testing: deterministic scheduling (docs/debugging.md, "Replaying an
  // interleaving"). 0 (the default) is off. Otherwise the runtime must have
  // exactly one worker (else std::invalid_argument), and at every scheduling
  // point (a goroutine parks, yields, is out of budget or returns) that worker
  // runs a goroutine chosen by a PRNG seeded with `seed` among everything
  // runnable (woken, started, yielded, injected), instead of goro's usual
  // runnext-then-FIFO order. A goroutine that never blocks is cut after
  // every 128 operations that complete without blocking (not after 1 ms of
  // real time), and goro::rand on the worker is seeded from `seed` too.
  // So a program whose goroutines interact only through goro objects and
  // virtual time runs the same interleaving for the same seed, and another
  // one for another seed. NOT deterministic: anything a plain thread, a
  // spawn_blocking job, a real-time timer (without virtual_time) or a signal
  // does (goro::select's choice among ready cases draws from the seeded
  // goro::rand, so it replays). Cost: a test mode; each scheduling
  // point moves the newly runnable goroutines into a vector and picks one
  // (O(1) amortised); off, it is one predictable branch per scheduling point.
  // goro::testing::run_virtual_seeded and for_each_seed use it; the
  // environment variable GORO_SEED sets it for run_virtual runs without one.
  std::uint64_t seed = 0;
};

class runtime;

namespace detail {

// ---- goroutine shells -----------------------------------------------------
//
// go(f, args...) allocates one shell: the control block, the decay-copied
// callable and arguments (they live as long as the goroutine: a lambda's
// captures, arguments its task takes by reference), the handle of the
// goroutine's own task (`top`) and an error slot. Nothing more happens
// until a worker first runs it: goroutine_ops::start then calls f there,
// with the arguments moved in, and runs what it returned when that is a
// goro::task; a callable that returns anything else runs inside a task
// that calls it (call_in_goroutine). The top task's final suspend ends the
// goroutine (goroutine_finished, src/scheduler.cpp). If the call throws (f
// itself, an argument's move, the frame's allocation), the exception goes
// to the error slot and the goroutine ends with it, as if its task had
// thrown it. So a parked goroutine is two allocations, the shell and its
// task frame, and a queued one that has not run yet is just the shell, as
// is (for most result types) a finished one that waits to be joined: its
// frame goes when its task returns (joinable_result_shell below).
//
// Join state bits (atomic, one word):
//   kDone     the goroutine returned; result or exception stored.
//   kWaiter   a joiner stored its waker and waits.
//   kDetached nobody will join (go(), or the join_handle was dropped).
// The goroutine sets kDone, a joiner kWaiter, the handle's destructor
// kDetached, each with one fetch_or (a goroutine joiner torn down before
// kDone takes kWaiter back with a CAS); the party that completes {kDone,
// kDetached} destroys the goroutine, and so does a join once it has seen
// kDone (and, parked, kWoken): it owns the handle, which it empties; the
// goroutine (or ~runtime, with kShutdown) wakes the joiner when it sees
// kWaiter. So it is freed exactly once, and a joiner is never missed.
//   kShutdown the runtime was destroyed while the goroutine was still alive;
//             ~runtime destroys it if kDetached was already set, else
//             the join_handle does (it sees kShutdown), and a join (or a
//             co_await on the handle, in another runtime) throws.
//   (16)      unused: it was kObserved, when a join left the handle
//             holding the goroutine; a join now consumes the handle (it
//             takes the outcome and destroys the goroutine once kDone is
//             seen), so a handle that still holds a finished goroutine
//             when it goes was never joined, and reports its exception.
//   kWoken    the party that published kDone or kShutdown has woken a
//             goroutine joiner and will not touch it again: its last touch
//             (docs/design/wake_protocol.md). A parked goroutine joiner
//             waits for it before it resumes for good or is torn down, so
//             neither it nor the handle it holds (which keeps this
//             goroutine alive) goes while ready() still reads it. A joiner
//             torn down before kDone or kShutdown takes kWaiter back
//             instead, and nobody wakes it.
inline constexpr std::uint32_t kDone = 1, kWaiter = 2, kDetached = 4, kShutdown = 8,
                               kWoken = 32;

void registry_remove(goroutine* g) noexcept;
// Registers g and queues it; throws std::bad_alloc (nothing queued) when the
// registry cannot grow.
void start_goroutine(runtime_impl* rt, goroutine* g);
// Drops the reference a goroutine kept alive by ~runtime holds on its runtime.
void release_runtime(runtime_impl* rt) noexcept;
runtime_impl* runtime_for_spawn() noexcept;  // current worker's runtime or the default one
// Hands an exception nobody will observe to the uncaught handler.
void report_uncaught(std::exception_ptr e, const goroutine* g) noexcept;

struct shell_base : goroutine, pooled_frame {
  shell_base() = default;
  shell_base(const shell_base&) = delete;
  shell_base& operator=(const shell_base&) = delete;
  // Runs after the derived shell's members are gone: a goroutine destroyed
  // while alive (runtime shutdown) leaves the registry here.
  ~shell_base() {
    if (registered) registry_remove(this);
    if (holds_runtime) release_runtime(rt);  // last touch of the runtime
  }
  std::coroutine_handle<> top;  // the goroutine's own task frame, once started
};

// The shell of a goroutine a join_handle may wait for (spawn). A goroutine
// started by go() is detached from birth: nobody joins it, and an exception
// of its call goes straight to the uncaught handler, so its shell has
// neither of these (16 bytes less per goroutine).
struct joinable_shell : shell_base {
  // Join protocol (above): the joiner's waker, written by the joiner before
  // it sets kWaiter in join_state; so only a joinable goroutine ever has
  // kWaiter set, and publish_join_bit reads this field only then.
  waker joiner;
  // What the call that makes `top` threw; once the goroutine has finished
  // and its frame is gone (goroutine_ops::finish), what its task threw.
  std::exception_ptr error;
};

// A joinable goroutine's task frame is destroyed when the task returns
// (shell::finish), its outcome moved into the shell first, so that 1M
// finished goroutines waiting to be joined hold their shells and results,
// not their frames too. The frame stays until the join (or until an
// unjoined handle goes), as a detached goroutine's never does, only for a
// result the shell should not hold: one whose move may throw (finish must
// not fail), one larger than kMaxResultInShell (every spawned goroutine's
// shell would carry it while it runs or parks, and a large one would push
// the shell out of the frame pool), one aligned beyond the pool's 16
// bytes, and the tag types std::optional cannot hold.
inline constexpr std::size_t kMaxResultInShell = 64;
template <class R>
constexpr bool shell_holds_result() noexcept {
  if constexpr (std::is_void_v<R>) {
    return true;
  } else {
    return std::is_nothrow_move_constructible_v<R> && sizeof(R) <= kMaxResultInShell &&
           alignof(R) <= kFrameGranule && !std::is_same_v<std::remove_cv_t<R>, std::nullopt_t> &&
           !std::is_same_v<std::remove_cv_t<R>, std::in_place_t>;
  }
}
template <class R>
inline constexpr bool result_outlives_frame = shell_holds_result<R>();

// The shell a spawn of a goroutine returning R makes; join_handle<R> reads
// the result here once the frame is gone.
template <class R, bool = !std::is_void_v<R> && result_outlives_frame<R>>
struct joinable_result_shell : joinable_shell {};
template <class R>
struct joinable_result_shell<R, true> : joinable_shell {
  std::optional<R> result;
};
template <class Base>
inline constexpr bool is_joinable_shell = std::is_base_of_v<joinable_shell, Base>;

// The shell of a goroutine counted by a group (wait_group::go): when the
// goroutine is gone -- its call returned or threw, or making its task threw
// -- its destroy calls counter->done(), after the task frames, the callable
// and the arguments are destroyed and the goroutine has left the registry.
// So a wait() that returns has seen each counted goroutine's resources
// released and its uncaught exception (if any) reported, and a counted
// goroutine needs no second coroutine frame to hold a done() guard. A
// goroutine that never started (still queued when its runtime stopped), or
// that the runtime's teardown destroyed unfinished, does not call done():
// the group may be gone by then (frames are destroyed in no order).
template <class Counter>
struct counted_shell : shell_base {
  Counter* counter = nullptr;
};
template <class Base>
inline constexpr bool is_counted_shell = false;
template <class Counter>
inline constexpr bool is_counted_shell<counted_shell<Counter>> = true;

template <class F, class... A>
using invoke_t = std::invoke_result_t<F&, A&&...>;

template <class R>
struct goroutine_result_of {
  using type = R;
};
template <awaitable R>
struct goroutine_result_of<R> {
  using type = await_result_t<R>;
};
template <class F, class... A>
struct goroutine_result : goroutine_result_of<invoke_t<F, A...>> {};
template <class F, class... A>
using goroutine_result_t = typename goroutine_result<F, A...>::type;

// Calls a goroutine's stored callable as an lvalue with its stored
// arguments moved in: go(f, x) runs f(std::move(x)), as Go's `go f(x)`
// hands f its own copy of x.
template <class F, class... A>
invoke_t<F, A...> call_stored(std::tuple<F, A...>& st) {
  return std::apply([](F& f, A&... a) -> invoke_t<F, A...> { return std::invoke(f, std::move(a)...); },
                    st);
}

// The task of a callable that does not return a goro::task: calls it (with
// the stored arguments moved in) on the goroutine, and awaits what it
// returned if that is awaitable.
template <class R, class F, class... A>
task<R> call_in_goroutine(std::tuple<F, A...>* st) {
  using r = invoke_t<F, A...>;
  if constexpr (awaitable<r>) {
    // Named local: keep co_await out of full-expressions with temporaries (GCC PR 100611).
    r t = call_stored(*st);
    if constexpr (std::is_void_v<R>) {
      co_await std::move(t);
    } else {
      R v = co_await std::move(t);
      co_return std::move(v);
    }
  } else if constexpr (std::is_void_v<R>) {
    call_stored(*st);
    co_return;
  } else {
    co_return call_stored(*st);
  }
}

template <class R, class Base, class F, class... A>
struct shell final : Base {
  using top_handle = std::coroutine_handle<task_promise<R>>;

  template <class G, class... X>
  explicit shell(G&& f, X&&... a) : store(std::forward<G>(f), std::forward<X>(a)...) {
    this->ops = &kOps;
  }

  // goroutine_ops::start: makes the top task and runs it.
  static void start(goroutine* g) noexcept {
    shell* s = static_cast<shell*>(g);
    try {
      if constexpr (is_task<invoke_t<F, A...>>::value) {
        s->top = task_access::release(call_stored(s->store));
      } else {
        s->top = task_access::release(call_in_goroutine<R>(&s->store));
      }
    } catch (...) {
      if constexpr (is_joinable_shell<Base>) {
        s->error = std::current_exception();
        goroutine_finished(&s->error);  // may destroy s
      } else {
        std::exception_ptr e = std::current_exception();
        goroutine_finished(&e);  // destroys s
      }
      return;
    }
    top_handle::from_address(s->top.address()).promise().set_flag(task_promise_base::kTop);
    s->resume_point = s->top;
    s->top.resume();  // nothing of s is touched afterwards
  }
  // goroutine_ops::destroy: the task frames first (they may refer to the
  // store), then the store, the registry entry and the memory.
  static void destroy(goroutine* g) noexcept {
    shell* s = static_cast<shell*>(g);
    if constexpr (is_counted_shell<Base>) {
      // Started: it has a task, or it finished (dead) when making it threw.
      const bool started = s->top || s->state.load(std::memory_order_relaxed) == g_state::dead;
      // Destroyed unfinished by its runtime's teardown: the frame that owns
      // the group may be gone already (it is destroyed in no particular
      // order with this one), and its wait will never return anyway.
      const bool count_done =
          started && !(s->join_state.load(std::memory_order_relaxed) & kShutdown);
      auto* counter = s->counter;
      if (s->top) s->top.destroy();
      delete s;
      if (count_done) counter->done();  // last touch: the group may go away now
    } else {
      if (s->top) s->top.destroy();
      delete s;
    }
  }
  // goroutine_ops::finish: a joinable goroutine's task returned; keeps
  // its value or exception in the shell and destroys its frame (above
  // joinable_result_shell). Called by goroutine_finished, inside the
  // frame's final suspend, before kDone is published.
  static void finish(goroutine* g) noexcept {
    if constexpr (kFinishEarly) {
      shell* s = static_cast<shell*>(g);
      if (!s->top) return;  // making the task threw: s->error holds it already
      auto& p = top_handle::from_address(s->top.address()).promise();
      if (p.error) {
        s->error = std::move(p.error);
      } else if constexpr (!std::is_void_v<R>) {
        s->result.emplace(std::move(std::get<1>(p.value)));
      }
      s->top.destroy();
      s->top = nullptr;
      s->resume_point = nullptr;
    }
  }
  static constexpr bool kFinishEarly = is_joinable_shell<Base> && result_outlives_frame<R>;
  static constexpr goroutine_ops kOps{&start, &destroy, kFinishEarly ? &finish : nullptr};

  std::tuple<F, A...> store;
};

// Makes a goroutine of f(a...) on rt and queues it: detached from birth
// (go) when Base is shell_base, joinable (spawn) when it is joinable_shell.
template <class Base, class Init, class F, class... A>
Base* launch_shell(runtime_impl* rt, source_loc loc, Init init, F&& f, A&&... a) {
  using R = goroutine_result_t<std::decay_t<F>, std::decay_t<A>...>;
  using sh = shell<R, Base, std::decay_t<F>, std::decay_t<A>...>;
  auto* s = new sh(std::forward<F>(f), std::forward<A>(a)...);
  init(static_cast<Base*>(s));
  s->spawn_file = loc.file;
  s->spawn_line = static_cast<std::uint32_t>(loc.line);
  if constexpr (!is_joinable_shell<Base>)
    s->join_state.store(kDetached, std::memory_order_relaxed);
  try {
    start_goroutine(rt, s);
  } catch (...) {
    delete s;  // never started: destroys the moved callable and arguments
    throw;
  }
  return s;
}
// go(f, a...) on rt.
template <class F, class... A>
void launch_detached(runtime_impl* rt, source_loc loc, F&& f, A&&... a) {
  (void)launch_shell<shell_base>(rt, loc, [](shell_base*) {}, std::forward<F>(f), std::forward<A>(a)...);
}
// wait_group::go(f, a...) on rt: a detached goroutine that calls
// counter->done() when it is gone (counted_shell). The caller has already
// counted it; if this throws, nothing was started and done() is not called.
template <class Counter, class F, class... A>
void launch_counted(runtime_impl* rt, source_loc loc, Counter* counter, F&& f, A&&... a) {
  (void)launch_shell<counted_shell<Counter>>(
      rt, loc, [counter](counted_shell<Counter>* s) { s->counter = counter; }, std::forward<F>(f),
      std::forward<A>(a)...);
}
// spawn(f, a...) on rt: the shell a join_handle adopts.
template <class F, class... A>
joinable_shell* launch_joinable(runtime_impl* rt, source_loc loc, F&& f, A&&... a) {
  using shell_type = joinable_result_shell<goroutine_result_t<std::decay_t<F>, std::decay_t<A>...>>;
  return launch_shell<shell_type>(rt, loc, [](shell_type*) {}, std::forward<F>(f),
                                  std::forward<A>(a)...);
}

}  // namespace detail

// ---- join_handle ----------------------------------------------------------

// The result of spawn(): awaitable from goroutines (`co_await h`), joinable
// from plain threads (`h.join()`). Move-only; dropping it detaches the
// goroutine (an exception nobody observed then goes to the uncaught handler).
template <class R>
class [[nodiscard]] join_handle {
  using top_handle = std::coroutine_handle<detail::task_promise<R>>;

 public:
  join_handle() noexcept = default;
  explicit join_handle(detail::joinable_shell* s) noexcept : s_(s) {}
  join_handle(join_handle&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  join_handle& operator=(join_handle&& o) noexcept {
    if (this != &o) {
      release();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  ~join_handle() { release(); }

  // False once a join has consumed the handle (or after a move from it).
  bool valid() const noexcept { return s_ != nullptr; }
  // True once the goroutine has returned (a join will not block); false,
  // like id() 0, for an empty handle.
  bool done() const noexcept {
    return s_ && (s_->join_state.load(std::memory_order_acquire) & kFinished);
  }
  std::uint64_t id() const noexcept { return s_ ? s_->id : 0; }

  // The handle a co_await uses must stay where it is until the co_await is
  // over, also when the awaiting goroutine is torn down at shutdown (the
  // awaiter then reads the join state): do not drop or move it from
  // elsewhere meanwhile.
  struct GORO_NODISCARD_AWAITABLE awaiter {
    join_handle* h;  // consumed by the join (emptied, the goroutine freed)
    detail::joinable_shell* s;
    // Null for `co_await std::move(h)` (operator co_await cannot take a
    // defaulted site); the caller's for `co_await std::move(h).wait()`. The
    // dump names the joined goroutine (its id in aux) either way.
    detail::wait_site site{};
    bool parked = false;  // set before kWaiter is published
    explicit awaiter(join_handle* hd, const detail::wait_site& st = {}) noexcept
        : h(hd), s(hd->s_), site(st) {}
    awaiter(const awaiter&) = delete;  // a parked copy would wait at teardown twice
    // Torn down while parked (its runtime shut down): take kWaiter back if
    // the goroutine has not finished, else wait out its wake (kWoken).
    ~awaiter() {
      if (!parked) return;
      std::uint32_t st = s->join_state.load(std::memory_order_acquire);
      while (!(st & kFinished))
        if (s->join_state.compare_exchange_weak(st, st & ~detail::kWaiter,
                                                std::memory_order_acq_rel,
                                                std::memory_order_acquire))
          return;  // nobody will wake us
      settle();
    }
    bool await_ready() const noexcept {
      return s->join_state.load(std::memory_order_acquire) & kFinished;
    }
    bool await_suspend(std::coroutine_handle<> me) noexcept {
      s->joiner = detail::waker_for(me, detail::wait_kinds::join, site, s, detail::aux_of(s->id));
      parked = true;
      auto prev = s->join_state.fetch_or(detail::kWaiter, std::memory_order_acq_rel);
      if (!(prev & kFinished)) return true;
      parked = false;
      detail::unmark_parking(s->joiner.g());  // not parked after all
      return false;
    }
    R await_resume() {
      if (parked) {
        settle();  // the waker's last touch
        parked = false;
      }
      return h->consume();
    }
    void settle() const noexcept {
      detail::wait_for_waker(
          [this] { return s->join_state.load(std::memory_order_acquire) & detail::kWoken; });
    }
  };
  awaiter operator co_await() && noexcept {
    GORO_ASSERT(s_, "co_await on an empty join_handle");
    return awaiter{this};
  }
  // co_await std::move(h).wait(): the same join, and a dump taken while it
  // waits names this line (the plain co_await cannot record it).
  GORO_NODISCARD_AWAITABLE awaiter wait(GORO_WAIT_SITE_PARAMS) && noexcept {
    GORO_ASSERT(s_, "co_await on an empty join_handle");
    return awaiter{this, GORO_WAIT_SITE};
  }

  // Blocks the calling OS thread until the goroutine returns; returns its
  // result or rethrows its exception. Not for goroutines (use co_await):
  // that aborts naming the caller's line (loc).
  R join(detail::source_loc loc = detail::source_loc::current()) && {
    GORO_ASSERT(s_, "join() on an empty join_handle");
    detail::assert_blocking_allowed(
        "join_handle::join() blocks the thread; inside a goroutine use co_await", loc);
    if (!(s_->join_state.load(std::memory_order_acquire) & kFinished)) {
      s_->joiner = detail::thread_waker();
      if (!(s_->join_state.fetch_or(detail::kWaiter, std::memory_order_acq_rel) & kFinished)) {
        while (!(s_->join_state.load(std::memory_order_acquire) & kFinished))
          detail::parker::current().park();
      }
    }
    return consume();
  }

 private:
  static constexpr std::uint32_t kFinished = detail::kDone | detail::kShutdown;
  // The outcome of a finished goroutine: in its top task's frame if that
  // is kept (result_outlives_frame), else in the shell (shell::finish
  // moved it there), or the error of the call that should have made the
  // task.
  //
  // A join consumes the handle: once the goroutine is done (nobody else
  // touches its shell after kDone, or after kWoken for a parked joiner,
  // which the caller has waited for), its outcome is taken and the shell
  // destroyed at once, while its line is in this core's cache, instead of
  // by the handle's destructor later (a second pass over cold shells, and
  // a CAS each: 25% of a 1M spawn-then-join profile). A goroutine torn
  // down unfinished (kShutdown) stays with the handle, whose release()
  // destroys it as before.
  R consume() {
    if (!(s_->join_state.load(std::memory_order_acquire) & detail::kDone))
      throw std::runtime_error("goro: the runtime was destroyed before the goroutine finished");
    struct destroy_on_exit {
      detail::joinable_shell* s;
      ~destroy_on_exit() { s->ops->destroy(s); }  // after the result is made (or thrown)
    } d{std::exchange(s_, nullptr)};
    return take(d.s);
  }
  // The outcome of a finished goroutine whose shell the caller owns.
  static R take(detail::joinable_shell* s) {
    if (s->top) return top_handle::from_address(s->top.address()).promise().take();
    // The frame is gone (shell::finish), or making it threw.
    if constexpr (std::is_void_v<R>) {
      if (!s->error) return;
    } else if constexpr (detail::result_outlives_frame<R>) {
      if (!s->error) return std::move(*static_cast<detail::joinable_result_shell<R>*>(s)->result);
    }
    std::rethrow_exception(s->error);
  }
  static const std::exception_ptr& error_of(detail::joinable_shell* s) noexcept {
    return s->top ? top_handle::from_address(s->top.address()).promise().error : s->error;
  }
  void release() noexcept {
    if (!s_) return;
    auto prev = s_->join_state.fetch_or(detail::kDetached, std::memory_order_acq_rel);
    if (prev & detail::kDone) {
      const std::exception_ptr& e = error_of(s_);
      if (e) detail::report_uncaught(e, s_);  // finished, never joined
      s_->ops->destroy(s_);
    } else if (prev & detail::kShutdown) {
      const detail::destroying_unfinished_scope unfinished(s_->rt);
      s_->ops->destroy(s_);
    }
    s_ = nullptr;
  }
  detail::joinable_shell* s_ = nullptr;
};

// ---- go / spawn -----------------------------------------------------------
//
// go and spawn are class templates so that a defaulted source location can
// follow the argument pack (deduction guides below): `goro::go(f, x)` reads
// like a call and records where it was made, for dumps and crash reports.

template <class F, class... A>
struct go {
  explicit go(F&& f, A&&... a, detail::source_loc loc = detail::source_loc::current()) {
    detail::launch_detached(detail::runtime_for_spawn(), loc, std::forward<F>(f),
                            std::forward<A>(a)...);
  }
};
template <class F, class... A>
go(F&&, A&&...) -> go<F, A...>;

template <class F, class... A>
struct [[nodiscard]] spawn
    : join_handle<detail::goroutine_result_t<std::decay_t<F>, std::decay_t<A>...>> {
  using result_type = detail::goroutine_result_t<std::decay_t<F>, std::decay_t<A>...>;
  explicit spawn(F&& f, A&&... a, detail::source_loc loc = detail::source_loc::current())
      : join_handle<result_type>(detail::launch_joinable(detail::runtime_for_spawn(), loc,
                                                         std::forward<F>(f), std::forward<A>(a)...)) {}
};
template <class F, class... A>
spawn(F&&, A&&...) -> spawn<F, A...>;

// ---- runtime --------------------------------------------------------------

// Shutdown (~runtime), in order:
//  1. The workers stop; from now on waking or yielding one of this runtime's
//     goroutines is a no-op (nothing will run it again).
//  2. It waits for the spawn_blocking jobs of its goroutines.
//  3. Goroutines still alive are reported (runtime_options::on_shutdown_alive)
//     and destroyed, except those a join_handle still holds: that handle
//     destroys the frame when dropped, and join() (or co_await on the
//     handle, from a goroutine of another runtime) throws std::runtime_error.
//     Such a frame's destructors (a guard's unlock, a channel handle's
//     release) may wake other goroutines of the runtime: harmless no-ops,
//     since the runtime's internals live until the last such frame is gone.
//     A mutex handed to a goroutine that will never run stays locked.
//  4. Timers still armed (a context deadline, an after() channel, a timer
//     held outside) move to the default runtime: they fire on time there.
// Out of memory inside the runtime's noexcept internals (timer heap growth,
// a goroutine launched by a timer or after_func callback) terminates the
// process, as Go's runtime does; go/spawn/make_chan throw std::bad_alloc.
class runtime {
 public:
  explicit runtime(runtime_options opts = {});
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Runs f(args...) as a goroutine on this runtime and blocks the calling
  // thread until it returns; returns its result or rethrows its exception.
  // (Overloads up to four arguments so that the caller's location can be a
  // defaulted last parameter; run_at/go_at/spawn_at take any number.)
  template <class F>
  auto run(F&& f, detail::source_loc loc = detail::source_loc::current()) {
    return run_at(loc, std::forward<F>(f));
  }
  template <class F, class A0>
  auto run(F&& f, A0&& a0, detail::source_loc loc = detail::source_loc::current()) {
    return run_at(loc, std::forward<F>(f), std::forward<A0>(a0));
  }
  template <class F, class A0, class A1>
  auto run(F&& f, A0&& a0, A1&& a1, detail::source_loc loc = detail::source_loc::current()) {
    return run_at(loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1));
  }
  template <class F, class A0, class A1, class A2>
  auto run(F&& f, A0&& a0, A1&& a1, A2&& a2, detail::source_loc loc = detail::source_loc::current()) {
    return run_at(loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1), std::forward<A2>(a2));
  }
  template <class F, class A0, class A1, class A2, class A3>
  auto run(F&& f, A0&& a0, A1&& a1, A2&& a2, A3&& a3, detail::source_loc loc = detail::source_loc::current()) {
    return run_at(loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3));
  }
  // Starts a goroutine on this runtime (goro::go / goro::spawn target the
  // current one).
  template <class F>
  void go(F&& f, detail::source_loc loc = detail::source_loc::current()) {
    detail::launch_detached(impl_, loc, std::forward<F>(f));
  }
  template <class F, class A0>
  void go(F&& f, A0&& a0, detail::source_loc loc = detail::source_loc::current()) {
    detail::launch_detached(impl_, loc, std::forward<F>(f), std::forward<A0>(a0));
  }
  template <class F, class A0, class A1>
  void go(F&& f, A0&& a0, A1&& a1, detail::source_loc loc = detail::source_loc::current()) {
    detail::launch_detached(impl_, loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1));
  }
  template <class F, class A0, class A1, class A2>
  void go(F&& f, A0&& a0, A1&& a1, A2&& a2, detail::source_loc loc = detail::source_loc::current()) {
    detail::launch_detached(impl_, loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1), std::forward<A2>(a2));
  }
  template <class F, class A0, class A1, class A2, class A3>
  void go(F&& f, A0&& a0, A1&& a1, A2&& a2, A3&& a3, detail::source_loc loc = detail::source_loc::current()) {
    detail::launch_detached(impl_, loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3));
  }
  template <class F>
  auto spawn(F&& f, detail::source_loc loc = detail::source_loc::current()) {
    return spawn_at(loc, std::forward<F>(f));
  }
  template <class F, class A0>
  auto spawn(F&& f, A0&& a0, detail::source_loc loc = detail::source_loc::current()) {
    return spawn_at(loc, std::forward<F>(f), std::forward<A0>(a0));
  }
  template <class F, class A0, class A1>
  auto spawn(F&& f, A0&& a0, A1&& a1, detail::source_loc loc = detail::source_loc::current()) {
    return spawn_at(loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1));
  }
  template <class F, class A0, class A1, class A2>
  auto spawn(F&& f, A0&& a0, A1&& a1, A2&& a2, detail::source_loc loc = detail::source_loc::current()) {
    return spawn_at(loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1), std::forward<A2>(a2));
  }
  template <class F, class A0, class A1, class A2, class A3>
  auto spawn(F&& f, A0&& a0, A1&& a1, A2&& a2, A3&& a3, detail::source_loc loc = detail::source_loc::current()) {
    return spawn_at(loc, std::forward<F>(f), std::forward<A0>(a0), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3));
  }

  template <class F, class... A>
  auto run_at(detail::source_loc loc, F&& f, A&&... a) {
    detail::assert_blocking_allowed(
        "goro::run() blocks the thread; inside a goroutine use co_await", loc);
    using R = detail::goroutine_result_t<std::decay_t<F>, std::decay_t<A>...>;
    join_handle<R> h(detail::launch_joinable(impl_, loc, std::forward<F>(f), std::forward<A>(a)...));
    return std::move(h).join(loc);
  }
  template <class F, class... A>
  void go_at(detail::source_loc loc, F&& f, A&&... a) {
    detail::launch_detached(impl_, loc, std::forward<F>(f), std::forward<A>(a)...);
  }
  template <class F, class... A>
  auto spawn_at(detail::source_loc loc, F&& f, A&&... a) {
    using R = detail::goroutine_result_t<std::decay_t<F>, std::decay_t<A>...>;
    return join_handle<R>(detail::launch_joinable(impl_, loc, std::forward<F>(f), std::forward<A>(a)...));
  }

  unsigned workers() const noexcept;
  // Goroutines started on this runtime that have not returned yet.
  std::size_t live_goroutines() const noexcept;
  std::vector<goroutine_info> goroutines() const;
  // Timers currently armed (sleeps, timeouts, timer channels) on this runtime.
  std::size_t armed_timers() const noexcept;
  // Blocks until no goroutine is alive or the timeout passes; returns true
  // when none is alive. This is the leak check tests end with (like goleak).
  // When it returns true, every uncaught-exception handler call the
  // runtime's goroutines owed has returned (a goroutine whose join_handle
  // was dropped as it ended reports from its worker, and counts until then).
  bool wait_no_goroutines(std::chrono::nanoseconds timeout) const;

  // The process-wide runtime used by goro::run/go/spawn outside any runtime.
  // Created on first use with default options; never destroyed (goroutines
  // still running at exit are not torn down, as in Go).
  static runtime& default_runtime();

  detail::runtime_impl* impl() const noexcept { return impl_; }

 private:
  detail::runtime_impl* impl_;
};

// Runs f(args...) on the default runtime and blocks until it returns. One
// overload per argument count (up to 4; run_at for more) so that the spawn
// site defaults to the caller's location, as for runtime::run.
template <class F>
auto run(F&& f, detail::source_loc loc = detail::source_loc::current()) {
  return runtime::default_runtime().run_at(loc, std::forward<F>(f));
}
template <class F, class A0>
auto run(F&& f, A0&& a0, detail::source_loc loc = detail::source_loc::current()) {
  return runtime::default_runtime().run_at(loc, std::forward<F>(f), std::forward<A0>(a0));
}
template <class F, class A0, class A1>
auto run(F&& f, A0&& a0, A1&& a1, detail::source_loc loc = detail::source_loc::current()) {
  return runtime::default_runtime().run_at(loc, std::forward<F>(f), std::forward<A0>(a0),
                                           std::forward<A1>(a1));
}
template <class F, class A0, class A1, class A2>
auto run(F&& f, A0&& a0, A1&& a1, A2&& a2, detail::source_loc loc = detail::source_loc::current()) {
  return runtime::default_runtime().run_at(loc, std::forward<F>(f), std::forward<A0>(a0),
                                           std::forward<A1>(a1), std::forward<A2>(a2));
}
template <class F, class A0, class A1, class A2, class A3>
auto run(F&& f, A0&& a0, A1&& a1, A2&& a2, A3&& a3,
         detail::source_loc loc = detail::source_loc::current()) {
  return runtime::default_runtime().run_at(loc, std::forward<F>(f), std::forward<A0>(a0),
                                           std::forward<A1>(a1), std::forward<A2>(a2),
                                           std::forward<A3>(a3));
}
// More arguments, or a spawn site of your own.
template <class F, class... A>
auto run_at(detail::source_loc loc, F&& f, A&&... a) {
  return runtime::default_runtime().run_at(loc, std::forward<F>(f), std::forward<A>(a)...);
}

// ---- yield, this_goroutine -------------------------------------------------

namespace detail {
struct GORO_NODISCARD_AWAITABLE yield_awaiter {
  bool await_ready() const noexcept { return current_goroutine() == nullptr; }
  void await_suspend(std::coroutine_handle<> h) const noexcept {
    goroutine* g = current_goroutine();
    g->resume_point = h;
    requeue(g);
  }
  void await_resume() const noexcept {}
};
}  // namespace detail

// co_await goro::yield(): let other goroutines run; this one goes to the back
// of its worker's queue. (A function, not a type, so that GCC too warns
// about a `goro::yield();` without co_await.)
GORO_NODISCARD_AWAITABLE inline detail::yield_awaiter yield() noexcept { return {}; }

namespace this_goroutine {
// The running goroutine's id (unique per process, never 0), or 0 on a plain thread.
std::uint64_t id() noexcept;
}  // namespace this_goroutine

// Handler for exceptions that escape a detached goroutine (or a joinable one
// nobody joined). The default prints the exception and the goroutine's spawn
// location and aborts, like an unrecovered Go panic. Returns the old handler.
using uncaught_handler = void (*)(std::exception_ptr, const goroutine_info&);
uncaught_handler set_uncaught_exception_handler(uncaught_handler h) noexcept;

// ---- spawn_blocking ----------------------------------------------------------

namespace detail {
// A unit of work for the elastic blocking pool; intrusive, so submitting
// allocates nothing. `run` is called once on a pool thread; its wake of the
// goroutine is its last touch of the job (the job lives in that goroutine's
// frame). `next` and `rt` belong to the pool.
struct blocking_job {
  void (*run)(blocking_job*) = nullptr;
  blocking_job* next = nullptr;
  runtime_impl* rt = nullptr;
};
// Submits job for the current goroutine's runtime (src/blocking_pool.cpp):
// it gets a pool thread at once, or waits in the runtime's FIFO when the
// runtime is at max_blocking_threads. All or nothing: if it returns, the job
// will run, and ~runtime waits until it has (so that a goroutine parked in
// spawn_blocking is not destroyed, with the awaiter the job writes into,
// while its job still runs); if it throws (std::system_error when no thread
// could be started), nothing of the job is left in the pool.
void submit_blocking(blocking_job* job);

template <class F>
struct GORO_NODISCARD_AWAITABLE blocking_awaiter : blocking_job {
  using R = std::invoke_result_t<F&>;
  F fn;
  std::conditional_t<std::is_void_v<R>, std::monostate, std::optional<R>> value;
  std::exception_ptr error;
  waker w;

  wait_site site;

  blocking_awaiter(F f, wait_site s) : fn(std::move(f)), site(s) { run = &execute; }
  static void execute(blocking_job* j) {
    auto* self = static_cast<blocking_awaiter*>(j);
    try {
      if constexpr (std::is_void_v<R>)
        self->fn();
      else
        self->value.emplace(self->fn());
    } catch (...) {
      self->error = std::current_exception();
    }
    waker w = self->w;
    w.wake();  // the awaiter lives in the parked goroutine's frame: not touched after this
  }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    w = waker_for(h, wait_kinds::spawn_blocking, site, this);
    try {
      submit_blocking(this);  // after it returns the job may already have woken us
    } catch (...) {  // no thread could be started and nothing was queued:
      unmark_parking(w.g());  // the goroutine goes on, with the exception
      throw;
    }
  }
  R await_resume() {
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<R>) return std::move(*value);
  }
};
}  // namespace detail

// co_await spawn_blocking(f): runs f() on the blocking thread pool (file I/O,
// DNS, legacy APIs) while this goroutine is parked, and yields f's result or
// rethrows its exception. f is moved into the awaiter. At most
// runtime_options::max_blocking_threads calls of one runtime run at once;
// more wait for a slot, in order (see there). Throws std::system_error
// (without running f) when the pool needs a new thread and the system
// cannot start one. A runtime's destructor waits for the spawn_blocking
// calls of its goroutines that are still running or waiting for a slot (f
// cannot be interrupted; like tokio's runtime drop), then destroys those
// goroutines as it does every goroutine still alive.
template <class F>
GORO_NODISCARD_AWAITABLE auto spawn_blocking(F&& f,
                                             GORO_WAIT_SITE_PARAMS) {
  return detail::blocking_awaiter<std::decay_t<F>>(std::forward<F>(f), GORO_WAIT_SITE);
}

}  // namespace goro

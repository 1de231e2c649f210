// goro/detail/goroutine.hpp — the goroutine control block and the hooks every
// blocking primitive uses to park and wake goroutines or threads.
//
// A goroutine is a shell (made by go/spawn: this control block, and the
// callable and its arguments when its task needs them kept, runtime.hpp)
// and a chain of task frames: its own task (`top`, what the callable
// returned) and the tasks that awaits. Only the innermost suspended frame is
// ever resumed; it is recorded in `resume_point` by whoever parks the
// goroutine.
//
// Goroutine state word (debugging only; never used for synchronisation):
//
//     runnable --worker picks it--> running --parks--> waiting
//        ^                                               |
//        +-------------------- ready() ------------------+
//     running --returns--> dead
//
// Parking protocol ("publish last", docs/HACKING.md): a primitive that parks the
// current goroutine first writes `resume_point`, then publishes a waker for it
// (into a wait queue, a timer, a join state). From the moment it is published,
// another thread may resume the goroutine, so the parking code must not touch
// its coroutine frame afterwards.
//
// Where a goroutine waits (for dumps, goro/debug.hpp): the park path
// (mark_parking) copies the caller's wait_site, the object waited on, an
// auxiliary number (a channel's capacity, a select's case count) and a coarse
// timestamp into the control block, then stores the wait_kind with release.
// Fast paths that complete without parking write nothing. Only the goroutine
// itself writes these fields (and ready() clears `wait`); a dump reads them
// as a reader of the goroutine's registry shard (src/registry.cpp), which
// keeps the control block alive, and
// never dereferences `wait_object` (only static strings are followed), so a
// goroutine that wakes and parks elsewhere while it is read can at worst show
// a mixed record, never a crash.
#pragma once

#include <time.h>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <string_view>

#include "goro/detail/config.hpp"
#include "goro/detail/parker.hpp"
#include "goro/detail/spinlock.hpp"

namespace goro::detail {

struct runtime_impl;
struct goroutine;

// Test seams of the wake protocol (src/scheduler_testing.hpp; null outside
// the regression tests): a waker about to touch its waiter, a waiter that
// finds a waker still on its way.
extern std::atomic<void (*)()> g_wake_seam;
extern std::atomic<void (*)()> g_wake_in_flight_seam;

// A waker resumes a parked party: a goroutine (made runnable on its runtime,
// never resumed inline) or an OS thread blocked in a parker. One word: the
// pointer, bit 0 set for a parker (both types are at least 8-aligned). Every
// wait node and wait token holds one, and so does the control block (its
// joiner): a word each, which a parked goroutine pays twice.
class waker {
 public:
  waker() noexcept = default;
  static waker goroutine_waker(goroutine* g) noexcept { return waker(reinterpret_cast<std::uintptr_t>(g)); }
  static waker thread(parker* p) noexcept { return waker(reinterpret_cast<std::uintptr_t>(p) | kThread); }
  // The goroutine to make runnable, or null for a thread (or an empty waker).
  goroutine* g() const noexcept {
    return (bits_ & kThread) ? nullptr : reinterpret_cast<goroutine*>(bits_);
  }
  // The thread's parker, or null for a goroutine (or an empty waker).
  parker* p() const noexcept {
    return (bits_ & kThread) ? reinterpret_cast<parker*>(bits_ & ~kThread) : nullptr;
  }
  void wake() const noexcept;
  explicit operator bool() const noexcept { return bits_ != 0; }

 private:
  static constexpr std::uintptr_t kThread = 1;
  explicit waker(std::uintptr_t b) noexcept : bits_(b) {}
  std::uintptr_t bits_ = 0;
};

enum class g_state : std::uint8_t { runnable, running, waiting, dead };

// What go/spawn made a goroutine of (its shell, runtime.hpp) knows how to do.
struct goroutine_ops {
  // The first run, on a worker (resume_point is still null): calls the
  // callable to make the goroutine's own task and runs it.
  void (*start)(goroutine*) noexcept;
  // Destroys the goroutine: its task frames (at runtime shutdown, if it is
  // still alive), the callable, the arguments and the control block.
  void (*destroy)(goroutine*) noexcept;
  // A joinable goroutine ended (null for go's and wait_group::go's shells,
  // and for a result the shell does not hold: runtime.hpp,
  // result_outlives_frame): keeps its task's outcome in the shell and
  // destroys the task's frame, so that a finished goroutine nobody has
  // joined yet holds its shell and result only. Runs on the goroutine's
  // worker, inside the frame's final suspend (or in start's catch, with no
  // frame: then it does nothing), before kDone is published.
  void (*finish)(goroutine*) noexcept = nullptr;
};

// The caller of a public function that returned a parking awaitable: each
// such function takes GORO_WAIT_SITE_PARAMS last (config.hpp: the builtins
// in its defaults evaluate at that function's call site, as for source_loc)
// and makes its wait_site with GORO_WAIT_SITE. The strings are literals:
// copying the pointers is all a record costs.
struct wait_site {
  const char* file = nullptr;  // null: not recorded (e.g. co_await on a join_handle)
  const char* function = nullptr;
  std::uint32_t line = 0;
};

// How the length of the object waited on follows from the wait itself.
enum class wait_len : std::uint8_t {
  none,   // not a channel
  zero,   // a receiver parks only while the buffer is empty
  full,   // a sender parks only while the buffer is full: len == cap (aux)
};

// What a goroutine waits for: one static instance per kind (and per element
// type for channels), so the control block holds one pointer.
struct wait_kind {
  const char* reason;         // "chan receive", "mutex.lock", ... (goroutine_info::wait_reason)
  const char* object;         // "chan", "mutex", ... or null
  std::string_view elem;      // channels: the element type's name
  wait_len len = wait_len::none;
  const char* aux_name = nullptr;  // what `aux` means when it is not a capacity ("cases")
};

// The name of T as the compiler spells it (__PRETTY_FUNCTION__: constant,
// static storage, the same in GCC and Clang up to spacing).
template <class T>
constexpr std::string_view type_name() noexcept {
  std::string_view p = __PRETTY_FUNCTION__;
  // GCC: "... type_name() [with T = int; std::string_view = ...]"; Clang: "... [T = int]".
  std::size_t b = p.find("T = ");
  if (b == std::string_view::npos) return "?";
  b += 4;
  std::size_t e = p.find_first_of(";]", b);
  return p.substr(b, e - b);
}

namespace wait_kinds {
inline constexpr wait_kind unknown{"waiting", nullptr, {}};
inline constexpr wait_kind sleep{"sleep", "timer", {}};
inline constexpr wait_kind sleep_ctx{"sleep (context)", "timer", {}};
inline constexpr wait_kind join{"join", "goroutine", {}};
inline constexpr wait_kind spawn_blocking{"spawn_blocking", "job", {}};
inline constexpr wait_kind select{"select", nullptr, {}, wait_len::none, "cases"};
inline constexpr wait_kind mutex{"mutex.lock", "mutex", {}};
inline constexpr wait_kind rw_lock{"rw_mutex.lock", "rw_mutex", {}};
inline constexpr wait_kind rw_lock_shared{"rw_mutex.lock_shared", "rw_mutex", {}};
inline constexpr wait_kind cond{"cond.wait", "cond", {}};
inline constexpr wait_kind semaphore{"semaphore.acquire", "semaphore", {}};
inline constexpr wait_kind wait_group{"wait_group.wait", "wait_group", {}};
inline constexpr wait_kind wait_group_ctx{"wait_group.wait (context)", "wait_group", {}};
inline constexpr wait_kind once{"once", "once", {}};
inline constexpr wait_kind singleflight{"singleflight", "singleflight call", {}};
template <class T>
struct chan {
  static constexpr wait_kind recv{"chan receive", "chan", type_name<T>(), wait_len::zero};
  static constexpr wait_kind send{"chan send", "chan", type_name<T>(), wait_len::full};
  static constexpr wait_kind recv_nil{"chan receive (nil chan)", "chan", type_name<T>()};
  static constexpr wait_kind send_nil{"chan send (nil chan)", "chan", type_name<T>()};
  static constexpr wait_kind recv_timed{"chan receive (timed)", "chan", type_name<T>(), wait_len::zero};
  static constexpr wait_kind send_timed{"chan send (timed)", "chan", type_name<T>(), wait_len::full};
  static constexpr wait_kind recv_ctx{"chan receive (context)", "chan", type_name<T>(), wait_len::zero};
  static constexpr wait_kind send_ctx{"chan send (context)", "chan", type_name<T>(), wait_len::full};
};
}  // namespace wait_kinds

// Milliseconds of CLOCK_MONOTONIC_COARSE, modulo 2^32 (differences are right
// for waits shorter than 49 days). The coarse clock is read from the vDSO
// without the TSC (a few ns; resolution one kernel tick, 1-4 ms), which is
// plenty for "waiting 3 min" and keeps the park path cheap.
inline std::uint32_t coarse_ms() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
                                    static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u);
}

// The park stamp: coarse_ms() as the calling worker last read it (it reads
// the clock every 64 goroutine runs and whenever it wakes from idle), or the
// clock itself off a worker. A coarse clock read costs ~5 ns on a quiet
// machine and 25-30 ns on a loaded VM (ping-pong parks twice per round
// trip), and a stamp older by a few dozen runs still answers "waiting 3
// min". Out of line
// (scheduler.cpp): it reads a thread_local, which coroutine code must not.
std::uint32_t park_stamp_ms() noexcept;

struct goroutine {
  // Innermost suspended frame. Written by the goroutine itself before it is
  // published as waiting; read by the worker that resumes it. The publication
  // (a queue push with release/acquire) orders the two. Null until the
  // goroutine first runs (ops->start makes its task).
  std::coroutine_handle<> resume_point;
  // Link while in the global run queue; owned by whichever queue holds it.
  goroutine* next = nullptr;
  runtime_impl* rt = nullptr;
  std::uint64_t id = 0;
  // Spawn site (source_loc split, so that the line fills a 4-byte hole).
  const char* spawn_file = "";
  // What it waits for, for dumps: null unless parked (cleared by ready()).
  // Stored with release after the wait_* fields below; read with acquire.
  std::atomic<const wait_kind*> wait{nullptr};
  // Where and on what it parked; written by mark_parking (park path only).
  std::atomic<const char*> wait_file{nullptr};
  std::atomic<const char*> wait_function{nullptr};
  std::atomic<const void*> wait_object{nullptr};
  // Its shell's operations (runtime.hpp): the first run, and destruction.
  const goroutine_ops* ops = nullptr;
  std::uint32_t spawn_line = 0;
  std::atomic<std::uint32_t> wait_line{0};
  std::atomic<std::uint32_t> wait_aux{0};    // channel capacity (saturated), select cases
  std::atomic<std::uint32_t> wait_since{0};  // park_stamp_ms() at park
  // Registry position: written by registry_add before the goroutine is
  // published, read by its registry_remove (src/registry.cpp).
  std::uint32_t shard = 0;
  std::uint32_t slot = 0;
  std::atomic<std::uint32_t> join_state{0};
  std::atomic<g_state> state{g_state::runnable};
  bool registered = false;
  // Set by ~runtime for a frame it leaves alive (a join_handle still holds
  // it): the frame holds a reference on its runtime_impl, so wakes that its
  // destruction causes later still find the runtime (stopped, so they are
  // no-ops). Released when the frame is destroyed.
  bool holds_runtime = false;
  // Set by the deadlock-cycle finder (src/registry.cpp, one at a time, as a
  // reader of this goroutine's registry shard) while it reads the holder of the
  // goro::mutex this goroutine waits for; a goroutine woken from a mutex wait
  // does not leave lock() while it is set (mutex_wait_barrier).
  std::atomic<std::uint8_t> inspecting{0};
};
// 88 bytes before the wait record; the record costs 24 (the spawn site's
// padding and the flags' holes pay for the rest); `inspecting` fills the
// last byte. The joiner's waker lives in the joinable shell (runtime.hpp):
// a goroutine started by go() never has a joiner.
static_assert(sizeof(void*) != 8 || sizeof(goroutine) <= 112, "goroutine control block grew");

// The goroutine running on this thread, or null on a plain thread. Not inline:
// coroutine bodies must not cache thread_local addresses (GCC 12 and Clang 14
// keep them across co_await; docs/guide/compiler-hazards.md §1).
GORO_NOINLINE goroutine* current_goroutine() noexcept;
// The runtime whose worker this thread is, or null.
GORO_NOINLINE runtime_impl* current_runtime() noexcept;

// The guard of every blocking_ form (and join, run): they block the OS
// thread, which inside a goroutine would stall a worker. Aborts with `what`
// and the caller's location: each public blocking_ function takes a
// defaulted `source_loc loc = source_loc::current()` last parameter and
// passes it here, so the message names the user's line, not goro's.
inline void assert_blocking_allowed(const char* what, source_loc loc) noexcept {
  if (current_goroutine() != nullptr) [[unlikely]]
    fatal(what, loc.file, loc.line);
}

// The runtime whose unfinished goroutines this thread is destroying (its
// teardown, or a join_handle of it dropped after the teardown), or null:
// their frames die in no particular order, so an object in one frame (a
// wait_group, an errgroup) may already be gone when another frame that
// counted on it is destroyed, and work they waited for will never
// complete. Destructors that would otherwise insist on "everything
// finished" consult it, and check that what they wait for ran on that
// runtime (work on another one is still running).
runtime_impl* destroying_unfinished() noexcept;
// Marks this thread as destroying rt's unfinished goroutines for its lifetime.
class destroying_unfinished_scope {
 public:
  explicit destroying_unfinished_scope(runtime_impl* rt) noexcept;
  ~destroying_unfinished_scope();
  destroying_unfinished_scope(const destroying_unfinished_scope&) = delete;
  destroying_unfinished_scope& operator=(const destroying_unfinished_scope&) = delete;

 private:
  runtime_impl* prev_;
};

// Makes a parked goroutine runnable (the runnext slot of the current worker if
// it belongs to the same runtime, else the global queue) and wakes an idle
// worker when there is spare work.
void ready(goroutine* g) noexcept;
// Re-queues the running goroutine at the back of the local queue (yield).
void requeue(goroutine* g) noexcept;
// Cooperative budget: each operation that completes without blocking spends
// one unit; returns true when the budget of this run is spent and the caller
// should yield (see `completed_or_yield`).
GORO_NOINLINE bool budget_spent() noexcept;
// Whether a party about to park should spin a little first (scheduler.cpp):
// a lone operation that found a buffered channel's ring full (send) or empty
// (receive), or an rw_mutex waiter. On a plain thread when the machine has
// more than one core; on a goroutine when its runtime has more than one
// worker, not all the others are idle (someone may be about to free a slot,
// fill one or unlock), and this worker has nothing queued (Go's canSpin: a
// partner we woke waits in our queue and cannot run while we spin). So
// never in deterministic (seeded) mode, which has one worker.
GORO_NOINLINE bool spin_worthwhile() noexcept;

// Records that `g` is about to park: on what (`kind`, `object`, `aux`),
// where (`site`), since when. The park path's whole cost for dumps: seven
// relaxed stores (plain moves on x86) and a call for the park stamp.
inline void mark_parking(goroutine* g, std::coroutine_handle<> h, const wait_kind& kind,
                         const wait_site& site = {}, const void* object = nullptr,
                         std::uint32_t aux = 0) noexcept {
  g->resume_point = h;
  g->wait_file.store(site.file, std::memory_order_relaxed);
  g->wait_function.store(site.function, std::memory_order_relaxed);
  g->wait_line.store(site.line, std::memory_order_relaxed);
  g->wait_object.store(object, std::memory_order_relaxed);
  g->wait_aux.store(aux, std::memory_order_relaxed);
  g->wait_since.store(park_stamp_ms(), std::memory_order_relaxed);
  g->wait.store(&kind, std::memory_order_release);
  g->state.store(g_state::waiting, std::memory_order_relaxed);
}

// Undoes mark_parking when the goroutine did not park after all (nothing was
// published, so no other thread can be touching it).
inline void unmark_parking(goroutine* g) noexcept {
  g->wait.store(nullptr, std::memory_order_relaxed);
  g->state.store(g_state::running, std::memory_order_relaxed);
}

// A size for wait_aux: saturates at 2^32-1.
inline std::uint32_t aux_of(std::size_t n) noexcept {
  return n > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(n);
}

// For awaitables whose operation completed without blocking: returns false
// (continue at once) unless the run budget is spent, in which case the
// goroutine is re-queued and true is returned (suspend; the result is already
// stored in the awaiter). This is what lets a loop that never blocks still
// let other goroutines run on its worker.
inline bool completed_or_yield(std::coroutine_handle<> h) noexcept {
  if (!budget_spent()) return false;
  goroutine* g = current_goroutine();
  if (g == nullptr) return false;
  g->resume_point = h;
  requeue(g);
  return true;
}

// Makes a waker for the calling party: the current goroutine parked at `h`, or
// the calling thread's parker.
inline waker waker_for(std::coroutine_handle<> h, const wait_kind& kind, const wait_site& site = {},
                        const void* object = nullptr, std::uint32_t aux = 0) noexcept {
  goroutine* g = current_goroutine();
  GORO_ASSERT(g != nullptr, "goro: a coroutine awaited outside any goroutine");
  mark_parking(g, h, kind, site, object, aux);
  return waker::goroutine_waker(g);
}

// For primitives whose parking code (in src/, often a child task that may
// park several times) does not know the caller: the public awaiter's
// await_suspend -- reached only when the fast path failed -- notes the site
// in the control block, and the parking code uses waker_for_noted, which
// records everything but the site.
inline void note_wait_site(const wait_site& site) noexcept {
  if (goroutine* g = current_goroutine()) {
    g->wait_file.store(site.file, std::memory_order_relaxed);
    g->wait_function.store(site.function, std::memory_order_relaxed);
    g->wait_line.store(site.line, std::memory_order_relaxed);
  }
}
inline waker waker_for_noted(std::coroutine_handle<> h, const wait_kind& kind, const void* object,
                             std::uint32_t aux = 0) noexcept {
  goroutine* g = current_goroutine();
  GORO_ASSERT(g != nullptr, "goro: a coroutine awaited outside any goroutine");
  g->resume_point = h;
  g->wait_object.store(object, std::memory_order_relaxed);
  g->wait_aux.store(aux, std::memory_order_relaxed);
  g->wait_since.store(park_stamp_ms(), std::memory_order_relaxed);
  g->wait.store(&kind, std::memory_order_release);
  g->state.store(g_state::waiting, std::memory_order_relaxed);
  return waker::goroutine_waker(g);
}
inline waker thread_waker() noexcept { return waker::thread(&parker::current()); }

// ---- the last touch of a wake ------------------------------------------------
// A waker that dequeued a waiter (a wait_node, a channel's wait_token) writes
// what the waiter must learn, wakes it, and sets a flag in the node or token
// as its last touch of anything the waiter owns. The order depends on who
// waits (docs/design/wake_protocol.md):
//  * a goroutine: wake (ready(g), which reads g), then the flag. The
//    goroutine may run before the flag is set, so it waits for the flag
//    (settle_wake, wait_for_waker) before its node can go; a goroutine torn
//    down while parked (runtime shutdown) that finds its node dequeued but
//    not flagged waits the same way, so neither its frame nor g is freed
//    under a waker still inside ready().
//  * a thread: the flag, then unpark (the thread sleeps until it sees the
//    flag; its parker is pooled and outlives it).
// The wait is for a few instructions of another thread (a preempted waker
// makes it longer): spin, then yield.
template <class Published>
void wait_for_waker(Published published) noexcept {
  if (published()) return;
  if (void (*seam)() = g_wake_in_flight_seam.load(std::memory_order_acquire)) seam();
  backoff b;
  while (!published()) b.snooze();
}
// Called by every waker before it touches the waiter (a test seam: null
// except in the regression tests that hold a waker in this window).
inline void wake_seam() noexcept {
  if (void (*seam)() = g_wake_seam.load(std::memory_order_relaxed)) seam();
}

// Deadlock cycles (debug::find_deadlock_cycles) need the holder of the mutex
// a parked goroutine waits for, read from the mutex itself; the mutex stays
// alive only while that goroutine is inside lock(). So the reader pins the
// goroutine: it stores `inspecting`, issues a seq_cst fence, and re-reads
// `wait`; a goroutine woken from a mutex park (ready() cleared `wait` before
// it runs) issues a seq_cst fence and waits while `inspecting` is set, before
// it may leave lock(). Both sides store, fence, then load (Dekker): either the
// reader sees the wake and reads nothing, or the goroutine sees the pin and
// waits a few loads. Costs a fence after a park, nothing on the fast path.
void mutex_wait_barrier() noexcept;

}  // namespace goro::detail

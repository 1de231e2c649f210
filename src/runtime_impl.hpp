// runtime_impl.hpp — the scheduler's private data structures (src/ only).
//
// See docs/design/scheduler.md for the wake protocol. In short:
//  * each worker has a bounded ring (Go's runq: owner pushes at tail,
//    owner and thieves pop at head with CAS) and a `runnext` slot;
//  * a global injection queue takes work from plain threads and overflow;
//  * idle workers sit on an idle list and sleep in their parker; at most one
//    of them (the "timer sleeper") sleeps with a timeout for the earliest timer;
//  * lost wake-ups are ruled out by a Dekker pair with seq_cst fences:
//      producer: publish work ; fence ; read n_idle / n_spinning
//      worker:   register idle ; fence ; re-check every queue before parking
//    one of the two always sees the other.
#pragma once

#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "goro/detail/config.hpp"
#include "goro/detail/goroutine.hpp"
#include "goro/runtime.hpp"
#include "goro/detail/parker.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/timer.hpp"
#include "goro/runtime.hpp"

namespace goro::detail {

// Sets `bit` (kDone when the goroutine ends, kShutdown when ~runtime gives
// it up) in g's join state and takes the joiner's waker in the same atomic
// step: the joiner wrote it before it set kWaiter (acquire), and once the
// bit is visible a joiner or join_handle on another thread may destroy the
// goroutine, so it cannot be read afterwards (the one exception: a
// goroutine joiner waits for kWoken before it lets the goroutine go, so
// wake_joiner may still set that bit). `s` is a recent load of the
// join state; returns the state the bit was set on, and *joiner holds the
// waker if that state has kWaiter.
inline std::uint32_t publish_join_bit(goroutine* g, std::uint32_t s, std::uint32_t bit,
                                      waker* joiner) noexcept {
  for (;;) {
    if (s & kWaiter) *joiner = static_cast<joinable_shell*>(g)->joiner;  // only spawn's shells get kWaiter
    if (g->join_state.compare_exchange_weak(s, s | bit, std::memory_order_acq_rel,
                                            std::memory_order_acquire))
      return s;
  }
}

// Wakes the joiner whose waker publish_join_bit took (the state it returned
// had kWaiter): a thread is unparked; a goroutine is made runnable, then
// kWoken is set as the last touch of g (runtime.hpp, join state).
void wake_joiner(goroutine* g, waker j) noexcept;

// Test seams of a pending report (scheduler_testing.hpp,
// set_pending_report_seams); no-ops unless a test set them.
void finish_window_seam() noexcept;
void quiet_wait_seam() noexcept;
void quiet_register_seam() noexcept;  // set_quiet_register_seam

// ---- local run queue (single producer, multi consumer ring) ---------------
class local_queue {
 public:
  static constexpr std::uint32_t kSize = 256;

  // Owner only. False when full (caller overflows half to the global queue).
  bool push(goroutine* g) noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    if (t - h >= kSize) return false;
    buf_[t % kSize].store(g, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }
  // Owner only.
  goroutine* pop() noexcept {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_relaxed);
      if (t == h) return nullptr;
      goroutine* g = buf_[h % kSize].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel)) {
        // The next one's control block is likely in another core's cache
        // (its spawner's): start fetching it while this one runs. A stale
        // pointer (stolen meanwhile) is harmless: a prefetch never faults.
        if (t - h > 1) __builtin_prefetch(buf_[(h + 1) % kSize].load(std::memory_order_relaxed));
        return g;
      }
    }
  }
  // Owner only: takes the older half (into out[]) to move it to the global queue.
  std::uint32_t grab_half_for_overflow(goroutine** out) noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    std::uint32_t n = (t - h) / 2;
    if (n != kSize / 2) return 0;  // thieves emptied it meanwhile: retry push
    for (std::uint32_t i = 0; i < n; ++i) out[i] = buf_[(h + i) % kSize].load(std::memory_order_relaxed);
    if (!head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel)) return 0;
    return n;
  }
  // Any thread: steals half of this queue into `dst` (owned by the caller).
  // Returns one stolen goroutine to run, the rest are pushed onto dst.
  goroutine* steal_into(local_queue& dst) noexcept {
    std::uint32_t dt = dst.tail_.load(std::memory_order_relaxed);
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_acquire);
      std::uint32_t n = t - h;
      n -= n / 2;
      if (n == 0) return nullptr;
      if (n > kSize / 2) continue;  // inconsistent snapshot (h and t read apart)
      for (std::uint32_t i = 0; i < n; ++i)
        dst.buf_[(dt + i) % kSize].store(buf_[(h + i) % kSize].load(std::memory_order_relaxed),
                                         std::memory_order_relaxed);
      if (head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel)) {
        --n;
        goroutine* g = dst.buf_[(dt + n) % kSize].load(std::memory_order_relaxed);
        if (n != 0) dst.tail_.store(dt + n, std::memory_order_release);
        return g;
      }
    }
  }
  bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }
  // Any thread: how many goroutines the owner has taken so far (it moves
  // whenever the owner or a thief takes one); a hint for thieves.
  std::uint32_t taken() const noexcept { return head_.load(std::memory_order_relaxed); }
  std::uint32_t size() const noexcept {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }

 private:
  alignas(cache_line) std::atomic<std::uint32_t> head_{0};  // consumers CAS it
  alignas(cache_line) std::atomic<std::uint32_t> tail_{0};  // written by the owner only
  alignas(cache_line) std::atomic<goroutine*> buf_[kSize]{};
};

// ---- global injection queue ------------------------------------------------
// FIFO of goroutines: overflow from the workers' local queues (half a queue
// at a time), goroutines started or woken from plain threads, and those a
// worker hands off. Pointers are kept in a ring of goroutine pointers rather
// than linked through the goroutines: a worker that takes a batch copies
// pointers (16 lines for 128 goroutines, read in order), where walking a
// list read each goroutine's `next` in turn, one dependent cache miss each
// in the spawner's cache (22% of a spawn-then-join profile). The ring grows
// by doubling (allocated outside the lock) and goes once drained, if large;
// when an allocation fails, pushes fall back to a list linked through
// `goroutine::next`, which holds the newest entries: the ring is drained
// first, and a push goes to the list while it is not empty (or out being
// walked), so the queue stays FIFO.
class global_queue {
 public:
  global_queue() = default;
  ~global_queue();
  global_queue(const global_queue&) = delete;
  global_queue& operator=(const global_queue&) = delete;

  void push(goroutine* g) noexcept { push_array(&g, 1); }
  // Appends gs[0..n) in order.
  void push_array(goroutine* const* gs, std::uint32_t n) noexcept;
  // Takes up to `max` goroutines: returns the first, pushes the rest on `q`,
  // whose owner is the caller (so only its room can grow meanwhile).
  // `size_` counts them until they are in `q` (any_work() sees them).
  goroutine* pop_batch(local_queue& q, std::uint32_t max) noexcept;
  std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }
  // Shutdown only: forgets everything.
  void clear() noexcept {
    lock_guard l(mu_);
    head_ = count_ = 0;
    list_head_ = list_tail_ = nullptr;
    size_.store(0);
  }

 private:
  static constexpr std::uint32_t kMinRing = 512;
  // A drained ring larger than this is freed (a burst of 1M queued
  // goroutines leaves no 8 MB behind).
  static constexpr std::uint32_t kKeepRing = 4096;
  static constexpr std::size_t kMapRingBytes = 64 * 1024;  // and larger rings are mapped
  static goroutine** ring_alloc(std::uint32_t cap) noexcept;  // null: no memory
  static void ring_free(goroutine** ring, std::uint32_t cap) noexcept;
  goroutine* pop_list(local_queue& q, std::uint32_t max) noexcept;

  spinlock mu_;
  goroutine** ring_ GORO_GUARDED_BY(mu_) = nullptr;
  std::uint32_t cap_ GORO_GUARDED_BY(mu_) = 0;  // 0 or a power of two
  std::uint32_t head_ GORO_GUARDED_BY(mu_) = 0;
  std::uint32_t count_ GORO_GUARDED_BY(mu_) = 0;
  goroutine* list_head_ GORO_GUARDED_BY(mu_) = nullptr;
  goroutine* list_tail_ GORO_GUARDED_BY(mu_) = nullptr;
  bool list_walking_ GORO_GUARDED_BY(mu_) = false;  // pop_list has the list out
  std::atomic<std::size_t> size_{0};
};

// ---- timers ------------------------------------------------------------------
struct timer_heap {
  spinlock mu;
  std::vector<timer_node*> nodes GORO_GUARDED_BY(mu);
  // Deadline of nodes[0] (kNever when empty), readable without the lock.
  std::atomic<nanos> earliest{kNever};

  void push(timer_node* n) GORO_REQUIRES(mu);
  void remove(timer_node* n) GORO_REQUIRES(mu);
  // Fires every node due at `now`; returns how many fired.
  std::size_t run_due(nanos now) noexcept;
  void sift_up(std::uint32_t i) GORO_REQUIRES(mu);
  void sift_down(std::uint32_t i) GORO_REQUIRES(mu);
};

// ---- workers ---------------------------------------------------------------
struct worker {
  runtime_impl* rt = nullptr;
  unsigned index = 0;
  local_queue q;
  alignas(cache_line) std::atomic<goroutine*> runnext{nullptr};
  parker park;
  timer_heap timers;
  // Set by wakep() before it unparks this worker: start out spinning.
  std::atomic<bool> woken_spinning{false};
  bool in_idle_list = false;  // guarded by runtime_impl::idle_mu

  // Owner-thread state.
  bool virtual_clock = false;  // rt->opts.virtual_time, read by now() on this thread
  std::uint32_t tick = 0;
  unsigned lifo_streak = 0;
  bool spinning = false;
  bool watching = false;  // this worker is the runnext watcher (n_watching == 1)
  std::uint64_t rng = 0;
  // Per other worker (by index): the last `taken()` this worker saw of its
  // queue and since when (real ns, -1: never looked). A small queue is
  // stolen from only once its owner has taken nothing for kStealGrace
  // (steal_due in scheduler.cpp). Sized once workers exist.
  struct queue_sighting {
    std::uint32_t taken = 0;
    nanos since = -1;
  };
  std::vector<queue_sighting> sightings;
  // Deterministic mode (runtime_options::seed != 0, one worker): every
  // runnable goroutine is moved into seed_pool at each scheduling point and
  // the next one is picked with seed_state (seeded_next). Owner thread only;
  // the pool is non-empty only while this worker is busy, so any_work() and
  // the quiescence check (which need an idle worker) never miss it.
  bool seeded = false;
  std::uint64_t seed_state = 0;
  std::vector<goroutine*> seed_pool;
  std::thread thread;
};

// ---- registry --------------------------------------------------------------
// One shard per worker (goroutines started there) plus one for goroutines
// started from plain threads. Slots rather than a linked list: removing a
// goroutine touches only its slot and the shard, never the (cold) frames of
// its neighbours.
//
// A spawner adds on its own worker, but the goroutine usually exits on
// whichever worker ran it, so removal must not take a lock the spawner
// wants: with one spinlock for both, a spawn loop on one core and the exits
// on the other fought for it and for three lines (lock, slot, free index),
// and spawn+join of 1M goroutines ran at 170 or 515 ns/g depending on who
// won (docs/design/performance.md). So:
//  * slots live in segments that never move (segment k holds 1024 << k
//    slots), so a remover can write its slot while the owner adds;
//  * a slot holds a goroutine pointer (live: low bit clear) or a free-list
//    link ((next index << 1) | 1);
//  * the owner worker (or, for the thread shard, a plain thread holding mu)
//    takes free slots from its private list `local_free`; a remove on the
//    owner worker gives the slot back there. A remove on another worker of
//    the runtime links the slot into that worker's `outgoing` batch (plain
//    stores) and hands the batch to the owner's `remote_free` (a Treiber
//    stack, pushed by many, emptied whole by the owner: no ABA) with one CAS
//    per kFreeBatch slots, or when its next removal is for another shard;
//    any other remover (a plain thread tearing a runtime down) pushes its
//    slot alone;
//  * readers of control blocks (snapshot, mutex_waits) announce themselves
//    in `readers` (seq_cst) and then load slots (seq_cst); a remover stores
//    the free link, issues a seq_cst fence and then loads `readers`, waiting
//    while it is non-zero (Dekker): either the reader sees the slot free, or
//    the remover waits until the reader is done with the goroutine before
//    its frame is freed. The same fence serves the quiescence waiters (the
//    count published, then quiet_waiters loaded): one fence per removal, no
//    locked instruction on a worker's path otherwise;
//  * counts are monotonic counters: `added` per shard (its owner), and
//    `removed` per remover: a worker counts the removals it makes in its
//    own shard's `removed` (plain stores: one writer), other removers in
//    the thread shard's (fetch_add). live() sums every `removed` first,
//    then every `added`: a removal it sees happened after the goroutine's
//    add (which published it, before it ran), so the sum never goes
//    negative even though a goroutine's add and removal are counted in
//    different shards.
struct registry_shard {
  static constexpr unsigned kFirstSegment = 1024;  // slots in segment 0
  static constexpr unsigned kSegments = 22;        // 1024 * (2^22 - 1) slots at most
  static constexpr std::uint32_t kNone = 0xffffffffu;

  registry_shard() = default;
  ~registry_shard();
  registry_shard(const registry_shard&) = delete;
  registry_shard& operator=(const registry_shard&) = delete;

  // The segment of index i: segment k holds indexes [1024 * (2^k - 1),
  // 1024 * (2^(k+1) - 1)), i.e. 2^(k+10) <= i + 1024 < 2^(k+11).
  static unsigned segment_of(std::uint32_t i) noexcept {
    return static_cast<unsigned>(std::bit_width(std::uint64_t{i} + kFirstSegment)) - 11;
  }
  // The slot of index i (i < size).
  std::atomic<std::uintptr_t>& slot(std::uint32_t i) const noexcept {
    const unsigned k = segment_of(i);
    return segments[k].load(std::memory_order_acquire)
        [std::uint64_t{i} + kFirstSegment - (std::uint64_t{kFirstSegment} << k)];
  }
  static bool is_live(std::uintptr_t v) noexcept { return v != 0 && (v & 1) == 0; }

  // Read-mostly: removers and readers load these, so nothing written per
  // spawn may share their lines (a remover's load of `readers` next to the
  // spawner's `added` cost a line transfer per goroutine: 24 % of a
  // spawn+join profile). Segments are stored once each; `readers` changes
  // only while a dump runs.
  std::atomic<std::atomic<std::uintptr_t>*> segments[kSegments] = {};
  std::atomic<int> readers{0};
  // Owner side: written by the shard's worker thread only, or, in the
  // thread shard, by the plain thread holding `mu` (removers and readers
  // never take it).
  void add_owned(goroutine* g);  // may throw std::bad_alloc
  alignas(cache_line) spinlock mu;
  std::uint32_t local_free = kNone;
  std::atomic<std::uint32_t> size{0};  // slots handed out so far (published with release)
  std::atomic<std::uint64_t> added{0};
  // Removals made by this shard's worker (any shard's goroutines); in the
  // thread shard, by removers that are not workers of the runtime.
  std::atomic<std::uint64_t> removed{0};
  // This worker's removals of other shards' goroutines not yet handed over
  // (at most kFreeBatch - 1 between removals; they wait there until the
  // next removal for another shard, or the batch fills): a list of slots
  // linked through their free links, all of shard `to`.
  static constexpr std::uint32_t kFreeBatch = 32;
  struct free_batch {
    std::uint32_t to = kNone;  // the shard, or kNone: empty
    std::uint32_t head = kNone, tail = kNone;
    std::uint32_t n = 0;
  } outgoing;
  // Remover side, on a line of its own: the spawner's line does not move
  // when another worker hands it slots.
  alignas(cache_line) std::atomic<std::uint32_t> remote_free{kNone};
  // Pushes the list first..last (linked through free links) onto
  // remote_free.
  void push_remote(std::uint32_t first, std::uint32_t last) noexcept;
};

// ---- the runtime -------------------------------------------------------------
struct runtime_impl {
  explicit runtime_impl(const runtime_options& o);
  ~runtime_impl();

  runtime_options opts;
  std::vector<worker*> workers;
  global_queue global;

  // Idle workers. n_idle and n_spinning are read without the lock by producers.
  spinlock idle_mu;
  std::vector<worker*> idle GORO_GUARDED_BY(idle_mu);
  std::atomic<int> n_idle{0};
  std::atomic<int> n_spinning{0};
  // 1 while an idle worker is the runnext watcher: it sleeps in short timed
  // parks while another worker holds a goroutine in runnext, and steals one
  // that stays there (scheduler.md, "Waking for runnext"). 0 or 1.
  std::atomic<int> n_watching{0};
  // Quiescence epoch (docs/design/quiescence.md): every decrease of n_idle
  // (a worker leaving the idle list: wakep, unidle) is bracketed by
  // wake_begun += 1 before and wake_ended += 1 after, so the deadlock check
  // can tell that no worker woke while it looked. Under idle_mu, next to
  // n_idle: no line of their own, no cost outside the idle path.
  std::atomic<std::uint64_t> wake_begun{0};
  std::atomic<std::uint64_t> wake_ended{0};
  // Set when this runtime's deadlock was reported; cleared when a worker
  // leaves the idle list (so a later deadlock is reported again).
  std::atomic<bool> deadlock_reported{false};
  // Virtual clock (opts.virtual_time): the time now() returns on this
  // runtime's workers; moved only forward, under vclock_mu, by the last
  // worker to go idle (advance_virtual_clock).
  std::atomic<nanos> vclock{0};
  spinlock vclock_mu;
  // Set first thing in ~runtime. From then on a wake or yield of one of this
  // runtime's goroutines queues nothing (schedule_*): nothing will run it,
  // and ~runtime destroys it or leaves it to its join_handle.
  std::atomic<bool> stopping{false};
  // One for the runtime object plus one per goroutine frame that ~runtime
  // left alive (goroutine::holds_runtime); the last release deletes this, so
  // a frame destroyed after ~runtime can still wake its runtime's goroutines
  // (no-ops, see `stopping`) without touching freed memory.
  std::atomic<std::size_t> refs{1};
  void release() noexcept;
  // Threads other than this runtime's workers inside schedule_*: ~runtime
  // waits for them, since they touch the runtime after publishing a goroutine
  // that may already have run to completion.
  std::atomic<int> external_ops{0};
  // spawn_blocking jobs of this runtime's goroutines submitted to the
  // blocking pool and not yet finished (running or waiting at the cap):
  // ~runtime waits for them (blocking_pool.cpp).
  std::atomic<int> blocking_jobs{0};
  // Admission to the blocking pool, guarded by the pool's mutex
  // (blocking_pool.cpp): jobs of this runtime holding a pool thread (at most
  // opts.max_blocking_threads), and the FIFO of jobs waiting for one of them
  // to end (non-empty only while blocking_running is at the cap).
  unsigned blocking_running = 0;
  blocking_job* blocking_wait_head = nullptr;
  blocking_job* blocking_wait_tail = nullptr;

  // Timer sleeper: at most one idle worker sleeps until the earliest timer.
  std::atomic<worker*> timer_sleeper{nullptr};
  std::atomic<nanos> timer_sleeper_deadline{0};

  // Registry.
  std::vector<registry_shard> shards;  // workers.size() + 1
  std::size_t live() const noexcept;   // sum over shards
  std::atomic<int> quiet_waiters{0};   // threads in wait_no_goroutines / wait_until_only
  // registry_remove notifies quiet_cv when live() <= this (0 for
  // wait_no_goroutines; a leak check waits for its baseline's size).
  std::atomic<std::size_t> quiet_threshold{0};
  mutable std::mutex quiet_mu;
  mutable std::condition_variable quiet_cv;
  // Joinable goroutines that ended with an exception and have left the
  // registry but not yet learnt whether their handle was dropped meanwhile
  // (goroutine_finished): such a goroutine reports the exception itself, so
  // the quiescence waits also wait for this to be 0, and a runtime found
  // quiet has run every uncaught-exception handler its workers owe.
  std::atomic<int> reports_pending{0};
  // The quiescence waits' condition: at most n live goroutines, no report
  // pending. live() is read first: a removal it sees follows the increment
  // of reports_pending that came before it (goroutine_finished).
  bool quiet_at(std::size_t n) const noexcept {
    return live() <= n && reports_pending.load(std::memory_order_acquire) == 0;
  }
  // Wakes the quiescence waiters, if any, after a decrease of live() or of
  // reports_pending. Dekker pair: the caller's decrease, then a seq_cst
  // fence (an RMW alone would not do: live() reads other removers' counts,
  // ordered against theirs only by fences), then this load; a waiter counts
  // itself in quiet_waiters (seq_cst), issues a seq_cst fence, then checks
  // under quiet_mu.
  void notify_quiet() noexcept {
    if (quiet_waiters.load(std::memory_order_seq_cst) > 0) [[unlikely]]
      notify_quiet_waiters();
  }
  void notify_quiet_waiters() noexcept;

  // Scheduling.
  void start();
  void stop_and_join();
  void schedule_new(goroutine* g) noexcept;     // a goroutine just started
  void schedule_ready(goroutine* g) noexcept;   // woken from a park
  void schedule_yield(goroutine* g) noexcept;   // yielded / out of budget
  void inject(goroutine* g) noexcept;           // from outside this runtime's workers
  void wakep() noexcept;
  void notify_work() noexcept;                  // fence + wakep if nobody spins
  void notify_runnext() noexcept;               // same, but a watcher suffices
  bool foreign_runnext(const worker* w) const noexcept;
  void leave_watch(worker* w) noexcept;
  // What the runnext watcher covers: another worker's runnext, or a queued
  // goroutine (one a wake displaced from a runnext waits in its ring).
  bool watch_worthy(const worker* w) const noexcept;
  void worker_loop(worker* w);
  goroutine* find_runnable(worker* w);
  goroutine* local_next(worker* w) noexcept;
  goroutine* find_queued(worker* w);  // find_runnable's search outside deterministic mode
  goroutine* seeded_next(worker* w);  // deterministic mode; may throw std::bad_alloc
  void local_push(worker* w, goroutine* g) noexcept;
  bool any_work() const noexcept;
  bool any_work_to_take_now(worker* w) const noexcept;
  void release_spinning(worker* w) noexcept;
  // Every worker idle, nothing queued, no timer armed, no spawn_blocking job,
  // no plain thread inside schedule_*, not stopping (quiescence.cpp).
  bool quiescent() const noexcept;
  // Virtual time: if the runtime is quiescent but for armed timers, moves
  // the clock to the earliest one and returns true (the caller fires them).
  bool advance_virtual_clock() noexcept;
  // Brackets a decrease of n_idle (see wake_begun).
  void wake_begin() noexcept { wake_begun.fetch_add(1, std::memory_order_seq_cst); }
  void wake_end() noexcept {
    wake_ended.fetch_add(1, std::memory_order_seq_cst);
    if (deadlock_reported.load(std::memory_order_relaxed)) [[unlikely]]
      deadlock_reported.store(false, std::memory_order_relaxed);
  }

  // Timers.
  timer_heap& heap_for_arm() noexcept;
  void timer_armed(nanos when) noexcept;    // a new earliest deadline may exist
  nanos earliest_timer() const noexcept;
  bool run_all_due_timers() noexcept;       // any heap; true if any fired
  // Shutdown, after destroy_remaining(): moves every timer still armed (its
  // owner outlives the runtime: a context deadline, a timer channel, a frame
  // kept by a join_handle) to the default runtime, which is never destroyed,
  // so a deadline still expires and a timer channel still fires.
  void rehome_timers() noexcept;

  // Registry.
  void registry_add(goroutine* g);  // may throw std::bad_alloc
  void registry_remove(goroutine* g) noexcept;
  std::vector<goroutine_info> snapshot() const;  // sorted by id
  // The goroutines parked in goro::mutex::lock (any form), each with the id
  // of the mutex's holder read while it was pinned (goroutine::inspecting,
  // mutex_wait_barrier); one caller at a time (serialised inside).
  struct mutex_wait {
    goroutine_info info;
    std::uint64_t holder = 0;  // 0: a plain thread, try_lock, or unknown
    std::uint32_t since = 0;   // goroutine::wait_since: identifies the park
  };
  std::vector<mutex_wait> mutex_waits() const;
  void destroy_remaining();
  // Waits until every live goroutine's id is in `allowed` (sorted); false
  // on timeout.
  bool wait_until_only(const std::vector<std::uint64_t>& allowed,
                       std::chrono::nanoseconds timeout);
};

worker* current_worker() noexcept;
// Whether spinning while another party finishes can pay off: more than one
// core, and (on a worker) more than one worker in its runtime, since a
// goroutine spinning on a single worker only delays the party it waits for.
// The mutex's spin (Go's canSpin) and the channel back-off build on it.
bool spin_may_help() noexcept;

// ---- quiescence (quiescence.cpp, docs/design/quiescence.md) ------------------
// Runtimes enter the process-wide list once their workers run and leave it
// first thing in ~runtime.
void runtime_list_add(runtime_impl* rt);
void runtime_list_remove(runtime_impl* rt) noexcept;
// The deadlock check: called by a worker that went idle last in its runtime
// with no timer armed, by a plain thread about to park in a goro operation,
// and by a blocking-pool thread that finished a job. Cheap unless every
// runtime is quiescent.
void quiescence_trigger() noexcept;
// Threads of the blocking pool (blocking_pool.cpp), started and not exited.
std::size_t blocking_pool_threads() noexcept;
// The signal reader thread (0 or 1), and whether any signal is watched
// (signal.cpp): a watched signal can wake a goroutine at any time.
unsigned signal_reader_threads(bool* watching) noexcept;
// The list of live runtimes (registry.cpp). live_runtimes() returns each
// with a reference taken (release with release_runtime).
void register_runtime(runtime_impl* rt);
void unregister_runtime(runtime_impl* rt) noexcept;
std::vector<runtime_impl*> live_runtimes();
// Seeds goro::rand's state of the calling thread (rand.cpp): a seeded
// runtime's worker, so that goro::rand replays too.
void rand_seed_thread(std::uint64_t seed) noexcept;
// GORO_DUMP_ON: read once, at the first runtime start (debug.cpp).
void dump_on_env_once() noexcept;

}  // namespace goro::detail

// scheduler.cpp — the M:N work-stealing scheduler: worker loop, run queues,
// idle/wake protocol. Design and invariants: docs/design/scheduler.md and the
// comment in runtime_impl.hpp.
//
// Invariants:
//  * n_spinning counts workers with spinning == true, wake tokens handed
//    out by wakep() and not yet taken by the woken worker, and the token of
//    an idle worker napping for young work (find_runnable); it never
//    underflows.
//  * a worker is on the idle list iff in_idle_list (both under idle_mu); n_idle
//    is the list's size.
//  * after a goroutine's resume() returns, the worker never touches it: it may
//    already be running elsewhere or be freed.
//  * deterministic mode (runtime_options::seed, one worker): find_runnable
//    takes its one seeded branch (seeded_next) instead of the queue order;
//    the queues themselves and every path that fills them are unchanged.
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <new>
#include <string>
#include <thread>
#include <typeinfo>

#include "goro/debug.hpp"
#include "runtime_impl.hpp"
#include "scheduler_testing.hpp"

namespace goro::detail {
namespace {
thread_local worker* tl_worker = nullptr;
thread_local goroutine* tl_current = nullptr;
thread_local int tl_budget = 0;
thread_local nanos tl_slice_start = 0;  // 0: the run has not yet spent its first budget
thread_local std::uint32_t tl_stamp_ms = 0;  // park_stamp_ms() on this worker
thread_local unsigned tl_stamp_runs = 0;     // runs since tl_stamp_ms was read; 0: read it now
constexpr unsigned kStampEvery = 64;

// A goroutine that never blocks yields once it has run for kSlice (checked
// every kBudget operations that completed without blocking, so the clock is
// read once per kBudget operations at most). Go preempts after 10 ms; a
// plain count of 128 (tokio's) made a busy receiver yield every few
// microseconds, and the goroutines it had readied then ran beside it and
// fought it for the channel: 4 senders into one receiver through a
// 1024-slot channel went 2.6x slower (docs/design/performance.md).
constexpr int kBudget = 128;  // operations between looks at the clock
constexpr nanos kSlice = 1'000'000;  // 1 ms
constexpr unsigned kLifoCap = 16;  // consecutive runnext runs before the queue gets a turn
constexpr unsigned kGlobalEvery = 61;

// scheduler_testing.hpp: called where wakep() found no idle worker.
std::atomic<void (*)()> g_wakep_found_none_hook{nullptr};
}  // namespace

// goroutine.hpp's seams of the wake protocol (scheduler_testing.hpp).
std::atomic<void (*)()> g_wake_seam{nullptr};
std::atomic<void (*)()> g_wake_in_flight_seam{nullptr};
// wait_group.hpp's seam of a pending release (scheduler_testing.hpp).
std::atomic<void (*)(bool)> g_wait_group_release_seam{nullptr};

namespace {
// The seams of a pending report (scheduler_testing.hpp).
std::atomic<void (*)()> g_finish_window_seam{nullptr};
std::atomic<void (*)()> g_quiet_wait_seam{nullptr};
std::atomic<void (*)()> g_quiet_register_seam{nullptr};
}  // namespace

void quiet_register_seam() noexcept {
  if (void (*seam)() = g_quiet_register_seam.load(std::memory_order_acquire)) seam();
}

void finish_window_seam() noexcept {
  if (void (*seam)() = g_finish_window_seam.load(std::memory_order_acquire)) seam();
}
void quiet_wait_seam() noexcept {
  if (void (*seam)() = g_quiet_wait_seam.load(std::memory_order_acquire)) seam();
}

namespace {

std::uint64_t xorshift(std::uint64_t& s) noexcept {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

// splitmix64: the deterministic mode's generator (any state is valid,
// including the ones small seeds give, and consecutive seeds diverge at once).
std::uint64_t splitmix64(std::uint64_t& s) noexcept {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

unsigned workers_from_env(const char* env, unsigned cores) noexcept {
  if (env == nullptr || *env == '\0') return cores;
  char* end = nullptr;
  errno = 0;
  unsigned long v = std::strtoul(env, &end, 10);
  if (errno != 0 || *end != '\0' || env[0] == '-' || env[0] == '+' || v < 1 || v > 4096) {
    std::fprintf(stderr, "goro: ignoring GORO_MAXPROCS=%s (want 1..4096); using %u workers\n", env,
                 cores);
    return cores;
  }
  return static_cast<unsigned>(v);
}

unsigned default_workers() noexcept {
  static const unsigned n = workers_from_env(std::getenv("GORO_MAXPROCS"),
                                             std::max(1u, std::thread::hardware_concurrency()));
  return n;
}

std::uint64_t parse_seed(const char* env) noexcept {
  if (env == nullptr || *env == '\0') return 0;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(env, &end, 10);
  if (errno != 0 || *end != '\0' || env[0] == '-' || env[0] == '+' || v == 0) {
    std::fprintf(stderr, "goro: ignoring GORO_SEED=%s (want 1..2^64-1)\n", env);
    return 0;
  }
  return static_cast<std::uint64_t>(v);
}

std::uint64_t seed_from_env() noexcept {
  static const std::uint64_t seed = parse_seed(std::getenv("GORO_SEED"));
  return seed;
}

goroutine* current_goroutine() noexcept { return tl_current; }

// The one clock seam: a virtual runtime's workers read its virtual clock
// (one thread_local load and a flag on this worker for everybody else).
nanos now() noexcept {
  worker* w = tl_worker;
  if (w != nullptr && w->virtual_clock) [[unlikely]]
    return w->rt->vclock.load(std::memory_order_acquire);
  return real_now();
}
runtime_impl* current_runtime() noexcept { return tl_worker ? tl_worker->rt : nullptr; }
worker* current_worker() noexcept { return tl_worker; }
bool current_worker_seeded() noexcept { return tl_worker != nullptr && tl_worker->seeded; }
std::uint32_t park_stamp_ms() noexcept { return tl_worker != nullptr ? tl_stamp_ms : coarse_ms(); }

bool spin_may_help() noexcept {
  static const bool multicore = std::thread::hardware_concurrency() > 1;
  return multicore && (tl_worker == nullptr || tl_worker->rt->workers.size() > 1);
}

bool spin_worthwhile() noexcept {
  if (!spin_may_help()) return false;
  const worker* w = tl_worker;
  // Another worker is running (it may be about to free a slot, fill one or
  // unlock), and nothing waits in our queue: a partner we woke waits there
  // and cannot run while we spin (Go's canSpin, runqempty).
  return w == nullptr ||
         (w->rt->n_idle.load(std::memory_order_relaxed) <
              static_cast<int>(w->rt->workers.size()) - 1 &&
          w->runnext.load(std::memory_order_relaxed) == nullptr && w->q.empty());
}

bool budget_spent() noexcept {
  if (tl_current == nullptr) return false;
  if (--tl_budget >= 0) return false;
  // Deterministic mode: cut every kBudget operations, never by the clock.
  if (tl_worker->seeded) [[unlikely]] return true;
  const nanos t = real_now();
  if (tl_slice_start == 0) tl_slice_start = t;
  if (t - tl_slice_start < kSlice) {
    tl_budget = kBudget;
    return false;
  }
  return true;
}

static_assert(alignof(goroutine) > 1 && alignof(parker) > 1, "waker keeps its tag in bit 0");

void waker::wake() const noexcept {
  if (goroutine* gr = g())
    ready(gr);
  else
    p()->unpark();
}

// The goroutine running on this worker is over: its top task returned (its
// final awaiter calls this), or its callable threw before making it
// (runtime.hpp, goroutine shells).
//
// `error` points at the stored exception (the top task's promise, or the
// shell's error slot); this function copies it only to report it. A copy
// held past kDone would make this worker the one that drops the
// exception's last reference after the joiner has caught and read it: the
// exception's reference count lives in the C++ runtime's support library,
// which TSan does not see, so it reported the joiner's read and this
// worker's free as a race (tests/stress/runtime_stress_test.cpp,
// JoinDropStress).
void goroutine_finished(std::exception_ptr* error) noexcept {
  goroutine* g = current_goroutine();
  GORO_ASSERT(g != nullptr, "goro: a goroutine's task finished outside its goroutine");
  g->state.store(g_state::dead, std::memory_order_relaxed);
  std::uint32_t s = g->join_state.load(std::memory_order_acquire);
  // Already detached (kDetached never clears): nobody can observe the
  // exception, so report it while the goroutine still counts as live; a
  // quiescent runtime (wait_no_goroutines) has then run every handler.
  bool reported = false;
  if ((s & kDetached) && *error) {
    report_uncaught(*error, g);
    reported = true;
  }
  // A joinable goroutine keeps its outcome in its shell and lets its frame
  // go now (goroutine_ops::finish), before kDone lets a joiner read it, and
  // while it still counts as live: a quiescent runtime has run the frame's
  // destructors. If its handle is dropped meanwhile, destroy() below finds
  // no frame. The exception is in the shell's slot from then on.
  if (!(s & kDetached) && g->ops->finish) {
    g->ops->finish(g);
    error = &static_cast<joinable_shell*>(g)->error;
  }
  // An exception nobody has reported yet is ours to report if the handle is
  // dropped before kDone, which we learn only after leaving the registry:
  // until we know, the quiescence waits wait for us (reports_pending; the
  // increment comes before the removal they see).
  runtime_impl* const rt = g->rt;
  const bool may_report = *error && !reported;
  if (may_report) [[unlikely]]
    rt->reports_pending.fetch_add(1, std::memory_order_relaxed);
  registry_remove(g);  // before kDone: a joiner then sees live counts settled
  if (may_report) [[unlikely]]
    finish_window_seam();
  // Once kDone is visible a thread joiner (woken early by a stale parker
  // token) may return and destroy the goroutine.
  waker j;
  s = publish_join_bit(g, s, kDone, &j);
  if (s & kDetached) {
    // Dropped meanwhile, unjoined: the goroutine is ours alone, and so is
    // what *error points at (the shell, or the frame that destroy() frees).
    if (may_report) report_uncaught(*error, g);
    g->ops->destroy(g);
  } else if (s & kWaiter) {
    wake_joiner(g, j);
  }
  if (may_report) [[unlikely]] {
    // Dekker pair with the quiescence waits, as in registry_remove: a
    // fence, not only the RMW, since notify_quiet's live() reads other
    // removers' counts, which only fences order against theirs.
    rt->reports_pending.fetch_sub(1, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    rt->notify_quiet();
  }
}

void wake_joiner(goroutine* g, waker j) noexcept {
  wake_seam();
  if (j.g() == nullptr) {
    j.wake();  // a thread: it returns on kDone alone (pooled parker)
    return;
  }
  // A goroutine joiner holds the handle that keeps g alive, and waits for
  // kWoken before it lets it go (runtime.hpp, join state).
  j.wake();
  g->join_state.fetch_or(kWoken, std::memory_order_release);  // last touch of g
}

void ready(goroutine* g) noexcept {
  // A stopped runtime runs nothing more; its goroutines are destroyed by
  // ~runtime or, when a join_handle still holds them, by the handle later,
  // and their destructors may wake others (runtime_impl::refs keeps this
  // readable until the last such frame is gone).
  if (g->rt->stopping.load(std::memory_order_relaxed)) return;
  g->wait.store(nullptr, std::memory_order_relaxed);
  g->state.store(g_state::runnable, std::memory_order_relaxed);
  g->rt->schedule_ready(g);
}

void requeue(goroutine* g) noexcept {
  if (g->rt->stopping.load(std::memory_order_relaxed)) return;  // as in ready()
  g->state.store(g_state::runnable, std::memory_order_relaxed);
  g->rt->schedule_yield(g);
}

// ---- queues -------------------------------------------------------------------

// A ring of 64 KB or more is mapped, not malloc'd, so that freeing it gives
// its pages back at once: glibc keeps freed blocks below its (moving) mmap
// threshold in the heap, and the rings a burst of 1M spawns had grown
// through stayed resident (1.6 of the 299 bytes a parked goroutine was
// measured at).
goroutine** global_queue::ring_alloc(std::uint32_t cap) noexcept {
  const std::size_t bytes = std::size_t{cap} * sizeof(goroutine*);
  if (bytes < kMapRingBytes) return new (std::nothrow) goroutine*[cap];
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<goroutine**>(p);
}

void global_queue::ring_free(goroutine** ring, std::uint32_t cap) noexcept {
  if (ring == nullptr) return;
  const std::size_t bytes = std::size_t{cap} * sizeof(goroutine*);
  if (bytes < kMapRingBytes)
    delete[] ring;
  else
    ::munmap(ring, bytes);
}

global_queue::~global_queue() { ring_free(ring_, cap_); }

void global_queue::push_array(goroutine* const* gs, std::uint32_t n) noexcept {
  goroutine** fresh = nullptr;  // a larger ring, allocated outside the lock
  std::uint32_t fresh_cap = 0;
  goroutine** old = nullptr;  // the ring it replaced, freed outside the lock
  std::uint32_t old_cap = 0;
  for (bool tried = false;;) {
    std::uint32_t need = 0;
    {
      lock_guard l(mu_);
      if (list_head_ == nullptr && !list_walking_) {
        if (count_ + n > cap_ && fresh_cap >= count_ + n) {
          for (std::uint32_t i = 0; i < count_; ++i) fresh[i] = ring_[(head_ + i) & (cap_ - 1)];
          old = ring_;
          old_cap = cap_;
          ring_ = fresh;
          cap_ = fresh_cap;
          head_ = 0;
          fresh = nullptr;
        }
        if (count_ + n <= cap_) {
          for (std::uint32_t i = 0; i < n; ++i) ring_[(head_ + count_ + i) & (cap_ - 1)] = gs[i];
          count_ += n;
          size_.fetch_add(n, std::memory_order_seq_cst);
          break;
        }
        need = count_ + n;
      }
      if (need == 0 || tried) {
        // Behind the list (it is not empty, or out being walked), or no
        // memory for a ring.
        for (std::uint32_t i = 0; i + 1 < n; ++i) gs[i]->next = gs[i + 1];
        gs[n - 1]->next = nullptr;
        if (list_tail_) list_tail_->next = gs[0]; else list_head_ = gs[0];
        list_tail_ = gs[n - 1];
        size_.fetch_add(n, std::memory_order_seq_cst);
        break;
      }
    }
    ring_free(fresh, fresh_cap);  // too small by now
    fresh_cap = std::max(kMinRing, std::bit_ceil(need) * 2);
    fresh = ring_alloc(fresh_cap);
    if (fresh == nullptr) fresh_cap = 0;
    tried = true;
  }
  ring_free(fresh, fresh_cap);
  ring_free(old, old_cap);
}

goroutine* global_queue::pop_batch(local_queue& q, std::uint32_t max) noexcept {
  if (size_.load(std::memory_order_acquire) == 0) return nullptr;
  // Only the caller pushes on q, and thieves only make room: `room` holds.
  const std::uint32_t room = local_queue::kSize - q.size();
  goroutine* batch[local_queue::kSize / 2 + 1];
  max = std::min({max, room + 1, static_cast<std::uint32_t>(std::size(batch))});
  std::uint32_t n = 0;
  goroutine** drained = nullptr;
  std::uint32_t drained_cap = 0;
  {
    lock_guard l(mu_);
    if (count_ == 0) {
      if (list_head_ == nullptr) return nullptr;
      // The ring is empty: what is left is the list (pushes made while a
      // ring could not be allocated).
    } else {
      n = std::min(count_, max);
      for (std::uint32_t i = 0; i < n; ++i) batch[i] = ring_[(head_ + i) & (cap_ - 1)];
      head_ = (head_ + n) & (cap_ - 1);
      count_ -= n;
      if (count_ == 0 && cap_ > kKeepRing) {
        drained = ring_;
        drained_cap = cap_;
        ring_ = nullptr;
        cap_ = head_ = 0;
      }
    }
  }
  if (n == 0) return pop_list(q, max);
  ring_free(drained, drained_cap);
  for (std::uint32_t i = 1; i < n; ++i) {
    const bool pushed = q.push(batch[i]);
    GORO_ASSERT(pushed, "goro: global queue batch larger than the local queue's room");
  }
  // release: whoever reads the lower count (any_work) sees them in q.
  size_.fetch_sub(n, std::memory_order_release);
  return batch[0];
}

// The list part: taken off whole under the lock and walked outside it (each
// step reads a `next` in another goroutine's control block, a cache miss
// once frames are scattered). While it is out (list_walking_), pushes go
// to the list, not the ring, and other takers leave the list alone; what
// the walk does not take goes back at the head, before those pushes: the
// queue stays FIFO.
goroutine* global_queue::pop_list(local_queue& q, std::uint32_t max) noexcept {
  goroutine* g;
  goroutine* last;
  {
    lock_guard l(mu_);
    g = list_head_;
    // Raced (the ring refilled, or another taker is walking): the caller
    // looks again later (size_ keeps any_work() true meanwhile).
    if (!g || count_ != 0 || list_walking_) return nullptr;
    if (max == 1) {  // the fairness tick: one pop, nothing to walk
      list_head_ = g->next;
      if (!list_head_) list_tail_ = nullptr;
      size_.fetch_sub(1, std::memory_order_release);
      return g;
    }
    last = list_tail_;
    list_head_ = list_tail_ = nullptr;  // push_array no longer touches `last`
    list_walking_ = true;
  }
  goroutine* rest = g->next;
  std::uint32_t taken = 1;
  while (rest && taken < max) {
    // Read the link before the push publishes `rest`: from then on a
    // thief may steal it, run it and free its frame.
    goroutine* next = rest->next;
    if (!q.push(rest)) break;
    rest = next;
    ++taken;
  }
  {
    lock_guard l(mu_);
    if (rest) {  // back at the head, before what was pushed meanwhile
      last->next = list_head_;
      if (!list_head_) list_tail_ = last;
      list_head_ = rest;
    }
    list_walking_ = false;
  }
  size_.fetch_sub(taken, std::memory_order_release);
  return g;
}

void runtime_impl::local_push(worker* w, goroutine* g) noexcept {
  for (;;) {
    if (w->q.push(g)) return;
    // Full: move the older half plus g to the global queue (Go's runqputslow).
    goroutine* batch[local_queue::kSize / 2 + 1];
    std::uint32_t n = w->q.grab_half_for_overflow(batch);
    if (n == 0) continue;  // thieves made room meanwhile
    batch[n] = g;
    global.push_array(batch, n + 1);
    return;
  }
}

goroutine* runtime_impl::local_next(worker* w) noexcept {
  if (w->lifo_streak < kLifoCap) {
    if (w->runnext.load(std::memory_order_relaxed) != nullptr) {
      if (goroutine* g = w->runnext.exchange(nullptr, std::memory_order_acq_rel)) {
        ++w->lifo_streak;
        return g;
      }
    }
  }
  w->lifo_streak = 0;
  if (goroutine* g = w->q.pop()) return g;
  return w->runnext.exchange(nullptr, std::memory_order_acq_rel);
}

// Deterministic mode (runtime_options::seed; one worker, so no thief and no
// other worker's runnext): moves everything newly runnable (runnext, the
// ring, the global queue) into seed_pool, in that order, and takes a
// goroutine at a seeded random index. Each goroutine is moved once, so a
// scheduling point costs O(1) amortised; the order of the pool depends only
// on the history of this worker, hence on the seed (plain threads' injects
// aside). Due timers fire first, as in find_runnable's usual order.
goroutine* runtime_impl::seeded_next(worker* w) {
  if (w->timers.earliest.load(std::memory_order_acquire) != kNever) w->timers.run_due(now());
  std::vector<goroutine*>& pool = w->seed_pool;
  if (goroutine* g = w->runnext.exchange(nullptr, std::memory_order_acq_rel)) pool.push_back(g);
  for (;;) {
    while (goroutine* g = w->q.pop()) pool.push_back(g);
    goroutine* g = global.pop_batch(w->q, local_queue::kSize / 2);
    if (g == nullptr) break;
    pool.push_back(g);
  }
  if (pool.empty()) return nullptr;
  const std::size_t i = static_cast<std::size_t>(splitmix64(w->seed_state) % pool.size());
  goroutine* g = pool[i];
  pool[i] = pool.back();
  pool.pop_back();
  return g;
}

void runtime_impl::schedule_new(goroutine* g) noexcept {
  worker* w = tl_worker;
  if (w != nullptr && w->rt == this) {
    // The parent keeps running: g is spare work, and an idle worker must be
    // told or g waits for the parent to park (Go's newproc calls wakep).
    local_push(w, g);
    notify_work();
  } else {
    inject(g);
  }
}

void runtime_impl::inject(goroutine* g) noexcept {
  external_ops.fetch_add(1, std::memory_order_seq_cst);
  global.push(g);
  notify_work();
  external_ops.fetch_sub(1, std::memory_order_release);
}

void runtime_impl::schedule_ready(goroutine* g) noexcept {
  worker* w = tl_worker;
  if (w != nullptr && w->rt == this) {
    // runnext: the woken goroutine runs next on this worker (ping-pong stays
    // on one core). The waker may keep running for a long time, though, so
    // some idle worker must be able to take g: notify_runnext wakes one
    // unless a spinner or the runnext watcher already looks. A thief leaves
    // a running worker's runnext alone for a few microseconds
    // (steal_runnext), so a waker that parks at once still runs g itself.
    // The goroutine g displaces goes to the ring, where the watcher, too,
    // takes it when this worker keeps computing: waking a worker for it
    // (Go's wakep) spread a consumer's senders over both cores of a 2-core
    // machine and paid a cross-core handoff per message (bounded0/mpsc 200
    // -> 143 ns/msg without it; docs/design/scheduler.md).
    if (goroutine* old = w->runnext.exchange(g, std::memory_order_acq_rel)) local_push(w, old);
    notify_runnext();
  } else {
    inject(g);
  }
}

void runtime_impl::schedule_yield(goroutine* g) noexcept {
  worker* w = tl_worker;
  if (w != nullptr && w->rt == this) {
    // The yielding goroutine is suspending, so this worker is about to look
    // for work: if nothing else is queued here it takes g straight back, and
    // waking an idle worker would only make it steal g (a futex wake and a
    // migration per budget yield of a lone goroutine: a mutex lock/unlock
    // loop paid ~2 us per yield for it, in bench_sync's mutex cases). This
    // is the one place where skipping the wake cannot leave work unrun.
    const bool alone = w->q.empty() && w->runnext.load(std::memory_order_relaxed) == nullptr;
    local_push(w, g);
    if (!alone) notify_work();
  } else {
    inject(g);
  }
}

// ---- idle / wake protocol ---------------------------------------------------------

void runtime_impl::notify_work() noexcept {
  // Producer half of the Dekker pair: the work is published; now look for
  // sleepers. A worker going idle registers first and then re-checks queues.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (n_idle.load(std::memory_order_relaxed) > 0 &&
      n_spinning.load(std::memory_order_relaxed) == 0)
    wakep();
}

void runtime_impl::notify_runnext() noexcept {
  // As notify_work, but for a goroutine put in this worker's runnext: the
  // waker usually parks within nanoseconds and runs it itself, so a wake per
  // handoff would cost a futex call and a worker that finds nothing (ping-pong
  // and rings paid 8x for it). The watcher (an idle worker in short timed
  // parks, see find_runnable) covers the case where the waker keeps running.
  // Dekker pair with the idle path: it registers idle, fences and then reads
  // every runnext (foreign_runnext) before it stops watching or parks.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (n_idle.load(std::memory_order_relaxed) > 0 &&
      n_spinning.load(std::memory_order_relaxed) == 0 &&
      n_watching.load(std::memory_order_relaxed) == 0)
    wakep();
}

bool runtime_impl::foreign_runnext(const worker* w) const noexcept {
  for (const worker* v : workers)
    if (v != w && v->runnext.load(std::memory_order_seq_cst) != nullptr) return true;
  return false;
}

void runtime_impl::leave_watch(worker* w) noexcept {
  w->watching = false;
  n_watching.store(0, std::memory_order_seq_cst);
  // A waker that saw the watcher skipped its wake: hand the job on if there
  // is still something to watch (a runnext, or a goroutine a wake displaced
  // from one into a ring: schedule_ready).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (watch_worthy(w)) notify_runnext();
}

bool runtime_impl::watch_worthy(const worker* w) const noexcept {
  return foreign_runnext(w) || any_work();
}

void runtime_impl::wakep() noexcept {
  // One spinning worker at a time is enough to find new work (Go's wakep).
  // Whoever holds the token answers for work queued while it is held: a
  // producer that sees it held skips its own wake (notify_work). So a holder
  // that lets go without running anything looks again afterwards: a worker
  // that gives up spinning re-checks the queues after it registers idle
  // (find_runnable), and a waker that finds no idle worker re-checks here.
  // Without that, a producer that pushed while this waker held the token
  // would leave its work to nobody: the worker that went idle in between had
  // already made its last check (a plain thread's inject then never ran:
  // tests/regression/inject_lost_while_waker_found_no_idle_worker_test.cpp).
  for (;;) {
    int expected = 0;
    if (!n_spinning.compare_exchange_strong(expected, 1, std::memory_order_seq_cst)) return;
    worker* w = nullptr;
    {
      lock_guard l(idle_mu);
      if (!idle.empty()) {
        wake_begin();
        w = idle.back();
        idle.pop_back();
        w->in_idle_list = false;
        // Handed over under the lock so the woken worker's unidle() sees it.
        w->woken_spinning.store(true, std::memory_order_relaxed);
        n_idle.fetch_sub(1, std::memory_order_seq_cst);
        wake_end();
      }
    }
    if (w != nullptr) {
      w->park.unpark();
      return;
    }
    if (void (*hook)() = g_wakep_found_none_hook.load(std::memory_order_acquire)) hook();
    // Dekker pair with notify_work: the token is back; fence; look at the
    // queues and the timers. A producer that saw the token held pushed (or
    // armed a timer with no worker sleeping for timers: timer_armed) before
    // it looked, so what it published is visible here; one that looks after
    // sees the token free and wakes someone itself.
    n_spinning.fetch_sub(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (n_idle.load(std::memory_order_relaxed) == 0) return;
    if (!any_work() && (earliest_timer() == kNever ||
                        timer_sleeper.load(std::memory_order_seq_cst) != nullptr))
      return;
  }
}

void runtime_impl::release_spinning(worker* w) noexcept {
  if (!w->spinning) return;
  w->spinning = false;
  // The last spinner found work: there may be more, so keep one looking.
  if (n_spinning.fetch_sub(1, std::memory_order_seq_cst) == 1) notify_work();
}

// Queued work only: a goroutine in another worker's runnext is the watcher's
// business (find_runnable), not a reason to stay awake and spin.
bool runtime_impl::any_work() const noexcept {
  if (global.size() != 0) return true;
  for (worker* v : workers)
    if (!v->q.empty()) return true;
  return false;
}

namespace {
constexpr nanos kRunnextGrace = 3'000;  // Go's usleep(3) in runqgrab
// How long the runnext watcher sleeps between looks. A goroutine woken into
// the runnext of a worker that keeps computing waits about this long (plus
// the kernel's timer slack, 50 us by default) before the watcher steals it.
constexpr nanos kWatchPeriod = 20'000;
// How often an idle worker of a virtual-time runtime looks again when it
// could not move the clock (real time).
constexpr nanos kVirtualRetry = 100'000;

// A thief takes from another worker's queue at once when it holds
// kStealNow goroutines or more (a spawn loop, a fan-out: work to share);
// from a smaller one only when its owner has taken nothing from it for
// kStealGrace. A worker that keeps taking from a short queue is serving
// the goroutines it woke (a consumer and its woken senders), and stealing
// them splits a channel's parties over two cores, so that every message
// then crosses between them (bounded0/mpsc 122 -> 46 ns/msg without it;
// docs/design/scheduler.md, "Stealing from a short queue").
constexpr std::uint32_t kStealNow = 8;
constexpr nanos kStealGrace = 3'000;  // as kRunnextGrace

// Owner-thread state of `w` (its sightings), so only w's thread calls it.
bool steal_due(worker* w, const worker* v) noexcept {
  const std::uint32_t n = v->q.size();
  if (n == 0) return false;
  if (n >= kStealNow) return true;
  worker::queue_sighting& s = w->sightings[v->index];
  const std::uint32_t taken = v->q.taken();
  const nanos t = real_now();  // real time, also on a virtual runtime
  if (s.since < 0 || s.taken != taken) {
    s.taken = taken;
    s.since = t;
    return false;
  }
  return t - s.since >= kStealGrace;
}

// Takes a victim's runnext, but first gives its worker a few microseconds to
// run it: the usual case is a goroutine that woke g and is about to park, and
// stealing g then would move a ping-pong pair across cores for nothing.
goroutine* steal_runnext(worker* v) noexcept {
  goroutine* seen = v->runnext.load(std::memory_order_relaxed);
  if (seen == nullptr) return nullptr;
  const nanos until = real_now() + kRunnextGrace;  // real time, also on a virtual runtime
  do {
    cpu_relax();
    if (v->runnext.load(std::memory_order_relaxed) != seen) return nullptr;  // its worker took it
  } while (real_now() < until);
  return v->runnext.exchange(nullptr, std::memory_order_acq_rel);
}

// Leaves the idle list if still on it. If wakep() took us off, we own the
// spinning token it handed over.
void unidle(runtime_impl* rt, worker* w) {
  tl_stamp_runs = 0;  // on w's own thread: it slept, so the next run reads the clock
  lock_guard l(rt->idle_mu);
  if (w->in_idle_list) {
    rt->wake_begin();
    auto it = std::find(rt->idle.begin(), rt->idle.end(), w);
    rt->idle.erase(it);
    w->in_idle_list = false;
    rt->n_idle.fetch_sub(1, std::memory_order_seq_cst);
    rt->wake_end();
  } else if (w->woken_spinning.exchange(false, std::memory_order_relaxed)) {
    w->spinning = true;
  }
}
}  // namespace

// Queued work that `w` would take now: the global queue, its own queue, or
// another worker's queue that steal_due allows. On w's thread only (it
// updates w's sightings).
bool runtime_impl::any_work_to_take_now(worker* w) const noexcept {
  if (global.size() != 0 || !w->q.empty()) return true;
  for (worker* v : workers)
    if (v != w && steal_due(w, v)) return true;
  return false;
}

// The usual search for work, in order: every kGlobalEvery-th tick the
// global queue first (fairness), due timers, runnext / the local ring, the
// global queue, then stealing as a spinning worker. Null: go idle.
goroutine* runtime_impl::find_queued(worker* w) {
  const std::size_t nw = workers.size();
  ++w->tick;

  // Fairness: the global queue gets a turn even when local work never runs out.
  if (w->tick % kGlobalEvery == 0)
    if (goroutine* g = global.pop_batch(w->q, 1)) return g;

  if (w->timers.earliest.load(std::memory_order_acquire) != kNever) w->timers.run_due(now());

  if (goroutine* g = local_next(w)) return g;
  if (goroutine* g = global.pop_batch(w->q, local_queue::kSize / 2)) return g;

  // Steal, as a spinning worker, unless half the busy workers already spin.
  int busy = static_cast<int>(nw) - n_idle.load(std::memory_order_relaxed);
  if (nw > 1 && (w->spinning || 2 * n_spinning.load(std::memory_order_relaxed) < busy)) {
    if (!w->spinning) {
      w->spinning = true;
      n_spinning.fetch_add(1, std::memory_order_seq_cst);
    }
    for (int round = 0; round < 4; ++round) {
      std::size_t start = xorshift(w->rng) % nw;
      for (std::size_t i = 0; i < nw; ++i) {
        worker* v = workers[(start + i) % nw];
        if (v == w) continue;
        if (steal_due(w, v))
          if (goroutine* g = v->q.steal_into(w->q)) return g;
        if (round == 3)
          if (goroutine* g = steal_runnext(v)) return g;
      }
      if (run_all_due_timers())
        if (goroutine* g = local_next(w)) return g;
    }
  }
  return nullptr;
}

goroutine* runtime_impl::find_runnable(worker* w) {
  const std::size_t nw = workers.size();
  for (;;) {
    if (stopping.load(std::memory_order_acquire)) return nullptr;
    // Deterministic mode picks by seed; else queue order, then stealing.
    if (goroutine* g = w->seeded ? seeded_next(w) : find_queued(w)) return g;

    // Nothing found: go idle. Drop spinning first, register, then re-check.
    if (w->spinning) {
      w->spinning = false;
      n_spinning.fetch_sub(1, std::memory_order_seq_cst);
    }
    {
      lock_guard l(idle_mu);
      idle.push_back(w);
      w->in_idle_list = true;
      n_idle.fetch_add(1, std::memory_order_seq_cst);
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (any_work_to_take_now(w) || stopping.load(std::memory_order_acquire)) {
      unidle(this, w);
      continue;
    }
    if (any_work()) {
      // Only short queues whose owners keep taking from them: look again
      // after kStealGrace instead of spinning on their lines (which slowed
      // the owner) or parking until a wake (one per push: a futex call
      // each). Holding the spinning token while napping makes pushers skip
      // their wake (notify_work), so the nap costs them nothing; in return
      // this worker answers for what they pushed meanwhile (wakep's
      // contract for a token holder): it wakes as a spinner, so if it
      // finds work, release_spinning wakes the next worker for the rest
      // (a burst injected during the nap still spreads), and if it finds
      // none it drops the token and re-checks as any spinner does. While
      // it holds the token no wakep() can pick it, so unidle cannot hand
      // it a second one. If another spinner holds the token, nap without
      // it: a wake may cut the nap short, and unidle then hands this
      // worker that wake's token.
      int zero = 0;
      const bool token =
          n_spinning.compare_exchange_strong(zero, 1, std::memory_order_seq_cst);
      w->park.park_until(from_nanos(real_now() + kStealGrace));
      if (token) w->spinning = true;
      unidle(this, w);
      continue;
    }

    nanos next = earliest_timer();
    if (next != kNever && next <= now()) {
      unidle(this, w);
      run_all_due_timers();
      continue;
    }
    if (w->virtual_clock && next != kNever) {
      // Virtual time never passes while a worker sleeps: the last worker
      // to go idle moves the clock to the earliest timer and fires it.
      if (advance_virtual_clock()) {
        unidle(this, w);
        run_all_due_timers();
        continue;
      }
      // Not yet: another worker runs, or a plain thread is still inside
      // schedule_* (the root goroutine's inject). Whoever ends that state
      // does not move the clock, so look again soon instead of sleeping
      // for good (a worker that slept untimed here hung run_virtual when
      // the root's inject was still returning: DeadlockDeath tests).
      w->park.park_until(from_nanos(real_now() + kVirtualRetry));
      unidle(this, w);
      continue;
    }
    if (next == kNever && n_idle.load(std::memory_order_seq_cst) == static_cast<int>(nw)) {
      // Last worker idle with no timer armed: maybe nothing can ever run
      // again (quiescence.cpp). A deadlock handler may have made work.
      quiescence_trigger();
      if (any_work()) {
        unidle(this, w);
        continue;
      }
    }

    // The runnext watcher: while another worker holds a goroutine in its
    // runnext, one idle worker sleeps in short timed parks and then spins
    // (which steals a runnext that stayed put for kRunnextGrace), so a woken
    // goroutine never waits for a waker that keeps computing.
    if (foreign_runnext(w)) {
      if (!w->watching) {
        int zero = 0;
        if (n_watching.compare_exchange_strong(zero, 1, std::memory_order_seq_cst))
          w->watching = true;
      }
    } else if (w->watching) {
      leave_watch(w);  // re-checks after giving the job up
      if (watch_worthy(w)) {
        unidle(this, w);
        continue;
      }
    }
    if (w->watching) {
      // Real time: the watch period is about this thread's sleep, also on
      // a runtime with a virtual clock.
      nanos until = real_now() + kWatchPeriod;
      if (next != kNever && next < until) until = next;
      w->park.park_until(from_nanos(until));
      unidle(this, w);
      continue;
    }
    worker* none = nullptr;
    if (next != kNever &&
        timer_sleeper.compare_exchange_strong(none, w, std::memory_order_seq_cst)) {
      // Timer-side Dekker pair with timer_armed(): publish the deadline we
      // sleep until, then re-read the heaps.
      timer_sleeper_deadline.store(next, std::memory_order_seq_cst);
      if (earliest_timer() == next) w->park.park_until(from_nanos(next));
      timer_sleeper.store(nullptr, std::memory_order_seq_cst);
      unidle(this, w);
      run_all_due_timers();
    } else {
      w->park.park();
      unidle(this, w);
    }
  }
}

void runtime_impl::worker_loop(worker* w) {
  tl_worker = w;
  if (w->seeded) rand_seed_thread(opts.seed);
  while (goroutine* g = find_runnable(w)) {
    if (w->watching) leave_watch(w);
    release_spinning(w);
    tl_current = g;
    tl_budget = kBudget;
    tl_slice_start = 0;
    if (tl_stamp_runs++ % kStampEvery == 0) tl_stamp_ms = coarse_ms();
    g->state.store(g_state::running, std::memory_order_relaxed);
    if (g->resume_point) [[likely]]
      g->resume_point.resume();
    else
      g->ops->start(g);  // its first run
    tl_current = nullptr;
  }
  if (w->spinning) {
    w->spinning = false;
    n_spinning.fetch_sub(1, std::memory_order_seq_cst);
  }
  if (w->watching) {
    w->watching = false;
    n_watching.store(0, std::memory_order_seq_cst);
  }
  tl_worker = nullptr;
}

// ---- lifecycle ----------------------------------------------------------------------

runtime_impl::runtime_impl(const runtime_options& o) : opts(o), shards(o.workers + 1) {
  if (opts.workers == 0)
    throw std::invalid_argument("goro::runtime: workers must be at least 1 (got 0)");
  if (opts.workers > 4096)
    throw std::invalid_argument("goro::runtime: workers must be at most 4096");
  if (opts.max_blocking_threads == 0)
    throw std::invalid_argument("goro::runtime: max_blocking_threads must be at least 1 (got 0)");
  if (opts.seed != 0 && opts.workers != 1)
    throw std::invalid_argument("goro::runtime: a seed (deterministic scheduling) needs exactly 1 worker (got " +
                                std::to_string(opts.workers) + ")");
  if (!opts.on_shutdown_alive) {
    opts.on_shutdown_alive = [](const std::vector<goroutine_info>& alive) {
      std::string text = "goro: runtime destroyed with " + std::to_string(alive.size()) +
                         " goroutine(s) still alive:\n" + debug::format(alive);
      std::fputs(text.c_str(), stderr);
    };
  }
  workers.reserve(opts.workers);
  // The idle list never allocates in find_runnable (noexcept: an allocation
  // failure there could only terminate).
  idle.reserve(opts.workers);
  vclock.store(real_now(), std::memory_order_relaxed);
  for (unsigned i = 0; i < opts.workers; ++i) {
    auto* w = new worker;
    w->rt = this;
    w->index = i;
    w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
    w->virtual_clock = opts.virtual_time;
    if (opts.seed != 0) {
      w->seeded = true;
      w->seed_state = opts.seed;
      w->seed_pool.reserve(local_queue::kSize);
    }
    workers.push_back(w);
  }
  for (worker* w : workers) w->sightings.resize(workers.size());
}

void runtime_impl::start() {
  for (worker* w : workers) w->thread = std::thread([this, w] { worker_loop(w); });
}

void runtime_impl::stop_and_join() {
  stopping.store(true, std::memory_order_seq_cst);
  for (worker* w : workers) w->park.unpark();
  for (worker* w : workers)
    if (w->thread.joinable()) w->thread.join();
  // A job still running writes into its goroutine's frame and wakes it; the
  // frames are destroyed next, so wait for the jobs (their wakes only queue
  // the goroutines now). It can be long: a job is user code.
  while (blocking_jobs.load(std::memory_order_acquire) != 0)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  while (external_ops.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

runtime_impl::~runtime_impl() {
  for (worker* w : workers) delete w;
}

void runtime_impl::release() noexcept {
  if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

void release_runtime(runtime_impl* rt) noexcept { rt->release(); }

}  // namespace goro::detail

// ---- public runtime -----------------------------------------------------------------

namespace goro {

runtime::runtime(runtime_options opts) : impl_(new detail::runtime_impl(opts)) {
  detail::dump_on_env_once();
  impl_->start();
  try {
    detail::register_runtime(impl_);
    try {
      // Listed once its workers exist (the deadlock check counts them as threads).
      detail::runtime_list_add(impl_);
    } catch (...) {
      detail::unregister_runtime(impl_);
      throw;
    }
  } catch (...) {
    impl_->stop_and_join();
    impl_->release();
    throw;
  }
}

runtime::~runtime() {
  detail::runtime_list_remove(impl_);  // before its workers exit (quiescence.cpp)
  detail::unregister_runtime(impl_);   // dumps and leak checks skip it from now on
  impl_->stop_and_join();
  impl_->destroy_remaining();
  impl_->rehome_timers();
  impl_->release();  // deleted now, or by the last frame a join_handle still holds
}

unsigned runtime::workers() const noexcept { return static_cast<unsigned>(impl_->workers.size()); }

runtime& runtime::default_runtime() {
  static runtime* rt = new runtime();  // never destroyed, see the header
  return *rt;
}

namespace this_goroutine {
std::uint64_t id() noexcept {
  detail::goroutine* g = detail::current_goroutine();
  return g ? g->id : 0;
}
}  // namespace this_goroutine

}  // namespace goro

namespace goro::detail::testing {

void wakep(runtime_impl* rt) noexcept { rt->wakep(); }

void set_wakep_found_none_hook(void (*hook)()) noexcept {
  g_wakep_found_none_hook.store(hook, std::memory_order_release);
}

void set_wake_seams(void (*hook)(), void (*in_flight)()) noexcept {
  g_wake_seam.store(hook, std::memory_order_release);
  g_wake_in_flight_seam.store(in_flight, std::memory_order_release);
}

void set_wait_group_release_seam(void (*hook)(bool adder)) noexcept {
  g_wait_group_release_seam.store(hook, std::memory_order_release);
}

unsigned workers_parked(runtime_impl* rt) noexcept {
  unsigned n = 0;
  for (const worker* w : rt->workers)
    if (w->park.parked_now()) ++n;
  return n;
}

bool stopping(runtime_impl* rt) noexcept { return rt->stopping.load(std::memory_order_acquire); }

void set_quiet_register_seam(void (*registered)()) noexcept {
  g_quiet_register_seam.store(registered, std::memory_order_release);
}

void set_pending_report_seams(void (*window)(), void (*wait_blocked)()) noexcept {
  g_finish_window_seam.store(window, std::memory_order_release);
  g_quiet_wait_seam.store(wait_blocked, std::memory_order_release);
}

}  // namespace goro::detail::testing

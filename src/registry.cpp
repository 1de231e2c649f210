// registry.cpp — live goroutines per runtime (count, ids, spawn sites, where
// each waits), the list of live runtimes (for dumps and leak checks), the
// quiescence wait used by leak checks, uncaught-exception reporting, and
// teardown of goroutines still alive when a runtime is destroyed, and the
// pinned reads of mutex holders behind debug::find_deadlock_cycles.
//
// Registry shards (runtime_impl.hpp, registry_shard): a worker adds to its
// own shard without a lock, plain threads add to theirs under its spinlock;
// removals and readers take no lock. A reader announces itself in the
// shard's `readers`, which keeps every goroutine it sees in a slot alive (a
// remover waits for readers after freeing its slot, before its frame is
// freed), so snapshot() reads control blocks under it. The runtime list has
// its own mutex (g_runtimes), taken before no other lock; a runtime leaves it
// first thing in ~runtime, and readers take a reference (refs) on each
// runtime_impl they keep after releasing it.
#include <algorithm>
#include <bit>
#include <new>
#include <thread>
#include <utility>
#include <cstdio>
#include <exception>
#include <mutex>

#include "goro/sync/mutex.hpp"
#include "runtime_impl.hpp"

namespace goro::detail {
namespace {
std::atomic<std::uint64_t> next_id{1};
constexpr std::uint64_t kIdBlock = 1024;

// Ids come from per-thread blocks so spawning doesn't bounce one counter.
GORO_NOINLINE std::uint64_t new_goroutine_id() noexcept {
  static thread_local std::uint64_t next = 0, limit = 0;
  if (next == limit) {
    next = next_id.fetch_add(kIdBlock, std::memory_order_relaxed);
    limit = next + kIdBlock;
  }
  return next++;
}

void default_uncaught(std::exception_ptr e, const goroutine_info& g) {
  const char* what = "unknown exception";
  std::string msg;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    msg = ex.what();
    what = msg.c_str();
  } catch (...) {
  }
  std::fprintf(stderr, "goro: uncaught exception in goroutine %llu (started at %s:%d): %s\n",
               static_cast<unsigned long long>(g.id), g.file, g.line, what);
  std::fflush(stderr);
  std::abort();
}
std::atomic<uncaught_handler> g_uncaught{&default_uncaught};

goroutine_info info_of(const goroutine* g, std::uint32_t now_ms) {
  goroutine_info i;
  i.id = g->id;
  i.file = g->spawn_file;
  i.line = static_cast<int>(g->spawn_line);
  // acquire: pairs with mark_parking's release, so the fields written before
  // it are those of this park (unless the goroutine has moved on meanwhile:
  // then the record may mix two parks; nothing is dereferenced but static
  // strings, so that is harmless).
  const wait_kind* k = g->wait.load(std::memory_order_acquire);
  g_state st = g->state.load(std::memory_order_relaxed);
  if (k == nullptr) {
    i.state = st == g_state::running ? goroutine_state::running : goroutine_state::runnable;
    return i;
  }
  i.state = goroutine_state::waiting;
  i.wait_reason = k->reason;
  i.wait_file = g->wait_file.load(std::memory_order_relaxed);
  i.wait_line = static_cast<int>(g->wait_line.load(std::memory_order_relaxed));
  i.wait_function = g->wait_function.load(std::memory_order_relaxed);
  i.wait_object_kind = k->object;
  i.wait_object = g->wait_object.load(std::memory_order_relaxed);
  std::uint32_t aux = g->wait_aux.load(std::memory_order_relaxed);
  i.wait_aux = aux;
  if (k->len != wait_len::none) {
    i.chan_cap = aux;
    i.chan_len = k->len == wait_len::full ? aux : 0;
  }
  i.chan_elem_type = k->elem;
  std::uint32_t since = g->wait_since.load(std::memory_order_relaxed);
  i.waiting_for = std::chrono::milliseconds(static_cast<std::uint32_t>(now_ms - since));
  return i;
}
goroutine_info info_of(const goroutine* g) { return info_of(g, coarse_ms()); }

// Live runtimes. Leaked on purpose: dumps may run during static destruction.
std::mutex& runtimes_mu() {
  static auto* m = new std::mutex;
  return *m;
}
std::vector<runtime_impl*>& runtimes() {
  static auto* v = new std::vector<runtime_impl*>;
  return *v;
}
}  // namespace

void register_runtime(runtime_impl* rt) {
  std::lock_guard<std::mutex> l(runtimes_mu());
  runtimes().push_back(rt);
}
void unregister_runtime(runtime_impl* rt) noexcept {
  std::lock_guard<std::mutex> l(runtimes_mu());
  auto& v = runtimes();
  v.erase(std::remove(v.begin(), v.end(), rt), v.end());
}
std::vector<runtime_impl*> live_runtimes() {
  std::lock_guard<std::mutex> l(runtimes_mu());
  std::vector<runtime_impl*> out = runtimes();
  for (runtime_impl* rt : out) rt->refs.fetch_add(1, std::memory_order_relaxed);
  return out;
}

bool runtime_impl::wait_until_only(const std::vector<std::uint64_t>& allowed,
                                   std::chrono::nanoseconds timeout) {
  // allowed is sorted. Woken by notify_quiet whenever live() drops to
  // allowed.size() or below (quiet_threshold) or a pending report ends, then
  // checks the ids.
  auto only_allowed = [&] {
    if (!quiet_at(allowed.size())) {
      quiet_wait_seam();
      return false;
    }
    for (const goroutine_info& g : snapshot())
      if (!std::binary_search(allowed.begin(), allowed.end(), g.id)) return false;
    return true;
  };
  std::size_t mine = allowed.size();
  {
    // The threshold and the count under one lock: a waiter leaving between
    // the two (its count back to 0) would reset the threshold we just
    // raised, and removals would not wake us until our timeout
    // (regression/leak_check_threshold_reset_test.cpp).
    std::lock_guard<std::mutex> l(quiet_mu);
    if (quiet_waiters.load(std::memory_order_relaxed) == 0 ||
        quiet_threshold.load(std::memory_order_relaxed) < mine)
      quiet_threshold.store(mine, std::memory_order_relaxed);
    quiet_waiters.fetch_add(1, std::memory_order_seq_cst);
  }
  quiet_register_seam();
  // Our half of the Dekker pair with removers (notify_quiet).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  bool ok;
  {
    std::unique_lock<std::mutex> l(quiet_mu);
    ok = quiet_cv.wait_for(l, timeout, only_allowed);
  }
  {
    std::lock_guard<std::mutex> l(quiet_mu);
    if (quiet_waiters.fetch_sub(1, std::memory_order_relaxed) == 1)
      quiet_threshold.store(0, std::memory_order_relaxed);
  }
  return ok;
}

registry_shard::~registry_shard() {
  for (auto& seg : segments) delete[] seg.load(std::memory_order_relaxed);
}

namespace {
// A reader of control blocks (see registry_shard): while it lives, no
// goroutine seen live in this shard's slots is freed.
class shard_reader {
 public:
  explicit shard_reader(const registry_shard& s) noexcept : s_(const_cast<registry_shard&>(s)) {
    s_.readers.fetch_add(1, std::memory_order_seq_cst);
  }
  ~shard_reader() { s_.readers.fetch_sub(1, std::memory_order_release); }
  shard_reader(const shard_reader&) = delete;
  shard_reader& operator=(const shard_reader&) = delete;

 private:
  registry_shard& s_;
};

// Calls f(g) for each goroutine live in s. The caller is a shard_reader, or
// (destroy_remaining) nothing else can free them.
template <class F>
void for_each_live(const registry_shard& s, F f) {
  const std::uint32_t n = s.size.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < n; ++i) {
    // seq_cst: the reader's half of the Dekker pair (its `readers` increment,
    // then this load).
    const std::uintptr_t v = s.slot(i).load(std::memory_order_seq_cst);
    if (registry_shard::is_live(v)) f(reinterpret_cast<goroutine*>(v));
  }
}

// Waits while busy() holds: for a party a few instructions from done
// (pauses), or preempted there (then yields the thread).
template <class Busy>
void wait_while(Busy busy) noexcept {
  for (unsigned i = 0; busy(); ++i) {
    if (i < 64)
      cpu_relax();
    else
      std::this_thread::yield();
  }
}

std::uintptr_t free_link(std::uint32_t next) noexcept { return (std::uintptr_t{next} << 1) | 1; }
std::uint32_t next_of(std::uintptr_t v) noexcept { return static_cast<std::uint32_t>(v >> 1); }
}  // namespace

// The owner's half of registry_add: the caller is the shard's worker, or
// holds mu (the thread shard). No locked instruction on the way for a
// worker: each would wait for the spawner's pending stores into the new
// frame (lines last written by the other core) to drain.
void registry_shard::add_owned(goroutine* g) {
  if (local_free == kNone)  // take back what other workers freed
    local_free = remote_free.exchange(kNone, std::memory_order_acquire);
  std::uint32_t i = local_free;
  if (i != kNone) {
    local_free = next_of(slot(i).load(std::memory_order_relaxed));
  } else {
    // A new slot; a new segment when the last is full (may throw bad_alloc:
    // the spawn fails cleanly, nothing changed).
    i = size.load(std::memory_order_relaxed);
    const unsigned k = segment_of(i);
    if (k >= kSegments) throw std::bad_alloc();
    if (segments[k].load(std::memory_order_relaxed) == nullptr)
      segments[k].store(new std::atomic<std::uintptr_t>[std::size_t{kFirstSegment} << k](),
                        std::memory_order_release);
    size.store(i + 1, std::memory_order_release);
  }
  g->slot = i;
  g->registered = true;
  added.store(added.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  // release: a reader that sees g here sees its id and spawn site.
  slot(i).store(reinterpret_cast<std::uintptr_t>(g), std::memory_order_release);
}

void runtime_impl::registry_add(goroutine* g) {
  g->id = new_goroutine_id();
  worker* w = current_worker();
  if (w != nullptr && w->rt == this) {
    g->shard = w->index;
    shards[g->shard].add_owned(g);
  } else {
    g->shard = static_cast<std::uint32_t>(workers.size());
    registry_shard& s = shards[g->shard];
    lock_guard l(s.mu);
    s.add_owned(g);
  }
}

void registry_shard::push_remote(std::uint32_t first, std::uint32_t last) noexcept {
  std::atomic<std::uintptr_t>& tail = slot(last);
  std::uint32_t head = remote_free.load(std::memory_order_relaxed);
  do {
    tail.store(free_link(head), std::memory_order_relaxed);
  } while (!remote_free.compare_exchange_weak(head, first, std::memory_order_release,
                                              std::memory_order_relaxed));
}

void runtime_impl::registry_remove(goroutine* g) noexcept {
  registry_shard& s = shards[g->shard];
  const std::uint32_t i = g->slot;
  std::atomic<std::uintptr_t>& sl = s.slot(i);
  g->registered = false;
  worker* w = current_worker();
  if (w != nullptr && w->rt == this) {
    registry_shard& mine = shards[w->index];
    if (&mine == &s) {
      // The owner: back onto its private list (nobody else touches it).
      sl.store(free_link(s.local_free), std::memory_order_relaxed);
      s.local_free = i;
    } else {
      // Into this worker's batch for g's shard; the batch goes over when
      // full, or when a removal for another shard comes first.
      registry_shard::free_batch& b = mine.outgoing;
      if (b.to != g->shard) {
        if (b.n != 0) shards[b.to].push_remote(b.head, b.tail);
        b.to = g->shard;
        b.head = b.tail = registry_shard::kNone;
        b.n = 0;
      }
      sl.store(free_link(b.head), std::memory_order_relaxed);
      if (b.n++ == 0) b.tail = i;
      b.head = i;
      if (b.n == registry_shard::kFreeBatch) {
        s.push_remote(b.head, b.tail);
        b.head = b.tail = registry_shard::kNone;
        b.n = 0;
      }
    }
    // One writer (this worker): no locked instruction.
    mine.removed.store(mine.removed.load(std::memory_order_relaxed) + 1,
                       std::memory_order_release);
  } else {
    // Not one of this runtime's workers (~runtime's thread): the slot goes
    // over alone, counted in the thread shard's `removed`.
    s.push_remote(i, i);
    shards[workers.size()].removed.fetch_add(1, std::memory_order_release);
  }
  // One fence for two Dekker pairs. With shard_reader: the slot no longer
  // names g; a reader that loaded it before is announced in `readers`, and
  // we wait for it before g's frame can be freed. With the quiescence
  // waiters: the count is published; a waiter that registered before it is
  // seen by notify_quiet.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // acquire: the reader's reads of g happen before its frame is freed.
  wait_while([&] { return s.readers.load(std::memory_order_acquire) != 0; });
  notify_quiet();
}

// Called by notify_quiet once its load saw a waiter; that load (seq_cst, so
// also acquire) pairs with the waiter's increment, which follows its store
// of quiet_threshold.
void runtime_impl::notify_quiet_waiters() noexcept {
  if (live() <= quiet_threshold.load(std::memory_order_relaxed)) {
    std::lock_guard<std::mutex> l(quiet_mu);
    quiet_cv.notify_all();
  }
}

std::size_t runtime_impl::live() const noexcept {
  // Every `removed` before any `added`: a removal seen implies its add is
  // seen (the goroutine was added, then published, before it ran and was
  // removed), so the difference never goes negative.
  std::uint64_t r = 0, a = 0;
  for (const registry_shard& s : shards) r += s.removed.load(std::memory_order_acquire);
  for (const registry_shard& s : shards) a += s.added.load(std::memory_order_acquire);
  return static_cast<std::size_t>(a - r);
}

std::vector<goroutine_info> runtime_impl::snapshot() const {
  std::vector<goroutine_info> out;
  const std::uint32_t now_ms = coarse_ms();
  for (const registry_shard& s : shards) {
    shard_reader r(s);
    for_each_live(s, [&](const goroutine* g) { out.push_back(info_of(g, now_ms)); });
  }
  std::sort(out.begin(), out.end(),
            [](const goroutine_info& a, const goroutine_info& b) { return a.id < b.id; });
  return out;
}

// The reader's side of the pin (detail/goroutine.hpp, mutex_wait_barrier).
// As a shard reader we keep the control block alive, and destroy_remaining
// (which removes a goroutine from its shard before it destroys the frame)
// cannot tear a pinned waiter down. Having seen `wait` == mutex after the
// pin and the fence, the goroutine is inside lock() of the mutex it named
// (it cannot leave while pinned), so that mutex is alive while we read it.
std::vector<runtime_impl::mutex_wait> runtime_impl::mutex_waits() const {
  static std::mutex one_reader;  // `inspecting` is one flag: one pinner at a time
  std::lock_guard<std::mutex> serial(one_reader);
  std::vector<mutex_wait> out;
  const std::uint32_t now_ms = coarse_ms();
  for (const registry_shard& s : shards) {
    shard_reader r(s);
    for_each_live(s, [&](goroutine* g) {
      if (g->wait.load(std::memory_order_relaxed) != &wait_kinds::mutex) return;
      g->inspecting.store(1, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (g->wait.load(std::memory_order_acquire) == &wait_kinds::mutex) {
        const void* m = g->wait_object.load(std::memory_order_relaxed);
        mutex_wait w;
        w.info = info_of(g, now_ms);
        w.holder = mutex_holder(static_cast<const goro::mutex*>(m));
        w.since = g->wait_since.load(std::memory_order_relaxed);
        // info_of re-reads `wait`, which a waker may have cleared meanwhile
        // (the object cannot change while pinned): keep only a full record.
        if (w.info.wait_reason != nullptr && w.info.wait_object == m) out.push_back(w);
      }
      g->inspecting.store(0, std::memory_order_release);
    });
  }
  return out;
}

void mutex_wait_barrier() noexcept {
  goroutine* g = current_goroutine();
  if (g == nullptr) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Yields once spinning is long: the reader was preempted while pinning us.
  wait_while([&] { return g->inspecting.load(std::memory_order_acquire) != 0; });
}

void runtime_impl::destroy_remaining() {
  // Workers are stopped: this thread is the only one running goroutines, but
  // plain threads may still join or drop join_handles concurrently.
  if (live() == 0) return;
  opts.on_shutdown_alive(snapshot());
  global.clear();
  const destroying_unfinished_scope unfinished(this);
  for (registry_shard& s : shards) {
    // Destroying one frame may destroy others (a frame owning a join_handle)
    // and free their slots, so re-read each slot. No reader protocol needed:
    // with the workers stopped no goroutine finishes, and a join_handle
    // destroys a frame only once it is done or shut down (below, after its
    // removal), so a goroutine still in its slot stays alive until we act.
    for_each_live(s, [this](goroutine* g) {
      // Leave the registry before kShutdown is published: from then on a
      // join_handle on another thread may destroy the frame (and g) at once.
      // The frame keeps this runtime_impl alive until it is destroyed, by
      // us below or by that handle later (runtime_impl::refs).
      registry_remove(g);
      refs.fetch_add(1, std::memory_order_relaxed);
      g->holds_runtime = true;
      waker j;
      std::uint32_t s =
          publish_join_bit(g, g->join_state.load(std::memory_order_acquire), kShutdown, &j);
      if (s & kDetached) {
        g->ops->destroy(g);  // nobody else can reach it
      } else if (s & kWaiter) {
        // A thread blocked in join() throws; a goroutine joiner of another
        // runtime is woken and throws; one of this runtime is being
        // destroyed too (ready() does nothing), and its teardown waits for
        // kWoken like a resume does.
        wake_joiner(g, j);
      }
    });
  }
}

// ---- free functions used by headers ------------------------------------------------

void registry_remove(goroutine* g) noexcept { g->rt->registry_remove(g); }

void start_goroutine(runtime_impl* rt, goroutine* g) {
  g->rt = rt;
  rt->registry_add(g);
  rt->schedule_new(g);
}

runtime_impl* runtime_for_spawn() noexcept {
  if (runtime_impl* rt = current_runtime()) return rt;
  return runtime::default_runtime().impl();
}

void report_uncaught(std::exception_ptr e, const goroutine* g) noexcept {
  g_uncaught.load()(e, info_of(g));
}

namespace {
thread_local runtime_impl* t_destroying_unfinished = nullptr;
}  // namespace

runtime_impl* destroying_unfinished() noexcept { return t_destroying_unfinished; }
destroying_unfinished_scope::destroying_unfinished_scope(runtime_impl* rt) noexcept
    : prev_(std::exchange(t_destroying_unfinished, rt)) {}
destroying_unfinished_scope::~destroying_unfinished_scope() { t_destroying_unfinished = prev_; }

}  // namespace goro::detail

namespace goro {

std::size_t runtime::live_goroutines() const noexcept { return impl_->live(); }

std::vector<goroutine_info> runtime::goroutines() const { return impl_->snapshot(); }

bool runtime::wait_no_goroutines(std::chrono::nanoseconds timeout) const {
  impl_->quiet_waiters.fetch_add(1, std::memory_order_seq_cst);
  // Our half of the Dekker pair with removers (runtime_impl::notify_quiet).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  bool quiet;
  {
    std::unique_lock<std::mutex> l(impl_->quiet_mu);
    quiet = impl_->quiet_cv.wait_for(l, timeout, [&] {
      if (impl_->quiet_at(0)) return true;
      detail::quiet_wait_seam();
      return false;
    });
  }
  impl_->quiet_waiters.fetch_sub(1, std::memory_order_relaxed);
  return quiet;
}

uncaught_handler set_uncaught_exception_handler(uncaught_handler h) noexcept {
  return detail::g_uncaught.exchange(h ? h : &detail::default_uncaught);
}

}  // namespace goro

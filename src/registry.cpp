// registry.cpp — live goroutines per runtime (count, ids, spawn sites, where
// each waits), the list of live runtimes (for dumps and leak checks), the
// quiescence wait used by leak checks, uncaught-exception reporting, and
// teardown of goroutines still alive when a runtime is destroyed, and the
// pinned reads of mutex holders behind debug::find_deadlock_cycles.
//
// Locks: a registry shard's spinlock guards its slots; holding it keeps the
// goroutines in them alive (a frame leaves its shard before it is freed), so
// snapshot() reads their control blocks under it. The runtime list has its
// own mutex (g_runtimes), taken before no other lock; a runtime leaves it
// first thing in ~runtime, and readers take a reference (refs) on each
// runtime_impl they keep after releasing it.
#include <algorithm>
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
  // allowed is sorted. Woken by registry_remove whenever live() drops to
  // allowed.size() or below (quiet_threshold), then checks the ids.
  auto only_allowed = [&] {
    if (live() > allowed.size()) return false;
    for (const goroutine_info& g : snapshot())
      if (!std::binary_search(allowed.begin(), allowed.end(), g.id)) return false;
    return true;
  };
  std::size_t mine = allowed.size();
  {
    std::lock_guard<std::mutex> l(quiet_mu);
    if (quiet_waiters.load(std::memory_order_relaxed) == 0 ||
        quiet_threshold.load(std::memory_order_relaxed) < mine)
      quiet_threshold.store(mine, std::memory_order_relaxed);
  }
  quiet_waiters.fetch_add(1, std::memory_order_seq_cst);
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

void runtime_impl::registry_add(goroutine* g) {
  g->id = new_goroutine_id();
  worker* w = current_worker();
  g->shard = (w != nullptr && w->rt == this) ? w->index : static_cast<std::uint32_t>(workers.size());
  registry_shard& s = shards[g->shard];
  lock_guard l(s.mu);
  if (s.free.empty()) {
    // Grow both vectors before changing anything (may throw bad_alloc: the
    // spawn fails cleanly). `free` never holds more entries than `slots`, so
    // registry_remove's push (noexcept) never allocates.
    if (s.slots.size() == s.slots.capacity())
      s.slots.reserve(std::max<std::size_t>(64, 2 * s.slots.capacity()));
    if (s.free.capacity() < s.slots.capacity()) s.free.reserve(s.slots.capacity());
    g->slot = static_cast<std::uint32_t>(s.slots.size());
    s.slots.push_back(g);
  } else {
    g->slot = s.free.back();
    s.free.pop_back();
    s.slots[g->slot] = g;
  }
  ++s.count;
  g->registered = true;
}

void runtime_impl::registry_remove(goroutine* g) noexcept {
  {
    registry_shard& s = shards[g->shard];
    lock_guard l(s.mu);
    s.slots[g->slot] = nullptr;
    s.free.push_back(g->slot);
    g->registered = false;
    --s.count;
  }
  // Dekker pair with wait_no_goroutines: count published; fence; look for
  // waiters. A waiter registers, then sums the shards under quiet_mu.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // acquire: a waiter stores quiet_threshold before its increment.
  if (quiet_waiters.load(std::memory_order_acquire) > 0 &&
      live() <= quiet_threshold.load(std::memory_order_relaxed)) {
    std::lock_guard<std::mutex> l(quiet_mu);
    quiet_cv.notify_all();
  }
}

std::size_t runtime_impl::live() const noexcept {
  std::size_t n = 0;
  for (const registry_shard& s : shards) {
    lock_guard l(const_cast<spinlock&>(s.mu));
    n += s.count;
  }
  return n;
}

std::vector<goroutine_info> runtime_impl::snapshot() const {
  std::vector<goroutine_info> out;
  const std::uint32_t now_ms = coarse_ms();
  for (const registry_shard& s : shards) {
    lock_guard l(const_cast<spinlock&>(s.mu));
    for (goroutine* g : s.slots)
      if (g) out.push_back(info_of(g, now_ms));
  }
  std::sort(out.begin(), out.end(),
            [](const goroutine_info& a, const goroutine_info& b) { return a.id < b.id; });
  return out;
}

// The reader's side of the pin (detail/goroutine.hpp, mutex_wait_barrier).
// Under the shard lock the control block stays alive, and destroy_remaining
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
    lock_guard l(const_cast<spinlock&>(s.mu));
    for (goroutine* g : s.slots) {
      if (g == nullptr || g->wait.load(std::memory_order_relaxed) != &wait_kinds::mutex) continue;
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
    }
  }
  return out;
}

void mutex_wait_barrier() noexcept {
  goroutine* g = current_goroutine();
  if (g == nullptr) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (unsigned i = 0; g->inspecting.load(std::memory_order_acquire) != 0; ++i) {
    if (i < 64)
      cpu_relax();
    else
      std::this_thread::yield();  // the reader was preempted while pinning us
  }
}

void runtime_impl::destroy_remaining() {
  // Workers are stopped: this thread is the only one running goroutines, but
  // plain threads may still join or drop join_handles concurrently.
  if (live() == 0) return;
  opts.on_shutdown_alive(snapshot());
  global.clear();
  for (registry_shard& s : shards) {
    // Destroying one frame may destroy others (a frame owning a join_handle)
    // and free their slots, so re-read each slot under the lock.
    for (std::size_t i = 0;; ++i) {
      goroutine* g;
      {
        lock_guard l(s.mu);
        if (i >= s.slots.size()) break;
        g = s.slots[i];
      }
      if (g == nullptr) continue;
      // Leave the registry before kShutdown is published: from then on a
      // join_handle on another thread may destroy the frame (and g) at once.
      // The frame keeps this runtime_impl alive until it is destroyed, by
      // us below or by that handle later (runtime_impl::refs).
      registry_remove(g);
      refs.fetch_add(1, std::memory_order_relaxed);
      g->holds_runtime = true;
      std::uint32_t s = g->join_state.load(std::memory_order_acquire);
      waker j;
      for (;;) {
        if (s & kWaiter) j = g->joiner;
        if (g->join_state.compare_exchange_weak(s, s | kShutdown, std::memory_order_acq_rel,
                                                std::memory_order_acquire))
          break;
      }
      if (s & kDetached) {
        g->root.destroy();  // nobody else can reach it
      } else if (j.p != nullptr) {
        j.p->unpark();  // a thread blocked in join(): it throws (pooled parker: safe)
      }
      // A goroutine joiner of this runtime is being destroyed too: not woken.
    }
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

}  // namespace goro::detail

namespace goro {

std::size_t runtime::live_goroutines() const noexcept { return impl_->live(); }

std::vector<goroutine_info> runtime::goroutines() const { return impl_->snapshot(); }

bool runtime::wait_no_goroutines(std::chrono::nanoseconds timeout) const {
  impl_->quiet_waiters.fetch_add(1, std::memory_order_seq_cst);
  bool quiet;
  {
    std::unique_lock<std::mutex> l(impl_->quiet_mu);
    quiet = impl_->quiet_cv.wait_for(l, timeout, [&] { return impl_->live() == 0; });
  }
  impl_->quiet_waiters.fetch_sub(1, std::memory_order_relaxed);
  return quiet;
}

uncaught_handler set_uncaught_exception_handler(uncaught_handler h) noexcept {
  return detail::g_uncaught.exchange(h ? h : &detail::default_uncaught);
}

}  // namespace goro

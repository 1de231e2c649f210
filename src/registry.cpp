// registry.cpp — live goroutines per runtime (count, ids, spawn sites), the
// quiescence wait used by leak checks, uncaught-exception reporting, and
// teardown of goroutines still alive when a runtime is destroyed.
#include <cstdio>
#include <exception>

#include "runtime_impl.hpp"

namespace goro::detail {
namespace {
std::atomic<std::uint64_t> next_id{1};

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

goroutine_info info_of(const goroutine* g) {
  return goroutine_info{g->id, g->spawned_at.file, g->spawned_at.line,
                        g->wait_reason.load(std::memory_order_relaxed)};
}
}  // namespace

void runtime_impl::registry_add(goroutine* g) noexcept {
  g->id = next_id.fetch_add(1, std::memory_order_relaxed);
  live.fetch_add(1, std::memory_order_relaxed);
  registry_shard& s = shards[g->id % kShards];
  lock_guard l(s.mu);
  g->reg_prev = nullptr;
  g->reg_next = s.head;
  if (s.head) s.head->reg_prev = g;
  s.head = g;
  g->registered = true;
}

void runtime_impl::registry_remove(goroutine* g) noexcept {
  {
    registry_shard& s = shards[g->id % kShards];
    lock_guard l(s.mu);
    if (g->reg_prev) g->reg_prev->reg_next = g->reg_next; else s.head = g->reg_next;
    if (g->reg_next) g->reg_next->reg_prev = g->reg_prev;
    g->registered = false;
  }
  if (live.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::lock_guard<std::mutex> l(quiet_mu);
    quiet_cv.notify_all();
  }
}

std::vector<goroutine_info> runtime_impl::snapshot() const {
  std::vector<goroutine_info> out;
  for (const registry_shard& s : shards) {
    lock_guard l(const_cast<spinlock&>(s.mu));
    for (goroutine* g = s.head; g; g = g->reg_next) out.push_back(info_of(g));
  }
  return out;
}

void runtime_impl::destroy_remaining() {
  // Workers are stopped: this thread is the only one touching goroutines.
  if (live.load() == 0) return;
  opts.on_shutdown_alive(snapshot());
  global.clear();
  for (registry_shard& s : shards) {
    for (;;) {
      goroutine* g;
      {
        lock_guard l(s.mu);
        g = s.head;
      }
      if (g == nullptr) break;
      std::uint32_t prev = g->join_state.fetch_or(kShutdown, std::memory_order_acq_rel);
      if (prev & kDetached) {
        g->root.destroy();  // its promise destructor leaves the registry
      } else {
        registry_remove(g);  // the join_handle destroys the frame later
        if ((prev & kWaiter) && g->joiner.p != nullptr) g->joiner.p->unpark();
      }
    }
  }
}

// ---- free functions used by headers ------------------------------------------------

void registry_remove(goroutine* g) noexcept { g->rt->registry_remove(g); }

void start_goroutine(runtime_impl* rt, goroutine* g) noexcept {
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

std::size_t runtime::live_goroutines() const noexcept {
  return impl_->live.load(std::memory_order_acquire);
}

std::vector<goroutine_info> runtime::goroutines() const { return impl_->snapshot(); }

bool runtime::wait_no_goroutines(std::chrono::nanoseconds timeout) const {
  std::unique_lock<std::mutex> l(impl_->quiet_mu);
  return impl_->quiet_cv.wait_for(l, timeout, [&] { return impl_->live.load() == 0; });
}

uncaught_handler set_uncaught_exception_handler(uncaught_handler h) noexcept {
  return detail::g_uncaught.exchange(h ? h : &detail::default_uncaught);
}

}  // namespace goro

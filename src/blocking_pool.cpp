// blocking_pool.cpp — the elastic thread pool behind spawn_blocking.
//
// Contract:
// * One process-wide pool of threads, shared by every runtime. A thread runs
//   one job at a time; after a job it takes the next job waiting for the same
//   runtime, else it goes idle, and an idle thread exits after kIdleTimeout.
// * Admission is per runtime: at most runtime_options::max_blocking_threads
//   jobs of one runtime run at once (runtime_impl::blocking_running). A job
//   submitted at that cap waits in the runtime's FIFO
//   (runtime_impl::blocking_wait_*) and is run by the thread of the first of
//   that runtime's jobs to finish. So the pool has at most (sum of the live
//   runtimes' caps) busy threads, plus idle ones.
// * A job below the cap gets a thread of its own at once: submit takes an
//   idle thread off the idle list and hands it the job (so two submits can
//   never both count on the same idle thread), or starts a new thread with
//   the job as its first. It is never queued behind a running job, so a job
//   may wait for a job submitted after it (below the cap).
// * Submit is all or nothing: if a thread is needed and cannot be started,
//   nothing of the job stays in the pool or in any count, and the
//   std::system_error reaches the caller (co_await spawn_blocking throws).
// * ~runtime waits until every job submitted by its goroutines (running or
//   waiting at the cap) has run: each holds one runtime_impl::blocking_jobs
//   count from submit until the pool's last touch of the runtime for it.
//
// Locks: one mutex `mu` guards the idle list, every pool_thread's job and
// retire fields, the counters, and each runtime's blocking_running and
// wait FIFO. A job's function runs without it. Nothing else is locked
// under it. Jobs are intrusive (submitting allocates nothing, except the
// std::thread of a new pool thread).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <system_error>
#include <thread>

#include "blocking_pool_testing.hpp"
#include "goro/detail/intrusive_list.hpp"
#include "goro/runtime.hpp"
#include "quiescence.hpp"
#include "runtime_impl.hpp"

namespace goro::detail {
namespace {
constexpr auto kIdleTimeout = std::chrono::seconds(10);

// One pool thread, on that thread's stack. Linked in the idle list while it
// waits for a job; submit unlinks it and sets `job` under mu, so a thread is
// handed at most one job and an idle thread is never counted twice.
struct pool_thread {
  std::condition_variable cv;
  blocking_job* job = nullptr;  // handed over by submit
  bool retire = false;          // testing::retire_blocking_threads
  pool_thread* prev = nullptr;  // idle list links
  pool_thread* next = nullptr;
  bool linked = false;
};

struct blocking_pool {
  std::mutex mu;
  intrusive_list<pool_thread> idle;  // LIFO, so that surplus threads time out
  std::size_t threads = 0;           // started and not yet exited
  std::size_t queued = 0;            // jobs waiting at their runtime's cap, all runtimes
  unsigned fail_starts = 0;          // testing: thread starts still to fail
  bool retire_all = false;           // testing: a thread exits instead of going idle
  std::condition_variable drained;   // testing: signalled when threads drops to 0

  void submit(runtime_impl* rt, blocking_job* j) {
    std::lock_guard<std::mutex> l(mu);
    j->rt = rt;
    j->next = nullptr;
    if (rt->blocking_running >= rt->opts.max_blocking_threads) {
      // At the cap: a running job of this runtime takes it when it ends.
      if (rt->blocking_wait_tail) rt->blocking_wait_tail->next = j;
      else rt->blocking_wait_head = j;
      rt->blocking_wait_tail = j;
      ++queued;
      return;
    }
    if (pool_thread* t = idle.pop_front()) {
      t->job = j;
      t->cv.notify_one();  // under mu: the thread cannot exit (and free t) before it relocks
    } else {
      start_thread(j);  // may throw; nothing is changed yet
    }
    ++rt->blocking_running;
  }

  void start_thread(blocking_job* first) {
    if (fail_starts > 0) {
      --fail_starts;
      throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                              "goro::spawn_blocking: injected thread start failure");
    }
    // Inside the quiescence epoch: the deadlock check counts `threads`
    // (started, not exited) against the process's threads.
    epoch_begin();
    try {
      std::thread([this, first] { loop(first); }).detach();
    } catch (...) {
      epoch_end();
      throw;
    }
    ++threads;
    epoch_end();
  }

  void loop(blocking_job* j) {
    pool_thread self;
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      // Run j. Its run() wakes the goroutine as its last touch of the job
      // (the job lives in that goroutine's frame), so read rt first.
      runtime_impl* rt = j->rt;
      l.unlock();
      j->run(j);
      l.lock();
      blocking_job* next = rt->blocking_wait_head;
      if (next) {  // the runtime is at its cap: its next job takes this slot
        rt->blocking_wait_head = next->next;
        if (!rt->blocking_wait_head) rt->blocking_wait_tail = nullptr;
        --queued;
      } else {
        --rt->blocking_running;
      }
      blocking_end(rt);  // the pool's last touch of rt for j (next holds its own count)
      if (next) {
        j = next;
        continue;
      }
      // The job's end may leave every goroutine asleep (its wake ran
      // before blocking_end, so a worker that went idle meanwhile saw the
      // job still counted): check, as a worker going idle would.
      l.unlock();
      quiescence_trigger();
      l.lock();
      if (retire_all) break;
      idle.push_front(&self);
      self.cv.wait_for(l, kIdleTimeout, [&] { return self.job != nullptr || self.retire; });
      if (self.job) {  // submit unlinked us
        j = self.job;
        self.job = nullptr;
        continue;
      }
      if (self.linked) idle.erase(&self);  // timed out (a retire unlinked us already)
      break;
    }
    if (--threads == 0 && retire_all) drained.notify_all();
  }

  static void blocking_end(runtime_impl* rt) noexcept {
    rt->blocking_jobs.fetch_sub(1, std::memory_order_release);  // ~runtime may free rt now
  }
};

blocking_pool& pool() {
  static blocking_pool* p = new blocking_pool;  // outlives every thread using it
  return *p;
}
}  // namespace

void submit_blocking(blocking_job* job) {
  runtime_impl* rt = current_runtime();
  GORO_ASSERT(rt != nullptr, "goro::spawn_blocking must be co_awaited inside a goroutine");
  // blocking_begin: counted before the job can run, so ~runtime waits for it.
  rt->blocking_jobs.fetch_add(1, std::memory_order_relaxed);
  try {
    pool().submit(rt, job);
  } catch (...) {
    rt->blocking_jobs.fetch_sub(1, std::memory_order_release);  // nothing was queued
    throw;
  }
}

std::size_t blocking_pool_threads() noexcept {
  std::lock_guard<std::mutex> l(pool().mu);
  return pool().threads;
}

namespace testing {

void fail_next_blocking_thread_starts(unsigned n) noexcept {
  std::lock_guard<std::mutex> l(pool().mu);
  pool().fail_starts = n;
}

bool retire_blocking_threads() noexcept {
  blocking_pool& p = pool();
  std::unique_lock<std::mutex> l(p.mu);
  p.retire_all = true;
  while (pool_thread* t = p.idle.pop_front()) {
    t->retire = true;
    t->cv.notify_one();
  }
  bool ok = p.drained.wait_for(l, std::chrono::seconds(30), [&] { return p.threads == 0; });
  p.retire_all = false;
  return ok;
}

std::size_t blocking_jobs_queued() noexcept {
  std::lock_guard<std::mutex> l(pool().mu);
  return pool().queued;
}

}  // namespace testing
}  // namespace goro::detail

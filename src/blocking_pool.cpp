// blocking_pool.cpp — the elastic thread pool behind spawn_blocking.
//
// Process-wide. A submitted job goes to an idle thread if there is one, else
// a new thread is started (up to kMaxThreads; beyond that jobs queue). Threads
// that stay idle for kIdleTimeout exit. Jobs are intrusive (no allocation).
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "goro/runtime.hpp"
#include "runtime_impl.hpp"

namespace goro::detail {
namespace {
constexpr unsigned kMaxThreads = 512;
constexpr auto kIdleTimeout = std::chrono::seconds(10);

struct blocking_pool {
  std::mutex mu;
  std::condition_variable cv;
  blocking_job* head = nullptr;  // FIFO of pending jobs, guarded by mu
  blocking_job* tail = nullptr;
  unsigned threads = 0;  // guarded by mu
  unsigned idle = 0;     // guarded by mu

  void submit(blocking_job* j) {
    std::unique_lock<std::mutex> l(mu);
    j->next = nullptr;
    if (tail) tail->next = j; else head = j;
    tail = j;
    if (idle > 0) {
      cv.notify_one();
    } else if (threads < kMaxThreads) {
      ++threads;
      std::thread([this] { loop(); }).detach();
    }
  }
  void loop() {
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      while (head == nullptr) {
        ++idle;
        bool got = cv.wait_for(l, kIdleTimeout, [&] { return head != nullptr; });
        --idle;
        if (!got) {
          --threads;
          return;
        }
      }
      blocking_job* j = head;
      head = j->next;
      if (!head) tail = nullptr;
      l.unlock();
      j->run(j);
      l.lock();
    }
  }
};
blocking_pool& pool() {
  static blocking_pool* p = new blocking_pool;  // outlives every thread using it
  return *p;
}
}  // namespace

void submit_blocking(blocking_job* job) { pool().submit(job); }

runtime_impl* blocking_begin() noexcept {
  runtime_impl* rt = current_runtime();
  GORO_ASSERT(rt != nullptr, "goro::spawn_blocking must be co_awaited inside a goroutine");
  rt->blocking_jobs.fetch_add(1, std::memory_order_relaxed);
  return rt;
}

void blocking_end(runtime_impl* rt) noexcept {
  rt->blocking_jobs.fetch_sub(1, std::memory_order_release);  // last touch of rt
}

}  // namespace goro::detail

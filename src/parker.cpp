// parker.cpp — futex-backed thread parker; see goro/detail/parker.hpp for the
// state machine. Linux only (the target is Debian).
#include "goro/detail/parker.hpp"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <vector>

#include "goro/detail/config.hpp"
#include "goro/detail/goroutine.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/task.hpp"
#include "futex.hpp"
#include "quiescence.hpp"

namespace goro::detail {
void quiescence_trigger() noexcept;  // quiescence.cpp

void parker::park() noexcept {
  if (plain_) {
    // A plain thread falls asleep: inside the quiescence epoch, so the
    // deadlock check never counts it parked while it was counted awake
    // (docs/design/quiescence.md); then it may be the last to sleep.
    epoch_begin();
    const int32_t prev = state_.fetch_sub(1, std::memory_order_seq_cst);
    epoch_end();
    if (prev == kNotified) return;  // token consumed
    quiescence_trigger();
  } else if (state_.fetch_sub(1, std::memory_order_acquire) == kNotified) {
    return;  // token consumed
  }
  for (;;) {
    futex::wait(state_, kParked);
    int32_t n = kNotified;
    if (state_.compare_exchange_strong(n, kEmpty, std::memory_order_acquire)) return;
  }
}

bool parker::park_until(std::chrono::steady_clock::time_point deadline) noexcept {
  if (state_.fetch_sub(1, std::memory_order_acquire) == kNotified) return true;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count();
    timespec rel{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    futex::wait(state_, kParked, &rel);
    int32_t n = kNotified;
    if (state_.compare_exchange_strong(n, kEmpty, std::memory_order_acquire)) return true;
  }
  // Timed out: leave PARKED; a racing unpark turns it into NOTIFIED.
  return state_.exchange(kEmpty, std::memory_order_acquire) == kNotified;
}

void parker::unpark() noexcept {
  if (plain_) {
    // Wakes a plain thread the deadlock check may count as asleep.
    epoch_begin();
    const int32_t prev = state_.exchange(kNotified, std::memory_order_seq_cst);
    epoch_end();
    if (prev == kParked) futex::wake(state_, 1);
    return;
  }
  if (state_.exchange(kNotified, std::memory_order_release) == kParked) futex::wake(state_, 1);
}

// Thread parkers are never freed: a waker may unpark a thread's parker just
// after that thread saw its wait complete and exited. Pooled parkers make that
// late unpark harmless (at worst a spurious token that every wait loop
// filters), exactly like Go's per-M notes.
namespace {
struct parker_pool {
  spinlock mu;
  std::vector<parker*> free GORO_GUARDED_BY(mu);
  std::vector<parker*> all GORO_GUARDED_BY(mu);  // every thread parker ever made
};
parker_pool& pool() {
  static parker_pool* p = new parker_pool;
  return *p;
}
}  // namespace

struct thread_parker {
  parker* p;
  thread_parker() {
    parker_pool& pl = pool();
    lock_guard l(pl.mu);
    if (pl.free.empty()) {
      p = new parker;
      p->plain_ = true;
      pl.all.push_back(p);
    } else {
      p = pl.free.back();
      pl.free.pop_back();
    }
  }
  ~thread_parker() {
    parker_pool& pl = pool();
    lock_guard l(pl.mu);
    pl.free.push_back(p);
  }
};

std::size_t parker::plain_threads_parked() noexcept {
  // A pooled parker whose thread exited is never PARKED (its owner left
  // park() before it exited); a late unpark leaves it NOTIFIED.
  parker_pool& pl = pool();
  lock_guard l(pl.mu);
  std::size_t n = 0;
  for (parker* p : pl.all)
    if (p->state_.load(std::memory_order_seq_cst) == kParked) ++n;
  return n;
}

parker& parker::current() noexcept {
  static thread_local thread_parker tp;
  return *tp.p;
}

[[noreturn]] void fatal(const char* what, const char* file, int line) noexcept {
  std::fprintf(stderr, "goro: fatal: %s\n  at %s:%d\n", what, file, line);
  std::fflush(stderr);
  std::abort();
}

// Debug builds: a task destroyed without ever being awaited (task.hpp).
void report_unstarted_task() noexcept {
  if (void (*hook)() = unstarted_task_hook.load(std::memory_order_acquire)) {
    hook();
    return;
  }
  const goroutine* g = current_goroutine();
  if (g != nullptr)
    std::fprintf(stderr,
                 "goro: warning: a goro::task was destroyed without ever being co_awaited "
                 "(a missing co_await?), in the goroutine started at %s:%d\n",
                 g->spawn_file, static_cast<int>(g->spawn_line));
  else
    std::fprintf(stderr,
                 "goro: warning: a goro::task was destroyed without ever being co_awaited "
                 "(a missing co_await?), on a plain thread\n");
}

}  // namespace goro::detail

// quiescence.cpp — when nothing can run any more: the deadlock report and
// the virtual clock's jumps. Design, states and the races ruled out:
// docs/design/quiescence.md.
//
// Contract:
//  * A runtime is quiescent when it is not stopping, every worker is on the
//    idle list, no goroutine is queued, no timer is armed, no spawn_blocking
//    job of it is running or waiting, and no plain thread is inside its
//    schedule_* (external_ops).
//  * The process is deadlocked when every listed runtime is quiescent, no
//    signal is watched, and every thread of the process is accounted for:
//    the workers of listed runtimes, the blocking pool's threads, the
//    signal reader, plain threads parked in an untimed goro wait (state
//    PARKED in their parker), and the sanitizer's own thread. Then nothing
//    can ever make a goroutine runnable: timers, jobs and signals are the
//    only wake sources that are not threads, and each is ruled out.
//  * The look is not atomic; it is made consistent by the quiescence epoch
//    (quiescence.hpp, runtime_impl::wake_begun/ended): every wake of an
//    asleep party and every start of a thread goro counts is bracketed by
//    begun/ended counters; the check reads every `ended` first and every
//    `begun` last and reports only if the sums are equal, i.e. no such
//    transition overlapped the look.
//  * Lock order: the runtime list's mutex -> the blocking pool's mutex /
//    the signal registry's mutex / the parker pool's lock. (The registry's
//    counts and snapshots take no lock: registry_shard, runtime_impl.hpp.)
//    on_deadlock runs under the list's mutex: it must not create or destroy
//    a runtime, nor block.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "goro/debug.hpp"
#include "quiescence.hpp"
#include "runtime_impl.hpp"

#if defined(__SANITIZE_THREAD__)
#define GORO_TSAN_THREAD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GORO_TSAN_THREAD 1
#endif
#endif

namespace goro::detail {

std::atomic<std::uint64_t> g_epoch_begun{0};
std::atomic<std::uint64_t> g_epoch_ended{0};

namespace {

// ThreadSanitizer starts one background thread of its own at the first
// pthread_create (compiler-rt's MaybeSpawnBackgroundThread); a runtime's
// workers exist, so it does too. It never runs goro code.
#ifdef GORO_TSAN_THREAD
constexpr std::size_t kSanitizerThreads = 1;
#else
constexpr std::size_t kSanitizerThreads = 0;
#endif

std::atomic<std::uint64_t> g_checks_reaching_threads{0};

struct runtime_list {
  std::mutex mu;
  std::vector<runtime_impl*> rts;
};
runtime_list& rlist() {
  static runtime_list* l = new runtime_list;  // never destroyed: workers may check at exit
  return *l;
}

// The process's thread count (/proc/self/stat, field 20), 0 if unknown.
std::size_t process_threads() noexcept {
  int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  // Field 2 (comm) is in parentheses and may hold spaces: count from the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return 0;
  int field = 2;
  for (const char* q = p + 1; *q != '\0'; ++q) {
    if (*q != ' ') continue;
    if (++field == 20) return static_cast<std::size_t>(std::strtoul(q + 1, nullptr, 10));
  }
  return 0;
}

std::uint64_t sum_ended(const runtime_list& l) noexcept {
  std::uint64_t e = g_epoch_ended.load(std::memory_order_seq_cst);
  for (runtime_impl* rt : l.rts) e += rt->wake_ended.load(std::memory_order_seq_cst);
  return e;
}
std::uint64_t sum_begun(const runtime_list& l) noexcept {
  std::uint64_t b = g_epoch_begun.load(std::memory_order_seq_cst);
  for (runtime_impl* rt : l.rts) b += rt->wake_begun.load(std::memory_order_seq_cst);
  return b;
}

bool wants_report(runtime_impl* rt) noexcept {
  return rt->opts.detect_deadlock && !rt->deadlock_reported.load(std::memory_order_relaxed) &&
         rt->live() != 0;
}

// The goroutine list of a report. One function, so that a richer dump
// (wait sites, channels) can replace it in one place.
// In the dump's format (goro::debug::format): where each goroutine waits,
// on what, and where it was spawned, grouped by site.
void print_goroutines(std::FILE* out, const std::vector<goroutine_info>& gs) {
  std::string text;
  try {
    text = goro::debug::format(gs);
  } catch (...) {  // out of memory: the bare list still helps
    for (const goroutine_info& i : gs)
      std::fprintf(out, "\ngoroutine %llu [%s]:\n\tspawned at %s:%d\n",
                   static_cast<unsigned long long>(i.id),
                   i.wait_reason ? i.wait_reason : "runnable", i.file, i.line);
    return;
  }
  std::fputc('\n', out);
  std::fputs(text.c_str(), out);
}

void default_on_deadlock(const std::vector<goroutine_info>& gs) {
  std::fprintf(stderr, "fatal error: all goroutines are asleep - deadlock!\n");
  print_goroutines(stderr, gs);
  std::fflush(stderr);
  std::abort();
}

}  // namespace

void runtime_list_add(runtime_impl* rt) {
  runtime_list& l = rlist();
  std::lock_guard<std::mutex> g(l.mu);
  l.rts.push_back(rt);
}

void runtime_list_remove(runtime_impl* rt) noexcept {
  runtime_list& l = rlist();
  std::lock_guard<std::mutex> g(l.mu);
  auto it = std::find(l.rts.begin(), l.rts.end(), rt);
  if (it != l.rts.end()) l.rts.erase(it);
}

bool runtime_impl::quiescent() const noexcept {
  return !stopping.load(std::memory_order_seq_cst) &&
         n_idle.load(std::memory_order_seq_cst) == static_cast<int>(workers.size()) &&
         external_ops.load(std::memory_order_seq_cst) == 0 &&
         blocking_jobs.load(std::memory_order_seq_cst) == 0 && !any_work() &&
         earliest_timer() == kNever;
}

bool runtime_impl::advance_virtual_clock() noexcept {
  lock_guard l(vclock_mu);
  if (stopping.load(std::memory_order_seq_cst) ||
      n_idle.load(std::memory_order_seq_cst) != static_cast<int>(workers.size()) ||
      external_ops.load(std::memory_order_seq_cst) != 0 ||
      blocking_jobs.load(std::memory_order_seq_cst) != 0 || any_work())
    return false;
  const nanos next = earliest_timer();
  if (next == kNever) return false;
  if (next > vclock.load(std::memory_order_relaxed)) vclock.store(next, std::memory_order_seq_cst);
  return true;
}

void quiescence_trigger() noexcept {
  runtime_list& l = rlist();
  std::lock_guard<std::mutex> g(l.mu);
  const std::uint64_t ended = sum_ended(l);  // first
  bool report = false;
  for (runtime_impl* rt : l.rts) {
    if (!rt->quiescent()) return;
    report = report || wants_report(rt);
  }
  if (!report) return;
  bool watching = false;
  std::size_t known = signal_reader_threads(&watching);
  if (watching) return;
  g_checks_reaching_threads.fetch_add(1, std::memory_order_relaxed);
  // The thread count first, then what goro accounts for: a counted thread
  // starts (pool) or parks (plain) inside the epoch, and stops being
  // counted before it exits, so with equal epoch sums `threads` can only
  // exceed `known` by the threads goro does not know.
  const std::size_t threads = process_threads();
  known += kSanitizerThreads + blocking_pool_threads() + parker::plain_threads_parked();
  for (runtime_impl* rt : l.rts) known += rt->workers.size();
  if (sum_begun(l) != ended) return;  // last
  if (threads == 0 || threads != known) return;
  for (runtime_impl* rt : l.rts) {
    if (!wants_report(rt)) continue;
    rt->deadlock_reported.store(true, std::memory_order_relaxed);
    std::vector<goroutine_info> gs = rt->snapshot();
    std::sort(gs.begin(), gs.end(), [](const goroutine_info& a, const goroutine_info& b) {
      return a.id < b.id;  // the oldest first, as Go lists main first
    });
    if (rt->opts.on_deadlock)
      rt->opts.on_deadlock(gs);
    else
      default_on_deadlock(gs);
  }
}

namespace testing {
std::uint64_t deadlock_checks_reaching_threads() noexcept {
  return g_checks_reaching_threads.load(std::memory_order_relaxed);
}
}  // namespace testing

}  // namespace goro::detail

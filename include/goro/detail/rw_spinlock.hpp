// goro/detail/rw_spinlock.hpp — a reader/writer lock for short critical
// sections that plain code (not a coroutine) enters from goroutines and
// threads alike: sharded_map's per-shard lock.
//
// Why not std::shared_mutex (what sharded_map had until session 14): glibc's
// rwlock puts a waiter to sleep in the kernel at once. A goroutine's worker
// thread that sleeps there takes every goroutine queued on it along, and a
// futex wait and wake cost microseconds against a critical section of tens of
// nanoseconds: with 16 shards, 8 goroutines on 2 workers and half the
// operations writes, 1 in ~30 operations met a held shard and the map ran
// at 3.3x Go's RWMutex-sharded twin (docs/design/performance.md).
//
// So a waiter spins first (1, 2 ... 64 pauses apart, a few microseconds in
// all), then yields the thread a few times (a holder preempted on the same
// core gets to finish), and only then sleeps on a futex: a holder that runs
// long (a user's callback under for_each or update) costs the waiters no CPU.
//
// Word: kWriter (a writer holds it), kWriterWait (a writer waits: readers
// hold off, so a stream of readers cannot starve it), kSleepers (someone
// sleeps on the word: the release that can let them in wakes them all), and
// the reader count above them. A release is one RMW that also takes
// kSleepers off; only the futex wake follows it, which is harmless on
// memory that has been freed (as with glibc's own locks). A writer's
// acquisition clears kWriterWait (writers still waiting set it again) and
// keeps kSleepers, so its unlock wakes the sleepers. Waking is only ever "everyone, retry": a sleeper
// whose kSleepers a release cleared was woken by that release, or sees the
// word changed when it calls futex_wait and does not sleep.
//
// Not fair between writers, and a continuous stream of writers can hold
// readers off: for sharded_map's short sections that is the right trade.
// Not recursive. Thread-safety: every member may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>

#include "goro/detail/config.hpp"

namespace goro::detail {

class GORO_CAPABILITY("mutex") rw_spinlock {
 public:
  rw_spinlock() noexcept = default;
  rw_spinlock(const rw_spinlock&) = delete;
  rw_spinlock& operator=(const rw_spinlock&) = delete;

  void lock() noexcept GORO_ACQUIRE() {
    std::uint32_t s = 0;
    if (!word_.compare_exchange_strong(s, kWriter, std::memory_order_acquire,
                                       std::memory_order_relaxed))
      lock_slow();
  }
  [[nodiscard]] bool try_lock() noexcept GORO_TRY_ACQUIRE(true) {
    std::uint32_t s = word_.load(std::memory_order_relaxed);
    while (free_for_writer(s)) {
      if (word_.compare_exchange_weak(s, (s & kSleepers) | kWriter, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return true;
    }
    return false;
  }
  void unlock() noexcept GORO_RELEASE() {
    // No reader is inside while a writer holds: the word is kWriter plus
    // kWriterWait and kSleepers at most.
    const std::uint32_t s = word_.fetch_and(~(kWriter | kSleepers), std::memory_order_release);
    GORO_ASSERT(s & kWriter, "goro: rw_spinlock unlock() of a lock not write-locked");
    if (s & kSleepers) wake_all();
  }

  void lock_shared() noexcept GORO_TSA(acquire_shared_capability()) {
    std::uint32_t s = word_.load(std::memory_order_relaxed);
    if ((s & (kWriter | kWriterWait)) ||
        !word_.compare_exchange_weak(s, s + kReader, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      lock_shared_slow();
  }
  [[nodiscard]] bool try_lock_shared() noexcept GORO_TSA(try_acquire_shared_capability(true)) {
    std::uint32_t s = word_.load(std::memory_order_relaxed);
    while (!(s & (kWriter | kWriterWait))) {
      if (word_.compare_exchange_weak(s, s + kReader, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return true;
    }
    return false;
  }
  void unlock_shared() noexcept GORO_TSA(release_shared_capability()) {
    // One CAS: the last reader out takes kSleepers off in the same step
    // (then wakes them: a writer may get in now). Nothing touches the word
    // after it, so the lock may be freed as soon as another party holds it
    // (a separate fetch_and after the release could land on freed memory).
    std::uint32_t s = word_.load(std::memory_order_relaxed);
    std::uint32_t n;
    do {
      GORO_ASSERT(s >= kReader, "goro: rw_spinlock unlock_shared() of a lock not read-locked");
      n = s - kReader;
      if (n < kReader) n &= ~kSleepers;
    } while (!word_.compare_exchange_weak(s, n, std::memory_order_release,
                                          std::memory_order_relaxed));
    if ((s & kSleepers) && n < kReader) wake_all();
  }

  // The word's bits, and the word itself for tests (which watch a waiter
  // reach its sleep, or a writer announce itself).
  static constexpr std::uint32_t kWriter = 1;
  static constexpr std::uint32_t kWriterWait = 2;
  static constexpr std::uint32_t kSleepers = 4;
  static constexpr std::uint32_t kReader = 8;
  std::uint32_t word_for_testing() const noexcept { return word_.load(std::memory_order_relaxed); }
  void store_word_for_testing(std::uint32_t w) noexcept { word_.store(w, std::memory_order_relaxed); }

 private:
  static bool free_for_writer(std::uint32_t s) noexcept {
    return (s & ~(kWriterWait | kSleepers)) == 0;
  }

  GORO_NOINLINE void lock_slow() noexcept;
  GORO_NOINLINE void lock_shared_slow() noexcept;
  class waiter;  // a waiter's spin, yield, sleep schedule (rw_spinlock.cpp)
  GORO_NOINLINE void wake_all() noexcept;  // only the futex syscall: the word may be gone

  std::atomic<std::uint32_t> word_{0};
};

}  // namespace goro::detail

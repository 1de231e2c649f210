// futex.hpp (internal) — the two futex calls goro's thread sleeps use: the
// parker's (one sleeper per word) and rw_spinlock's (any number). Private
// futexes: the word never leaves this process. Linux only (the target is
// Debian). The word is any 32-bit atomic; the kernel compares and sleeps
// atomically, so a wait on a word that already changed returns at once.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <ctime>

namespace goro::detail::futex {

// Sleeps while *word == expected, for at most *rel (null: no limit). May
// return early (a wake, a signal, a spurious return): the caller re-checks.
template <class T>
void wait(std::atomic<T>& word, T expected, const timespec* rel = nullptr) noexcept {
  static_assert(sizeof(T) == 4 && std::atomic<T>::is_always_lock_free);
  syscall(SYS_futex, reinterpret_cast<T*>(&word), FUTEX_WAIT_PRIVATE, expected, rel, nullptr, 0);
}

// Wakes up to n sleepers of word (INT_MAX: all of them).
template <class T>
void wake(std::atomic<T>& word, int n) noexcept {
  static_assert(sizeof(T) == 4 && std::atomic<T>::is_always_lock_free);
  syscall(SYS_futex, reinterpret_cast<T*>(&word), FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

}  // namespace goro::detail::futex

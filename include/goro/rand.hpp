// goro/rand.hpp — fast random numbers that are safe to use in goroutines
// (Go's math/rand/v2 top-level functions).
//
// Why this exists: a `thread_local std::mt19937 rng;` read in a goroutine body
// is a bug. Compilers compute a thread_local's address once and keep it in the
// coroutine frame across a co_await, but the goroutine may resume on another
// worker thread: it then uses the first thread's generator, racing with that
// thread (torn state, repeated numbers, hangs at -O2 with GCC 12).
//
// Contract:
//  * State is per thread (per worker, or per plain thread), lazily seeded on
//    the first call from std::random_device mixed with a process-wide counter,
//    so every thread of the process gets a distinct seed. No locks, no
//    atomics on the hot path.
//  * Every function reaches that state only through `uint64()`, which is
//    defined out of line and never inlined: each call reads the *current*
//    thread's state, so a call after a co_await uses the worker the goroutine
//    runs on now. The same holds for `source`, which has no state of its own.
//  * Not reproducible and not cryptographically secure (like Go's top-level
//    math/rand/v2 functions). For a reproducible sequence, use a seeded
//    generator held in a local variable (a local lives in the coroutine frame
//    and moves with the goroutine; only thread_locals are the trap).
//  * Misuse (a bound <= 0) aborts with a message naming the function, as Go
//    panics.
#pragma once

#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <iterator>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "goro/detail/config.hpp"

namespace goro::rand {

// A uniformly distributed 64-bit value. Out of line and never inlined: see the
// contract above. Callable from goroutines and plain threads.
GORO_NOINLINE std::uint64_t uint64() noexcept;

// A uniformly distributed 32-bit value.
inline std::uint32_t uint32() noexcept { return static_cast<std::uint32_t>(uint64() >> 32); }

// A non-negative value in [0, 2^63) / [0, 2^31) (Go's Int64, Int32).
inline std::int64_t int64() noexcept { return static_cast<std::int64_t>(uint64() >> 1); }
inline std::int32_t int32() noexcept { return static_cast<std::int32_t>(uint64() >> 33); }

// A value in [0, n), without modulo bias (Lemire's multiply-and-reject:
// "Fast Random Integer Generation in an Interval", 2019). n must be > 0.
inline std::uint64_t uint64_n(std::uint64_t n) noexcept {
  GORO_ASSERT(n > 0, "goro::rand: the bound n must be > 0");
  if ((n & (n - 1)) == 0) return uint64() & (n - 1);  // power of two
  unsigned __int128 m = static_cast<unsigned __int128>(uint64()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    while (low < threshold) {
      m = static_cast<unsigned __int128>(uint64()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

inline std::uint32_t uint32_n(std::uint32_t n) noexcept {
  GORO_ASSERT(n > 0, "goro::rand: the bound n must be > 0");
  std::uint64_t m = static_cast<std::uint64_t>(uint32()) * n;
  auto low = static_cast<std::uint32_t>(m);
  if (low < n) {
    const std::uint32_t threshold = static_cast<std::uint32_t>(0u - n) % n;
    while (low < threshold) {
      m = static_cast<std::uint64_t>(uint32()) * n;
      low = static_cast<std::uint32_t>(m);
    }
  }
  return static_cast<std::uint32_t>(m >> 32);
}

// A value in [0, n) of n's own integer type (Go's IntN, Int64N, UintN, ...).
// n must be > 0.
template <std::integral I>
  requires(!std::same_as<I, bool>)
inline I int_n(I n) noexcept {
  GORO_ASSERT(n > 0, "goro::rand::int_n: n must be > 0");
  if constexpr (sizeof(I) <= 4)
    return static_cast<I>(uint32_n(static_cast<std::uint32_t>(n)));
  else
    return static_cast<I>(uint64_n(static_cast<std::uint64_t>(n)));
}
inline std::int64_t int64_n(std::int64_t n) noexcept { return int_n(n); }
inline std::int32_t int32_n(std::int32_t n) noexcept { return int_n(n); }

// A duration in [0, d) (Go's rand.N(d)), e.g. jitter: sleep_for(base + n(base / 2)).
// d must be > 0.
template <class Rep, class Period>
  requires std::integral<Rep>
inline std::chrono::duration<Rep, Period> n(std::chrono::duration<Rep, Period> d) noexcept {
  GORO_ASSERT(d.count() > 0, "goro::rand::n: the duration must be > 0");
  return std::chrono::duration<Rep, Period>(int_n(d.count()));
}

// A value in [0.0, 1.0) with 53 (24) random bits.
inline double float64() noexcept { return static_cast<double>(uint64() >> 11) * 0x1.0p-53; }
inline float float32() noexcept { return static_cast<float>(uint64() >> 40) * 0x1.0p-24f; }

// Standard normal (mean 0, stddev 1) and exponential (rate 1) values
// (Go's NormFloat64, ExpFloat64). Box–Muller and inversion: not the fastest
// methods, but stateless, so nothing is cached between calls.
inline double norm_float64() noexcept {
  const double u1 = 1.0 - float64();  // (0, 1]: log never sees 0
  const double u2 = float64();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}
inline double exp_float64() noexcept { return -std::log(1.0 - float64()); }

// Shuffles [first, last) uniformly (Fisher–Yates).
template <std::random_access_iterator It>
void shuffle(It first, It last) {
  using diff = std::iter_difference_t<It>;
  for (diff i = last - first - 1; i > 0; --i) {
    const diff j = int_n(i + 1);
    using std::swap;
    swap(first[i], first[j]);
  }
}

// Go's Shuffle(n, swap): calls swap(i, j) to shuffle n elements. n must be >= 0.
template <std::integral I, class Swap>
  requires std::invocable<Swap&, I, I>
void shuffle(I n, Swap swap) {
  GORO_ASSERT(n >= 0, "goro::rand::shuffle: n must be >= 0");
  for (I i = n - 1; i > 0; --i) swap(i, int_n(static_cast<I>(i + 1)));
}

// A random permutation of 0 .. n-1 (Go's Perm). n must be >= 0.
inline std::vector<int> perm(int n) {
  GORO_ASSERT(n >= 0, "goro::rand::perm: n must be >= 0");
  std::vector<int> p(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    // Inside-out Fisher–Yates: one pass, no separate fill.
    const int j = int_n(i + 1);
    p[static_cast<std::size_t>(i)] = p[static_cast<std::size_t>(j)];
    p[static_cast<std::size_t>(j)] = i;
  }
  return p;
}

// A UniformRandomBitGenerator over the same per-thread state, for <random>'s
// distributions: `std::uniform_int_distribution<int> d(1, 6); d(src)`. It has
// no state of its own, so keeping one in a goroutine across co_await is safe
// (a distribution object may cache values of its own; that cache lives where
// the distribution lives).
class source {
 public:
  using result_type = std::uint64_t;
  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~result_type{0}; }
  result_type operator()() const noexcept { return rand::uint64(); }
};
static_assert(std::uniform_random_bit_generator<source>);

}  // namespace goro::rand

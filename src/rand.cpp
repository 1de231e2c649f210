// rand.cpp — the per-thread state behind goro::rand (see goro/rand.hpp).
//
// Generator: wyrand (Wang Yi; the generator behind Go's runtime.cheaprand):
// a 64-bit Weyl sequence through a 128-bit multiply-fold. Period 2^64 per
// thread, passes BigCrush and PractRand, one multiply per value.
//
// Seeding: a thread's first call takes seed = splitmix64(base + k * gamma)
// where `base` comes once per process from std::random_device (mixed with the
// clock and an address in case the device is missing) and `k` is a
// process-wide counter. splitmix64 is a bijection and gamma is odd, so two
// threads never start from the same state.
//
// The state is a thread_local read only here, inside a function that is never
// inlined: callers in coroutine bodies cannot keep its address across a
// co_await. The thread_local is constant-initialised (no TLS init wrapper);
// `seeded` makes the lazy seeding. A worker of a seeded runtime
// (runtime_options::seed) sets it from the seed when it starts
// (rand_seed_thread), so goro::rand replays there.
#include "goro/rand.hpp"

#include "runtime_impl.hpp"

#include <atomic>
#include <chrono>
#include <random>

namespace goro::rand {
namespace {

constexpr std::uint64_t kGamma = 0x9e3779b97f4a7c15ULL;

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += kGamma;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t process_base() noexcept {
  static const std::uint64_t base = [] {
    std::uint64_t b = static_cast<std::uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    b ^= reinterpret_cast<std::uintptr_t>(&b);
    try {
      std::random_device rd;
      b ^= (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    } catch (...) {
      // No entropy device: clock and address alone still differ per run.
    }
    return b;
  }();
  return base;
}

std::atomic<std::uint64_t> thread_counter{0};

GORO_NOINLINE std::uint64_t new_thread_seed() noexcept {
  const std::uint64_t k = thread_counter.fetch_add(1, std::memory_order_relaxed);
  return splitmix64(process_base() + k * kGamma);
}

struct thread_state {
  std::uint64_t s;
  bool seeded;
};
thread_local thread_state t_state{0, false};

}  // namespace

GORO_NOINLINE std::uint64_t uint64() noexcept {
  thread_state& st = t_state;
  if (!st.seeded) [[unlikely]] {
    st.s = new_thread_seed();
    st.seeded = true;
  }
  st.s += 0xa0761d6478bd642fULL;
  const unsigned __int128 m =
      static_cast<unsigned __int128>(st.s) * (st.s ^ 0xe7037ed1a0b428dbULL);
  return static_cast<std::uint64_t>(m >> 64) ^ static_cast<std::uint64_t>(m);
}

}  // namespace goro::rand

namespace goro::detail {
// A seeded runtime's worker (runtime_options::seed) starts from a state that
// depends on the seed only, so goro::rand replays with the interleaving.
void rand_seed_thread(std::uint64_t seed) noexcept {
  rand::thread_state& st = rand::t_state;
  st.s = rand::splitmix64(seed);
  st.seeded = true;
}
}  // namespace goro::detail

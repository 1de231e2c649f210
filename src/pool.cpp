// pool.cpp — goro::pool's out-of-line helpers (goro/sync/pool.hpp).
#include "goro/sync/pool.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

namespace goro::detail {

unsigned this_thread_number() noexcept {
  static std::atomic<unsigned> next{0};
  thread_local const unsigned n = next.fetch_add(1, std::memory_order_relaxed);
  return n;
}

// At least 8 slots a stripe: a small pool stays one LIFO list, and a stripe
// absorbs a burst of puts before they spill into the next one.
std::size_t pool_stripes(std::ptrdiff_t capacity) noexcept {
  const std::size_t hw = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t limit = std::min(static_cast<std::size_t>(capacity) / 8, 2 * hw);
  std::size_t n = 1;
  while (n * 2 <= limit) n *= 2;
  return n;
}

}  // namespace goro::detail

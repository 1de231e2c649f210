// frame_alloc.cpp — size-class pool for coroutine frames; see
// goro/detail/frame_alloc.hpp.
//
// Thread cache: per class, a singly linked free list and its length. When it
// grows past kHigh, the oldest-pushed kBatch blocks move to the class's
// global list in one splice; when it is empty, kBatch blocks come back.
// Blocks are never returned to the system (like Go's stack and g caches);
// the pool is bounded by the peak number of live frames.
#include <cstdint>
#include <cstdlib>

#include "goro/detail/frame_alloc.hpp"
#include "goro/detail/spinlock.hpp"

namespace goro::detail {
namespace {
constexpr std::size_t kClasses = kMaxPooled / kFrameGranule;
constexpr std::size_t kBatch = 64;
constexpr std::size_t kHigh = 4 * kBatch;

struct block {
  block* next;
};

struct central_list {
  constexpr central_list() = default;
  spinlock mu;
  block* head GORO_GUARDED_BY(mu) = nullptr;
  std::size_t count GORO_GUARDED_BY(mu) = 0;
};
// Constant-initialised and trivially destructible: usable by any thread at
// any time (thread caches give blocks back from thread-exit destructors),
// and nothing to allocate, so refill/give_back (noexcept) cannot throw.
constinit central_list g_central[kClasses];
central_list* central() noexcept { return g_central; }

struct thread_cache {
  block* head[kClasses] = {};
  std::size_t count[kClasses] = {};
  ~thread_cache() {
    for (std::size_t c = 0; c < kClasses; ++c)
      while (count[c] > 0) give_back(c, count[c]);
  }
  // Moves the first n blocks of class c to the central list.
  void give_back(std::size_t c, std::size_t n) noexcept {
    block* first = head[c];
    block* last = first;
    for (std::size_t i = 1; i < n; ++i) last = last->next;
    head[c] = last->next;
    count[c] -= n;
    central_list& cl = central()[c];
    lock_guard l(cl.mu);
    last->next = cl.head;
    cl.head = first;
    cl.count += n;
  }
  bool refill(std::size_t c) noexcept {
    central_list& cl = central()[c];
    lock_guard l(cl.mu);
    if (cl.head == nullptr) return false;
    block* first = cl.head;
    block* last = first;
    std::size_t n = 1;
    while (n < kBatch && last->next) {
      last = last->next;
      ++n;
    }
    cl.head = last->next;
    cl.count -= n;
    last->next = head[c];
    head[c] = first;
    count[c] += n;
    return true;
  }
};

thread_cache& cache() {
  static thread_local thread_cache tc;
  return tc;
}

std::size_t class_of(std::size_t n) { return (n + kFrameGranule - 1) / kFrameGranule - 1; }
}  // namespace

void* frame_alloc_pooled(std::size_t n) {
  std::size_t c = class_of(n);
  thread_cache& tc = cache();
  if (tc.head[c] == nullptr && !tc.refill(c)) return ::operator new((c + 1) * kFrameGranule);
  block* b = tc.head[c];
  tc.head[c] = b->next;
  --tc.count[c];
  return b;
}

void frame_free_pooled(void* p, std::size_t n) noexcept {
  std::size_t c = class_of(n);
  thread_cache& tc = cache();
  auto* b = static_cast<block*>(p);
  b->next = tc.head[c];
  tc.head[c] = b;
  if (++tc.count[c] > kHigh) tc.give_back(c, kBatch);
}

}  // namespace goro::detail

// frame_alloc.cpp — size-class pool for coroutine frames; see
// goro/detail/frame_alloc.hpp.
//
// Thread cache: per class, a singly linked free list and its length. When it
// grows past kHigh, the most recently freed kBatch blocks (still in this
// core's cache, so walking them is cheap) move to the class's central list
// as one batch; when it is empty, one batch comes back whole. The central
// list keeps batches linked through their first block, so taking one never
// walks blocks another core freed (64 dependent cache misses per refill made
// frame_alloc_pooled 19% of a spawn/join profile). Partial batches (thread
// exit) go to a loose list that refill walks only when no batch is left.
// A miss on both lists carves kBatch new blocks out of one slab, so frames
// carry no malloc header.
//
// Slabs come from this thread's chunk of kChunk bytes (one operator new,
// which glibc usually serves from mmap), not one malloc each: growing a thread's
// malloc arena by a slab at a time cost an mprotect call per slab (8% of a
// profile of 1M spawned goroutines waiting to be joined). Carving writes
// every block, so a new slab is faulted in page by page as it is carved:
// 27% of that profile was page faults. From a thread's second chunk on
// (it has carved kChunk bytes: a program with many goroutines), the chunk
// is populated ahead of the slabs in kPrefault steps with one madvise
// (MADV_POPULATE_WRITE) each, which costs the same zeroing but not a trap
// per page. A thread with few frames never populates ahead, so small
// programs keep the resident size they had. Transparent huge pages
// (MADV_HUGEPAGE) were tried and not kept: as fast when the kernel had a
// huge page at hand, twice as slow when it had to find one (bench/RESULTS.md
// and docs/design/performance.md).
//
// A thread that exits leaves the rest of its chunk to the next thread that
// needs one (spare_rest below).
//
// Blocks are never returned to the system (like Go's stack and g caches);
// the pool is bounded by the peak number of live frames, plus up to one
// chunk of address space (and kPrefault populated ahead) per thread
// carving at the same time.
#include <sys/mman.h>
#include <sys/utsname.h>

#include <cerrno>
#include <cstdio>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "goro/detail/frame_alloc.hpp"
#include "goro/detail/spinlock.hpp"
#include "frame_alloc_testing.hpp"

namespace goro::detail {
namespace {
constexpr std::size_t kClasses = kMaxPooled / kFrameGranule;
constexpr std::size_t kBatch = 64;
constexpr std::size_t kHigh = 4 * kBatch;
constexpr std::size_t kChunk = std::size_t{2} << 20;
constexpr std::size_t kPrefault = std::size_t{256} << 10;
constexpr std::uintptr_t kPage = 4096;
constexpr std::uintptr_t kLine = 64;
static_assert(kBatch * kMaxPooled + kLine <= kChunk, "a slab must fit in a chunk");

// The advice's number (asm-generic), for C libraries older than the
// kernel feature (glibc 2.35).
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

// Whether to populate ahead at all: Linux 5.14 or later. An older kernel
// refuses advice 23 (EINVAL), or, on some vendor kernels (Oracle's UEK6,
// 5.4), takes it for another advice that populates nothing, so the release
// is checked (once, by the first thread that populates) instead of
// trusting the call's result.
bool kernel_populates() noexcept {
  utsname u{};
  int major = 0, minor = 0;
  if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 14);
}
// Cleared when the kernel refuses the advice for good (EINVAL, EPERM from a
// seccomp filter, ENOSYS): the pages are then faulted in as they are
// carved, as without it. A passing failure (ENOMEM at a cgroup's limit,
// EINTR, EAGAIN) leaves it set: those pages fault in as they are carved.
std::atomic<bool> g_prefault_works{true};

std::uintptr_t line_up(const void* p) noexcept {
  return (reinterpret_cast<std::uintptr_t>(p) + kLine - 1) & ~(kLine - 1);
}

// What an exiting thread leaves of its chunk, for the next thread that
// needs one: without it, every thread that ever cut a slab (one whose own
// list and the central one had no block of a size it needed) would strand
// the rest of a 2 MB chunk of address space for good. The record lives in
// the rest itself (at least kMinSpare bytes, enough for any slab); a
// shorter rest is left unused.
struct spare_rest {
  unsigned char* end;
  unsigned char* populated;
  spare_rest* link;
};
constexpr std::size_t kMinSpare = kBatch * kMaxPooled;
constinit spinlock g_spare_mu;
constinit spare_rest* g_spare GORO_GUARDED_BY(g_spare_mu) = nullptr;
std::atomic<std::size_t> g_chunks{0};  // taken from operator new (tests)

struct block {
  block* next;        // within a free list or a batch (null-terminated)
  block* next_batch;  // first block of a central batch only: the next batch
};
static_assert(sizeof(block) <= kFrameGranule, "the smallest class must hold a block");

struct central_list {
  constexpr central_list() = default;
  spinlock mu;
  block* batches GORO_GUARDED_BY(mu) = nullptr;  // each exactly kBatch blocks
  block* loose GORO_GUARDED_BY(mu) = nullptr;    // leftovers of exiting threads
};
// Constant-initialised and trivially destructible: usable by any thread at
// any time (thread caches give blocks back from thread-exit destructors),
// and nothing to allocate, so refill/give_back (noexcept) cannot throw.
constinit central_list g_central[kClasses];
central_list* central() noexcept { return g_central; }

// Set when this thread's cache has been destroyed (thread exit; for the
// main thread, before static destructors run). Blocks allocated or freed
// after that, by later thread_local or static destructors (a global
// sync_map's values, a frame destroyed at exit), bypass the cache.
// Constant-initialised and trivially destructible: readable until the
// thread is gone.
thread_local bool tl_cache_gone = false;

struct thread_cache {
  block* head[kClasses] = {};
  std::size_t count[kClasses] = {};
  ~thread_cache() {
    for (std::size_t c = 0; c < kClasses; ++c)
      while (count[c] > 0) give_back(c, count[c]);
    leave_rest();
    tl_cache_gone = true;
  }
  // Thread exit: the rest of the chunk goes to the spare list (above).
  void leave_rest() noexcept {
    const std::uintptr_t at = line_up(next);
    if (next == nullptr || at + kMinSpare > reinterpret_cast<std::uintptr_t>(end)) return;
    auto* rest = reinterpret_cast<spare_rest*>(at);
    rest->end = end;
    rest->populated = populated;
    lock_guard l(g_spare_mu);
    rest->link = g_spare;
    g_spare = rest;
  }
  // Moves the first n blocks of class c to the central list: a batch when
  // n == kBatch, else the loose list.
  void give_back(std::size_t c, std::size_t n) noexcept {
    block* first = head[c];
    block* last = first;
    for (std::size_t i = 1; i < n; ++i) last = last->next;
    head[c] = last->next;
    count[c] -= n;
    central_list& cl = central()[c];
    lock_guard l(cl.mu);
    if (n == kBatch) {
      last->next = nullptr;
      first->next_batch = cl.batches;
      cl.batches = first;
    } else {
      last->next = cl.loose;
      cl.loose = first;
    }
  }
  // The rest of this thread's chunk: [next, end), populated up to
  // `populated` (a page boundary, or where the chunk or the rest taken
  // over from an exited thread starts).
  unsigned char* next = nullptr;
  unsigned char* end = nullptr;
  unsigned char* populated = nullptr;
  bool prefault = false;  // from the second chunk on

  // n bytes of this thread's chunk, from a cache-line boundary (a 128-byte
  // shell then spans two lines, not three: go + wait_group spawn/join ran
  // 10% slower with slabs at the 16-byte offset operator new gives). When
  // the rest is too short, an exited thread's rest or a new chunk; the
  // short rest, less than a slab, is left unused.
  unsigned char* take_slab(std::size_t n) {
    std::uintptr_t at = line_up(next);
    if (next == nullptr || at + n > reinterpret_cast<std::uintptr_t>(end)) {
      prefault = end != nullptr;
      spare_rest* rest = nullptr;
      {
        lock_guard l(g_spare_mu);
        if ((rest = g_spare) != nullptr) g_spare = rest->link;
      }
      if (rest != nullptr) {  // n <= kMinSpare: it fits
        end = rest->end;
        populated = std::max(rest->populated, reinterpret_cast<unsigned char*>(rest));
        at = reinterpret_cast<std::uintptr_t>(rest);  // on a line already
      } else {
        auto* chunk = static_cast<unsigned char*>(::operator new(kChunk));  // may throw bad_alloc
        g_chunks.fetch_add(1, std::memory_order_relaxed);
        populated = chunk;
        end = chunk + kChunk;
        at = line_up(chunk);
      }
    }
    auto* slab = reinterpret_cast<unsigned char*>(at);
    next = slab + n;
    if (prefault && next > populated) populate_ahead();
    return slab;
  }
  // Populates the chunk from `populated` to the kPrefault step past `next`
  // (or the chunk's end). A failure only leaves the pages to fault in.
  void populate_ahead() noexcept {
    // Asked here, not at start-up: most programs never populate ahead.
    static const bool kernel_ok = kernel_populates();
    if (!kernel_ok || !g_prefault_works.load(std::memory_order_relaxed)) return;
    const auto from = reinterpret_cast<std::uintptr_t>(populated) & ~(kPage - 1);
    auto to = (reinterpret_cast<std::uintptr_t>(next) + kPrefault - 1) & ~(kPrefault - 1);
    to = std::min(to, reinterpret_cast<std::uintptr_t>(end) & ~(kPage - 1));
    if (to <= from) return;  // the last partial page: faulted in as carved
    if (madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_WRITE) != 0 &&
        (errno == EINVAL || errno == EPERM || errno == ENOSYS))
      g_prefault_works.store(false, std::memory_order_relaxed);
    populated = reinterpret_cast<unsigned char*>(to);
  }
  // Carves kBatch blocks of class c from a new slab into this (empty) list.
  void carve(std::size_t c) {
    const std::size_t size = (c + 1) * kFrameGranule;
    unsigned char* slab = take_slab(kBatch * size);
    for (std::size_t i = kBatch; i-- > 0;) {
      auto* b = reinterpret_cast<block*>(slab + i * size);
      b->next = head[c];
      head[c] = b;
    }
    count[c] += kBatch;
  }
  // Called with an empty list for class c.
  bool refill(std::size_t c) noexcept {
    central_list& cl = central()[c];
    lock_guard l(cl.mu);
    if (block* b = cl.batches) {
      cl.batches = b->next_batch;
      head[c] = b;
      count[c] = kBatch;
      return true;
    }
    if (cl.loose == nullptr) return false;
    block* first = cl.loose;
    block* last = first;
    std::size_t n = 1;
    while (n < kBatch && last->next) {
      last = last->next;
      ++n;
    }
    cl.loose = last->next;
    last->next = nullptr;
    head[c] = first;
    count[c] = n;
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
  // A block of the class's size, so that it can join the lists when freed.
  if (tl_cache_gone) [[unlikely]]
    return ::operator new((c + 1) * kFrameGranule);
  thread_cache& tc = cache();
  if (tc.head[c] == nullptr && !tc.refill(c)) tc.carve(c);  // may throw bad_alloc
  block* b = tc.head[c];
  tc.head[c] = b->next;
  --tc.count[c];
  return b;
}

void frame_free_pooled(void* p, std::size_t n) noexcept {
  std::size_t c = class_of(n);
  auto* b = static_cast<block*>(p);
  if (tl_cache_gone) [[unlikely]] {  // straight onto the central loose list
    central_list& cl = central()[c];
    lock_guard l(cl.mu);
    b->next = cl.loose;
    cl.loose = b;
    return;
  }
  thread_cache& tc = cache();
  b->next = tc.head[c];
  tc.head[c] = b;
  if (++tc.count[c] > kHigh) tc.give_back(c, kBatch);
}

namespace testing {
std::size_t frame_pool_chunks() noexcept { return g_chunks.load(std::memory_order_relaxed); }
}  // namespace testing

}  // namespace goro::detail

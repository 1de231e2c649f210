// goro/detail/frame_alloc.hpp — allocation of coroutine frames.
//
// Goroutine frames are typically allocated on one worker and freed on
// another (a spawner and its children), the pattern that makes glibc malloc
// contend on its arena locks. Frames of up to kMaxPooled bytes come from
// per-thread free lists by size class (16-byte steps, malloc's own
// alignment, so a 200-byte frame costs 208 bytes, not 256) that exchange
// batches with a global list per class (tcmalloc's thread cache / central
// list, in small). New blocks are carved from slabs of kBatch blocks: no
// malloc header per frame. Larger frames use operator new. ASan builds bypass the pool so
// ASan sees every frame's lifetime (TSan builds keep it, to check it).
// sync_map's value nodes, made by one thread and freed by another just as
// frames are, come from the same pool through pooled_allocator.
#pragma once

#include <cstddef>
#include <memory>
#include <new>

#include "goro/detail/config.hpp"

namespace goro::detail {

inline constexpr std::size_t kFrameGranule = 16;
inline constexpr std::size_t kMaxPooled = 1024;

GORO_NOINLINE void* frame_alloc_pooled(std::size_t n);
GORO_NOINLINE void frame_free_pooled(void* p, std::size_t n) noexcept;

// Base for promise types: routes the frame allocation through the pool.
struct pooled_frame {
  static void* operator new(std::size_t n) {
#if defined(GORO_ASAN)
    return ::operator new(n);
#else
    if (n > kMaxPooled) return ::operator new(n);
    return frame_alloc_pooled(n);
#endif
  }
  static void operator delete(void* p, std::size_t n) noexcept {
#if defined(GORO_ASAN)
    ::operator delete(p, n);
#else
    if (n > kMaxPooled) return ::operator delete(p, n);
    frame_free_pooled(p, n);
#endif
  }
};

// A std allocator over the same pool, for small objects that are made on
// one thread and freed on another (sync_map's value nodes). Types aligned
// beyond the pool's 16 bytes, and ASan builds, use operator new.
template <class T>
struct pooled_allocator {
  using value_type = T;
  pooled_allocator() noexcept = default;
  template <class U>
  pooled_allocator(const pooled_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
#if !defined(GORO_ASAN)
    if (pooled(n)) return static_cast<T*>(frame_alloc_pooled(n * sizeof(T)));
#endif
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
#if !defined(GORO_ASAN)
    if (pooled(n)) return frame_free_pooled(p, n * sizeof(T));
#endif
    std::allocator<T>().deallocate(p, n);
  }
  static constexpr bool pooled(std::size_t n) noexcept {
    return alignof(T) <= kFrameGranule && n * sizeof(T) <= kMaxPooled;
  }
  template <class U>
  bool operator==(const pooled_allocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace goro::detail

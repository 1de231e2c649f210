// goro/detail/hazard.hpp — hazard pointers (internal; used by sync_map).
//
// Lets a reader use a heap object that a writer may unlink and free at any
// moment, without writing to any line the object's other readers touch:
// the reader announces the pointer in a slot of its own thread's record
// (guard::protect), and a writer that unlinked an object keeps it on a
// retired list until a scan finds no slot announcing it (Michael's scheme,
// IEEE TPDS 2004; folly's hazptr is the production reference). This header
// has the announcing side and the scan's view of it (announced()); who
// keeps retired objects and when they are scanned is the user's part
// (sync_map keeps its own intrusive lists, its boxes on a striped one).
//
// Rules:
//  * A guard lives within one synchronous call: construct, protect, use,
//    destroy, with no co_await in between (a goroutine may resume on
//    another thread after a suspension; the slot belongs to the thread).
//  * Guards nest (user code run under one, such as V's copy inside
//    sync_map::load, may use others): each takes the thread's next slot,
//    and they are scoped, so they end in reverse order.
//  * Only a pointer that was reachable from `src` when protect() re-read it
//    is safe to use, and only while the guard announces it.
//  * A writer retires an object only after making it unreachable from every
//    place a reader may protect it from, and the retiring must
//    happen-before the scan that frees it (a release/acquire hand-over of
//    the retired list does).
//
// Memory order (the Dekker pair): protect stores the slot (seq_cst) and
// re-reads src (seq_cst); announced() issues a seq_cst fence and then
// reads the slots. So either the reader's re-read sees the unlink (and it
// retries), or the scan sees the slot (and keeps the object). A slot is
// cleared (release) when its guard ends, and the scan reads slots with
// acquire: a reader's last use of an object happens-before its free.
#pragma once

#include <atomic>
#include <cstddef>
#include <vector>

#include "goro/detail/config.hpp"

namespace goro::detail {
unsigned this_thread_number() noexcept;  // pool.cpp
}  // namespace goro::detail

namespace goro::detail::hazard {

inline constexpr int kSlots = 16;  // nesting depth per thread

// One per thread that ever protected something; never freed (a thread
// that exits gives it back for the next thread).
struct alignas(cache_line) record {
  std::atomic<const void*> slot[kSlots];
  int top = 0;  // owner only: slots in use
  std::atomic<bool> in_use{false};
  record* next = nullptr;  // immutable once the record is published
};

// This thread's record (takes one on first use). Out of line on purpose:
// a thread_local's address must never be computed in a coroutine's body
// and reused after a co_await (docs/guide/compiler-hazards.md).
GORO_NOINLINE record& this_thread_record() noexcept;

// How many records exist (threads that ever protected; reused after exit).
int record_count() noexcept;

// Every pointer some slot announces now, sorted, after the scan's fence.
// Throws std::bad_alloc if `out` cannot grow (the caller keeps everything).
void announced(std::vector<const void*>& out);
// Whether p is in a sorted announced() set.
bool is_announced(const std::vector<const void*>& held, const void* p) noexcept;

class guard {
 public:
  guard() noexcept : rec_(this_thread_record()) {
    GORO_ASSERT(rec_.top < kSlots, "goro: hazard pointers nested more than 16 deep");
    slot_ = &rec_.slot[rec_.top++];
  }
  ~guard() {
    slot_->store(nullptr, std::memory_order_release);
    --rec_.top;
  }
  guard(const guard&) = delete;
  guard& operator=(const guard&) = delete;

  // Reads src and announces what it read, until the announcement holds
  // what src still points to. Null is returned (and announced) as is.
  template <class T>
  T* protect(const std::atomic<T*>& src) noexcept {
    T* p = src.load(std::memory_order_relaxed);
    for (;;) {
      slot_->store(p, std::memory_order_seq_cst);
      T* again = src.load(std::memory_order_seq_cst);
      if (again == p) return p;
      p = again;
    }
  }

 private:
  record& rec_;
  std::atomic<const void*>* slot_;
};

// A lock-free stack of retired objects, linked through their own
// `next_retired` field (no allocation: retiring never fails). T is the
// object's type as the map holds it (const); next_retired is mutable.
template <class T>
class retired_list {
 public:
  // Returns how many objects the list holds now (about: a scan may be
  // taking them meanwhile).
  std::size_t push(T* n) noexcept {
    T* head = head_.load(std::memory_order_relaxed);
    do {
      n->next_retired = head;
    } while (!head_.compare_exchange_weak(head, n, std::memory_order_release,
                                          std::memory_order_relaxed));
    return count_.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  // Takes every object (the caller frees or pushes back each).
  T* take_all() noexcept {
    count_.store(0, std::memory_order_relaxed);
    return head_.exchange(nullptr, std::memory_order_acquire);
  }

 private:
  std::atomic<T*> head_{nullptr};
  std::atomic<std::size_t> count_{0};
};

// retired_list split over stripes, each on a line of its own: a thread
// pushes onto its own stripe (detail::this_thread_number), so threads that
// retire at the same time do not fight over one head and count. take_all
// joins the stripes into one chain.
template <class T>
class striped_retired_list {
 public:
  static constexpr std::size_t kStripes = 8;

  // Returns how many objects the pushing thread's stripe holds now: a
  // threshold on it bounds the whole list by kStripes times the threshold,
  // and a lone retiring thread scans as often as with one list.
  std::size_t push(T* n) noexcept { return stripes_[mine()].list.push(n); }
  // Takes the calling thread's stripe: what its pushes went to, so its
  // lines are likely still in this core's cache.
  T* take_mine() noexcept { return stripes_[mine()].list.take_all(); }
  // Takes every stripe, one chain each (none walked to join them).
  void take_each(T* (&chains)[kStripes]) noexcept {
    for (std::size_t i = 0; i < kStripes; ++i) chains[i] = stripes_[i].list.take_all();
  }
  // Every stripe as one chain (walks each to its tail).
  T* take_all() noexcept {
    T* all = nullptr;
    for (stripe& s : stripes_) {
      T* chain = s.list.take_all();
      if (chain == nullptr) continue;
      T* tail = chain;
      while (tail->next_retired != nullptr) tail = tail->next_retired;
      tail->next_retired = all;
      all = chain;
    }
    return all;
  }

 private:
  static std::size_t mine() noexcept { return detail::this_thread_number() & (kStripes - 1); }
  struct alignas(cache_line) stripe {
    retired_list<T> list;
  };
  stripe stripes_[kStripes];
};

}  // namespace goro::detail::hazard

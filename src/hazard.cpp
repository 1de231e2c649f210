// hazard.cpp — the hazard-pointer records (goro/detail/hazard.hpp).
//
// Records form a list that only grows (a record is pushed once and never
// unlinked), so a scan walks it without a lock. A thread takes a free
// record on first use and gives it back when it exits. The list is
// reachable from a global that is never destroyed: no static destructor
// can race a late guard, and LeakSanitizer sees the records as reachable.
#include "goro/detail/hazard.hpp"

#include <algorithm>
#include <new>
#include <utility>

namespace goro::detail::hazard {
namespace {

std::atomic<record*> g_records{nullptr};
std::atomic<int> g_record_count{0};

record* acquire() noexcept {
  for (record* r = g_records.load(std::memory_order_acquire); r != nullptr; r = r->next)
    if (!r->in_use.load(std::memory_order_relaxed) &&
        !r->in_use.exchange(true, std::memory_order_acquire))
      return r;
  auto* r = new (std::nothrow) record;
  GORO_ASSERT(r != nullptr, "goro: out of memory for a thread's hazard-pointer record");
  for (auto& s : r->slot) s.store(nullptr, std::memory_order_relaxed);
  r->in_use.store(true, std::memory_order_relaxed);
  record* head = g_records.load(std::memory_order_relaxed);
  do {
    r->next = head;
    // seq_cst: with the scan's fence, a scan that does not find this
    // record is ordered before this thread's first announcement, whose
    // re-read then sees the unlinks that scan frees.
  } while (!g_records.compare_exchange_weak(head, r, std::memory_order_seq_cst,
                                            std::memory_order_relaxed));
  g_record_count.fetch_add(1, std::memory_order_relaxed);
  return r;
}

thread_local record* tl_record = nullptr;
thread_local bool tl_exited = false;

// Gives the thread's record back when the thread exits. A guard made after
// this ran (from a later thread_local destructor) takes a record that is
// never given back: one record lost, not a fault.
struct record_release {
  ~record_release() {
    tl_exited = true;
    if (record* r = std::exchange(tl_record, nullptr)) {
      GORO_ASSERT(r->top == 0, "goro: a thread exited inside a hazard-pointer guard");
      r->in_use.store(false, std::memory_order_release);
    }
  }
};

}  // namespace

record& this_thread_record() noexcept {
  if (tl_record != nullptr) [[likely]]
    return *tl_record;
  tl_record = acquire();
  if (!tl_exited) {
    static thread_local record_release release;
    (void)release;
  }
  return *tl_record;
}

int record_count() noexcept { return g_record_count.load(std::memory_order_relaxed); }

void announced(std::vector<const void*>& out) {
  out.clear();
  out.reserve(static_cast<std::size_t>(record_count()) * 4);
  // Pairs with protect(): an unlink that happened before this fence is seen
  // by a reader's re-read, or that reader's slot is seen below.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (record* r = g_records.load(std::memory_order_acquire); r != nullptr; r = r->next)
    for (auto& s : r->slot)
      if (const void* p = s.load(std::memory_order_acquire)) out.push_back(p);
  std::sort(out.begin(), out.end());
}

bool is_announced(const std::vector<const void*>& held, const void* p) noexcept {
  return std::binary_search(held.begin(), held.end(), p);
}

}  // namespace goro::detail::hazard

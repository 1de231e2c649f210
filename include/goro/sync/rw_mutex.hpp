// goro/sync/rw_mutex.hpp — Go's sync.RWMutex, for goroutines and plain threads.
//
//   goro::rw_mutex rw;
//   co_await rw.lock_shared(); ... rw.unlock_shared();    // Go: RLock / RUnlock
//   co_await rw.lock();        ... rw.unlock();           // Go: Lock / Unlock
//   { auto r = co_await rw.scoped_lock_shared(); ... }    // RLock(); defer RUnlock()
//   { auto w = co_await rw.scoped_lock(); ... }           // Lock(); defer Unlock()
//   rw.try_lock(), rw.try_lock_shared()                   // TryLock / TryRLock
//   rw.blocking_lock(), rw.blocking_lock_shared()         // from plain threads
//
// Naming: the read side uses C++'s std::shared_mutex vocabulary
// (lock_shared / unlock_shared / try_lock_shared) rather than Go's RLock /
// RUnlock; the write side is lock / unlock as in both.
//
// Semantics (Go's): any number of readers or one writer. A writer that is
// waiting blocks new readers, so a stream of readers cannot starve it; when
// a writer unlocks, the readers that queued behind it all get in before the
// next writer, so writers cannot starve readers either. Unlock of an
// rw_mutex that is not write-locked, or unlock_shared of one that is not
// read-locked, aborts with a clear message (Go: fatal error). Like Go's, the
// lock is not owned by a goroutine or a thread, and a read lock must not be
// taken recursively while a writer may be waiting (it would deadlock, as in
// Go). Memory: an unlock() happens-before every later lock or lock_shared
// that acquires; an unlock_shared() happens-before the next lock() that
// acquires.
//
// State machine (one atomic word; queue changes under mu_):
//   kWriter     a writer holds it (then nobody reads)
//   kWriterWait writers_ is non-empty: new readers queue instead of entering
//   kReaderWait readers_ is non-empty (only while kWriter or kWriterWait)
//   kSlotted    readers may hold it through reader slots (below)
//   readers     the word's reader count (signed, above the flags)
// Reader slots (docs/design/sync.md, "rw_mutex's reader slots"): a reader
// first tries its thread's slot, one cache line of a small global table
// holding {an rw_mutex's address, a count}: entering and leaving there are
// one CAS each on a line no other core writes, where a shared count made
// every reader on every core pull the same line across (Go's RWMutex has
// that cost: golang/go#17973). A slot reader checks the word after its CAS
// (seq_cst on both sides: it sees the writer, or the writer's scan sees it)
// and backs out if a writer holds or waits. A writer that must wait sets
// kWriterWait, then moves every slot count of this rw_mutex into the word
// and clears kSlotted (under mu_); from then on the word's count is exact,
// and everything below works on it alone. A reader that leaves on another
// thread than it entered (a goroutine that moved) takes one from the word,
// whose count may therefore go below zero while kSlotted is set: the sum
// over slots and word is what counts.
// Fast paths: lock_shared is a slot CAS and a load (or, its slot busy, a
// fetch_add on the word that backs out with a fetch_sub when a writer is
// there); unlock_shared a slot CAS (or a fetch_sub); lock a CAS on a free
// rw_mutex (with kSlotted, a scan of the slots first); unlock a CAS with
// nobody queued. Everything else takes mu_ and hands the lock over:
// whoever brings the count to zero while a writer waits and none holds
// hands it to the head writer; a writer's unlock admits every queued reader
// at once, else hands it to the head writer. A woken waiter always owns
// what it waited for.
//
// Lifetime: as goro::mutex — every unlock path's last access to the rw_mutex
// is the releasing CAS, or happens while a dequeued waiter that still needs
// the rw_mutex is waiting to be woken.
//
// Misuse: unlock_shared of an rw_mutex nobody reads aborts when the word
// shows it (no slot readers since the last writer); otherwise at the next
// writer's move of the slots into the word.
//
// Thread-safety: every member may be called concurrently from any thread.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>

#include "goro/detail/child_task.hpp"
#include "goro/detail/context_node.hpp"
#include "goro/detail/goroutine.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/wait_queue.hpp"
#include "goro/sync/guard.hpp"

namespace goro {

class rw_mutex;
namespace detail {
// One reader slot (rw_mutex.cpp holds the table): 0, or an rw_mutex's
// address plus how many of its readers entered here (1..7).
struct alignas(cache_line) rw_reader_slot {
  std::atomic<std::uintptr_t> word{0};
};
// The calling thread's slot (out of line: a thread_local read inline in a
// coroutine may be reused after a co_await on another thread).
GORO_NOINLINE rw_reader_slot& this_thread_rw_slot() noexcept;

// One context-aware lock()/lock_shared() wait (rw_mutex::lock(ctx)).
struct rw_ctx_waiter {
  rw_ctx_waiter(rw_mutex* mu, bool sh) noexcept : m(mu), shared(sh) {}
  rw_mutex* m;
  bool shared;
  wait_node node;
  // Under the mutex's mu_: queued (or found the lock free), and whether the
  // context's hook took it out or fired before it queued.
  bool decided = false;
  bool canceled = false;
};
}  // namespace detail

class rw_mutex {
 public:
  rw_mutex() noexcept = default;
  // Slot counts left by readers that left on another thread than they
  // entered on are cleared, so that a later rw_mutex at the same address
  // does not inherit them.
  ~rw_mutex() {
    if (state_.load(std::memory_order_relaxed) & kSlotted) drop_slots();
  }
  rw_mutex(const rw_mutex&) = delete;
  rw_mutex& operator=(const rw_mutex&) = delete;

  // The awaiter of lock() (Shared = false) and lock_shared() (Shared = true).
  template <bool Shared>
  class GORO_NODISCARD_AWAITABLE lock_awaiter {
   public:
    lock_awaiter(rw_mutex* m, const detail::wait_site& s) noexcept : m_(m), site_(s) {}
    lock_awaiter(const lock_awaiter&) = delete;
    lock_awaiter& operator=(const lock_awaiter&) = delete;
    ~lock_awaiter() {
      GORO_ASSERT(awaited_,
                  "goro::rw_mutex lock()/lock_shared() result was not co_awaited, so nothing "
                  "was locked (std lock adapters cannot lock a goro::rw_mutex: use co_await, "
                  "the scoped_ forms or the blocking_ forms)");
      // A goroutine destroyed while parked here (runtime shutdown).
      if (parked_) m_->abandon(node_, Shared);
    }
    bool await_ready() noexcept {
      awaited_ = true;
      // Out of run budget: yield *before* taking the lock, never while
      // holding it (a goroutine queued with a read lock held makes a waiting
      // writer, and every reader queued behind that writer, wait a whole
      // run-queue turn).
      if (detail::budget_spent()) {
        yield_first_ = true;
        return false;
      }
      return Shared ? m_->enter_shared() : m_->try_lock();
    }
    // Hand-off design: one park at most, and the woken waiter owns the lock.
    // After a yield, the lock is taken by a child task (yield, then lock).
    // Reached only when the fast path failed: the site is noted for the park.
    bool await_suspend(std::coroutine_handle<> h) {
      detail::note_wait_site(site_);
      if (yield_first_) {
        slow_ = m_->yield_then_lock(Shared, site_);
        return detail::start_child(slow_, h);
      }
      return m_->enqueue_or_acquire(node_, Shared, h, &parked_);
    }
    void await_resume() noexcept {
      if (parked_) detail::settle_wake(node_);  // the unlock's last touch of node_
      parked_ = false;
    }

   protected:
    rw_mutex* m_;

   private:
    detail::wait_node node_;
    task<> slow_;
    detail::wait_site site_;
    bool awaited_ = false;
    bool yield_first_ = false;
    bool parked_ = false;  // set under mu_ when node_ is queued
  };
  template <bool Shared>
  class GORO_NODISCARD_AWAITABLE scoped_lock_awaiter : public lock_awaiter<Shared> {
   public:
    using lock_awaiter<Shared>::lock_awaiter;
    using guard = std::conditional_t<Shared, shared_guard<rw_mutex>, unique_guard<rw_mutex>>;
    [[nodiscard]] guard await_resume() noexcept {
      lock_awaiter<Shared>::await_resume();
      return guard(*this->m_);
    }
  };

  // co_await mu.lock(ctx) / lock_shared(ctx): {} once held, or ctx.err()
  // (not held) when ctx is done first — at once if it already is. A waiter
  // the lock was handed to while the cancel was in flight keeps it ({}).
  // ctx must outlive the co_await.
  template <bool Shared>
  class GORO_NODISCARD_AWAITABLE lock_ctx_awaiter {
   public:
    lock_ctx_awaiter(rw_mutex* m, const context& ctx, const detail::wait_site& s) noexcept
        : w_(m, Shared), watch_(ctx, &rw_mutex::on_cancel, &w_), site_(s) {}
    lock_ctx_awaiter(const lock_ctx_awaiter&) = delete;
    lock_ctx_awaiter& operator=(const lock_ctx_awaiter&) = delete;
    ~lock_ctx_awaiter() {
      if (!parked_) return;  // torn down while parked (runtime shutdown):
      watch_.detach();       // unhook first, then leave (or give back)
      w_.m->abandon(w_.node, Shared, w_.canceled);
    }
    bool await_ready() noexcept {
      if ((early_ = watch_.err())) return true;
      return Shared ? w_.m->enter_shared() : w_.m->try_lock();
    }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      detail::note_wait_site(site_);  // the fast path failed
      return w_.m->begin_ctx_wait(w_, watch_, h, &parked_, &early_);
    }
    std::error_code await_resume() noexcept {
      if (parked_) detail::settle_wake(w_.node);
      parked_ = false;
      return w_.m->end_ctx_wait(w_, watch_, early_);
    }

   private:
    detail::rw_ctx_waiter w_;
    detail::ctx_watch watch_;
    std::error_code early_;
    detail::wait_site site_;
    bool parked_ = false;
  };

  // ---- write side ----
  // Every awaitable form takes the caller's site last (for dumps: where the
  // goroutine waits; recorded only when it parks).
  GORO_NODISCARD_AWAITABLE lock_awaiter<false> lock(GORO_WAIT_SITE_PARAMS) noexcept {
    return lock_awaiter<false>(this, GORO_WAIT_SITE);
  }
  GORO_NODISCARD_AWAITABLE lock_ctx_awaiter<false> lock(const context& ctx,
                                                        GORO_WAIT_SITE_PARAMS) noexcept {
    return {this, ctx, GORO_WAIT_SITE};
  }
  [[nodiscard]] std::error_code blocking_lock(const context& ctx, detail::source_loc loc = detail::source_loc::current()) noexcept {
    return blocking_acquire_ctx(false, ctx, loc);
  }
  GORO_NODISCARD_AWAITABLE scoped_lock_awaiter<false> scoped_lock(
      GORO_WAIT_SITE_PARAMS) noexcept {
    return scoped_lock_awaiter<false>(this, GORO_WAIT_SITE);
  }
  [[nodiscard]] bool try_lock() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    if (s == 0)
      return state_.compare_exchange_strong(s, kWriter, std::memory_order_seq_cst,
                                            std::memory_order_relaxed);
    return (s & ~kReaderMask) == kSlotted && try_lock_slotted(s);
  }
  [[nodiscard]] unique_guard<rw_mutex> try_scoped_lock() noexcept {
    return try_lock() ? unique_guard<rw_mutex>(*this) : unique_guard<rw_mutex>();
  }
  void unlock() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while ((s & (kWriter | kWriterWait | kReaderWait)) == kWriter) {
      if (state_.compare_exchange_weak(s, s & ~kWriter, std::memory_order_release,
                                       std::memory_order_relaxed))
        return;  // nobody queued: the CAS was the last access
    }
    unlock_slow(s);
  }
  // Plain threads only (inside a goroutine: aborts naming the caller's line).
  void blocking_lock(detail::source_loc loc = detail::source_loc::current()) noexcept { blocking_acquire(false, loc); }
  [[nodiscard]] unique_guard<rw_mutex> blocking_scoped_lock(detail::source_loc loc = detail::source_loc::current()) noexcept {
    blocking_lock(loc);
    return unique_guard<rw_mutex>(*this);
  }

  // ---- read side ----
  GORO_NODISCARD_AWAITABLE lock_awaiter<true> lock_shared(GORO_WAIT_SITE_PARAMS) noexcept {
    return lock_awaiter<true>(this, GORO_WAIT_SITE);
  }
  GORO_NODISCARD_AWAITABLE lock_ctx_awaiter<true> lock_shared(
      const context& ctx, GORO_WAIT_SITE_PARAMS) noexcept {
    return {this, ctx, GORO_WAIT_SITE};
  }
  [[nodiscard]] std::error_code blocking_lock_shared(const context& ctx, detail::source_loc loc = detail::source_loc::current()) noexcept {
    return blocking_acquire_ctx(true, ctx, loc);
  }
  GORO_NODISCARD_AWAITABLE scoped_lock_awaiter<true> scoped_lock_shared(
      GORO_WAIT_SITE_PARAMS) noexcept {
    return scoped_lock_awaiter<true>(this, GORO_WAIT_SITE);
  }
  // Go's TryRLock: fails while a writer holds the lock or waits for it. A
  // CAS loop that never touches the word while a writer is there (the
  // spinning reader's tries, rw_mutex.cpp, must not disturb the writer).
  [[nodiscard]] bool try_lock_shared() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while (!(s & (kWriter | kWriterWait))) {
      if (state_.compare_exchange_weak(s, s + kReader, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return true;
    }
    return false;
  }
  [[nodiscard]] shared_guard<rw_mutex> try_scoped_lock_shared() noexcept {
    return try_lock_shared() ? shared_guard<rw_mutex>(*this) : shared_guard<rw_mutex>();
  }
  void unlock_shared() noexcept {
    if (leave_slot(detail::this_thread_rw_slot())) return;
    // Checked on the word it took one from (a load first would cost the
    // fast path a second trip for the cache line): without kSlotted the
    // word's count is exact.
    const std::uint64_t s = leave_shared();
    GORO_ASSERT(readers(s) > 0 || (s & kSlotted),
                "goro::rw_mutex: unlock_shared of an rw_mutex that is not read-locked (Go: "
                "fatal error: sync: RUnlock of unlocked RWMutex)");
  }
  void blocking_lock_shared(detail::source_loc loc = detail::source_loc::current()) noexcept { blocking_acquire(true, loc); }
  [[nodiscard]] shared_guard<rw_mutex> blocking_scoped_lock_shared(detail::source_loc loc = detail::source_loc::current()) noexcept {
    blocking_lock_shared(loc);
    return shared_guard<rw_mutex>(*this);
  }

 private:
  static constexpr std::uint64_t kWriter = 1;
  static constexpr std::uint64_t kWriterWait = 2;
  static constexpr std::uint64_t kReaderWait = 4;
  static constexpr std::uint64_t kSlotted = 8;
  static constexpr std::uint64_t kReader = 16;  // the count: the bits above the flags
  static constexpr std::uint64_t kReaderMask = ~(kReader - 1);
  static constexpr std::int64_t readers(std::uint64_t s) noexcept {
    return static_cast<std::int64_t>(s) >> 4;
  }
  static constexpr std::uintptr_t kSlotCount = 7;  // a slot's count bits (alignof >= 8)

  bool try_lock_slotted(std::uint64_t s) noexcept;
  // Under mu_: moves every slot count of this rw_mutex into the word (a
  // writer bit is set, so none comes back) and clears kSlotted; the word.
  std::uint64_t take_slots_locked() noexcept GORO_REQUIRES(mu_);
  std::int64_t slot_readers() const noexcept;  // a peek: this rw_mutex's slot counts
  void drop_slots() noexcept;

  bool enter_slot(detail::rw_reader_slot& sl) noexcept {
    const auto me = reinterpret_cast<std::uintptr_t>(this);
    std::uintptr_t v = sl.word.load(std::memory_order_relaxed);
    if (v != 0 && ((v & ~kSlotCount) != me || (v & kSlotCount) == kSlotCount)) return false;
    return sl.word.compare_exchange_strong(v, (v == 0 ? me : v) + 1, std::memory_order_seq_cst,
                                           std::memory_order_relaxed);
  }
  // Takes one of this rw_mutex's readers out of sl, if it holds any.
  bool leave_slot(detail::rw_reader_slot& sl) noexcept {
    // Acquire too: the count taken may be another thread's reader's (one
    // that left through the word, or whose count we leave with here), whose
    // read section must happen before whatever writer follows our exit.
    const auto me = reinterpret_cast<std::uintptr_t>(this);
    std::uintptr_t v = sl.word.load(std::memory_order_acquire);
    while ((v & ~kSlotCount) == me) {
      if (sl.word.compare_exchange_weak(v, (v & kSlotCount) == 1 ? 0 : v - 1,
                                        std::memory_order_acq_rel, std::memory_order_acquire))
        return true;
    }
    return false;
  }

  task<> yield_then_lock(bool shared, detail::wait_site site);
  enum class enq : std::uint8_t { acquired, parked, canceled };
  // `cw`: a context-aware waiter, whose hook may have fired before it queues.
  enq enqueue(detail::wait_node& n, bool shared, std::coroutine_handle<> h, bool* parked,
              detail::rw_ctx_waiter* cw) noexcept;
  bool enqueue_or_acquire(detail::wait_node& n, bool shared, std::coroutine_handle<> h,
                          bool* parked) noexcept {
    return enqueue(n, shared, h, parked, nullptr) == enq::parked;
  }
  bool begin_ctx_wait(detail::rw_ctx_waiter& w, detail::ctx_watch& watch, std::coroutine_handle<> h,
                      bool* parked, std::error_code* early) noexcept;
  std::error_code end_ctx_wait(detail::rw_ctx_waiter& w, detail::ctx_watch& watch,
                               std::error_code early) noexcept;
  std::error_code blocking_acquire_ctx(bool shared, const context& ctx,
                                       detail::source_loc loc) noexcept;
  static void on_cancel(detail::ctx_hook* h) noexcept;
  // Under mu_: takes a queued waiter out, and admits the readers that
  // queued behind a writer that was the last one waiting.
  void leave_queue_locked(detail::wait_node& n, bool shared, detail::wait_node** chain) noexcept
      GORO_REQUIRES(mu_);
  void blocking_acquire(bool shared, detail::source_loc loc) noexcept;
  void abandon(detail::wait_node& n, bool shared, bool canceled = false) noexcept;
  void unlock_slow(std::uint64_t s) noexcept;
  // Takes one reader out of the count (one fetch_sub, as Go's RUnlock): the
  // last access, unless that made the count zero while a writer waits and
  // none holds: then the writer is handed the lock (hand_to_writer).
  // Returns the word it took the reader from.
  std::uint64_t leave_shared() noexcept {
    const std::uint64_t s = state_.fetch_sub(kReader, std::memory_order_release);
    if (readers(s) == 1 && (s & (kWriter | kWriterWait)) == kWriterWait) hand_to_writer();
    return s;
  }
  void hand_to_writer() noexcept;
  // A lock_shared's first try: its thread's slot (a CAS there, then a
  // look at the word: the first slot reader since a writer sets kSlotted),
  // or, that slot taken by another rw_mutex, one fetch_add on the word, as
  // Go's RLock. A reader that finds a writer holding or waiting takes
  // itself back out (from the slot, or from the word if a writer moved its
  // count there meanwhile): it never held anything, and then queues.
  bool enter_shared() noexcept {
    detail::rw_reader_slot& sl = detail::this_thread_rw_slot();
    if (enter_slot(sl)) {
      std::uint64_t s = state_.load(std::memory_order_seq_cst);
      if (!(s & (kWriter | kWriterWait | kSlotted)))
        s = state_.fetch_or(kSlotted, std::memory_order_seq_cst);
      if (!(s & (kWriter | kWriterWait))) return true;
      if (!leave_slot(sl)) leave_shared();
      return false;
    }
    const std::uint64_t s = state_.fetch_add(kReader, std::memory_order_acquire);
    if (!(s & (kWriter | kWriterWait))) return true;
    leave_shared();
    return false;
  }
  detail::wait_node* admit_readers_locked(std::uint64_t& s) noexcept GORO_REQUIRES(mu_);

  std::atomic<std::uint64_t> state_{0};
  detail::spinlock mu_;  // guards the queues and every change of kWriterWait / kReaderWait
  detail::wait_queue writers_ GORO_GUARDED_BY(mu_);
  detail::wait_queue readers_ GORO_GUARDED_BY(mu_);
  std::uint64_t queued_readers_ GORO_GUARDED_BY(mu_) = 0;
};

}  // namespace goro

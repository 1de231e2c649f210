// goro/detail/atomic_shared_ptr.hpp — a std::shared_ptr slot with atomic
// load / store / exchange / compare_exchange (internal; used by sync_map).
//
// Why not std::atomic<std::shared_ptr<T>>: libstdc++ 12's load() reads the
// stored pointer under its lock bit and then releases the lock bit with
// memory_order_relaxed, so that read is not ordered before the next
// writer's update of the pointer. That is a data race in the C++ memory
// model (harmless on x86, where the RMW is a full barrier), and TSan reports
// it (google/sanitizers#1558). This is the same design — a lock around a
// shared_ptr; a load is lock, copy (one reference-count increment), unlock —
// with goro's spinlock, whose unlock is a release.
//
// Every access to v_ is under mu_, so all operations on one slot are
// totally ordered and each one synchronizes with the next. A reference
// dropped by store / exchange / a failed compare_exchange is released after
// unlocking, so T's destructor never runs under mu_.
#pragma once

#include <memory>
#include <utility>

#include "goro/detail/config.hpp"
#include "goro/detail/spinlock.hpp"

namespace goro::detail {

template <class T>
class atomic_shared_ptr {
 public:
  using value_type = std::shared_ptr<T>;

  atomic_shared_ptr() noexcept = default;
  explicit atomic_shared_ptr(value_type v) noexcept : v_(std::move(v)) {}
  atomic_shared_ptr(const atomic_shared_ptr&) = delete;
  atomic_shared_ptr& operator=(const atomic_shared_ptr&) = delete;

  value_type load() const noexcept {
    lock_guard g(mu_);
    return v_;
  }

  void store(value_type v) noexcept {
    {
      lock_guard g(mu_);
      v_.swap(v);
    }
    // the previous value is released here, outside the lock
  }

  value_type exchange(value_type v) noexcept {
    {
      lock_guard g(mu_);
      v_.swap(v);
    }
    return v;
  }

  // If the slot holds `expected` (the same pointer with the same owner, as
  // std::atomic<shared_ptr>::compare_exchange compares), stores `desired` and
  // returns true; otherwise copies the current value into `expected` and
  // returns false.
  bool compare_exchange(value_type& expected, value_type desired) noexcept {
    value_type dropped;  // declared before the guard: released after unlocking
    lock_guard g(mu_);
    if (v_.get() == expected.get() && !v_.owner_before(expected) && !expected.owner_before(v_)) {
      dropped = std::exchange(v_, std::move(desired));
      return true;
    }
    dropped = std::exchange(expected, v_);
    return false;
  }

 private:
  mutable spinlock mu_;
  value_type v_ GORO_GUARDED_BY(mu_);
};

}  // namespace goro::detail

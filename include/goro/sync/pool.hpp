// goro/sync/pool.hpp — a bounded free list: Go's "leaky buffer" (Effective
// Go; seed 003, pattern 9), without the ways to misuse it.
//
//   goro::pool<Buffer> buffers(100);                   // keeps at most 100 idle
//   goro::pool<Buffer> buffers(100, make_buffer, [](Buffer& b) { b.reset(); });
//
//   { auto b = buffers.acquire();  b->append(...); }   // back in the pool here
//   std::unique_ptr<Buffer> b = buffers.get();         // Go: getBuffer()
//   buffers.put(std::move(b));                         // Go: putBuffer(b)
//
// get() pops an idle object, or makes a new one with the factory (default:
// std::make_unique<T>()) when the free list is empty. put(x) runs the reset
// hook on x, then keeps it if fewer than capacity objects are idle, else
// destroys it. Neither ever blocks, exactly like the Go pattern's two
// `select { ...; default: }`. acquire() returns a handle that puts the
// object back when it is destroyed, so "forgot to put it back" cannot
// happen (handle::release() takes the object out of the pool's care for
// good).
//
// Unlike Go's sync.Pool, nothing is dropped behind the program's back (no
// GC clears it): the pool holds at most capacity idle objects until it is
// destroyed, which is what the leaky buffer promises. Like the Go channel
// form, the pool bounds only the idle objects, not how many exist.
//
// Implementation: a std::vector of capacity slots reserved up front (put
// never allocates) behind goro's internal spinlock; LIFO, so the object
// handed out next is the one most recently used (warm in cache). The
// critical section is a push or a pop; the factory, the reset hook and T's
// destructor run outside it. A lock-free bounded ring (Vyukov) was measured
// against it on the same workload (bench/maps.cpp, pool/* cases): see
// docs/design/maps.md for the numbers and why the simple form stays.
//
// Misuse: a capacity below 1 aborts with a clear message, as does put() of
// a null pointer. The pool must outlive its handles.
//
// Thread-safety: get, put, acquire, idle and capacity may be called
// concurrently from any thread or goroutine. The factory and the reset hook
// may be called concurrently with themselves.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "goro/detail/config.hpp"
#include "goro/detail/spinlock.hpp"

namespace goro {

template <class T>
class pool {
 public:
  using factory_type = std::function<std::unique_ptr<T>()>;
  using reset_type = std::function<void(T&)>;

  // An object on loan from the pool; returns it there when destroyed.
  class [[nodiscard]] handle {
   public:
    handle() noexcept = default;
    handle(handle&& o) noexcept : pool_(o.pool_), obj_(std::move(o.obj_)) {}
    handle& operator=(handle&& o) noexcept {
      if (this != &o) {
        recycle();
        pool_ = o.pool_;
        obj_ = std::move(o.obj_);
      }
      return *this;
    }
    ~handle() { recycle(); }

    T* get() const noexcept { return obj_.get(); }
    T& operator*() const noexcept { return *obj_; }
    T* operator->() const noexcept { return obj_.get(); }
    explicit operator bool() const noexcept { return obj_ != nullptr; }

    // Returns the object to the pool now; the handle becomes empty.
    void recycle() {
      if (obj_) pool_->put(std::move(obj_));
    }
    // Takes the object out of the pool's care: it will not be put back.
    [[nodiscard]] std::unique_ptr<T> release() noexcept { return std::move(obj_); }

   private:
    friend class pool;
    handle(pool* p, std::unique_ptr<T> o) noexcept : pool_(p), obj_(std::move(o)) {}
    pool* pool_ = nullptr;
    std::unique_ptr<T> obj_;
  };

  // A pool keeping at most capacity idle objects, made by std::make_unique<T>().
  explicit pool(std::ptrdiff_t capacity)
    requires std::default_initializable<T>
      : pool(capacity, [] { return std::make_unique<T>(); }) {}

  // make() returns std::unique_ptr<T> (or a T, which is moved into one);
  // reset(T&), if given, runs on every object put back.
  template <class Make>
    requires std::invocable<Make&>
  pool(std::ptrdiff_t capacity, Make make, reset_type reset = {})
      : capacity_(checked(capacity)), make_(adapt(std::move(make))), reset_(std::move(reset)) {
    free_.reserve(static_cast<std::size_t>(capacity_));
  }

  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // An idle object, or a new one if none is idle. Never blocks.
  [[nodiscard]] std::unique_ptr<T> get() {
    {
      detail::lock_guard lk(mu_);
      if (!free_.empty()) {
        std::unique_ptr<T> x = std::move(free_.back());
        free_.pop_back();
        return x;
      }
    }
    std::unique_ptr<T> x = make_();
    GORO_ASSERT(x != nullptr, "goro::pool: the factory returned a null pointer");
    return x;
  }

  // As get(), in a handle that puts the object back when destroyed.
  [[nodiscard]] handle acquire() { return handle(this, get()); }

  // Resets x and keeps it if there is room; otherwise destroys it. True if
  // kept. Never blocks.
  bool put(std::unique_ptr<T> x) {
    GORO_ASSERT(x != nullptr, "goro::pool: put of a null pointer");
    if (reset_) reset_(*x);
    {
      detail::lock_guard lk(mu_);
      if (free_.size() < static_cast<std::size_t>(capacity_)) {
        free_.push_back(std::move(x));  // never reallocates: reserved
        return true;
      }
    }
    return false;  // x is destroyed here, outside the lock
  }

  // Idle objects now (a snapshot).
  [[nodiscard]] std::size_t idle() const {
    detail::lock_guard lk(mu_);
    return free_.size();
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return static_cast<std::size_t>(capacity_); }

 private:
  static std::ptrdiff_t checked(std::ptrdiff_t capacity) {
    GORO_ASSERT(capacity > 0, "goro::pool: capacity must be at least 1");
    return capacity;
  }
  template <class Make>
  static factory_type adapt(Make make) {
    using R = std::invoke_result_t<Make&>;
    if constexpr (std::is_same_v<R, std::unique_ptr<T>>) {
      return factory_type(std::move(make));
    } else {
      static_assert(std::is_convertible_v<R, T>,
                    "goro::pool: the factory must return std::unique_ptr<T> or T");
      return [m = std::move(make)]() mutable { return std::make_unique<T>(m()); };
    }
  }

  const std::ptrdiff_t capacity_;
  const factory_type make_;
  const reset_type reset_;
  mutable detail::spinlock mu_;
  std::vector<std::unique_ptr<T>> free_ GORO_GUARDED_BY(mu_);
};

}  // namespace goro

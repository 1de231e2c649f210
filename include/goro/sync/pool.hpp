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
// Implementation: the capacity is split over stripes (up to two per
// hardware thread, 8 slots or more each), each a std::vector reserved up front (put
// never allocates) behind goro's internal spinlock, on lines of its own. A
// thread uses its own stripe first (Go's sync.Pool keeps a private cache
// per P for the same reason: a get and a put then touch only lines this
// core already holds), then the others: get takes from any stripe before
// it makes a new object, and put keeps x in any stripe with room, so the
// pool still keeps up to capacity idle objects. LIFO per stripe: the
// object a thread gets next is the one it put back last (warm in cache),
// unless its puts spilled into another stripe.
// Critical sections are a push or a pop; the factory, the reset hook and
// T's destructor run outside them. A lock-free bounded ring (Vyukov) was
// measured against one spinlocked vector on the same workload
// (bench/maps.cpp, pool/* cases): see docs/design/maps.md.
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
namespace detail {
// A small number for the calling thread, the same for its lifetime (out of
// line: a thread_local read inline in a coroutine could be reused after a
// co_await on another thread). Consecutive threads get consecutive numbers.
unsigned this_thread_number() noexcept;
// Stripes for `capacity` idle objects: a power of two, at most twice the
// hardware threads, with at least 8 slots each (1 for a small pool).
std::size_t pool_stripes(std::ptrdiff_t capacity) noexcept;
}  // namespace detail

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
      : capacity_(checked(capacity)),
        make_(adapt(std::move(make))),
        reset_(std::move(reset)),
        n_stripes_(detail::pool_stripes(capacity_)),
        stripes_(std::make_unique<stripe[]>(n_stripes_)) {
    const std::size_t cap = static_cast<std::size_t>(capacity_);
    for (std::size_t i = 0; i < n_stripes_; ++i) {
      stripe& st = stripes_[i];
      st.room = cap / n_stripes_ + (i < cap % n_stripes_ ? 1 : 0);  // sums to capacity
      detail::lock_guard lk(st.mu);
      st.free.reserve(st.room);
    }
  }

  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // An idle object, or a new one if none is idle. Never blocks.
  [[nodiscard]] std::unique_ptr<T> get() {
    const std::size_t home = home_stripe();
    for (std::size_t k = 0; k < n_stripes_; ++k) {
      stripe& st = stripes_[(home + k) & (n_stripes_ - 1)];
      detail::lock_guard lk(st.mu);
      if (!st.free.empty()) {
        std::unique_ptr<T> x = std::move(st.free.back());
        st.free.pop_back();
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
    const std::size_t home = home_stripe();
    for (std::size_t k = 0; k < n_stripes_; ++k) {
      stripe& st = stripes_[(home + k) & (n_stripes_ - 1)];
      detail::lock_guard lk(st.mu);
      if (st.free.size() < st.room) {
        st.free.push_back(std::move(x));  // never reallocates: reserved
        return true;
      }
    }
    return false;  // x is destroyed here, outside the locks
  }

  // Idle objects now (a snapshot).
  [[nodiscard]] std::size_t idle() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < n_stripes_; ++i) {
      detail::lock_guard lk(stripes_[i].mu);
      n += stripes_[i].free.size();
    }
    return n;
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

  struct alignas(detail::cache_line) stripe {
    mutable detail::spinlock mu;
    std::vector<std::unique_ptr<T>> free GORO_GUARDED_BY(mu);
    std::size_t room = 0;  // this stripe's share of the capacity (set once)
  };
  std::size_t home_stripe() const noexcept {
    return detail::this_thread_number() & (n_stripes_ - 1);
  }

  const std::ptrdiff_t capacity_;
  const factory_type make_;
  const reset_type reset_;
  const std::size_t n_stripes_;             // a power of two
  std::unique_ptr<stripe[]> stripes_;
};

}  // namespace goro

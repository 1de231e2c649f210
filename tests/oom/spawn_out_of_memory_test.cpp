// Regression: out of memory while starting a goroutine terminated the
// process. The frame pool allocated its central lists lazily inside a
// noexcept refill (the first failure seen here), and the registry grew its
// slot vector inside a noexcept path (start_goroutine -> registry_add), so
// a bad_alloc called std::terminate instead of reaching the caller of
// go()/spawn(); found by review. Now the central lists are static, the
// registry grows before it links anything, launch() destroys the unstarted
// frame and rethrows, and go()/spawn() throw std::bad_alloc with nothing
// half-done.
//
// Also: singleflight's call_chan leader whose first frame cannot be made
// when it runs, and sync_map's store of a new key (below).
//
// This binary replaces the global operator new with one that can be told to
// fail the n-th allocation of the calling thread from now on (its own
// binary: the replacement is process-wide).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "goro_test.hpp"
#include "runtime_impl.hpp"

namespace {
thread_local long fail_in = 0;  // > 0: the fail_in-th allocation from now fails

// Sets this thread's countdown from a goroutine: out of line, so that the
// thread_local is looked up on the thread running it (a coroutine may cache
// a thread_local's address across a suspension).
[[maybe_unused]] GORO_NOINLINE void arm_this_thread(long k) { fail_in = k; }

void* checked_alloc(std::size_t n, std::size_t align) {
  if (fail_in > 0 && --fail_in == 0) throw std::bad_alloc();
  if (n == 0) n = 1;
  void* p = align > alignof(std::max_align_t)
                ? std::aligned_alloc(align, (n + align - 1) / align * align)
                : std::malloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return checked_alloc(n, 0); }
void* operator new[](std::size_t n) { return checked_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) {
  return checked_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return checked_alloc(n, static_cast<std::size_t>(a));
}
// The nothrow array form too (the global run queue allocates its ring with
// it, and frees it with delete[]): under ASan it came from ASan's allocator
// while delete[] below frees with free(), an alloc-dealloc mismatch. (The
// single-object nothrow form is left to the library: a hazard-pointer
// record, allocated with it and never freed, must not fail here.)
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return checked_alloc(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

struct counted {
  static inline std::atomic<int> alive{0};
  counted() { ++alive; }
  counted(const counted&) { ++alive; }
  counted(counted&&) noexcept { ++alive; }
  ~counted() { --alive; }
};

// Fails each allocation of a spawn in turn (the frame, the registry's
// growth, ...): every attempt either starts the goroutine or throws
// bad_alloc having started nothing and leaked nothing.
TEST(SpawnOutOfMemory, ThrowsBadAllocAndLeavesNothingHalfDone) {
  int failures = 0;
  for (long k = 1; k <= 12; ++k) {
    goro::runtime_options o;
    o.workers = 2;
    goro::runtime rt(o);  // fresh: its registry has not grown yet
    std::atomic<int> ran{0};
    bool threw = false;
    {
      counted arg;
      fail_in = k;
      try {
        auto h = rt.spawn([&ran](counted) -> goro::task<> {
          ++ran;
          co_return;
        }, arg);
        fail_in = 0;
        std::move(h).join();
      } catch (const std::bad_alloc&) {
        fail_in = 0;
        threw = true;
        ++failures;
      }
    }
    EXPECT_TRUE(rt.wait_no_goroutines(std::chrono::seconds(30)));
    EXPECT_EQ(rt.live_goroutines(), 0u);
    EXPECT_EQ(ran.load(), threw ? 0 : 1) << "allocation " << k;
    EXPECT_EQ(counted::alive.load(), 0) << "the failed spawn leaked its argument, allocation " << k;
  }
  EXPECT_GT(failures, 0) << "no allocation of spawn was made to fail";
}

// Regression (review): a call_chan leader goroutine whose first frame could
// not be made when its worker started it (no memory) was deleted there with
// its flight unfinished: the channel never received, the key stayed taken
// for good, and the bad_alloc went only to the uncaught-exception handler.
// Its ticket now finishes the flight with that bad_alloc (which the
// uncaught-exception handler also sees, as for any goroutine that could not
// start; by default that handler aborts, as Go crashes). Frames come from
// operator new in ASan builds only (elsewhere from goro's frame pool, which
// this replacement cannot fail), so that is where this runs; CI's ASan stage
// runs it. One worker: the first allocation on it after the caller arms it
// and returns is the leader's frame.
TEST(SingleflightOutOfMemory, ALeaderWhoseFrameCannotBeMadeDeliversTheBadAlloc) {
#if !defined(GORO_ASAN)
  GTEST_SKIP() << "goroutine frames come from goro's pool here, not operator new";
#else
  // A goroutine that cannot start is an uncaught exception (by default a
  // crash, as a panic in Go): count it instead.
  static std::atomic<int> uncaught{0};
  uncaught.store(0);
  const goro::uncaught_handler prev = goro::set_uncaught_exception_handler(
      [](std::exception_ptr, const goro::goroutine_info&) { uncaught.fetch_add(1); });
  goro::runtime_options o;
  o.workers = 1;
  goro::runtime rt(o);
  goro::singleflight::group<int, int> g;
  std::atomic<bool> ran{false};
  goro::receiver<goro::singleflight::result<int>> ch;
  rt.run([&]() -> goro::task<> {
    ch = g.call_chan(1, [&ran] {
      ran.store(true);
      return 7;
    });
    arm_this_thread(1);  // the leader runs after this goroutine, on this thread
    co_return;
  });
  auto r = ch.blocking_recv_for(std::chrono::seconds(30));
  ASSERT_EQ(r.status, goro::recv_status::ok) << "the flight of the leader that failed to start never delivered";
  EXPECT_FALSE(ran.load());
  EXPECT_THROW(r.value->err.throw_if_error(), std::bad_alloc);
  // The key is free: a new call leads and runs its own f.
  EXPECT_EQ(g.blocking_call(1, [] { return 8; }).value, 8);
  EXPECT_TRUE(rt.wait_no_goroutines(std::chrono::seconds(30)));
  EXPECT_EQ(uncaught.load(), 1) << "the handler still hears of the goroutine that failed to start";
  goro::set_uncaught_exception_handler(prev);
#endif
}

// Regression: sync_map's store of a new key, out of memory under the map's
// lock, destroyed the value under that lock (add_new_key_locked took the
// value's box by value, and an allocation after it unwound through it), so
// a value whose destructor uses the map deadlocked. Each allocation of the
// store is failed in turn; the value being stored, when destroyed, has
// another thread store into the map and sees whether it gets through
// (it cannot while the lock is held; the bound is only a hang guard).
struct map_probe;
using probe_map = goro::sync_map<int, map_probe>;
bool probing = false;                   // only while a store under test runs
int destroyed_under_lock = 0;
std::vector<std::thread> probe_threads;  // joined by the test
struct map_probe {
  probe_map* m = nullptr;  // set: this instance checks when destroyed
  map_probe() = default;
  explicit map_probe(probe_map* pm) : m(pm) {}
  map_probe(const map_probe&) {}  // copies do not check
  map_probe(map_probe&& o) noexcept : m(std::exchange(o.m, nullptr)) {}
  map_probe& operator=(const map_probe&) = delete;
  ~map_probe() {
    if (m == nullptr || !probing) return;
    auto got_through = std::make_shared<std::atomic<bool>>(false);
    probe_threads.emplace_back([pm = m, got_through] {
      pm->store(-1, map_probe{});
      got_through->store(true);
    });
    if (!goro_test::spin_until([&] { return got_through->load(); })) ++destroyed_under_lock;
  }
};

// Fails the k-th allocation from now of `op` for k = 1, 2, ... until op
// succeeds; returns how many attempts threw bad_alloc.
template <class Op>
int fail_each_allocation(Op op) {
  int failures = 0;
  for (long k = 1; k <= 64; ++k) {
    probing = true;
    arm_this_thread(k);
    bool threw = false;
    try {
      op(static_cast<int>(k));
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    arm_this_thread(0);
    probing = false;
    for (auto& t : probe_threads) t.join();
    probe_threads.clear();
    if (!threw) break;
    ++failures;
  }
  return failures;
}

TEST(SyncMapOutOfMemory, AValueIsNeverDestroyedUnderTheMapsLock) {
  destroyed_under_lock = 0;
  probe_map m;
  // The first key: the map is built (dirty map, amended snapshot).
  const int first = fail_each_allocation([&](int k) { m.store(k, map_probe(&m)); });
  EXPECT_GT(first, 0) << "no allocation of the first store was failed";
  // Later new keys, through load_or_store.
  const int later =
      fail_each_allocation([&](int k) { (void)m.load_or_store(100 + k, map_probe(&m)); });
  EXPECT_GT(later, 0) << "no allocation of load_or_store was failed";
  EXPECT_EQ(destroyed_under_lock, 0)
      << "a value was destroyed while the map's lock was held (another thread's store "
         "could not get through)";
}

// The global run queue's ring cannot grow: pushes go to the list linked
// through the goroutines (noexcept: a worker overflowing its local queue
// cannot fail), which holds the newest entries, and the queue stays FIFO
// through the list, and through the ring once memory is back.
TEST(GlobalQueueOutOfMemory, FallsBackToTheListAndStaysFifo) {
  using goro::detail::global_queue;
  using goro::detail::goroutine;
  using goro::detail::local_queue;
  const int n = 1500;
  auto gs = std::make_unique<goroutine[]>(n);
  global_queue q;
  local_queue lq;
  std::vector<goroutine*> seen;
  auto take_all = [&](std::uint32_t max) {
    while (goroutine* g = q.pop_batch(lq, max)) {
      seen.push_back(g);
      while (goroutine* h = lq.pop()) seen.push_back(h);
    }
  };
  int next = 0;
  // fail: the queue's first allocation in this push fails.
  auto push_some = [&](int k, bool fail = false) {
    std::vector<goroutine*> arr;
    for (int i = 0; i < k; ++i) arr.push_back(&gs[next++]);
    if (fail) arm_this_thread(1);
    q.push_array(arr.data(), static_cast<std::uint32_t>(arr.size()));
    if (fail) {
      EXPECT_EQ(fail_in, 0) << "the push made no allocation to fail";
    }
    arm_this_thread(0);
  };
  push_some(100);        // a ring of 512
  push_some(500, true);  // its growth fails: to the list
  push_some(100);        // behind the list, although the ring could now grow
  EXPECT_EQ(q.size(), 700u);
  take_all(local_queue::kSize / 2);
  push_some(300);     // the list is empty: to the ring again
  take_all(1);
  push_some(500);
  take_all(local_queue::kSize / 2);
  ASSERT_EQ(next, n);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(seen[i], &gs[i]) << "position " << i;
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace

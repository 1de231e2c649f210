// rw_mutex's reader slots (rw_mutex.hpp, docs/design/sync.md): a reader
// that enters through its thread's slot holds writers off like one counted
// in the word; a reader that leaves on another thread than it entered on
// (a goroutine that moved) leaves the lock free, for try_lock and for a
// waiting writer; a destroyed rw_mutex leaves no count behind for the next
// one at its address; and goroutines that move while they read (co_await
// inside the read section) never see a writer's half-done update.
//
// The plain-thread tests drive lock_shared()'s awaiter by hand
// (await_ready is the fast path: a slot entry on the calling thread).
#include <atomic>
#include <functional>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "goro/goro.hpp"
#include "goro_test.hpp"
#include "scheduler_testing.hpp"

namespace {

using goro::detail::rw_reader_slot;
using goro_test::spin_until;

rw_reader_slot* slot_of_this_thread() { return &goro::detail::this_thread_rw_slot(); }

// A thread that runs one step, whose slot is not any of `avoid` (threads
// share a slot when their numbers collide: make new ones until one does not).
class stepper {
 public:
  explicit stepper(std::vector<rw_reader_slot*> avoid) {
    for (int tries = 0; tries < 64; ++tries) {
      start();
      bool clash = false;
      for (rw_reader_slot* a : avoid) clash |= (a == slot_);
      if (!clash) return;
      stop();
    }
    ADD_FAILURE() << "no thread with a slot of its own";
  }
  ~stepper() { stop(); }
  rw_reader_slot* slot() const { return slot_; }
  template <class F>
  void run(F f) {
    step_ = f;
    done_.store(false);
    go_.store(true);
    ASSERT_TRUE(spin_until([&] { return done_.load(); }));
  }

 private:
  void start() {
    std::atomic<rw_reader_slot*> s{nullptr};
    t_ = std::thread([this, &s] {
      s.store(slot_of_this_thread());
      for (;;) {
        while (!go_.load() && !quit_.load()) std::this_thread::yield();
        if (quit_.load()) return;
        go_.store(false);
        step_();
        done_.store(true);
      }
    });
    spin_until([&] { return s.load() != nullptr; });
    slot_ = s.load();
  }
  void stop() {
    if (!t_.joinable()) return;
    quit_.store(true);
    t_.join();
    quit_.store(false);
  }
  std::function<void()> step_;
  std::atomic<bool> go_{false};
  std::atomic<bool> done_{false};
  std::atomic<bool> quit_{false};
  std::thread t_;
  rw_reader_slot* slot_ = nullptr;
};

// Enters mu's read side through the calling thread's slot.
void enter_through_slot(goro::rw_mutex& mu) {
  auto a = mu.lock_shared();
  ASSERT_TRUE(a.await_ready());
  a.await_resume();
}

TEST(RwMutexSlots, AReaderThatMovedLeavesTheLockFreeForTryLock) {
  goro::rw_mutex mu;
  stepper in({slot_of_this_thread()});
  stepper out({slot_of_this_thread(), in.slot()});
  in.run([&] { enter_through_slot(mu); });
  EXPECT_FALSE(mu.try_lock());  // the slot reader holds it
  out.run([&] { mu.unlock_shared(); });
  EXPECT_TRUE(mu.try_lock());  // its slot's count and the word's -1 cancel out
  mu.unlock();
}

// A writer goroutine that must wait moves the slot counts into the word: a
// moved reader's stale +1 (slot) and -1 (word) cancel, the reader still in
// keeps it waiting, and that reader's exit (through the word now) hands it
// the lock. A count lost or doubled in the move lets the writer in early
// (it never parks) or leaves it parked for good.
TEST(RwMutexSlots, AWaitingWriterCountsAMovedReaderRight) {
  auto rt = goro_test::runtime_with(2);
  goro::rw_mutex mu;
  stepper in({slot_of_this_thread()});
  stepper out({slot_of_this_thread(), in.slot()});
  in.run([&] { enter_through_slot(mu); });
  out.run([&] { mu.unlock_shared(); });    // moved: slot +1, word -1
  in.run([&] { enter_through_slot(mu); });  // a reader who holds: slot +2
  std::atomic<bool> reader_left{false}, writer_in{false}, early{false};
  rt->go([&]() -> goro::task<> {
    co_await mu.lock();
    early.store(!reader_left.load());
    writer_in.store(true);
    mu.unlock();
  });
  ASSERT_TRUE(goro_test::wait_parked(*rt, 1));
  EXPECT_FALSE(writer_in.load());
  in.run([&] {
    reader_left.store(true);
    mu.unlock_shared();
  });
  ASSERT_TRUE(spin_until([&] { return writer_in.load(); }));
  EXPECT_FALSE(early.load());
  ASSERT_TRUE(spin_until([&] { return goro_test::parked(*rt) == 0 && rt->goroutines().empty(); }));
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(RwMutexSlots, ASlotReaderHoldsAWriterOff) {
  auto rt = goro_test::runtime_with(2);
  goro::rw_mutex mu;
  stepper reader({slot_of_this_thread()});
  reader.run([&] { enter_through_slot(mu); });
  EXPECT_FALSE(mu.try_lock());
  std::atomic<bool> reader_left{false}, writer_in{false}, early{false};
  rt->go([&]() -> goro::task<> {
    co_await mu.lock();
    early.store(!reader_left.load());
    writer_in.store(true);
    mu.unlock();
  });
  ASSERT_TRUE(goro_test::wait_parked(*rt, 1));
  EXPECT_FALSE(writer_in.load());
  reader.run([&] {
    reader_left.store(true);
    mu.unlock_shared();
  });
  ASSERT_TRUE(spin_until([&] { return writer_in.load(); }));
  EXPECT_FALSE(early.load());
  ASSERT_TRUE(spin_until([&] { return rt->goroutines().empty(); }));
}

// Regression (found in review): try_lock's second look raced a waiting
// writer's move of the slots. A reader enters through its slot after
// try_lock's peek (seam stage 0); a writer goroutine queues after try_lock
// set kWriter (stage 1), moving that reader's count into the word. A
// lock-free second look found the slots empty and the word's count as it
// was: try_lock succeeded while the reader held.
struct race_step {
  static inline stepper* reader = nullptr;
  static inline goro::rw_mutex* mu = nullptr;
  static inline goro::runtime* rt = nullptr;
  static inline std::atomic<bool>* writer_in = nullptr;
  static void seam(int stage) {
    if (stage == 0) {
      reader->run([] { enter_through_slot(*mu); });
    } else {
      rt->go([]() -> goro::task<> {
        co_await mu->lock();
        writer_in->store(true);
        mu->unlock();
      });
      EXPECT_TRUE(goro_test::wait_parked(*rt, 1));
    }
  }
};

TEST(RwMutexSlots, TryLockSeesAReaderWhoseCountAWaitingWriterMoves) {
  auto rt = goro_test::runtime_with(2);
  goro::rw_mutex mu;
  stepper reader({slot_of_this_thread()});
  enter_through_slot(mu);  // kSlotted, so that try_lock takes the slotted path
  mu.unlock_shared();
  std::atomic<bool> writer_in{false};
  race_step::reader = &reader;
  race_step::mu = &mu;
  race_step::rt = rt.get();
  race_step::writer_in = &writer_in;
  goro::detail::testing::set_rw_try_lock_seam(&race_step::seam);
  const bool got = mu.try_lock();
  goro::detail::testing::set_rw_try_lock_seam(nullptr);
  EXPECT_FALSE(got) << "try_lock succeeded while a slot reader held the lock";
  if (got) mu.unlock();
  EXPECT_FALSE(writer_in.load());
  reader.run([&] { mu.unlock_shared(); });  // the last reader out hands it over
  ASSERT_TRUE(spin_until([&] { return writer_in.load(); }));
  ASSERT_TRUE(spin_until([&] { return rt->goroutines().empty(); }));
}

// A count left in a slot by a reader that moved names the rw_mutex's
// address; the destructor clears it, so the next rw_mutex there does not
// start with a phantom reader (its writers would wait for it forever).
TEST(RwMutexSlots, ADestroyedMutexLeavesNoCountForTheNextAtItsAddress) {
  alignas(goro::rw_mutex) unsigned char buf[sizeof(goro::rw_mutex)];
  stepper in({slot_of_this_thread()});
  stepper out({slot_of_this_thread(), in.slot()});
  auto* mu = new (buf) goro::rw_mutex;
  in.run([&] { enter_through_slot(*mu); });
  out.run([&] { mu->unlock_shared(); });
  mu->~rw_mutex();
  EXPECT_NE(in.slot()->word.load() & ~std::uintptr_t{7}, reinterpret_cast<std::uintptr_t>(buf));
  mu = new (buf) goro::rw_mutex;
  enter_through_slot(*mu);  // marks the word slotted (unless this thread's slot is busy)
  mu->unlock_shared();
  const bool got = mu->try_lock();  // scans the slots: nobody there
  EXPECT_TRUE(got);
  if (got) mu->unlock();
  mu->~rw_mutex();
}

class RwMutexSlotsRt : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(RwMutexSlotsRt);

// Readers that yield inside their read section (and so may finish on
// another worker than they started on) beside writers that update two
// fields together: no reader sees them differ, no update is lost, and the
// lock ends free.
TEST_P(RwMutexSlotsRt, MovingReadersAndWritersNeverOverlap) {
  goro::rw_mutex mu;
  long a = 0, b = 0;
  std::atomic<long> torn{0};
  constexpr int kG = 8, kIters = 2000;
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int g = 0; g < kG; ++g)
      wg.go([&, g]() -> goro::task<> {
        for (int i = 0; i < kIters; ++i) {
          if ((i + g) % 10 == 0) {
            co_await mu.lock();
            ++a;
            ++b;
            mu.unlock();
          } else {
            co_await mu.lock_shared();
            const long x = a;
            if (i % 3 == 0) co_await goro::yield();
            if (x != a || a != b) torn.fetch_add(1);
            mu.unlock_shared();
          }
        }
      });
    co_await wg.wait();
  });
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(a, long{kG} * kIters / 10);
  EXPECT_EQ(b, a);
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

}  // namespace

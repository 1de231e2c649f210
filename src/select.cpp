// select.cpp — the select engine, written once for every channel operation
// (a lone send or receive is a one-case select). Protocol: chan_core.hpp.
#include <algorithm>

#include "goro/detail/chan_core.hpp"
#include "goro/rand.hpp"

namespace goro::detail {
bool current_worker_seeded() noexcept;  // scheduler.cpp

namespace {
constexpr int kMaxCases = 64;

// A deterministic (seeded) runtime's worker draws from goro::rand, which it
// seeded from runtime_options::seed, so that a replay also picks the same
// case among several ready ones.
std::uint32_t seeded_rand() noexcept { return goro::rand::uint32(); }

GORO_NOINLINE std::uint32_t fast_rand() noexcept {
  static thread_local std::uint64_t s = reinterpret_cast<std::uintptr_t>(&s) | 1;
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return static_cast<std::uint32_t>(s >> 32);
}
}  // namespace

// The analysis cannot follow a runtime-sized set of locks.
int select_start(const select_spec& s, wait_token* tok) noexcept GORO_NO_TSA {
  const int n = s.n;
  GORO_ASSERT(n <= kMaxCases, "goro::select: more than 64 cases");

  // Poll order: uniformly random permutation of the cases (Fisher-Yates).
  std::uint8_t order[kMaxCases];
  std::uint32_t (*rnd)(void) noexcept = n > 1 && current_worker_seeded() ? &seeded_rand : &fast_rand;
  for (int i = 0; i < n; ++i) {
    int j = n > 1 ? static_cast<int>(rnd() % static_cast<std::uint32_t>(i + 1)) : 0;
    order[i] = order[j];
    order[j] = static_cast<std::uint8_t>(i);
  }

  // Pass 1 (crossbeam's try_select): try each case alone, lock-free on a
  // buffered channel's ring when nobody waits on it, else under its own lock,
  // in the random order. A ready case commits without locking the others,
  // which is what a busy select mostly sees. Each attempt is atomic on its
  // channel, so exactly one case commits and the others are untouched.
  //
  // Pass 1 finding nothing proves nothing about any single instant: each
  // case was seen not ready at a different moment, and a case polled early
  // may have become ready while a later one stopped being ready (a value
  // moving from c1 to c2 between the polls of c2 and c1). So the default and
  // an expired timeout may fire only after pass 2 has polled every case
  // under every lock. Only when a single case has a channel was its pass-1
  // poll already such a poll (one lock, one instant).
  int polled = 0;
  for (int k = 0; k < n; ++k) {
    case_iface* c = s.cases[order[k]];
    if (c->lock == nullptr) continue;
    ++polled;
    const int quick = c->try_fast();  // a buffered channel's lock-free ring
    if (quick == case_iface::kFired) return order[k];
    if (quick == case_iface::kNotReady) continue;
    chan_waiter* wake = nullptr;
    c->lock->lock();
    bool fired = c->poll(&wake);
    c->lock->unlock();
    if (fired) {
      if (wake != nullptr) wake->tok()->complete();
      return order[k];
    }
  }
  if (s.default_index >= 0 && polled <= 1) return s.default_index;
  // Read the clock before the locked poll: "expired, and nothing ready" must
  // hold at one instant, the locked poll's (the deadline cannot un-pass).
  const bool expired = s.timeout_index >= 0 && s.deadline <= now();
  if (expired && polled == 0) return s.timeout_index;

  // Pass 2: lock every channel (so nothing can become ready unseen) and poll
  // again; if still nothing, take the default or the expired timeout, or
  // enqueue on all. Lock order: distinct channel locks by increasing address.
  spinlock* locks[kMaxCases];
  int nl = 0;
  for (int i = 0; i < n; ++i) {
    spinlock* l = s.cases[i]->lock;
    if (l == nullptr) continue;
    int k = nl;
    bool dup = false;
    while (k > 0 && locks[k - 1] >= l) {
      if (locks[k - 1] == l) {
        dup = true;
        break;
      }
      --k;
    }
    if (dup) continue;
    for (int m = nl; m > k; --m) locks[m] = locks[m - 1];
    locks[k] = l;
    ++nl;
  }
  for (int i = 0; i < nl; ++i) locks[i]->lock();
  // Stop the lock-free ring operations of buffered channels too, so that
  // nothing changes under the locked poll (chan_base::freeze).
  for (int i = 0; i < n; ++i)
    if (s.cases[i]->lock != nullptr) s.cases[i]->freeze();

  chan_waiter* wake = nullptr;
  int fired = -1;
  for (int k = 0; k < n; ++k) {
    case_iface* c = s.cases[order[k]];
    if (c->lock != nullptr && c->poll(&wake)) {
      fired = order[k];
      break;
    }
  }
  if (fired < 0 && s.default_index >= 0) {
    fired = s.default_index;  // nothing was ready at this instant: enqueue nothing
  } else if (fired < 0 && expired) {
    fired = s.timeout_index;
  } else if (fired < 0) {
    // Enqueue in poll order, not argument order: cases on the same channel
    // then queue in random order, so a parked select does not always commit
    // its first such case (Go seeds lockorder from pollorder for the same
    // reason; ported TestPseudoRandomSend).
    for (int k = 0; k < n; ++k) {
      const int i = order[k];
      if (s.cases[i]->lock != nullptr) s.cases[i]->enqueue(tok, i);
    }
  }

  for (int i = 0; i < n; ++i)
    if (s.cases[i]->lock != nullptr) s.cases[i]->thaw();  // stays frozen where we enqueued
  for (int i = nl; i-- > 0;) locks[i]->unlock();
  if (wake != nullptr) wake->tok()->complete();
  return fired;
}

void select_finish(const select_spec& s, int winner) noexcept {
  for (int i = 0; i < s.n; ++i)
    if (i != winner && s.cases[i]->lock != nullptr) s.cases[i]->cancel();
}

bool chan_base::close() noexcept {
  chan_waiter* chain = nullptr;
  chan_waiter** tail = &chain;
  {
    lock_guard l(mu);
    if (closed_) return false;
    closed_ = true;
    // Lock-free senders now come to mu and see closed_; receivers that find
    // the ring empty report closed.
    if (cap_ > 0) ring_->tail.fetch_or(kClosedBit, std::memory_order_seq_cst);
    // Receivers waiting means the buffer is empty: they all see "closed".
    // Senders get "closed" (their values stay with them).
    for (waiter_queue* q : {&recvq_, &sendq_}) {
      while (chan_waiter* w = q->dequeue_claimed()) {
        w->ok = false;
        *tail = w;
        tail = &w->next;
      }
    }
    *tail = nullptr;
    thaw();
  }
  complete_chain(chain);
  return true;
}

}  // namespace goro::detail

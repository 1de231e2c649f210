// ported_util.hpp — helpers shared by the ports of Go's own channel, select
// and timer tests (tests/ported/*_test.cpp).
//
// Go's tests check "this operation blocks" with time.Sleep and a flag. The
// ports never sleep to synchronise; they use:
//  * wait_parked(rt, ids): polls the runtime's goroutine registry (yielding
//    between polls) until every listed goroutine is parked. It returns false
//    at once if one of them returned instead (it did not block), and after a
//    generous limit otherwise — the limit only matters when the test fails.
//  * block_probe: Go's testBlock(signal, f) from test/chan/select3.go. f runs
//    as a goroutine on a private runtime; "blocks" means it did not finish
//    within a window, exactly as Go decides it. Goroutines that block forever
//    (nil channels, select {}) are torn down with that runtime, which reports
//    them; the test checks that exactly the expected ones were left behind.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "goro_test.hpp"

namespace goro_ported {

using namespace std::chrono_literals;

// True once goroutines `a` and `b` (ids; 0 = none) are parked; false if one of
// them returned (so it did not block) or `limit` passed. (Two ids rather than
// a braced list: GCC 12 rejects an initializer_list inside co_await.)
inline goro::task<bool> wait_parked(const goro::runtime& rt, std::uint64_t a, std::uint64_t b = 0,
                                    std::chrono::nanoseconds limit = 10s) {
  std::vector<std::uint64_t> ids{a};
  if (b != 0) ids.push_back(b);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::size_t present = 0, parked = 0;
    for (const goro::goroutine_info& g : rt.goroutines()) {
      if (std::find(ids.begin(), ids.end(), g.id) == ids.end()) continue;
      ++present;
      if (g.wait_reason != nullptr) ++parked;
    }
    if (present < ids.size()) co_return false;
    if (parked == ids.size()) co_return true;
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    co_await goro::yield();
  }
}

// Go's testBlock (test/chan/select3.go).
class block_probe {
 public:
  // Go waits 10 ms for "always blocks" and 10 s for "never blocks": a
  // function that must not block has all the time a loaded machine needs.
  static constexpr std::chrono::milliseconds kAlwaysWindow{10};
  static constexpr std::chrono::seconds kNeverWindow{10};

  block_probe() {
    goro::runtime_options o;
    o.workers = 1;
    o.on_shutdown_alive = [this](const std::vector<goro::goroutine_info>& alive) {
      abandoned_ = alive.size();
    };
    side_ = std::make_unique<goro::runtime>(o);
  }

  // Runs f() (returning goro::task<>) on the private runtime; true if it had
  // not finished after `window`.
  template <class F>
  goro::task<bool> blocks(F f, std::chrono::nanoseconds window) {
    auto finished = goro::make_chan<bool>(1);  // buffered: a late finisher never blocks
    side_->go(
        [](F fn, goro::sender<bool> fin) -> goro::task<> {
          goro::task<> t = fn();
          co_await std::move(t);
          (void)fin.try_send(true);
        },
        std::move(f), finished);
    auto r = co_await finished.recv_for(window);
    co_return r.status == goro::recv_status::timeout;
  }

  // Destroys the private runtime (and every goroutine still blocked on it);
  // returns how many were still alive.
  std::size_t shutdown() {
    side_.reset();
    return abandoned_;
  }

 private:
  std::size_t abandoned_ = 0;
  std::unique_ptr<goro::runtime> side_;
};

}  // namespace goro_ported

// Stress tests for goro::context (docs/design/context.md): cancellation racing the
// creation of children, children cancelling themselves while their parent
// cancels them, deadlines firing while contexts are cancelled early, and the
// lazily created done channel racing cancel.
//
// Invariants checked after every round: every child of a cancelled parent is
// cancelled, with the parent's error and cause; the parent's child list is
// empty (cancelled children detach); every after_func either ran exactly once
// or was stopped (never both, never neither); no deadline timer is left
// armed; err() != {} <=> done() is closed, at every observation.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::scaled;

namespace {

class ContextStress : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(ContextStress);

inline constexpr goro::context_key<int> kLayer{"layer"};

bool is_done(const goro::context& c) {
  return c.done().try_recv().status == goro::recv_status::closed;
}

// Go's contract between Done and Err, checked in both directions.
void check_err_done(const goro::context& c) {
  if (c.err()) {
    EXPECT_TRUE(is_done(c)) << "err() set but done() open";
  }
  if (is_done(c)) {
    EXPECT_TRUE(c.err()) << "done() closed but err() empty";
  }
}

struct round_stats {
  std::atomic<long> registered{0}, ran{0}, stopped{0}, children{0};
};

// One worker: derives children of `parent` (directly and through value
// nodes), cancels some itself, keeps the rest, registers and stops after_funcs,
// all while another goroutine cancels the parent.
goro::task<> churn(goro::context parent, int iterations, unsigned seed, round_stats* st,
                   goro::wait_group* after_funcs, goro::sender<void> started) {
  std::minstd_rand rng(seed);
  std::vector<goro::cancelable_context<>> kept;
  std::vector<goro::stop_func> stops;
  for (int i = 0; i < iterations; ++i) {
    check_err_done(parent);
    goro::context base = (rng() % 4 == 0) ? goro::with_value(parent, kLayer, i) : parent;
    switch (rng() % 5) {
      case 0:
        kept.push_back(goro::with_cancel(base));
        break;
      case 1:
        kept.push_back(goro::with_timeout(base, 1h));
        break;
      case 2: {  // created and cancelled at once (by its destructor)
        auto c = goro::with_timeout(base, 1h);
        auto grandchild = goro::with_cancel(c.ctx);
        break;
      }
      case 3: {
        after_funcs->add(1);
        st->registered.fetch_add(1, std::memory_order_relaxed);
        stops.push_back(goro::after_func(base, [st, after_funcs] {
          st->ran.fetch_add(1, std::memory_order_relaxed);
          after_funcs->done();
        }));
        break;
      }
      default:
        if (!stops.empty() && stops.back()()) {
          st->stopped.fetch_add(1, std::memory_order_relaxed);
          after_funcs->done();
        }
        break;
    }
    if (!kept.empty() && rng() % 3 == 0) kept[rng() % kept.size()].cancel();  // cancel some ourselves
    if (i == iterations / 4) (void)started.try_send({});
    if (rng() % 16 == 0) co_await goro::yield();
  }
  (void)started.try_send({});
  co_await parent.done().recv();  // wait for the parent's cancel, then check the children
  for (const auto& k : kept) {
    EXPECT_TRUE(is_done(k.ctx));
    EXPECT_TRUE(k.ctx.err() == goro::canceled);
    check_err_done(k.ctx);
  }
  st->children.fetch_add(static_cast<long>(kept.size()), std::memory_order_relaxed);
}

TEST_P(ContextStress, CancelRacesChildCreation) {
  goro::runtime& r = rt();
  const int rounds = scaled(100);
  const int workers = 8;
  const int iterations = scaled(2000);
  for (int round = 0; round < rounds; ++round) {
    round_stats st;
    r.run([&]() -> goro::task<> {
      auto [root, cancel_root] = goro::with_cancel_cause(goro::background());
      // Sometimes the workers hang off a value node or a timer node.
      goro::context parent = root;
      goro::cancelable_context<> timed;
      if (round % 3 == 1) parent = goro::with_value(root, kLayer, -1);
      if (round % 3 == 2) {
        timed = goro::with_timeout(root, 1h);
        parent = timed.ctx;
      }
      goro::wait_group wg, after_funcs;
      auto started = goro::make_chan<void>(workers);
      for (int w = 0; w < workers; ++w)
        wg.go(churn, parent, iterations, static_cast<unsigned>(round * 131 + w), &st, &after_funcs,
              goro::sender<void>(started));
      // Cancel once the first worker is a quarter through (from a plain
      // goroutine, or the cancel_func's destructor in a goroutine).
      (void)co_await started.recv();
      const goro::error why = std::make_error_code(std::errc::owner_dead);
      if (round % 2 == 0) {
        cancel_root(why);
      } else {
        goro::go([](goro::cancel_cause_func c, goro::error e) { c(e); }, std::move(cancel_root), why);
      }
      co_await wg.wait();
      co_await after_funcs.wait();  // every after_func ran or was stopped
      EXPECT_TRUE(is_done(parent));
      EXPECT_EQ(goro::cause(parent), why);
      EXPECT_EQ(goro::detail::context_child_count(root), 0u);
      EXPECT_EQ(goro::detail::context_child_count(parent), 0u);
    });
    ASSERT_EQ(st.ran.load() + st.stopped.load(), st.registered.load()) << "round " << round;
    ASSERT_EQ(r.armed_timers(), 0u) << "round " << round;
  }
}

// Go's TestSimultaneousCancels, larger: a tree whose every node is cancelled
// at once from its own goroutine, in random order.
TEST_P(ContextStress, SimultaneousCancelsOfATree) {
  goro::runtime& r = rt();
  for (int round = 0; round < scaled(50); ++round) {
    r.run([]() -> goro::task<> {
      std::vector<goro::context> ctxs;
      std::vector<goro::cancel_func> cancels;
      auto [root, root_cancel] = goro::with_cancel(goro::background());
      ctxs.push_back(root);
      cancels.push_back(std::move(root_cancel));
      for (std::size_t q = 0; ctxs.size() < 1000; ++q) {
        for (int i = 0; i < 4; ++i) {
          auto c = (i == 3) ? goro::with_timeout(ctxs[q], 1h) : goro::with_cancel(ctxs[q]);
          ctxs.push_back(c.ctx);
          cancels.push_back(std::move(c.cancel));
        }
      }
      std::shuffle(cancels.begin(), cancels.end(), std::minstd_rand(42));
      goro::wait_group wg;
      for (auto& c : cancels) wg.go([](goro::cancel_func f) { f(); }, std::move(c));
      for (const auto& c : ctxs) {
        (void)co_await c.done().recv();
        EXPECT_TRUE(c.err() == goro::canceled);
        EXPECT_EQ(goro::detail::context_child_count(c), 0u);
      }
      co_await wg.wait();
    });
    ASSERT_EQ(r.armed_timers(), 0u);
  }
}

// Deadlines firing while the same contexts are cancelled early and their
// parent is cancelled: each ends with exactly one of the two errors, and no
// timer stays armed.
TEST_P(ContextStress, DeadlinesRaceCancels) {
  goro::runtime& r = rt();
  for (int round = 0; round < scaled(30); ++round) {
    std::atomic<long> exceeded{0}, canceled{0};
    r.run([&]() -> goro::task<> {
      auto [parent, cancel_parent] = goro::with_cancel(goro::background());
      goro::wait_group wg;
      auto started = goro::make_chan<void>(16);
      for (int g = 0; g < 16; ++g) {
        wg.go([](goro::context p, unsigned seed, std::atomic<long>* ex, std::atomic<long>* ca,
                 goro::sender<void> go_on) -> goro::task<> {
          std::minstd_rand rng(seed);
          for (int i = 0; i < scaled(200); ++i) {
            if (i == scaled(200) / 2) (void)go_on.try_send({});
            auto [c, cancel] = goro::with_timeout(p, std::chrono::microseconds(rng() % 300));
            if (rng() % 3 == 0) cancel();
            (void)co_await c.done().recv();
            check_err_done(c);
            if (c.err() == goro::deadline_exceeded) ex->fetch_add(1); else if (c.err() == goro::canceled) ca->fetch_add(1);
            else ADD_FAILURE() << "unexpected err " << c.err().message();
          }
        }, parent, static_cast<unsigned>(round * 17 + g), &exceeded, &canceled, goro::sender<void>(started));
      }
      (void)co_await started.recv();  // the parent's cancel lands mid-run
      cancel_parent();
      co_await wg.wait();
      EXPECT_EQ(goro::detail::context_child_count(parent), 0u);
    });
    EXPECT_EQ(exceeded.load() + canceled.load(), 16L * scaled(200));
    // The goroutines that deadlines start have returned (the runtime is quiet
    // between runs only at TearDown, so wait here), and nothing is armed.
    ASSERT_TRUE(r.wait_no_goroutines(30s));
    ASSERT_EQ(r.armed_timers(), 0u);
  }
}

// done() is created lazily: many first calls race each other and cancel.
// Every receiver handed out must be closed once cancel has returned.
TEST_P(ContextStress, LazyDoneRacesCancel) {
  for (int round = 0; round < scaled(2000); ++round) {
    rt().run([]() -> goro::task<> {
      auto [ctx, cancel] = goro::with_cancel(goro::background());
      goro::wait_group wg;
      auto got = goro::make_chan<goro::receiver<void>>(8);
      for (int i = 0; i < 8; ++i) {
        wg.go([](goro::context c, goro::sender<goro::receiver<void>> out) -> goro::task<> {
          check_err_done(c);
          goro::receiver<void> d = c.done();
          (void)co_await out.send(std::move(d));
        }, ctx, goro::sender<goro::receiver<void>>(got));
      }
      goro::go([](goro::cancel_func c) { c(); }, std::move(cancel));
      for (int i = 0; i < 8; ++i) {
        auto d = co_await got.recv();
        (void)co_await d->recv();  // closed, whichever channel this receiver is
      }
      EXPECT_EQ(ctx.err(), goro::canceled);
      co_await wg.wait();
    });
  }
}

}  // namespace

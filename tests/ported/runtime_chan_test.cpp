// Ported from Go 1.19: src/runtime/chan_test.go.
//
// Each TEST_P is named after the Go test it ports and runs under 1, 2 and 8
// workers (Go's GOMAXPROCS loops). Go's panics are goro's statuses; Go's
// time.Sleep "let it block first" is wait_parked (ported_util.hpp).
//
// Not ported (they do not apply to goro):
//  * TestShrinkStackDuringBlockedSend, TestNoShrinkStackWhileParking,
//    TestSelectStackAdjust — they exercise Go's stack shrinking by the GC while
//    a goroutine is parked with sudogs pointing into its stack. Goroutines
//    here are stackless coroutines: waiters live in the coroutine frame, which
//    never moves, so there is no stack to shrink or adjust.
//  * Benchmark* — benchmarks live in bench/ with Go twins, never in tests.
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "ported/ported_util.hpp"

using namespace std::chrono_literals;
using goro_ported::wait_parked;
using goro_test::scaled;

namespace {

class RuntimeChan : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(RuntimeChan);

constexpr goro::send_status kSent = goro::send_status::ok;

TEST_P(RuntimeChan, TestChan) {
  // Go: runtime/chan_test.go, TestChan.
  const int N = scaled(200);  // Go: 200 (20 with -short)
  goro::runtime& r = rt();
  rt().run([&]() -> goro::task<> {
    for (int chanCap = 0; chanCap < N; chanCap++) {
      {
        // Ensure that receive from empty chan blocks.
        auto c = goro::make_chan<int>(chanCap);
        std::atomic<bool> recv1{false}, recv2{false};
        auto h1 = goro::spawn([&]() -> goro::task<> {
          (void)co_await c.recv();
          recv1 = true;
        });
        auto h2 = goro::spawn([&]() -> goro::task<> {
          auto v = co_await c.recv();
          EXPECT_TRUE(v.has_value());
          recv2 = true;
        });
        bool parked = co_await wait_parked(r, h1.id(), h2.id());
        EXPECT_TRUE(parked) << "chan[" << chanCap << "]: receivers did not block";
        if (recv1 || recv2) ADD_FAILURE() << "chan[" << chanCap << "]: receive from empty chan";
        // Ensure that non-blocking receive does not block.
        auto nb = co_await goro::select(goro::recv(c), goro::default_case);
        EXPECT_EQ(nb.index(), 1u) << "chan[" << chanCap << "]: receive from empty chan";
        EXPECT_EQ(c.try_recv().status, goro::recv_status::empty);
        auto s1 = co_await c.send(0);
        auto s2 = co_await c.send(0);
        EXPECT_EQ(s1, kSent);
        EXPECT_EQ(s2, kSent);
        co_await std::move(h1);
        co_await std::move(h2);
        EXPECT_TRUE(recv1 && recv2);
      }

      {
        // Ensure that send to full chan blocks.
        auto c = goro::make_chan<int>(chanCap);
        for (int i = 0; i < chanCap; i++) {
          auto st = co_await c.send(i);
          EXPECT_EQ(st, kSent);
        }
        std::atomic<bool> sent{false};
        auto h = goro::spawn([&]() -> goro::task<> {
          auto st = co_await c.send(0);
          EXPECT_EQ(st, kSent);
          sent = true;
        });
        bool parked = co_await wait_parked(r, h.id());
        EXPECT_TRUE(parked) << "chan[" << chanCap << "]: sender did not block";
        if (sent) ADD_FAILURE() << "chan[" << chanCap << "]: send to full chan";
        // Ensure that non-blocking send does not block.
        auto nb = co_await goro::select(goro::send(c, 0), goro::default_case);
        EXPECT_EQ(nb.index(), 1u) << "chan[" << chanCap << "]: send to full chan";
        EXPECT_EQ(c.try_send(0), goro::send_status::full);
        auto v = co_await c.recv();
        EXPECT_TRUE(v.has_value());
        co_await std::move(h);
        EXPECT_TRUE(sent);
      }

      {
        // Ensure that we receive 0 from closed chan (goro: an empty optional).
        auto c = goro::make_chan<int>(chanCap);
        for (int i = 0; i < chanCap; i++) {
          auto st = co_await c.send(i);
          EXPECT_EQ(st, kSent);
        }
        EXPECT_TRUE(c.close());
        for (int i = 0; i < chanCap; i++) {
          auto v = co_await c.recv();
          if (!v || *v != i) {
            ADD_FAILURE() << "chan[" << chanCap << "]: received " << (v ? *v : -1) << ", expected " << i;
            co_return;
          }
        }
        auto v1 = co_await c.recv();
        EXPECT_FALSE(v1.has_value()) << "chan[" << chanCap << "]: received a value after close";
        auto v2 = co_await c.recv();
        EXPECT_FALSE(v2.has_value()) << "chan[" << chanCap << "]: received a value after close";
      }

      {
        // Ensure that close unblocks receive.
        auto c = goro::make_chan<int>(chanCap);
        auto done = goro::make_chan<bool>();
        auto h = goro::spawn([](goro::receiver<int> c, goro::sender<bool> done) -> goro::task<> {
          auto v = co_await c.recv();
          (void)co_await done.send(!v.has_value());
        }, c, done);
        bool parked = co_await wait_parked(r, h.id());
        EXPECT_TRUE(parked);
        EXPECT_TRUE(c.close());
        auto ok = co_await done.recv();
        EXPECT_TRUE(ok.has_value() && *ok) << "chan[" << chanCap << "]: received non zero from closed chan";
        co_await std::move(h);
      }

      {
        // Send 100 integers,
        // ensure that we receive them non-corrupted in FIFO order.
        auto c = goro::make_chan<int>(chanCap);
        auto sender100 = [](goro::sender<int> c) -> goro::task<> {
          for (int i = 0; i < 100; i++) {
            auto st = co_await c.send(i);
            EXPECT_EQ(st, kSent);
          }
        };
        auto h1 = goro::spawn(sender100, c);
        for (int i = 0; i < 100; i++) {
          auto v = co_await c.recv();
          if (!v || *v != i) {
            ADD_FAILURE() << "chan[" << chanCap << "]: received " << (v ? *v : -1) << ", expected " << i;
            co_return;
          }
        }
        // Same, but using recv2 (goro: the timed form, which reports ok/closed/timeout).
        auto h2 = goro::spawn(sender100, c);
        for (int i = 0; i < 100; i++) {
          auto v = co_await c.recv_for(1h);
          if (v.status != goro::recv_status::ok) {
            ADD_FAILURE() << "chan[" << chanCap << "]: receive failed, expected " << i;
            co_return;
          }
          if (*v != i) {
            ADD_FAILURE() << "chan[" << chanCap << "]: received " << *v << ", expected " << i;
            co_return;
          }
        }
        co_await std::move(h1);
        co_await std::move(h2);

        // Send 1000 integers in 4 goroutines,
        // ensure that we receive what we send.
        constexpr int P = 4;
        constexpr int L = 1000;
        goro::wait_group senders;
        for (int p = 0; p < P; p++) {
          senders.go([](goro::sender<int> c) -> goro::task<> {
            for (int i = 0; i < L; i++) {
              auto st = co_await c.send(i);
              EXPECT_EQ(st, kSent);
            }
          }, c);
        }
        auto done = goro::make_chan<std::map<int, int>>();
        for (int p = 0; p < P; p++) {
          goro::go([](goro::receiver<int> c, goro::sender<std::map<int, int>> done) -> goro::task<> {
            std::map<int, int> recv;
            for (int i = 0; i < L; i++) {
              auto v = co_await c.recv();
              if (v) recv[*v] = recv[*v] + 1;
            }
            (void)co_await done.send(std::move(recv));
          }, c, done);
        }
        std::map<int, int> recv;
        for (int p = 0; p < P; p++) {
          auto m = co_await done.recv();
          EXPECT_TRUE(m.has_value());
          if (!m) continue;
          for (auto [k, v] : *m) recv[k] = recv[k] + v;
        }
        co_await senders.wait();
        if (recv.size() != static_cast<std::size_t>(L))
          ADD_FAILURE() << "chan[" << chanCap << "]: received " << recv.size() << " values, expected " << L;
        for (auto [k, v] : recv)
          if (v != P) {
            ADD_FAILURE() << "chan[" << chanCap << "]: received " << v << " values, expected " << P;
            break;
          }
      }

      {
        // Test len/cap.
        auto c = goro::make_chan<int>(chanCap);
        EXPECT_EQ(c.len(), 0u);
        EXPECT_EQ(c.cap(), static_cast<std::size_t>(chanCap));
        for (int i = 0; i < chanCap; i++) {
          auto st = co_await c.send(i);
          EXPECT_EQ(st, kSent);
        }
        EXPECT_EQ(c.len(), static_cast<std::size_t>(chanCap));
        EXPECT_EQ(c.cap(), static_cast<std::size_t>(chanCap));
      }
      if (::testing::Test::HasFailure()) co_return;
    }
  });
}

TEST_P(RuntimeChan, TestNonblockRecvRace) {
  // Go: runtime/chan_test.go, TestNonblockRecvRace.
  const int n = scaled(10000);  // Go: 10000 (100 with -short)
  std::atomic<int> not_ready{0};
  rt().run([&]() -> goro::task<> {
    goro::wait_group wg;
    for (int i = 0; i < n; i++) {
      auto c = goro::make_chan<int>(1);
      auto st = co_await c.send(1);
      EXPECT_EQ(st, kSent);
      wg.go([&not_ready](goro::receiver<int> c) -> goro::task<> {
        auto r = co_await goro::select(goro::recv(c), goro::default_case);
        if (r.index() != 0) not_ready.fetch_add(1);  // "chan is not ready"
      }, c);
      EXPECT_TRUE(c.close());
      (void)co_await c.recv();
      if (not_ready.load() != 0) break;
    }
    co_await wg.wait();
  });
  EXPECT_EQ(not_ready.load(), 0) << "chan is not ready";
}

// TestNonblockSelectRace and TestNonblockSelectRace2 differ only in how c2
// becomes ready: `c2 <- 1` on a buffered channel, or close(c2) on an
// unbuffered one.
//
// The select acts on the state of the channels at one moment, not over a
// smeared time window: from the moment the goroutine is created, at least one
// of c1 and c2 is ready, so it must never take the default case. Each select
// here runs once, right after its goroutine starts, and rarely lands in the
// window; the forms that keep a pair ready for a whole test and hit it are
// tests/regression/select_default_not_atomic_test.cpp and
// tests/stress/select_atomic_stress_test.cpp.
template <bool kCloseC2>
void nonblock_select_race(goro::runtime& rt) {
  const int n = scaled(100000);  // Go: 100000 (1000 with -short)
  int failed_at = -1;
  rt.run([&]() -> goro::task<> {
    auto done = goro::make_chan<bool>(1);
    for (int i = 0; i < n; i++) {
      auto c1 = goro::make_chan<int>(1);
      auto c2 = goro::make_chan<int>(kCloseC2 ? 0 : 1);
      auto st = co_await c1.send(1);
      EXPECT_EQ(st, kSent);
      goro::go([](goro::receiver<int> c1, goro::receiver<int> c2, goro::sender<bool> done) -> goro::task<> {
        auto r = co_await goro::select(goro::recv(c1), goro::recv(c2), goro::default_case);
        (void)co_await done.send(r.index() != 2);
      }, c1, c2, done);
      if constexpr (kCloseC2) {
        EXPECT_TRUE(c2.close());
      } else {
        auto st2 = co_await c2.send(1);
        EXPECT_EQ(st2, kSent);
      }
      auto nb = co_await goro::select(goro::recv(c1), goro::default_case);
      (void)nb;
      auto ok = co_await done.recv();
      if (!ok || !*ok) {
        failed_at = i;
        co_return;
      }
    }
  });
  EXPECT_EQ(failed_at, -1) << "no chan is ready (iteration " << failed_at << ")";
}

TEST_P(RuntimeChan, TestNonblockSelectRace) {
  // Go: runtime/chan_test.go, TestNonblockSelectRace.
  nonblock_select_race<false>(rt());
}

TEST_P(RuntimeChan, TestNonblockSelectRace2) {
  // Go: runtime/chan_test.go, TestNonblockSelectRace2 (close(c2) replaces c2 <- 1).
  nonblock_select_race<true>(rt());
}

TEST_P(RuntimeChan, TestSelfSelect) {
  // Go: runtime/chan_test.go, TestSelfSelect.
  // Ensure that send/recv on the same chan in select
  // does not crash nor deadlock (nor match a select with itself).
  std::atomic<int> self_receives{0}, closed_seen{0};
  rt().run([&]() -> goro::task<> {
    for (int chanCap : {0, 10}) {
      goro::wait_group wg;
      auto c = goro::make_chan<int>(chanCap);
      for (int p = 0; p < 2; p++) {
        wg.go([&, chanCap, p](goro::chan<int> c) -> goro::task<> {
          for (int i = 0; i < 1000; i++) {
            std::optional<int> v;
            bool received = false;
            if (p == 0 || i % 2 == 0) {
              auto r = co_await goro::select(goro::send(c, p), goro::recv(c));
              if (r.index() == 1) {
                received = true;
                v = r.get<1>();
              }
            } else {
              auto r = co_await goro::select(goro::recv(c), goro::send(c, p));
              if (r.index() == 0) {
                received = true;
                v = r.get<0>();
              }
            }
            if (received && !v) closed_seen.fetch_add(1);
            if (received && v && chanCap == 0 && *v == p) {
              self_receives.fetch_add(1);  // "self receive"
              co_return;
            }
          }
        }, c);
      }
      co_await wg.wait();
    }
  });
  EXPECT_EQ(self_receives.load(), 0) << "self receive";
  EXPECT_EQ(closed_seen.load(), 0);
}

TEST_P(RuntimeChan, TestSelectStress) {
  // Go: runtime/chan_test.go, TestSelectStress.
  // 4 goroutines send N values on each of the chans, 4 receive N values on
  // each, 1 sends N values on each in a single select, 1 receives N values on
  // each in a single select. They interact chaotically; the whole construct
  // must not deadlock, and every select goroutine must see exactly N per chan.
  const int N = scaled(100000);  // Go: 100000 (10000 with -short)
  std::array<int, 4> sent_by_select{}, recv_by_select{};
  rt().run([&]() -> goro::task<> {
    std::array<goro::chan<int>, 4> c{goro::make_chan<int>(), goro::make_chan<int>(),
                                     goro::make_chan<int>(2), goro::make_chan<int>(3)};
    goro::wait_group wg;
    for (int k = 0; k < 4; k++) {
      wg.go([](int N, goro::sender<int> c) -> goro::task<> {
        for (int i = 0; i < N; i++) {
          auto st = co_await c.send(0);
          EXPECT_EQ(st, kSent);
        }
      }, N, c[k]);
      wg.go([](int N, goro::receiver<int> c) -> goro::task<> {
        for (int i = 0; i < N; i++) {
          auto v = co_await c.recv();
          EXPECT_TRUE(v.has_value());
        }
      }, N, c[k]);
    }
    wg.go([&sent_by_select](int N, std::array<goro::chan<int>, 4> c1) -> goro::task<> {
      std::array<int, 4>& n = sent_by_select;
      for (int i = 0; i < 4 * N; i++) {
        auto r = co_await goro::select(goro::send(c1[3], 0), goro::send(c1[2], 0),
                                       goro::send(c1[0], 0), goro::send(c1[1], 0));
        static constexpr int kChan[4] = {3, 2, 0, 1};
        int k = kChan[r.index()];
        n[k]++;
        if (n[k] == N) c1[k] = {};
      }
    }, N, c);
    wg.go([&recv_by_select](int N, std::array<goro::chan<int>, 4> c1) -> goro::task<> {
      std::array<int, 4>& n = recv_by_select;
      for (int i = 0; i < 4 * N; i++) {
        auto r = co_await goro::select(goro::recv(c1[0]), goro::recv(c1[1]),
                                       goro::recv(c1[2]), goro::recv(c1[3]));
        int k = static_cast<int>(r.index());
        n[k]++;
        if (n[k] == N) c1[k] = {};
      }
    }, N, c);
    co_await wg.wait();
  });
  EXPECT_EQ(sent_by_select, (std::array<int, 4>{N, N, N, N}));
  EXPECT_EQ(recv_by_select, (std::array<int, 4>{N, N, N, N}));
}

TEST_P(RuntimeChan, TestSelectFairness) {
  // Go: runtime/chan_test.go, TestSelectFairness.
  constexpr int trials = 10000;
  int cnt1 = 0, cnt2 = 0, unexpected = 0;
  rt().run([&]() -> goro::task<> {
    auto c1 = goro::make_chan<std::uint8_t>(trials + 1);
    auto c2 = goro::make_chan<std::uint8_t>(trials + 1);
    for (int i = 0; i < trials + 1; i++) {
      EXPECT_EQ(c1.try_send(1), kSent);
      EXPECT_EQ(c2.try_send(2), kSent);
    }
    auto c3 = goro::make_chan<std::uint8_t>();
    auto c4 = goro::make_chan<std::uint8_t>();
    auto out = goro::make_chan<std::uint8_t>();
    auto done = goro::make_chan<void>();
    goro::wait_group wg;
    wg.go([](goro::receiver<std::uint8_t> c1, goro::receiver<std::uint8_t> c2,
             goro::receiver<std::uint8_t> c3, goro::receiver<std::uint8_t> c4,
             goro::sender<std::uint8_t> out, goro::receiver<void> done) -> goro::task<> {
      for (;;) {
        std::uint8_t b = 0;
        {
          auto r = co_await goro::select(goro::recv(c3), goro::recv(c4), goro::recv(c1), goro::recv(c2));
          switch (r.index()) {
            case 0: b = r.get<0>().value_or(0); break;
            case 1: b = r.get<1>().value_or(0); break;
            case 2: b = r.get<2>().value_or(0); break;
            case 3: b = r.get<3>().value_or(0); break;
          }
        }
        auto s = co_await goro::select(goro::send(out, b), goro::recv(done));
        if (s.index() == 1) co_return;
      }
    }, c1, c2, c3, c4, out, done);
    for (int i = 0; i < trials; i++) {
      auto b = co_await out.recv();
      switch (b.value_or(0)) {
        case 1: cnt1++; break;
        case 2: cnt2++; break;
        default: unexpected++; break;
      }
    }
    EXPECT_TRUE(done.close());
    co_await wg.wait();
  });
  EXPECT_EQ(unexpected, 0) << "unexpected value on channel";
  // If the select in the goroutine is fair, cnt1 and cnt2 should be about the
  // same. With 10,000 trials, the expected margin of error at a confidence
  // level of six nines is 4.891676 / (2 * Sqrt(10000)).
  double r = static_cast<double>(cnt1) / trials;
  double e = std::abs(r - 0.5);
  EXPECT_LE(e, 4.891676 / (2 * std::sqrt(double(trials))))
      << "unfair select: in " << trials << " trials, results were " << cnt1 << ", " << cnt2;
}

TEST_P(RuntimeChan, TestChanSendInterface) {
  // Go: runtime/chan_test.go, TestChanSendInterface (a channel of a pointer
  // type; non-blocking sends on a full channel take the default).
  struct mt {};
  rt().run([]() -> goro::task<> {
    auto m = std::make_shared<mt>();
    auto c = goro::make_chan<std::shared_ptr<mt>>(1);
    auto st = co_await c.send(m);
    EXPECT_EQ(st, kSent);
    auto r1 = co_await goro::select(goro::send(c, m), goro::default_case);
    EXPECT_EQ(r1.index(), 1u);
    auto r2 = co_await goro::select(goro::send(c, m), goro::send(c, std::make_shared<mt>()),
                                    goro::default_case);
    EXPECT_EQ(r2.index(), 2u);
    EXPECT_EQ(m.use_count(), 2);  // the buffered copy; the unsent ones were dropped
    auto v = co_await c.recv();
    EXPECT_TRUE(v && *v == m);
  });
}

TEST_P(RuntimeChan, TestPseudoRandomSend) {
  // Go: runtime/chan_test.go, TestPseudoRandomSend.
  constexpr int n = 100;
  rt().run([]() -> goro::task<> {
    for (int chanCap : {0, n}) {
      auto c = goro::make_chan<int>(chanCap);
      std::vector<int> l(n);
      auto h = goro::spawn([&l](goro::receiver<int> c) -> goro::task<> {
        for (int i = 0; i < n; i++) {
          co_await goro::yield();
          auto v = co_await c.recv();
          l[i] = v.value_or(-1);
        }
      }, c);
      for (int i = 0; i < n; i++) {
        auto r = co_await goro::select(goro::send(c, 1), goro::send(c, 0));
        EXPECT_TRUE(r.index() == 0 ? r.get<0>() : r.get<1>());
      }
      co_await std::move(h);  // Go: m.Lock() // wait
      int n0 = 0, n1 = 0;
      for (int i : l) {
        n0 += (i + 1) % 2;
        n1 += i;
      }
      EXPECT_FALSE(n0 <= n / 10 || n1 <= n / 10)
          << "Want pseudorandom, got " << n0 << " zeros and " << n1 << " ones (chan cap " << chanCap << ")";
    }
  });
}

TEST_P(RuntimeChan, TestMultiConsumer) {
  // Go: runtime/chan_test.go, TestMultiConsumer.
  constexpr int nwork = 23;
  const int niter = scaled(271828);
  static constexpr int pn[] = {2, 3, 7, 11, 13, 17, 19, 23, 27, 31};
  constexpr int npn = static_cast<int>(std::size(pn));
  long expect = 0;  // written by the feeder; read after close(r) (happens-before)
  long n = 0, s = 0;
  rt().run([&]() -> goro::task<> {
    auto q = goro::make_chan<int>(nwork * 3);
    auto r = goro::make_chan<int>(nwork * 3);

    // workers
    auto wg = std::make_shared<goro::wait_group>();
    for (int i = 0; i < nwork; i++) {
      wg->go([](int w, goro::receiver<int> q, goro::sender<int> r) -> goro::task<> {
        while (auto v = co_await q.recv()) {
          // mess with the fifo-ish nature of range
          if (pn[w % npn] == *v) co_await goro::yield();
          auto st = co_await r.send(*v);
          EXPECT_EQ(st, kSent);
        }
      }, i, q, r);
    }

    // feeder & closer
    goro::go([&expect, wg](int niter, goro::sender<int> q, goro::sender<int> r) -> goro::task<> {
      for (int i = 0; i < niter; i++) {
        int v = pn[i % npn];
        expect += v;
        auto st = co_await q.send(v);
        EXPECT_EQ(st, kSent);
      }
      q.close();         // no more work
      co_await wg->wait();  // workers done
      r.close();         // ... so there can be no more results
    }, niter, q, r);

    // consume & check
    while (auto v = co_await r.recv()) {
      n++;
      s += *v;
    }
  });
  EXPECT_EQ(n, niter);
  EXPECT_EQ(s, expect) << "Expected sum " << expect << " (got " << s << ") from " << niter
                       << " iter (saw " << n << ")";
}

TEST_P(RuntimeChan, TestSelectDuplicateChannel) {
  // Go: runtime/chan_test.go, TestSelectDuplicateChannel.
  // This test makes sure we can queue a goroutine on the same channel
  // multiple times.
  goro::runtime& rtm = rt();
  rt().run([&]() -> goro::task<> {
    auto c = goro::make_chan<int>();
    auto d = goro::make_chan<int>();
    auto e = goro::make_chan<int>();

    // goroutine A
    auto a = goro::spawn([](goro::receiver<int> c, goro::receiver<int> d, goro::sender<int> e) -> goro::task<> {
      auto r = co_await goro::select(goro::recv(c), goro::recv(c), goro::recv(d));
      EXPECT_EQ(r.index(), 2u);
      auto st = co_await e.send(9);
      EXPECT_EQ(st, kSent);
    }, c, d, e);
    // Go sleeps 1ms to make sure goroutine A gets queued first on c.
    bool a_parked = co_await wait_parked(rtm, a.id());
    EXPECT_TRUE(a_parked);

    // goroutine B
    auto b = goro::spawn([](goro::receiver<int> c) -> goro::task<int> {
      auto v = co_await c.recv();
      co_return v.value_or(-1);
    }, c);
    // Go sleeps 1ms to make sure goroutine B gets queued on c before continuing.
    bool b_parked = co_await wait_parked(rtm, b.id());
    EXPECT_TRUE(b_parked);

    // Wake up A, it dequeues itself from c. This operation used to corrupt c.recvq.
    auto st = co_await d.send(7);
    EXPECT_EQ(st, kSent);
    auto nine = co_await e.recv();  // A tells us it's done
    EXPECT_EQ(nine.value_or(0), 9);
    // Wake up B. This used to fail because c.recvq was corrupted (it tried
    // to wake up an already running goroutine instead of B).
    auto st8 = co_await c.send(8);
    EXPECT_EQ(st8, kSent);
    co_await std::move(a);
    int got = co_await std::move(b);
    EXPECT_EQ(got, 8);
  });
}

}  // namespace

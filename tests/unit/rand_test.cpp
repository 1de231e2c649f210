// goro::rand: ranges, unbiasedness (chi-square with bounds far in the tail,
// so a correct generator fails them with probability < 1e-9 per check),
// distinct per-thread streams, and use from goroutines across co_await.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;
using goro_test::scaled;

namespace {

// Pearson's statistic for observed counts against equal expected counts.
double chi_square(const std::vector<long>& counts) {
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  const double expected = total / static_cast<double>(counts.size());
  double x = 0;
  for (long c : counts) {
    const double d = static_cast<double>(c) - expected;
    x += d * d / expected;
  }
  return x;
}

TEST(Rand, BoundedValuesStayInRange) {
  const std::uint64_t bounds[] = {1, 2, 3, 7, 10, 1000, (1ULL << 31) + 1, (1ULL << 63) + 1,
                                  std::numeric_limits<std::uint64_t>::max()};
  for (std::uint64_t n : bounds)
    for (int i = 0; i < 2000; ++i) ASSERT_LT(goro::rand::uint64_n(n), n) << n;
  const std::uint32_t bounds32[] = {1, 2, 3, 10, 1u << 31, (1u << 31) + 1, 0xffffffffu};
  for (std::uint32_t n : bounds32)
    for (int i = 0; i < 2000; ++i) ASSERT_LT(goro::rand::uint32_n(n), n) << n;
  for (int i = 0; i < 2000; ++i) {
    int v = goro::rand::int_n(6);
    ASSERT_GE(v, 0);
    ASSERT_LT(v, 6);
    std::int64_t w = goro::rand::int64_n(std::int64_t{1} << 40);
    ASSERT_GE(w, 0);
    ASSERT_LT(w, std::int64_t{1} << 40);
    std::size_t s = goro::rand::int_n(std::size_t{3});
    ASSERT_LT(s, 3u);
    ASSERT_GE(goro::rand::int64(), 0);
    ASSERT_GE(goro::rand::int32(), 0);
    auto d = goro::rand::n(100ms);
    ASSERT_GE(d, 0ms);
    ASSERT_LT(d, 100ms);
    double f = goro::rand::float64();
    ASSERT_GE(f, 0.0);
    ASSERT_LT(f, 1.0);
    float g = goro::rand::float32();
    ASSERT_GE(g, 0.0f);
    ASSERT_LT(g, 1.0f);
    ASSERT_GE(goro::rand::exp_float64(), 0.0);
  }
  EXPECT_EQ(goro::rand::int_n(1), 0);
}

TEST(Rand, EveryBitVaries) {
  std::uint64_t any = 0, all = ~std::uint64_t{0};
  std::uint32_t any32 = 0, all32 = ~std::uint32_t{0};
  for (int i = 0; i < 512; ++i) {
    std::uint64_t v = goro::rand::uint64();
    any |= v;
    all &= v;
    std::uint32_t w = goro::rand::uint32();
    any32 |= w;
    all32 &= w;
  }
  EXPECT_EQ(any, ~std::uint64_t{0});
  EXPECT_EQ(all, 0u);
  EXPECT_EQ(any32, ~std::uint32_t{0});
  EXPECT_EQ(all32, 0u);
}

// 9 degrees of freedom: P(chi2 > 70) < 1e-10.
TEST(Rand, IntNIsUniform) {
  const int n = scaled(1'000'000);
  std::vector<long> counts(10);
  for (int i = 0; i < n; ++i) ++counts[static_cast<std::size_t>(goro::rand::int_n(10))];
  EXPECT_LT(chi_square(counts), 70.0);

  std::vector<long> fcounts(10);
  for (int i = 0; i < n; ++i) ++fcounts[static_cast<std::size_t>(goro::rand::float64() * 10)];
  EXPECT_LT(chi_square(fcounts), 70.0);
}

// A bound of 3 * 2^62 (3 * 2^30) is where a modulo reduction is most biased:
// the lowest third would get half of the values. Counted by thirds, Lemire's
// method must be uniform. 2 degrees of freedom: P(chi2 > 50) = e^-25.
TEST(Rand, LargeBoundsAreUnbiased) {
  const int n = scaled(600'000);
  const std::uint64_t third64 = std::uint64_t{1} << 62;
  const std::uint32_t third32 = std::uint32_t{1} << 30;
  std::vector<long> c64(3), c32(3), ci(3);
  for (int i = 0; i < n; ++i) {
    ++c64[goro::rand::uint64_n(3 * third64) / third64];
    ++c32[goro::rand::uint32_n(3 * third32) / third32];
    ++ci[static_cast<std::size_t>(goro::rand::int_n(std::int64_t{3} << 61) >> 61)];
  }
  EXPECT_LT(chi_square(c64), 50.0);
  EXPECT_LT(chi_square(c32), 50.0);
  EXPECT_LT(chi_square(ci), 50.0);
}

// All 6 orders of 3 elements, equally often (5 degrees of freedom:
// P(chi2 > 60) < 1e-11), for each shuffle form.
TEST(Rand, ShufflesAreUniform) {
  const int n = scaled(300'000);
  std::map<std::vector<int>, long> by_iter, by_swap, by_perm;
  for (int i = 0; i < n; ++i) {
    std::vector<int> v{0, 1, 2};
    goro::rand::shuffle(v.begin(), v.end());
    ++by_iter[v];
    std::vector<int> w{0, 1, 2};
    goro::rand::shuffle(3, [&w](int a, int b) {
      std::swap(w[static_cast<std::size_t>(a)], w[static_cast<std::size_t>(b)]);
    });
    ++by_swap[w];
    ++by_perm[goro::rand::perm(3)];
  }
  for (auto* m : {&by_iter, &by_swap, &by_perm}) {
    ASSERT_EQ(m->size(), 6u);
    std::vector<long> counts;
    for (auto& [order, c] : *m) counts.push_back(c);
    EXPECT_LT(chi_square(counts), 60.0);
  }
}

TEST(Rand, PermIsAPermutation) {
  for (int n : {0, 1, 2, 10, 1000}) {
    auto p = goro::rand::perm(n);
    ASSERT_EQ(p.size(), static_cast<std::size_t>(n));
    std::sort(p.begin(), p.end());
    for (int i = 0; i < n; ++i) ASSERT_EQ(p[static_cast<std::size_t>(i)], i);
  }
  std::vector<int> empty;
  goro::rand::shuffle(empty.begin(), empty.end());
  goro::rand::shuffle(0, [](int, int) { ADD_FAILURE() << "swap called for n = 0"; });
}

// Mean and variance within 0.05 (at least 15 standard errors at the
// sanitizer scale).
TEST(Rand, NormalAndExponentialMoments) {
  const int n = scaled(1'000'000);
  double s = 0, s2 = 0, e = 0;
  for (int i = 0; i < n; ++i) {
    double x = goro::rand::norm_float64();
    ASSERT_TRUE(std::isfinite(x));
    s += x;
    s2 += x * x;
    e += goro::rand::exp_float64();
  }
  EXPECT_NEAR(s / n, 0.0, 0.05);
  EXPECT_NEAR(s2 / n, 1.0, 0.05);
  EXPECT_NEAR(e / n, 1.0, 0.05);
}

TEST(Rand, SourceWorksWithStandardDistributions) {
  static_assert(std::uniform_random_bit_generator<goro::rand::source>);
  goro::rand::source src;
  std::uniform_int_distribution<int> die(1, 6);
  std::vector<long> counts(6);
  const int n = scaled(600'000);
  for (int i = 0; i < n; ++i) {
    int v = die(src);
    ASSERT_GE(v, 1);
    ASSERT_LE(v, 6);
    ++counts[static_cast<std::size_t>(v - 1)];
  }
  EXPECT_LT(chi_square(counts), 60.0);  // 5 degrees of freedom
  std::vector<int> v(100);
  std::iota(v.begin(), v.end(), 0);
  std::shuffle(v.begin(), v.end(), src);
  EXPECT_TRUE(std::is_permutation(v.begin(), v.end(), std::vector<int>(v).begin()));
}

// Threads get distinct seeds: the first values of 32 threads never repeat
// (a repeat among 256 64-bit values has probability ~2^-49).
TEST(Rand, ThreadsHaveDistinctStreams) {
  constexpr int kThreads = 32, kPer = 8;
  std::vector<std::array<std::uint64_t, kPer>> first(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&first, t] {
      for (auto& v : first[static_cast<std::size_t>(t)]) v = goro::rand::uint64();
    });
  for (auto& t : ts) t.join();
  std::set<std::uint64_t> seen;
  for (auto& a : first) seen.insert(a.begin(), a.end());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPer));
}

class RandGoroutines : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(RandGoroutines);

// Goroutines draw before and after each suspension; every draw must read the
// state of the worker the goroutine runs on at that moment (TSan reports it
// otherwise), and the values stay in range.
TEST_P(RandGoroutines, UsableAcrossCoAwait) {
  const int goroutines = 32, rounds = scaled(2'000);
  std::vector<goro::join_handle<long>> hs;
  for (int g = 0; g < goroutines; ++g)
    hs.push_back(rt().spawn([rounds = rounds]() -> goro::task<long> {
      goro::rand::source src;
      std::uniform_int_distribution<int> pick(0, 9);
      long bad = 0;
      for (int i = 0; i < rounds; ++i) {
        int a = goro::rand::int_n(10);
        co_await goro::yield();
        int b = pick(src);
        if (i % 64 == 0) co_await goro::sleep_for(goro::rand::n(50us));
        double f = goro::rand::float64();
        if (a < 0 || a >= 10 || b < 0 || b >= 10 || f < 0 || f >= 1) ++bad;
      }
      co_return bad;
    }));
  for (auto& h : hs) EXPECT_EQ(std::move(h).join(), 0);
}

}  // namespace

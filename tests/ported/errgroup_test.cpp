// Ported from golang.org/x/sync/errgroup/errgroup_test.go (x/sync 0.1.0).
//
// Each TEST_P is named after the Go test or example it ports and runs under
// 1, 2 and 8 workers. Go's errors.New values become goro::error::of(...)
// (compared by identity, like Go's error values); g.Go(f) becomes g.go(f),
// with `co_await g.ready()` before it where Go relies on g.Go blocking at
// the limit; time.Sleep as "work" becomes a yield.
//
// Not ported here:
//  * ExampleGroup_pipeline (errgroup_example_md5all_test.go) — it walks a
//    directory tree and needs MD5; the bounded md5all pipeline is a workload
//    of its own (the patterns issue).
//  * BenchmarkGo — benchmarks live in bench/ (bench/errgroup.cpp and its Go
//    twin bench/go/errgroup).
#include <atomic>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <goro/sync/errgroup.hpp>

#include "goro_test.hpp"

namespace {

class Errgroup : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Errgroup);

goro::error new_error(const char* text) { return goro::error::of(std::runtime_error(text)); }

// ---- examples ----------------------------------------------------------------------

using Result = std::string;
using Search = goro::task<std::pair<Result, goro::error>> (*)(goro::context, std::string);

// fakeSearch("web") etc.
template <const char* Kind>
goro::task<std::pair<Result, goro::error>> fake_search(goro::context, std::string query) {
  co_return std::pair<Result, goro::error>(std::string(Kind) + " result for \"" + query + "\"",
                                           goro::error());
}
constexpr char kWeb[] = "web";
constexpr char kImage[] = "image";
constexpr char kVideo[] = "video";

// JustErrors: a Group in place of a sync.WaitGroup. http.Get is faked: the
// made-up host fails, as it would on the network.
TEST_P(Errgroup, ExampleGroup_justErrors) {
  const goro::error unknown_host = new_error("dial tcp: lookup www.somestupidname.com: no such host");
  goro::error err = rt().run([&]() -> goro::task<goro::error> {
    goro::errgroup g;
    std::vector<std::string> urls = {
        "http://www.golang.org/",
        "http://www.google.com/",
        "http://www.somestupidname.com/",
    };
    for (const std::string& url : urls) {
      // Launch a goroutine to fetch the URL.
      g.go([url, unknown_host]() -> goro::task<goro::error> {
        co_await goro::yield();  // the fetch
        if (url.find("somestupidname") != std::string::npos) co_return unknown_host;
        co_return goro::error();
      });
    }
    // Wait for all HTTP fetches to complete.
    goro::error e = co_await g.wait();
    co_return e;
  });
  EXPECT_EQ(err, unknown_host) << "Successfully fetched all URLs.";
}

// Parallel: "Google Search 2.0" with a Context and error handling.
goro::task<std::pair<std::vector<Result>, goro::error>> Google(goro::context parent,
                                                                std::string query) {
  auto [g, ctx] = goro::errgroup::with_context(parent);
  const std::vector<Search> searches = {&fake_search<kWeb>, &fake_search<kImage>,
                                        &fake_search<kVideo>};
  std::vector<Result> results(searches.size());
  for (std::size_t i = 0; i < searches.size(); ++i) {
    g.go([&results, i, search = searches[i], c = ctx, query]() -> goro::task<goro::error> {
      auto [result, err] = co_await search(c, query);
      if (!err) results[i] = result;
      co_return err;
    });
  }
  goro::error err = co_await g.wait();
  if (err) co_return std::pair<std::vector<Result>, goro::error>({}, err);
  co_return std::pair<std::vector<Result>, goro::error>(std::move(results), goro::error());
}

TEST_P(Errgroup, ExampleGroup_parallel) {
  auto [results, err] = rt().run(Google, goro::background(), std::string("golang"));
  EXPECT_FALSE(err);
  const std::vector<Result> want = {
      "web result for \"golang\"",
      "image result for \"golang\"",
      "video result for \"golang\"",
  };
  EXPECT_EQ(results, want);
}

// ---- tests ---------------------------------------------------------------------------

TEST_P(Errgroup, TestZeroGroup) {
  const goro::error err1 = new_error("errgroup_test: 1");
  const goro::error err2 = new_error("errgroup_test: 2");
  const std::vector<std::vector<goro::error>> cases = {
      {},
      {goro::error()},
      {err1},
      {err1, goro::error()},
      {err1, goro::error(), err2},
  };
  rt().run([&]() -> goro::task<> {
    for (const auto& errs : cases) {
      goro::errgroup g;
      goro::error first_err;
      for (std::size_t i = 0; i < errs.size(); ++i) {
        goro::error err = errs[i];
        g.go([err] { return err; });
        if (!first_err && err) first_err = err;
        goro::error g_err = co_await g.wait();
        EXPECT_EQ(g_err, first_err) << "after g.go(return err) for err #" << i << ": g.wait() = "
                                    << g_err.message() << "; want " << first_err.message();
      }
    }
  });
}

TEST_P(Errgroup, TestWithContext) {
  const goro::error err_doom = new_error("group_test: doomed");
  struct test_case {
    std::vector<goro::error> errs;
    goro::error want;
  };
  const std::vector<test_case> cases = {
      {{}, goro::error()},
      {{goro::error()}, goro::error()},
      {{err_doom}, err_doom},
      {{err_doom, goro::error()}, err_doom},
  };
  rt().run([&]() -> goro::task<> {
    for (const test_case& tc : cases) {
      auto eg = goro::errgroup::with_context(goro::background());
      for (const goro::error& err : tc.errs) eg.group.go([err] { return err; });
      goro::error err = co_await eg.group.wait();
      EXPECT_EQ(err, tc.want) << "g.wait() = " << err.message() << "; want " << tc.want.message();
      auto r = co_await goro::select(goro::recv(eg.ctx.done()), goro::default_case);
      EXPECT_EQ(r.index(), 0u) << "after g.go(return err) for " << tc.errs.size()
                               << " errs: ctx.done() was not closed";
    }
  });
}

TEST_P(Errgroup, TestTryGo) {
  rt().run([&]() -> goro::task<> {
    goro::errgroup g;
    const int n = 42;
    g.set_limit(42);
    auto ch = goro::make_chan<void>();
    auto fn = [ch]() -> goro::task<goro::error> {
      (void)co_await ch.send();
      co_return goro::error();
    };
    for (int i = 0; i < n; i++) {
      EXPECT_TRUE(g.try_go(fn)) << "TryGo should succeed but got fail at " << i << "-th call.";
    }
    EXPECT_FALSE(g.try_go(fn)) << "TryGo is expected to fail but succeeded.";
    goro::go([ch]() -> goro::task<> {
      for (int i = 0; i < n; i++) (void)co_await ch.recv();
    });
    (void)co_await g.wait();

    EXPECT_TRUE(g.try_go(fn)) << "TryGo should success but got fail after all goroutines.";
    goro::go([ch]() -> goro::task<> { (void)co_await ch.recv(); });
    (void)co_await g.wait();

    // Switch limit.
    g.set_limit(1);
    EXPECT_TRUE(g.try_go(fn)) << "TryGo should success but got failed.";
    EXPECT_FALSE(g.try_go(fn)) << "TryGo should fail but succeeded.";
    goro::go([ch]() -> goro::task<> { (void)co_await ch.recv(); });
    (void)co_await g.wait();

    // Block all calls.
    g.set_limit(0);
    for (int i = 0; i < 1 << 10; i++) {
      if (g.try_go(fn)) {
        ADD_FAILURE() << "TryGo should fail but got succeded.";
        break;
      }
    }
    (void)co_await g.wait();
  });
}

TEST_P(Errgroup, TestGoLimit) {
  static constexpr int limit = 10;
  goro::error err = rt().run([&]() -> goro::task<goro::error> {
    goro::errgroup g;
    g.set_limit(limit);
    std::atomic<int> active{0};
    for (int i = 0; i <= 1 << 10; i++) {
      co_await g.ready();  // Go's g.Go blocks here while `limit` are active
      g.go([&active]() -> goro::task<goro::error> {
        int n = active.fetch_add(1) + 1;
        if (n > limit)
          co_return new_error(("saw " + std::to_string(n) + " active goroutines; want <= " +
                               std::to_string(limit)).c_str());
        co_await goro::yield();  // Give other goroutines a chance to increment active.
        active.fetch_sub(1);
        co_return goro::error();
      });
    }
    goro::error e = co_await g.wait();
    co_return e;
  });
  EXPECT_FALSE(err) << err.message();
}

}  // namespace

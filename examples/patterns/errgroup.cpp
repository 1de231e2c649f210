// Pattern: errgroup (concurrent operations with error handling). The Go
// guides fetch a list of URLs with golang.org/x/sync/errgroup: each fetch
// runs in g.Go, writes its own slot of a results slice, and the first error
// cancels the group's context, which the other fetches see:
//
//   g, ctx := errgroup.WithContext(ctx)
//   results := make([]string, len(urls))
//   for i, url := range urls {
//       i, url := i, url                        // capture loop variables
//       g.Go(func() error { ...; results[i] = fmt.Sprintf("%s: %d", url, resp.StatusCode); return nil })
//   }
//   if err := g.Wait(); err != nil { return nil, err }
//
// and the same with g.SetLimit(limit). In goro the lambda's captures are
// copied into the goroutine, so there is no loop variable to re-declare.
#include <atomic>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "example.hpp"

namespace {

// An HTTP GET, simulated: a few ms, or a refusal for a "bad" host. It stops
// when ctx is done, as http.NewRequestWithContext does.
goro::task<std::pair<int, goro::error>> http_get(goro::context ctx, std::string url) {
  if (url.find("bad") != std::string::npos) {
    co_await goro::sleep_for(1ms);
    co_return std::pair{0, goro::error::of(std::runtime_error("GET " + url + ": connection refused"))};
  }
  std::error_code ec = co_await goro::sleep_for(ctx, url.find("slow") != std::string::npos ? 1h : 2ms);
  co_return std::pair{ec ? 0 : 200, goro::error(ec)};
}

struct fetched {
  std::vector<std::string> results;
  goro::error err;
};

goro::task<fetched> fetch_all(goro::context parent, std::vector<std::string> urls, int limit) {
  goro::errgroup g(parent);  // Go: g, ctx := errgroup.WithContext(parent)
  goro::context ctx = g.context();
  if (limit > 0) g.set_limit(limit);
  fetched out;
  out.results.resize(urls.size());
  for (std::size_t i = 0; i < urls.size(); ++i) {
    co_await g.ready();  // with a limit: park while `limit` fetches run (Go's g.Go blocks)
    std::string* slot = &out.results[i];  // each goroutine writes its own slot
    g.go([ctx, url = urls[i], slot]() -> goro::task<goro::error> {
      auto [status, err] = co_await http_get(ctx, url);
      if (err) co_return err;
      *slot = url + ": " + std::to_string(status);
      co_return goro::error();
    });
  }
  out.err = co_await g.wait();  // every fetch has returned; the first error, if any
  co_return out;
}

}  // namespace

goro::task<> goro_examples::errgroup() {
  // Each call is named before the co_await: no temporaries inside it (GCC 12).
  goro::task<fetched> ta = fetch_all(goro::background(), {"a.example", "b.example", "c.example"}, 0);
  fetched a = co_await std::move(ta);
  say("3 fetches: %s, %s, %s", a.results[0].c_str(), a.results[1].c_str(), a.results[2].c_str());
  CHECK(!a.err && a.results[2] == "c.example: 200");

  goro::task<fetched> tb =
      fetch_all(goro::background(), {"slow-1.example", "bad.example", "slow-2.example"}, 0);
  fetched b = co_await std::move(tb);
  say("one fails: Wait() = \"%s\"; the 2 slow fetches were cancelled",
      b.err.message().c_str());
  CHECK(b.err.message() == "GET bad.example: connection refused");

  std::vector<std::string> many;
  for (int i = 0; i < 8; ++i) many.push_back("host-" + std::to_string(i) + ".example");
  goro::task<fetched> tc = fetch_all(goro::background(), many, 2);
  fetched c = co_await std::move(tc);
  say("SetLimit(2): 8 fetches, 2 at a time: %s ... %s", c.results.front().c_str(),
      c.results.back().c_str());
  CHECK(!c.err && c.results[7] == "host-7.example: 200");
}

GORO_EXAMPLE_MAIN(errgroup)

// errgroup_snippets — every goro snippet of docs/guide/errgroup.md, compiled
// against the current headers and run.
//
// Each snippet is a function named after its section in the guide (the guide
// cites the name). The functions hold the snippet as the guide shows it, plus
// the few lines that check what it did. main() runs them all through run_all()
// of snippets.hpp (the shared scaffolding), which checks after each one that
// every goroutine it started has returned, and prints one line per snippet.
// Nothing here synchronises with a sleep; the "network" is a set of fake
// functions that yield instead of doing I/O.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <goro/goro.hpp>

#include "snippets.hpp"

using namespace std::chrono_literals;

namespace {

// ---- scaffolding (not part of any snippet) ---------------------------------------

// CHECK, rt() and the snippet table entry come from snippets.hpp.
using goro_snippets::rt;
using goro_snippets::snippet;

// A fake HTTP client: "GET url" yields (the I/O) and answers 200, except for
// hosts named "bad" (an error) and when ctx is already cancelled.
struct response {
  int status = 0;
};
goro::task<std::pair<response, goro::error>> http_get(goro::context ctx, std::string url) {
  co_await goro::yield();
  if (ctx.err()) co_return std::pair<response, goro::error>({}, ctx.err());
  if (url.find("bad") != std::string::npos)
    co_return std::pair<response, goro::error>({}, std::make_error_code(std::errc::host_unreachable));
  co_return std::pair<response, goro::error>({200}, goro::error());
}

// =================================================================================
// 1. errgroup
// =================================================================================

// §1.1 seed 003 Pattern 5 fetchAllURLs: WithContext, one goroutine per URL.
goro::task<std::pair<std::vector<std::string>, goro::error>> fetch_all_urls(
    goro::context parent, std::vector<std::string> urls) {
  goro::errgroup g(parent);  // g, ctx := errgroup.WithContext(ctx)
  goro::context ctx = g.context();

  std::vector<std::string> results(urls.size());
  for (std::size_t i = 0; i < urls.size(); ++i) {
    g.go([&results, i, url = urls[i], ctx]() -> goro::task<goro::error> {
      auto [resp, err] = co_await http_get(ctx, url);
      if (err) co_return err;  // Go wraps it: fmt.Errorf("fetching %s: %w", url, err)
      results[i] = url + ": " + std::to_string(resp.status);
      co_return goro::error();
    });
  }
  // Wait for all goroutines; first error cancels all others
  goro::error err = co_await g.wait();
  if (err) co_return std::pair{std::vector<std::string>{}, err};
  co_return std::pair{std::move(results), goro::error()};
}

std::string fetch_all() {
  auto [ok, err] = goro::run(fetch_all_urls, goro::background(),
                             std::vector<std::string>{"https://a.example", "https://b.example"});
  CHECK(!err && ok.size() == 2 && ok[1] == "https://b.example: 200");
  auto [none, err2] = goro::run(fetch_all_urls, goro::background(),
                                std::vector<std::string>{"https://a.example", "https://bad.example"});
  CHECK(none.empty() && err2 == std::errc::host_unreachable);
  return "2 URLs -> 200 200; with a bad host -> " + err2.message();
}

// §1.2 seed 003 Pattern 5 fetchWithLimit: SetLimit. go() never waits; co_await
// g.ready() parks while `limit` goroutines are active, which is Go's g.Go.
goro::task<std::pair<std::vector<int>, goro::error>> fetch_with_limit(
    goro::context parent, std::vector<std::string> urls, int limit) {
  auto [g, ctx] = goro::errgroup::with_context(parent);
  g.set_limit(limit);  // Max concurrent goroutines

  std::vector<int> results(urls.size());
  auto active = std::make_shared<std::atomic<int>>(0);
  auto peak = std::make_shared<std::atomic<int>>(0);
  for (std::size_t i = 0; i < urls.size(); ++i) {
    co_await g.ready();  // backpressure, as Go's g.Go blocks
    g.go([&results, i, url = urls[i], c = ctx, active, peak]() -> goro::task<goro::error> {
      int now = active->fetch_add(1) + 1;
      if (now > peak->load()) peak->store(now);  // good enough for a demo
      auto [resp, err] = co_await http_get(c, url);
      active->fetch_sub(1);
      results[i] = resp.status;
      co_return err;
    });
  }
  goro::error err = co_await g.wait();
  CHECK(peak->load() <= limit);
  co_return std::pair{std::move(results), err};
}

std::string fetch_limited() {
  std::vector<std::string> urls(20, "https://example.com/x");
  auto [codes, err] = goro::run(fetch_with_limit, goro::background(), urls, 3);
  CHECK(!err && codes.size() == 20 && codes[19] == 200);
  return "20 URLs, limit 3 -> all 200";
}

// §1.3 x/sync ExampleGroup_justErrors, seed 000 "ErrorGroup": a zero group is a
// WaitGroup that keeps the first error (no context).
goro::task<std::string> just_errors_body() {
  goro::errgroup g;  // g := new(errgroup.Group)
  std::vector<std::string> urls = {"http://www.golang.org/", "http://www.google.com/",
                                   "http://www.bad.example/"};
  for (const std::string& url : urls) {
    g.go([url]() -> goro::task<goro::error> {  // url is copied into the goroutine
      auto [resp, err] = co_await http_get(goro::background(), url);
      co_return err;
    });
  }
  goro::error err = co_await g.wait();
  if (!err) co_return "Successfully fetched all URLs.";
  co_return "first error: " + err.message();
}
std::string just_errors() {
  std::string s = goro::run(just_errors_body);
  CHECK(s.rfind("first error: ", 0) == 0);
  return s;
}

// =================================================================================
// 2. errgroup in the seed 004 patterns
// =================================================================================

// §2.1 seed 004 Pattern 1: Start runs two services until one fails.
struct Server {
  goro::task<goro::error> serve(goro::context ctx) {
    (void)co_await ctx.done().recv();  // serves until cancelled
    co_return ctx.err();
  }
  goro::task<goro::error> process_queue(goro::context /*ctx*/) {
    co_await goro::yield();
    co_return std::make_error_code(std::errc::connection_reset);  // the queue broke
  }
  goro::task<goro::error> start(goro::context parent) {
    auto [g, ctx] = goro::errgroup::with_context(parent);
    g.go([this, c = ctx] { return serve(c); });
    g.go([this, c = ctx] { return process_queue(c); });
    goro::error err = co_await g.wait();
    co_return err;
  }
};
goro::task<std::string> server_start_body() {
  Server s;
  goro::error err = co_await s.start(goro::background());
  CHECK(err == std::errc::connection_reset);  // the queue's error; serve was cancelled
  co_return "start -> " + err.message() + " (serve cancelled)";
}
std::string server_start() { return goro::run(server_start_body); }

// §2.2 seed 004 Pattern 2: worker pool with errgroup.
struct Item {
  int id = 0;
};
goro::task<goro::error> process(goro::context ctx, Item item, std::atomic<int>* done) {
  co_await goro::yield();
  if (item.id == -1) co_return std::make_error_code(std::errc::invalid_argument);
  done->fetch_add(1);
  co_return ctx.err();
}

goro::task<goro::error> process_items(goro::context parent, std::vector<Item> items, int workers,
                                      std::atomic<int>* done) {
  auto [g, ctx] = goro::errgroup::with_context(parent);
  auto work = goro::make_chan<Item>();

  // Fan-out: start workers
  for (int w = 0; w < workers; ++w) {
    g.go([work, c = ctx, done]() -> goro::task<goro::error> {
      while (auto item = co_await work.recv()) {  // for item := range work
        goro::error err = co_await process(c, *item, done);
        if (err) co_return err;
      }
      co_return goro::error();
    });
  }

  // Fan-in: send work
  g.go([work, c = ctx, items = std::move(items)]() -> goro::task<goro::error> {
    struct closer {
      goro::chan<Item> ch;
      ~closer() { ch.close(); }  // defer close(work)
    } defer{work};
    for (const Item& item : items) {
      goro::send_status st = co_await work.send(c, item);  // select with <-ctx.Done()
      if (st == goro::send_status::canceled) co_return c.err();
    }
    co_return goro::error();
  });

  goro::error err = co_await g.wait();
  co_return err;
}

std::string worker_pool() {
  std::atomic<int> done{0};
  std::vector<Item> items;
  for (int i = 0; i < 100; ++i) items.push_back({i});
  goro::error err = goro::run(process_items, goro::background(), items, 4, &done);
  CHECK(!err && done.load() == 100);
  items[50].id = -1;  // one bad item: the pool stops early
  std::atomic<int> done2{0};
  goro::error err2 = goro::run(process_items, goro::background(), items, 4, &done2);
  CHECK(err2 == std::errc::invalid_argument && done2.load() < 100);
  return "100 items -> ok; with a bad one -> " + err2.message() + " after " +
         std::to_string(done2.load());
}

// §2.3 seed 004 Pattern 3: FetchAll, fan-out / fan-in into a results slice.
using Result = std::string;
goro::task<std::pair<Result, goro::error>> fetch(goro::context ctx, std::string url) {
  auto [resp, err] = co_await http_get(ctx, url);
  co_return std::pair<Result, goro::error>(url + " " + std::to_string(resp.status), err);
}

goro::task<std::pair<std::vector<Result>, goro::error>> FetchAll(goro::context parent,
                                                                 std::vector<std::string> urls) {
  std::vector<Result> results(urls.size());
  goro::errgroup g(parent);
  for (std::size_t i = 0; i < urls.size(); ++i) {
    g.go([&results, i, url = urls[i], ctx = g.context()]() -> goro::task<goro::error> {
      auto [res, err] = co_await fetch(ctx, url);
      if (err) co_return err;
      results[i] = res;  // Safe: each goroutine writes to a unique index
      co_return goro::error();
    });
  }
  goro::error err = co_await g.wait();
  if (err) co_return std::pair{std::vector<Result>{}, err};
  co_return std::pair{std::move(results), goro::error()};
}
std::string fetch_all_fan_in() {
  auto [r, err] = goro::run(FetchAll, goro::background(),
                            std::vector<std::string>{"u1", "u2", "u3"});
  CHECK(!err && r.size() == 3 && r[2] == "u3 200");
  return "3 URLs -> " + r[0] + ", " + r[1] + ", " + r[2];
}

// =================================================================================
// 3. Exceptions, plain threads
// =================================================================================

// §3.1 An exception escaping f cancels the context and is rethrown by wait().
goro::task<std::string> exceptions_body() {
  auto [g, ctx] = goro::errgroup::with_context(goro::background());
  g.go([]() -> goro::task<> {
    co_await goro::yield();
    throw std::runtime_error("parse error in row 17");
  });
  g.go([c = ctx]() -> goro::task<goro::error> {
    (void)co_await c.done().recv();  // cancelled by the exception
    co_return c.err();
  });
  std::string what;
  try {
    (void)co_await g.wait();
  } catch (const std::exception& e) {
    what = e.what();
  }
  CHECK(what == "parse error in row 17");
  CHECK(goro::cause(ctx).message() == what);
  co_return "wait() rethrew: " + what;
}
std::string exceptions() { return goro::run(exceptions_body); }

// §3.2 From plain threads: blocking_go blocks at the limit (Go's g.Go exactly).
std::string plain_threads() {
  std::atomic<int> sum{0};
  goro::errgroup g;
  g.set_limit(2);
  for (int i = 1; i <= 10; ++i) g.blocking_go([&sum, i] { sum += i; });
  goro::error err = g.blocking_wait();
  CHECK(!err && sum.load() == 55);
  return "blocking_go x10, limit 2 -> sum 55";
}

// §3.3 try_go: start only if there is room now.
goro::task<std::string> try_go_body() {
  goro::errgroup g;
  g.set_limit(1);
  auto release = goro::make_chan<void>();
  bool first = g.try_go([release]() -> goro::task<> { (void)co_await release.recv(); });
  bool second = g.try_go([] {});  // the only slot is taken
  release.close();
  (void)co_await g.wait();
  CHECK(first && !second);
  co_return "try_go -> true, then false at the limit";
}
std::string try_go() { return goro::run(try_go_body); }

// =================================================================================
// 4. Query racing with the losers cancelled
// =================================================================================

// §4.1 seed 003 Pattern 7, plus cancellation: the first answer cancels the rest.
// (Fake servers: connection 1 answers; the others are slow and only notice
// that the race is over.)
struct Conn {
  int id;
  goro::task<std::pair<std::string, goro::error>> do_query(goro::context ctx, std::string q) const {
    if (id != 1) {
      (void)co_await ctx.done().recv();
      co_return std::pair<std::string, goro::error>({}, ctx.err());
    }
    co_await goro::yield();
    co_return std::pair<std::string, goro::error>("conn " + std::to_string(id) + ": " + q, {});
  }
};

goro::task<std::string> Query(goro::context parent, std::vector<Conn> conns, std::string query) {
  auto [ctx, cancel] = goro::with_cancel(parent);
  goro::errgroup g(ctx);
  auto ch = goro::make_chan<std::string>(1);  // buffer: the winner never blocks
  for (const Conn& conn : conns) {
    g.go([conn, c = g.context(), query, ch]() -> goro::task<> {
      auto [r, err] = co_await conn.do_query(c, query);
      if (!err) (void)ch.try_send(std::move(r));  // select { case ch <- r: default: }
    });
  }
  auto first = co_await ch.recv();
  cancel();                // the losers see ctx.err() and stop early
  (void)co_await g.wait();  // and none outlives Query
  co_return first.value_or("");
}
std::string query_racing() {
  std::string r = goro::run(Query, goro::background(), std::vector<Conn>{{3}, {1}, {2}},
                            std::string("SELECT 1"));
  CHECK(r == "conn 1: SELECT 1");
  return r;
}

// =================================================================================
// 5. singleflight
// =================================================================================

// §5.1 Suppress duplicate loads of one key (a cache stampede).
struct User {
  std::string name;
};
struct Store {
  std::atomic<int> loads{0};
  goro::task<User> load(std::string id) {
    loads.fetch_add(1);
    co_await goro::yield();  // the database round trip
    co_await goro::yield();
    co_return User{"user " + id};
  }
};

goro::task<std::string> dedupe_body() {
  Store db;
  goro::singleflight::group<std::string, User> g;  // var g singleflight.Group
  std::atomic<int> shared{0};
  goro::wait_group wg;
  for (int i = 0; i < 10; ++i)
    wg.go([&db, &g, &shared]() -> goro::task<> {
      std::string id = "42";
      auto load = [&db, id] { return db.load(id); };  // named: GCC 12 (guide §6)
      goro::singleflight::result<User> r = co_await g.call(id, load);
      CHECK(r.value.name == "user 42");
      if (r.shared) shared.fetch_add(1);
    });
  co_await wg.wait();
  CHECK(db.loads.load() >= 1 && db.loads.load() <= 10);
  co_return "10 callers -> " + std::to_string(db.loads.load()) + " load(s), " +
      std::to_string(shared.load()) + " shared";
}
std::string dedupe() { return goro::run(dedupe_body); }

// §5.2 call_chan: wait for the shared call, or give up with ctx.
using loader = std::function<goro::task<int>()>;
goro::task<std::pair<int, goro::error>> get_or_give_up(goro::singleflight::group<std::string, int>& g,
                                                      goro::context ctx, loader slow) {
  auto ch = g.call_chan("slow", slow);
  auto r = co_await goro::select(goro::recv(ch), goro::recv(ctx.done()));
  if (r.index() == 1) {
    g.forget("slow");  // the next caller starts afresh
    co_return std::pair<int, goro::error>(0, ctx.err());
  }
  auto res = r.get<0>().value();  // (never closed: always a value)
  co_return std::pair<int, goro::error>(res.value, res.err);
}

goro::task<std::string> call_chan_body() {
  goro::singleflight::group<std::string, int> g;
  auto never = goro::make_chan<void>();
  loader slow = [never]() -> goro::task<int> {
    (void)co_await never.recv();  // until released below
    co_return 1;
  };
  goro::context ctx;
  {
    auto [c, cancel] = goro::with_timeout(goro::background(), 5s);
    ctx = c;
  }  // cancel: the caller gives up (a timeout in real code)
  auto [v, err] = co_await get_or_give_up(g, ctx, slow);
  CHECK(v == 0 && err == goro::canceled);
  never.close();  // let the abandoned call finish: it still delivers to its channel
  auto [v2, err2] = co_await get_or_give_up(g, goro::background(), slow);
  CHECK(v2 == 1 && !err2);
  co_return "gave up on the shared call: " + err.message() + "; a new call -> 1";
}
std::string call_chan() { return goro::run(call_chan_body); }

// ---- the table main() runs ---------------------------------------------------------

const snippet kSnippets[] = {
    {"fetch_all", fetch_all},
    {"fetch_limited", fetch_limited},
    {"just_errors", just_errors},
    {"server_start", server_start},
    {"worker_pool", worker_pool},
    {"fetch_all_fan_in", fetch_all_fan_in},
    {"exceptions", exceptions},
    {"plain_threads", plain_threads},
    {"try_go", try_go},
    {"query_racing", query_racing},
    {"dedupe", dedupe},
    {"call_chan", call_chan},
};

}  // namespace

int main() { return goro_snippets::run_all("errgroup_snippets", kSnippets, {.name_width = 18}); }

// context_snippets — every goro snippet of docs/guide/context.md, compiled
// against the current headers and run.
//
// Each snippet is a function named after its section in the guide (the guide
// cites the name). The functions hold the snippet as the guide shows it, plus
// the few lines that check what it did. main() runs them all through run_all()
// of snippets.hpp (the shared scaffolding), which checks after each one that
// every goroutine it started has returned and that no timer is left armed, and
// prints one line per snippet. Nothing here synchronises with a sleep: sleeps
// only stand in for slow work.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <goro/goro.hpp>

#include "snippets.hpp"

using namespace std::chrono_literals;

namespace {

// ---- scaffolding (not part of any snippet) ---------------------------------------

// CHECK, rt() and the snippet table entry come from snippets.hpp.
using goro_snippets::rt;
using goro_snippets::snippet;

std::string str(long v) { return std::to_string(v); }

struct Item {
  int id = 0;
};
struct Job {
  int id = 0;
  std::string data;
};
struct Result {
  int job_id = 0;
  std::string output;
};

// Closes a channel when the scope ends: Go's `defer close(out)`.
template <class T>
struct close_on_exit {
  goro::sender<T> ch;
  ~close_on_exit() { ch.close(); }
};

// =================================================================================
// 1. Creating contexts
// =================================================================================

// §1.1 Background, TODO, WithCancel, WithTimeout, WithDeadline, WithValue (002, 003)
inline constexpr goro::context_key<std::string> key_request_id{"request_id"};

goro::task<std::string> creating_body() {
  goro::context ctx = goro::background();  // main / init / tests
  goro::context todo = goro::todo();       // placeholder
  const goro::context& parent = ctx;

  auto [c1, cancel1] = goro::with_cancel(parent);          // defer cancel(): built in
  auto [c2, cancel2] = goro::with_timeout(parent, 30s);    // cancelled in 30 s at the latest
  auto deadline = goro::clock::now() + 1min;
  auto [c3, cancel3] = goro::with_deadline(parent, deadline);
  goro::context c4 = goro::with_value(parent, key_request_id, "12345");  // use sparingly

  CHECK(!todo.err() && !c1.err() && c2.deadline() && *c3.deadline() == deadline);
  CHECK(*c4.value(key_request_id) == "12345");
  co_return "background, todo, with_cancel/timeout/deadline/value";
}  // cancel3, cancel2, cancel1 run here, in that order
std::string creating_contexts() { return goro::run(creating_body); }

// §1.2 not calling cancel() cannot happen (003 pitfall 3)
goro::task<> do_work(goro::context ctx) {
  co_await goro::yield();
  (void)ctx;
}
goro::task<std::string> forgot_cancel_body() {
  goro::context kept;
  {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    co_await do_work(ctx);
    kept = ctx;
  }  // the cancel function is destroyed: the context is cancelled and freed from its parent
  CHECK(kept.err() == goro::canceled);

  // Keeping work alive past the scope means moving the cancel function along:
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  goro::go([](goro::context ctx, goro::cancel_func cancel) -> goro::task<> {
    co_await do_work(ctx);
    cancel();  // or let it go out of scope
  }, ctx, std::move(cancel));
  (void)co_await ctx.done().recv();
  co_return "cancel on scope exit; moved into the goroutine that owns the work";
}
std::string forgot_cancel() { return goro::run(forgot_cancel_body); }

// =================================================================================
// 2. Done and Err
// =================================================================================

// §2.1 a service goroutine with a ticker (002 Service.Start; 004 anti-pattern fix)
class service {
 public:
  explicit service(goro::sender<int> progress) : progress_(std::move(progress)) {}

  // The goroutine uses *this: wait() for it after cancelling ctx, before
  // the service goes (Go's garbage collector keeps the Service alive; here
  // the owner must outlive the goroutine).
  void start(goro::context ctx, std::chrono::nanoseconds every) {
    wg_.go(
        [](service* s, goro::context ctx, std::chrono::nanoseconds every) -> goro::task<> {
          goro::ticker ticker(every);  // stopped by its destructor: defer ticker.Stop()
          for (;;) {
            auto r = co_await goro::select(goro::recv(ctx.done()), goro::recv(ticker.c()));
            if (r.index() == 0) co_return;  // "worker stopping"
            s->do_periodic_work();
          }
        },
        this, std::move(ctx), every);
  }
  goro::task<> wait() { co_await wg_.wait(); }

 private:
  void do_periodic_work() { (void)progress_.try_send(++runs_); }
  goro::sender<int> progress_;
  int runs_ = 0;
  goro::wait_group wg_;
};
goro::task<std::string> service_body() {
  auto progress = goro::make_chan<int>(16);
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  service s(progress);
  s.start(ctx, 1ms);  // the seed ticks every minute
  int seen = 0;
  while (seen < 3) seen = *co_await progress.recv();
  cancel();
  co_await s.wait();  // before s goes: the worker may be inside do_periodic_work
  co_return "periodic work ran " + str(seen) + "x, stopped by cancel()";
}
std::string service_start() { return goro::run(service_body); }

// §2.2 select with context: return ctx.Err() (002 processLoop)
struct data {
  int n;
};
goro::error process(const data& d) {
  if (d.n < 0) return std::make_error_code(std::errc::invalid_argument);
  return {};
}
goro::task<goro::error> process_loop(goro::context ctx, goro::receiver<data> data_chan,
                                     goro::receiver<void> stop_chan) {
  for (;;) {
    auto r = co_await goro::select(goro::recv(ctx.done()), goro::recv(data_chan), goro::recv(stop_chan));
    switch (r.index()) {
      case 0:
        co_return ctx.err();
      case 1:
        if (!r.get<1>()) co_return goro::error{};  // data_chan closed
        if (goro::error err = process(*r.get<1>())) co_return err;
        break;
      case 2:
        co_return goro::error{};
    }
  }
}
goro::task<std::string> process_loop_body() {
  auto data_chan = goro::make_chan<data>(4);
  auto stop_chan = goro::make_chan<void>();
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  (void)co_await data_chan.send(data{1});
  (void)co_await data_chan.send(data{-1});
  goro::error err = co_await process_loop(ctx, data_chan, stop_chan);
  CHECK(err == std::errc::invalid_argument);
  cancel();
  goro::error canceled = co_await process_loop(ctx, data_chan, stop_chan);
  CHECK(canceled == goro::canceled);
  co_return "processLoop: data error, then ctx.err() = " + canceled.message();
}
std::string process_loop_ctx() { return goro::run(process_loop_body); }

// §2.3 worker(ctx, jobs) (003 Cancellation Pattern), and jobs.recv(ctx)
goro::task<int> worker(goro::context ctx, goro::receiver<Job> jobs) {
  int processed = 0;
  for (;;) {
    auto r = co_await goro::select(goro::recv(jobs), goro::recv(ctx.done()));
    if (r.index() == 1) co_return processed;  // cancel signal
    if (!r.get<0>()) co_return processed;     // jobs closed
    ++processed;                              // process(job)
  }
}
goro::task<int> worker_short(goro::context ctx, goro::receiver<Job> jobs) {
  int processed = 0;
  // recv(ctx) is that select: ok, closed, or canceled when ctx is done.
  while (auto job = co_await jobs.recv(ctx)) ++processed;
  co_return processed;
}
goro::task<std::string> worker_body() {
  auto jobs = goro::make_chan<Job>(8);
  for (int i = 0; i < 5; ++i) {
    Job job{i, "j"};  // named: GCC 12 mishandles aggregate temporaries inside co_await (PR 100611)
    (void)co_await jobs.send(std::move(job));
  }
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  auto h = goro::spawn(worker, ctx, jobs);
  auto h2 = goro::spawn(worker_short, ctx, jobs);
  while (jobs.len() > 0) co_await goro::yield();  // let them drain the queue
  cancel();
  int a = co_await std::move(h);
  int b = co_await std::move(h2);
  CHECK(a + b == 5);
  co_return "two workers took 5 jobs, both returned on cancel()";
}
std::string worker_ctx() { return goro::run(worker_body); }

// §2.4 checking without blocking: longRunning, runWorkers, pitfall 1 fix (003)
goro::error long_running(goro::context ctx, std::atomic<long>* chunks) {
  for (;;) {
    if (goro::error err = ctx.err()) return err;  // select { case <-ctx.Done(): default: }
    chunks->fetch_add(1, std::memory_order_relaxed);  // processChunk()
  }
}
goro::task<> run_workers(goro::context ctx, int n, std::atomic<long>* work) {
  goro::wait_group wg;
  for (int i = 0; i < n; ++i) {
    wg.go(
        [](goro::context ctx, std::atomic<long>* work) -> goro::task<> {
          while (!ctx.err()) {  // clean exit once cancelled
            work->fetch_add(1, std::memory_order_relaxed);  // doWork(id)
            co_await goro::yield();
          }
        },
        ctx, work);
  }
  co_await wg.wait();
}
goro::task<std::string> checking_body() {
  std::atomic<long> work{0};
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  auto h = goro::spawn(run_workers, ctx, 10, &work);  // go runWorkers(ctx, 10)
  while (work.load() < 1000) co_await goro::yield();
  cancel();  // later: stop all workers
  co_await std::move(h);

  std::atomic<long> chunks{0};
  auto [timed, tc] = goro::with_timeout(goro::background(), 1ms);
  goro::context t = timed;  // (Clang 14 cannot capture structured bindings)
  goro::error err = co_await goro::spawn_blocking([&] { return long_running(t, &chunks); });
  CHECK(err == goro::deadline_exceeded);
  co_return "10 workers stopped by cancel; longRunning: " + err.message();
}
std::string checking_for_cancellation() { return goro::run(checking_body); }

// §2.5 ProcessItems: check, and errors.Is(err, context.Canceled) (002)
goro::task<goro::error> process_item(goro::context ctx, Item item) {
  if (auto err = co_await goro::sleep_for(ctx, item.id == 3 ? 1h : 0ns)) co_return err;
  co_return goro::error{};
}
goro::task<goro::error> process_items(goro::context ctx, std::vector<Item> items) {
  for (const Item& item : items) {
    if (auto err = ctx.err()) co_return err;  // check for cancellation
    goro::error err = co_await process_item(ctx, item);
    if (err == goro::canceled) co_return err;  // errors.Is(err, context.Canceled)
    if (err) co_return err;
  }
  co_return goro::error{};
}
goro::task<std::string> process_items_body() {
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  std::vector<Item> few{{1}, {2}}, more{{1}, {2}, {3}, {4}};  // (GCC 12: no braced lists in co_await)
  goro::error ok = co_await process_items(ctx, few);
  CHECK(!ok);
  goro::go([](goro::cancel_func c) -> goro::task<> {
    co_await goro::yield();
    c();
  }, std::move(cancel));
  goro::error err = co_await process_items(ctx, more);  // item 3 blocks until cancel
  CHECK(err == goro::canceled);
  co_return "items processed; a cancel mid-item returns " + err.message();
}
std::string process_items_ctx() { return goro::run(process_items_body); }

// =================================================================================
// 3. Timeouts
// =================================================================================

// §3.1 fetchWithTimeout (002 Timeout Pattern)
struct fetch_error {
  std::string what;
};
using fetch_result = std::variant<std::string, goro::error>;

goro::task<fetch_result> fetch(std::string url) {  // stand-in for network I/O
  // 500 ms: far past the 5 ms deadline below, so that even a loaded machine
  // sees the deadline first (the fetcher ignores its context, as in the seed).
  if (url.find("slow") != std::string::npos) co_await goro::sleep_for(500ms);
  if (url.find("bad") != std::string::npos) co_return goro::error::of(std::runtime_error("404 " + url));
  co_return "<html>" + url + "</html>";
}
goro::task<fetch_result> fetch_with_timeout(goro::context parent, std::string url,
                                            std::chrono::nanoseconds limit = 5s) {
  auto [ctx, cancel] = goro::with_timeout(parent, limit);
  auto result_chan = goro::make_chan<std::string>(1);     // buffered: the fetcher never blocks
  auto err_chan = goro::make_chan<goro::error>(1);
  goro::go(
      [](std::string url, goro::sender<std::string> results, goro::sender<goro::error> errs) -> goro::task<> {
        fetch_result r = co_await fetch(url);
        if (auto* e = std::get_if<goro::error>(&r)) {
          (void)co_await errs.send(std::move(*e));
          co_return;
        }
        (void)co_await results.send(std::get<std::string>(std::move(r)));
      },
      url, result_chan, err_chan);
  auto r = co_await goro::select(goro::recv(ctx.done()), goro::recv(err_chan), goro::recv(result_chan));
  switch (r.index()) {
    case 0: co_return goro::error(ctx.err());
    case 1: co_return std::move(*r.get<1>());
    default: co_return std::move(*r.get<2>());
  }
}
goro::task<std::string> fetch_body() {
  goro::context ctx = goro::background();
  auto ok = co_await fetch_with_timeout(ctx, "example.com");
  CHECK(std::get<0>(ok) == "<html>example.com</html>");
  auto bad = co_await fetch_with_timeout(ctx, "bad.example.com");
  CHECK(std::get<1>(bad).message() == "404 bad.example.com");
  auto slow = co_await fetch_with_timeout(ctx, "slow.example.com", 5ms);  // the fetch takes 500 ms
  CHECK(std::get<1>(slow) == goro::deadline_exceeded);
  co_return "ok, 404, slow -> " + std::get<1>(slow).message();
}
std::string fetch_with_timeout_snippet() { return goro::run(fetch_body); }

// §3.2 timeouts at boundaries, passed down (003 makeRequest; 004 Context Rules)
goro::task<goro::error> client_do(goro::context ctx, std::chrono::nanoseconds latency) {
  co_return co_await goro::sleep_for(ctx, latency);  // any ctx-aware wait: ch.recv(ctx), ...
}
goro::task<goro::error> make_request(goro::context ctx, std::chrono::nanoseconds latency,
                                     std::chrono::nanoseconds limit = 5s) {
  auto [rctx, cancel] = goro::with_timeout(ctx, limit);
  goro::error err = co_await client_do(rctx, latency);
  if (err) co_return err;  // deadline_exceeded on timeout
  co_return goro::error{};
}
goro::task<std::string> make_request_body() {
  goro::context ctx = goro::background();
  goro::error fast = co_await make_request(ctx, 0ns);
  CHECK(!fast);
  goro::error err = co_await make_request(ctx, 1h, 5ms);
  CHECK(err == goro::deadline_exceeded && err == std::errc::timed_out);
  // A shorter deadline further up wins: the child's is min(parent's, own).
  auto [outer, oc] = goro::with_timeout(ctx, 1ms);
  auto [inner, ic] = goro::with_timeout(outer, 1h);
  CHECK(*inner.deadline() == *outer.deadline());
  co_return "fast request ok; slow request -> " + err.message();
}
std::string make_request_snippet() { return goro::run(make_request_body); }

// =================================================================================
// 4. Values
// =================================================================================

// §4.1 request-scoped values with typed keys (002 Context Values)
inline constexpr goro::context_key<std::string> context_key_request_id{"request_id"};
inline constexpr goro::context_key<std::string> context_key_user_id{"user_id"};

goro::context with_request_id(const goro::context& ctx, std::string request_id) {
  return goro::with_value(ctx, context_key_request_id, std::move(request_id));
}
std::string get_request_id(const goro::context& ctx) {
  if (const std::string* id = ctx.value(context_key_request_id)) return *id;
  return "";
}
std::string context_values() {
  goro::context ctx = goro::background();
  ctx = with_request_id(ctx, "req-123");
  std::string request_id = get_request_id(ctx);
  CHECK(request_id == "req-123");
  CHECK(ctx.value(context_key_user_id) == nullptr);  // same type, other key: no collision
  return "request_id = " + request_id + "; user_id absent";
}

// =================================================================================
// 6. Patterns with a context
// =================================================================================

// §6.1 worker pool, items sent with send(ctx, v) (002 ProcessWithWorkerPool)
goro::error process_one(const Item& item) {
  if (item.id == 13) return goro::error::of(std::runtime_error("item 13 failed"));
  return {};
}
goro::task<goro::error> process_with_worker_pool(goro::context ctx, std::vector<Item> items) {
  const int num_workers = 10;
  auto item_chan = goro::make_chan<Item>(items.size());
  auto err_chan = goro::make_chan<goro::error>(1);
  goro::wait_group wg;
  for (int i = 0; i < num_workers; ++i) {
    wg.go(
        [](goro::receiver<Item> items, goro::sender<goro::error> errs) -> goro::task<> {
          while (auto item = co_await items.recv()) {
            if (goro::error err = process_one(*item)) {
              (void)errs.try_send(std::move(err));  // select { case errChan <- err: default: }
              co_return;
            }
          }
        },
        item_chan, err_chan);
  }
  goro::error canceled;
  for (const Item& item : items) {
    if (co_await item_chan.send(ctx, item) == goro::send_status::canceled) {
      canceled = ctx.err();
      break;
    }
  }
  item_chan.close();
  co_await wg.wait();  // on every path: the workers use wg and the channels
  if (canceled) co_return canceled;
  if (auto err = err_chan.try_recv()) co_return std::move(*err);
  co_return goro::error{};
}
goro::task<std::string> worker_pool_002_body() {
  std::vector<Item> items;
  for (int i = 0; i < 50; ++i) items.push_back({i});
  goro::error err = co_await process_with_worker_pool(goro::background(), items);
  CHECK(err.message() == "item 13 failed");
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  cancel();
  goro::error c = co_await process_with_worker_pool(ctx, items);
  CHECK(c == goro::canceled);
  co_return "first error reported; a cancelled ctx stops the feeding";
}
std::string worker_pool_002() { return goro::run(worker_pool_002_body); }

// §6.2 worker pool returning a results channel (003 Pattern 1)
goro::receiver<Result> worker_pool(goro::context ctx, int num_workers, goro::receiver<Job> jobs) {
  auto results = goro::make_chan<Result>();
  goro::go(
      [](goro::context ctx, int n, goro::receiver<Job> jobs, goro::sender<Result> results) -> goro::task<> {
        goro::wait_group wg;
        for (int id = 0; id < n; ++id) {
          wg.go(
              [](goro::context ctx, goro::receiver<Job> jobs, goro::sender<Result> results) -> goro::task<> {
                while (auto job = co_await jobs.recv()) {
                  Result res{job->id, job->data + " done"};  // processJob(job)
                  if (co_await results.send(ctx, std::move(res)) != goro::send_status::ok) co_return;
                }
              },
              ctx, jobs, results);
        }
        co_await wg.wait();
        results.close();
      },
      std::move(ctx), num_workers, jobs, results);
  return results;
}
goro::task<std::string> worker_pool_003_body() {
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  auto jobs = goro::make_chan<Job>(100);
  goro::go(
      [](goro::sender<Job> jobs) -> goro::task<> {
        for (int i = 0; i < 50; ++i) {
          Job job{i, "job-" + std::to_string(i)};
          (void)co_await jobs.send(std::move(job));
        }
        jobs.close();
      },
      jobs);
  int n = 0;
  auto results = worker_pool(ctx, 5, jobs);
  while (auto result = co_await results.recv()) {
    CHECK(result->output == "job-" + std::to_string(result->job_id) + " done");
    ++n;
  }
  CHECK(n == 50);
  co_return "5 workers, 50 results";
}
std::string worker_pool_003() { return goro::run(worker_pool_003_body); }

// §6.3 pipeline stages (003 Pattern 2; 002 generate/process; 004 Pipeline)
goro::receiver<int> generate(goro::context ctx, std::vector<int> nums) {
  auto out = goro::make_chan<int>();
  goro::go(
      [](goro::context ctx, std::vector<int> nums, goro::sender<int> out) -> goro::task<> {
        close_on_exit<int> closer{out};  // defer close(out)
        for (int n : nums)
          if (co_await out.send(ctx, n) == goro::send_status::canceled) co_return;
      },
      std::move(ctx), std::move(nums), out);
  return out;
}
goro::receiver<int> square(goro::context ctx, goro::receiver<int> in) {
  auto out = goro::make_chan<int>();
  goro::go(
      [](goro::context ctx, goro::receiver<int> in, goro::sender<int> out) -> goro::task<> {
        close_on_exit<int> closer{out};
        while (auto n = co_await in.recv())
          if (co_await out.send(ctx, *n * *n) == goro::send_status::canceled) co_return;
      },
      std::move(ctx), in, out);
  return out;
}
goro::task<std::string> pipeline_body() {
  std::vector<int> got;
  {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto squares = square(ctx, generate(ctx, {2, 3, 4}));
    while (auto n = co_await squares.recv()) got.push_back(*n);  // 4, 9, 16
  }
  CHECK((got == std::vector<int>{4, 9, 16}));
  // Stop early: take one value and cancel; every stage exits (no leak).
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  auto squares = square(ctx, generate(ctx, {1, 2, 3, 4, 5, 6, 7, 8}));
  auto first = co_await squares.recv();
  CHECK(first && *first == 1);
  co_return "generate -> square: 4 9 16; early cancel stops both stages";
}  // cancel() here
std::string pipeline() { return goro::run(pipeline_body); }

// §6.4 fan-out / fan-in with merge (003 Pattern 3)
goro::receiver<int> merge(goro::context ctx, std::vector<goro::receiver<int>> cs) {
  auto out = goro::make_chan<int>();
  goro::go(
      [](goro::context ctx, std::vector<goro::receiver<int>> cs, goro::sender<int> out) -> goro::task<> {
        goro::wait_group wg;
        for (auto& c : cs) {
          wg.go(  // output(c)
              [](goro::context ctx, goro::receiver<int> c, goro::sender<int> out) -> goro::task<> {
                while (auto n = co_await c.recv())
                  if (co_await out.send(ctx, *n) == goro::send_status::canceled) co_return;
              },
              ctx, c, out);
        }
        co_await wg.wait();
        out.close();
      },
      std::move(ctx), std::move(cs), out);
  return out;
}
goro::task<std::string> fan_out_fan_in_body() {
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  auto in = generate(ctx, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  auto c1 = square(ctx, in);  // fan out to 3 workers
  auto c2 = square(ctx, in);
  auto c3 = square(ctx, in);
  long sum = 0;
  auto merged = merge(ctx, {c1, c2, c3});
  while (auto result = co_await merged.recv()) sum += *result;  // fan in
  CHECK(sum == 385);
  co_return "3 squarers merged: sum of squares 1..10 = 385";
}
std::string fan_out_fan_in() { return goro::run(fan_out_fan_in_body); }

// §6.5 fan-out/fan-in, one goroutine per item (002 fanOutFanIn)
goro::task<std::variant<std::vector<Result>, goro::error>> fan_out_fan_in_items(goro::context ctx,
                                                                               std::vector<Item> items) {
  auto result_chan = goro::make_chan<Result>(items.size());
  auto err_chan = goro::make_chan<goro::error>(1);
  goro::wait_group wg;
  for (const Item& item : items) {
    wg.go(
        [](goro::context ctx, Item i, goro::sender<Result> results, goro::sender<goro::error> errs) -> goro::task<> {
          if (goro::error err = process_one(i)) {
            (void)errs.try_send(std::move(err));
            co_return;
          }
          Result res{i.id, "ok"};
          (void)co_await results.send(ctx, std::move(res));  // select { case <-ctx.Done(): case resultChan <- r: }
        },
        ctx, item, result_chan, err_chan);
  }
  goro::go(
      [](goro::wait_group* wg, goro::sender<Result> results) -> goro::task<> {
        co_await wg->wait();
        results.close();
      },
      &wg, result_chan);
  std::vector<Result> results;
  while (auto result = co_await result_chan.recv()) results.push_back(std::move(*result));
  if (auto err = err_chan.try_recv()) co_return std::move(*err);
  co_return results;
}
goro::task<std::string> fan_out_fan_in_002_body() {
  goro::context ctx = goro::background();
  std::vector<Item> good_items{{1}, {2}, {3}, {4}}, bad_items{{1}, {13}, {3}};
  auto ok = co_await fan_out_fan_in_items(ctx, good_items);
  CHECK(std::get<0>(ok).size() == 4);
  auto bad = co_await fan_out_fan_in_items(ctx, bad_items);
  CHECK(std::get<1>(bad).message() == "item 13 failed");
  co_return "4 results collected; an item error is reported";
}
std::string fan_out_fan_in_002() { return goro::run(fan_out_fan_in_002_body); }

// §6.6 RateLimiter.Wait(ctx) (002 Rate Limiting)
class rate_limiter {
 public:
  explicit rate_limiter(int per_second) : tokens_(goro::make_chan<void>(per_second)) {
    goro::go(
        [](goro::sender<void> tokens, goro::context stop, std::chrono::nanoseconds every) -> goro::task<> {
          goro::ticker ticker(every);
          for (;;) {
            auto r = co_await goro::select(goro::recv(ticker.c()), goro::recv(stop.done()));
            if (r.index() == 1) co_return;
            (void)tokens.try_send({});  // select { case tokens <- struct{}{}: default: }
          }
        },
        tokens_, stop_.ctx, std::chrono::nanoseconds(1s) / per_second);
  }
  // Go: func (r *RateLimiter) Wait(ctx context.Context) error
  goro::task<goro::error> wait(goro::context ctx) {
    auto r = co_await tokens_.recv(ctx);
    if (r.status == goro::recv_status::canceled) co_return ctx.err();
    co_return goro::error{};
  }

 private:
  goro::chan<void> tokens_;
  goro::cancelable_context<> stop_ = goro::with_cancel(goro::background());  // stops the refill goroutine
};
goro::task<std::string> rate_limiter_body() {
  rate_limiter limiter(1000);
  goro::context ctx = goro::background();
  for (int i = 0; i < 5; ++i) {
    if (goro::error err = co_await limiter.wait(ctx)) co_return err.message();
  }
  // A limiter with no token for a second, and a context that is already past
  // its deadline (with a token ready, select would pick either case).
  rate_limiter slow(1);
  auto [tight, cancel] = goro::with_timeout(ctx, 0ns);
  goro::error err = co_await slow.wait(tight);
  CHECK(err == goro::deadline_exceeded);
  co_return "5 waits served; an expired ctx -> " + err.message();
}
std::string rate_limiter_wait() { return goro::run(rate_limiter_body); }

// §6.7 retry with exponential backoff (002 retryWithBackoff)
goro::task<goro::error> retry_with_backoff(goro::context ctx, std::function<goro::error()> operation) {
  const int max_retries = 5;
  const auto base_delay = 1ms;  // the seed waits 1 s, 2 s, 4 s...
  for (int attempt = 0; attempt < max_retries; ++attempt) {
    goro::error err = operation();
    if (!err) co_return goro::error{};
    if (attempt == max_retries - 1) co_return err;  // "max retries exceeded"
    auto delay = base_delay * (1 << attempt);
    if (auto e = co_await goro::sleep_for(ctx, delay)) co_return e;  // ctx.Done() vs time.After(delay)
  }
  co_return goro::error{};
}
goro::task<std::string> retry_body() {
  int calls = 0;
  std::function<goro::error()> flaky = [&]() -> goro::error {
    return ++calls < 3 ? goro::error(std::make_error_code(std::errc::resource_unavailable_try_again))
                       : goro::error{};
  };
  goro::error ok = co_await retry_with_backoff(goro::background(), flaky);
  CHECK(!ok && calls == 3);
  auto [ctx, cancel] = goro::with_timeout(goro::background(), 2ms);
  std::function<goro::error()> down = [] { return goro::error(std::make_error_code(std::errc::connection_refused)); };
  goro::error err = co_await retry_with_backoff(ctx, down);
  CHECK(err == goro::deadline_exceeded);
  co_return "succeeded on attempt 3; under a 2 ms deadline -> " + err.message();
}
std::string retry_backoff() { return goro::run(retry_body); }

// §6.8 no leak: the sender gives up when the context is done (002 noLeak; 003 pitfall 1)
goro::task<std::string> no_leak_body() {
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  auto ch = goro::make_chan<int>();  // nobody will receive
  goro::go([](goro::context ctx, goro::sender<int> ch) -> goro::task<> {
    (void)co_await ch.send(ctx, 42);  // select { case ch <- 42: case <-ctx.Done(): }
  }, ctx, ch);
  cancel();  // the goroutine returns: main() checks that nothing leaked
  co_return "unreceived send abandoned on cancel";
}
std::string no_leak() { return goro::run(no_leak_body); }

// §6.9 graceful shutdown: cancel the workers, then wait with a deadline (003 Pattern 6)
class server {
 public:
  void start(const goro::context& ctx) {
    for (int i = 0; i < 5; ++i) wg_.go(&server::worker, this, ctx, i);
  }
  // Waits for the workers, at most `timeout`; true if they all stopped.
  goro::task<bool> shutdown(std::chrono::nanoseconds timeout) {
    auto [ctx, cancel] = goro::with_timeout(goro::background(), timeout);
    std::error_code ec = co_await wg_.wait(ctx);  // the seed's done channel + select, in one wait
    co_return !ec;  // "Clean shutdown completed" or "Shutdown timed out" (deadline_exceeded)
  }
  int stopped() const { return stopped_.load(); }

 private:
  goro::task<> worker(goro::context ctx, int /*id*/) {
    goro::ticker ticker(1ms);  // the seed ticks every second
    for (;;) {
      auto r = co_await goro::select(goro::recv(ctx.done()), goro::recv(ticker.c()));
      if (r.index() == 0) break;  // "cleaning up..."
    }
    stopped_.fetch_add(1);
  }
  goro::wait_group wg_;
  std::atomic<int> stopped_{0};
};
goro::task<std::string> graceful_shutdown_body() {
  server s;
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  s.start(ctx);
  // <-sigCh (a signal context is coming with the shutdown helper)
  cancel();
  bool clean = co_await s.shutdown(5s);
  CHECK(clean && s.stopped() == 5);
  co_return "5 workers stopped; clean shutdown within the deadline";
}
std::string graceful_shutdown() { return goro::run(graceful_shutdown_body); }

// §6.10 testing with context cancellation (002)
struct test_service {
  goro::task<goro::error> process(goro::context ctx) {
    goro::ticker ticker(1ms);
    for (;;) {
      auto r = co_await goro::select(goro::recv(ctx.done()), goro::recv(ticker.c()));
      if (r.index() == 0) co_return ctx.err();
    }
  }
};
goro::task<std::string> testing_body() {
  test_service service;
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  auto err_chan = goro::make_chan<goro::error>(1);
  goro::go([](test_service* s, goro::context ctx, goro::sender<goro::error> errs) -> goro::task<> {
    goro::error err = co_await s->process(ctx);
    (void)co_await errs.send(std::move(err));
  }, &service, ctx, goro::sender<goro::error>(err_chan));
  cancel();  // no time.Sleep needed: cancel whenever, the result is the same
  auto err = co_await err_chan.recv();
  CHECK(*err && *err == goro::canceled);  // require.True(t, errors.Is(err, context.Canceled))
  co_return "Process returned " + err->message();
}
std::string testing_with_cancellation() { return goro::run(testing_body); }

// =================================================================================
// 7. Beyond the seeds: causes, after_func, without_cancel
// =================================================================================

// §7.1 with_cancel_cause / cause
goro::task<std::string> cause_body() {
  auto [ctx, cancel] = goro::with_cancel_cause(goro::background());
  auto [child, child_cancel] = goro::with_timeout(ctx, 1h);
  cancel(goro::error::of(std::runtime_error("database unreachable")));
  CHECK(child.err() == goro::canceled);  // err() stays canceled...
  goro::error why = goro::cause(child);  // ...the cause says why
  CHECK(why.message() == "database unreachable");
  co_return "err = " + child.err().message() + ", cause = " + why.message();
}
std::string cancel_cause() { return goro::run(cause_body); }

// §7.2 after_func and without_cancel
goro::task<std::string> after_func_body() {
  auto [ctx, cancel] = goro::with_cancel(goro::with_value(goro::background(), key_request_id, "r-9"));
  auto cleaned = goro::make_chan<std::string>(1);
  auto stop = goro::after_func(ctx, [cleaned] { (void)cleaned.try_send("closed the connection"); });
  auto never = goro::after_func(ctx, [cleaned] { (void)cleaned.try_send("never"); });
  CHECK(never.stop());  // stopped before the context was done
  // Work that must finish even after the request is cancelled, with its values:
  goro::context detached = goro::without_cancel(ctx);
  cancel();
  auto what = co_await cleaned.recv();
  CHECK(!detached.err() && *detached.value(key_request_id) == "r-9");
  CHECK(!stop());  // already ran
  co_return "after_func: " + *what + "; without_cancel keeps request_id, not the cancel";
}
std::string after_func_and_without_cancel() { return goro::run(after_func_body); }

// =================================================================================
// 8. Context-aware waits
// =================================================================================

// §8.1 channels: recv(ctx), send(ctx, v)
goro::task<std::string> ctx_channels_body() {
  auto ch = goro::make_chan<int>();  // nobody sends, nobody receives
  auto [ctx, cancel] = goro::with_timeout(goro::background(), 2ms);
  auto r = co_await ch.recv(ctx);  // select { case v := <-ch: case <-ctx.Done(): }
  CHECK(r.status == goro::recv_status::canceled && ctx.err() == goro::deadline_exceeded);
  auto s = co_await ch.send(ctx, 1);  // ctx is done: canceled at once
  CHECK(s == goro::send_status::canceled);
  co_return "recv(ctx) -> canceled (deadline_exceeded), send(ctx, v) -> canceled";
}
std::string ctx_channels() { return goro::run(ctx_channels_body); }

// §8.2 sleep_for(ctx, d)
goro::task<std::string> ctx_sleep_body() {
  auto [ctx, cancel] = goro::with_timeout(goro::background(), 2ms);
  std::error_code ec = co_await goro::sleep_for(ctx, 1h);  // cut short by the deadline
  CHECK(ec == goro::deadline_exceeded);
  std::error_code full = co_await goro::sleep_for(goro::background(), 1ms);  // never cut short
  CHECK(!full);
  co_return "sleep_for(ctx, 1h) -> " + ec.message();
}
std::string ctx_sleep() { return goro::run(ctx_sleep_body); }

// §8.3 semaphore: acquire(ctx, n)
goro::task<goro::error> with_permit(goro::context ctx, goro::semaphore& sem, int& used) {
  goro::acquire_status st = co_await sem.acquire(ctx, 1);
  if (st == goro::acquire_status::canceled) co_return ctx.err();  // Acquire(ctx, 1) != nil
  ++used;
  sem.release(1);
  co_return goro::error{};
}
goro::task<std::string> ctx_semaphore_body() {
  goro::semaphore sem(1);
  int used = 0;
  goro::error ok = co_await with_permit(goro::background(), sem, used);
  CHECK(!ok && used == 1);
  (void)co_await sem.acquire(1);  // now somebody holds the only permit
  auto [ctx, cancel] = goro::with_timeout(goro::background(), 2ms);
  goro::error err = co_await with_permit(ctx, sem, used);
  CHECK(err == goro::deadline_exceeded && used == 1);
  sem.release(1);
  CHECK(sem.held() == 0);  // the waiter that gave up left no trace
  co_return "with_permit: ok, then " + err.message() + " while the permit was held";
}
std::string ctx_semaphore() { return goro::run(ctx_semaphore_body); }

// §8.4 wait_group: wait(ctx)
goro::task<std::string> ctx_wait_group_body() {
  goro::wait_group wg;
  auto release = goro::make_chan<void>();
  wg.go([](goro::receiver<void> r) -> goro::task<> { (void)co_await r.recv(); }, release);
  auto [ctx, cancel] = goro::with_timeout(goro::background(), 2ms);
  std::error_code ec = co_await wg.wait(ctx);  // the worker is still busy: deadline_exceeded
  CHECK(ec == goro::deadline_exceeded);
  release.close();
  co_await wg.wait();  // the group outlives its goroutines: wait for real
  std::error_code zero = co_await wg.wait(ctx);  // counter 0 wins over a done ctx: {}
  CHECK(!zero);
  co_return "wait(ctx) -> " + ec.message() + "; at zero -> {} even with ctx done";
}
std::string ctx_wait_group() { return goro::run(ctx_wait_group_body); }

// §8.5 mutex: lock(ctx)
goro::task<goro::error> add_one(goro::context ctx, goro::mutex& mu, int& shared) {
  std::error_code ec = co_await mu.lock(ctx);
  if (ec) co_return ec;  // not locked: nothing to unlock
  goro::unique_guard<goro::mutex> g(mu);  // adopts the held mutex; unlocks at scope end
  ++shared;
  co_return goro::error{};
}
goro::task<std::string> ctx_mutex_body() {
  goro::mutex mu;
  int shared = 0;
  goro::error ok = co_await add_one(goro::background(), mu, shared);
  CHECK(!ok && shared == 1);
  co_await mu.lock();  // somebody else holds it
  auto [ctx, cancel] = goro::with_timeout(goro::background(), 2ms);
  goro::error err = co_await add_one(ctx, mu, shared);
  CHECK(err == goro::deadline_exceeded && shared == 1);
  mu.unlock();
  CHECK(mu.try_lock());  // free again: the waiter that gave up left no trace
  mu.unlock();
  co_return "add_one: ok, then " + err.message() + " while the mutex was held";
}
std::string ctx_mutex() { return goro::run(ctx_mutex_body); }

// §8.6 the blocking_ forms on a plain thread
goro::task<std::string> ctx_blocking_body() {
  goro::semaphore sem(1);
  goro::wait_group wg;
  goro::mutex mu;
  auto ch = goro::make_chan<int>();
  (void)co_await sem.acquire(1);  // make every wait below block
  wg.add(1);
  co_await mu.lock();
  bool all_canceled = false;
  std::thread t([&] {
    auto [ctx, cancel] = goro::with_timeout(goro::background(), 2ms);
    goro::acquire_status st = sem.blocking_acquire(ctx, 1);  // canceled
    std::error_code e1 = wg.blocking_wait(ctx);              // deadline_exceeded
    std::error_code e2 = mu.blocking_lock(ctx);              // deadline_exceeded (not held)
    auto r = ch.blocking_recv(ctx);                          // recv_status::canceled
    goro::send_status s = ch.blocking_send(ctx, 1);          // send_status::canceled
    std::error_code e3 = goro::blocking_sleep_for(ctx, 1h);  // deadline_exceeded, at once
    all_canceled = st == goro::acquire_status::canceled && e1 == goro::deadline_exceeded &&
                   e2 == goro::deadline_exceeded && r.status == goro::recv_status::canceled &&
                   s == goro::send_status::canceled && e3 == goro::deadline_exceeded;
  });
  co_await goro::spawn_blocking([&] { t.join(); });
  CHECK(all_canceled);
  sem.release(1);
  wg.done();
  mu.unlock();
  co_return "blocking_acquire/wait/lock/recv/send/sleep_for(ctx) on a thread -> all canceled";
}
std::string ctx_blocking() { return goro::run(ctx_blocking_body); }

// ---- the table main() runs ---------------------------------------------------------

const snippet kSnippets[] = {
    {"creating_contexts", creating_contexts},
    {"forgot_cancel", forgot_cancel},
    {"service_start", service_start},
    {"process_loop_ctx", process_loop_ctx},
    {"worker_ctx", worker_ctx},
    {"checking_for_cancellation", checking_for_cancellation},
    {"process_items_ctx", process_items_ctx},
    {"fetch_with_timeout", fetch_with_timeout_snippet},
    {"make_request", make_request_snippet},
    {"context_values", context_values},
    {"worker_pool_002", worker_pool_002},
    {"worker_pool_003", worker_pool_003},
    {"pipeline", pipeline},
    {"fan_out_fan_in", fan_out_fan_in},
    {"fan_out_fan_in_002", fan_out_fan_in_002},
    {"rate_limiter_wait", rate_limiter_wait},
    {"retry_backoff", retry_backoff},
    {"no_leak", no_leak},
    {"graceful_shutdown", graceful_shutdown},
    {"testing_with_cancellation", testing_with_cancellation},
    {"cancel_cause", cancel_cause},
    {"after_func_and_without_cancel", after_func_and_without_cancel},
    {"ctx_channels", ctx_channels},
    {"ctx_sleep", ctx_sleep},
    {"ctx_semaphore", ctx_semaphore},
    {"ctx_wait_group", ctx_wait_group},
    {"ctx_mutex", ctx_mutex},
    {"ctx_blocking", ctx_blocking},
};

}  // namespace

// Also checks that no timer is left armed after a snippet: contexts disarm theirs.
int main() {
  return goro_snippets::run_all("context_snippets", kSnippets, {.name_width = 30, .check_timers = true});
}

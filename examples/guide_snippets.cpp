// guide_snippets — every goro snippet of docs/guide/channels-and-select.md,
// compiled against the current headers and run.
//
// Each snippet is a function named after its section in the guide (the guide
// cites the name). The functions hold the snippet exactly as the guide shows
// it, plus the few lines that check what it did. main() runs them all through
// run_all() of snippets.hpp (the shared scaffolding), which checks after each
// one that every goroutine it started has returned (the leak check tests end
// with), and prints one line per snippet. Nothing here synchronises with a
// sleep: the only sleeps simulate slow work in the timeout snippets.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
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

// ---- shared stand-ins for the seeds' "doWork", "process", Item, Job… ------------

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

std::atomic<long> g_work{0};
int do_work() {
  g_work.fetch_add(1, std::memory_order_relaxed);
  return 42;
}
void process(int) { g_work.fetch_add(1, std::memory_order_relaxed); }

// Closes a channel when the scope ends, however it ends: Go's `defer close(out)`.
template <class T>
struct close_on_exit {
  goro::sender<T> ch;
  ~close_on_exit() { ch.close(); }
};

// =================================================================================
// 1. Goroutines
// =================================================================================

// §1.1 go func() {...}(); go func(id, data) {...}(userID, userData); go f(x, y, z)
struct user_data {
  std::string name;
  int visits = 0;
};
std::atomic<int> g_launched{0};
void process_user(std::string id, user_data data) {
  if (id == "u-1" && data.name == "ann" && data.visits == 3) g_launched.fetch_add(1);
}
void expensive_computation(int x, int y, int z) {
  if (x + y + z == 6) g_launched.fetch_add(1);
}

void flush() { g_launched.fetch_add(1); }

goro::task<> go_launch_body() {
  // go func() { result := doWork(); log.Printf(...) }()
  goro::go([] {
    int result = do_work();
    if (result == 42) g_launched.fetch_add(1);
  });

  // go func(id string, data Data) { process(id, data) }(userID, userData)
  std::string user_id = "u-1";
  user_data data{"ann", 3};
  goro::go(process_user, user_id, data);  // copies of both travel with the goroutine

  // go expensiveComputation(x, y, z)
  int x = 1, y = 2, z = 3;
  goro::go(expensive_computation, x, y, z);

  // go flush(): a lone named function needs braces (see "C++ notes")
  goro::go{flush};  // goro::go(flush); would declare a variable named flush
  co_return;
}
std::string go_launch() {
  g_launched = 0;
  goro::run(go_launch_body);
  CHECK(rt().wait_no_goroutines(2s));  // detached goroutines: wait for quiescence
  CHECK(g_launched == 4);
  return "4 detached goroutines ran";
}

// §1.2 the loop-variable capture bug cannot happen: arguments are copied per goroutine
struct user {
  int id;
};
std::atomic<int> g_user_sum{0};
void process_one_user(user u) { g_user_sum.fetch_add(u.id); }

goro::task<> go_loop_variable_body() {
  std::vector<user> users{{1}, {2}, {3}, {4}};
  for (const user& u : users) goro::go(process_one_user, u);  // each goroutine gets its own copy
  for (const user& u : users)
    goro::go([u] { process_one_user(u); });  // by-value capture: also a copy
  co_return;  // `users` dies here; the goroutines do not care
}
std::string go_loop_variable() {
  g_user_sum = 0;
  goro::run(go_loop_variable_body);
  CHECK(rt().wait_no_goroutines(2s));
  CHECK(g_user_sum == 2 * (1 + 2 + 3 + 4));
  return "each goroutine saw its own user (sum " + str(g_user_sum) + ")";
}

// §1.3 joinable goroutines, results, exceptions (and Go's panic)
goro::task<int> parse(std::string s) {
  if (s.empty()) throw std::invalid_argument("parse: empty input");
  co_return std::stoi(s);
}
goro::chan<std::string> g_panics = goro::make_chan<std::string>(8);

goro::task<std::string> spawn_join_body() {
  auto h = goro::spawn(parse, std::string("42"));  // joinable goroutine
  int v = co_await std::move(h);                   // its result
  CHECK(v == 42);

  auto bad = goro::spawn(parse, std::string());
  std::string caught;
  try {
    (void)co_await std::move(bad);  // the exception crosses over to the joiner
  } catch (const std::invalid_argument& e) {
    caught = e.what();
  }
  CHECK(caught == "parse: empty input");
  co_return "spawn -> " + str(v) + ", exception rethrown at join";
}
std::string spawn_join_and_exceptions() {
  std::string out = goro::run(spawn_join_body);

  // A detached goroutine's exception is a Go panic: the default handler prints
  // it with the spawn site and aborts. A handler can turn it into a report.
  auto old = goro::set_uncaught_exception_handler(
      [](std::exception_ptr e, const goro::goroutine_info& g) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          (void)g_panics.try_send(std::string(ex.what()) + " @ line " + std::to_string(g.line));
        }
      });
  goro::go([] { throw std::runtime_error("boom"); });
  auto report = g_panics.blocking_recv();
  goro::set_uncaught_exception_handler(old);
  CHECK(report && report->rfind("boom @ line ", 0) == 0);
  return out + "; detached panic reported: " + *report;
}

// §1.4 lifecycle: a goroutine with a ticker and a way to stop (002 Service.Start)
class service {
 public:
  explicit service(goro::sender<int> progress) : progress_(std::move(progress)) {}

  // The goroutine uses *this: wait() for it after cancelling ctx, before
  // the service goes (Go's garbage collector keeps the Service alive; here
  // the owner must outlive the goroutine).
  void start(goro::context ctx, std::chrono::nanoseconds every) {
    wg_.go(
        [](service* s, goro::context ctx, std::chrono::nanoseconds every) -> goro::task<> {
          goro::ticker ticker(every);  // stopped by its destructor: `defer ticker.Stop()`
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

goro::task<std::string> lifecycle_body() {
  auto progress = goro::make_chan<int>(16);
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  service s(progress);
  s.start(ctx, 1ms);  // the guide shows time.Minute; 1 ms keeps this quick
  int seen = 0;
  while (seen < 3) seen = *co_await progress.recv();
  cancel();            // the worker returns
  co_await s.wait();   // before s goes: the worker may be inside do_periodic_work
  co_return "periodic work ran " + str(seen) + "x, then stopped on cancel()";
}
std::string lifecycle_ticker_stop() { return goro::run(lifecycle_body); }

// §1.4 runWorkers(ctx, n): busy workers that check for cancellation (003)
void do_work_id(int /*id*/, std::atomic<long>* work) { work->fetch_add(1, std::memory_order_relaxed); }

goro::task<> run_workers(goro::context ctx, int n, std::atomic<long>* work) {
  goro::wait_group wg;
  for (int i = 0; i < n; ++i) {
    wg.go(
        [](goro::context ctx, int id, std::atomic<long>* work) -> goro::task<> {
          for (;;) {
            auto r = co_await goro::select(goro::recv(ctx.done()), goro::default_case);
            if (r.index() == 0) co_return;  // clean exit
            do_work_id(id, work);
          }
        },
        ctx, i, work);
  }
  co_await wg.wait();
}

goro::task<std::string> run_workers_body() {
  std::atomic<long> work{0};
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  auto h = goro::spawn(run_workers, ctx, 10, &work);  // go runWorkers(ctx, 10)
  // Ten goroutines never block, yet this one still gets a worker: an
  // awaited operation that completes at once spends the run budget and yields.
  while (work.load() < 10'000) co_await goro::yield();
  cancel();  // stop all workers
  co_await std::move(h);
  co_return "10 busy workers did >= 10000 units, all stopped by cancel()";
}
std::string run_workers_until_done() { return goro::run(run_workers_body); }

// §1.5 plain threads: blocking_ forms, blocking_select, run, spawn_blocking
int legacy_blocking_read() { return 7; }  // some blocking C API

goro::task<int> read_via_pool() {
  int v = co_await goro::spawn_blocking([] { return legacy_blocking_read(); });
  co_return v;
}

std::string plain_threads() {
  auto ch = goro::make_chan<int>();
  std::thread producer([ch] {
    for (int i = 1; i <= 3; ++i) (void)ch.blocking_send(i);
    ch.close();
  });
  int sum = 0;
  while (auto v = ch.blocking_recv()) sum += *v;  // main() is a plain thread
  producer.join();
  CHECK(sum == 6);

  auto a = goro::make_chan<int>(1);
  (void)a.try_send(5);
  auto r = goro::blocking_select(goro::recv(a), goro::timeout(1s));
  CHECK(r.index() == 0 && *r.get<0>() == 5);

  int v = goro::run(read_via_pool);  // goroutine parks; the call runs on the blocking pool
  CHECK(v == 7);
  return "thread->main sum 6, blocking_select, spawn_blocking -> 7";
}

// =================================================================================
// 2. Channels
// =================================================================================

// §2.1 channel basics
goro::task<std::string> chan_basics_body() {
  auto unbuffered = goro::make_chan<int>();  // make(chan int)
  auto ch = goro::make_chan<int>(100);       // make(chan int, 100)

  goro::send_status st = co_await ch.send(7);  // ch <- value
  CHECK(st == goro::send_status::ok);

  std::optional<int> value = co_await ch.recv();  // value, ok := <-ch
  if (!value) {
    // channel closed (and drained)
  }
  CHECK(value && *value == 7);

  ch.close();  // close(ch)
  auto after_close = co_await ch.recv();
  CHECK(!after_close);
  CHECK(unbuffered.cap() == 0 && ch.cap() == 100);
  co_return "send/recv/close; recv after close is empty";
}
std::string chan_basics() { return goro::run(chan_basics_body); }

// §2.2 unbuffered vs buffered
goro::task<std::string> unbuffered_vs_buffered_body() {
  int result = 0;  // written by the goroutine, read after the handoff
  auto done = goro::make_chan<void>();
  goro::go(
      [](int* out, goro::sender<void> done) -> goro::task<> {
        *out = do_work();
        (void)co_await done.send();  // blocks until main receives
      },
      &result, done);
  co_await done.recv();  // guaranteed: work completed (send happens-before receive)
  CHECK(result == 42);

  auto jobs = goro::make_chan<Job>(100);  // holds 100 before blocking
  for (int i = 0; i < 100; ++i) CHECK(jobs.try_send(Job{i, "x"}) == goro::send_status::ok);
  CHECK(jobs.try_send(Job{100, "x"}) == goro::send_status::full);
  co_return "done handoff saw result 42; buffered jobs full at " + str(long(jobs.len()));
}
std::string unbuffered_vs_buffered() { return goro::run(unbuffered_vs_buffered_body); }

// §2.3 direction: sender<T> is chan<- T, receiver<T> is <-chan T
goro::task<> producer(goro::sender<int> ch) {  // send-only
  for (int i = 0; i < 10; ++i) (void)co_await ch.send(i);
  ch.close();
}
goro::task<long> consumer(goro::receiver<int> ch) {  // receive-only
  long sum = 0;
  while (auto v = co_await ch.recv()) sum += *v;
  co_return sum;
}
goro::task<long> direction_usage() {
  auto ch = goro::make_chan<int>();
  goro::go(producer, ch);        // chan<int> converts to sender<int>
  co_return co_await consumer(ch);  // ... and to receiver<int>
}

template <class C>
concept can_close = requires(C c) { c.close(); };
template <class C>
concept can_send = requires(C c) { c.send(1); };
template <class C>
concept can_recv = requires(C c) { c.recv(); };
static_assert(!can_close<goro::receiver<int>>, "a receiver cannot close");
static_assert(!can_send<goro::receiver<int>>, "a receiver cannot send");
static_assert(!can_recv<goro::sender<int>>, "a sender cannot receive");
static_assert(can_close<goro::sender<int>> && can_close<goro::chan<int>>);

std::string chan_direction() {
  long sum = goro::run(direction_usage);
  CHECK(sum == 45);
  return "producer(sender) -> consumer(receiver): sum 45; misuse is a compile error";
}

// §2.4 closing rules: only the sender closes; no panics, statuses
goro::task<> producer_defer(goro::sender<int> ch) {
  close_on_exit<int> closer{ch};  // defer close(ch)
  for (int i = 0; i < 10; ++i) (void)co_await ch.send(i);
}

goro::task<std::string> closing_rules_body() {
  auto ch = goro::make_chan<int>(1);
  bool first = ch.close();   // true
  bool second = ch.close();  // false (Go: panic: close of closed channel)
  goro::send_status st = co_await ch.send(1);  // closed (Go: panic: send on closed channel)
  CHECK(first && !second && st == goro::send_status::closed);

  auto nums = goro::make_chan<int>();
  goro::go(producer_defer, nums);
  long sum = co_await consumer(nums);
  CHECK(sum == 45);
  co_return "close twice -> false, send on closed -> send_status::closed, defer-close guard";
}
std::string closing_rules() { return goro::run(closing_rules_body); }

// §2.5 range over a channel
goro::task<std::string> range_over_channel_body() {
  auto jobs = goro::make_chan<Job>(8);
  goro::go(
      [](goro::sender<Job> jobs) -> goro::task<> {
        for (int i = 0; i < 8; ++i) {
          Job job{i, "job"};  // named: see "co_await and temporaries" in the guide
          (void)co_await jobs.send(std::move(job));
        }
        jobs.close();  // signal: no more jobs
      },
      jobs);
  int n = 0;
  while (auto job = co_await jobs.recv()) {  // for job := range jobs
    process(job->id);
    ++n;
  }
  CHECK(n == 8);

  auto more = goro::make_chan<int>(3);
  for (int i = 1; i <= 3; ++i) (void)co_await more.send(i);
  more.close();
  int sum = 0;
  co_await goro::for_each(more, [&](int v) { sum += v; });  // the same, as a call
  CHECK(sum == 6);

  auto slow = goro::make_chan<int>(2);
  (void)co_await slow.send(1);
  (void)co_await slow.send(2);
  slow.close();
  co_await goro::for_each(slow, [&](int v) -> goro::task<> {  // the body may await
    co_await goro::yield();
    sum += v;
  });
  CHECK(sum == 9);
  co_return "while (auto v = co_await ch.recv()) and for_each: 8 jobs, sums 6 and 9";
}
std::string range_over_channel() { return goro::run(range_over_channel_body); }

// §2.6 nil channels: switch a select case off
goro::task<long> merge_two(goro::receiver<int> a, goro::receiver<int> b) {
  long sum = 0;
  while (a || b) {  // until both are closed
    auto r = co_await goro::select(goro::recv(a), goro::recv(b));
    if (r.index() == 0) {
      if (auto& v = r.get<0>()) sum += *v;
      else a = {};  // closed: a nil channel is never ready (Go: a = nil)
    } else {
      if (auto& v = r.get<1>()) sum += *v;
      else b = {};
    }
  }
  co_return sum;
}
goro::task<std::string> nil_channels_body() {
  auto a = goro::make_chan<int>(), b = goro::make_chan<int>();
  goro::go(producer, a);
  goro::go(producer, b);
  long sum = co_await merge_two(a, b);
  CHECK(sum == 90);

  goro::chan<int> nil;  // default-constructed: nil
  auto r = co_await nil.recv_for(1ms);
  CHECK(r.status == goro::recv_status::timeout);
  CHECK(!nil.close());
  co_return "merged two channels until both closed (sum 90); nil recv blocks (timed out)";
}
std::string nil_channels() { return goro::run(nil_channels_body); }

// =================================================================================
// 3. Select
// =================================================================================

// §3.1 basic select: receive, send, timeout, default
goro::task<std::string> select_basic_body() {
  auto ch1 = goro::make_chan<int>(1);
  auto ch2 = goro::make_chan<std::string>();  // nobody receives: never ready
  std::string result = "r";
  std::string log;
  for (int round = 0; round < 2; ++round) {
    auto r = co_await goro::select(goro::recv(ch1),                 // case value := <-ch1
                                   goro::send(ch2, result),         // case ch2 <- result
                                   goro::recv(goro::after(1s)),     // case <-time.After(time.Second)
                                   goro::default_case);             // default
    switch (r.index()) {
      case 0: process(*r.get<0>()); log += "value "; break;
      case 1: log += "sent "; break;
      case 2: log += "timeout "; break;
      case 3: log += "no-channel-ready "; break;
    }
    (void)co_await ch1.send(1);  // ready for the second round
  }
  CHECK(log == "no-channel-ready value ");
  CHECK(rt().armed_timers() == 0);  // both after(1s) timers were freed with their selects
  co_return log + "(after() timers freed: armed_timers() == 0)";
}
std::string select_basic() { return goro::run(select_basic_body); }

// §3.2 a select loop that stops (002 processLoop; ctx.Done() -> a done channel for now)
struct data {
  int n;
};
std::optional<std::string> process_data(const data& d) {
  if (d.n < 0) return "negative input";
  return std::nullopt;
}

goro::task<std::optional<std::string>> process_loop(goro::receiver<void> done,
                                                    goro::receiver<data> data_chan,
                                                    goro::receiver<void> stop_chan) {
  for (;;) {
    auto r = co_await goro::select(goro::recv(done), goro::recv(data_chan), goro::recv(stop_chan));
    switch (r.index()) {
      case 0:
        co_return "canceled";  // return ctx.Err()
      case 1: {
        auto& d = r.get<1>();
        if (!d) co_return std::nullopt;  // data_chan closed (Go would spin on zero values)
        if (auto err = process_data(*d)) co_return err;
        break;
      }
      case 2:
        co_return std::nullopt;
    }
  }
}
goro::task<std::string> select_loop_body() {
  auto done = goro::make_chan<void>();
  auto data_chan = goro::make_chan<data>(4);
  auto stop_chan = goro::make_chan<void>();
  (void)co_await data_chan.send(data{1});
  (void)co_await data_chan.send(data{-1});
  auto err = co_await process_loop(done, data_chan, stop_chan);
  CHECK(err && *err == "negative input");
  stop_chan.close();
  auto ok = co_await process_loop(done, data_chan, stop_chan);
  CHECK(!ok);
  co_return "processLoop: error returned, then clean stop";
}
std::string select_loop_with_stop() { return goro::run(select_loop_body); }

// §3.3 timeouts
struct fetch_error {
  std::string what;
};
using fetch_result = std::variant<std::string, fetch_error>;

goro::task<fetch_result> fetch(goro::context ctx, std::string url) {  // stand-in for network I/O
  if (url.find("slow") != std::string::npos) {
    std::error_code ec = co_await goro::sleep_for(ctx, 1h);  // cut short by ctx's deadline
    if (ec) co_return fetch_error{ec.message()};
  }
  if (url.find("bad") != std::string::npos) co_return fetch_error{"404 " + url};
  co_return "<html>" + url + "</html>";
}

goro::task<fetch_result> fetch_with_timeout(goro::context parent, std::string url,
                                            std::chrono::nanoseconds limit) {
  auto [ctx, cancel] = goro::with_timeout(parent, limit);  // no defer: cancel runs on return
  auto result_chan = goro::make_chan<std::string>(1);  // buffered: the fetcher never blocks
  auto err_chan = goro::make_chan<fetch_error>(1);

  goro::go(
      [](goro::context ctx, std::string url, goro::sender<std::string> results,
         goro::sender<fetch_error> errs) -> goro::task<> {
        fetch_result r = co_await fetch(ctx, url);  // the deadline reaches fetch too
        if (auto* e = std::get_if<fetch_error>(&r)) {
          (void)co_await errs.send(std::move(*e));
          co_return;
        }
        (void)co_await results.send(std::get<std::string>(std::move(r)));
      },
      ctx, url, result_chan, err_chan);

  auto r = co_await goro::select(goro::recv(ctx.done()), goro::recv(err_chan), goro::recv(result_chan));
  switch (r.index()) {
    case 0: co_return fetch_error{ctx.err().message()};  // "context deadline exceeded"
    case 1: co_return std::move(*r.get<1>());
    default: co_return std::move(*r.get<2>());
  }
}

goro::task<std::string> timeouts_body() {
  auto ch = goro::make_chan<int>();
  // select { case v := <-ch: ... case <-time.After(time.Second): ... }
  auto r1 = co_await goro::select(goro::recv(ch), goro::recv(goro::after(1ms)));
  CHECK(r1.index() == 1);
  // The same without a timer channel:
  auto r2 = co_await goro::select(goro::recv(ch), goro::timeout(1ms));
  CHECK(r2.index() == 1);
  // One channel: recv_for / send_for.
  auto r3 = co_await ch.recv_for(1ms);
  CHECK(r3.status == goro::recv_status::timeout);
  goro::send_status s = co_await ch.send_for(5, 1ms);
  CHECK(s == goro::send_status::timeout);

  auto ok = co_await fetch_with_timeout(goro::background(), "https://example.com", 1s);
  auto bad = co_await fetch_with_timeout(goro::background(), "https://example.com/bad", 1s);
  auto slow = co_await fetch_with_timeout(goro::background(), "https://example.com/slow", 2ms);
  CHECK(std::get<std::string>(ok) == "<html>https://example.com</html>");
  CHECK(std::get<fetch_error>(bad).what == "404 https://example.com/bad");
  CHECK(std::get<fetch_error>(slow).what == "context deadline exceeded");
  co_return "after/timeout/recv_for/send_for; fetchWithTimeout ok, error, deadline";
}
std::string timeouts() { return goro::run(timeouts_body); }

// §3.4 non-blocking: default, try_send, try_recv
goro::task<std::string> non_blocking_body() {
  auto ch = goro::make_chan<int>(1);
  std::string log;
  for (int i = 0; i < 2; ++i) {
    // select { case ch <- 42: fmt.Println("Sent") default: fmt.Println("Channel full, skipping") }
    auto r = co_await goro::select(goro::send(ch, 42), goro::default_case);
    log += r.index() == 0 ? "sent " : "full ";
  }
  // The same for one channel, without select:
  goro::send_status st = ch.try_send(43);
  CHECK(st == goro::send_status::full);
  auto got = ch.try_recv();  // recv_result: ok, empty or closed
  if (got) process(*got);
  CHECK(got && *got == 42);
  CHECK(ch.try_recv().status == goro::recv_status::empty);
  CHECK(log == "sent full ");
  co_return log + "| try_send full, try_recv ok then empty";
}
std::string non_blocking_default() { return goro::run(non_blocking_body); }

// §3.5 cancellation with a done channel (003 worker(ctx, jobs); 002 ProcessItems)
goro::task<int> worker(goro::receiver<void> done, goro::receiver<Job> jobs) {
  int handled = 0;
  for (;;) {
    auto r = co_await goro::select(goro::recv(jobs), goro::recv(done));
    if (r.index() == 1) co_return handled;  // cancel signal
    auto& job = r.get<0>();
    if (!job) co_return handled;  // jobs closed
    process(job->id);
    ++handled;
  }
}

goro::task<std::optional<std::string>> process_items(goro::receiver<void> done,
                                                     std::vector<Item> items, int* processed) {
  for (const Item& item : items) {
    // select { case <-ctx.Done(): return ctx.Err() default: }
    auto r = co_await goro::select(goro::recv(done), goro::default_case);
    if (r.index() == 0) co_return "canceled";
    process(item.id);
    if (++*processed == 3) co_return std::nullopt;
  }
  co_return std::nullopt;
}

goro::task<std::string> cancellation_body() {
  auto done = goro::make_chan<void>();
  auto jobs = goro::make_chan<Job>();
  std::vector<goro::join_handle<int>> workers;
  for (int i = 0; i < 4; ++i) workers.push_back(goro::spawn(worker, done, jobs));
  for (int i = 0; i < 20; ++i) {
    Job job{i, "j"};
    (void)co_await jobs.send(std::move(job));
  }
  done.close();  // a close wakes every receiver: a broadcast
  int total = 0;
  for (auto& w : workers) total += co_await std::move(w);
  CHECK(total == 20);

  int processed = 0;
  std::vector<Item> items{{1}, {2}};
  auto err = co_await process_items(done, items, &processed);
  CHECK(err && *err == "canceled" && processed == 0);
  co_return "4 workers handled 20 jobs and stopped on close(done); ProcessItems canceled";
}
std::string cancellation_done_channel() { return goro::run(cancellation_body); }

// §3.6 priority select
goro::task<std::string> priority_select_body() {
  auto high_priority = goro::make_chan<int>(3);
  auto low_priority = goro::make_chan<int>(3);
  for (int i = 0; i < 3; ++i) {
    (void)co_await high_priority.send(i);
    (void)co_await low_priority.send(i);
  }
  high_priority.close();
  low_priority.close();

  std::string order;
  goro::receiver<int> high = high_priority, low = low_priority;
  while (high || low) {
    auto r = co_await goro::select(goro::recv(high), goro::default_case);  // high first
    if (r.index() == 0) {
      if (r.get<0>()) order += 'H';  // handleHigh(*r.get<0>())
      else high = {};                // closed: switch the case off
      continue;
    }
    auto r2 = co_await goro::select(goro::recv(high), goro::recv(low));  // then either
    if (r2.index() == 0) {
      if (r2.get<0>()) order += 'H';
      else high = {};
    } else {
      if (r2.get<1>()) order += 'L';  // handleLow(*msg)
      else low = {};
    }
  }
  CHECK(order == "HHHLLL");
  co_return "order " + order;
}
std::string priority_select() { return goro::run(priority_select_body); }

// §3.7 select chooses uniformly at random among ready cases
goro::task<std::string> select_is_random_body() {
  auto a = goro::make_chan<int>(1), b = goro::make_chan<int>(1);
  int picks[2] = {0, 0};
  for (int i = 0; i < 2000; ++i) {
    (void)a.try_send(1);  // keep both ready
    (void)b.try_send(2);
    auto r = co_await goro::select(goro::recv(a), goro::recv(b));
    ++picks[r.index()];
  }
  CHECK(picks[0] > 800 && picks[1] > 800);
  co_return "a " + str(picks[0]) + " / b " + str(picks[1]) + " of 2000";
}
std::string select_is_random() { return goro::run(select_is_random_body); }

// =================================================================================
// 4. Timers
// =================================================================================

// §4.1 time.After in a loop: no leak
goro::task<std::string> after_in_loop_body() {
  auto events = goro::make_chan<int>(1);
  for (int i = 0; i < 10'000; ++i) {
    (void)events.try_send(i);
    auto r = co_await goro::select(goro::recv(events), goro::recv(goro::after(5s)));
    CHECK(r.index() == 0);
  }
  CHECK(rt().armed_timers() == 0);  // Go before 1.23: 10000 timers pending for 5 s
  {
    auto t = goro::after(5s);
    CHECK(rt().armed_timers() == 1);  // armed while a handle exists...
  }
  CHECK(rt().armed_timers() == 0);  // ...disarmed and freed with the last one
  co_return "10000 selects on after(5s) leave 0 timers armed";
}
std::string after_in_loop() { return goro::run(after_in_loop_body); }

// §4.2 a reused timer: reset and stop drain the channel (Go 1.23 semantics)
goro::task<std::string> timer_reuse_body() {
  auto events = goro::make_chan<int>(3);
  for (int i = 0; i < 3; ++i) (void)co_await events.send(i);

  int handled = 0;
  bool timed_out = false;
  goro::timer idle(2ms);  // timer := time.NewTimer(d); stopped by its destructor
  while (!timed_out) {
    auto r = co_await goro::select(goro::recv(events), goro::recv(idle.c()));
    if (r.index() == 0) {
      ++handled;
      idle.reset(2ms);  // no `if !t.Stop() { <-t.C }` dance: reset drains
    } else {
      timed_out = true;  // timeout()
    }
  }
  CHECK(handled == 3 && timed_out);

  goro::timer t(1ms);
  while (t.c().len() == 0) co_await goro::yield();  // until it has fired (no sleep)
  bool was_pending = t.stop();                      // false: it had fired...
  CHECK(!was_pending);
  CHECK(t.c().try_recv().status == goro::recv_status::empty);  // ...and stop drained it
  co_return "3 events then idle timeout; stop() after firing leaves no stale value";
}
std::string timer_reuse() { return goro::run(timer_reuse_body); }

// §4.3 ticker
goro::task<std::string> ticker_body() {
  goro::ticker ticker(1ms);
  int ticks = 0;
  while (ticks < 3) {
    auto t = co_await ticker.c().recv();
    if (t) ++ticks;
  }
  ticker.stop();
  CHECK(ticker.c().try_recv().status == goro::recv_status::empty);  // stop drained it
  co_return "3 ticks, then stop (no pending tick)";
}
std::string ticker_snippet() { return goro::run(ticker_body); }

// =================================================================================
// 5. Patterns
// =================================================================================

// §5.1 sync.WaitGroup
std::atomic<int> g_items_done{0};
void process_item_sync(Item) { g_items_done.fetch_add(1); }

goro::task<> process_all(std::vector<Item> items) {
  goro::wait_group wg;
  for (const Item& item : items) wg.go(process_item_sync, item);  // Add(1); go ...; Done()
  co_await wg.wait();
}
goro::task<> process_all_explicit(std::vector<Item> items) {
  goro::wait_group wg;
  for (const Item& item : items) {
    wg.add(1);  // BEFORE starting the goroutine
    goro::go(
        [](goro::wait_group* wg, Item i) {
          process_item_sync(i);
          wg->done();
        },
        &wg, item);
  }
  co_await wg.wait();
}
std::string wait_group_process_all() {
  g_items_done = 0;
  goro::run(process_all, std::vector<Item>{{1}, {2}, {3}});
  goro::run(process_all_explicit, std::vector<Item>{{1}, {2}, {3}});
  CHECK(g_items_done == 6);
  return "wg.go x3 and add/done x3";
}

// §5.2 worker pool with first-error reporting (002 ProcessWithWorkerPool)
std::optional<std::string> process_item(const Item& item) {
  if (item.id == 13) return "item 13 failed";
  return std::nullopt;
}

goro::task<std::optional<std::string>> process_with_worker_pool(goro::receiver<void> done,
                                                                std::vector<Item> items) {
  const int num_workers = 10;
  auto item_chan = goro::make_chan<Item>(items.size());
  auto err_chan = goro::make_chan<std::string>(1);

  goro::wait_group wg;
  for (int i = 0; i < num_workers; ++i) {
    wg.go(
        [](goro::receiver<Item> items, goro::sender<std::string> errs) -> goro::task<> {
          while (auto item = co_await items.recv()) {
            if (auto err = process_item(*item)) {
              (void)errs.try_send(std::move(*err));  // select { case errChan <- err: default: }
              co_return;
            }
          }
        },
        item_chan, err_chan);
  }

  std::optional<std::string> canceled;
  for (const Item& item : items) {
    auto r = co_await goro::select(goro::recv(done), goro::send(item_chan, item));
    if (r.index() == 0) {
      canceled = "canceled";
      break;
    }
  }
  item_chan.close();
  co_await wg.wait();  // on every path: the workers use wg, item_chan, err_chan
  if (canceled) co_return canceled;

  if (auto err = err_chan.try_recv()) co_return std::move(*err);
  co_return std::nullopt;
}
goro::task<std::string> worker_pool_002_body() {
  auto done = goro::make_chan<void>();
  std::vector<Item> items;
  for (int i = 0; i < 50; ++i) items.push_back({i});
  auto err = co_await process_with_worker_pool(done, items);
  CHECK(err && *err == "item 13 failed");
  items.erase(items.begin() + 13);
  auto ok = co_await process_with_worker_pool(done, items);
  CHECK(!ok);
  co_return "10 workers: first error reported, clean run returns none";
}
std::string worker_pool_002() { return goro::run(worker_pool_002_body); }

// §5.3 worker pool returning a results channel (003 Pattern 1)
Result process_job(const Job& job) { return {job.id, job.data + " done"}; }

goro::receiver<Result> worker_pool(goro::receiver<void> done, int num_workers,
                                   goro::receiver<Job> jobs) {
  auto results = goro::make_chan<Result>();
  // The goroutine that closes `results` owns the wait_group (Go's escapes to the heap).
  goro::go(
      [](goro::receiver<void> done, int n, goro::receiver<Job> jobs,
         goro::sender<Result> results) -> goro::task<> {
        goro::wait_group wg;
        for (int id = 0; id < n; ++id) {
          wg.go(
              [](goro::receiver<void> done, goro::receiver<Job> jobs,
                 goro::sender<Result> results) -> goro::task<> {
                while (auto job = co_await jobs.recv()) {
                  Result res = process_job(*job);
                  auto r = co_await goro::select(goro::recv(done), goro::send(results, std::move(res)));
                  if (r.index() == 0) co_return;
                }
              },
              done, jobs, results);
        }
        co_await wg.wait();
        results.close();
      },
      done, num_workers, jobs, results);
  return results;
}
goro::task<std::string> worker_pool_003_body() {
  auto done = goro::make_chan<void>();  // ctx, cancel := ...; defer cancel()
  close_on_exit<void> cancel{done};
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
  auto results = worker_pool(done, 5, jobs);
  while (auto result = co_await results.recv()) {
    CHECK(result->output == "job-" + std::to_string(result->job_id) + " done");
    ++n;
  }
  CHECK(n == 50);
  co_return "5 workers, 50 results, results closed when all workers returned";
}
std::string worker_pool_003() { return goro::run(worker_pool_003_body); }

// §5.4 pipeline of generators (003 Pattern 2)
goro::receiver<int> generate(goro::receiver<void> done, std::vector<int> nums) {
  auto out = goro::make_chan<int>();
  goro::go(
      [](goro::receiver<void> done, std::vector<int> nums, goro::sender<int> out) -> goro::task<> {
        close_on_exit<int> closer{out};  // defer close(out)
        for (int n : nums) {
          auto r = co_await goro::select(goro::recv(done), goro::send(out, n));
          if (r.index() == 0) co_return;
        }
      },
      done, std::move(nums), out);
  return out;
}
goro::receiver<int> square(goro::receiver<void> done, goro::receiver<int> in) {
  auto out = goro::make_chan<int>();
  goro::go(
      [](goro::receiver<void> done, goro::receiver<int> in, goro::sender<int> out) -> goro::task<> {
        close_on_exit<int> closer{out};
        while (auto n = co_await in.recv()) {
          auto r = co_await goro::select(goro::recv(done), goro::send(out, *n * *n));
          if (r.index() == 0) co_return;
        }
      },
      done, in, out);
  return out;
}
goro::task<std::string> pipeline_body() {
  std::vector<int> got;
  {
    auto done = goro::make_chan<void>();
    close_on_exit<void> cancel{done};  // defer cancel()
    auto squares = square(done, generate(done, {2, 3, 4}));
    while (auto n = co_await squares.recv()) got.push_back(*n);  // 4, 9, 16
  }
  CHECK((got == std::vector<int>{4, 9, 16}));

  // Stop early: take one value, cancel, and every stage exits (no leak).
  auto done = goro::make_chan<void>();
  auto squares = square(done, generate(done, {1, 2, 3, 4, 5, 6, 7, 8}));
  auto first = co_await squares.recv();
  CHECK(first && *first == 1);
  done.close();
  co_return "generate -> square: 4 9 16; early cancel stops both stages";
}
std::string pipeline() { return goro::run(pipeline_body); }

// §5.5 fan-out / fan-in with merge (003 Pattern 3)
goro::receiver<int> merge(goro::receiver<void> done, std::vector<goro::receiver<int>> cs) {
  auto out = goro::make_chan<int>();
  goro::go(
      [](goro::receiver<void> done, std::vector<goro::receiver<int>> cs,
         goro::sender<int> out) -> goro::task<> {
        goro::wait_group wg;
        for (auto& c : cs) {
          wg.go(  // output(c)
              [](goro::receiver<void> done, goro::receiver<int> c, goro::sender<int> out) -> goro::task<> {
                while (auto n = co_await c.recv()) {
                  auto r = co_await goro::select(goro::recv(done), goro::send(out, *n));
                  if (r.index() == 0) co_return;
                }
              },
              done, c, out);
        }
        co_await wg.wait();
        out.close();
      },
      done, std::move(cs), out);
  return out;
}
goro::task<std::string> fan_out_fan_in_body() {
  auto done = goro::make_chan<void>();
  close_on_exit<void> cancel{done};
  auto in = generate(done, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  auto c1 = square(done, in);  // fan out to 3 workers reading the same channel
  auto c2 = square(done, in);
  auto c3 = square(done, in);
  long sum = 0;
  auto merged = merge(done, {c1, c2, c3});
  while (auto result = co_await merged.recv()) sum += *result;  // fan in
  CHECK(sum == 385);
  co_return "3 squarers merged: sum of squares 1..10 = 385";
}
std::string fan_out_fan_in() { return goro::run(fan_out_fan_in_body); }

// §5.5 fan-out/fan-in, one goroutine per item (002 fanOutFanIn)
goro::task<std::variant<std::vector<Result>, std::string>> fan_out_fan_in_items(
    goro::receiver<void> done, std::vector<Item> items) {
  auto result_chan = goro::make_chan<Result>(items.size());
  auto err_chan = goro::make_chan<std::string>(1);
  goro::wait_group wg;
  for (const Item& item : items) {  // fan-out: a goroutine per item
    wg.go(
        [](goro::receiver<void> done, Item i, goro::sender<Result> results,
           goro::sender<std::string> errs) -> goro::task<> {
          if (auto err = process_item(i)) {
            (void)errs.try_send(std::move(*err));
            co_return;
          }
          Result res{i.id, "ok"};
          auto r = co_await goro::select(goro::recv(done), goro::send(results, std::move(res)));
          (void)r;
        },
        done, item, result_chan, err_chan);
  }
  goro::go(  // close the results when every producer is done
      [](goro::wait_group* wg, goro::sender<Result> results) -> goro::task<> {
        co_await wg->wait();
        results.close();
      },
      &wg, result_chan);

  std::vector<Result> results;  // fan-in
  while (auto result = co_await result_chan.recv()) results.push_back(std::move(*result));
  if (auto err = err_chan.try_recv()) co_return std::move(*err);
  co_return results;
}
goro::task<std::string> fan_out_fan_in_002_body() {
  auto done = goro::make_chan<void>();
  std::vector<Item> good_items{{1}, {2}, {3}, {4}}, bad_items{{1}, {13}, {3}};
  auto ok = co_await fan_out_fan_in_items(done, good_items);
  CHECK(std::get<0>(ok).size() == 4);
  auto bad = co_await fan_out_fan_in_items(done, bad_items);
  CHECK(std::get<1>(bad) == "item 13 failed");
  co_return "4 results collected; an item error is reported";
}
std::string fan_out_fan_in_002() { return goro::run(fan_out_fan_in_002_body); }

// §5.6 query racing: first response wins (003 Pattern 7)
struct conn {
  std::string name;
  int hops;  // how many times the query yields: a stand-in for latency
  goro::task<std::string> do_query(std::string q) const {
    for (int i = 0; i < hops; ++i) co_await goro::yield();
    co_return name + ":" + q;
  }
};

goro::task<std::string> query(std::vector<conn> conns, std::string q) {
  auto ch = goro::make_chan<std::string>(1);  // buffer: the winner never blocks
  for (const conn& c : conns) {
    goro::go(
        [](conn c, std::string q, goro::sender<std::string> ch) -> goro::task<> {
          std::string r = co_await c.do_query(q);
          (void)ch.try_send(std::move(r));  // select { case ch <- r: default: }
        },
        c, q, ch);
  }
  auto first = co_await ch.recv();
  co_return std::move(*first);
}
// The same race, with the losers cancelled.
struct ctx_conn {
  std::string name;
  int hops;
  std::atomic<int>* gave_up;
  // Gives up (nullopt) once ctx is done: checks between steps.
  goro::task<std::optional<std::string>> do_query(goro::context ctx, std::string q) const {
    for (int i = 0; i < hops; ++i) {
      if (ctx.err()) {
        gave_up->fetch_add(1);
        co_return std::nullopt;
      }
      co_await goro::yield();
    }
    co_return name + ":" + q;
  }
};

goro::task<std::string> query_ctx(goro::context parent, std::vector<ctx_conn> conns, std::string q) {
  auto [ctx, cancel] = goro::with_cancel(parent);  // cancelled when query_ctx returns
  auto ch = goro::make_chan<std::string>(1);
  for (const ctx_conn& c : conns) {
    goro::go(
        [](goro::context ctx, ctx_conn c, std::string q, goro::sender<std::string> ch) -> goro::task<> {
          std::optional<std::string> r = co_await c.do_query(ctx, q);
          if (r) (void)ch.try_send(std::move(*r));
        },
        ctx, c, q, ch);
  }
  auto first = co_await ch.recv();
  co_return std::move(*first);  // ~cancel: the losers see ctx.err() and stop
}

goro::task<std::string> query_racing_body() {
  std::vector<conn> conns{{"a", 50}, {"b", 0}, {"c", 100}};
  std::string r = co_await query(conns, "select 1");
  CHECK(r == "a:select 1" || r == "b:select 1" || r == "c:select 1");

  std::atomic<int> gave_up{0};
  std::vector<ctx_conn> slow{{"x", 1'000'000, &gave_up}, {"y", 0, &gave_up}, {"z", 1'000'000, &gave_up}};
  std::string r2 = co_await query_ctx(goro::background(), slow, "select 2");
  CHECK(r2 == "y:select 2");
  auto [limit, stop] = goro::with_timeout(goro::background(), 2s);  // x and z stop early:
  while (gave_up.load() < 2 && !limit.err()) co_await goro::yield();  // long before 10^6 hops
  CHECK(gave_up.load() == 2);
  co_return "winner " + r + "; the losers' try_send dropped their results; with a context, " + r2 +
            " won and the 2 losers gave up";
}
std::string query_racing() { return goro::run(query_racing_body); }

// §5.7 leaky buffer / free list (003 Pattern 9)
struct buffer {
  std::vector<char> bytes;
  void reset() { bytes.clear(); }
};
goro::chan<std::unique_ptr<buffer>> free_list = goro::make_chan<std::unique_ptr<buffer>>(100);

std::unique_ptr<buffer> get_buffer() {
  if (auto b = free_list.try_recv()) return std::move(*b);  // reuse an existing one
  return std::make_unique<buffer>();                        // allocate a new one
}
void put_buffer(std::unique_ptr<buffer> b) {
  b->reset();
  (void)free_list.try_send(b);  // full: b still owns the buffer and frees it here
}
std::string leaky_buffer() {
  auto b1 = get_buffer();
  b1->bytes.assign(64, 'x');
  buffer* raw = b1.get();
  put_buffer(std::move(b1));
  auto b2 = get_buffer();
  CHECK(b2.get() == raw && b2->bytes.empty());  // reused
  std::vector<std::unique_ptr<buffer>> many;
  for (int i = 0; i < 150; ++i) many.push_back(get_buffer());
  for (auto& b : many) put_buffer(std::move(b));  // 100 kept, 50 freed
  CHECK(free_list.len() == 100);
  while (free_list.try_recv()) {
  }
  return "reused a buffer; free list kept 100 of 150, freed the rest";
}

// §5.8 a channel as a semaphore (003 Pattern 4, alternative)
class chan_semaphore {
 public:
  explicit chan_semaphore(int n) : slots_(goro::make_chan<void>(n)) {}
  auto acquire() const { return slots_.send(); }          // co_await sem.acquire()
  void release() const { (void)slots_.try_recv(); }       // <-s
 private:
  goro::chan<void> slots_;
};

goro::task<std::string> channel_semaphore_body() {
  chan_semaphore sem(3);
  std::atomic<int> running{0}, peak{0};
  goro::wait_group wg;
  for (int i = 0; i < 12; ++i) {
    (void)co_await sem.acquire();  // at most 3 tasks at a time
    wg.go(
        [](const chan_semaphore* sem, std::atomic<int>* running, std::atomic<int>* peak) -> goro::task<> {
          int now = running->fetch_add(1) + 1;
          int p = peak->load();
          while (now > p && !peak->compare_exchange_weak(p, now)) {
          }
          co_await goro::yield();
          running->fetch_sub(1);
          sem->release();
        },
        &sem, &running, &peak);
  }
  co_await wg.wait();
  CHECK(peak.load() <= 3);
  co_return "12 tasks, at most " + str(peak.load()) + " at a time";
}
std::string channel_semaphore() { return goro::run(channel_semaphore_body); }

// §5.9 token-bucket rate limiter on a channel (002 RateLimiter)
class rate_limiter {
 public:
  rate_limiter(int per_second, goro::receiver<void> stop)
      : tokens_(goro::make_chan<void>(per_second)) {
    goro::go(
        [](goro::sender<void> tokens, std::chrono::nanoseconds every,
           goro::receiver<void> stop) -> goro::task<> {
          goro::ticker ticker(every);
          for (;;) {  // refill
            auto r = co_await goro::select(goro::recv(ticker.c()), goro::recv(stop));
            if (r.index() == 1) co_return;           // the seed's refiller never stops
            (void)tokens.try_send(std::monostate{});  // select { case tokens <- struct{}{}: default: }
          }
        },
        tokens_, std::chrono::nanoseconds(1s) / per_second, stop);
  }
  // true: got a token; false: canceled.
  goro::task<bool> wait(goro::receiver<void> done) const {
    auto r = co_await goro::select(goro::recv(done), goro::recv(tokens_));
    co_return r.index() == 1;
  }

 private:
  goro::chan<void> tokens_;
};

goro::task<std::string> token_bucket_body() {
  auto stop = goro::make_chan<void>();
  auto done = goro::make_chan<void>();
  rate_limiter limiter(1000, stop);  // 1000 requests per second
  auto t0 = goro::clock::now();
  for (int i = 0; i < 5; ++i) {
    bool ok = co_await limiter.wait(done);
    CHECK(ok);
    process(i);
  }
  auto elapsed = goro::clock::now() - t0;
  stop.close();
  CHECK(elapsed >= 4ms);
  co_return "5 requests at 1000/s took " +
            str(long(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count())) +
            " ms";
}
std::string token_bucket() { return goro::run(token_bucket_body); }

// §5.10 retry with exponential backoff (002 retryWithBackoff)
goro::task<std::optional<std::string>> retry_with_backoff(
    goro::receiver<void> done, std::function<std::optional<std::string>()> operation) {
  const int max_retries = 5;
  const auto base_delay = 1ms;  // the seed uses time.Second
  for (int attempt = 0; attempt < max_retries; ++attempt) {
    auto err = operation();
    if (!err) co_return std::nullopt;
    if (attempt == max_retries - 1) co_return "max retries exceeded: " + *err;
    auto delay = base_delay * (1 << attempt);  // exponential backoff
    auto r = co_await goro::select(goro::recv(done), goro::timeout(delay));
    if (r.index() == 0) co_return "canceled";
  }
  co_return std::nullopt;
}
goro::task<std::string> retry_body() {
  auto done = goro::make_chan<void>();
  int calls = 0;
  auto err = co_await retry_with_backoff(done, [&]() -> std::optional<std::string> {
    if (++calls < 3) return "transient";
    return std::nullopt;
  });
  CHECK(!err && calls == 3);
  co_return "succeeded on attempt 3 after 1 ms + 2 ms of backoff";
}
std::string retry_backoff() { return goro::run(retry_body); }

// §5.11 graceful shutdown with a deadline (003 Pattern 6)
class server {
 public:
  void start() {
    for (int i = 0; i < 5; ++i) wg_.go(&server::worker, this, i);
  }
  // From a plain thread (main). True: clean shutdown; false: timed out.
  bool shutdown(std::chrono::nanoseconds timeout) {
    shutdown_.close();
    auto [ctx, cancel] = goro::with_timeout(goro::background(), timeout);
    std::error_code ec = wg_.blocking_wait(ctx);  // the seed's done channel + select, in one wait
    return !ec;  // {}: clean; deadline_exceeded: timed out
  }
  int stopped() const { return stopped_.load(); }

 private:
  goro::task<> worker(int /*id*/) {
    goro::ticker ticker(1ms);
    for (;;) {
      auto r = co_await goro::select(goro::recv(shutdown_), goro::recv(ticker.c()));
      if (r.index() == 0) {  // cleaning up...
        stopped_.fetch_add(1);
        co_return;
      }
      // working...
    }
  }
  goro::chan<void> shutdown_ = goro::make_chan<void>();
  goro::wait_group wg_;
  std::atomic<int> stopped_{0};
};
std::string graceful_shutdown() {
  server s;
  s.start();
  bool clean = s.shutdown(5s);
  CHECK(clean && s.stopped() == 5);
  return "5 workers stopped; clean shutdown before the 5 s deadline";
}

// =================================================================================
// 6. Pitfalls
// =================================================================================

// §6.1 goroutine leak: an unbuffered send nobody receives
void leak() {
  auto ch = goro::make_chan<int>();
  goro::go([](goro::sender<int> ch) -> goro::task<> { (void)co_await ch.send(42); }, ch);
}  // returns; the goroutine waits forever in "chan send"
void no_leak() {
  auto ch = goro::make_chan<int>(1);  // buffered: the send completes
  goro::go([](goro::sender<int> ch) -> goro::task<> { (void)co_await ch.send(42); }, ch);
}

std::string leak_detected() {
  std::vector<goro::goroutine_info> at_shutdown;
  std::string where;
  {
    goro::runtime_options o;
    o.workers = 1;
    o.on_shutdown_alive = [&](const std::vector<goro::goroutine_info>& alive) { at_shutdown = alive; };
    goro::runtime leaky(o);

    leaky.run([]() -> goro::task<> {
      no_leak();
      co_return;
    });
    CHECK(leaky.wait_no_goroutines(2s));  // the fixed version leaves nothing behind

    leaky.run([]() -> goro::task<> {
      leak();
      co_return;
    });
    bool quiet = leaky.wait_no_goroutines(20ms);  // false: something is still alive
    CHECK(!quiet);
    // ...and who. On a loaded machine it may not have reached its send yet:
    // look until it has parked (bounded, so a bug fails the check, not hangs).
    std::vector<goro::goroutine_info> alive;
    for (auto give_up = std::chrono::steady_clock::now() + 30s;;) {
      alive = leaky.goroutines();
      if ((alive.size() == 1 && alive[0].wait_reason != nullptr) ||
          std::chrono::steady_clock::now() > give_up)
        break;
      std::this_thread::yield();
    }
    for (const goro::goroutine_info& g : alive)
      where += "goroutine " + std::to_string(g.id) + " started at line " + std::to_string(g.line) +
               " [" + (g.wait_reason ? g.wait_reason : "runnable") + "]";
    CHECK(alive.size() == 1 && alive[0].wait_reason != nullptr &&
          std::strcmp(alive[0].wait_reason, "chan send") == 0);
  }  // ~runtime reports it (on_shutdown_alive) and destroys it
  CHECK(at_shutdown.size() == 1);
  return "no_leak() clean; leak() caught: " + where;
}

// §6.2 deadlock on an unbuffered channel in one goroutine
goro::task<std::string> deadlock_body() {
  auto ch = goro::make_chan<int>();
  // ch <- 1 would block forever: nobody else can receive. A deadline turns
  // the hang into a status:
  goro::send_status st = co_await ch.send_for(1, 1ms);
  CHECK(st == goro::send_status::timeout);

  auto ch1 = goro::make_chan<int>(1);  // the fix: a buffer (or a second goroutine)
  (void)co_await ch1.send(1);
  auto v = co_await ch1.recv();
  CHECK(v && *v == 1);
  co_return "send_for on a lone unbuffered channel -> timeout; buffered fix -> 1";
}
std::string deadlock_unbuffered() { return goro::run(deadlock_body); }

// ---- the table main() runs ---------------------------------------------------------

const snippet kSnippets[] = {
    {"go_launch", go_launch},
    {"go_loop_variable", go_loop_variable},
    {"spawn_join_and_exceptions", spawn_join_and_exceptions},
    {"lifecycle_ticker_stop", lifecycle_ticker_stop},
    {"run_workers_until_done", run_workers_until_done},
    {"plain_threads", plain_threads},
    {"chan_basics", chan_basics},
    {"unbuffered_vs_buffered", unbuffered_vs_buffered},
    {"chan_direction", chan_direction},
    {"closing_rules", closing_rules},
    {"range_over_channel", range_over_channel},
    {"nil_channels", nil_channels},
    {"select_basic", select_basic},
    {"select_loop_with_stop", select_loop_with_stop},
    {"timeouts", timeouts},
    {"non_blocking_default", non_blocking_default},
    {"cancellation_done_channel", cancellation_done_channel},
    {"priority_select", priority_select},
    {"select_is_random", select_is_random},
    {"after_in_loop", after_in_loop},
    {"timer_reuse", timer_reuse},
    {"ticker", ticker_snippet},
    {"wait_group_process_all", wait_group_process_all},
    {"worker_pool_002", worker_pool_002},
    {"worker_pool_003", worker_pool_003},
    {"pipeline", pipeline},
    {"fan_out_fan_in", fan_out_fan_in},
    {"fan_out_fan_in_002", fan_out_fan_in_002},
    {"query_racing", query_racing},
    {"leaky_buffer", leaky_buffer},
    {"channel_semaphore", channel_semaphore},
    {"token_bucket", token_bucket},
    {"retry_backoff", retry_backoff},
    {"graceful_shutdown", graceful_shutdown},
    {"leak_detected", leak_detected},
    {"deadlock_unbuffered", deadlock_unbuffered},
};

}  // namespace

int main() { return goro_snippets::run_all("guide_snippets", kSnippets, {.name_width = 27}); }

// Pattern: graceful shutdown of a server-shaped loop. The Go guides start
// workers, wait for SIGINT/SIGTERM, cancel, then wait for the workers'
// WaitGroup in a helper goroutine raced against a timeout:
//
//   sigCh := make(chan os.Signal, 1)
//   signal.Notify(sigCh, syscall.SIGINT, syscall.SIGTERM)
//   server.Start(ctx)
//   <-sigCh
//   cancel()
//   server.Shutdown(5 * time.Second)  // go func() { wg.Wait(); close(done) }()
//                                     // select { case <-done: case <-time.After(timeout): }
//
// goro::signal_context is signal.NotifyContext; goro::shutdown::drain waits
// for the work in flight up to a grace period, then cancels what is left and
// waits for it too (Go's version returns with the workers still running).
// To be a self-contained program, the load generator below ends by sending
// the process a SIGTERM, as `kill -TERM <pid>` would.
#include <signal.h>

#include <atomic>

#include "example.hpp"
#include <goro/shutdown.hpp>
#include <goro/signal.hpp>

namespace {

struct request {
  int id;
  bool long_poll;  // waits for news until the server's context ends
};

struct stats {
  std::atomic<int> handled{0}, cancelled{0};
};

goro::task<> handle(goro::context ctx, request r, stats* st) {
  if (r.long_poll) {
    std::error_code ec = co_await goro::sleep_for(ctx, 1h);  // cut short by ctx
    (ec ? st->cancelled : st->handled).fetch_add(1);
  } else {
    co_await goro::yield();  // a quick request
    st->handled.fetch_add(1);
  }
}

goro::task<> worker(goro::context ctx, goro::receiver<request> requests, stats* st) {
  while (auto r = co_await requests.recv()) {  // until requests is closed and drained
    goro::task<> t = handle(ctx, *r, st);
    co_await std::move(t);
  }
}

// 1 long poll and 20 quick requests, then SIGTERM to this process.
goro::task<> load(goro::sender<request> requests) {
  for (int i = 0; i <= 20; ++i) {
    request r{i, i == 0};
    goro::send_status s = co_await requests.send(r);
    if (s != goro::send_status::ok) co_return;
  }
  ::raise(SIGTERM);
}

}  // namespace

goro::task<> goro_examples::graceful_shutdown() {
  auto [sig, stop_signals] = goro::signal_context(goro::background(), {SIGINT, SIGTERM});
  auto [ctx, cancel] = goro::with_cancel(goro::background());  // the work's context
  auto requests = goro::make_chan<request>(32);
  stats st;
  goro::wait_group wg;
  for (int i = 0; i < 5; ++i) wg.go(worker, ctx, goro::receiver<request>(requests), &st);
  say("server: 5 workers; the load sends 21 requests, then SIGTERM");
  goro::go(load, goro::sender<request>(requests));

  goro::receiver<void> signalled = sig.done();
  (void)co_await signalled.recv();  // Go: <-sigCh
  stop_signals();                   // a second Ctrl-C now kills the program
  say("%s: stop accepting, drain with a 20 ms grace period", goro::cause(sig).message().c_str());
  CHECK(goro::cause(sig) == goro::signal_received(SIGTERM));
  requests.close();  // workers finish what is queued, then their loops end
  goro::shutdown::drain_result r = co_await goro::shutdown::drain(wg, 20ms, cancel);
  say("%s: %d requests finished, %d long poll cancelled when the grace period ended",
      r.in_time ? "clean shutdown" : "shutdown timed out", st.handled.load(), st.cancelled.load());
  CHECK(!r.in_time && st.handled.load() == 20 && st.cancelled.load() == 1);
}

GORO_EXAMPLE_MAIN(graceful_shutdown)

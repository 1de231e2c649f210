// The server-shaped program of docs/guide/shutdown.md, compiled and run with
// a real SIGTERM sent to the test process: it drains in time when the work
// in flight finishes, and cancels the work when the grace period is over.
//
// The SIGTERM is sent only once the server provably watches it: a request has
// been handled, and serve() registers its signal context before it starts
// its workers. A guard channel also watches SIGTERM for the whole test, so a
// mistake fails the test instead of killing the process.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "goro/shutdown.hpp"
#include "goro/signal.hpp"
#include "goro_test.hpp"

using namespace std::chrono_literals;
using goro_test::RuntimeTest;

namespace {

// ---- the test's side: what a request does, and where it reports ----------------
enum class request { fast, slow };
goro::chan<request> handled_reports = goro::make_chan<request>(16);

// ---- the guide's code (docs/guide/shutdown.md, "A server-shaped loop") ---------

// Handles one request; ctx is cancelled when the shutdown grace period is over.
goro::task<> handle(goro::context ctx, request r) {
  (void)handled_reports.try_send(r);  // (the test's probe)
  if (r == request::slow) (void)co_await goro::sleep_for(ctx, 1h);  // long work, cut short by ctx
}

// Serves requests until SIGINT or SIGTERM; then stops accepting, gives the
// requests in flight `grace` to finish, and cancels what is still running.
// True when everything finished within the grace period.
goro::task<bool> serve(goro::chan<request> requests, std::chrono::nanoseconds grace) {
  auto [sig, stop_signals] = goro::signal_context(goro::background(), {SIGINT, SIGTERM});
  auto [ctx, cancel] = goro::with_cancel(goro::background());  // the work's context
  goro::wait_group wg;
  for (int i = 0; i < 5; ++i) {
    wg.go([ctx = ctx, requests]() -> goro::task<> {  // ctx = ctx: Clang 14
      while (auto r = co_await requests.recv()) {
        goro::task<> t = handle(ctx, *r);
        co_await std::move(t);
      }
    });
  }
  (void)co_await sig.done().recv();  // <-sigCh
  std::printf("%s: shutting down\n", goro::cause(sig).message().c_str());
  stop_signals();     // from here on a second Ctrl-C kills the program
  requests.close();   // accept nothing new; what is queued is still handled
  goro::shutdown::drain_result r = co_await goro::shutdown::drain(wg, grace, cancel);
  std::puts(r ? "clean shutdown" : "shutdown timed out: work in flight cancelled");
  co_return r.in_time;
}

// ---- the test -----------------------------------------------------------------

class ShutdownGuide : public RuntimeTest {};
GORO_INSTANTIATE_WORKERS(ShutdownGuide);

bool run_server(goro::runtime& rt, request first, std::chrono::nanoseconds grace) {
  auto guard = goro::make_chan<int>(1);
  goro::signals::notify(guard, {SIGTERM});
  bool clean = rt.run([first, grace]() -> goro::task<bool> {
    auto requests = goro::make_chan<request>(8);
    auto server = goro::spawn(serve, requests, grace);
    EXPECT_EQ(co_await requests.send(first), goro::send_status::ok);
    auto seen = co_await handled_reports.recv_for(30s);  // the server watches SIGTERM now
    EXPECT_TRUE(seen);
    EXPECT_EQ(::kill(::getpid(), SIGTERM), 0);
    co_return co_await std::move(server);
  });
  EXPECT_TRUE(goro::signals::stop(guard));
  EXPECT_EQ(goro::detail::signal_watchers(SIGTERM), 0);
  EXPECT_EQ(goro::detail::signal_watchers(SIGINT), 0);
  return clean;
}

TEST_P(ShutdownGuide, DrainsInTimeAfterSigterm) {
  EXPECT_TRUE(run_server(rt(), request::fast, 60s));
}

TEST_P(ShutdownGuide, CancelsWorkInFlightAfterTheGracePeriod) {
  EXPECT_FALSE(run_server(rt(), request::slow, 1ms));
}

}  // namespace

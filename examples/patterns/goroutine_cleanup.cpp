// Pattern: basic goroutine with cleanup ("every goroutine must have an
// explicit termination mechanism"). The Go guides give each worker a context
// to watch and a WaitGroup to report to:
//
//   for i := 0; i < n; i++ {
//       wg.Add(1)
//       go func(id int) {
//           defer wg.Done()
//           for { select { case <-ctx.Done(): return; default: doWork(id) } }
//       }(i)
//   }
//   cancel()   // later: stop all workers
//   wg.Wait()
//
// and, for a server's goroutines that must all stop when one fails,
// errgroup.WithContext: g.Go(serve); g.Go(processQueue); return g.Wait().
#include <atomic>
#include <stdexcept>

#include "example.hpp"

namespace {

goro::task<> worker(goro::context ctx, int id, goro::sender<int> progress, std::atomic<int>* stopped) {
  goro::receiver<void> done = ctx.done();
  for (;;) {
    auto r = co_await goro::select(goro::recv(done), goro::default_case);
    if (r.index() == 0) break;                 // case <-ctx.Done(): clean exit
    co_await goro::sleep_for(1ms);             // default: doWork(id), simulated
    (void)progress.try_send(id);               // tell main some work was done
  }
  stopped->fetch_add(1);  // cleanup runs on the way out (Go: defer)
}

// The server's two goroutines: serve until the context ends; process a queue
// until a message it cannot handle.
goro::task<goro::error> serve(goro::context ctx) {
  goro::receiver<void> done = ctx.done();
  (void)co_await done.recv();  // Go: <-ctx.Done() (a real server would accept here)
  co_return ctx.err();
}
goro::task<goro::error> process_queue(goro::context ctx, goro::receiver<int> queue) {
  while (auto m = co_await queue.recv(ctx)) {
    if (*m < 0) co_return goro::error::of(std::runtime_error("queue: poison message"));
  }
  co_return ctx.err();
}

}  // namespace

goro::task<> goro_examples::goroutine_cleanup() {
  // Three workers with a context and a wait group.
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  auto progress = goro::make_chan<int>(16);
  std::atomic<int> stopped{0};
  goro::wait_group wg;
  for (int id = 0; id < 3; ++id) wg.go(worker, ctx, id, goro::sender<int>(progress), &stopped);
  for (int i = 0; i < 6; ++i) (void)co_await progress.recv();  // some work happened
  cancel();             // stop all workers
  co_await wg.wait();   // and wait until they have
  say("3 workers: cancel() then wg.wait(): %d returned, cleanup ran in each", stopped.load());
  CHECK(stopped.load() == 3);

  // errgroup: the first goroutine to fail cancels the other, Wait() reports it.
  goro::errgroup g(goro::background());
  goro::context gctx = g.context();
  auto queue = goro::make_chan<int>(4);
  for (int m : {1, 2, -1}) (void)queue.try_send(m);
  g.go([gctx] { return serve(gctx); });
  g.go([gctx, q = goro::receiver<int>(queue)] { return process_queue(gctx, q); });
  goro::error err = co_await g.wait();
  say("errgroup{serve, processQueue}: Wait() = \"%s\"; serve saw its context cancelled",
      err.message().c_str());
  CHECK(err.message() == "queue: poison message");
}

GORO_EXAMPLE_MAIN(goroutine_cleanup)

// Pattern: bounded concurrency (a semaphore). The Go guides acquire a
// semaphore.Weighted permit before starting each goroutine and release it
// when the goroutine ends, so at most maxConcurrent tasks run at once:
//
//   for _, task := range tasks {
//       if err := w.sem.Acquire(ctx, 1); err != nil { return []error{err} }
//       wg.Add(1)
//       go func(t func() error) { defer wg.Done(); defer w.sem.Release(1); ... }(task)
//   }
//   wg.Wait()
//
// The same with goro::semaphore and goro::wait_group, then in one call with
// goro::parallel::for_each (errgroup with SetLimit underneath: the first
// error cancels the rest).
#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "example.hpp"

namespace {

// Counts the tasks running at once and remembers the most.
struct gauge {
  std::atomic<int> now{0}, peak{0};
  void enter() {
    int n = now.fetch_add(1) + 1;
    int p = peak.load();
    while (n > p && !peak.compare_exchange_weak(p, n)) {
    }
  }
  void leave() { now.fetch_sub(1); }
};

goro::task<> run_task(int id, goro::semaphore* sem, gauge* g, std::atomic<int>* done) {
  g->enter();
  co_await goro::sleep_for(1ms + (id % 3) * 1ms);  // simulated work
  g->leave();
  done->fetch_add(1);
  sem->release(1);  // Go: defer w.sem.Release(1)
}

}  // namespace

goro::task<> goro_examples::bounded_concurrency() {
  goro::context ctx = goro::background();

  // The Go code: a weighted semaphore of 3 and a wait group.
  goro::semaphore sem(3);
  goro::wait_group wg;
  gauge g;
  std::atomic<int> done{0};
  for (int id = 0; id < 12; ++id) {
    if (co_await sem.acquire(ctx, 1) != goro::acquire_status::ok) break;  // parks while 3 run
    wg.go(run_task, id, &sem, &g, &done);
  }
  co_await wg.wait();
  say("semaphore(3): 12 tasks done, never more than 3 at once");
  CHECK(done.load() == 12 && g.peak.load() <= 3);

  // parallel::for_each: the same bound, and the first error cancels the rest.
  gauge g2;
  std::vector<int> files(12);
  for (int i = 0; i < 12; ++i) files[i] = i;
  auto upload = [&g2](goro::context c, int file) -> goro::task<goro::error> {
    g2.enter();
    std::error_code ec = co_await goro::sleep_for(c, file == 5 ? 1ms : 20ms);  // cut short once cancelled
    g2.leave();
    if (file == 5) co_return goro::error::of(std::runtime_error("upload 5: disk full"));
    co_return ec;
  };
  goro::error err = co_await goro::parallel::for_each(ctx, files, 3, upload);
  say("parallel::for_each(limit 3): first error \"%s\"; the rest were cancelled", err.message().c_str());
  CHECK(err.message() == "upload 5: disk full" && g2.peak.load() <= 3);
}

GORO_EXAMPLE_MAIN(bounded_concurrency)

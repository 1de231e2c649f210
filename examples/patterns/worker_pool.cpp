// Pattern: worker pool. The Go guides build a WorkerPool from a bounded job
// channel, N worker goroutines, a results channel, a WaitGroup and a cancel
// function: Start() launches the workers, Submit() sends a job unless the
// pool is shutting down, Results() is the results channel, Stop() cancels,
// waits for the workers and closes the results:
//
//   pool := NewWorkerPool(3, 10); pool.Start()
//   for i := 0; i < 5; i++ { pool.Submit(Job{ID: fmt.Sprintf("job-%d", i), ...}) }
//   for i := 0; i < 5; i++ { result := <-pool.Results() ... }
//   pool.Stop()
//
// goro::worker_pool is that type: submit() reports a stopped pool,
// stop(drain) lets the workers finish the queue, results() closes after the
// last worker, and a job that throws becomes an error result (in Go a panic
// in processJob kills the program).
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "example.hpp"

namespace {

struct job {
  int id;
  std::string data;
};

// processJob: called by the pool's workers, up to 3 at once.
goro::task<std::string> process(goro::context ctx, job j) {
  (void)co_await goro::sleep_for(ctx, 2ms);  // simulated work, cut short if the pool is cancelled
  if (j.data.empty()) throw std::invalid_argument("job " + std::to_string(j.id) + ": no data");
  co_return "processed " + j.data;
}

}  // namespace

goro::task<> goro_examples::worker_pool() {
  goro::worker_pool<job, std::string> pool(goro::background(),
                                            {.workers = 3, .queue = 10, .results = 10}, process);
  for (int i = 0; i < 6; ++i) {
    job j{i, i == 4 ? "" : "data-" + std::to_string(i)};  // job 4 is bad input
    goro::submit_status st = co_await pool.submit(std::move(j));  // named first (GCC 12)
    CHECK(st == goro::submit_status::ok);
  }
  pool.stop();  // drain: no more submits; the workers finish the queue, then exit

  std::vector<goro::job_result<job, std::string>> results;
  goro::receiver<goro::job_result<job, std::string>> done = pool.results();
  while (auto r = co_await done.recv()) results.push_back(std::move(*r));  // closed after the last worker
  co_await pool.wait();

  std::sort(results.begin(), results.end(), [](auto& a, auto& b) { return a.job.id < b.job.id; });
  say("3 workers, 6 jobs, stop(drain): %zu results", results.size());
  std::string ok, failed;
  for (auto& r : results) {
    if (r) ok += (ok.empty() ? "" : ", ") + *r.value;
    else failed = r.err.message();
  }
  say("  %s", ok.c_str());
  say("  a job that threw became an error result: \"%s\"", failed.c_str());
  CHECK(results.size() == 6 && failed == "job 4: no data");

  job late{99, "late"};
  goro::submit_status st = co_await pool.submit(std::move(late));
  say("submit after stop(): %s", st == goro::submit_status::stopped ? "stopped" : "?");
  CHECK(st == goro::submit_status::stopped);
}

GORO_EXAMPLE_MAIN(worker_pool)

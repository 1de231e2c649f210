// examples/patterns/tour.hpp — the pattern examples goro_demo's tour runs, in
// order, with the line that introduces each (examples/patterns/example.hpp).
#pragma once

#include "example.hpp"

namespace goro_examples {

struct tour_stop {
  const char* name;   // the file: examples/patterns/<name>.cpp
  const char* title;  // what it shows, in goro's words
  goro::task<> (*run)();
};

inline constexpr tour_stop tour[] = {
    {"pipeline", "pipeline: goro::pipe::generate -> map -> filter -> batch, cancelled early", &pipeline},
    {"fan_out_fan_in", "fan-out/fan-in: three workers on one channel, merge()", &fan_out_fan_in},
    {"worker_pool", "worker pool: bounded queue, results channel, stop(drain)", &worker_pool},
    {"priority_select", "select: a priority loop (try high with default_case, then both)", &priority_select},
    {"context_timeout", "select with timeout(d), and a context deadline passed down", &context_timeout},
    {"goroutine_cleanup", "goroutines that stop: ctx.done() + wait_group, errgroup", &goroutine_cleanup},
    {"errgroup", "errgroup: the first error cancels the rest; set_limit", &errgroup},
    {"bounded_concurrency", "bounded concurrency: semaphore, parallel::for_each", &bounded_concurrency},
    {"rate_limiter", "rate::limiter (x/time/rate): allow(), wait(ctx)", &rate_limiter},
    {"circuit_breaker_retry", "circuit_breaker and retry with backoff", &circuit_breaker_retry},
    {"query_racing", "race_first: first answer wins, the losers are cancelled", &query_racing},
    {"concurrent_map", "sync_map and sharded_map", &concurrent_map},
    {"leaky_buffer", "leaky buffer: a free list on try_recv/try_send, goro::pool", &leaky_buffer},
    {"protected_state", "mutex and rw_mutex around shared state", &protected_state},
    {"once", "once_value and once::call_until_success", &once},
    {"graceful_shutdown", "graceful shutdown: signal_context + shutdown::drain", &graceful_shutdown},
};

}  // namespace goro_examples

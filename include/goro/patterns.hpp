// goro/patterns.hpp — the seeds' concurrency patterns as library pieces,
// each taking a context and leaving no goroutine behind when it is cancelled:
//   goro/patterns/pipeline.hpp     goro::pipe:: generate, map, filter, take, batch,
//                                  tee, or_done, reduce, collect
//   goro/patterns/fan.hpp          goro::pipe:: merge (fan-in), fan_out
//   goro/patterns/worker_pool.hpp  goro::worker_pool<Job, R>
//   goro/patterns/parallel.hpp     goro::parallel:: for_each, map (bounded)
//   goro/patterns/race.hpp         goro::race_first
// Guide: docs/guide/patterns.md. Design: docs/design/patterns.md.
#pragma once

#include "goro/patterns/pipeline.hpp"
#include "goro/patterns/fan.hpp"
#include "goro/patterns/worker_pool.hpp"
#include "goro/patterns/parallel.hpp"
#include "goro/patterns/race.hpp"

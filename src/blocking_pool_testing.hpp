// blocking_pool_testing.hpp — test seams of the spawn_blocking pool.
//
// Internal: not installed, not part of the API. The test binaries have src/
// on their include path so that regression tests can drive the pool into the
// states they need (a thread start that fails, no idle thread to reuse)
// deterministically instead of hoping for them.
#pragma once

#include <cstddef>

namespace goro::detail::testing {

// The next n attempts to start a blocking-pool thread fail as std::thread
// does when the system is out of threads: std::system_error with
// std::errc::resource_unavailable_try_again (EAGAIN). Process-wide.
void fail_next_blocking_thread_starts(unsigned n) noexcept;

// Makes every pool thread exit, the idle ones now (as if their idle timeout
// had expired) and the busy ones when their job ends, and waits (at most
// 30 s) until the pool has no thread left; returns whether it got there.
// Then the next submit has to start a thread. Call it when no job is
// blocked: it waits for the running ones.
bool retire_blocking_threads() noexcept;

// spawn_blocking jobs waiting for a slot because their runtime is at its
// max_blocking_threads, summed over every runtime.
std::size_t blocking_jobs_queued() noexcept;

}  // namespace goro::detail::testing

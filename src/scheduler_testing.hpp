// scheduler_testing.hpp — test seams of the scheduler's wake protocol.
//
// Internal: not installed, not part of the API. The test binaries have src/
// on their include path so that regression tests can hold a waker inside a
// window of the wake protocol (docs/design/scheduler.md) that is a few
// instructions wide in real runs, instead of hoping a preemption lands there.
#pragma once

namespace goro::detail {
struct runtime_impl;
}

namespace goro::detail::testing {

// Calls rt's wakep() on this thread, as a producer that saw an idle worker
// and no spinner does.
void wakep(runtime_impl* rt) noexcept;

// Called by wakep() on a thread that took the spinning token but found no
// idle worker to hand it to, just before it gives the token back. Null: none
// (the default). Process-wide; set it while no wakep() runs.
void set_wakep_found_none_hook(void (*hook)()) noexcept;

// The wake protocol's window (goroutine.hpp, "the last touch of a wake"):
// `hook` runs on a waker that dequeued its waiter, before it touches it
// (wait_node's wake_one, wait_token's complete); `in_flight` runs on a waiter
// (resumed, or torn down at shutdown) that finds its waker still on its way
// and is about to wait for it. Null: none. Process-wide; set them while no
// wake runs.
void set_wake_seams(void (*hook)(), void (*in_flight)()) noexcept;

// wait_group's pending release (wait_group.hpp, the state comment): `hook`
// runs with adder = false on a done() that made the counter zero with the
// waiters bit set, after its fetch_add and before it takes the group's lock
// to wake the queue; with adder = true on an add(), or a waiter whose
// context is done, that found such a release and is about to wait for it.
// Null: none. Process-wide; set it while no wait_group is in use.
void set_wait_group_release_seam(void (*hook)(bool adder)) noexcept;

// How many of rt's workers are parked right now (untimed or timed): each
// has looked for work a last time and found none.
unsigned workers_parked(runtime_impl* rt) noexcept;

// Whether rt's teardown has begun (~runtime published its stop): from then
// on its workers run no goroutine that is still queued.
bool stopping(runtime_impl* rt) noexcept;

// A pending report (goroutine_finished, runtime_impl::reports_pending):
// `window` runs on a worker whose joinable goroutine ended with an exception,
// after it left the registry and before it publishes kDone (a handle dropped
// now leaves the report to that worker); `wait_blocked` runs in a quiescence
// wait (wait_no_goroutines, a leak check) each time it finds the runtime not
// quiet, under the wait's mutex. Null: none. Process-wide; set them while no
// goroutine ends and no quiescence wait runs.
void set_pending_report_seams(void (*window)(), void (*wait_blocked)()) noexcept;

// semaphore::release_slow (src/semaphore.cpp): `hook` runs on a release
// that found waiters queued, with returned = false before it takes the
// semaphore's lock, and with returned = true once it has given its permits
// back under it (before it admits waiters and unlocks). Null: none.
// Process-wide; set it while no semaphore is released.
void set_semaphore_release_seam(void (*hook)(bool returned)) noexcept;

// Runs in a leak check's wait (runtime_impl::wait_until_only) on the
// waiting thread, right after it has registered (raised quiet_threshold to
// its baseline's size and counted itself in quiet_waiters), before it
// waits. Null: none. Process-wide; set it while no such wait runs.
void set_quiet_register_seam(void (*registered)()) noexcept;

}  // namespace goro::detail::testing

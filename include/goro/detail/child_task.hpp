// goro/detail/child_task.hpp — a slow path that may park several times,
// started from inside an awaiter.
//
// The sync primitives' awaiters complete their fast path in await_ready (an
// uncontended lock is one CAS, no allocation). Some slow paths are loops that
// can park more than once (a mutex waiter that was woken and lost the race to
// a running goroutine parks again, as in Go's lockSlow; once's runner awaits
// the user's coroutine). An awaiter suspends its coroutine only once, so the
// slow path is a child task<T>, started in await_suspend with task's own
// resumption protocol (task.hpp): the child runs at once on this goroutine;
// if it finishes without parking, await_suspend returns false and the parent
// goes on; if it parks, the child's final suspend resumes the parent later.
// The child's frame comes from the frame pool and is owned by the awaiter
// (so a goroutine torn down while parked in it destroys it, and the child's
// own awaiters withdraw their wait nodes).
#pragma once

#include <coroutine>
#include <utility>

#include "goro/task.hpp"

namespace goro::detail {

// Starts `t` (which must be valid and not started) as the continuation-taking
// child of `parent`. True: `parent` stays suspended; the child resumes it.
template <class T>
bool start_child(task<T>& t, std::coroutine_handle<> parent) noexcept {
  return std::move(t).operator co_await().await_suspend(parent);
}

// The finished child's result (rethrows its exception).
template <class T>
T child_result(task<T>& t) {
  return std::move(t).operator co_await().await_resume();
}

}  // namespace goro::detail

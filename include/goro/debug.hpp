// goro/debug.hpp — seeing inside a running program: goroutine dumps (Go's
// SIGQUIT traceback, plus what Go cannot say: the channel or mutex waited
// on), and a signal or environment switch that prints them.
//
//   goro::debug::dump(std::cerr);            // every goroutine of every live runtime
//   goro::debug::dump(std::cerr, rt);        // one runtime's
//   goro::debug::dump_on_signal(SIGQUIT);    // kill -QUIT <pid> prints a dump to stderr
//   GORO_DUMP_ON=SIGQUIT ./prog              // the same without code changes
//
// A goroutine's entry says what it is doing, since when, where it waits (the
// file:line and function of the co_await: the caller of recv(), send(),
// lock(), sleep_for(), wait(), select(...)), on what, and where it was
// spawned:
//
//   goroutine 12 [chan receive, 3 ms]:
//       waiting at worker.cpp:42 in worker on chan<int> cap 0 len 0 @0x6020000000d0
//       spawned at main.cpp:17
//
// Goroutines that wait at the same place (same wait, same line, same spawn
// site) are grouped: "1000 goroutines [chan receive, 3 min]: ...".
//
// Partial deadlocks Go cannot see: goroutines parked in goro::mutex::lock
// (any form) each waiting for a mutex another one holds, in a cycle, while
// the rest of the program runs. find_deadlock_cycles() returns them and a
// dump ends with a "possible deadlock cycle" section for each. "Possible":
// a cycle is reported only when two consecutive reads of the registry show
// it identically, but a mutex is not owned (any party may unlock it, as in
// Go), so a lock handed to a goroutine outside the cycle to unlock, or a
// lock(ctx) whose context ends, may still break it. Not seen: cycles
// through channels, rw_mutex, cond or any other wait; mutexes held by plain
// threads (blocking_lock) or taken with try_lock (no goroutine holder is
// recorded for them). docs/debugging.md has the details.
// Thread safety: any thread, any time (also while goroutines run); the
// dump reads each goroutine's record under its registry lock. Entries are
// as of the moment each goroutine was read: one that just woke may show
// its last wait. docs/debugging.md has real outputs.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "goro/runtime.hpp"

namespace goro::debug {

// Writes a dump of every goroutine of every live runtime (runtimes being
// destroyed are skipped).
void dump(std::ostream& os);
// Writes a dump of rt's goroutines.
void dump(std::ostream& os, const runtime& rt);
// The same, as a string.
std::string dump_string();
std::string dump_string(const runtime& rt);

// A cycle of goroutines parked in goro::mutex::lock: goroutines[i] waits
// for the mutex goroutines[i].wait_object, held by goroutines[i + 1] (the
// last one's by goroutines[0]). One goroutine waiting for a mutex it holds
// itself is a cycle of one. Starts at the smallest id.
struct deadlock_cycle {
  std::vector<goroutine_info> goroutines;
};
// The cycles among every live runtime's goroutines (a cycle may span
// runtimes), or among rt's. Safe from any thread at any time, also from a
// goroutine; cost: two passes over the registry, pausing (for a few loads)
// each goroutine parked on a mutex that wakes while it is read.
std::vector<deadlock_cycle> find_deadlock_cycles();
std::vector<deadlock_cycle> find_deadlock_cycles(const runtime& rt);
// "possible deadlock cycle: ..." and one line per goroutine (as in a dump).
std::string format(const deadlock_cycle& c);

// Formats goroutines as a dump does (grouped), e.g. runtime::goroutines()'s.
std::string format(const std::vector<goroutine_info>& gs);
// One goroutine, ungrouped (no trailing newline after the last line).
std::string format(const goroutine_info& g);

// From now on, signal `signo` (e.g. SIGQUIT) writes a dump of every runtime
// to stderr; the process goes on (unlike Go, which exits). The handler is
// goro's signal relay (goro/signal.hpp): async-signal-safe, it only writes
// to a self-pipe; a dedicated thread, started here and never stopped, makes
// the dump. Calling it again for the same signal does nothing. Throws
// std::invalid_argument for signals that cannot be caught (as signals::notify).
// The environment variable GORO_DUMP_ON (SIGQUIT, QUIT, SIGUSR1, ... or a
// number), read when the first runtime starts, calls this for you.
void dump_on_signal(int signo);
// Dumps made by dump_on_signal so far; waits up to `timeout` for there to be
// at least `at_least` (for tests: a raise() returns before the dump is made).
std::uint64_t signal_dumps(std::uint64_t at_least = 0,
                           std::chrono::nanoseconds timeout = std::chrono::nanoseconds(0));

}  // namespace goro::debug

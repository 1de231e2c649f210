// goro/signal.hpp — Go's os/signal: POSIX signals delivered as a cancelled
// context or as values on a channel.
//
//   auto [ctx, stop] = goro::signal_context(goro::background(), {SIGINT, SIGTERM});
//   co_await ctx.done().recv();                  // Go: <-ctx.Done() (signal.NotifyContext)
//   goro::cause(ctx) == goro::signal_received(SIGTERM)   // which signal it was
//   stop();                                      // a second Ctrl-C now kills the process
//
//   auto sigs = goro::make_chan<int>(1);         // Go: make(chan os.Signal, 1)
//   goro::signals::notify(sigs, {SIGHUP});       // signal.Notify(sigs, syscall.SIGHUP)
//   while (auto s = co_await sigs.recv()) reload();
//   goro::signals::stop(sigs);                   // signal.Stop(sigs)
//
// Semantics (Go's):
//  * signal_context(parent, sigs) derives a child of parent that is
//    cancelled (err() == goro::canceled) when one of sigs arrives, with the
//    cause goro::signal_received(sig); or when parent is cancelled; or when
//    its stop function is called or destroyed (RAII, like cancel_func).
//    stop() also unregisters the context: the signals stay caught until then,
//    even after the context was cancelled (as in Go), so a program that wants
//    a second Ctrl-C to kill it calls stop() once the first one arrived.
//  * signals::notify(ch, sigs) relays each of sigs to ch with a non-blocking
//    send (try_send): when ch is full (or unbuffered with no receiver waiting)
//    the signal is DROPPED, never waited for, as in Go. Give ch a buffer
//    (1 is enough for "a signal came"). Several notify calls on the same
//    channel add to its set of signals; several channels may watch one signal
//    (each gets it). A closed channel drops every signal (Go would panic).
//  * signals::stop(ch) unregisters ch: when it returns, ch receives no more
//    signals.
//  * Arrivals of one signal that come faster than they are relayed are
//    coalesced into one delivery (Go coalesces too): a signal tells that it
//    came, not how many times.
//  * While at least one context or channel watches a signal, goro's handler
//    replaces the signal's previous disposition (default, ignore, or another
//    handler, which is not called); when the last watcher goes, the previous
//    disposition is restored exactly. Another change of the disposition made
//    while goro watches is overwritten at that point.
//
// How it works (src/signal.cpp has the details): a process-wide sigaction
// handler, installed with SA_RESTART, records the signal in an atomic flag
// and writes one byte to a non-blocking self-pipe (both async-signal-safe,
// errno preserved); a reader thread, started on first use, wakes up and
// relays the signal to the watchers. It works whichever thread the kernel
// picks and no matter when goro's workers or the blocking pool started: no
// thread's signal mask has to be set up beforehand. A program that blocked
// the signal in every thread (the usual sigwait setup) still gets it: the
// reader thread unblocks, in its own mask only, exactly the signals being
// watched, and blocks them again before a disposition is restored.
//
// Misuse throws std::invalid_argument (listed before anything is
// registered, so a call either registers everything or nothing): a nil
// channel, an empty list (Go's "all signals" is not offered), a number that
// is not a signal, SIGKILL and SIGSTOP (cannot be caught), and the signals
// the kernel raises synchronously on a faulting thread (SIGSEGV, SIGBUS,
// SIGFPE, SIGILL, SIGTRAP, SIGSYS: returning from a handler would re-run the
// fault). A signal the C library reserves (glibc's two for its threads)
// makes sigaction fail: std::system_error, nothing registered.
//
// Under ThreadSanitizer, a handler that interrupts a thread outside an
// intercepted call runs only at that thread's next intercepted call; a
// thread parked in goro's scheduler may not make one for a long time. Under
// TSan, block the watched signals in main before goro starts: goro's reader
// thread then receives them (it waits in poll, where TSan runs handlers at
// once).
//
// Not supported: fork() while signals are watched leaves the child without
// the reader thread (its watched signals are then caught and never relayed);
// watch signals again in the child only through exec. Signals arriving after
// exit() has started are relayed to watchers that may be gone: stop watching
// before returning from main.
//
// Thread-safety: every function here may be called from goroutines and plain
// threads concurrently. stop() waits for the reader thread to confirm a mask
// change (a few microseconds; the reader never waits on user code). Relaying
// happens under the signal registry's lock, which is taken before channel
// and context locks (a try_send, a context cancel) and never after them.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <system_error>
#include <utility>

#include "goro/chan.hpp"
#include "goro/context.hpp"
#include "goro/error.hpp"

namespace goro {

// The category of signal causes: value = signal number, message
// "received signal SIGTERM".
const std::error_category& signal_category() noexcept;

// The cause of a signal_context cancelled by signal signo:
//   if (goro::cause(ctx) == goro::signal_received(SIGINT)) ...
inline std::error_code signal_received(int signo) noexcept { return {signo, signal_category()}; }

namespace signals {

// Relays sigs to ch (non-blocking sends: a full channel drops; see above).
// Throws std::invalid_argument for misuse, std::system_error when a handler
// cannot be installed; either way nothing is registered.
void notify(const sender<int>& ch, std::initializer_list<int> sigs);
// Unregisters ch for every signal. True if ch was registered. When it
// returns, ch receives no more signals.
bool stop(const sender<int>& ch) noexcept;

// The signal a cancellation cause names (goro::cause(ctx) of a
// signal_context), or 0 when the cause is not a signal.
int number(const error& cause) noexcept;
// "SIGINT", "SIGRTMIN+3", or "signal 99" for a number that is not one.
std::string name(int signo);

}  // namespace signals

// The stop function of a signal_context: calling it (any number of times,
// from any thread) or destroying it unregisters the context from its signals
// (restoring their previous disposition when it was their last watcher) and
// cancels the context with goro::canceled (a no-op when a signal or the
// parent cancelled it first). Move-only. Go: the stop function of
// signal.NotifyContext.
class signal_stop {
 public:
  signal_stop() noexcept = default;  // stops nothing
  signal_stop(signal_stop&& o) noexcept : id_(std::exchange(o.id_, 0)) {}
  signal_stop& operator=(signal_stop&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, 0);
    }
    return *this;
  }
  signal_stop(const signal_stop&) = delete;
  signal_stop& operator=(const signal_stop&) = delete;
  ~signal_stop() { reset(); }

  void operator()() const noexcept;
  void reset() noexcept {
    if (id_ != 0) {
      (*this)();
      id_ = 0;
    }
  }
  explicit operator bool() const noexcept { return id_ != 0; }

 private:
  explicit signal_stop(std::uint64_t id) noexcept : id_(id) {}
  std::uint64_t id_ = 0;  // the registration in the signal registry; 0: none
  friend cancelable_context<signal_stop> signal_context(const context&, std::initializer_list<int>);
};

// A child of parent cancelled when one of sigs arrives (cause:
// signal_received(sig)). Go: signal.NotifyContext(parent, sigs...).
//   auto [ctx, stop] = goro::signal_context(goro::background(), {SIGINT, SIGTERM});
// Throws as signals::notify does.
cancelable_context<signal_stop> signal_context(const context& parent, std::initializer_list<int> sigs);

namespace detail {
// For tests: how many registrations (channels and contexts) watch signo.
int signal_watchers(int signo) noexcept;
}  // namespace detail

}  // namespace goro

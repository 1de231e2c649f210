// signal.cpp — the signal registry behind goro/signal.hpp.
//
// Pieces and who touches what:
//  * The handler (on_signal) runs on whatever thread the kernel picks, at
//    any point of that thread's code. It only does async-signal-safe things:
//    a lock-free atomic store into g_pending[signo], one write() of one byte
//    to the self-pipe's write end (non-blocking: when the pipe is full the
//    reader has a wake-up pending anyway, and the flag carries the signal),
//    and it saves and restores errno. No lock, no allocation, no goro call.
//  * The reader thread (started on first use, never stopped) blocks in
//    poll() on the pipe, then drains it. Each time it wakes it takes the registry lock,
//    applies a requested signal-mask change, and relays every pending signal
//    to its watchers: try_send on a channel, cancel(cause) of a context.
//    Neither waits nor runs user code (a cancel only queues goroutines and
//    launches after_func goroutines), so the reader never blocks for long.
//  * The registry (one, leaked on purpose so that it outlives static
//    destructors) holds the watchers and, per signal, how many watch it,
//    whether goro's handler is installed, and the disposition it replaced.
//    Everything in it is guarded by reg().mu.
//
// Signal masks. goro cannot know the masks of threads created before the
// first watcher (goro's workers, the blocking pool, the user's). When a
// signal is unblocked somewhere, the handler runs there, which is fine. When
// the program blocked it everywhere (the classic sigwait setup), it would
// stay pending forever; so the reader thread, created with every signal
// blocked, unblocks in its own mask exactly the signals that have watchers
// (count > 0). A mask change is requested by bumping mask_requested and
// waking the reader; the reader records mask_applied and notifies mask_cv.
// While it relays, the reader switches to the mask of the thread that
// started it (spawn_mask), because a relay can create threads (the default
// runtime's workers, through an after_func launch) and they inherit it.
//
// Ordering of a watch: install the handler (saving the old disposition),
// then request the mask (the reader unblocks it). Ordering of the last
// unwatch: request the mask (the reader blocks it again) and WAIT until it
// is applied, then restore the old disposition. Restoring first would leave
// a window in which a signal the program blocks everywhere else could reach
// the reader with its default action (e.g. terminate). After the wait the
// count is checked again: another watcher may have come meanwhile, and then
// the handler stays (installed[] says whether it is ours).
//
// Relaying happens under mu, so that signals::stop(ch) and signal_stop keep
// Go's promise: once they return, nothing more is delivered. Lock order:
// reg().mu -> channel and context locks (try_send, cancel); nothing in goro
// calls back into this file while holding those.
//
// fork(): the child inherits the handler and the pipe but not the reader
// thread; not supported (documented in the header).
#include "goro/signal.hpp"

#include "quiescence.hpp"
#include "runtime_impl.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <bitset>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace goro {
namespace {

constexpr int kMaxSig = NSIG;  // signal numbers are 1 .. NSIG-1
using sigbits = std::bitset<kMaxSig>;

static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the signal handler needs lock-free atomics");

// Written by the handler; read and cleared by the reader.
std::atomic<bool> g_pending[kMaxSig];
// The self-pipe's write end, -1 until the reader exists.
std::atomic<int> g_wake_fd{-1};

void wake(int fd) noexcept {
  unsigned char b = 0;
  ssize_t r = ::write(fd, &b, 1);  // EAGAIN (full): a wake-up is pending already
  (void)r;
}

void on_signal(int signo) {
  int saved = errno;
  if (signo > 0 && signo < kMaxSig) g_pending[signo].store(true, std::memory_order_release);
  int fd = g_wake_fd.load(std::memory_order_acquire);
  if (fd >= 0) wake(fd);
  errno = saved;
}

struct watcher {
  std::uint64_t id;
  sigbits sigs;
  sender<int> ch;            // a channel watcher (signals::notify), or nil
  cancel_cause_func cancel;  // a context watcher (signal_context)
};

// What a removal hands back, destroyed after the lock is released (the
// cancel_cause_func cancels when destroyed; the sender may free a channel).
struct removed {
  sender<int> ch;
  cancel_cause_func cancel;
};

struct registry {
  std::mutex mu;
  std::condition_variable mask_cv;
  std::vector<watcher> watchers;
  int count[kMaxSig] = {};
  bool installed[kMaxSig] = {};
  struct sigaction previous[kMaxSig];
  std::uint64_t next_id = 1;
  std::uint64_t mask_requested = 0;
  std::uint64_t mask_applied = 0;
  bool reader_started = false;
  sigset_t spawn_mask;  // the mask of the thread that started the reader
  int read_fd = -1;
  int write_fd = -1;
};

registry& reg() {
  static registry* r = new registry;  // never destroyed: the reader uses it until exit
  return *r;
}

void relay(registry& r, int signo) {
  for (watcher& w : r.watchers) {
    if (!w.sigs.test(static_cast<std::size_t>(signo))) continue;
    if (w.ch) {
      int v = signo;
      (void)w.ch.try_send(v);  // full or closed: dropped, as in Go
    } else {
      w.cancel(error(signal_received(signo)));
    }
  }
}

[[noreturn]] void reader_main(registry* r) {
  unsigned char buf[256];
  for (;;) {
    // poll, then drain the (non-blocking) read end: poll is never restarted
    // after a handler (SA_RESTART or not), so a signal the kernel hands to
    // this thread always brings it back here. ThreadSanitizer needs that: it
    // runs a handler that interrupts non-blocking code only at the thread's
    // next intercepted call, and a read() restarted under SA_RESTART would
    // never return.
    struct pollfd p = {r->read_fd, POLLIN, 0};
    (void)::poll(&p, 1, -1);  // -1 with EINTR: look anyway
    while (::read(r->read_fd, buf, sizeof buf) > 0) {
    }
    std::lock_guard<std::mutex> l(r->mu);
    if (r->mask_applied != r->mask_requested) {
      sigset_t m;
      sigfillset(&m);
      for (int s = 1; s < kMaxSig; ++s)
        if (r->count[s] > 0) sigdelset(&m, s);
      // A pending watched signal is delivered here, to this thread, during
      // the call: the handler sets its flag and the loop below relays it.
      pthread_sigmask(SIG_SETMASK, &m, nullptr);
      r->mask_applied = r->mask_requested;
      r->mask_cv.notify_all();
    }
    bool any = false;
    for (int s = 1; s < kMaxSig && !any; ++s) any = g_pending[s].load(std::memory_order_relaxed);
    if (!any) continue;
    // Relay with the mask of the thread that started the reader: a cancel
    // can launch after_func goroutines and so create the default runtime,
    // whose workers inherit this thread's mask; they must not inherit the
    // reader's (every signal blocked but the watched ones, which would stay
    // unblocked there after they are unwatched).
    sigset_t own;
    pthread_sigmask(SIG_SETMASK, &r->spawn_mask, &own);
    for (int s = 1; s < kMaxSig; ++s) {
      if (g_pending[s].load(std::memory_order_relaxed) &&
          g_pending[s].exchange(false, std::memory_order_acq_rel))
        relay(*r, s);
    }
    pthread_sigmask(SIG_SETMASK, &own, nullptr);
  }
}

void start_reader(registry& r) {
  if (r.reader_started) return;
  if (r.read_fd < 0) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::system_error(errno, std::generic_category(), "goro::signals: pipe2");
    r.read_fd = fds[0];
    r.write_fd = fds[1];
    g_wake_fd.store(fds[1], std::memory_order_release);
  }
  // The reader starts with every signal blocked (a thread inherits its
  // creator's mask) and unblocks only watched ones.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r.spawn_mask = old;
  // Inside the quiescence epoch: the deadlock check counts the reader
  // (quiescence.cpp).
  detail::epoch_begin();
  try {
    std::thread(reader_main, &r).detach();
  } catch (...) {
    detail::epoch_end();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  r.reader_started = true;
  detail::epoch_end();
}

std::uint64_t request_mask(registry& r) {
  std::uint64_t gen = ++r.mask_requested;
  wake(r.write_fd);
  return gen;
}

sigbits validate(std::initializer_list<int> sigs, const char* who) {
  if (sigs.size() == 0)
    throw std::invalid_argument(std::string(who) + ": no signals given (list them: {SIGINT, SIGTERM})");
  sigbits set;
  for (int s : sigs) {
    if (s <= 0 || s >= kMaxSig)
      throw std::invalid_argument(std::string(who) + ": " + std::to_string(s) + " is not a signal number");
    if (s == SIGKILL || s == SIGSTOP)
      throw std::invalid_argument(std::string(who) + ": " + signals::name(s) + " cannot be caught");
    if (s == SIGSEGV || s == SIGBUS || s == SIGFPE || s == SIGILL || s == SIGTRAP || s == SIGSYS)
      throw std::invalid_argument(std::string(who) + ": " + signals::name(s) +
                                  " is raised synchronously by faults and cannot be relayed");
    set.set(static_cast<std::size_t>(s));
  }
  return set;
}

// Registers the signals in `add` that the watcher did not have yet. Called
// under r.mu, after the reader started. All or nothing: every signal is
// queried first (sigaction refuses the C library's reserved ones, queries
// included), so installing cannot fail afterwards.
void watch(registry& r, const sigbits& add, const char* who) {
  for (int s = 1; s < kMaxSig; ++s) {
    struct sigaction q;
    if (add.test(static_cast<std::size_t>(s)) && ::sigaction(s, nullptr, &q) != 0)
      throw std::system_error(errno, std::generic_category(),
                              std::string(who) + ": " + signals::name(s) + " cannot be handled");
  }
  bool changed = false;
  for (int s = 1; s < kMaxSig; ++s) {
    if (!add.test(static_cast<std::size_t>(s))) continue;
    if (r.count[s]++ > 0) continue;
    changed = true;
    if (r.installed[s]) continue;  // the last watcher is leaving: keep our handler
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = &on_signal;
    sigemptyset(&sa.sa_mask);
    // SA_RESTART: threads interrupted in a slow system call (a read in a
    // spawn_blocking job) resume it instead of failing with EINTR.
    sa.sa_flags = SA_RESTART;
    int rc = ::sigaction(s, &sa, &r.previous[s]);
    GORO_ASSERT(rc == 0, "goro::signals: sigaction failed after the query succeeded");
    r.installed[s] = true;
  }
  if (changed) request_mask(r);
}

// Removes the signals in `drop` from the registry's counts, with the
// reader's mask and the dispositions following. Called under l (released
// while waiting for the reader).
void unwatch(std::unique_lock<std::mutex>& l, registry& r, const sigbits& drop) {
  bool last = false;
  for (int s = 1; s < kMaxSig; ++s) {
    if (!drop.test(static_cast<std::size_t>(s))) continue;
    GORO_ASSERT(r.count[s] > 0, "goro::signals: watcher count underflow");
    if (--r.count[s] == 0) last = true;
  }
  if (!last) return;
  std::uint64_t gen = request_mask(r);
  r.mask_cv.wait(l, [&] { return r.mask_applied >= gen; });
  for (int s = 1; s < kMaxSig; ++s) {
    if (drop.test(static_cast<std::size_t>(s)) && r.count[s] == 0 && r.installed[s]) {
      ::sigaction(s, &r.previous[s], nullptr);
      r.installed[s] = false;
    }
  }
}

// Unlinks watchers[i] (under l) and returns what it held.
removed remove_at(std::unique_lock<std::mutex>& l, registry& r, std::size_t i) {
  removed out{std::move(r.watchers[i].ch), std::move(r.watchers[i].cancel)};
  sigbits drop = r.watchers[i].sigs;
  r.watchers.erase(r.watchers.begin() + static_cast<std::ptrdiff_t>(i));
  unwatch(l, r, drop);
  return out;
}

std::uint64_t add_context_watcher(const sigbits& set, cancel_cause_func& cancel) {
  registry& r = reg();
  std::unique_lock<std::mutex> l(r.mu);
  start_reader(r);
  r.watchers.reserve(r.watchers.size() + 1);  // push_back below cannot throw
  watch(r, set, "goro::signal_context");
  std::uint64_t id = r.next_id++;
  r.watchers.push_back(watcher{id, set, {}, std::move(cancel)});
  return id;
}

class signal_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "signal"; }
  std::string message(int c) const override { return "received signal " + signals::name(c); }
};

}  // namespace

const std::error_category& signal_category() noexcept {
  static const signal_category_impl c;
  return c;
}

namespace signals {

void notify(const sender<int>& ch, std::initializer_list<int> sigs) {
  if (!ch) throw std::invalid_argument("goro::signals::notify: nil channel");
  sigbits set = validate(sigs, "goro::signals::notify");
  registry& r = reg();
  std::unique_lock<std::mutex> l(r.mu);
  start_reader(r);
  for (watcher& w : r.watchers) {
    if (w.ch == ch) {  // Go: Notify again on the same channel adds signals
      sigbits add = set & ~w.sigs;
      watch(r, add, "goro::signals::notify");
      w.sigs |= set;
      return;
    }
  }
  r.watchers.reserve(r.watchers.size() + 1);
  watch(r, set, "goro::signals::notify");
  r.watchers.push_back(watcher{r.next_id++, set, ch, {}});
}

bool stop(const sender<int>& ch) noexcept {
  if (!ch) return false;
  registry& r = reg();
  removed out;
  {
    std::unique_lock<std::mutex> l(r.mu);
    std::size_t i = 0;
    while (i < r.watchers.size() && !(r.watchers[i].ch == ch)) ++i;
    if (i == r.watchers.size()) return false;
    out = remove_at(l, r, i);
  }
  return true;
}

int number(const error& cause) noexcept {
  if (cause.exception() || cause.code().category() != signal_category()) return 0;
  return cause.code().value();
}

std::string name(int signo) {
  switch (signo) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGCHLD: return "SIGCHLD";
    case SIGCONT: return "SIGCONT";
    case SIGSTOP: return "SIGSTOP";
    case SIGTSTP: return "SIGTSTP";
    case SIGTTIN: return "SIGTTIN";
    case SIGTTOU: return "SIGTTOU";
    case SIGURG: return "SIGURG";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGVTALRM: return "SIGVTALRM";
    case SIGPROF: return "SIGPROF";
    case SIGWINCH: return "SIGWINCH";
    case SIGIO: return "SIGIO";
    case SIGSYS: return "SIGSYS";
    default: break;
  }
#ifdef SIGPWR
  if (signo == SIGPWR) return "SIGPWR";
#endif
#ifdef SIGRTMIN
  if (signo >= SIGRTMIN && signo <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(signo - SIGRTMIN);
#endif
  return "signal " + std::to_string(signo);
}

}  // namespace signals

void signal_stop::operator()() const noexcept {
  if (id_ == 0) return;
  registry& r = reg();
  removed out;
  {
    std::unique_lock<std::mutex> l(r.mu);
    for (std::size_t i = 0; i < r.watchers.size(); ++i) {
      if (r.watchers[i].id == id_) {
        out = remove_at(l, r, i);
        break;
      }
    }
  }
  out.cancel();  // cancels with goro::canceled unless a signal or the parent came first
}

cancelable_context<signal_stop> signal_context(const context& parent, std::initializer_list<int> sigs) {
  sigbits set = validate(sigs, "goro::signal_context");
  auto cc = with_cancel_cause(parent);
  // On a throw, cc.cancel cancels the context it made as it goes.
  std::uint64_t id = add_context_watcher(set, cc.cancel);
  return {std::move(cc.ctx), signal_stop(id)};
}

namespace detail {
unsigned signal_reader_threads(bool* watching) noexcept {
  registry& r = reg();
  std::lock_guard<std::mutex> l(r.mu);
  *watching = !r.watchers.empty();
  return r.reader_started ? 1u : 0u;
}

int signal_watchers(int signo) noexcept {
  if (signo <= 0 || signo >= kMaxSig) return 0;
  registry& r = reg();
  std::lock_guard<std::mutex> l(r.mu);
  return r.count[signo];
}
}  // namespace detail

}  // namespace goro

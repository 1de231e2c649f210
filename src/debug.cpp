// debug.cpp — goroutine dumps (goro/debug.hpp), the dump-on-signal thread
// and the GORO_DUMP_ON switch, and goro::testing::leak_check.
//
// Reading: each runtime's registry snapshot (runtime_impl::snapshot, as a
// reader of each shard; see registry.cpp) gives goroutine_info records made only
// of numbers and static strings, so formatting needs no lock and touches no
// goroutine. Runtimes come from live_runtimes(), each with a reference held
// while we read it.
//
// Deadlock cycles: runtime_impl::mutex_waits (registry.cpp) gives each
// goroutine parked on a goro::mutex with the holder's id, read while the
// waiter was pinned (so the mutex was alive). The wait-for graph has one
// edge per waiter (waiter -> holder), so its cycles are found by following
// edges from each node; a cycle counts only if the next pass finds it again
// with the same members, mutexes, sites and park times.
//
// Dump on signal: signals::notify relays the signal (async-signal-safely:
// a flag and a self-pipe byte, then goro's signal reader thread) as a
// try_send into a channel of capacity 1; the dumper thread, started on
// first use and never stopped, receives and writes the dump to stderr with
// write(2). Signals arriving while a dump is being made coalesce (the
// channel is full): one more dump follows.
#include "goro/debug.hpp"

#include <unistd.h>

#include <algorithm>
#include <bitset>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "goro/chan.hpp"
#include "goro/signal.hpp"
#include "goro/testing/leak_check.hpp"
#include "runtime_impl.hpp"

namespace goro::debug {
namespace {

std::string duration_text(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms < 1000) return std::to_string(ms) + " ms";
  if (ms < 120'000) return std::to_string(ms / 1000) + " s";
  if (ms < 7'200'000) return std::to_string(ms / 60'000) + " min";
  return std::to_string(ms / 3'600'000) + " h";
}

std::string address(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

// "[chan receive, 3 ms]" / "[runnable]" / "[running]"
std::string status_text(const goroutine_info& g, std::chrono::milliseconds longest) {
  switch (g.state) {
    case goroutine_state::runnable:
      return "[runnable]";
    case goroutine_state::running:
      return "[running]";
    case goroutine_state::waiting:
      break;
  }
  return std::string("[") + (g.wait_reason ? g.wait_reason : "waiting") + ", " +
         duration_text(longest) + "]";
}

// What it waits on, without the address: "chan<int> cap 0 len 0", "select (3 cases)", ...
// (Built with += only: GCC 12 gives -Wrestrict false positives on string operator+ here.)
std::string object_text(const goroutine_info& g) {
  std::string out;
  if (g.wait_object_kind == nullptr) {
    if (g.wait_reason != nullptr && std::strcmp(g.wait_reason, "select") == 0) {
      out += "select (";
      out += std::to_string(g.wait_aux);
      out += " cases)";
    }
    return out;
  }
  std::string_view k = g.wait_object_kind;
  if (k == "chan") {
    if (g.wait_object == nullptr) out += "nil ";
    out += "chan<";
    out += g.chan_elem_type.empty() ? std::string_view("?") : g.chan_elem_type;
    out += ">";
    if (g.wait_object != nullptr) {
      out += " cap ";
      out += std::to_string(g.chan_cap);
      out += " len ";
      out += std::to_string(g.chan_len);
    }
    return out;
  }
  out += k;
  if (k == "goroutine") {
    out += " ";
    out += std::to_string(g.wait_aux);
  }
  return out;
}

std::string where_text(const goroutine_info& g) {
  if (g.wait_file == nullptr) return "waiting at an unrecorded place";
  std::string s = std::string("waiting at ") + g.wait_file + ":" + std::to_string(g.wait_line);
  if (g.wait_function != nullptr && *g.wait_function != '\0') s += std::string(" in ") + g.wait_function;
  return s;
}

void append_body(std::string& out, const goroutine_info& g, bool same_object, std::size_t n) {
  out += "    ";
  if (g.state == goroutine_state::waiting) {
    out += where_text(g);
    std::string obj = object_text(g);
    if (!obj.empty()) {
      out += " on ";
      if (same_object) {
        out += obj;
        if (g.wait_object != nullptr && std::string_view(g.wait_object_kind ? g.wait_object_kind : "") != "goroutine")
          out += " @" + address(g.wait_object);
      } else {
        out += std::to_string(n) + " different " + obj;
      }
    }
    out += "\n    ";
  }
  out += std::string("spawned at ") + g.file + ":" + std::to_string(g.line) + "\n";
}

// Goroutines that do the same thing at the same place.
using group_key = std::tuple<int, std::string_view, std::string_view, int, std::string_view,
                             std::string_view, int>;
group_key key_of(const goroutine_info& g) {
  auto sv = [](const char* s) { return s ? std::string_view(s) : std::string_view(); };
  return {static_cast<int>(g.state), sv(g.wait_reason), sv(g.wait_file), g.wait_line,
          sv(g.wait_function), sv(g.file), g.line};
}

}  // namespace

std::string format(const goroutine_info& g) {
  std::string out = "goroutine " + std::to_string(g.id) + " " + status_text(g, g.waiting_for) + ":\n";
  append_body(out, g, true, 1);
  out.pop_back();
  return out;
}

std::string format(const std::vector<goroutine_info>& gs) {
  std::map<group_key, std::vector<const goroutine_info*>> groups;
  for (const goroutine_info& g : gs) groups[key_of(g)].push_back(&g);
  // In order of each group's smallest id (gs is usually sorted by id).
  std::vector<const std::vector<const goroutine_info*>*> order;
  for (auto& kv : groups) order.push_back(&kv.second);
  std::sort(order.begin(), order.end(),
            [](auto* a, auto* b) { return a->front()->id < b->front()->id; });
  std::string out;
  for (auto* grp : order) {
    const goroutine_info& first = *grp->front();
    if (grp->size() == 1) {
      out += format(first) + "\n";
      continue;
    }
    std::chrono::milliseconds longest{0};
    bool same_object = true;
    for (const goroutine_info* g : *grp) {
      longest = std::max(longest, g->waiting_for);
      if (g->wait_object != first.wait_object || g->wait_aux != first.wait_aux) same_object = false;
    }
    out += std::to_string(grp->size()) + " goroutines " + status_text(first, longest) + ":\n";
    append_body(out, first, same_object, grp->size());
    out += "    ids";
    std::size_t shown = 0;
    for (const goroutine_info* g : *grp) {
      if (shown == 8) {
        out += " ...";
        break;
      }
      out += " " + std::to_string(g->id);
      ++shown;
    }
    out += "\n";
  }
  return out;
}

// ---- deadlock cycles ---------------------------------------------------------------

namespace {
using mutex_wait = detail::runtime_impl::mutex_wait;

std::vector<mutex_wait> mutex_waits_of(const std::vector<detail::runtime_impl*>& rts) {
  std::vector<mutex_wait> out;
  for (detail::runtime_impl* rt : rts) {
    std::vector<mutex_wait> w = rt->mutex_waits();
    out.insert(out.end(), w.begin(), w.end());
  }
  return out;
}

// The cycles of the wait-for graph (each waiter has one edge, to its
// mutex's holder), each rotated to start at its smallest id.
std::vector<std::vector<mutex_wait>> cycles_of(const std::vector<mutex_wait>& ws) {
  std::map<std::uint64_t, std::size_t> at;
  for (std::size_t i = 0; i < ws.size(); ++i) at[ws[i].info.id] = i;
  enum : char { fresh, on_path, finished };
  std::vector<char> mark(ws.size(), fresh);
  std::vector<std::vector<mutex_wait>> out;
  for (std::size_t start = 0; start < ws.size(); ++start) {
    std::vector<std::size_t> path;
    std::size_t v = start;
    for (;;) {
      if (mark[v] == finished) break;
      if (mark[v] == on_path) {  // back at a node of this walk: a cycle from v
        auto from = std::find(path.begin(), path.end(), v);
        std::vector<mutex_wait> c;
        for (auto it = from; it != path.end(); ++it) c.push_back(ws[*it]);
        auto smallest = std::min_element(c.begin(), c.end(), [](const mutex_wait& a, const mutex_wait& b) {
          return a.info.id < b.info.id;
        });
        std::rotate(c.begin(), smallest, c.end());
        out.push_back(std::move(c));
        break;
      }
      mark[v] = on_path;
      path.push_back(v);
      auto next = ws[v].holder == 0 ? at.end() : at.find(ws[v].holder);
      if (next == at.end()) break;  // held by a running goroutine, a thread, or nobody
      v = next->second;
    }
    for (std::size_t p : path) mark[p] = finished;
  }
  return out;
}

bool same_wait(const mutex_wait& a, const mutex_wait& b) {
  return a.info.id == b.info.id && a.holder == b.holder && a.info.wait_object == b.info.wait_object &&
         a.info.wait_file == b.info.wait_file && a.info.wait_line == b.info.wait_line &&
         a.since == b.since;  // the same park, not a new one at the same place
}

std::vector<deadlock_cycle> find_cycles(const std::vector<detail::runtime_impl*>& rts) {
  std::vector<std::vector<mutex_wait>> first = cycles_of(mutex_waits_of(rts));
  if (first.empty()) return {};
  std::vector<std::vector<mutex_wait>> second = cycles_of(mutex_waits_of(rts));
  std::vector<deadlock_cycle> out;
  for (const auto& c : second) {
    bool seen = false;
    for (const auto& f : first)
      if (f.size() == c.size() && std::equal(f.begin(), f.end(), c.begin(), same_wait)) seen = true;
    if (!seen) continue;
    deadlock_cycle d;
    for (const mutex_wait& w : c) d.goroutines.push_back(w.info);
    out.push_back(std::move(d));
  }
  return out;
}

std::string cycles_text(const std::vector<deadlock_cycle>& cs) {
  std::string out;
  for (const deadlock_cycle& c : cs) out += format(c) + "\n";
  return out;
}
}  // namespace

std::vector<deadlock_cycle> find_deadlock_cycles() {
  std::vector<detail::runtime_impl*> rts = detail::live_runtimes();
  std::vector<deadlock_cycle> out = find_cycles(rts);
  for (detail::runtime_impl* rt : rts) detail::release_runtime(rt);
  return out;
}
std::vector<deadlock_cycle> find_deadlock_cycles(const runtime& rt) { return find_cycles({rt.impl()}); }

std::string format(const deadlock_cycle& c) {
  const std::size_t n = c.goroutines.size();
  std::string out = "possible deadlock cycle: " + std::to_string(n) + " goroutine(s) each waiting for a mutex " +
                    (n == 1 ? "it holds itself" : "the next one holds") + ":";
  for (std::size_t i = 0; i < n; ++i) {
    const goroutine_info& g = c.goroutines[i];
    out += "\n    goroutine " + std::to_string(g.id) + " " + where_text(g) + " on mutex @" +
           address(g.wait_object) + " held by goroutine " + std::to_string(c.goroutines[(i + 1) % n].id);
  }
  return out;
}

// ---- dumps --------------------------------------------------------------------------

namespace {
std::string dump_runtime(detail::runtime_impl* rt) {
  std::vector<goroutine_info> gs = rt->snapshot();
  std::string out = "runtime " + address(rt) + " (" + std::to_string(rt->workers.size()) +
                    " workers): " + std::to_string(gs.size()) + " goroutine(s)\n";
  out += format(gs);
  return out;
}
}  // namespace

std::string dump_string() {
  std::vector<detail::runtime_impl*> rts = detail::live_runtimes();
  std::string out = "goro: goroutine dump, " + std::to_string(rts.size()) + " runtime(s)\n";
  for (detail::runtime_impl* rt : rts) out += dump_runtime(rt);
  out += cycles_text(find_cycles(rts));  // across runtimes
  for (detail::runtime_impl* rt : rts) detail::release_runtime(rt);
  return out;
}
std::string dump_string(const runtime& rt) {
  return dump_runtime(rt.impl()) + cycles_text(find_cycles({rt.impl()}));
}
void dump(std::ostream& os) { os << dump_string() << std::flush; }
void dump(std::ostream& os, const runtime& rt) { os << dump_string(rt) << std::flush; }

// ---- dump on signal --------------------------------------------------------------

namespace {
struct signal_dumper {
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t dumps = 0;
  std::bitset<NSIG> watched;
  chan<int> ch = make_chan<int>(1);
  bool started = false;
};
signal_dumper& dumper() {
  static auto* d = new signal_dumper;  // leaked: its thread never stops
  return *d;
}

void write_all(int fd, const std::string& s) {
  const char* p = s.data();
  std::size_t n = s.size();
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}
}  // namespace

void dump_on_signal(int signo) {
  signal_dumper& d = dumper();
  std::lock_guard<std::mutex> l(d.mu);
  if (signo > 0 && signo < NSIG && d.watched.test(static_cast<std::size_t>(signo))) return;
  if (!d.started) {
    std::thread([&d] {
      while (auto s = d.ch.blocking_recv()) {
        std::string text = "goro: signal " + signals::name(*s) + ": " + dump_string();
        write_all(STDERR_FILENO, text);
        std::lock_guard<std::mutex> g(d.mu);
        ++d.dumps;
        d.cv.notify_all();
      }
    }).detach();
    d.started = true;
  }
  signals::notify(d.ch, {signo});  // validates signo (throws for SIGKILL, ...)
  d.watched.set(static_cast<std::size_t>(signo));
}

std::uint64_t signal_dumps(std::uint64_t at_least, std::chrono::nanoseconds timeout) {
  signal_dumper& d = dumper();
  std::unique_lock<std::mutex> l(d.mu);
  d.cv.wait_for(l, timeout, [&] { return d.dumps >= at_least; });
  return d.dumps;
}

}  // namespace goro::debug

namespace goro::detail {
namespace {
int parse_signal(const char* s) {
  std::string v = s;
  if (v.rfind("SIG", 0) == 0) v = v.substr(3);
  static const std::pair<const char*, int> names[] = {
      {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP},
      {"INT", SIGINT},   {"TERM", SIGTERM}, {"PWR", SIGPWR},   {"WINCH", SIGWINCH}};
  for (auto& [n, sig] : names)
    if (v == n) return sig;
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (end != v.c_str() && *end == '\0' && n > 0 && n < NSIG) return static_cast<int>(n);
  return 0;
}
}  // namespace

void dump_on_env_once() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* v = std::getenv("GORO_DUMP_ON");
    if (v == nullptr || *v == '\0') return;
    int sig = parse_signal(v);
    if (sig == 0) {
      std::fprintf(stderr, "goro: GORO_DUMP_ON=%s: not a signal name or number; ignored\n", v);
      return;
    }
    try {
      debug::dump_on_signal(sig);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "goro: GORO_DUMP_ON=%s: %s\n", v, e.what());
    }
  });
}
}  // namespace goro::detail

// ---- leak_check -----------------------------------------------------------------

namespace goro::testing {
namespace {
std::vector<detail::runtime_impl*> runtimes_of(const leak_check::options& o) {
  if (o.rt != nullptr) {
    detail::runtime_impl* rt = o.rt->impl();
    rt->refs.fetch_add(1, std::memory_order_relaxed);
    return {rt};
  }
  return detail::live_runtimes();
}
}  // namespace

leak_check::leak_check(options o) : o_(std::move(o)) {
  if (!o_.ignore_existing) return;
  for (detail::runtime_impl* rt : runtimes_of(o_)) {
    for (const goroutine_info& g : rt->snapshot()) baseline_.push_back(g.id);
    detail::release_runtime(rt);
  }
  std::sort(baseline_.begin(), baseline_.end());
}

leak_check::~leak_check() {
  if (!checked_) (void)check();
}

std::vector<goroutine_info> leak_check::check() {
  if (checked_) return {};
  checked_ = true;
  const auto until = std::chrono::steady_clock::now() + o_.grace;
  std::vector<goroutine_info> leaked;
  for (detail::runtime_impl* rt : runtimes_of(o_)) {
    auto left = std::max(std::chrono::nanoseconds(0),
                         std::chrono::nanoseconds(until - std::chrono::steady_clock::now()));
    if (!rt->wait_until_only(baseline_, left))
      for (goroutine_info& g : rt->snapshot())
        if (!std::binary_search(baseline_.begin(), baseline_.end(), g.id)) leaked.push_back(g);
    detail::release_runtime(rt);
  }
  if (!leaked.empty()) {
    std::string report = "goro::testing::leak_check: " + std::to_string(leaked.size()) +
                         " goroutine(s) still alive:\n" + debug::format(leaked);
    if (o_.report)
      o_.report(leaked, report);
    else
      std::fputs(report.c_str(), stderr);
  }
  return leaked;
}

}  // namespace goro::testing

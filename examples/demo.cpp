// goro_demo — the showcase `make demo` runs.
//
// 1. md5all (examples/md5all.hpp): the bounded-parallelism MD5All of
//    go.dev/blog/pipelines on a real tree (/usr/include unless a directory is
//    given): a walker goroutine, 20 digester goroutines whose file reads run
//    in spawn_blocking (up to 8 files per job), results sorted by path. The full `md5  path` listing
//    goes to <out>/md5all.txt (md5sum's format); the terminal gets the first
//    lines and a summary, and a progress line on stderr when it is a terminal.
// 2. The check: md5sum over the same files (xargs -0 md5sum, a subprocess);
//    its output must be byte-identical: MATCH or MISMATCH.
// 3. The time: goro's md5all beside the Go twin (bench/go/md5all, built by
//    `make demo` when Go is installed), median of a few warm runs each.
// 4. A short tour of the pattern examples (examples/patterns/<name>.cpp, one
//    program each, compiled in here without their main()): pipeline,
//    fan-out/fan-in, worker pool, select, context deadlines, errgroup, rate
//    limiting, circuit breaker and retry, query racing, graceful shutdown on a
//    signal. --tour-all runs all 16 (examples/patterns/tour.hpp).
//
// Errors: a file or directory that cannot be read is reported like md5sum
// and find report it ("md5all: PATH: Permission denied") and the rest goes
// on (exit status 1, as md5sum's); --fail-fast makes it stop everything
// instead, as the blog's MD5All does. The root not being readable stops the
// run (status 2). Ctrl-C cancels the run's context, a
// goro::signal_context(background(), {SIGINT}): every goroutine stops at its
// next channel operation (status 130); the demo then stops watching SIGINT,
// so a second Ctrl-C kills it at once.
//
// Usage: goro_demo [DIR] [--out DIR] [--go PATH] [--rounds N] [--digesters N]
//                  [--batch N] [--hash-in blocking|goroutine] [--fail-fast] [--no-tour]
//                  [--tour-all]
// Exit status: 0 all files hashed and MATCH; 1 some files unreadable (and
// MATCH); 2 md5all stopped on an error; 3 MISMATCH or md5sum could not run;
// 130 interrupted.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <goro/goro.hpp>

#include <goro/signal.hpp>

#include "md5all.hpp"
#include "patterns/tour.hpp"

extern char** environ;

using namespace std::chrono_literals;

namespace {

// ---- command line ----------------------------------------------------------------

struct args {
  md5all::options md5;
  std::string out_dir = "build/demo";
  std::string go_twin;  // path of the Go twin's binary; empty: not given
  int rounds = 3;       // timing runs per side
  bool tour = true;
  bool tour_all = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "goro_demo: %s\n"
               "usage: goro_demo [DIR] [--out DIR] [--go PATH] [--rounds N] [--digesters N]\n"
               "                 [--batch N] [--hash-in blocking|goroutine] [--fail-fast] [--no-tour]\n"
               "                 [--tour-all]\n",
               why);
  std::exit(2);
}

int to_int(const char* s, int lo) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > 100000) usage("bad number");
  return static_cast<int>(v);
}

args parse(int argc, char** argv) {
  args a;
  bool have_root = false;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage((s + " needs a value").c_str());
      return argv[++i];
    };
    if (s == "--out") a.out_dir = value();
    else if (s == "--go") a.go_twin = value();
    else if (s == "--rounds") a.rounds = to_int(value(), 0);
    else if (s == "--digesters") a.md5.digesters = to_int(value(), 1);
    else if (s == "--batch") a.md5.batch = to_int(value(), 1);
    else if (s == "--fail-fast") a.md5.fail_fast = true;
    else if (s == "--no-tour") a.tour = false;
    else if (s == "--tour-all") a.tour_all = true;
    else if (s == "--hash-in") {
      std::string v = value();
      if (v == "blocking") a.md5.where = md5all::hash_site::blocking;
      else if (v == "goroutine") a.md5.where = md5all::hash_site::goroutine;
      else usage("--hash-in takes blocking or goroutine");
    } else if (s == "-h" || s == "--help") usage("the showcase: md5all, then a short tour");
    else if (s.starts_with("-")) usage(("unknown option " + s).c_str());
    else if (have_root) usage("more than one directory");
    else {
      a.md5.root = s;
      have_root = true;
    }
  }
  return a;
}

// ---- Ctrl-C ----------------------------------------------------------------------

// Once the first Ctrl-C has cancelled `interrupted`, stop watching SIGINT so
// that a second one kills the demo at once (Go: stop() after NotifyContext's
// context is done). Returns when either context is done.
goro::task<> second_ctrl_c_kills(goro::context interrupted, goro::context finished,
                                 const goro::signal_stop* stop) {
  goro::receiver<void> first = interrupted.done(), end = finished.done();
  auto r = co_await goro::select(goro::recv(first), goro::recv(end));
  if (r.index() == 0) (*stop)();
}

// ---- presentation ----------------------------------------------------------------

const bool g_tty_err = isatty(STDERR_FILENO) != 0;

std::string commas(std::uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string megabytes(std::uint64_t b) {
  char buf[32];
  if (b < 1000) return std::to_string(b) + " B";
  if (b < 1000000)
    std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(b) / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(b) / 1e6);
  return buf;
}

double seconds_since(goro::clock::time_point t0) {
  return std::chrono::duration<double>(goro::clock::now() - t0).count();
}

// The progress line: on stderr, only when stderr is a terminal.
void status(const std::string& s) {
  if (!g_tty_err) return;
  std::fprintf(stderr, "\r\033[K%s", s.c_str());
  std::fflush(stderr);
}
void clear_status() { status(""); }

goro::task<> show_progress(goro::context stop, const md5all::progress* p) {
  for (;;) {
    std::error_code done = co_await goro::sleep_for(stop, 100ms);
    if (done) co_return;
    status("  hashing... " + commas(p->files.load(std::memory_order_relaxed)) + " files, " +
           megabytes(p->bytes.load(std::memory_order_relaxed)));
  }
}

// ---- blocking helpers (run in spawn_blocking) -----------------------------------------

bool write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  return static_cast<bool>(f.flush());
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

bool on_path(const std::string& prog) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string d; std::getline(dirs, d, ':');)
    if (!d.empty() && access((d + "/" + prog).c_str(), X_OK) == 0) return true;
  return false;
}

// Runs argv with stdin/stdout/stderr redirected to files; returns its exit
// status (128+signal if killed), or -1 if it could not be started.
int run_process(const std::vector<std::string>& argv, const std::string& in,
                const std::string& out, const std::string& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> av;
  for (const std::string& s : argv) av.push_back(const_cast<char*>(s.c_str()));
  av.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, av[0], &fa, nullptr, av.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// ---- md5all, checked and timed -------------------------------------------------------

struct check_result {
  bool ran = false;  // md5sum ran and its output was compared
  bool match = false;
  std::string detail;  // why not, or the first differing line
  double seconds = 0;
};

// md5sum over `files` (the same sorted list md5all reports, unreadable files
// included: md5sum reports those on stderr too), compared with `ours`.
goro::task<check_result> check_with_md5sum(goro::context ctx, const std::string& out_dir,
                                           const std::vector<std::string>& files,
                                           const std::string& ours) {
  check_result c;
  const std::string list = out_dir + "/files.list", theirs_path = out_dir + "/md5sum.txt",
                    errs = out_dir + "/md5sum.err";
  auto job = [&] {
    std::string nul_separated;
    for (const std::string& f : files) {
      nul_separated += f;
      nul_separated += '\0';
    }
    if (!write_file(list, nul_separated)) {
      c.detail = "could not write " + list;
      return;
    }
    auto t0 = goro::clock::now();
    // xargs: the list may be longer than one command line; `--`: names starting with '-'.
    int rc = run_process({"xargs", "-0", "-r", "md5sum", "--"}, list, theirs_path, errs);
    c.seconds = seconds_since(t0);
    if (rc < 0 || rc == 126 || rc == 127) {
      c.detail = "could not run xargs/md5sum (status " + std::to_string(rc) + ")";
      return;
    }
    if (ctx.err()) {
      c.detail = "interrupted";
      return;
    }
    c.ran = true;
    const std::string theirs = read_file(theirs_path);
    c.match = theirs == ours;
    if (!c.match) {  // show the first line that differs
      std::size_t i = 0;
      while (i < ours.size() && i < theirs.size() && ours[i] == theirs[i]) ++i;
      std::size_t b = ours.rfind('\n', i == 0 ? 0 : i - 1);
      b = b == std::string::npos ? 0 : b + 1;
      auto line = [b](const std::string& s) { return s.substr(b, s.find('\n', b) - b); };
      c.detail = "first difference:\n    md5all: " + line(ours) + "\n    md5sum: " + line(theirs);
    }
  };
  co_await goro::spawn_blocking(job);
  co_return c;
}

struct go_time {
  double ms = -1;  // < 0: not measured
  std::string why_not;
};

// The Go twin's median of `rounds` runs on root (its -bench mode).
goro::task<go_time> time_go_twin(const std::string& twin, const std::string& root, int rounds,
                                 const std::string& out_dir) {
  go_time g;
  auto job = [&] {
    if (twin.empty()) {
      g.why_not = "not run (no --go PATH; make demo builds the twin and passes it)";
      return;
    }
    if (access(twin.c_str(), X_OK) != 0) {
      g.why_not = on_path("go") ? "the Go twin is not built (make demo builds it; see " + out_dir +
                                      "/go-build.log)"
                                : "Go is not installed (scripts/bootstrap.sh bench installs it)";
      return;
    }
    const std::string out = out_dir + "/go-twin.out", err = out_dir + "/go-twin.err";
    int rc = run_process({twin, "-bench", "-rounds", std::to_string(rounds), root}, "/dev/null",
                         out, err);
    std::istringstream lines(read_file(out));
    std::string word, name;
    double ms = 0;
    while (lines >> word)
      if (word == "BENCH" && lines >> name >> ms) g.ms = ms;
    if (rc != 0 || g.ms < 0) {
      g.ms = -1;
      std::string e = read_file(err);
      g.why_not = "the Go twin failed (status " + std::to_string(rc) + ")" +
                  (e.empty() ? "" : ": " + e.substr(0, e.find('\n')));
    }
  };
  co_await goro::spawn_blocking(job);
  co_return g;
}

goro::task<int> md5all_showcase(goro::context ctx, const args& a) {
  unsigned workers = goro::runtime::default_runtime().workers();
  std::printf("md5all: the bounded-parallelism pipeline of go.dev/blog/pipelines, in goro\n");
  std::printf("  %s: 1 walker and %d digester goroutines on %u worker%s\n", a.md5.root.c_str(),
              a.md5.digesters, workers, workers == 1 ? "" : "s");
  if (a.md5.where == md5all::hash_site::blocking)
    std::printf("  files read and hashed in spawn_blocking, up to %d per job\n\n", a.md5.batch);
  else
    std::printf("  files read in spawn_blocking, hashed on the workers\n\n");
  std::fflush(stdout);

  // ---- the run the listing comes from, with a progress line
  md5all::progress prog;
  auto [pctx, stop_progress] = goro::with_cancel(ctx);
  if (g_tty_err) goro::go(show_progress, pctx, &prog);
  const auto t0 = goro::clock::now();
  md5all::outcome r = co_await md5all::md5_all(ctx, a.md5, &prog);
  const double first_s = seconds_since(t0);
  stop_progress();
  clear_status();

  for (const md5all::problem& p : r.problems)  // md5sum's words: "md5sum: PATH: Permission denied"
    std::fprintf(stderr, "md5all: %s: %s\n", p.path.c_str(), p.ec.message().c_str());
  if (r.fatal) {
    if (ctx.err()) {
      std::printf("  interrupted after %.2f s: every goroutine stopped (%s), %s files hashed\n",
                  first_s, r.fatal.message().c_str(), commas(r.sums.size()).c_str());
      co_return 130;
    }
    std::printf("  stopped on the first error after %.2f s: %s\n", first_s, r.fatal.message().c_str());
    co_return 2;
  }

  std::string listing;
  listing.reserve(r.sums.size() * 100);
  for (const md5all::file_sum& f : r.sums) listing += md5all::md5sum_line(f);
  const std::string listing_path = a.out_dir + "/md5all.txt";
  auto save = [&] { return write_file(listing_path, listing); };
  const bool saved = co_await goro::spawn_blocking(save);

  const std::size_t shown = std::min<std::size_t>(r.sums.size(), 5);
  for (std::size_t i = 0; i < shown; ++i) std::printf("  %s", md5all::md5sum_line(r.sums[i]).c_str());
  if (saved)
    std::printf("  ... %s lines in all: %s\n\n", commas(r.sums.size()).c_str(), listing_path.c_str());
  else
    std::printf("  (could not write %s)\n\n", listing_path.c_str());

  std::printf("  %-8s %s files, %s in %.2f s", "hashed", commas(r.sums.size()).c_str(),
              megabytes(r.bytes).c_str(), first_s);
  if (!r.problems.empty()) std::printf("; %zu unreadable (reported above)", r.problems.size());
  std::printf("\n");
  std::fflush(stdout);

  // ---- the check against md5sum
  std::vector<std::string> files;
  files.reserve(r.sums.size() + r.problems.size());
  for (const md5all::file_sum& f : r.sums) files.push_back(f.path);
  for (const md5all::problem& p : r.problems)
    if (!p.is_dir) files.push_back(p.path);
  std::sort(files.begin(), files.end());
  status("  running md5sum over the same files...");
  const check_result c = co_await check_with_md5sum(ctx, a.out_dir, files, listing);
  clear_status();
  if (ctx.err()) co_return 130;
  if (c.ran)
    std::printf("  %-8s %s (md5sum over the same %s files took %.2f s, one process: %s/md5sum.txt)\n",
                "md5sum", c.match ? "MATCH" : "MISMATCH", commas(files.size()).c_str(), c.seconds,
                a.out_dir.c_str());
  else
    std::printf("  %-8s not compared: %s\n", "md5sum", c.detail.c_str());
  if (c.ran && !c.match) std::printf("  %s\n", c.detail.c_str());
  std::fflush(stdout);

  // ---- goro beside Go, warm runs
  if (a.rounds > 0) {
    std::vector<double> goro_ms;
    for (int i = 0; i < a.rounds && !ctx.err(); ++i) {
      status("  timing: goro run " + std::to_string(i + 1) + "/" + std::to_string(a.rounds) + "...");
      const auto s0 = goro::clock::now();
      md5all::outcome again = co_await md5all::md5_all(ctx, a.md5, nullptr);
      goro_ms.push_back(seconds_since(s0) * 1e3);
      if (again.fatal) break;
    }
    status("  timing: the Go twin, " + std::to_string(a.rounds) + " runs...");
    go_time g;
    if (!ctx.err()) g = co_await time_go_twin(a.go_twin, a.md5.root, a.rounds, a.out_dir);
    clear_status();
    if (ctx.err()) co_return 130;
    std::sort(goro_ms.begin(), goro_ms.end());
    const double med = goro_ms[goro_ms.size() / 2];
    auto ms = [](double v) {
      char buf[32];
      std::snprintf(buf, sizeof buf, v < 10 ? "%.1f ms" : "%.0f ms", v);
      return std::string(buf);
    };
    std::printf("  %-8s goro %s", "time", ms(med).c_str());
    if (g.ms > 0)
      std::printf(", Go %s: goro/Go %.2f (median of %d warm run%s each)\n", ms(g.ms).c_str(),
                  med / g.ms, a.rounds, a.rounds == 1 ? "" : "s");
    else
      std::printf(" (median of %d warm run%s); Go: %s\n", a.rounds, a.rounds == 1 ? "" : "s",
                  g.why_not.c_str());
    double load = 0;
    if (getloadavg(&load, 1) == 1 && load >= 1.0)
      std::printf("  %-8s the machine is busy (load average %.1f): these times are noisy;\n"
                  "  %-8s bench/run.sh -f md5all measures both on a quiet machine\n",
                  "", load, "");
  }
  std::fflush(stdout);
  if (!c.ran || !c.match) co_return 3;
  co_return r.problems.empty() ? 0 : 1;
}

// ---- the tour ----------------------------------------------------------------------

// The short tour: these stops of examples/patterns/tour.hpp (--tour-all: every one).
bool in_short_tour(const char* name) {
  static const char* const stops[] = {"pipeline",        "fan_out_fan_in", "worker_pool",
                                      "priority_select", "context_timeout", "errgroup",
                                      "rate_limiter",    "circuit_breaker_retry",
                                      "query_racing",    "graceful_shutdown"};
  for (const char* s : stops)
    if (std::strcmp(s, name) == 0) return true;
  return false;
}

// Runs the tour's examples one after another; stops between two on Ctrl-C.
goro::task<> tour(goro::context ctx, bool all) {
  std::printf("\nA short tour: the seeds' patterns in goro (examples/patterns/<name>.cpp, one program each)\n");
  goro_examples::g_indent = "      ";
  int shown = 0;
  for (const goro_examples::tour_stop& stop : goro_examples::tour) {
    if (ctx.err()) co_return;
    if (!all && !in_short_tour(stop.name)) continue;
    std::printf("  %s\n", stop.title);
    std::fflush(stdout);
    goro::task<> t = stop.run();
    co_await std::move(t);
    ++shown;
  }
  const int total = static_cast<int>(std::size(goro_examples::tour));
  if (shown < total)
    std::printf("  (%d more: goro_demo --tour-all; each runs alone as build/release/examples/pattern_<name>)\n",
                total - shown);
}

goro::task<int> async_main(args a) {
  // Ctrl-C cancels ictx (the md5all run and the tour); see the top comment.
  auto [ictx, stop_sigint] = goro::signal_context(goro::background(), {SIGINT});
  auto [finished, finish] = goro::with_cancel(goro::background());
  goro::join_handle<void> watcher = goro::spawn(second_ctrl_c_kills, ictx, finished, &stop_sigint);

  int rc = co_await md5all_showcase(ictx, a);
  if (rc != 130 && a.tour) {
    goro::task<> t = tour(ictx, a.tour_all);
    co_await std::move(t);
    if (ictx.err()) rc = 130;  // Ctrl-C during the tour: it stops between its parts
  }
  finish();
  co_await std::move(watcher);
  co_return rc;
}

}  // namespace

int main(int argc, char** argv) {
  args a = parse(argc, argv);
  std::error_code ec;
  std::filesystem::create_directories(a.out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "goro_demo: cannot create %s: %s\n", a.out_dir.c_str(), ec.message().c_str());
    return 2;
  }
  return goro::run(async_main, std::move(a));
}

// md5all.hpp — md5all with goro: the bounded-parallelism MD5All of
// go.dev/blog/pipelines (bounded.go), ported. Used by goro_demo (`make demo`)
// and bench/md5all.cpp; the Go twin is bench/go/md5all.
//
//   md5all::progress prog;
//   md5all::outcome r = co_await md5all::md5_all(ctx, {.root = "/usr/include"}, &prog);
//   for (auto& f : r.sums) std::fputs(md5all::md5sum_line(f).c_str(), out);
//
// The shape is the blog's:
//   walker (1 goroutine) --paths--> digesters (20 goroutines) --results--> collector
// * The walker lists one directory at a time in spawn_blocking (readdir may
//   block on a cold disk) and sends the path of every regular file; it does
//   not follow symlinks (std::filesystem's directory_entry: readdir's d_type,
//   no extra syscall) except the root itself, which the user named. It closes paths
//   when done.
// * A digester receives a path, reads and hashes the file with OpenSSL's EVP
//   MD5 and sends {path, sum} on. The read never runs on a goro worker: with
//   hash_site::blocking (the default) read+hash is one spawn_blocking job;
//   with hash_site::goroutine the whole file is read in spawn_blocking and
//   hashed on the worker. With batch > 1 (default 8) a digester also takes
//   the paths already waiting in the (then buffered) paths channel, up to
//   batch, into the same job: one thread handoff per batch rather than per
//   file, which is most of the difference to Go, whose goroutines make the
//   read syscall themselves (bench/RESULTS.md compares the variants).
// * The collector (md5_all's own goroutine) keeps the sums and sorts them by
//   path (byte order, as Go's sort.Strings and md5sum's `sort` input).
// * Walker and digesters are one errgroup whose context derives from ctx:
//   the first fatal error (the root cannot be read; with fail_fast, any
//   unreadable file, which is the blog's behaviour) or ctx's cancellation
//   (Ctrl-C) cancels the others, which stop at their next channel operation;
//   md5_all returns after every goroutine it started has returned.
// * Without fail_fast an unreadable file or directory is reported like
//   md5sum/find report it ("path: Permission denied") in outcome::problems
//   and the rest goes on.
//
// Goroutines block only on channels (send/recv with the group's context), the
// errgroup and spawn_blocking. Thread-safety: progress is written by the
// collector and may be read from any thread.
#pragma once

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <goro/goro.hpp>

namespace md5all {

using digest = std::array<unsigned char, 16>;

// Where a file's bytes are hashed (both read in spawn_blocking).
enum class hash_site {
  blocking,   // read and hash in one spawn_blocking job
  goroutine,  // read the whole file in spawn_blocking, hash on the worker
};

struct options {
  std::string root = "/usr/include";
  int digesters = 20;  // the blog's numDigesters
  hash_site where = hash_site::blocking;
  int batch = 8;  // files per spawn_blocking job (hash_site::blocking); 1: the blog's shape
  bool fail_fast = false;  // the blog: the first unreadable file stops everything
};

struct file_sum {
  std::string path;
  digest sum{};
};

// A file or directory that could not be read (md5sum/find go on after one).
struct problem {
  std::string path;
  std::error_code ec;
  bool is_dir = false;
};

struct outcome {
  std::vector<file_sum> sums;       // sorted by path
  std::vector<problem> problems;    // sorted by path
  std::uint64_t bytes = 0;          // bytes hashed
  goro::error fatal;                // set: the run stopped early, sums are incomplete
};

// Live counters for a progress line.
struct progress {
  std::atomic<std::uint64_t> files{0};
  std::atomic<std::uint64_t> bytes{0};
};

// ---- MD5 (OpenSSL EVP) ----------------------------------------------------------

// One MD5 context, reused file after file. Not thread-safe; it may move
// between threads between files (a digester's jobs run on any pool thread).
class md5_hasher {
 public:
  md5_hasher() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr) throw std::bad_alloc();
  }
  ~md5_hasher() { EVP_MD_CTX_free(ctx_); }
  md5_hasher(const md5_hasher&) = delete;
  md5_hasher& operator=(const md5_hasher&) = delete;

  void begin() { check(EVP_DigestInit_ex(ctx_, md5(), nullptr)); }
  void update(const void* p, std::size_t n) { check(EVP_DigestUpdate(ctx_, p, n)); }
  digest finish() {
    digest d{};
    unsigned int len = 0;
    check(EVP_DigestFinal_ex(ctx_, d.data(), &len) && len == d.size());
    return d;
  }

 private:
  // Fetched once: OpenSSL 3 looks EVP_md5() up again on every init (a
  // global lock). Kept for the life of the process.
  static const EVP_MD* md5() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    static EVP_MD* m = EVP_MD_fetch(nullptr, "MD5", nullptr);
    if (m == nullptr) throw std::runtime_error("OpenSSL: MD5 is not available");
    return m;
#else
    return EVP_md5();
#endif
  }
  static void check(int ok) {
    if (!ok) throw std::runtime_error("OpenSSL: MD5 failed");
  }
  EVP_MD_CTX* ctx_;
};

// ---- file and directory access (blocking: run in spawn_blocking) ---------------------

struct fd_closer {
  int fd;
  ~fd_closer() { ::close(fd); }
};

inline std::error_code last_error() { return {errno, std::generic_category()}; }

struct file_digest {
  digest sum{};
  std::uint64_t bytes = 0;
  std::error_code ec;
};

// Reads path in buf-sized pieces and hashes them.
inline file_digest read_and_hash(const std::string& path, std::vector<unsigned char>& buf,
                                 md5_hasher& h) {
  file_digest r;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.ec = last_error();
    return r;
  }
  fd_closer c{fd};
  h.begin();
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      r.ec = last_error();
      return r;
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<std::size_t>(n));
    r.bytes += static_cast<std::uint64_t>(n);
  }
  r.sum = h.finish();
  return r;
}

struct file_read {
  std::size_t bytes = 0;
  std::error_code ec;
};

// Reads all of path into buf (grown as needed, never shrunk).
inline file_read read_whole(const std::string& path, std::vector<unsigned char>& buf) {
  file_read r;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.ec = last_error();
    return r;
  }
  fd_closer c{fd};
  struct stat st {};
  if (::fstat(fd, &st) == 0 && static_cast<std::size_t>(st.st_size) + 1 > buf.size())
    buf.resize(static_cast<std::size_t>(st.st_size) + 1);  // +1: EOF in one read
  for (;;) {
    if (r.bytes == buf.size()) buf.resize(buf.size() * 2 + 4096);  // grew since fstat
    ssize_t n = ::read(fd, buf.data() + r.bytes, buf.size() - r.bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      r.ec = last_error();
      return r;
    }
    if (n == 0) break;
    r.bytes += static_cast<std::size_t>(n);
  }
  return r;
}

struct dir_listing {
  std::vector<std::string> files;  // regular files (not symlinks to them)
  std::vector<std::string> dirs;   // directories (not symlinks to them)
  std::error_code ec;              // the directory could not be read (fully)
};

// Lists dir without following symlinks; other file types are skipped.
inline dir_listing list_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  dir_listing out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    // is_symlink first: then is_regular_file/is_directory cannot follow a
    // link. All three answer from readdir's d_type when the file system
    // gives one (symlink_status() would lstat every entry).
    std::error_code lec;
    if (it->is_symlink(lec) || lec) continue;  // lec: gone since readdir
    const bool file = it->is_regular_file(lec);
    const bool sub = !file && !lec && it->is_directory(lec);
    if (lec) continue;
    if (file) out.files.push_back(it->path().filename().native());
    else if (sub) out.dirs.push_back(it->path().filename().native());
  }
  out.ec = ec;
  return out;
}

inline std::string join(const std::string& dir, const std::string& name) {
  std::string p;
  p.reserve(dir.size() + 1 + name.size());
  p += dir;
  if (p.empty() || p.back() != '/') p += '/';
  p += name;
  return p;
}

// ---- the pipeline ----------------------------------------------------------------

// What a digester sends to the collector.
struct result {
  std::string path;
  digest sum{};
  std::uint64_t bytes = 0;
  std::error_code ec;
};

// The walker: sends the path of every regular file under root on paths,
// closes paths when it returns. Unreadable directories below the root go to
// *problems (read by md5_all after the group's wait). Returns an error when
// the root cannot be walked, or ctx.err() when cancelled.
inline goro::task<goro::error> walk_files(goro::context ctx, std::string root,
                                          goro::sender<std::string> paths,
                                          std::vector<problem>* problems) {
  struct closer {  // Go: defer close(paths)
    goro::sender<std::string> s;
    ~closer() { s.close(); }
  } close_paths{paths};

  auto stat_root = [&root] {
    std::error_code ec;
    const std::filesystem::file_type t = std::filesystem::status(root, ec).type();
    return std::pair<std::filesystem::file_type, std::error_code>(t, ec);
  };
  const std::pair<std::filesystem::file_type, std::error_code> st =
      co_await goro::spawn_blocking(stat_root);
  if (st.second) co_return goro::error::of(std::system_error(st.second, root));
  if (st.first == std::filesystem::file_type::regular) {
    std::string p = root;
    const goro::send_status s = co_await paths.send(ctx, std::move(p));
    co_return s == goro::send_status::ok ? goro::error() : goro::error(ctx.err());
  }
  if (st.first != std::filesystem::file_type::directory)
    co_return goro::error::of(
        std::system_error(std::make_error_code(std::errc::not_a_directory), root));

  std::vector<std::string> todo{root};
  while (!todo.empty()) {
    std::string dir = std::move(todo.back());
    todo.pop_back();
    auto list = [&dir] { return list_dir(dir); };
    dir_listing l = co_await goro::spawn_blocking(list);
    if (l.ec) {
      if (dir == root) co_return goro::error::of(std::system_error(l.ec, root));
      problems->push_back({dir, l.ec, true});  // find(1) reports it and goes on; so do we
    }
    for (const std::string& d : l.dirs) todo.push_back(join(dir, d));
    for (const std::string& f : l.files) {
      std::string p = join(dir, f);
      const goro::send_status s = co_await paths.send(ctx, std::move(p));
      if (s != goro::send_status::ok) co_return ctx.err();  // cancelled: someone failed
    }
  }
  co_return goro::error();
}

// A digester: reads and hashes the files named on paths until paths is
// closed or ctx is cancelled. With batch > 1 it takes up to batch paths that
// are already waiting (try_recv) and reads+hashes them in one spawn_blocking
// job: one thread handoff per batch instead of per file.
inline goro::task<goro::error> digester(goro::context ctx, goro::receiver<std::string> paths,
                                        goro::sender<result> out, hash_site where, int batch,
                                        bool fail_fast) {
  md5_hasher h;
  std::vector<unsigned char> buf(where == hash_site::blocking ? 128 * 1024 : 0);
  std::vector<result> rs;
  for (;;) {
    goro::recv_result<std::string> p = co_await paths.recv(ctx);
    if (!p) co_return goro::error();  // walk finished, or cancelled (the group has the error)
    rs.clear();
    rs.emplace_back().path = std::move(*p.value);
    while (static_cast<int>(rs.size()) < batch) {
      goro::recv_result<std::string> more = paths.try_recv();
      if (!more) break;
      rs.emplace_back().path = std::move(*more.value);
    }
    if (where == hash_site::blocking) {
      auto job = [&rs, &buf, &h] {
        for (result& r : rs) {
          const file_digest d = read_and_hash(r.path, buf, h);
          r.sum = d.sum;
          r.bytes = d.bytes;
          r.ec = d.ec;
        }
      };
      co_await goro::spawn_blocking(job);
    } else {
      for (result& r : rs) {
        auto job = [&r, &buf] { return read_whole(r.path, buf); };
        const file_read d = co_await goro::spawn_blocking(job);
        r.ec = d.ec;
        if (!d.ec) {
          h.begin();
          h.update(buf.data(), d.bytes);
          r.sum = h.finish();
          r.bytes = d.bytes;
        }
      }
    }
    for (result& r : rs) {
      if (r.ec && fail_fast) co_return goro::error::of(std::system_error(r.ec, r.path));
      const goro::send_status s = co_await out.send(ctx, std::move(r));
      if (s != goro::send_status::ok) co_return goro::error();  // cancelled
    }
  }
}

// MD5All: every regular file under opt.root, sorted by path. prog may be null.
inline goro::task<outcome> md5_all(goro::context parent, options opt, progress* prog) {
  if (opt.digesters < 1 || opt.batch < 1)
    throw std::invalid_argument("md5all: digesters and batch must be at least 1");
  outcome out;
  std::vector<problem> walk_problems;  // the walker's; read after the group's wait
  goro::errgroup g(parent);            // Go: done := make(chan struct{}); defer close(done)
  goro::context ctx = g.context();
  // Unbuffered as in the blog; batching digesters need paths waiting for them.
  goro::chan<std::string> paths =
      goro::make_chan<std::string>(opt.batch > 1 ? opt.digesters * opt.batch : 0);
  goro::chan<result> results = goro::make_chan<result>(0);

  std::vector<problem>* wp = &walk_problems;
  g.go([ctx, root = opt.root, paths, wp] { return walk_files(ctx, root, paths, wp); });
  for (int i = 0; i < opt.digesters; ++i) {
    const hash_site where = opt.where;
    const int batch = opt.batch;
    const bool ff = opt.fail_fast;
    g.go([ctx, paths, results, where, batch, ff] {
      return digester(ctx, paths, results, where, batch, ff);
    });
  }
  // Go: go func() { wg.Wait(); close(c) }()
  goro::join_handle<goro::error> closer = goro::spawn(
      [](goro::errgroup* grp, goro::sender<result> tx) -> goro::task<goro::error> {
        goro::error e;
        try {
          e = co_await grp->wait();
        } catch (...) {  // an exception in a goroutine of the group (bad_alloc, OpenSSL)
          e = std::current_exception();
        }
        tx.close();
        co_return e;
      },
      &g, goro::sender<result>(results));

  for (;;) {
    std::optional<result> r = co_await results.recv();
    if (!r) break;  // closed: every goroutine of the group has returned
    if (r->ec) {
      out.problems.push_back({std::move(r->path), r->ec, false});
      continue;
    }
    out.bytes += r->bytes;
    out.sums.push_back({std::move(r->path), r->sum});
    if (prog != nullptr) {
      prog->files.store(out.sums.size(), std::memory_order_relaxed);
      prog->bytes.store(out.bytes, std::memory_order_relaxed);
    }
  }
  out.fatal = co_await std::move(closer);
  if (!out.fatal && parent.err()) out.fatal = parent.err();  // cancelled from outside

  out.problems.insert(out.problems.end(), walk_problems.begin(), walk_problems.end());
  auto by_path = [](const auto& a, const auto& b) { return a.path < b.path; };
  std::sort(out.sums.begin(), out.sums.end(), by_path);
  std::sort(out.problems.begin(), out.problems.end(), by_path);
  co_return out;
}

// ---- output ----------------------------------------------------------------------

// "<md5>  <path>\n" exactly as GNU md5sum (coreutils 9.1) prints it: a name
// holding '\\', '\n' or '\r' gets them escaped and the line a leading '\\'.
inline std::string md5sum_line(const file_sum& f) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string line;
  line.reserve(34 + f.path.size() + 2);
  const bool escape = f.path.find_first_of("\\\n\r") != std::string::npos;
  if (escape) line += '\\';
  for (unsigned char b : f.sum) {
    line += hex[b >> 4];
    line += hex[b & 15];
  }
  line += "  ";
  for (char c : f.path) {
    if (escape && c == '\\') line += "\\\\";
    else if (escape && c == '\n') line += "\\n";
    else if (escape && c == '\r') line += "\\r";
    else line += c;
  }
  line += '\n';
  return line;
}

}  // namespace md5all

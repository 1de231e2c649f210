// bench_md5all — md5all (examples/md5all.hpp, the pipeline `make demo` runs)
// on /usr/include. Twin: bench/go/md5all (the blog's bounded.go; case name
// and workload identical).
//   md5all/usr_include            ms for md5_all("/usr/include") with the
//                                 demo's defaults: 20 digesters, up to 8
//                                 files read+hashed per spawn_blocking job;
//                                 sorting included
// Variants without a Go twin (Go has one way to do it), to choose defaults:
//   md5all/usr_include_batch1     one file per spawn_blocking job (the blog's
//                                 shape, a handoff per file)
//   md5all/usr_include_hash_on_worker   each file read in spawn_blocking,
//                                 hashed on the worker
// Each case runs 5 rounds (the page cache is warm after the first); the
// median round is reported. An error (unreadable file, missing tree) exits 1.
// Usage: bench_md5all [-rounds N] [DIR]  (a DIR other than /usr/include
// names the cases md5all/tree...).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <goro/goro.hpp>

#include "md5all.hpp"

namespace {
using clk = std::chrono::steady_clock;

goro::task<> bench_case(std::string name, md5all::options opt, int rounds) {
  std::vector<double> ms;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = clk::now();
    md5all::outcome o = co_await md5all::md5_all(goro::background(), opt, nullptr);
    ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - t0).count());
    if (o.fatal || !o.problems.empty() || o.sums.empty()) {
      std::fprintf(stderr, "bench_md5all: %s\n",
                   o.fatal ? o.fatal.message().c_str()
                           : o.sums.empty() ? "no files" : "unreadable files");
      std::exit(1);
    }
  }
  std::sort(ms.begin(), ms.end());
  std::printf("BENCH %s %.2f ms\n", name.c_str(), ms[ms.size() / 2]);
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  std::string root = "/usr/include";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-rounds" && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else root = a;
  }
  const std::string name = root == "/usr/include" ? "md5all/usr_include" : "md5all/tree";
  md5all::options opt;
  opt.root = root;
  goro::run([&]() -> goro::task<> {
    co_await bench_case(name, opt, rounds);
    md5all::options one = opt;
    one.batch = 1;
    co_await bench_case(name + "_batch1", one, rounds);
    md5all::options worker = opt;
    worker.where = md5all::hash_site::goroutine;
    co_await bench_case(name + "_hash_on_worker", worker, rounds);
  });
}

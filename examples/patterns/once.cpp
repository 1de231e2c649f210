// Pattern: once (lazy initialisation). The Go guides build a singleton and a
// lazily dialled connection with sync.Once, keeping the error beside it:
//
//   func (c *Client) getConn() (*grpc.ClientConn, error) {
//       c.initOnce.Do(func() { c.conn, c.initErr = grpc.Dial(c.addr) })
//       return c.conn, c.initErr
//   }
//
// goro::once is sync.Once (every concurrent caller waits until the one that
// runs f has finished); goro::once_value is sync.OnceValue. Go's Once keeps a
// failed dial's error forever; call_until_success lets the next caller try
// again instead.
#include <atomic>
#include <string>
#include <system_error>
#include <vector>

#include "example.hpp"

namespace {

struct config {
  std::string name;
};

std::atomic<int> g_loads{0};

// 8 goroutines ask for the config at once; it is loaded once.
goro::task<> use_config(goro::once_value<config>* cfg, std::vector<const config*>* seen, int id) {
  const config& c = co_await cfg->get();
  (*seen)[static_cast<std::size_t>(id)] = &c;
}

struct client {
  int dials = 0;
  bool connected = false;
  goro::once init_once;

  // Fails the first time (the server is still starting), then succeeds.
  std::error_code dial() {
    ++dials;
    if (dials == 1) return std::make_error_code(std::errc::connection_refused);
    connected = true;
    return {};
  }
  goro::task<std::error_code> get_conn() {
    auto d = [this] { return dial(); };  // named before the co_await (GCC 12)
    std::error_code ec = co_await init_once.call_until_success(d);
    co_return ec;
  }
};

}  // namespace

goro::task<> goro_examples::once() {
  goro::once_value<config> cfg([] {
    g_loads.fetch_add(1);
    return config{"production"};
  });
  std::vector<const config*> seen(8);
  goro::wait_group wg;
  for (int id = 0; id < 8; ++id) wg.go(use_config, &cfg, &seen, id);
  co_await wg.wait();
  bool same = true;
  for (const config* c : seen) same = same && c == seen[0];
  say("once_value: 8 goroutines get() the config: loaded %d time, all see \"%s\"", g_loads.load(),
      seen[0]->name.c_str());
  CHECK(g_loads.load() == 1 && same);

  client cl;
  std::error_code first = co_await cl.get_conn();
  std::error_code second = co_await cl.get_conn();
  std::error_code third = co_await cl.get_conn();
  say("call_until_success: the 1st dial fails (\"%s\"), the 2nd connects; %d dials in all",
      first.message().c_str(), cl.dials);
  CHECK(first && !second && !third && cl.dials == 2 && cl.connected);
}

GORO_EXAMPLE_MAIN(once)

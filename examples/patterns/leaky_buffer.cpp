// Pattern: leaky buffer (object reuse through a free list). Effective Go's
// version, as the Go guides give it: a buffered channel of free buffers;
// get takes one or allocates, put gives it back or drops it when the list
// is full, and neither ever blocks:
//
//   var freeList = make(chan *Buffer, 100)
//   func getBuffer() *Buffer { select { case b := <-freeList: return b; default: return new(Buffer) } }
//   func putBuffer(b *Buffer) { b.Reset(); select { case freeList <- b: default: } }
//
// The same in goro with try_recv/try_send on a channel of unique_ptrs, then
// goro::pool, whose handle puts the buffer back by itself.
#include <atomic>
#include <memory>
#include <string>

#include "example.hpp"

namespace {

struct buffer {
  std::string data;
  void reset() { data.clear(); }
};

std::atomic<int> g_allocated{0};

// The Go code, line for line.
struct free_list {
  goro::chan<std::unique_ptr<buffer>> list = goro::make_chan<std::unique_ptr<buffer>>(2);

  std::unique_ptr<buffer> get() {
    if (auto b = list.try_recv()) return std::move(*b.value);  // case b := <-freeList
    g_allocated.fetch_add(1);
    return std::make_unique<buffer>();                         // default: new(Buffer)
  }
  void put(std::unique_ptr<buffer> b) {
    b->reset();
    (void)list.try_send(b);  // full: b still owns the buffer and frees it here
  }
};

// Effective Go's client and server: the client fills buffers and sends them
// to the server, which processes each and puts it back on the free list.
goro::task<> client(free_list* fl, goro::sender<std::unique_ptr<buffer>> to_server, int messages) {
  for (int i = 0; i < messages; ++i) {
    std::unique_ptr<buffer> b = fl->get();
    b->data = "message " + std::to_string(i);
    goro::send_status st = co_await to_server.send(std::move(b));
    if (st != goro::send_status::ok) break;
  }
  to_server.close();
}

goro::task<> server(free_list* fl, goro::receiver<std::unique_ptr<buffer>> from_client, int* processed) {
  while (auto b = co_await from_client.recv()) {
    ++*processed;  // process(b)
    fl->put(std::move(*b));
  }
}

}  // namespace

goro::task<> goro_examples::leaky_buffer() {
  free_list fl;
  auto to_server = goro::make_chan<std::unique_ptr<buffer>>();
  int processed = 0;
  goro::wait_group wg;
  wg.go(client, &fl, goro::sender<std::unique_ptr<buffer>>(to_server), 100);
  wg.go(server, &fl, goro::receiver<std::unique_ptr<buffer>>(to_server), &processed);
  co_await wg.wait();
  say("free list of 2 (a channel): 100 messages client -> server, at most 3 buffers allocated");
  CHECK(processed == 100 && g_allocated.load() <= 3);

  // goro::pool: the same free list; acquire() returns a handle that puts the
  // buffer back (reset first) when it goes out of scope.
  int made = 0;
  goro::pool<buffer> buffers(2, [&made] { ++made; return std::make_unique<buffer>(); },
                             [](buffer& b) { b.reset(); });
  for (int i = 0; i < 100; ++i) {
    auto b = buffers.acquire();
    b->data = "message " + std::to_string(i);
  }  // back in the pool here
  say("goro::pool(2): 100 uses one at a time, %d buffer allocated, %zu idle", made, buffers.idle());
  CHECK(made == 1 && buffers.idle() == 1);
}

GORO_EXAMPLE_MAIN(leaky_buffer)

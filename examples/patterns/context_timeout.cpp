// Pattern: context timeout. The Go guides bound an operation in time two
// ways: a select with a timeout case, and a context with a deadline that the
// operation watches:
//
//   select {
//   case v := <-ch:             fmt.Println("Received:", v)
//   case <-time.After(time.Second): fmt.Println("Timeout!")
//   }
//
//   ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
//   defer cancel()
//   select { case <-ctx.Done(): return nil, ctx.Err(); case data := <-resultChan: return data, nil }
//
// In goro the cancel function cancels when it is destroyed (no forgotten
// defer cancel()), and every wait takes the context: recv(ctx), send(ctx, v),
// sleep_for(ctx, d), mutex and semaphore waits.
#include <string>

#include "example.hpp"

namespace {

// A server that answers after `delay` on a channel with room for the answer
// (so it never blocks), unless ctx ends first.
goro::task<> server(goro::context ctx, goro::sender<std::string> reply, std::chrono::milliseconds delay) {
  std::error_code gone = co_await goro::sleep_for(ctx, delay);
  if (gone) co_return;  // the client gave up
  (void)reply.try_send("pong");
}

// fetch: simulated I/O that honours its context.
goro::task<std::error_code> fetch(goro::context ctx, std::chrono::milliseconds takes) {
  co_return co_await goro::sleep_for(ctx, takes);
}

goro::task<std::string> ask(std::chrono::milliseconds delay, std::chrono::milliseconds limit) {
  auto [ctx, cancel] = goro::with_cancel(goro::background());  // the server's lifetime
  auto reply = goro::make_chan<std::string>(1);
  goro::go(server, ctx, goro::sender<std::string>(reply), delay);
  auto r = co_await goro::select(goro::recv(reply), goro::timeout(limit));
  co_return r.index() == 0 ? "received " + *r.get<0>() : std::string("timeout");
}  // cancel() runs here: a server that has not answered stops

}  // namespace

goro::task<> goro_examples::context_timeout() {
  // select with a timeout case.
  goro::task<std::string> fast = ask(1ms, 5s);
  std::string a = co_await std::move(fast);
  goro::task<std::string> stuck = ask(1h, 10ms);
  std::string b = co_await std::move(stuck);
  say("select(recv(reply), timeout(d)): a quick server: %s; a silent one: %s", a.c_str(), b.c_str());
  CHECK(a == "received pong" && b == "timeout");

  // A context with a deadline, passed down to the operation.
  // (Each fetch has its own deadline: under one shared 10 ms, a loaded
  // machine could spend it before the quick fetch had started.)
  auto [roomy, roomy_cancel] = goro::with_timeout(goro::background(), 5s);
  std::error_code quick = co_await fetch(roomy, 1ms);
  auto [ctx, cancel] = goro::with_timeout(goro::background(), 10ms);
  std::error_code slow = co_await fetch(ctx, 1h);
  say("with_timeout(5s): a 1 ms fetch: %s; with_timeout(10ms): a 1 h fetch: \"%s\" after ~10 ms",
      quick ? quick.message().c_str() : "ok", slow.message().c_str());
  CHECK(!quick && slow == goro::deadline_exceeded && ctx.err() == goro::deadline_exceeded);

  // One receive with a timeout, no select needed.
  auto ch = goro::make_chan<int>();
  goro::recv_result<int> r = co_await ch.recv_for(5ms);
  say("recv_for(5ms) on a channel nobody sends on: %s",
      r.status == goro::recv_status::timeout ? "timeout" : "?");
  CHECK(r.status == goro::recv_status::timeout);
}

GORO_EXAMPLE_MAIN(context_timeout)

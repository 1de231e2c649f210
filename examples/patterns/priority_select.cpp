// Pattern: priority select. Go's select picks uniformly among ready cases,
// so the Go guides give one channel priority with a nested select: try the
// high-priority channel alone first (with a default), and only when it has
// nothing, wait on both:
//
//   for {
//       select {
//       case msg := <-highPriority: handleHigh(msg)
//       default:
//           select {
//           case msg := <-highPriority: handleHigh(msg)
//           case msg := <-lowPriority:  handleLow(msg)
//           }
//       }
//   }
//
// The goro code is the same two selects. A closed input is switched off by
// making it nil (`ch = {}`, Go's `ch = nil`): a nil channel's case never fires.
#include <string>

#include "example.hpp"

goro::task<> goro_examples::priority_select() {
  auto high_ch = goro::make_chan<std::string>(8);
  auto low_ch = goro::make_chan<std::string>(8);
  // Both queues are full before the loop starts: low was filled first.
  for (const char* m : {"low-1", "low-2", "low-3"}) (void)low_ch.try_send(m);
  for (const char* m : {"HIGH-1", "HIGH-2"}) (void)high_ch.try_send(m);
  high_ch.close();
  low_ch.close();

  goro::receiver<std::string> high = high_ch, low = low_ch;
  std::string order;
  while (high || low) {
    auto first = co_await goro::select(goro::recv(high), goro::default_case);
    if (first.index() == 0) {
      if (auto& msg = first.get<0>()) order += " " + *msg;  // handleHigh
      else high = {};                                        // closed: switch the case off
      continue;
    }
    auto r = co_await goro::select(goro::recv(high), goro::recv(low));
    if (r.index() == 0) {
      if (auto& msg = r.get<0>()) order += " " + *msg;
      else high = {};
    } else {
      if (auto& msg = r.get<1>()) order += " " + *msg;  // handleLow
      else low = {};
    }
  }
  say("priority select over a full low and a full high queue:%s", order.c_str());
  CHECK(order == " HIGH-1 HIGH-2 low-1 low-2 low-3");
}

GORO_EXAMPLE_MAIN(priority_select)

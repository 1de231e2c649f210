// Pattern: query racing (first response wins). The Go guides send the same
// query to every replica and keep the first answer; the channel has room for
// one result so the losers never block:
//
//   func Query(conns []Conn, query string) Result {
//       ch := make(chan Result, 1)
//       for _, conn := range conns {
//           go func(c Conn) {
//               select { case ch <- c.DoQuery(query): default: }
//           }(conn)
//       }
//       return <-ch
//   }
//
// That version leaves the losers running, and returns nothing if every
// replica fails. goro::race_first cancels the losers' context as soon as one
// succeeds, waits until they have all returned, and reports every error when
// all fail.
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "example.hpp"

namespace {

// A replica: answers after `latency`, or never (stuck), or refuses at once.
struct replica {
  std::string name;
  enum { answers, stuck, refuses } mode;

  // DoQuery: stops when ctx is done (the race cancelled it).
  goro::task<std::pair<std::string, goro::error>> operator()(const goro::context& ctx) const {
    goro::context c = ctx;  // a copy in this frame
    if (mode == refuses) {
      co_return std::pair{std::string(), goro::error::of(std::runtime_error(name + ": connection refused"))};
    }
    std::error_code ec = co_await goro::sleep_for(c, mode == stuck ? 1h : 1ms);
    if (ec) co_return std::pair{std::string(), goro::error(ec)};
    co_return std::pair{name + ": 42 rows", goro::error()};
  }
};

}  // namespace

goro::task<> goro_examples::query_racing() {
  goro::context ctx = goro::background();
  std::vector<replica> replicas{{"replica-a", replica::stuck},
                                {"replica-b", replica::refuses},
                                {"replica-c", replica::answers}};
  goro::race_result<std::string> r = co_await goro::race_first(ctx, replicas);
  say("race_first over a stuck, a refusing and an answering replica: \"%s\"", r.value->c_str());
  say("  the stuck one was cancelled; race_first returned after all 3 had");
  CHECK(r && r.winner == 2 && *r.value == "replica-c: 42 rows");

  std::vector<replica> down{{"replica-a", replica::refuses}, {"replica-b", replica::refuses}};
  goro::race_result<std::string> none = co_await goro::race_first(ctx, down);
  say("all fail: no value; errors \"%s\", \"%s\"", none.errors[0].message().c_str(),
      none.errors[1].message().c_str());
  CHECK(!none && none.errors.size() == 2);
}

GORO_EXAMPLE_MAIN(query_racing)

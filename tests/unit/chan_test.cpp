// Unit tests: channel basics.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"

using namespace std::chrono_literals;

namespace {
class Chan : public goro_test::RuntimeTest {};
GORO_INSTANTIATE_WORKERS(Chan);

TEST_P(Chan, BufferedFifoAndClose) {
  auto got = rt().run([]() -> goro::task<std::vector<int>> {
    auto ch = goro::make_chan<int>(3);
    EXPECT_EQ(co_await ch.send(1), goro::send_status::ok);
    EXPECT_EQ(co_await ch.send(2), goro::send_status::ok);
    EXPECT_EQ(ch.len(), 2u);
    EXPECT_EQ(ch.cap(), 3u);
    EXPECT_TRUE(ch.close());
    EXPECT_FALSE(ch.close());
    EXPECT_EQ(co_await ch.send(3), goro::send_status::closed);
    std::vector<int> out;
    while (auto v = co_await ch.recv()) out.push_back(*v);
    co_return out;
  });
  EXPECT_EQ(got, (std::vector<int>{1, 2}));
}

TEST_P(Chan, UnbufferedRendezvous) {
  int sum = rt().run([]() -> goro::task<int> {
    auto ch = goro::make_chan<int>();
    goro::go([](goro::sender<int> s) -> goro::task<> {
      for (int i = 1; i <= 100; ++i) (void)co_await s.send(i);
      s.close();
    }, ch);
    int s = 0;
    while (auto v = co_await ch.recv()) s += *v;
    co_return s;
  });
  EXPECT_EQ(sum, 5050);
}

TEST_P(Chan, MoveOnlyPayload) {
  auto p = rt().run([]() -> goro::task<std::unique_ptr<int>> {
    auto ch = goro::make_chan<std::unique_ptr<int>>(1);
    (void)co_await ch.send(std::make_unique<int>(9));
    auto v = co_await ch.recv();
    co_return std::move(*v);
  });
  EXPECT_EQ(*p, 9);
}

// The element-type rule (make_chan static_asserts detail::chan_element_ok):
// values are moved and destroyed under the channel's lock, so only types
// whose move and destruction cannot throw are accepted. A compile failure
// cannot be a test; this checks that the trait says what the rule says.
struct throwing_move {
  throwing_move() = default;
  throwing_move(throwing_move&&) noexcept(false) {}
};
struct copy_only {  // a user copy constructor and no move: moves copy, may throw
  copy_only() = default;
  copy_only(const copy_only&) {}
};
struct throwing_dtor {
  ~throwing_dtor() noexcept(false) {}
};
struct aggregate_payload {
  int id;
  std::string name;
};
static_assert(!goro::detail::chan_element_ok<throwing_move>);
static_assert(!goro::detail::chan_element_ok<copy_only>);
static_assert(!goro::detail::chan_element_ok<throwing_dtor>);
static_assert(goro::detail::chan_element_ok<std::unique_ptr<throwing_move>>);
static_assert(goro::detail::chan_element_ok<int>);
static_assert(goro::detail::chan_element_ok<std::string>);
static_assert(goro::detail::chan_element_ok<aggregate_payload>);
static_assert(goro::detail::chan_element_ok<std::vector<std::string>>);
static_assert(goro::detail::chan_element_ok<std::monostate>);  // chan<void>

// The wrapping the rule's message recommends works.
TEST_P(Chan, ThrowingMoveTypeWrappedInUniquePtr) {
  rt().run([]() -> goro::task<> {
    auto ch = goro::make_chan<std::unique_ptr<throwing_move>>(1);
    EXPECT_EQ(co_await ch.send(std::make_unique<throwing_move>()), goro::send_status::ok);
    auto v = co_await ch.recv();
    EXPECT_TRUE(v && *v);
  });
}

TEST_P(Chan, VoidSignal) {
  bool ok = rt().run([]() -> goro::task<bool> {
    auto done = goro::make_chan<void>();
    goro::go([](goro::sender<void> d) -> goro::task<> { (void)co_await d.send(); }, done);
    auto v = co_await done.recv();
    co_return v.has_value();
  });
  EXPECT_TRUE(ok);
}

TEST_P(Chan, TryOps) {
  rt().run([]() -> goro::task<> {
    auto ch = goro::make_chan<int>(1);
    EXPECT_EQ(ch.try_recv().status, goro::recv_status::empty);
    EXPECT_EQ(ch.try_send(1), goro::send_status::ok);
    EXPECT_EQ(ch.try_send(2), goro::send_status::full);
    auto r = ch.try_recv();
    EXPECT_TRUE(r);
    EXPECT_EQ(*r, 1);
    ch.close();
    EXPECT_EQ(ch.try_recv().status, goro::recv_status::closed);
    EXPECT_EQ(ch.try_send(3), goro::send_status::closed);
    co_return;
  });
}

TEST_P(Chan, Timeouts) {
  rt().run([]() -> goro::task<> {
    auto ch = goro::make_chan<int>();
    auto r = co_await ch.recv_for(5ms);
    EXPECT_EQ(r.status, goro::recv_status::timeout);
    EXPECT_EQ(co_await ch.send_for(1, 5ms), goro::send_status::timeout);
    auto past = co_await ch.recv_until(std::chrono::steady_clock::now() - 1s);
    EXPECT_EQ(past.status, goro::recv_status::timeout);
  });
}

TEST_P(Chan, ThreadsAndGoroutinesShareAChannel) {
  auto ch = goro::make_chan<int>();
  auto h = rt().spawn([](goro::receiver<int> r) -> goro::task<long> {
    long s = 0;
    while (auto v = co_await r.recv()) s += *v;
    co_return s;
  }, ch);
  std::thread t([ch] {
    for (int i = 1; i <= 1000; ++i) (void)ch.blocking_send(i);
    ch.close();
  });
  t.join();
  EXPECT_EQ(std::move(h).join(), 500500);
}

TEST_P(Chan, SelectBasic) {
  rt().run([]() -> goro::task<> {
    auto a = goro::make_chan<int>(1);
    auto b = goro::make_chan<std::string>(1);
    (void)co_await b.send("x");
    auto r = co_await goro::select(goro::recv(a), goro::recv(b));
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(*r.get<1>(), "x");
    auto d = co_await goro::select(goro::recv(a), goro::default_case);
    EXPECT_EQ(d.index(), 1u);
    auto t = co_await goro::select(goro::recv(a), goro::timeout(2ms));
    EXPECT_EQ(t.index(), 1u);
    auto s = co_await goro::select(goro::send(a, 5), goro::recv(b));
    EXPECT_EQ(s.index(), 0u);
    EXPECT_TRUE(s.get<0>());
    EXPECT_EQ(*a.try_recv(), 5);
  });
}

TEST(ChanMisuse, BadCapacity) {
  EXPECT_THROW(goro::make_chan<int>(-1), std::invalid_argument);
  EXPECT_THROW(goro::make_chan<int>(1LL << 40), std::length_error);
}

TEST(ChanMisuse, NilChannel) {
  goro::chan<int> nil;
  EXPECT_FALSE(nil.close());
  EXPECT_EQ(nil.try_send(1), goro::send_status::full);
  EXPECT_EQ(nil.try_recv().status, goro::recv_status::empty);
  EXPECT_EQ(nil.blocking_recv_for(1ms).status, goro::recv_status::timeout);
}

}  // namespace

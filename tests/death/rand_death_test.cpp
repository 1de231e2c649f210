// Death tests: goro::rand bounds that Go panics on abort with a message
// naming the function.
#include "goro_test.hpp"

namespace {

class RandDeath : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(RandDeath, NonPositiveBoundsAbort) {
  EXPECT_DEATH((void)goro::rand::int_n(0), "goro::rand::int_n: n must be > 0");
  EXPECT_DEATH((void)goro::rand::int_n(-3), "goro::rand::int_n: n must be > 0");
  EXPECT_DEATH((void)goro::rand::uint64_n(0), "goro::rand: the bound n must be > 0");
  EXPECT_DEATH((void)goro::rand::n(std::chrono::milliseconds(0)), "goro::rand::n: the duration must be > 0");
  EXPECT_DEATH((void)goro::rand::perm(-1), "goro::rand::perm: n must be >= 0");
  EXPECT_DEATH(goro::rand::shuffle(-1, [](int, int) {}), "goro::rand::shuffle: n must be >= 0");
}

}  // namespace

// Death tests: misuse of goro::pool and goro::sharded_map aborts with a clear
// message.
#include <memory>

#include "goro_test.hpp"

namespace {

class MapsDeath : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(MapsDeath, PoolZeroCapacity) {
  EXPECT_DEATH({ goro::pool<int> p(0); }, "goro::pool: capacity must be at least 1");
}

TEST_F(MapsDeath, PoolNegativeCapacity) {
  EXPECT_DEATH({ goro::pool<int> p(-3); }, "goro::pool: capacity must be at least 1");
}

TEST_F(MapsDeath, PoolPutNull) {
  EXPECT_DEATH(
      {
        goro::pool<int> p(1);
        p.put(nullptr);
      },
      "goro::pool: put of a null pointer");
}

TEST_F(MapsDeath, PoolFactoryReturnsNull) {
  EXPECT_DEATH(
      {
        goro::pool<int> p(1, [] { return std::unique_ptr<int>(); });
        (void)p.get();
      },
      "goro::pool: the factory returned a null pointer");
}

using int_map = goro::sharded_map<int, int>;  // no comma inside EXPECT_DEATH

TEST_F(MapsDeath, ShardedMapShardCountNotAPowerOfTwo) {
  EXPECT_DEATH({ int_map m(3); }, "goro::sharded_map: the shard count must be a power of two");
  EXPECT_DEATH({ int_map m(0); }, "goro::sharded_map: the shard count must be a power of two");
}

}  // namespace

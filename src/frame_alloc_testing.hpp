// frame_alloc_testing.hpp — test seam of the frame pool (src/frame_alloc.cpp).
//
// Internal: not installed, not part of the API (the test binaries have src/
// on their include path).
#pragma once

#include <cstddef>

namespace goro::detail::testing {

// The 2 MB chunks the frame pool has taken from operator new so far,
// process-wide (an exiting thread's rest is reused before a new one).
std::size_t frame_pool_chunks() noexcept;

}  // namespace goro::detail::testing

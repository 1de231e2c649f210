// quiescence.hpp — the process-wide half of the quiescence epoch (src/ only).
//
// Every transition that could make an asleep party active again, or that
// changes the set of threads goro accounts for, is bracketed by
// epoch_begin() / epoch_end(): a plain thread's park and unpark (parker.cpp)
// and the start of a blocking-pool thread (blocking_pool.cpp). Workers
// leaving the idle list use their runtime's own pair (runtime_impl::
// wake_begun/wake_ended). The deadlock check reads the sum of every `ended`
// before it looks and the sum of every `begun` after: equal sums prove no
// such transition overlapped its look (docs/design/quiescence.md).
#pragma once

#include <atomic>
#include <cstdint>

namespace goro::detail {

extern std::atomic<std::uint64_t> g_epoch_begun;
extern std::atomic<std::uint64_t> g_epoch_ended;

inline void epoch_begin() noexcept { g_epoch_begun.fetch_add(1, std::memory_order_seq_cst); }
inline void epoch_end() noexcept { g_epoch_ended.fetch_add(1, std::memory_order_seq_cst); }

namespace testing {
// Deadlock checks that got as far as counting the process's threads
// (every runtime was quiescent); tests wait on it to prove a check ran.
std::uint64_t deadlock_checks_reaching_threads() noexcept;
}  // namespace testing

}  // namespace goro::detail

// goro/detail/config.hpp — assertion vocabulary, annotations and small constants
// shared by every goro header. Internal: users never include this directly.
#pragma once

#include <cstdint>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

// One assertion vocabulary.
//  GORO_ASSERT(c, msg)        always checked; misuse of the library lands here and
//                              aborts with a clear message (death tests rely on it).
//  GORO_DEBUG_ASSERT(c, msg)  invariant checks, compiled in when GORO_DEBUG_CHECKS
//                              is set (debug and asan presets).
namespace goro::detail {
[[noreturn]] void fatal(const char* what, const char* file, int line) noexcept;
}  // namespace goro::detail

#define GORO_ASSERT(cond, msg)                                      \
  do {                                                              \
    if (!(cond)) [[unlikely]]                                       \
      ::goro::detail::fatal((msg), __FILE__, __LINE__);             \
  } while (0)

#if defined(GORO_DEBUG_CHECKS) && GORO_DEBUG_CHECKS
#define GORO_DEBUG_ASSERT(cond, msg) GORO_ASSERT(cond, msg)
#else
#define GORO_DEBUG_ASSERT(cond, msg) \
  do {                               \
  } while (0)
#endif

// On every awaitable type of goro (class level) and every function returning
// one: `goro::sleep_for(10ms);` without co_await compiles and does nothing.
// (GCC 12 warns for discarded function results, not for a discarded
// `T(...)` temporary nor a discarded co_await result; Clang warns for all.)
#define GORO_NODISCARD_AWAITABLE \
  [[nodiscard("goro: an awaitable does nothing until it is co_awaited")]]

// Clang thread-safety annotations (no-ops elsewhere).
#if defined(__clang__)
#define GORO_TSA(x) __attribute__((x))
#else
#define GORO_TSA(x)
#endif
#define GORO_CAPABILITY(x) GORO_TSA(capability(x))
#define GORO_GUARDED_BY(x) GORO_TSA(guarded_by(x))
#define GORO_PT_GUARDED_BY(x) GORO_TSA(pt_guarded_by(x))
#define GORO_ACQUIRE(...) GORO_TSA(acquire_capability(__VA_ARGS__))
#define GORO_RELEASE(...) GORO_TSA(release_capability(__VA_ARGS__))
#define GORO_TRY_ACQUIRE(...) GORO_TSA(try_acquire_capability(__VA_ARGS__))
#define GORO_REQUIRES(...) GORO_TSA(requires_capability(__VA_ARGS__))
#define GORO_EXCLUDES(...) GORO_TSA(locks_excluded(__VA_ARGS__))
#define GORO_SCOPED_CAPABILITY GORO_TSA(scoped_lockable)
#define GORO_NO_TSA GORO_TSA(no_thread_safety_analysis)

#define GORO_NOINLINE __attribute__((noinline))

namespace goro::detail {
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
}  // namespace goro::detail

namespace goro::detail {
// std::hardware_destructive_interference_size is GCC-only here (Clang 14 with
// libstdc++ 12 lacks it).
inline constexpr std::size_t cache_line = 64;

// Where a goroutine was started or where it blocks. std::source_location is
// missing with Clang 14 + libstdc++ 12 (docs/HACKING.md, "Toolchain traps"),
// so use the builtins.
struct source_loc {
  const char* file = "";
  int line = 0;
  static constexpr source_loc current(const char* f = __builtin_FILE(),
                                      int l = __builtin_LINE()) noexcept {
    return {f, l};
  }
};
}  // namespace goro::detail

// The caller's site (detail::wait_site, goroutine.hpp) as three defaulted
// scalar parameters, not one defaulted wait_site: GCC 12 keeps every
// class-type temporary of a full expression that contains a co_await in the
// coroutine frame until the coroutine ends, so `co_await ch.recv()` with a
// `wait_site site = wait_site::current()` parameter cost 24 bytes of the
// caller's frame per co_await; defaulted scalars cost nothing there
// (docs/design/performance.md, session 10). Every public operation that may
// park takes GORO_WAIT_SITE_PARAMS last and makes its site with
// GORO_WAIT_SITE; internal code forwards a site it holds as
// `op(site.file, site.function, site.line)`.
#define GORO_WAIT_SITE_PARAMS                                   \
  const char* goro_site_file_ = __builtin_FILE(),               \
  const char* goro_site_function_ = __builtin_FUNCTION(),       \
  ::std::uint32_t goro_site_line_ = __builtin_LINE()
#define GORO_WAIT_SITE \
  (::goro::detail::wait_site{goro_site_file_, goro_site_function_, goro_site_line_})

namespace goro::detail {
// GCC < 14 miscompiles a lambda *temporary* whose captures have destructors
// when it is an argument inside a co_await expression (the captures are built
// at one address and the closure is read from another: heap corruption; GCC
// PR 100611 family, docs/guide/compiler-hazards.md §2.2; reproduced here with once::call and
// singleflight::call). APIs that take a callable into an awaiter
// static_assert this, so the bug is a compile error with a fix in the
// message (name the lambda first) instead of a corrupted heap.
template <class F>
inline constexpr bool callable_safe_in_co_await =
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 14
    std::is_lvalue_reference_v<F> || std::is_trivially_destructible_v<std::remove_cvref_t<F>>;
#else
    true;
#endif
}  // namespace goro::detail

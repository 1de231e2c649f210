// goro/detail/select_awaiter.hpp — drives the select engine for a fixed list
// of cases, as a goroutine (await) or as a blocked OS thread. Every channel
// operation that can wait is one of these with one or two cases.
//
// Lifetime: the cases live in this object; it must not move once started
// (the engine publishes pointers into it). A select destroyed while parked
// (its goroutine torn down at runtime shutdown) withdraws its waiters and
// disarms its timer.
#pragma once

#include <coroutine>
#include <tuple>
#include <type_traits>
#include <utility>

#include "goro/detail/chan_state.hpp"

namespace goro::detail {

template <class T, class... Ts>
constexpr int index_of() {
  int i = 0, found = -1, count = 0;
  ((std::is_same_v<T, Ts> ? (found = i, ++count, ++i) : ++i), ...);
  return count == 0 ? -1 : found;
}
template <class T, class... Ts>
constexpr int count_of() {
  return (0 + ... + (std::is_same_v<T, Ts> ? 1 : 0));
}

struct no_timer {};

template <class... Cs>
class select_awaiter {
 public:
  static constexpr int kN = sizeof...(Cs);
  static constexpr int kDefault = index_of<default_case_impl, Cs...>();
  static constexpr int kTimeout = index_of<timeout_case_impl, Cs...>();
  static_assert(count_of<default_case_impl, Cs...>() <= 1, "goro::select: at most one default case");
  static_assert(count_of<timeout_case_impl, Cs...>() <= 1, "goro::select: at most one timeout case");
  static_assert(kN < 65536, "goro::select: fewer than 65536 cases (a waiter's index is 16 bits)");

  explicit select_awaiter(Cs&&... cs) : cases_(std::move(cs)...) {}
  select_awaiter(select_awaiter&& o) noexcept : cases_(std::move(o.cases_)) {
    GORO_ASSERT(!o.started_, "goro::select moved after it started");
  }
  select_awaiter& operator=(select_awaiter&&) = delete;
  ~select_awaiter() {
    if (started_ && !finished_) finish();  // torn down while parked
  }

  // Goroutine side: true = stay suspended.
  // kind/site/object/aux: what the goroutine's record shows while it waits.
  bool suspend(std::coroutine_handle<> h, const wait_kind& kind, const wait_site& site,
               const void* object, std::uint32_t aux) noexcept {
    tok_.w = waker_for(h, kind, site, object, aux);
    int f = start();
    if (f >= 0) {
      // Completed without parking; nothing was published, so no other thread
      // can touch g: undo waker_for's "waiting" mark, or dumps and the
      // registry would show a running goroutine as blocked here.
      unmark_parking(tok_.w.g());
      return completed_or_yield(h);
    }
    return tok_.suspend();
  }
  // Plain-thread side: blocks until a case fires; returns its index.
  int blocking(source_loc loc) noexcept {
    assert_not_in_goroutine(loc);
    tok_.w = thread_waker();
    if (start() < 0) block_thread_on(tok_);
    return finish();
  }
  // Index of the case that fired. Idempotent.
  int finish() noexcept {
    if (!finished_) {
      finished_ = true;
      fired_ = tok_.winner.load(std::memory_order_acquire);
      select_finish(spec_, fired_);
      if constexpr (kTimeout >= 0) timer_disarm(&timer_);
      // Torn down while parked: a completer may have claimed a case after the
      // load above, before that case's cancel; with every waiter withdrawn and
      // the timer disarmed, nothing can claim one now.
      if (fired_ < 0) fired_ = tok_.winner.load(std::memory_order_acquire);
      if (fired_ >= 0) {
        tok_.settle();  // the completer's last touch (chan_core.hpp, wait_token)
        ifaces_[fired_]->on_woken();
      }
    }
    return fired_;
  }
  template <std::size_t I>
  auto& get() noexcept {
    return std::get<I>(cases_);
  }

 private:
  int start() noexcept {
    started_ = true;
    fill(std::make_index_sequence<kN>{});
    spec_.cases = ifaces_;
    spec_.n = kN;
    spec_.default_index = kDefault;
    spec_.timeout_index = kTimeout;
    if constexpr (kTimeout >= 0) spec_.deadline = std::get<kTimeout>(cases_).deadline;
    int f = select_start(spec_, &tok_);
    if (f >= 0) {
      fired_ = f;
      finished_ = true;
      return f;
    }
    if constexpr (kTimeout >= 0) {
      timer_.tok = &tok_;
      timer_.index = kTimeout;
      timer_arm(&timer_, spec_.deadline);
    }
    return -1;
  }
  template <std::size_t... I>
  void fill(std::index_sequence<I...>) noexcept {
    ((ifaces_[I] = &std::get<I>(cases_)), ...);
  }

  std::tuple<Cs...> cases_;
  case_iface* ifaces_[kN];
  select_spec spec_;
  wait_token tok_;
  [[no_unique_address]] std::conditional_t<(kTimeout >= 0), select_timer, no_timer> timer_;
  int fired_ = -1;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace goro::detail

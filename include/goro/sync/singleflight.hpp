// goro/sync/singleflight.hpp — golang.org/x/sync/singleflight: duplicate
// call suppression. Concurrent calls with the same key share one execution
// of f and its result.
//
//   goro::singleflight::group<std::string, user> g;       // Go: var g singleflight.Group
//   auto r = co_await g.call(key, [&] { return load(key); });   // g.Do(key, fn)
//   use(r.value, r.shared);                               // v, _, shared
//   goro::receiver<goro::singleflight::result<user>> ch = g.call_chan(key, f);  // g.DoChan
//   g.forget(key);                                        // g.Forget(key)
//   auto r = g.blocking_call(key, f);                     // from a plain thread
//
// f returns V, or std::pair<V, goro::error> (Go's `return v, err`), or an
// awaitable of either (a coroutine returning task<V>...). The result is
// result<V>{value, err, shared}.
//
// Semantics (x/sync's):
//  * The first call for a key (the leader) runs f in its own goroutine (or
//    thread); calls for the same key that come while it runs (duplicates)
//    park until it finishes and receive a copy of the same value and error,
//    with shared = true. The leader's shared is true when it had duplicates.
//  * When f returns, the key is forgotten: the next call runs f again
//    (singleflight does not cache).
//  * forget(key): later calls for key run f anew instead of joining the call
//    in flight (which still completes for its own callers).
//  * call_chan(key, f) runs f in a new goroutine when it leads, and returns a
//    channel (capacity 1, never closed) that receives the result.
//  * An exception escaping f propagates to every caller: call() rethrows it
//    in the leader and in each duplicate (Go re-panics in every Do caller).
//    call_chan delivers it instead, as the result's err (an error holding the
//    exception_ptr; r.err.throw_if_error() rethrows it) and a
//    default-constructed value — Go crashes the program here, because a
//    channel cannot carry a panic.
//  * Go's runtime.Goexit has no C++ counterpart.
//
// Differences from Go: keys and values are typed (K hashable with Hash and
// KeyEqual, V copyable: every caller gets its own copy; share big values
// through std::shared_ptr<const T>). Duplicates park their goroutine (or
// block their plain thread), never the worker thread.
//
// Thread-safety: every member may be called concurrently from goroutines and
// plain threads. Lifetime: every call in flight, and call_chan's leader
// goroutine, shares the group's state, so the group may be destroyed while
// calls run (as Go's goroutines keep their Group alive): the calls finish
// and deliver as usual. A leader destroyed before f returned (its runtime
// torn down with it) finishes its flight with a std::runtime_error, which
// its duplicates rethrow and its channels receive as the error, and the
// key is free again; so does call_chan's leader goroutine destroyed before
// it ever ran. One case leaves the flight unfinished until later: a call()
// leader in a frame that a join_handle keeps past the teardown is abandoned
// only when the handle is dropped.
// Memory: f's completion happens-before every caller receives its result.
//
// Locking: the state's mu (a std::mutex: it runs user code — K's hash, equality, copy —
// and allocates, so not a spinlock) guards the map, and each call's dups,
// done flag, waiter queue and channels. Waiters are woken, and channels sent
// to, after mu is released. A call's value and error are written by its
// leader before it publishes done under mu, and only read afterwards.
#pragma once

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "goro/chan.hpp"
#include "goro/detail/goroutine.hpp"
#include "goro/detail/wait_queue.hpp"
#include "goro/error.hpp"
#include "goro/runtime.hpp"
#include "goro/task.hpp"

namespace goro::singleflight {

// What a call returns (Go: v, err, shared; DoChan's Result).
template <class V>
struct result {
  V value{};
  error err;            // f's error (nil when f returned a plain V)
  bool shared = false;  // the value went to more than one caller
};

namespace detail {
template <class F>
struct fn_result {
  using raw = std::invoke_result_t<F&>;
  using type = raw;
};
template <class F>
  requires awaitable<std::invoke_result_t<F&>>
struct fn_result<F> {
  using raw = std::invoke_result_t<F&>;
  using type = await_result_t<raw>;
};
// f returns V or std::pair<V, error> (after co_await).
template <class F, class V>
concept fn_of = std::is_same_v<std::remove_cvref_t<typename fn_result<F>::type>, V> ||
                std::is_same_v<std::remove_cvref_t<typename fn_result<F>::type>,
                               std::pair<V, error>> ||
                std::is_convertible_v<typename fn_result<F>::type, V>;
}  // namespace detail

template <class K, class V, class Hash = std::hash<K>, class KeyEqual = std::equal_to<K>>
class group {
 public:
  using key_type = K;
  using value_type = V;
  using result_type = result<V>;

  group() = default;
  group(const group&) = delete;
  group& operator=(const group&) = delete;

  // co_await g.call(key, f): runs f unless a call for key is in flight, in
  // which case it waits for that one; yields its result<V>, or rethrows f's
  // exception. (A task: lazy, nothing happens until it is awaited.)
  //
  // GCC 12 miscompiles a lambda temporary whose captures have destructors
  // inside a co_await expression (the captures are built at one address and
  // the closure is read from another: heap corruption; PR 100611 family,
  // docs/guide/compiler-hazards.md). With GCC, such an f must be a named lambda:
  //   auto load = [key] { return fetch(key); };
  //   auto r = co_await g.call(key, load);
  // Reference captures ([&], [this]) and plain functions are fine inline.
  //
  // `site` (defaulted: the caller) is what a dump shows while a duplicate waits.
  template <class F>
    requires detail::fn_of<std::decay_t<F>, V>
  task<result<V>> call(K key, F&& f,
                       GORO_WAIT_SITE_PARAMS) {
    static_assert(goro::detail::callable_safe_in_co_await<F>,
                  "goro::singleflight::group::call: GCC 12 miscompiles a lambda temporary with "
                  "non-trivial captures inside co_await; name the lambda first "
                  "(auto f = [..] {..}; co_await g.call(key, f);)");
    return call_impl(std::move(key), std::decay_t<F>(std::forward<F>(f)), GORO_WAIT_SITE);
  }

  // The same from a plain thread (f must not return an awaitable); a
  // duplicate blocks the thread.
  template <class F>
    requires detail::fn_of<std::decay_t<F>, V>
  result<V> blocking_call(const K& key, F&& f,
                          goro::detail::source_loc loc = goro::detail::source_loc::current()) {
    static_assert(!awaitable<typename detail::fn_result<std::decay_t<F>>::raw>,
                  "goro::singleflight::group::blocking_call: f returns an awaitable; use "
                  "co_await g.call(key, f)");
    goro::detail::assert_blocking_allowed(
        "goro::singleflight::group::blocking_call() blocks the thread; inside a "
        "goroutine use co_await g.call(key, f)",
        loc);
    const std::shared_ptr<state> s = s_;  // the group may be destroyed meanwhile
    std::shared_ptr<flight> c;
    if (!s->join(key, c, {})) {
      goro::detail::wait_node node;
      if (s->park_or_done(c.get(), node, {})) goro::detail::park_until_notified(node);
      return c->shared_result();
    }
    try {
      store(c.get(), std::invoke(f));
    } catch (...) {
      c->ex = std::current_exception();
    }
    return s->finish(key, c);
  }

  // Like call, but f runs in a new goroutine when this call leads; the
  // result arrives on the returned channel (capacity 1, never closed). An
  // exception of f arrives as result.err. If the leader goroutine cannot be
  // started (copying f threw, or no memory), call_chan throws that
  // exception, the key is forgotten, and calls that joined the flight in the
  // meantime receive the exception as f's. If it is started but its first
  // frame cannot be made when it runs (no memory), that bad_alloc arrives
  // as result.err, for this caller and the flight's duplicates alike.
  template <class F>
    requires detail::fn_of<std::decay_t<F>, V>
  receiver<result<V>> call_chan(const K& key, F&& f,
                                goro::detail::source_loc loc = goro::detail::source_loc::current()) {
    static_assert(std::is_default_constructible_v<V>,
                  "goro::singleflight::group::call_chan needs a default-constructible V "
                  "(the value of a result whose f threw)");
    chan<result<V>> ch = make_chan<result<V>>(1);
    std::shared_ptr<flight> c;
    if (s_->join(key, c, ch)) {
      try {
        // The ticket copies c, not moves it: the arguments may be consumed
        // in any order, so a throwing copy of f could otherwise leave c
        // empty here.
        const launching_scope launching(c.get());
        goro::detail::launch_detached(goro::detail::runtime_for_spawn(), loc,
                                      &group::chan_leader<std::decay_t<F>>,
                                      leader_ticket(s_, key, c), std::forward<F>(f));
      } catch (...) {
        // No leader runs: finish the flight with the launch's exception, so
        // the key is free again and duplicates that joined meanwhile get it
        // (as f's own exception), and give it to this caller.
        s_->abandon(key, c, std::current_exception());
        throw;
      }
    }
    return ch;
  }

  // Later calls for key run f anew instead of joining the call in flight.
  void forget(const K& key) {
    std::lock_guard<std::mutex> l(s_->mu);
    s_->m.erase(key);
  }

 private:
  template <class F>
  task<result<V>> call_impl(K key, F f, goro::detail::wait_site site) {
    // The frame holds the state: the group may be destroyed while this call
    // waits or leads (its owner's frame, at runtime teardown).
    const std::shared_ptr<state> s = s_;
    std::shared_ptr<flight> c;
    const bool leader = s->join(key, c, {});
    if (!leader) {
      wait_awaiter w(s.get(), c.get(), site);
      co_await w;
      co_return c->shared_result();
    }
    // From here on the flight must be finished whatever happens: run_f takes
    // f by reference (no move that could throw), and a failure to make its
    // frame becomes the flight's exception; a frame destroyed before f
    // returned (runtime teardown) abandons it.
    abandon_guard unfinished{s.get(), &key, &c};
    std::optional<task<>> run = make_run(c.get(), f);
    if (run) co_await std::move(*run);
    unfinished.armed = false;
    co_return s->finish(key, c);
  }

  // One call in flight (Go's singleflight.call).
  struct flight {
    // Written by the leader before done is published (under mu); read-only after.
    std::optional<V> value;
    error err;
    std::exception_ptr ex;
    // Guarded by the group's state's mu.
    int dups = 0;
    bool done = false;
    goro::detail::wait_queue waiters;
    std::vector<chan<result<V>>> chans;

    result<V> shared_result() const {
      if (ex) std::rethrow_exception(ex);
      return result<V>{*value, err, true};
    }
  };

  // The map and its lock, apart from the group: call_chan's leader
  // goroutine holds them too, so it can finish after the group is gone.
  struct state {
    std::mutex mu;
    std::unordered_map<K, std::shared_ptr<flight>, Hash, KeyEqual> m;  // guarded by mu

    // Under mu: joins the flight for key (false; c = it) or starts one (true).
    // ch, if valid, is registered for the result.
    bool join(const K& key, std::shared_ptr<flight>& c, const chan<result<V>>& ch) {
      std::lock_guard<std::mutex> l(mu);
      auto it = m.find(key);
      if (it != m.end()) {
        c = it->second;
        ++c->dups;
        if (ch) c->chans.push_back(ch);
        return false;
      }
      c = std::make_shared<flight>();
      if (ch) c->chans.push_back(ch);
      m.emplace(key, c);
      return true;
    }

    // Under mu: queues node on c (true: wait for the wake) unless c is done.
    // h is the parking goroutine, or null for a plain thread. *parked is set
    // before mu is released: nothing of the caller is touched afterwards.
    bool park_or_done(flight* c, goro::detail::wait_node& node, std::coroutine_handle<> h,
                      bool* parked = nullptr, const goro::detail::wait_site& site = {}) {
      std::lock_guard<std::mutex> l(mu);
      if (c->done) return false;
      node.w = h ? goro::detail::waker_for(h, goro::detail::wait_kinds::singleflight, site, c)
                 : goro::detail::thread_waker();
      c->waiters.push_back(&node);
      if (parked) *parked = true;
      return true;
    }

    // The leader is done: publish, forget the key (unless forgotten or
    // replaced), wake the duplicates, feed the channels; returns the leader's
    // own result (rethrows f's exception).
    result<V> finish(const K& key, const std::shared_ptr<flight>& c) {
      goro::detail::wait_node* chain = nullptr;
      std::vector<chan<result<V>>> chans;
      bool shared = false;
      {
        std::lock_guard<std::mutex> l(mu);
        c->done = true;
        auto it = m.find(key);
        if (it != m.end() && it->second == c) m.erase(it);
        chain = c->waiters.take_all();
        chans.swap(c->chans);
        shared = c->dups > 0;
      }
      goro::detail::wake_chain(chain);
      for (auto& ch : chans) {
        result<V> r;
        if (c->ex) {
          r.err = error(c->ex);
        } else {
          r.value = *c->value;
          r.err = c->err;
        }
        r.shared = shared;
        (void)ch.try_send(std::move(r));  // capacity 1, one send: never full
      }
      if (c->ex) std::rethrow_exception(c->ex);
      // Nobody else can read the value once done is published with no dups.
      if (!shared) return result<V>{std::move(*c->value), c->err, false};
      return result<V>{*c->value, c->err, true};
    }

    // No outcome of f will come (its leader was destroyed, or could not be
    // started): the flight finishes with `why` as f's exception, unless it
    // is finished already (a launch that failed inside a teardown meets
    // both the launch's catch and the ticket's destructor).
    void abandon(const K& key, const std::shared_ptr<flight>& c, std::exception_ptr why) noexcept {
      {
        std::lock_guard<std::mutex> l(mu);
        if (c->done) return;
        c->ex = std::move(why);  // read only once done is published
      }
      try {
        (void)finish(key, c);
      } catch (...) {  // the exception just stored: already delivered
      }
    }
  };

  // What the callers of a flight whose leader was destroyed before f
  // returned (its runtime was torn down) get instead of f's outcome. Thrown
  // and caught rather than make_exception_ptr: building the runtime_error
  // may itself throw (bad_alloc), which is then what the callers get,
  // instead of std::terminate in the noexcept abandon paths.
  static std::exception_ptr leader_destroyed() noexcept {
    try {
      throw std::runtime_error(
          "goro::singleflight: the call's leader was destroyed before f returned (its runtime "
          "was torn down)");
    } catch (...) {
      return std::current_exception();
    }
  }

  // Finishes the flight with an error when the leader's frame is destroyed
  // before f returned (its runtime was torn down), so that its duplicates,
  // its channels and later calls for the key do not wait for it forever.
  struct abandon_guard {
    state* s;
    const K* key;
    const std::shared_ptr<flight>* c;
    bool armed = true;
    abandon_guard(state* st, const K* k, const std::shared_ptr<flight>* fl) noexcept
        : s(st), key(k), c(fl) {}
    abandon_guard(const abandon_guard&) = delete;
    ~abandon_guard() {
      if (armed) s->abandon(*key, *c, leader_destroyed());
    }
  };

  // call_chan's leader goroutine carries its flight in this ticket, one of
  // its stored arguments, so the flight is abandoned whichever way an
  // unfinished leader is destroyed: by the runtime's teardown, its frame in
  // the middle of f or the goroutine before it ever ran (no frame, so no
  // guard in one); or on its worker when making its first frame threw (no
  // memory: that exception is the flight's). Not during call_chan's own
  // launch: a goroutine that could not be started is deleted with its
  // ticket there, and call_chan's catch finishes the flight with the
  // launch's exception (launching_scope).
  struct leader_ticket {
    std::shared_ptr<state> s;
    K key;
    std::shared_ptr<flight> c;
    bool armed = true;  // false once the leader finished the flight, or moved from
    leader_ticket(std::shared_ptr<state> st, const K& k, std::shared_ptr<flight> fl)
        : s(std::move(st)), key(k), c(std::move(fl)) {}
    // The key is moved only if that cannot throw, else copied: call_chan's
    // one move of the ticket into the goroutine must not fail where copying
    // the key in did not (a K whose move throws: SingleflightMoveThrowsAfterJoin).
    leader_ticket(leader_ticket&& o) noexcept(noexcept(K(std::move_if_noexcept(o.key))))
        : s(std::move(o.s)), key(std::move_if_noexcept(o.key)), c(std::move(o.c)) {
      o.armed = false;
    }
    leader_ticket(const leader_ticket&) = delete;
    leader_ticket& operator=(const leader_ticket&) = delete;
    ~leader_ticket() {
      if (!armed || !s || !c || c.get() == launching) return;
      // Outside a teardown, an armed ticket dies only in the catch of the
      // goroutine's start (shell::start), whose exception is the cause.
      std::exception_ptr why =
          goro::detail::destroying_unfinished() == nullptr ? std::current_exception() : nullptr;
      s->abandon(key, c, why ? std::move(why) : leader_destroyed());
    }
  };
  // The flight whose leader call_chan is launching on this thread (null:
  // none): its tickets leave a failed launch to call_chan's catch.
  static inline thread_local const flight* launching = nullptr;
  struct launching_scope {
    const flight* prev;
    explicit launching_scope(const flight* f) noexcept : prev(std::exchange(launching, f)) {}
    ~launching_scope() { launching = prev; }
    launching_scope(const launching_scope&) = delete;
    launching_scope& operator=(const launching_scope&) = delete;
  };

  // A duplicate's wait for the leader, inside a goroutine.
  struct GORO_NODISCARD_AWAITABLE wait_awaiter {
    state* s;
    flight* c;
    goro::detail::wait_node node;
    goro::detail::wait_site site;
    bool parked = false;
    wait_awaiter(state* st, flight* fl, const goro::detail::wait_site& ws) noexcept
        : s(st), c(fl), site(ws) {}
    wait_awaiter(const wait_awaiter&) = delete;
    // Torn down while parked (runtime shutdown): leave the queue, or wait
    // out the leader's wake that dequeued us (wait_queue.hpp).
    ~wait_awaiter() {
      if (parked && !node.notified.load(std::memory_order_acquire)) {
        {
          std::lock_guard<std::mutex> l(s->mu);
          if (node.linked) {
            c->waiters.erase(&node);
            return;
          }
        }
        goro::detail::settle_wake(node);
      }
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      return s->park_or_done(c, node, h, &parked, site);
    }
    void await_resume() const noexcept {
      if (parked) goro::detail::settle_wake(node);
    }
  };

  template <class R>
  static void store(flight* c, R&& r) {
    if constexpr (std::is_same_v<std::remove_cvref_t<R>, std::pair<V, error>>) {
      c->value.emplace(std::forward<R>(r).first);
      c->err = std::forward<R>(r).second;
    } else {
      c->value.emplace(std::forward<R>(r));
    }
  }

  // Runs f and stores its outcome in c (never throws f's exception). f is
  // the caller's: the leader's frame or its goroutine's stored copy.
  template <class F>
  static task<> run_f(flight* c, F& f) {
    using raw = typename detail::fn_result<F>::raw;
    using R = typename detail::fn_result<F>::type;
    try {
      if constexpr (awaitable<raw>) {
        raw t = std::invoke(f);
        R r = co_await std::move(t);
        store(c, std::move(r));
      } else {
        store(c, std::invoke(f));
      }
    } catch (...) {
      c->ex = std::current_exception();
    }
  }

  // run_f's task, or none when making its frame threw (no memory): that
  // exception is stored in c like one of f's, and the leader goes on to
  // finish the flight either way.
  template <class F>
  static std::optional<task<>> make_run(flight* c, F& f) {
    try {
      return run_f(c, f);
    } catch (...) {
      c->ex = std::current_exception();
      return std::nullopt;
    }
  }

  // The goroutine call_chan starts when it leads. It takes the goroutine's
  // stored ticket and f by reference (they live as long as the goroutine):
  // the flight is registered already, so a move here that threw would
  // leave it unfinished for good. Destroyed unfinished, the goroutine's
  // ticket abandons the flight.
  template <class F>
  static task<> chan_leader(leader_ticket&& t, F&& f) {
    std::optional<task<>> run = make_run(t.c.get(), f);
    if (run) co_await std::move(*run);
    t.armed = false;
    try {
      (void)t.s->finish(t.key, t.c);
    } catch (...) {  // f's exception: already delivered on the channels
    }
  }

  std::shared_ptr<state> s_ = std::make_shared<state>();
};

}  // namespace goro::singleflight

//! chan — the channel suite of bench/chan_threads.cpp on crossbeam-channel,
//! between plain OS threads (crossbeam has no goroutines). It is the third
//! column of `bench/run.sh --crossbeam`: goro against the fastest channel
//! library there is. Its case names are those of the Go twin bench/go/chan
//! (chan/...), so run.sh pairs its rows with goro's chan/... rows by name.
//!
//! Suite (n messages, default 5,000,000, rounded down to a multiple of 4 and
//! at least 4; threads = 4; messages are i32, like goro's `int`), for
//! capacities 0, 1 and 1024 (`crossbeam_channel::bounded(cap)`; bounded(0) is
//! a rendezvous channel like Go's unbuffered one), value in ns per message:
//!
//!   chan/bounded<cap>/seq          one thread: send a batch of cap messages,
//!                                  then receive them, until n are through
//!                                  (no seq for cap 0: it would deadlock)
//!   chan/bounded<cap>/spsc         1 producer, 1 consumer (the main thread)
//!   chan/bounded<cap>/mpsc         4 producers (n/4 each), 1 consumer
//!   chan/bounded<cap>/mpmc         4 producers, 4 consumers (n/4 each)
//!   chan/bounded<cap>/select_rx    4 producers each on its own channel, the
//!                                  main thread receiving with select! over
//!                                  the 4
//!   chan/bounded<cap>/select_both  4 producers each select!-sending over the
//!                                  4 channels, 4 consumers each
//!                                  select!-receiving over the 4
//!   chan/pingpong                  two threads, two bounded(0) channels, n/5
//!                                  round trips; ns per round trip
//!
//! chan/ring1000 is left out, as in chan_threads: a ring of 1000 OS threads
//! measures the kernel's scheduler and thread creation, not the channel.
//! Like chan_threads, a case's time includes starting and joining its
//! threads; pingpong times the round trips only.
//!
//! Honesty checks: every case counts the messages it received and adds up
//! their values, and checks both against what was sent (and that the
//! channels are empty at the end); pingpong checks every echo. A mismatch,
//! a send/recv on a disconnected channel or a panic (panic = "abort") ends
//! the program with a non-zero status and a line on stderr. A lost message
//! in a select case would block instead (the senders stay alive there, as in
//! Go): a watchdog thread ends the program with status 1 when one case runs
//! longer than 60 s + 100 us per message.
//!
//! Flag: -n N (also -n=N, --n N, --n=N; decimal, 0x hex or 0 octal, as the
//! C++ programs' bench::parse_n), like bench/chan.cpp and bench/go/chan.
//! Output: one line per case, `BENCH <case> <value> <unit>`, as the others.
//!
//! Build (offline: crates-io is replaced by Debian's crate directory
//! /usr/share/cargo/registry in .cargo/config.toml; Debian bookworm ships
//! crossbeam-channel 0.5.6, the upstream benchmarks use the newest 0.5.x):
//!
//!   apt-get install -y librust-crossbeam-channel-dev
//!   cd bench/crossbeam && cargo build --release --offline
//!   build/bench-crossbeam/release/chan -n 20000
//!
//! bench/run.sh --crossbeam does the build itself (into
//! build/bench-crossbeam/) and runs it interleaved with goro and Go.

use crossbeam_channel::{bounded, select, Receiver, Sender};
use std::io::Write;
use std::process;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const THREADS: usize = 4;
type Msg = i32;

fn fail(what: &str) -> ! {
    eprintln!("chan: {what}");
    process::exit(1);
}

fn check(ok: bool, what: &str) {
    if !ok {
        fail(what);
    }
}

fn report(name: &str, d: Duration, count: usize, unit: &str) {
    let v = d.as_nanos() as f64 / count as f64;
    let mut out = std::io::stdout().lock();
    if writeln!(out, "BENCH {name} {v:.2} {unit}")
        .and_then(|()| out.flush())
        .is_err()
    {
        process::exit(1);
    }
}

/// 0 + 1 + ... + (k - 1): the sum of the values a producer of k messages sends.
fn tri(k: usize) -> i64 {
    let k = k as i64;
    k * (k - 1) / 2
}

fn join<T>(h: JoinHandle<T>) -> T {
    h.join().unwrap_or_else(|_| fail("a thread panicked"))
}

fn join_all<T>(hs: Vec<JoinHandle<T>>) -> Vec<T> {
    hs.into_iter().map(join).collect()
}

fn send(s: &Sender<Msg>, v: Msg) {
    if s.send(v).is_err() {
        fail("send on a disconnected channel");
    }
}

fn recv(r: &Receiver<Msg>) -> Msg {
    r.recv()
        .unwrap_or_else(|_| fail("recv on a disconnected channel"))
}

fn produce(s: Sender<Msg>, count: usize) -> JoinHandle<()> {
    thread::spawn(move || {
        for i in 0..count {
            send(&s, i as Msg);
        }
    })
}

/// Receives count messages; returns the sum of their values.
fn consume_here(r: &Receiver<Msg>, count: usize) -> i64 {
    let mut sum = 0i64;
    for _ in 0..count {
        sum += i64::from(recv(r));
    }
    sum
}

fn check_sum(case: &str, sum: i64, want: i64) {
    if sum != want {
        fail(&format!(
            "{case}: received values sum to {sum}, want {want}"
        ));
    }
}

fn check_empty(case: &str, rs: &[Receiver<Msg>]) {
    if rs.iter().any(|r| !r.is_empty()) {
        fail(&format!("{case}: messages left in a channel"));
    }
}

fn chans(capacity: usize) -> (Vec<Sender<Msg>>, Vec<Receiver<Msg>>) {
    (0..THREADS).map(|_| bounded(capacity)).unzip()
}

fn seq(n: usize, capacity: usize) {
    let (s, r) = bounded(capacity);
    let (mut sent, mut got, mut sum) = (0usize, 0usize, 0i64);
    while sent < n {
        let batch = capacity.min(n - sent);
        for i in 0..batch {
            // Never blocks: at most capacity messages are in the channel.
            if s.try_send((sent + i) as Msg).is_err() {
                fail("seq: send on a channel with room failed");
            }
        }
        for _ in 0..batch {
            sum += i64::from(recv(&r));
            got += 1;
        }
        sent += capacity;
    }
    check(got == n, "seq: wrong number of messages received");
    check_sum("seq", sum, tri(n));
    check_empty("seq", &[r]);
}

fn spsc(n: usize, capacity: usize) {
    let (s, r) = bounded(capacity);
    let p = produce(s, n);
    let sum = consume_here(&r, n);
    join(p);
    check_sum("spsc", sum, tri(n));
    check_empty("spsc", &[r]);
}

fn mpsc(n: usize, capacity: usize) {
    let (s, r) = bounded(capacity);
    let ps: Vec<_> = (0..THREADS)
        .map(|_| produce(s.clone(), n / THREADS))
        .collect();
    drop(s);
    let sum = consume_here(&r, n);
    join_all(ps);
    check_sum("mpsc", sum, THREADS as i64 * tri(n / THREADS));
    check_empty("mpsc", &[r]);
}

fn mpmc(n: usize, capacity: usize) {
    let (s, r) = bounded(capacity);
    let mut ps = Vec::new();
    let mut cs = Vec::new();
    for _ in 0..THREADS {
        ps.push(produce(s.clone(), n / THREADS));
        let r = r.clone();
        cs.push(thread::spawn(move || consume_here(&r, n / THREADS)));
    }
    drop(s);
    join_all(ps);
    let sum: i64 = join_all(cs).into_iter().sum();
    check_sum("mpmc", sum, THREADS as i64 * tri(n / THREADS));
    check_empty("mpmc", &[r]);
}

fn select_recv(r: &[Receiver<Msg>]) -> Msg {
    let v = select! {
        recv(r[0]) -> v => v,
        recv(r[1]) -> v => v,
        recv(r[2]) -> v => v,
        recv(r[3]) -> v => v,
    };
    v.unwrap_or_else(|_| fail("select recv on a disconnected channel"))
}

fn select_send(s: &[Sender<Msg>], i: Msg) {
    let res = select! {
        send(s[0], i) -> res => res,
        send(s[1], i) -> res => res,
        send(s[2], i) -> res => res,
        send(s[3], i) -> res => res,
    };
    if res.is_err() {
        fail("select send on a disconnected channel");
    }
}

fn select_rx(n: usize, capacity: usize) {
    let (s, r) = chans(capacity);
    // s stays alive (as in Go, nobody closes): a producer that is done must
    // not disconnect its channel, or select! would pick it with an error.
    let ps: Vec<_> = s.iter().map(|s| produce(s.clone(), n / THREADS)).collect();
    let mut sum = 0i64;
    for _ in 0..n {
        sum += i64::from(select_recv(&r));
    }
    join_all(ps);
    drop(s);
    check_sum("select_rx", sum, THREADS as i64 * tri(n / THREADS));
    check_empty("select_rx", &r);
}

fn select_both(n: usize, capacity: usize) {
    let (s, r) = chans(capacity);
    let count = n / THREADS;
    let mut ts = Vec::new();
    for _ in 0..THREADS {
        let s = s.clone();
        ts.push(thread::spawn(move || {
            for i in 0..count {
                select_send(&s, i as Msg);
            }
            0
        }));
        let r = r.clone();
        ts.push(thread::spawn(move || {
            let mut sum = 0i64;
            for _ in 0..count {
                sum += i64::from(select_recv(&r));
            }
            sum
        }));
    }
    // s stays alive until all are done: see select_rx.
    let sum: i64 = join_all(ts).into_iter().sum();
    drop(s);
    check_sum("select_both", sum, THREADS as i64 * tri(count));
    check_empty("select_both", &r);
}

fn pingpong(rounds: usize) -> Duration {
    let (ping_s, ping_r) = bounded::<Msg>(0);
    let (pong_s, pong_r) = bounded::<Msg>(0);
    let echo = thread::spawn(move || {
        let mut echoed = 0usize;
        for v in ping_r.iter() {
            send(&pong_s, v);
            echoed += 1;
        }
        echoed
    });
    let t0 = Instant::now();
    for i in 0..rounds {
        send(&ping_s, i as Msg);
        if recv(&pong_r) != i as Msg {
            fail("pingpong: wrong echo");
        }
    }
    let d = t0.elapsed();
    drop(ping_s);
    check(
        join(echo) == rounds,
        "pingpong: wrong number of round trips",
    );
    d
}

/// strtol(v, &end, 0) over the whole string: decimal, 0x hex or 0 octal,
/// optional sign.
fn parse_long(v: &str) -> Option<i64> {
    let t = v.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if t.starts_with("0x") || t.starts_with("0X") {
        (16, &t[2..])
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    if digits.is_empty() || !digits.as_bytes()[0].is_ascii_alphanumeric() {
        return None;
    }
    let x = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -x } else { x })
}

/// bench::parse_n of bench/bench_util.hpp (Go's flag package for one
/// integer flag): -n N, -n=N, --n N, --n=N; anything else is a usage error.
fn parse_n(def: i64, what: &str) -> i64 {
    let args: Vec<String> = std::env::args().collect();
    let prog = args.first().map_or("chan", String::as_str);
    let usage = || -> ! {
        eprintln!("usage: {prog} [-n {what} (default {def})]");
        process::exit(2);
    };
    let mut n = def;
    let mut i = 1;
    while i < args.len() {
        let a = args[i].as_str();
        let v = if a == "-n" || a == "--n" {
            i += 1;
            args.get(i).map(String::as_str).unwrap_or_else(|| usage())
        } else if let Some(v) = a.strip_prefix("-n=").or_else(|| a.strip_prefix("--n=")) {
            v
        } else {
            usage()
        };
        n = parse_long(v).unwrap_or_else(|| usage());
        if n < 1 {
            usage();
        }
        i += 1;
    }
    n
}

/// Starts the watchdog: each case sends its name before it starts; if the
/// next name does not come within limit, the program fails. Dropping the
/// returned sender stops it.
fn watchdog(limit: Duration) -> Sender<String> {
    let (s, r) = crossbeam_channel::unbounded::<String>();
    thread::spawn(move || {
        let mut case = String::from("start");
        loop {
            match r.recv_timeout(limit) {
                Ok(next) => case = next,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    fail(&format!("{case}: still running after {limit:?}: stuck"))
                }
            }
        }
    });
    s
}

fn main() {
    let n = parse_n(5_000_000, "messages per case");
    let m = (n / THREADS as i64 * THREADS as i64).max(THREADS as i64);
    if m > i64::from(Msg::MAX) {
        eprintln!("chan: -n {n} is too large");
        process::exit(2);
    }
    let m = m as usize;
    let dog = watchdog(Duration::from_secs(60) + Duration::from_micros(100) * m as u32);

    type Case = (&'static str, fn(usize, usize));
    let tests: [Case; 6] = [
        ("seq", seq),
        ("spsc", spsc),
        ("mpsc", mpsc),
        ("mpmc", mpmc),
        ("select_rx", select_rx),
        ("select_both", select_both),
    ];
    for capacity in [0usize, 1, 1024] {
        for (name, f) in tests {
            if capacity == 0 && name == "seq" {
                continue;
            }
            let case = format!("chan/bounded{capacity}/{name}");
            let _ = dog.send(case.clone());
            let t0 = Instant::now();
            f(m, capacity);
            let d = t0.elapsed();
            report(&case, d, m, "ns/msg");
        }
    }

    let rounds = (m / 5).max(1);
    let _ = dog.send("chan/pingpong".to_string());
    report("chan/pingpong", pingpong(rounds), rounds, "ns/rt");
    // No chan/ring1000: see the header.
    drop(dog);
}

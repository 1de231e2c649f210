// Command rate measures golang.org/x/time/rate's Limiter. It is the Go twin
// of bench/rate.cpp: case names, units, workloads and the -n flag must stay
// identical. x/time comes from the Debian package golang-golang-x-time-dev
// (built offline, see ../go.mod).
//
// Everything runs with GOMAXPROCS=2 (goro: a runtime of 2 workers). n (-n,
// default 5,000,000) scales every case; values are ns per operation (Allow /
// Reserve+Cancel) or per event (Wait). "gK" cases start K goroutines sharing
// one limiter, each doing its share, timed from the first start until all are
// done.
//
//	rate/allow/single      one goroutine: Allow() on NewLimiter(1e9, 1000), n
//	                       calls; the bucket refills faster than it is
//	                       drained, so every call is granted
//	rate/allow/denied      one goroutine: Allow() on NewLimiter(1, 1), n
//	                       calls; all but the first are refused (the shape of
//	                       x/time/rate's BenchmarkAllowN)
//	rate/allow/g2, g4, g8  2, 4, 8 goroutines: Allow() on one
//	                       NewLimiter(1e9, 1000), n/2 calls in all
//	rate/reserve_cancel    one goroutine, NewLimiter(10, 1) drained first:
//	                       Reserve() (a reservation in the future) then
//	                       Cancel() (gives the token back), n/2 times
//	rate/wait/nodelay      one goroutine: Wait(context.Background()) on
//	                       NewLimiter(1e9, 1), n/5 events; the token is always
//	                       there by the next call: Wait's cost without a sleep
//	rate/wait/1M_burst1    one goroutine: Wait on NewLimiter(1e6, 1), n/100
//	                       events; ns per event, 1000 at best: the rest is how
//	                       late each short sleep wakes
//	rate/wait/1M_burst100  the same with burst 100 (a sleep every ~100
//	                       events), n/25 events
//	rate/wait/1M_g8        8 goroutines waiting on one NewLimiter(1e6, 8),
//	                       n/100 events in all; ns per event, 1000 at best
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

const (
	fast    = rate.Limit(1e9) // one token per nanosecond
	million = rate.Limit(1e6)
)

func report(name string, d time.Duration, ops int, unit string) {
	fmt.Printf("BENCH %s %.2f %s\n", name, float64(d.Nanoseconds())/float64(ops), unit)
}

func check(ok bool, what string) {
	if !ok {
		fmt.Fprintln(os.Stderr, "rate:", what)
		os.Exit(1)
	}
}

func atLeast(v, min int) int {
	if v < min {
		return min
	}
	return v
}

// fanOut runs body(i) in k goroutines and waits for all of them.
func fanOut(k int, body func(i int)) time.Duration {
	runtime.GC()
	var wg sync.WaitGroup
	wg.Add(k)
	t0 := time.Now()
	for i := 0; i < k; i++ {
		go func(i int) {
			body(i)
			wg.Done()
		}(i)
	}
	wg.Wait()
	return time.Since(t0)
}

func allowSingle(n int) {
	lim := rate.NewLimiter(fast, 1000)
	granted := 0
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if lim.Allow() {
			granted++
		}
	}
	d := time.Since(t0)
	check(granted > 0, "allow/single: nothing granted")
	report("rate/allow/single", d, n, "ns/op")
}

func allowDenied(n int) {
	lim := rate.NewLimiter(1, 1)
	granted := 0
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if lim.Allow() {
			granted++
		}
	}
	d := time.Since(t0)
	check(granted >= 1, "allow/denied: the first call was refused")
	report("rate/allow/denied", d, n, "ns/op")
}

func allowContended(name string, k, n int) {
	lim := rate.NewLimiter(fast, 1000)
	var granted atomic.Int64
	per := atLeast(n/2/k, 1)
	d := fanOut(k, func(int) {
		g := 0
		for i := 0; i < per; i++ {
			if lim.Allow() {
				g++
			}
		}
		granted.Add(int64(g))
	})
	check(granted.Load() > 0, "allow/gK: nothing granted")
	report(name, d, per*k, "ns/op")
}

func reserveCancel(n int) {
	lim := rate.NewLimiter(10, 1)
	lim.Allow() // drain: every reservation below is in the future
	ops := atLeast(n/2, 1)
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < ops; i++ {
		r := lim.Reserve()
		check(r.OK(), "reserve_cancel: reservation not ok")
		r.Cancel()
	}
	d := time.Since(t0)
	report("rate/reserve_cancel", d, ops, "ns/op")
}

func waitSingle(name string, l rate.Limit, burst, events int) {
	lim := rate.NewLimiter(l, burst)
	ctx := context.Background()
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < events; i++ {
		err := lim.Wait(ctx)
		check(err == nil, "wait: error")
	}
	d := time.Since(t0)
	report(name, d, events, "ns/event")
}

func waitContended(name string, k, events int) {
	lim := rate.NewLimiter(million, k)
	per := atLeast(events/k, 1)
	d := fanOut(k, func(int) {
		ctx := context.Background()
		for i := 0; i < per; i++ {
			err := lim.Wait(ctx)
			check(err == nil, "wait: error")
		}
	})
	report(name, d, per*k, "ns/event")
}

func main() {
	n := flag.Int("n", 5_000_000, "operations per single-goroutine case")
	flag.Parse()
	if *n < 1 {
		flag.Usage()
		os.Exit(2)
	}
	runtime.GOMAXPROCS(2)
	allowSingle(*n)
	allowDenied(*n)
	allowContended("rate/allow/g2", 2, *n)
	allowContended("rate/allow/g4", 4, *n)
	allowContended("rate/allow/g8", 8, *n)
	reserveCancel(*n)
	// Sleeping cases: short sleeps wake late (tens of microseconds each is
	// usual), so burst 1 and 8 goroutines get fewer events than burst 100.
	waitSingle("rate/wait/nodelay", fast, 1, atLeast(*n/5, 1))
	waitSingle("rate/wait/1M_burst1", million, 1, atLeast(*n/100, 8))
	waitSingle("rate/wait/1M_burst100", million, 100, atLeast(*n/25, 8))
	waitContended("rate/wait/1M_g8", 8, atLeast(*n/100, 8))
}

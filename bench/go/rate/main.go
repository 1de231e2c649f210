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
//	rate/wait/1M_burst1    one goroutine: Wait on NewLimiter(1e6, 1), n/25
//	                       events; ns per event, 1000 at best: the rest is how
//	                       late each short sleep wakes
//	rate/wait/1M_burst100  the same with burst 100 (a sleep every ~100 events)
//	rate/wait/1M_g8        8 goroutines waiting on one NewLimiter(1e6, 8), n/25
//	                       events in all; ns per event, 1000 at best
//
// A wait case stops early, after whole multiples of 16 events, once 500 ms
// have passed; its value is then per event done.
package main

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	bu "gorobench/internal/benchutil"
)

const (
	prog    = "rate"
	fast    = rate.Limit(1e9) // one token per nanosecond
	million = rate.Limit(1e6)
)

func allowSingle(name string, l rate.Limit, burst, n int) {
	lim := rate.NewLimiter(l, burst)
	granted := 0
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if lim.Allow() {
			granted++
		}
	}
	d := time.Since(t0)
	bu.Check(granted >= 1, prog, "allow: the first call was refused")
	bu.Report(name, d, n, "ns/op")
}

func allowContended(name string, k, n int) {
	lim := rate.NewLimiter(fast, 1000)
	var granted atomic.Int64
	per := bu.AtLeast(n/2/k, 1)
	d := bu.FanOut(k, func(int) {
		g := 0
		for i := 0; i < per; i++ {
			if lim.Allow() {
				g++
			}
		}
		granted.Add(int64(g))
	})
	bu.Check(granted.Load() > 0, prog, "allow/gK: nothing granted")
	bu.Report(name, d, per*k, "ns/op")
}

func reserveCancel(n int) {
	lim := rate.NewLimiter(10, 1)
	lim.Allow() // drain: every reservation below is in the future
	ops := bu.AtLeast(n/2, 1)
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < ops; i++ {
		r := lim.Reserve()
		bu.Check(r.OK(), prog, "reserve_cancel: reservation not ok")
		r.Cancel()
	}
	d := time.Since(t0)
	bu.Report("rate/reserve_cancel", d, ops, "ns/op")
}

// The waiting cases stop after `events` events or once waitBudget has passed
// (looked at every 16 events), whichever comes first, and report the time
// per event done: how late short sleeps wake differs a lot between machines,
// and this keeps every case's run short.
const waitBudget = 500 * time.Millisecond

func waitSingle(name string, l rate.Limit, burst, events int) {
	lim := rate.NewLimiter(l, burst)
	ctx := context.Background()
	runtime.GC()
	t0 := time.Now()
	stop := t0.Add(waitBudget)
	done := 0
	for done < events {
		err := lim.Wait(ctx)
		bu.Check(err == nil, prog, "wait: error")
		done++
		if done%16 == 0 && !time.Now().Before(stop) {
			break
		}
	}
	d := time.Since(t0)
	bu.Report(name, d, done, "ns/event")
}

func waitContended(name string, k, events int) {
	lim := rate.NewLimiter(million, k)
	per := bu.AtLeast(events/k, 1)
	stop := time.Now().Add(waitBudget)
	var done atomic.Int64
	d := bu.FanOut(k, func(int) {
		ctx := context.Background()
		i := 0
		for i < per {
			err := lim.Wait(ctx)
			bu.Check(err == nil, prog, "wait: error")
			i++
			if i%16 == 0 && !time.Now().Before(stop) {
				break
			}
		}
		done.Add(int64(i))
	})
	bu.Report(name, d, int(done.Load()), "ns/event")
}

func main() {
	n := bu.Start("operations per single-goroutine case")
	allowSingle("rate/allow/single", fast, 1000, n)
	allowSingle("rate/allow/denied", 1, 1, n)
	allowContended("rate/allow/g2", 2, n)
	allowContended("rate/allow/g4", 4, n)
	allowContended("rate/allow/g8", 8, n)
	reserveCancel(n)
	waitSingle("rate/wait/nodelay", fast, 1, bu.AtLeast(n/5, 1))
	waitSingle("rate/wait/1M_burst1", million, 1, bu.AtLeast(n/25, 8))
	waitSingle("rate/wait/1M_burst100", million, 100, bu.AtLeast(n/25, 8))
	waitContended("rate/wait/1M_g8", 8, bu.AtLeast(n/25, 8))
}

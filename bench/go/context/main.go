// Command context measures context cancellation and creation. It is the Go
// twin of bench/context.cpp: case names, units and workloads must stay
// identical. Runs with GOMAXPROCS=2 (goro: a runtime of 2 workers).
//
//	context/cancel_fanout_100k           100k goroutines each blocked on <-ctx.Done();
//	                                     ns from cancel() until all have woken
//	                                     (a WaitGroup), per goroutine
//	context/cancel_fanout_100k_select    the same, each blocked in a select on
//	                                     ctx.Done() and its own (never ready) channel
//	context/cancel_fanout_100k_children  100k goroutines, each blocked on the
//	                                     Done() of its own WithCancel child of
//	                                     ctx; cancel() must cancel the 100k
//	                                     children; ns per goroutine
//	context/cancel_fanout_100k_warm      cancel_fanout_100k again, three times
//	                                     after the cases above; the median. The
//	                                     first case of the program runs on fresh
//	                                     memory; this one on recycled goroutines
//	                                     and stacks, as a long-running server would
//	context/with_cancel                  WithCancel(Background()) + cancel, ns/op
//	context/with_cancel_child            WithCancel(parent) + cancel where parent is
//	                                     a live WithCancel context, ns/op
//	context/with_timeout                 WithTimeout(Background(), time.Hour) + cancel, ns/op
//	context/with_value_depth10           ctx.Value(key) on a chain of 10 WithValue
//	                                     contexts, key in the outermost (10 hops), ns/op
//
// The goroutines of a fan-out case report "started" before they block; the
// timing goroutine sleeps 50 ms after they have all started so that all are
// parked when it cancels (both sides alike).
package main

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"
)

const (
	fan     = 100_000
	ops     = 2_000_000
	lookups = 20_000_000
)

func report(name string, d time.Duration, n int, unit string) {
	fmt.Printf("BENCH %s %.2f %s\n", name, float64(d.Nanoseconds())/float64(n), unit)
}

type waitKind int

const (
	waitRecv waitKind = iota
	waitSelect
	waitChild
)

func fanOut(kind waitKind) time.Duration {
	runtime.GC()
	ctx, cancel := context.WithCancel(context.Background())
	var started, woken sync.WaitGroup
	started.Add(fan)
	woken.Add(fan)
	for i := 0; i < fan; i++ {
		go func() {
			switch kind {
			case waitRecv:
				done := ctx.Done()
				started.Done()
				<-done
			case waitSelect:
				own := make(chan int)
				started.Done()
				select {
				case <-ctx.Done():
				case <-own:
					panic("own channel")
				}
			case waitChild:
				child, childCancel := context.WithCancel(ctx)
				done := child.Done()
				started.Done()
				<-done
				if child.Err() == nil {
					panic("child not cancelled")
				}
				childCancel()
			}
			woken.Done()
		}()
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond)

	t0 := time.Now()
	cancel()
	woken.Wait()
	return time.Since(t0)
}

func fanOutCase(name string, kind waitKind) {
	report(name, fanOut(kind), fan, "ns/g")
}

func fanOutWarm() {
	var d [3]time.Duration
	for i := range d {
		d[i] = fanOut(waitRecv)
	}
	sort.Slice(d[:], func(i, j int) bool { return d[i] < d[j] })
	report("context/cancel_fanout_100k_warm", d[1], fan, "ns/g")
}

func withCancel() {
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < ops; i++ {
		_, cancel := context.WithCancel(context.Background())
		cancel()
	}
	report("context/with_cancel", time.Since(t0), ops, "ns/op")
}

func withCancelChild() {
	runtime.GC()
	parent, parentCancel := context.WithCancel(context.Background())
	defer parentCancel()
	t0 := time.Now()
	for i := 0; i < ops; i++ {
		_, cancel := context.WithCancel(parent)
		cancel()
	}
	report("context/with_cancel_child", time.Since(t0), ops, "ns/op")
}

func withTimeout() {
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < ops; i++ {
		_, cancel := context.WithTimeout(context.Background(), time.Hour)
		cancel()
	}
	report("context/with_timeout", time.Since(t0), ops, "ns/op")
}

// Ten distinct keys; the value is looked up under keys[0], set first (outermost).
type key int

func withValueDepth10() {
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		ctx = context.WithValue(ctx, key(i), int64(i+1))
	}
	runtime.GC()
	var sum int64
	t0 := time.Now()
	for i := 0; i < lookups; i++ {
		sum += ctx.Value(key(0)).(int64)
	}
	d := time.Since(t0)
	if sum != lookups {
		panic("bad sum")
	}
	report("context/with_value_depth10", d, lookups, "ns/op")
}

func main() {
	runtime.GOMAXPROCS(2)
	fanOutCase("context/cancel_fanout_100k", waitRecv)
	fanOutCase("context/cancel_fanout_100k_select", waitSelect)
	fanOutCase("context/cancel_fanout_100k_children", waitChild)
	fanOutWarm()
	withCancel()
	withCancelChild()
	withTimeout()
	withValueDepth10()
}

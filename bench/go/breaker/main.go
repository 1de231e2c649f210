// Command breaker measures a circuit breaker's cost in the closed state. It
// is the Go twin of bench/breaker.cpp: case names, units, workloads and the
// -n flag must stay identical.
//
// sony/gobreaker is not available offline (no Debian package), so
// gobreaker.go in this directory is a hand-written, faithful minimal copy of
// gobreaker's (v0.5) CircuitBreaker: the same struct (mutex, state,
// generation, counts, expiry), NewCircuitBreaker's defaults, and Execute's
// path (beforeRequest, the request, afterRequest with a deferred recover,
// currentState / setState / toNewGeneration / onSuccess / onFailure), each
// lock taken with defer as gobreaker does. Only what the benchmark does not
// need is left out (Name/State/Counts accessors, TwoStepCircuitBreaker).
//
// Everything runs with GOMAXPROCS=2 (goro: a runtime of 2 workers). n (-n,
// default 5,000,000) scales every case; values are ns per call. Breakers
// have the default settings and the request does nothing and succeeds.
//
//	breaker/execute/single      one goroutine: Execute(f), f returns nil, nil;
//	                            n calls
//	breaker/execute/g2, g4, g8  2, 4, 8 goroutines calling Execute on one
//	                            breaker, n/2 calls in all
//	breaker/execute_ctx/single  one goroutine: if ctx.Err() == nil {
//	                            Execute(f) } (gobreaker has no context form;
//	                            goro: co_await cb.execute(ctx, f)); n/2 calls
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
)

func report(name string, d time.Duration, ops int, unit string) {
	fmt.Printf("BENCH %s %.2f %s\n", name, float64(d.Nanoseconds())/float64(ops), unit)
}

func check(ok bool, what string) {
	if !ok {
		fmt.Fprintln(os.Stderr, "breaker:", what)
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

func succeed() (interface{}, error) { return nil, nil }

func executeSingle(n int) {
	cb := NewCircuitBreaker(Settings{})
	failed := 0
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if _, err := cb.Execute(succeed); err != nil {
			failed++
		}
	}
	d := time.Since(t0)
	check(failed == 0 && cb.state == StateClosed, "execute/single: a call failed")
	report("breaker/execute/single", d, n, "ns/op")
}

func executeContended(name string, k, n int) {
	cb := NewCircuitBreaker(Settings{})
	var failed atomic.Int64
	per := atLeast(n/2/k, 1)
	d := fanOut(k, func(int) {
		f := 0
		for i := 0; i < per; i++ {
			if _, err := cb.Execute(succeed); err != nil {
				f++
			}
		}
		failed.Add(int64(f))
	})
	check(failed.Load() == 0 && int(cb.counts.Requests) == per*k,
		"execute/gK: a call failed or was not counted")
	report(name, d, per*k, "ns/op")
}

func executeCtxSingle(n int) {
	cb := NewCircuitBreaker(Settings{})
	ctx := context.Background()
	ops := atLeast(n/2, 1)
	failed := 0
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < ops; i++ {
		err := ctx.Err()
		if err == nil {
			_, err = cb.Execute(succeed)
		}
		if err != nil {
			failed++
		}
	}
	d := time.Since(t0)
	check(failed == 0, "execute_ctx/single: a call failed")
	report("breaker/execute_ctx/single", d, ops, "ns/op")
}

func main() {
	n := flag.Int("n", 5_000_000, "calls per single-goroutine case")
	flag.Parse()
	if *n < 1 {
		flag.Usage()
		os.Exit(2)
	}
	runtime.GOMAXPROCS(2)
	executeSingle(*n)
	executeContended("breaker/execute/g2", 2, *n)
	executeContended("breaker/execute/g4", 4, *n)
	executeContended("breaker/execute/g8", 8, *n)
	executeCtxSingle(*n)
}

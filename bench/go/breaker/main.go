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
	"runtime"
	"sync/atomic"
	"time"

	bu "gorobench/internal/benchutil"
)

const prog = "breaker"

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
	bu.Check(failed == 0 && cb.state == StateClosed, prog, "execute/single: a call failed")
	bu.Report("breaker/execute/single", d, n, "ns/op")
}

func executeContended(name string, k, n int) {
	cb := NewCircuitBreaker(Settings{})
	var failed atomic.Int64
	per := bu.AtLeast(n/2/k, 1)
	d := bu.FanOut(k, func(int) {
		f := 0
		for i := 0; i < per; i++ {
			if _, err := cb.Execute(succeed); err != nil {
				f++
			}
		}
		failed.Add(int64(f))
	})
	bu.Check(failed.Load() == 0 && int(cb.counts.Requests) == per*k, prog,
		"execute/gK: a call failed or was not counted")
	bu.Report(name, d, per*k, "ns/op")
}

func executeCtxSingle(n int) {
	cb := NewCircuitBreaker(Settings{})
	ctx := context.Background()
	ops := bu.AtLeast(n/2, 1)
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
	bu.Check(failed == 0, prog, "execute_ctx/single: a call failed")
	bu.Report("breaker/execute_ctx/single", d, ops, "ns/op")
}

func main() {
	n := bu.Start("calls per single-goroutine case")
	executeSingle(n)
	executeContended("breaker/execute/g2", 2, n)
	executeContended("breaker/execute/g4", 4, n)
	executeContended("breaker/execute/g8", 8, n)
	executeCtxSingle(n)
}

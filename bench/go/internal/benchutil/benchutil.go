// Package benchutil is what the Go twins of bench/rate.cpp and
// bench/breaker.cpp share (the C++ side: bench/bench_util.hpp): the -n flag
// and GOMAXPROCS, the "BENCH <case> <value> <unit>" line bench/run.sh reads,
// a check that stops the program, and starting k goroutines at once and
// timing them until the last is done.
package benchutil

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

// Start parses the command line (-n N, default 5,000,000; what says what n
// counts), sets GOMAXPROCS to 2 (the C++ twins run 2 workers) and returns n.
func Start(what string) int {
	n := flag.Int("n", 5_000_000, what)
	flag.Parse()
	if *n < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	runtime.GOMAXPROCS(2)
	return *n
}

// Report prints one result line: d / ops in unit (a time per operation).
func Report(name string, d time.Duration, ops int, unit string) {
	fmt.Printf("BENCH %s %.2f %s\n", name, float64(d.Nanoseconds())/float64(ops), unit)
}

// Check exits with status 1 and "prog: what" on stderr unless ok.
func Check(ok bool, prog, what string) {
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: %s\n", prog, what)
		os.Exit(1)
	}
}

// AtLeast returns max(v, min).
func AtLeast(v, min int) int {
	if v < min {
		return min
	}
	return v
}

// FanOut runs body(i) in k goroutines and waits for all of them; it returns
// the time from before the first start to Wait returning (after a GC).
func FanOut(k int, body func(i int)) time.Duration {
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

// Command sleep measures timer accuracy under load: 100,000 goroutines each
// sleep a random duration, uniform in [0, 100ms) (math/rand, seed 42), and
// record how late they woke. It is the Go twin of bench/sleep.cpp: case names
// and workloads must stay identical.
//
// Each goroutine takes its deadline as "now + d" when it starts running, so
// lateness (wake time - deadline) measures timer and wake-up delay, not the
// time spent spawning the other goroutines.
//
// Cases (one "BENCH <case> <value> <unit>" line each):
//
//	sleep/100k_wall      ms from the first spawn until all 100k have woken
//	sleep/100k_p99_late  99th percentile lateness, microseconds
//	sleep/100k_p50_late  median lateness, microseconds
package main

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"sync"
	"time"
)

const (
	n        = 100_000
	maxSleep = 100 * time.Millisecond
)

// percentile returns the nearest-rank p-quantile (0 < p <= 1) of sorted s.
func percentile(s []time.Duration, p float64) time.Duration {
	return s[int(math.Ceil(p*float64(len(s))))-1]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func main() {
	r := rand.New(rand.NewSource(42))
	sleeps := make([]time.Duration, n)
	for i := range sleeps {
		sleeps[i] = time.Duration(r.Int63n(int64(maxSleep)))
	}
	late := make([]time.Duration, n)

	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	for i := range sleeps {
		go func(i int) {
			deadline := time.Now().Add(sleeps[i])
			time.Sleep(sleeps[i])
			late[i] = time.Since(deadline)
			wg.Done()
		}(i)
	}
	wg.Wait()
	wall := time.Since(start)

	sort.Slice(late, func(a, b int) bool { return late[a] < late[b] })
	fmt.Printf("BENCH sleep/100k_wall %.2f ms\n", float64(wall.Nanoseconds())/1e6)
	fmt.Printf("BENCH sleep/100k_p99_late %.2f us\n", us(percentile(late, 0.99)))
	fmt.Printf("BENCH sleep/100k_p50_late %.2f us\n", us(percentile(late, 0.50)))
}

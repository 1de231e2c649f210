// Command errgroup measures golang.org/x/sync/errgroup: start 100k goroutines
// in a group and wait. It is the Go twin of bench/errgroup.cpp: case names
// and workloads must stay identical.
//
// Cases (one "BENCH <case> <value> <unit>" line each):
//
//	errgroup/go_wait_100k         ns per task: 100k g.Go(f) (f increments an atomic and returns nil), then g.Wait()
//	errgroup/go_wait_100k_limit8  the same with g.SetLimit(8) (g.Go blocks while 8 are active)
//
// Each case runs 7 rounds; the median round is reported.
package main

import (
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

const (
	n      = 100_000
	rounds = 7
)

func report(name string, value float64, unit string) {
	fmt.Printf("BENCH %s %.2f %s\n", name, value, unit)
}

func oneRound(limit int) float64 {
	var counter atomic.Int64
	var g errgroup.Group
	if limit >= 0 {
		g.SetLimit(limit)
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		g.Go(func() error {
			counter.Add(1)
			return nil
		})
	}
	err := g.Wait()
	d := time.Since(t0)
	if err != nil || counter.Load() != n {
		panic("lost tasks")
	}
	return float64(d.Nanoseconds()) / n
}

func benchCase(name string, limit int) {
	v := make([]float64, 0, rounds)
	for r := 0; r < rounds; r++ {
		v = append(v, oneRound(limit))
	}
	sort.Float64s(v)
	report(name, v[len(v)/2], "ns/task")
}

func main() {
	benchCase("errgroup/go_wait_100k", -1)
	benchCase("errgroup/go_wait_100k_limit8", 8)
}

// Command spawn measures goroutine creation, memory per parked goroutine and
// mass wake-up. It is the Go twin of bench/spawn.cpp: case names and
// workloads must stay identical.
//
// Cases (one "BENCH <case> <value> <unit>" line each):
//
//	spawn/parked_1M_create  ns to start 1M goroutines until all are blocked on <-ch, per goroutine
//	spawn/parked_1M_bytes   RSS growth (/proc/self/statm) with those 1M parked, bytes per goroutine
//	spawn/parked_1M_wake    ns from close(ch) until all 1M have exited, per goroutine
//	spawn/spawn_join_1M     ns to start 1M goroutines that increment an atomic and wait for all, per goroutine
//	spawn/spawn_join_handles_1M  the same, each goroutine joined through its own done channel
//	                        (closed when it exits; goro: a join_handle per goroutine)
//
// The parked cases run first so that the RSS baseline is not inflated by
// goroutines (and stacks) recycled from an earlier case.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const n = 1_000_000

func report(name string, value float64, unit string) {
	fmt.Printf("BENCH %s %.2f %s\n", name, value, unit)
}

func perG(d time.Duration) float64 { return float64(d.Nanoseconds()) / n }

// rss returns the resident set size in bytes, read from /proc/self/statm.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		panic(err)
	}
	pages, err := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	if err != nil {
		panic(err)
	}
	return pages * int64(os.Getpagesize())
}

func parked() {
	ch := make(chan struct{})
	var started, exited sync.WaitGroup
	started.Add(n)
	exited.Add(n)
	runtime.GC()
	before := rss()

	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-ch
			exited.Done()
		}()
	}
	started.Wait()
	create := time.Since(t0)

	runtime.GC()
	after := rss()

	t1 := time.Now()
	close(ch)
	exited.Wait()
	wake := time.Since(t1)

	report("spawn/parked_1M_create", perG(create), "ns/g")
	report("spawn/parked_1M_bytes", float64(after-before)/n, "B/g")
	report("spawn/parked_1M_wake", perG(wake), "ns/g")
}

func spawnJoin() {
	var count atomic.Int64
	var wg sync.WaitGroup
	wg.Add(n)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			count.Add(1)
			wg.Done()
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	if count.Load() != n {
		panic("lost increments")
	}
	report("spawn/spawn_join_1M", perG(d), "ns/g")
}

func spawnJoinHandles() {
	var count atomic.Int64
	dones := make([]chan struct{}, n)
	t0 := time.Now()
	for i := range dones {
		done := make(chan struct{})
		dones[i] = done
		go func() {
			count.Add(1)
			close(done)
		}()
	}
	for _, done := range dones {
		<-done
	}
	d := time.Since(t0)
	if count.Load() != n {
		panic("lost increments")
	}
	report("spawn/spawn_join_handles_1M", perG(d), "ns/g")
}

func main() {
	parked()
	runtime.GC()
	spawnJoin()
	runtime.GC()
	spawnJoinHandles()
}

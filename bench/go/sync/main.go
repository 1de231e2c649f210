// Command sync measures sync primitives. It is the Go twin of
// bench/sync.cpp: case names, units and workloads must stay identical. The
// semaphore is golang.org/x/sync/semaphore (built offline from the Debian
// package golang-golang-x-sync-dev, see ../go.mod).
//
// Everything runs with GOMAXPROCS=2 (goro: a runtime of 2 workers). The
// 8-goroutine cases start 8 goroutines that each do perG operations and time
// from the first start to Wait returning. Values are ns per operation (total
// operations = 8*perG for the 8-goroutine cases).
//
//	sync/mutex_uncontended     one goroutine: Lock; counter++; Unlock
//	sync/mutex_contended       8 goroutines: Lock; counter++; Unlock
//	sync/rwmutex_read_mostly   8 goroutines: 99 of 100 ops RLock, read the
//	                           counter, RUnlock; 1 of 100 Lock, counter++, Unlock
//	sync/sem_uncontended       one goroutine: Acquire(ctx, 1); counter++;
//	                           Release(1) on a Weighted of size 1
//	sync/sem_contended         8 goroutines, a Weighted of size 2: Acquire(ctx,
//	                           1); atomic counter++; Release(1)
//	sync/wait_group_round      one goroutine: Add(1); Done(); Wait()
//	sync/wait_group_done_8     Add(8*perG) once, then 8 goroutines each call
//	                           Done() perG times; ns per Done()
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	bu "gorobench/internal/benchutil"
)

const (
	g      = 8
	seqOps = 20_000_000 // single-goroutine cases
	perG   = 1_000_000  // per goroutine, 8-goroutine cases
)

func report(name string, d time.Duration, ops int) {
	fmt.Printf("BENCH %s %.2f ns/op\n", name, float64(d.Nanoseconds())/float64(ops))
}

func check(ok bool, what string) {
	if !ok {
		fmt.Fprintln(os.Stderr, "sync:", what)
		os.Exit(1)
	}
}

func mutexUncontended() {
	var mu sync.Mutex
	counter := 0
	t0 := time.Now()
	for i := 0; i < seqOps; i++ {
		mu.Lock()
		counter++
		mu.Unlock()
	}
	d := time.Since(t0)
	check(counter == seqOps, "mutex_uncontended: lost increments")
	report("sync/mutex_uncontended", d, seqOps)
}

func mutexContended() {
	var mu sync.Mutex
	counter := 0
	d := bu.FanOut(g, func(int) {
		for i := 0; i < perG; i++ {
			mu.Lock()
			counter++
			mu.Unlock()
		}
	})
	check(counter == g*perG, "mutex_contended: lost increments")
	report("sync/mutex_contended", d, g*perG)
}

func rwmutexReadMostly() {
	var rw sync.RWMutex
	counter := 0
	var seen atomic.Int64
	d := bu.FanOut(g, func(int) {
		local := 0
		for i := 0; i < perG; i++ {
			if i%100 == 99 {
				rw.Lock()
				counter++
				rw.Unlock()
			} else {
				rw.RLock()
				local += counter
				rw.RUnlock()
			}
		}
		seen.Add(int64(local))
	})
	check(counter == g*(perG/100), "rwmutex_read_mostly: lost increments")
	report("sync/rwmutex_read_mostly", d, g*perG)
}

func semUncontended() {
	sem := semaphore.NewWeighted(1)
	ctx := context.Background()
	counter := 0
	t0 := time.Now()
	for i := 0; i < seqOps; i++ {
		if err := sem.Acquire(ctx, 1); err != nil {
			panic(err)
		}
		counter++
		sem.Release(1)
	}
	d := time.Since(t0)
	check(counter == seqOps, "sem_uncontended: lost increments")
	report("sync/sem_uncontended", d, seqOps)
}

func semContended() {
	sem := semaphore.NewWeighted(2)
	ctx := context.Background()
	var counter atomic.Int64
	d := bu.FanOut(g, func(int) {
		for i := 0; i < perG; i++ {
			if err := sem.Acquire(ctx, 1); err != nil {
				panic(err)
			}
			counter.Add(1)
			sem.Release(1)
		}
	})
	check(counter.Load() == g*perG, "sem_contended: lost increments")
	report("sync/sem_contended", d, g*perG)
}

func waitGroupRound() {
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < seqOps; i++ {
		wg.Add(1)
		wg.Done()
		wg.Wait()
	}
	report("sync/wait_group_round", time.Since(t0), seqOps)
}

func waitGroupDone8() {
	var work sync.WaitGroup
	work.Add(g * perG)
	d := bu.FanOut(g, func(int) {
		for i := 0; i < perG; i++ {
			work.Done()
		}
	})
	work.Wait()
	report("sync/wait_group_done_8", d, g*perG)
}

func main() {
	runtime.GOMAXPROCS(2)
	mutexUncontended()
	mutexContended()
	rwmutexReadMostly()
	semUncontended()
	semContended()
	waitGroupRound()
	waitGroupDone8()
}

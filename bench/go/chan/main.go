// Command chan measures channel throughput: the crossbeam-channel benchmark
// suite for capacities 0, 1 and 1024, plus an unbuffered ping-pong and a
// token ring. It is the Go twin of bench/chan.cpp: case names and workloads
// must stay identical.
//
// Suite (n messages, default 5,000,000, threads = 4; messages are ints):
//
//	seq          one goroutine: send a batch of cap messages, then receive
//	             them, until n are through. For cap 1 that is send/recv per
//	             message. For cap 1024 this differs from crossbeam, which
//	             uses an n-capacity channel: we measure a 1024-slot buffer,
//	             not a 5M-slot one. No seq for cap 0 (it would deadlock).
//	spsc         1 producer, 1 consumer
//	mpsc         4 producers (n/4 each), 1 consumer
//	mpmc         4 producers, 4 consumers (n/4 each)
//	select_rx    4 producers each on its own channel, 1 consumer selecting
//	             over the 4
//	select_both  4 producers each select-sending over the 4 channels, 4
//	             consumers each select-receiving over the 4 (as crossbeam's
//	             Rust benchmark; its go.go sends without select)
//
// Also:
//
//	chan/pingpong  two goroutines, two unbuffered channels, n/5 round trips
//	               (1M by default); ns per round trip
//	chan/ring1000  1000 goroutines in a ring of unbuffered channels, a token
//	               passed around n/5000 times (1M hops by default); ns per hop
//
// Cases are chan/bounded{0,1,1024}/<test>, value in ns per message. Flag -n
// scales every case.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"time"
)

const threads = 4

type msg = int

func report(name string, d time.Duration, count int, unit string) {
	fmt.Printf("BENCH %s %.2f %s\n", name, float64(d.Nanoseconds())/float64(count), unit)
}

// timed runs f after a GC and returns how long it took.
func timed(f func()) time.Duration {
	runtime.GC()
	start := time.Now()
	f()
	return time.Since(start)
}

func chans(capacity int) (cs [threads]chan msg) {
	for i := range cs {
		cs[i] = make(chan msg, capacity)
	}
	return cs
}

func seq(n, capacity int) {
	c := make(chan msg, capacity)
	for sent := 0; sent < n; sent += capacity {
		batch := capacity
		if n-sent < batch {
			batch = n - sent
		}
		for i := 0; i < batch; i++ {
			c <- sent + i
		}
		for i := 0; i < batch; i++ {
			<-c
		}
	}
}

func spsc(n, capacity int) {
	c := make(chan msg, capacity)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			c <- i
		}
	}()
	for i := 0; i < n; i++ {
		<-c
	}
	wg.Wait()
}

func mpsc(n, capacity int) {
	c := make(chan msg, capacity)
	var wg sync.WaitGroup
	wg.Add(threads)
	for t := 0; t < threads; t++ {
		go func() {
			defer wg.Done()
			for i := 0; i < n/threads; i++ {
				c <- i
			}
		}()
	}
	for i := 0; i < n; i++ {
		<-c
	}
	wg.Wait()
}

func mpmc(n, capacity int) {
	c := make(chan msg, capacity)
	var wg sync.WaitGroup
	wg.Add(2 * threads)
	for t := 0; t < threads; t++ {
		go func() {
			defer wg.Done()
			for i := 0; i < n/threads; i++ {
				c <- i
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < n/threads; i++ {
				<-c
			}
		}()
	}
	wg.Wait()
}

func selectRx(n, capacity int) {
	c := chans(capacity)
	var wg sync.WaitGroup
	wg.Add(threads)
	for t := 0; t < threads; t++ {
		go func(c chan msg) {
			defer wg.Done()
			for i := 0; i < n/threads; i++ {
				c <- i
			}
		}(c[t])
	}
	for i := 0; i < n; i++ {
		select {
		case <-c[0]:
		case <-c[1]:
		case <-c[2]:
		case <-c[3]:
		}
	}
	wg.Wait()
}

func selectBoth(n, capacity int) {
	c := chans(capacity)
	var wg sync.WaitGroup
	wg.Add(2 * threads)
	for t := 0; t < threads; t++ {
		go func() {
			defer wg.Done()
			for i := 0; i < n/threads; i++ {
				select {
				case c[0] <- i:
				case c[1] <- i:
				case c[2] <- i:
				case c[3] <- i:
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < n/threads; i++ {
				select {
				case <-c[0]:
				case <-c[1]:
				case <-c[2]:
				case <-c[3]:
				}
			}
		}()
	}
	wg.Wait()
}

func pingpong(rounds int) time.Duration {
	ping, pong := make(chan msg), make(chan msg)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	d := timed(func() {
		for i := 0; i < rounds; i++ {
			ping <- i
			<-pong
		}
	})
	close(ping)
	return d
}

// ring passes a token carrying the number of hops left; whoever receives the
// last hop reports to done. Goroutine setup is not timed.
func ring(size, hops int) time.Duration {
	cs := make([]chan msg, size)
	for i := range cs {
		cs[i] = make(chan msg)
	}
	done := make(chan struct{})
	for i := range cs {
		go func(in, out chan msg) {
			for left := range in {
				if left == 1 {
					done <- struct{}{}
				} else {
					out <- left - 1
				}
			}
		}(cs[i], cs[(i+1)%size])
	}
	d := timed(func() {
		cs[0] <- hops
		<-done
	})
	for _, c := range cs {
		close(c)
	}
	return d
}

func main() {
	n := flag.Int("n", 5_000_000, "messages per case (rounded down to a multiple of 4)")
	flag.Parse()
	m := *n / threads * threads
	if m < threads {
		m = threads
	}

	tests := []struct {
		name string
		f    func(n, capacity int)
	}{
		{"seq", seq},
		{"spsc", spsc},
		{"mpsc", mpsc},
		{"mpmc", mpmc},
		{"select_rx", selectRx},
		{"select_both", selectBoth},
	}
	for _, capacity := range []int{0, 1, 1024} {
		for _, t := range tests {
			if capacity == 0 && t.name == "seq" {
				continue
			}
			d := timed(func() { t.f(m, capacity) })
			report(fmt.Sprintf("chan/bounded%d/%s", capacity, t.name), d, m, "ns/msg")
		}
	}

	rounds := max(m/5, 1)
	report("chan/pingpong", pingpong(rounds), rounds, "ns/rt")
	const size = 1000
	hops := max(m/5/size, 1) * size
	report("chan/ring1000", ring(size, hops), hops, "ns/hop")
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

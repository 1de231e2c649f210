// Command maps measures concurrent maps and free lists. It is the Go twin of
// bench/maps.cpp: case names, units and workloads must stay identical.
//
// Every case runs 8 goroutines with GOMAXPROCS=2, each doing ops operations
// (default 1,000,000; -n flag); the value is wall time per operation over
// all goroutines, ns/op.
//
// Maps: 1024 int keys, all present before timing (and promoted to the read
// map); each goroutine picks keys with its own xorshift generator.
//
//	maps/sync_map/read99     99% Load, 1% Store (existing keys)
//	maps/sync_map/write50    50% Load, 50% Store (existing keys)
//	maps/sync_map/churn      25% Load, 25% Store, 25% Delete, 25% LoadOrStore
//	maps/sharded_map/...     the same three on a map sharded over 16
//	                         RWMutex-guarded maps (seed 003's ShardedMap with
//	                         int keys and the C++ side's shard hash)
//
// Free lists (capacity 64): each operation is a get then a put.
//
//	maps/pool/getput_vs_chan      the leaky buffer: a buffered channel with select/default
//	maps/pool/getput_vs_syncpool  sync.Pool
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const (
	goroutines = 8
	keys       = 1024
	shards     = 16
)

var ops = flag.Int64("n", 1_000_000, "operations per goroutine")

func report(name string, d time.Duration) {
	fmt.Printf("BENCH %s %.2f ns/op\n", name, float64(d.Nanoseconds())/float64(*ops*goroutines))
}

// xorshift64, seeded per goroutine; identical in the C++ side.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s ^= r.s << 13
	r.s ^= r.s >> 7
	r.s ^= r.s << 17
	return r.s
}

type mix int

const (
	read99 mix = iota
	write50
	churn
)

var mixNames = [...]string{"read99", "write50", "churn"}

type mapI interface {
	Load(k int64) (int64, bool)
	Store(k, v int64)
	Delete(k int64)
	LoadOrStore(k, v int64) (int64, bool)
}

// syncMap adapts sync.Map (keys and values boxed in interfaces, as Go users have them).
type syncMap struct{ m sync.Map }

func (s *syncMap) Load(k int64) (int64, bool) {
	v, ok := s.m.Load(k)
	if !ok {
		return 0, false
	}
	return v.(int64), true
}
func (s *syncMap) Store(k, v int64) { s.m.Store(k, v) }
func (s *syncMap) Delete(k int64)   { s.m.Delete(k) }
func (s *syncMap) LoadOrStore(k, v int64) (int64, bool) {
	a, l := s.m.LoadOrStore(k, v)
	return a.(int64), l
}

// shardedMap is seed 003's ShardedMap (RWMutex per shard) with int64 keys.
type shard struct {
	sync.RWMutex
	data map[int64]int64
	_    [32]byte // keep shards on separate cache lines, like the C++ side
}

type shardedMap struct{ shards []*shard }

func newShardedMap(n int) *shardedMap {
	m := &shardedMap{shards: make([]*shard, n)}
	for i := range m.shards {
		m.shards[i] = &shard{data: make(map[int64]int64)}
	}
	return m
}

func (m *shardedMap) getShard(k int64) *shard {
	x := uint64(k) * 0x9E3779B97F4A7C15
	return m.shards[(x>>40)&uint64(len(m.shards)-1)]
}
func (m *shardedMap) Load(k int64) (int64, bool) {
	s := m.getShard(k)
	s.RLock()
	v, ok := s.data[k]
	s.RUnlock()
	return v, ok
}
func (m *shardedMap) Store(k, v int64) {
	s := m.getShard(k)
	s.Lock()
	s.data[k] = v
	s.Unlock()
}
func (m *shardedMap) Delete(k int64) {
	s := m.getShard(k)
	s.Lock()
	delete(s.data, k)
	s.Unlock()
}
func (m *shardedMap) LoadOrStore(k, v int64) (int64, bool) {
	s := m.getShard(k)
	s.RLock()
	a, ok := s.data[k]
	s.RUnlock()
	if ok {
		return a, true
	}
	s.Lock()
	defer s.Unlock()
	if a, ok := s.data[k]; ok {
		return a, true
	}
	s.data[k] = v
	return v, false
}

func op(m mapI, r *rng, x mix, sink *int64) {
	v := r.next()
	k := int64(v % keys)
	pick := (v >> 32) % 100
	switch x {
	case read99:
		if pick < 99 {
			if got, ok := m.Load(k); ok {
				*sink += got
			}
		} else {
			m.Store(k, k)
		}
	case write50:
		if pick < 50 {
			if got, ok := m.Load(k); ok {
				*sink += got
			}
		} else {
			m.Store(k, k)
		}
	case churn:
		switch {
		case pick < 25:
			if got, ok := m.Load(k); ok {
				*sink += got
			}
		case pick < 50:
			m.Store(k, k)
		case pick < 75:
			m.Delete(k)
		default:
			a, _ := m.LoadOrStore(k, k)
			*sink += a
		}
	}
}

func runMap(m mapI, x mix) time.Duration {
	var total atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rng{0x9E3779B97F4A7C15 * uint64(g+1)}
			var sink int64
			for i := int64(0); i < *ops; i++ {
				op(m, &r, x, &sink)
			}
			total.Add(sink)
		}(g)
	}
	wg.Wait()
	return time.Since(t0)
}

type Buffer struct{ bytes [256]byte }

func runPool(get func() *Buffer, put func(*Buffer)) time.Duration {
	var total atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sink int64
			for i := int64(0); i < *ops; i++ {
				b := get()
				b.bytes[0] = byte(i)
				sink += int64(int8(b.bytes[0]))
				put(b)
			}
			total.Add(sink)
		}()
	}
	wg.Wait()
	return time.Since(t0)
}

func main() {
	flag.Parse()
	runtime.GOMAXPROCS(2)

	for x := read99; x <= churn; x++ {
		m := &syncMap{}
		for k := int64(0); k < keys; k++ {
			m.Store(k, k)
		}
		m.m.Range(func(any, any) bool { return true }) // promote
		report("maps/sync_map/"+mixNames[x], runMap(m, x))
	}
	for x := read99; x <= churn; x++ {
		m := newShardedMap(shards)
		for k := int64(0); k < keys; k++ {
			m.Store(k, k)
		}
		report("maps/sharded_map/"+mixNames[x], runMap(m, x))
	}

	// Seed 003 pattern 9: the leaky buffer.
	freeList := make(chan *Buffer, 64)
	report("maps/pool/getput_vs_chan", runPool(func() *Buffer {
		select {
		case b := <-freeList:
			return b
		default:
			return new(Buffer)
		}
	}, func(b *Buffer) {
		select {
		case freeList <- b:
		default:
		}
	}))

	sp := sync.Pool{New: func() any { return new(Buffer) }}
	report("maps/pool/getput_vs_syncpool", runPool(func() *Buffer { return sp.Get().(*Buffer) },
		func(b *Buffer) { sp.Put(b) }))
}

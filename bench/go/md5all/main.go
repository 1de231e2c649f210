// Command md5all is the bounded-parallelism MD5All of "Go Concurrency
// Patterns: Pipelines and cancellation" (go.dev/blog/pipelines, bounded.go),
// kept as the blog wrote it: one goroutine walks the tree (filepath.Walk,
// regular files only, symlinks not followed), a fixed number of digesters
// (20) read and hash files, MD5All collects the sums and stops on the first
// error (closing done stops the walk and the digesters). It is the Go twin
// of examples/md5all.hpp (goro_demo) and bench/md5all.cpp: the case name and
// the workload must stay identical.
//
// Usage:
//
//	md5all                      benchmark on /usr/include (what bench/run.sh runs)
//	md5all -bench [-rounds N] DIR   benchmark on DIR (goro_demo uses it)
//	md5all DIR                  print "md5  path" for every regular file, sorted (the blog's main)
//
// Case (one "BENCH <case> <value> <unit>" line):
//
//	md5all/usr_include  ms for MD5All(/usr/include) plus sorting the paths,
//	                    median of 5 rounds (page cache warm after the first)
//
// With -bench DIR the case is md5all/tree.
package main

import (
	"crypto/md5"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// walkFiles starts a goroutine to walk the directory tree at root and send the
// path of each regular file on the string channel. It sends the result of the
// walk on the error channel. If done is closed, walkFiles abandons its work.
func walkFiles(done <-chan struct{}, root string) (<-chan string, <-chan error) {
	paths := make(chan string)
	errc := make(chan error, 1)
	go func() {
		// Close the paths channel after Walk returns.
		defer close(paths)
		// No select needed for this send, since errc is buffered.
		errc <- filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				return nil
			}
			select {
			case paths <- path:
			case <-done:
				return errors.New("walk canceled")
			}
			return nil
		})
	}()
	return paths, errc
}

// A result is the product of reading and summing a file using MD5.
type result struct {
	path string
	sum  [md5.Size]byte
	err  error
}

// digester reads path names from paths and sends digests of the corresponding
// files on c until either paths or done is closed.
func digester(done <-chan struct{}, paths <-chan string, c chan<- result) {
	for path := range paths {
		data, err := os.ReadFile(path)
		select {
		case c <- result{path, md5.Sum(data), err}:
		case <-done:
			return
		}
	}
}

// MD5All reads all the files in the file tree rooted at root and returns a map
// from file path to the MD5 sum of the file's contents. If the directory walk
// fails or any read operation fails, MD5All returns an error. In that case,
// MD5All does not wait for inflight read operations to complete.
func MD5All(root string) (map[string][md5.Size]byte, error) {
	// MD5All closes the done channel when it returns; it may do so before
	// receiving all the values from c and errc.
	done := make(chan struct{})
	defer close(done)

	paths, errc := walkFiles(done, root)

	// Start a fixed number of goroutines to read and digest files.
	c := make(chan result)
	var wg sync.WaitGroup
	const numDigesters = 20
	wg.Add(numDigesters)
	for i := 0; i < numDigesters; i++ {
		go func() {
			digester(done, paths, c)
			wg.Done()
		}()
	}
	go func() {
		wg.Wait()
		close(c)
	}()

	m := make(map[string][md5.Size]byte)
	for r := range c {
		if r.err != nil {
			return nil, r.err
		}
		m[r.path] = r.sum
	}
	// Check whether the Walk failed.
	if err := <-errc; err != nil {
		return nil, err
	}
	return m, nil
}

// sortedPaths is the blog's main minus the printing: the keys of m, sorted.
func sortedPaths(m map[string][md5.Size]byte) []string {
	paths := make([]string, 0, len(m))
	for path := range m {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	return paths
}

func bench(name, root string, rounds int) {
	ms := make([]float64, 0, rounds)
	for r := 0; r < rounds; r++ {
		t0 := time.Now()
		m, err := MD5All(root)
		if err != nil {
			fmt.Fprintln(os.Stderr, "md5all:", err)
			os.Exit(1)
		}
		sortedPaths(m)
		ms = append(ms, float64(time.Since(t0).Nanoseconds())/1e6)
	}
	sort.Float64s(ms)
	fmt.Printf("BENCH %s %.2f ms\n", name, ms[len(ms)/2])
}

func main() {
	benchMode := flag.Bool("bench", false, "print the median time of -rounds runs instead of the sums")
	rounds := flag.Int("rounds", 5, "runs for -bench")
	flag.Parse()
	if *rounds < 1 {
		fmt.Fprintln(os.Stderr, "md5all: -rounds must be at least 1")
		os.Exit(2)
	}
	if flag.NArg() == 0 {
		bench("md5all/usr_include", "/usr/include", *rounds)
		return
	}
	root := flag.Arg(0)
	if *benchMode {
		bench("md5all/tree", root, *rounds)
		return
	}
	m, err := MD5All(root)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	for _, path := range sortedPaths(m) {
		fmt.Printf("%x  %s\n", m[path], path)
	}
}

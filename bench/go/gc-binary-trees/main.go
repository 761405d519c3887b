// gc-binary-trees: the Benchmarks Game's binary-trees in Go -- the same
// algorithm, work split, output and result line as
// bench/workloads/gc-binary-trees.c (read its header comment); `threads`
// goroutines take the chunks of work (GOMAXPROCS is left at its default).
//
//	gc-binary-trees [maxdepth=16] [threads=1]
package main

import (
	"fmt"
	"goheap/bench/harness"
	"sync"
	"sync/atomic"
)

const minDepth = 4
const chunksPerDepth = 16

type node struct {
	left, right *node
}

func bottomUp(d int) *node {
	n := &node{}
	if d > 0 {
		n.left = bottomUp(d - 1)
		n.right = bottomUp(d - 1)
	}
	return n
}

func itemCheck(n *node) int64 {
	if n.left == nil {
		if n.right != nil {
			harness.Wrong("a node with only a right child")
		}
		return 1
	}
	if n.right == nil {
		harness.Wrong("a node with only a left child")
	}
	return 1 + itemCheck(n.left) + itemCheck(n.right)
}

var maxDepth int
var nchunks int64
var nextChunk int64
var depthCheck [64]int64

func worker() {
	for {
		k := atomic.AddInt64(&nextChunk, 1) - 1
		if k >= nchunks {
			return
		}
		d := minDepth + 2*int(k/chunksPerDepth)
		iters := int64(1) << (maxDepth - d + minDepth)
		part := k % chunksPerDepth
		lo, hi := iters*part/chunksPerDepth, iters*(part+1)/chunksPerDepth
		var c int64
		for i := lo; i < hi; i++ {
			got := itemCheck(bottomUp(d))
			if got != (int64(1)<<(d+1))-1 {
				harness.Wrong("tree of depth %d checks %d", d, got)
			}
			c += got
		}
		atomic.AddInt64(&depthCheck[d], c)
	}
}

func main() {
	n := int(harness.ArgLong(1, 16))
	threads := harness.ArgLong(2, 1)
	var sum uint64
	maxDepth = n
	if maxDepth < minDepth+2 {
		maxDepth = minDepth + 2
	}
	if threads < 1 {
		threads = 1
	}
	fmt.Printf("gc-binary-trees (go) maxdepth=%d threads=%d\n", maxDepth, threads)

	c := itemCheck(bottomUp(maxDepth + 1))
	fmt.Printf("stretch tree of depth %d\t check: %d\n", maxDepth+1, c)
	sum = sum*31 + uint64(c)

	longLived := bottomUp(maxDepth)

	nchunks = int64((maxDepth-minDepth)/2+1) * chunksPerDepth
	if threads == 1 {
		worker()
	} else {
		var wg sync.WaitGroup
		for t := int64(0); t < threads; t++ {
			wg.Add(1)
			go func() { worker(); wg.Done() }()
		}
		wg.Wait()
	}
	for d := minDepth; d <= maxDepth; d += 2 {
		iters := int64(1) << (maxDepth - d + minDepth)
		c = atomic.LoadInt64(&depthCheck[d])
		if c != iters*((int64(1)<<(d+1))-1) {
			harness.Wrong("depth %d: check %d", d, c)
		}
		fmt.Printf("%d\t trees of depth %d\t check: %d\n", iters, d, c)
		sum = sum*31 + uint64(c)
	}
	c = itemCheck(longLived)
	fmt.Printf("long lived tree of depth %d\t check: %d\n", maxDepth, c)
	sum = sum*31 + uint64(c)
	fmt.Printf("result: %016x\n", sum)
}

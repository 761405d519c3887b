// gc-threads: many goroutines allocating small short-lived objects at once,
// in Go -- the same algorithm and result line as bench/workloads/gc-threads.c
// (read its header comment); one goroutine per C thread.
//
//	gc-threads [threads=8] [rounds=20000] [window=16]
package main

import (
	"fmt"
	"goheap/bench/harness"
	"sync"
	"sync/atomic"
	"unsafe"
)

// A node of 16, 32, 48 or 64 bytes: next, tag (low 2 bits: the size), then
// padding whose last 8 bytes repeat the tag.
type tnode struct {
	next *tnode
	tag  uint64
}
type tnode32 struct {
	tnode
	pad [2]uint64
}
type tnode48 struct {
	tnode
	pad [4]uint64
}
type tnode64 struct {
	tnode
	pad [6]uint64
}

func tailOf(n *tnode, size uint64) *uint64 { return (*uint64)(unsafe.Add(unsafe.Pointer(n), size-8)) }

var rounds, window int64
var total uint64

func build(r *harness.Rng, key uint64) (*tnode, uint64) {
	l := r.RangeOf(1, 64)
	var head *tnode
	for k := uint64(0); k < l; k++ {
		sz := r.RangeOf(1, 4)
		size := 16 * sz
		var n *tnode
		switch size {
		case 16:
			n = &tnode{}
		case 32:
			n = &(&tnode32{}).tnode
		case 48:
			n = &(&tnode48{}).tnode
		default:
			n = &(&tnode64{}).tnode
		}
		n.tag = (harness.Mix64(key*64+k) &^ 3) | (sz - 1)
		if size >= 32 {
			*tailOf(n, size) = n.tag
		}
		n.next = head
		head = n
	}
	return head, l
}

func verify(n *tnode, key, l uint64) uint64 {
	var sum uint64
	k := l
	for ; n != nil; n = n.next {
		if k == 0 {
			harness.Wrong("list %d is too long", key)
		}
		k--
		if n.tag&^3 != harness.Mix64(key*64+k)&^3 {
			harness.Wrong("a node of list %d changed", key)
		}
		size := 16 * ((n.tag & 3) + 1)
		if size >= 32 && *tailOf(n, size) != n.tag {
			harness.Wrong("the tail of a node of list %d changed", key)
		}
		sum += n.tag
	}
	if k != 0 {
		harness.Wrong("list %d is too short", key)
	}
	return sum
}

func worker(id int64) {
	r := harness.Rng{S: uint64(id)*0x1234567 + 1}
	win := make([]*tnode, window)
	keys := make([]uint64, window)
	lens := make([]uint64, window)
	var sum uint64
	for i := int64(0); i < rounds; i++ {
		w := i % window
		if win[w] != nil {
			sum += verify(win[w], keys[w], lens[w])
		}
		keys[w] = uint64(id)<<40 + uint64(i)
		win[w], lens[w] = build(&r, keys[w])
	}
	for i := int64(0); i < window; i++ {
		if win[i] != nil {
			sum += verify(win[i], keys[i], lens[i])
		}
	}
	atomic.AddUint64(&total, sum)
}

func main() {
	threads := harness.ArgLong(1, 8)
	rounds = harness.ArgLong(2, 20000)
	window = harness.ArgLong(3, 16)
	if threads < 1 {
		threads = 1
	}
	if window < 1 {
		window = 1
	}
	fmt.Printf("gc-threads (go) threads=%d rounds=%d window=%d\n", threads, rounds, window)
	var wg sync.WaitGroup
	for t := int64(0); t < threads; t++ {
		wg.Add(1)
		go func(id int64) { worker(id); wg.Done() }(t)
	}
	wg.Wait()
	fmt.Printf("result: %016x\n", atomic.LoadUint64(&total))
}

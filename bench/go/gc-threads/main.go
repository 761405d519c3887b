// gc-threads: many goroutines allocating small short-lived objects at once,
// in Go -- the same algorithm and result line as bench/workloads/gc-threads.c
// (read its header comment); one goroutine per C thread.
//
//	gc-threads [threads=8] [rounds=20000] [window=16]
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"
)

type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) rangeOf(lo, hi uint64) uint64 { return lo + r.next()%(hi-lo+1) }

func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func wrong(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "WRONG: "+format+"\n", a...)
	os.Exit(3)
}

func argLong(i int, def int64) int64 {
	if len(os.Args) > i {
		v, err := strconv.ParseInt(os.Args[i], 0, 64)
		if err != nil || v < 0 {
			fmt.Fprintf(os.Stderr, "bad argument %d: %s\n", i, os.Args[i])
			os.Exit(2)
		}
		return v
	}
	return def
}

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

func build(r *rng, key uint64) (*tnode, uint64) {
	l := r.rangeOf(1, 64)
	var head *tnode
	for k := uint64(0); k < l; k++ {
		sz := r.rangeOf(1, 4)
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
		n.tag = (mix64(key*64+k) &^ 3) | (sz - 1)
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
			wrong("list %d is too long", key)
		}
		k--
		if n.tag&^3 != mix64(key*64+k)&^3 {
			wrong("a node of list %d changed", key)
		}
		size := 16 * ((n.tag & 3) + 1)
		if size >= 32 && *tailOf(n, size) != n.tag {
			wrong("the tail of a node of list %d changed", key)
		}
		sum += n.tag
	}
	if k != 0 {
		wrong("list %d is too short", key)
	}
	return sum
}

func worker(id int64) {
	r := rng{uint64(id)*0x1234567 + 1}
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
	threads := argLong(1, 8)
	rounds = argLong(2, 20000)
	window = argLong(3, 16)
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

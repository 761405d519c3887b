// gc-finalizers: many objects with finalizers, in Go -- the same algorithm,
// checks and result line as bench/workloads/gc-finalizers.c (read its header
// comment), with runtime.SetFinalizer; Go runs finalizers on one goroutine.
//
//	gc-finalizers [objects=200000] [window=1000]
package main

import (
	"fmt"
	"goheap/bench/harness"
	"runtime"
	"sync/atomic"
	"time"
)

type fobj struct {
	id    uint64
	tag   uint64
	child *[4]uint64
	pad   uint64
}

var finalized int64
var seen []uint32
var nobjects int64
var ring []*fobj

func finalize(o *fobj) {
	if o.id >= uint64(nobjects) || o.tag != harness.Mix64(o.id+1) {
		harness.Wrong("finalized object %d changed", o.id)
	}
	if o.child == nil {
		harness.Wrong("finalized object %d lost its child", o.id)
	}
	for k := 0; k < 4; k++ {
		if o.child[k] != o.tag {
			harness.Wrong("the child of finalized object %d changed", o.id)
		}
	}
	if atomic.SwapUint32(&seen[o.id], 1) != 0 {
		harness.Wrong("object %d finalized twice", o.id)
	}
	atomic.AddInt64(&finalized, 1)
}

func main() {
	nobjects = harness.ArgLong(1, 200000)
	window := harness.ArgLong(2, 1000)
	if window < 1 {
		window = 1
	}
	fmt.Printf("gc-finalizers (go) objects=%d window=%d\n", nobjects, window)
	seen = make([]uint32, nobjects+1)
	ring = make([]*fobj, window)
	for i := int64(0); i < nobjects; i++ {
		o := &fobj{id: uint64(i), tag: harness.Mix64(uint64(i) + 1)}
		o.child = new([4]uint64)
		for k := 0; k < 4; k++ {
			o.child[k] = o.tag
		}
		runtime.SetFinalizer(o, finalize)
		ring[i%window] = o
	}
	for i := range ring {
		ring[i] = nil
	}
	// Collect until all are finalized, or the count has not moved for 10
	// rounds, or 100 rounds (as the C version).
	var rounds, still int64
	done := int64(-1)
	for rounds, still = 0, 0; rounds < 100 && still < 10; rounds++ {
		now := atomic.LoadInt64(&finalized)
		if now == nobjects {
			break
		}
		if now == done {
			still++
		} else {
			still = 0
		}
		done = now
		runtime.GC()
		time.Sleep(2 * time.Millisecond)
	}
	done = atomic.LoadInt64(&finalized)
	fmt.Printf("finalized: %d of %d after %d final collections\n", done, nobjects, rounds)
	if done > nobjects {
		harness.Wrong("%d objects finalized, only %d allocated", done, nobjects)
	}
	if done < nobjects-nobjects/100 {
		harness.Wrong("only %d of %d unreachable objects finalized after %d collections", done, nobjects, rounds)
	}
	fmt.Printf("result: allocated=%d ok\n", nobjects)
}

// gc-live-heap: a big live heap of small objects under continuous
// replacement, in Go -- the same algorithm, output and result line as
// bench/workloads/gc-live-heap.c (read its header comment). Pauses come from
// runtime.MemStats.PauseNs (stop-the-world time per collection), read every
// 65536 steps like the C version reads goheap's ring.
//
//	gc-live-heap [live_mib=64] [steps=2000000] [garbage=4]
package main

import (
	"fmt"
	"goheap/bench/harness"
	"runtime"
	"sort"
	"time"
	"unsafe"
)

// A node of 16 (24: the header), 32, 48 or 64 bytes, as in the C version:
// the header, then padding whose last 8 bytes repeat the tag.
type lnode struct {
	next *lnode
	tag  uint64
	size uint64
}
type lnode32 struct {
	lnode
	tail [1]uint64
}
type lnode48 struct {
	lnode
	tail [3]uint64
}
type lnode64 struct {
	lnode
	tail [5]uint64
}

const avgListBytes = 100

func tailOf(n *lnode) *uint64 { return (*uint64)(unsafe.Add(unsafe.Pointer(n), n.size-8)) }

func build(r *harness.Rng, key uint64) *lnode {
	l := int(r.RangeOf(1, 4))
	var head *lnode
	for k := 0; k < l; k++ {
		size := 16 * r.RangeOf(1, 4)
		var n *lnode
		switch size {
		case 16:
			n = &lnode{}
		case 32:
			n = &(&lnode32{}).lnode
		case 48:
			n = &(&lnode48{}).lnode
		default:
			n = &(&lnode64{}).lnode
		}
		n.tag = harness.Mix64(key*8 + uint64(k))
		n.size = size
		if size >= 32 {
			*tailOf(n) = n.tag
		}
		n.next = head
		head = n
	}
	return head
}

func verify(n *lnode, key uint64) uint64 {
	var sum uint64
	l := 0
	for p := n; p != nil; p = p.next {
		l++
	}
	if l < 1 || l > 4 {
		harness.Wrong("list of key %d has %d nodes", key, l)
	}
	k := l - 1
	for p := n; p != nil; p = p.next {
		if p.tag != harness.Mix64(key*8+uint64(k)) {
			harness.Wrong("node tag of key %d changed", key)
		}
		if p.size >= 32 && *tailOf(p) != p.tag {
			harness.Wrong("node tail of key %d changed", key)
		}
		sum += p.tag
		k--
	}
	return sum
}

// A short-lived list of n 64-byte nodes, checked and dropped.
func scratch(n int64, step uint64) {
	var head *lnode
	var k int64
	for k = 0; k < n; k++ {
		p := &(&lnode64{}).lnode
		p.tag = step*64 + uint64(k)
		p.size = 64
		p.next = head
		head = p
	}
	for p := head; p != nil; p = p.next {
		k--
		if p.tag != step*64+uint64(k) {
			harness.Wrong("scratch node %d of step %d changed", k, step)
		}
	}
	if k != 0 {
		harness.Wrong("scratch list of step %d is short", step)
	}
}

var pauses []uint64
var seen uint32
var lost uint64

func pausePoll() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.NumGC-seen > 256 {
		lost += uint64(ms.NumGC - seen - 256)
		seen = ms.NumGC - 256
	}
	for ; seen < ms.NumGC; seen++ {
		pauses = append(pauses, ms.PauseNs[seen%256])
	}
}

func pauseReport() {
	pausePoll()
	var total, mx, p99 uint64
	n := len(pauses)
	if n > 0 {
		sort.Slice(pauses, func(a, b int) bool { return pauses[a] < pauses[b] })
		for _, p := range pauses {
			total += p
		}
		mx = pauses[n-1]
		p99 = pauses[int(float64(n)*0.99+0.999999)-1]
	}
	fmt.Printf("pause: n=%d max_ms=%.3f p99_ms=%.3f total_ms=%.1f lost=%d\n", n,
		float64(mx)/1e6, float64(p99)/1e6, float64(total)/1e6, lost)
}

func main() {
	liveMiB := harness.ArgLong(1, 64)
	steps := harness.ArgLong(2, 2000000)
	garbage := harness.ArgLong(3, 4)
	slots := liveMiB * 1048576 / avgListBytes
	r := harness.Rng{S: 12345}
	var sum uint64
	nextKey := uint64(1)
	fmt.Printf("gc-live-heap (go) live_mib=%d slots=%d steps=%d garbage=%d\n", liveMiB, slots, steps, garbage)
	table := make([]*lnode, slots)
	keys := make([]uint64, slots)
	for i := int64(0); i < slots; i++ {
		keys[i] = nextKey
		nextKey++
		table[i] = build(&r, keys[i])
		if i&65535 == 0 {
			pausePoll()
		}
	}
	t0 := time.Now()
	for i := int64(0); i < steps; i++ {
		k := int64(r.Next() % uint64(slots))
		sum += verify(table[k], keys[k])
		keys[k] = nextKey
		nextKey++
		table[k] = build(&r, keys[k])
		scratch(garbage, uint64(i))
		if i&65535 == 0 {
			pausePoll()
		}
	}
	el := time.Since(t0)
	for i := int64(0); i < slots; i++ {
		sum += verify(table[i], keys[i])
	}
	fmt.Printf("throughput: %.0f steps/s\n", float64(steps)/el.Seconds())
	pauseReport()
	fmt.Printf("result: %016x\n", sum)
}

// Package harness holds what the Go versions of the collected workloads
// share, the Go side of bench/workloads/gc.h: the random generator and hash
// the C versions use (so every version computes the same result line), the
// wrong-answer exit and argument parsing.
package harness

import (
	"fmt"
	"os"
	"strconv"
)

// Rng is splitmix64, as gc.h's rng.
type Rng struct{ S uint64 }

func (r *Rng) Next() uint64 {
	r.S += 0x9e3779b97f4a7c15
	z := r.S
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// RangeOf is a number in [lo, hi].
func (r *Rng) RangeOf(lo, hi uint64) uint64 { return lo + r.Next()%(hi-lo+1) }

// Mix64 is MurmurHash3's finalizer, as gc.h's mix64.
func Mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// Wrong reports a wrong answer and exits 3, as the C versions do.
func Wrong(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "WRONG: "+format+"\n", a...)
	os.Exit(3)
}

// ArgLong is command-line argument i as a non-negative integer, or def.
func ArgLong(i int, def int64) int64 {
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

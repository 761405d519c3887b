// gc-gcbench: GCBench (Boehm, Ellis & Kovac) in Go -- the same algorithm,
// parameters and result line as bench/workloads/gc-gcbench.c (read its
// header comment for what it stresses and where it comes from).
//
//	gc-gcbench [stretch=18] [longlived=16] [array=500000] [mindepth=4] [maxdepth=16] [repeat=1]
package main

import (
	"fmt"
	"goheap/bench/harness"
)

type node struct {
	left, right *node
	i, j        int64
}

func treeSize(d int) int64          { return (int64(1) << (d + 1)) - 1 }
func numIters(stretch, d int) int64 { return 2 * treeSize(stretch) / treeSize(d) }

func populate(d int, n *node) {
	if d <= 0 {
		return
	}
	d--
	n.left = &node{}
	n.right = &node{}
	populate(d, n.left)
	populate(d, n.right)
}

func makeTree(d int) *node {
	if d <= 0 {
		return &node{}
	}
	l := makeTree(d - 1)
	r := makeTree(d - 1)
	return &node{left: l, right: r}
}

func number(n *node, next int64) int64 {
	n.i = next
	n.j = int64(harness.Mix64(uint64(next)) & 0xffff)
	next++
	if n.left != nil {
		next = number(n.left, next)
	}
	if n.right != nil {
		next = number(n.right, next)
	}
	return next
}

func check(n *node, count *int64) uint64 {
	if (n.left == nil) != (n.right == nil) {
		harness.Wrong("a node with one child")
	}
	if n.j != int64(harness.Mix64(uint64(n.i))&0xffff) {
		harness.Wrong("node %d content changed", n.i)
	}
	*count++
	h := uint64(n.i)*31 + uint64(n.j)
	if n.left != nil {
		a := check(n.left, count)
		b := check(n.right, count)
		h ^= harness.Mix64(a+1) + harness.Mix64(b+2)
	}
	return h
}

func walk(t *node, d int) uint64 {
	var count int64
	number(t, 0)
	h := check(t, &count)
	if count != treeSize(d) {
		harness.Wrong("tree of depth %d has %d nodes, not %d", d, count, treeSize(d))
	}
	return h
}

func main() {
	stretch := int(harness.ArgLong(1, 18))
	longlived := int(harness.ArgLong(2, 16))
	array := harness.ArgLong(3, 500000)
	mindepth := int(harness.ArgLong(4, 4))
	maxdepth := int(harness.ArgLong(5, 16))
	repeat := harness.ArgLong(6, 1)
	var sum uint64
	fmt.Printf("gc-gcbench (go) stretch=%d longlived=%d array=%d depths=%d..%d repeat=%d\n",
		stretch, longlived, array, mindepth, maxdepth, repeat)

	temp := makeTree(stretch)
	sum += walk(temp, stretch)
	temp = nil

	ll := &node{}
	populate(longlived, ll)
	arr := make([]float64, array)
	for i := int64(0); i < array/2; i++ {
		arr[i] = 1.0 / float64(i)
	}
	sum += walk(ll, longlived)

	for r := int64(0); r < repeat; r++ {
		for d := mindepth; d <= maxdepth; d += 2 {
			iters := numIters(stretch, d)
			for i := int64(0); i < iters; i++ {
				temp = &node{}
				populate(d, temp)
				sum = sum*3 + walk(temp, d)
				temp = makeTree(d)
				sum = sum*5 + walk(temp, d)
			}
		}
	}
	temp = nil

	sum += walk(ll, longlived)
	for i := int64(1); i < array/2; i++ {
		if arr[i] != 1.0/float64(i) {
			harness.Wrong("array[%d] changed", i)
		}
	}
	for i := array / 2; i < array; i++ {
		if arr[i] != 0.0 {
			harness.Wrong("array[%d] is not zero", i)
		}
	}
	fmt.Printf("result: %016x\n", sum)
}

package engine

import (
	"fmt"
	"testing"
)

// BenchmarkMSet is redis-benchmark's MSET: ten random keys of a million,
// 64-byte values, each MSET overwriting keys spread over the keyspace, so
// that its lookups miss the cache (see Tx.prefetch).
func BenchmarkMSet(b *testing.B) {
	e := openT(b, Options{ActiveExpireHz: -1})
	const n = 1 << 20
	keys := make([][]byte, n)
	val := make([]byte, 64)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("key:%012d", i))
	}
	for i := 0; i < n; i += 64 {
		pairs := make([][]byte, 0, 128)
		for _, k := range keys[i : i+64] {
			pairs = append(pairs, k, val)
		}
		if err := e.Update(keys[i:i+64], func(tx *Tx) error { _, err := tx.MSet(0, pairs, false); return err }); err != nil {
			b.Fatal(err)
		}
	}
	mkeys, pairs := make([][]byte, 10), make([][]byte, 20)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		for j := range mkeys {
			mkeys[j] = keys[(i*7919+j*104729)&(n-1)]
			pairs[2*j], pairs[2*j+1] = mkeys[j], val
		}
		if err := e.Update(mkeys, func(tx *Tx) error { _, err := tx.MSet(0, pairs, false); return err }); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

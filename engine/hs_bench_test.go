package engine

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
)

// Benchmarks of the hash and set types through the Tx API, one growing key
// each (as redis-benchmark's HSET and SADD tests), and of the memory a
// million-element table takes (B/elem, the Go heap's growth).

func benchKeys(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte("element:" + strconv.Itoa(i))
	}
	return out
}

func BenchmarkHSet(b *testing.B) {
	e := openT(b, Options{ActiveExpireHz: -1})
	key := [][]byte{[]byte("myhash")}
	fields := benchKeys(1 << 20)
	val := make([]byte, 64)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = e.Update(key, func(tx *Tx) error {
			_, err := tx.HSet(0, key[0], [][]byte{fields[i&(1<<20-1)], val})
			return err
		})
		i++
	}
}

func BenchmarkSAdd(b *testing.B) {
	e := openT(b, Options{ActiveExpireHz: -1})
	key := [][]byte{[]byte("myset")}
	ms := benchKeys(1 << 20)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = e.Update(key, func(tx *Tx) error {
			_, err := tx.SAdd(0, key[0], ms[i&(1<<20-1):i&(1<<20-1)+1])
			return err
		})
		i++
	}
}

func BenchmarkStrTableGet(b *testing.B) {
	tb := newStrTable(true, 0)
	keys := benchKeys(1 << 16)
	for _, k := range keys {
		tb.set(k, k)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tb.get(keys[i&(1<<16-1)])
		i++
	}
}

// BenchmarkMillionMemory reports the heap bytes per element of a
// 1M-element hash (field:N=value:N) and set (member:N).
func BenchmarkMillionMemory(b *testing.B) {
	const n = 1_000_000
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for b.Loop() {
		before := heap()
		h := &hashValue{}
		for i := 0; i < n; i++ {
			h.set([]byte("field:"+strconv.Itoa(i)), []byte("value:"+strconv.Itoa(i)))
		}
		mid := heap()
		s := &setValue{}
		for i := 0; i < n; i++ {
			s.add([]byte("member:" + strconv.Itoa(i)))
		}
		after := heap()
		b.ReportMetric(float64(mid-before)/n, "hashB/elem")
		b.ReportMetric(float64(after-mid)/n, "setB/elem")
		runtime.KeepAlive(h)
		runtime.KeepAlive(s)
	}
}

// BenchmarkStrTableEach walks a table of a million entries, as HGETALL
// and a snapshot do: slot order, which is not the arena's.
func BenchmarkStrTableEach(b *testing.B) {
	tb := newStrTable(true, 0)
	for i, k := range benchKeys(1_000_000) {
		tb.set(k, k[:i%len(k)])
	}
	n := 0
	for b.Loop() {
		tb.each(func(k, v []byte) bool { n += len(k) + len(v); return true })
	}
	if n == 0 {
		b.Fatal("walked nothing")
	}
}

// BenchmarkStrTableOverwrite overwrites random entries of a table of a
// million, as redis-benchmark's HSET does once its hash is full: each
// overwrite leaves its old entry dead, and the arena's compaction, which
// they pay for, frees them again.
func BenchmarkStrTableOverwrite(b *testing.B) {
	tb := newStrTable(true, 0)
	val := make([]byte, 64)
	keys := benchKeys(1_000_000)
	for _, k := range keys {
		tb.set(k, val)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		tb.set(keys[rng.IntN(len(keys))], val)
	}
	b.ReportMetric(float64(tb.dead)/float64(tb.live), "dead/live")
}

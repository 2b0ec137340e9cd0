package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestTableModel runs random sets and deletes against a table and a Go map
// and compares them after every step: lookups, count, and that iteration
// yields each key once.
func TestTableModel(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		keys := 1 + rng.IntN(300) // small key spaces collide, big ones grow
		var tb *table
		if rng.IntN(2) == 0 {
			tb = newTable(rng.IntN(200))
		} else {
			tb = newTable(0)
		}
		model := map[string]*entry{}
		for step := 0; step < 3000; step++ {
			k := []byte(fmt.Sprintf("k%d", rng.IntN(keys)))
			h := hashKey(k)
			if rng.IntN(3) == 0 {
				got := tb.del(k, h)
				if got != model[string(k)] {
					t.Fatalf("seed %d step %d: del(%s) = %v, model %v", seed, step, k, got, model[string(k)])
				}
				delete(model, string(k))
			} else {
				ent := newStringEntry(k, []byte{byte(step)}, 0)
				if old := tb.set(ent, h); old != model[string(k)] {
					t.Fatalf("seed %d step %d: set(%s) replaced %v, model %v", seed, step, k, old, model[string(k)])
				}
				model[string(k)] = ent
			}
			if tb.len() != len(model) {
				t.Fatalf("seed %d step %d: len %d, model %d", seed, step, tb.len(), len(model))
			}
			if step%97 == 0 || step > 2950 {
				for mk, me := range model {
					if got := tb.get([]byte(mk), hashKey([]byte(mk))); got != me {
						t.Fatalf("seed %d step %d: get(%s) = %v, want %v", seed, step, mk, got, me)
					}
				}
				for _, walk := range []struct {
					name string
					each func(func(*entry) bool)
				}{{"each", tb.each}, {"eachWarm", tb.eachWarm}} {
					seen := map[string]bool{}
					walk.each(func(ent *entry) bool {
						if seen[ent.keyString()] {
							t.Fatalf("seed %d: %s: %s iterated twice", seed, walk.name, ent.keyString())
						}
						seen[ent.keyString()] = true
						return true
					})
					if len(seen) != len(model) {
						t.Fatalf("seed %d: %s iterated %d keys, model has %d", seed, walk.name, len(seen), len(model))
					}
					if len(model) > 20 {
						n := 0
						walk.each(func(*entry) bool { n++; return n < 20 })
						if n != 20 {
							t.Fatalf("seed %d: %s went on to %d entries after fn returned false at 20", seed, walk.name, n)
						}
					}
				}
			}
			if load := float64(tb.len()) / float64(tb.capacity()); load > 0.875 {
				t.Fatalf("seed %d step %d: load %.3f above 7/8", seed, step, load)
			}
		}
		if got := tb.get([]byte("absent"), hashKey([]byte("absent"))); got != nil {
			t.Fatalf("absent key found: %v", got)
		}
	}
}

func BenchmarkTableGet(b *testing.B) {
	tb := newTable(0)
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("key:%012d", i))
		tb.set(newStringEntry(keys[i], nil, 0), hashKey(keys[i]))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keys[i%len(keys)]
		if tb.get(k, hashKey(k)) == nil {
			b.Fatal("missing")
		}
	}
}

// BenchmarkTableGetMany looks up random keys among 1M spread over 16384
// tables, as the keyspace holds them: lookups miss the cache, as in a
// server.
func BenchmarkTableGetMany(b *testing.B) {
	const tables, perTable = 16384, 64
	tbs := make([]*table, tables)
	keys := make([][]byte, tables*perTable)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("key:%012d", i))
		t := i % tables
		if tbs[t] == nil {
			tbs[t] = newTable(0)
		}
		tbs[t].set(newStringEntry(keys[i], []byte("v"), 0), hashKey(keys[i]))
	}
	rng := rand.New(rand.NewPCG(1, 1))
	order := make([]int, 1<<20)
	for i := range order {
		order[i] = rng.IntN(len(keys))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := order[i&(1<<20-1)]
		if tbs[k%tables].get(keys[k], hashKey(keys[k])) == nil {
			b.Fatal("missing")
		}
	}
}

package engine

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestZSetMemory guards the memory of a 1M-member sorted set: Redis 7.0
// uses about 109 bytes per member (used_memory) for these members; the
// target is at most 1.5 times that.
func TestZSetMemory(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	z := &zsetValue{}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 1_000_000; i++ {
		z.insert([]byte(fmt.Sprintf("member:%07d", i)), float64(rng.IntN(1e9)))
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	leaves, items, capItems := 0, 0, 0
	var walk func(n *zbNode)
	walk = func(n *zbNode) {
		if n.leaf() {
			leaves++
			items += len(n.items)
			capItems += cap(n.items)
			return
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(z.tree.root)
	perMember := (m1.HeapAlloc - m0.HeapAlloc) / 1e6
	t.Logf("heap %d B/member; leaves %d, fill %.2f, cap/len %.2f", perMember, leaves, float64(items)/float64(leaves*zbMax), float64(capItems)/float64(items))
	if perMember > 160 {
		t.Errorf("a 1M-member sorted set takes %d B/member of heap; want at most 160 (1.5x Redis)", perMember)
	}
	runtime.KeepAlive(z)
}

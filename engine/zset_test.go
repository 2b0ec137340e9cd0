package engine

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/quick"
)

// randomZSetOp runs one random sorted-set write through the Tx API.
func randomZSetOp(tx *Tx, rng *rand.Rand, db int, k, k2 []byte) error {
	member := func() []byte {
		if rng.IntN(15) == 0 {
			return []byte(strings.Repeat("M", 65+rng.IntN(10)))
		}
		return []byte(fmt.Sprint("m", rng.IntN(200)))
	}
	score := func() float64 {
		switch rng.IntN(10) {
		case 0:
			return math.Inf(1)
		case 1:
			return math.Inf(-1)
		case 2:
			return math.Copysign(0, -1)
		}
		return float64(rng.IntN(20)) / 4
	}
	var err error
	switch rng.IntN(9) {
	case 0, 1, 2:
		n := 1 + rng.IntN(60)
		scores := make([]float64, n)
		members := make([][]byte, n)
		for i := range scores {
			scores[i], members[i] = score(), member()
		}
		f := ZAddFlags{NX: rng.IntN(8) == 0, GT: rng.IntN(8) == 0, CH: rng.IntN(2) == 0}
		if f.NX && f.GT {
			f.GT = false
		}
		if rng.IntN(6) == 0 {
			f = ZAddFlags{Incr: true}
			scores, members = scores[:1], members[:1]
		}
		_, err = tx.ZAdd(db, k, scores, members, f)
	case 3:
		_, err = tx.ZRem(db, k, [][]byte{member(), member()})
	case 4:
		_, err = tx.ZPop(db, k, rng.IntN(2) == 0, rng.IntN(5))
	case 5:
		sp := ZRangeSpec{Kind: ZByRank, Start: int64(rng.IntN(10) - 5), Stop: int64(rng.IntN(10) - 5)}
		_, err = tx.ZRemRange(db, k, &sp)
	case 6:
		sp := ZRangeSpec{Kind: ZByScore, Min: ZBound{Score: score()}, Max: ZBound{Score: score(), Excl: rng.IntN(2) == 0}}
		_, err = tx.ZRemRange(db, k, &sp)
	case 7:
		items, _, e := tx.ZItems(db, k)
		if e != nil {
			return e
		}
		_, err = tx.ZStore(db, k2, items)
	default:
		sp := ZRangeSpec{Kind: ZByRank, Start: 0, Stop: -1, Rev: true}
		var items []ZItem
		if err = tx.ZRange(db, k, &sp, func(int) {}, func(it ZItem) { items = append(items, it) }); err == nil {
			_, err = tx.ZStore(db, k2, items)
		}
	}
	return err
}

// TestZBTreeModel checks the order-statistic B+tree against a sorted slice
// through inserts and deletes that grow it to thousands of items and shrink
// it again (splits, merges, root changes), with rank, select, countWhile and
// scans checked along the way.
func TestZBTreeModel(t *testing.T) {
	check := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 3))
		var tr zbtree
		var m []zitem
		target := 1 + rng.IntN(5000)
		for step := 0; step < 3*target; step++ {
			grow := step < target*3/2
			if len(m) == 0 || (grow && rng.IntN(4) != 0) || (!grow && rng.IntN(4) == 0) {
				it := zitem{member: fmt.Sprint(rng.IntN(1 << 20)), score: float64(rng.IntN(100))}
				i, found := slices.BinarySearchFunc(m, it, zcmp)
				if found {
					continue
				}
				tr.insert(it)
				m = slices.Insert(m, i, it)
			} else {
				i := rng.IntN(len(m))
				if !tr.delete(m[i]) {
					t.Logf("seed %d: delete of present item failed", seed)
					return false
				}
				m = slices.Delete(m, i, i+1)
			}
			if tr.len() != len(m) {
				t.Logf("seed %d: len %d, want %d", seed, tr.len(), len(m))
				return false
			}
			if len(m) > 0 && step%17 == 0 {
				r := rng.IntN(len(m))
				if tr.at(r) != m[r] {
					t.Logf("seed %d: at(%d) = %v, want %v", seed, r, tr.at(r), m[r])
					return false
				}
				if got := tr.countWhile(func(x zitem) bool { return zless(x, m[r]) }); got != r {
					t.Logf("seed %d: rank %d, want %d", seed, got, r)
					return false
				}
				s := float64(rng.IntN(100))
				want := sortSearch(m, func(x zitem) bool { return x.score >= s })
				if got := tr.countWhile(func(x zitem) bool { return x.score < s }); got != want {
					t.Logf("seed %d: countWhile(<%v) %d, want %d", seed, s, got, want)
					return false
				}
				from, to := rng.IntN(len(m)), rng.IntN(len(m))
				var got []zitem
				tr.scan(from, to, step%2 == 0, func(x zitem) bool { got = append(got, x); return true })
				var want2 []zitem
				if from <= to {
					want2 = append(want2, m[from:to+1]...)
					if step%2 == 0 {
						slices.Reverse(want2)
					}
				}
				if !slices.Equal(got, want2) {
					t.Logf("seed %d: scan %d..%d differs", seed, from, to)
					return false
				}
			}
		}
		if tr.root != nil && !checkSizes(tr.root) {
			t.Logf("seed %d: subtree sizes out of step", seed)
			return false
		}
		return true
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 40}); err != nil {
		t.Fatal(err)
	}
}

func zcmp(a, b zitem) int {
	switch {
	case zless(a, b):
		return -1
	case zless(b, a):
		return 1
	}
	return 0
}

func sortSearch(m []zitem, f func(zitem) bool) int {
	for i, x := range m {
		if f(x) {
			return i
		}
	}
	return len(m)
}

func checkSizes(n *zbNode) bool {
	if n.leaf() {
		return n.size == len(n.items)
	}
	sum := 0
	for _, k := range n.kids {
		if !checkSizes(k) {
			return false
		}
		sum += k.size
	}
	return sum == n.size && len(n.keys) == len(n.kids)-1
}

// TestZSetEncoding: listpack up to 128 members of up to 64 bytes, then
// skiplist for good.
func TestZSetEncoding(t *testing.T) {
	z := &zsetValue{}
	for i := 0; i < zsetSmallEntries; i++ {
		z.insert([]byte(fmt.Sprint("m", i)), float64(i))
	}
	if z.encoding() != "listpack" {
		t.Fatalf("128 members: %s", z.encoding())
	}
	z.insert([]byte("one more"), 1)
	if z.encoding() != "skiplist" || z.length() != 129 {
		t.Fatalf("129 members: %s %d", z.encoding(), z.length())
	}
	for i := 0; i < 100; i++ {
		z.remove([]byte(fmt.Sprint("m", i)))
	}
	if z.encoding() != "skiplist" {
		t.Fatal("conversion must be one-way")
	}
	w := &zsetValue{}
	w.insert([]byte(strings.Repeat("x", 64)), 1)
	if w.encoding() != "listpack" {
		t.Fatal("64-byte member: listpack")
	}
	w.insert([]byte(strings.Repeat("x", 65)), 1)
	if w.encoding() != "skiplist" {
		t.Fatal("65-byte member: skiplist")
	}
	b := newZSetBuilder(2, 0)
	b.add([]byte("a"), 1)
	b.add([]byte("b"), 2)
	if got := b.done().(*zsetValue); got.encoding() != "listpack" || got.String() != `zset["a"=1 "b"=2]` {
		t.Fatalf("builder: %s %s", got.encoding(), got)
	}
}

func TestFormatScore(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{0.1, "0.10000000000000001"}, {1, "1"}, {-2.25, "-2.25"}, {1e17, "1e+17"}, {1e16, "10000000000000000"},
		{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {1.5e300, "1.5000000000000001e+300"}, {0.00001, "1.0000000000000001e-05"},
		{123456789012345678, "1.2345678901234568e+17"}, {math.Copysign(0, -1), "-0"},
	} {
		if got := FormatScore(c.f); got != c.want {
			t.Errorf("FormatScore(%v) = %q, want %q", c.f, got, c.want)
		}
	}
	if got := string(AppendStoredScore(nil, 1e17)); got != "100000000000000000" {
		t.Errorf("stored 1e17 = %q", got)
	}
}

func TestParseScore(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1", 1, true}, {"-1.5", -1.5, true}, {"inf", math.Inf(1), true}, {"-Infinity", math.Inf(-1), true},
		{"0x10", 16, true}, {"0x1p-2", 0.25, true}, {"1e400", 0, false}, {"1e-400", 0, false}, {"5e-324", 5e-324, true},
		{"nan", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"", 0, false}, {"1_0", 0, false}, {".5", 0.5, true},
		{"5.", 5, true}, {"1e", 0, false}, {"0x", 0, false},
	} {
		got, ok := ParseScore([]byte(c.in))
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ParseScore(%q) = %v %v, want %v %v", c.in, got, ok, c.want, c.ok)
		}
	}
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{{"", 0, true}, {" 2", 2, true}, {"1e400", math.Inf(1), true}, {"nan", 0, false}, {"1\x00x", 1, true}, {"x", 0, false}} {
		got, ok := ParseRangeScore([]byte(c.in))
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ParseRangeScore(%q) = %v %v, want %v %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestZSetEffectsCodec(t *testing.T) {
	in := []Effect{
		{Op: OpZAdd, DB: 2, Key: []byte("z"), Field: []byte("m"), Score: -1.5},
		{Op: OpZAddMany, Key: []byte("z"), Values: [][]byte{[]byte("a"), []byte("b")}, Value: make([]byte, 16)},
		{Op: OpZRem, Key: []byte("z"), Values: [][]byte{[]byte("a")}},
	}
	out, err := DecodeEffects(AppendEffects(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if fmt.Sprintf("%v %q %v %q %q", out[i].Op, out[i].Field, out[i].Score, out[i].Values, out[i].Value) !=
			fmt.Sprintf("%v %q %v %q %q", in[i].Op, in[i].Field, in[i].Score, in[i].Values, in[i].Value) {
			t.Fatalf("effect %d: %+v, want %+v", i, out[i], in[i])
		}
	}
	bad := AppendEffects(nil, []Effect{{Op: OpZAddMany, Key: []byte("z"), Values: [][]byte{[]byte("a")}, Value: make([]byte, 7)}})
	if _, err := DecodeEffects(bad); err == nil {
		t.Fatal("a ZADDMANY whose scores do not match its members must not decode")
	}
}

func BenchmarkZSetAddBig(b *testing.B) {
	z := &zsetValue{}
	z.toBig(0)
	rng := rand.New(rand.NewPCG(1, 1))
	members := make([][]byte, 1<<20)
	for i := range members {
		members[i] = []byte(fmt.Sprint("element:", i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m := members[i&(1<<20-1)]
		if _, ok := z.score(m); ok {
			z.remove(m)
		}
		z.insert(m, float64(rng.IntN(1000000)))
		i++
	}
}

func benchBigZSet(n int) *zsetValue {
	z := &zsetValue{}
	z.toBig(n)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < n; i++ {
		z.insert([]byte(fmt.Sprint("element:", i)), float64(rng.IntN(1000000)))
	}
	return z
}

func BenchmarkZSetRank1M(b *testing.B) {
	z := benchBigZSet(1 << 20)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		z.rank([]byte(fmt.Sprint("element:", i&(1<<20-1))))
		i++
	}
}

func BenchmarkZSetRange100Of1M(b *testing.B) {
	z := benchBigZSet(1 << 20)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		from := (i * 7919) % (1<<20 - 100)
		z.scan(from, from+99, false, func(zitem) bool { return true })
		i++
	}
}

func BenchmarkParseScore(b *testing.B) {
	in := []byte("123456.5")
	b.ReportAllocs()
	for b.Loop() {
		ParseScore(in)
	}
}

// TestZSetSmallMembersStayValid: members handed out by a small set keep
// their bytes after the set changes (ZPOP replies with the members it has
// just removed; ZUNIONSTORE dst dst reads a set it replaces).
func TestZSetSmallMembersStayValid(t *testing.T) {
	z := &zsetValue{}
	for i := 0; i < 5; i++ {
		z.insert([]byte(fmt.Sprint("member", i)), float64(i))
	}
	first, last := zitemOut(z.at(0)), zitemOut(z.at(4))
	clone := z.clone().(*zsetValue)
	z.remove([]byte("member0"))
	z.insert([]byte("xxxxxxx"), -1)
	z.insert([]byte("yyyyyyy"), 10)
	if string(first.Member) != "member0" || string(last.Member) != "member4" {
		t.Fatalf("members handed out changed to %q, %q", first.Member, last.Member)
	}
	if got := clone.String(); got != `zset["member0"=0 "member1"=1 "member2"=2 "member3"=3 "member4"=4]` {
		t.Fatalf("clone changed with the original: %s", got)
	}
	if got := z.String(); got != `zset["xxxxxxx"=-1 "member1"=1 "member2"=2 "member3"=3 "member4"=4 "yyyyyyy"=10]` {
		t.Fatalf("set: %s", got)
	}
}

// TestZPackModel checks the small form against a sorted slice through
// random inserts, removals and range removals, with scores of every
// packing (small and large integers, negatives, fractions, infinities).
func TestZPackModel(t *testing.T) {
	scores := []float64{0, 1, -1, 7, -300, 1 << 40, -(1 << 52), 1<<53 - 1, 1 << 53, -(1 << 53), 1e300,
		0.25, -2.5, math.Inf(1), math.Inf(-1), math.MaxInt64, math.SmallestNonzeroFloat64}
	for seed := uint64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 5))
		z := &zsetValue{}
		var m []zitem
		for step := 0; step < 300; step++ {
			member := []byte(strings.Repeat("x", rng.IntN(3)) + fmt.Sprint(rng.IntN(150)))
			switch op := rng.IntN(10); {
			case op < 6:
				s := scores[rng.IntN(len(scores))]
				z.set(member, s)
				i := slices.IndexFunc(m, func(it zitem) bool { return it.member == string(member) })
				if i >= 0 {
					m = slices.Delete(m, i, i+1)
				}
				it := zitem{member: string(member), score: s}
				j, _ := slices.BinarySearchFunc(m, it, zcmp)
				m = slices.Insert(m, j, it)
			case op < 9:
				z.remove(member)
				if i := slices.IndexFunc(m, func(it zitem) bool { return it.member == string(member) }); i >= 0 {
					m = slices.Delete(m, i, i+1)
				}
			default:
				if len(m) > 0 {
					lo := rng.IntN(len(m))
					hi := lo + rng.IntN(len(m)-lo)
					if !z.big() {
						z.lp = z.lp.without(lo, hi) // as zremRanks does
					}
					m = slices.Delete(m, lo, hi+1)
				}
			}
			if z.big() {
				continue // more than 128 members: the tree's test covers it
			}
			var got []zitem
			z.scan(0, z.length()-1, false, func(it zitem) bool { got = append(got, it); return true })
			var rev []zitem
			z.scan(0, z.length()-1, true, func(it zitem) bool { rev = append(rev, it); return true })
			slices.Reverse(rev)
			if !slices.Equal(got, m) || !slices.Equal(rev, m) || z.length() != len(m) {
				t.Fatalf("seed %d step %d: %v, reversed %v, want %v", seed, step, got, rev, m)
			}
			if len(m) > 0 {
				r := rng.IntN(len(m))
				if s, ok := z.score([]byte(m[r].member)); !ok || s != m[r].score || z.at(r) != m[r] {
					t.Fatalf("seed %d step %d: rank %d: score %v %v, at %v, want %v", seed, step, r, s, ok, z.at(r), m[r])
				}
				if rk, _ := z.rank([]byte(m[r].member)); rk != r {
					t.Fatalf("seed %d step %d: rank of %q is %d, want %d", seed, step, m[r].member, rk, r)
				}
			}
		}
	}
}

// TestZSetCloneBig: a big set's clone, copied node for node, and its
// original change independently afterwards, each keeping its order,
// ranks and scores.
func TestZSetCloneBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	type model map[string]float64
	mutate := func(z *zsetValue, m model, n int) {
		for i := 0; i < n; i++ {
			member := fmt.Sprint("m", rng.IntN(5000))
			if rng.IntN(4) == 0 {
				z.remove([]byte(member))
				delete(m, member)
				continue
			}
			s := float64(rng.IntN(1000))
			z.set([]byte(member), s)
			m[member] = s
		}
	}
	check := func(z *zsetValue, m model) error {
		want := make([]zitem, 0, len(m))
		for k, s := range m {
			want = append(want, zitem{member: k, score: s})
		}
		slices.SortFunc(want, func(a, b zitem) int {
			if zless(a, b) {
				return -1
			}
			return 1
		})
		if z.length() != len(want) {
			return fmt.Errorf("length %d, want %d", z.length(), len(want))
		}
		for r, it := range want {
			if got := z.at(r); got != it {
				return fmt.Errorf("rank %d: %v, want %v", r, got, it)
			}
			if s, ok := z.score([]byte(it.member)); !ok || s != it.score {
				return fmt.Errorf("score of %q: %v %v, want %v", it.member, s, ok, it.score)
			}
		}
		return nil
	}
	orig, m := &zsetValue{}, model{}
	mutate(orig, m, 20000)
	if !orig.big() {
		t.Fatal("set is not big")
	}
	for round := 0; round < 3; round++ {
		c := orig.clone().(*zsetValue)
		cm := maps.Clone(m)
		mutate(c, cm, 5000)
		mutate(orig, m, 5000)
		if err := check(c, cm); err != nil {
			t.Fatalf("round %d: clone: %v", round, err)
		}
		if err := check(orig, m); err != nil {
			t.Fatalf("round %d: original: %v", round, err)
		}
	}
}

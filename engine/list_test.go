package engine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/quick"
)

// randomListOp runs one random list write through the Tx API (used by the
// replay tests: its effects must rebuild the same state).
func randomListOp(tx *Tx, rng *rand.Rand, db int, k, k2 []byte) error {
	elem := func() []byte {
		if rng.IntN(20) == 0 {
			return bytes.Repeat([]byte{'L'}, 200+rng.IntN(9000))
		}
		return []byte(fmt.Sprint(rng.IntN(6)))
	}
	var err error
	switch rng.IntN(10) {
	case 0, 1:
		vals := make([][]byte, 1+rng.IntN(20))
		for i := range vals {
			vals[i] = elem()
		}
		_, err = tx.Push(db, k, vals, rng.IntN(2) == 0, rng.IntN(5) == 0)
	case 2:
		_, err = tx.Pop(db, k, rng.IntN(2) == 0, rng.IntN(5))
	case 3:
		err = tx.LSet(db, k, int64(rng.IntN(20)-10), elem())
	case 4:
		_, err = tx.LInsert(db, k, rng.IntN(2) == 0, elem(), elem())
	case 5:
		_, err = tx.LRem(db, k, int64(rng.IntN(7)-3), elem())
	case 6:
		err = tx.LTrim(db, k, int64(rng.IntN(10)-5), int64(rng.IntN(10)-5))
	case 7:
		_, _, err = tx.LMove(db, k, k2, rng.IntN(2) == 0, rng.IntN(2) == 0)
	case 8:
		_, err = tx.Pop1(db, k, rng.IntN(2) == 0)
	default:
		_, _, err = tx.LIndex(db, k, int64(rng.IntN(10)-5))
	}
	return err
}

// listModel is the simple model the list is checked against.
type listModel [][]byte

func (m listModel) String() string {
	var b strings.Builder
	b.WriteString("list[")
	for i, v := range m {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%q", v)
	}
	b.WriteByte(']')
	return b.String()
}

// TestListModel: random operations on listValue and on a slice model agree
// (testing/quick drives the seeds; each seed is a sequence of operations
// mixing small and chunk-sized elements, so chunks split, merge and empty).
func TestListModel(t *testing.T) {
	check := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 7))
		l := &listValue{}
		var m listModel
		elem := func() []byte {
			switch rng.IntN(30) {
			case 0:
				return bytes.Repeat([]byte{'B'}, listChunkBytes+rng.IntN(100))
			case 1:
				return bytes.Repeat([]byte{'m'}, 100+rng.IntN(1000))
			}
			return []byte(fmt.Sprint(rng.IntN(8)))
		}
		for step := 0; step < 600; step++ {
			switch rng.IntN(9) {
			case 0:
				v := elem()
				l.pushBack(v)
				m = append(m, v)
			case 1:
				v := elem()
				l.pushFront(v)
				m = append(listModel{v}, m...)
			case 2:
				if len(m) > 0 {
					if got := l.popFront(); !bytes.Equal(got, m[0]) {
						t.Logf("seed %d: popFront %q, want %q", seed, got, m[0])
						return false
					}
					m = m[1:]
				}
			case 3:
				if len(m) > 0 {
					if got := l.popBack(); !bytes.Equal(got, m[len(m)-1]) {
						t.Logf("seed %d: popBack %q, want %q", seed, got, m[len(m)-1])
						return false
					}
					m = m[:len(m)-1]
				}
			case 4:
				if len(m) > 0 {
					i := rng.IntN(len(m))
					v := elem()
					l.set(i, v)
					m[i] = v
				}
			case 5:
				i := rng.IntN(len(m) + 1)
				v := elem()
				l.insert(i, v)
				m = append(m[:i], append(listModel{v}, m[i:]...)...)
			case 6:
				v := []byte(fmt.Sprint(rng.IntN(8)))
				count := rng.IntN(7) - 3
				n := l.removeMatching(v, count)
				var idx []int
				for i := range m {
					if bytes.Equal(m[i], v) {
						idx = append(idx, i)
					}
				}
				switch {
				case count > 0 && len(idx) > count:
					idx = idx[:count]
				case count < 0 && len(idx) > -count:
					idx = idx[len(idx)+count:]
				}
				if n != len(idx) {
					t.Logf("seed %d: removed %d, want %d", seed, n, len(idx))
					return false
				}
				for j := len(idx) - 1; j >= 0; j-- {
					m = append(m[:idx[j]], m[idx[j]+1:]...)
				}
			case 7:
				if len(m) > 0 {
					k := rng.IntN(len(m) + 1)
					if rng.IntN(2) == 0 {
						l.dropFront(k)
						m = m[k:]
					} else {
						l.dropBack(k)
						m = m[:len(m)-k]
					}
				}
			case 8:
				if len(m) > 0 {
					i := rng.IntN(len(m))
					if got := l.index(i); !bytes.Equal(got, m[i]) {
						t.Logf("seed %d: index %d = %q, want %q", seed, i, got, m[i])
						return false
					}
				}
			}
			m = append(listModel(nil), m...) // the model never aliases
			if l.n != len(m) || l.String() != m.String() {
				t.Logf("seed %d step %d: list %d %s\nmodel %d %s", seed, step, l.n, l.String(), len(m), m.String())
				return false
			}
			bufBytes := 0
			for _, ch := range l.chunks {
				if ch.n == 0 || ch.lo < 0 || ch.hi > len(ch.buf) || ch.lo > ch.hi {
					t.Logf("seed %d: bad chunk %+v", seed, *ch)
					return false
				}
				bufBytes += bufCost(len(ch.buf))
			}
			if bufBytes != l.bufBytes {
				t.Logf("seed %d step %d: bufBytes %d, the chunks' buffers take %d", seed, step, l.bufBytes, bufBytes)
				return false
			}
			if c := l.clone().(*listValue); c.bufBytes != listBufBytes(c) {
				t.Logf("seed %d step %d: a clone's bufBytes %d, its buffers take %d", seed, step, c.bufBytes, listBufBytes(c))
				return false
			}
		}
		// Backward iteration agrees with forward.
		var back listModel
		if l.n > 0 {
			l.eachFrom(l.n-1, true, func(_ int, v []byte) bool { back = append(listModel{v}, back...); return true })
		}
		return back.String() == m.String()
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 200}); err != nil {
		t.Fatal(err)
	}
}

func TestListEncodingAndBuilder(t *testing.T) {
	b := newListBuilder(3)
	for _, v := range []string{"a", "", "c"} {
		b.add([]byte(v))
	}
	l := b.done().(*listValue)
	if l.encoding() != "quicklist" || l.String() != `list["a" "" "c"]` {
		t.Fatalf("got %s %s", l.encoding(), l)
	}
	if newListBuilder(0).done() != nil {
		t.Fatal("an empty builder must give no collection")
	}
	c := l.clone().(*listValue)
	c.pushBack([]byte("d"))
	if l.n != 3 || c.n != 4 {
		t.Fatal("clone shares state")
	}
}

func TestListEffectsCodec(t *testing.T) {
	in := []Effect{
		{Op: OpListRPush, DB: 1, Key: []byte("k"), Values: [][]byte{[]byte("a"), {}, []byte("ccc")}},
		{Op: OpListLPush, Key: []byte("k"), Values: [][]byte{[]byte("x")}},
		{Op: OpListRPop, Key: []byte("k"), Offset: 2},
		{Op: OpListLPop, Key: []byte("k"), Offset: 1},
		{Op: OpListSet, Key: []byte("k"), Offset: 5, Value: []byte("v")},
		{Op: OpListInsert, Key: []byte("k"), Offset: 0, Value: []byte("w")},
		{Op: OpListRem, Key: []byte("k"), Offset: -3, Value: []byte("z")},
	}
	out, err := DecodeEffects(AppendEffects(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out) != fmt.Sprint(in) {
		t.Fatalf("round trip:\n%v\n%v", in, out)
	}
	for i := range in {
		if fmt.Sprintf("%q %d %q", out[i].Values, out[i].Offset, out[i].Value) != fmt.Sprintf("%q %d %q", in[i].Values, in[i].Offset, in[i].Value) {
			t.Fatalf("effect %d: %+v, want %+v", i, out[i], in[i])
		}
	}
}

func BenchmarkListPushPop(b *testing.B) {
	l := &listValue{}
	v := bytes.Repeat([]byte{'x'}, 64)
	for i := 0; i < 1000; i++ {
		l.pushBack(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		l.pushFront(v)
		l.popBack()
	}
}

func BenchmarkListIndexMiddle(b *testing.B) {
	l := &listValue{}
	v := bytes.Repeat([]byte{'x'}, 16)
	for i := 0; i < 1_000_000; i++ {
		l.pushBack(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		l.index(l.n / 2)
	}
}

func BenchmarkListIndexEnds(b *testing.B) {
	l := &listValue{}
	v := bytes.Repeat([]byte{'x'}, 16)
	for i := 0; i < 1_000_000; i++ {
		l.pushBack(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		l.index(3)
		l.index(l.n - 3)
	}
}

// listBufBytes is what bufBytes should be: the chunks' buffers' cost.
func listBufBytes(l *listValue) int {
	n := 0
	for _, ch := range l.chunks {
		n += bufCost(len(ch.buf))
	}
	return n
}

// BenchmarkListPushFrontLong: LPUSH onto a list of four million elements
// (about 32,000 chunks), where every new chunk goes in front of the others.
func BenchmarkListPushFrontLong(b *testing.B) {
	l := &listValue{}
	v := bytes.Repeat([]byte{'x'}, 64)
	for i := 0; i < 4_000_000; i++ {
		l.pushFront(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		l.pushFront(v)
	}
}

// TestListFrontRoom: a chunk LPUSH starts goes into room before the
// others, which stay where they are (they were all moved up a slot each
// time, O(chunks)); the room is made anew, proportionally, only when used
// up; and popping the front down to a slice of no capacity, then pushing,
// keeps the list whole.
func TestListFrontRoom(t *testing.T) {
	l := &listValue{}
	v := bytes.Repeat([]byte{'x'}, 64)
	moves, starts := 0, 0
	for i := 0; i < 20_000; i++ {
		k := len(l.chunks)
		var first *listChunk
		var at **listChunk
		if k > 0 {
			first, at = l.chunks[0], &l.chunks[0]
		}
		l.pushFront(v)
		if len(l.chunks) == k || k == 0 {
			continue
		}
		starts++
		if l.chunks[1] != first {
			t.Fatalf("push %d: the old first chunk is not second", i)
		}
		if &l.chunks[1] != at {
			moves++
		}
	}
	if starts < 100 || moves > 12 {
		t.Fatalf("%d chunks started, the others moved %d times; want at least 100, at most 12", starts, moves)
	}
	for i := 0; i < l.n; i++ {
		if got := l.index(i); !bytes.Equal(got, v) {
			t.Fatalf("element %d: %q", i, got)
		}
	}

	// One chunk per element (each is as big as a chunk), the array full.
	big := func(c byte) []byte { return bytes.Repeat([]byte{c}, listChunkBytes) }
	l = &listValue{}
	l.pushBack(big('a'))
	l.pushBack(big('b'))
	for l.n > 0 {
		l.popFront()
	}
	// Room counted before a slice of no capacity would be written before
	// the array's start (go test -race reports it as checkptr; without it
	// nothing may show).
	if l.front > 0 && cap(l.chunks) == 0 {
		t.Fatalf("%d slots of room counted before a slice of no capacity", l.front)
	}
	l.pushFront(big('c'))
	l.pushFront(big('d'))
	l.pushBack(big('e'))
	want := []byte{'d', 'c', 'e'}
	if l.n != len(want) {
		t.Fatalf("%d elements, want %d", l.n, len(want))
	}
	for i, c := range want {
		if got := l.index(i); !bytes.Equal(got, big(c)) {
			t.Fatalf("element %d starts %q, want %q", i, got[:1], c)
		}
	}
}

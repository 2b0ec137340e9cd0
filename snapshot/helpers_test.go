package snapshot

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cairn-db/cairn/vfs"
)

// elem is one element of a collection: a list element or set member (a),
// a hash field and value (a, b), a sorted-set member and score (a, score).
type elem struct {
	a, b  []byte
	score float64
}

// mEntry is one entry of a test's model of a snapshot.
type mEntry struct {
	db       int
	t        Type
	key      []byte
	expireAt int64
	str      []byte // TypeString
	elems    []elem // collections
	// large: written by AddLarge, which is given hint as the size hint.
	large bool
	hint  int
}

// value encodes e's value with the value codecs.
func (e *mEntry) value() []byte {
	if e.t == TypeString {
		return e.str
	}
	v := AppendCount(nil, len(e.elems))
	for _, el := range e.elems {
		v = AppendBytes(v, el.a)
		switch e.t {
		case TypeHash:
			v = AppendBytes(v, el.b)
		case TypeZSet:
			v = AppendScore(v, el.score)
		}
	}
	return v
}

// model is what a test writes: the entries of each shard and its stamp.
type model struct {
	shards  [][]mEntry
	stamps  []uint64
	created int64
}

// seed returns a seed for a randomised test, from CAIRN_SEED if set, and
// logs it so that a failure can be replayed.
func seed(t testing.TB) uint64 {
	t.Helper()
	s := uint64(time.Now().UnixNano())
	if env := os.Getenv("CAIRN_SEED"); env != "" {
		v, err := strconv.ParseUint(env, 10, 64)
		if err != nil {
			t.Fatalf("CAIRN_SEED=%q: %v", env, err)
		}
		s = v
	}
	t.Logf("seed %d (replay with CAIRN_SEED=%d)", s, s)
	return s
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// scores holds the awkward ones: infinities, signed zeros, extremes.
var scores = []float64{math.Inf(-1), math.Inf(1), math.Copysign(0, -1), 0, math.MaxFloat64,
	-math.MaxFloat64, math.SmallestNonzeroFloat64, 1.5, -2.25, 1e300, 0.1}

// randEntry makes an entry of type t in db with a unique key.
func randEntry(rng *rand.Rand, db int, t Type, i int) mEntry {
	e := mEntry{db: db, t: t, key: fmt.Appendf(nil, "key:%d:%d:%s", db, i, randBytes(rng, rng.IntN(4)))}
	if rng.IntN(3) == 0 {
		e.expireAt = 1700000000000 + rng.Int64N(1<<40)
	}
	if t == TypeString {
		e.str = randBytes(rng, rng.IntN(40))
		return e
	}
	n := rng.IntN(12)
	for j := range n {
		el := elem{a: fmt.Appendf(randBytes(rng, rng.IntN(6)), "%d", j)}
		switch t {
		case TypeHash:
			el.b = randBytes(rng, rng.IntN(20))
		case TypeZSet:
			if rng.IntN(3) == 0 {
				el.score = scores[rng.IntN(len(scores))]
			} else {
				el.score = rng.NormFloat64() * 1e6
			}
		}
		e.elems = append(e.elems, el)
	}
	return e
}

// randModel makes a model of shards shards holding n entries in all, of
// every type, in dbs databases; shard empty (if >= 0) holds none.
func randModel(rng *rand.Rand, shards, n, dbs, empty int) *model {
	m := &model{shards: make([][]mEntry, shards), stamps: make([]uint64, shards), created: 1700000000123}
	for i := range n {
		s := rng.IntN(shards)
		if s == empty {
			s = (s + 1) % shards
		}
		t := Type(1 + i%5)
		m.shards[s] = append(m.shards[s], randEntry(rng, rng.IntN(dbs), t, i))
	}
	for i := range m.stamps {
		m.stamps[i] = 100 + rng.Uint64N(1000)
	}
	return m
}

// write writes m as a snapshot in dir and returns its path.
func (m *model) write(t testing.TB, fs vfs.FS, dir string, blockSize int) string {
	t.Helper()
	w, err := Create(WriterOptions{FS: fs, Dir: dir, Shards: len(m.shards), Created: m.created, BlockSize: blockSize})
	if err != nil {
		t.Fatal(err)
	}
	for s, entries := range m.shards {
		w.BeginShard(s)
		for i := range entries {
			e := &entries[i]
			if !e.large {
				w.Add(e.db, e.t, e.key, e.expireAt, e.value())
				continue
			}
			err := w.AddLarge(e.db, e.key, e.expireAt, e.hint, func(dst []byte) (Type, []byte, error) {
				return e.t, append(dst, e.value()...), nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.EndShard(m.stamps[s]); err != nil {
			t.Fatal(err)
		}
	}
	path, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// bytes returns m written as a snapshot file's contents.
func (m *model) bytes(t testing.TB, blockSize int) []byte {
	t.Helper()
	fs := vfs.NewMem()
	path := m.write(t, fs, "/snap", blockSize)
	return readFile(t, fs, path)
}

func readFile(t testing.TB, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && size > 0 {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, fs vfs.FS, path string, data []byte) {
	t.Helper()
	f, err := fs.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkEntry fails unless got (from a reader) is e (from the model).
func checkEntry(t testing.TB, got *Entry, e *mEntry, where string) {
	t.Helper()
	if got.DB != e.db || got.Type != e.t || !bytes.Equal(got.Key, e.key) || got.ExpireAt != e.expireAt {
		t.Fatalf("%s: entry db %d %v %q expire %d, want db %d %v %q expire %d",
			where, got.DB, got.Type, got.Key, got.ExpireAt, e.db, e.t, e.key, e.expireAt)
	}
	if e.t == TypeString {
		if !bytes.Equal(got.Value, e.str) {
			t.Fatalf("%s: key %q value %q, want %q", where, e.key, got.Value, e.str)
		}
		if n, err := CheckValue(got.Type, got.Value); n != 1 || err != nil {
			t.Fatalf("%s: CheckValue of a string: %d, %v", where, n, err)
		}
		return
	}
	it, err := OpenCollection(got.Type, got.Value)
	if err != nil {
		t.Fatalf("%s: key %q: %v", where, e.key, err)
	}
	if it.Len() != len(e.elems) {
		t.Fatalf("%s: key %q has %d elements, want %d", where, e.key, it.Len(), len(e.elems))
	}
	for i, want := range e.elems {
		a, b, score, ok := it.Next()
		if !ok {
			t.Fatalf("%s: key %q: element %d missing: %v", where, e.key, i, it.Err())
		}
		if !bytes.Equal(a, want.a) || !bytes.Equal(b, want.b) || math.Float64bits(score) != math.Float64bits(want.score) {
			t.Fatalf("%s: key %q element %d: %q %q %v, want %q %q %v", where, e.key, i, a, b, score, want.a, want.b, want.score)
		}
		if (e.t != TypeHash) != (b == nil) {
			t.Fatalf("%s: key %q element %d: b %q for a %v", where, e.key, i, b, e.t)
		}
	}
	if _, _, _, ok := it.Next(); ok {
		t.Fatalf("%s: key %q: an element after the last", where, e.key)
	}
	if err := it.Err(); err != nil {
		t.Fatalf("%s: key %q: %v", where, e.key, err)
	}
	if n, err := CheckValue(got.Type, got.Value); n != len(e.elems) || err != nil {
		t.Fatalf("%s: CheckValue: %d, %v", where, n, err)
	}
}

// blockEntries returns, for each block of r, the model entries it must
// hold, given that the writer writes shards in order and cuts blocks in
// order: the index's per-block entry counts, checked against the model.
func (m *model) blockEntries(t testing.TB, r *Reader) [][]*mEntry {
	t.Helper()
	out := make([][]*mEntry, len(r.Index.Blocks))
	next := make([]int, len(m.shards))
	// A shard's large entries come first (AddLarge writes each at once),
	// then its strings, then its collections (blocks of their own), each
	// in the order added.
	ordered := make([][]mEntry, len(m.shards))
	for s, entries := range m.shards {
		for _, e := range entries {
			if e.large {
				ordered[s] = append(ordered[s], e)
			}
		}
		for _, strings := range []bool{true, false} {
			for _, e := range entries {
				if !e.large && (e.t == TypeString) == strings {
					ordered[s] = append(ordered[s], e)
				}
			}
		}
	}
	for i, bl := range r.Index.Blocks {
		if bl.Shard < 0 || bl.Shard >= len(m.shards) {
			t.Fatalf("block %d of shard %d", i, bl.Shard)
		}
		s := ordered[bl.Shard]
		if next[bl.Shard]+bl.Entries > len(s) {
			t.Fatalf("block %d claims %d entries of shard %d beyond the %d written", i, bl.Entries, bl.Shard, len(s))
		}
		for j := range bl.Entries {
			out[i] = append(out[i], &s[next[bl.Shard]+j])
		}
		next[bl.Shard] += bl.Entries
	}
	for s := range m.shards {
		if next[s] != len(m.shards[s]) {
			t.Fatalf("the blocks of shard %d hold %d entries, %d were written", s, next[s], len(m.shards[s]))
		}
	}
	return out
}

// check reads every block of r and compares it with m.
func (m *model) check(t testing.TB, r *Reader) {
	t.Helper()
	if r.Header.Version != Version || r.Header.Shards != len(m.shards) || r.Header.Created != m.created {
		t.Fatalf("header %+v, want version %d, %d shards, created %d", r.Header, Version, len(m.shards), m.created)
	}
	for i, s := range m.stamps {
		if r.Index.Stamps[i] != s {
			t.Fatalf("stamp %d is %d, want %d", i, r.Index.Stamps[i], s)
		}
	}
	var buf []byte
	var e Entry
	for i, want := range m.blockEntries(t, r) {
		raw, err := r.Block(i, buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != r.Index.Blocks[i].RawLen {
			t.Fatalf("block %d decodes to %d bytes, the index says %d", i, len(raw), r.Index.Blocks[i].RawLen)
		}
		buf = raw
		it := NewEntries(raw)
		for j, w := range want {
			if !it.Next(&e) {
				t.Fatalf("block %d: entry %d missing: %v", i, j, it.Err())
			}
			checkEntry(t, &e, w, fmt.Sprintf("block %d entry %d", i, j))
		}
		if it.Next(&e) {
			t.Fatalf("block %d: an entry after the last", i)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	// The stats count keys and bytes per db and type.
	type dt struct {
		db int
		t  Type
	}
	keys, size := map[dt]int64{}, map[dt]int64{}
	var total int64
	for _, s := range m.shards {
		for _, e := range s {
			keys[dt{e.db, e.t}]++
			v := e.value()
			size[dt{e.db, e.t}] += int64(uvarintLen(uint64(e.db)) + 1 + uvarintLen(uint64(len(e.key))) + len(e.key) +
				varintLen(e.expireAt) + uvarintLen(uint64(len(v))) + len(v))
			total++
		}
	}
	if len(r.Index.Stats) != len(keys) {
		t.Fatalf("%d stats, want %d", len(r.Index.Stats), len(keys))
	}
	for i, st := range r.Index.Stats {
		k := dt{st.DB, st.Type}
		if st.Keys != keys[k] || st.Bytes != size[k] {
			t.Fatalf("stat %+v, want %d keys, %d bytes", st, keys[k], size[k])
		}
		if i > 0 && (st.DB < r.Index.Stats[i-1].DB || st.DB == r.Index.Stats[i-1].DB && st.Type <= r.Index.Stats[i-1].Type) {
			t.Fatalf("stats out of order: %+v after %+v", st, r.Index.Stats[i-1])
		}
	}
	if r.Index.Keys() != total {
		t.Fatalf("Keys() %d, want %d", r.Index.Keys(), total)
	}
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

func varintLen(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintLen(u)
}

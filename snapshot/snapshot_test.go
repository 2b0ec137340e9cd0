package snapshot

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/cairn-db/cairn/vfs"
)

// TestRoundTrip writes models of every shape and reads them back through
// both kinds of file (mmapped from the OS's filesystem, read from memory).
func TestRoundTrip(t *testing.T) {
	s := seed(t)
	big := func(rng *rand.Rand) *model {
		m := randModel(rng, 3, 30, 2, -1)
		// A string far larger than a block, and a list of many elements.
		m.shards[1] = append(m.shards[1], mEntry{db: 0, t: TypeString, key: []byte("big"), str: randBytes(rng, 3<<20)})
		l := mEntry{db: 1, t: TypeList, key: []byte("biglist"), expireAt: 1}
		for i := range 20000 {
			l.elems = append(l.elems, elem{a: []byte{byte(i), byte(i >> 8)}})
		}
		m.shards[2] = append(m.shards[2], l)
		return m
	}
	// Entries written by AddLarge, among others of their shards, with a
	// size hint that is exact, generous, short (the value outgrows the
	// mapped memory) or nothing, and values empty of elements.
	large := func(rng *rand.Rand) *model {
		m := randModel(rng, 3, 200, 2, -1)
		hints := []func(n int) int{
			func(n int) int { return n },
			func(n int) int { return 2*n + 4096 },
			func(n int) int { return n / 2 },
			func(int) int { return 0 },
		}
		k := 0
		for s := range m.shards {
			for i := range m.shards[s] {
				if e := &m.shards[s][i]; e.t != TypeString && rng.IntN(3) == 0 {
					e.large, e.hint = true, hints[k%len(hints)](len(e.value()))
					k++
				}
			}
		}
		l := mEntry{db: 1, t: TypeList, key: []byte("biglist"), large: true}
		for i := range 50000 {
			l.elems = append(l.elems, elem{a: []byte{byte(i), byte(i >> 8), 'x'}})
		}
		l.hint = len(l.value())
		m.shards[0] = append(m.shards[0], l)
		return m
	}
	for _, tc := range []struct {
		name      string
		blockSize int
		model     func(*rand.Rand) *model
		minBlocks int
	}{
		{"no entries", 0, func(*rand.Rand) *model {
			return &model{shards: make([][]mEntry, 1), stamps: []uint64{7}, created: 1}
		}, 0},
		{"no entries, many shards", 0, func(*rand.Rand) *model {
			return &model{shards: make([][]mEntry, 16), stamps: make([]uint64, 16)}
		}, 0},
		{"one entry", 0, func(rng *rand.Rand) *model {
			m := &model{shards: make([][]mEntry, 1), stamps: []uint64{1}, created: -5}
			m.shards[0] = append(m.shards[0], randEntry(rng, 0, TypeZSet, 0))
			return m
		}, 1},
		{"default block size", 0, func(rng *rand.Rand) *model { return randModel(rng, 4, 2000, 16, 2) }, 4 - 1},
		{"small blocks", 256, func(rng *rand.Rand) *model { return randModel(rng, 4, 2000, 3, 1) }, 100},
		{"one entry per block", 1, func(rng *rand.Rand) *model { return randModel(rng, 2, 300, 2, -1) }, 300},
		{"big entries", 256, big, 5},
		{"large entries", 0, large, 3 + 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.model(rand.New(rand.NewPCG(s, 1)))
			for _, fsc := range []struct {
				name string
				fs   vfs.FS
				dir  string
			}{{"os", vfs.Default, t.TempDir()}, {"mem", vfs.NewMem(), "/data/snapshots"}} {
				t.Run(fsc.name, func(t *testing.T) {
					path := m.write(t, fsc.fs, fsc.dir, tc.blockSize)
					var maxStamp uint64
					for _, s := range m.stamps {
						maxStamp = max(maxStamp, s)
					}
					if want := filepath.Join(fsc.dir, FileName(maxStamp)); path != want {
						t.Fatalf("Commit returned %s, want %s", path, want)
					}
					names, err := fsc.fs.List(fsc.dir)
					if err != nil || len(names) != 1 {
						t.Fatalf("directory holds %q (%v), want only the snapshot", names, err)
					}
					r, err := Open(fsc.fs, path)
					if err != nil {
						t.Fatal(err)
					}
					defer r.Close()
					if (r.mm != nil) != (fsc.name == "os") {
						t.Fatalf("mmapped: %v on %s", r.mm != nil, fsc.name)
					}
					if len(r.Index.Blocks) < tc.minBlocks {
						t.Fatalf("%d blocks, want at least %d", len(r.Index.Blocks), tc.minBlocks)
					}
					if r.Size != int64(len(readFile(t, fsc.fs, path))) {
						t.Fatalf("Size %d", r.Size)
					}
					m.check(t, r)
					// The same bytes through OpenBytes.
					rb, err := OpenBytes("x", readFile(t, fsc.fs, path))
					if err != nil {
						t.Fatal(err)
					}
					m.check(t, rb)
				})
			}
		})
	}
}

// TestBlockCuts: a block is cut once it reaches BlockSize, so no block
// exceeds BlockSize by more than its last entry, and blocks hold one shard.
func TestBlockCuts(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 2))
	m := randModel(rng, 3, 500, 2, -1)
	const bs = 300
	r, err := OpenBytes("cuts", m.bytes(t, bs))
	if err != nil {
		t.Fatal(err)
	}
	maxEntry := 0
	for _, s := range m.shards {
		for _, e := range s {
			maxEntry = max(maxEntry, len(e.key)+len(e.value())+30)
		}
	}
	perShard := map[int]int{}
	for i, bl := range r.Index.Blocks {
		if bl.RawLen > bs+maxEntry || bl.Entries == 0 {
			t.Fatalf("block %d: %d raw bytes, %d entries", i, bl.RawLen, bl.Entries)
		}
		perShard[bl.Shard]++
		if i > 0 && bl.Shard < r.Index.Blocks[i-1].Shard {
			t.Fatalf("block %d of shard %d after one of shard %d", i, bl.Shard, r.Index.Blocks[i-1].Shard)
		}
	}
	if len(perShard) != 3 {
		t.Fatalf("blocks per shard %v", perShard)
	}
	m.check(t, r)
}

// TestLargeKey: a key whose encoding is larger than 64 MiB (here a list
// of a million 64-byte elements, as two million LPUSHes from
// redis-benchmark make) is written and read back in a block of its own
// size. Snapshots of such a key used to fail, so the log was never cut.
func TestLargeKey(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a 70 MB key")
	}
	rng := rand.New(rand.NewPCG(seed(t), 3))
	m := randModel(rng, 2, 20, 1, -1)
	big := mEntry{db: 0, t: TypeList, key: []byte("mylist")}
	x := bytes.Repeat([]byte("x"), 64)
	for range 1_100_000 {
		big.elems = append(big.elems, elem{a: x})
	}
	m.shards[1] = append(m.shards[1], big, randEntry(rng, 0, TypeString, 99))
	r, err := OpenBytes("large", m.bytes(t, 256<<10))
	if err != nil {
		t.Fatal(err)
	}
	largest := 0
	for _, bl := range r.Index.Blocks {
		largest = max(largest, bl.RawLen)
	}
	if largest <= 64<<20 {
		t.Fatalf("largest block %d bytes, want the whole list in one", largest)
	}
	m.check(t, r)
}

// TestShardOrder: shards may be written in any order, and a shard not
// written keeps stamp 0 and holds no block.
func TestShardOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 3))
	fs := vfs.NewMem()
	w, err := Create(WriterOptions{FS: fs, Dir: "/s", Shards: 4, Created: 9})
	if err != nil {
		t.Fatal(err)
	}
	e2 := randEntry(rng, 0, TypeHash, 1)
	e0 := randEntry(rng, 3, TypeSet, 2)
	w.BeginShard(2)
	w.Add(e2.db, e2.t, e2.key, e2.expireAt, e2.value())
	if w.Buffered() == 0 {
		t.Fatal("Buffered is 0 after Add")
	}
	if err := w.EndShard(50); err != nil {
		t.Fatal(err)
	}
	w.BeginShard(0)
	w.Add(e0.db, e0.t, e0.key, e0.expireAt, e0.value())
	if err := w.EndShard(40); err != nil {
		t.Fatal(err)
	}
	path, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "000000000050.snap" {
		t.Fatalf("path %s", path)
	}
	r, err := Open(fs, path)
	if err != nil {
		t.Fatal(err)
	}
	ix := r.Index
	if len(ix.Blocks) != 2 || ix.Blocks[0].Shard != 2 || ix.Blocks[1].Shard != 0 {
		t.Fatalf("blocks %+v", ix.Blocks)
	}
	if ix.MinStamp() != 0 || ix.MaxStamp() != 50 || ix.Stamps[2] != 50 || ix.Stamps[0] != 40 {
		t.Fatalf("stamps %v", ix.Stamps)
	}
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	var e Entry
	raw, err := r.Block(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	it := NewEntries(raw)
	if !it.Next(&e) {
		t.Fatal(it.Err())
	}
	checkEntry(t, &e, &e0, "block 1")
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct {
		name string
		lsn  uint64
		ok   bool
	}{
		{FileName(0), 0, true},
		{FileName(4711), 4711, true},
		{"/a/b/" + FileName(999999999999), 999999999999, true},
		{"000000004711.snap.tmp", 0, false},
		{"4711.snap", 0, false},
		{"00000000471x.snap", 0, false},
		{"000000004711.log", 0, false},
		{"temp-5.snap.tmp", 0, false},
	} {
		lsn, ok := ParseFileName(tc.name)
		if lsn != tc.lsn || ok != tc.ok {
			t.Fatalf("ParseFileName(%q) = %d, %v; want %d, %v", tc.name, lsn, ok, tc.lsn, tc.ok)
		}
	}
}

func TestTypeString(t *testing.T) {
	want := map[Type]string{TypeString: "string", TypeList: "list", TypeSet: "set", TypeZSet: "zset", TypeHash: "hash", 0: "type(0)", 9: "type(9)"}
	for ty, s := range want {
		if ty.String() != s {
			t.Fatalf("%d.String() = %q, want %q", ty, ty.String(), s)
		}
	}
}

// TestAbort: Abort removes the temporary file, at any stage, and after
// Commit changes nothing.
func TestAbort(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 4))
	m := randModel(rng, 2, 50, 1, -1)
	for stage := range 4 {
		fs := vfs.NewMem()
		w, err := Create(WriterOptions{FS: fs, Dir: "/s", Shards: 2, BlockSize: 64})
		if err != nil {
			t.Fatal(err)
		}
		for s := 0; s < stage && s < 2; s++ {
			w.BeginShard(s)
			for _, e := range m.shards[s] {
				w.Add(e.db, e.t, e.key, e.expireAt, e.value())
			}
			if err := w.EndShard(1); err != nil {
				t.Fatal(err)
			}
		}
		var path string
		if stage == 3 {
			if path, err = w.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if names, _ := fs.List("/s"); len(names) != 1 {
			t.Fatalf("stage %d: before Abort the directory holds %q", stage, names)
		}
		w.Abort()
		w.Abort() // twice is harmless
		names, err := fs.List("/s")
		if err != nil {
			t.Fatal(err)
		}
		if stage < 3 && len(names) != 0 {
			t.Fatalf("stage %d: after Abort the directory holds %q", stage, names)
		}
		if stage == 3 {
			if len(names) != 1 || names[0] != filepath.Base(path) {
				t.Fatalf("Abort after Commit: the directory holds %q", names)
			}
			if _, err := Open(fs, path); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestWriterMisuse: the programming errors panic; bad options fail.
func TestWriterMisuse(t *testing.T) {
	fs := vfs.NewMem()
	if _, err := Create(WriterOptions{FS: fs, Dir: "/s"}); err == nil {
		t.Fatal("Create with 0 shards succeeded")
	}
	mustPanic := func(name string, f func(w *Writer)) {
		t.Helper()
		w, err := Create(WriterOptions{FS: fs, Dir: "/s", Shards: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		defer func() {
			if recover() == nil {
				t.Fatalf("%s did not panic", name)
			}
		}()
		f(w)
	}
	mustPanic("BeginShard out of range", func(w *Writer) { w.BeginShard(2) })
	mustPanic("BeginShard(-1)", func(w *Writer) { w.BeginShard(-1) })
	mustPanic("BeginShard twice", func(w *Writer) { w.BeginShard(0); w.BeginShard(1) })
	mustPanic("EndShard outside", func(w *Writer) { w.EndShard(1) })
	mustPanic("Commit inside", func(w *Writer) { w.BeginShard(0); w.Commit() })
	mustPanic("Add outside", func(w *Writer) { w.AddString(0, []byte("k"), 0, []byte("v")) })
	mustPanic("AddLarge outside", func(w *Writer) {
		w.AddLarge(0, []byte("k"), 0, 1, func(dst []byte) (Type, []byte, error) { return TypeList, dst, nil })
	})

	// An encoder's error is AddLarge's, and the snapshot can be abandoned.
	w, err := Create(WriterOptions{FS: fs, Dir: "/s", Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	w.BeginShard(0)
	bad := errors.New("encoder failed")
	if err := w.AddLarge(0, []byte("k"), 0, 10, func([]byte) (Type, []byte, error) { return 0, nil, bad }); err != bad {
		t.Fatalf("AddLarge returned %v, want the encoder's error", err)
	}
	w.Abort()
}

// TestOpenErrors: a missing file is an I/O error, not corruption; files
// too short or not snapshots are corruption.
func TestOpenErrors(t *testing.T) {
	fs := vfs.NewMem()
	if _, err := Open(fs, "/nope.snap"); err == nil || isCorrupt(err) {
		t.Fatalf("missing file: %v", err)
	}
	for _, data := range [][]byte{nil, []byte("CAIRNSNP"), bytes.Repeat([]byte{0}, 200)} {
		writeFile(t, fs, "/x.snap", data)
		r, err := Open(fs, "/x.snap")
		if err == nil || !isCorrupt(err) {
			t.Fatalf("%q: %v, %v", data, r, err)
		}
		checkCorrupt(t, err, "/x.snap")
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.snap")
	writeFile(t, vfs.Default, empty, nil)
	if _, err := Open(nil, empty); err == nil || !isCorrupt(err) {
		t.Fatalf("empty file on disk: %v", err)
	}
}

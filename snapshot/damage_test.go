package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cairn-db/cairn/vfs"
)

func isCorrupt(err error) bool { return errors.Is(err, ErrCorrupt) }

// checkCorrupt fails unless err is a *CorruptError naming file, and
// returns its offset.
func checkCorrupt(t testing.TB, err error, file string) int64 {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("error %v (%T) is not a *CorruptError", err, err)
	}
	if ce.File != file || ce.Reason == "" {
		t.Fatalf("error %q names file %q, want %q", err, ce.File, file)
	}
	return ce.Offset
}

// region is a range of a snapshot file and the offsets an error about
// damage in it may name.
type region struct {
	name       string
	start, end int64
	offsets    []int64
	block      int // the block it belongs to, or -1
}

// regions splits a snapshot file into its parts.
func regions(t testing.TB, data []byte) []region {
	t.Helper()
	r, err := OpenBytes("intact", data)
	if err != nil {
		t.Fatal(err)
	}
	foot := int64(len(data) - footerSize)
	ixOff := int64(binary.LittleEndian.Uint64(data[foot:]))
	rs := []region{{"header", 0, headerSize, []int64{0, 8}, -1}}
	for i, bl := range r.Index.Blocks {
		rs = append(rs,
			region{fmt.Sprintf("block %d header", i), bl.Offset, bl.Offset + blockHeader, []int64{bl.Offset}, i},
			region{fmt.Sprintf("block %d data", i), bl.Offset + blockHeader, bl.Offset + blockHeader + int64(bl.StoredLen), []int64{bl.Offset}, i})
	}
	rs = append(rs,
		region{"index", ixOff, foot, []int64{ixOff}, -1},
		region{"footer", foot, int64(len(data)), []int64{foot, ixOff}, -1})
	return rs
}

// checkDamaged reads damaged, a copy of m's file with bytes changed in
// reg: Open or Verify must fail with a corruption error naming the file
// and an offset reg allows, and no block may yield entries other than
// m's. It never panics (a panic fails the test).
func (m *model) checkDamaged(t testing.TB, damaged []byte, reg region, what string) {
	t.Helper()
	const name = "damaged.snap"
	r, err := OpenBytes(name, damaged)
	if err != nil {
		off := checkCorrupt(t, err, name)
		if !slices.Contains(reg.offsets, off) {
			t.Fatalf("%s: Open: %v: offset %d, want one of %v", what, err, off, reg.offsets)
		}
		return
	}
	if reg.block < 0 {
		t.Fatalf("%s: Open succeeded", what)
	}
	want := m.blockEntries(t, r)
	var e Entry
	for i := range r.Index.Blocks {
		raw, err := r.Block(i, nil)
		if err != nil {
			if i != reg.block {
				t.Fatalf("%s: block %d: %v", what, i, err)
			}
			if off := checkCorrupt(t, err, name); off != r.Index.Blocks[i].Offset {
				t.Fatalf("%s: block %d: offset %d", what, i, off)
			}
			continue
		}
		if i == reg.block {
			t.Fatalf("%s: the damaged block %d reads as good", what, i)
		}
		it := NewEntries(raw)
		for j, w := range want[i] {
			if !it.Next(&e) {
				t.Fatalf("%s: block %d entry %d: %v", what, i, j, it.Err())
			}
			checkEntry(t, &e, w, what)
		}
	}
	err = r.Verify()
	if err == nil {
		t.Fatalf("%s: Verify succeeded", what)
	}
	if off := checkCorrupt(t, err, name); !slices.Contains(reg.offsets, off) {
		t.Fatalf("%s: Verify: %v: offset %d, want one of %v", what, err, off, reg.offsets)
	}
}

// TestDamageFlips changes every byte of a small snapshot in three ways:
// every change is caught, in the right place.
func TestDamageFlips(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 5))
	m := randModel(rng, 3, 40, 2, 1)
	data := m.bytes(t, 200)
	regs := regions(t, data)
	if len(regs) < 2+2*3 {
		t.Fatalf("only %d regions: too few blocks", len(regs))
	}
	for _, reg := range regs {
		for i := reg.start; i < reg.end; i++ {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				d := bytes.Clone(data)
				d[i] ^= x
				m.checkDamaged(t, d, reg, fmt.Sprintf("%s: byte %d ^ %#x", reg.name, i, x))
			}
		}
	}
}

// TestDamageRuns overwrites random runs of bytes with zeros or garbage.
func TestDamageRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 6))
	m := randModel(rng, 2, 60, 3, -1)
	data := m.bytes(t, 300)
	regs := regions(t, data)
	for n := range 3000 {
		reg := regs[rng.IntN(len(regs))]
		start := reg.start + rng.Int64N(reg.end-reg.start)
		end := min(reg.end, start+1+rng.Int64N(64))
		d := bytes.Clone(data)
		if rng.IntN(2) == 0 {
			clear(d[start:end])
		} else {
			for i := start; i < end; i++ {
				d[i] = byte(rng.Uint32())
			}
		}
		if bytes.Equal(d, data) {
			continue
		}
		m.checkDamaged(t, d, reg, fmt.Sprintf("try %d: %s: bytes [%d, %d)", n, reg.name, start, end))
	}
}

// TestDamageLength: every truncation, and bytes appended, are caught.
func TestDamageLength(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 7))
	m := randModel(rng, 2, 30, 1, -1)
	data := m.bytes(t, 200)
	for n := range len(data) {
		_, err := OpenBytes("cut.snap", data[:n])
		if err == nil {
			t.Fatalf("truncated to %d of %d bytes: Open succeeded", n, len(data))
		}
		checkCorrupt(t, err, "cut.snap")
	}
	for _, tail := range [][]byte{{0}, []byte("CAIRNEND"), data[len(data)-footerSize:], data} {
		_, err := OpenBytes("long.snap", append(bytes.Clone(data), tail...))
		if err == nil {
			t.Fatalf("%d bytes appended: Open succeeded", len(tail))
		}
		checkCorrupt(t, err, "long.snap")
	}
}

// TestDamageOnDisk: damage is reported the same through Open, mmapped or
// read into memory, naming the file's path.
func TestDamageOnDisk(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 8))
	m := randModel(rng, 2, 30, 1, -1)
	for _, fsc := range []struct {
		fs  vfs.FS
		dir string
	}{{vfs.Default, t.TempDir()}, {vfs.NewMem(), "/s"}} {
		path := m.write(t, fsc.fs, fsc.dir, 100)
		data := readFile(t, fsc.fs, path)
		regs := regions(t, data)
		for _, reg := range []region{regs[0], regs[2], regs[len(regs)-2], regs[len(regs)-1]} {
			d := bytes.Clone(data)
			d[(reg.start+reg.end)/2] ^= 0x10
			writeFile(t, fsc.fs, path, d)
			r, err := Open(fsc.fs, path)
			if err == nil {
				err = r.Verify()
				r.Close()
			}
			if err == nil {
				t.Fatalf("%s: damage not found", reg.name)
			}
			if off := checkCorrupt(t, err, path); !slices.Contains(reg.offsets, off) {
				t.Fatalf("%s: %v: offset %d, want %v", reg.name, err, off, reg.offsets)
			}
		}
	}
}

// forge returns data (a snapshot of m) with its header claiming shards
// and its index replaced by ix, checksums made right: damage that only a
// bug (or a forger) makes, which the checks after the checksums catch.
func forge(data []byte, shards int, ix []byte) []byte {
	foot := len(data) - footerSize
	ixOff := int(binary.LittleEndian.Uint64(data[foot:]))
	out := appendHeader(nil, shards, int64(binary.LittleEndian.Uint64(data[16:])))
	out = append(out, data[headerSize:ixOff]...)
	out = append(out, ix...)
	out = binary.LittleEndian.AppendUint64(out, uint64(ixOff))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(ix)))
	out = binary.LittleEndian.AppendUint32(out, checksum(ix))
	return append(out, footerMagic...)
}

// TestForgedIndex: an index with valid checksums but wrong contents is
// refused at Open, or by Block or Verify, never trusted.
func TestForgedIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 9))
	m := randModel(rng, 2, 40, 2, -1)
	data := m.bytes(t, 300)
	good, err := OpenBytes("good", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(good.Index.Blocks) < 3 {
		t.Fatalf("%d blocks", len(good.Index.Blocks))
	}
	ixOf := func(change func(ix *Index)) []byte {
		ix := &Index{Stamps: slices.Clone(good.Index.Stamps), Blocks: slices.Clone(good.Index.Blocks), Stats: slices.Clone(good.Index.Stats)}
		change(ix)
		return ix.append(nil)
	}
	huge := func(prefix []byte) []byte { return binary.AppendUvarint(prefix, 1<<62) }
	for _, tc := range []struct {
		name   string
		shards int
		ix     []byte
		// atOpen: Open refuses it; else Verify does.
		atOpen bool
	}{
		{"unchanged", 2, ixOf(func(*Index) {}), false},
		{"no shards, blocks of shard 0", 0, ixOf(func(ix *Index) { ix.Stamps = nil }), true},
		{"header and index disagree on shards", 3, ixOf(func(*Index) {}), true},
		{"block of a shard out of range", 2, ixOf(func(ix *Index) { ix.Blocks[1].Shard = 2 }), true},
		{"block offset off by one", 2, ixOf(func(ix *Index) { ix.Blocks[1].Offset++ }), true},
		{"a block left out", 2, ixOf(func(ix *Index) { ix.Blocks = ix.Blocks[1:] }), true},
		{"a block twice", 2, ixOf(func(ix *Index) { ix.Blocks = append(ix.Blocks, ix.Blocks[0]) }), true},
		{"stored length", 2, ixOf(func(ix *Index) { ix.Blocks[0].StoredLen++; ix.Blocks[1].StoredLen--; ix.Blocks[1].Offset++ }), false},
		{"raw length", 2, ixOf(func(ix *Index) { ix.Blocks[0].RawLen++ }), false},
		{"raw length beyond snappy's expansion", 2, ixOf(func(ix *Index) { ix.Blocks[0].RawLen = maxExpansion*ix.Blocks[0].StoredLen + 1 }), true},
		{"raw length beyond 32 bits", 2, ixOf(func(ix *Index) { ix.Blocks[0].RawLen = maxBlockLen + 1 }), true},
		{"entries", 2, ixOf(func(ix *Index) { ix.Blocks[2].Entries-- }), false},
		{"stat keys", 2, ixOf(func(ix *Index) { ix.Stats[0].Keys++ }), false},
		{"stat left out", 2, ixOf(func(ix *Index) { ix.Stats = ix.Stats[1:] }), false},
		{"stat of an unknown type", 2, ixOf(func(ix *Index) { ix.Stats = append(ix.Stats, Stat{DB: 0, Type: 9, Keys: 1}) }), true},
		{"stat of no keys", 2, ixOf(func(ix *Index) { ix.Stats = append(ix.Stats, Stat{DB: 7, Type: TypeList}) }), true},
		{"stats twice", 2, ixOf(func(ix *Index) { ix.Stats = append(ix.Stats, ix.Stats...) }), true},
		{"stat bytes", 2, ixOf(func(ix *Index) { ix.Stats[0].Bytes++ }), false},
		{"index version", 2, append([]byte{2}, ixOf(func(*Index) {})[1:]...), true},
		{"trailing bytes", 2, append(ixOf(func(*Index) {}), 0), true},
		{"huge stamp count", 2, huge([]byte{indexVersion}), true},
		{"huge block count", 2, huge([]byte{indexVersion, 0}), true},
		{"empty index", 2, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := forge(data, tc.shards, tc.ix)
			r, err := OpenBytes("forged", d)
			if tc.name == "unchanged" {
				if err != nil {
					t.Fatal(err)
				}
				m.check(t, r)
				return
			}
			if err != nil {
				if !tc.atOpen {
					t.Fatalf("Open: %v, want Verify to catch it", err)
				}
				checkCorrupt(t, err, "forged")
				return
			}
			if tc.atOpen {
				t.Fatal("Open succeeded")
			}
			err = r.Verify()
			if err == nil {
				t.Fatal("Verify succeeded")
			}
			checkCorrupt(t, err, "forged")
		})
	}
}

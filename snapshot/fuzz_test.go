package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/golang/snappy"
)

// refValue is an independent, deliberately plain decoder of a value of
// type t, written from the format description in doc.go: the number of
// elements and whether the value is sound.
func refValue(t Type, v []byte) (int, bool) {
	if t == TypeString {
		return 1, true
	}
	if t < TypeList || t > TypeHash {
		return 0, false
	}
	count, k := binary.Uvarint(v)
	if k <= 0 {
		return 0, false
	}
	v = v[k:]
	str := func() bool {
		n, k := binary.Uvarint(v)
		if k <= 0 || n > uint64(len(v)-k) {
			return false
		}
		v = v[k+int(n):]
		return true
	}
	for i := uint64(0); i < count; i++ {
		if !str() {
			return 0, false
		}
		switch t {
		case TypeHash:
			if !str() {
				return 0, false
			}
		case TypeZSet:
			if len(v) < 8 || math.IsNaN(math.Float64frombits(binary.LittleEndian.Uint64(v))) {
				return 0, false
			}
			v = v[8:]
		}
	}
	return int(count), len(v) == 0
}

// refEntry is an entry as refEntries decodes it.
type refEntry struct {
	db       uint64
	t        Type
	key      []byte
	expireAt int64
	value    []byte
	size     int // encoded bytes
}

// refEntries decodes a raw block plainly: its entries up to the first
// that does not decode (values unchecked), and whether all of it is sound
// (values included).
func refEntries(raw []byte) (out []refEntry, sound bool) {
	sound = true
	for len(raw) > 0 {
		start := len(raw)
		var e refEntry
		var k int
		if e.db, k = binary.Uvarint(raw); k <= 0 || e.db > 1<<20 || len(raw) == k {
			return out, false
		}
		e.t, raw = Type(raw[k]), raw[k+1:]
		if e.expireAt, k = binary.Varint(raw); k <= 0 {
			return out, false
		}
		raw = raw[k:]
		klen, k1 := binary.Uvarint(raw)
		if k1 <= 0 {
			return out, false
		}
		raw = raw[k1:]
		vlen, k2 := binary.Uvarint(raw)
		if k2 <= 0 || klen > uint64(len(raw)-k2) || vlen > uint64(len(raw)-k2)-klen {
			return out, false
		}
		raw = raw[k2:]
		e.key, e.value, raw = raw[:klen], raw[klen:klen+vlen], raw[klen+vlen:]
		if e.t != TypeString && (e.t < TypeList || e.t > TypeHash) {
			return out, false
		}
		e.size = start - len(raw)
		out = append(out, e)
		if _, ok := refValue(e.t, e.value); !ok {
			sound = false
		}
	}
	return out, sound
}

// refTable is CRC-32C's table, made apart from the package's.
var refTable = crc32.MakeTable(crc32.Castagnoli)

// allocated returns the bytes allocated so far.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// readAll reads everything r holds, as a loader would, checking what the
// reader returns against the file's bytes: a block is returned only if its
// stored bytes match its checksum, and its entries are those refEntries
// finds. It returns the number of entries read.
func readAll(t *testing.T, r *Reader, data []byte) int {
	n := 0
	var e Entry
	var elems Elems
	for i, bl := range r.Index.Blocks {
		raw, err := r.Block(i, nil)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("block %d: %v", i, err)
			}
			continue
		}
		h := data[bl.Offset:]
		stored := h[blockHeader : blockHeader+bl.StoredLen]
		if crc32.Checksum(stored, refTable) != binary.LittleEndian.Uint32(h[8:]) {
			t.Fatalf("block %d returned though its checksum fails", i)
		}
		want, _ := refEntries(raw)
		it := NewEntries(raw)
		for j := 0; it.Next(&e); j++ {
			if j >= len(want) {
				t.Fatalf("block %d: entry %d beyond the sound ones", i, j)
			}
			w := want[j]
			if uint64(e.DB) != w.db || e.Type != w.t || !bytes.Equal(e.Key, w.key) || e.ExpireAt != w.expireAt || !bytes.Equal(e.Value, w.value) {
				t.Fatalf("block %d entry %d differs from the reference decoding", i, j)
			}
			n++
			if e.Type == TypeString {
				continue
			}
			if err := elems.Reset(e.Type, e.Value); err != nil {
				continue
			}
			for {
				if _, _, _, ok := elems.Next(); !ok {
					break
				}
			}
		}
	}
	return n
}

// fuzzSeeds are small valid snapshots, and damaged ones.
func fuzzSeeds(t testing.TB) map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	small := randModel(rng, 2, 12, 2, -1).bytes(t, 100)
	one := &model{shards: make([][]mEntry, 1), stamps: []uint64{3}, created: 1}
	one.shards[0] = []mEntry{randEntry(rng, 0, TypeZSet, 0), randEntry(rng, 1, TypeHash, 1)}
	flipped := bytes.Clone(small)
	flipped[headerSize+blockHeader+3] ^= 4
	return map[string][]byte{
		"valid":       small,
		"one_block":   one.bytes(t, 0),
		"empty":       (&model{shards: make([][]mEntry, 3), stamps: []uint64{1, 2, 3}}).bytes(t, 0),
		"flipped":     flipped,
		"truncated":   small[:len(small)-10],
		"header_only": small[:headerSize],
	}
}

// fuzzBlockSeeds are raw blocks: sound ones and broken ones.
func fuzzBlockSeeds() [][]byte {
	rng := rand.New(rand.NewPCG(3, 4))
	var sound []byte
	for i := range 6 {
		e := randEntry(rng, i%2, Type(1+i%5), i)
		sound = appendEntry(sound, int(e.db), e.t, e.key, e.expireAt, e.value())
	}
	return [][]byte{sound, sound[:len(sound)-1], append(bytes.Clone(sound), 0), {0, 9, 0, 0, 0}, {0, 4, 1, 'k', 0, 11, 1, 1, 'm', 0, 0, 0, 0, 0, 0, 0xf8, 0x7f}}
}

// fuzzElemsSeeds are values of each type.
func fuzzElemsSeeds() map[string][]byte {
	rng := rand.New(rand.NewPCG(5, 6))
	seeds := map[string][]byte{}
	for ty := TypeList; ty <= TypeHash; ty++ {
		e := randEntry(rng, 0, ty, 0)
		for len(e.elems) < 3 {
			e = randEntry(rng, 0, ty, 0)
		}
		v := e.value()
		seeds[ty.String()] = append([]byte{byte(ty)}, v...)
		seeds[ty.String()+"_short"] = append([]byte{byte(ty)}, v[:len(v)-1]...)
	}
	seeds["nan"] = append([]byte{byte(TypeZSet), 1, 1, 'm'}, AppendScore(nil, math.NaN())...)
	seeds["huge_count"] = []byte{byte(TypeList), 0xff, 0xff, 0xff, 0xff, 0x0f, 0}
	return seeds
}

// TestWriteFuzzCorpus writes the seed corpora under testdata/fuzz; run
// with SNAPSHOT_WRITE_CORPUS=1 after a format change.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("SNAPSHOT_WRITE_CORPUS") == "" {
		t.Skip("set SNAPSHOT_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	lit := func(b []byte) string { return "[]byte(" + strconv.Quote(string(b)) + ")\n" }
	write := func(fz, name, content string) {
		dir := filepath.Join("testdata", "fuzz", fz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range fuzzSeeds(t) {
		write("FuzzOpen", name, lit(b))
	}
	for i, b := range fuzzBlockSeeds() {
		write("FuzzBlock", "seed"+strconv.Itoa(i), lit(b))
	}
	for name, b := range fuzzElemsSeeds() {
		write("FuzzElems", name, lit(b))
	}
}

// FuzzOpen reads arbitrary bytes as a snapshot: OpenBytes, Verify and
// reading every block, entry and element never panic, fail only with
// corruption errors naming the file, never return an entry of a block whose
// checksum fails, and allocate no more than a bound proportional to the
// input plus the blocks' decoded sizes (each at most maxBlockRaw, only
// once its checksum has passed).
func FuzzOpen(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := allocated()
		r, err := OpenBytes("fuzz.snap", data)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.File != "fuzz.snap" {
				t.Fatalf("Open: %v", err)
			}
			if a := allocated() - before; a > uint64(16*len(data))+64<<10 {
				t.Fatalf("a failed Open of %d bytes allocated %d", len(data), a)
			}
			return
		}
		var raw uint64
		for _, bl := range r.Index.Blocks {
			raw += uint64(bl.RawLen)
		}
		verr := r.Verify()
		if verr != nil && !errors.Is(verr, ErrCorrupt) {
			t.Fatalf("Verify: %v", verr)
		}
		readAll(t, r, data)
		if a := allocated() - before; a > uint64(16*len(data))+3*raw+64<<10 {
			t.Fatalf("reading %d bytes (%d raw in blocks) allocated %d", len(data), raw, a)
		}
	})
}

// FuzzBlock wraps arbitrary bytes as the one block of a snapshot whose
// checksums and index are right (the index's counts are the reference
// decoder's), so that the fuzzer reaches the entry and value decoding:
// Verify succeeds exactly when the reference decoder finds the block
// sound, and reading never panics.
func FuzzBlock(f *testing.F) {
	for _, b := range fuzzBlockSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, sound := refEntries(raw)
		ix := &Index{Stamps: []uint64{1}}
		stats := map[[2]int]*Stat{}
		for _, e := range want {
			st := stats[[2]int{int(e.db), int(e.t)}]
			if st == nil {
				st = &Stat{DB: int(e.db), Type: e.t}
				stats[[2]int{int(e.db), int(e.t)}] = st
			}
			st.Keys++
			st.Bytes += int64(e.size)
		}
		for _, st := range stats {
			if st.Type.valid() {
				ix.Stats = append(ix.Stats, *st)
			}
		}
		sortStats(ix.Stats)
		data := appendHeader(nil, 1, 0)
		if len(raw) > 0 {
			stored := snappy.Encode(nil, raw)
			data = binary.LittleEndian.AppendUint32(data, uint32(len(raw)))
			data = binary.LittleEndian.AppendUint32(data, uint32(len(stored)))
			data = binary.LittleEndian.AppendUint32(data, checksum(stored))
			data = append(data, stored...)
			ix.Blocks = []BlockInfo{{Offset: headerSize, StoredLen: len(stored), RawLen: len(raw), Entries: len(want)}}
		}
		ixOff := len(data)
		ixb := ix.append(nil)
		data = append(data, ixb...)
		data = binary.LittleEndian.AppendUint64(data, uint64(ixOff))
		data = binary.LittleEndian.AppendUint32(data, uint32(len(ixb)))
		data = binary.LittleEndian.AppendUint32(data, checksum(ixb))
		data = append(data, footerMagic...)

		r, err := OpenBytes("block.snap", data)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		verr := r.Verify()
		if (verr == nil) != sound {
			t.Fatalf("Verify: %v; the reference decoder finds the block sound: %v", verr, sound)
		}
		if n := readAll(t, r, data); sound && n != len(want) {
			t.Fatalf("read %d entries, want %d", n, len(want))
		}
	})
}

// FuzzElems iterates over an arbitrary value of a collection type (the
// first byte): no panic, no allocation, and the elements are returned and
// the value found sound exactly as the reference decoder says.
func FuzzElems(f *testing.F) {
	for _, b := range fuzzElemsSeeds() {
		f.Add(b)
	}
	var it Elems
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		ty, value := Type(in[0]), in[1:]
		wantN, sound := refValue(ty, value)
		if ty == TypeString {
			if n, err := CheckValue(ty, value); n != 1 || err != nil {
				t.Fatalf("CheckValue of a string: %d, %v", n, err)
			}
			return
		}
		allocs := testing.AllocsPerRun(1, func() {
			if err := it.Reset(ty, value); err != nil {
				return
			}
			for {
				if _, _, _, ok := it.Next(); !ok {
					break
				}
			}
		})
		if allocs > 0 && sound {
			t.Fatalf("iterating over a sound value allocated %v times", allocs)
		}
		err := it.Reset(ty, value)
		if err != nil {
			if sound || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Reset: %v (sound: %v)", err, sound)
			}
			return
		}
		if sound && it.Len() != wantN {
			t.Fatalf("Len %d, want %d", it.Len(), wantN)
		}
		n := 0
		for {
			a, b, score, ok := it.Next()
			if !ok {
				break
			}
			n++
			if (ty == TypeHash) != (b != nil) || (ty != TypeZSet && score != 0) || math.IsNaN(score) || a == nil {
				t.Fatalf("element %d of a %v: %q %q %v", n, ty, a, b, score)
			}
		}
		if err := it.Err(); (err == nil) != sound {
			t.Fatalf("Err %v; the reference decoder finds it sound: %v", err, sound)
		}
		if sound && n != wantN {
			t.Fatalf("%d elements, want %d", n, wantN)
		}
		if cn, err := CheckValue(ty, value); (err == nil) != sound || (sound && cn != wantN) {
			t.Fatalf("CheckValue: %d, %v; sound %v, %d", cn, err, sound, wantN)
		}
	})
}

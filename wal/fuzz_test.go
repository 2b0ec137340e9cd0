package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/golang/snappy"

	"github.com/cairn-db/cairn/vfs"
)

// refDecode is an independent, deliberately plain decoder of one segment,
// written from the format description in doc.go: it returns the records of
// the sound prefix of a segment named nameLSN, stopping at the first frame
// that is not sound (or, with stopAtSkip, at a skip frame).
func refDecode(data []byte, nameLSN uint64, stopAtSkip bool) [][]byte {
	le := binary.LittleEndian
	tab := crc32.MakeTable(crc32.Castagnoli)
	if len(data) < 24 || string(data[:8]) != "CAIRNWAL" || le.Uint32(data[8:]) != 1 ||
		crc32.Checksum(data[:20], tab) != le.Uint32(data[20:]) || le.Uint64(data[12:]) != nameLSN {
		return nil
	}
	var out [][]byte
	next := nameLSN
	for off := 24; len(data)-off >= 29; {
		h := data[off:]
		length, typ, count := le.Uint32(h[4:]), h[8], le.Uint32(h[9:])
		first, durable := le.Uint64(h[13:]), le.Uint64(h[21:])
		if typ < 1 || typ > 4 || length > 1<<30 || uint64(len(h)-29) < uint64(length) || durable > uint64(off) {
			return out
		}
		if crc32.Checksum(h[4:29+length], tab) != le.Uint32(h) || first != next {
			return out
		}
		payload := h[29 : 29+length]
		switch typ {
		case 3:
			if length != 0 || count != 0 {
				return out
			}
		case 4:
			if length != 0 || count == 0 || stopAtSkip {
				return out
			}
		case 1, 2:
			if count == 0 {
				return out
			}
			if typ == 2 {
				n, err := snappy.DecodedLen(payload)
				if err != nil || n > 1<<30 || n > 32*len(payload) {
					return out
				}
				if payload, err = snappy.Decode(nil, payload); err != nil {
					return out
				}
			}
			var recs [][]byte
			for i := uint32(0); i < count; i++ {
				n, k := binary.Uvarint(payload)
				if k <= 0 || n > uint64(len(payload)-k) {
					return out
				}
				recs = append(recs, payload[k:k+int(n)])
				payload = payload[k+int(n):]
			}
			if len(payload) != 0 {
				return out
			}
			out = append(out, recs...)
		}
		next += uint64(count)
		off += 29 + int(length)
	}
	return out
}

// validSegment builds a segment file: header, then frames of the given
// records (one frame per inner slice, compressed when asked), optionally a
// skip frame and an end mark.
func validSegment(first uint64, frames [][][]byte, compress bool, skip uint32, mark bool) []byte {
	b := appendSegmentHeader(nil, first)
	next := first
	for _, recs := range frames {
		var p []byte
		for _, r := range recs {
			p = binary.AppendUvarint(p, uint64(len(r)))
			p = append(p, r...)
		}
		h := frameHeader{typ: frameRaw, count: uint32(len(recs)), first: next, durable: uint64(len(b))}
		if compress {
			h.typ, p = frameSnappy, snappy.Encode(nil, p)
		}
		b = appendFrame(b, h, p)
		next += uint64(len(recs))
	}
	if skip > 0 {
		b = appendFrame(b, frameHeader{typ: frameSkip, count: skip, first: next, durable: uint64(len(b))}, nil)
		next += uint64(skip)
	}
	if mark {
		b = appendFrame(b, frameHeader{typ: frameMark, first: next, durable: uint64(len(b))}, nil)
	}
	return b
}

// fuzzSeeds are the seed inputs: valid segments, a torn one, a corrupt one.
func fuzzSeeds() map[string][]byte {
	recs := [][][]byte{{[]byte("hello")}, {[]byte(""), []byte("two"), bytes.Repeat([]byte("ab"), 40)}, {[]byte("last")}}
	valid := validSegment(1, recs, false, 0, true)
	comp := validSegment(1, recs, true, 0, false)
	torn := valid[:len(valid)-frameHeaderSize-3]
	corrupt := bytes.Clone(valid)
	corrupt[segmentHeaderSize+frameHeaderSize+2] ^= 0x20
	return map[string][]byte{
		"valid":        valid,
		"compressed":   comp,
		"skip":         validSegment(1, recs[:1], false, 5, true),
		"empty":        appendSegmentHeader(nil, 1),
		"torn":         torn,
		"corrupt":      corrupt,
		"zeros_tail":   append(bytes.Clone(valid), make([]byte, 40)...),
		"header_only5": appendSegmentHeader(nil, 1)[:5],
	}
}

// TestWriteFuzzCorpus writes the seed corpus files under testdata/fuzz;
// run with WAL_WRITE_CORPUS=1 after a format change.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("WAL_WRITE_CORPUS") == "" {
		t.Skip("set WAL_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	lit := func(b []byte) string { return "[]byte(" + strconv.Quote(string(b)) + ")\n" }
	seeds := fuzzSeeds()
	for name, b := range seeds {
		for _, fz := range []string{"FuzzReplay", "FuzzScan"} {
			dir := filepath.Join("testdata", "fuzz", fz)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			content := "go test fuzz v1\n" + lit(b)
			if fz == "FuzzScan" {
				second := validSegment(uint64(len(refDecode(b, 1, false))+1), [][][]byte{{[]byte("second")}}, false, 0, true)
				content += lit(second)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// allocated returns the bytes allocated so far.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// allocBound is what reading n bytes of log may allocate at most: a read
// window (at most the file), a snappy buffer (at most 32× a payload), and
// the in-memory filesystem's copies.
func allocBound(n int) uint64 { return uint64(40*n) + 2<<20 }

// FuzzReplay feeds arbitrary bytes as the only segment of a log: Replay
// must not panic, must return exactly the records of the sound prefix
// (never one from a frame whose checksum failed), must not allocate beyond
// a bound proportional to the input, must leave the file alone on
// corruption and leave a sound log after a torn tail.
func FuzzReplay(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := vfs.NewMem()
		path := "/wal/" + segmentName(1)
		writeFile(t, fs, path, data)
		l, err := Open(Options{FS: fs, Dir: "/wal", Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		before := allocated()
		info, err := l.Replay(0, func(lsn uint64, r []byte) error {
			if lsn != uint64(len(got)+1) {
				t.Fatalf("LSN %d after %d records", lsn, len(got))
			}
			got = append(got, bytes.Clone(r))
			return nil
		})
		if a := allocated() - before; a > allocBound(len(data))+uint64(2*len(got)*64) {
			t.Fatalf("Replay of %d bytes allocated %d bytes", len(data), a)
		}
		want := refDecode(data, 1, true)
		if len(got) != len(want) {
			t.Fatalf("Replay returned %d records, the sound prefix has %d (err %v)", len(got), len(want), err)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("record %d differs", i+1)
			}
		}
		switch {
		case err == nil:
			if info.TornTail != nil {
				// The tail is gone: a second replay finds a sound log.
				l.Close()
				l2, got2, info2 := openLog(t, Options{FS: fs, Dir: "/wal"}, 0)
				if info2.TornTail != nil || len(got2) != len(got) {
					t.Fatalf("after truncating a torn tail: %d records, torn %+v", len(got2), info2.TornTail)
				}
				l2.Close()
				return
			}
			l.Close()
		case errors.Is(err, ErrCorrupt):
			var ce *CorruptionError
			if !errors.As(err, &ce) || (ce.File != path && ce.File != "") {
				t.Fatalf("corruption error %v", err)
			}
			if !bytes.Equal(fileBytes(t, fs, path), data) {
				t.Fatal("Replay changed a corrupt file")
			}
		default:
			var ve errVersion
			if !errors.As(err, &ve) {
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}

// FuzzScan feeds two arbitrary segments: Scan must not panic, must not
// write, must return the sound prefix of the first; Repair must then leave
// a log that Scan finds sound.
func FuzzScan(f *testing.F) {
	for _, b := range fuzzSeeds() {
		second := validSegment(uint64(len(refDecode(b, 1, false))+1), [][][]byte{{[]byte("second")}}, false, 0, true)
		f.Add(b, second)
	}
	f.Fuzz(func(t *testing.T, seg1, seg2 []byte) {
		fs := vfs.NewMem()
		writeFile(t, fs, "/wal/"+segmentName(1), seg1)
		name2 := uint64(2)
		if len(seg2) >= segmentHeaderSize {
			name2 = max(2, peekHeaderLSN(seg2))
		}
		writeFile(t, fs, "/wal/"+segmentName(name2), seg2)
		files := snapshotFiles(t, fs, "/wal")
		var got [][]byte
		before := allocated()
		info, err := Scan(fs, "/wal", func(lsn uint64, r []byte) error {
			got = append(got, bytes.Clone(r))
			return nil
		})
		if a := allocated() - before; a > allocBound(len(seg1)+len(seg2))+uint64(2*len(got)*64) {
			t.Fatalf("Scan of %d bytes allocated %d bytes", len(seg1)+len(seg2), a)
		}
		if !sameFiles(files, snapshotFiles(t, fs, "/wal")) {
			t.Fatal("Scan changed the files")
		}
		if err != nil {
			var ve errVersion
			if !errors.As(err, &ve) {
				t.Fatalf("Scan: %v", err)
			}
			return
		}
		want := refDecode(seg1, 1, false)
		if len(got) < len(want) {
			t.Fatalf("Scan returned %d records, the first segment's sound prefix has %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("record %d differs", i+1)
			}
		}
		if info.Records != len(got) {
			t.Fatalf("info.Records %d, got %d", info.Records, len(got))
		}
		ri, err := Repair(fs, "/wal")
		if err != nil {
			t.Fatalf("Repair: %v", err)
		}
		if (ri.Damage == nil) != (info.Damage == nil) {
			t.Fatalf("Scan damage %+v, Repair damage %+v", info.Damage, ri.Damage)
		}
		got2, info2 := readAll(t, fs, "/wal")
		if info2.Damage != nil || len(got2) != len(got) {
			t.Fatalf("after Repair: %d records (had %d), damage %+v", len(got2), len(got), info2.Damage)
		}
		if ri.LastLSN < info2.LastLSN {
			t.Fatalf("Repair says LastLSN %d, Scan found a record at %d", ri.LastLSN, info2.LastLSN)
		}
	})
}

// FuzzFrame builds a checksum-valid frame from arbitrary header fields and
// payload, so that the fuzzer gets past the checksum into the payload
// decoding (record lengths, snappy): the scanner must agree with refDecode
// and never panic or allocate without bound.
func FuzzFrame(f *testing.F) {
	f.Add(byte(frameRaw), uint32(1), uint64(1), []byte("\x05hello"))
	f.Add(byte(frameSnappy), uint32(2), uint64(1), snappy.Encode(nil, []byte("\x01a\x02bc")))
	f.Add(byte(frameSnappy), uint32(1), uint64(1), []byte("\xff\xff\xff\xff\x0f\x00"))
	f.Add(byte(frameSkip), uint32(3), uint64(1), []byte(nil))
	f.Add(byte(frameMark), uint32(0), uint64(1), []byte(nil))
	f.Fuzz(func(t *testing.T, typ byte, count uint32, first uint64, payload []byte) {
		seg := appendSegmentHeader(nil, 1)
		seg = appendFrame(seg, frameHeader{typ: typ, count: count, first: first, durable: segmentHeaderSize}, payload)
		fs := vfs.NewMem()
		writeFile(t, fs, "/wal/"+segmentName(1), seg)
		var got [][]byte
		before := allocated()
		info, err := Scan(fs, "/wal", func(lsn uint64, r []byte) error {
			got = append(got, bytes.Clone(r))
			return nil
		})
		if a := allocated() - before; a > allocBound(len(seg))+uint64(2*len(got)*64) {
			t.Fatalf("Scan of %d bytes allocated %d bytes", len(seg), a)
		}
		if err != nil {
			t.Fatal(err)
		}
		want := refDecode(seg, 1, false)
		if len(got) != len(want) {
			t.Fatalf("Scan returned %d records, refDecode %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("record %d differs", i+1)
			}
		}
		if (info.Damage == nil) != (len(want) > 0 || (first == 1 && ((typ == frameMark && count == 0 && len(payload) == 0) ||
			(typ == frameSkip && count > 0 && len(payload) == 0)))) {
			t.Fatalf("damage %+v with %d sound records", info.Damage, len(want))
		}
	})
}

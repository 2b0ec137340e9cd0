package wal

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-db/cairn/vfs"
)

// frameOffsets returns the offsets of the frames of a sound segment, and
// the end of the last one.
func frameOffsets(t testing.TB, b []byte) []int64 {
	t.Helper()
	var offs []int64
	off := int64(segmentHeaderSize)
	for off < int64(len(b)) {
		_, size, st, reason := checkFrame(b[off:], off)
		if st != frameOK {
			t.Fatalf("frame at %d: %s", off, reason)
		}
		offs = append(offs, off)
		off += size
	}
	return append(offs, off)
}

// buildLog writes n records, one frame each (SyncAlways, waiting for each),
// and returns the filesystem as a crash would leave it (no Close, so no end
// mark), with the records.
func buildLog(t testing.TB, n int, opts Options) (*vfs.MemFS, [][]byte) {
	t.Helper()
	fs := vfs.NewMem()
	opts.FS, opts.Dir = fs, "/wal"
	l, _, _ := openLog(t, opts, 0)
	var want [][]byte
	for i := 1; i <= n; i++ {
		r := payload(uint64(i), 10+i*37%500, i%2 == 0)
		want = append(want, r)
		if err := l.WaitSynced(waitCtx(t), l.Append(r)); err != nil {
			t.Fatal(err)
		}
	}
	crashed := fs.CrashClone(vfs.CrashOptions{})
	l.Close()
	return crashed, want
}

// TestTornTailEveryOffset cuts the last segment at every offset within its
// last frame: Replay returns the earlier records, reports and truncates the
// torn tail, and appends continue with dense LSNs.
func TestTornTailEveryOffset(t *testing.T) {
	base, want := buildLog(t, 20, Options{Sync: SyncAlways, CompressAbove: 100})
	path := segFiles(t, base, "/wal")[0]
	full := fileBytes(t, base, path)
	offs := frameOffsets(t, full)
	last, end := offs[len(offs)-2], offs[len(offs)-1]
	for cut := last; cut <= end; cut++ {
		fs := base.CrashClone(vfs.CrashOptions{})
		writeFile(t, fs, path, full[:cut])
		logger, logs := logBuffer()
		opts := Options{FS: fs, Dir: "/wal", Logger: logger}
		l, got, info := openLog(t, opts, 0)
		switch {
		case cut == end:
			checkRecs(t, got, want, 1)
			if info.TornTail != nil {
				t.Fatalf("cut %d (whole file): torn tail %+v", cut, info.TornTail)
			}
		case cut == last:
			checkRecs(t, got, want[:19], 1)
			if info.TornTail != nil {
				t.Fatalf("cut %d (frame boundary): torn tail %+v", cut, info.TornTail)
			}
		default:
			checkRecs(t, got, want[:19], 1)
			tt := info.TornTail
			if tt == nil || tt.File != path || tt.Offset != last || tt.Dropped != cut-last {
				t.Fatalf("cut %d: torn tail %+v, want %s offset %d dropped %d", cut, tt, path, last, cut-last)
			}
			if s := logs.String(); !strings.Contains(s, "torn tail") || !strings.Contains(s, path) {
				t.Fatalf("cut %d: no warning naming the file: %s", cut, s)
			}
			if n := len(fileBytes(t, fs, path)); int64(n) != last {
				t.Fatalf("cut %d: file is %d bytes after replay, want %d", cut, n, last)
			}
		}
		n := len(got)
		if lsn := l.Append([]byte("next")); lsn != uint64(n+1) {
			t.Fatalf("cut %d: next LSN %d, want %d", cut, lsn, n+1)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l, got2, info2 := openLog(t, opts, 0)
		checkRecs(t, got2, append(append([][]byte{}, want[:n]...), []byte("next")), 1)
		if info2.TornTail != nil {
			t.Fatalf("cut %d: torn tail on the second replay: %+v", cut, info2.TornTail)
		}
		l.Close()
	}
}

// TestTornTailOS does a few cuts over the operating system's filesystem.
func TestTornTailOS(t *testing.T) {
	base, want := buildLog(t, 5, Options{Sync: SyncAlways})
	path := segFiles(t, base, "/wal")[0]
	full := fileBytes(t, base, path)
	offs := frameOffsets(t, full)
	last := offs[len(offs)-2]
	for _, cut := range []int64{last + 1, last + frameHeaderSize - 1, last + frameHeaderSize, int64(len(full)) - 1} {
		dir := t.TempDir()
		p := filepath.Join(dir, filepath.Base(path))
		writeFile(t, vfs.Default, p, full[:cut])
		l, got, info := openLog(t, Options{Dir: dir}, 0)
		checkRecs(t, got, want[:4], 1)
		if info.TornTail == nil || info.TornTail.Offset != last {
			t.Fatalf("cut %d: torn tail %+v", cut, info.TornTail)
		}
		if lsn := l.Append([]byte("x")); lsn != 5 {
			t.Fatalf("next LSN %d", lsn)
		}
		l.Close()
		l, got, _ = openLog(t, Options{Dir: dir}, 0)
		checkRecs(t, got, append(append([][]byte{}, want[:4]...), []byte("x")), 1)
		l.Close()
	}
}

// TestGarbageTail: random bytes after the last frame are a torn tail;
// zeros are the end of the log (space a preallocated segment was prepared
// with), written over by the next frames.
func TestGarbageTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 1))
	for _, closed := range []bool{false, true} {
		var base *vfs.MemFS
		var want [][]byte
		if closed {
			base = vfs.NewMem()
			l, _, _ := openLog(t, Options{FS: base, Dir: "/wal"}, 0)
			for i := 1; i <= 10; i++ {
				want = append(want, payload(uint64(i), i*10, false))
				l.Append(want[i-1])
			}
			l.Close()
		} else {
			base, want = buildLog(t, 10, Options{Sync: SyncAlways})
		}
		path := segFiles(t, base, "/wal")[0]
		full := fileBytes(t, base, path)
		for _, n := range []int{1, 5, frameHeaderSize - 1, frameHeaderSize, frameHeaderSize + 1, 100, 4096, 70000} {
			for _, kind := range []string{"zeros", "random", "header"} {
				g := make([]byte, n)
				switch kind {
				case "random":
					for i := range g {
						g[i] = byte(rng.Uint32())
					}
					if !slices.ContainsFunc(g, func(b byte) bool { return b != 0 }) {
						// All zeros (one seed in 256 at one byte) is the
						// zeros case, the end of the log, not a torn tail.
						g[0] = 1
					}
				case "header":
					// A plausible header claiming a payload that is not there.
					if n < frameHeaderSize {
						continue
					}
					copy(g, appendFrame(nil, frameHeader{typ: frameRaw, count: 1, first: 11, durable: 24}, make([]byte, n)))
				}
				fs := base.CrashClone(vfs.CrashOptions{})
				writeFile(t, fs, path, append(bytes.Clone(full), g...))
				l, got, info := openLog(t, Options{FS: fs, Dir: "/wal"}, 0)
				checkRecs(t, got, want, 1)
				if kind == "zeros" {
					if info.TornTail != nil {
						t.Fatalf("closed=%v zeros tail of %d: torn tail %+v, want none", closed, n, info.TornTail)
					}
					more := payload(11, 50, false)
					if err := l.WaitSynced(context.Background(), l.Append(more)); err != nil {
						t.Fatal(err)
					}
					l.Close()
					l, got, info = openLog(t, Options{FS: fs, Dir: "/wal"}, 0)
					checkRecs(t, got, append(want[:10:10], more), 1)
					if info.TornTail != nil {
						t.Fatalf("closed=%v zeros tail of %d, then a write: torn tail %+v", closed, n, info.TornTail)
					}
					l.Close()
					continue
				}
				if info.TornTail == nil || info.TornTail.Offset != int64(len(full)) || info.TornTail.Dropped != int64(n) {
					t.Fatalf("closed=%v %s tail of %d: torn tail %+v", closed, kind, n, info.TornTail)
				}
				l.Close()
			}
		}
	}
}

// TestFlippedByteIsCorruption flips every byte of a middle frame: Replay
// returns ErrCorrupt naming the file and the frame's offset, and changes
// nothing.
func TestFlippedByteIsCorruption(t *testing.T) {
	base, _ := buildLog(t, 6, Options{Sync: SyncAlways, CompressAbove: 50})
	path := segFiles(t, base, "/wal")[0]
	full := fileBytes(t, base, path)
	offs := frameOffsets(t, full)
	for f := 1; f < 4; f++ {
		start, end := offs[f], offs[f+1]
		for i := start; i < end; i++ {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				fs := base.CrashClone(vfs.CrashOptions{})
				bad := bytes.Clone(full)
				bad[i] ^= mask
				writeFile(t, fs, path, bad)
				l, err := Open(Options{FS: fs, Dir: "/wal", Logger: quietLogger})
				if err != nil {
					t.Fatal(err)
				}
				_, err = l.Replay(0, func(uint64, []byte) error { return nil })
				var ce *CorruptionError
				if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
					t.Fatalf("frame %d byte %d ^%#x: err %v", f, i, mask, err)
				}
				if ce.File != path || ce.Offset != start {
					t.Fatalf("frame %d byte %d: error names %s offset %d, want %s offset %d", f, i, ce.File, ce.Offset, path, start)
				}
				msg := err.Error()
				if !strings.Contains(msg, path) || !strings.Contains(msg, "cairn-inspect wal repair /wal") {
					t.Fatalf("message %q does not name the file or the repair command", msg)
				}
				if !bytes.Equal(fileBytes(t, fs, path), bad) {
					t.Fatalf("frame %d byte %d: the file was modified", f, i)
				}
			}
		}
	}
}

// TestUnsyncedDamageIsTorn: damage in frames that nothing proves were ever
// fsynced (a crash with out-of-order writeback) is a torn tail, even with
// valid frames after it; the same damage once a later frame vouches for
// it is corruption.
func TestUnsyncedDamageIsTorn(t *testing.T) {
	fs := vfs.NewMem()
	l, _, _ := openLog(t, Options{FS: fs, Dir: "/wal", Sync: SyncNo}, 0)
	var want [][]byte
	for i := 1; i <= 6; i++ {
		want = append(want, payload(uint64(i), 40, false))
		l.Append(want[i-1])
		for l.Stats().Frames < int64(i) { // one frame per record
			runtime.Gosched()
		}
	}
	path := segFiles(t, fs, "/wal")[0]
	live := fileBytes(t, fs, path) // what the page cache holds: nothing fsynced
	l.Close()
	offs := frameOffsets(t, live)
	bad := bytes.Clone(live)
	bad[offs[2]+frameHeaderSize+3] ^= 1
	fs2 := vfs.NewMem()
	writeFile(t, fs2, path, bad)
	l2, got, info := openLog(t, Options{FS: fs2, Dir: "/wal"}, 0)
	checkRecs(t, got, want[:2], 1)
	if info.TornTail == nil || info.TornTail.Offset != offs[2] || info.TornTail.Records != 3 {
		t.Fatalf("torn tail %+v, want offset %d with 3 valid records dropped after it", info.TornTail, offs[2])
	}
	l2.Close()

	// The closed log ends with a mark vouching for every frame: the same
	// flip is corruption.
	closed := fileBytes(t, fs, path)
	bad = bytes.Clone(closed)
	bad[offs[2]+frameHeaderSize+3] ^= 1
	fs3 := vfs.NewMem()
	writeFile(t, fs3, path, bad)
	l3, _ := Open(Options{FS: fs3, Dir: "/wal", Logger: quietLogger})
	if _, err := l3.Replay(0, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flip before the end mark: %v", err)
	}
}

// TestCorruptionAcrossSegments: a bad frame at the end of a segment with a
// valid segment after it is corruption (a new segment is created only once
// the previous one is fsynced); a missing middle segment is a gap; a torn
// header in the last segment is a torn tail and the file goes.
func TestCorruptionAcrossSegments(t *testing.T) {
	base, want := buildLog(t, 30, Options{Sync: SyncAlways, SegmentSize: 1000})
	paths := segFiles(t, base, "/wal")
	if len(paths) < 3 {
		t.Fatalf("%d segments", len(paths))
	}
	replayAfter := func(fs vfs.FS, after uint64) ([]rec, ReplayInfo, error) {
		l, err := Open(Options{FS: fs, Dir: "/wal", Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		var got []rec
		info, err := l.Replay(after, func(lsn uint64, r []byte) error {
			got = append(got, rec{lsn, bytes.Clone(r)})
			return nil
		})
		if err == nil {
			l.Close()
		}
		return got, info, err
	}
	replay := func(fs vfs.FS) ([]rec, ReplayInfo, error) { return replayAfter(fs, 0) }

	// The last frame of the first segment damaged.
	fs := base.CrashClone(vfs.CrashOptions{})
	b := fileBytes(t, fs, paths[0])
	offs := frameOffsets(t, b)
	b[len(b)-1] ^= 0x10
	writeFile(t, fs, paths[0], b)
	var ce *CorruptionError
	if _, _, err := replay(fs); !errors.As(err, &ce) || ce.File != paths[0] || ce.Offset != offs[len(offs)-2] {
		t.Fatalf("damaged end of segment 1: %v", err)
	}
	// ... is not read when a snapshot covers it: replay after its last LSN
	// passes over it and returns the rest.
	refs, err := listSegments(fs, "/wal")
	if err != nil {
		t.Fatal(err)
	}
	covered := refs[1].first - 1
	got, info, err := replayAfter(fs, covered)
	if err != nil {
		t.Fatalf("replay after the damaged segment's LSNs: %v", err)
	}
	checkRecs(t, got, want[covered:], covered+1)
	if info.Segments != len(paths) {
		t.Fatalf("replay counted %d segments, want %d", info.Segments, len(paths))
	}
	// One LSN short of covering it, the damage is found.
	if _, _, err := replayAfter(fs, covered-1); !errors.As(err, &ce) || ce.File != paths[0] {
		t.Fatalf("damaged segment 1 not wholly covered: %v", err)
	}

	// A middle segment missing.
	fs = base.CrashClone(vfs.CrashOptions{})
	if err := fs.Remove(paths[1]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := replay(fs); !errors.As(err, &ce) || ce.File != paths[2] || ce.Offset != 0 {
		t.Fatalf("missing middle segment: %v", err)
	} else {
		t.Log(err)
	}

	// A torn header in a new last segment.
	for _, n := range []int{0, 5, segmentHeaderSize - 1} {
		fs = base.CrashClone(vfs.CrashOptions{})
		got0, _ := readAll(t, fs, "/wal")
		next := got0[len(got0)-1].lsn + 1
		hdr := appendSegmentHeader(nil, next)
		newPath := filepath.Join("/wal", segmentName(next))
		writeFile(t, fs, newPath, hdr[:n])
		got, info, err := replay(fs)
		if err != nil {
			t.Fatalf("torn header of %d bytes: %v", n, err)
		}
		checkRecs(t, got, want, 1)
		if info.TornTail == nil || info.TornTail.File != newPath || info.TornTail.Offset != 0 {
			t.Fatalf("torn header of %d bytes: %+v", n, info.TornTail)
		}
		if _, err := fs.Stat(newPath); err == nil {
			t.Fatalf("torn segment %s not removed", newPath)
		}
	}
}

// TestNewerVersionRefused: a segment of an unknown format version is an
// error, but not corruption (repair would destroy it).
func TestNewerVersionRefused(t *testing.T) {
	base, _ := buildLog(t, 3, Options{Sync: SyncAlways})
	path := segFiles(t, base, "/wal")[0]
	b := fileBytes(t, base, path)
	b[8] = 2
	writeFile(t, base, path, b)
	l, _ := Open(Options{FS: base, Dir: "/wal", Logger: quietLogger})
	_, err := l.Replay(0, nil)
	if err == nil || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("err %v", err)
	}
}

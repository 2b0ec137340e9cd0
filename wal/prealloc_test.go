package wal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cairn-db/cairn/vfs"
)

// waitPrepared waits until no goroutine prepares a segment, and reports
// whether one is ready.
func waitPrepared(l *Log) bool {
	p := &l.prealloc
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done != nil {
		<-done
	}
	return p.ready.Load()
}

// TestPreallocatedSegments runs the log over the real filesystem under
// always with preallocation: segments are written over prepared zeros,
// cut to their frames when the log moves on and at Close, and a reopened
// log holds every record, with no torn tail.
func TestPreallocatedSegments(t *testing.T) {
	dir := t.TempDir()
	const segSize = 64 << 10
	opts := Options{Dir: dir, Sync: SyncAlways, SegmentSize: segSize, Preallocate: true, Logger: quietLogger}
	l, _, _ := openLog(t, opts, 0)
	if !waitPrepared(l) {
		t.Fatal("no segment prepared after Replay under always")
	}
	var want [][]byte
	write := func(n int) {
		for range n {
			rec := payload(uint64(len(want)+1), 1000, false)
			want = append(want, rec)
			if err := l.WaitSynced(context.Background(), l.Append(rec)); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(1)
	segs := segFiles(t, vfs.Default, dir)
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	if fi, err := os.Stat(segs[0]); err != nil || fi.Size() != segSize {
		t.Fatalf("first segment: %v, %v; want the prepared size %d", fi, err, segSize)
	}
	if !waitPrepared(l) {
		t.Fatal("no next segment prepared after the first was taken")
	}
	if _, err := os.Stat(filepath.Join(dir, preallocName)); err != nil {
		t.Fatalf("prepared file: %v", err)
	}
	// Several rotations, each one preparing the next segment anew.
	for range 4 {
		write(70)
		waitPrepared(l)
	}
	info, err := Scan(vfs.Default, dir, nil)
	if err != nil || info.Damage != nil {
		t.Fatalf("Scan of the open log: %v, damage %+v", err, info.Damage)
	}
	if len(info.Segments) < 4 {
		t.Fatalf("%d segments, want at least 4", len(info.Segments))
	}
	for i, si := range info.Segments {
		last := i == len(info.Segments)-1
		if !last && si.Unwritten != 0 {
			t.Errorf("segment %s, not the last, has %d unwritten bytes: not cut when the log moved on", si.File, si.Unwritten)
		}
		if last && (si.Unwritten == 0 || si.Bytes != segSize) {
			t.Errorf("last segment: %d bytes, %d unwritten; want %d bytes, some unwritten", si.Bytes, si.Unwritten, segSize)
		}
	}
	if info.Records != len(want) {
		t.Fatalf("Scan of the open log: %d records, want %d", info.Records, len(want))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, preallocName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("prepared file after Close: %v, want it removed", err)
	}
	info, err = Scan(vfs.Default, dir, nil)
	if err != nil || info.Damage != nil {
		t.Fatalf("Scan after Close: %v, damage %+v", err, info.Damage)
	}
	last := info.Segments[len(info.Segments)-1]
	if last.Unwritten != 0 || !last.Marked {
		t.Fatalf("last segment after Close: %d unwritten bytes, marked %v; want cut and marked", last.Unwritten, last.Marked)
	}
	l, got, rinfo := openLog(t, opts, 0)
	defer l.Close()
	checkRecs(t, got, want, 1)
	if rinfo.TornTail != nil {
		t.Fatalf("reopened: torn tail %+v", rinfo.TornTail)
	}
}

// TestPreallocatedUpgrade: a log started under everysec writes a plain
// segment; set to always, it moves to a prepared one as soon as it is
// ready, and back under everysec it prepares no more.
func TestPreallocatedUpgrade(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{FS: fs, Dir: "/wal", Sync: SyncEverySec, SegmentSize: 32 << 10, Preallocate: true}
	l, _, _ := openLog(t, opts, 0)
	defer l.Close()
	if waitPrepared(l) {
		t.Fatal("a segment was prepared under everysec")
	}
	sync := func(rec []byte) {
		if err := l.WaitSynced(context.Background(), l.Append(rec)); err != nil {
			t.Fatal(err)
		}
	}
	sync([]byte("plain"))
	if n := len(segFiles(t, fs, "/wal")); n != 1 {
		t.Fatalf("%d segments, want 1", n)
	}
	l.SetSyncPolicy(SyncAlways)
	if !waitPrepared(l) {
		t.Fatal("no segment prepared after SetSyncPolicy(always)")
	}
	sync([]byte("prepared"))
	segs := segFiles(t, fs, "/wal")
	if len(segs) != 2 {
		t.Fatalf("segments %v, want the plain one and a prepared one", segs)
	}
	if n := len(fileBytes(t, fs, segs[1])); n != 32<<10 {
		t.Fatalf("second segment has %d bytes, want the prepared 32 KiB", n)
	}
	waitPrepared(l)
	l.SetSyncPolicy(SyncEverySec)
	sync(payload(3, 40<<10, false)) // fills the segment
	sync([]byte("next"))            // in the prepared segment, ready before
	if segs := segFiles(t, fs, "/wal"); len(segs) != 3 || len(fileBytes(t, fs, segs[2])) != 32<<10 {
		t.Fatalf("segments %v, want a third, prepared one", segs)
	}
	if waitPrepared(l) {
		t.Fatal("a segment was prepared after going back to everysec")
	}
}

// TestPreallocateFailure: when preparing a segment fails (every operation
// on the prepared file fails), the log goes on with plain segments, with
// no error surfaced and nothing lost, and prepares again once the disk
// works.
func TestPreallocateFailure(t *testing.T) {
	for _, op := range []vfs.Op{vfs.OpCreate, vfs.OpWrite, vfs.OpSync, vfs.OpRename} {
		t.Run(op.String(), func(t *testing.T) {
			mem := vfs.NewMem()
			var failing atomic.Bool
			failing.Store(true)
			inj := vfs.InjectorFunc(func(o vfs.Op, path string) error {
				if failing.Load() && o == op && strings.HasSuffix(path, preallocName) {
					return vfs.ErrEIO
				}
				return nil
			})
			opts := Options{FS: vfs.NewError(mem, inj), Dir: "/wal", Sync: SyncAlways, SegmentSize: 4 << 10,
				Preallocate: true, Logger: quietLogger}
			l, _, _ := openLog(t, opts, 0)
			var want [][]byte
			for i := range 40 {
				if i == 10 && op != vfs.OpRename { // renaming fails in createSegment, which falls back to Create
					waitPrepared(l)
					l.prealloc.mu.Lock()
					failed := l.prealloc.failed
					l.prealloc.mu.Unlock()
					if !failed {
						t.Fatal("preparing a segment did not fail")
					}
				}
				if i == 20 {
					// A preparation started while the disk failed could
					// otherwise fail after the last rotation, leaving
					// none to retry: let it end first.
					waitPrepared(l)
					failing.Store(false)
				}
				rec := payload(uint64(i+1), 500, false)
				want = append(want, rec)
				if err := l.WaitSynced(context.Background(), l.Append(rec)); err != nil {
					t.Fatalf("record %d: %v", i+1, err)
				}
			}
			if !waitPrepared(l) {
				t.Fatal("no segment prepared once the disk works")
			}
			if err := l.Err(); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			_, got, info := openLog(t, Options{FS: mem, Dir: "/wal"}, 0)
			checkRecs(t, got, want, 1)
			if info.TornTail != nil {
				t.Fatalf("torn tail %+v", info.TornTail)
			}
		})
	}
}

// TestLeftoverPreallocated: a prepared file left by an earlier process is
// removed at Open, and never taken for a segment.
func TestLeftoverPreallocated(t *testing.T) {
	fs := vfs.NewMem()
	if err := fs.MkdirAll("/wal", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fs, "/wal/"+preallocName, []byte("garbage, not zeros"))
	l, _, _ := openLog(t, Options{FS: fs, Dir: "/wal", Sync: SyncEverySec}, 0)
	defer l.Close()
	if _, err := fs.Stat("/wal/" + preallocName); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover prepared file after Open: %v", err)
	}
}

// TestEvidenceAfterZeros: damage followed by a long run of zeros, then a
// frame that vouches for the damaged bytes, is corruption: the scan
// passes over the zeros without missing the frame after them, wherever it
// starts.
func TestEvidenceAfterZeros(t *testing.T) {
	base, _ := buildLog(t, 4, Options{Sync: SyncAlways})
	path := segFiles(t, base, "/wal")[0]
	full := fileBytes(t, base, path)
	offs := frameOffsets(t, full)
	for _, gap := range []int{1, 7, 8, 9, 29, 4096, 3 << 20} {
		bad := append([]byte(nil), full[:offs[2]]...)
		bad[offs[1]+5] ^= 0xff // frame 1's length: damage
		bad = append(bad, make([]byte, gap)...)
		bad = append(bad, full[offs[2]:]...) // frames 2, 3: durable past frame 1
		fs := base.CrashClone(vfs.CrashOptions{})
		writeFile(t, fs, path, bad)
		l, err := Open(Options{FS: fs, Dir: "/wal", Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Replay(0, nil)
		var ce *CorruptionError
		if !errors.As(err, &ce) || ce.Offset != int64(offs[1]) {
			t.Fatalf("gap %d: Replay = %v, want corruption at offset %d", gap, err, offs[1])
		}
	}
}

// TestPreallocatedCutFailure: a segment prepared larger than the segment
// size (by a run with a larger one) is cut to its frames when the log
// moves on; if that fails, the log fails as for a failed fsync, heals,
// and loses nothing.
func TestPreallocatedCutFailure(t *testing.T) {
	fastRetry(t)
	mem := vfs.NewMem()
	{
		l, _, _ := openLog(t, Options{FS: mem, Dir: "/wal", Sync: SyncAlways, SegmentSize: 16 << 10, Preallocate: true}, 0)
		waitPrepared(l)
		if err := l.WaitSynced(waitCtx(t), l.Append([]byte("first"))); err != nil {
			t.Fatal(err)
		}
		mem = mem.CrashClone(vfs.CrashOptions{}) // no Close: the segment keeps its zeros
		l.Close()
	}
	var tg vfs.Toggle
	opts := Options{FS: vfs.NewError(mem, &tg), Dir: "/wal", Sync: SyncAlways, SegmentSize: 2000, Logger: quietLogger}
	l, got, info := openLog(t, opts, 0)
	if len(got) != 1 || info.TornTail != nil {
		t.Fatalf("replay after the crash: %s, torn tail %+v", describe(got), info.TornTail)
	}
	h := newHistory()
	h.byLSN[1] = []byte("first")
	tg.Fail(vfs.ErrEIO, vfs.OpTruncate)
	var werr error
	for i := 0; i < 20 && werr == nil; i++ {
		lsn := h.append(l, payload(uint64(i), 300, false))
		if werr = l.WaitSynced(waitCtx(t), lsn); werr == nil {
			h.ack(lsn)
		}
	}
	if !errors.Is(werr, vfs.ErrEIO) {
		t.Fatalf("WaitSynced while cutting fails: %v, want EIO", werr)
	}
	tg.Heal()
	waitHealed(t, l)
	lsn := h.append(l, []byte("after healing"))
	if err := l.WaitSynced(waitCtx(t), lsn); err != nil {
		t.Fatal(err)
	}
	h.ack(lsn)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	_, got, info = openLog(t, Options{FS: mem, Dir: "/wal"}, 0)
	h.checkPrefix(t, got, lsn, "after healing")
	if info.TornTail != nil {
		t.Fatalf("torn tail %+v", info.TornTail)
	}
}

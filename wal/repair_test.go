package wal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cairn-db/cairn/vfs"
)

// snapshotFiles returns every file of dir with its contents.
func snapshotFiles(t testing.TB, fs vfs.FS, dir string) map[string][]byte {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, n := range names {
		m[n] = fileBytes(t, fs, dir+"/"+n)
	}
	return m
}

func sameFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestScanDescribesSegments(t *testing.T) {
	base, want := buildLog(t, 40, Options{Sync: SyncAlways, SegmentSize: 1500, CompressAbove: 200})
	got, info := readAll(t, base, "/wal")
	checkRecs(t, got, want, 1)
	if info.Damage != nil || info.Records != 40 || info.FirstLSN != 1 || info.LastLSN != 40 {
		t.Fatalf("info %+v", info)
	}
	var sum int
	var bytesSum int64
	next := uint64(1)
	for _, s := range info.Segments {
		if s.Name != next || s.FirstLSN != next || s.LastLSN != next+uint64(s.Records)-1 || s.Frames != s.Records {
			t.Fatalf("segment %+v, expected to start at %d", s, next)
		}
		next = s.LastLSN + 1
		sum += s.Records
		bytesSum += s.Bytes
	}
	if sum != 40 || bytesSum != info.Bytes || len(info.Segments) < 3 {
		t.Fatalf("%d records in %d segments, %d bytes (info says %d)", sum, len(info.Segments), bytesSum, info.Bytes)
	}
}

// TestRepair cuts a corrupt log at its first bad frame, reports what it
// removed, and leaves a log that replays and continues.
func TestRepair(t *testing.T) {
	base, want := buildLog(t, 40, Options{Sync: SyncAlways, SegmentSize: 1500})
	paths := segFiles(t, base, "/wal")
	b := fileBytes(t, base, paths[1])
	offs := frameOffsets(t, b)
	bad := offs[2]
	b[bad+frameHeaderSize+1] ^= 0x40
	writeFile(t, base, paths[1], b)

	before := snapshotFiles(t, base, "/wal")
	got, info := readAll(t, base, "/wal")
	if !sameFiles(before, snapshotFiles(t, base, "/wal")) {
		t.Fatal("Scan changed the files")
	}
	d := info.Damage
	if d == nil || d.File != paths[1] || d.Offset != bad || d.Torn {
		t.Fatalf("damage %+v, want corruption at %s offset %d", d, paths[1], bad)
	}
	kept := len(got)
	checkRecs(t, got, want[:kept], 1)
	lost := 40 - kept - 1 // the bad frame's own record cannot be counted
	if d.Records != lost {
		t.Errorf("Damage.Records %d, want %d", d.Records, lost)
	}
	var totalAfter int64 = int64(len(b)) - bad
	for _, p := range paths[2:] {
		totalAfter += int64(len(before[p[len("/wal/"):]]))
	}
	if d.Bytes != totalAfter {
		t.Errorf("Damage.Bytes %d, want %d", d.Bytes, totalAfter)
	}

	// Replay refuses, changing nothing.
	l, _ := Open(Options{FS: base, Dir: "/wal", Logger: quietLogger})
	if _, err := l.Replay(0, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Replay: %v", err)
	}
	if !sameFiles(before, snapshotFiles(t, base, "/wal")) {
		t.Fatal("a refused Replay changed the files")
	}

	ri, err := Repair(base, "/wal")
	if err != nil {
		t.Fatal(err)
	}
	if ri.Damage == nil || ri.Bytes != totalAfter || ri.RecordsLost != lost || ri.LastLSN != uint64(kept) {
		t.Fatalf("repair info %+v", ri)
	}
	if len(ri.Cuts) != len(paths)-1 || ri.Cuts[0].File != paths[1] || ri.Cuts[0].Offset != bad || ri.Cuts[0].Removed {
		t.Fatalf("cuts %+v", ri.Cuts)
	}
	for i, c := range ri.Cuts[1:] {
		if !c.Removed {
			t.Fatalf("cut %d: %+v", i+1, c)
		}
		if _, err := base.Stat(c.File); err == nil {
			t.Fatalf("%s not removed", c.File)
		}
	}
	// A repaired log is sound, replays, and continues.
	if ri2, err := Repair(base, "/wal"); err != nil || ri2.Damage != nil || len(ri2.Cuts) != 0 {
		t.Fatalf("second repair: %+v, %v", ri2, err)
	}
	l, got, _ = openLog(t, Options{FS: base, Dir: "/wal"}, 0)
	checkRecs(t, got, want[:kept], 1)
	if lsn := l.Append([]byte("x")); lsn != uint64(kept+1) {
		t.Fatalf("next LSN %d", lsn)
	}
	l.Close()
	// The repair is durable.
	crashed := base.CrashClone(vfs.CrashOptions{})
	got, info = readAll(t, crashed, "/wal")
	if info.Damage != nil || len(got) != kept+1 {
		t.Fatalf("after a crash: %s, damage %+v", describe(got), info.Damage)
	}
}

// TestRepairHeader: a segment with a bad header is removed whole.
func TestRepairHeader(t *testing.T) {
	base, _ := buildLog(t, 20, Options{Sync: SyncAlways, SegmentSize: 1000})
	paths := segFiles(t, base, "/wal")
	b := fileBytes(t, base, paths[1])
	b[3] = 'X'
	writeFile(t, base, paths[1], b)
	ri, err := Repair(base, "/wal")
	if err != nil {
		t.Fatal(err)
	}
	if ri.Damage == nil || ri.Damage.Offset != 0 || len(ri.Cuts) != len(paths)-1 || !ri.Cuts[0].Removed || ri.Cuts[0].File != paths[1] {
		t.Fatalf("repair %+v", ri)
	}
	got, info := readAll(t, base, "/wal")
	if info.Damage != nil || len(info.Segments) != 1 || uint64(len(got)) != ri.LastLSN {
		t.Fatalf("after repair: %s, %+v", describe(got), info)
	}
}

package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairn-db/cairn/engine"
	"github.com/cairn-db/cairn/wal"
)

// segmentHeaderSize is the size of a segment file's header in the wal
// format (magic, version, first LSN, CRC): the first frame starts there.
// buildLog checks it against the files it writes.
const segmentHeaderSize = 24

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// frame locates the frame holding one record.
type frame struct {
	// file is the segment's path; [start, end) are the frame's bytes.
	file       string
	start, end int64
}

// testLog is a log a test built in a data directory.
type testLog struct {
	// dataDir is the data directory; walDir its wal/ subdirectory.
	dataDir, walDir string
	// frames[i] holds the record with LSN i+1.
	frames []frame
}

// record returns the encoded effects of the test's record lsn: a SET, and
// for every third LSN an EXPIRE too (a two-effect transaction).
func record(lsn int) []byte {
	effects := []engine.Effect{{Op: engine.OpSet, Key: []byte(fmt.Sprintf("key%d", lsn)), Value: []byte(fmt.Sprintf("value%d", lsn))}}
	if lsn%3 == 0 {
		effects = append(effects, engine.Effect{Op: engine.OpExpire, DB: 1, Key: []byte(fmt.Sprintf("key%d", lsn)), ExpireAt: 1700000000000 + int64(lsn)})
	}
	return engine.AppendEffects(nil, effects)
}

// buildLog writes records 1..n through the wal package, one frame each
// (fsync always, waiting for each), into a new data directory, starting a
// new segment once one reaches segSize bytes (0: the default), and closes
// the log cleanly. recs, if not nil, replaces record(lsn) for the LSNs it
// holds.
func buildLog(t *testing.T, n int, segSize int64, recs map[int][]byte) *testLog {
	t.Helper()
	tl := &testLog{dataDir: t.TempDir()}
	tl.walDir = filepath.Join(tl.dataDir, "wal")
	l, err := wal.Open(wal.Options{Dir: tl.walDir, Sync: wal.SyncAlways, SegmentSize: segSize, CompressAbove: -1, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Replay(0, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var prev frame
	for i := 1; i <= n; i++ {
		rec, ok := recs[i]
		if !ok {
			rec = record(i)
		}
		lsn := l.Append(rec)
		if lsn != uint64(i) {
			t.Fatalf("Append returned LSN %d, want %d", lsn, i)
		}
		if err := l.WaitSynced(ctx, lsn); err != nil {
			t.Fatal(err)
		}
		file := tl.segments(t)[len(tl.segments(t))-1]
		f := frame{file: file, start: prev.end, end: fileSize(t, file)}
		if file != prev.file {
			f.start = segmentHeaderSize
		}
		if f.end <= f.start {
			t.Fatalf("record %d: frame [%d, %d) in %s", i, f.start, f.end, file)
		}
		tl.frames = append(tl.frames, f)
		prev = f
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The first frame must start right after the header: read it back.
	if n > 0 {
		checkFrameStart(t, tl.frames[0])
	}
	return tl
}

// checkFrameStart checks that f.start is where a frame of the wal format
// begins: its header's first-LSN field (after CRC 4, length 4, type 1,
// count 4) names the record's LSN.
func checkFrameStart(t *testing.T, f frame) {
	t.Helper()
	b, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint64(b[f.start+13:]); got != 1 {
		t.Fatalf("frame at offset %d of %s names LSN %d, want 1: the test's idea of the format is stale", f.start, f.file, got)
	}
}

// segments returns the log's segment files, oldest first.
func (tl *testLog) segments(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(tl.walDir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// flipByte inverts the byte at off of path.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// contents maps every file under dir to its bytes.
func contents(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		m[path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readOnly runs the tool and fails the test if it changed anything in dir.
func readOnly(t *testing.T, dir string, args ...string) result {
	t.Helper()
	before := contents(t, dir)
	r := runTool(t, args...)
	if after := contents(t, dir); !reflect.DeepEqual(before, after) {
		t.Fatalf("%q changed the directory", args)
	}
	return r
}

// report runs `wal --json` (read-only) and decodes it.
func report(t *testing.T, dir string, wantCode int) walReport {
	t.Helper()
	r := readOnly(t, dir, "wal", "--json", dir)
	if r.code != wantCode {
		t.Fatalf("wal --json: exit %d, want %d\n%s%s", r.code, wantCode, r.stdout, r.stderr)
	}
	var rep walReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("wal --json: %v\n%s", err, r.stdout)
	}
	return rep
}

// replay opens the log the way a server does and returns how many records
// it holds, or the error.
func replay(t *testing.T, walDir string) (int, error) {
	t.Helper()
	l, err := wal.Open(wal.Options{Dir: walDir, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, err := l.Replay(0, nil)
	return info.Records, err
}

func TestWALSound(t *testing.T) {
	tl := buildLog(t, 10, 0, nil)
	seg := tl.segments(t)[0]
	r := readOnly(t, tl.dataDir, "wal", tl.dataDir)
	r.want(t, exitOK,
		"WAL "+tl.walDir+"\n",
		"SEGMENT           FIRST LSN  LAST LSN  RECORDS  FRAMES  BYTES  STATUS\n",
		fmt.Sprintf("000000000001.log          1        10       10      11  %5d  ok, clean close\n", fileSize(t, seg)),
		"records: 10, LSN 1..10\n",
		"status: sound, ends with a clean close\n")
	if r.stderr != "" {
		t.Fatalf("stderr: %s", r.stderr)
	}
	// The wal directory itself names the same log.
	if r2 := readOnly(t, tl.walDir, "wal", tl.walDir); r2.stdout != r.stdout || r2.code != exitOK {
		t.Fatalf("wal %s:\n%s\nwal %s:\n%s", tl.dataDir, r.stdout, tl.walDir, r2.stdout)
	}

	rep := report(t, tl.dataDir, exitOK)
	if !rep.Sound || rep.Records != 10 || rep.FirstLSN != 1 || rep.LastLSN != 10 || !rep.CleanClose ||
		rep.Damage != nil || rep.Repair != nil || len(rep.Segments) != 1 || rep.Segments[0].File != seg {
		t.Fatalf("report %+v", rep)
	}
}

// TestWALSoundNoMark: a log whose server did not close it (no end mark)
// is sound, and says so.
func TestWALSoundNoMark(t *testing.T) {
	tl := buildLog(t, 3, 0, nil)
	truncate(t, tl.frames[2].file, tl.frames[2].end) // drop the end mark
	readOnly(t, tl.dataDir, "wal", tl.dataDir).want(t, exitOK,
		"records: 3, LSN 1..3\n",
		"status: sound, without a clean-close mark at the end")
}

// TestWALPreallocated: zeros after the last frame of the last segment
// (the space a preallocated segment was prepared with, left by a crash)
// are the end of a sound log, reported as prepared space.
func TestWALPreallocated(t *testing.T) {
	tl := buildLog(t, 3, 0, nil)
	seg := tl.frames[2].file
	truncate(t, seg, tl.frames[2].end) // a crash: no end mark
	truncate(t, seg, tl.frames[2].end+4096)
	readOnly(t, tl.dataDir, "wal", tl.dataDir).want(t, exitOK,
		"ok, 4096 bytes prepared, not yet written\n",
		"records: 3, LSN 1..3\n",
		"status: sound, without a clean-close mark at the end")
	rep := report(t, tl.dataDir, exitOK)
	if !rep.Sound || rep.Damage != nil || len(rep.Segments) != 1 || rep.Segments[0].Unwritten != 4096 ||
		rep.Segments[0].Bytes != tl.frames[2].end+4096 {
		t.Fatalf("report %+v", rep)
	}
}

func TestWALSegments(t *testing.T) {
	tl := buildLog(t, 30, 300, nil)
	segs := tl.segments(t)
	if len(segs) < 4 {
		t.Fatalf("only %d segments", len(segs))
	}
	rep := report(t, tl.dataDir, exitOK)
	if len(rep.Segments) != len(segs) || rep.Records != 30 || rep.FirstLSN != 1 || rep.LastLSN != 30 {
		t.Fatalf("report %+v", rep)
	}
	next, total := uint64(1), int64(0)
	for i, s := range rep.Segments {
		if s.File != segs[i] || s.FirstLSN != next || s.Records != int(s.LastLSN-s.FirstLSN+1) || s.Bytes != fileSize(t, segs[i]) {
			t.Fatalf("segment %d: %+v (want first LSN %d)", i, s, next)
		}
		next = s.LastLSN + 1
		total += s.Bytes
	}
	if rep.Bytes != total {
		t.Fatalf("bytes %d, want %d", rep.Bytes, total)
	}
	r := readOnly(t, tl.dataDir, "wal", tl.dataDir)
	r.want(t, exitOK, "records: 30, LSN 1..30\n", "\ntotal                     1        30       30  ")
	for _, s := range segs {
		r.want(t, exitOK, filepath.Base(s))
	}
}

func TestWALEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "wal"), 0o755); err != nil {
		t.Fatal(err)
	}
	readOnly(t, dir, "wal", dir).want(t, exitOK, "no segments: the log is empty")
	readOnly(t, dir, "wal", "repair", dir).want(t, exitOK, "sound: nothing to repair (no records)")
}

func TestWALTornTail(t *testing.T) {
	tl := buildLog(t, 10, 0, nil)
	last := tl.frames[9]
	seg := last.file
	cut := last.start + 5
	truncate(t, seg, cut)

	r := readOnly(t, tl.dataDir, "wal", tl.dataDir)
	r.want(t, exitDamaged,
		fmt.Sprintf("  torn tail at offset %d\n", last.start),
		"records: 9, LSN 1..9\n",
		fmt.Sprintf("status: DAMAGED, torn tail in 000000000001.log at offset %d\n", last.start),
		"  file:     "+seg+"\n",
		fmt.Sprintf("  offset:   %d, where LSN 10 should start\n", last.start),
		"  reason:   frame header truncated (5 of 29 bytes)\n",
		"  after it: no checksum-valid frame\n",
		"the server cuts it away by itself at start-up",
		fmt.Sprintf("\"cairn-inspect wal repair %s\" would remove 5 bytes, LSN 10 on:\n            the damaged frame only", tl.dataDir),
		fmt.Sprintf("    truncate  %s at offset %d (5 bytes)\n", seg, last.start))

	rep := report(t, tl.dataDir, exitDamaged)
	wantDamage := damageReport{Kind: "torn-tail", File: seg, Offset: last.start, Reason: "frame header truncated (5 of 29 bytes)", ExpectedLSN: 10, Bytes: 5}
	wantPlan := repairPlan{Cuts: []cutReport{{File: seg, Offset: last.start, Bytes: 5}}, Bytes: 5, FromLSN: 10, LastLSN: 9}
	if rep.Sound || rep.Damage == nil || *rep.Damage != wantDamage || !reflect.DeepEqual(rep.Repair, &wantPlan) {
		t.Fatalf("report %+v, damage %+v, repair %+v", rep, rep.Damage, rep.Repair)
	}

	// A dry run changes nothing and says what it would do.
	readOnly(t, tl.dataDir, "wal", "repair", "--dry-run", tl.dataDir).want(t, exitDamaged,
		fmt.Sprintf("damage: torn tail in 000000000001.log at offset %d\n", last.start),
		"dry run: would remove 5 bytes, LSN 10 on: the damaged frame only",
		fmt.Sprintf("    truncate  %s at offset %d (5 bytes)\n", seg, last.start),
		"the log would then end at LSN 9\n")

	runTool(t, "wal", "repair", tl.dataDir).want(t, exitOK,
		"removed 5 bytes, LSN 10 on: the damaged frame only",
		fmt.Sprintf("    truncated %s at offset %d (5 bytes)\n", seg, last.start),
		"the log is now sound: 9 records, LSN 1..9\n")
	if n := fileSize(t, seg); n != last.start {
		t.Fatalf("segment is %d bytes after repair, want %d", n, last.start)
	}
	runTool(t, "wal", tl.dataDir).want(t, exitOK, "records: 9, LSN 1..9\n", "status: sound")
	runTool(t, "wal", "repair", tl.dataDir).want(t, exitOK, "sound: nothing to repair (9 records, LSN 1..9)\n")
	if n, err := replay(t, tl.walDir); n != 9 || err != nil {
		t.Fatalf("replay after repair: %d records, %v", n, err)
	}
}

// TestWALTornTailEveryCut cuts the last frame at every offset: each cut
// inside it is a torn tail at its start; the tool's plan matches what
// repair then removes.
func TestWALTornTailEveryCut(t *testing.T) {
	tl := buildLog(t, 4, 0, nil)
	last := tl.frames[3]
	full, err := os.ReadFile(last.file)
	if err != nil {
		t.Fatal(err)
	}
	for cut := last.start + 1; cut < last.end; cut++ {
		if err := os.WriteFile(last.file, full[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		rep := report(t, tl.dataDir, exitDamaged)
		d := rep.Damage
		if d == nil || d.Kind != "torn-tail" || d.File != last.file || d.Offset != last.start || d.Bytes != cut-last.start {
			t.Fatalf("cut %d: damage %+v", cut, d)
		}
		checkRepairMatchesPlan(t, tl.dataDir, rep)
	}
}

// checkRepairMatchesPlan repairs dir and checks that what repair reports
// it removed is what `wal` said it would.
func checkRepairMatchesPlan(t *testing.T, dir string, rep walReport) {
	t.Helper()
	r := runTool(t, "wal", "repair", "--json", dir)
	if r.code != exitOK {
		t.Fatalf("repair: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var got repairReport
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Damage, rep.Damage) || !reflect.DeepEqual(got.Repair, rep.Repair) {
		t.Fatalf("repair did\n  %+v %+v\nplan said\n  %+v %+v", got.Damage, got.Repair, rep.Damage, rep.Repair)
	}
	if !got.Sound || got.LastLSN != rep.Repair.LastLSN || got.DryRun {
		t.Fatalf("after repair: %+v", got)
	}
	for _, c := range got.Repair.Cuts {
		fi, err := os.Stat(c.File)
		switch {
		case c.Removed && !errors.Is(err, os.ErrNotExist):
			t.Fatalf("%s still exists (%v)", c.File, err)
		case !c.Removed && (err != nil || fi.Size() != c.Offset):
			t.Fatalf("%s: %v, want size %d", c.File, err, c.Offset)
		}
	}
}

func TestWALCorruption(t *testing.T) {
	const n = 40
	tl := buildLog(t, n, 400, nil)
	segs := tl.segments(t)
	if len(segs) < 4 {
		t.Fatalf("only %d segments", len(segs))
	}
	// A record in the middle of the second segment, with frames after it
	// in that segment.
	k := 0
	for i, f := range tl.frames {
		if f.file == segs[1] && i+1 < n && tl.frames[i+1].file == segs[1] {
			k = i + 1
			break
		}
	}
	if k == 0 {
		t.Fatal("no frame with a successor in the second segment")
	}
	bad := tl.frames[k-1]
	flipByte(t, bad.file, bad.end-1)
	if _, err := replay(t, tl.walDir); !errors.Is(err, wal.ErrCorrupt) {
		t.Fatalf("the server's replay says %v, want corruption", err)
	}

	r := readOnly(t, tl.dataDir, "wal", tl.dataDir)
	lostBytes := fileSize(t, bad.file) - bad.start
	for _, s := range segs[2:] {
		lostBytes += fileSize(t, s)
	}
	r.want(t, exitDamaged,
		fmt.Sprintf("  CORRUPT at offset %d\n", bad.start),
		"  after the damage (not read)\n",
		fmt.Sprintf("records: %d, LSN 1..%d\n", k-1, k-1),
		fmt.Sprintf("status: DAMAGED, CORRUPTION in %s at offset %d\n", filepath.Base(bad.file), bad.start),
		fmt.Sprintf("  offset:   %d, where LSN %d should start\n", bad.start, k),
		"  reason:   frame checksum mismatch\n",
		fmt.Sprintf(" checksum-valid frames holding %d records\n", n-k),
		"the server refuses to start on this log",
		fmt.Sprintf("would remove %d bytes, LSN %d on:\n            the damaged frame (its records cannot be counted) and %d records in valid frames after it\n", lostBytes, k, n-k),
		fmt.Sprintf("    truncate  %s at offset %d (%d bytes)\n", bad.file, bad.start, fileSize(t, bad.file)-bad.start))
	for _, s := range segs[2:] {
		r.want(t, exitDamaged, fmt.Sprintf("    remove    %s (%d bytes)\n", s, fileSize(t, s)))
	}
	for _, s := range segs[:1] {
		if strings.Contains(r.stdout, s+" ") {
			t.Fatalf("the plan touches %s:\n%s", s, r.stdout)
		}
	}

	rep := report(t, tl.dataDir, exitDamaged)
	d := rep.Damage
	if d == nil || d.Kind != "corruption" || d.File != bad.file || d.Offset != bad.start || d.ExpectedLSN != uint64(k) ||
		d.RecordsAfter != n-k || d.Bytes != lostBytes || rep.Repair.Bytes != lostBytes || rep.Repair.RecordsLost != n-k ||
		len(rep.Repair.Cuts) != len(segs)-1 {
		t.Fatalf("damage %+v, repair %+v", d, rep.Repair)
	}
	readOnly(t, tl.dataDir, "wal", "repair", "--dry-run", tl.dataDir).want(t, exitDamaged,
		fmt.Sprintf("damage: CORRUPTION in %s at offset %d\n", filepath.Base(bad.file), bad.start),
		fmt.Sprintf("dry run: would remove %d bytes", lostBytes))

	checkRepairMatchesPlan(t, tl.dataDir, rep)
	if got := tl.segments(t); !reflect.DeepEqual(got, segs[:2]) {
		t.Fatalf("segments after repair %q, want %q", got, segs[:2])
	}
	if n, err := replay(t, tl.walDir); n != k-1 || err != nil {
		t.Fatalf("replay after repair: %d records, %v; want %d", n, err, k-1)
	}
}

// TestWALRepairText checks repair's text output for corruption spanning
// segments.
func TestWALRepairText(t *testing.T) {
	tl := buildLog(t, 20, 300, nil)
	segs := tl.segments(t)
	bad := tl.frames[0]
	flipByte(t, bad.file, bad.start) // the first frame's checksum
	sizes := map[string]int64{}
	for _, s := range segs {
		sizes[s] = fileSize(t, s)
	}
	r := runTool(t, "wal", "repair", tl.dataDir)
	r.want(t, exitOK,
		fmt.Sprintf("damage: CORRUPTION in 000000000001.log at offset %d\n", bad.start),
		fmt.Sprintf("    truncated %s at offset %d (%d bytes)\n", segs[0], bad.start, sizes[segs[0]]-bad.start),
		"the log is now sound: no records\n")
	for _, s := range segs[1:] {
		r.want(t, exitOK, fmt.Sprintf("    removed   %s (%d bytes)\n", s, sizes[s]))
	}
	if got := tl.segments(t); !reflect.DeepEqual(got, segs[:1]) {
		t.Fatalf("segments after repair %q", got)
	}
}

// TestWALHeaderDamage: damage in the last segment's header removes the
// whole file.
func TestWALHeaderDamage(t *testing.T) {
	tl := buildLog(t, 20, 300, nil)
	segs := tl.segments(t)
	lastSeg := segs[len(segs)-1]
	flipByte(t, lastSeg, 0) // the magic
	rep := report(t, tl.dataDir, exitDamaged)
	if d := rep.Damage; d == nil || d.File != lastSeg || d.Offset != 0 || len(rep.Repair.Cuts) != 1 || !rep.Repair.Cuts[0].Removed {
		t.Fatalf("damage %+v, repair %+v", rep.Damage, rep.Repair)
	}
	readOnly(t, tl.dataDir, "wal", tl.dataDir).want(t, exitDamaged,
		"  offset:   0 (the segment header)",
		"  reason:   bad magic",
		fmt.Sprintf("    remove    %s (%d bytes)\n", lastSeg, fileSize(t, lastSeg)))
	checkRepairMatchesPlan(t, tl.dataDir, rep)
}

func TestWALDump(t *testing.T) {
	tl := buildLog(t, 6, 0, nil)
	wantLines := []string{
		`       1  set db=0 "key1"="value1" exp=0`,
		`       2  set db=0 "key2"="value2" exp=0`,
		`       3  set db=0 "key3"="value3" exp=0`,
		`       3  expire db=1 "key3" at=1700000000003`,
		`       4  set db=0 "key4"="value4" exp=0`,
	}
	for _, args := range [][]string{{"wal", "dump", tl.dataDir}, {"wal", "--records", tl.dataDir}, {"wal", tl.walDir, "--records"}} {
		r := readOnly(t, tl.dataDir, args...)
		r.want(t, exitOK, strings.Join(wantLines, "\n")+"\n", `       6  expire db=1 "key6" at=1700000000006`+"\n\nWAL ", "records: 6, LSN 1..6\n")
	}

	r := readOnly(t, tl.dataDir, "wal", "dump", "--limit", "2", tl.dataDir)
	r.want(t, exitOK, wantLines[0]+"\n"+wantLines[1]+"\n... 4 more not shown (--limit 2)\n", "records: 6, LSN 1..6\n")
	if strings.Contains(r.stdout, `"key3"`) {
		t.Fatalf("--limit 2 shows record 3:\n%s", r.stdout)
	}

	r = readOnly(t, tl.dataDir, "wal", "dump", "--json", "--limit", "3", tl.dataDir)
	var rep walReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != exitOK {
		t.Fatalf("exit %d, %v\n%s", r.code, err, r.stdout)
	}
	want := []dumpRecord{
		{LSN: 1, Bytes: len(record(1)), Effects: []string{`set db=0 "key1"="value1" exp=0`}},
		{LSN: 2, Bytes: len(record(2)), Effects: []string{`set db=0 "key2"="value2" exp=0`}},
		{LSN: 3, Bytes: len(record(3)), Effects: []string{`set db=0 "key3"="value3" exp=0`, `expire db=1 "key3" at=1700000000003`}},
	}
	if !reflect.DeepEqual(rep.Dump, want) || !rep.DumpLimited || rep.Records != 6 {
		t.Fatalf("dump %+v, limited %v", rep.Dump, rep.DumpLimited)
	}
}

// TestWALDumpDamaged: dump shows the records before the damage, then the
// damage, and exits 1.
func TestWALDumpDamaged(t *testing.T) {
	tl := buildLog(t, 5, 0, nil)
	truncate(t, tl.frames[4].file, tl.frames[4].end-1)
	r := readOnly(t, tl.dataDir, "wal", "dump", tl.dataDir)
	r.want(t, exitDamaged, `       4  set db=0 "key4"="value4" exp=0`+"\n\nWAL ", "status: DAMAGED, torn tail")
	if strings.Contains(r.stdout, `"key5"`) {
		t.Fatalf("dump shows the torn record:\n%s", r.stdout)
	}
}

// TestWALUndecodable: a record the engine cannot decode makes the log
// damaged, though its frames are sound.
func TestWALUndecodable(t *testing.T) {
	tl := buildLog(t, 5, 0, map[int][]byte{3: []byte("not effects"), 4: {}})
	r := readOnly(t, tl.dataDir, "wal", tl.dataDir)
	r.want(t, exitDamaged,
		"records: 5, LSN 1..5\n",
		"undecodable records: 2, the first at LSN 3: engine: bad effects record: version 110\n",
		"status: DAMAGED (records that do not decode)\n")
	readOnly(t, tl.dataDir, "wal", "dump", tl.dataDir).want(t, exitDamaged,
		"       3  ! undecodable record of 11 bytes: engine: bad effects record: version 110\n",
		"       4  ! undecodable record of 0 bytes: engine: bad effects record: version 0\n",
		`       5  set db=0 "key5"="value5" exp=0`)
	rep := report(t, tl.dataDir, exitDamaged)
	if rep.Sound || rep.Undecodable != 2 || rep.FirstUndecodable == nil || rep.FirstUndecodable.LSN != 3 || rep.Damage != nil {
		t.Fatalf("report %+v", rep)
	}
	// An empty effects list decodes: it is shown as such.
	tl = buildLog(t, 1, 0, map[int][]byte{1: engine.AppendEffects(nil, nil)})
	readOnly(t, tl.dataDir, "wal", "dump", tl.dataDir).want(t, exitOK, "       1  (no effects)\n")
}

func TestWALReadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	runTool(t, "wal", missing).wantErr(t, exitError, "cairn-inspect: stat "+missing+": no such file or directory")
	runTool(t, "wal", "repair", missing).wantErr(t, exitError, "no such file or directory")
	runTool(t, "wal", dir).wantErr(t, exitError, dir+" holds no write-ahead log")
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, "wal", file).wantErr(t, exitError, file+" is not a directory")

	// A format version this build cannot read is not damage: repair must
	// not touch it.
	tl := buildLog(t, 2, 0, nil)
	seg := tl.segments(t)[0]
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b[8:], 99)
	if err := os.WriteFile(seg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	readOnly(t, tl.dataDir, "wal", tl.dataDir).wantErr(t, exitError, "unsupported format version 99")
	readOnly(t, tl.dataDir, "wal", "repair", tl.dataDir).wantErr(t, exitError, "unsupported format version 99")
}

// TestWALEngineLog inspects a log the engine wrote, as a server would.
func TestWALEngineLog(t *testing.T) {
	dir := t.TempDir()
	eng, err := engine.Open(engine.Options{WAL: &wal.Options{Dir: filepath.Join(dir, "wal"), Sync: wal.SyncAlways, Logger: quietLogger}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Load(); err != nil {
		t.Fatal(err)
	}
	keys := [][]byte{[]byte("greeting"), []byte("visits")}
	err = eng.Update(keys, func(tx *engine.Tx) error {
		if _, err := tx.Set(0, keys[0], []byte("hello"), engine.SetArgs{}); err != nil {
			return err
		}
		_, err := tx.Set(0, keys[1], []byte("1"), engine.SetArgs{ExpireAt: 4102444800000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	readOnly(t, dir, "wal", "dump", dir).want(t, exitOK,
		`       1  set db=0 "greeting"="hello" exp=0`+"\n"+`       1  set db=0 "visits"="1" exp=4102444800000`+"\n",
		"records: 1, LSN 1..1\n", "status: sound")
}

package wal

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-db/cairn/vfs"
)

func TestParseSyncPolicy(t *testing.T) {
	for _, p := range []SyncPolicy{SyncAlways, SyncEverySec, SyncNo} {
		got, err := ParseSyncPolicy(strings.ToUpper(p.String()))
		if err != nil || got != p {
			t.Errorf("ParseSyncPolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := ParseSyncPolicy("sometimes"); err == nil {
		t.Error("ParseSyncPolicy(sometimes) succeeded")
	}
}

// TestRoundTrip writes records of varied sizes, compressible and not,
// across many segment rotations, over the OS filesystem and MemFS, then
// reads them back after a restart, whole and with after skipping.
func TestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 2, 100, 4095, 4096, 4097, 10000, 65536, 1 << 20, 3<<20 + 17}
	for _, fsName := range []string{"os", "mem"} {
		for _, policy := range []SyncPolicy{SyncAlways, SyncEverySec, SyncNo} {
			t.Run(fsName+"/"+policy.String(), func(t *testing.T) {
				var fs vfs.FS = vfs.NewMem()
				dir := "/db/wal"
				if fsName == "os" {
					fs, dir = vfs.Default, t.TempDir()+"/wal"
				}
				opts := Options{FS: fs, Dir: dir, SegmentSize: 256 << 10, Sync: policy}
				l, got, _ := openLog(t, opts, 0)
				if len(got) != 0 || l.LastLSN() != 0 {
					t.Fatalf("new log: %d records, LastLSN %d", len(got), l.LastLSN())
				}
				var want [][]byte
				for i := 0; i < 300; i++ {
					n := sizes[i%len(sizes)]
					if i%len(sizes) >= 9 && i > 50 {
						n = i // big ones only a few times
					}
					r := payload(uint64(i+1), n, i%3 != 0)
					want = append(want, r)
					if lsn := l.Append(r); lsn != uint64(i+1) {
						t.Fatalf("Append %d returned LSN %d", i, lsn)
					}
					if i%17 == 0 {
						if err := l.WaitSynced(waitCtx(t), uint64(i+1)); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				st := l.Stats()
				if st.Segments < 3 {
					t.Errorf("only %d segments: no rotation", st.Segments)
				}
				scanned, info := readAll(t, fs, dir)
				checkRecs(t, scanned, want, 1)
				if info.Damage != nil {
					t.Fatalf("damage in a clean log: %+v", info.Damage)
				}
				compressed := 0
				for _, s := range info.Segments {
					compressed += s.Compressed
				}
				if compressed == 0 {
					t.Error("no frame was compressed")
				}
				if !info.Segments[len(info.Segments)-1].Marked {
					t.Error("a cleanly closed log does not end with a mark")
				}

				l, got, rinfo := openLog(t, opts, 0)
				checkRecs(t, got, want, 1)
				if rinfo.Records != len(want) || rinfo.FirstLSN != 1 || rinfo.LastLSN != uint64(len(want)) || rinfo.TornTail != nil {
					t.Errorf("ReplayInfo %+v", rinfo)
				}
				l.Close()

				for _, after := range []uint64{1, 150, 299, 300, 301} {
					l, got, _ := openLog(t, opts, after)
					if after < uint64(len(want)) {
						checkRecs(t, got, want[after:], after+1)
					} else if len(got) != 0 {
						t.Fatalf("after %d: %s", after, describe(got))
					}
					if err := l.Close(); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

// TestContinueAfterRestart checks that LSNs stay dense across restarts and
// that a segment is continued.
func TestContinueAfterRestart(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{FS: fs, Dir: "/wal", Sync: SyncEverySec}
	var want [][]byte
	for round := 0; round < 5; round++ {
		l, got, _ := openLog(t, opts, 0)
		checkRecs(t, got, want, 1)
		for i := 0; i < 10; i++ {
			r := payload(uint64(len(want)+1), 10*i, false)
			want = append(want, r)
			if lsn := l.Append(r); lsn != uint64(len(want)) {
				t.Fatalf("round %d: LSN %d, want %d", round, lsn, len(want))
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(segFiles(t, fs, "/wal")); n != 1 {
		t.Errorf("%d segments, want 1 (continued)", n)
	}
}

// TestReplayAfterBeyondLog: a snapshot newer than the log makes appends
// continue after it; the gap is recorded with a skip frame, and a replay
// that needs the skipped LSNs is refused.
func TestReplayAfterBeyondLog(t *testing.T) {
	for _, existing := range []bool{false, true} {
		fs := vfs.NewMem()
		opts := Options{FS: fs, Dir: "/wal"}
		var want [][]byte
		if existing {
			l, _, _ := openLog(t, opts, 0)
			for i := 1; i <= 5; i++ {
				want = append(want, payload(uint64(i), 8, false))
				l.Append(want[i-1])
			}
			l.Close()
		}
		l, got, _ := openLog(t, opts, 100)
		if len(got) != 0 || l.LastLSN() != 100 {
			t.Fatalf("existing=%v: %s, LastLSN %d", existing, describe(got), l.LastLSN())
		}
		r := []byte("after the snapshot")
		if lsn := l.Append(r); lsn != 101 {
			t.Fatalf("LSN %d, want 101", lsn)
		}
		l.Close()
		_, info := readAll(t, fs, "/wal")
		if info.Damage != nil {
			t.Fatalf("existing=%v: damage %+v", existing, info.Damage)
		}
		l, got, _ = openLog(t, opts, 100)
		checkRecs(t, got, [][]byte{r}, 101)
		l.Close()
		l, got, _ = openLog(t, opts, 120)
		if len(got) != 0 || l.LastLSN() != 120 {
			t.Fatalf("after 120: %s, LastLSN %d", describe(got), l.LastLSN())
		}
		l.Close()
		l, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Replay(3, func(uint64, []byte) error { return nil })
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("existing=%v: replay needing skipped LSNs: %v", existing, err)
		}
		t.Logf("existing=%v: %v", existing, err)
	}
}

// TestRemoveSegmentsThrough deletes covered segments; replay from the
// snapshot LSN still works, and from before it is refused.
func TestRemoveSegmentsThrough(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{FS: fs, Dir: "/wal", SegmentSize: 1024}
	l, _, _ := openLog(t, opts, 0)
	var want [][]byte
	for i := 1; i <= 200; i++ {
		want = append(want, payload(uint64(i), 100, false))
		l.Append(want[i-1])
		if err := l.WaitSynced(waitCtx(t), uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := l.Stats()
	n, err := l.RemoveSegmentsThrough(120)
	if err != nil || n == 0 {
		t.Fatalf("RemoveSegmentsThrough: %d, %v", n, err)
	}
	after := l.Stats()
	if after.Segments != before.Segments-n || after.TotalSize >= before.TotalSize {
		t.Errorf("stats before %d segments %d bytes, after %d segments %d bytes", before.Segments, before.TotalSize, after.Segments, after.TotalSize)
	}
	l.Close()
	l, got, _ := openLog(t, opts, 120)
	checkRecs(t, got, want[120:], 121)
	l.Close()
	l, _ = Open(opts)
	if _, err := l.Replay(10, nil); !errors.Is(err, ErrCorrupt) || strings.Contains(err.Error(), "cairn-inspect") {
		t.Fatalf("replay from before the log's start: %v", err)
	} else {
		t.Log(err)
	}
}

// TestWaitSyncedForcesSync: under no and everysec, WaitSynced makes the
// committer fsync soon.
func TestWaitSyncedForcesSync(t *testing.T) {
	for _, p := range []SyncPolicy{SyncNo, SyncEverySec} {
		l, _, _ := openLog(t, Options{FS: vfs.NewMem(), Dir: "/w", Sync: p}, 0)
		lsn := l.Append([]byte("x"))
		start := time.Now()
		if err := l.WaitSynced(waitCtx(t), lsn); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%v: WaitSynced took %v", p, d)
		}
		if l.SyncedLSN() < lsn {
			t.Errorf("%v: SyncedLSN %d < %d", p, l.SyncedLSN(), lsn)
		}
		// Beyond LastLSN: waits for LastLSN only.
		if err := l.WaitSynced(waitCtx(t), lsn+100); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
}

// TestEverySecSyncsInBackground: under everysec, an fsync comes within
// about a second without anyone waiting; under no, none comes.
func TestEverySecSyncsInBackground(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps")
	}
	for _, p := range []SyncPolicy{SyncEverySec, SyncNo} {
		l, _, _ := openLog(t, Options{FS: vfs.NewMem(), Dir: "/w", Sync: p}, 0)
		time.Sleep(1100 * time.Millisecond) // lastSync is Replay's
		lsn := l.Append([]byte("x"))
		deadline := time.Now().Add(1500 * time.Millisecond)
		for l.SyncedLSN() < lsn && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if synced := l.SyncedLSN() >= lsn; synced != (p == SyncEverySec) {
			t.Errorf("%v: synced=%v after 1.5 s", p, synced)
		}
		l.SetSyncPolicy(SyncAlways)
		if err := l.WaitSynced(waitCtx(t), lsn); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
}

func TestWaitSyncedContext(t *testing.T) {
	fs := vfs.NewMem()
	var tg vfs.Toggle
	l, _, _ := openLog(t, Options{FS: vfs.NewError(fs, &tg), Dir: "/w", Sync: SyncNo}, 0)
	// Make fsyncs hang-free but failing? No: block the committer with a
	// policy of no and a context that expires before any sync is asked.
	lsn := l.Append([]byte("x"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.WaitSynced(ctx, lsn); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitSynced with a cancelled context: %v", err)
	}
	l.Close()
}

func TestAppendLifecycle(t *testing.T) {
	fs := vfs.NewMem()
	l, err := Open(Options{FS: fs, Dir: "/w", Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Append before Replay did not panic")
			}
		}()
		l.Append(nil)
	}()
	if _, err := l.Replay(0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Replay(0, nil); err == nil {
		t.Error("second Replay succeeded")
	}
	l.Append([]byte("a"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !errors.Is(l.Err(), ErrClosed) {
		t.Errorf("Err after Close: %v", l.Err())
	}
	lsn := l.Append([]byte("b"))
	if err := l.WaitSynced(context.Background(), lsn); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitSynced after Close: %v", err)
	}
	// A log closed without Replay is fine too.
	l2, _ := Open(Options{FS: fs, Dir: "/w"})
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStats checks the counters the server reports.
func TestStats(t *testing.T) {
	fs := vfs.NewMem()
	l, _, _ := openLog(t, Options{FS: fs, Dir: "/w", Sync: SyncAlways}, 0)
	for i := 0; i < 10; i++ {
		lsn := l.Append(bytes.Repeat([]byte{'x'}, 100))
		if err := l.WaitSynced(waitCtx(t), lsn); err != nil {
			t.Fatal(err)
		}
	}
	st := l.Stats()
	if st.Records != 10 || st.Frames != 10 || st.Fsyncs < 10 || !st.OK || st.LastLSN != 10 || st.SyncedLSN != 10 ||
		st.Segments != 1 || st.TotalSize != st.SegmentSize || st.TotalSize < 1000 || st.BytesWritten != st.TotalSize {
		t.Errorf("stats %+v", st)
	}
	l.Close()
	// Open lists the sizes before Replay (INFO while loading).
	l, err := Open(Options{FS: fs, Dir: "/w"})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Stats().TotalSize; got != st.TotalSize+frameHeaderSize {
		t.Errorf("TotalSize before Replay %d, want %d (with the end mark)", got, st.TotalSize+frameHeaderSize)
	}
	l.Close()
}

// TestConcurrentAppends: LSNs are dense and records land in LSN order
// under concurrent appenders.
func TestConcurrentAppends(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{FS: fs, Dir: "/w", Sync: SyncEverySec, SegmentSize: 64 << 10}
	l, _, _ := openLog(t, opts, 0)
	var mu sync.Mutex
	byLSN := map[uint64][]byte{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				r := payload(uint64(g*1000+i), i%300, i%2 == 0)
				lsn := l.Append(r)
				mu.Lock()
				byLSN[lsn] = r
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	l.Close()
	l, got, _ := openLog(t, opts, 0)
	defer l.Close()
	if len(got) != 4000 {
		t.Fatalf("%d records", len(got))
	}
	for i, g := range got {
		if g.lsn != uint64(i+1) || !bytes.Equal(g.data, byLSN[g.lsn]) {
			t.Fatalf("record %d: LSN %d, content mismatch", i, g.lsn)
		}
	}
}

// TestSplitFrames: a batch larger than a frame holds is split at record
// boundaries.
func TestSplitFrames(t *testing.T) {
	old := frameTarget
	frameTarget = 1000
	defer func() { frameTarget = old }()
	fs := vfs.NewMem()
	opts := Options{FS: fs, Dir: "/w", Sync: SyncNo, CompressAbove: -1}
	l, _, _ := openLog(t, opts, 0)
	var want [][]byte
	for i := 1; i <= 100; i++ {
		want = append(want, payload(uint64(i), 7*i, false))
		l.Append(want[i-1])
	}
	l.Close()
	got, info := readAll(t, fs, "/w")
	checkRecs(t, got, want, 1)
	if info.Segments[0].Frames < 10 {
		t.Errorf("%d frames: not split", info.Segments[0].Frames)
	}
}

// TestUnsyncedBufferKept: after an fsync, the buffer of unsynced frames is
// kept for the next ones if they filled at least half of it (everysec
// grew a new one each second, a garbage collection a second), and dropped
// if it was far larger than they needed.
func TestUnsyncedBufferKept(t *testing.T) {
	l, _, _ := openLog(t, Options{FS: vfs.NewMem(), Dir: "/wal", Sync: SyncEverySec, CompressAbove: -1}, 0)
	defer l.Close()
	write := func(records int) {
		t.Helper()
		var last uint64
		for i := range records {
			last = l.Append(payload(uint64(i+1), 1000, false))
		}
		if err := l.WaitSynced(context.Background(), last); err != nil {
			t.Fatal(err)
		}
	}
	unsyncedCap := func() int {
		l.cmu.Lock()
		defer l.cmu.Unlock()
		return cap(l.c.unsynced)
	}
	write(6000) // about 6 MB of frames, more than keepBuffer
	if c := unsyncedCap(); c < 6000*1000 {
		t.Fatalf("after 6 MB of frames the buffer has %d bytes of capacity: not kept", c)
	}
	write(6000)
	if c := unsyncedCap(); c < 6000*1000 {
		t.Fatalf("after 6 MB more, the buffer has %d bytes of capacity: not kept", c)
	}
	write(100) // 100 KB: the buffer is far too large for them
	if c := unsyncedCap(); c != 0 {
		t.Fatalf("after 100 KB of frames the buffer keeps %d bytes of capacity", c)
	}
}

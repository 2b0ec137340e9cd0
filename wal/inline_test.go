package wal

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/cairn-db/cairn/vfs"
)

func TestUseInlineSync(t *testing.T) {
	for _, tc := range []struct {
		procs       int
		lastRecords int64
		slowDisk    bool
		want        bool
	}{
		{1, 30, false, true},
		{1, inlineSyncMin, false, true},
		{1, inlineSyncMin - 1, false, false}, // few writers
		{1, 30, true, false},                 // a slow disk
		{2, 30, false, false},                // the P would block a P's worth of goroutines
		{1, 0, false, false},                 // no fsync yet
	} {
		if got := useInlineSync(tc.procs, tc.lastRecords, tc.slowDisk); got != tc.want {
			t.Errorf("useInlineSync(%d, %d, %v) = %v, want %v", tc.procs, tc.lastRecords, tc.slowDisk, got, tc.want)
		}
	}
}

// TestInlineSync: many writers under always on one P, on the real disk:
// fsyncs go inline once they cover many writes, and every write
// acknowledged is in the log when it is read again.
func TestInlineSync(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	dir := t.TempDir()
	opts := Options{Dir: dir, Sync: SyncAlways, Preallocate: true, Logger: quietLogger}
	l, _, _ := openLog(t, opts, 0)
	const writers, each = 50, 200
	syncedWriters(t, l, writers, each, 100)
	st := l.Stats()
	if st.InlineFsyncs == 0 {
		t.Fatalf("%d fsyncs for %d writes, none inline", st.Fsyncs, writers*each)
	}
	t.Logf("%d writes, %d fsyncs, %d inline", writers*each, st.Fsyncs, st.InlineFsyncs)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := Scan(vfs.Default, dir, nil)
	if err != nil || info.Damage != nil {
		t.Fatalf("Scan: %v, damage %+v", err, info.Damage)
	}
	if info.Records != writers*each {
		t.Fatalf("%d records in the log, want %d", info.Records, writers*each)
	}
}

// TestEverySecSyncNotInline: everysec's own fsync, which no writer waits
// for, is never inline, though one P, many records and a fast disk would
// make one so for writers that wait (see syncAwaited).
func TestEverySecSyncNotInline(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	l, _, _ := openLog(t, Options{Dir: t.TempDir(), Sync: SyncEverySec, Logger: quietLogger}, 0)
	defer l.Close()
	for round := range 3 {
		var last uint64
		for i := range 50 {
			last = l.Append(payload(uint64(round*50+i+1), 100, false))
		}
		if err := l.WaitWritten(context.Background(), last); err != nil {
			t.Fatal(err)
		}
		before := l.Stats().Fsyncs
		// Make the second due now, and wake the committer for it.
		l.cmu.Lock()
		l.c.lastSync = time.Now().Add(-time.Second)
		l.cmu.Unlock()
		l.wake()
		deadline := time.Now().Add(5 * time.Second)
		for l.Stats().Fsyncs == before {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no fsync within 5 s of its second", round)
			}
			time.Sleep(time.Millisecond)
		}
	}
	st := l.Stats()
	if st.InlineFsyncs != 0 {
		t.Fatalf("%d of %d fsyncs inline (the last took %v)", st.InlineFsyncs, st.Fsyncs, st.LastFsync)
	}
	if !useInlineSync(1, 50, l.diskSlow.Load()) {
		t.Skipf("the disk is slow (the last fsync took %v): no fsync would go inline anyway", st.LastFsync)
	}
}

package wal

import (
	"sync"
	"testing"
	"time"

	"github.com/cairn-db/cairn/vfs"
)

func TestGatherWindow(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name     string
		policy   SyncPolicy
		slow     bool
		took     time.Duration
		covered  uint64
		pending  uint64 // records appended during the fsync
		later    uint64 // records appended after it
		at       time.Duration
		wantLeft time.Duration
	}{
		{"fast disk: no wait", SyncAlways, false, 1500 * time.Microsecond, 20, 20, 0, 0, 0},
		{"slow disk: the fsync's time", SyncAlways, true, 1500 * time.Microsecond, 20, 20, 0, 0, 1500 * time.Microsecond},
		{"slow disk, later", SyncAlways, true, 1500 * time.Microsecond, 20, 20, 10, time.Millisecond, 500 * time.Microsecond},
		{"slow disk: at most gatherMax", SyncAlways, true, 10 * time.Millisecond, 20, 20, 0, 0, gatherMax},
		{"every writer back", SyncAlways, true, 3 * time.Millisecond, 20, 20, 20, 0, 0},
		{"one writer", SyncAlways, true, 3 * time.Millisecond, 1, 0, 1, 0, 0},
		{"window over", SyncAlways, true, 1500 * time.Microsecond, 20, 20, 10, 2 * time.Millisecond, -500 * time.Microsecond},
		{"everysec: never", SyncEverySec, true, 3 * time.Millisecond, 20, 20, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &Log{state: stateRunning, policy: tc.policy, nextLSN: 100 + tc.pending, pendFirst: 100}
			l.setGather(now, tc.took, tc.covered, tc.slow)
			l.nextLSN += tc.later
			left := l.gatherLeft(now.Add(tc.at))
			if left > 0 != (tc.wantLeft > 0) || (left > 0 && left != tc.wantLeft) {
				t.Fatalf("gatherLeft = %v, want %v (target %d, %d pending)", left, tc.wantLeft, l.gatherTarget, l.nextLSN-l.pendFirst)
			}
		})
	}
}

// slowDisk makes a log's files fsync syncTime slower, one at a time: a
// disk slower than the machine's.
type slowDisk struct {
	syncTime time.Duration
	mu       sync.Mutex
}

type slowSyncFile struct {
	vfs.File
	disk *slowDisk
}

func (f *slowSyncFile) Sync() error {
	f.disk.mu.Lock()
	defer f.disk.mu.Unlock()
	time.Sleep(f.disk.syncTime)
	return f.File.Sync()
}

// TestGatherOnSlowDisk: writers that write again as soon as they are
// answered, under always on a disk whose fsync takes 3 ms, share their
// fsyncs rather than splitting into two groups that take turns (which
// gave about 10 writes an fsync here), and every acknowledged write is in
// the log.
func TestGatherOnSlowDisk(t *testing.T) {
	disk := &slowDisk{syncTime: 3 * time.Millisecond}
	fs := wrapFiles(vfs.NewMem(), func(f vfs.File) vfs.File { return &slowSyncFile{File: f, disk: disk} })
	l, _, _ := openLog(t, Options{FS: fs, Dir: "/wal", Sync: SyncAlways, Logger: quietLogger}, 0)
	const writers, each = 20, 25
	syncedWriters(t, l, writers, each, 50)
	st := l.Stats()
	perSync := float64(writers*each) / float64(st.Fsyncs)
	t.Logf("%d writes, %d fsyncs: %.1f writes an fsync", writers*each, st.Fsyncs, perSync)
	if perSync < 0.75*writers {
		t.Fatalf("%.1f writes an fsync, want at least %.0f of the %d writers", perSync, 0.75*writers, writers)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, info := readAll(t, fs, "/wal")
	if info.Damage != nil || len(got) != writers*each {
		t.Fatalf("%d records in the log (damage %+v), want %d", len(got), info.Damage, writers*each)
	}
}

package wal

import (
	"testing"
	"time"

	"github.com/cairn-db/cairn/vfs"
)

func TestDiskSpeed(t *testing.T) {
	const fast, slow = 120 * time.Microsecond, slowFsync
	for _, tc := range []struct {
		name  string
		fsync []time.Duration // blocking fsyncs, in order
		want  bool
	}{
		{"none yet", nil, false},
		{"fast disk", []time.Duration{fast, fast, fast}, false},
		{"one spike", []time.Duration{fast, 3 * time.Millisecond, fast}, false},
		{"a spike last", []time.Duration{fast, fast, 3 * time.Millisecond}, false},
		{"slow disk", []time.Duration{slow, slow}, true},
		{"slow, then one fast", []time.Duration{slow, slow, slow, fast}, false},
		{"fast, then slow", []time.Duration{fast, fast, 2 * time.Millisecond, 2 * time.Millisecond}, true},
		{"just under the bound", []time.Duration{slow - 1, slow - 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d diskSpeed
			end := time.Now()
			got := d.slow()
			for _, took := range tc.fsync {
				end = end.Add(took)
				got = d.note(end, took)
			}
			if got != tc.want || d.slow() != tc.want {
				t.Fatalf("after %v: slow = %v (note said %v), want %v", tc.fsync, d.slow(), got, tc.want)
			}
		})
	}
}

func TestDiskSpeedProbe(t *testing.T) {
	var d diskSpeed
	now := time.Now()
	if !d.probeDue(now) {
		t.Fatal("no probe due before any fsync measured the disk")
	}
	d.note(now, slowFsync)
	for _, tc := range []struct {
		after time.Duration
		want  bool
	}{
		{0, false},
		{reprobeEvery - 1, false},
		{reprobeEvery, true},
		{time.Second, true},
	} {
		if got := d.probeDue(now.Add(tc.after)); got != tc.want {
			t.Errorf("probeDue %v after a measure = %v, want %v", tc.after, got, tc.want)
		}
	}
}

// TestSlowDiskJudged: on a disk whose fsyncs take 3 ms the log judges the
// disk slow, and on the machine's own memory-backed one it does not.
func TestSlowDiskJudged(t *testing.T) {
	for _, tc := range []struct {
		name     string
		syncTime time.Duration
		want     bool
	}{
		{"fast", 0, false},
		{"slow", 3 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disk := &slowDisk{syncTime: tc.syncTime}
			fs := wrapFiles(vfs.NewMem(), func(f vfs.File) vfs.File { return &slowSyncFile{File: f, disk: disk} })
			l, _, _ := openLog(t, Options{FS: fs, Dir: "/wal", Sync: SyncAlways, Logger: quietLogger}, 0)
			defer l.Close()
			syncedWriters(t, l, 4, 5, 50)
			if st := l.Stats(); !tc.want && st.LastFsync >= slowFsync {
				t.Skipf("the machine is busy: a memory fsync took %v", st.LastFsync)
			}
			if got := l.diskSlow.Load(); got != tc.want {
				t.Fatalf("disk judged slow = %v after %d fsyncs (last %v), want %v", got, l.Stats().Fsyncs, l.Stats().LastFsync, tc.want)
			}
		})
	}
}

package wal

import (
	"testing"
	"time"

	"github.com/cairn-db/cairn/vfs"
)

func TestDiskSpeed(t *testing.T) {
	type fsync struct {
		took     time.Duration
		blocking bool
	}
	const fast, slow = 120 * time.Microsecond, slowFsync
	b := func(took time.Duration) fsync { return fsync{took, true} }  // inline or plain
	p := func(took time.Duration) fsync { return fsync{took, false} } // polled
	for _, tc := range []struct {
		name   string
		fsyncs []fsync
		want   bool
	}{
		{"none yet", nil, false},
		{"fast disk", []fsync{b(fast), b(fast), b(fast)}, false},
		{"one spike", []fsync{b(fast), b(3 * time.Millisecond), b(fast)}, false},
		{"a spike last", []fsync{b(fast), b(fast), b(3 * time.Millisecond)}, false},
		{"slow disk", []fsync{b(slow), b(slow)}, true},
		{"slow, then one fast", []fsync{b(slow), b(slow), b(slow), b(fast)}, false},
		{"fast, then slow", []fsync{b(fast), b(fast), b(2 * time.Millisecond), b(2 * time.Millisecond)}, true},
		{"just under the bound", []fsync{b(slow - 1), b(slow - 1)}, false},
		{"slow polled: no evidence", []fsync{p(slow), p(3 * time.Millisecond), p(slow)}, false},
		{"slow polled between slow blocking", []fsync{b(slow), p(3 * time.Millisecond), b(slow)}, true},
		{"judged slow stays so while polled slow", []fsync{b(slow), b(slow), p(slow), p(2 * time.Millisecond)}, true},
		{"a fast polled one shows it fast", []fsync{b(slow), b(slow), p(slow), p(fast)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d diskSpeed
			end := time.Now()
			got := d.slow()
			for _, f := range tc.fsyncs {
				end = end.Add(f.took)
				got = d.note(end, f.took, f.blocking)
			}
			if got != tc.want || d.slow() != tc.want {
				t.Fatalf("after %v: slow = %v (note said %v), want %v", tc.fsyncs, d.slow(), got, tc.want)
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
	d.note(now, slowFsync, false)
	if !d.probeDue(now) {
		t.Fatal("a polled fsync counted as a measure of the disk")
	}
	d.note(now, slowFsync, true)
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

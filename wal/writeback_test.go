package wal

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cairn-db/cairn/vfs"
)

// writebackFS wraps a filesystem so that its files record the ranges they
// are asked to start writing back.
type writebackFS struct {
	vfs.FS
	mu     sync.Mutex
	ranges [][2]int64 // off, n
}

type writebackFile struct {
	vfs.File
	fs *writebackFS
}

func (w *writebackFS) Create(name string) (vfs.File, error) {
	f, err := w.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &writebackFile{File: f, fs: w}, nil
}

func (w *writebackFS) OpenReadWrite(name string) (vfs.File, error) {
	f, err := w.FS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return &writebackFile{File: f, fs: w}, nil
}

func (f *writebackFile) StartWriteback(off, n int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.fs.ranges = append(f.fs.ranges, [2]int64{off, n})
	return nil
}

// TestStartsWriteback: under everysec and no, the log asks for each
// writebackChunk it writes to be written back at once, in order and
// without gaps, so that the fsync to come has little left to wait for
// (everysec's fsync at 90k writes/s took 5.5-8.2 ms, with writeback
// started 0.7-1.1 ms); under always, which fsyncs each commit, never.
func TestStartsWriteback(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncEverySec, SyncNo, SyncAlways} {
		t.Run(policy.String(), func(t *testing.T) {
			fs := &writebackFS{FS: vfs.NewMem()}
			l, _, _ := openLog(t, Options{FS: fs, Dir: "/wal", Sync: policy}, 0)
			rng := rand.New(rand.NewPCG(1, 2))
			rec := make([]byte, 1000)
			n := 3500 // 3.5 MB of records
			if policy == SyncAlways {
				n = 1500 // an fsync each: fewer, but past writebackChunk
			}
			for range n {
				for i := range rec {
					rec[i] = byte(rng.Uint32())
				}
				if err := l.WaitWritten(context.Background(), l.Append(rec)); err != nil {
					t.Fatal(err)
				}
			}
			size := l.Stats().SegmentSize
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			fs.mu.Lock()
			defer fs.mu.Unlock()
			if policy == SyncAlways {
				if len(fs.ranges) != 0 {
					t.Fatalf("always: %d writeback requests, want none", len(fs.ranges))
				}
				return
			}
			var next int64
			for i, r := range fs.ranges {
				if r[0] != next || r[1] < writebackChunk {
					t.Fatalf("request %d: [%d, +%d), want from %d and at least %d bytes", i, r[0], r[1], next, writebackChunk)
				}
				next = r[0] + r[1]
			}
			if size-next >= writebackChunk || len(fs.ranges) < 3 {
				t.Fatalf("%d requests up to %d of a %d-byte segment", len(fs.ranges), next, size)
			}
		})
	}
}

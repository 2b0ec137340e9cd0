package wal

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cairn-db/cairn/vfs"
)

// writebacks records the ranges a log's files are asked to start writing
// back.
type writebacks struct {
	mu     sync.Mutex
	ranges [][2]int64 // off, n
}

type writebackFile struct {
	vfs.File
	rec *writebacks
}

func (f *writebackFile) StartWriteback(off, n int64) error {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	f.rec.ranges = append(f.rec.ranges, [2]int64{off, n})
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
			wbs := &writebacks{}
			fs := wrapFiles(vfs.NewMem(), func(f vfs.File) vfs.File { return &writebackFile{File: f, rec: wbs} })
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
			wbs.mu.Lock()
			defer wbs.mu.Unlock()
			if policy == SyncAlways {
				if len(wbs.ranges) != 0 {
					t.Fatalf("always: %d writeback requests, want none", len(wbs.ranges))
				}
				return
			}
			var next int64
			for i, r := range wbs.ranges {
				if r[0] != next || r[1] < writebackChunk {
					t.Fatalf("request %d: [%d, +%d), want from %d and at least %d bytes", i, r[0], r[1], next, writebackChunk)
				}
				next = r[0] + r[1]
			}
			if size-next >= writebackChunk || len(wbs.ranges) < 3 {
				t.Fatalf("%d requests up to %d of a %d-byte segment", len(wbs.ranges), next, size)
			}
		})
	}
}

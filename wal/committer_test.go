package wal

import (
	"context"
	"path"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-db/cairn/vfs"
)

// heldSync is a disk whose segment fsyncs, once armed, wait until the test
// lets them go (or fail with err), as a busy disk's may take seconds.
type heldSync struct {
	armed   atomic.Bool
	started chan struct{} // one value per fsync held
	release chan struct{}
	once    sync.Once
	err     error
}

// letGo lets the held fsyncs go (and those to come), once.
func (s *heldSync) letGo() {
	s.armed.Store(false)
	s.once.Do(func() { close(s.release) })
}

func newHeldSync() *heldSync {
	return &heldSync{started: make(chan struct{}, 16), release: make(chan struct{})}
}

func (s *heldSync) MaybeError(op vfs.Op, name string) error {
	if op != vfs.OpSync || !s.armed.Load() || path.Ext(name) != ".log" || path.Base(name) == preallocName {
		return nil
	}
	s.started <- struct{}{}
	<-s.release
	return s.err
}

// dueSecond makes everysec's fsync due now and wakes the committer for it,
// as TestEverySecSyncNotInline does.
func dueSecond(l *Log) {
	l.cmu.Lock()
	l.c.lastSync = time.Now().Add(-time.Second)
	l.cmu.Unlock()
	l.wake()
}

// waitStarted waits for the held fsync to begin.
func (s *heldSync) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-s.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no fsync began within 10 s of its second")
	}
}

// TestEverySecFsyncLetsWritersOn: while everysec's fsync waits for a slow
// disk, writers go on writing (WaitWritten returns), past the segment's
// size too (the rotation waits); the fsync makes durable what was written
// when it began; after a crash every record whose WaitSynced returned is
// there, in order.
func TestEverySecFsyncLetsWritersOn(t *testing.T) {
	mem := vfs.NewMem()
	slow := newHeldSync()
	l, _, _ := openLog(t, Options{FS: vfs.NewError(mem, slow), Dir: "/wal", Sync: SyncEverySec, SegmentSize: 4096}, 0)
	defer l.Close()
	defer slow.letGo() // before Close, should the test fail with an fsync held
	// Should a writer wait for the held fsync (the test's own goroutine
	// leads the commits), let it go after 10 s: the test then fails, as
	// the fsync ended before its checks, rather than hanging.
	defer time.AfterFunc(10*time.Second, slow.letGo).Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	h := newHistory()
	add := func(n int) uint64 {
		var last uint64
		for range n {
			last = h.append(l, payload(l.LastLSN()+1, 100, false))
		}
		if err := l.WaitWritten(ctx, last); err != nil {
			t.Fatalf("WaitWritten(%d): %v", last, err)
		}
		return last
	}
	before := add(10)
	segs := l.Stats().Segments

	slow.armed.Store(true)
	dueSecond(l)
	slow.waitStarted(t)
	// Two batches of 30 records of 100 bytes: the second finds the 4 KiB
	// segment full. Then one under always (CONFIG SET meanwhile): its
	// writer writes, and neither rotates nor fsyncs.
	add(30)
	add(30)
	l.SetSyncPolicy(SyncAlways)
	add(5)
	l.SetSyncPolicy(SyncEverySec)
	during := add(5)
	if got := l.SyncedLSN(); got >= before {
		t.Fatalf("SyncedLSN %d while the fsync of %d is held", got, before)
	}
	if !l.Stats().BackgroundFsync {
		t.Fatal("Stats().BackgroundFsync unset while the fsync is held")
	}
	if got := l.Stats().Segments; got != segs {
		t.Fatalf("%d segments while an fsync was held, %d before: rotated under the fsync", got, segs)
	}
	slow.letGo()
	// The held fsync made durable what was written when it began, and no
	// more: a crash now keeps every record up to before.
	if err := l.WaitSynced(ctx, before); err != nil {
		t.Fatal(err)
	}
	if got := l.SyncedLSN(); got != before {
		t.Fatalf("SyncedLSN %d after the held fsync, which began at %d", got, before)
	}
	if l.Stats().BackgroundFsync {
		t.Fatal("Stats().BackgroundFsync still set after the held fsync")
	}
	lc, got, _ := openLog(t, Options{FS: mem.CrashClone(vfs.CrashOptions{}), Dir: "/wal", Sync: SyncEverySec}, 0)
	lc.Close()
	h.checkPrefix(t, got, before, "after a crash following the held fsync")

	if err := l.WaitSynced(ctx, during); err != nil {
		t.Fatalf("WaitSynced(%d): %v", during, err)
	}
	after := add(30) // rotates now
	if err := l.WaitSynced(ctx, after); err != nil {
		t.Fatal(err)
	}
	if got := l.Stats().Segments; got <= segs {
		t.Fatalf("still %d segments after the fsync ended", got)
	}

	l2, got, _ := openLog(t, Options{FS: mem.CrashClone(vfs.CrashOptions{}), Dir: "/wal", Sync: SyncEverySec}, 0)
	defer l2.Close()
	h.checkPrefix(t, got, after, "after a crash")
}

// TestEverySecFsyncFails: when the fsync made without cmu fails, and when a
// writer's write fails while it runs, the log fails, heals once the disk
// works, and nothing is lost: every record is durable after WaitSynced.
func TestEverySecFsyncFails(t *testing.T) {
	fastRetry(t)
	for _, failWrite := range []bool{false, true} {
		name := map[bool]string{false: "fsync fails", true: "write fails meanwhile"}[failWrite]
		t.Run(name, func(t *testing.T) {
			mem := vfs.NewMem()
			slow := newHeldSync()
			if !failWrite {
				slow.err = vfs.ErrEIO
			}
			var writeErr atomic.Bool
			inj := vfs.InjectorFunc(func(op vfs.Op, name string) error {
				if op == vfs.OpWrite && writeErr.Load() {
					return vfs.ErrENOSPC
				}
				return slow.MaybeError(op, name)
			})
			l, _, _ := openLog(t, Options{FS: vfs.NewError(mem, inj), Dir: "/wal", Sync: SyncEverySec}, 0)
			defer l.Close()
			defer slow.letGo()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h := newHistory()
			add := func(n int) (uint64, error) {
				var last uint64
				for range n {
					last = h.append(l, payload(l.LastLSN()+1, 100, false))
				}
				return last, l.WaitWritten(ctx, last)
			}
			if _, err := add(10); err != nil {
				t.Fatal(err)
			}
			slow.armed.Store(true)
			dueSecond(l)
			slow.waitStarted(t)
			writeErr.Store(failWrite)
			_, err := add(10)
			if failWrite != (err != nil) {
				t.Fatalf("WaitWritten during the fsync: %v", err)
			}
			slow.letGo()
			waitFailed(t, l)
			writeErr.Store(false)
			waitHealed(t, l)
			last, err := add(5)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.WaitSynced(ctx, last); err != nil {
				t.Fatal(err)
			}
			l2, got, _ := openLog(t, Options{FS: mem.CrashClone(vfs.CrashOptions{}), Dir: "/wal", Sync: SyncEverySec}, 0)
			defer l2.Close()
			h.checkPrefix(t, got, last, "after a crash")
		})
	}
}

// waitFailed waits for the log to report a failure (Stats().Failures).
func waitFailed(t *testing.T, l *Log) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().Failures == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no failure within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

package wal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-db/cairn/vfs"
)

// fastRetry makes failing logs opened by the test retry every millisecond.
func fastRetry(t testing.TB) {
	old := retryInterval
	retryInterval = time.Millisecond
	t.Cleanup(func() { retryInterval = old })
}

// waitHealed waits for Err to clear.
func waitHealed(t testing.TB, l *Log) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still failing after the disk healed: %v", l.Err())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFailureAndHeal: a failing write or fsync sets Err, WaitSynced
// returns it, Append goes on without blocking; once the disk heals, Err
// clears and every record, those appended during the failure included, is
// durable and replays in order without damage.
func TestFailureAndHeal(t *testing.T) {
	fastRetry(t)
	cases := []struct {
		name string
		err  error
		ops  []vfs.Op
	}{
		{"fsync", vfs.ErrEIO, []vfs.Op{vfs.OpSync}},
		{"write", vfs.ErrENOSPC, []vfs.Op{vfs.OpWrite}},
		{"short write", vfs.ShortWrite(vfs.ErrENOSPC, 7), []vfs.Op{vfs.OpWrite}},
		{"create", vfs.ErrEIO, []vfs.Op{vfs.OpCreate}},
		{"sync dir", vfs.ErrEIO, []vfs.Op{vfs.OpSyncDir}},
		{"everything", vfs.ErrEIO, nil},
	}
	for _, tc := range cases {
		for _, policy := range []SyncPolicy{SyncAlways, SyncEverySec, SyncNo} {
			t.Run(tc.name+"/"+policy.String(), func(t *testing.T) {
				mem := vfs.NewMem()
				var tg vfs.Toggle
				opts := Options{FS: vfs.NewError(mem, &tg), Dir: "/wal", Sync: policy, SegmentSize: 2000, Preallocate: true}
				logger, logs := logBuffer()
				opts.Logger = logger
				l, _, _ := openLog(t, opts, 0)
				waitPrepared(l) // under always: the first segment is a prepared one
				h := newHistory()
				add := func(n int, wait bool) error {
					var last uint64
					for i := 0; i < n; i++ {
						last = h.append(l, payload(last+uint64(i), 150, i%2 == 0))
					}
					if !wait {
						return nil
					}
					err := l.WaitSynced(waitCtx(t), last)
					if err == nil {
						h.ack(last)
					}
					return err
				}
				if err := add(30, true); err != nil {
					t.Fatal(err)
				}
				tg.Fail(tc.err, tc.ops...)
				// Appends go on; a wait fails with the disk's error once the
				// committer has hit it (a rotation is due within 20 records).
				var werr error
				for i := 0; i < 50 && werr == nil; i++ {
					werr = add(5, true)
				}
				if werr == nil {
					t.Fatalf("WaitSynced succeeded while %s fails", tc.name)
				}
				if !errors.Is(werr, syscall.EIO) && !errors.Is(werr, syscall.ENOSPC) {
					t.Fatalf("WaitSynced: %v, want the disk's error", werr)
				}
				if l.Err() == nil {
					t.Fatal("Err is nil while failing")
				}
				if st := l.Stats(); st.OK || st.LastError == nil || st.Failures == 0 {
					t.Fatalf("stats while failing: %+v", st)
				}
				// A crash now: what was acknowledged survives.
				crashed := mem.CrashClone(vfs.CrashOptions{})
				start := time.Now()
				if err := add(100, false); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d > time.Second {
					t.Fatalf("Append blocked for %v while failing", d)
				}
				tg.Heal()
				waitHealed(t, l)
				if err := add(10, true); err != nil {
					t.Fatalf("after healing: %v", err)
				}
				if err := l.WaitSynced(waitCtx(t), l.LastLSN()); err != nil {
					t.Fatal(err)
				}
				if l.SyncedLSN() != l.LastLSN() {
					t.Fatalf("SyncedLSN %d, LastLSN %d", l.SyncedLSN(), l.LastLSN())
				}
				// Everything is durable: a crash now loses nothing.
				all := mem.CrashClone(vfs.CrashOptions{})
				last := l.LastLSN()
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				for _, img := range []struct {
					name string
					fs   vfs.FS
					must uint64
				}{{"crash while failing", crashed, 30}, {"crash after healing", all, last}, {"closed", mem, last}} {
					l2, got, info := openLog(t, Options{FS: img.fs, Dir: "/wal"}, 0)
					h.checkPrefix(t, got, img.must, img.name)
					if img.must == last && uint64(len(got)) != last {
						t.Fatalf("%s: %s, want %d", img.name, describe(got), last)
					}
					if img.name != "crash while failing" && info.TornTail != nil {
						t.Fatalf("%s: torn tail %+v", img.name, info.TornTail)
					}
					l2.Close()
				}
				out := logs.String()
				if !strings.Contains(out, "failing") || !strings.Contains(out, "healed") {
					t.Errorf("failure and healing not logged:\n%s", out)
				}
			})
		}
	}
}

// TestFailEveryOperation fails each filesystem operation of a workload in
// turn (Pebble's errorfs approach): open, replay, appends with waits
// across rotations, close. Every failure must surface (an error from
// Open, Replay, WaitSynced or Close, or Err), nothing may panic or hang,
// and the log must then replay without damage, holding every acknowledged
// record.
func TestFailEveryOperation(t *testing.T) {
	fastRetry(t)
	// The log the workload starts from: one closed segment.
	base := vfs.NewMem()
	{
		l, _, _ := openLog(t, Options{FS: base, Dir: "/wal", SegmentSize: 600}, 0)
		for i := 1; i <= 10; i++ {
			l.Append(payload(uint64(i), 100, false))
		}
		l.Close()
	}
	for n := 0; ; n++ {
		mem := base.CrashClone(vfs.CrashOptions{})
		inj := vfs.OnIndex(n, vfs.ErrEIO)
		fs := vfs.NewError(mem, inj)
		surfaced, acked := failWorkload(t, fs, n)
		fired := inj.Fired()
		if fired && !surfaced {
			t.Errorf("operation %d failed but no error surfaced", n)
		}
		// Whatever happened, the log replays cleanly afterwards, with
		// every acknowledged record; also after a crash.
		for _, img := range []vfs.FS{mem, mem.CrashClone(vfs.CrashOptions{})} {
			l, got, _ := openLog(t, Options{FS: img, Dir: "/wal"}, 0)
			if uint64(len(got)) < acked {
				t.Fatalf("operation %d failed: replay has %s, but LSN %d was acknowledged", n, describe(got), acked)
			}
			for i, g := range got {
				if g.lsn != uint64(i+1) {
					t.Fatalf("operation %d: LSN %d at %d", n, g.lsn, i)
				}
				if i < 10 && string(g.data) != string(payload(uint64(i+1), 100, false)) {
					t.Fatalf("operation %d: LSN %d changed", n, g.lsn)
				}
			}
			l.Close()
		}
		if !fired {
			t.Logf("%d operations failed in turn", n)
			return
		}
	}
}

// failWorkload runs the workload over fs; it reports whether an error
// surfaced and the highest LSN acknowledged.
func failWorkload(t *testing.T, fs vfs.FS, n int) (surfaced bool, acked uint64) {
	opts := Options{FS: fs, Dir: "/wal", SegmentSize: 600, Sync: SyncAlways, Logger: quietLogger}
	l, err := Open(opts)
	for err != nil {
		surfaced = true
		l, err = Open(opts)
	}
	for {
		if _, err = l.Replay(0, func(uint64, []byte) error { return nil }); err == nil {
			break
		}
		if errors.Is(err, ErrCorrupt) {
			t.Fatalf("operation %d: a failed operation made Replay report corruption: %v", n, err)
		}
		surfaced = true
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				lsn := l.Append([]byte(fmt.Sprintf("g%d i%d %s", g, i, strings.Repeat("x", 80))))
				err := l.WaitSynced(waitCtx(t), lsn)
				for err != nil {
					mu.Lock()
					surfaced = true
					mu.Unlock()
					time.Sleep(time.Millisecond)
					err = l.WaitSynced(waitCtx(t), lsn)
				}
				mu.Lock()
				acked = max(acked, lsn)
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	if l.Err() != nil {
		surfaced = true
	}
	if err := l.Close(); err != nil {
		surfaced = true
	}
	if st := l.Stats(); st.Failures > 0 {
		surfaced = true
	}
	return surfaced, acked
}

// TestCloseWhileFailing: Close does not hang on a disk that keeps failing;
// it returns the failure, and what was synced before stays.
func TestCloseWhileFailing(t *testing.T) {
	fastRetry(t)
	mem := vfs.NewMem()
	var tg vfs.Toggle
	l, _, _ := openLog(t, Options{FS: vfs.NewError(mem, &tg), Dir: "/wal", Sync: SyncAlways}, 0)
	if err := l.WaitSynced(waitCtx(t), l.Append([]byte("kept"))); err != nil {
		t.Fatal(err)
	}
	tg.Fail(vfs.ErrEIO, vfs.OpSync)
	lsn := l.Append([]byte("lost"))
	if err := l.WaitSynced(waitCtx(t), lsn); !errors.Is(err, syscall.EIO) {
		t.Fatalf("WaitSynced: %v", err)
	}
	done := make(chan error)
	go func() { done <- l.Close() }()
	select {
	case err := <-done:
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs on a failing disk")
	}
	l2, got, _ := openLog(t, Options{FS: mem.CrashClone(vfs.CrashOptions{}), Dir: "/wal"}, 0)
	checkRecs(t, got, [][]byte{[]byte("kept")}, 1)
	l2.Close()
}

// TestHealCutsBack: after a failed fsync the segment is cut back to its
// synced size and the unsynced frames are written again, not fsynced
// again in place.
func TestHealCutsBack(t *testing.T) {
	fastRetry(t)
	mem := vfs.NewMem()
	var tg vfs.Toggle
	ops := vfs.NewCounter(&tg, vfs.OpTruncate)
	l, _, _ := openLog(t, Options{FS: vfs.NewError(mem, ops), Dir: "/wal", Sync: SyncAlways}, 0)
	if err := l.WaitSynced(waitCtx(t), l.Append([]byte("one"))); err != nil {
		t.Fatal(err)
	}
	path := segFiles(t, mem, "/wal")[0]
	synced := len(fileBytes(t, mem, path))
	tg.Fail(vfs.ErrEIO, vfs.OpSync)
	if err := l.WaitSynced(waitCtx(t), l.Append([]byte("two"))); !errors.Is(err, syscall.EIO) {
		t.Fatalf("WaitSynced: %v", err)
	}
	// The frame was written; the fsync failed.
	if n := len(fileBytes(t, mem, path)); n <= synced {
		t.Fatalf("file %d bytes, synced %d", n, synced)
	}
	tg.Fail(vfs.ErrEIO, vfs.OpWrite, vfs.OpSync) // healing writes fail now
	// A healing attempt cuts the file back, then fails to write. An attempt
	// begun before the toggle may still have written; one begun after it
	// has failed whole once the next attempt has started.
	start := ops.Count()
	for deadline := time.Now().Add(10 * time.Second); ops.Count() < start+2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("healing attempts stopped cutting the file back (%d truncations)", ops.Count())
		}
	}
	if n := len(fileBytes(t, mem, path)); n != synced {
		t.Fatalf("after failed healing attempts the file is %d bytes, want the synced %d", n, synced)
	}
	tg.Heal()
	waitHealed(t, l)
	if ops.Count() == 0 {
		t.Fatal("healed without truncating")
	}
	l.Close()
	got, info := readAll(t, mem.CrashClone(vfs.CrashOptions{}), "/wal")
	checkRecs(t, got, [][]byte{[]byte("one"), []byte("two")}, 1)
	if info.Damage != nil {
		t.Fatalf("damage %+v", info.Damage)
	}
}

// TestFailFromOutside: Fail puts a running log in the failing state with
// the error given (writes and Err report it), and the log heals by itself
// as after a failed write, its segment being there; before Replay it does
// nothing.
func TestFailFromOutside(t *testing.T) {
	fastRetry(t)
	mem := vfs.NewMem()
	errGone := errors.New("directory gone")
	if l, err := Open(Options{FS: mem, Dir: "/wal", Logger: quietLogger}); err != nil {
		t.Fatal(err)
	} else {
		l.Fail(errGone) // not running yet: no effect
		if err := l.Err(); err != nil {
			t.Fatalf("Err after Fail before Replay: %v", err)
		}
		l.Close()
	}
	l, _, _ := openLog(t, Options{FS: mem, Dir: "/wal", Sync: SyncAlways}, 0)
	defer l.Close()
	if err := l.WaitSynced(context.Background(), l.Append([]byte("a"))); err != nil {
		t.Fatal(err)
	}
	l.Fail(errGone)
	// Err reports it until the heal, a retry interval later; LastError
	// stays.
	if err := l.Err(); err != nil && !errors.Is(err, errGone) {
		t.Fatalf("Err after Fail: %v", err)
	}
	if st := l.Stats(); !errors.Is(st.LastError, errGone) {
		t.Fatalf("LastError after Fail: %v", st.LastError)
	}
	waitHealed(t, l)
	if err := l.WaitSynced(context.Background(), l.Append([]byte("b"))); err != nil {
		t.Fatalf("write after healing: %v", err)
	}
	got, _ := readAll(t, mem, "/wal")
	checkRecs(t, got, [][]byte{[]byte("a"), []byte("b")}, 1)
}

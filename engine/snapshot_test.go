package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-db/cairn/snapshot"
	"github.com/cairn-db/cairn/vfs"
	"github.com/cairn-db/cairn/wal"
)

// snapOpen opens and loads an engine with a log and snapshots over fs.
func snapOpen(t *testing.T, fs vfs.FS) (*Engine, error) {
	t.Helper()
	e, err := Open(Options{Databases: 2, Shards: 16, Logger: rcQuiet, ActiveExpireHz: -1,
		WAL:       &wal.Options{FS: fs, Dir: "/d/wal", Sync: wal.SyncAlways, SegmentSize: 512, Logger: rcQuiet},
		Snapshots: &SnapshotOptions{FS: fs, Dir: "/d/snapshots", BlockSize: 128}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func snapWrite(t *testing.T, e *Engine, batch, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		k := []byte(fmt.Sprintf("k%d", i))
		if err := e.Update([][]byte{k}, func(tx *Tx) error {
			_, err := tx.Set(i%2, k, []byte(fmt.Sprintf("batch%d-%d", batch, i)), SetArgs{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// damage flips a byte in the middle of the first block of a file.
func damage(t *testing.T, fs vfs.FS, path string) {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	data[40] ^= 0x55
	w, err := fs.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	w.Sync()
	w.Close()
}

func snapFiles(t *testing.T, fs vfs.FS) []string {
	t.Helper()
	files, _ := snapshotFiles(fs, "/d/snapshots")
	return files
}

// TestSnapshotFallback: a damaged newest snapshot is never loaded; the one
// before it plus a longer replay gives the same state, since the log is
// kept back to the older snapshot's stamps. With both damaged, the start
// stops with a message naming the file and the log's gap.
func TestSnapshotFallback(t *testing.T) {
	fs := vfs.NewMem()
	e, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	for batch := 1; batch <= 3; batch++ {
		snapWrite(t, e, batch, 60)
		if err := e.Save(); err != nil {
			t.Fatal(err)
		}
	}
	snapWrite(t, e, 4, 30) // only in the log
	want := rcDump(t, e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	files := snapFiles(t, fs)
	if len(files) != 2 {
		t.Fatalf("%d snapshot files kept, want the newest 2: %v", len(files), files)
	}
	segs, _ := fs.List("/d/wal")
	info, err := wal.Scan(fs, "/d/wal", nil)
	if err != nil || info.FirstLSN <= 1 {
		t.Fatalf("log segments covered by both snapshots were not deleted (segments %v, first LSN %d, err %v)", segs, info.FirstLSN, err)
	}

	// Sound: the newest snapshot is loaded.
	r, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	if d := rcDiff(rcDump(t, r), want); d != "" {
		t.Fatalf("recovered state differs:\n%s", d)
	}
	if got := r.SaveStatus().LastPath; got != files[0] {
		t.Fatalf("loaded %s, want the newest %s", got, files[0])
	}
	r.Close()

	// Newest damaged: the previous one and a longer replay.
	damage(t, fs, files[0])
	r, err = snapOpen(t, fs)
	if err != nil {
		t.Fatalf("with the newest snapshot damaged: %v", err)
	}
	if d := rcDiff(rcDump(t, r), want); d != "" {
		t.Fatalf("recovered state (from the older snapshot) differs:\n%s", d)
	}
	if got := r.SaveStatus().LastPath; got != files[1] {
		t.Fatalf("loaded %s, want the older %s", got, files[1])
	}
	r.Close()

	// Both damaged: the log no longer reaches back; refuse to start.
	damage(t, fs, files[1])
	_, err = snapOpen(t, fs)
	if err == nil {
		t.Fatal("started with both snapshots damaged and the log's start deleted")
	}
	if !errors.Is(err, wal.ErrCorrupt) || !strings.Contains(err.Error(), "replay needs every LSN after 0") {
		t.Fatalf("error %q does not say the log does not reach back", err)
	}
}

// TestSnapshotVerifies: the files the engine writes pass snapshot.Verify
// and hold every key once.
func TestSnapshotVerifies(t *testing.T) {
	fs := vfs.NewMem()
	e, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	snapWrite(t, e, 1, 500)
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	r, err := snapshot.Open(fs, snapFiles(t, fs)[0])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	if got := r.Index.Keys(); got != 500 {
		t.Fatalf("snapshot holds %d keys, want 500", got)
	}
	if len(r.Index.Blocks) < 2 {
		t.Fatalf("%d blocks: the small block size was not used", len(r.Index.Blocks))
	}
}

// TestBGSaveInProgressAtOnce: once BGSave returns, SaveStatus says a
// snapshot is in progress or done, never "not started" (clients poll
// rdb_bgsave_in_progress right after BGSAVE's reply).
func TestBGSaveInProgressAtOnce(t *testing.T) {
	fs := vfs.NewMem()
	e, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	snapWrite(t, e, 1, 200)
	for i := 0; i < 20; i++ {
		before := e.SaveStatus().Saves
		if err := e.BGSave(); err != nil {
			t.Fatal(err)
		}
		if st := e.SaveStatus(); !st.InProgress && st.Saves == before {
			t.Fatalf("right after BGSave: not in progress and no new save (%+v)", st)
		}
		e.snap.bg.Wait()
	}
}

// TestSnapshotCrossShardWrites: while a snapshot is being taken, RENAME and
// COPY between keys of different shards log the value whole (a delete and
// an OpRestore), since recovery may replay one side of the write and not
// the other; replaying those effects gives the same state.
func TestSnapshotCrossShardWrites(t *testing.T) {
	e, err := Open(Options{Databases: 2, Shards: 16, Logger: rcQuiet, ActiveExpireHz: -1,
		Committer: newRcRecorder()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// Two keys of different shards.
	src, dst := []byte("a"), []byte("b")
	for i := 0; hashKey(src)&e.shardMask == hashKey(dst)&e.shardMask; i++ {
		dst = []byte(fmt.Sprintf("b%d", i))
	}
	var logged []Effect
	write := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := e.Update([][]byte{src, dst}, func(tx *Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			logged = append(logged[:0], tx.Effects()...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, taking := range []bool{false, true} {
		e.snap.taking.Store(taking)
		write(func(tx *Tx) error { _, err := tx.Set(0, src, []byte("v1"), SetArgs{ExpireAt: 5e12}); return err })
		write(func(tx *Tx) error { _, err := tx.Rename(0, src, dst, false); return err })
		ops := []Op{logged[0].Op}
		if len(logged) > 1 {
			ops = append(ops, logged[1].Op)
		}
		want := []Op{OpRename}
		if taking {
			want = []Op{OpDel, OpRestore}
		}
		if fmt.Sprint(ops) != fmt.Sprint(want) {
			t.Fatalf("taking=%v: RENAME logged %v, want %v", taking, ops, want)
		}
		// Replay on a fresh engine: the same state.
		r, _ := Open(Options{Databases: 2, Shards: 16, Logger: rcQuiet, ActiveExpireHz: -1})
		if err := r.Apply([]Effect{{Op: OpSet, DB: 0, Key: src, Value: []byte("v1"), ExpireAt: 5e12}}); err != nil {
			t.Fatal(err)
		}
		if err := r.Apply(logged); err != nil {
			t.Fatal(err)
		}
		if d := rcDiff(rcDump(t, r), rcDump(t, e)); d != "" {
			t.Fatalf("taking=%v: replayed RENAME differs:\n%s", taking, d)
		}
		r.Close()
		write(func(tx *Tx) error { _, err := tx.Copy(0, dst, 1, src, true); return err })
		if taking && (len(logged) != 1 || logged[0].Op != OpRestore || logged[0].DB != 1) {
			t.Fatalf("COPY during a snapshot logged %v, want one OpRestore into db 1", logged)
		}
		write(func(tx *Tx) error { _, err := tx.Del(0, dst); _, err2 := tx.Del(1, src); return errors.Join(err, err2) })
	}
	e.snap.taking.Store(false)
}

// BenchmarkSnapshotValueBigList encodes a list of 1M elements for a
// snapshot, as a background snapshot does under its shard's lock.
func BenchmarkSnapshotValueBigList(b *testing.B) {
	l := &listValue{}
	v := bytes.Repeat([]byte("x"), 64)
	for i := 0; i < 1_000_000; i++ {
		l.pushFront(v)
	}
	ent := newCollEntry([]byte("mylist"), l, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ent.snapshotValue(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotStrings takes a snapshot of a million string keys, as
// redis-benchmark's prefill leaves them: a key and a short value each,
// reached through the keyspace's tables in hash order, not the order
// they were allocated in.
func BenchmarkSnapshotStrings(b *testing.B) {
	fs := vfs.NewMem()
	e, err := Open(Options{Databases: 1, Logger: rcQuiet, ActiveExpireHz: -1,
		Snapshots: &SnapshotOptions{FS: fs, Dir: "/d/snapshots"}})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Load(); err != nil {
		b.Fatal(err)
	}
	const n = 1_000_000
	keys := make([][]byte, 0, 1000)
	for i := 0; i < n; i += cap(keys) {
		keys = keys[:0]
		for j := i; j < i+cap(keys); j++ {
			keys = append(keys, fmt.Appendf(nil, "key:%012d", j))
		}
		if err := e.Update(keys, func(tx *Tx) error {
			for _, k := range keys {
				if _, err := tx.Set(0, k, []byte("xxx"), SetArgs{}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if err := e.Save(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThaw copies a big collection, as a write to one that a running
// snapshot has frozen does (Tx.thaw) while its clients wait.
func BenchmarkThaw(b *testing.B) {
	const n = 1_000_000
	field := func(i int) []byte { return strconv.AppendInt([]byte("field:"), int64(i), 10) }
	cases := []struct {
		name  string
		build func() collection
	}{
		{"hash", func() collection {
			h := &hashValue{t: newStrTable(true, n)}
			for i := range n {
				h.t.set(field(i), []byte("xxx"))
			}
			return h
		}},
		{"set", func() collection {
			s := &setValue{t: newStrTable(false, n)}
			for i := range n {
				s.t.set(field(i), nil)
			}
			return s
		}},
		{"zset", func() collection {
			z := &zsetValue{}
			for i := range n {
				z.set(field(i), float64(i*7%n))
			}
			return z
		}},
		{"list", func() collection {
			l := &listValue{}
			for range 3 * n {
				l.pushFront([]byte("xxx"))
			}
			return l
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			v := c.build()
			for b.Loop() {
				_ = v.clone()
			}
		})
	}
}

// TestSnapshotDue: the save rules (Redis's `save <seconds> <changes>`)
// start a snapshot once both hold, and not before; a snapshot resets the
// count; a log grown past the growth rule starts one by itself.
func TestSnapshotDue(t *testing.T) {
	fs := vfs.NewMem()
	e, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// Times far from the clock: the snapshot loop, which reads the real
	// clock, never finds a rule due meanwhile.
	last := e.SaveStatus().LastSave
	e.SetSaveRules([]SaveRule{{Seconds: 3600, Changes: 5}})
	snapWrite(t, e, 0, 4)
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{{time.Hour - time.Second, false}, {time.Hour + time.Second, false}} {
		if got := e.snapshotDue(last.Add(tc.at)); (got != "") != tc.want {
			t.Fatalf("4 changes, %v after the last save: due %q, want %v", tc.at, got, tc.want)
		}
	}
	snapWrite(t, e, 1, 1)
	if got := e.snapshotDue(last.Add(time.Hour - time.Second)); got != "" {
		t.Fatalf("5 changes, before the hour: due %q", got)
	}
	if got := e.snapshotDue(last.Add(time.Hour + time.Second)); got != "5 changes in 3600 seconds" {
		t.Fatalf("5 changes, after the hour: due %q", got)
	}
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	if got := e.snapshotDue(time.Now().Add(2 * time.Hour)); got != "" {
		t.Fatalf("no change since the save: due %q", got)
	}

	// The log's growth: by at least the last snapshot's size (100 %) and
	// 1 byte. The loop starts the snapshot itself.
	e.SetSaveRules(nil)
	e.SetLogGrowth(100, 1)
	saves := e.SaveStatus().Saves
	for batch := 2; e.SaveStatus().Saves == saves; batch++ {
		if batch > 1000 {
			t.Fatalf("the log grew by %d bytes, the snapshot is %d: no snapshot started",
				e.LogStats().BytesWritten, e.SaveStatus().LastSize)
		}
		snapWrite(t, e, batch, 20)
		time.Sleep(10 * time.Millisecond) // polling: the loop looks every 100 ms
	}
}

// TestSnapshotDueCompressed: the log-growth rule compares the log with the
// snapshot's data before compression. A megabyte of zeros makes a
// snapshot file of a few kilobytes; a few hundred kilobytes of log are not
// yet twice the data.
func TestSnapshotDueCompressed(t *testing.T) {
	fs := vfs.NewMem()
	e, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.SetSaveRules(nil)
	e.SetLogGrowth(0, 0) // no snapshot from the loop while the test writes
	set := func(key string, val []byte) {
		t.Helper()
		k := []byte(key)
		if err := e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.Set(0, k, val, SetArgs{}); return err }); err != nil {
			t.Fatal(err)
		}
	}
	set("big", make([]byte, 1<<20))
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	if st := e.SaveStatus(); st.LastSize >= 256<<10 {
		t.Fatalf("snapshot file of %d bytes: the zeros did not compress", st.LastSize)
	}
	e.snap.mu.Lock()
	e.snap.growthPercent, e.snap.growthMin = 100, 1
	e.snap.mu.Unlock()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i := range 6 { // about 300 KB of log
		set(fmt.Sprintf("k%d", i), random(50_000))
	}
	e.wlog.WaitWritten(context.Background(), e.LastLSN())
	if got := e.snapshotDue(time.Now()); got != "" {
		t.Fatalf("log grown by %d bytes since a snapshot of 1 MB of data (%d in its file): due %q",
			e.LogStats().BytesWritten-e.snap.logAtSave, e.SaveStatus().LastSize, got)
	}
	for i := range 20 { // past the megabyte
		set(fmt.Sprintf("k%d", i), random(60_000))
	}
	e.wlog.WaitWritten(context.Background(), e.LastLSN())
	if got := e.snapshotDue(time.Now()); got == "" {
		t.Fatalf("log grown by %d bytes since a snapshot of 1 MB of data: not due", e.LogStats().BytesWritten-e.snap.logAtSave)
	}
}

// TestSnapshotFrozenCollections: a snapshot encodes a big collection after
// its shard's lock is released, so a write to the shard meanwhile is not
// held up; a write to that very collection changes a copy, and the
// snapshot holds the value at its stamp, which the log's replay then
// brings up to date.
func TestSnapshotFrozenCollections(t *testing.T) {
	fs := vfs.NewMem()
	e, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	list, hash := []byte("biglist"), []byte("bighash")
	var other []byte // a small key in the list's shard
	for i := 0; other == nil; i++ {
		if k := []byte(fmt.Sprintf("o%d", i)); hashKey(k)&e.shardMask == hashKey(list)&e.shardMask {
			other = k
		}
	}
	update := func(keys [][]byte, fn func(tx *Tx) error) {
		t.Helper()
		if err := e.Update(keys, fn); err != nil {
			t.Fatal(err)
		}
	}
	fillFrozen(t, e, list, hash)
	before := rcDump(t, e)

	listShard, hashShard := int(hashKey(list)&e.shardMask), int(hashKey(hash)&e.shardMask)
	wrote := 0
	e.snap.afterStamp = func(shard int) {
		if shard != listShard && shard != hashShard {
			return
		}
		if e.snap.nFrozen.Load() == 0 {
			t.Errorf("shard %d stamped with no collection frozen", shard)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			keys := [][]byte{list, hash, other}
			update(keys, func(tx *Tx) error {
				if shard == listShard {
					if _, err := tx.Set(0, other, []byte("x"), SetArgs{}); err != nil {
						return err
					}
					_, err := tx.Push(0, list, [][]byte{[]byte("new")}, true, false)
					return err
				}
				_, err := tx.HSet(0, hash, [][]byte{[]byte("f0"), []byte("changed")})
				return err
			})
		}()
		select {
		case <-done:
			wrote++
		case <-time.After(10 * time.Second):
			t.Fatalf("a write to shard %d waited for the snapshot's encoding", shard)
		}
	}
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	e.snap.afterStamp = nil
	if wrote != 2 && !(listShard == hashShard && wrote == 1) {
		t.Fatalf("%d writes during the encoding, want one per shard", wrote)
	}
	if e.snap.nFrozen.Load() != 0 {
		t.Fatalf("%d collections still frozen after the snapshot", e.snap.nFrozen.Load())
	}
	if n := e.snap.thawed.Load(); n != int64(wrote) {
		t.Fatalf("the writes to frozen collections copied %d of them, want %d", n, wrote)
	}
	after := rcDump(t, e)
	if d := rcDiff(after, before); d == "" {
		t.Fatal("the writes during the snapshot changed nothing")
	}

	// The snapshot alone holds the values as they were at the stamp.
	if d := rcDiff(snapshotOnlyDump(t, fs), before); d != "" {
		t.Fatalf("the snapshot is not the state at its stamps:\n%s", d)
	}

	// Snapshot and log: the state the writes left.
	closeAndRecover(t, e, fs, after)
}

// fillFrozen makes list and hash big enough for a snapshot to freeze them:
// 6000 elements of 60 bytes, about 370 KB encoded, past
// snapshotFreezeBytes.
func fillFrozen(t *testing.T, e *Engine, list, hash []byte) {
	t.Helper()
	elem := bytes.Repeat([]byte("e"), 60)
	for i := 0; i < 6000; i += 100 {
		vals, pairs := make([][]byte, 100), make([][]byte, 0, 200)
		for j := range vals {
			vals[j] = elem
			pairs = append(pairs, []byte(fmt.Sprintf("f%d", i+j)), elem)
		}
		if err := e.Update([][]byte{list, hash}, func(tx *Tx) error {
			if _, err := tx.Push(0, list, vals, true, false); err != nil {
				return err
			}
			_, err := tx.HSet(0, hash, pairs)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSnapshotFrozenKeepValue: a DEL, an EXPIRE, a RENAME, a COPY and a
// SET over frozen collections, while the snapshot encodes them, copy none
// (COPY makes only its own copy), but a push to the renamed key copies the
// collection it shares with the snapshot; the snapshot alone holds them as
// they were at the stamp, and the log brings the changes.
func TestSnapshotFrozenKeepValue(t *testing.T) {
	fs := vfs.NewMem()
	e, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	list, hash := []byte("biglist"), []byte("bighash")
	list2, hash2 := []byte("biglist2"), []byte("bighash2")
	fillFrozen(t, e, list, hash)
	fillFrozen(t, e, list2, hash2)
	list3, hash3 := []byte("biglist3"), []byte("bighash3")
	fillFrozen(t, e, list3, hash3)
	before := rcDump(t, e)
	at := time.Now().Add(time.Hour).UnixMilli()
	renamed, copied := []byte("renamed"), []byte("copied")
	ops := map[string]func(tx *Tx) error{
		string(list): func(tx *Tx) error {
			if ok, err := tx.Del(0, list); !ok || err != nil {
				return fmt.Errorf("DEL: %v %v", ok, err)
			}
			return nil
		},
		string(hash): func(tx *Tx) error {
			if ok, err := tx.Expire(0, hash, at, 0); !ok || err != nil {
				return fmt.Errorf("EXPIRE: %v %v", ok, err)
			}
			return nil
		},
		string(list2): func(tx *Tx) error {
			if ok, err := tx.Rename(0, list2, renamed, false); !ok || err != nil {
				return fmt.Errorf("RENAME: %v %v", ok, err)
			}
			_, err := tx.Push(0, renamed, [][]byte{[]byte("new")}, true, false)
			return err
		},
		string(hash2): func(tx *Tx) error {
			if ok, err := tx.Copy(0, hash2, 1, copied, false); !ok || err != nil {
				return fmt.Errorf("COPY: %v %v", ok, err)
			}
			return nil
		},
		string(list3): func(tx *Tx) error {
			if res, err := tx.Set(0, list3, []byte("a string now"), SetArgs{}); !res.Done || err != nil {
				return fmt.Errorf("SET: %v %v", res.Done, err)
			}
			return nil
		},
	}
	done := 0
	e.snap.afterStamp = func(shard int) {
		for key, op := range ops {
			if int(hashKey([]byte(key))&e.shardMask) != shard {
				continue
			}
			if e.snap.nFrozen.Load() == 0 {
				t.Errorf("shard %d stamped with no collection frozen", shard)
			}
			if err := e.Update([][]byte{[]byte(key), renamed, copied}, op); err != nil {
				t.Error(err)
			}
			done++
		}
	}
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	e.snap.afterStamp = nil
	if done != len(ops) {
		t.Fatalf("%d of %d writes ran while the snapshot encoded", done, len(ops))
	}
	if n := e.snap.thawed.Load(); n != 1 {
		t.Fatalf("%d frozen collections copied, want 1 (the push to the renamed key)", n)
	}
	after := rcDump(t, e)
	if d := rcDiff(after, before); d == "" {
		t.Fatal("the writes during the snapshot changed nothing")
	}
	if d := rcDiff(snapshotOnlyDump(t, fs), before); d != "" {
		t.Fatalf("the snapshot is not the state at its stamps:\n%s", d)
	}
	closeAndRecover(t, e, fs, after)
}

// TestSnapshotFrozenConcurrent: writers change big collections while
// snapshots encode them (run it with -race); the recovered state is the
// final one.
func TestSnapshotFrozenConcurrent(t *testing.T) {
	fs := vfs.NewMem()
	e, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	elem := bytes.Repeat([]byte("e"), 60)
	keys := [][]byte{[]byte("l1"), []byte("l2"), []byte("h1")}
	write := func(i int) error {
		k := keys[i%len(keys)]
		return e.Update([][]byte{k}, func(tx *Tx) error {
			if k[0] == 'h' {
				_, err := tx.HSet(0, k, [][]byte{[]byte(fmt.Sprintf("f%d", i%9000)), elem})
				return err
			}
			if i%7 == 0 {
				_, err := tx.Pop(0, k, false, 1)
				return err
			}
			_, err := tx.Push(0, k, [][]byte{elem}, i%2 == 0, false)
			return err
		})
	}
	for i := 0; i < 20000; i++ {
		if err := write(i); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	errc := make(chan error, 2)
	for w := 0; w < 2; w++ {
		go func() {
			for i := w; ; i += 2 {
				select {
				case <-stop:
					errc <- nil
					return
				default:
				}
				if err := write(i); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for s := 0; s < 3; s++ {
		if err := e.Save(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	for w := 0; w < 2; w++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	want := rcDump(t, e)
	closeAndRecover(t, e, fs, want)
}

// TestSnapshotFrozenRenamed: a frozen collection renamed into a shard the
// snapshot has yet to serialise, then written to there, is copied by that
// write: the snapshot holds the old key's value at its shard's stamp and
// the new key's at its own, and snapshot plus log give the final state.
func TestSnapshotFrozenRenamed(t *testing.T) {
	fs := vfs.NewMem()
	e, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	src := []byte("biglist")
	srcShard := int(hashKey(src) & e.shardMask)
	if srcShard == int(e.shardMask) {
		t.Skip("the list's shard is the last one") // not with 16 shards and this key
	}
	var dst []byte
	for i := 0; dst == nil; i++ {
		if k := []byte(fmt.Sprintf("d%d", i)); int(hashKey(k)&e.shardMask) > srcShard {
			dst = k
		}
	}
	elem := bytes.Repeat([]byte("e"), 60)
	for i := 0; i < 6000; i += 100 {
		vals := make([][]byte, 100)
		for j := range vals {
			vals[j] = elem
		}
		if err := e.Update([][]byte{src}, func(tx *Tx) error {
			_, err := tx.Push(0, src, vals, true, false)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	before := rcDump(t, e)
	e.snap.afterStamp = func(shard int) {
		if shard != srcShard {
			return
		}
		if err := e.Update([][]byte{src, dst}, func(tx *Tx) error {
			if _, err := tx.Rename(0, src, dst, false); err != nil {
				return err
			}
			_, err := tx.Push(0, dst, [][]byte{[]byte("new")}, true, false)
			return err
		}); err != nil {
			t.Error(err)
		}
	}
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	e.snap.afterStamp = nil
	after := rcDump(t, e)

	got := snapshotOnlyDump(t, fs)
	srcName, dstName := fmt.Sprintf("0/%q", src), fmt.Sprintf("0/%q", dst)
	if got[srcName] != before[srcName] {
		t.Fatalf("the snapshot's %s is not its value at its shard's stamp", src)
	}
	if got[dstName] != after[dstName] {
		t.Fatalf("the snapshot's %s is not its value at its shard's stamp (after the write)", dst)
	}
	closeAndRecover(t, e, fs, after)
}

// snapshotOnlyDump loads the newest snapshot in fs without the log and
// dumps it: the state at the snapshot's stamps.
func snapshotOnlyDump(t *testing.T, fs vfs.FS) map[string]string {
	t.Helper()
	e, err := Open(Options{Databases: 2, Shards: 16, Logger: rcQuiet, ActiveExpireHz: -1,
		Snapshots: &SnapshotOptions{FS: fs, Dir: "/d/snapshots", BlockSize: 128}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Load(); err != nil {
		t.Fatal(err)
	}
	return rcDump(t, e)
}

// closeAndRecover closes e, opens its log and snapshots in fs again and
// fails t unless the recovered state is want.
func closeAndRecover(t *testing.T, e *Engine, fs vfs.FS, want map[string]string) {
	t.Helper()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if d := rcDiff(rcDump(t, r), want); d != "" {
		t.Fatalf("recovered state differs:\n%s", d)
	}
}

// TestSnapshotSizeHintBounds: a collection's size hint is at least its
// encoding, for every type in both its forms and elements short and long,
// so that a big collection is encoded straight into the memory the hint
// sized (AddLarge) and never outgrows it onto the heap; and that the
// encoding calls its pace function every paceElems elements.
func TestSnapshotSizeHintBounds(t *testing.T) {
	e, err := Open(Options{ActiveExpireHz: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	fill := map[string]func(tx *Tx, key []byte, elems [][]byte) error{
		"list": func(tx *Tx, key []byte, elems [][]byte) error {
			_, err := tx.Push(0, key, elems, false, false)
			return err
		},
		"hash": func(tx *Tx, key []byte, elems [][]byte) error {
			pairs := make([][]byte, 0, 2*len(elems))
			for i, el := range elems {
				pairs = append(pairs, fmt.Appendf(nil, "f%d", i), el)
			}
			_, err := tx.HSet(0, key, pairs)
			return err
		},
		"set": func(tx *Tx, key []byte, elems [][]byte) error {
			_, err := tx.SAdd(0, key, elems)
			return err
		},
		"intset": func(tx *Tx, key []byte, elems [][]byte) error {
			ints := make([][]byte, len(elems))
			for i := range ints {
				ints[i] = fmt.Appendf(nil, "%d", -i*7919)
			}
			_, err := tx.SAdd(0, key, ints)
			return err
		},
		"zset": func(tx *Tx, key []byte, elems [][]byte) error {
			scores := make([]float64, len(elems))
			for i := range scores {
				scores[i] = float64(i) / 3
			}
			_, err := tx.ZAdd(0, key, scores, elems, ZAddFlags{})
			return err
		},
	}
	for typ, add := range fill {
		for _, n := range []int{5, 200, 20000} {
			for _, size := range []int{1, 20, 300} {
				key := fmt.Appendf(nil, "%s:%d:%d", typ, n, size)
				elems := make([][]byte, n)
				for i := range elems {
					elems[i] = fmt.Appendf(nil, "%0*d", size, i)
				}
				err := e.Update([][]byte{key}, func(tx *Tx) error {
					if err := add(tx, key, elems); err != nil {
						return err
					}
					c := tx.peek(0, key).collection()
					paces := 0
					_, v, err := collectionSnapshotValue(c, nil, func() { paces++ })
					if err != nil {
						return err
					}
					if want := n / paceElems; paces != want {
						t.Errorf("%s: paced %d times, want %d", key, paces, want)
					}
					if hint := snapshotSizeHint(c); hint < len(v) {
						t.Errorf("%s: size hint %d, encoding %d bytes", key, hint, len(v))
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestSnapshotLargeValueOffHeap: the encoding of a big collection is not
// allocated on Go's heap. It was, three times over (its encoding, the
// shard's buffer, the compressed block), and a client's SET waited up to
// 0.8 s for the collection that such growth started.
func TestSnapshotLargeValueOffHeap(t *testing.T) {
	fs := vfs.NewMem()
	e, err := snapOpen(t, fs)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	list := []byte("biglist")
	elem := bytes.Repeat([]byte("e"), 60)
	vals := make([][]byte, 1000)
	for i := range vals {
		vals[i] = elem
	}
	const n = 200_000 // elements: about 12 MB encoded
	for i := 0; i < n; i += len(vals) {
		if err := e.Update([][]byte{list}, func(tx *Tx) error {
			_, err := tx.Push(0, list, vals, true, false)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := rcDump(t, e)
	encoded := n * (1 + len(elem))
	allocs := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(allocs)
	before := allocs[0].Value.Uint64()
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	metrics.Read(allocs)
	if got := allocs[0].Value.Uint64() - before; got > uint64(encoded)/4 {
		t.Fatalf("a snapshot of a %d-byte list allocated %d bytes on the heap", encoded, got)
	}
	if got := snapshotOnlyDump(t, fs); !maps.Equal(got, want) {
		t.Fatalf("the snapshot holds %d keys, not those written", len(got))
	}
}

// TestSnapshotRefusedWhenDataDirGone: once the data directory is removed
// under a running engine, a snapshot fails with ErrDataDirGone, rather than
// create the directory again and succeed while the log's segments went
// with the old one, and SaveFailing says so. On the real disk: the point
// is what the OS does with a removed directory.
func TestSnapshotRefusedWhenDataDirGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	e := openT(t, Options{Logger: rcQuiet, ActiveExpireHz: -1,
		WAL:       &wal.Options{Dir: filepath.Join(dir, "wal"), Sync: wal.SyncAlways, Logger: rcQuiet},
		Snapshots: &SnapshotOptions{Dir: filepath.Join(dir, "snapshots"), Rules: []SaveRule{{Seconds: 3600, Changes: 1}}}})
	if _, err := e.Load(); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	snapWrite(t, e, 0, 10)
	if err := e.Save(); err != nil {
		t.Fatalf("snapshot with the data directory there: %v", err)
	}
	if e.SaveFailing() {
		t.Fatal("SaveFailing after a snapshot that succeeded")
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	snapWrite(t, e, 1, 10) // the log writes on, into its removed segment
	if err := e.Save(); !errors.Is(err, ErrDataDirGone) {
		t.Fatalf("snapshot after the data directory was removed: %v, want ErrDataDirGone", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the data directory was created again (stat: %v)", err)
	}
	if !e.SaveFailing() {
		t.Fatal("SaveFailing is false after the refused snapshot")
	}
}

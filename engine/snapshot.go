package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pkg/errors"

	"github.com/cairn-db/cairn/snapshot"
	"github.com/cairn-db/cairn/vfs"
)

// SnapshotOptions configure the engine's snapshots (Options.Snapshots).
type SnapshotOptions struct {
	// FS is the filesystem; default vfs.Default.
	FS vfs.FS
	// Dir holds the snapshot files (DIR/snapshots).
	Dir string
	// Rules are Redis's `save <seconds> <changes>` points: a background
	// snapshot starts when, for any rule, at least Changes writes happened
	// and Seconds passed since the last snapshot. Empty: no such rule.
	Rules []SaveRule
	// LogGrowthPercent and LogGrowthMin are Redis's
	// auto-aof-rewrite-percentage and auto-aof-rewrite-min-size: a
	// snapshot starts when the log has grown by LogGrowthMin bytes and by
	// LogGrowthPercent of the last snapshot's data (before compression)
	// since it. Percent 0 disables the rule.
	LogGrowthPercent int
	LogGrowthMin     int64
	// BlockSize is the snapshot's raw block size; default 256 KiB.
	BlockSize int
}

// SaveRule is one `save <seconds> <changes>` point.
type SaveRule struct {
	Seconds int64
	Changes int64
}

// ErrSaveInProgress is a snapshot requested while one is being taken.
var ErrSaveInProgress = errors.New("engine: a snapshot is already being taken")

// ErrDataDirGone is a snapshot refused because the directory that held the
// snapshot directory when the engine opened (the data directory) is gone.
var ErrDataDirGone = errors.New("engine: the data directory was removed while the server ran")

// SaveStatus is what INFO persistence reports about snapshots.
type SaveStatus struct {
	// InProgress: a snapshot is being taken; Started is when it began.
	InProgress bool
	Started    time.Time
	// ChangesSinceSave counts writes (effects) since the last snapshot.
	ChangesSinceSave int64
	// LastSave is when the last successful snapshot completed (engine
	// start when there was none).
	LastSave time.Time
	// LastOK: the last snapshot attempted succeeded; LastDuration is how
	// long it took; LastErr is its error when it failed.
	LastOK       bool
	LastDuration time.Duration
	LastErr      error
	// Saves counts successful snapshots since start.
	Saves int64
	// LastPath, LastKeys and LastSize describe the newest snapshot file.
	LastPath string
	LastKeys int64
	LastSize int64
}

// snapState is the engine's snapshot bookkeeping.
type snapState struct {
	// running serialises snapshots; taking holds while one is taken, and
	// makes cross-shard writes log self-contained effects (see Rename).
	running sync.Mutex
	taking  atomic.Bool
	// dirty counts effects committed since the last snapshot began.
	dirty atomic.Int64

	mu          sync.Mutex
	status      SaveStatus
	rules       []SaveRule
	lastFailure time.Time
	// parentAtOpen: the snapshot directory's parent (the data directory)
	// existed when the engine opened (see writeSnapshot).
	parentAtOpen bool
	// failing: the latest snapshot failed while save rules are in force
	// (see SaveFailing); set with mu held, read without.
	failing atomic.Bool
	// scheduled: BGSAVE SCHEDULE asked for a snapshot once the running
	// one is done.
	scheduled bool
	// growthPercent and growthMin are the log-growth rule in force.
	growthPercent int
	growthMin     int64
	// logAtSave is the log's byte count when the newest snapshot began.
	logAtSave int64
	// rawAtSave is the newest snapshot's entries' size before compression,
	// the base of the log-growth rule.
	rawAtSave int64
	// kept are the min stamps of the snapshot files kept, newest first.
	kept []keptSnapshot

	stop chan struct{}
	done chan struct{}
	// bg is the running background snapshot, if any.
	bg sync.WaitGroup

	// frozen are the big collections a snapshot has stamped but not yet
	// encoded (see writeSnapshot); a write must not change one in place
	// (see Tx.thaw). nFrozen is their number, for the writes' fast path.
	frozenMu sync.Mutex
	frozen   map[collection]struct{}
	nFrozen  atomic.Int32
	// thawed counts the collections thaw copied.
	thawed atomic.Int64
	// afterStamp, if set (tests), runs after a shard is stamped and
	// unlocked, before its frozen collections are encoded.
	afterStamp func(shard int)
}

// snapshotFreezeBytes is the encoded size (snapshotSizeHint) from which a
// snapshot encodes a collection after releasing its shard's lock rather
// than under it: the encoding of a list or hash of millions took its
// shard's writers 0.3-0.5 s.
const snapshotFreezeBytes = 256 << 10

// frozenValue is a big collection a snapshot encodes after its shard's
// lock is released, with its key and expiry as they were at the stamp.
type frozenValue struct {
	db       int
	key      []byte
	expireAt int64
	c        collection
	sizeHint int // snapshotSizeHint(c), which the freeze keeps as it is
}

func (s *snapState) freeze(c collection) {
	s.frozenMu.Lock()
	if s.frozen == nil {
		s.frozen = make(map[collection]struct{})
	}
	s.frozen[c] = struct{}{}
	s.nFrozen.Store(int32(len(s.frozen)))
	s.frozenMu.Unlock()
}

func (s *snapState) unfreeze(c collection) {
	s.frozenMu.Lock()
	delete(s.frozen, c)
	s.nFrozen.Store(int32(len(s.frozen)))
	s.frozenMu.Unlock()
}

func (s *snapState) isFrozen(c collection) bool {
	s.frozenMu.Lock()
	_, ok := s.frozen[c]
	s.frozenMu.Unlock()
	return ok
}

// thaw gives ent a copy of its collection if a snapshot has frozen the
// one it has: the snapshot must encode the value as it was at its shard's
// stamp. Every write transaction calls it on the entries it finds (peek,
// raw), before it can change them, save those that only remove, move,
// copy or replace an entry or change its expiry (lookupKeepValue); a
// moved entry keeps the frozen collection, which a later write to it
// copies. The copy is made at most once per snapshot, by a write of that
// very key while it is being encoded, and costs that write less than the
// encoding under the shard's lock cost every write of the shard. As with
// a forked Redis's copy-on-write, both copies are held until the snapshot
// lets go of its own.
func (tx *Tx) thaw(ent *entry) {
	if tx.e.snap.nFrozen.Load() == 0 || ent.kind() == KindString {
		return
	}
	if c := ent.collection(); tx.e.snap.isFrozen(c) {
		ent.setCollection(c.clone())
		tx.e.snap.thawed.Add(1)
	}
}

type keptSnapshot struct {
	path     string
	minStamp uint64
}

// Snapshotting reports whether snapshots are configured.
func (e *Engine) Snapshotting() bool { return e.opts.Snapshots != nil }

// SaveStatus returns the snapshots' state.
func (e *Engine) SaveStatus() SaveStatus {
	e.snap.mu.Lock()
	st := e.snap.status
	e.snap.mu.Unlock()
	st.ChangesSinceSave = e.snap.dirty.Load()
	return st
}

// SaveRules returns the `save` rules in force.
func (e *Engine) SaveRules() []SaveRule {
	e.snap.mu.Lock()
	defer e.snap.mu.Unlock()
	return append([]SaveRule(nil), e.snap.rules...)
}

// SetLogGrowth replaces the log-growth rule (CONFIG SET
// auto-aof-rewrite-percentage / auto-aof-rewrite-min-size).
func (e *Engine) SetLogGrowth(percent int, minBytes int64) {
	e.snap.mu.Lock()
	e.snap.growthPercent, e.snap.growthMin = percent, minBytes
	e.snap.mu.Unlock()
}

// SetSaveRules replaces the `save` rules (CONFIG SET save).
func (e *Engine) SetSaveRules(rules []SaveRule) {
	e.snap.mu.Lock()
	e.snap.rules = append([]SaveRule(nil), rules...)
	e.noteFailing()
	e.snap.mu.Unlock()
}

// SaveFailing reports whether the latest snapshot failed while save rules
// are in force: the state in which Redis, with stop-writes-on-bgsave-error,
// refuses writes. It costs one atomic load, for it is asked before every
// write.
func (e *Engine) SaveFailing() bool { return e.snap.failing.Load() }

// noteFailing updates SaveFailing's answer; snap.mu is held.
func (e *Engine) noteFailing() {
	e.snap.failing.Store(!e.snap.status.LastOK && len(e.snap.rules) > 0)
}

// Save takes a snapshot and returns when it is durable. Clients keep
// reading and writing meanwhile: shards are serialised one at a time, each
// under its own read lock.
func (e *Engine) Save() error {
	if e.opts.Snapshots == nil {
		return errors.New("engine: snapshots are not configured")
	}
	if !e.snap.running.TryLock() {
		return ErrSaveInProgress
	}
	defer e.snap.running.Unlock()
	return e.save()
}

// BGSave starts a snapshot in the background.
func (e *Engine) BGSave() error {
	if e.opts.Snapshots == nil {
		return errors.New("engine: snapshots are not configured")
	}
	if !e.snap.running.TryLock() {
		return ErrSaveInProgress
	}
	// In progress from the reply on, as Redis's BGSAVE: a client polling
	// INFO right after it must not see the snapshot as done.
	e.snap.mu.Lock()
	e.snap.status.InProgress, e.snap.status.Started = true, time.Now()
	e.snap.mu.Unlock()
	e.snap.bg.Add(1)
	go func() {
		defer e.snap.bg.Done()
		defer e.snap.running.Unlock()
		if err := e.save(); err != nil {
			e.log.Error("background snapshot failed", "err", err)
		}
	}()
	return nil
}

// ScheduleSave asks for a background snapshot as soon as the running one
// is done (BGSAVE SCHEDULE).
func (e *Engine) ScheduleSave() {
	e.snap.mu.Lock()
	e.snap.scheduled = true
	e.snap.mu.Unlock()
}

// SaveWaiting is Save, but waits for a running snapshot to finish first
// instead of failing (SAVE, and the snapshot at shutdown).
func (e *Engine) SaveWaiting() error {
	if e.opts.Snapshots == nil {
		return errors.New("engine: snapshots are not configured")
	}
	e.snap.running.Lock()
	defer e.snap.running.Unlock()
	return e.save()
}

// save takes a snapshot; the caller holds snap.running.
func (e *Engine) save() error {
	start := time.Now()
	e.snap.mu.Lock()
	e.snap.status.InProgress, e.snap.status.Started = true, start
	e.snap.mu.Unlock()
	dirtyAtStart := e.snap.dirty.Load()
	logAtStart := e.LogStats().BytesWritten

	path, ix, size, err := e.writeSnapshot()
	if err == nil {
		err = e.retire(path, ix)
	}

	e.snap.mu.Lock()
	st := &e.snap.status
	st.InProgress = false
	st.LastDuration = time.Since(start)
	st.LastOK, st.LastErr = err == nil, err
	if err == nil {
		st.LastSave = time.Now()
		st.Saves++
		st.LastPath, st.LastKeys, st.LastSize = path, ix.Keys(), size
		e.snap.logAtSave = logAtStart
		e.snap.rawAtSave = ix.RawBytes()
		e.snap.dirty.Add(-dirtyAtStart)
	} else {
		e.snap.lastFailure = time.Now()
	}
	e.noteFailing()
	e.snap.mu.Unlock()
	if err != nil {
		return err
	}
	e.log.Info("snapshot saved", "file", path, "keys", ix.Keys(), "bytes", size,
		"min_lsn", ix.MinStamp(), "max_lsn", ix.MaxStamp(), "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

func (e *Engine) writeSnapshot() (string, *snapshot.Index, int64, error) {
	so := e.opts.Snapshots
	if e.snap.parentAtOpen {
		// Creating the snapshot directory would create the data directory
		// again, and report success, while the log's segments (and the
		// snapshots before) went with the old one: a restart would load
		// this snapshot without the writes logged after it.
		parent := filepath.Dir(so.Dir)
		if _, err := so.FS.Stat(parent); errors.Is(err, os.ErrNotExist) {
			return "", nil, 0, errors.Wrapf(ErrDataDirGone, "snapshot into %s", parent)
		} else if err != nil {
			return "", nil, 0, errors.Wrapf(err, "snapshot into %s", parent)
		}
	}
	w, err := snapshot.Create(snapshot.WriterOptions{
		FS: so.FS, Dir: so.Dir, Shards: len(e.shards), Created: e.nowMs(), BlockSize: so.BlockSize,
		// AddLarge runs outside the shard's lock: it may yield between
		// pieces of its compression (see collectionSnapshotValue).
		Pace: runtime.Gosched,
	})
	if err != nil {
		return "", nil, 0, err
	}
	e.snap.taking.Store(true)
	var scratch []byte
	// The snapshot yields its P after each shard and each big collection,
	// not under a shard's lock: clients woken onto its P's run queue
	// would otherwise wait for the scheduler's 10 ms time slice, but a
	// yield under the lock made the shard's writers wait for every
	// runnable goroutine too (INCR -P 16 during a snapshot of 1.7M keys:
	// yielding every 512 entries, the lock was held up to 10-20 ms, p99
	// 5-12 ms, 610-730k/s; yielding between shards, 4-10 ms, p99 4.4-5.0
	// ms, 758-767k/s).
	var frozen []frozenValue
	defer func() {
		for _, f := range frozen {
			e.snap.unfreeze(f.c)
		}
	}()
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.RLock()
		w.BeginShard(i)
		for db := range sh.dbs {
			sd := &sh.dbs[db]
			if sd.count == 0 {
				continue
			}
			for _, t := range sd.slots {
				t.eachWarm(func(ent *entry) bool {
					if c := ent.collection(); c != nil {
						if hint := snapshotSizeHint(c); hint >= snapshotFreezeBytes {
							e.snap.freeze(c)
							frozen = append(frozen, frozenValue{db: db, key: ent.keyBytes(), expireAt: ent.expireAt, c: c, sizeHint: hint})
							return true
						}
					}
					typ, v, verr := ent.snapshotValue(scratch[:0])
					if verr != nil {
						err = verr
						return false
					}
					if typ != snapshot.TypeString {
						scratch = v // a string's v is the entry's own memory
					}
					w.Add(db, typ, ent.keyBytes(), ent.expireAt, v)
					return true
				})
				if err != nil {
					break
				}
			}
		}
		// Under the lock: every write to this shard up to stamp is in the
		// entries, none after it.
		stamp := e.LastLSN()
		sh.mu.RUnlock()
		if err != nil {
			break
		}
		if e.snap.afterStamp != nil {
			e.snap.afterStamp(i)
		}
		for j, f := range frozen {
			// Encoded straight into the writer's block, off the heap (see
			// AddLarge), yielding every few thousand elements.
			err = w.AddLarge(f.db, f.key, f.expireAt, f.sizeHint, func(dst []byte) (snapshot.Type, []byte, error) {
				return collectionSnapshotValue(f.c, dst, runtime.Gosched)
			})
			if err != nil {
				break
			}
			e.snap.unfreeze(f.c)
			frozen[j] = frozenValue{}
			runtime.Gosched()
		}
		if err != nil {
			break // the deferred unfreeze lets go of the rest
		}
		frozen = frozen[:0]
		if err = w.EndShard(stamp); err != nil {
			break
		}
		runtime.Gosched()
	}
	e.snap.taking.Store(false)
	if err != nil {
		w.Abort()
		return "", nil, 0, err
	}
	// A snapshot must never be ahead of the durable log: were the log to
	// lose its unsynced tail in a crash, the snapshot would hold writes
	// whose LSNs the log hands out again.
	if err := e.WaitSynced(context.Background(), w.Index().MaxStamp()); err != nil {
		w.Abort()
		return "", nil, 0, errors.Wrap(err, "fsync the log up to the snapshot")
	}
	path, err := w.Commit()
	if err != nil {
		return "", nil, 0, err
	}
	var size int64
	if fi, serr := so.FS.Stat(path); serr == nil {
		size = fi.Size()
	}
	return path, w.Index(), size, nil
}

// retire keeps the new snapshot and the one before it (the fallback, should
// the new one turn out damaged), removes older ones and the log segments
// that neither needs.
func (e *Engine) retire(path string, ix *snapshot.Index) error {
	so := e.opts.Snapshots
	e.snap.mu.Lock()
	kept := []keptSnapshot{{path: path, minStamp: ix.MinStamp()}}
	for _, k := range e.snap.kept {
		if k.path != path && len(kept) < 2 {
			kept = append(kept, k)
		}
	}
	e.snap.kept = kept
	e.snap.mu.Unlock()

	names, err := so.FS.List(so.Dir)
	if err != nil {
		return errors.Wrapf(err, "list %s", so.Dir)
	}
	removed := false
	for _, name := range names {
		p := filepath.Join(so.Dir, name)
		_, isSnap := snapshot.ParseFileName(name)
		stale := isSnap && p != kept[0].path && (len(kept) < 2 || p != kept[1].path)
		if stale || (filepath.Ext(name) == ".tmp" && !e.snap.taking.Load()) {
			if err := so.FS.Remove(p); err != nil {
				return errors.Wrapf(err, "remove old snapshot %s", p)
			}
			removed = true
		}
	}
	if removed {
		if err := so.FS.SyncDir(so.Dir); err != nil {
			return errors.Wrapf(err, "fsync directory %s", so.Dir)
		}
	}
	if e.wlog != nil && len(kept) == 2 {
		// The log must still reach back to the older snapshot's stamps.
		if _, err := e.wlog.RemoveSegmentsThrough(kept[1].minStamp); err != nil {
			return errors.Wrap(err, "remove log segments the snapshots cover")
		}
	}
	return nil
}

// snapshotValue returns the entry's type and value as the snapshot codecs
// encode it, appending to dst where it must encode.
func (ent *entry) snapshotValue(dst []byte) (snapshot.Type, []byte, error) {
	c := ent.collection()
	if c == nil {
		return snapshot.TypeString, ent.value(), nil
	}
	return collectionSnapshotValue(c, dst, nil)
}

// collectionSnapshotValue is snapshotValue of a collection. pace, if not
// nil, is called after every paceElems elements: a snapshot encoding a big
// collection outside its shard's lock yields there, so that on a server of
// one P the clients are not held up for the whole collection (a hash of
// 330k fields took 20-40 ms; Go preempts a goroutine only after 10 ms).
func collectionSnapshotValue(c collection, dst []byte, pace func()) (snapshot.Type, []byte, error) {
	// Sized once: grown by appends, the value of a collection of millions
	// was copied over and over, under its shard's lock (measured: a
	// fifth of the CPU of an LPUSH benchmark whose log growth started
	// snapshots).
	if n := snapshotSizeHint(c); n > cap(dst) {
		dst = slices.Grow(dst[:0], n)
	}
	switch c := c.(type) {
	case *hashValue:
		p := pacer{pace: pace}
		dst = snapshot.AppendCount(dst, c.length())
		c.each(func(f, v []byte) bool {
			dst = snapshot.AppendBytes(snapshot.AppendBytes(dst, f), v)
			p.step()
			return true
		})
		return snapshot.TypeHash, dst, nil
	case *setValue:
		p := pacer{pace: pace}
		dst = snapshot.AppendCount(dst, c.length())
		c.each(func(m []byte) bool {
			dst = snapshot.AppendBytes(dst, m)
			p.step()
			return true
		})
		return snapshot.TypeSet, dst, nil
	}
	return snapshotValueMore(c, dst, pace)
}

// paceElems is how many elements of a big collection a snapshot encodes
// between two calls of its pace function: about half a millisecond.
const paceElems = 4096

// pacer calls pace (if set) every paceElems steps.
type pacer struct {
	pace func()
	n    int
}

func (p *pacer) step() {
	if p.pace == nil {
		return
	}
	if p.n++; p.n == paceElems {
		p.n = 0
		p.pace()
	}
}

// snapshotSizeHint estimates the size of c's snapshot encoding, so that
// the buffer is sized once (appends still grow it when it falls short).
func snapshotSizeHint(c collection) int {
	const count = 10 // the element count's varint
	switch c := c.(type) {
	case *hashValue:
		if c.t != nil {
			return count + c.t.chunkBytes
		}
		return count + len(c.lp)
	case *setValue:
		if c.t != nil {
			return count + c.t.chunkBytes
		}
		return count + len(c.ints)*21
	case *listValue:
		n := count
		for _, ch := range c.chunks {
			n += ch.used()
		}
		return n
	case *zsetValue:
		if !c.big() {
			// A packed integer score takes a byte or more; encoded, 8.
			return count + len(c.lp) + 7*c.length()
		}
		// Each member's length (at most 5 bytes) and score (8), and
		// its bytes, which memberBytes bounds from above.
		return count + c.length()*(binary.MaxVarintLen32+8) + c.bf.memberBytes
	}
	return 0
}

// collectionFromSnapshot rebuilds a collection from its snapshot encoding,
// choosing the encoding as Redis does when it loads one: by size.
func collectionFromSnapshot(t snapshot.Type, value []byte) (collection, error) {
	var it snapshot.Elems
	if err := it.Reset(t, value); err != nil {
		return nil, err
	}
	n := it.Len()
	switch t {
	case snapshot.TypeHash:
		big := n > hashMaxListpackEntries
		size := 0 // of the listpack form: sized once, not grown
		for i := 0; !big; i++ {
			f, v, _, ok := it.Next()
			if !ok {
				break
			}
			big = len(f) > hashMaxListpackValue || len(v) > hashMaxListpackValue
			size += uvarintLen(uint64(len(f))) + len(f) + uvarintLen(uint64(len(v))) + len(v)
		}
		if err := it.Reset(t, value); err != nil {
			return nil, err
		}
		b := newHashBuilder(n, big)
		if !big {
			b.h.lp = make([]byte, 0, size)
		}
		for {
			f, v, _, ok := it.Next()
			if !ok {
				break
			}
			b.add(f, v)
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		return nonEmpty(b.done())
	case snapshot.TypeSet:
		var ints []int64
		if n <= setMaxIntsetEntries {
			ints = make([]int64, 0, n)
			for {
				m, _, _, ok := it.Next()
				if !ok {
					break
				}
				v, isInt := ParseInt(m)
				if !isInt {
					ints = nil
					break
				}
				ints = append(ints, v)
			}
			if err := it.Err(); err != nil {
				return nil, err
			}
			if err := it.Reset(t, value); err != nil {
				return nil, err
			}
		}
		if ints != nil {
			slices.Sort(ints)
			b := newSetBuilder(n, false)
			for i, v := range ints {
				if i > 0 && v == ints[i-1] {
					return nil, fmt.Errorf("%w: set member %d repeated", snapshot.ErrCorrupt, v)
				}
				if err := b.add(strconv.AppendInt(nil, v, 10)); err != nil {
					return nil, err
				}
			}
			return nonEmpty(b.done())
		}
		b := newSetBuilder(n, true)
		for {
			m, _, _, ok := it.Next()
			if !ok {
				break
			}
			if err := b.add(m); err != nil {
				return nil, err
			}
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		return nonEmpty(b.done())
	}
	return collectionFromSnapshotMore(t, value)
}

// nonEmpty refuses an empty collection: one is never stored.
func nonEmpty(c collection) (collection, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: empty collection", snapshot.ErrCorrupt)
	}
	return c, nil
}

// snapshotValueMore and collectionFromSnapshotMore are the codecs of lists
// and sorted sets.
func snapshotValueMore(c collection, dst []byte, pace func()) (snapshot.Type, []byte, error) {
	p := pacer{pace: pace}
	switch c := c.(type) {
	case *listValue:
		dst = snapshot.AppendCount(dst, c.length())
		c.each(func(v []byte) bool {
			dst = snapshot.AppendBytes(dst, v)
			p.step()
			return true
		})
		return snapshot.TypeList, dst, nil
	case *zsetValue:
		dst = snapshot.AppendCount(dst, c.length())
		c.each(func(m []byte, score float64) bool {
			dst = snapshot.AppendScore(snapshot.AppendBytes(dst, m), score)
			p.step()
			return true
		})
		return snapshot.TypeZSet, dst, nil
	}
	return 0, dst, fmt.Errorf("engine: no snapshot codec for %v values", c.kind())
}

func collectionFromSnapshotMore(t snapshot.Type, value []byte) (collection, error) {
	var it snapshot.Elems
	if err := it.Reset(t, value); err != nil {
		return nil, err
	}
	var c collection
	switch t {
	case snapshot.TypeList:
		b := newListBuilder(it.Len())
		// A short list gets one chunk of exactly its size, not one grown
		// by doubling as pushes grow it.
		size := 0
		for {
			v, _, _, ok := it.Next()
			if !ok {
				break
			}
			size += packedSize(len(v))
		}
		if err := it.Reset(t, value); err != nil {
			return nil, err
		}
		if size > 0 && size <= listChunkBytes {
			b.l.chunks = []*listChunk{{buf: make([]byte, size)}}
			b.l.bufBytes = bufCost(size)
		}
		for {
			v, _, _, ok := it.Next()
			if !ok {
				break
			}
			b.add(v)
		}
		c = b.done()
	case snapshot.TypeZSet:
		// A small set's pack is sized first, as a short list's chunk.
		packed := 0
		if it.Len() <= zsetSmallEntries {
			for {
				m, _, score, ok := it.Next()
				if !ok {
					break
				}
				packed += zpackItemSize(m, score)
			}
			if err := it.Reset(t, value); err != nil {
				return nil, err
			}
		}
		b := newZSetBuilder(it.Len(), packed)
		var prev []byte
		var prevScore float64
		for i := 0; ; i++ {
			m, _, score, ok := it.Next()
			if !ok {
				break
			}
			// The builder trusts the order: check it (a forged but
			// checksummed file must not break the set's invariants).
			if i > 0 && (score < prevScore || score == prevScore && string(m) <= string(prev)) {
				return nil, fmt.Errorf("%w: sorted set members out of order", snapshot.ErrCorrupt)
			}
			prev, prevScore = m, score
			b.add(m, score)
		}
		c = b.done()
	default:
		return nil, fmt.Errorf("engine: no snapshot codec for %v values", t)
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	return nonEmpty(c)
}

// ---- loading ----

// snapshotFiles lists the snapshot files in dir, newest first.
func snapshotFiles(fs vfs.FS, dir string) ([]string, error) {
	names, err := fs.List(dir)
	if err != nil {
		return nil, nil // no directory: no snapshot
	}
	var out []string
	for _, n := range names {
		if _, ok := snapshot.ParseFileName(n); ok {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out, nil
}

// loadSnapshot loads the newest snapshot that is sound, falling back to
// older ones. It returns the stamps of the one loaded (nil: none).
func (e *Engine) loadSnapshot() (*snapshot.Index, string, error) {
	so := e.opts.Snapshots
	files, _ := snapshotFiles(so.FS, so.Dir)
	var firstErr error
	for _, path := range files {
		ix, err := e.loadSnapshotFile(path)
		if err == nil {
			if firstErr != nil {
				e.log.Warn("loaded an older snapshot; the log is replayed from its stamps", "file", path)
			}
			return ix, path, nil
		}
		e.log.Error("snapshot not loaded", "file", path, "err", err)
		if firstErr == nil {
			firstErr = err
		}
		e.resetKeyspace()
	}
	if firstErr != nil {
		// Nothing sound: the whole log must then rebuild the data.
		return nil, "", errors.Wrap(firstErr, "no sound snapshot")
	}
	return nil, "", nil
}

// resetKeyspace empties every database, without logging (a failed load).
func (e *Engine) resetKeyspace() {
	for i := range e.shards {
		for db := range e.shards[i].dbs {
			sd := &e.shards[i].dbs[db]
			for j := range sd.slots {
				sd.slots[j] = nil
			}
			sd.count, sd.volatile = 0, nil
			e.dropShardDBMem(sd)
		}
	}
}

// loadSnapshotFile decodes a snapshot's blocks on every core and inserts
// their entries. Decoded blocks become the memory of the strings they
// hold: keys and string values point into them, so that loading costs
// about one allocation per block, not several per key.
func (e *Engine) loadSnapshotFile(path string) (*snapshot.Index, error) {
	so := e.opts.Snapshots
	r, err := snapshot.Open(so.FS, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ix := r.Index
	for _, st := range ix.Stats {
		if st.DB >= e.dbs {
			return nil, errors.Errorf("snapshot %s has keys in db %d, but only %d databases are configured", path, st.DB, e.dbs)
		}
	}
	// No collection while loading: the heap only grows (what loading
	// leaves behind, collection blocks, is given back once it is done), and
	// each cycle would mark everything loaded so far again. A memory limit
	// (GOMEMLIMIT, from maxmemory) still makes the runtime collect.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	e.loadMu.Lock()
	e.loadProgress.SnapshotTotal, e.loadProgress.SnapshotSize = ix.Keys(), r.Size
	e.loadMu.Unlock()
	e.presize(ix)
	workers := min(runtime.GOMAXPROCS(0), max(1, len(ix.Blocks)))
	queue := newBlockQueue(len(ix.Blocks), workers)
	var loaded atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for wi := 0; wi < workers; wi++ {
		wg.Add(1)
		go func(wi int) {
			defer wg.Done()
			for {
				i, ok := queue.next(wi)
				if !ok {
					return
				}
				n, err := e.loadBlock(r, i)
				if err != nil {
					errs[wi] = err
					queue.stop()
					return
				}
				if total := loaded.Add(int64(n)); wi == 0 {
					e.loadMu.Lock()
					e.loadProgress.SnapshotKeys = total
					e.loadMu.Unlock()
				}
			}
		}(wi)
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(3 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				e.log.Info("loading the snapshot", "file", path, "keys", loaded.Load(), "of", ix.Keys(),
					"elapsed", time.Since(start).Round(time.Millisecond))
			}
		}
	}()
	wg.Wait()
	close(done)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	e.loadMu.Lock()
	e.loadProgress.SnapshotKeys = loaded.Load()
	e.loadMu.Unlock()
	return ix, nil
}

func (e *Engine) loadBlock(r *snapshot.Reader, i int) (int, error) {
	raw, err := r.Block(i, nil)
	if err != nil {
		return 0, err
	}
	bl := r.Index.Blocks[i]
	// One allocation for the string entries of the block (made at the
	// first one: a block of collections has none, and under maxmemory
	// each string gets its own); their keys and values stay where the
	// block decoded them.
	var ents []entry
	it := snapshot.NewEntries(raw)
	var se snapshot.Entry
	n := 0
	var locked *shard
	copyStrings := e.evict.maxMemory.Load() > 0
	now := e.nowMs()
	var charged int64
	defer func() { e.mem.Add(charged) }()
	for it.Next(&se) {
		if n == bl.Entries {
			return 0, &snapshot.CorruptError{File: r.Path, Offset: bl.Offset,
				Reason: fmt.Sprintf("block %d has more entries than the index's %d", i, bl.Entries)}
		}
		if se.DB >= e.dbs {
			return 0, errors.Errorf("snapshot %s: key in db %d, only %d databases configured", r.Path, se.DB, e.dbs)
		}
		var ent *entry
		if se.Type == snapshot.TypeString && copyStrings {
			// Under maxmemory, keys are evicted one by one: a key must
			// not keep a whole block alive.
			ent = newStringEntry(se.Key, se.Value, se.ExpireAt)
		} else if se.Type == snapshot.TypeString {
			if ents == nil {
				ents = make([]entry, bl.Entries)
			}
			ent = &ents[n]
			*ent = entry{expireAt: se.ExpireAt, typ: KindString, klen: uint32(len(se.Key)),
				vlen: uint32(len(se.Value)), vcap: uint32(len(se.Value))}
			switch {
			case len(se.Key) > 0:
				ent.kv = unsafe.Pointer(&se.Key[0])
			case len(se.Value) > 0:
				ent.kv = unsafe.Pointer(&se.Value[0])
			}
		} else {
			c, err := collectionFromSnapshot(se.Type, se.Value)
			if err != nil {
				return 0, errors.Wrapf(err, "snapshot %s block %d key %q", r.Path, i, se.Key)
			}
			ent = newCollEntry(se.Key, c, se.ExpireAt)
		}
		n++
		h := hashKey(se.Key)
		sh := &e.shards[h&e.shardMask]
		if sh != locked {
			if locked != nil {
				locked.mu.Unlock()
			}
			sh.mu.Lock()
			locked = sh
		}
		e.initAccessAt(ent, now)
		sd := &sh.dbs[se.DB]
		slot := int(h%NumSlots) / len(e.shards)
		if sd.slots[slot] == nil {
			sd.mem += tableOverhead
			charged += tableOverhead
		}
		if old := sd.put(slot, ent, h); old != nil {
			n := old.memSize()
			sd.mem -= n
			charged -= n
		}
		n := ent.memSize()
		sd.mem += n
		charged += n
	}
	if locked != nil {
		locked.mu.Unlock()
	}
	if err := it.Err(); err != nil {
		return 0, &snapshot.CorruptError{File: r.Path, Offset: bl.Offset, Reason: fmt.Sprintf("block %d: %v", i, err)}
	}
	if n != bl.Entries {
		return 0, &snapshot.CorruptError{File: r.Path, Offset: bl.Offset,
			Reason: fmt.Sprintf("block %d has %d entries, the index says %d", i, n, bl.Entries)}
	}
	return n, nil
}

// presize makes the slot tables of an empty engine big enough for the
// snapshot's keys, so that loading does not grow them step by step (each
// step is garbage the size of the table).
func (e *Engine) presize(ix *snapshot.Index) {
	perDB := make([]int64, e.dbs)
	for _, st := range ix.Stats {
		if st.DB < e.dbs {
			perDB[st.DB] += st.Keys
		}
	}
	for db, n := range perDB {
		hint := int(n / NumSlots)
		if hint < 8 {
			continue
		}
		hint += hint / 8 // slots are not filled evenly
		for i := range e.shards {
			sd := &e.shards[i].dbs[db]
			for j := range sd.slots {
				if sd.slots[j] == nil {
					sd.slots[j] = newTable(hint)
					sd.mem += tableOverhead
					e.mem.Add(tableOverhead)
				}
			}
		}
	}
}

// replayStamps maps a key to the stamp of its shard in the loaded
// snapshot, whatever the current shard count.
type replayStamps struct {
	stamps   []uint64
	mask     uint32
	min, max uint64
}

func newReplayStamps(stamps []uint64) *replayStamps {
	rs := &replayStamps{stamps: stamps, mask: uint32(len(stamps) - 1)}
	if len(stamps)&(len(stamps)-1) != 0 {
		rs.mask = 0 // not a power of two: never written so; be safe
	}
	rs.min, rs.max = stamps[0], stamps[0]
	for _, s := range stamps {
		rs.min, rs.max = min(rs.min, s), max(rs.max, s)
	}
	return rs
}

func (rs *replayStamps) of(key []byte) uint64 {
	if rs.mask == 0 && len(rs.stamps) != 1 {
		return rs.min
	}
	return rs.stamps[(hashKey(key)%NumSlots)&rs.mask]
}

// shardsBefore marks the current shards all of whose slots have a stamp
// before lsn (so a flush at lsn is not yet in them). With the snapshot's
// shard count equal to the engine's, that is exactly the shard's stamp.
func (rs *replayStamps) shardsBefore(lsn uint64, shards int, dst []bool) []bool {
	dst = append(dst[:0], make([]bool, shards)...)
	for i := range dst {
		dst[i] = true
	}
	for slot := 0; slot < NumSlots; slot++ {
		if rs.stamps[uint32(slot)&rs.mask] >= lsn {
			dst[slot%shards] = false
		}
	}
	return dst
}

// flushFiltered applies a flush to the shards a snapshot had not yet
// seen it in. (A flush is logged alone in its record.)
func (e *Engine) flushFiltered(ef *Effect, shards []bool) {
	for i := range e.shards {
		if !shards[i] {
			continue
		}
		for db := range e.shards[i].dbs {
			if ef.Op == OpFlushDB && db != ef.DB {
				continue
			}
			sd := &e.shards[i].dbs[db]
			for j := range sd.slots {
				sd.slots[j] = nil
			}
			sd.count, sd.volatile = 0, nil
			e.dropShardDBMem(sd)
		}
	}
}

// noteLoadedSnapshot remembers the loaded snapshot and the one before it
// as the files kept, so that the next snapshot retires the right ones.
func (e *Engine) noteLoadedSnapshot(path string, ix *snapshot.Index) {
	kept := []keptSnapshot{{path: path, minStamp: ix.MinStamp()}}
	files, _ := snapshotFiles(e.opts.Snapshots.FS, e.opts.Snapshots.Dir)
	for _, f := range files {
		if f >= path {
			continue
		}
		if r, err := snapshot.Open(e.opts.Snapshots.FS, f); err == nil {
			kept = append(kept, keptSnapshot{path: f, minStamp: r.Index.MinStamp()})
			r.Close()
			break
		}
	}
	e.snap.mu.Lock()
	e.snap.kept = kept
	e.snap.status.LastPath, e.snap.status.LastKeys = path, ix.Keys()
	e.snap.mu.Unlock()
}

// ---- scheduling ----

// snapshotLoop starts snapshots by the save rules and the log-growth rule.
func (e *Engine) snapshotLoop() {
	defer close(e.snap.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-e.snap.stop:
			return
		case <-t.C:
			if reason := e.snapshotDue(time.Now()); reason != "" {
				if err := e.BGSave(); err == nil {
					e.log.Info("starting a background snapshot", "reason", reason)
				}
			}
		}
	}
}

// snapshotDue says why a snapshot should start now, or "".
func (e *Engine) snapshotDue(now time.Time) string {
	dirty := e.snap.dirty.Load()
	e.snap.mu.Lock()
	defer e.snap.mu.Unlock()
	st := e.snap.status
	if st.InProgress {
		return ""
	}
	if e.snap.scheduled {
		e.snap.scheduled = false
		return "BGSAVE SCHEDULE"
	}
	// After a failure, wait a little before trying again (as Redis does).
	if !e.snap.lastFailure.IsZero() && now.Sub(e.snap.lastFailure) < 5*time.Second {
		return ""
	}
	elapsed := int64(now.Sub(st.LastSave) / time.Second)
	for _, r := range e.snap.rules {
		if dirty >= r.Changes && elapsed >= r.Seconds && dirty > 0 {
			return fmt.Sprintf("%d changes in %d seconds", r.Changes, r.Seconds)
		}
	}
	if pct := e.snap.growthPercent; e.wlog != nil && pct > 0 {
		grown := e.LogStats().BytesWritten - e.snap.logAtSave
		// Against the data's size, not the file's: snappy made the file
		// of a list of two million repeated 64-byte values 6 MB for 130
		// MB of data, and a snapshot then came with every 64 MB of log,
		// each encoding the whole list again (Redis's rule compares its
		// log with the rewritten one, which is not compressed either).
		base := max(st.LastSize, e.snap.rawAtSave)
		if grown >= e.snap.growthMin && grown*100 >= base*int64(pct) {
			return fmt.Sprintf("the log grew by %d bytes", grown)
		}
	}
	return ""
}

// ---- writes that cross shards while a snapshot is taken ----

// crossShardDuringSnapshot reports whether a write that moves a value from
// src to dst must log it self-contained: while a snapshot is being taken,
// src's shard may be stamped after the write and dst's before it (or the
// reverse), and recovery then replays only one side of an OpRename. So
// such writes log the delete and the whole value instead.
func (tx *Tx) crossShardDuringSnapshot(src, dst []byte) bool {
	return tx.e.snap.taking.Load() && hashKey(src)&tx.e.shardMask != hashKey(dst)&tx.e.shardMask
}

// recordRestore logs key's value whole (OpRestore).
func (tx *Tx) recordRestore(db int, key []byte, ent *entry) error {
	t, val, err := ent.snapshotValue(nil)
	if err != nil {
		return err
	}
	if t == snapshot.TypeString {
		val = cloneBytes(val) // the string may change in place later in the tx
	}
	tx.record(Effect{Op: OpRestore, DB: db, Key: key, Offset: int64(t), ExpireAt: ent.expireAt, Value: val})
	return nil
}

// entryFromSnapshot builds key's entry from a value in the snapshot
// encoding (copied).
func entryFromSnapshot(key []byte, t snapshot.Type, value []byte, expireAt int64) (*entry, error) {
	if t == snapshot.TypeString {
		return newStringEntry(key, value, expireAt), nil
	}
	c, err := collectionFromSnapshot(t, value)
	if err != nil {
		return nil, err
	}
	return newCollEntry(key, c, expireAt), nil
}

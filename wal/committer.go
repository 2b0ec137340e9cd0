package wal

import (
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/golang/snappy"
)

// committer is the state of the committer (group commit). Whoever holds
// Log.cmu touches it: the committer goroutine, or a writer leading a commit
// under always; Replay sets it up before the goroutine starts.
type committer struct {
	// seg is the segment being written; nil when none is open (before
	// the first write, after a rotation, or when creating one failed).
	seg *segment
	// unsynced holds the frames for seg since its last successful fsync,
	// in order: unsynced[:written] were written (seg.size ==
	// seg.synced+written while healthy), unsynced[written:] were not.
	// After a failure all of it is written again by heal.
	unsynced []byte
	written  int
	// unsyncedFirst is the first LSN of the first frame in unsynced.
	unsyncedFirst uint64
	// encodedLSN is the last LSN put into a frame; syncedLSN the last one
	// fsynced (encodedLSN == syncedLSN iff unsynced is empty).
	encodedLSN, syncedLSN uint64
	// lastSync is when the latest fsync succeeded (or Replay finished).
	lastSync time.Time
	// lastAttempt is when the latest failure, or healing attempt, was.
	lastAttempt time.Time
	// lastErrLog is when a failure was last logged.
	lastErrLog time.Time
	// needMark is set when seg holds frames written after its last mark.
	needMark bool
	// comp is the snappy output buffer.
	comp []byte
	// disk judges the disk's speed (see diskspeed.go).
	disk diskSpeed
}

// run is the committer goroutine: it takes the whole pending batch,
// writes it as one frame, fsyncs as the policy says, rotates segments, and
// wakes WaitSynced callers; while the disk fails it retries. A writer
// waiting in WaitWritten or WaitSynced usually does that work itself (see
// lead); the goroutine then only sweeps up records nobody waits for and,
// under everysec, fsyncs each second.
func (l *Log) run() {
	defer close(l.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	wait := func(d time.Duration) {
		if d < 0 {
			<-l.kick
			return
		}
		timer.Reset(d)
		select {
		case <-l.kick:
		case <-timer.C:
		}
		timer.Stop()
	}
	for {
		l.cmu.Lock()
		d, exit := l.step(false)
		l.cmu.Unlock()
		if exit {
			return
		}
		if d != 0 {
			wait(d)
		}
	}
}

// lead is a waiting writer committing the pending batch itself (and
// fsyncing it under always), as Redis writes its log in its own thread
// before replying: that saves two goroutine wake-ups per commit, which
// matter most when the server runs on one P; synced says the writer waits
// for an fsync. It reports whether it could (another commit in progress, a
// failure, closing, or an fsync wanted while syncBackground's runs: it
// cannot, and the caller waits instead).
func (l *Log) lead(synced bool) bool {
	if !l.cmu.TryLock() {
		return false
	}
	if synced && l.syncingBackground.Load() {
		// Its fsync would have to wait for syncBackground's: the caller
		// waits for that one to end (l.changed), then leads its own.
		l.cmu.Unlock()
		return false
	}
	_, _ = l.step(true)
	l.cmu.Unlock()
	return true
}

// step is one round of the committer, run with cmu held: by the goroutine
// (leader false), or by a waiting writer (leader true), which neither
// heals nor closes. It returns how long the goroutine should wait before
// the next round (0: go on at once; negative: until kicked) and whether
// the goroutine should exit.
func (l *Log) step(leader bool) (time.Duration, bool) {
	c := &l.c
	l.mu.Lock()
	closing := l.state == stateClosing
	failed := l.err != nil
	policy := l.policy
	want := l.wantSync
	if leader && (closing || failed) {
		l.mu.Unlock()
		return 0, false
	}
	var batch []byte
	var first, count uint64
	if l.gatherTarget != 0 {
		if d := l.gatherLeft(time.Now()); d > 0 {
			l.mu.Unlock()
			return d, false
		}
	}
	if !failed && len(l.pend) > 0 {
		batch, first, count = l.pend, l.pendFirst, l.nextLSN-l.pendFirst
		l.pend, l.spare = l.spare, nil
		l.pendFirst = l.nextLSN
		l.space.Broadcast()
	}
	l.mu.Unlock()

	if failed {
		if closing || time.Since(c.lastAttempt) >= l.retry {
			if !l.heal() && closing {
				l.finish(l.Err())
				return 0, true
			}
			return 0, false
		}
		return l.retry - time.Since(c.lastAttempt), false
	}
	if batch != nil {
		l.commitBatch(batch, first, count)
		if cap(batch) <= keepBuffer {
			l.mu.Lock()
			l.spare = batch[:0]
			l.mu.Unlock()
		}
		if l.failing() {
			return 0, false
		}
	}
	if c.encodedLSN > c.syncedLSN && !l.syncingBackground.Load() {
		switch {
		case policy == SyncAlways || want > c.syncedLSN || closing || len(c.unsynced) > maxUnsynced:
			l.sync()
		case !leader && policy == SyncEverySec && time.Since(c.lastSync) >= time.Second:
			l.syncBackground()
		}
	}
	if leader {
		return 0, false
	}
	if batch != nil || l.failing() {
		// A failed fsync goes to the retry branch, not to a wait that
		// only new writes would end (and writes are refused meanwhile).
		return 0, false
	}
	if closing {
		if l.closeIfDrained() {
			return 0, true
		}
		return 0, false
	}
	// Appends do not kick the goroutine (a waiting writer leads the
	// commit); records nobody waits for (expiries) are swept up within a
	// few milliseconds, and under everysec the fsync comes each second.
	d := 50 * time.Millisecond
	if c.encodedLSN > c.syncedLSN && policy == SyncEverySec {
		d = min(d, max(0, time.Until(c.lastSync.Add(time.Second))))
	}
	l.mu.Lock()
	pending := len(l.pend) > 0
	l.mu.Unlock()
	if pending {
		d = min(d, 2*time.Millisecond)
	}
	return d, false
}

// failing reports whether the log is failing.
func (l *Log) failing() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err != nil
}

// commitBatch frames the records of LSNs [first, first+count) and writes
// them, rotating the segment first if it is full.
func (l *Log) commitBatch(batch []byte, first, count uint64) {
	c := &l.c
	l.records.Add(int64(count))
	if c.seg != nil && !l.syncingBackground.Load() && (c.seg.size >= l.segSize || (c.seg.alloc <= c.seg.size && l.prealloc.ready.Load())) {
		// Rotate: the segment is full, or it is a plain one and a
		// preallocated one is ready. The old segment must be wholly
		// fsynced, and cut to its frames, before the next one exists: a
		// reader takes a valid later segment as proof of that, and LSNs
		// stay dense across segments after a crash.
		if l.endSegment() {
			c.seg.close()
			c.seg = nil
		}
		// If that failed, the batch joins the unsynced frames of the
		// old segment; heal writes them all there.
	}
	if c.encodedLSN == c.syncedLSN {
		c.unsyncedFirst = first
	}
	durable := uint64(segmentHeaderSize)
	if c.seg != nil {
		durable = uint64(c.seg.synced)
	}
	frames := 0
	for len(batch) > 0 {
		payload, n := batch, count
		if len(batch) > l.frameTarget {
			payload, n = splitRecords(batch, l.frameTarget)
		}
		h := frameHeader{typ: frameRaw, count: uint32(n), first: first, durable: durable}
		data := payload
		if l.compressAbove >= 0 && len(payload) > l.compressAbove {
			c.comp = snappy.Encode(c.comp[:cap(c.comp)], payload)
			if len(c.comp) < len(payload) {
				h.typ, data = frameSnappy, c.comp
			}
		}
		c.unsynced = appendFrame(c.unsynced, h, data)
		batch, first, count = batch[len(payload):], first+n, count-n
		frames++
	}
	if cap(c.comp) > keepBuffer {
		c.comp = nil
	}
	c.encodedLSN = first - 1
	c.needMark = true
	if l.failing() {
		return // heal writes them
	}
	if c.seg == nil {
		f, size := l.takePreallocated()
		seg, err := createSegment(l.fs, l.dir, c.unsyncedFirst, f, size)
		if err != nil {
			l.fail(err)
			return
		}
		l.addSegment(seg)
		l.preallocateNext()
	}
	if l.writeUnsynced() {
		l.frames.Add(int64(frames))
	}
}

// endSegment makes the current segment final before the next one is
// begun: cut to its frames if it was preallocated, and wholly fsynced. It
// reports success; on failure the log is failing.
func (l *Log) endSegment() bool {
	c := &l.c
	if c.seg.alloc > c.seg.size {
		if err := c.seg.f.Truncate(c.seg.size); err != nil {
			l.fail(fmt.Errorf("wal: truncate %s to %d: %w", c.seg.path, c.seg.size, err))
			return false
		}
		c.seg.alloc = c.seg.size
		return l.sync() // the cut must be durable too
	}
	return c.encodedLSN == c.syncedLSN || l.sync()
}

// splitRecords returns the longest prefix of batch made of whole records
// that fits limit bytes (at least one record), and how many records it
// holds.
func splitRecords(batch []byte, limit int) ([]byte, uint64) {
	p, n := 0, uint64(0)
	for p < len(batch) {
		size, k := binary.Uvarint(batch[p:])
		next := p + k + int(size)
		if n > 0 && next > limit {
			break
		}
		p, n = next, n+1
	}
	return batch[:p], n
}

// addSegment makes seg the current segment and lists it. It leaves
// needMark alone: a segment is created only to hold frames about to be
// written, which need a mark at Close.
func (l *Log) addSegment(seg *segment) {
	l.c.seg = seg
	l.bytesWritten.Add(segmentHeaderSize)
	l.fsyncs.Add(1)
	l.mu.Lock()
	l.segs = append(l.segs, segStat{path: seg.path, first: seg.first, size: seg.size})
	l.mu.Unlock()
}

// writeUnsynced writes the frames not yet written. It reports success; on
// failure the log is failing.
func (l *Log) writeUnsynced() bool {
	c := &l.c
	n, err := c.seg.f.WriteAt(c.unsynced[c.written:], c.seg.size)
	c.seg.size += int64(n)
	c.written += n
	l.bytesWritten.Add(int64(n))
	l.setSegSize(c.seg.size)
	if err == nil && c.written != len(c.unsynced) {
		err = io.ErrShortWrite
	}
	if err != nil {
		l.fail(fmt.Errorf("wal: write %s: %w", c.seg.path, err))
		return false
	}
	l.mu.Lock()
	l.writtenLSN = c.encodedLSN
	policy := l.policy
	close(l.written)
	l.written = make(chan struct{})
	l.mu.Unlock()
	if wb, ok := c.seg.f.(writebacker); ok && policy != SyncAlways && c.seg.size-c.seg.kicked >= writebackChunk {
		// Advisory: if it fails, the fsync does the writing, and reports
		// any error itself.
		_ = wb.StartWriteback(c.seg.kicked, c.seg.size-c.seg.kicked)
		c.seg.kicked = c.seg.size
	}
	return true
}

// writebacker is a file whose writing back to the disk can be started
// ahead of its fsync (vfs's files on Linux).
type writebacker interface{ StartWriteback(off, n int64) error }

// writebackChunk is how much a segment grows between two requests to
// start writing it back.
const writebackChunk = 1 << 20

// setSegSize records the current segment's size for Stats.
func (l *Log) setSegSize(size int64) {
	l.mu.Lock()
	if n := len(l.segs); n > 0 {
		l.segs[n-1].size = size
	}
	l.mu.Unlock()
}

// polledSyncer is a file whose fsync can wait in Go's network poller
// rather than in a blocked thread (vfs's files on Linux, with io_uring).
type polledSyncer interface{ SyncPolled() error }

// inlineSyncer is a file that can fsync on the calling thread without the
// runtime's knowledge, the P waiting with it (vfs's files on Linux).
type inlineSyncer interface{ SyncInline() error }

// Inline fsyncs: with one P and many writers, an fsync waits with its P,
// as Redis's event loop waits for its own, and a writer about to lead it
// first lets the other runnable writers append (see wait), so that it
// covers every command the P has read by then. The writers that arrive
// meanwhile wait in their sockets and are read together after it, as
// Redis reads them: at 50 clients each fsync covered 24-26 writes (Redis's
// about 30), where a polled one covered 17-19 while the P served others,
// and each cost three thread switches (a kernel worker runs it and wakes
// the poller). appendfsync always, redis-benchmark -c 50, three rounds
// alternating with redis-server: INCR 83-92k writes/s against Redis's
// 86-92k (polled: 63-66k), 9.2-10.3 µs of CPU a write against 7.9-8.5
// (polled: 11.8-12.2).
//
// Not for few writers, who have nothing to gather (one client lost a tenth
// of its rate to the yield), nor for a slow disk (see slowFsync): an fsync
// is inline while the last one covered at least inlineSyncMin records and
// the disk is not judged slow.
const inlineSyncMin = 8

// syncInline reports whether the next fsync should be inline.
func (l *Log) syncInline() bool {
	return useInlineSync(runtime.GOMAXPROCS(0), l.lastSyncRecords.Load(), l.diskSlow.Load())
}

// syncAwaited reports whether writers wait for the fsync about to be
// made: under always, or for WaitSynced (WAITAOF). Only then is an inline
// fsync worth its P: everysec's once-a-second one, inline, stopped every
// client of that P, readers too, for as long as the disk took (one took
// 6.4 ms, where the others took 0.7-1.3).
func (l *Log) syncAwaited() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.policy == SyncAlways || l.wantSync > l.c.syncedLSN
}

func useInlineSync(procs int, lastRecords int64, slowDisk bool) bool {
	return procs == 1 && lastRecords >= inlineSyncMin && !slowDisk
}

// polledSyncMin is how many records an fsync must cover to wait for it in
// the poller. A batch that large means concurrent writers, whose commands
// the P can run during the fsync: under appendfsync always at 50 clients
// that gave 5-8 % more writes (55k/s against 52k) and 8 % less CPU per
// write. A lone writer has nothing to overlap, and the kernel worker's
// hand-off cost one client 15 % (5,000 writes/s against 6,000); at 1, 4 and
// 16 clients this threshold measured the same as a blocking fsync.
//
// On one P every fsync not inline is polled: one blocking in a system call
// the runtime is told of stalls every other client until sysmon takes the
// P back, so the next batch is small again, and 50 clients stayed at 8-13k
// writes/s instead of 48k.
const polledSyncMin = 4

// sync fsyncs the current segment; on success everything encoded is
// durable and WaitSynced callers are woken. It reports success; on failure
// the log is failing.
func (l *Log) sync() bool {
	c := &l.c
	start := time.Now()
	covered := c.encodedLSN - c.syncedLSN
	awaited := l.syncAwaited()
	// Probe the disk's speed only for an fsync writers wait for (only
	// their fsyncs depend on it), and only with several Ps (see
	// diskspeed.go).
	probe := awaited && runtime.GOMAXPROCS(0) > 1 && c.disk.probeDue(start)
	blocking, err := l.fsync(c.seg, covered, awaited, probe)
	return l.synced(start, err, blocking, c.seg.size, c.encodedLSN)
}

// syncBackground is everysec's fsync each second, made without cmu:
// writers go on writing their records to the segment while the disk works,
// as Redis's writes go on while its background thread fsyncs. Holding cmu
// through it, every writer waited for the disk once a second, as long as
// the disk took: with another process writing 512 MB files with
// fdatasync, fsyncs took up to 170-310 ms, and the slowest SET at 50
// clients took 194-254 ms (25-63 ms without cmu, as Redis's 27-32 ms),
// 40-42k SETs a second against 44-49k. Meanwhile a leading writer neither
// fsyncs nor rotates the segment (see lead and step); an fsync it must
// wait for (WAITAOF, or always after a CONFIG SET) waits for this one to
// end. Only the committer goroutine calls it, in step with cmu held; cmu
// is held again when it returns. The fsync covers what was written when
// it began. It reports success; on failure the log is failing.
func (l *Log) syncBackground() bool {
	c := &l.c
	if c.written != len(c.unsynced) {
		return l.sync() // frames not written yet: only after a failure
	}
	seg, size, lsn, covered := c.seg, c.seg.size, c.encodedLSN, c.encodedLSN-c.syncedLSN
	start := time.Now()
	l.syncingBackground.Store(true)
	l.cmu.Unlock()
	blocking, err := l.fsync(seg, covered, false, false)
	l.cmu.Lock()
	l.syncingBackground.Store(false)
	if l.failing() {
		// A writer's write failed meanwhile: heal writes everything since
		// the synced size again, this fsync's frames too.
		return false
	}
	return l.synced(start, err, blocking, size, lsn)
}

// fsync fsyncs seg, choosing how to wait for the disk; covered is how many
// records it makes durable, awaited whether writers wait for it, probe
// whether it must block its thread (see diskSpeed). It returns whether the
// fsync blocked a thread, and its error. It touches no committer state:
// syncBackground calls it without cmu.
func (l *Log) fsync(seg *segment, covered uint64, awaited, probe bool) (bool, error) {
	procs := runtime.GOMAXPROCS(0)
	is, inlineOK := seg.f.(inlineSyncer)
	ps, polledOK := seg.f.(polledSyncer)
	switch {
	case inlineOK && awaited && l.syncInline():
		l.inlineFsyncs.Add(1)
		return true, is.SyncInline()
	case polledOK && (procs == 1 || !probe && covered >= polledSyncMin):
		// On one P never a plain fsync (see polledSyncMin).
		return false, ps.SyncPolled()
	default:
		return true, seg.f.Sync()
	}
}

// synced records an fsync that began at start and returned err: on
// success the current segment is durable up to size, and the records up
// to lsn. It reports success; on failure the log is failing.
func (l *Log) synced(start time.Time, err error, blocking bool, size int64, lsn uint64) bool {
	c := &l.c
	covered := lsn - c.syncedLSN
	took := time.Since(start)
	l.fsyncs.Add(1)
	l.lastFsyncNs.Store(int64(took))
	l.lastSyncRecords.Store(int64(covered))
	if err != nil {
		l.fail(fmt.Errorf("wal: fsync %s: %w", c.seg.path, err))
		return false
	}
	slowDisk := c.disk.note(start.Add(took), took, blocking)
	l.diskSlow.Store(slowDisk)
	// unsynced begins at the segment's synced size: the frames up to size
	// are durable now; any written after the fsync began are not.
	done := int(size - c.seg.synced)
	c.seg.synced = size
	if rest := len(c.unsynced) - done; rest > 0 {
		copy(c.unsynced, c.unsynced[done:])
		c.unsynced, c.written = c.unsynced[:rest], c.written-done
		c.unsyncedFirst = lsn + 1
	} else {
		// The buffer is kept for the next second's frames if this one's
		// filled at least half of it: growing a new one each second
		// under everysec (9 MB at 90k writes/s) cost the garbage
		// collector enough to show in every client's p99. One a burst
		// left far too large goes.
		c.unsynced, c.written = c.unsynced[:0], 0
		if cap(c.unsynced) > max(keepBuffer, 2*done) {
			c.unsynced = nil
		}
	}
	c.syncedLSN = lsn
	c.lastSync = time.Now()
	l.mu.Lock()
	l.syncedLSN = c.syncedLSN
	l.maxFsync = max(l.maxFsync, took)
	l.setGather(c.lastSync, took, covered, slowDisk)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	return true
}

// fail puts the log in the failing state: Err returns err, WaitSynced
// callers are woken (and return it), Append stops waiting for space. The
// segment's handle is dropped: after a failed write or fsync neither it nor
// the kernel's pages past the synced size are trusted (an fsync that failed
// may have dropped them; retrying it could report success for data that
// never reached the disk). heal starts again from the synced size.
func (l *Log) fail(err error) {
	c := &l.c
	now := time.Now()
	c.lastAttempt = now
	l.failures.Add(1)
	if c.seg != nil {
		c.seg.close()
	}
	l.mu.Lock()
	first := l.err == nil
	l.err, l.lastErr, l.lastErrTime = err, err, now
	l.noteTrouble()
	close(l.changed)
	l.changed = make(chan struct{})
	l.space.Broadcast()
	l.mu.Unlock()
	// A writer leading the commit does not heal: the goroutine does, and
	// must not sleep through the failure.
	l.wake()
	if first || now.Sub(c.lastErrLog) >= errorLogInterval {
		c.lastErrLog = now
		l.logger.Error("wal: write-ahead log failing; unsynced records are kept in memory and retried",
			"err", err, "unsynced_bytes", len(c.unsynced), "synced_lsn", c.syncedLSN, "last_lsn", c.encodedLSN)
	}
}

// heal tries to leave the failing state: it cuts the segment back to its
// synced size (or creates it, if that failed), writes every unsynced frame
// again and fsyncs. It reports success.
func (l *Log) heal() bool {
	c := &l.c
	c.lastAttempt = time.Now()
	if c.seg == nil {
		seg, err := createSegment(l.fs, l.dir, c.syncedLSN+1, nil, 0)
		if err != nil {
			l.fail(err)
			return false
		}
		l.addSegment(seg)
		c.needMark = c.encodedLSN > c.syncedLSN
	} else if err := c.seg.reopen(l.fs); err != nil {
		l.fail(err)
		return false
	}
	l.setSegSize(c.seg.size)
	c.written = 0
	if len(c.unsynced) > 0 && !l.writeUnsynced() {
		return false
	}
	if !l.sync() {
		return false
	}
	l.mu.Lock()
	l.err = nil
	l.noteTrouble()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	l.logger.Info("wal: write-ahead log healed: writes and fsyncs succeed again", "synced_lsn", c.syncedLSN)
	return true
}

// closeIfDrained finishes Close once nothing is pending: it marks the end
// of the log (see frameMark) and closes the segment. It reports whether
// the committer is done.
func (l *Log) closeIfDrained() bool {
	c := &l.c
	l.mu.Lock()
	if len(l.pend) > 0 || l.err != nil {
		l.mu.Unlock()
		return false
	}
	// From here on Append drops records: nothing will write them.
	l.state = stateClosed
	l.noteTrouble()
	l.mu.Unlock()
	var err error
	if c.seg != nil && c.encodedLSN == c.syncedLSN && c.seg.alloc > c.seg.size {
		// Leave no zeros behind: a closed log's files hold frames only.
		// The fsync below (or this one, without a mark) makes it durable;
		// a reader takes zeros at the end of the last segment for the
		// end of the log anyway.
		if err = c.seg.f.Truncate(c.seg.size); err == nil && !c.needMark {
			err = c.seg.f.Sync()
			l.fsyncs.Add(1)
		}
		if err != nil {
			err = fmt.Errorf("wal: truncate %s to %d: %w", c.seg.path, c.seg.size, err)
		}
		c.seg.alloc = c.seg.size
	}
	if err == nil && c.seg != nil && c.needMark && c.encodedLSN == c.syncedLSN {
		// The mark's durable offset vouches for every frame before it, so
		// that damage to them is corruption rather than a torn tail.
		mark := appendFrame(nil, frameHeader{typ: frameMark, first: c.encodedLSN + 1, durable: uint64(c.seg.synced)}, nil)
		var n int
		if n, err = c.seg.f.WriteAt(mark, c.seg.size); err == nil {
			c.seg.size += int64(n)
			err = c.seg.f.Sync()
			l.fsyncs.Add(1)
		}
		l.bytesWritten.Add(int64(n))
		if err != nil {
			err = fmt.Errorf("wal: writing the end mark to %s: %w", c.seg.path, err)
		}
		l.setSegSize(c.seg.size)
	}
	l.finish(err)
	return true
}

// finish closes the segment and records Close's result.
func (l *Log) finish(err error) {
	c := &l.c
	if c.seg != nil {
		if cerr := c.seg.close(); err == nil && cerr != nil {
			err = fmt.Errorf("wal: close %s: %w", c.seg.path, cerr)
		}
	}
	l.mu.Lock()
	l.state = stateClosed
	l.noteTrouble()
	if l.err != nil && err == nil {
		err = l.err
	}
	if l.err != nil {
		l.logger.Error("wal: closed while failing: unsynced records are lost",
			"err", l.err, "synced_lsn", c.syncedLSN, "last_lsn", l.nextLSN-1)
	}
	l.closeErr = err
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

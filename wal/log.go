package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-db/cairn/vfs"
)

// SyncPolicy says when the log fsyncs what it wrote (Redis's appendfsync).
type SyncPolicy int

const (
	// SyncAlways fsyncs after every frame, before WaitSynced returns:
	// concurrent writers share one fsync (group commit).
	SyncAlways SyncPolicy = iota
	// SyncEverySec fsyncs in the background about once a second.
	SyncEverySec
	// SyncNo leaves flushing to the operating system. The log still
	// fsyncs when a segment is full, when WaitSynced asks, at Close, and
	// once maxUnsynced bytes are unsynced (it keeps them in memory until
	// then, to write them again if the disk fails).
	SyncNo
)

// ParseSyncPolicy parses "always", "everysec" or "no" (any case).
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch strings.ToLower(s) {
	case "always":
		return SyncAlways, nil
	case "everysec":
		return SyncEverySec, nil
	case "no":
		return SyncNo, nil
	}
	return 0, fmt.Errorf("wal: unknown fsync policy %q (want always, everysec or no)", s)
}

func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncEverySec:
		return "everysec"
	case SyncNo:
		return "no"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// Options configure a Log.
type Options struct {
	// FS is the filesystem; default vfs.Default.
	FS vfs.FS
	// Dir is the directory of the segments; created if missing.
	Dir string
	// SegmentSize: a new segment is started once the current one has
	// reached this many bytes. Default 64 MiB.
	SegmentSize int64
	// Sync is the fsync policy.
	Sync SyncPolicy
	// CompressAbove: a frame whose payload exceeds this many bytes is
	// snappy-compressed (kept raw if that does not make it smaller).
	// 0 means the default, 4096; negative means never.
	CompressAbove int
	// Logger receives warnings (torn tails) and errors (failing disk).
	// Default slog.Default().
	Logger *slog.Logger
	// Preallocate, while the policy is SyncAlways, keeps the next segment
	// prepared beside the one being written, filled with zeros, so that
	// frames are written over fsynced zeros rather than appended (see
	// preallocated): up to SegmentSize more bytes on disk. Default off.
	Preallocate bool
}

const (
	// defaultSegmentSize is Options.SegmentSize's default.
	defaultSegmentSize = 64 << 20
	// defaultCompressAbove is Options.CompressAbove's default.
	defaultCompressAbove = 4096
	// maxPending is the pending batch size past which Append waits for
	// the committer (back-pressure), unless the log is failing.
	maxPending = 32 << 20
	// maxUnsynced is how many written but unsynced bytes the committer
	// keeps (for rewriting after a failure) before it fsyncs whatever the
	// policy.
	maxUnsynced = 64 << 20
	// errorLogInterval limits how often a persisting failure is logged.
	errorLogInterval = 10 * time.Second
	// keepBuffer is the largest buffer kept for reuse.
	keepBuffer = 4 << 20
)

// retryInterval is how often a failing log tries to heal. Tests lower it.
var retryInterval = 100 * time.Millisecond

// frameTarget is the largest payload the committer puts in one frame
// (before compression); a larger batch is split at record boundaries.
// Tests lower it.
var frameTarget = MaxFramePayload

// ReplayInfo describes what Replay read.
type ReplayInfo struct {
	// Segments is the number of segment files read.
	Segments int
	// Records is the number of records passed to fn (LSN > after);
	// FirstLSN and LastLSN are the first and last of them (0 if none).
	Records           int
	FirstLSN, LastLSN uint64
	// Bytes is the total size of the segment files read.
	Bytes int64
	// TornTail describes the torn tail truncated away, or is nil.
	TornTail *TornTail
}

// TornTail is a partial write at the end of the log, cut away by Replay.
type TornTail struct {
	// File and Offset locate the first bad byte: the file was truncated
	// there (removed, if the damage was in its header).
	File   string
	Offset int64
	// Dropped is the number of bytes removed, later segments included.
	Dropped int64
	// Records counts the records in checksum-valid (but never fsynced)
	// frames that were dropped with it.
	Records int
	// Reason says what was found at Offset.
	Reason string
}

// Stats are a log's counters.
type Stats struct {
	// Policy is the current fsync policy.
	Policy SyncPolicy
	// LastLSN and SyncedLSN are as the methods of those names return.
	LastLSN, SyncedLSN uint64
	// Records counts the records appended since Open.
	Records int64
	// BytesWritten counts the bytes written to segments since Open,
	// headers and rewrites after failures included.
	BytesWritten int64
	// Frames counts the frames written since Open.
	Frames int64
	// Fsyncs counts the file fsyncs since Open (directory fsyncs excluded);
	// InlineFsyncs those of them that waited with their P (see
	// inlineSyncMin).
	Fsyncs, InlineFsyncs int64
	// LastFsync is how long the latest fsync took; MaxFsync the longest.
	LastFsync, MaxFsync time.Duration
	// BackgroundFsync is set while everysec's fsync runs, writers going
	// on meanwhile (INFO's aof_pending_bio_fsync).
	BackgroundFsync bool
	// Pending is the number of record bytes appended but not yet written.
	Pending int64
	// Segments is the number of segment files; SegmentSize is the size of
	// the current one, TotalSize of them all.
	Segments    int
	SegmentSize int64
	TotalSize   int64
	// OK is false while writes or fsyncs are failing.
	OK bool
	// LastError is the latest write or fsync failure (it stays after the
	// log heals; OK says whether it is current), at LastErrorTime.
	LastError     error
	LastErrorTime time.Time
	// Failures counts failed writes, fsyncs and healing attempts.
	Failures int64
}

// logState is a Log's life cycle.
type logState int

const (
	stateOpen      logState = iota // opened, not replayed
	stateReplaying                 // in Replay
	stateRunning                   // replayed: the committer runs
	stateClosing                   // Close called: the committer drains
	stateClosed                    // committer gone (or never started)
)

// segStat is one segment file, for sizes and removal.
type segStat struct {
	path  string
	first uint64
	size  int64
}

// Log is a write-ahead log. Its methods are safe for concurrent use.
type Log struct {
	fs            vfs.FS
	dir           string
	segSize       int64
	compressAbove int
	logger        *slog.Logger
	// retry and frameTarget are retryInterval and frameTarget at Open.
	retry       time.Duration
	frameTarget int

	// troubled is set, with mu held, whenever err is set or state reaches
	// stateClosing (see noteTrouble), so that Err, asked before every
	// write, takes mu only then.
	troubled atomic.Bool

	mu sync.Mutex
	// The fields below are guarded by mu.

	// state is the life cycle; Append and WaitSynced work in
	// stateRunning and stateClosing.
	state logState
	// nextLSN is the LSN the next Append assigns: LastLSN()+1.
	nextLSN uint64
	// pend holds the records of LSNs [pendFirst, nextLSN), each a uvarint
	// length and its bytes: what the committer takes next.
	pend      []byte
	pendFirst uint64
	// spare is an emptied batch buffer handed back by the committer.
	spare []byte
	// policy is the fsync policy.
	policy SyncPolicy
	// syncedLSN: every LSN <= syncedLSN is durable.
	syncedLSN uint64
	// writtenLSN: every LSN <= max(writtenLSN, syncedLSN) has been written
	// to its segment file (the kernel has it; a process crash keeps it).
	writtenLSN uint64
	// wantSync is the highest LSN a WaitSynced caller waits for.
	wantSync uint64
	// err is the sticky failure: non-nil from a failed write or fsync
	// until the committer has written and fsynced everything again.
	err error
	// lastErr and lastErrTime are the latest failure (kept after healing).
	lastErr     error
	lastErrTime time.Time
	// changed is closed (and replaced) whenever syncedLSN, err or state
	// changes: WaitSynced callers wait on it. written is closed (and
	// replaced) whenever writtenLSN changes: WaitWritten callers wait on
	// both. Under always, the writers waiting for an fsync are not woken
	// by the write before it.
	changed, written chan struct{}
	// space is signalled when the committer takes the pending batch.
	space sync.Cond
	// segs are the segment files, oldest first; the last is the one being
	// written (if the committer has one).
	segs []segStat
	// maxFsync is the longest fsync.
	maxFsync time.Duration
	// gatherUntil and gatherTarget hold back the next fsync on a slow
	// disk (see gather.go): until gatherUntil, or until gatherTarget
	// records are pending, whichever comes first. gatherTarget is 0 when
	// the disk is not judged slow (or under another policy than always).
	gatherUntil  time.Time
	gatherTarget uint64
	// closeErr is what Close returns.
	closeErr error

	// kick wakes the committer (capacity 1: a kick is never lost).
	kick chan struct{}
	// cmu is held by whoever runs a committer step (see lead).
	cmu sync.Mutex
	// done is closed when the committer has exited.
	done chan struct{}
	// removing serialises RemoveSegmentsThrough.
	removing sync.Mutex

	// Counters, updated by the committer without mu.
	records, bytesWritten, frames, fsyncs, lastFsyncNs, failures atomic.Int64
	// lastSyncRecords is how many records the last fsync covered.
	lastSyncRecords, inlineFsyncs atomic.Int64
	// diskSlow is the committer's judgement of the disk (see slowFsync),
	// read by writers deciding whether to yield before an fsync.
	diskSlow atomic.Bool
	// syncingBackground is set, by the committer goroutine holding cmu,
	// while syncBackground's fsync runs without cmu: the segment must
	// stay as it is (no rotation, no other fsync), and writers may only
	// write to it. Stats reports it.
	syncingBackground atomic.Bool

	// c is the committer's own state; only its goroutine touches it (and
	// Replay, before starting it).
	c committer

	// prealloc is the next segment, prepared under SyncAlways.
	prealloc preallocated
}

// Open prepares the log in opts.Dir, creating the directory if missing.
// It reads no segment yet (it lists them, for Stats); Replay does.
func Open(opts Options) (*Log, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.Dir == "" {
		return nil, errors.New("wal: Options.Dir is empty")
	}
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = defaultSegmentSize
	}
	if opts.CompressAbove == 0 {
		opts.CompressAbove = defaultCompressAbove
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Sync < SyncAlways || opts.Sync > SyncNo {
		return nil, fmt.Errorf("wal: invalid sync policy %d", int(opts.Sync))
	}
	dir := filepath.Clean(opts.Dir)
	if err := mkdirDurable(opts.FS, dir); err != nil {
		return nil, err
	}
	l := &Log{
		fs:            opts.FS,
		dir:           dir,
		segSize:       opts.SegmentSize,
		compressAbove: opts.CompressAbove,
		logger:        opts.Logger,
		retry:         retryInterval,
		frameTarget:   frameTarget,
		policy:        opts.Sync,
		prealloc:      preallocated{enabled: opts.Preallocate},
		changed:       make(chan struct{}),
		written:       make(chan struct{}),
		kick:          make(chan struct{}, 1),
		done:          make(chan struct{}),
	}
	l.space.L = &l.mu
	if err := removeLeftoverPreallocated(l.fs, dir); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	refs, err := listSegments(l.fs, dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	for _, r := range refs {
		path := filepath.Join(dir, r.name)
		fi, err := l.fs.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("wal: %w", err)
		}
		l.segs = append(l.segs, segStat{path: path, first: r.first, size: fi.Size()})
	}
	return l, nil
}

// mkdirDurable creates dir and its missing parents, and fsyncs the parent
// of each one it creates: a new directory's name is durable only once its
// parent is fsynced.
func mkdirDurable(fs vfs.FS, dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		_, err := fs.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("wal: %w", err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("wal: create %s: %w", dir, err)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := fs.SyncDir(filepath.Dir(missing[i])); err != nil {
			return fmt.Errorf("wal: fsync the parent of %s: %w", missing[i], err)
		}
	}
	return nil
}

// Replay reads every record with LSN > after, in order, calling fn (rec is
// valid only during the call); an error from fn stops it and is returned.
//
// A torn tail (damage that nothing after it proves was ever fsynced) is
// truncated away, logged as a warning and reported in the info.
// Corruption (damage with proof after it that it had been fsynced, an LSN
// gap, records after `after` missing from the start of the log or skipped)
// returns a *CorruptionError (errors.Is(err, ErrCorrupt)); nothing is
// changed then, and records already passed to fn are to be discarded.
//
// Replay must succeed once before Append; appends then continue at
// LastLSN()+1, which is at least after+1. It leaves the log's tail fsynced.
func (l *Log) Replay(after uint64, fn func(lsn uint64, rec []byte) error) (ReplayInfo, error) {
	l.mu.Lock()
	if l.state != stateOpen {
		st := l.state
		l.mu.Unlock()
		if st >= stateClosing {
			return ReplayInfo{}, ErrClosed
		}
		return ReplayInfo{}, errors.New("wal: Replay called twice")
	}
	l.state = stateReplaying
	l.mu.Unlock()
	info, err := l.replay(after, fn)
	l.mu.Lock()
	if err != nil {
		l.state = stateOpen // a caller may repair and try again
		l.mu.Unlock()
		return info, err
	}
	l.state = stateRunning
	l.mu.Unlock()
	go l.run()
	l.preallocate()
	return info, nil
}

func (l *Log) replay(after uint64, fn func(lsn uint64, rec []byte) error) (ReplayInfo, error) {
	var info ReplayInfo
	var curFile string
	s := &scanner{fs: l.fs, dir: l.dir, coveredThrough: after}
	s.onSegment = func(ref segRef) error {
		curFile = filepath.Join(l.dir, ref.name)
		if info.Segments == 0 && ref.first > after+1 {
			return &CorruptionError{File: curFile, Reason: fmt.Sprintf(
				"the log starts at LSN %d, but replay needs every LSN after %d", ref.first, after), noRepair: true}
		}
		info.Segments++
		return nil
	}
	s.onRecord = func(lsn uint64, rec []byte) error {
		if lsn <= after {
			return nil
		}
		if info.Records == 0 {
			info.FirstLSN = lsn
		}
		info.Records++
		info.LastLSN = lsn
		if fn == nil {
			return nil
		}
		return fn(lsn, rec)
	}
	s.onSkip = func(first uint64, count uint32) error {
		if last := first + uint64(count) - 1; last > after {
			return &CorruptionError{File: curFile, Reason: fmt.Sprintf(
				"LSNs %d to %d were skipped when the log was reopened after a snapshot at LSN %d, but replay needs every LSN after %d",
				first, last, last, after), noRepair: true}
		}
		return nil
	}
	r, err := s.run()
	if err != nil {
		return info, err
	}
	info.Bytes = r.info.Bytes

	// What survives: the segments up to the end of the valid prefix.
	keep := len(r.info.Segments)
	endSize := int64(0)
	if d := r.info.Damage; d != nil {
		if !d.Torn {
			reason := d.Reason
			switch {
			case d.Unverified:
				reason += " (the rest of the log could not be checked)"
			case d.Frames > 0:
				reason += fmt.Sprintf("; %d valid frames holding %d records follow", d.Frames, d.Records)
			}
			return info, &CorruptionError{File: d.File, Offset: d.Offset, Reason: reason}
		}
		if _, err := cutLog(l.fs, l.dir, r); err != nil {
			return info, fmt.Errorf("wal: truncating the torn tail at %s offset %d: %w", d.File, d.Offset, err)
		}
		info.TornTail = &TornTail{File: d.File, Offset: d.Offset, Dropped: d.Bytes, Records: d.Records, Reason: d.Reason}
		l.logger.Warn("wal: torn tail truncated", "file", d.File, "offset", d.Offset,
			"dropped_bytes", d.Bytes, "dropped_records", d.Records, "reason", d.Reason)
		keep, endSize = r.endSeg+1, r.endOff
		if r.endOff < segmentHeaderSize {
			keep--
			endSize = -1
		}
	}
	segs := make([]segStat, 0, keep)
	lastAlloc := int64(0)
	for i := 0; i < keep; i++ {
		si := r.info.Segments[i]
		segs = append(segs, segStat{path: si.File, first: si.Name, size: si.Bytes - si.Unwritten})
		lastAlloc = si.Bytes
	}
	if keep > 0 && endSize >= 0 && r.info.Damage != nil {
		segs[keep-1].size, lastAlloc = endSize, endSize
	}

	next := max(r.next, 1)
	c := &l.c
	if keep > 0 {
		// Continue in the last segment. Fsync it first: the previous
		// process may have died before its tail was fsynced, and the
		// frames appended from now on promise that what precedes them is
		// durable.
		last := segs[keep-1]
		f, err := l.fs.OpenReadWrite(last.path)
		if err != nil {
			return info, fmt.Errorf("wal: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return info, fmt.Errorf("wal: fsync %s: %w", last.path, err)
		}
		c.seg = &segment{path: last.path, first: last.first, f: f, size: last.size, synced: last.size, alloc: lastAlloc}
		c.needMark = !r.endMarked || r.info.Damage != nil
		if after >= next {
			// The caller's snapshot is newer than the log: the LSNs up to
			// after are in the snapshot only. Say so in the log, so that
			// its LSNs stay dense and a later reader knows the gap is
			// deliberate.
			var buf []byte
			for first := next; first <= after; {
				n := min(after-first+1, uint64(^uint32(0)))
				buf = appendFrame(buf, frameHeader{typ: frameSkip, count: uint32(n), first: first, durable: uint64(last.size)}, nil)
				first += n
			}
			_, err := f.WriteAt(buf, last.size)
			if err == nil {
				err = f.Sync()
			}
			if err != nil {
				c.seg.close()
				c.seg = nil
				return info, fmt.Errorf("wal: recording skipped LSNs %d-%d in %s: %w", next, after, last.path, err)
			}
			c.seg.size += int64(len(buf))
			c.seg.synced = c.seg.size
			segs[keep-1].size = c.seg.size
			l.bytesWritten.Add(int64(len(buf)))
			l.fsyncs.Add(1)
			c.needMark = true
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		if c.seg != nil {
			c.seg.close()
			c.seg = nil
		}
		return info, fmt.Errorf("wal: fsync directory %s: %w", l.dir, err)
	}
	next = max(next, after+1)
	c.encodedLSN, c.syncedLSN, c.lastSync = next-1, next-1, time.Now()
	l.mu.Lock()
	l.nextLSN, l.pendFirst, l.syncedLSN, l.wantSync = next, next, next-1, next-1
	l.segs = segs
	l.mu.Unlock()
	l.logger.Info("wal: replayed", "dir", l.dir, "segments", info.Segments, "records", info.Records,
		"first_lsn", info.FirstLSN, "last_lsn", info.LastLSN, "next_lsn", next)
	return info, nil
}

// Append assigns the next LSN to rec, copies it into the pending batch and
// returns the LSN. It does no I/O: it may only wait (back-pressure) while
// the pending batch exceeds 32 MiB and the log is healthy. It panics
// before Replay and for a record larger than MaxRecordSize; after Close
// the record is dropped (logged) and Err returns ErrClosed.
func (l *Log) Append(rec []byte) uint64 {
	if len(rec) > MaxRecordSize {
		panic(fmt.Sprintf("wal: record of %d bytes exceeds MaxRecordSize", len(rec)))
	}
	l.mu.Lock()
	for len(l.pend) >= maxPending && l.err == nil && l.state == stateRunning {
		l.space.Wait()
	}
	switch l.state {
	case stateRunning, stateClosing:
	case stateClosed:
		lsn := l.nextLSN
		l.nextLSN++
		l.pendFirst = l.nextLSN
		l.mu.Unlock()
		l.logger.Error("wal: Append after Close: record dropped", "lsn", lsn)
		return lsn
	default:
		l.mu.Unlock()
		panic("wal: Append before Replay")
	}
	lsn := l.nextLSN
	l.nextLSN++
	l.pend = binary.AppendUvarint(l.pend, uint64(len(rec)))
	l.pend = append(l.pend, rec...)
	// No kick: the writer that waits leads the commit itself (see lead);
	// the committer goroutine sweeps up what nobody waits for. (A writer
	// that completes a gathered batch leads it too: were the goroutine
	// kicked for it, it would run next, before the writers already
	// runnable, and commit without them.)
	l.mu.Unlock()
	return lsn
}

// wake kicks the committer.
func (l *Log) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// maxYields bounds how often a waiting writer lets others append before it
// leads the commit.
const maxYields = 8

// WaitSynced blocks until every record with LSN <= lsn is fsynced
// (forcing an fsync soon whatever the policy), or ctx is done (ctx.Err()),
// or the log is failing (its error) or closed with lsn unsynced
// (ErrClosed). An lsn beyond LastLSN waits for LastLSN.
func (l *Log) WaitSynced(ctx context.Context, lsn uint64) error {
	return l.wait(ctx, lsn, true)
}

// WaitWritten blocks until every record with LSN <= lsn has been written
// to the segment file — not necessarily fsynced: it then survives a crash
// of the process, not of the machine — or ctx is done, or the log is
// failing or closed. The server waits for it before acknowledging writes
// under everysec and no, as Redis writes its AOF buffer before replying.
func (l *Log) WaitWritten(ctx context.Context, lsn uint64) error {
	return l.wait(ctx, lsn, false)
}

// wait is WaitSynced (synced) or WaitWritten. Either leads the commit
// when it can (see lead); only a wait for the fsync asks for one.
func (l *Log) wait(ctx context.Context, lsn uint64, synced bool) error {
	yields := 0
	l.mu.Lock()
	if lsn >= l.nextLSN {
		lsn = l.nextLSN - min(l.nextLSN, 1)
	}
	seen := l.nextLSN
	for {
		reached := l.syncedLSN
		if !synced {
			reached = max(l.writtenLSN, l.syncedLSN)
		}
		if lsn <= reached {
			l.mu.Unlock()
			return nil
		}
		if l.err != nil {
			err := l.err
			l.mu.Unlock()
			return err
		}
		if l.state == stateClosed {
			l.mu.Unlock()
			return ErrClosed
		}
		kick := false
		if synced && lsn > l.wantSync {
			l.wantSync, kick = lsn, true
		}
		ch, wch := l.changed, l.written
		if synced {
			wch = nil // never ready
		}
		lead := l.state == stateRunning
		if l.gatherTarget != 0 && l.gatherLeft(time.Now()) > 0 {
			// Wait for the batch to gather: the writer that completes
			// it leads it, or the committer goroutine (kicked to time
			// the window) commits what there is when the window ends.
			lead, kick = false, true
		}
		l.mu.Unlock()
		if lead && (!synced || l.syncInline()) && yields < maxYields {
			// Let the other runnable writers append first, so that one
			// write covers them all, as Redis's event loop writes its
			// log once for all the clients it served: yield while others
			// keep appending. (Before an fsync only when it will be
			// inline: a polled one gathers writers while it runs, and one
			// client alone lost a tenth of its throughput to the yield.)
			runtime.Gosched()
			yields++
			l.mu.Lock()
			if l.nextLSN == seen {
				yields = maxYields
			}
			seen = l.nextLSN
			continue
		}
		if lead && l.lead(synced) {
			l.mu.Lock()
			continue
		}
		if kick {
			l.wake()
		}
		select {
		case <-ch:
		case <-wch:
		case <-ctx.Done():
			return ctx.Err()
		}
		l.mu.Lock()
	}
}

// Fail puts a running log in the failing state with err, as a failed
// write would: for what its owner learns outside the log's filesystem
// (its directory removed under it, so that its open segment lives on
// unlinked and writes would be acknowledged that no restart finds). The
// committer then tries to heal as after any failure, by opening the
// segment again by its name.
func (l *Log) Fail(err error) {
	l.mu.Lock()
	running := l.state == stateRunning
	l.mu.Unlock()
	if !running {
		return
	}
	l.cmu.Lock()
	l.fail(err)
	l.cmu.Unlock()
}

// noteTrouble updates troubled from err and state; mu is held.
func (l *Log) noteTrouble() {
	l.troubled.Store(l.err != nil || l.state >= stateClosing)
}

// LastLSN returns the highest LSN appended (after Replay: the last LSN in
// the log, or after, whichever is higher).
func (l *Log) LastLSN() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nextLSN - min(l.nextLSN, 1)
}

// SyncedLSN returns the highest LSN known fsynced.
func (l *Log) SyncedLSN() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.syncedLSN
}

// Err returns the current failure: non-nil while writes or fsyncs are
// failing (until the committer has rewritten and fsynced everything), and
// ErrClosed once the log is closed. Writers should refuse writes
// meanwhile: appended records are kept in memory only.
func (l *Log) Err() error {
	if !l.troubled.Load() {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	if l.state >= stateClosing {
		return ErrClosed
	}
	return nil
}

// SetSyncPolicy changes the fsync policy; it takes effect at once.
func (l *Log) SetSyncPolicy(p SyncPolicy) {
	l.mu.Lock()
	l.policy = p
	running := l.state == stateRunning
	l.mu.Unlock()
	l.wake()
	if running {
		l.preallocate()
	}
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	st := Stats{
		Policy:        l.policy,
		LastLSN:       l.nextLSN - min(l.nextLSN, 1),
		SyncedLSN:     l.syncedLSN,
		Pending:       int64(len(l.pend)),
		Segments:      len(l.segs),
		OK:            l.err == nil,
		LastError:     l.lastErr,
		LastErrorTime: l.lastErrTime,
		MaxFsync:      l.maxFsync,
	}
	for _, s := range l.segs {
		st.TotalSize += s.size
	}
	if n := len(l.segs); n > 0 {
		st.SegmentSize = l.segs[n-1].size
	}
	l.mu.Unlock()
	st.Records = l.records.Load()
	st.BytesWritten = l.bytesWritten.Load()
	st.Frames = l.frames.Load()
	st.Fsyncs = l.fsyncs.Load()
	st.InlineFsyncs = l.inlineFsyncs.Load()
	st.BackgroundFsync = l.syncingBackground.Load()
	st.LastFsync = time.Duration(l.lastFsyncNs.Load())
	st.Failures = l.failures.Load()
	return st
}

// Close writes and fsyncs whatever is pending, marks the end of the log
// and stops the committer. If the log is failing, the committer tries to
// heal once more; if that fails, the unsynced records are lost and Close
// returns the failure. Later calls return the same result.
func (l *Log) Close() error {
	l.mu.Lock()
	switch l.state {
	case stateOpen:
		l.state = stateClosed
		l.noteTrouble()
		close(l.done)
		l.mu.Unlock()
		return nil
	case stateReplaying:
		l.mu.Unlock()
		return errors.New("wal: Close during Replay")
	case stateRunning:
		l.state = stateClosing
		l.noteTrouble()
		l.space.Broadcast()
	}
	l.mu.Unlock()
	l.wake()
	<-l.done
	l.closePreallocated()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closeErr
}

// RemoveSegmentsThrough deletes the segments all of whose records have
// LSN <= lsn (those a snapshot at lsn covers), oldest first, never the
// segment being written, and fsyncs the directory. It returns how many it
// removed. A later Replay needs after >= lsn.
func (l *Log) RemoveSegmentsThrough(lsn uint64) (int, error) {
	l.removing.Lock()
	defer l.removing.Unlock()
	l.mu.Lock()
	segs := append([]segStat(nil), l.segs...)
	l.mu.Unlock()
	n := 0
	var err error
	for ; n+1 < len(segs) && segs[n+1].first-1 <= lsn; n++ {
		if err = l.fs.Remove(segs[n].path); err != nil {
			err = fmt.Errorf("wal: %w", err)
			break
		}
	}
	if n > 0 {
		if serr := l.fs.SyncDir(l.dir); serr != nil && err == nil {
			err = fmt.Errorf("wal: fsync directory %s: %w", l.dir, serr)
		}
		l.mu.Lock()
		l.segs = l.segs[n:]
		l.mu.Unlock()
	}
	return n, err
}

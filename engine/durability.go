package engine

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/pkg/errors"

	"github.com/cairn-db/cairn/wal"
)

// LoadProgress is what INFO persistence reports while the log is replayed.
type LoadProgress struct {
	Started time.Time
	// SnapshotKeys counts the keys loaded from the snapshot so far, of
	// SnapshotTotal; SnapshotSize is the snapshot file's size.
	SnapshotKeys, SnapshotTotal, SnapshotSize int64
	Records                                   int64
	Bytes                                     int64 // record bytes replayed so far
	Duration                                  time.Duration
	Done                                      bool
}

// Durable reports whether the engine has a write-ahead log.
func (e *Engine) Durable() bool { return e.wlog != nil }

// Loading reports whether the log is still being replayed.
func (e *Engine) Loading() bool { return e.loading.Load() }

// Progress returns the replay's progress.
func (e *Engine) Progress() LoadProgress {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	return e.loadProgress
}

// Load loads the newest sound snapshot, if snapshots are configured, then
// replays the write-ahead log after it: for each key, only the effects
// newer than its shard's stamp. It logs progress every few seconds, then
// starts the engine's background work. The engine serves nothing
// meaningful until it returns (callers answer -LOADING meanwhile).
func (e *Engine) Load() (wal.ReplayInfo, error) {
	if !e.loading.Load() {
		return wal.ReplayInfo{}, nil
	}
	start := time.Now()
	e.loadMu.Lock()
	e.loadProgress = LoadProgress{Started: start}
	e.loadMu.Unlock()

	var stamps *replayStamps
	var snapErr error
	if e.opts.Snapshots != nil {
		ix, path, err := e.loadSnapshot()
		if err != nil && e.wlog == nil {
			return wal.ReplayInfo{}, err
		}
		snapErr = err
		if err != nil {
			// Without a sound snapshot only a log that starts at the very
			// beginning can rebuild the data: Replay(0) says if it does not.
			e.log.Error("no sound snapshot; rebuilding from the whole log", "err", err)
		}
		if ix != nil {
			stamps = newReplayStamps(ix.Stamps)
			e.noteLoadedSnapshot(path, ix)
			e.log.Info("snapshot loaded", "file", path, "keys", ix.Keys(),
				"elapsed", time.Since(start).Round(time.Millisecond))
		}
	}
	var info wal.ReplayInfo
	if e.wlog != nil {
		var err error
		info, err = e.replayLog(stamps, start)
		if err != nil && snapErr != nil {
			return info, errors.Wrapf(err, "%v; and the log cannot rebuild the data without a snapshot", snapErr)
		}
		if err != nil {
			return info, err
		}
	}
	e.loadMu.Lock()
	e.loadProgress.Duration, e.loadProgress.Done = time.Since(start), true
	e.loadMu.Unlock()
	e.loading.Store(false)
	e.startBackground()
	if p := e.Progress(); p.SnapshotKeys+p.Records > 100_000 {
		// Loading left garbage (log records, grown tables): give it back
		// to the OS now rather than when the scavenger gets to it.
		go debug.FreeOSMemory()
	}
	return info, nil
}

func (e *Engine) replayLog(stamps *replayStamps, start time.Time) (wal.ReplayInfo, error) {
	lastLog := start
	var records, bytes int64
	var after uint64
	if stamps != nil {
		after = stamps.min
	}
	var kept []Effect
	info, err := e.wlog.Replay(after, func(lsn uint64, rec []byte) error {
		effects, err := DecodeEffects(rec)
		if err != nil {
			return errors.Wrapf(err, "record at LSN %d", lsn)
		}
		if stamps != nil && lsn <= stamps.max {
			// Some shards' snapshot already holds some of these effects.
			kept = kept[:0]
			var flushShards []bool
			for i := range effects {
				ef := &effects[i]
				switch ef.Op {
				case OpFlushDB, OpFlushAll:
					// In order: what came before the flush, then the flush.
					if err := e.Apply(kept); err != nil {
						return errors.Wrapf(err, "apply record at LSN %d", lsn)
					}
					kept = kept[:0]
					flushShards = stamps.shardsBefore(lsn, len(e.shards), flushShards)
					e.flushFiltered(ef, flushShards)
				default:
					if stamps.of(ef.Key) < lsn {
						kept = append(kept, *ef)
					}
				}
			}
			effects = kept
		}
		if err := e.Apply(effects); err != nil {
			return errors.Wrapf(err, "apply record at LSN %d", lsn)
		}
		records++
		bytes += int64(len(rec))
		if records&1023 == 0 {
			now := time.Now()
			e.loadMu.Lock()
			e.loadProgress.Records, e.loadProgress.Bytes = records, bytes
			e.loadMu.Unlock()
			if now.Sub(lastLog) >= 3*time.Second {
				lastLog = now
				e.log.Info("loading the write-ahead log", "records", records, "bytes", bytes,
					"elapsed", now.Sub(start).Round(time.Millisecond))
			}
		}
		return nil
	})
	if err != nil {
		return info, err
	}
	e.loadMu.Lock()
	e.loadProgress.Records, e.loadProgress.Bytes = records, bytes
	e.loadMu.Unlock()
	return info, nil
}

// LastLSN is the LSN of the newest write handed to the log (0 without one).
func (e *Engine) LastLSN() uint64 {
	if e.wlog == nil {
		return 0
	}
	return e.wlog.LastLSN()
}

// WaitSynced blocks until the writes up to lsn are fsynced.
func (e *Engine) WaitSynced(ctx context.Context, lsn uint64) error {
	if e.wlog == nil {
		return nil
	}
	return e.wlog.WaitSynced(ctx, lsn)
}

// WaitWritten blocks until the writes up to lsn are written to the log's
// file (a process crash keeps them; only fsync guards against a machine's).
func (e *Engine) WaitWritten(ctx context.Context, lsn uint64) error {
	if e.wlog == nil {
		return nil
	}
	return e.wlog.WaitWritten(ctx, lsn)
}

// FailLog puts the log in the failing state with err (see wal.Log.Fail);
// nothing without a log.
func (e *Engine) FailLog(err error) {
	if e.wlog != nil {
		e.wlog.Fail(err)
	}
}

// LogErr is the log's failure while its writes or fsyncs fail; nil when
// healthy or without a log. Writes should be refused meanwhile.
func (e *Engine) LogErr() error {
	if e.wlog == nil {
		return nil
	}
	return e.wlog.Err()
}

// SyncPolicy returns the log's fsync policy.
func (e *Engine) SyncPolicy() wal.SyncPolicy {
	if e.wlog == nil {
		return wal.SyncNo
	}
	return wal.SyncPolicy(e.policy.Load())
}

// SetSyncPolicy changes the log's fsync policy (CONFIG SET appendfsync).
func (e *Engine) SetSyncPolicy(p wal.SyncPolicy) {
	if e.wlog != nil {
		e.policy.Store(int32(p))
		e.wlog.SetSyncPolicy(p)
	}
}

// LogStats returns the log's counters (zero without a log).
func (e *Engine) LogStats() wal.Stats {
	if e.wlog == nil {
		return wal.Stats{}
	}
	return e.wlog.Stats()
}

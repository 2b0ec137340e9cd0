package engine

import (
	"context"
	"time"

	"github.com/pkg/errors"

	"github.com/cairn-db/cairn/wal"
)

// LoadProgress is what INFO persistence reports while the log is replayed.
type LoadProgress struct {
	Started  time.Time
	Records  int64
	Bytes    int64 // record bytes replayed so far
	Duration time.Duration
	Done     bool
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

// Load replays the write-ahead log into the engine, logging progress every
// few seconds, then starts the engine's background work. It is a no-op
// without a log. The engine serves nothing meaningful until it returns
// (callers answer -LOADING meanwhile).
func (e *Engine) Load() (wal.ReplayInfo, error) {
	if e.wlog == nil {
		return wal.ReplayInfo{}, nil
	}
	start := time.Now()
	e.loadMu.Lock()
	e.loadProgress = LoadProgress{Started: start}
	e.loadMu.Unlock()
	lastLog := start
	var records, bytes int64
	info, err := e.wlog.Replay(0, func(lsn uint64, rec []byte) error {
		effects, err := DecodeEffects(rec)
		if err != nil {
			return errors.Wrapf(err, "record at LSN %d", lsn)
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
	e.loadProgress = LoadProgress{Started: start, Records: records, Bytes: bytes, Duration: time.Since(start), Done: true}
	e.loadMu.Unlock()
	e.loading.Store(false)
	e.startBackground()
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

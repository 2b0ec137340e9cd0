package wal

import "time"

// Gathering: on a slow disk, the next fsync waits a little for the
// writers the last one answered.
//
// Under always, the writers whose records an fsync covers are answered
// when it ends, and each sends its next write a round trip later. The
// writers that came during the fsync are already waiting, and on a fast
// disk their fsync starts at once, as it should: the CPU is the limit
// there. On a slow one the answered writers then miss that fsync and wait
// for the whole of it before theirs starts: the writers settle into two
// groups taking turns, each fsync covering half of them. Measured on a
// disk with 2.5 ms fsyncs (tools/slowdisk, 399 fsyncs/s), 50 clients at
// pipeline 1: 22-25 writes an fsync and 7.8-9.2k writes/s, where the
// disk's limit is 50 × 399 = 20k; Redis's event loop does the same
// (8.2-8.9k).
//
// So on a slow disk (see slowFsync), the next fsync waits until as many
// records are pending as were in flight when the last one ended (those it
// covered, whose writers come back, and those that came meanwhile), or
// for as long as that fsync took, at most gatherMax, whichever comes
// first. A writer that stops coming costs one window; the next target
// counts without it. With it, the same run made 49 writes an fsync and
// 11.6-13.4k writes/s.
//
// The window is a whole fsync's time because 50 clients took 0.4-1.2 ms
// to come back, on one P: with half of it, on a disk with 1.4 ms fsyncs
// (then inline, so nothing was read during them), the window often
// closed on part of the batch, the rest missed it and came as a small
// batch of its own; at pipeline 16 that was 0.81 of no gathering at all,
// where a whole fsync's window gave 1.33-1.54 (and 1.81-1.95 at
// pipeline 1). On a disk of 0.66 ms, fsyncs polled either way, the window
// made 41 writes an fsync against 25 without, and 30-31k writes/s against
// 26-27k.
const gatherMax = 2 * time.Millisecond

// setGather sets the gather window after an fsync that ended at end, took
// took and covered covered records, on a disk judged slow or not. l.mu is
// held.
func (l *Log) setGather(end time.Time, took time.Duration, covered uint64, slowDisk bool) {
	if !slowDisk || l.policy != SyncAlways {
		l.gatherTarget, l.gatherUntil = 0, time.Time{}
		return
	}
	l.gatherTarget = covered + (l.nextLSN - l.pendFirst)
	l.gatherUntil = end.Add(min(took, gatherMax))
}

// gatherLeft returns how much longer the next fsync should wait for
// writers: zero once the pending records reach the target, or the window
// is over, or when failing or closing. l.mu is held.
func (l *Log) gatherLeft(now time.Time) time.Duration {
	if l.gatherTarget == 0 || l.err != nil || l.state != stateRunning || l.policy != SyncAlways ||
		l.nextLSN-l.pendFirst >= l.gatherTarget {
		return 0
	}
	return l.gatherUntil.Sub(now)
}

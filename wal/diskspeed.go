package wal

import "time"

// Slow disks: on a disk whose fsync takes slowFsync or longer, an fsync
// that writers wait for is polled rather than inline (see useInlineSync),
// and the next one gathers the writers the last one answered (gather.go).
//
// An inline fsync stops the P for the disk's time. On this machine's own
// disk (0.12 ms) that is the cheapest way to wait, as the CPU is the
// limit; on a slower one the P could have answered writers and read their
// next writes meanwhile. Measured with tools/slowdisk, 50 clients at
// pipeline 1 under always, inline against polled (writes/s): 0.36 ms
// disk 39-41k against 36k; 0.42 ms 30-36k against 33-36k; 0.55 ms
// 29-31k against 32-34k; 0.66 ms 21-23k against 26-27k; 0.82 ms 15-18k
// against 21k. With this judgement, against the fsync inline below 2 ms
// and gathered from 1 ms: 0.83 ms disk 32k writes/s against 16-17k (48
// writes an fsync against 19), 1.15 ms 25-26k against 19-20k; 0.45 ms,
// 2.5 ms and the machine's disk as before.
//
// An fsync that blocks its thread, inline or plain, measures the disk. A
// polled one's time includes the wait for the P once it is done: on the
// 0.12 ms disk, polled fsyncs under load measured 0.3-1 ms, so a polled
// fsync can show the disk fast (one under slowFsync), never slow. The
// disk is judged slow after two blocking fsyncs in a row took slowFsync
// or longer (one alone is a spike: the 0.12 ms disk has a few in a
// thousand), and fast again after any fsync that took less. With several
// Ps, where a busy log's fsyncs are all polled, one each reprobeEvery is
// plain, to notice the disk getting slow. On one P there is no such probe:
// a plain fsync there stalls every client until sysmon takes the P back,
// and an inline one for as long as the disk takes (every 100 ms on an
// 8 ms disk that would stall readers too); the inline fsyncs of a busy log
// judged fast notice it.
const (
	slowFsync    = 500 * time.Microsecond
	slowInARow   = 2
	reprobeEvery = 100 * time.Millisecond
)

// diskSpeed judges the disk's speed from fsync times. Whoever holds
// Log.cmu touches it.
type diskSpeed struct {
	// slowRun counts the blocking fsyncs in a row that took slowFsync or
	// longer.
	slowRun int
	// measured is when the last blocking fsync ended.
	measured time.Time
}

// note records an fsync that ended at end and took took, blocking its
// thread or not (polled), and reports whether the disk is now judged
// slow.
func (d *diskSpeed) note(end time.Time, took time.Duration, blocking bool) bool {
	if blocking {
		d.measured = end
	}
	switch {
	case took < slowFsync:
		d.slowRun = 0
	case blocking:
		d.slowRun++
	}
	return d.slow()
}

func (d *diskSpeed) slow() bool { return d.slowRun >= slowInARow }

// probeDue reports whether the next fsync should block, to measure the
// disk (with several Ps).
func (d *diskSpeed) probeDue(now time.Time) bool {
	return now.Sub(d.measured) >= reprobeEvery
}

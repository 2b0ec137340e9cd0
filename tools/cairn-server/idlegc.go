package main

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The idle collector runs Go's garbage collection while the server is
// idle, once the heap has grown part of the way to the size at which a
// collection would start on its own.
//
// Why: a collection marks the whole keyspace, about 120 ms of a core for
// a million string keys, and runs beside the commands it lands among. On
// one P a quarter of that P goes to the collector for the whole cycle
// (450-470 ms measured), so commands in that half-second slow by as much
// and their slowest wait rose from 3-12 ms to 17-22 ms (ZADD after a
// million SETs, 50 clients). In the throughput harness (../shared/bench,
// five rounds of six tests at two pipelines) the cycles that fell among
// commands went from 17 to 1: the other 28 ran while it was idle. Most loads pause now and then (between a
// burst of requests and the next, at night, after a bulk load), and a
// collection made in the pause starts the heap's next growth from its
// live size, so the load that follows goes on longer before the collector
// is due again. Under a load that never pauses, or pauses for less time
// than a collection takes, it never runs: the collector then runs as Go
// paces it.
//
// After a longer pause (idleReleaseAfter) it also hands the heap's free
// pages back to the system, as jemalloc's decay does for Redis: Go keeps
// much of what the heap once used, and gives it back slowly: 13 s after a
// million-member sorted set was loaded, the server's resident memory was
// 1.32 times Redis's, and 1.18 with the release. It waits that long
// because a load that comes back must fault the pages in again: released
// in every short pause, the harness's tests at pipeline 16 ran at 0.967
// of the rate without (HSET 0.88; five rounds).
//
// It acts only while the machine has a core to spare as well
// (idleGCMachineIdle): the server's pause may be another program's busy
// time, the application a cache sits beside, or the other server of a
// side-by-side benchmark. There a collection would take its time from that
// program, not from the server's own clients: in the throughput harness
// (two cores, servers measured in turn) the server used 0.12-0.18 s of CPU
// in 3 of Redis's 12 runs, where it used 0.01-0.03 s in the others. A
// collection it does not make then falls among the server's own commands,
// as Go paces it.
//
// Like the thread tuner it is a process-wide setting, so only the binary
// runs it, and GOGC in the environment leaves the collector to Go.

const (
	// idleGCWindow is how often the collector looks at the command count.
	idleGCWindow = 100 * time.Millisecond
	// idleGCWindows is how many windows without a command make the
	// server idle.
	idleGCWindows = 2
	// idleGCMinGrowth is the least growth worth a collection: below it a
	// cycle would be mostly the cost of starting one.
	idleGCMinGrowth = 4 << 20
	// idleReleaseAfter is how long the server must have been idle before
	// free pages are handed back (jemalloc's dirty_decay_ms is 10 s).
	idleReleaseAfter = 10 * time.Second
	// idleReleaseMin is the least free memory worth handing back.
	idleReleaseMin = 16 << 20
	// idleGCMachineIdle is the fewest idle cores the machine must have had
	// in each of the idle windows: a collection takes one.
	idleGCMachineIdle = 0.75
)

// heapSample is what the collector reads of the heap.
type heapSample struct {
	live, goal, inUse uint64 // bytes
	free              uint64 // bytes free in the heap and not yet released
}

// worthCollecting reports whether a heap that has grown since the last
// collection from live to inUse, with the next collection due at goal,
// should be collected now: once it has grown a quarter of the way there.
func worthCollecting(s heapSample) bool {
	if s.inUse <= s.live || s.goal <= s.live {
		return false
	}
	grown := s.inUse - s.live
	return grown >= idleGCMinGrowth && grown*4 >= s.goal-s.live
}

// worthReleasing reports whether the heap's free pages are worth handing
// back: at least idleReleaseMin, and an eighth of the heap in use.
func worthReleasing(s heapSample) bool {
	return s.free >= idleReleaseMin && s.free*8 >= s.inUse
}

// readHeap samples the heap's metrics into samples (allocated by
// newHeapSamples).
func readHeap(samples []metrics.Sample) heapSample {
	metrics.Read(samples)
	var s heapSample
	for _, m := range samples {
		if m.Value.Kind() != metrics.KindUint64 {
			continue
		}
		switch m.Name {
		case "/gc/heap/live:bytes":
			s.live = m.Value.Uint64()
		case "/gc/heap/goal:bytes":
			s.goal = m.Value.Uint64()
		case "/memory/classes/heap/objects:bytes":
			s.inUse = m.Value.Uint64()
		case "/memory/classes/heap/free:bytes":
			s.free = m.Value.Uint64()
		}
	}
	return s
}

func newHeapSamples() []metrics.Sample {
	return []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
}

// idleCollector decides when the server has been idle long enough. A
// collection made in a short pause of a busy load would run on into the
// load, and collecting at a quarter of the way instead of all of it could
// then make the collector's work up to four times what Go's pacing makes
// it. So the pause must last as long as a collection is expected to take:
// the last one it ran, scaled by the live heap since.
type idleCollector struct {
	// releaseAfter is how long the server must be idle before free pages
	// are handed back (idleReleaseAfter).
	releaseAfter time.Duration
	// heap samples the heap (nil: the runtime's metrics, readHeap);
	// release hands free pages back (nil: debug.FreeOSMemory). Tests set
	// them: Go's own scavenger hands back pages at its own pace, so a
	// test on the real heap could not tell whose release it saw.
	heap    func() heapSample
	release func()
	// machineIdle returns the machine's idle time so far (nil:
	// machineIdle, from /proc/stat; false where it cannot be known, and
	// the machine is then taken to have cores to spare).
	machineIdle func() (time.Duration, bool)

	lastTook time.Duration // how long the last collection it ran took
	lastLive uint64        // the live heap before it
}

// idleNeeded is how long the server must have been idle before a heap
// whose live size is live is collected.
func (c *idleCollector) idleNeeded(live uint64) time.Duration {
	need := idleGCWindows * idleGCWindow
	if c.lastLive > 0 {
		need = max(need, time.Duration(float64(c.lastTook)*float64(live)/float64(c.lastLive)))
	}
	return need
}

// run runs the idle collector until stop is closed. commands returns the
// commands processed so far.
func (c *idleCollector) run(stop <-chan struct{}, commands func() int64, log *slog.Logger) {
	if c.heap == nil {
		samples := newHeapSamples()
		c.heap = func() heapSample { return readHeap(samples) }
	}
	if c.release == nil {
		c.release = debug.FreeOSMemory // a collection, then the release
	}
	if c.machineIdle == nil {
		c.machineIdle = machineIdle
	}
	tick := time.NewTicker(idleGCWindow)
	defer tick.Stop()
	last, quiet := commands(), 0
	released := false // in this pause
	lastIdle, idleKnown := c.machineIdle()
	lastTick := time.Now()
	spare := 0 // windows in a row in which the machine had a core to spare
	for {
		var now time.Time
		select {
		case <-stop:
			return
		case now = <-tick.C:
		}
		idleNow, ok := c.machineIdle()
		switch {
		case !ok || !idleKnown:
			spare++ // not known: as if it had
		case (idleNow-lastIdle).Seconds()/max(now.Sub(lastTick).Seconds(), 1e-3) >= idleGCMachineIdle:
			spare++
		default:
			spare = 0
		}
		lastIdle, idleKnown, lastTick = idleNow, ok, now
		cmds := commands()
		if cmds != last {
			last, quiet, released = cmds, 0, false
			continue
		}
		if quiet++; quiet < idleGCWindows || spare < idleGCWindows {
			continue
		}
		s := c.heap()
		idle := time.Duration(quiet) * idleGCWindow
		switch {
		case worthCollecting(s) && idle >= c.idleNeeded(s.live):
			start := time.Now()
			runtime.GC()
			c.lastTook, c.lastLive = time.Since(start), s.live
			log.Debug("collected while idle", "live_before", s.live, "in_use", s.inUse, "goal", s.goal,
				"elapsed", c.lastTook.Round(time.Millisecond))
		case !released && idle >= c.releaseAfter && worthReleasing(s):
			start := time.Now()
			c.release()
			released = true
			log.Debug("released free memory while idle", "free", s.free, "in_use", s.inUse,
				"elapsed", time.Since(start).Round(time.Millisecond))
		}
	}
}

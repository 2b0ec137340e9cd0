package main

import (
	"log/slog"
	"runtime"
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
)

// heapSample is what the collector reads of the heap.
type heapSample struct {
	live, goal, inUse uint64 // bytes
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
		}
	}
	return s
}

func newHeapSamples() []metrics.Sample {
	return []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
	}
}

// idleCollector decides when the server has been idle long enough. A
// collection made in a short pause of a busy load would run on into the
// load, and collecting at a quarter of the way instead of all of it could
// then make the collector's work up to four times what Go's pacing makes
// it. So the pause must last as long as a collection is expected to take:
// the last one it ran, scaled by the live heap since.
type idleCollector struct {
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

// collectWhenIdle runs the idle collector until stop is closed. commands
// returns the commands processed so far.
func collectWhenIdle(stop <-chan struct{}, commands func() int64, log *slog.Logger) {
	var c idleCollector
	samples := newHeapSamples()
	tick := time.NewTicker(idleGCWindow)
	defer tick.Stop()
	last, quiet := commands(), 0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		cmds := commands()
		if cmds != last {
			last, quiet = cmds, 0
			continue
		}
		if quiet++; quiet < idleGCWindows {
			continue
		}
		s := readHeap(samples)
		if !worthCollecting(s) || time.Duration(quiet)*idleGCWindow < c.idleNeeded(s.live) {
			continue
		}
		start := time.Now()
		runtime.GC()
		c.lastTook, c.lastLive = time.Since(start), s.live
		log.Debug("collected while idle", "live_before", s.live, "in_use", s.inUse, "goal", s.goal,
			"elapsed", c.lastTook.Round(time.Millisecond))
	}
}

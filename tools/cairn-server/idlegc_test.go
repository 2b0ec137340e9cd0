package main

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// TestHeapDecisions checks, for each heap, whether it is worth a
// collection and whether its free pages are worth handing back.
func TestHeapDecisions(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		name             string
		s                heapSample
		collect, release bool
	}{
		{"a quarter of the way", heapSample{live: 100 * mb, goal: 200 * mb, inUse: 125 * mb}, true, false},
		{"most of the way", heapSample{live: 100 * mb, goal: 200 * mb, inUse: 190 * mb}, true, false},
		{"less than a quarter", heapSample{live: 100 * mb, goal: 200 * mb, inUse: 124 * mb}, false, false},
		{"just collected", heapSample{live: 100 * mb, goal: 200 * mb, inUse: 100 * mb}, false, false},
		{"swept below live", heapSample{live: 100 * mb, goal: 200 * mb, inUse: 90 * mb}, false, false},
		{"small heap, small growth", heapSample{live: 2 * mb, goal: 4 * mb, inUse: 3 * mb}, false, false},
		{"small heap, past the least growth", heapSample{live: 2 * mb, goal: 12 * mb, inUse: 7 * mb}, true, false},
		{"collection off (GOGC=off)", heapSample{live: 100 * mb, goal: ^uint64(0), inUse: 190 * mb}, false, false},
		{"no goal yet", heapSample{inUse: 190 * mb}, false, false},
		{"much free", heapSample{live: 100 * mb, goal: 200 * mb, inUse: 100 * mb, free: 80 * mb}, false, true},
		{"an eighth free", heapSample{live: 160 * mb, goal: 320 * mb, inUse: 160 * mb, free: 20 * mb}, false, true},
		{"less than an eighth free", heapSample{live: 1000 * mb, goal: 2000 * mb, inUse: 1000 * mb, free: 100 * mb}, false, false},
		{"a small heap's free", heapSample{live: 8 * mb, goal: 16 * mb, inUse: 8 * mb, free: 15 * mb}, false, false},
		{"grown, and free pages", heapSample{live: 100 * mb, goal: 200 * mb, inUse: 150 * mb, free: 40 * mb}, true, true},
	} {
		if got := worthCollecting(c.s); got != c.collect {
			t.Errorf("%s: worthCollecting(%+v) = %v, want %v", c.name, c.s, got, c.collect)
		}
		if got := worthReleasing(c.s); got != c.release {
			t.Errorf("%s: worthReleasing(%+v) = %v, want %v", c.name, c.s, got, c.release)
		}
	}
}

func TestReadHeap(t *testing.T) {
	keep := make([]byte, 32<<20)
	runtime.GC()
	s := readHeap(newHeapSamples())
	if s.live < uint64(len(keep)) || s.goal <= s.live || s.inUse < uint64(len(keep)) {
		t.Fatalf("readHeap = %+v with %d bytes kept", s, len(keep))
	}
	runtime.KeepAlive(keep)
}

// forcedCycles is the number of collections runtime.GC has run.
func forcedCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var garbageSink []byte

// growHeap keeps live bytes and then makes about half as much garbage,
// leaving the heap a quarter or more of the way to the next collection.
// It returns the live bytes, to be kept alive by the caller.
func growHeap(t *testing.T) [][]byte {
	t.Helper()
	live := make([][]byte, 64)
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	for range 24 {
		garbageSink = make([]byte, 1<<20)
	}
	if s := readHeap(newHeapSamples()); !worthCollecting(s) {
		t.Fatalf("heap %+v not worth collecting: the test's premise failed", s)
	}
	return live
}

func TestCollectWhenIdle(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("idle", func(t *testing.T) {
		live := growHeap(t)
		before := forcedCycles()
		var commands atomic.Int64
		stop := make(chan struct{})
		defer close(stop)
		go (&idleCollector{releaseAfter: time.Hour, machineIdle: spareMachine()}).run(stop, commands.Load, log)
		deadline := time.Now().Add(10 * time.Second)
		for forcedCycles() == before {
			if time.Now().After(deadline) {
				t.Fatalf("no collection in 10 s of an idle server with heap %+v", readHeap(newHeapSamples()))
			}
			time.Sleep(idleGCWindow / 4)
		}
		runtime.KeepAlive(live)
	})
	t.Run("busy", func(t *testing.T) {
		live := growHeap(t)
		before := forcedCycles()
		var commands atomic.Int64
		stop := make(chan struct{})
		go (&idleCollector{releaseAfter: time.Hour, machineIdle: spareMachine()}).run(stop, commands.Load, log)
		// Commands go on through ten windows, more than enough for the
		// idle case to collect: none may be run.
		for range 10 * 8 {
			commands.Add(1)
			time.Sleep(idleGCWindow / 8)
		}
		close(stop)
		if n := forcedCycles() - before; n != 0 {
			t.Fatalf("%d collections while commands ran", n)
		}
		runtime.KeepAlive(live)
	})
	t.Run("machine busy", func(t *testing.T) {
		live := growHeap(t)
		before := forcedCycles()
		var commands atomic.Int64
		stop := make(chan struct{})
		// The server is idle, but the machine has no core to spare: its
		// idle time does not move.
		busy := func() (time.Duration, bool) { return time.Hour, true }
		go (&idleCollector{releaseAfter: time.Hour, machineIdle: busy}).run(stop, commands.Load, log)
		time.Sleep(10 * idleGCWindow)
		close(stop)
		if n := forcedCycles() - before; n != 0 {
			t.Fatalf("%d collections while the machine was busy", n)
		}
		runtime.KeepAlive(live)
	})
}

// spareMachine returns a machineIdle for a machine of two idle cores.
func spareMachine() func() (time.Duration, bool) {
	start := time.Now()
	return func() (time.Duration, bool) { return 2 * time.Since(start), true }
}

func TestReleaseWhenIdle(t *testing.T) {
	const mb = 1 << 20
	// A heap with free pages to hand back and no collection due.
	heap := heapSample{live: 100 * mb, goal: 200 * mb, inUse: 100 * mb, free: 80 * mb}
	if !worthReleasing(heap) || worthCollecting(heap) {
		t.Fatalf("heap %+v: the test's premise failed", heap)
	}
	released := make(chan time.Time, 10)
	var commands atomic.Int64
	c := &idleCollector{
		releaseAfter: 10 * idleGCWindow,
		heap:         func() heapSample { return heap },
		release:      func() { released <- time.Now() },
		machineIdle:  spareMachine(),
	}
	stop := make(chan struct{})
	defer close(stop)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for pause := range 2 {
		start := time.Now()
		commands.Add(1) // a command ends the pause before
		if pause == 0 {
			go c.run(stop, commands.Load, log)
		}
		select {
		case at := <-released:
			// The pause is counted in windows, so it is known to within one.
			if idle := at.Sub(start); idle < c.releaseAfter-idleGCWindow {
				t.Fatalf("pause %d: released after %v idle, want %v or more", pause, idle, c.releaseAfter-idleGCWindow)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("pause %d: no release in 10 s of an idle server", pause)
		}
		// Once a pause, though the heap still says pages are free.
		select {
		case <-released:
			t.Fatalf("pause %d: released twice", pause)
		case <-time.After(c.releaseAfter):
		}
	}
}

func TestIdleNeeded(t *testing.T) {
	const mb = 1 << 20
	least := idleGCWindows * idleGCWindow
	for _, c := range []struct {
		name string
		c    idleCollector
		live uint64
		want time.Duration
	}{
		{"none collected yet", idleCollector{}, 1000 * mb, least},
		{"quick collections", idleCollector{lastTook: 50 * time.Millisecond, lastLive: 100 * mb}, 100 * mb, least},
		{"a slow collection", idleCollector{lastTook: 2 * time.Second, lastLive: 1000 * mb}, 1000 * mb, 2 * time.Second},
		{"the heap grew since", idleCollector{lastTook: 2 * time.Second, lastLive: 1000 * mb}, 3000 * mb, 6 * time.Second},
		{"the heap shrank since", idleCollector{lastTook: 2 * time.Second, lastLive: 1000 * mb}, 50 * mb, least},
	} {
		if got := c.c.idleNeeded(c.live); got != c.want {
			t.Errorf("%s: idleNeeded(%d MB) = %v, want %v", c.name, c.live/mb, got, c.want)
		}
	}
}

package main

import (
	"math"
	"runtime"
	"testing"
	"time"
)

// TestProcTunerFirstWindows: a new tuner takes neither its first window
// nor a ramp for a baseline (the load of a server that started just
// before it).
func TestProcTunerFirstWindows(t *testing.T) {
	r := &tunerRun{procTuner: newProcTuner(2), now: time.Unix(0, 0), idle: math.Inf(1)}
	playWindows(t, "a load from the start", func(busy, rate float64, _ int) int { return r.window(busy, rate) }, []tunerWindowCase{
		{busy: 0.64, rate: 21e3, want: 1}, // the first window: not counted
		{busy: 0.95, rate: 43e3, want: 1}, // twice the first: the ramp
		{busy: 0.94, rate: 51e3, want: 2}, // a probe, against 51k
	})
}

// TestProcTuner runs the tuner through windows of (busy, rate) and checks
// the Ps it chooses after each.
func TestProcTuner(t *testing.T) {
	type window struct {
		busy, rate float64
		want       int
	}
	cases := []struct {
		name    string
		max     int
		windows []window
	}{
		{"one P carries the load: stays", 2, []window{
			{0.55, 100e3, 1}, {0.56, 100e3, 1}, {0.3, 50e3, 1},
		}},
		{"busy but not saturated, a second P pays (latency-bound clients): kept", 2, []window{
			{0.8, 90e3, 2},   // probe
			{0.9, 95e3, 2},   // settling
			{1.0, 105e3, 2},  // judged...
			{1.0, 105e3, 2},  // ...over
			{1.0, 105e3, 2},  // three windows: kept
			{0.95, 105e3, 2}, // held, and too busy to drop
		}},
		{"saturated, a second P pays: kept", 2, []window{
			{0.97, 500e3, 2}, // probe
			{1.2, 520e3, 2},  // settling, not judged
			{1.4, 800e3, 2},  // judged...
			{1.4, 800e3, 2},
			{1.4, 800e3, 2}, // ...kept
			{1.4, 800e3, 2},
		}},
		{"saturated, a second P does not pay: dropped, retried after a backoff", 2, []window{
			{0.97, 500e3, 2},
			{1.1, 400e3, 2},
			{1.1, 450e3, 2},
			{1.1, 450e3, 2},
			{1.1, 450e3, 1},  // judged over three windows: dropped
			{0.97, 500e3, 1}, // within the backoff: no probe
			{0.97, 500e3, 1},
		}},
		{"one fewer suffices: dropped once the hold is over", 2, []window{
			{0.97, 500e3, 2}, {1.2, 520e3, 2}, {1.4, 800e3, 2}, {1.4, 800e3, 2}, {1.4, 800e3, 2},
			{0.5, 100e3, 2}, // held
		}},
		{"never above the cores", 1, []window{
			{1.0, 500e3, 1}, {1.0, 500e3, 1},
		}},
		{"a load after idle windows: its first window is no baseline", 2, []window{
			{0.01, 10, 1}, {0.01, 10, 1},
			{0.88, 1.3e6, 1}, // the ramp: no probe
			{0.97, 1.5e6, 2}, // a probe, against 1.5M
			{1.1, 1.35e6, 2}, // settling
			{1.1, 1.35e6, 2}, // judged...
			{1.1, 1.36e6, 2},
			{1.1, 1.36e6, 1}, // ...not kept (it would have been, against the ramp's 1.3M)
		}},
		{"a load still ramping up is no baseline", 2, []window{
			{0.01, 10, 1},
			{0.07, 60, 1},     // the first window after idleness: not counted
			{0.56, 13.5e3, 1}, // the ramp: no baseline
			{0.84, 54e3, 1},   // four times the window before: still the ramp
			{0.85, 50e3, 2},   // a probe, against 50k
			{0.97, 47e3, 2},   // settling
			{0.95, 45e3, 2},   // judged...
			{0.92, 38e3, 1},   // ...under 0.8 of 50k: not kept (against the ramp's 34k, it would have been)
		}},
		{"a probe that begins in the slow window ending a load is judged against the load", 2, []window{
			{0.01, 10, 1},
			{0.55, 80e3, 1}, // the first window
			{0.55, 80e3, 1}, // a baseline, not busy enough for a probe
			{0.55, 80e3, 1},
			{0.65, 60e3, 2}, // the load ends: a probe, against 80k (the average is 70k)
			{0.9, 82e3, 2},  // the next load, settling
			{0.9, 82e3, 2},  // judged...
			{0.9, 82e3, 2},
			{0.9, 82e3, 1}, // ...not kept: 1.03 of 80k (it would have been, at 1.17 of 70k)
		}},
		{"up to four, one at a time", 4, []window{
			{0.95, 100e3, 2}, {1.5, 150e3, 2}, {1.9, 200e3, 2}, {1.9, 200e3, 2}, {1.9, 200e3, 2}, // probe, settle, judge: kept
			{1.9, 200e3, 2},                                                                     // the first window on two: not a baseline
			{1.9, 200e3, 3}, {2.5, 250e3, 3}, {2.9, 300e3, 3}, {2.9, 300e3, 3}, {2.9, 300e3, 3}, // again
			{2.9, 300e3, 3},
			{2.9, 300e3, 4},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newTunerRun(tc.max)
			for i, w := range tc.windows {
				if got := r.window(w.busy, w.rate); got != w.want {
					t.Fatalf("window %d (busy %.2f, rate %.0f): %d Ps, want %d", i, w.busy, w.rate, got, w.want)
				}
			}
		})
	}
}

// TestProcTunerDropsAfterHold: a kept probe is undone once the load fits
// in fewer Ps and the hold has passed; a failed probe's backoff grows.
func TestProcTunerDropsAfterHold(t *testing.T) {
	r := newTunerRun(2)
	step := r.window
	step(0.97, 500e3)
	step(1.2, 520e3)
	step(1.4, 800e3)
	step(1.4, 800e3)
	if got := step(1.4, 800e3); got != 2 {
		t.Fatalf("probe not kept: %d Ps", got)
	}
	r.now = r.now.Add(holdFor)
	if got := step(0.5, 100e3); got != 1 {
		t.Fatalf("after the hold, a light load still has %d Ps", got)
	}

	// Two failed probes: the second backoff is twice the first.
	r.restart(2)
	step(0.97, 500e3)
	step(1.0, 400e3)
	step(1.0, 400e3)
	step(1.0, 400e3)
	step(1.0, 400e3) // dropped; retry after minBackoff
	if b := r.failedBackoff(500e3); b != 2*minBackoff {
		t.Fatalf("backoff after one failed probe: %v, want %v", b, 2*minBackoff)
	}
	r.now = r.now.Add(minBackoff)
	step(0.97, 500e3) // the first window back on one P: no baseline yet
	if got := step(0.97, 500e3); got != 2 {
		t.Fatalf("no new probe after the backoff: %d Ps", got)
	}
	step(1.0, 400e3)
	step(1.0, 400e3)
	step(1.0, 400e3)
	step(1.0, 400e3)
	if b := r.failedBackoff(500e3); b != 4*minBackoff {
		t.Fatalf("backoff after two failed probes: %v, want %v", b, 4*minBackoff)
	}
}

// TestProcTunerFloor: background work raises the Ps at once, without a
// probe, and keeps them up while it lasts.
func TestProcTunerFloor(t *testing.T) {
	r := newTunerRun(4)
	step := r.windowFloor
	if got := step(0.3, 1e3, 2); got != 2 {
		t.Fatalf("floor 2: %d Ps", got)
	}
	if got := step(0.3, 1e3, 2); got != 2 {
		t.Fatalf("light load under floor 2: %d Ps", got)
	}
	if got := step(0.3, 1e3, 1); got != 1 {
		t.Fatalf("floor gone, light load: %d Ps", got)
	}
	if got := newProcTuner(1).step(r.now, 0, 0, math.Inf(1), 2); got != 1 {
		t.Fatalf("floor above the cores: %d Ps", got)
	}

	// A load starts under a floor of 2, the floor goes, and the Ps drop
	// to one; the probe that follows is judged against the rate on one P
	// only, not a mix with the windows on two.
	r.restart(2)
	playWindows(t, "mixed baseline", step, []tunerWindowCase{
		{0.1, 0, 2, 2},
		{0.1, 0, 2, 2},
		{0.65, 44e3, 1, 1}, // the load starts; one P suffices
		{0.9, 47e3, 1, 1},  // its ramp, on one P: not a baseline
		{0.9, 70e3, 1, 1},  // half again as much: still the ramp
		{0.9, 70e3, 1, 2},  // a probe, against 70k
		{1.0, 66e3, 1, 2},  // settling
		{1.0, 66e3, 1, 2},  // judged...
		{1.0, 68e3, 1, 2},
		{1.0, 68e3, 1, 1}, // ...not kept: below 70k×1.05 (above the mix of 47k and 70k)
	})

	// A load that keeps two Ps busy under the floor: when the floor goes,
	// so does the P it added, busy or not.
	r.restart(2)
	playWindows(t, "floor goes", step, []tunerWindowCase{
		{0.1, 0, 2, 2},
		{1.2, 50e3, 2, 2},
		{1.2, 50e3, 2, 2},
		{1.2, 53e3, 1, 1}, // the floor went
		{0.9, 84e3, 1, 1},
	})
	// A P that a probe above the floor earned stays after the floor goes.
	r.restart(3)
	playWindows(t, "earned", step, []tunerWindowCase{
		{0.1, 0, 2, 2},
		{1.5, 50e3, 2, 2}, // first window at 2: not counted
		{1.5, 50e3, 2, 3}, // probe a third
		{2.2, 60e3, 2, 3}, // settling
		{2.2, 60e3, 2, 3},
		{2.2, 60e3, 2, 3},
		{2.2, 60e3, 2, 3}, // judged: kept
		{2.2, 60e3, 1, 3}, // the floor goes; the Ps are the tuner's
	})
}

// tunerWindowCase is one window given to the tuner and the Ps it must
// answer with.
type tunerWindowCase struct {
	busy, rate  float64
	floor, want int
}

// playWindows steps through ws, failing at the first window answered
// with other than its want.
func playWindows(t *testing.T, name string, step func(busy, rate float64, floor int) int, ws []tunerWindowCase) {
	t.Helper()
	for i, w := range ws {
		if got := step(w.busy, w.rate, w.floor); got != w.want {
			t.Fatalf("%s, window %d: busy %.2f rate %.0f floor %d: %d Ps, want %d", name, i, w.busy, w.rate, w.floor, got, w.want)
		}
	}
}

// TestProcTunerKeepsWhatPaid: a P that paid is not given back while the
// load that it paid for lasts, however little busier the Ps are than one:
// rechecks of one P fewer find that it still pays, and come at longer and
// longer intervals. It is given back once the rate falls well below.
func TestProcTunerKeepsWhatPaid(t *testing.T) {
	r := newTunerRun(2)
	load := r.model(0.78, 80e3, 100e3) // one P: 80k; two: 100k
	load()                             // probe
	load()                             // settling
	load()
	load()
	if got := load(); got != 2 { // judged over three windows: kept
		t.Fatalf("probe that paid: %d Ps", got)
	}
	var onOne, rechecks int
	for range 600 { // a minute
		before := r.cur
		if got := load(); got == 1 {
			onOne++
			if before == 2 {
				rechecks++
			}
		}
	}
	if rechecks < 2 || rechecks > 5 {
		t.Fatalf("%d rechecks in a minute, want 2-5 (at 4, 8, 16 and 30 s intervals)", rechecks)
	}
	if onOne > 4*rechecks {
		t.Fatalf("%d windows on one P in %d rechecks", onOne, rechecks)
	}
	if r.cur != 2 {
		t.Fatalf("the same load ended on %d Ps", r.cur)
	}
	if got := r.window(0.4, 60e3); got != 1 {
		t.Fatalf("the load fell to 60 %%: %d Ps, want 1", got)
	}
}

// TestProcTunerRecheck: a probe that looked paid because the load changed
// under it (it began in the slow window that ended one load, and the next
// load ran faster on two Ps than that window on one) is undone by the
// recheck, and the load is not probed again within its backoff.
func TestProcTunerRecheck(t *testing.T) {
	r := newTunerRun(2)
	playWindows(t, "one load ends, the next begins", func(busy, rate float64, _ int) int { return r.window(busy, rate) }, []tunerWindowCase{
		{busy: 0.01, rate: 10, want: 1},
		{busy: 0.55, rate: 80e3, want: 1}, // the first load's first window
		{busy: 0.55, rate: 80e3, want: 1}, // a baseline; not busy enough for a probe
		{busy: 0.55, rate: 80e3, want: 1},
		{busy: 0.65, rate: 60e3, want: 2}, // its end: a probe
		{busy: 0.9, rate: 87e3, want: 2},  // the next load, settling
		{busy: 0.9, rate: 87e3, want: 2},  // judged...
		{busy: 0.9, rate: 87e3, want: 2},
		{busy: 0.9, rate: 87e3, want: 2}, // ...kept: 87k is 1.09 of the baseline's 80k
	})
	load := r.model(0.9, 97e3, 87e3) // one P serves the new load best
	for i := 0; r.cur != 1 || r.probing; i++ {
		if time.Duration(i)*tunerWindow > minBackoff+judgeWindows*tunerWindow {
			t.Fatal("no recheck undid the P")
		}
		load()
	}
	for range int(minBackoff/tunerWindow) - 1 {
		if got := load(); got != 1 {
			t.Fatal("the load probed again within its backoff")
		}
	}
}

// TestProcTunerLoadRises: a P that paid for one load is not kept for
// another of a much higher command rate, however busy the Ps are; the new
// load is judged from one P, and a probe follows.
func TestProcTunerLoadRises(t *testing.T) {
	r := newTunerRun(2)
	step := r.window
	step(0.8, 40e3) // probe
	step(0.8, 45e3) // settling
	step(1.1, 50e3)
	step(1.1, 50e3)
	if got := step(1.1, 50e3); got != 2 { // judged: kept
		t.Fatalf("probe that paid: %d Ps", got)
	}
	r.now = r.now.Add(holdFor)
	if got := step(1.2, 60e3); got != 2 {
		t.Fatalf("same load, a little more: %d Ps, want 2", got)
	}
	if got := step(1.2, 780e3); got != 1 {
		t.Fatalf("a load of 780k after one of 50k: %d Ps, want 1", got)
	}
	if got := step(0.95, 920e3); got != 1 { // first window on one P: not counted
		t.Fatalf("first window of the new baseline: %d Ps", got)
	}
	if got := step(0.95, 920e3); got != 2 {
		t.Fatalf("no probe of the new load: %d Ps", got)
	}
}

// TestBackgroundFloor: two Ps while a snapshot runs; under always, two
// while fsyncs cover few writes, one once they cover eight or more on
// average, and two again below four (the judgement kept through windows
// without an fsync); under the other policies one.
func TestBackgroundFloor(t *testing.T) {
	var snapshotting, always bool
	var records, fsyncs int64
	floor := backgroundFloor(func() bool { return snapshotting }, func() bool { return always },
		func() (int64, int64) { return records, fsyncs })
	steps := []struct {
		name                 string
		snapshotting, always bool
		records, fsyncs      int64 // added in the window
		want                 int
	}{
		{"idle", false, false, 0, 0, 1},
		{"everysec, a batch a second", false, false, 1000, 1, 1},
		{"snapshot", true, false, 100, 1, 2},
		{"always, idle", false, true, 0, 0, 2},
		{"always, one writer", false, true, 100, 100, 2},
		{"always, many writers", false, true, 2000, 100, 1},
		{"always, no fsync in the window", false, true, 0, 0, 1},
		{"always, six per fsync: between the bounds", false, true, 600, 100, 1},
		{"always, many writers, snapshot", true, true, 2000, 100, 2},
		{"always, three per fsync", false, true, 300, 100, 2},
		{"always, six per fsync again", false, true, 600, 100, 2},
		{"everysec", false, false, 5000, 1, 1},
		{"always again, a stale everysec judgement is not kept", false, true, 0, 0, 2},
	}
	for _, s := range steps {
		snapshotting, always = s.snapshotting, s.always
		records += s.records
		fsyncs += s.fsyncs
		if got := floor(); got != s.want {
			t.Errorf("%s: floor %d, want %d", s.name, got, s.want)
		}
	}
}

// TestProcTunerFailedLoad: after a probe that did not pay, the same load is
// not probed again within the backoff, another load (a rate outside
// loadDrop of it) is, at once.
func TestProcTunerFailedLoad(t *testing.T) {
	r := newTunerRun(2)
	step := r.window
	playWindows(t, "same load", func(busy, rate float64, _ int) int { return step(busy, rate) }, []tunerWindowCase{
		{busy: 0.9, rate: 92e3, want: 2}, // probe
		{busy: 1.1, rate: 75e3, want: 2}, // settling
		{busy: 1.1, rate: 75e3, want: 2}, // judged...
		{busy: 1.1, rate: 76e3, want: 2},
		{busy: 1.1, rate: 76e3, want: 1}, // ...not kept
	})
	for i := 0; time.Duration(i)*tunerWindow < minBackoff-tunerWindow; i++ {
		if got := step(0.9, 92e3); got != 1 {
			t.Fatalf("the same load probed again %v after a failed probe", time.Duration(i+1)*tunerWindow)
		}
	}
	if got := step(0.9, 92e3); got != 2 {
		t.Fatal("the same load not probed again after the backoff")
	}

	r.restart(2)
	for _, w := range []float64{92e3, 75e3, 75e3, 76e3, 76e3} { // a failed probe, as above
		step(0.9, w)
	}
	playWindows(t, "another load", func(busy, rate float64, _ int) int { return step(busy, rate) }, []tunerWindowCase{
		{busy: 0.02, rate: 10, want: 1},    // idle between loads
		{busy: 0.95, rate: 1.3e6, want: 1}, // the next load's first window
		{busy: 0.95, rate: 1.3e6, want: 2}, // its baseline, another load: probed within the old backoff
	})
}

// TestProcTunerAlternatingLoads: a load whose probe did not pay is not
// probed again within its backoff, though another load (a bulk load
// before each benchmark test) came between.
func TestProcTunerAlternatingLoads(t *testing.T) {
	r := newTunerRun(2)
	step := func(busy, rate float64, _ int) int { return r.window(busy, rate) }
	start := r.now
	playWindows(t, "one-at-a-time clients", step, []tunerWindowCase{
		{busy: 0.9, rate: 92e3, want: 2}, // probe
		{busy: 1.1, rate: 75e3, want: 2}, // settling
		{busy: 1.1, rate: 76e3, want: 2}, // judged...
		{busy: 1.1, rate: 76e3, want: 2},
		{busy: 1.1, rate: 76e3, want: 1}, // ...not kept
	})
	playWindows(t, "a bulk load", step, []tunerWindowCase{
		{busy: 0.02, rate: 10, want: 1},
		{busy: 0.95, rate: 1.3e6, want: 1}, // the first window
		{busy: 0.95, rate: 1.3e6, want: 2}, // another load: probed
		{busy: 1.2, rate: 1.2e6, want: 2},
		{busy: 1.2, rate: 1.1e6, want: 2},
		{busy: 1.2, rate: 1.1e6, want: 2},
		{busy: 1.2, rate: 1.1e6, want: 1}, // not kept
		{busy: 0.02, rate: 10, want: 1},
		{busy: 0.9, rate: 90e3, want: 1}, // the first load again: its first window
	})
	for r.now.Sub(start) < minBackoff+4*tunerWindow {
		if got := r.window(0.9, 90e3); got != 1 {
			t.Fatalf("the first load probed again %v after its probe failed", r.now.Sub(start)-5*tunerWindow)
		}
	}
	if got := r.window(0.9, 90e3); got != 2 {
		t.Fatal("the first load not probed again after its backoff")
	}
}

// TestProcTunerProbeLoss: a probe whose first judged window is far below
// the baseline ends there.
func TestProcTunerProbeLoss(t *testing.T) {
	r := newTunerRun(2)
	playWindows(t, "a probe that loses", func(busy, rate float64, _ int) int { return r.window(busy, rate) }, []tunerWindowCase{
		{busy: 0.9, rate: 92e3, want: 2}, // probe
		{busy: 1.1, rate: 60e3, want: 2}, // settling
		{busy: 1.1, rate: 60e3, want: 1}, // judged: under 0.8 of 92k, not kept
	})
}

// TestProcTunerNoIdleCore: a busy P gets no probe of a second while the
// machine has no core idle to run it (the clients take the other), on
// average over the baseline's windows; it gets one once a core is idle.
func TestProcTunerNoIdleCore(t *testing.T) {
	r := &tunerRun{procTuner: newProcTuner(2), now: time.Unix(0, 0)}
	step := func(idle, busy, rate float64) int {
		r.idle = idle
		return r.window(busy, rate)
	}
	cases := []struct {
		idle, busy, rate float64
		want             int
	}{
		{0.05, 0.9, 92e3, 1}, // the first window: not counted
		{0.05, 0.9, 92e3, 1}, // baseline, no core idle
		{0.05, 0.9, 92e3, 1},
		{0.10, 0.9, 92e3, 1},
		{0.35, 0.9, 92e3, 1}, // one window with a third of a core idle: the average is still under
		{0.40, 0.9, 92e3, 2}, // idle on average: a probe
	}
	for i, c := range cases {
		if got := step(c.idle, c.busy, c.rate); got != c.want {
			t.Fatalf("window %d: idle %.2f busy %.2f: %d Ps, want %d", i, c.idle, c.busy, got, c.want)
		}
	}
}

// TestMachineIdle: on Linux the machine's idle time is read from
// /proc/stat, and it never goes back.
func TestMachineIdle(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/stat is Linux's")
	}
	a, ok := machineIdle()
	if !ok || a <= 0 {
		t.Fatalf("machineIdle() = %v, %v; want a positive time", a, ok)
	}
	b, ok := machineIdle()
	if !ok || b < a {
		t.Fatalf("machineIdle() went from %v to %v (ok %v)", a, b, ok)
	}
}

// TestProcTunerLoadFalls: a P that paid for one load is not kept for
// another of a much lower command rate that keeps the Ps as busy as one
// core (50 clients at pipeline 1 after a pipelined bulk load), even within
// the hold; one slow window alone does not undo it.
func TestProcTunerLoadFalls(t *testing.T) {
	r := newTunerRun(2)
	step := r.window
	playWindows(t, "bulk load, then one-at-a-time clients", func(busy, rate float64, _ int) int { return step(busy, rate) }, []tunerWindowCase{
		{busy: 0.97, rate: 600e3, want: 2}, // probe
		{busy: 1.2, rate: 700e3, want: 2},  // settling
		{busy: 1.6, rate: 880e3, want: 2},  // judged...
		{busy: 1.6, rate: 880e3, want: 2},
		{busy: 1.6, rate: 880e3, want: 2}, // ...kept
		{busy: 1.6, rate: 880e3, want: 2}, // not counted
		{busy: 1.6, rate: 880e3, want: 2},
		{busy: 1.6, rate: 500e3, want: 2}, // one slow window
		{busy: 1.6, rate: 880e3, want: 2},
		{busy: 0.9, rate: 70e3, want: 2}, // the bulk load ended: another load's first window
		{busy: 0.9, rate: 70e3, want: 2}, // its baseline...
		{busy: 0.9, rate: 70e3, want: 1}, // ...over two windows, far below the rate the P paid at
	})
	if !r.now.Before(r.holdUntil) {
		t.Fatal("the test left the hold")
	}
}

// failedBackoff is the backoff the tuner holds for a load of this rate
// after its next failed probe; 0 if it remembers none.
func (r *tunerRun) failedBackoff(rate float64) time.Duration {
	for _, f := range r.failed {
		if f.rate > 0 && sameLoad(f.rate, rate) {
			return f.backoff
		}
	}
	return 0
}

// tunerRun steps a tuner one window at a time on a clock of its own.
type tunerRun struct {
	*procTuner
	now time.Time
	// idle is the machine's idle cores in each window (default: plenty).
	idle float64
}

// newTunerRun starts a run whose first window is of a load that has been
// running steadily (a baseline), so that a case may probe at once; a
// case about a load's first windows starts with an idle one.
func newTunerRun(maxProcs int) *tunerRun {
	r := &tunerRun{now: time.Unix(0, 0), idle: math.Inf(1)}
	r.restart(maxProcs)
	return r
}

// restart puts a new tuner on the run's clock, which goes on.
func (r *tunerRun) restart(maxProcs int) {
	r.procTuner = newProcTuner(maxProcs)
	r.baseWindows, r.idleAvg = minBaseWindows, r.idle
}

// model returns a step function for a load that runs at rate1 on one P
// and rate2 on two, keeping the Ps busy; each call is one window, run on
// the Ps chosen after the last, and returns the Ps chosen after it.
func (r *tunerRun) model(busy, rate1, rate2 float64) func() int {
	return func() int {
		if r.cur == 1 {
			return r.window(busy, rate1)
		}
		return r.window(busy, rate2)
	}
}

// window is one window with a floor of one P; it returns the Ps chosen.
func (r *tunerRun) window(busy, rate float64) int { return r.windowFloor(busy, rate, 1) }

func (r *tunerRun) windowFloor(busy, rate float64, floor int) int {
	r.now = r.now.Add(tunerWindow)
	return r.step(r.now, busy, rate, r.idle, floor)
}

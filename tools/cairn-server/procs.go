package main

import (
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The thread tuner sets GOMAXPROCS to what the load needs, from one up to
// the cores Go found at start.
//
// Why: with a P per core, every batch of sockets the network poller finds
// ready wakes an idle P's thread (a futex wake, an inter-processor
// interrupt), and on a machine whose cores are shared with the clients
// (the benchmarks here, a cache beside its application) that thread takes
// a core from a client. A server that one core can carry answered 50
// one-request-at-a-time clients a fifth to a quarter faster on one P than
// on two (measured with redis-benchmark on two cores; since client sockets
// are read and written with raw system calls, 0-7 % faster). When one P is
// busy, by a pipelined load, a background snapshot or a few clients whose
// requests queue behind each other, more Ps may help: the tuner adds one,
// keeps it only if the command rate rose, and drops it again once the load
// fits in fewer.
//
// It is a process-wide setting, so only the binary runs it; tests and
// embedders keep Go's default. GOMAXPROCS in the environment or
// --server-threads N fixes the number instead.

// backgroundFloor is the fewest Ps the server wants while it works in the
// background: a snapshot being written, or fsyncs under appendfsync
// always for few writers at a time. On one P, a snapshot takes the P from
// the clients for a scheduler time slice at a time (a snapshot under load
// starved clients). Under always, one client is answered faster with a
// second P, on which its fsync can block (one client on 1 P: 6.6-7.0k
// writes/s; on 2: 7.6-8.0k; redis-server 7.2k), but many are answered
// faster on one, where each fsync waits in the poller (see the log's
// polledSyncer) while the P serves the others (50 clients on 1 P: 69-70k
// writes/s; on 2: 55-66k; redis-server 72-82k). So under always the floor
// is two until an fsync covers at least eight writes on average over a
// window, and back to two once it covers fewer than four. syncStats
// returns the log's running counts of records and fsyncs.
func backgroundFloor(snapshotting func() bool, syncAlways func() bool, syncStats func() (records, fsyncs int64)) func() int {
	var lastRecords, lastFsyncs int64
	many := false
	return func() int {
		records, fsyncs := syncStats()
		dr, df := records-lastRecords, fsyncs-lastFsyncs
		lastRecords, lastFsyncs = records, fsyncs
		always := syncAlways()
		switch perFsync := float64(dr) / float64(max(df, 1)); {
		case !always:
			many = false // fsyncs under the other policies say nothing
		case df == 0:
			// No fsync in the window: keep the judgement.
		case perFsync >= 8:
			many = true
		case perFsync < 4:
			many = false
		}
		if snapshotting() || (always && !many) {
			return 2
		}
		return 1
	}
}

// tunerWindow is how often the tuner samples CPU time and the command rate.
const tunerWindow = 100 * time.Millisecond

// procTuner decides the number of Ps from one window's measurements.
type procTuner struct {
	max int // at most this many Ps
	cur int // Ps now

	// probing: cur was just raised (or lowered, if down); the rate before
	// is baseRate, and settle windows are skipped before the new rate is
	// judged.
	probing  bool
	down     bool
	baseRate float64
	settle   int
	// judged windows of the probe so far, and the sum of their rates.
	judged    int
	judgedSum float64
	// avgRate is the recent rate when not probing (see step), over
	// baseWindows windows since the number of Ps last changed; lastBase
	// is the rate of the window counted before the latest (0: none).
	avgRate     float64
	baseWindows int
	lastBase    float64
	// prevRate is the rate of the last window not probed.
	prevRate float64
	// idleAvg is the machine's idle cores, averaged as avgRate is.
	idleAvg float64
	// holdUntil keeps a probe that paid from being undone at once.
	holdUntil time.Time
	// paidRate is the command rate at which the last probe paid: below
	// loadDrop of it the load has changed, and one fewer P may do again.
	paidRate float64
	// recheckAt is when a P that paid is next rechecked, by a probe of one
	// P fewer; recheckBackoff is the wait after that, should it keep the P.
	recheckAt      time.Time
	recheckBackoff time.Duration
	// failed are the loads whose last probe did not pay, by their rate
	// (see failedLoad).
	failed [failedLoads]failedLoad
	// floored: Ps beyond what the tuner chose were added for the floor,
	// and go when it goes, however busy they are.
	floored bool
}

// failedLoad is a load whose last probe did not pay: a load whose rate is
// within loadDrop of its rate is not probed again until retry, and each
// probe of it that does not pay doubles its backoff, from minBackoff up to
// maxBackoff; a load of another rate may be probed at once.
//
// The tuner remembers several, because loads alternate: the throughput
// benchmark runs a pipelined bulk load before each test at pipeline 1.
// Remembering one, the tuner took each test for another load, and probed
// it at once: six probes in 10 s of the benchmark, each 0.4 s at a fifth
// to a third less (50 clients at pipeline 1 on two cores, where one P
// serves best).
type failedLoad struct {
	rate    float64
	retry   time.Time
	backoff time.Duration // before the next retry, if the one at retry fails
}

const failedLoads = 4

const (
	// saturated: the Ps are busy at least this fraction of the window,
	// which makes a probe worth its two windows. Not only a saturated P
	// gains from another: 8 clients of a cache at pipeline 1 keep one P
	// busy about four fifths of the time, and answer a fifth faster on
	// two (zipfbench: 0.82-0.90 of Redis's rate on one P, 1.05-1.07 on
	// two); at 0.95 the tuner never tried. A probe that gains nothing backs
	// off, doubling from 4 s up to 30 s: each probe of a load that one P
	// serves best costs it a fifth of its rate for four windows (50
	// clients at pipeline 1 on two cores: ZADD 92.9k/s on one P, 75.3k in
	// a probe), and with a backoff from 1 s a 3 s run was probed twice.
	saturated = 0.6
	// spare: Ps-1 would be busy at most this fraction: one fewer suffices.
	spare = 0.8
	// gain: a probe pays if the command rate rose by this factor, on
	// average over judgeWindows windows.
	gain         = 1.05
	judgeWindows = 3
	// probeLoss: a judged window below this fraction of the baseline ends
	// the probe at once, as not paying: a probe of 50 clients at pipeline
	// 1 ran at 0.6-0.8 of the rate on one P.
	probeLoss = 0.8
	// minBaseWindows: after the number of Ps changed, or after an idle
	// window, a probe waits for this many windows, the first of which does
	// not count, and which must be steady: one whose rate is not within
	// loadDrop of the one before starts the wait again (see step). idle: a
	// window busy less than this is idle.
	minBaseWindows = 2
	idle           = 0.05
	// loadDrop: a P that paid is given back only once the rate fell below
	// this fraction of the rate at which it paid. Busy time alone would
	// undo it: a few latency-bound clients keep two Ps no busier than
	// four fifths of one, and the tuner went back and forth every 2 s.
	loadDrop = 0.7
	// recheckBusy: a P that paid is rechecked only while the Ps are busy
	// at most this many times the cores one P fewer would give: a load
	// that needs them all is not made to prove it.
	recheckBusy = 1.25
	// probeIdle: a P more is probed only while the machine has this many
	// cores idle, on average over the baseline's windows. With none idle
	// a second P's thread has no core to run on but the clients': on two
	// cores, redis-benchmark's 50 clients left 0.05 of a core idle with
	// the server on one P, at pipeline 1 and at 16, and a second P did not
	// pay at either (pipeline 1: ZADD 93k on one P, 75k in a probe;
	// pipeline 16: LPUSH 1.07-1.20M on one, 1.14-1.17M on two). In the
	// throughput benchmark (2 rounds, pipelines 1 and 16) the tuner probed
	// 16 times inside the 24 measured runs and spent 9.9 s of their 50.9
	// on two Ps; with this rule, 11 times and 6.1 s. zipfbench's 8
	// clients, which a second P may serve faster, left 0.32 idle.
	probeIdle  = 0.25
	minBackoff = 4 * time.Second
	maxBackoff = 30 * time.Second
	holdFor    = 2 * time.Second
)

// newProcTuner returns a tuner at one P that has measured nothing yet: its
// first window may hold a load's ramp, and is not a baseline.
func newProcTuner(maxProcs int) *procTuner {
	return &procTuner{max: maxProcs, cur: 1, prevRate: -1}
}

// sameLoad reports whether two rates are of the same load: within
// loadDrop of each other.
func sameLoad(a, b float64) bool { return b >= a*loadDrop && b <= a/loadDrop }

// steady reports whether a window's rate is of the load that a rate of
// before measured (before < 0: no rate before).
func steady(before, rate float64) bool { return before < 0 || sameLoad(before, rate) }

// mayProbe reports whether a load of this rate may be probed now.
func (t *procTuner) mayProbe(now time.Time, rate float64) bool {
	for _, f := range t.failed {
		if f.rate > 0 && now.Before(f.retry) && sameLoad(f.rate, rate) {
			return false
		}
	}
	return true
}

// probeFailed remembers that a probe of a load of this rate did not pay.
func (t *procTuner) probeFailed(now time.Time, rate float64) {
	slot := 0
	for i, f := range t.failed {
		if f.rate > 0 && sameLoad(f.rate, rate) {
			t.failed[i] = failedLoad{rate: rate, retry: now.Add(f.backoff), backoff: min(2*f.backoff, maxBackoff)}
			return
		}
		if f.retry.Before(t.failed[slot].retry) {
			slot = i // the entry whose retry is the oldest
		}
	}
	t.failed[slot] = failedLoad{rate: rate, retry: now.Add(minBackoff), backoff: min(2*minBackoff, maxBackoff)}
}

// probePaid forgets a failure of a load of this rate: it has changed.
func (t *procTuner) probePaid(rate float64) {
	for i, f := range t.failed {
		if f.rate > 0 && sameLoad(f.rate, rate) {
			t.failed[i] = failedLoad{}
		}
	}
}

// step takes one window: busy is the CPU the process used in cores (CPU
// seconds per second), rate the commands per second, idleCores the cores the
// whole machine left idle (+Inf: not known), floor the fewest Ps the
// server's background work wants now. It returns the number of Ps for the
// next window.
func (t *procTuner) step(now time.Time, busy, rate, idleCores float64, floor int) int {
	if floor = min(floor, t.max); t.cur < floor {
		// Not a probe: the floor is no guess. Judge no probe across it.
		t.cur, t.probing, t.floored = floor, false, true
		t.newBaseline()
		return t.cur
	}
	if t.floored && !t.probing && t.cur > max(1, floor) {
		// The floor went: so do the Ps it added. Waiting until they were
		// idle enough kept 50 writers under appendfsync always on two Ps
		// for a whole run, at 53k writes/s, where one P did 84k.
		t.cur, t.floored = max(1, floor), false
		t.newBaseline()
		return t.cur
	}
	if !t.probing {
		// The baseline a probe is judged against: one window's rate moves
		// by a tenth on its own.
		switch {
		case busy < idle:
			// Nothing to measure; the load that comes next starts a new
			// baseline.
			t.newBaseline()
		case t.baseWindows == 0:
			// The first window after a change, or after idleness, may
			// hold the change itself or a load's ramp: not counted.
			t.baseWindows++
		case t.avgRate == 0 && !steady(t.prevRate, rate):
			// The load is still ramping up: no baseline yet. (Under
			// appendfsync always, 50 clients probed a second P against
			// their first 18k window, and kept it at 40-48k writes/s,
			// where one P does 57-68k.)
		case t.avgRate == 0:
			t.avgRate, t.lastBase, t.idleAvg = rate, 0, idleCores
			t.baseWindows++
		case !steady(t.avgRate, rate):
			// The load changed: the baseline starts again.
			t.avgRate, t.baseWindows = 0, 1
		default:
			t.lastBase = t.prevRate
			t.avgRate = (t.avgRate + rate) / 2
			t.idleAvg = (t.idleAvg + idleCores) / 2
			t.baseWindows++
		}
		t.prevRate = rate
	}
	switch {
	case t.probing && t.settle > 0:
		t.settle--
	case t.probing && t.judged < judgeWindows-1 && rate < t.baseRate*probeLoss:
		// Far below the baseline: no need to judge further.
		t.endProbe(now, false, rate)
	case t.probing && t.judged < judgeWindows-1:
		t.judged++
		t.judgedSum += rate
	case t.probing:
		mean := (t.judgedSum + rate) / judgeWindows
		if t.down {
			// One P fewer pays if it loses less than a P must gain.
			t.endProbe(now, mean*gain >= t.baseRate, mean)
		} else {
			t.endProbe(now, mean >= t.baseRate*gain, mean)
		}
	case t.cur < t.max && busy >= saturated*float64(t.cur) && t.mayProbe(now, t.avgRate) &&
		t.baseWindows >= minBaseWindows && t.idleAvg >= probeIdle:
		t.startProbe(false)
	case t.cur > max(1, floor) && busy <= spare*float64(t.cur-1) && !now.Before(t.holdUntil) &&
		(t.paidRate == 0 || rate < t.paidRate*loadDrop):
		t.cur--
		t.paidRate = 0
		t.newBaseline()
	case t.cur > max(1, floor) && t.paidRate > 0 && t.baseWindows > minBaseWindows &&
		rate < t.paidRate*loadDrop && t.avgRate < t.paidRate*loadDrop:
		// A load far below the one the P paid for is another load too,
		// even one that keeps the Ps busy, and even within the hold: the
		// one-request-at-a-time clients that follow a pipelined bulk load
		// keep two Ps busy 0.8-1.0 of one core, and ran on two for the
		// hold and beyond, at 52-87k ZADDs/s where one P serves 80-94k.
		// Judged on the window's rate and on the average of at least two
		// windows, so that one slow window does not undo a P that paid.
		t.cur--
		t.paidRate = 0
		t.newBaseline()
	case t.cur > max(1, floor) && t.paidRate > 0 && rate > t.paidRate/loadDrop && !now.Before(t.holdUntil):
		// A load far above the one the P paid for is another load, busy
		// as the Ps may be: it is judged afresh from one P fewer. (A P
		// that paid for MSET at 50 clients, 48k commands/s, stayed through
		// INCR at pipeline 16, 780k/s on two Ps where one did 920k.)
		t.cur--
		t.paidRate = 0
		t.newBaseline()
	case t.paidRate > 0 && t.cur > max(1, floor) && !now.Before(t.recheckAt) &&
		t.baseWindows >= minBaseWindows && busy <= recheckBusy*float64(t.cur-1):
		// A P that paid may have paid for a load that changed under the
		// probe (see startProbe), and nothing above gives it back while
		// the load keeps the Ps busier than spare: 50 clients at pipeline
		// 1, after such a probe, kept two Ps through test after test at
		// 82-93k commands/s, where one P did 93-100k.
		t.startProbe(true)
	}
	return t.cur
}

// startProbe moves to one P more (or fewer, if down) and starts judging
// it against the baseline, taken as the higher of its average and the
// window counted before the latest: a probe may start in the window that
// ends a load, slower than the load, and a baseline that counts it at
// half weight makes a second P look paid for the next load.
func (t *procTuner) startProbe(down bool) {
	t.probing, t.down, t.settle, t.judged, t.judgedSum = true, down, 1, 0, 0
	t.baseRate = max(t.avgRate, t.lastBase)
	if down {
		t.cur--
	} else {
		t.cur++
	}
}

// endProbe ends a probe, judged at a rate of mean: it keeps the Ps probed
// if paid, else goes back.
func (t *procTuner) endProbe(now time.Time, paid bool, mean float64) {
	t.probing = false
	switch {
	case t.down && paid:
		// The P did not pay, or no longer does: the load is not probed
		// again within its backoff.
		t.paidRate = 0
		t.probeFailed(now, t.baseRate)
	case t.down:
		t.cur++
		t.recheckBackoff = min(2*t.recheckBackoff, maxBackoff)
		t.recheckAt = now.Add(t.recheckBackoff)
	case paid:
		t.floored = false // the Ps are the tuner's own now
		t.probePaid(t.baseRate)
		t.holdUntil = now.Add(holdFor)
		t.paidRate = mean
		t.recheckBackoff = minBackoff
		t.recheckAt = now.Add(minBackoff)
	default:
		t.cur--
		t.probeFailed(now, t.baseRate)
	}
	t.down = false
	t.newBaseline()
}

// newBaseline forgets the rate measured with another number of Ps, or
// before an idle window: a probe is judged only against windows run with
// the number it started from and the load it saw, leaving out the first,
// which may hold the change or the load's ramp. (LPUSH at pipeline 16
// probed a second P on the window its load began in, at 1.32M commands/s,
// and kept it at 1.31-1.35M, where one P gave 1.51-1.53M. Under appendfsync always, 50 clients dropped from
// two Ps to one as their load began, with the windows around the drop at
// 42-47k commands/s and the load then at 69-71k on one P; a probe judged
// against those windows kept a second P that cost a fifth.)
func (t *procTuner) newBaseline() {
	t.avgRate, t.baseWindows, t.lastBase = 0, 0, 0
}

// tuneProcs runs the tuner until stop is closed. commands returns the
// commands processed so far; polled the CPU time spent busy-polling so
// far, which is not counted as busy (a P that polls between requests uses
// its core whether or not it has work: counted, every load the polling
// serves would look saturated, and a probe of a second P stops the
// polling); floor the fewest Ps wanted now.
func tuneProcs(stop <-chan struct{}, maxProcs int, commands func() int64, polled func() time.Duration, floor func() int, log *slog.Logger) {
	t := newProcTuner(maxProcs)
	runtime.GOMAXPROCS(t.cur)
	tick := time.NewTicker(tunerWindow)
	defer tick.Stop()
	lastCPU, lastCmds, last := cpuTime()-polled(), commands(), time.Now()
	lastIdle, idleKnown := machineIdle()
	for {
		select {
		case <-stop:
			runtime.GOMAXPROCS(maxProcs)
			return
		case now := <-tick.C:
			cpu, cmds := cpuTime()-polled(), commands()
			dt := now.Sub(last).Seconds()
			if dt <= 0 || cmds < lastCmds {
				// CONFIG RESETSTAT zeroed the counter: no rate this window.
				lastCPU, lastCmds, last = cpu, cmds, now
				continue
			}
			busy, rate := (cpu-lastCPU).Seconds()/dt, float64(cmds-lastCmds)/dt
			idleCores := math.Inf(1)
			idleNow, ok := machineIdle()
			if ok && idleKnown {
				idleCores = (idleNow - lastIdle).Seconds() / dt
			}
			lastIdle, idleKnown = idleNow, ok
			p := t.step(now, busy, rate, idleCores, floor())
			if old := runtime.GOMAXPROCS(0); p != old {
				runtime.GOMAXPROCS(p)
				log.Debug("server threads", "from", old, "to", p, "busy", busy, "rate", int64(rate))
			}
			lastCPU, lastCmds, last = cpu, cmds, now
		}
	}
}

// machineIdle is the time the machine's cores have been idle (or waiting
// for I/O) since boot, from /proc/stat; false where there is none.
func machineIdle() (time.Duration, bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, false
	}
	// Only the first line, "cpu  user nice system idle iowait irq ...", in
	// USER_HZ ticks, which Linux fixes at 100 a second for this file (the
	// rest of the file, a line a core and one of every interrupt's count,
	// may run to tens of kilobytes).
	var buf [512]byte
	n, _ := io.ReadFull(f, buf[:])
	f.Close()
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	fields := strings.Fields(line)
	if len(fields) < 6 || fields[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for _, s := range fields[4:6] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += v
	}
	return time.Duration(ticks) * (time.Second / 100), true
}

// cpuTime is the CPU time, user and system, the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

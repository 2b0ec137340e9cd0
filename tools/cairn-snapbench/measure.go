package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// params are the settings of every measurement.
type params struct {
	keys, clients, valueSize int
	warmup, baseline         time.Duration
	maxWindow                time.Duration
	interval                 time.Duration // INFO polling
	memInterval              time.Duration // pause between memory samples
	saveCmd                  []string
	seed                     uint64
}

// phaseStats describe the requests answered in one phase.
type phaseStats struct {
	ops       uint64
	secs      float64
	opsPerSec float64
	p50, p99  time.Duration
	p999, max time.Duration
	pause     time.Duration // longest gap between two replies of one client
}

// memStats describe the memory samples of one phase.
type memStats struct {
	pssBefore, pssMax int64
	rssBefore, rssMax int64
	procsMax          int
	samples           int
	sampleMax         time.Duration // the longest read of /proc of one sample
	sampleSum         time.Duration // all reads of /proc
}

func (m memStats) growth() float64 {
	if m.pssBefore <= 0 {
		return 0
	}
	return 100 * float64(m.pssMax-m.pssBefore) / float64(m.pssBefore)
}

func (m memStats) rssGrowth() float64 {
	if m.rssBefore <= 0 {
		return 0
	}
	return 100 * float64(m.rssMax-m.rssBefore) / float64(m.rssBefore)
}

// result is one measurement of one server in one round.
type result struct {
	side  string
	round int
	base  phaseStats
	win   phaseStats
	mbase memStats // baseline: its first sample, and its maximum
	mwin  memStats // window: the sample just before the save command, and the maximum after it
	// saveReply is the save command's reply; saveErr its error.
	saveReply string
	saveErr   string
	sawSaving bool // INFO showed the snapshot in progress at least once
	truncated bool // the window hit --max-window
	autoSave  bool // a background save ran during warmup or baseline
	lateStart bool // INFO showed no save in progress after the save command's reply, before it had begun
	errs      int64
	errMsg    string
	// winAt is the window in seconds since the server process started
	// (to match gctrace's @ times).
	winAt [2]float64
}

// waitIdle waits until no background save or rewrite is in progress.
func waitIdle(ctx context.Context, c *conn, timeout, interval time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		m, err := c.info("persistence")
		if err != nil {
			return err
		}
		if !saving(m) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("a background save is still in progress after %v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// memSampler samples a process tree's memory, pausing interval between two
// samples (not a ticker: a slow read of /proc must not make the sampler run
// back to back), tagging each sample with the load's phase.
type memSampler struct {
	mu      sync.Mutex
	samples [nPhases][]memSample
	stopc   chan struct{}
	done    chan struct{}
}

func startMemSampler(pid int, g *loadGen, interval time.Duration) *memSampler {
	ms := &memSampler{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(ms.done)
		for {
			ph := g.phase.Load()
			if ph < phStop {
				if m, err := sampleMem(pid); err == nil {
					m.at = g.now()
					ms.mu.Lock()
					ms.samples[ph] = append(ms.samples[ph], m)
					ms.mu.Unlock()
				}
			}
			select {
			case <-ms.stopc:
				return
			case <-time.After(interval):
			}
		}
	}()
	return ms
}

func (ms *memSampler) stop() {
	close(ms.stopc)
	<-ms.done
}

func summarizeMem(before memSample, samples []memSample) memStats {
	m := memStats{pssBefore: before.pss, rssBefore: before.rss, pssMax: before.pss, rssMax: before.rss,
		procsMax: before.procs}
	for _, s := range samples {
		m.pssMax = max(m.pssMax, s.pss)
		m.rssMax = max(m.rssMax, s.rss)
		m.procsMax = max(m.procsMax, s.procs)
		m.sampleMax = max(m.sampleMax, s.took)
		m.sampleSum += s.took
	}
	m.samples = len(samples)
	return m
}

func phaseOf(g *loadGen, ph int, secs float64, stalled time.Duration) phaseStats {
	h, gap := g.merged(ph)
	st := phaseStats{
		ops: h.Count(), secs: secs,
		p50: h.Quantile(0.50), p99: h.Quantile(0.99), p999: h.Quantile(0.999), max: h.Max(),
		pause: max(gap, stalled),
	}
	if secs > 0 {
		st.opsPerSec = float64(st.ops) / secs
	}
	return st
}

// measure runs warmup, baseline and snapshot window on one server.
func measure(ctx context.Context, s *server, p params, round int) (*result, error) {
	res := &result{side: s.name, round: round}
	ctl, err := dial(s.addr(), 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer ctl.close()
	if err := waitIdle(ctx, ctl, p.maxWindow, p.interval); err != nil {
		return nil, fmt.Errorf("[%s] before round %d: %w", s.name, round, err)
	}
	g, err := startLoad(s.addr(), p.clients, p.keys, p.valueSize, p.seed+uint64(round)*1000003)
	if err != nil {
		return nil, err
	}
	ms := startMemSampler(s.pid(), g, p.memInterval)
	stopped := false
	stopAll := func() error {
		if stopped {
			return nil
		}
		stopped = true
		ms.stop()
		return g.stop(5 * time.Second)
	}
	defer stopAll()

	// poll INFO persistence for d; reports whether a save was seen running.
	poll := func(d time.Duration) (bool, error) {
		end := time.Now().Add(d)
		saw := false
		for time.Now().Before(end) {
			m, err := ctl.info("persistence")
			if err != nil {
				return saw, err
			}
			saw = saw || saving(m)
			select {
			case <-ctx.Done():
				return saw, ctx.Err()
			case <-time.After(min(p.interval, time.Until(end))):
			}
		}
		return saw, nil
	}

	saw, err := poll(p.warmup)
	if err != nil {
		return nil, err
	}
	res.autoSave = saw
	g.phase.Store(phBaseline)
	tb0 := g.now()
	saw, err = poll(p.baseline)
	if err != nil {
		return nil, err
	}
	res.autoSave = res.autoSave || saw
	// rdb_saves tells a save that is over from one that has not begun:
	// a server may answer BGSAVE before it shows the save in progress.
	infoBefore, err := ctl.info("persistence")
	if err != nil {
		return nil, err
	}
	savesBefore, haveSaves := infoBefore["rdb_saves"]
	before, err := sampleMem(s.pid())
	if err != nil {
		return nil, fmt.Errorf("[%s] read memory of pid %d: %w", s.name, s.pid(), err)
	}
	before.at = g.now()
	g.phase.Store(phWindow)
	tw0 := g.now()
	tb1 := tw0
	res.winAt[0] = time.Since(s.started).Seconds()
	rep, err := ctl.do(p.saveCmd...)
	if err != nil {
		if _, ok := err.(respError); !ok {
			return nil, err
		}
		res.saveErr = err.Error()
	}
	res.saveReply = string(rep)
	for res.saveErr == "" {
		m, err := ctl.info("persistence")
		if err != nil {
			return nil, err
		}
		if m["rdb_bgsave_in_progress"] == "1" {
			res.sawSaving = true
		} else if saveOver(m, res.sawSaving, haveSaves, savesBefore, g.now()-tw0) {
			break
		} else {
			res.lateStart = true
		}
		if g.now()-tw0 >= p.maxWindow {
			res.truncated = true
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(p.interval):
		}
	}
	stalled := g.stalled()
	tw1 := g.now()
	res.winAt[1] = time.Since(s.started).Seconds()
	ioErr := stopAll()

	res.base = phaseOf(g, phBaseline, (tb1 - tb0).Seconds(), 0)
	res.win = phaseOf(g, phWindow, (tw1 - tw0).Seconds(), stalled)
	ms.mu.Lock()
	bs := ms.samples[phBaseline]
	if len(bs) > 0 {
		res.mbase = summarizeMem(bs[0], bs[1:])
	}
	res.mwin = summarizeMem(before, ms.samples[phWindow])
	ms.mu.Unlock()
	res.errs, res.errMsg = g.errors()
	if ioErr != nil && res.win.ops == 0 {
		return nil, fmt.Errorf("[%s] load: %w", s.name, ioErr)
	}
	if ioErr != nil {
		logf("[%s] round %d: a client failed: %v", s.name, round, ioErr)
	}
	return res, nil
}

// notes lists what is unusual about a result.
func (r *result) notes() []string {
	var n []string
	if r.saveErr != "" {
		n = append(n, fmt.Sprintf("save command failed: %s", r.saveErr))
	} else if !r.sawSaving {
		n = append(n, fmt.Sprintf("INFO never showed the save in progress (reply %q): it was over within one poll", r.saveReply))
	}
	if r.lateStart {
		n = append(n, "after the save command's reply, INFO first showed rdb_bgsave_in_progress:0 (and rdb_saves unchanged): the server shows a started save late")
	}
	if r.truncated {
		n = append(n, "window cut at --max-window, the save was still running")
	}
	if r.autoSave {
		n = append(n, "a background save ran during warmup/baseline (automatic save rules?)")
	}
	if r.mwin.samples < 3 {
		n = append(n, fmt.Sprintf("only %d memory samples in the window: its maximum may be missed", r.mwin.samples))
	}
	if r.mwin.sampleMax > 0 {
		n = append(n, fmt.Sprintf("%d memory samples in the window; reading /proc took %s ms at most, %.0f %% of the window",
			r.mwin.samples, ms3(r.mwin.sampleMax), 100*r.mwin.sampleSum.Seconds()/r.win.secs))
	}
	if r.errs > 0 {
		n = append(n, fmt.Sprintf("%d error replies, first: %s", r.errs, r.errMsg))
	}
	return n
}

// saveOver decides, from INFO persistence with rdb_bgsave_in_progress:0,
// whether the save the window measures is over: it was seen in progress,
// or rdb_saves has grown, or the last save failed. A server without
// rdb_saves is given a second to show the save in progress.
func saveOver(m map[string]string, sawSaving, haveSaves bool, savesBefore string, elapsed time.Duration) bool {
	switch {
	case sawSaving:
		return true
	case haveSaves && m["rdb_saves"] != savesBefore:
		return true
	case m["rdb_last_bgsave_status"] == "err":
		return true
	case !haveSaves && elapsed >= time.Second:
		return true
	}
	return false
}

func splitCmd(s string) []string { return strings.Fields(s) }

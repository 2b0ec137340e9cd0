// Command cairn-snapbench measures what a background snapshot costs a server
// under write load, side by side for two servers (A and B), in the manner
// of the shared benchmark harness (bench/README.md): latency and pauses
// while the snapshot runs, and the memory it takes.
//
// Each server is given as a command template with {PORT} and {DIR}, run as
// `bash -c "exec CMD"` in a fresh directory under $TMPDIR. Both are
// started and prefilled with --keys keys (SET key:%012d, --value-size
// bytes). Then, for each round, on A and B in turn (B first in odd rounds):
// --clients connections SET random existing keys, one request in flight
// each; after --warmup, a baseline of --baseline; then the save command
// (BGSAVE) is sent and the snapshot window lasts until INFO persistence
// shows rdb_bgsave_in_progress:0 again (polled every --interval, at most
// --max-window).
//
// Reported for the baseline and the window: ops/s, p50, p99, p99.9 and
// max latency, and the longest gap between two replies of one client (a
// pause). Memory: the PSS (from /proc/PID/smaps_rollup) of the server plus
// all its descendants, sampled every --mem-interval: before the save, its
// maximum during the window, and the growth; PSS counts shared pages once,
// so a fork's copy-on-write growth (Redis's BGSAVE child) is counted, and
// only it. Also the server's own VmRSS.
//
// The tool only ever signals the processes it started, by PID (SIGTERM,
// then SIGKILL after --stop-timeout), refuses ports in use, and stops its
// servers on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
}

type options struct {
	aCmd, bCmd    string
	aPort, bPort  int
	params        params
	rounds        int
	batch         int
	prefillConns  int
	startTimeout  time.Duration
	prefillTO     time.Duration
	stopTimeout   time.Duration
	workdir, save string
	keep          bool
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var o options
	fs := flag.NewFlagSet("cairn-snapbench", flag.ContinueOnError)
	fs.StringVar(&o.aCmd, "a-cmd", "", "server A: command template with {PORT} and {DIR} (required)")
	fs.StringVar(&o.bCmd, "b-cmd", "", "server B: command template (optional: A alone)")
	fs.IntVar(&o.aPort, "a-port", 7441, "server A's port (on 127.0.0.1)")
	fs.IntVar(&o.bPort, "b-port", 7442, "server B's port")
	fs.IntVar(&o.params.keys, "keys", 1000000, "keys prefilled (SET key:%012d), and the key space of the load")
	fs.IntVar(&o.params.clients, "clients", 50, "connections of the write load, one request in flight each")
	fs.IntVar(&o.params.valueSize, "value-size", 64, "value size in bytes (prefill and load)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures A and B once, in alternating order")
	fs.StringVar(&o.save, "save-cmd", "BGSAVE", "the command that starts the snapshot (words split on spaces)")
	fs.DurationVar(&o.params.warmup, "warmup", 500*time.Millisecond, "load before the baseline, not measured")
	fs.DurationVar(&o.params.baseline, "baseline", 2*time.Second, "baseline window without a snapshot")
	fs.DurationVar(&o.params.maxWindow, "max-window", 60*time.Second, "longest snapshot window (and longest wait for a save already running)")
	fs.DurationVar(&o.params.interval, "interval", 10*time.Millisecond, "INFO persistence polling interval")
	fs.DurationVar(&o.params.memInterval, "mem-interval", 10*time.Millisecond,
		"pause between two memory samples (reading smaps_rollup of a large process is not free: see the round notes)")
	fs.IntVar(&o.batch, "prefill-batch", 1000, "SETs per pipelined prefill batch")
	fs.IntVar(&o.prefillConns, "prefill-conns", 4, "prefill connections")
	fs.DurationVar(&o.startTimeout, "start-timeout", 60*time.Second, "wait for a server to answer PING")
	fs.DurationVar(&o.prefillTO, "prefill-timeout", 10*time.Minute, "longest prefill of one server")
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 60*time.Second, "SIGKILL a server this long after SIGTERM")
	fs.StringVar(&o.workdir, "workdir", "", "scratch directory (default: a new one under $TMPDIR, removed at the end)")
	fs.BoolVar(&o.keep, "keep", false, "keep the scratch directory (server logs, data)")
	seed := fs.Uint64("seed", 1, "random seed (values, keys)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: cairn-snapbench --a-cmd 'CMD {PORT} {DIR}' [--b-cmd 'CMD'] [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	o.params.seed = *seed
	o.params.saveCmd = splitCmd(o.save)
	switch {
	case fs.NArg() > 0:
		logf("cairn-snapbench: unexpected arguments %q", fs.Args())
		return 2
	case o.aCmd == "":
		logf("cairn-snapbench: --a-cmd is required")
		return 2
	case o.params.keys < 1 || o.params.clients < 1 || o.params.valueSize < 1 || o.rounds < 1 || o.prefillConns < 1:
		logf("cairn-snapbench: --keys, --clients, --value-size, --rounds and --prefill-conns must be positive")
		return 2
	case len(o.params.saveCmd) == 0:
		logf("cairn-snapbench: --save-cmd is empty")
		return 2
	case o.params.interval <= 0 || o.params.memInterval <= 0 || o.params.maxWindow <= 0 || o.params.baseline <= 0:
		logf("cairn-snapbench: --interval, --mem-interval, --max-window and --baseline must be positive")
		return 2
	case o.bCmd != "" && o.aPort == o.bPort:
		logf("cairn-snapbench: --a-port and --b-port must differ")
		return 2
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	code := bench(ctx, &o)
	if ctx.Err() != nil {
		logf("cairn-snapbench: interrupted; stopped the servers it started")
		return 130
	}
	return code
}

func bench(ctx context.Context, o *options) int {
	root := o.workdir
	if root == "" {
		d, err := os.MkdirTemp("", "cairn-snapbench-")
		if err != nil {
			logf("cairn-snapbench: %v", err)
			return 1
		}
		root = d
	}
	defer func() {
		if o.keep {
			logf("scratch directory kept: %s", root)
		} else if o.workdir == "" {
			os.RemoveAll(root)
		}
	}()
	servers := []*server{newServer("A", o.aCmd, o.aPort, filepath.Join(root, "a"))}
	if o.bCmd != "" {
		servers = append(servers, newServer("B", o.bCmd, o.bPort, filepath.Join(root, "b")))
	}
	// On any return, including after a signal: stop what was started.
	defer stopAll(o.stopTimeout)

	for _, s := range servers {
		if portInUse(s.port) {
			logf("cairn-snapbench: [%s] port %d already in use - refusing to start", s.name, s.port)
			return 1
		}
	}
	p := o.params
	fmt.Printf("# snapbench: keys=%d value-size=%d clients=%d (pipeline 1, SET of random existing keys) rounds=%d save=%q\n",
		p.keys, p.valueSize, p.clients, o.rounds, strings.Join(p.saveCmd, " "))
	fmt.Printf("# warmup=%v baseline=%v max-window=%v interval=%v (INFO poll) mem-interval=%v (pause between memory samples)\n",
		p.warmup, p.baseline, p.maxWindow, p.interval, p.memInterval)
	for _, s := range servers {
		fmt.Printf("#   %s: %s   (port %d)\n", s.name, s.tmpl, s.port)
	}
	for _, s := range servers {
		if err := s.start(); err != nil {
			logf("cairn-snapbench: %v", err)
			return 1
		}
		d, err := s.waitReady(o.startTimeout)
		if err != nil {
			logf("cairn-snapbench: %v", err)
			return 1
		}
		logf("[%s] pid %d ready after %.2fs", s.name, s.pid(), d.Seconds())
	}
	for _, s := range servers {
		t0 := time.Now()
		pctx, pcancel := context.WithTimeout(ctx, o.prefillTO)
		err := prefill(pctx, s.addr(), p.keys, p.valueSize, o.batch, o.prefillConns, p.seed)
		pcancel()
		if err != nil {
			logf("cairn-snapbench: [%s] %v", s.name, err)
			return 1
		}
		secs := time.Since(t0).Seconds()
		n, err := dbsize(s)
		if err != nil {
			logf("cairn-snapbench: [%s] DBSIZE: %v", s.name, err)
			return 1
		}
		logf("[%s] prefilled %d keys in %.1fs (%.0f keys/s); DBSIZE %d", s.name, p.keys, secs, float64(p.keys)/secs, n)
		if n < int64(p.keys) {
			logf("cairn-snapbench: [%s] DBSIZE %d < %d keys after prefill", s.name, n, p.keys)
			return 1
		}
	}

	var results []*result
	for r := 1; r <= o.rounds; r++ {
		order := append([]*server(nil), servers...)
		if r%2 == 0 && len(order) == 2 {
			order[0], order[1] = order[1], order[0]
		}
		var rr []*result
		for _, s := range order {
			if !s.alive() {
				logf("cairn-snapbench: [%s] server died (%v); see %s/server.log", s.name, s.exitErr, s.dir)
				return 1
			}
			logf("[%s] round %d: warmup %v, baseline %v, then %s", s.name, r, p.warmup, p.baseline, strings.Join(p.saveCmd, " "))
			res, err := measure(ctx, s, p, r)
			if err != nil {
				logf("cairn-snapbench: [%s] round %d: %v", s.name, r, err)
				return 1
			}
			logf("[%s] round %d: snapshot window %.2fs, p99.9 %s ms, pause %s ms, PSS growth %+.1f%%",
				s.name, r, res.win.secs, ms3(res.win.p999), ms3(res.win.pause), res.mwin.growth())
			rr = append(rr, res)
		}
		printRound(r, order, rr)
		results = append(results, rr...)
	}

	// Stop the servers first: gctrace lines are complete only then.
	var gcLines []string
	for _, s := range servers {
		s.stop(o.stopTimeout)
		var iv [][2]float64
		for _, r := range results {
			if r.side == s.name {
				iv = append(iv, r.winAt)
			}
		}
		if l := gcReport(s, iv); l != "" {
			gcLines = append(gcLines, l)
		}
	}
	printSummary(o, servers, results, gcLines)
	return 0
}

func dbsize(s *server) (int64, error) {
	c, err := dial(s.addr(), 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.close()
	b, err := c.do("DBSIZE")
	if err != nil {
		return 0, err
	}
	var n int64
	_, err = fmt.Sscan(string(b), &n)
	return n, err
}

// gcReport summarises a Go server's gctrace lines, if it wrote any.
func gcReport(s *server, windows [][2]float64) string {
	log := filepath.Join(s.dir, "server.log")
	all, err := parseGCTrace(log, nil)
	if err != nil || all.n == 0 {
		return ""
	}
	in, _ := parseGCTrace(log, windows)
	return fmt.Sprintf("%s gctrace: %d GCs in the run (longest stop-the-world %.2f ms, longest concurrent mark %.1f ms, heap up to %d MB, live up to %d MB); "+
		"%d began in snapshot windows (longest STW %.2f ms, longest mark %.1f ms)",
		s.name, all.n, all.maxSTW, all.maxMark, all.maxHeapM, all.maxLiveM, in.n, in.maxSTW, in.maxMark)
}

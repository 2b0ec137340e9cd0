package main

// Crash-recovery suite: the real cairn-server binary, under a concurrent
// write workload, is killed with SIGKILL at a random moment, restarted on
// the same data directory, and its recovered state is checked against a
// model of the writes that were acknowledged (and of those in flight).
//
// Short pass (the default; part of `go test ./...`; 20 kill cycles spread
// over the three fsync modes, well under two minutes):
//
//	go test ./tools/cairn-server -run TestCrashRecovery -count=1 -v
//
// Long pass (1000 kill cycles; roughly a quarter of an hour):
//
//	CAIRN_CRASH_CYCLES=1000 go test ./tools/cairn-server -run TestCrashRecovery -count=1 -v -timeout 60m
//
// Every run prints its seed; CAIRN_CRASH_SEED=<seed> replays the random
// choices (kill moments, the commands each client sends, crashes during
// recovery). The interleaving of the clients is the scheduler's, so a
// replay is the same experiment, not the same execution.
//
// What it checks, per kill cycle (see verifyRun):
//   - The server restarts on the same directory after every SIGKILL, logs
//     `data loaded` and no error (a corruption error would stop it).
//   - Prefix: the recovered state is the state after some prefix of each
//     client's command history (each client owns its keys, so a key's
//     history is known): no value that was never written, nothing
//     half-applied (an MSET of four keys with one token shows that token
//     on all four or on none; RENAME moves, never copies or loses).
//   - In every mode the prefix includes every acknowledged write: a
//     process crash keeps the page cache, and writes are acknowledged only
//     once written to the log (under always, once fsynced). Power loss is
//     tested at the filesystem layer, in engine/recovery_test.go.
//   - Order across clients: a write that was acknowledged before another
//     client sent a write that is recovered is recovered too (the log is
//     one sequence).
//   - Shared counters (INCRBY from every client) hold exactly the sum of
//     the increments in the recovered prefixes.
//   - Expiry: long TTLs (SET EX, EXPIRE) come back with the absolute
//     expiry they were given (never larger than set); short ones (PX of a
//     few ms, PEXPIREAT and SET PXAT in the past) are gone; PERSIST sticks.
//   - LSNs: `data loaded` reports records == last_lsn (dense LSNs), never
//     fewer than at the previous start, at least as many as the writes
//     WAITAOF confirmed and the writes recovered since the workload began;
//     INFO persistence's aof_last_lsn continues from there.
//   - A probe client confirms writes with WAITAOF 1 0 0 in every mode: a
//     confirmed write is never lost.
//   - No hangs: every start is ready within 30 s, every client gets replies
//     (none in a second before a kill is a hang), every reply before the
//     kill is the one the model predicts.
// Each data directory serves crashPerDir kill cycles and ends with a clean
// SIGTERM shutdown, after which nothing at all may be missing.
//
// SIGKILL kills the process, not the machine: the kernel's page cache
// survives, so this suite cannot tell an fsync from a write. It catches
// what a process crash can lose (records acknowledged before they were
// written) and damage a crash can leave (torn frames, bad truncation).

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-db/cairn/internal/resptest"
)

const (
	// crashDefaultCycles is the number of kill cycles of the short pass.
	crashDefaultCycles = 20
	// crashLineage is how many kill cycles share one data directory before
	// it ends with a clean shutdown check and a fresh directory starts.
	crashPerDir = 10
	// crashClients is the number of concurrent workload clients.
	crashClients = 6
	// clockSlackMs is the slack, in ms, on comparisons of absolute
	// expiries between the test's clock and the server's (same clock).
	clockSlackMs = 2
	// crashIOTimeout bounds every network round trip of the suite.
	crashIOTimeout = 10 * time.Second
	// crashMaxOps bounds one client's commands in one run.
	crashMaxOps = 1 << 20
	// cleanRunOps is how many commands each client sends before a clean
	// shutdown.
	cleanRunOps = 200
)

var crashModes = []string{"always", "everysec", "no"}

// TestCrashRecovery is the crash-recovery suite described at the top of
// this file.
func TestCrashRecovery(t *testing.T) {
	cycles := crashDefaultCycles
	if s := os.Getenv("CAIRN_CRASH_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CAIRN_CRASH_CYCLES=%q: want a positive integer", s)
		}
		cycles = n
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CAIRN_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CAIRN_CRASH_SEED=%q: want an unsigned integer", s)
		}
		seed = n
	}
	t.Logf("crash suite: %d kill cycles, seed %d (replay: CAIRN_CRASH_SEED=%d CAIRN_CRASH_CYCLES=%d)", cycles, seed, seed, cycles)
	serverBinary(t)
	began := time.Now()
	var all []*crashStats
	for mi, mode := range crashModes {
		n := cycles / len(crashModes)
		if mi < cycles%len(crashModes) {
			n++
		}
		st := &crashStats{mode: mode}
		all = append(all, st)
		t.Run(mode, func(t *testing.T) {
			runCrashMode(t, mode, n, seed, uint64(mi), st)
		})
	}
	t.Logf("crash suite: seed %d, %v in all", seed, time.Since(began).Round(time.Second))
	loads := 0
	for _, st := range all {
		t.Log(st.String())
		loads += st.snapshotLoads
	}
	if cycles >= 10 && loads == 0 && !t.Failed() {
		t.Errorf("no restart loaded a snapshot: the suite did not exercise snapshots")
	}
}

// crashStats are one mode's figures.
type crashStats struct {
	mode                   string
	cycles, cleanChecks    int
	recoveryCrashes        int // SIGKILLs while the server was starting
	opsSent, opsAcked      int
	inflight, inflightKept int // commands unanswered at the kill, and those recovered
	ackedLost, lossCycles  int // acknowledged commands missing after recovery, and in how many cycles
	maxLossWindow          time.Duration
	tornTails              int
	maxRecovery            time.Duration // spawn to `data loaded`
	maxRecords             uint64
	probesConfirmed        int
	bgsaves                int   // background snapshots started by the workload
	snapshotLoads          int   // restarts that loaded a snapshot
	fsyncs                 int64 // aof_fsyncs last seen before each kill, summed
	killDelay              time.Duration
}

func (s *crashStats) String() string {
	avgDelay := time.Duration(0)
	if s.cycles > 0 {
		avgDelay = s.killDelay / time.Duration(s.cycles)
	}
	return fmt.Sprintf("%-8s kill cycles %d (+%d clean shutdowns, %d kills during recovery), avg kill delay %v; "+
		"writes sent %d, acknowledged %d, in flight at kill %d (recovered %d); acknowledged lost %d (in %d cycles), max window %v; "+
		"torn tails %d; WAITAOF-confirmed probes %d; fsyncs %d; max recovery %v (max records %d); "+
		"snapshots started %d, restarts from a snapshot %d",
		s.mode, s.cycles, s.cleanChecks, s.recoveryCrashes, avgDelay.Round(time.Millisecond),
		s.opsSent, s.opsAcked, s.inflight, s.inflightKept, s.ackedLost, s.lossCycles, s.maxLossWindow,
		s.tornTails, s.probesConfirmed, s.fsyncs, s.maxRecovery.Round(time.Millisecond), s.maxRecords,
		s.bgsaves, s.snapshotLoads)
}

// runCrashMode runs n kill cycles under one fsync mode, crashPerDir per
// data directory, each directory ending with a clean shutdown check.
func runCrashMode(t *testing.T, mode string, n int, seed, modeIdx uint64, st *crashStats) {
	rng := rand.New(rand.NewPCG(seed, modeIdx+1))
	done := 0
	for lineage := 0; done < n; lineage++ {
		dir, err := os.MkdirTemp("", "cairn-crash-"+mode+"-")
		if err != nil {
			t.Fatal(err)
		}
		l := newCrashLineage(mode, dir, st, seed)
		for j := 0; j < crashPerDir && done < n; j++ {
			done++
			c := cycleChoice{
				cycle:      done,
				seed:       rng.Uint64(),
				delay:      pickKillDelay(rng),
				crashStart: l.prev != nil && rng.IntN(100) < 15,
				crashAfter: time.Duration(rng.IntN(20_000)) * time.Microsecond,
			}
			if !t.Run(fmt.Sprintf("cycle%04d", done), func(t *testing.T) { l.killCycle(t, c) }) {
				t.Logf("stopped %s after a failure; data directory kept: %s (seed %d)", mode, dir, seed)
				return
			}
		}
		cs := rng.Uint64()
		if !t.Run(fmt.Sprintf("clean%02d", lineage), func(t *testing.T) { l.cleanCycle(t, done, cs) }) {
			t.Logf("stopped %s after a failure; data directory kept: %s (seed %d)", mode, dir, seed)
			return
		}
		os.RemoveAll(dir)
	}
}

// pickKillDelay chooses how long the workload runs before SIGKILL: mostly
// short, sometimes past the everysec fsync interval.
func pickKillDelay(rng *rand.Rand) time.Duration {
	if rng.IntN(100) < 70 {
		return time.Duration(5+rng.IntN(400)) * time.Millisecond
	}
	return time.Duration(400+rng.IntN(1800)) * time.Millisecond
}

type cycleChoice struct {
	cycle      int
	seed       uint64
	delay      time.Duration
	crashStart bool          // SIGKILL the server once while it starts, before the real start
	crashAfter time.Duration // how long after spawning
}

// keyState is the model of one string key. An expiry is known as a range
// [expLo, expHi] of absolute Unix ms (the server chose its clock reading
// between the command's send and its reply); both 0: no expiry.
type keyState struct {
	exists       bool
	val          string
	expLo, expHi int64
}

func (s keyState) hasExp() bool { return s.expHi != 0 }

func (s keyState) String() string {
	switch {
	case !s.exists:
		return "(absent)"
	case s.hasExp():
		return fmt.Sprintf("%q expiring in [%d, %d]", s.val, s.expLo, s.expHi)
	}
	return fmt.Sprintf("%q (no expiry)", s.val)
}

// observed is a key as read back: GET, then PEXPIRETIME.
type observed struct {
	present bool
	val     string
	pexp    int64 // -2: no key, -1: no expiry, else absolute Unix ms
}

func (o observed) String() string {
	if !o.present {
		return fmt.Sprintf("(absent, pexpiretime %d)", o.pexp)
	}
	return fmt.Sprintf("%q (pexpiretime %d)", o.val, o.pexp)
}

// observation is every key of interest, read back between readLo and
// readHi (Unix ms).
type observation struct {
	keys           map[string]observed
	readLo, readHi int64
}

// matches reports whether what was read back is what s predicts, given
// that keys may expire while being read.
func (obs *observation) matches(key string, s keyState) bool {
	o := obs.keys[key]
	if !s.exists {
		return !o.present && o.pexp == -2
	}
	if !s.hasExp() {
		return o.present && o.val == s.val && o.pexp == -1
	}
	mayBeGone := s.expLo <= obs.readHi+clockSlackMs
	mustBeGone := s.expHi+clockSlackMs < obs.readLo
	if !o.present {
		return mayBeGone && o.pexp == -2
	}
	if o.val != s.val || mustBeGone {
		return false
	}
	if o.pexp == -2 {
		return mayBeGone // expired between GET and PEXPIRETIME
	}
	return o.pexp >= s.expLo-clockSlackMs && o.pexp <= s.expHi+clockSlackMs
}

// stateOf turns a key read back into the model's starting point.
func stateOf(o observed) keyState {
	switch {
	case !o.present || o.pexp == -2:
		return keyState{}
	case o.pexp == -1:
		return keyState{exists: true, val: o.val}
	}
	return keyState{exists: true, val: o.val, expLo: o.pexp, expHi: o.pexp}
}

// effect says whether a command wrote a log record.
type effect uint8

const (
	effNone  effect = iota // changed nothing: no record
	effYes                 // certainly one record
	effMaybe               // depends on whether a key had expired meanwhile
)

// crashOp is one command a workload client sent.
type crashOp struct {
	args []string
	// keys are the client's own keys the command may change.
	keys []string
	// mutate applies the command to a model state; lo and hi bound the
	// server's clock when it ran it (Unix ms).
	mutate func(st map[string]keyState, lo, hi int64) effect
	// check validates the reply, as predicted from the state before.
	check func(r resptest.Reply) error
	// shared and delta: an INCRBY of a counter every client increments.
	shared string
	delta  int64
	// eff is what mutate said when the command was generated.
	eff effect

	sendMs, ackMs     int64 // Unix ms
	sendMono, ackMono time.Time
	acked             bool
}

func (op *crashOp) String() string { return resptest.Quote(op.args) }

// crashClient is one workload client's identity; it owns its keys.
type crashClient struct {
	id    int
	s     []string // plain strings: SET, SET EX, APPEND, GETDEL, DEL, RENAME, EXPIRE, PERSIST
	n     []string // counters: INCR, INCRBY
	m     []string // one MSET group: MSET, MSETNX, DEL of all of them
	tt    []string // short-lived: SET PX, PEXPIREAT and SET PXAT in the past
	keys  []string // all of the above
	seq   int64    // makes every value unique
	state map[string]keyState
}

func newCrashClient(id int) *crashClient {
	c := &crashClient{id: id, state: map[string]keyState{}}
	mk := func(kind string, n int) []string {
		var ks []string
		for i := 0; i < n; i++ {
			ks = append(ks, fmt.Sprintf("c%d:%s%d", id, kind, i))
		}
		c.keys = append(c.keys, ks...)
		return ks
	}
	c.s, c.n, c.m, c.tt = mk("s", 4), mk("n", 2), mk("m", 4), mk("t", 2)
	return c
}

// ---- reply checks ----

func wantSimple(s string) func(resptest.Reply) error {
	return func(r resptest.Reply) error {
		if r.Kind != resptest.Simple || string(r.Str) != s {
			return fmt.Errorf("reply %q, want +%s", r.Encode(), s)
		}
		return nil
	}
}

func wantInt(ns ...int64) func(resptest.Reply) error {
	return func(r resptest.Reply) error {
		if r.Kind == resptest.Integer && (len(ns) == 0 || slices.Contains(ns, r.Int)) {
			return nil
		}
		return fmt.Errorf("reply %q, want an integer in %v", r.Encode(), ns)
	}
}

func wantBulk(s keyState) func(resptest.Reply) error {
	return func(r resptest.Reply) error {
		if !s.exists {
			if r.Kind != resptest.Bulk || !r.Nil {
				return fmt.Errorf("reply %q, want a nil bulk", r.Encode())
			}
			return nil
		}
		if r.Kind != resptest.Bulk || r.Nil || string(r.Str) != s.val {
			return fmt.Errorf("reply %q, want %q", r.Encode(), s.val)
		}
		return nil
	}
}

// ---- the workload's commands ----

func setOp(key, val string, ttlMs int64, args []string) *crashOp {
	return &crashOp{
		args: args, keys: []string{key}, check: wantSimple("OK"),
		mutate: func(st map[string]keyState, lo, hi int64) effect {
			if ttlMs > 0 {
				st[key] = keyState{exists: true, val: val, expLo: lo + ttlMs, expHi: hi + ttlMs}
			} else {
				st[key] = keyState{exists: true, val: val}
			}
			return effYes
		},
	}
}

// nextOp generates a client's next command from its model state live (the
// state after every command it sent before), and applies it to live.
func (c *crashClient) nextOp(rng *rand.Rand, live map[string]keyState, sharedKeys []string) *crashOp {
	c.seq++
	tok := fmt.Sprintf("c%d.%d", c.id, c.seq)
	pick := func(ks []string) string { return ks[rng.IntN(len(ks))] }
	existing := func() []string {
		var ks []string
		for _, k := range c.s {
			if live[k].exists {
				ks = append(ks, k)
			}
		}
		return ks
	}
	var op *crashOp
	switch r := rng.IntN(100); {
	case r < 14:
		k := pick(c.s)
		op = setOp(k, tok, 0, []string{"SET", k, tok})
	case r < 19:
		k := pick(c.s)
		sec := int64(1000 + rng.IntN(100_000))
		op = setOp(k, tok, sec*1000, []string{"SET", k, tok, "EX", strconv.FormatInt(sec, 10)})
	case r < 25:
		k := pick(c.s)
		if len(live[k].val) > 200 {
			op = setOp(k, tok, 0, []string{"SET", k, tok})
			break
		}
		suffix := "+" + tok
		op = &crashOp{args: []string{"APPEND", k, suffix}, keys: []string{k},
			check: wantInt(int64(len(live[k].val) + len(suffix))),
			mutate: func(st map[string]keyState, lo, hi int64) effect {
				s := st[k]
				s.exists, s.val = true, s.val+suffix // keeps the expiry
				st[k] = s
				return effYes
			}}
	case r < 28:
		k := pick(c.s)
		op = &crashOp{args: []string{"GETDEL", k}, keys: []string{k}, check: wantBulk(live[k]),
			mutate: func(st map[string]keyState, lo, hi int64) effect {
				had := st[k].exists
				st[k] = keyState{}
				if had {
					return effYes
				}
				return effNone
			}}
	case r < 31:
		i := rng.IntN(len(c.s))
		k1, k2 := c.s[i], c.s[(i+1+rng.IntN(len(c.s)-1))%len(c.s)]
		n := int64(0)
		for _, k := range []string{k1, k2} {
			if live[k].exists {
				n++
			}
		}
		op = &crashOp{args: []string{"DEL", k1, k2}, keys: []string{k1, k2}, check: wantInt(n),
			mutate: func(st map[string]keyState, lo, hi int64) effect {
				e := effNone
				for _, k := range []string{k1, k2} {
					if st[k].exists {
						e = effYes
					}
					st[k] = keyState{}
				}
				return e
			}}
	case r < 36:
		src := existing()
		if len(src) == 0 {
			k := pick(c.s)
			op = setOp(k, tok, 0, []string{"SET", k, tok})
			break
		}
		from := pick(src)
		fi := slices.Index(c.s, from)
		to := c.s[(fi+1+rng.IntN(len(c.s)-1))%len(c.s)]
		op = &crashOp{args: []string{"RENAME", from, to}, keys: []string{from, to}, check: wantSimple("OK"),
			mutate: func(st map[string]keyState, lo, hi int64) effect {
				st[to], st[from] = st[from], keyState{}
				return effYes
			}}
	case r < 39:
		k := pick(c.s)
		sec := int64(1000 + rng.IntN(100_000))
		n := int64(0)
		if live[k].exists {
			n = 1
		}
		op = &crashOp{args: []string{"EXPIRE", k, strconv.FormatInt(sec, 10)}, keys: []string{k}, check: wantInt(n),
			mutate: func(st map[string]keyState, lo, hi int64) effect {
				s := st[k]
				if !s.exists {
					return effNone
				}
				s.expLo, s.expHi = lo+sec*1000, hi+sec*1000
				st[k] = s
				return effYes
			}}
	case r < 41:
		k := pick(c.s)
		n := int64(0)
		if live[k].exists && live[k].hasExp() {
			n = 1
		}
		op = &crashOp{args: []string{"PERSIST", k}, keys: []string{k}, check: wantInt(n),
			mutate: func(st map[string]keyState, lo, hi int64) effect {
				s := st[k]
				if !s.exists || !s.hasExp() {
					return effNone
				}
				s.expLo, s.expHi = 0, 0
				st[k] = s
				return effYes
			}}
	case r < 51:
		k := pick(c.n)
		cur, _ := strconv.ParseInt(live[k].val, 10, 64)
		d := int64(1)
		args := []string{"INCR", k}
		if rng.IntN(2) == 0 {
			d = int64(1 + rng.IntN(1000))
			args = []string{"INCRBY", k, strconv.FormatInt(d, 10)}
		}
		v := strconv.FormatInt(cur+d, 10)
		op = &crashOp{args: args, keys: []string{k}, check: wantInt(cur + d),
			mutate: func(st map[string]keyState, lo, hi int64) effect {
				s := st[k]
				s.exists, s.val = true, v // counters never get an expiry
				st[k] = s
				return effYes
			}}
	case r < 63:
		nx := r >= 59
		none := true
		for _, k := range c.m {
			if live[k].exists {
				none = false
			}
		}
		args := []string{"MSET"}
		if nx {
			args[0] = "MSETNX"
		}
		for i, k := range c.m {
			args = append(args, k, fmt.Sprintf("%s/%d", tok, i))
		}
		apply := !nx || none
		check := wantSimple("OK")
		if nx {
			check = wantInt(map[bool]int64{true: 1, false: 0}[apply])
		}
		keys := c.m
		op = &crashOp{args: args, keys: keys, check: check,
			mutate: func(st map[string]keyState, lo, hi int64) effect {
				if nx {
					for _, k := range keys {
						if st[k].exists {
							return effNone
						}
					}
				}
				for i, k := range keys {
					st[k] = keyState{exists: true, val: fmt.Sprintf("%s/%d", tok, i)}
				}
				return effYes
			}}
	case r < 66:
		n := int64(0)
		for _, k := range c.m {
			if live[k].exists {
				n++
			}
		}
		keys := c.m
		op = &crashOp{args: append([]string{"DEL"}, keys...), keys: keys, check: wantInt(n),
			mutate: func(st map[string]keyState, lo, hi int64) effect {
				e := effNone
				for _, k := range keys {
					if st[k].exists {
						e = effYes
					}
					st[k] = keyState{}
				}
				return e
			}}
	case r < 72:
		k := pick(c.tt)
		ms := int64(1 + rng.IntN(40))
		op = setOp(k, tok, ms, []string{"SET", k, tok, "PX", strconv.FormatInt(ms, 10)})
	case r < 74:
		k := pick(c.tt)
		op = setOp(k, tok, 0, []string{"SET", k, tok})
	case r < 79:
		// A time already passed: PEXPIREAT deletes the key; SET PXAT
		// leaves it absent.
		k := pick(c.tt)
		at := time.Now().UnixMilli() - int64(1+rng.IntN(100_000))
		prev := live[k]
		var args []string
		var check func(resptest.Reply) error
		if r < 77 {
			args = []string{"PEXPIREAT", k, strconv.FormatInt(at, 10)}
			switch {
			case !prev.exists:
				check = wantInt(0)
			case !prev.hasExp():
				check = wantInt(1)
			default:
				check = wantInt(0, 1) // it may have expired already
			}
		} else {
			args = []string{"SET", k, tok, "PXAT", strconv.FormatInt(at, 10)}
			check = wantSimple("OK")
		}
		op = &crashOp{args: args, keys: []string{k}, check: check,
			mutate: func(st map[string]keyState, lo, hi int64) effect {
				s := st[k]
				st[k] = keyState{}
				switch {
				case !s.exists:
					return effNone
				case s.hasExp():
					return effMaybe
				}
				return effYes
			}}
	default:
		k := pick(sharedKeys)
		d := int64(1 + rng.IntN(1000))
		op = &crashOp{args: []string{"INCRBY", k, strconv.FormatInt(d, 10)}, check: wantInt(),
			shared: k, delta: d,
			mutate: func(st map[string]keyState, lo, hi int64) effect { return effYes }}
	}
	now := time.Now().UnixMilli()
	op.eff = op.mutate(live, now, now)
	return op
}

// ---- one data directory's life ----

// crashLineage is one data directory, restarted after every kill.
type crashLineage struct {
	mode    string
	dir     string
	st      *crashStats
	seed    uint64
	clients []*crashClient
	shared  []string
	probe   string
	// From the latest observation: the shared counters and the probe.
	sharedVal map[string]int64
	probeVal  int64
	// prev is the run to verify at the next start (nil: none yet).
	prev *crashRun
	// lastLoaded is the last_lsn of the latest start: the log never goes
	// back behind it (Replay leaves its tail fsynced).
	lastLoaded uint64
}

func newCrashLineage(mode, dir string, st *crashStats, seed uint64) *crashLineage {
	l := &crashLineage{mode: mode, dir: dir, st: st, seed: seed, sharedVal: map[string]int64{},
		shared: []string{"shared:ctr0", "shared:ctr1"}, probe: "probe:waitaof"}
	for i := 0; i < crashClients; i++ {
		l.clients = append(l.clients, newCrashClient(i))
	}
	return l
}

func (l *crashLineage) allKeys() []string {
	var ks []string
	for _, c := range l.clients {
		ks = append(ks, c.keys...)
	}
	return append(append(ks, l.shared...), l.probe)
}

// crashRun is one workload run, from a start to a kill (or a clean stop).
type crashRun struct {
	cycle      int
	clean      bool // ended with SIGTERM after the workload finished
	init       []map[string]keyState
	ops        [][]*crashOp
	sharedBase map[string]int64
	lsnStart   uint64 // aof_last_lsn before the first command
	lsnEnd     uint64 // clean runs: aof_last_lsn after the workload

	probeStart     int64  // the probe's value at the start
	probeSent      int64  // the highest value SET (sent)
	probeConfirmed int64  // the highest value WAITAOF confirmed (0: none)
	probeLSNBound  uint64 // an LSN WAITAOF confirmed durable
	fsyncs         int64  // aof_fsyncs last seen
	bgsaves        int    // BGSAVEs that started a snapshot

	killMono time.Time
	exitMs   int64

	mu      sync.Mutex
	liveErr []string // wrong replies while running
	ioErr   []string // connection failures (expected only after a kill)
}

func (r *crashRun) fail(list *[]string, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*list = append(*list, fmt.Sprintf(format, args...))
}

// loadInfo is what the `data loaded` line says.
type loadInfo struct {
	records, segments, lastLSN uint64
}

var loadedRE = regexp.MustCompile(`msg="data loaded" snapshot_keys=(\d+) records=(\d+) segments=(\d+) last_lsn=(\d+)`)

// spawnDir starts the server on dir under the lineage's mode, on a free
// port, and waits for `data loaded`.
func (l *crashLineage) spawnDir(t *testing.T) (*proc, time.Duration) {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		began := time.Now()
		p := spawn(t, port, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", l.dir,
			"--appendonly", "yes", "--appendfsync", l.mode)
		lastErr = p.waitReady()
		if lastErr == nil {
			return p, time.Since(began)
		}
		if !strings.Contains(p.log(), "address already in use") {
			break
		}
	}
	t.Fatalf("%s: cairn-server did not restart on %s: %v", l.mode, l.dir, lastErr)
	return nil, 0
}

// kill sends SIGKILL (by PID) and waits for the exit.
func (l *crashLineage) kill(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("SIGKILL: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(exitDeadline):
		t.Fatalf("cairn-server (pid %d) did not exit within %v of SIGKILL", p.cmd.Process.Pid, exitDeadline)
	}
}

// start (re)starts the server, checks the start, and verifies l.prev
// against what it recovered. It returns the server, ready for a new run
// whose starting state the lineage now holds.
func (l *crashLineage) start(t *testing.T, c cycleChoice) *proc {
	t.Helper()
	if c.crashStart {
		// A crash while recovering (replaying, truncating a torn tail)
		// must leave a directory that recovers all the same.
		port := freePort(t)
		p := spawn(t, port, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", l.dir,
			"--appendonly", "yes", "--appendfsync", l.mode)
		time.Sleep(c.crashAfter) // the random moment of the kill
		l.kill(t, p)
		l.st.recoveryCrashes++
		l.st.tornTails += strings.Count(p.log(), "torn tail truncated")
	}
	p, took := l.spawnDir(t)
	l.st.maxRecovery = max(l.st.maxRecovery, took)
	log := p.log()
	if strings.Contains(log, "level=ERROR") {
		t.Errorf("%s: the restart logged an error:\n%s", l.mode, log)
	}
	l.st.tornTails += strings.Count(log, "torn tail truncated")
	m := loadedRE.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("%s: no parsable `data loaded` line in:\n%s", l.mode, log)
	}
	var li loadInfo
	if m[1] != "0" {
		l.st.snapshotLoads++
	}
	li.records, _ = strconv.ParseUint(m[2], 10, 64)
	li.segments, _ = strconv.ParseUint(m[3], 10, 64)
	li.lastLSN, _ = strconv.ParseUint(m[4], 10, 64)
	l.st.maxRecords = max(l.st.maxRecords, li.records)

	// LSNs: dense from 1 while there is no snapshot, and never behind
	// the previous start.
	if snaps, _ := os.ReadDir(filepath.Join(l.dir, "snapshots")); len(snaps) == 0 && li.records != li.lastLSN {
		t.Errorf("%s: data loaded: records=%d but last_lsn=%d; without a snapshot every LSN from 1 is a record", l.mode, li.records, li.lastLSN)
	}
	if li.lastLSN < l.lastLoaded {
		t.Errorf("%s: data loaded: last_lsn=%d, behind the previous start's last_lsn=%d (which that start had fsynced)", l.mode, li.lastLSN, l.lastLoaded)
	}
	l.lastLoaded = li.lastLSN

	cl := dialCrash(t, p)
	defer cl.Close()
	info := infoPersistence(t, cl)
	if info["loading"] != "0" || info["aof_enabled"] != "1" || info["aof_fsync_policy"] != l.mode {
		t.Errorf("%s: INFO persistence after `data loaded`: loading=%s aof_enabled=%s aof_fsync_policy=%s; want 0, 1, %s",
			l.mode, info["loading"], info["aof_enabled"], info["aof_fsync_policy"], l.mode)
	}
	if lsn := infoUint(t, info, "aof_last_lsn"); lsn < li.lastLSN {
		t.Errorf("%s: aof_last_lsn=%d after a start that loaded up to LSN %d: LSNs must continue from the log", l.mode, lsn, li.lastLSN)
	}

	obs := observe(t, cl, l.allKeys())
	if l.prev != nil {
		if probs := l.verifyRun(l.prev, obs, li); len(probs) > 0 {
			t.Fatalf("%s, cycle %d, seed %d: recovery after %s is wrong:\n  %s",
				l.mode, l.prev.cycle, l.seed, map[bool]string{true: "a clean shutdown", false: "SIGKILL"}[l.prev.clean],
				strings.Join(probs, "\n  "))
		}
	}
	// The recovered state is the next run's starting point.
	for _, c := range l.clients {
		c.state = map[string]keyState{}
		for _, k := range c.keys {
			c.state[k] = stateOf(obs.keys[k])
		}
	}
	for _, k := range l.shared {
		l.sharedVal[k] = 0
		if o := obs.keys[k]; o.present {
			v, err := strconv.ParseInt(o.val, 10, 64)
			if err != nil {
				t.Fatalf("%s: shared counter %s = %q", l.mode, k, o.val)
			}
			l.sharedVal[k] = v
		}
	}
	l.probeVal = 0
	if o := obs.keys[l.probe]; o.present {
		l.probeVal, _ = strconv.ParseInt(o.val, 10, 64)
	}
	return p
}

// killCycle: start (verifying the previous kill), run the workload, kill
// it at a random moment.
func (l *crashLineage) killCycle(t *testing.T, c cycleChoice) {
	p := l.start(t, c)
	run := l.newRun(t, p, c.cycle)
	stop := make(chan struct{})
	wg := l.runWorkload(p, run, c.seed, stop, crashMaxOps)
	time.Sleep(c.delay) // the random kill moment: the point of the test
	run.killMono = time.Now()
	l.kill(t, p)
	run.exitMs = time.Now().UnixMilli()
	close(stop)
	l.waitWorkload(t, wg)
	if len(run.liveErr) > 0 {
		t.Fatalf("%s, cycle %d, seed %d: wrong replies before the kill:\n  %s", l.mode, c.cycle, l.seed, strings.Join(run.liveErr, "\n  "))
	}
	if c.delay >= time.Second {
		// Liveness: a second without a single reply is a hang.
		for i, ops := range run.ops {
			if len(ops) == 0 || !ops[0].acked {
				t.Errorf("%s cycle %d, seed %d: client %d got no reply at all in the %v before the kill (server hung?)", l.mode, c.cycle, l.seed, l.clients[i].id, c.delay)
			}
		}
	}
	sent, acked := 0, 0
	for _, ops := range run.ops {
		sent += len(ops)
		for _, op := range ops {
			if op.acked {
				acked++
			}
		}
	}
	t.Logf("%s cycle %d: killed after %v (crash during recovery first: %v); %d commands sent, %d acknowledged; WAITAOF confirmed probe %d",
		l.mode, c.cycle, c.delay, c.crashStart, sent, acked, run.probeConfirmed)
	l.st.cycles++
	l.st.killDelay += c.delay
	l.st.fsyncs += run.fsyncs
	l.st.bgsaves += run.bgsaves
	l.prev = run
}

// cleanCycle: start (verifying the last kill), run a bounded workload, stop
// with SIGTERM, start again: nothing may be missing.
func (l *crashLineage) cleanCycle(t *testing.T, cycle int, seed uint64) {
	p := l.start(t, cycleChoice{cycle: cycle})
	run := l.newRun(t, p, cycle)
	run.clean = true
	stop := make(chan struct{})
	wg := l.runWorkload(p, run, seed, stop, cleanRunOps)
	l.waitClients(t, wg, run)
	close(stop)
	l.waitWorkload(t, wg)
	if len(run.liveErr) > 0 || len(run.ioErr) > 0 {
		t.Fatalf("%s, clean run after cycle %d, seed %d: errors while running:\n  %s", l.mode, cycle, l.seed,
			strings.Join(append(run.liveErr, run.ioErr...), "\n  "))
	}
	cl := dialCrash(t, p)
	run.lsnEnd = infoUint(t, infoPersistence(t, cl), "aof_last_lsn")
	cl.Close()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t); code != 0 {
		t.Fatalf("%s: exit status %d after SIGTERM; want 0\n%s", l.mode, code, p.log())
	}
	run.exitMs = time.Now().UnixMilli()
	run.killMono = time.Now()
	l.prev = run
	p2 := l.start(t, cycleChoice{cycle: cycle})
	if strings.Contains(p2.log(), "torn tail") {
		t.Errorf("%s: a torn tail after a clean shutdown:\n%s", l.mode, p2.log())
	}
	l.prev = nil
	l.st.cleanChecks++
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p2.waitExit(t); code != 0 {
		t.Fatalf("%s: exit status %d after SIGTERM; want 0\n%s", l.mode, code, p2.log())
	}
}

func (l *crashLineage) newRun(t *testing.T, p *proc, cycle int) *crashRun {
	run := &crashRun{cycle: cycle, sharedBase: map[string]int64{}, probeStart: l.probeVal, probeSent: l.probeVal}
	for _, c := range l.clients {
		init := map[string]keyState{}
		for k, s := range c.state {
			init[k] = s
		}
		run.init = append(run.init, init)
		run.ops = append(run.ops, nil)
	}
	for k, v := range l.sharedVal {
		run.sharedBase[k] = v
	}
	cl := dialCrash(t, p)
	defer cl.Close()
	run.lsnStart = infoUint(t, infoPersistence(t, cl), "aof_last_lsn")
	return run
}

// runWorkload starts the clients and the WAITAOF probe.
func (l *crashLineage) runWorkload(p *proc, run *crashRun, seed uint64, stop chan struct{}, maxOps int) *workload {
	w := &workload{clientsDone: make(chan struct{})}
	w.clients.Add(len(l.clients))
	for i, c := range l.clients {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		go func() {
			defer w.clients.Done()
			l.runClient(p.addr(), c, i, rng, run, stop, maxOps)
		}()
	}
	go func() { w.clients.Wait(); close(w.clientsDone) }()
	w.probe.Add(2)
	go func() {
		defer w.probe.Done()
		l.runProbe(p.addr(), run, stop)
	}()
	go func() {
		defer w.probe.Done()
		l.runSnapshotter(p.addr(), run, stop)
	}()
	return w
}

// dial connects a helper client of the workload (nil, recorded as an I/O
// failure, if it cannot).
func (run *crashRun) dial(addr, who string) *resptest.Client {
	nc, err := net.DialTimeout("tcp", addr, crashIOTimeout)
	if err != nil {
		run.fail(&run.ioErr, "%s: dial: %v", who, err)
		return nil
	}
	cl := resptest.NewClient(nc)
	cl.Timeout = crashIOTimeout
	return cl
}

// runSnapshotter starts background snapshots every few milliseconds, so
// that kills land while one is written, renamed, or retiring old files
// and log segments.
func (l *crashLineage) runSnapshotter(addr string, run *crashRun, stop <-chan struct{}) {
	cl := run.dial(addr, "snapshotter")
	if cl == nil {
		return
	}
	defer cl.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < crashMaxOps; i++ {
		raw, err := cl.Do("BGSAVE")
		if err != nil {
			return
		}
		switch string(raw) {
		case "+Background saving started\r\n":
			run.bgsaves++
		case "-ERR Background save already in progress\r\n":
		default:
			run.fail(&run.liveErr, "snapshotter: BGSAVE = %q", raw)
			return
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

type workload struct {
	clients, probe sync.WaitGroup
	clientsDone    chan struct{}
}

// waitClients waits for the clients of a bounded run to finish.
func (l *crashLineage) waitClients(t *testing.T, w *workload, run *crashRun) {
	select {
	case <-w.clientsDone:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s: the workload clients did not finish %d commands each within 2 minutes (server hung?)", l.mode, cleanRunOps)
	}
}

// waitWorkload waits for every goroutine of the workload, which ends once
// stop is closed or its connection fails.
func (l *crashLineage) waitWorkload(t *testing.T, w *workload) {
	done := make(chan struct{})
	go func() { w.clients.Wait(); w.probe.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(crashIOTimeout + 30*time.Second):
		t.Fatalf("%s: workload goroutines still running well after the server stopped", l.mode)
	}
}

// runClient sends commands, alone or in pipelines, until stop, maxOps or
// a connection failure; every command is recorded before it is sent.
func (l *crashLineage) runClient(addr string, c *crashClient, idx int, rng *rand.Rand, run *crashRun, stop <-chan struct{}, maxOps int) {
	nc, err := net.DialTimeout("tcp", addr, crashIOTimeout)
	if err != nil {
		run.fail(&run.ioErr, "client %d: dial: %v", c.id, err)
		return
	}
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 64<<10)
	live := map[string]keyState{}
	for k, s := range c.state {
		live[k] = s
	}
	pipeProb := 20
	if c.id >= crashClients-2 {
		pipeProb = 100
	}
	var buf []byte
	for sent := 0; sent < maxOps; {
		select {
		case <-stop:
			return
		default:
		}
		n := 1
		if rng.IntN(100) < pipeProb {
			n = 2 + rng.IntN(15)
		}
		n = min(n, maxOps-sent)
		batch := make([]*crashOp, n)
		buf = buf[:0]
		for i := range batch {
			batch[i] = c.nextOp(rng, live, l.shared)
			buf = resptest.AppendCommand(buf, batch[i].args...)
		}
		now := time.Now()
		for _, op := range batch {
			op.sendMono, op.sendMs = now, now.UnixMilli()
		}
		run.ops[idx] = append(run.ops[idx], batch...)
		sent += n
		nc.SetDeadline(time.Now().Add(crashIOTimeout))
		if _, err := nc.Write(buf); err != nil {
			run.fail(&run.ioErr, "client %d: write: %v", c.id, err)
			return
		}
		for _, op := range batch {
			raw, err := resptest.ReadReply(br)
			if err != nil {
				run.fail(&run.ioErr, "client %d: read: %v", c.id, err)
				return
			}
			now := time.Now()
			op.acked, op.ackMono, op.ackMs = true, now, now.UnixMilli()
			rep, err := resptest.Parse(raw)
			if err == nil {
				err = op.check(rep)
			}
			if err != nil {
				run.fail(&run.liveErr, "client %d: %s: %v", c.id, op, err)
				return
			}
		}
	}
}

// runProbe repeatedly reads aof_last_lsn, SETs the probe key to the next
// number and confirms it with WAITAOF 1 0 0: that write, and every LSN up
// to the one read before it, is then durable whatever the mode. The pace
// (a tick every 25 ms) only limits its fsyncs.
func (l *crashLineage) runProbe(addr string, run *crashRun, stop <-chan struct{}) {
	cl := run.dial(addr, "probe")
	if cl == nil {
		return
	}
	defer cl.Close()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < crashMaxOps; i++ {
		raw, err := cl.Do("INFO", "persistence")
		if err != nil {
			return
		}
		info := parseInfo(raw)
		lsn, err := strconv.ParseUint(info["aof_last_lsn"], 10, 64)
		if err != nil {
			run.fail(&run.liveErr, "probe: INFO persistence has no aof_last_lsn: %q", raw)
			return
		}
		run.fsyncs, _ = strconv.ParseInt(info["aof_fsyncs"], 10, 64)
		v := run.probeSent + 1
		run.probeSent = v
		raw, err = cl.Do("SET", l.probe, strconv.FormatInt(v, 10))
		if err != nil {
			return
		}
		if string(raw) != "+OK\r\n" {
			run.fail(&run.liveErr, "probe: SET %s %d: %q", l.probe, v, raw)
			return
		}
		began := time.Now()
		raw, err = cl.Do("WAITAOF", "1", "0", "0")
		if err != nil {
			return
		}
		if string(raw) != "*2\r\n:1\r\n:0\r\n" {
			run.fail(&run.liveErr, "probe: WAITAOF 1 0 0 = %q; want [1, 0]", raw)
			return
		}
		if d := time.Since(began); d > 5*time.Second {
			run.fail(&run.liveErr, "probe: WAITAOF 1 0 0 took %v", d)
		}
		run.probeConfirmed, run.probeLSNBound = v, lsn+1
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// ---- verification ----

// verifyRun checks what a start recovered (obs, li) against the run before
// it; it returns the problems found.
func (l *crashLineage) verifyRun(run *crashRun, obs observation, li loadInfo) []string {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	killAgo := func(at time.Time) time.Duration { return run.killMono.Sub(at).Round(time.Millisecond) }

	type clientResult struct {
		all, ok []int // candidate prefix lengths: all, and those the mode allows
		acked   int   // acknowledged commands (a prefix of ops)
	}
	res := make([]clientResult, len(l.clients))
	lostAny := false
	for ci, c := range l.clients {
		ops := run.ops[ci]
		// Nothing half-applied: the MSET group is all of one token or
		// all absent, whatever else went wrong.
		var toks []string
		present := 0
		for i, k := range c.m {
			if o := obs.keys[k]; o.present {
				present++
				tok, idx, _ := strings.Cut(o.val, "/")
				if idx != strconv.Itoa(i) {
					tok = o.val + " (at the wrong key)"
				}
				toks = append(toks, tok)
			}
		}
		slices.Sort(toks)
		if (present != 0 && present != len(c.m)) || len(slices.Compact(toks)) > 1 {
			var got []string
			for _, k := range c.m {
				got = append(got, k+"="+obs.keys[k].String())
			}
			bad("client %d: half-applied multi-key write: %s (one MSET/MSETNX/DEL writes all of them)", c.id, strings.Join(got, " "))
		}

		r := &res[ci]
		r.all = candidates(run.init[ci], ops, c.keys, &obs, run.exitMs)
		for r.acked < len(ops) && ops[r.acked].acked {
			r.acked++
		}
		l.st.opsSent += len(ops)
		l.st.opsAcked += r.acked
		if !run.clean {
			l.st.inflight += len(ops) - r.acked
		}
		if len(r.all) == 0 {
			k, diffs := closestPrefix(run.init[ci], ops, c.keys, &obs, run.exitMs)
			bad("client %d: the recovered keys are not the state after any prefix of its %d commands (%d acknowledged): "+
				"closest is after %d commands, which differs in:\n      %s%s",
				c.id, len(ops), r.acked, k, strings.Join(diffs, "\n      "), opContext(ops, k, run))
			continue
		}
		kmax := slices.Max(r.all)
		if !run.clean {
			l.st.inflightKept += max(0, kmax-r.acked)
		}
		if kmax < r.acked {
			// Acknowledged commands are missing: how old is the oldest?
			lost := ops[kmax]
			window := killAgo(lost.ackMono)
			l.st.ackedLost += r.acked - kmax
			lostAny = true
			l.st.maxLossWindow = max(l.st.maxLossWindow, window)
		}
		// What the mode promises: the prefix covers ops[:need].
		// A SIGKILL keeps the kernel's page cache, and the server acknowledges
		// a write only once the log has written it (and, under always,
		// fsynced it), so in every mode no acknowledged write may be lost
		// (Redis keeps the same promise). Power loss, where everysec may lose
		// the last second and no more, is tested at the filesystem layer
		// (engine/recovery_test.go).
		need := r.acked
		for _, k := range r.all {
			if k >= need {
				r.ok = append(r.ok, k)
			}
		}
		if len(r.ok) == 0 {
			first := ops[kmax]
			_, diffs := closestPrefixAt(run.init[ci], ops, c.keys, &obs, run.exitMs, need)
			bad("client %d: acknowledged writes lost: recovered only a prefix of %d of its commands, but %d were acknowledged "+
				"and the mode (%s%s) keeps at least %d; the first lost, %s, was acknowledged %v before the kill; "+
				"after %d commands the keys would differ in:\n      %s%s",
				c.id, kmax, r.acked, l.mode, map[bool]string{true: ", clean shutdown"}[run.clean], need, first, killAgo(first.ackMono),
				need, strings.Join(diffs, "\n      "), opContext(ops, kmax, run))
		}
	}

	if lostAny {
		l.st.lossCycles++
	}

	// Order across clients: if client b's command e is certainly
	// recovered, every command acknowledged before e was sent is too.
	for bi := range l.clients {
		if len(res[bi].ok) == 0 {
			continue
		}
		kmin := slices.Min(res[bi].ok)
		e := -1
		for j := kmin - 1; j >= 0; j-- {
			if run.ops[bi][j].eff == effYes {
				e = j
				break
			}
		}
		if e < 0 {
			continue
		}
		sentAt := run.ops[bi][e].sendMono
		for ai := range l.clients {
			if ai == bi || len(res[ai].ok) == 0 {
				continue
			}
			kmax := slices.Max(res[ai].ok)
			for j := kmax; j < len(run.ops[ai]); j++ {
				op := run.ops[ai][j]
				if !op.acked || !op.ackMono.Before(sentAt) {
					break
				}
				if op.eff == effYes {
					bad("order: client %d's %s (#%d, sent %v before the kill) was recovered, but client %d's %s (#%d), acknowledged %v before that was sent, was not (client %d kept only %d commands)",
						l.clients[bi].id, run.ops[bi][e], e, killAgo(sentAt), l.clients[ai].id, op, j, sentAt.Sub(op.ackMono), l.clients[ai].id, kmax)
					break
				}
			}
		}
	}

	// Shared counters: exactly the increments in the recovered prefixes.
	for _, key := range l.shared {
		got := int64(0)
		if o := obs.keys[key]; o.present {
			v, err := strconv.ParseInt(o.val, 10, 64)
			if err != nil || o.pexp != -1 {
				bad("shared counter %s = %s; want an integer without expiry", key, o)
				continue
			}
			got = v
		}
		sums, exact := map[int64]bool{run.sharedBase[key]: true}, true
		lo, hi := run.sharedBase[key], run.sharedBase[key]
		checkable := true
		for ci := range l.clients {
			if len(res[ci].ok) == 0 {
				checkable = false // that client's problem is reported above
				break
			}
			prefix := make([]int64, len(run.ops[ci])+1)
			for j, op := range run.ops[ci] {
				prefix[j+1] = prefix[j]
				if op.shared == key {
					prefix[j+1] += op.delta
				}
			}
			poss := map[int64]bool{}
			for _, k := range res[ci].ok {
				poss[prefix[k]] = true
			}
			next := map[int64]bool{}
			for a := range sums {
				for b := range poss {
					next[a+b] = true
				}
			}
			sums = next
			lo += prefix[slices.Min(res[ci].ok)]
			hi += prefix[slices.Max(res[ci].ok)]
			if len(sums) > 1<<16 {
				exact = false // too many combinations: the range check still holds
				sums = map[int64]bool{}
			}
		}
		if checkable && (got < lo || got > hi || (exact && !sums[got])) {
			bad("shared counter %s = %d; the recovered prefixes allow %d..%d (base %d)", key, got, lo, hi, run.sharedBase[key])
		}
	}

	// The probe: every write WAITAOF confirmed survives.
	probe := int64(0)
	if o := obs.keys[l.probe]; o.present {
		probe, _ = strconv.ParseInt(o.val, 10, 64)
	}
	l.st.probesConfirmed += int(max(0, run.probeConfirmed-run.probeStart))
	switch {
	case probe < run.probeConfirmed:
		bad("probe %s = %d after recovery, but WAITAOF 1 0 0 had confirmed the SET of %d", l.probe, probe, run.probeConfirmed)
	case probe < run.probeStart || probe > run.probeSent:
		bad("probe %s = %d after recovery; it was %d at the start and %d was the last value sent", l.probe, probe, run.probeStart, run.probeSent)
	case run.clean && probe != run.probeSent:
		bad("probe %s = %d after a clean shutdown; the last SET (acknowledged) was %d", l.probe, probe, run.probeSent)
	}

	// LSNs: the log holds at least what WAITAOF confirmed, and one record
	// per recovered write since the run began.
	if li.lastLSN < run.probeLSNBound {
		bad("data loaded: last_lsn=%d, but WAITAOF had confirmed LSN %d durable", li.lastLSN, run.probeLSNBound)
	}
	recovered := uint64(max(0, probe-run.probeStart))
	for ci := range l.clients {
		if len(res[ci].ok) == 0 {
			continue
		}
		for _, op := range run.ops[ci][:slices.Min(res[ci].ok)] {
			if op.eff == effYes {
				recovered++
			}
		}
	}
	if recovered > 0 && li.lastLSN < run.lsnStart+recovered {
		bad("data loaded: last_lsn=%d, but the run began at aof_last_lsn=%d and at least %d of its writes were recovered", li.lastLSN, run.lsnStart, recovered)
	}
	if run.clean && li.lastLSN < run.lsnEnd {
		bad("data loaded after a clean shutdown: last_lsn=%d; aof_last_lsn was %d before the shutdown", li.lastLSN, run.lsnEnd)
	}
	return probs
}

// replayModel returns the states after each prefix of ops, calling at(k,
// st, changed) for k = 0..len(ops); changed lists the keys op k-1 touched.
func replayModel(init map[string]keyState, ops []*crashOp, exitMs int64, at func(k int, st map[string]keyState, changed []string)) {
	st := map[string]keyState{}
	for k, s := range init {
		st[k] = s
	}
	at(0, st, nil)
	for i, op := range ops {
		hi := exitMs
		if op.acked {
			hi = op.ackMs
		}
		op.mutate(st, op.sendMs, hi)
		at(i+1, st, op.keys)
	}
}

// candidates returns every k such that the state after ops[:k] matches
// what was read back, on all the client's keys.
func candidates(init map[string]keyState, ops []*crashOp, keys []string, obs *observation, exitMs int64) []int {
	var out []int
	mismatch := map[string]bool{}
	replayModel(init, ops, exitMs, func(k int, st map[string]keyState, changed []string) {
		if k == 0 {
			changed = keys
		}
		for _, key := range changed {
			if obs.matches(key, st[key]) {
				delete(mismatch, key)
			} else {
				mismatch[key] = true
			}
		}
		if len(mismatch) == 0 {
			out = append(out, k)
		}
	})
	return out
}

// closestPrefix returns the prefix whose state differs from obs in the
// fewest keys (the latest of those), and the differences.
func closestPrefix(init map[string]keyState, ops []*crashOp, keys []string, obs *observation, exitMs int64) (int, []string) {
	best, bestN := 0, len(keys)+1
	replayModel(init, ops, exitMs, func(k int, st map[string]keyState, _ []string) {
		n := 0
		for _, key := range keys {
			if !obs.matches(key, st[key]) {
				n++
			}
		}
		if n <= bestN {
			best, bestN = k, n
		}
	})
	return closestPrefixAt(init, ops, keys, obs, exitMs, best)
}

// closestPrefixAt describes how the state after ops[:want] differs from obs.
func closestPrefixAt(init map[string]keyState, ops []*crashOp, keys []string, obs *observation, exitMs int64, want int) (int, []string) {
	var diffs []string
	replayModel(init, ops, exitMs, func(k int, st map[string]keyState, _ []string) {
		if k != want {
			return
		}
		for _, key := range keys {
			if !obs.matches(key, st[key]) {
				diffs = append(diffs, fmt.Sprintf("%s: model %s, recovered %s", key, st[key], obs.keys[key]))
			}
		}
	})
	return want, diffs
}

// opContext lists the commands around index k, for a failure message.
func opContext(ops []*crashOp, k int, run *crashRun) string {
	var b strings.Builder
	b.WriteString("\n    commands around there (relative to the kill):")
	for i := max(0, k-4); i < min(len(ops), k+4); i++ {
		op := ops[i]
		state := "in flight"
		if op.acked {
			state = fmt.Sprintf("acknowledged %v before", run.killMono.Sub(op.ackMono).Round(time.Microsecond))
		}
		fmt.Fprintf(&b, "\n      #%d %s: sent %v before, %s", i, op, run.killMono.Sub(op.sendMono).Round(time.Microsecond), state)
	}
	return b.String()
}

// ---- small RESP helpers ----

func dialCrash(t *testing.T, p *proc) *resptest.Client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", p.addr(), crashIOTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", p.addr(), err)
	}
	cl := resptest.NewClient(nc)
	cl.Timeout = crashIOTimeout
	return cl
}

func parseInfo(raw []byte) map[string]string {
	rep, err := resptest.Parse(raw)
	out := map[string]string{}
	if err != nil || rep.Kind != resptest.Bulk {
		return out
	}
	for _, line := range strings.Split(string(rep.Str), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}

func infoPersistence(t *testing.T, cl *resptest.Client) map[string]string {
	t.Helper()
	raw, err := cl.Do("INFO", "persistence")
	if err != nil {
		t.Fatalf("INFO persistence: %v", err)
	}
	return parseInfo(raw)
}

func infoUint(t *testing.T, info map[string]string, field string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(info[field], 10, 64)
	if err != nil {
		t.Fatalf("INFO persistence: %s=%q: %v", field, info[field], err)
	}
	return v
}

// observe reads every key back: GET, then PEXPIRETIME.
func observe(t *testing.T, cl *resptest.Client, keys []string) observation {
	t.Helper()
	sort.Strings(keys)
	var args []string
	for _, k := range keys {
		args = append(args, "GET", k, "PEXPIRETIME", k)
	}
	obs := observation{keys: map[string]observed{}}
	obs.readLo = time.Now().UnixMilli()
	replies, err := doPairs(cl, args)
	obs.readHi = time.Now().UnixMilli()
	if err != nil {
		t.Fatalf("reading the keys back: %v", err)
	}
	for i, k := range keys {
		get, pexp := replies[2*i], replies[2*i+1]
		if get.Kind != resptest.Bulk || pexp.Kind != resptest.Integer {
			t.Fatalf("GET/PEXPIRETIME %s = %q, %q", k, get.Encode(), pexp.Encode())
		}
		obs.keys[k] = observed{present: !get.Nil, val: string(get.Str), pexp: pexp.Int}
	}
	return obs
}

// doPairs sends (name, key) commands one after the other and returns
// their replies. Nothing else writes the keys meanwhile (but expiry).
func doPairs(cl *resptest.Client, pairs []string) ([]resptest.Reply, error) {
	var out []resptest.Reply
	for i := 0; i+1 < len(pairs); i += 2 {
		raw, err := cl.Do(pairs[i], pairs[i+1])
		if err != nil {
			return nil, err
		}
		rep, err := resptest.Parse(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, rep)
	}
	return out, nil
}

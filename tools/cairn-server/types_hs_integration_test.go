package main

// Recovery of hashes and sets: the real cairn-server binary with its log on
// runs a concurrent workload over hashes and sets (each client owns its
// keys and keeps a model of them from the replies it got), is killed with
// SIGKILL at a random moment, and restarts on the same directory. The
// whole recovered keyspace must then equal every client's model, except
// that a client's one command in flight at the kill may or may not have
// happened. The encodings (OBJECT ENCODING) must come back too.
//
//	go test ./tools/cairn-server -run TestTypesHSRecovery -count=1 -v
//	CAIRN_HS_CYCLES=50 ... for a longer run; CAIRN_HS_SEED=n replays the choices.

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-db/cairn/internal/resptest"
)

// hsModel is one client's keys: hashes (field -> value) and sets (member
// -> true). An empty collection is a missing key.
type hsModel struct {
	hashes map[string]map[string]string
	sets   map[string]map[string]bool
}

func (m *hsModel) clone() *hsModel {
	c := &hsModel{hashes: map[string]map[string]string{}, sets: map[string]map[string]bool{}}
	for k, h := range m.hashes {
		c.hashes[k] = maps.Clone(h)
	}
	for k, s := range m.sets {
		c.sets[k] = maps.Clone(s)
	}
	return c
}

func (m *hsModel) tidy() {
	for k, h := range m.hashes {
		if len(h) == 0 {
			delete(m.hashes, k)
		}
	}
	for k, s := range m.sets {
		if len(s) == 0 {
			delete(m.sets, k)
		}
	}
}

func (m *hsModel) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m.hashes)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m.hashes[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(m.sets)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, slices.Sorted(maps.Keys(m.sets[k]))))
	}
	return strings.Join(parts, " ")
}

// hsOp is one command and how it changes a model: apply gets the reply
// (nil when the command is in flight at the kill: then, for SPOP, the
// popped members are unknown and check decides instead).
type hsOp struct {
	args  []string
	apply func(m *hsModel, rep *resptest.Reply)
	// popped: SPOP key count, for the in-flight check.
	spopKey   string
	spopCount int
}

type hsClient struct {
	id       int
	hashKeys []string
	setKeys  []string
	model    *hsModel
	inflight *hsOp
}

func hsMember(rng *rand.Rand) string {
	if rng.IntN(3) == 0 {
		return "m" + strconv.Itoa(rng.IntN(30))
	}
	return strconv.Itoa(rng.IntN(700))
}

func (c *hsClient) nextOp(rng *rand.Rand) *hsOp {
	h := c.hashKeys[rng.IntN(len(c.hashKeys))]
	s := c.setKeys[rng.IntN(len(c.setKeys))]
	s2 := c.setKeys[rng.IntN(len(c.setKeys))]
	switch rng.IntN(12) {
	case 0, 1:
		n := 1 + rng.IntN(3)
		if rng.IntN(20) == 0 {
			n = 140 // leaves the listpack encoding
		}
		args := []string{"HSET", h}
		for i := 0; i < n; i++ {
			v := strconv.Itoa(rng.IntN(1000))
			if rng.IntN(30) == 0 {
				v = strings.Repeat("v", 70)
			}
			args = append(args, "f"+strconv.Itoa(rng.IntN(max(n, 12))), v)
		}
		return &hsOp{args: args, apply: func(m *hsModel, _ *resptest.Reply) {
			if m.hashes[h] == nil {
				m.hashes[h] = map[string]string{}
			}
			for i := 2; i < len(args); i += 2 {
				m.hashes[h][args[i]] = args[i+1]
			}
		}}
	case 2:
		f := "f" + strconv.Itoa(rng.IntN(12))
		return &hsOp{args: []string{"HDEL", h, f, "f1"}, apply: func(m *hsModel, _ *resptest.Reply) {
			delete(m.hashes[h], f)
			delete(m.hashes[h], "f1")
			m.tidy()
		}}
	case 3:
		return &hsOp{args: []string{"HINCRBY", h, "n", "3"}, apply: func(m *hsModel, _ *resptest.Reply) {
			if m.hashes[h] == nil {
				m.hashes[h] = map[string]string{}
			}
			v, _ := strconv.ParseInt(m.hashes[h]["n"], 10, 64)
			m.hashes[h]["n"] = strconv.FormatInt(v+3, 10)
		}}
	case 4:
		return &hsOp{args: []string{"HINCRBYFLOAT", h, "x", "1.5"}, apply: func(m *hsModel, _ *resptest.Reply) {
			if m.hashes[h] == nil {
				m.hashes[h] = map[string]string{}
			}
			v, _ := strconv.ParseFloat(m.hashes[h]["x"], 64)
			m.hashes[h]["x"] = strconv.FormatFloat(v+1.5, 'f', -1, 64)
		}}
	case 5, 6:
		n := 1 + rng.IntN(3)
		if rng.IntN(20) == 0 {
			n = 600 // leaves the intset encoding
		}
		args := []string{"SADD", s}
		for i := 0; i < n; i++ {
			args = append(args, hsMember(rng))
		}
		return &hsOp{args: args, apply: func(m *hsModel, _ *resptest.Reply) {
			if m.sets[s] == nil {
				m.sets[s] = map[string]bool{}
			}
			for _, x := range args[2:] {
				m.sets[s][x] = true
			}
		}}
	case 7:
		args := []string{"SREM", s, hsMember(rng), hsMember(rng)}
		return &hsOp{args: args, apply: func(m *hsModel, _ *resptest.Reply) {
			for _, x := range args[2:] {
				delete(m.sets[s], x)
			}
			m.tidy()
		}}
	case 8:
		x := hsMember(rng)
		return &hsOp{args: []string{"SMOVE", s, s2, x}, apply: func(m *hsModel, _ *resptest.Reply) {
			if !m.sets[s][x] || s == s2 {
				return
			}
			delete(m.sets[s], x)
			if m.sets[s2] == nil {
				m.sets[s2] = map[string]bool{}
			}
			m.sets[s2][x] = true
			m.tidy()
		}}
	case 9:
		name := []string{"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"}[rng.IntN(3)]
		a, b := c.setKeys[rng.IntN(len(c.setKeys))], c.setKeys[rng.IntN(len(c.setKeys))]
		return &hsOp{args: []string{name, s, a, b}, apply: func(m *hsModel, _ *resptest.Reply) {
			res := map[string]bool{}
			switch name {
			case "SINTERSTORE":
				for x := range m.sets[a] {
					if m.sets[b][x] {
						res[x] = true
					}
				}
			case "SUNIONSTORE":
				maps.Copy(res, m.sets[a])
				maps.Copy(res, m.sets[b])
			default:
				for x := range m.sets[a] {
					if !m.sets[b][x] {
						res[x] = true
					}
				}
			}
			m.sets[s] = res
			m.tidy()
		}}
	case 10:
		count := 1 + rng.IntN(300)
		return &hsOp{args: []string{"SPOP", s, strconv.Itoa(count)}, spopKey: s, spopCount: count,
			apply: func(m *hsModel, rep *resptest.Reply) {
				for _, e := range rep.Elems {
					delete(m.sets[s], string(e.Str))
				}
				m.tidy()
			}}
	default:
		k := h
		if rng.IntN(2) == 0 {
			k = s
		}
		return &hsOp{args: []string{"DEL", k}, apply: func(m *hsModel, _ *resptest.Reply) {
			delete(m.hashes, k)
			delete(m.sets, k)
		}}
	}
}

// observeHS reads a client's keys from the server into a model, with each
// key's encoding.
func observeHS(t *testing.T, cl *resptest.Client, c *hsClient) (*hsModel, map[string]string) {
	t.Helper()
	m := &hsModel{hashes: map[string]map[string]string{}, sets: map[string]map[string]bool{}}
	enc := map[string]string{}
	do := func(args ...string) resptest.Reply {
		raw, err := cl.Do(args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		rep, err := resptest.Parse(raw)
		if err != nil || rep.Kind == resptest.Error {
			t.Fatalf("%v: %q %v", args, raw, err)
		}
		return rep
	}
	for _, k := range c.hashKeys {
		rep := do("HGETALL", k)
		if len(rep.Elems) > 0 {
			m.hashes[k] = map[string]string{}
			for i := 0; i+1 < len(rep.Elems); i += 2 {
				m.hashes[k][string(rep.Elems[i].Str)] = string(rep.Elems[i+1].Str)
			}
			enc[k] = string(do("OBJECT", "ENCODING", k).Str)
		}
	}
	for _, k := range c.setKeys {
		rep := do("SMEMBERS", k)
		if len(rep.Elems) > 0 {
			m.sets[k] = map[string]bool{}
			for _, e := range rep.Elems {
				m.sets[k][string(e.Str)] = true
			}
			enc[k] = string(do("OBJECT", "ENCODING", k).Str)
		}
	}
	return m, enc
}

// spopOK reports whether got is what the in-flight SPOP could have
// left: want with count (or all) members of the key removed.
func spopOK(want, got *hsModel, op *hsOp) bool {
	before := want.sets[op.spopKey]
	after := got.sets[op.spopKey]
	w, g := want.clone(), got.clone()
	delete(w.sets, op.spopKey)
	delete(g.sets, op.spopKey)
	if w.String() != g.String() {
		return false
	}
	for x := range after {
		if !before[x] {
			return false
		}
	}
	return len(before)-len(after) == min(op.spopCount, len(before))
}

func hsEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func TestTypesHSRecovery(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("CAIRN_HS_SEED"), 10, 64); err == nil {
		seed = v
	}
	cycles := hsEnvInt("CAIRN_HS_CYCLES", 6)
	t.Logf("seed %d, %d kill cycles (replay with CAIRN_HS_SEED=%d)", seed, cycles, seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	const nClients = 3
	clients := make([]*hsClient, nClients)
	for i := range clients {
		c := &hsClient{id: i, model: (&hsModel{}).clone()}
		for j := 0; j < 3; j++ {
			c.hashKeys = append(c.hashKeys, fmt.Sprintf("c%d:h%d", i, j))
			c.setKeys = append(c.setKeys, fmt.Sprintf("c%d:s%d", i, j))
		}
		clients[i] = c
	}
	mode := []string{"always", "everysec", "no"}
	var p *proc
	start := func(cycle int) {
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			port := freePort(t)
			p = spawn(t, port, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
				"--appendonly", "yes", "--appendfsync", mode[cycle%3])
			if err = p.waitReady(); err == nil || !strings.Contains(p.log(), "address already in use") {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(p.log(), "level=ERROR") {
			t.Fatalf("restart logged an error:\n%s", p.log())
		}
	}
	totalOps := 0
	for cycle := 0; cycle <= cycles; cycle++ {
		start(cycle)
		// Verify: the whole keyspace is the clients' models, give or take
		// each one's command in flight; encodings as before the kill.
		cl, err := resptest.Dial(p.addr())
		if err != nil {
			t.Fatal(err)
		}
		cl.Timeout = 10 * time.Second
		wantKeys := 0
		for _, c := range clients {
			got, enc := observeHS(t, cl, c)
			want := c.model
			ok := got.String() == want.String()
			if !ok && c.inflight != nil {
				if c.inflight.spopKey != "" {
					ok = spopOK(want, got, c.inflight)
				} else {
					after := want.clone()
					c.inflight.apply(after, nil)
					after.tidy()
					ok = got.String() == after.String()
				}
				if ok {
					// The in-flight command happened: adopt what came back.
					c.model = got
				}
			}
			if !ok {
				t.Fatalf("cycle %d (seed %d), client %d: recovered\n  %s\nwant\n  %s\n(in flight: %v)",
					cycle, seed, c.id, got, want, c.inflight)
			}
			c.inflight = nil
			// Encodings: what the content requires (a compact encoding
			// may not come back for content that needs a hashtable).
			for k, h := range got.hashes {
				big := len(h) > 128
				for f, v := range h {
					big = big || len(f) > 64 || len(v) > 64
				}
				if big && enc[k] != "hashtable" {
					t.Errorf("cycle %d: %s (%d fields) came back %s", cycle, k, len(h), enc[k])
				}
			}
			for k, set := range got.sets {
				big := len(set) > 512
				for m := range set {
					if _, err := strconv.ParseInt(m, 10, 64); err != nil {
						big = true
					}
				}
				if big != (enc[k] == "hashtable") && big {
					t.Errorf("cycle %d: %s (%d members) came back %s", cycle, k, len(set), enc[k])
				}
			}
			wantKeys += len(c.model.hashes) + len(c.model.sets)
		}
		dbsize, _ := cl.Do("DBSIZE")
		if string(dbsize) != ":"+strconv.Itoa(wantKeys)+"\r\n" {
			t.Fatalf("cycle %d: DBSIZE %q, want %d keys", cycle, dbsize, wantKeys)
		}
		cl.Close()
		if cycle == cycles {
			break
		}
		// Run the workload, then kill at a random moment.
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var mu sync.Mutex
		var failure string
		for _, c := range clients {
			crng := rand.New(rand.NewPCG(rng.Uint64(), uint64(c.id)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := resptest.Dial(p.addr())
				if err != nil {
					return
				}
				defer conn.Close()
				conn.Timeout = 10 * time.Second
				for {
					select {
					case <-stop:
						return
					default:
					}
					op := c.nextOp(crng)
					c.inflight = op
					raw, err := conn.Do(op.args...)
					if err != nil {
						return // killed: op stays in flight
					}
					rep, perr := resptest.Parse(raw)
					if perr != nil || rep.Kind == resptest.Error {
						mu.Lock()
						failure = fmt.Sprintf("%v: %q", op.args, raw)
						mu.Unlock()
						return
					}
					op.apply(c.model, &rep)
					c.model.tidy()
					c.inflight = nil
					mu.Lock()
					totalOps++
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond) // the random kill moment
		if cycle%4 == 3 {
			// Now and then a clean stop instead: nothing may be in flight.
			close(stop)
			wg.Wait()
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			if code := p.waitExit(t); code != 0 {
				t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.log())
			}
		} else {
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.waitExit(t)
			close(stop)
			wg.Wait()
		}
		if failure != "" {
			t.Fatalf("cycle %d: unexpected reply %s", cycle, failure)
		}
	}
	if totalOps == 0 {
		t.Fatal("no command was acknowledged")
	}
	t.Logf("%d acknowledged commands over %d cycles", totalOps, cycles)
}

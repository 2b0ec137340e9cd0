package main

// Recovery of lists and sorted sets: the real cairn-server, with the log on,
// runs a concurrent workload of list and sorted-set writes (pushes, pops,
// LSET, LINSERT, LREM, LTRIM, LMOVE, BLMOVE, ZADD, ZINCRBY, ZREM, ZPOPMIN,
// ZREMRANGEBYRANK, ZUNIONSTORE, BZPOPMIN), is killed with SIGKILL, and
// restarts on the same directory; every key must then hold what a model of
// the acknowledged writes says, or, for the one write each client had in
// flight, the state just after it. Each client owns its keys, so its model
// is exact. After the kill cycles, a clean shutdown must lose nothing.
//
//	go test ./tools/cairn-server -run TestTypesLZRecovery -count=1 -v
//	CAIRN_LZ_CYCLES=30 ... for more kill cycles per fsync mode

import (
	"fmt"
	"math/rand/v2"
	"os"
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
	lzClients       = 4
	lzKeysPerClient = 3
)

// lzState is a client's keys: lists and sorted sets.
type lzState struct {
	lists map[string][]string
	zsets map[string]map[string]float64
}

func newLZState() *lzState {
	return &lzState{lists: map[string][]string{}, zsets: map[string]map[string]float64{}}
}

func (s *lzState) clone() *lzState {
	c := newLZState()
	for k, v := range s.lists {
		c.lists[k] = slices.Clone(v)
	}
	for k, z := range s.zsets {
		m := make(map[string]float64, len(z))
		for mem, sc := range z {
			m[mem] = sc
		}
		c.zsets[k] = m
	}
	return c
}

// String is a canonical form, comparable with what the server shows.
func (s *lzState) String() string {
	var parts []string
	for k, v := range s.lists {
		if len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%s=list%q", k, v))
		}
	}
	for k, z := range s.zsets {
		if len(z) > 0 {
			parts = append(parts, fmt.Sprintf("%s=zset%s", k, zsetString(z)))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func zsetString(z map[string]float64) string {
	items := zsetItems(z)
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "[%s %s]", it.m, strconv.FormatFloat(it.s, 'g', -1, 64))
	}
	return b.String()
}

type lzItem struct {
	m string
	s float64
}

func zsetItems(z map[string]float64) []lzItem {
	items := make([]lzItem, 0, len(z))
	for m, s := range z {
		items = append(items, lzItem{m, s})
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].s != items[j].s {
			return items[i].s < items[j].s
		}
		return items[i].m < items[j].m
	})
	return items
}

// lzOp is a command and its effect on the model.
type lzOp struct {
	args  []string
	apply func(s *lzState)
}

func lzListKey(c, j int) string { return fmt.Sprintf("lz:%d:l%d", c, j) }
func lzZKey(c, j int) string    { return fmt.Sprintf("lz:%d:z%d", c, j) }

// nextLZOp picks a write valid for the state s of client c.
func nextLZOp(rng *rand.Rand, c int, s *lzState) lzOp {
	lk := lzListKey(c, rng.IntN(lzKeysPerClient))
	lk2 := lzListKey(c, rng.IntN(lzKeysPerClient))
	zk := lzZKey(c, rng.IntN(lzKeysPerClient))
	zk2 := lzZKey(c, rng.IntN(lzKeysPerClient))
	elem := func() string {
		if rng.IntN(30) == 0 {
			return strings.Repeat("big", 1000+rng.IntN(2000))
		}
		return fmt.Sprint("e", rng.IntN(20))
	}
	l := s.lists[lk]
	switch rng.IntN(16) {
	case 0, 1:
		vals := make([]string, 1+rng.IntN(30))
		for i := range vals {
			vals[i] = elem()
		}
		head := rng.IntN(2) == 0
		cmd := "RPUSH"
		if head {
			cmd = "LPUSH"
		}
		return lzOp{append([]string{cmd, lk}, vals...), func(s *lzState) {
			for _, v := range vals {
				if head {
					s.lists[lk] = append([]string{v}, s.lists[lk]...)
				} else {
					s.lists[lk] = append(s.lists[lk], v)
				}
			}
		}}
	case 2:
		n := rng.IntN(4)
		head := rng.IntN(2) == 0
		cmd := "RPOP"
		if head {
			cmd = "LPOP"
		}
		return lzOp{[]string{cmd, lk, strconv.Itoa(n)}, func(s *lzState) {
			k := min(n, len(s.lists[lk]))
			if head {
				s.lists[lk] = s.lists[lk][k:]
			} else {
				s.lists[lk] = s.lists[lk][:len(s.lists[lk])-k]
			}
		}}
	case 3:
		if len(l) == 0 {
			break
		}
		i, v := rng.IntN(len(l)), elem()
		return lzOp{[]string{"LSET", lk, strconv.Itoa(i), v}, func(s *lzState) { s.lists[lk][i] = v }}
	case 4:
		pivot, v := elem(), elem()
		return lzOp{[]string{"LINSERT", lk, "BEFORE", pivot, v}, func(s *lzState) {
			if i := slices.Index(s.lists[lk], pivot); i >= 0 {
				s.lists[lk] = slices.Insert(s.lists[lk], i, v)
			}
		}}
	case 5:
		v := elem()
		return lzOp{[]string{"LREM", lk, "0", v}, func(s *lzState) {
			s.lists[lk] = slices.DeleteFunc(s.lists[lk], func(x string) bool { return x == v })
		}}
	case 6:
		a, b := rng.IntN(5), rng.IntN(40)
		return lzOp{[]string{"LTRIM", lk, strconv.Itoa(a), strconv.Itoa(-1 - b)}, func(s *lzState) {
			cur := s.lists[lk]
			end := len(cur) - b // exclusive
			if a >= end {
				s.lists[lk] = nil
			} else {
				s.lists[lk] = slices.Clone(cur[a:end])
			}
		}}
	case 7:
		cmd := []string{"LMOVE", lk, lk2, "LEFT", "RIGHT"}
		if rng.IntN(2) == 0 {
			cmd = []string{"BLMOVE", lk, lk2, "LEFT", "RIGHT", "0.01"}
		}
		return lzOp{cmd, func(s *lzState) {
			if len(s.lists[lk]) > 0 {
				v := s.lists[lk][0]
				s.lists[lk] = s.lists[lk][1:]
				s.lists[lk2] = append(s.lists[lk2], v)
			}
		}}
	case 8, 9:
		n := 1 + rng.IntN(20)
		args := []string{"ZADD", zk}
		type pair struct {
			m string
			s float64
		}
		var pairs []pair
		for i := 0; i < n; i++ {
			sc := float64(rng.IntN(40)) / 2
			m := fmt.Sprint("m", rng.IntN(200))
			if rng.IntN(40) == 0 {
				m = strings.Repeat("M", 70)
			}
			args = append(args, strconv.FormatFloat(sc, 'g', -1, 64), m)
			pairs = append(pairs, pair{m, sc})
		}
		return lzOp{args, func(s *lzState) {
			if s.zsets[zk] == nil {
				s.zsets[zk] = map[string]float64{}
			}
			for _, p := range pairs {
				s.zsets[zk][p.m] = p.s
			}
		}}
	case 10:
		m, by := fmt.Sprint("m", rng.IntN(200)), float64(rng.IntN(9)-4)/2
		return lzOp{[]string{"ZINCRBY", zk, strconv.FormatFloat(by, 'g', -1, 64), m}, func(s *lzState) {
			if s.zsets[zk] == nil {
				s.zsets[zk] = map[string]float64{}
			}
			s.zsets[zk][m] += by
		}}
	case 11:
		m := fmt.Sprint("m", rng.IntN(200))
		return lzOp{[]string{"ZREM", zk, m}, func(s *lzState) { delete(s.zsets[zk], m) }}
	case 12:
		n := rng.IntN(5)
		cmd := []string{"ZPOPMIN", zk, strconv.Itoa(n)}
		if n == 1 && rng.IntN(2) == 0 {
			cmd = []string{"BZPOPMIN", zk, "0.01"}
		}
		return lzOp{cmd, func(s *lzState) {
			for _, it := range zsetItems(s.zsets[zk])[:min(n, len(s.zsets[zk]))] {
				delete(s.zsets[zk], it.m)
			}
		}}
	case 13:
		a, b := rng.IntN(10), rng.IntN(10)
		return lzOp{[]string{"ZREMRANGEBYRANK", zk, strconv.Itoa(a), strconv.Itoa(a + b)}, func(s *lzState) {
			items := zsetItems(s.zsets[zk])
			for i := a; i <= a+b && i < len(items); i++ {
				delete(s.zsets[zk], items[i].m)
			}
		}}
	case 14:
		return lzOp{[]string{"ZUNIONSTORE", zk2, "2", zk, zk2}, func(s *lzState) {
			out := map[string]float64{}
			for m, sc := range s.zsets[zk] {
				out[m] += sc
			}
			for m, sc := range s.zsets[zk2] {
				out[m] += sc
			}
			if zk == zk2 { // the same set twice: each score counted twice
				out = map[string]float64{}
				for m, sc := range s.zsets[zk] {
					out[m] = 2 * sc
				}
			}
			s.zsets[zk2] = out
		}}
	}
	return lzOp{[]string{"RPUSH", lk, "x"}, func(s *lzState) { s.lists[lk] = append(s.lists[lk], "x") }}
}

// lzObserve reads client c's keys from the server.
func lzObserve(t *testing.T, cl *resptest.Client, c int) *lzState {
	t.Helper()
	s := newLZState()
	for j := 0; j < lzKeysPerClient; j++ {
		raw, err := cl.Do("LRANGE", lzListKey(c, j), "0", "-1")
		rep, perr := resptest.Parse(raw)
		if err != nil || perr != nil || rep.Kind != resptest.Array {
			t.Fatalf("LRANGE %s: %q %v %v", lzListKey(c, j), raw, err, perr)
		}
		for _, e := range rep.Elems {
			s.lists[lzListKey(c, j)] = append(s.lists[lzListKey(c, j)], string(e.Str))
		}
		raw, err = cl.Do("ZRANGE", lzZKey(c, j), "0", "-1", "WITHSCORES")
		rep, perr = resptest.Parse(raw)
		if err != nil || perr != nil || rep.Kind != resptest.Array {
			t.Fatalf("ZRANGE %s: %q %v %v", lzZKey(c, j), raw, err, perr)
		}
		for i := 0; i+1 < len(rep.Elems); i += 2 {
			if s.zsets[lzZKey(c, j)] == nil {
				s.zsets[lzZKey(c, j)] = map[string]float64{}
			}
			sc, err := strconv.ParseFloat(string(rep.Elems[i+1].Str), 64)
			if err != nil {
				t.Fatalf("score %q: %v", rep.Elems[i+1].Str, err)
			}
			s.zsets[lzZKey(c, j)][string(rep.Elems[i].Str)] = sc
		}
	}
	return s
}

// lzClient is one workload client: its acknowledged state and the write in
// flight.
type lzClient struct {
	id       int
	acked    *lzState
	inflight *lzOp
	ops      int
	err      string
}

func (lc *lzClient) run(addr string, rng *rand.Rand, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	cl, err := resptest.Dial(addr)
	if err != nil {
		lc.err = err.Error()
		return
	}
	defer cl.Close()
	cl.Timeout = 10 * time.Second
	for {
		select {
		case <-stop:
			return
		default:
		}
		op := nextLZOp(rng, lc.id, lc.acked)
		lc.inflight = &op
		raw, err := cl.Do(op.args...)
		if err != nil {
			return // killed: op stays in flight
		}
		if len(raw) > 0 && raw[0] == '-' {
			lc.err = fmt.Sprintf("%s: %q", resptest.Quote(op.args), raw)
			return
		}
		op.apply(lc.acked)
		lc.inflight = nil
		lc.ops++
	}
}

// TestTypesLZRecovery is the suite described at the top of this file.
func TestTypesLZRecovery(t *testing.T) {
	cycles := 4
	if s := os.Getenv("CAIRN_LZ_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CAIRN_LZ_CYCLES=%q", s)
		}
		cycles = n
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CAIRN_LZ_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (replay the choices with CAIRN_LZ_SEED=%d)", seed, seed)
	for mi, mode := range []string{"always", "everysec", "no"} {
		t.Run(mode, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(mi)))
			dir := t.TempDir()
			clients := make([]*lzClient, lzClients)
			for i := range clients {
				clients[i] = &lzClient{id: i, acked: newLZState()}
			}
			start := func() *proc {
				port := freePort(t)
				p := spawn(t, port, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
					"--appendonly", "yes", "--appendfsync", mode)
				if err := p.waitReady(); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(p.log(), "level=ERROR") {
					t.Fatalf("restart logged an error:\n%s", p.log())
				}
				return p
			}
			p := start()
			total := 0
			for cycle := 0; cycle <= cycles; cycle++ {
				stop := make(chan struct{})
				var wg sync.WaitGroup
				for _, lc := range clients {
					wg.Add(1)
					go lc.run(p.addr(), rand.New(rand.NewPCG(rng.Uint64(), uint64(lc.id))), stop, &wg)
				}
				time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond) // the random moment of the kill
				clean := cycle == cycles
				if clean {
					close(stop)
					wg.Wait()
					if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
						t.Fatal(err)
					}
				} else {
					if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
				}
				p.waitExit(t)
				if !clean {
					close(stop)
					wg.Wait()
				}
				for _, lc := range clients {
					if lc.err != "" {
						t.Fatalf("client %d: %s", lc.id, lc.err)
					}
					total += lc.ops
					lc.ops = 0
				}
				p = start()
				cl, err := resptest.Dial(p.addr())
				if err != nil {
					t.Fatal(err)
				}
				cl.Timeout = 10 * time.Second
				for _, lc := range clients {
					got := lzObserve(t, cl, lc.id)
					want := lc.acked.String()
					switch {
					case got.String() == want:
					case lc.inflight != nil && !clean:
						after := lc.acked.clone()
						lc.inflight.apply(after)
						if got.String() != after.String() {
							t.Fatalf("cycle %d client %d: recovered\n  %s\nwant the acknowledged state\n  %s\nor, with %s in flight,\n  %s",
								cycle, lc.id, got, want, resptest.Quote(lc.inflight.args), after)
						}
					default:
						t.Fatalf("cycle %d client %d (clean=%v): recovered\n  %s\nwant\n  %s", cycle, lc.id, clean, got, want)
					}
					lc.acked, lc.inflight = got, nil
				}
				cl.Close()
			}
			p.cmd.Process.Signal(syscall.SIGTERM)
			p.waitExit(t)
			t.Logf("%s: %d kill cycles and a clean shutdown, %d acknowledged writes", mode, cycles, total)
		})
	}
}

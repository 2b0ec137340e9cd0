package main

// A crash during a stream of MULTI/EXEC blocks never leaves half of one:
// clients run blocks that write one token to every key they own (in two
// databases) and increment a counter; the real binary is SIGKILLed at a
// random moment and restarted on its directory. After each restart, every
// client's keys all hold the same token, its counter equals that token, and
// the token is at least the last block whose EXEC reply the client had
// received (a process crash loses no acknowledged write) and at most the
// last it sent.
//
//	go test ./tools/cairn-server -run TestMultiExecCrash -count=1 -v
//
// CAIRN_CRASH_SEED=<seed> replays the kill moments and value sizes.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-db/cairn/internal/resptest"
)

const (
	multiCrashClients = 4
	multiCrashKeys    = 5 // per client, in db 0; and one in db 1
)

func TestMultiExecCrash(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CAIRN_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CAIRN_CRASH_SEED=%q", s)
		}
		seed = n
	}
	t.Logf("seed %d (CAIRN_CRASH_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	acked := make([]int64, multiCrashClients) // last token acknowledged, per client
	sent := make([]int64, multiCrashClients)  // last token sent
	blocks := 0
	for cycle, mode := range []string{"everysec", "always", "no", "everysec", "no", "always"} {
		p := spawnMulti(t, dir, mode)
		verifyMultiCrash(t, p, acked, sent, cycle)

		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		for c := 0; c < multiCrashClients; c++ {
			wg.Add(1)
			crng := rand.New(rand.NewPCG(seed, uint64(cycle*100+c)))
			go func(c int) {
				defer wg.Done()
				n := runMultiClient(p.addr(), c, acked[c], crng, stop, func(sentTok, ackedTok int64) {
					mu.Lock()
					sent[c], acked[c] = max(sent[c], sentTok), max(acked[c], ackedTok)
					mu.Unlock()
				})
				mu.Lock()
				blocks += n
				mu.Unlock()
			}(c)
		}
		time.Sleep(time.Duration(150+rng.IntN(400)) * time.Millisecond) // the random moment of the kill
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-p.exited
		close(stop)
		wg.Wait()
	}
	p := spawnMulti(t, dir, "everysec")
	verifyMultiCrash(t, p, acked, sent, -1)
	t.Logf("%d blocks acknowledged over 6 kills", blocks)
	if blocks == 0 {
		t.Fatal("no block was acknowledged: the test tested nothing")
	}
}

func spawnMulti(t *testing.T, dir, mode string) *proc {
	t.Helper()
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		p := spawn(t, port, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
			"--appendonly", "yes", "--appendfsync", mode, "--save", "")
		err := p.waitReady()
		if err == nil {
			return p
		}
		if attempt == 2 || !strings.Contains(p.log(), "address already in use") {
			t.Fatal(err)
		}
	}
}

// runMultiClient runs blocks until the connection fails or stop; it reports
// each block's token when sent and when acknowledged. It returns how many
// blocks were acknowledged.
func runMultiClient(addr string, c int, last int64, rng *rand.Rand, stop <-chan struct{}, note func(sent, acked int64)) int {
	cl, err := resptest.Dial(addr)
	if err != nil {
		return 0
	}
	defer cl.Close()
	n := 0
	for tok := last + 1; ; tok++ {
		select {
		case <-stop:
			return n
		default:
		}
		val := strconv.FormatInt(tok, 10) + ":" + strings.Repeat("v", rng.IntN(4000))
		cmds := [][]string{{"MULTI"}}
		for k := 0; k < multiCrashKeys; k++ {
			cmds = append(cmds, []string{"SET", fmt.Sprintf("c%d:k%d", c, k), val})
		}
		cmds = append(cmds, []string{"INCR", fmt.Sprintf("c%d:n", c)}, []string{"SELECT", "1"},
			[]string{"SET", fmt.Sprintf("c%d:db1", c), val}, []string{"SELECT", "0"})
		note(tok, 0)
		var replies [][]byte
		for _, cmd := range cmds {
			r, err := cl.Do(cmd...)
			if err != nil {
				return n
			}
			replies = append(replies, r)
		}
		exec, err := cl.Do("EXEC")
		if err != nil {
			return n
		}
		for _, r := range replies {
			if !strings.HasPrefix(string(r), "+") {
				panic(fmt.Sprintf("client %d: unexpected reply %q", c, r))
			}
		}
		rep, err := resptest.Parse(exec)
		if err != nil || rep.Kind != resptest.Array || len(rep.Elems) != multiCrashKeys+4 ||
			rep.Elems[multiCrashKeys].Int != tok {
			panic(fmt.Sprintf("client %d: EXEC of block %d answered %q", c, tok, exec))
		}
		note(tok, tok)
		n++
	}
}

// verifyMultiCrash checks the recovered state against the clients' tokens.
func verifyMultiCrash(t *testing.T, p *proc, acked, sent []int64, cycle int) {
	t.Helper()
	if strings.Contains(p.log(), "level=ERROR") {
		t.Fatalf("restart %d logged an error:\n%s", cycle, p.log())
	}
	cl, err := resptest.Dial(p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for c := range acked {
		args := []string{"MGET"}
		for k := 0; k < multiCrashKeys; k++ {
			args = append(args, fmt.Sprintf("c%d:k%d", c, k))
		}
		args = append(args, fmt.Sprintf("c%d:n", c))
		raw, err := cl.Do(args...)
		if err != nil {
			t.Fatal(err)
		}
		rep, _ := resptest.Parse(raw)
		db1, err := cl.Do("SELECT", "1")
		if err != nil || string(db1) != "+OK\r\n" {
			t.Fatalf("SELECT 1: %q %v", db1, err)
		}
		raw1, _ := cl.Do("GET", fmt.Sprintf("c%d:db1", c))
		cl.Do("SELECT", "0")
		r1, _ := resptest.Parse(raw1)
		vals := append(rep.Elems[:multiCrashKeys:multiCrashKeys], r1)
		tokens := map[string]bool{}
		var tok int64
		for _, v := range vals {
			s := string(v.Str)
			if v.Nil {
				s = "0:"
			}
			head, _, _ := strings.Cut(s, ":")
			tokens[head] = true
			tok, _ = strconv.ParseInt(head, 10, 64)
		}
		var counter int64
		if e := rep.Elems[multiCrashKeys]; !e.Nil {
			counter, _ = strconv.ParseInt(string(e.Str), 10, 64)
		}
		switch {
		case len(tokens) != 1:
			t.Fatalf("restart %d: client %d's keys hold tokens %v: a block was recovered in part", cycle, c, tokens)
		case counter != tok:
			t.Fatalf("restart %d: client %d's counter is %d but its keys hold token %d: a block was recovered in part",
				cycle, c, counter, tok)
		case tok < acked[c]:
			t.Fatalf("restart %d: client %d's keys hold token %d, but block %d was acknowledged", cycle, c, tok, acked[c])
		case tok > sent[c]:
			t.Fatalf("restart %d: client %d's keys hold token %d, never sent (last %d)", cycle, c, tok, sent[c])
		}
		// What the next run counts from.
		acked[c], sent[c] = tok, tok
	}
}

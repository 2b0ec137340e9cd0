package server_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-db/cairn/internal/resptest"
)

// TestBlockingStress: consumers block in BLPOP, BRPOP, BLMOVE and BZPOPMIN
// while producers push concurrently (directly, through LMOVE, and ZADD):
// every element is delivered exactly once, none is lost to a missed
// wake-up, and no client stays counted as blocked.
func TestBlockingStress(t *testing.T) {
	addr := startTestServer(t, nil)
	const producers, consumers, perProducer = 4, 6, 300
	dial := func() *resptest.Client {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c := resptest.NewClient(nc)
		c.Timeout = 20 * time.Second
		return c
	}
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for i := 0; i < consumers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := dial()
			defer c.Close()
			for {
				var cmd []string
				switch i % 4 {
				case 0:
					cmd = []string{"BLPOP", "q1", "q2", "0"}
				case 1:
					cmd = []string{"BRPOP", "q2", "q1", "0"}
				case 2:
					cmd = []string{"BLMOVE", "q1", "done", "LEFT", "RIGHT", "0"}
				default:
					cmd = []string{"BZPOPMIN", "z", "0"}
				}
				raw, err := c.Do(cmd...)
				if err != nil {
					t.Errorf("consumer %d: %v", i, err)
					return
				}
				rep, err := resptest.Parse(raw)
				if err != nil {
					t.Errorf("consumer %d: %q", i, raw)
					return
				}
				var v string
				switch {
				case rep.Kind == resptest.Bulk:
					v = string(rep.Str)
				case rep.Kind == resptest.Array && len(rep.Elems) >= 2:
					v = string(rep.Elems[1].Str)
				default:
					t.Errorf("consumer %d: reply %q", i, raw)
					return
				}
				if strings.HasPrefix(v, "stop") {
					return
				}
				mu.Lock()
				got = append(got, v)
				mu.Unlock()
			}
		}(i)
	}
	var pwg sync.WaitGroup
	var want []string
	for p := 0; p < producers; p++ {
		for j := 0; j < perProducer; j++ {
			want = append(want, fmt.Sprintf("p%d-%d", p, j))
		}
		pwg.Add(1)
		go func(p int) {
			defer pwg.Done()
			c := dial()
			defer c.Close()
			rng := rand.New(rand.NewPCG(uint64(p), 9))
			for j := 0; j < perProducer; j++ {
				v := fmt.Sprintf("p%d-%d", p, j)
				var cmds [][]string
				switch rng.IntN(5) {
				case 0:
					cmds = [][]string{{"RPUSH", "q1", v}}
				case 1:
					cmds = [][]string{{"LPUSH", "q2", v}}
				case 2:
					stage := fmt.Sprint("stage", p)
					cmds = [][]string{{"RPUSH", stage, v}, {"LMOVE", stage, "q2", "LEFT", "RIGHT"}}
				default:
					cmds = [][]string{{"ZADD", "z", fmt.Sprint(j), v}}
				}
				for _, cmd := range cmds {
					if raw, err := c.Do(cmd...); err != nil || raw[0] == '-' {
						t.Errorf("producer %d: %v %q", p, err, raw)
						return
					}
				}
			}
		}(p)
	}
	pwg.Wait()
	// Let the consumers drain, then stop each with a sentinel on a key it
	// watches.
	c := dial()
	defer c.Close()
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	waitFor("every element delivered", func() bool { return count() == len(want) })
	blockedNow := func() string {
		raw, _ := c.Do("INFO", "clients")
		for _, line := range strings.Split(string(raw), "\r\n") {
			if strings.HasPrefix(line, "blocked_clients:") {
				return strings.TrimPrefix(line, "blocked_clients:")
			}
		}
		return "?"
	}
	waitFor("all consumers blocked", func() bool { return blockedNow() == fmt.Sprint(consumers) })
	for i := 0; i < consumers; i++ {
		key := []string{"RPUSH", "q1", fmt.Sprint("stop", i)}
		if i%4 == 3 {
			key = []string{"ZADD", "z", "-1", fmt.Sprint("stop", i)}
		}
		c.Do(key...)
	}
	wg.Wait()
	if b := blockedNow(); b != "0" {
		t.Errorf("blocked_clients = %s after every consumer returned", b)
	}
	// BLMOVE delivered into "done": each element there was also reported.
	raw, _ := c.Do("LRANGE", "done", "0", "-1")
	rep, _ := resptest.Parse(raw)
	inDone := map[string]bool{}
	for _, e := range rep.Elems {
		inDone[string(e.Str)] = true
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("delivered %d elements, produced %d (lost or duplicated)", len(got), len(want))
	}
	for v := range inDone {
		if !strings.HasPrefix(v, "stop") && sort.SearchStrings(got, v) == len(got) {
			t.Errorf("%q moved to done but never reported", v)
		}
	}
	for _, k := range []string{"q1", "q2", "z"} {
		if raw, _ := c.Do("EXISTS", k); string(raw) != ":0\r\n" {
			t.Errorf("%s left over: EXISTS %q", k, raw)
		}
	}
}

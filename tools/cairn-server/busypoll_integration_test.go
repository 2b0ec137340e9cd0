package main

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestBusyPoll: on one server thread, several clients one request at a
// time make the server poll its sockets before sleeping (INFO server's
// cairn_busy_poll_hits grows), every reply is still the right one, and
// CONFIG SET busy-poll-us 0 stops the polling.
func TestBusyPoll(t *testing.T) {
	t.Parallel()
	if runtime.NumCPU() < 2 {
		t.Skip("SKIP: one core: the server never busy-polls there")
	}
	p := startServer(t, "--server-threads", "1", "--appendonly", "no", "--save", "")
	ctx := testContext(t)
	admin := p.client(t, nil)
	if v := admin.ConfigGet(ctx, "busy-poll-us").Val()["busy-poll-us"]; v != "50" {
		t.Fatalf("CONFIG GET busy-poll-us: %q, want 50", v)
	}

	const clients = 8
	conns := make([]*redis.Client, clients)
	for i := range conns {
		conns[i] = p.client(t, &redis.Options{PoolSize: 1})
	}
	counts := make([]int64, clients)
	// load runs n INCRs on each client's own key, all clients at once,
	// and checks every reply.
	load := func(n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, clients)
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := "bp:" + strconv.Itoa(i)
				for range n {
					got, err := c.Incr(ctx, key).Result()
					if err != nil || got != counts[i]+1 {
						errs[i] = fmt.Errorf("INCR %s = %d, %v; want %d", key, got, err, counts[i]+1)
						return
					}
					counts[i] = got
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	// The server polls only while the load is heavy enough for a poll to
	// find input: wait for the first that does, up to a deadline.
	deadline := time.Now().Add(20 * time.Second)
	for busyPollHits(ctx, t, admin) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("cairn_busy_poll_hits still 0 after 20 s of load from 8 clients")
		}
		load(500)
	}

	if err := admin.ConfigSet(ctx, "busy-poll-us", "0").Err(); err != nil {
		t.Fatal(err)
	}
	before := busyPollHits(ctx, t, admin)
	load(500)
	if after := busyPollHits(ctx, t, admin); after != before {
		t.Errorf("cairn_busy_poll_hits went from %d to %d with busy-poll-us 0", before, after)
	}
}

func busyPollHits(ctx context.Context, t *testing.T, c *redis.Client) int64 {
	t.Helper()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "cairn_busy_poll_hits:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("cairn_busy_poll_hits:%s: %v", v, err)
			}
			return n
		}
	}
	t.Fatalf("no cairn_busy_poll_hits in INFO server:\n%s", info)
	return 0
}

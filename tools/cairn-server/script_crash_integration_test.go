package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestScriptCrashAtomicity: clients run a stream of scripts that each write
// four keys (one token on all four) and bump a counter; the server is
// killed with SIGKILL mid-stream and restarted on the same directory. A
// script is one log record, so recovery shows every script whole or not at
// all: the four keys of a client always hold one token, the counter counts
// exactly the scripts recovered, and no acknowledged script is lost.
func TestScriptCrashAtomicity(t *testing.T) {
	const (
		clients = 4
		cycles  = 3
	)
	const script = `
local n = redis.call('incr', KEYS[5])
for i = 1, 4 do redis.call('set', KEYS[i], ARGV[1] .. ':' .. n) end
return n`
	dir := t.TempDir()
	port := freePort(t)
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, "--save", ""}
	acked := make([]int64, clients) // highest script number acknowledged, per client
	for cycle := 0; cycle < cycles; cycle++ {
		p := spawn(t, port, args...)
		if err := p.waitReady(); err != nil {
			t.Fatal(err)
		}
		verifyScriptState(t, p, clients, acked)
		var wg sync.WaitGroup
		// Kill once this many scripts were acknowledged in the cycle: a
		// moment mid-stream, chosen by an event rather than a clock.
		target := int64(200 + cycle*300)
		var total atomic.Int64
		reached := make(chan struct{})
		for c := 0; c < clients; c++ {
			rc := p.client(t, &redis.Options{MaxRetries: -1})
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				keys := scriptKeys(c)
				for {
					n, err := rc.Eval(testContext(t), script, keys, fmt.Sprint("c", c)).Int64()
					if err != nil {
						return // the server was killed
					}
					if n > acked[c] {
						acked[c] = n
					}
					if total.Add(1) == target {
						close(reached)
					}
				}
			}(c)
		}
		select {
		case <-reached:
		case <-time.After(time.Minute):
			t.Fatalf("cycle %d: fewer than %d scripts acknowledged in a minute", cycle, target)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		<-p.exited
		wg.Wait()
	}
	p := spawn(t, port, args...)
	if err := p.waitReady(); err != nil {
		t.Fatal(err)
	}
	verifyScriptState(t, p, clients, acked)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t)
}

func scriptKeys(c int) []string {
	return []string{fmt.Sprintf("s%d:a", c), fmt.Sprintf("s%d:b", c), fmt.Sprintf("s%d:c", c), fmt.Sprintf("s%d:d", c), fmt.Sprintf("s%d:n", c)}
}

// verifyScriptState checks every client's keys after a restart.
func verifyScriptState(t *testing.T, p *proc, clients int, acked []int64) {
	t.Helper()
	rc := p.client(t, nil)
	for c := 0; c < clients; c++ {
		keys := scriptKeys(c)
		vals, err := rc.MGet(testContext(t), keys...).Result()
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		if vals[4] != nil {
			n, _ = strconv.ParseInt(vals[4].(string), 10, 64)
		}
		if n < acked[c] {
			t.Errorf("client %d: counter %d after restart, but script %d was acknowledged", c, n, acked[c])
		}
		want := any(nil)
		if n > 0 {
			want = fmt.Sprintf("c%d:%d", c, n)
		}
		for i := 0; i < 4; i++ {
			if vals[i] != want {
				t.Errorf("client %d: %s = %v, want %v (counter %d): a script was recovered in part", c, keys[i], vals[i], want, n)
			}
		}
		acked[c] = n
	}
}

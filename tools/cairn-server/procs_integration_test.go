package main

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestServerThreads: INFO server's cairn_server_threads shows the threads
// the server runs Go code on: the number given; with the tuner, one P for
// an idle server, and two while appendfsync is always (when there are two
// cores), back to one after.
func TestServerThreads(t *testing.T) {
	t.Parallel()
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("SKIP: GOMAXPROCS is set in the environment, which turns the tuner off")
	}
	t.Run("fixed", func(t *testing.T) {
		p := startServer(t, "--server-threads", "3")
		c := p.client(t, nil)
		waitThreads(t, c, "3")
	})
	t.Run("auto", func(t *testing.T) {
		p := startServer(t)
		c := p.client(t, nil)
		ctx := testContext(t)
		if v := c.ConfigGet(ctx, "server-threads").Val()["server-threads"]; v != "auto" {
			t.Fatalf("CONFIG GET server-threads: %q, want auto", v)
		}
		// Before the tuner runs the server has a P per core; idle, one.
		waitThreads(t, c, "1")
		if runtime.NumCPU() < 2 {
			return
		}
		if err := c.ConfigSet(ctx, "appendfsync", "always").Err(); err != nil {
			t.Fatal(err)
		}
		waitThreads(t, c, "2")
		if err := c.ConfigSet(ctx, "appendfsync", "everysec").Err(); err != nil {
			t.Fatal(err)
		}
		waitThreads(t, c, "1")
	})
}

// waitThreads waits until INFO shows cairn_server_threads:want. The tuner
// acts every 100 ms: this waits for that event, up to a deadline.
func waitThreads(t *testing.T, c *redis.Client, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got string
	for {
		info, err := c.Info(ctx, "server").Result()
		if err != nil {
			t.Fatalf("waiting for cairn_server_threads:%s (last %q): %v", want, got, err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "cairn_server_threads:"); ok {
				got = v
			}
		}
		if got == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("cairn_server_threads:%s, want %s", got, want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

package server_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairn-db/cairn/engine"
	"github.com/cairn-db/cairn/server"
	"github.com/cairn-db/cairn/wal"
)

func newScriptClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, ReadTimeout: 30 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestScriptBusyAndKill: past busy-reply-threshold another client gets
// -BUSY, SCRIPT KILL stops the script, and the server serves again. A
// script that wrote cannot be killed.
func TestScriptBusyAndKill(t *testing.T) {
	addr := startTestServer(t, func(c *server.Config) { c.BusyReplyThreshold = 50 })
	ctx := context.Background()
	a, b := newScriptClient(t, addr), newScriptClient(t, addr)
	if err := b.Do(ctx, "SCRIPT", "KILL").Err(); err == nil || err.Error() != "NOTBUSY No scripts in execution right now." {
		t.Fatalf("SCRIPT KILL with no script: %v", err)
	}
	if v, err := b.ConfigGet(ctx, "lua-time-limit").Result(); err != nil || v["lua-time-limit"] != "50" {
		t.Fatalf("CONFIG GET lua-time-limit = %v, %v", v, err)
	}

	for _, tc := range []struct {
		script, want string
		killable     bool
	}{
		{"local i = 0 while true do i = i + 1 end", "ERR Script killed by user with SCRIPT KILL... script: ", true},
		{"redis.call('set', KEYS[1], 'x') while true do end", "", false},
	} {
		done := make(chan error, 1)
		go func() { done <- a.Eval(ctx, tc.script, []string{"w"}).Err() }()
		// Poll until the script is reported busy: an event, not a sleep.
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := b.Get(ctx, "other").Err()
			if err != nil && strings.HasPrefix(err.Error(), "BUSY Redis is busy running a script.") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no -BUSY within 20 s (last: %v)", err)
			}
		}
		if err := b.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "BUSY") {
			t.Fatalf("PING while busy: %v, want BUSY", err)
		}
		err := b.Do(ctx, "SCRIPT", "KILL").Err()
		if !tc.killable {
			if err == nil || !strings.HasPrefix(err.Error(), "UNKILLABLE Sorry the script already executed write commands") {
				t.Fatalf("SCRIPT KILL of a script that wrote: %v", err)
			}
			// Shutdown stops it; the test server's cleanup does that.
			break
		}
		if err != nil {
			t.Fatalf("SCRIPT KILL: %v", err)
		}
		select {
		case err := <-done:
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("killed script answered %v, want %q", err, tc.want)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("script still running 20 s after SCRIPT KILL")
		}
		if err := b.Ping(ctx).Err(); err != nil {
			t.Fatalf("PING after kill: %v", err)
		}
	}
}

// TestScriptUndeclaredKeys: scripts writing keys they did not declare,
// concurrently with MSETs over the same keys (which take the shards in
// order), neither deadlock nor lose atomicity: every script's and every
// MSET's keys always hold one token.
func TestScriptUndeclaredKeys(t *testing.T) {
	addr := startTestServer(t, nil)
	ctx := context.Background()
	keys := []string{"u:a", "u:b", "u:c", "u:d", "u:e", "u:f"}
	const script = `for i = 1, #ARGV - 1 do redis.call('set', ARGV[i], ARGV[#ARGV]) end return 1`
	stop := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for w := 0; w < 4; w++ {
		c := newScriptClient(t, addr)
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; time.Now().Before(stop); n++ {
				tok := fmt.Sprintf("w%d-%d", w, n)
				var err error
				if w%2 == 0 {
					args := append(append([]any{}, anySlice(keys)...), tok)
					err = c.Eval(ctx, script, nil, args...).Err()
				} else {
					var pairs []any
					for _, k := range keys {
						pairs = append(pairs, k, tok)
					}
					err = c.MSet(ctx, pairs...).Err()
				}
				if err != nil && !errors.Is(err, redis.Nil) {
					errc <- err
					return
				}
				vals, err := c.MGet(ctx, keys...).Result()
				if err != nil {
					errc <- err
					return
				}
				for _, v := range vals {
					if v != vals[0] {
						errc <- fmt.Errorf("keys hold different tokens: %v", vals)
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// TestScriptOneLogRecord: a script's writes reach the log as one record,
// and a restart replays them.
func TestScriptOneLogRecord(t *testing.T) {
	dir := t.TempDir()
	t.Run("write", func(t *testing.T) {
		addr, eng := startDurableServer(t, dir, wal.SyncAlways)
		c := newScriptClient(t, addr)
		ctx := context.Background()
		before := eng.LastLSN()
		if err := c.Eval(ctx, `redis.call('set','a','1') redis.call('set','b','2') redis.call('incr','n') return 1`, nil).Err(); err != nil {
			t.Fatal(err)
		}
		if got := eng.LastLSN() - before; got != 1 {
			t.Fatalf("script wrote %d log records, want 1", got)
		}
		// A read-only script writes nothing.
		if err := c.Eval(ctx, `return redis.call('get','a')`, nil).Err(); err != nil {
			t.Fatal(err)
		}
		if got := eng.LastLSN() - before; got != 1 {
			t.Fatalf("after a read-only script: %d records, want 1", got)
		}
	})
	eng, err := engine.Open(engine.Options{WAL: &wal.Options{Dir: filepath.Join(dir, "wal")}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if _, err := eng.Load(); err != nil {
		t.Fatal(err)
	}
	err = eng.View([][]byte{[]byte("a"), []byte("b"), []byte("n")}, func(tx *engine.Tx) error {
		for k, want := range map[string]string{"a": "1", "b": "2", "n": "1"} {
			v, ok, err := tx.Get(0, []byte(k))
			if err != nil || !ok || string(v) != want {
				t.Errorf("after restart %s = %q, %v, %v; want %q", k, v, ok, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRedisPyLock drives redis-py's Lock (Debian's python3-redis) across
// two clients: acquire, a second client failing to acquire and to release
// (not the owner), extend, reacquire, release.
func TestRedisPyLock(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	if err := exec.Command(py, "-c", "import redis.lock").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-redis is not installed")
		}
		t.Skip("python3-redis is not installed")
	}
	addr := startTestServer(t, nil)
	host, port, _ := strings.Cut(addr, ":")
	prog := `
import sys, redis
from redis.exceptions import LockNotOwnedError, LockError
host, port = sys.argv[1], int(sys.argv[2])
a = redis.Redis(host=host, port=port)
b = redis.Redis(host=host, port=port)
la = a.lock("resource", timeout=10)
lb = b.lock("resource", timeout=10, blocking=False)
assert la.acquire(blocking=False), "a could not acquire"
assert la.owned() and la.locked()
assert not lb.acquire(), "b acquired a held lock"
# b forges the token: release must fail.
lb.local.token = b"not-the-token"
try:
    lb.release()
    raise SystemExit("b released a lock it does not own")
except LockNotOwnedError:
    pass
assert la.extend(5), "extend failed"
ttl = a.pttl("resource")
assert 10000 < ttl <= 15000, ttl
assert la.extend(20, replace_ttl=True)
ttl = a.pttl("resource")
assert 15000 < ttl <= 20000, ttl
assert la.reacquire()
ttl = a.pttl("resource")
assert 9000 < ttl <= 10000, ttl
lb.local.token = b"not-the-token"
try:
    lb.extend(5)
    raise SystemExit("b extended a lock it does not own")
except LockNotOwnedError:
    pass
la.release()
assert not la.locked()
try:
    la.release()
    raise SystemExit("released twice")
except LockError:
    pass
lb.local.token = None
assert lb.acquire(), "b could not acquire a free lock"
lb.release()
print("lock ok")
`
	out, err := exec.Command(py, "-c", prog, host, port).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "lock ok") {
		t.Fatalf("redis-py Lock: %v\n%s", err, out)
	}
}

package main

// maxmemory end to end: the real server filled past maxmemory under each
// policy; what it kept, what it refused, what its memory became, and that
// a restart does not bring evicted keys back.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

const oomError = "OOM command not allowed when used memory > 'maxmemory'."

// fillKeys SETs keys prefix0..prefix(n-1) with size-byte values in
// pipelines of 500, ttl(i) seconds each (0: none), and calls between()
// after each pipeline. It returns the number of OOM errors.
func fillKeys(t *testing.T, c *redis.Client, prefix string, n, size int, ttl func(i int) int, between func()) int {
	t.Helper()
	ctx := context.Background()
	val := strings.Repeat("v", size)
	ooms := 0
	for i := 0; i < n; {
		pipe := c.Pipeline()
		for j := 0; j < 500 && i < n; j, i = j+1, i+1 {
			if ttl != nil && ttl(i) > 0 {
				pipe.Do(ctx, "set", prefix+strconv.Itoa(i), val, "ex", ttl(i))
			} else {
				pipe.Do(ctx, "set", prefix+strconv.Itoa(i), val)
			}
		}
		cmds, _ := pipe.Exec(ctx)
		for _, cmd := range cmds {
			if err := cmd.Err(); err != nil {
				if err.Error() != oomError {
					t.Fatalf("SET: %v", err)
				}
				ooms++
			}
		}
		if between != nil {
			between()
		}
	}
	return ooms
}

// countExisting returns how many of prefix[from..to) exist.
func countExisting(t *testing.T, c *redis.Client, prefix string, from, to int) int {
	t.Helper()
	ctx := context.Background()
	pipe := c.Pipeline()
	for i := from; i < to; i++ {
		pipe.Exists(ctx, prefix+strconv.Itoa(i))
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, cmd := range cmds {
		n += int(cmd.(*redis.IntCmd).Val())
	}
	return n
}

func infoInt(t *testing.T, c *redis.Client, section, field string) int64 {
	t.Helper()
	raw, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	var v string
	ok := false
	for _, line := range strings.Split(raw, "\r\n") {
		if k, val, found := strings.Cut(line, ":"); found && k == field {
			v, ok = val, true
		}
	}
	if !ok {
		t.Fatalf("INFO %s has no %s", section, field)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("INFO %s: %s=%q", section, field, v)
	}
	return n
}

// rssOf reads a process's resident set from /proc.
func rssOf(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

const evictMax = 8 << 20

func TestEvictionPoliciesEndToEnd(t *testing.T) {
	ctx := context.Background()
	hot := func(c *redis.Client) func() {
		return func() {
			pipe := c.Pipeline()
			for h := 0; h < 1000; h++ {
				pipe.Get(ctx, "hot:"+strconv.Itoa(h))
			}
			pipe.Exec(ctx)
		}
	}
	for _, policy := range []string{"allkeys-lru", "allkeys-lfu"} {
		t.Run(policy, func(t *testing.T) {
			p := startServer(t, "--maxmemory", strconv.Itoa(evictMax), "--maxmemory-policy", policy, "--save", "")
			c := p.client(t, nil)
			// 1000 hot keys (~1.2 MB), read in a loop while 30 MB of cold
			// keys stream through an 8 MB cache.
			fillKeys(t, c, "hot:", 1000, 1000, nil, nil)
			if ooms := fillKeys(t, c, "cold:", 30000, 1000, nil, hot(c)); ooms != 0 {
				t.Fatalf("%d OOM errors under %s", ooms, policy)
			}
			kept := countExisting(t, c, "hot:", 0, 1000)
			cold := countExisting(t, c, "cold:", 0, 30000)
			evicted := infoInt(t, c, "stats", "evicted_keys")
			used := infoInt(t, c, "memory", "used_memory")
			t.Logf("%s: kept %d/1000 hot keys, %d/30000 cold; evicted %d; used_memory %d (max %d)",
				policy, kept, cold, evicted, used, evictMax)
			if kept < 980 {
				t.Errorf("kept only %d of 1000 hot keys", kept)
			}
			if evicted < 20000 || cold > 8000 {
				t.Errorf("evicted %d keys, %d cold kept: the cache did not stay bounded", evicted, cold)
			}
			if used > evictMax+64<<10 {
				t.Errorf("used_memory %d over maxmemory %d", used, evictMax)
			}
		})
	}

	t.Run("volatile-ttl", func(t *testing.T) {
		p := startServer(t, "--maxmemory", strconv.Itoa(evictMax), "--maxmemory-policy", "volatile-ttl", "--save", "")
		c := p.client(t, nil)
		fillKeys(t, c, "persistent:", 1000, 1000, nil, nil)
		// TTLs grow with i: the first keys expire soonest and go first.
		fillKeys(t, c, "ttl:", 12000, 1000, func(i int) int { return 3600 + i }, nil)
		persistent := countExisting(t, c, "persistent:", 0, 1000)
		soon := countExisting(t, c, "ttl:", 0, 4000)
		late := countExisting(t, c, "ttl:", 10000, 12000)
		t.Logf("volatile-ttl: persistent %d/1000, soonest %d/4000, latest %d/2000", persistent, soon, late)
		if persistent != 1000 || soon > 200 || late < 1900 {
			t.Errorf("volatile-ttl kept the wrong keys")
		}
	})

	for _, policy := range []string{"volatile-lru", "volatile-lfu", "volatile-random"} {
		t.Run(policy, func(t *testing.T) {
			p := startServer(t, "--maxmemory", strconv.Itoa(evictMax), "--maxmemory-policy", policy, "--save", "")
			c := p.client(t, nil)
			fillKeys(t, c, "persistent:", 3000, 1000, nil, nil)
			fillKeys(t, c, "v:", 10000, 1000, func(int) int { return 3600 }, nil)
			if n := countExisting(t, c, "persistent:", 0, 3000); n != 3000 {
				t.Fatalf("%s evicted %d keys without expiry", policy, 3000-n)
			}
			if infoInt(t, c, "stats", "evicted_keys") < 4000 {
				t.Fatalf("too few evictions")
			}
			// Keys without expiry only: once over, writes are refused.
			if ooms := fillKeys(t, c, "more:", 10000, 1000, nil, nil); ooms == 0 {
				t.Fatalf("no OOM with nothing left to evict")
			}
			if err := c.Get(ctx, "persistent:1").Err(); err != nil {
				t.Fatalf("GET under OOM: %v", err)
			}
		})
	}

	t.Run("allkeys-random", func(t *testing.T) {
		p := startServer(t, "--maxmemory", strconv.Itoa(evictMax), "--maxmemory-policy", "allkeys-random", "--save", "")
		c := p.client(t, nil)
		fillKeys(t, c, "k:", 20000, 1000, nil, nil)
		n := c.DBSize(ctx).Val()
		if used := infoInt(t, c, "memory", "used_memory"); used > evictMax+64<<10 || n < 3000 || n > 8000 {
			t.Fatalf("allkeys-random: %d keys, used_memory %d", n, used)
		}
	})

	t.Run("noeviction", func(t *testing.T) {
		p := startServer(t, "--maxmemory", strconv.Itoa(evictMax), "--save", "")
		c := p.client(t, nil)
		if ooms := fillKeys(t, c, "k:", 20000, 1000, nil, nil); ooms == 0 {
			t.Fatal("noeviction: no OOM error past maxmemory")
		}
		if err := c.Set(ctx, "x", "y", 0).Err(); err == nil || err.Error() != oomError {
			t.Fatalf("SET past maxmemory: %v, want %q", err, oomError)
		}
		if err := c.Get(ctx, "k:1").Err(); err != nil {
			t.Fatalf("GET past maxmemory: %v", err)
		}
		// DEL frees memory and is always allowed; then writes go on.
		keys := make([]string, 0, 2000)
		for i := 0; i < 2000; i++ {
			keys = append(keys, "k:"+strconv.Itoa(i))
		}
		if err := c.Del(ctx, keys...).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "x", "y", 0).Err(); err != nil {
			t.Fatalf("SET after DEL freed memory: %v", err)
		}
		if n := infoInt(t, c, "stats", "evicted_keys"); n != 0 {
			t.Fatalf("noeviction evicted %d keys", n)
		}
	})
}

// TestEvictionSurvivesRestart: evictions are logged as deletes, so a
// restart from the log (after SIGKILL: no snapshot at exit) has exactly
// the keys the server had, none of those it evicted.
func TestEvictionSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	port := freePort(t)
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, "--save", "",
		"--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru", "--appendfsync", "always"}
	p := spawn(t, port, args...)
	if err := p.waitReady(); err != nil {
		t.Fatal(err)
	}
	c := p.client(t, nil)
	fillKeys(t, c, "k:", 10000, 1000, nil, nil)
	before := c.DBSize(ctx).Val()
	kept := countExisting(t, c, "k:", 0, 10000)
	if int64(kept) != before || before > 4000 {
		t.Fatalf("%d keys, %d of k:*", before, kept)
	}
	c.Close()
	p.cmd.Process.Kill() // by PID
	p.waitExit(t)

	p2 := spawn(t, port, args...)
	if err := p2.waitReady(); err != nil {
		t.Fatal(err)
	}
	c2 := p2.client(t, nil)
	if after := c2.DBSize(ctx).Val(); after != before {
		t.Fatalf("%d keys before the restart, %d after: evicted keys came back", before, after)
	}
}

// TestMemoryBoundRSS streams 160 MB through a 48 MB cache and checks the
// process's resident memory stays within maxmemory × 1.1 + 32 MB (the GC's
// headroom that GOMEMLIMIT allows, and the runtime's own), and that
// used_memory tracks the data the server holds.
func TestMemoryBoundRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 160 MB")
	}
	const maxmem = 48 << 20
	p := startServer(t, "--maxmemory", strconv.Itoa(maxmem), "--maxmemory-policy", "allkeys-lru", "--save", "",
		"--appendonly", "no")
	c := p.client(t, nil)
	var peak int64
	fillKeys(t, c, "k:", 160_000, 1000, nil, func() {
		peak = max(peak, rssOf(t, p.cmd.Process.Pid))
	})
	used := infoInt(t, c, "memory", "used_memory")
	rss := infoInt(t, c, "memory", "used_memory_rss")
	limit := infoInt(t, c, "memory", "gomemlimit")
	bound := int64(maxmem) + maxmem/10 + 32<<20
	t.Logf("maxmemory %d MB: used_memory %.1f MB, RSS %.1f MB (peak %.1f MB), GOMEMLIMIT %.1f MB, bound %.1f MB",
		maxmem>>20, float64(used)/(1<<20), float64(rss)/(1<<20), float64(peak)/(1<<20), float64(limit)/(1<<20), float64(bound)/(1<<20))
	if peak > bound {
		t.Errorf("RSS peaked at %d bytes, over the bound %d", peak, bound)
	}
	if used > maxmem+64<<10 || used < maxmem*9/10 {
		t.Errorf("used_memory %d, want just under maxmemory %d", used, maxmem)
	}
}

// Command zipfbench compares two Redis-protocol servers as caches: the same
// Zipf-distributed cache-aside load (GET; on a miss, SET) against each, with
// the same maxmemory (half of what server A holds for the whole working set)
// and the same policy, in alternating rounds. It prints each round's hit
// rate and throughput and the B/A ratios.
//
//	zipfbench -a 127.0.0.1:7431 -b 127.0.0.1:7432 [-keys 200000 -size 100 -s 1.01 -clients 8 -duration 10s]
//
// tools/zipfbench/run.sh starts redis-server and cairn-server and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	addrA := flag.String("a", "", "server A (the reference: its memory for the working set sets maxmemory)")
	addrB := flag.String("b", "", "server B")
	keys := flag.Int("keys", 200000, "working set: number of keys")
	size := flag.Int("size", 100, "value size in bytes")
	s := flag.Float64("s", 1.01, "Zipf exponent (> 1)")
	clients := flag.Int("clients", 8, "concurrent connections")
	duration := flag.Duration("duration", 10*time.Second, "measured time per run")
	warmup := flag.Duration("warmup", 5*time.Second, "load before measuring, per run")
	rounds := flag.Int("rounds", 2, "rounds (each runs A and B, order alternating)")
	policy := flag.String("policy", "allkeys-lru", "maxmemory-policy")
	flag.Parse()
	if *addrA == "" || *addrB == "" {
		flag.Usage()
		os.Exit(2)
	}
	ctx := context.Background()
	a := redis.NewClient(&redis.Options{Addr: *addrA, PoolSize: *clients + 2})
	b := redis.NewClient(&redis.Options{Addr: *addrB, PoolSize: *clients + 2})
	val := strings.Repeat("x", *size)

	// maxmemory: half of what A uses for the whole working set.
	must(a.FlushAll(ctx).Err())
	must(a.ConfigSet(ctx, "maxmemory", "0").Err())
	fill(ctx, a, *keys, val)
	full := infoInt(ctx, a, "used_memory")
	maxmem := full / 2
	fmt.Printf("working set: %d keys of %d B; A holds it in %.1f MB; maxmemory %.1f MB, %s, Zipf s=%.2f, %d clients\n",
		*keys, *size, float64(full)/(1<<20), float64(maxmem)/(1<<20), *policy, *s, *clients)

	type result struct{ hit, ops float64 }
	res := map[string][]result{}
	for r := 0; r < *rounds; r++ {
		order := []string{"A", "B"}
		if r%2 == 1 {
			order = []string{"B", "A"}
		}
		for _, name := range order {
			c := a
			if name == "B" {
				c = b
			}
			must(c.FlushAll(ctx).Err())
			must(c.ConfigSet(ctx, "maxmemory", strconv.FormatInt(maxmem, 10)).Err())
			must(c.ConfigSet(ctx, "maxmemory-policy", *policy).Err())
			seed := int64(r*1000 + 1)
			fill(ctx, c, *keys, val) // full from the start: every miss evicts
			load(ctx, c, *clients, *keys, *s, val, *warmup, seed)
			must(c.ConfigResetStat(ctx).Err())
			hits, misses, ops := load(ctx, c, *clients, *keys, *s, val, *duration, seed+500)
			hr := float64(hits) / float64(hits+misses)
			thr := float64(ops) / duration.Seconds()
			used := infoInt(ctx, c, "used_memory")
			fmt.Printf("round %d %s: hit rate %.4f, %.0f ops/s, %d keys, used_memory %.1f MB, evicted %d\n",
				r, name, hr, thr, c.DBSize(ctx).Val(), float64(used)/(1<<20), infoInt(ctx, c, "evicted_keys"))
			res[name] = append(res[name], result{hr, thr})
		}
	}
	med := func(f func(result) float64, name string) float64 {
		var v []float64
		for _, x := range res[name] {
			v = append(v, f(x))
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	hA, hB := med(func(x result) float64 { return x.hit }, "A"), med(func(x result) float64 { return x.hit }, "B")
	tA, tB := med(func(x result) float64 { return x.ops }, "A"), med(func(x result) float64 { return x.ops }, "B")
	fmt.Printf("SUMMARY zipf: hit rate A %.4f B %.4f (B/A %.3f); ops/s A %.0f B %.0f (B/A %.3f)\n", hA, hB, hB/hA, tA, tB, tB/tA)
}

func fill(ctx context.Context, c *redis.Client, n int, val string) {
	for i := 0; i < n; i += 1000 {
		p := c.Pipeline()
		for j := i; j < i+1000 && j < n; j++ {
			p.Set(ctx, key(j), val, 0)
		}
		_, err := p.Exec(ctx)
		must(err)
	}
}

func key(i int) string { return "key:" + strconv.Itoa(i) }

// load runs the cache-aside load for d and returns GET hits and misses and
// all commands answered.
func load(ctx context.Context, c *redis.Client, clients, keys int, s float64, val string, d time.Duration, seed int64) (int64, int64, int64) {
	var hits, misses, ops atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			z := rand.NewZipf(rand.New(rand.NewSource(seed+int64(w))), s, 1, uint64(keys-1))
			for n := 0; ; n++ {
				if n%64 == 0 && time.Now().After(deadline) {
					return
				}
				k := key(int(z.Uint64()))
				err := c.Get(ctx, k).Err()
				ops.Add(1)
				switch err {
				case nil:
					hits.Add(1)
				case redis.Nil:
					misses.Add(1)
					if err := c.Set(ctx, k, val, 0).Err(); err != nil {
						fmt.Fprintln(os.Stderr, "SET:", err)
						return
					}
					ops.Add(1)
				default:
					fmt.Fprintln(os.Stderr, "GET:", err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	return hits.Load(), misses.Load(), ops.Load()
}

func infoInt(ctx context.Context, c *redis.Client, field string) int64 {
	raw, err := c.Info(ctx, "memory", "stats").Result()
	must(err)
	for _, line := range strings.Split(raw, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "zipfbench:", err)
		os.Exit(1)
	}
}

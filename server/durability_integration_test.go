package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cairn-db/cairn/engine"
	"github.com/cairn-db/cairn/server"
	"github.com/cairn-db/cairn/wal"
)

// startDurableServer runs a server over an engine with a log in dir.
func startDurableServer(t *testing.T, dir string, policy wal.SyncPolicy) (string, *engine.Engine) {
	t.Helper()
	eng, err := engine.Open(engine.Options{WAL: &wal.Options{Dir: filepath.Join(dir, "wal"), Sync: policy}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Load(); err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.AppendFsync = policy.String()
	return serve(t, server.Options{Config: cfg, Engine: eng}), eng
}

// TestInfoFsyncTimes: INFO persistence shows the log's latest and longest
// fsync, in microseconds, as the log measured them.
func TestInfoFsyncTimes(t *testing.T) {
	addr, eng := startDurableServer(t, t.TempDir(), wal.SyncAlways)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	for i := range 20 {
		if err := rdb.Set(ctx, fmt.Sprint("k", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	info, err := rdb.Info(ctx, "persistence").Result()
	if err != nil {
		t.Fatal(err)
	}
	st := eng.LogStats()
	if st.Fsyncs == 0 {
		t.Fatal("no fsync under always")
	}
	for _, want := range []string{
		fmt.Sprintf("aof_last_fsync_usec:%d\r\n", st.LastFsync.Microseconds()),
		fmt.Sprintf("aof_max_fsync_usec:%d\r\n", st.MaxFsync.Microseconds()),
	} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO persistence lacks %q:\n%s", want, info)
		}
	}
	if st.MaxFsync < st.LastFsync {
		t.Errorf("longest fsync %v shorter than the latest %v", st.MaxFsync, st.LastFsync)
	}
}

// TestPipelineSharesOneFsync: under appendfsync always, a pipeline of many
// writes is answered after one fsync (or a few, if the committer splits
// the batch), not one per write.
func TestPipelineSharesOneFsync(t *testing.T) {
	addr, eng := startDurableServer(t, t.TempDir(), wal.SyncAlways)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 500
	var req strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&req, "*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$1\r\nv\r\n", len(fmt.Sprint("k", i)), i)
	}
	before := eng.LogStats().Fsyncs
	if _, err := conn.Write([]byte(req.String())); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for i := 0; i < n; i++ {
		line, err := br.ReadString('\n')
		if err != nil || line != "+OK\r\n" {
			t.Fatalf("reply %d: %q, %v", i, line, err)
		}
	}
	// Every reply arrived, so every write is fsynced.
	if got, last := eng.LogStats().SyncedLSN, eng.LastLSN(); got < last {
		t.Fatalf("replies sent with synced LSN %d < last LSN %d", got, last)
	}
	if fsyncs := eng.LogStats().Fsyncs - before; fsyncs > 20 {
		t.Fatalf("%d fsyncs for a pipeline of %d writes", fsyncs, n)
	}
}

// TestRestartKeepsData: what was written is there after a clean restart,
// with absolute expiries kept.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	func() {
		addr, eng := startDurableServer(t, dir, wal.SyncEverySec)
		rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1}) // WAITAOF waits for this connection's writes
		defer rdb.Close()
		rdb.Set(ctx, "s", "v", 0)
		rdb.Incr(ctx, "n")
		rdb.Incr(ctx, "n")
		rdb.Set(ctx, "ttl", "x", 0)
		rdb.ExpireAt(ctx, "ttl", eng.Now().Add(1e12)) // far future
		rdb.MSet(ctx, "a", "1", "b", "2")
		rdb.Del(ctx, "b")
		rdb.Append(ctx, "s", "w")
		if res, err := rdb.Do(ctx, "WAITAOF", "1", "0", "0").Int64Slice(); err != nil || res[0] != 1 || res[1] != 0 {
			t.Fatalf("WAITAOF = %v, %v", res, err)
		}
	}()
	addr, _ := startDurableServer(t, dir, wal.SyncEverySec)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	got, err := rdb.MGet(ctx, "s", "n", "a", "b").Result()
	if err != nil || fmt.Sprint(got) != "[vw 2 1 <nil>]" {
		t.Fatalf("after restart MGET = %v, %v", got, err)
	}
	if ttl, _ := rdb.TTL(ctx, "ttl").Result(); ttl <= 0 {
		t.Fatalf("TTL after restart = %v", ttl)
	}
}

// TestLoadingRefusesCommands: while the log is replayed, commands get
// -LOADING but for PING, INFO and the like, and INFO says loading:1.
func TestLoadingRefusesCommands(t *testing.T) {
	eng, err := engine.Open(engine.Options{WAL: &wal.Options{Dir: filepath.Join(t.TempDir(), "wal"), Sync: wal.SyncEverySec}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, server.Options{Engine: eng})

	got, _ := rawExchangeConn(t, addr, "GET k\r\nSET k v\r\nPING\r\n")
	if want := "-LOADING Redis is loading the dataset in memory\r\n-LOADING Redis is loading the dataset in memory\r\n+PONG\r\n"; got != want {
		t.Fatalf("while loading: %q, want %q", got, want)
	}
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	if info, err := rdb.Info(ctx, "persistence").Result(); err != nil || !strings.Contains(info, "loading:1\r\n") {
		t.Fatalf("INFO while loading: %q, %v", info, err)
	}
	if _, err := eng.Load(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET after loading: %v", err)
	}
	if info, _ := rdb.Info(ctx, "persistence").Result(); !strings.Contains(info, "loading:0\r\n") {
		t.Fatalf("INFO after loading: %q", info)
	}
}

// rawExchangeConn sends raw bytes and reads replies until the server has
// answered each line of send (one reply per line).
func rawExchangeConn(t *testing.T, addr, send string) (string, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(send)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var out strings.Builder
	for i := 0; i < strings.Count(send, "\n"); i++ {
		line, err := br.ReadString('\n')
		out.WriteString(line)
		if err != nil {
			return out.String(), err
		}
	}
	return out.String(), nil
}

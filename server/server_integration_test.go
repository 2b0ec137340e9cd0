package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairn-db/cairn/server"
)

// startTestServer runs a server in-process on a random loopback port.
func startTestServer(t testing.TB, edit func(*server.Config)) string {
	t.Helper()
	cfg := server.DefaultConfig()
	if edit != nil {
		edit(cfg)
	}
	return serve(t, server.Options{Config: cfg})
}

// serve runs a server with opts on a random loopback port until the test
// ends, then closes it and its engine, if opts gives one.
func serve(t testing.TB, opts server.Options) string {
	t.Helper()
	srv := server.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
		if opts.Engine != nil {
			opts.Engine.Close()
		}
	})
	return ln.Addr().String()
}

// rawExchange writes raw bytes and returns everything the server sends
// before closing the connection or going quiet for quiet.
func rawExchange(t *testing.T, addr string, send string, quiet time.Duration) (string, bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, send); err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(quiet))
		n, err := conn.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			ne, ok := err.(net.Error)
			return string(out), !(ok && ne.Timeout()) // closed by the server
		}
	}
}

func TestBadInput(t *testing.T) {
	addr := startTestServer(t, nil)
	cases := []struct {
		name, send, want string
		closed           bool
	}{
		{"bulk over 512MB", "*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n", true},
		{"negative bulk", "*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n", true},
		{"multibulk count over INT_MAX", "*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true},
		{"multibulk not a number", "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true},
		// Lengths are read as Redis's string2ll reads them: no sign, no
		// leading zero.
		{"multibulk with plus", "*+1\r\n$4\r\nPING\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true},
		{"multibulk leading zero", "*01\r\n$4\r\nPING\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true},
		{"multibulk minus zero", "*-0\r\nPING\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true},
		{"bulk with plus", "*1\r\n$+4\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n", true},
		{"bulk leading zero", "*1\r\n$04\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n", true},
		{"missing dollar", "*1\r\nxyz\r\n", "-ERR Protocol error: expected '$', got 'x'\r\n", true},
		{"unbalanced quotes", "SET \"a b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n", true},
		{"inline too big", strings.Repeat("a", 70<<10), "-ERR Protocol error: too big inline request\r\n", true},
		{"empty multibulk ignored", "*0\r\nPING\r\n", "+PONG\r\n", false},
		{"inline with quotes", "ECHO \"a\\x00b\\n\"\r\n", "$4\r\na\x00b\n\r\n", false},
		{"unknown command", "FOO bar\r\n", "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n", false},
		{"pipeline", "PING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n", "+PONG\r\n+PONG\r\n$2\r\nhi\r\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, closed := rawExchange(t, addr, c.send, 300*time.Millisecond)
			if got != c.want || closed != c.closed {
				t.Fatalf("got %q (closed %v), want %q (closed %v)", got, closed, c.want, c.closed)
			}
		})
	}
}

// TestDispatchLookedUp: the command a client ran last is tried first, and
// a different name after it (one that shares its prefix, an unknown one)
// still finds its own command.
func TestDispatchLookedUp(t *testing.T) {
	addr := startTestServer(t, nil)
	got, _ := rawExchange(t, addr, "LPUSH l a\r\nlpush l b\r\nLPUSHX l c\r\nLPUSHX nol c\r\nLPUS l d\r\nLRANGE l 0 -1\r\n", 300*time.Millisecond)
	want := ":1\r\n:2\r\n:3\r\n:0\r\n-ERR unknown command 'LPUS', with args beginning with: 'l' 'd' \r\n*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestHugeMultibulkBoundedMemory: a header promising two billion arguments
// must not make the server allocate for them.
func TestHugeMultibulkBoundedMemory(t *testing.T) {
	addr := startTestServer(t, nil)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, 20)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "*2000000000\r\n$3\r\nSET\r\n$400000000\r\nabc")
		conns[i] = c
	}
	// The server is still responsive to others while those wait.
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 50<<20 {
		t.Fatalf("heap grew by %d MB for 20 idle huge headers", grown>>20)
	}
}

func TestUnauthenticatedLimits(t *testing.T) {
	addr := startTestServer(t, func(c *server.Config) { c.RequirePass = "secret" })
	got, closed := rawExchange(t, addr, "*11\r\n", 300*time.Millisecond)
	if got != "-ERR Protocol error: unauthenticated multibulk length\r\n" || !closed {
		t.Fatalf("got %q closed=%v", got, closed)
	}
	got, closed = rawExchange(t, addr, "*2\r\n$3\r\nGET\r\n$20000\r\n", 300*time.Millisecond)
	if got != "-ERR Protocol error: unauthenticated bulk length\r\n" || !closed {
		t.Fatalf("got %q closed=%v", got, closed)
	}
	got, _ = rawExchange(t, addr, "GET x\r\nAUTH wrong\r\nAUTH secret\r\nGET x\r\n", 300*time.Millisecond)
	want := "-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n$-1\r\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestGoRedis(t *testing.T) {
	addr := startTestServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()

	key := "bin\x00key\r\n"
	if err := rdb.Set(ctx, key, "v\x00al", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Get(ctx, key).Result(); err != nil || v != "v\x00al" {
		t.Fatalf("GET binary key = %q, %v", v, err)
	}
	if _, err := rdb.Get(ctx, "missing").Result(); err != redis.Nil {
		t.Fatalf("GET missing: err = %v, want redis.Nil", err)
	}
	if n, err := rdb.Incr(ctx, "n").Result(); err != nil || n != 1 {
		t.Fatalf("INCR = %d, %v", n, err)
	}
	if err := rdb.Set(ctx, "ttl", "x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if d, err := rdb.TTL(ctx, "ttl").Result(); err != nil || d < 59*time.Second || d > time.Minute {
		t.Fatalf("TTL = %v, %v", d, err)
	}
	// A pipeline of many commands, answered in order.
	pipe := rdb.Pipeline()
	for i := 0; i < 1000; i++ {
		pipe.Set(ctx, fmt.Sprint("p:", i), i, 0)
	}
	for i := 0; i < 1000; i++ {
		pipe.Get(ctx, fmt.Sprint("p:", i))
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if v := cmds[1000+i].(*redis.StringCmd).Val(); v != fmt.Sprint(i) {
			t.Fatalf("pipelined GET p:%d = %q", i, v)
		}
	}
	if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 1003 {
		t.Fatalf("DBSIZE = %d, %v", n, err)
	}
	// Databases are separate.
	rdb1 := redis.NewClient(&redis.Options{Addr: addr, DB: 1})
	defer rdb1.Close()
	if n, err := rdb1.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("db1 DBSIZE = %d, %v", n, err)
	}
	if err := rdb.Move(ctx, "n", 1).Err(); err != nil {
		t.Fatal(err)
	}
	if v, _ := rdb1.Get(ctx, "n").Result(); v != "1" {
		t.Fatalf("moved key in db1 = %q", v)
	}
	// A scan over the whole keyspace returns every key.
	seen := map[string]bool{}
	iter := rdb.Scan(ctx, 0, "p:*", 50).Iterator()
	for iter.Next(ctx) {
		seen[iter.Val()] = true
	}
	if iter.Err() != nil || len(seen) != 1000 {
		t.Fatalf("SCAN found %d keys, %v", len(seen), iter.Err())
	}
}

// TestConcurrentClients: many connections incrementing shared counters.
func TestConcurrentClients(t *testing.T) {
	addr := startTestServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 32})
	defer rdb.Close()
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if err := rdb.Incr(ctx, fmt.Sprint("c", i%4)).Err(); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	var total int64
	for i := 0; i < 4; i++ {
		n, _ := rdb.Get(ctx, fmt.Sprint("c", i)).Int64()
		total += n
	}
	if total != 32*200 {
		t.Fatalf("total = %d, want %d", total, 32*200)
	}
}

func TestClientKillAndInfo(t *testing.T) {
	addr := startTestServer(t, nil)
	victim, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	br := bufio.NewReader(victim)
	io.WriteString(victim, "CLIENT SETNAME victim\r\nCLIENT ID\r\n")
	if l, _ := br.ReadString('\n'); l != "+OK\r\n" {
		t.Fatalf("SETNAME: %q", l)
	}
	idLine, _ := br.ReadString('\n')
	id := strings.TrimSpace(strings.TrimPrefix(idLine, ":"))

	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	list, err := rdb.ClientList(ctx).Result()
	if err != nil || !strings.Contains(list, "id="+id+" ") || !strings.Contains(list, "name=victim ") {
		t.Fatalf("CLIENT LIST = %q, %v", list, err)
	}
	n, err := rdb.ClientKillByFilter(ctx, "ID", id).Result()
	if err != nil || n != 1 {
		t.Fatalf("CLIENT KILL ID = %d, %v", n, err)
	}
	victim.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadString('\n'); err == nil {
		t.Fatal("killed client's connection still open")
	}
	info, err := rdb.Info(ctx, "keyspace", "server", "stats").Result()
	if err != nil || !strings.Contains(info, "redis_version:") || !strings.Contains(info, "total_commands_processed:") {
		t.Fatalf("INFO = %q, %v", info, err)
	}
}

func TestConfigGetSet(t *testing.T) {
	addr := startTestServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	got, err := rdb.ConfigGet(ctx, "append*").Result()
	if err != nil || got["appendonly"] != "yes" || got["appendfsync"] != "everysec" {
		t.Fatalf("CONFIG GET append* = %v, %v", got, err)
	}
	if err := rdb.ConfigSet(ctx, "appendfsync", "always").Err(); err != nil {
		t.Fatal(err)
	}
	if got, _ := rdb.ConfigGet(ctx, "appendfsync").Result(); got["appendfsync"] != "always" {
		t.Fatalf("after CONFIG SET: %v", got)
	}
	for _, c := range []struct{ name, val, want string }{
		{"appendfsync", "sometimes", "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no"},
		{"databases", "4", "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"},
		{"nosuch", "1", "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
	} {
		if err := rdb.ConfigSet(ctx, c.name, c.val).Err(); err == nil || err.Error() != c.want {
			t.Errorf("CONFIG SET %s %s: %v, want %q", c.name, c.val, err, c.want)
		}
	}
	if err := rdb.ConfigSet(ctx, "requirepass", "pw").Err(); err != nil {
		t.Fatal(err)
	}
	fresh := redis.NewClient(&redis.Options{Addr: addr})
	defer fresh.Close()
	if err := fresh.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Fatalf("new client after requirepass: %v", err)
	}
	authed := redis.NewClient(&redis.Options{Addr: addr, Password: "pw"})
	defer authed.Close()
	if err := authed.Ping(ctx).Err(); err != nil {
		t.Fatalf("client with password: %v", err)
	}
}

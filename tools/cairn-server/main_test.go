package main

// End-to-end tests: build the cairn-server binary once, run it as a
// subprocess on a free loopback port, and talk to it as users do: with
// go-redis, redis-cli, redis-benchmark, raw inline commands, signals.
//
// The tests that need Debian's redis-tools (redis-cli, redis-benchmark) skip
// with a message when those are not on PATH, unless CI=true, where a missing
// tool is a failure.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairn-db/cairn/server"
)

const (
	// readyLine is the log message the server prints once it has loaded
	// its data (it listens, answering -LOADING, a little earlier).
	readyLine = "data loaded"
	// startDeadline bounds the wait for readyLine.
	startDeadline = 30 * time.Second
	// exitDeadline bounds the wait for the process to exit after it was asked to.
	exitDeadline = 30 * time.Second
)

// binDir holds the built binary; TestMain removes it.
var binDir string

var (
	buildOnce sync.Once
	binPath   string // the built binary, once buildOnce ran without error
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// serverBinary builds cairn-server once per test run and returns its path.
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cairn-server-test-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		out := filepath.Join(dir, "cairn-server")
		cmd := exec.Command(goTool, "build", "-o", out, ".")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		binPath = out
	})
	if buildErr != nil {
		t.Fatalf("building cairn-server: %v", buildErr)
	}
	return binPath
}

// needTool returns the path of a redis-tools program, or skips the test
// when it is absent (fails instead when CI=true).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not on PATH, and CI=true: .ci/run must install Debian's redis-tools", name)
	}
	t.Skipf("SKIP: %s is not on PATH; install Debian's redis-tools (apt-get install -y redis-tools) to run this test", name)
	return ""
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a running cairn-server subprocess.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	port int

	mu     sync.Mutex
	stderr bytes.Buffer // everything the process wrote to stderr so far

	ready  chan struct{} // closed when readyLine appeared on stderr
	exited chan struct{} // closed once the process has exited and was reaped
	err    error         // from cmd.Wait; valid once exited is closed
}

// log returns what the process has written to stderr so far.
func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// addr is the server's host:port.
func (p *proc) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// spawn starts the binary with args and returns at once; stderr is captured
// line by line and readyLine closes p.ready. The process is killed (by its
// PID) in t.Cleanup if it is still running.
func spawn(t *testing.T, port int, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(serverBinary(t), args...)
	cmd.Stdin = nil
	cmd.Stdout = io.Discard
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, port: port, ready: make(chan struct{}), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sawReady := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line)
			p.stderr.WriteByte('\n')
			p.mu.Unlock()
			if !sawReady && strings.Contains(line, readyLine) {
				sawReady = true
				close(p.ready)
			}
		}
		io.Copy(io.Discard, pipe) // after a too-long line: drain, so Wait can finish
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill() // by PID
			select {
			case <-p.exited:
			case <-time.After(exitDeadline):
				t.Errorf("cairn-server (pid %d) did not exit after SIGKILL", p.cmd.Process.Pid)
			}
		}
		if t.Failed() {
			t.Logf("cairn-server stderr:\n%s", p.log())
		}
	})
	return p
}

// waitReady waits for the ready line; it fails the test if the process exits
// first or the deadline passes.
func (p *proc) waitReady() error {
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		return fmt.Errorf("cairn-server exited before it was ready (%v); stderr:\n%s", p.err, p.log())
	case <-time.After(startDeadline):
		return fmt.Errorf("cairn-server not ready after %v; stderr:\n%s", startDeadline, p.log())
	}
}

// waitExit waits for the process to exit and returns its exit code.
func (p *proc) waitExit(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(exitDeadline):
		t.Fatalf("cairn-server did not exit within %v; stderr:\n%s", exitDeadline, p.log())
	}
	if p.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	t.Fatalf("waiting for cairn-server: %v", p.err)
	return -1
}

// startServer runs cairn-server on a free loopback port with a fresh data
// directory and extra args, and waits until it is ready. The port is chosen
// before the server binds it, so another process may take it in between:
// then it tries again with another port.
func startServer(t *testing.T, extra ...string) *proc {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", t.TempDir()}, extra...)
		p := spawn(t, port, args...)
		lastErr = p.waitReady()
		if lastErr == nil {
			return p
		}
		if !strings.Contains(p.log(), "address already in use") {
			break
		}
	}
	t.Fatal(lastErr)
	return nil
}

// client returns a go-redis client for p, closed in t.Cleanup.
func (p *proc) client(t *testing.T, opt *redis.Options) *redis.Client {
	t.Helper()
	if opt == nil {
		opt = &redis.Options{}
	}
	opt.Addr = p.addr()
	if opt.DialTimeout == 0 {
		opt.DialTimeout = 5 * time.Second
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = 10 * time.Second
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestGoRedisStringsAndKeys(t *testing.T) {
	t.Parallel()
	p := startServer(t)
	ctx := testContext(t)
	c := p.client(t, nil)

	if got, err := c.Ping(ctx).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v; want PONG", got, err)
	}
	if got, err := c.Set(ctx, "greeting", "hello", 0).Result(); err != nil || got != "OK" {
		t.Fatalf("SET greeting hello = %q, %v; want OK", got, err)
	}
	if got, err := c.Get(ctx, "greeting").Result(); err != nil || got != "hello" {
		t.Errorf("GET greeting = %q, %v; want hello", got, err)
	}
	if _, err := c.Get(ctx, "missing").Result(); err != redis.Nil {
		t.Errorf("GET missing: err = %v; want redis.Nil (a nil bulk reply)", err)
	}

	for i, want := range []int64{1, 2, 3} {
		if got, err := c.Incr(ctx, "counter").Result(); err != nil || got != want {
			t.Errorf("INCR counter #%d = %d, %v; want %d", i+1, got, err, want)
		}
	}
	if _, err := c.Incr(ctx, "greeting").Result(); err == nil || err.Error() != "ERR value is not an integer or out of range" {
		t.Errorf("INCR on a non-integer: err = %v; want ERR value is not an integer or out of range", err)
	}

	if got, err := c.TTL(ctx, "greeting").Result(); err != nil || got != -1 {
		t.Errorf("TTL of a key without expiry = %v, %v; want -1 (as a Duration: %v)", got, err, time.Duration(-1))
	}
	if got, err := c.TTL(ctx, "missing").Result(); err != nil || got != -2 {
		t.Errorf("TTL of a missing key = %v, %v; want -2 (as a Duration: %v)", got, err, time.Duration(-2))
	}
	if got, err := c.Expire(ctx, "greeting", 100*time.Second).Result(); err != nil || !got {
		t.Errorf("EXPIRE greeting 100 = %v, %v; want true", got, err)
	}
	if got, err := c.Expire(ctx, "missing", 100*time.Second).Result(); err != nil || got {
		t.Errorf("EXPIRE missing 100 = %v, %v; want false", got, err)
	}
	if got, err := c.TTL(ctx, "greeting").Result(); err != nil || got <= 90*time.Second || got > 100*time.Second {
		t.Errorf("TTL greeting after EXPIRE 100 = %v, %v; want in (90s, 100s]", got, err)
	}
	// A key with a 1 ms expiry is gone once 1 ms has passed: wait on the
	// clock, which is the thing under test, and bound the wait.
	if err := c.Set(ctx, "short", "v", time.Millisecond).Err(); err != nil {
		t.Errorf("SET short v PX 1: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := c.Exists(ctx, "short").Result()
		if err != nil {
			t.Errorf("EXISTS short: %v", err)
			break
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("key with PX 1 still exists after 5s")
			break
		}
		time.Sleep(5 * time.Millisecond)
	}

	if got, err := c.MSet(ctx, "k1", "v1", "k2", "v2", "k3", "v3").Result(); err != nil || got != "OK" {
		t.Errorf("MSET = %q, %v; want OK", got, err)
	}
	got, err := c.MGet(ctx, "k1", "nosuchkey", "k3").Result()
	if err != nil {
		t.Errorf("MGET: %v", err)
	} else if fmt.Sprint(got) != fmt.Sprint([]any{"v1", nil, "v3"}) {
		t.Errorf("MGET k1 nosuchkey k3 = %v; want [v1 <nil> v3]", got)
	}

	if got, err := c.Del(ctx, "k1", "k2", "nosuchkey").Result(); err != nil || got != 2 {
		t.Errorf("DEL k1 k2 nosuchkey = %d, %v; want 2", got, err)
	}
	if _, err := c.Get(ctx, "k1").Result(); err != redis.Nil {
		t.Errorf("GET k1 after DEL: err = %v; want redis.Nil", err)
	}

	// Wrong arity and unknown commands get Redis's error strings.
	if err := c.Do(ctx, "get").Err(); err == nil || err.Error() != "ERR wrong number of arguments for 'get' command" {
		t.Errorf("GET without a key: err = %v; want ERR wrong number of arguments for 'get' command", err)
	}
	if err := c.Do(ctx, "nosuchcommand", "x").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR unknown command 'nosuchcommand'") {
		t.Errorf("unknown command: err = %v; want ERR unknown command 'nosuchcommand', with args beginning with: 'x' ", err)
	}
}

func TestGoRedisRESP2(t *testing.T) {
	t.Parallel()
	p := startServer(t)
	ctx := testContext(t)
	c := p.client(t, &redis.Options{Protocol: 2})
	if err := c.Set(ctx, "a", "1", 0).Err(); err != nil {
		t.Fatalf("SET over RESP2: %v", err)
	}
	if got, err := c.IncrBy(ctx, "a", 41).Result(); err != nil || got != 42 {
		t.Errorf("INCRBY a 41 over RESP2 = %d, %v; want 42", got, err)
	}
}

func TestSelectDatabase(t *testing.T) {
	t.Parallel()
	p := startServer(t)
	ctx := testContext(t)
	db0 := p.client(t, nil)
	db1 := p.client(t, &redis.Options{DB: 1}) // go-redis sends SELECT 1 on connect

	if err := db1.Set(ctx, "where", "db1", 0).Err(); err != nil {
		t.Fatalf("SET in db 1: %v", err)
	}
	if got, err := db1.Get(ctx, "where").Result(); err != nil || got != "db1" {
		t.Errorf("GET in db 1 = %q, %v; want db1", got, err)
	}
	if _, err := db0.Get(ctx, "where").Result(); err != redis.Nil {
		t.Errorf("GET in db 0 of a key set in db 1: err = %v; want redis.Nil", err)
	}
	if err := db0.Set(ctx, "where", "db0", 0).Err(); err != nil {
		t.Fatalf("SET in db 0: %v", err)
	}
	if got, err := db1.Get(ctx, "where").Result(); err != nil || got != "db1" {
		t.Errorf("GET in db 1 after SET in db 0 = %q, %v; want db1", got, err)
	}
	if err := db0.Do(ctx, "select", "16").Err(); err == nil || err.Error() != "ERR DB index is out of range" {
		t.Errorf("SELECT 16 with 16 databases: err = %v; want ERR DB index is out of range", err)
	}
}

func TestRequirePass(t *testing.T) {
	t.Parallel()
	const password = "s3cret pass"
	p := startServer(t, "--requirepass", password)
	ctx := testContext(t)

	anon := p.client(t, nil)
	if err := anon.Get(ctx, "k").Err(); err == nil || err.Error() != "NOAUTH Authentication required." {
		t.Errorf("GET before AUTH: err = %v; want NOAUTH Authentication required.", err)
	}
	if err := anon.Set(ctx, "k", "v", 0).Err(); err == nil || err.Error() != "NOAUTH Authentication required." {
		t.Errorf("SET before AUTH: err = %v; want NOAUTH Authentication required.", err)
	}

	// AUTH on one connection authenticates that connection.
	conn := anon.Conn()
	defer conn.Close()
	if err := conn.Auth(ctx, "wrong").Err(); err == nil || err.Error() != "WRONGPASS invalid username-password pair or user is disabled." {
		t.Errorf("AUTH wrong: err = %v; want WRONGPASS invalid username-password pair or user is disabled.", err)
	}
	if got, err := conn.Auth(ctx, password).Result(); err != nil || got != "OK" {
		t.Errorf("AUTH with the password = %q, %v; want OK", got, err)
	}
	if got, err := conn.Set(ctx, "k", "v", 0).Result(); err != nil || got != "OK" {
		t.Errorf("SET after AUTH = %q, %v; want OK", got, err)
	}

	// A client configured with the password authenticates on connect
	// (HELLO 3 AUTH default <password>, or AUTH when HELLO is refused).
	authed := p.client(t, &redis.Options{Password: password})
	if got, err := authed.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Errorf("GET with a password-configured client = %q, %v; want v", got, err)
	}
	authed2 := p.client(t, &redis.Options{Password: password, Protocol: 2})
	if got, err := authed2.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Errorf("GET with a password-configured RESP2 client = %q, %v; want v", got, err)
	}
}

// TestInlineCommands sends commands in Redis's inline form (a plain line,
// as telnet users type them) over a raw connection.
func TestInlineCommands(t *testing.T) {
	t.Parallel()
	p := startServer(t)
	nc, err := net.DialTimeout("tcp", p.addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(nc, "PING\r\nSET inline \"a b\"\r\nGET inline\nGET nosuchkey\r\n"); err != nil {
		t.Fatal(err)
	}
	want := "+PONG\r\n+OK\r\n$3\r\na b\r\n$-1\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatalf("reading replies to inline commands: %v (got %q so far)", err, got)
	}
	if string(got) != want {
		t.Errorf("replies to inline commands = %q; want %q", got, want)
	}
}

// redisCLI runs redis-cli against p with args and stdin, and returns its
// standard output.
func redisCLI(t *testing.T, p *proc, stdin string, args ...string) string {
	t.Helper()
	cli := needTool(t, "redis-cli")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(p.port)}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("redis-cli %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func TestRedisCLI(t *testing.T) {
	t.Parallel()
	needTool(t, "redis-cli")
	p := startServer(t)

	if got := redisCLI(t, p, "", "set", "a", "b"); got != "OK\n" {
		t.Errorf("redis-cli set a b printed %q; want \"OK\\n\"", got)
	}
	if got := redisCLI(t, p, "", "get", "a"); got != "b\n" {
		t.Errorf("redis-cli get a printed %q; want \"b\\n\"", got)
	}
	// Commands piped to redis-cli one a line, as in `echo ... | redis-cli`;
	// without a terminal it prints raw replies.
	session := "ping\nset n 10\nincrby n 5\nget n\nmget a n nokey\nexists a nokey\ndel a\nget a\n"
	want := "PONG\nOK\n15\n15\nb\n15\n\n1\n1\n\n"
	if got := redisCLI(t, p, session); got != want {
		t.Errorf("redis-cli piped session printed %q; want %q", got, want)
	}
	// An error reply comes out on stdout, as "ERR ..." text.
	if got := redisCLI(t, p, "", "incr", "nosuch", "extra"); !strings.Contains(got, "ERR wrong number of arguments for 'incr' command") {
		t.Errorf("redis-cli incr with 2 args printed %q; want the wrong-number-of-arguments error", got)
	}
}

func TestRedisBenchmark(t *testing.T) {
	t.Parallel()
	bench := needTool(t, "redis-benchmark")
	p := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bench, "-h", "127.0.0.1", "-p", strconv.Itoa(p.port),
		"-q", "-t", "set,get,incr,mset,ping", "-n", "2000", "-c", "10")
	out, err := cmd.CombinedOutput()
	t.Logf("redis-benchmark output:\n%s", out)
	if err != nil {
		t.Fatalf("redis-benchmark: %v", err)
	}
	lower := strings.ToLower(string(out))
	if strings.Contains(string(out), "ERR") || strings.Contains(lower, "error") {
		t.Errorf("redis-benchmark output reports errors:\n%s", out)
	}
	// With -q each test ends in one line "NAME: N requests per second, …"
	// (progress lines before it end in \r).
	lines := strings.FieldsFunc(string(out), func(r rune) bool { return r == '\r' || r == '\n' })
	for _, test := range []string{"PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"} {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), test+": ") && strings.Contains(l, "requests per second") {
				found = true
			}
		}
		if !found {
			t.Errorf("redis-benchmark output has no result line for %s", test)
		}
	}
}

func TestConfigFile(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "nested", "data")
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		conf := filepath.Join(t.TempDir(), "redis.conf")
		text := fmt.Sprintf("# a redis.conf-style file\nbind 127.0.0.1\nport %d\n\ndir %q\ndatabases 4\nloglevel notice\n", port, dataDir)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		p := spawn(t, port, conf)
		if lastErr = p.waitReady(); lastErr != nil {
			if strings.Contains(p.log(), "address already in use") {
				continue
			}
			t.Fatal(lastErr)
		}
		if !strings.Contains(p.log(), fmt.Sprintf("127.0.0.1:%d", port)) {
			t.Errorf("ready line does not name the address 127.0.0.1:%d; stderr:\n%s", port, p.log())
		}
		if fi, err := os.Stat(dataDir); err != nil || !fi.IsDir() {
			t.Errorf("data directory %s from the config file was not created: %v", dataDir, err)
		}
		ctx := testContext(t)
		c := p.client(t, nil)
		if got, err := c.Ping(ctx).Result(); err != nil || got != "PONG" {
			t.Errorf("PING = %q, %v; want PONG", got, err)
		}
		if got, err := c.ConfigGet(ctx, "databases").Result(); err != nil || got["databases"] != "4" {
			t.Errorf("CONFIG GET databases = %v, %v; want map[databases:4]", got, err)
		}
		if err := c.Do(ctx, "select", "4").Err(); err == nil || err.Error() != "ERR DB index is out of range" {
			t.Errorf("SELECT 4 with databases 4: err = %v; want ERR DB index is out of range", err)
		}
		return
	}
	t.Fatal(lastErr)
}

// runToExit runs the binary with args and returns its exit code, stdout and
// stderr; it must exit on its own within the deadline.
func runToExit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exitDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, serverBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("cairn-server %s did not exit within %v; stderr:\n%s", strings.Join(args, " "), exitDeadline, stderr.String())
	}
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running cairn-server: %v", err)
		}
		code = ee.ExitCode()
	}
	return code, stdout.String(), stderr.String()
}

func TestConfigFileUnknownDirective(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "bad.conf")
	text := fmt.Sprintf("port %d\n# comment\nno-such-directive yes\n", freePort(t))
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runToExit(t, conf, "--dir", t.TempDir())
	if code == 0 {
		t.Errorf("exit status 0 with an unknown directive; want non-zero")
	}
	if !strings.Contains(stderr, conf+":3") || !strings.Contains(stderr, "no-such-directive") {
		t.Errorf("stderr does not name %s:3 and the directive:\n%s", conf, stderr)
	}
	if strings.Contains(stderr, "ready to accept connections") {
		t.Errorf("server started despite the bad config file:\n%s", stderr)
	}
}

func TestBadArguments(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--port", "notaport"},
		{"--port", "70000"},
		{"--no-such-option", "1"},
		{"--loglevel", "loud"},
		{filepath.Join(t.TempDir(), "missing.conf")},
	} {
		code, _, stderr := runToExit(t, append(args, "--dir", t.TempDir())...)
		if code != 1 {
			t.Errorf("cairn-server %s: exit status %d; want 1", strings.Join(args, " "), code)
		}
		if strings.TrimSpace(stderr) == "" {
			t.Errorf("cairn-server %s: nothing on stderr", strings.Join(args, " "))
		}
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"--help", "-h"} {
		code, stdout, _ := runToExit(t, flag)
		if code != 0 {
			t.Errorf("cairn-server %s: exit status %d; want 0", flag, code)
		}
		for _, opt := range []string{"--port", "--bind", "--dir", "--databases", "--requirepass", "--loglevel"} {
			if !strings.Contains(stdout, opt) {
				t.Errorf("cairn-server %s does not list %s:\n%s", flag, opt, stdout)
			}
		}
	}
}

func TestSignalShutdown(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			p := startServer(t)
			ctx := testContext(t)
			c := p.client(t, nil)
			if err := c.Ping(ctx).Err(); err != nil {
				t.Errorf("PING: %v", err)
			}
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := p.waitExit(t); code != 0 {
				t.Errorf("exit status after %v = %d; want 0; stderr:\n%s", sig, code, p.log())
			}
			if !strings.Contains(p.log(), "shutting down") {
				t.Errorf("no shutdown line in the log after %v:\n%s", sig, p.log())
			}
		})
	}
}

func TestShutdownCommand(t *testing.T) {
	t.Parallel()
	p := startServer(t)
	ctx := testContext(t)
	// No retries: a retried SHUTDOWN would only meet a closed port.
	c := p.client(t, &redis.Options{MaxRetries: -1})
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Errorf("SET: %v", err)
	}
	// Redis closes the connection without a reply; go-redis turns that EOF
	// into success. A reply of any kind (an error included) means the server
	// did not shut down.
	if err := c.Shutdown(ctx).Err(); err != nil {
		var netErr net.Error
		if !errors.As(err, &netErr) && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("SHUTDOWN: %v; want the connection closed without a reply", err)
		}
	}
	if code := p.waitExit(t); code != 0 {
		t.Errorf("exit status after SHUTDOWN = %d; want 0", code)
	}
	if !strings.Contains(p.log(), "shutting down") {
		t.Errorf("no shutdown line in the log after SHUTDOWN:\n%s", p.log())
	}
}

// TestDefaults checks what the README promises for a bare
// `go run ./tools/cairn-server` (which the tests may not start: port 6379
// belongs to the developer).
func TestDefaults(t *testing.T) {
	cfg, err := server.ParseArgs(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 6379 || !slices.Equal(cfg.Bind, []string{"127.0.0.1"}) || cfg.Dir != "./data" {
		t.Errorf("defaults: bind %v port %d dir %q; want bind [127.0.0.1] port 6379 dir ./data", cfg.Bind, cfg.Port, cfg.Dir)
	}
}

func TestLogLevel(t *testing.T) {
	for name, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "verbose": slog.LevelDebug, "notice": slog.LevelInfo, "warning": slog.LevelWarn,
	} {
		if got := server.LogLevel(name); got != want {
			t.Errorf("server.LogLevel(%q) = %v; want %v", name, got, want)
		}
	}
}

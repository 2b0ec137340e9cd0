package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parseRESP splits a RESP command stream into commands.
func parseRESP(t *testing.T, b []byte) [][]string {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(b))
	var cmds [][]string
	line := func() string {
		s, err := r.ReadString('\n')
		if err != nil || !strings.HasSuffix(s, "\r\n") {
			t.Fatalf("bad RESP line %q: %v", s, err)
		}
		return s[:len(s)-2]
	}
	for {
		if _, err := r.Peek(1); err == io.EOF {
			return cmds
		}
		h := line()
		n, err := strconv.Atoi(strings.TrimPrefix(h, "*"))
		if h[0] != '*' || err != nil {
			t.Fatalf("bad array header %q", h)
		}
		var cmd []string
		for range n {
			l, err := strconv.Atoi(strings.TrimPrefix(line(), "$"))
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, l+2)
			if _, err := io.ReadFull(r, buf); err != nil || string(buf[l:]) != "\r\n" {
				t.Fatalf("bad bulk string: %v", err)
			}
			cmd = append(cmd, string(buf[:l]))
		}
		cmds = append(cmds, cmd)
	}
}

func TestExport(t *testing.T) {
	td := buildData(t, -1, 0, 0)
	res := runTool(t, "export", "--format", "resp", td.dir)
	res.want(t, exitOK)
	if !strings.Contains(res.stderr, "exported 10 keys") || !strings.Contains(res.stderr, "left out: 1 expired keys, 1 empty collections") {
		t.Fatalf("stderr %q", res.stderr)
	}
	cmds := parseRESP(t, []byte(res.stdout))
	byKey := map[string][][]string{}
	selects := 0
	db := -1
	for _, c := range cmds {
		switch c[0] {
		case "SELECT":
			selects++
			db, _ = strconv.Atoi(c[1])
		case "SET", "RPUSH", "SADD", "HSET", "ZADD", "PEXPIREAT":
			byKey[fmt.Sprintf("%d/%s", db, c[1])] = append(byKey[fmt.Sprintf("%d/%s", db, c[1])], c)
		default:
			t.Fatalf("command %q", c)
		}
	}
	if selects < 2 || cmds[0][0] != "SELECT" {
		t.Fatalf("%d SELECTs; first command %q", selects, cmds[0])
	}
	for _, gone := range []string{"0/old", "3/emptyl"} {
		if byKey[gone] != nil {
			t.Fatalf("%s exported: %q", gone, byKey[gone])
		}
	}
	big := byKey["0/biglist"]
	if len(big) != 4 || len(big[0]) != 2+512 || len(big[1]) != 2+512 || len(big[2]) != 2+276 ||
		!slices.Equal(big[3], []string{"PEXPIREAT", "biglist", strconv.FormatInt(testNow.Add(2*time.Hour).UnixMilli(), 10)}) {
		t.Fatalf("biglist: %d commands", len(big))
	}
	if want := bigList(1300); !slices.Equal(append(append(big[0][2:], big[1][2:]...), big[2][2:]...), want) {
		t.Fatal("biglist's elements differ")
	}
	for key, want := range map[string][]string{
		"0/str":        {"SET", "str", "hello\nworld"},
		"0/bin\x00key": {"SET", "bin\x00key", "\x01\xff"},
		"0/zset":       {"ZADD", "zset", "-inf", "m2", "0.1", "m4", "1.5", "m1", "1e+300", "m5", "inf", "m3"},
		"0/hash":       {"HSET", "hash", "f1", "v1", "f2", "v2"},
		"0/set":        {"SADD", "set", "x", "y"},
		"3/h3":         {"HSET", "h3", "a", "1"},
	} {
		if got := byKey[key]; len(got) == 0 || !slices.Equal(got[0], want) {
			t.Fatalf("%s: %q, want %q", key, got, want)
		}
	}
	// --db 3: that database only.
	res = runTool(t, "export", "--db", "3", "--format", "resp", td.snap)
	res.want(t, exitOK)
	cmds = parseRESP(t, []byte(res.stdout))
	if len(cmds) != 5 || !slices.Equal(cmds[0], []string{"SELECT", "3"}) {
		t.Fatalf("--db 3: %q", cmds)
	}
}

// redisServer is a redis-server the test started on a loopback port.
type redisServer struct {
	cmd  *exec.Cmd
	port string
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := os.Stat("/usr/bin/redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	dir := t.TempDir()
	cmd := exec.Command("/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rs := &redisServer{cmd: cmd, port: port}
	t.Cleanup(func() {
		cmd.Process.Kill() // by PID: the process this test started
		cmd.Wait()
	})
	// Poll PING until the server answers.
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if out, err := rs.cli(nil, "PING"); err == nil && strings.TrimSpace(out) == "PONG" {
			return rs
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("redis-server on port %s does not answer PING:\n%s", port, log)
		}
		<-tick.C
	}
}

// cli runs redis-cli against the server, with stdin if not nil.
func (rs *redisServer) cli(stdin []byte, args ...string) (string, error) {
	c := exec.Command("redis-cli", append([]string{"-h", "127.0.0.1", "-p", rs.port}, args...)...)
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	out, err := c.CombinedOutput()
	return string(out), err
}

func (rs *redisServer) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := rs.cli(nil, args...)
	if err != nil {
		t.Fatalf("redis-cli %q: %v\n%s", args, err, out)
	}
	return strings.TrimRight(out, "\n")
}

// TestExportIntoRedis pipes an export into a real redis-server and reads
// the data back with redis-cli.
func TestExportIntoRedis(t *testing.T) {
	rs := startRedis(t)
	// TTLs are real here: measure them from now.
	defer func(old func() time.Time, oldNow time.Time) { now, testNow = old, oldNow }(now, testNow)
	testNow = time.Now()
	now = time.Now
	snap := writeTestSnapshot(t, filepath.Join(t.TempDir(), "snapshots"))
	res := runTool(t, "export", "--format", "resp", snap)
	res.want(t, exitOK)
	out, err := rs.cli([]byte(res.stdout), "--pipe")
	if err != nil || !strings.Contains(out, "errors: 0") {
		t.Fatalf("redis-cli --pipe: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0", "DBSIZE"}, "8"},
		{[]string{"-n", "3", "DBSIZE"}, "2"},
		{[]string{"-n", "0", "GET", "str"}, "hello\nworld"},
		{[]string{"-n", "0", "TYPE", "biglist"}, "list"},
		{[]string{"-n", "0", "LLEN", "biglist"}, "1300"},
		{[]string{"-n", "0", "LINDEX", "biglist", "1299"}, bigList(1300)[1299]},
		{[]string{"-n", "0", "LRANGE", "list", "0", "-1"}, "a\nb\nc"},
		{[]string{"-n", "0", "TYPE", "set"}, "set"},
		{[]string{"-n", "0", "SISMEMBER", "set", "y"}, "1"},
		{[]string{"-n", "0", "HGETALL", "hash"}, "f1\nv1\nf2\nv2"},
		{[]string{"-n", "0", "ZRANGE", "zset", "0", "-1"}, "m2\nm4\nm1\nm5\nm3"},
		{[]string{"-n", "0", "ZSCORE", "zset", "m3"}, "inf"},
		{[]string{"-n", "0", "ZSCORE", "zset", "m2"}, "-inf"},
		{[]string{"-n", "0", "EXISTS", "old"}, "0"},
		{[]string{"-n", "3", "HGET", "h3", "a"}, "1"},
		{[]string{"-n", "3", "EXISTS", "emptyl"}, "0"},
		{[]string{"-n", "0", "PTTL", "str"}, "-1"},
	} {
		if got := rs.must(t, tc.args...); got != tc.want {
			t.Fatalf("redis-cli %q: %q, want %q", tc.args, got, tc.want)
		}
	}
	// Scores round-trip exactly.
	for m, want := range map[string]float64{"m4": 0.1, "m1": 1.5, "m5": 1e300} {
		got, err := strconv.ParseFloat(rs.must(t, "-n", "0", "ZSCORE", "zset", m), 64)
		if err != nil || got != want {
			t.Fatalf("ZSCORE %s: %v (%v), want %v", m, got, err, want)
		}
	}
	// A binary key and value (redis-cli prints them raw when not a tty).
	if got := rs.must(t, "-n", "0", "KEYS", "bin*"); got != "bin\x00key" {
		t.Fatalf("KEYS bin*: %q", got)
	}
	// Expiries: PTTL about what was set, measured from now.
	for key, want := range map[string]time.Duration{"ttl:1": 30 * time.Second, "biglist": 2 * time.Hour} {
		ms, err := strconv.ParseInt(rs.must(t, "-n", "0", "PTTL", key), 10, 64)
		if err != nil || ms <= 0 || ms > want.Milliseconds() || ms < want.Milliseconds()-60000 {
			t.Fatalf("PTTL %s: %d (%v), want about %d", key, ms, err, want.Milliseconds())
		}
	}
}

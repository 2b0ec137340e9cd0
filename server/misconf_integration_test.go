package server_test

// A real server over an engine whose write-ahead log lives on an in-memory
// filesystem that fails on demand (vfs.NewError over vfs.NewMem): a failing
// disk must refuse writes with Redis's -MISCONF error, keep serving reads,
// never acknowledge a write it could not make durable, and resume by itself
// once the disk works again. And WAITAOF.

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cairn-db/cairn/engine"
	"github.com/cairn-db/cairn/internal/resptest"
	"github.com/cairn-db/cairn/server"
	"github.com/cairn-db/cairn/vfs"
	"github.com/cairn-db/cairn/wal"
)

const misconfWALDir = "/data/wal"

var misconfQuiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// misconfEngine opens and loads an engine whose log is on fs.
func misconfEngine(t *testing.T, fs vfs.FS, policy wal.SyncPolicy) *engine.Engine {
	t.Helper()
	eng, err := engine.Open(engine.Options{Logger: misconfQuiet,
		WAL: &wal.Options{FS: fs, Dir: misconfWALDir, Sync: policy, Logger: misconfQuiet}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Load(); err != nil {
		eng.Close()
		t.Fatal(err)
	}
	return eng
}

// misconfServe runs a server over eng (nil: the server's own, memory-only
// engine) on a random loopback port, with cfg edited by edit.
func misconfServe(t *testing.T, eng *engine.Engine, edit func(*server.Config)) string {
	t.Helper()
	cfg := server.DefaultConfig()
	if edit != nil {
		edit(cfg)
	}
	return serve(t, server.Options{Config: cfg, Engine: eng, Logger: misconfQuiet})
}

func misconfDial(t *testing.T, addr string) *resptest.Client {
	t.Helper()
	c, err := resptest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 5 * time.Second
	t.Cleanup(func() { c.Close() })
	return c
}

// misconfDo sends a command that must be answered, and returns the reply.
func misconfDo(t *testing.T, c *resptest.Client, args ...string) string {
	t.Helper()
	r, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return string(r)
}

// misconfClosedWithoutReply reports whether err means the server closed
// the connection before replying (not a timeout).
func misconfClosedWithoutReply(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset")
}

// misconfGet reads key from db 0 of a recovered engine.
func misconfGet(t *testing.T, eng *engine.Engine, key string) (string, bool) {
	t.Helper()
	var val string
	var found bool
	err := eng.View([][]byte{[]byte(key)}, func(tx *engine.Tx) error {
		v, ok, err := tx.Get(0, []byte(key))
		val, found = string(v), ok
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return val, found
}

// TestMisconfWhileLogFails: under appendfsync always, once the log's writes
// or fsyncs fail, a write is answered with exactly Redis's
// "-MISCONF Errors writing to the AOF file: <strerror>" (or, for the write
// already in flight when the disk failed, the connection is closed with no
// reply: never +OK); reads go on; after the disk heals, writes are accepted
// again without a restart; a power loss then keeps every acknowledged write
// and none of the refused ones.
func TestMisconfWhileLogFails(t *testing.T) {
	cases := []struct {
		name string
		err  error
		ops  []vfs.Op
		text string // strerror of the injected errno (server/errors.go errnoText)
	}{
		{"fsync ENOSPC", vfs.ErrENOSPC, []vfs.Op{vfs.OpSync}, "No space left on device"},
		{"write ENOSPC", vfs.ErrENOSPC, []vfs.Op{vfs.OpWrite}, "No space left on device"},
		{"write+fsync EIO", vfs.ErrEIO, []vfs.Op{vfs.OpWrite, vfs.OpSync}, "Input/output error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			misconf := "-MISCONF Errors writing to the AOF file: " + tc.text + "\r\n"
			mem := vfs.NewMem()
			tog := &vfs.Toggle{}
			eng := misconfEngine(t, vfs.NewError(mem, tog), wal.SyncAlways)
			addr := misconfServe(t, eng, func(c *server.Config) { c.AppendFsync = "always" })

			c := misconfDial(t, addr)
			if r := misconfDo(t, c, "SET", "before", "v0"); r != "+OK\r\n" {
				t.Fatalf("SET on a healthy disk: %q", r)
			}

			tog.Fail(tc.err, tc.ops...)
			// The first write may already be executing when the log learns
			// of the failure: it must not be acknowledged.
			r, err := c.Do("SET", "inflight", "v1")
			switch {
			case err == nil && string(r) == misconf:
				t.Log("the first write after the failure was refused with MISCONF")
			case err != nil && misconfClosedWithoutReply(err):
				t.Logf("the first write after the failure was in flight: connection closed without a reply (%v)", err)
				c = misconfDial(t, addr)
			case err != nil:
				t.Fatalf("first SET while the disk fails: %v (want %q or the connection closed)", err, misconf)
			default:
				t.Fatalf("first SET while the disk fails: %q, want %q or the connection closed without a reply", r, misconf)
			}

			// From now on, every write is refused with exactly MISCONF.
			refused := [][]string{
				{"SET", "refused1", "x"},
				{"INCR", "refused2"},
				{"MSET", "refused3", "a", "refused4", "b"},
				{"DEL", "before"},
				{"APPEND", "before", "zzz"},
				{"EXPIRE", "before", "1"},
			}
			for _, cmd := range refused {
				if r := misconfDo(t, c, cmd...); r != misconf {
					t.Fatalf("%q while the disk fails: %q, want %q", cmd, r, misconf)
				}
			}
			// And PING, as Redis answers a health check.
			if r := misconfDo(t, c, "PING"); r != misconf {
				t.Fatalf("PING while the disk fails: %q, want %q", r, misconf)
			}
			// The log's own retries fail as well: two more failures.
			f0 := eng.LogStats().Failures
			for deadline := time.Now().Add(10 * time.Second); eng.LogStats().Failures < f0+2; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the log stopped retrying (%d failures)", eng.LogStats().Failures)
				}
			}
			if r := misconfDo(t, c, "SET", "refused5", "y"); r != misconf {
				t.Fatalf("SET after the log's retries failed: %q, want %q", r, misconf)
			}
			// Reads are served.
			if r := misconfDo(t, c, "GET", "before"); r != "$2\r\nv0\r\n" {
				t.Fatalf("GET while the disk fails: %q", r)
			}
			if r := misconfDo(t, c, "EXISTS", "refused1"); r != ":0\r\n" {
				t.Fatalf("EXISTS of a refused key: %q", r)
			}
			if r := misconfDo(t, c, "INFO", "persistence"); !strings.Contains(r, "aof_last_write_status:err\r\n") {
				t.Fatalf("INFO persistence while the disk fails lacks aof_last_write_status:err:\n%s", r)
			}

			tog.Heal()
			deadline := time.Now().Add(10 * time.Second)
			for {
				r := misconfDo(t, c, "SET", "after", "v3")
				if r == "+OK\r\n" {
					break
				}
				if r != misconf {
					t.Fatalf("SET after the disk healed: %q, want +OK (or %q until the log heals)", r, misconf)
				}
				if time.Now().After(deadline) {
					t.Fatal("writes still refused 10 s after the disk healed")
				}
				time.Sleep(10 * time.Millisecond) // polling the observable condition
			}
			if r := misconfDo(t, c, "GET", "after"); r != "$2\r\nv3\r\n" {
				t.Fatalf("GET after healing: %q", r)
			}
			if r := misconfDo(t, c, "INFO", "persistence"); !strings.Contains(r, "aof_last_write_status:ok\r\n") {
				t.Fatalf("INFO persistence after healing lacks aof_last_write_status:ok:\n%s", r)
			}

			// Power loss: the acknowledged writes are there, the refused
			// ones never were.
			rec := misconfEngine(t, mem.CrashClone(vfs.CrashOptions{}), wal.SyncAlways)
			defer rec.Close()
			for k, want := range map[string]string{"before": "v0", "after": "v3"} {
				if v, ok := misconfGet(t, rec, k); !ok || v != want {
					t.Errorf("after a power loss %q = %q (found %v), want %q", k, v, ok, want)
				}
			}
			for _, k := range []string{"refused1", "refused2", "refused3", "refused4", "refused5"} {
				if v, ok := misconfGet(t, rec, k); ok {
					t.Errorf("after a power loss the refused key %q exists (= %q)", k, v)
				}
			}
		})
	}
}

// TestMisconfHealsWithoutNewWrites: under appendfsync everysec and no, a
// write is answered before any fsync; the fsync that fails is the one
// WAITAOF forces. Writes are then refused with -MISCONF, and so nothing new
// reaches the log: after the disk heals, the server must still resume
// accepting writes by itself.
func TestMisconfHealsWithoutNewWrites(t *testing.T) {
	for _, policy := range []wal.SyncPolicy{wal.SyncEverySec, wal.SyncNo} {
		t.Run(policy.String(), func(t *testing.T) {
			const misconf = "-MISCONF Errors writing to the AOF file: Input/output error\r\n"
			mem := vfs.NewMem()
			tog := &vfs.Toggle{}
			eng := misconfEngine(t, vfs.NewError(mem, tog), policy)
			addr := misconfServe(t, eng, func(c *server.Config) { c.AppendFsync = policy.String() })
			c := misconfDial(t, addr)
			if r := misconfDo(t, c, "SET", "a", "1"); r != "+OK\r\n" {
				t.Fatalf("SET: %q", r)
			}
			tog.Fail(vfs.ErrEIO, vfs.OpSync)
			if r := misconfDo(t, c, "SET", "b", "2"); r != "+OK\r\n" {
				t.Fatalf("SET under %v before any fsync fails: %q", policy, r)
			}
			if r := misconfDo(t, c, "WAITAOF", "1", "0", "0"); r != "*2\r\n:0\r\n:0\r\n" {
				t.Fatalf("WAITAOF 1 0 0 while fsyncs fail: %q, want [0, 0]", r)
			}
			if r := misconfDo(t, c, "SET", "c", "3"); r != misconf {
				t.Fatalf("SET after a failed fsync: %q, want %q", r, misconf)
			}
			if r := misconfDo(t, c, "GET", "a"); r != "$1\r\n1\r\n" {
				t.Fatalf("GET while the disk fails: %q", r)
			}
			tog.Heal()
			start := time.Now()
			deadline := start.Add(5 * time.Second)
			for {
				r := misconfDo(t, c, "SET", "d", "4")
				if r == "+OK\r\n" {
					break
				}
				if r != misconf {
					t.Fatalf("SET after the disk healed: %q", r)
				}
				if time.Now().After(deadline) {
					t.Fatalf("appendfsync %v: writes still refused with MISCONF 5 s after the disk healed (the log retries every 100 ms)", policy)
				}
				time.Sleep(10 * time.Millisecond) // polling the observable condition
			}
			t.Logf("writes accepted again %v after the disk healed", time.Since(start).Round(time.Millisecond))
			if r := misconfDo(t, c, "WAITAOF", "1", "0", "0"); r != "*2\r\n:1\r\n:0\r\n" {
				t.Fatalf("WAITAOF 1 0 0 after healing: %q, want [1, 0]", r)
			}
			rec := misconfEngine(t, mem.CrashClone(vfs.CrashOptions{}), policy)
			defer rec.Close()
			for k, want := range map[string]string{"a": "1", "b": "2", "d": "4"} {
				if v, ok := misconfGet(t, rec, k); !ok || v != want {
					t.Errorf("after WAITAOF and a power loss %q = %q (found %v), want %q", k, v, ok, want)
				}
			}
			if _, ok := misconfGet(t, rec, "c"); ok {
				t.Error("after a power loss the refused key c exists")
			}
		})
	}
}

// TestWaitAOF: WAITAOF 1 0 0 after a write answers [1, 0] under everysec,
// and then the write survives a power loss; while fsyncs fail it does not
// claim the write local ([0, 0]); without a log, numlocal > 0 is Redis's
// error.
func TestWaitAOF(t *testing.T) {
	t.Run("everysec", func(t *testing.T) {
		mem := vfs.NewMem()
		tog := &vfs.Toggle{}
		eng := misconfEngine(t, vfs.NewError(mem, tog), wal.SyncEverySec)
		addr := misconfServe(t, eng, func(c *server.Config) { c.AppendFsync = "everysec" })
		c := misconfDial(t, addr)
		if r := misconfDo(t, c, "SET", "a", "1"); r != "+OK\r\n" {
			t.Fatalf("SET: %q", r)
		}
		start := time.Now()
		if r := misconfDo(t, c, "WAITAOF", "1", "0", "0"); r != "*2\r\n:1\r\n:0\r\n" {
			t.Fatalf("WAITAOF 1 0 0 after a write: %q, want [1, 0]", r)
		}
		t.Logf("WAITAOF 1 0 0 under everysec answered in %v", time.Since(start).Round(time.Millisecond))
		// [1, 0] means fsynced: a power loss right now keeps the write.
		img := mem.CrashClone(vfs.CrashOptions{})
		rec := misconfEngine(t, img, wal.SyncEverySec)
		if v, ok := misconfGet(t, rec, "a"); !ok || v != "1" {
			t.Fatalf("WAITAOF said fsynced, but after a power loss a = %q (found %v)", v, ok)
		}
		rec.Close()

		// Fsyncs fail: a write under everysec is still answered (nothing
		// fsyncs it yet), but WAITAOF must not count it as local.
		tog.Fail(vfs.ErrEIO, vfs.OpSync)
		if r := misconfDo(t, c, "SET", "b", "2"); r != "+OK\r\n" && !strings.HasPrefix(r, "-MISCONF ") {
			t.Fatalf("SET under everysec as fsyncs start failing: %q", r)
		}
		if r := misconfDo(t, c, "WAITAOF", "1", "0", "200"); r != "*2\r\n:0\r\n:0\r\n" {
			t.Fatalf("WAITAOF 1 0 200 while fsyncs fail: %q, want [0, 0]", r)
		}
		tog.Heal()
		start = time.Now()
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := misconfDo(t, c, "WAITAOF", "1", "0", "0")
			if r == "*2\r\n:1\r\n:0\r\n" {
				break
			}
			if r != "*2\r\n:0\r\n:0\r\n" {
				t.Fatalf("WAITAOF after healing: %q", r)
			}
			if time.Now().After(deadline) {
				t.Fatal("WAITAOF still [0, 0] 10 s after the disk healed")
			}
			time.Sleep(10 * time.Millisecond) // polling the observable condition
		}
		t.Logf("WAITAOF answered [1, 0] %v after the disk healed", time.Since(start).Round(time.Millisecond))
	})
	t.Run("appendonly no", func(t *testing.T) {
		addr := misconfServe(t, nil, func(c *server.Config) { c.AppendOnly = false })
		c := misconfDial(t, addr)
		if r := misconfDo(t, c, "SET", "a", "1"); r != "+OK\r\n" {
			t.Fatalf("SET: %q", r)
		}
		const want = "-ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.\r\n"
		if r := misconfDo(t, c, "WAITAOF", "1", "0", "0"); r != want {
			t.Fatalf("WAITAOF 1 0 0 without appendonly: %q, want %q", r, want)
		}
		if r := misconfDo(t, c, "WAITAOF", "0", "0", "0"); r != "*2\r\n:0\r\n:0\r\n" {
			t.Fatalf("WAITAOF 0 0 0 without appendonly: %q, want [0, 0]", r)
		}
	})
}

// misconfBgsave is redis-server 7.0's reply to a write while its latest
// snapshot failed (stop-writes-on-bgsave-error), as it printed it.
const misconfBgsave = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. " +
	"Commands that may modify the data set are disabled, because this instance is configured to report errors " +
	"during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). " +
	"Please check the Redis logs for details about the RDB error.\r\n"

// TestMisconfWhileSnapshotsFail: with save rules set, once a snapshot
// fails, writes and PING are answered with Redis's
// stop-writes-on-bgsave-error -MISCONF (a write queued in MULTI then makes
// EXEC abort, a script's write fails with it) and reads go on;
// stop-writes-on-bgsave-error no, or no save rules, lets writes through;
// a snapshot that succeeds ends it.
func TestMisconfWhileSnapshotsFail(t *testing.T) {
	tog := &vfs.Toggle{}
	eng, err := engine.Open(engine.Options{Logger: misconfQuiet, Snapshots: &engine.SnapshotOptions{
		FS: vfs.NewError(vfs.NewMem(), tog), Dir: "/data", Rules: []engine.SaveRule{{Seconds: 3600, Changes: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Load(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	addr := misconfServe(t, eng, nil)
	c := misconfDial(t, addr)
	expect := func(want string, args ...string) {
		t.Helper()
		if r := misconfDo(t, c, args...); r != want {
			t.Fatalf("%q: %q, want %q", args, r, want)
		}
	}
	expect("+OK\r\n", "SET", "a", "1")
	expect("+OK\r\n", "SAVE")

	tog.Fail(vfs.ErrENOSPC, vfs.OpCreate, vfs.OpWrite, vfs.OpSync, vfs.OpRename)
	expect("-ERR\r\n", "SAVE")
	if r := misconfDo(t, c, "INFO", "persistence"); !strings.Contains(r, "rdb_last_bgsave_status:err\r\n") {
		t.Fatalf("INFO persistence after a failed snapshot lacks rdb_last_bgsave_status:err:\n%s", r)
	}
	expect(misconfBgsave, "SET", "b", "2")
	expect(misconfBgsave, "INCR", "n")
	expect(misconfBgsave, "PING")
	expect("$1\r\n1\r\n", "GET", "a")
	expect(":0\r\n", "EXISTS", "b")
	expect("+OK\r\n", "MULTI")
	expect(misconfBgsave, "SET", "b", "2")
	expect("-EXECABORT Transaction discarded because of previous errors.\r\n", "EXEC")
	if r := misconfDo(t, c, "EVAL", "return redis.call('set','b','2')", "0"); !strings.HasPrefix(r, strings.TrimSuffix(misconfBgsave, "\r\n")+" script:") {
		t.Fatalf("a script's write after a failed snapshot: %q", r)
	}

	// Off, or without save rules, writes go through (the log, when on,
	// keeps them durable); on again, with rules, they are refused again.
	expect("+OK\r\n", "CONFIG", "SET", "stop-writes-on-bgsave-error", "no")
	expect("*2\r\n$27\r\nstop-writes-on-bgsave-error\r\n$2\r\nno\r\n", "CONFIG", "GET", "stop-writes-on-bgsave-error")
	expect("+OK\r\n", "SET", "b", "2")
	expect("+PONG\r\n", "PING")
	expect("+OK\r\n", "CONFIG", "SET", "stop-writes-on-bgsave-error", "yes")
	expect(misconfBgsave, "SET", "b", "3")
	expect("+OK\r\n", "CONFIG", "SET", "save", "")
	expect("+OK\r\n", "SET", "b", "3")
	expect("+OK\r\n", "CONFIG", "SET", "save", "3600 1")
	expect(misconfBgsave, "SET", "b", "4")

	// A snapshot that succeeds ends it.
	tog.Heal()
	expect("+OK\r\n", "SAVE")
	expect("+OK\r\n", "SET", "b", "4")
	expect("+PONG\r\n", "PING")
	expect("$1\r\n4\r\n", "GET", "b")
}

package server_test

// Differential tests with several connections per side: WATCH broken (or
// not) by other clients and by expiry, and pub/sub's message order and
// shapes with subscribers and publishers on separate connections. Each
// scenario runs on redis-server and on Cairn; the transcripts must match
// step by step.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-db/cairn/internal/resptest"
)

// A scenario step is one of:
//
//	"a: CMD args"   conn a sends CMD and reads one reply
//	"a: !CMD args"  conn a sends CMD without reading
//	"a: <N"         conn a reads N replies (pushed messages, or replies of !)
//	"a: <N sorted"  the same, compared as a set (pmessages of several
//	                matching patterns come in a hash table's order)
//	"a: <none"      conn a has nothing to read (within a short wait)
//	"sleep 300ms"   time passes (expiry scenarios)
//
// Replies of PUBSUB CHANNELS are sorted (their order is a hash table's).
type connScenario struct {
	name  string
	steps []string
}

var connScenarios = []connScenario{
	{"watch broken by another client", []string{
		"a: SET k 1", "a: WATCH k", "b: SET k 2", "a: MULTI", "a: GET k", "a: EXEC", "a: GET k",
		"a: WATCH k", "b: SET other 1", "a: MULTI", "a: SET k 3", "a: EXEC", "a: GET k",
		"a: WATCH nokey", "b: DEL nokey", "a: MULTI", "a: EXEC",
		"a: WATCH nokey", "b: SET nokey 1", "a: MULTI", "a: EXEC",
		"a: WATCH k", "b: MULTI", "b: SET k 9", "b: EXEC", "a: MULTI", "a: EXEC",
		"a: WATCH k", "b: MULTI", "b: SET k 9", "b: DISCARD", "a: MULTI", "a: EXEC",
		"a: WATCH k", "b: WATCH k", "c: INCR k", "a: MULTI", "a: EXEC", "b: MULTI", "b: EXEC",
		"a: WATCH k", "b: EXPIRE k 1000", "a: MULTI", "a: EXEC",
		"a: WATCH k", "b: PERSIST k", "a: MULTI", "a: EXEC",
		"a: WATCH k", "b: PERSIST k", "a: MULTI", "a: EXEC",
		"a: WATCH k", "b: GET k", "b: EXISTS k", "b: TTL k", "a: MULTI", "a: EXEC",
	}},
	{"watch and keyspace moves by another client", []string{
		"a: SET src 1", "a: WATCH dst", "b: RENAME src dst", "a: MULTI", "a: EXEC",
		"a: WATCH dst", "b: RENAME dst src", "a: MULTI", "a: EXEC",
		"a: WATCH dst", "b: COPY src dst", "a: MULTI", "a: EXEC",
		"a: WATCH src", "b: COPY src dst2", "a: MULTI", "a: EXEC",
		"a: WATCH src", "b: MOVE src 1", "a: MULTI", "a: EXEC",
		"a: SELECT 1", "a: WATCH src", "b: SELECT 1", "b: MOVE src 0", "a: MULTI", "a: EXEC", "a: SELECT 0",
		"a: WATCH src", "b: SELECT 0", "b: FLUSHDB", "a: MULTI", "a: EXEC",
		"a: WATCH src", "b: FLUSHALL", "a: MULTI", "a: EXEC",
		"a: SET k 1", "a: SELECT 2", "a: WATCH k", "b: FLUSHDB", "a: MULTI", "a: EXEC",
		"a: WATCH k", "b: FLUSHALL", "a: MULTI", "a: EXEC", "a: SELECT 0",
	}},
	{"watch and expiry", []string{
		// Expires while watched, never read: EXEC sees it expired (or
		// reclaimed by active expiry): either way the watch is broken.
		"a: PSETEX k 100 v", "a: WATCH k", "sleep 300ms", "a: MULTI", "a: EXEC",
		// Read (and so reclaimed) by another client.
		"a: PSETEX k 100 v", "a: WATCH k", "sleep 300ms", "b: GET k", "a: MULTI", "a: EXEC",
		// Already expired when watched: its reclaiming is no change.
		"a: PSETEX k 100 v", "sleep 300ms", "a: WATCH k", "b: GET k", "a: MULTI", "a: EXEC",
		// ... but a new value is.
		"a: PSETEX k 100 v", "sleep 300ms", "a: WATCH k", "b: SET k new", "a: MULTI", "a: EXEC",
		"a: PSETEX k 100 v", "sleep 300ms", "a: WATCH k", "b: FLUSHALL", "a: MULTI", "a: EXEC",
		// A TTL far away does not break it.
		"a: SET k v EX 1000", "a: WATCH k", "sleep 100ms", "a: MULTI", "a: EXEC",
	}},
	{"pubsub shapes and counts", []string{
		"a: !SUBSCRIBE c1 c2 c1", "a: <3", "a: PSUBSCRIBE c*", "b: PUBSUB NUMSUB c1 c2 c3", "b: PUBSUB NUMPAT",
		"b: PUBSUB CHANNELS", "b: PUBSUB CHANNELS c[12]", "b: PUBSUB CHANNELS x*",
		"b: PUBLISH c1 hello", "a: <2", "b: PUBLISH c3 x", "a: <1", "b: PUBLISH zz nobody", "a: <none",
		"a: PING", "a: PING arg", "a: PING a b", "a: GET k", "a: MULTI", "a: CLIENT ID",
		"a: FOO", "a: SUBSCRIBE", "a: PSUBSCRIBE",
		"a: UNSUBSCRIBE c1", "b: PUBLISH c1 m", "a: <1", "b: PUBSUB NUMSUB c1 c2",
		"a: !UNSUBSCRIBE c9 c2", "a: <2", "a: PUNSUBSCRIBE nomatch", "a: PUNSUBSCRIBE",
		"a: UNSUBSCRIBE", "a: PUNSUBSCRIBE", "a: PING", "a: GET k", "b: PUBSUB NUMPAT", "b: PUBSUB CHANNELS",
		"b: PUBLISH c1 after",
	}},
	{"pubsub order and payloads", []string{
		"a: SUBSCRIBE ch", "c: SUBSCRIBE ch", "b: PUBLISH ch 1", "b: PUBLISH ch 2", "d: PUBLISH ch 3",
		"b: PUBLISH ch \"\"", "b: PUBLISH ch \"\\x00\\r\\n\\xff\"", "d: PUBLISH ch 6",
		"a: <6", "c: <6", "b: PUBLISH \"\\x00bin\" x", "a: <none",
		"a: !PSUBSCRIBE ? ch* *h", "a: <3", "b: PUBLISH ch m", "a: <3 sorted", "c: <1",
		"a: PUNSUBSCRIBE ch*", "b: PUBLISH ch n", "a: <2", "c: <1", "b: PUBLISH x single", "a: <1",
		"a: <none", "c: <none",
	}},
	{"pubsub with MULTI and RESET", []string{
		"a: MULTI", "a: SUBSCRIBE x", "a: PUBLISH x self", "a: EXEC", "a: <1", "b: PUBLISH x other", "a: <1",
		"a: RESET", "b: PUBSUB NUMSUB x", "b: PUBLISH x gone", "a: <none", "a: GET k",
		"b: MULTI", "b: PUBLISH x q", "b: PUBSUB NUMSUB x", "b: EXEC",
		"a: SUBSCRIBE y", "a: QUIT", "b: PUBSUB NUMSUB y",
	}},
}

// connSide runs scenarios on one server.
type connSide struct {
	name, addr string
	conns      map[string]*connClient
}

type connClient struct {
	nc net.Conn
	r  *bufio.Reader
}

func (s *connSide) conn(t *testing.T, name string) *connClient {
	if c := s.conns[name]; c != nil {
		return c
	}
	nc, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: dial: %v", s.name, err)
	}
	c := &connClient{nc: nc, r: bufio.NewReader(nc)}
	s.conns[name] = c
	return c
}

func (s *connSide) closeAll() {
	for name, c := range s.conns {
		c.nc.Close()
		delete(s.conns, name)
	}
}

// read returns the next reply, or a text naming why there is none.
func (c *connClient) read(wait time.Duration) []byte {
	c.nc.SetReadDeadline(time.Now().Add(wait))
	rep, err := resptest.ReadReply(c.r)
	var ne net.Error
	switch {
	case err == nil:
		return rep
	case errors.As(err, &ne) && ne.Timeout():
		return []byte("(nothing)")
	default:
		return []byte("(connection closed)")
	}
}

// run executes one step and returns what it read, one entry per reply.
func (s *connSide) run(t *testing.T, step string) [][]byte {
	if d, ok := strings.CutPrefix(step, "sleep "); ok {
		dur, err := time.ParseDuration(d)
		if err != nil {
			t.Fatalf("bad step %q", step)
		}
		time.Sleep(dur)
		return nil
	}
	name, rest, ok := strings.Cut(step, ": ")
	if !ok {
		t.Fatalf("bad step %q", step)
	}
	c := s.conn(t, name)
	switch {
	case rest == "<none":
		return [][]byte{c.read(200 * time.Millisecond)}
	case strings.HasPrefix(rest, "<"):
		count, sorted := strings.CutSuffix(rest[1:], " sorted")
		n, err := strconv.Atoi(count)
		if err != nil {
			t.Fatalf("bad step %q", step)
		}
		var out [][]byte
		for i := 0; i < n; i++ {
			rep := c.read(5 * time.Second)
			if rep[0] == '(' {
				t.Fatalf("%s: step %q: reply %d: %s", s.name, step, i+1, rep)
			}
			out = append(out, rep)
		}
		if sorted {
			slices.SortFunc(out, bytes.Compare)
		}
		return out
	}
	noReply := strings.HasPrefix(rest, "!")
	args, err := diffSplit(strings.TrimPrefix(rest, "!"))
	if err != nil || len(args) == 0 {
		t.Fatalf("bad step %q: %v", step, err)
	}
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(resptest.AppendCommand(nil, args...)); err != nil {
		return [][]byte{[]byte("(write failed)")}
	}
	if noReply {
		return nil
	}
	rep := c.read(5 * time.Second)
	if strings.EqualFold(args[0], "PUBSUB") && len(args) > 1 && strings.EqualFold(args[1], "CHANNELS") {
		if r, err := resptest.Parse(rep); err == nil && r.Kind == resptest.Array {
			rep = diffSortedArray(r)
		}
	}
	return [][]byte{rep}
}

func TestDiffConnections(t *testing.T) {
	bin := diffRedisServerPath(t)
	sides := []*connSide{
		{name: "redis", addr: startDiffRedis(t, bin), conns: map[string]*connClient{}},
		{name: "cairn", addr: startDiffCairn(t), conns: map[string]*connClient{}},
	}
	if os.Getenv("DIFF_AGAINST") == "redis" {
		sides[1] = &connSide{name: "redis2", addr: startDiffRedis(t, bin), conns: map[string]*connClient{}}
	}
	for _, sc := range connScenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, s := range sides {
				s.closeAll()
				if rep := s.run(t, "reset: FLUSHALL"); string(rep[0]) != "+OK\r\n" {
					t.Fatalf("%s: FLUSHALL answered %q", s.name, rep[0])
				}
			}
			defer func() {
				for _, s := range sides {
					s.closeAll()
				}
			}()
			var transcript strings.Builder
			for i, step := range sc.steps {
				// The sides run the step one after the other; a sleep runs
				// once for both (the time is what matters, not who waits).
				var got [2][][]byte
				if strings.HasPrefix(step, "sleep ") {
					sides[0].run(t, step)
					continue
				}
				for j, s := range sides {
					got[j] = s.run(t, step)
				}
				fmt.Fprintf(&transcript, "  %2d  %s\n", i+1, step)
				if len(got[0]) != len(got[1]) {
					t.Fatalf("step %d %q: %d replies vs %d", i+1, step, len(got[0]), len(got[1]))
				}
				for k := range got[0] {
					a, b := got[0][k], got[1][k]
					if !bytes.Equal(a, b) {
						t.Fatalf("%s and %s disagree at step %d (%s):\n%s        %s: %q\n        %s: %q",
							sides[0].name, sides[1].name, i+1, step, transcript.String(), sides[0].name, a, sides[1].name, b)
					}
					fmt.Fprintf(&transcript, "        both: %q\n", a)
				}
			}
		})
	}
}

// TestDiffPubsubOrder: a pipelined burst from two publishers reaches two
// subscribers (one by channel and pattern) in the same order, with the same
// bytes, as from redis-server.
func TestDiffPubsubOrder(t *testing.T) {
	bin := diffRedisServerPath(t)
	run := func(addr string) [][]byte {
		s := &connSide{name: addr, addr: addr, conns: map[string]*connClient{}}
		defer s.closeAll()
		s.run(t, "sub1: SUBSCRIBE ch")
		s.run(t, "sub1: PSUBSCRIBE c*")
		s.run(t, "sub2: SUBSCRIBE ch")
		var out [][]byte
		const n = 500
		for _, pub := range []string{"p1", "p2"} {
			c := s.conn(t, pub)
			var buf []byte
			for i := 0; i < n; i++ {
				buf = resptest.AppendCommand(buf, "PUBLISH", "ch", pub+"-"+strconv.Itoa(i)+strings.Repeat("x", i%50))
			}
			if _, err := c.nc.Write(buf); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				out = append(out, c.read(5*time.Second))
			}
		}
		for _, sub := range []string{"sub1", "sub2"} {
			c := s.conn(t, sub)
			per := 2 * n
			if sub == "sub1" {
				per = 4 * n // message and pmessage
			}
			for i := 0; i < per; i++ {
				out = append(out, c.read(5*time.Second))
			}
			out = append(out, c.read(100*time.Millisecond)) // nothing more
		}
		return out
	}
	want := run(startDiffRedis(t, bin))
	got := run(startDiffCairn(t))
	if len(want) != len(got) {
		t.Fatalf("%d replies from redis, %d from cairn", len(want), len(got))
	}
	for i := range want {
		if !bytes.Equal(want[i], got[i]) {
			t.Fatalf("reply %d: redis %q, cairn %q", i, want[i], got[i])
		}
	}
}
